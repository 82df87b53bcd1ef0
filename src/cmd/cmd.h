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

/* serve's cluster mode (serve_cluster.c): a ring and the api's cluster mode from
 * -target and common.*; *ring stays NULL for a single node. A read node with object
 * storage configured (sc->store.objstore set) also gets *bucket, its view of the
 * bucket as the read path's further source (closed by the caller after the api
 * stopped). 0 or negative (err). */
struct cairn__bucket;
struct cairn_err;
struct cairn_serve_config;
struct cairn_api;
struct cairn_ring;
int cairn_cmd_serve_cluster(const struct cairn_serve_config *sc, struct cairn_api *api,
                            struct cairn_ring **ring, struct cairn__bucket **bucket,
                            struct cairn_err *err);

#endif
