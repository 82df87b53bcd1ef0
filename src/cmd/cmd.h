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

#endif
