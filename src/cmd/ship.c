/* ship.c -- 'cairn ship': placeholder until its issue lands; says so and fails. */
#include <stdio.h>

#include "cmd/cmd.h"

int cairn_cmd_ship(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cairn ship: not built yet\n");
    return 2;
}
