/* canary.c -- 'cairn canary': load loki-canary's flags, run the canary until SIGINT
 * or SIGTERM. Signals are blocked in every thread and taken here with sigwait, so no
 * handler touches the canary. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/canary.h"
#include "cairn/config.h"
#include "cairn/log.h"
#include "cmd/cmd.h"

int cairn_cmd_canary(int argc, char **argv)
{
    struct cairn_canary_config cfg;
    struct cairn_cfg c = {0};
    struct cairn_err err;
    int status = 1;
    cairn_err_clear(&err);
    if (cairn_cfg_init(&c, &cairn_canary_config_table, &cfg, NULL, &err)) {
        fprintf(stderr, "cairn canary: %s\n", err.msg);
        return 1;
    }
    status = cairn__cmd_load("canary", &c, argc, argv,
                             "usage: cairn canary -addr HOST:PORT [options]\n\n"
                             "Writes timestamped lines (stdout, or -push), reads them back from "
                             "the store's tail\nand queries, and reports what went missing on "
                             "/metrics (loki-canary's flags).");
    if (status >= 0)
        goto done;
    status = 1;
    if (cfg.version) {
        printf("cairn canary %s\n", CAIRN_VERSION);
        status = 0;
        goto done;
    }
    const char *env = getenv("LOKI_ADDRESS");
    if ((!cfg.addr || !*cfg.addr) && env && *env) { /* owned by cfg, freed by deinit */
        free(cfg.addr);
        if (!(cfg.addr = strdup(env))) {
            fprintf(stderr, "cairn canary: out of memory\n");
            goto done;
        }
    }
    cairn_log_set_level((enum cairn_log_level)cfg.log_level);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread started below */
    signal(SIGPIPE, SIG_IGN);
    /* before any thread: curl_easy_init would otherwise race to do it in several */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cairn canary: curl_global_init failed\n");
        goto done;
    }
    struct cairn_canary *k = cairn_canary_create(&cfg, stdout, &err);
    if (!k) {
        fprintf(stderr, "cairn canary: %s\n", err.msg);
        status = 2;
        curl_global_cleanup();
        goto done;
    }
    int sig = 0;
    sigwait(&set, &sig);
    CAIRN_INFO("canary", "shutting down", "signal=%d", sig);
    cairn_canary_destroy(k);
    curl_global_cleanup();
    status = 0;
done:
    cairn_cfg_deinit(&c);
    return status;
}
