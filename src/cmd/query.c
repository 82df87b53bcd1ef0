/* query.c -- 'cairn query': placeholder until its issue lands; says so and fails. */
#include <stdio.h>

#include "cmd/cmd.h"

int cairn_cmd_query(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cairn query: not built yet\n");
    return 2;
}
