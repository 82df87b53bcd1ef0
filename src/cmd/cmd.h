/* cmd.h -- the subcommands of the cairn binary; each takes main's argc/argv after
 * the subcommand name and returns the process exit status. */
#ifndef CAIRN_CMD_H
#define CAIRN_CMD_H

int cairn_cmd_serve(int argc, char **argv);
int cairn_cmd_events(int argc, char **argv);
int cairn_cmd_ship(int argc, char **argv);
int cairn_cmd_query(int argc, char **argv);
int cairn_cmd_check(int argc, char **argv);
int cairn_cmd_docker_driver(int argc, char **argv);
int cairn_cmd_canary(int argc, char **argv);

struct cairn_cfg;
/* load.c: defaults (already in c), --config file and options for subcommand `name`,
 * which takes no positional argument. Returns -1 to run on, or the exit status after
 * printing --help / --print-config (0) or what was wrong (2). */
int cairn__cmd_load(const char *name, struct cairn_cfg *c, int argc, char **argv,
                    const char *usage);

#endif
