/* docker_driver.c -- 'cairn docker-driver': serve Docker's logging plugin protocol on
 * a unix socket until SIGINT/SIGTERM, then drain and flush every container's stream. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/config.h"
#include "cairn/docker.h"
#include "cairn/log.h"
#include "cmd/cmd.h"

struct driver_opts {
    char *socket, *data_dir, *hostname;
    int log_level;
};

static const struct cairn_cfg_enum log_levels[] = {
    {"debug", CAIRN_LOG_DEBUG}, {"info", CAIRN_LOG_INFO}, {"warn", CAIRN_LOG_WARN},
    {"error", CAIRN_LOG_ERROR}, {NULL, 0},
};

#define D struct driver_opts
static const struct cairn_cfg_entry driver_e[] = {
    {.key = "socket", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(D, socket),
     .def = "/run/docker/plugins/cairn.sock", .flag = "socket", .metavar = "PATH",
     .help = "unix socket docker connects to (config.json's interface.socket)"},
    {.key = "data_dir", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(D, data_dir),
     .def = "/var/log/docker", .flag = "data-dir", .metavar = "DIR",
     .help = "local copies for docker logs: DIR/<container id>/json.log"},
    {.key = "hostname", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(D, hostname), .flag = "hostname",
     .help = "value of the host label (default: this machine's hostname)"},
    {.key = "log_level", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(D, log_level), .def = "info",
     .names = log_levels, .flag = "log-level", .help = "log only messages of this level or above"},
};
#undef D
static const struct cairn_cfg_table driver_t =
    CAIRN_CFG_TABLE("docker-driver", driver_e, struct driver_opts);

int cairn_cmd_docker_driver(int argc, char **argv)
{
    struct driver_opts o;
    struct cairn_cfg c = {0};
    struct cairn_err err;
    cairn_err_clear(&err);
    if (cairn_cfg_init(&c, &driver_t, &o, NULL, &err)) {
        fprintf(stderr, "cairn docker-driver: %s\n", err.msg);
        return 1;
    }
    /* the plugin's settable env (config.json), below the options */
    const char *env_level = getenv("LOG_LEVEL");
    if (env_level && env_level[0] && cairn_cfg_set(&c, "log_level", env_level, &err)) {
        fprintf(stderr, "cairn docker-driver: LOG_LEVEL: %s\n", err.msg);
        cairn_cfg_deinit(&c);
        return 2;
    }
    int status = cairn__cmd_load("docker-driver", &c, argc, argv,
                                 "usage: cairn docker-driver [options]");
    if (status >= 0)
        goto done;
    cairn_log_set_level((enum cairn_log_level)o.log_level);
    /* signals are taken by sigwait below: blocked before any thread starts */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct cairn_docker_config dc = {.socket_path = o.socket, .data_dir = o.data_dir,
                                     .hostname = o.hostname};
    struct cairn_docker_driver *d = cairn_docker_driver_create(&dc, &err);
    if (!d) {
        fprintf(stderr, "cairn docker-driver: %s\n", err.msg);
        status = 1;
        goto done;
    }
    CAIRN_INFO("docker", "ready", "socket=%s data_dir=%s", o.socket, o.data_dir);
    int sig = 0;
    sigwait(&set, &sig);
    CAIRN_INFO("docker", "stopping", "signal=%d", sig);
    cairn_docker_driver_destroy(d);
    status = 0;
done:
    cairn_cfg_deinit(&c);
    return status;
}
