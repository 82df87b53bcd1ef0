/* serve.c -- 'cairn serve': placeholder until its issue lands; says so and fails. */
#include <stdio.h>

#include "cmd/cmd.h"

int cairn_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cairn serve: not built yet\n");
    return 2;
}
