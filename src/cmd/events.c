/* events.c -- 'cairn events': placeholder until its issue lands; says so and fails. */
#include <stdio.h>

#include "cmd/cmd.h"

int cairn_cmd_events(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cairn events: not built yet\n");
    return 2;
}
