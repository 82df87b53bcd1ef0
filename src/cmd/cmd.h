/* cmd.h -- the subcommands of the cairn binary; each takes main's argc/argv after
 * the subcommand name and returns the process exit status. */
#ifndef CAIRN_CMD_H
#define CAIRN_CMD_H

int cairn_cmd_serve(int argc, char **argv);
int cairn_cmd_events(int argc, char **argv);
int cairn_cmd_ship(int argc, char **argv);
int cairn_cmd_query(int argc, char **argv);
int cairn_cmd_check(int argc, char **argv);

/* serve's cluster mode (serve_cluster.c): a ring and the api's cluster mode from
 * -target and common.*; *ring stays NULL for a single node. 0 or negative (err). */
struct cairn_err;
struct cairn_serve_config;
struct cairn_api;
struct cairn_ring;
int cairn_cmd_serve_cluster(const struct cairn_serve_config *sc, struct cairn_api *api,
                            struct cairn_ring **ring, struct cairn_err *err);

#endif
