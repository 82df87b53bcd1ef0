/* ship.c -- 'cairn ship': load the Promtail-shaped config and options, then run the
 * agent until SIGINT/SIGTERM (files) or end of input (--stdin). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cairn/config.h"
#include "cairn/log.h"
#include "cairn/ship_agent.h"
#include "cairn/ship_config.h"
#include "cmd/cmd.h"

/* The signal handler's only way to reach the agent; set once before signals are
 * installed, read by the handler. */
static struct cairn_ship_agent *volatile signal_agent;

static void on_signal(int sig)
{
    (void)sig;
    struct cairn_ship_agent *a = signal_agent;
    if (a)
        cairn_ship_agent_stop(a);
}

int cairn_cmd_ship(int argc, char **argv)
{
    struct cairn_ship_config cfg;
    struct cairn_cfg c = {0};
    struct cairn_err err;
    int status = 1;
    cairn_err_clear(&err);
    if (cairn_cfg_init(&c, &cairn_ship_config_table, &cfg, NULL, &err)) {
        fprintf(stderr, "cairn ship: %s\n", err.msg);
        return 1;
    }
    int rc;
    status = cairn__cmd_load("ship", &c, argc, argv,
                             "usage: cairn ship [--config FILE | -config.file=FILE] [options]");
    if (status >= 0)
        goto done;
    status = 1;
    cairn_log_set_level((enum cairn_log_level)cfg.server.log_level);
    struct cairn_ship_agent *a = cairn_ship_agent_create(&cfg, stdout, &err);
    if (!a) {
        fprintf(stderr, "cairn ship: %s\n", err.msg);
        status = cfg.check_syntax ? 1 : 2;
        goto done;
    }
    if (cfg.check_syntax) {
        printf("Valid config file! No syntax issues found\n");
        cairn_ship_agent_destroy(a);
        status = 0;
        goto done;
    }
    signal_agent = a;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = cairn_ship_agent_run(a);
    if (rc)
        fprintf(stderr, "cairn ship: stopped: %s\n", cairn_strerror(rc));
    signal_agent = NULL;
    cairn_ship_agent_destroy(a);
    status = rc ? 1 : 0;
done:
    cairn_cfg_deinit(&c);
    return status;
}
