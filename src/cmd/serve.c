/* serve.c -- 'cairn serve': parse options, start HTTP, open the store (replaying its
 * WAL), serve until SIGTERM/SIGINT, then flush heads and exit 0. A retention pass runs
 * on a ticker in the main thread, which otherwise only waits for signals.
 *
 * INTERIM OPTION TABLE: until the config module (include/cairn/config.h) lands, the
 * options are parsed here from the table below (GNU --key value / --key=value, and
 * Loki's -key=value). YAML files (--config / -config.file) need that module. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cairn/api.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"
#include "cmd/cmd.h"

struct serve_opts {
    const char *listen;
    const char *data_dir;
    const char *config_file;
    const char *log_level;
    const char *fsync;
    int64_t fsync_interval;
    const char *codec;
    size_t head_budget;
    int64_t retention;
    int64_t retention_interval;
    int64_t ooo_window;
    double ingestion_rate_mb;
    double ingestion_burst_mb;
    size_t max_streams;
    size_t max_line_size;
    size_t max_label_names;
    size_t max_label_name_len;
    size_t max_label_value_len;
    int reject_old;
    int64_t reject_old_max_age;
    int64_t creation_grace;
    size_t max_push_body;
};

enum opt_type { T_STR, T_DUR, T_SIZE, T_UINT, T_DOUBLE, T_BOOL };

struct opt {
    const char *name;
    enum opt_type type;
    size_t off;
    const char *def;
    const char *help;
};

#define O(f) offsetof(struct serve_opts, f)
static const struct opt opts[] = {
    {"listen", T_STR, O(listen), "127.0.0.1:3100", "HTTP listen address host:port"},
    {"data-dir", T_STR, O(data_dir), "./data", "directory of the WAL, segments and index"},
    {"config", T_STR, O(config_file), "", "YAML config file (also -config.file=FILE)"},
    {"log-level", T_STR, O(log_level), "info", "debug, info, warn or error"},
    {"fsync", T_STR, O(fsync), "interval", "WAL fsync policy: always, interval or never"},
    {"fsync-interval", T_DUR, O(fsync_interval), "1s", "fsync period under fsync=interval"},
    {"codec", T_STR, O(codec), "zstd", "block compression: zstd or lz4"},
    {"head-budget", T_SIZE, O(head_budget), "64MiB", "memory for open head blocks, all streams"},
    {"retention", T_DUR, O(retention), "0", "delete periods older than this (0: keep forever)"},
    {"retention-interval", T_DUR, O(retention_interval), "10m", "how often retention runs"},
    {"ooo-window", T_DUR, O(ooo_window), "1h", "out-of-order window per stream"},
    {"ingestion-rate-mb", T_DOUBLE, O(ingestion_rate_mb), "4",
     "per-tenant ingestion rate limit, MB/s (ingestion_rate_mb)"},
    {"ingestion-burst-size-mb", T_DOUBLE, O(ingestion_burst_mb), "6",
     "per-tenant burst, MB (ingestion_burst_size_mb)"},
    {"max-streams-per-user", T_UINT, O(max_streams), "5000",
     "active streams per tenant, 0 unlimited (max_global_streams_per_user)"},
    {"max-line-size", T_SIZE, O(max_line_size), "256KiB", "longest line accepted, 0 unlimited"},
    {"max-label-names-per-series", T_UINT, O(max_label_names), "15", "labels per stream"},
    {"max-label-name-length", T_UINT, O(max_label_name_len), "1024", "label name length"},
    {"max-label-value-length", T_UINT, O(max_label_value_len), "2048", "label value length"},
    {"reject-old-samples", T_BOOL, O(reject_old), "true", "refuse entries older than the max age"},
    {"reject-old-samples-max-age", T_DUR, O(reject_old_max_age), "168h",
     "oldest entry accepted (reject_old_samples_max_age)"},
    {"creation-grace-period", T_DUR, O(creation_grace), "10m",
     "how far in the future an entry may be"},
    {"max-push-body", T_SIZE, O(max_push_body), "100MiB", "largest push body (413 past it)"},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

/* Go-style duration: "0", "1h30m", "10s", "500ms", "168h". */
static int parse_duration(const char *s, int64_t *out)
{
    static const struct { const char *u; int64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000LL},
        {"m", 60000000000LL}, {"h", 3600000000000LL}, {"d", 86400000000000LL},
    };
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    int64_t total = 0;
    const char *p = s;
    if (!*p)
        return CAIRN_EINVAL;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0)
            return CAIRN_EINVAL;
        p = end;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].u);
            if (strncmp(p, units[i].u, l) == 0 && l > best_len) {
                best = i;
                best_len = l;
            }
        }
        if (!best_len)
            return CAIRN_EINVAL;
        total += (int64_t)(v * (double)units[best].ns);
        p += best_len;
    }
    *out = total;
    return 0;
}

/* Byte size: "1048576", "256KiB", "64MiB", "1GB". */
static int parse_size(const char *s, size_t *out)
{
    static const struct { const char *u; double m; } units[] = {
        {"", 1}, {"B", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
        {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"k", 1024.0}, {"K", 1024.0}, {"M", 1048576.0},
        {"G", 1073741824.0},
    };
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return CAIRN_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].u) == 0) {
            *out = (size_t)(v * units[i].m);
            return 0;
        }
    }
    return CAIRN_EINVAL;
}

static int set_opt(struct serve_opts *o, const struct opt *d, const char *v)
{
    void *dst = (char *)o + d->off;
    char *end;
    switch (d->type) {
    case T_STR:
        *(const char **)dst = v;
        return 0;
    case T_DUR:
        return parse_duration(v, dst);
    case T_SIZE:
        return parse_size(v, dst);
    case T_UINT: {
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-')
            return CAIRN_EINVAL;
        *(size_t *)dst = (size_t)x;
        return 0;
    }
    case T_DOUBLE: {
        double x = strtod(v, &end);
        if (end == v || *end || x < 0)
            return CAIRN_EINVAL;
        *(double *)dst = x;
        return 0;
    }
    case T_BOOL:
        if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"))
            *(int *)dst = 1;
        else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no"))
            *(int *)dst = 0;
        else
            return CAIRN_EINVAL;
        return 0;
    }
    return CAIRN_EINVAL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cairn serve [options]\n\n"
               "The store: Loki's push API, WAL, chunks, index.\n\noptions (default in []):\n");
    for (size_t i = 0; i < N_OPTS; i++)
        fprintf(f, "  --%-28s %s [%s]\n", opts[i].name, opts[i].help,
                opts[i].def[0] ? opts[i].def : "none");
    fprintf(f, "  --%-28s %s\n", "help", "this text");
    fprintf(f, "\nEvery option also takes Loki's form -name=value.\n");
}

/* Parse argv (after "serve"). Returns 0, 1 for --help (printed), or 2 (error printed). */
static int parse_args(struct serve_opts *o, int argc, char **argv)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (set_opt(o, &opts[i], opts[i].def)) {
            fprintf(stderr, "cairn serve: bad built-in default for %s\n", opts[i].name);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            fprintf(stderr, "cairn serve: unexpected argument '%s'\n", a);
            return 2;
        }
        a += a[1] == '-' ? 2 : 1;
        if (!strcmp(a, "help") || !strcmp(a, "h")) {
            usage(stdout);
            return 1;
        }
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl == 11 && !strncmp(a, "config.file", 11))
            nl = 6, a = "config"; /* Loki's -config.file=FILE */
        const struct opt *d = NULL;
        for (size_t k = 0; k < N_OPTS && !d; k++)
            if (strlen(opts[k].name) == nl && !strncmp(opts[k].name, a, nl))
                d = &opts[k];
        if (!d) {
            fprintf(stderr, "cairn serve: unknown option '%s' (see cairn serve --help)\n",
                    argv[i]);
            return 2;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (d->type == T_BOOL && (i + 1 >= argc || argv[i + 1][0] == '-')) {
                v = "true";
            } else if (i + 1 < argc) {
                v = argv[++i];
            } else {
                fprintf(stderr, "cairn serve: option --%s needs a value\n", d->name);
                return 2;
            }
        }
        if (set_opt(o, d, v)) {
            fprintf(stderr, "cairn serve: bad value '%s' for --%s\n", v, d->name);
            return 2;
        }
    }
    return 0;
}

/* GET /config: the effective options as YAML (no secrets among them yet). */
static int dump_config(void *ctx, struct cairn_buf *out)
{
    const struct serve_opts *o = ctx;
    int rc = cairn_buf_append_str(out, "# cairn serve effective configuration\n");
    for (size_t i = 0; i < N_OPTS && !rc; i++) {
        const struct opt *d = &opts[i];
        const void *src = (const char *)o + d->off;
        rc |= cairn_buf_appendf(out, "%s: ", d->name);
        switch (d->type) {
        case T_STR:
            rc |= cairn_buf_append_json_str(out, *(const char *const *)src,
                                            strlen(*(const char *const *)src));
            break;
        case T_DUR: {
            int64_t ns = *(const int64_t *)src;
            if (ns % 3600000000000LL == 0 && ns)
                rc |= cairn_buf_appendf(out, "%lldh", (long long)(ns / 3600000000000LL));
            else if (ns % 60000000000LL == 0 && ns)
                rc |= cairn_buf_appendf(out, "%lldm", (long long)(ns / 60000000000LL));
            else if (ns % 1000000000LL == 0)
                rc |= cairn_buf_appendf(out, "%llds", (long long)(ns / 1000000000LL));
            else
                rc |= cairn_buf_appendf(out, "%lldms", (long long)(ns / 1000000));
            break;
        }
        case T_SIZE:
        case T_UINT:
            rc |= cairn_buf_appendf(out, "%zu", *(const size_t *)src);
            break;
        case T_DOUBLE:
            rc |= cairn_buf_appendf(out, "%g", *(const double *)src);
            break;
        case T_BOOL:
            rc |= cairn_buf_append_str(out, *(const int *)src ? "true" : "false");
            break;
        }
        rc |= cairn_buf_append_byte(out, '\n');
    }
    return rc ? CAIRN_ENOMEM : 0;
}

static int build_store_config(const struct serve_opts *o, struct cairn_store_config *sc)
{
    cairn_store_config_default(sc);
    sc->data_dir = o->data_dir;
    if (!strcmp(o->fsync, "always"))
        sc->fsync = CAIRN_FSYNC_ALWAYS;
    else if (!strcmp(o->fsync, "interval"))
        sc->fsync = CAIRN_FSYNC_INTERVAL;
    else if (!strcmp(o->fsync, "never"))
        sc->fsync = CAIRN_FSYNC_NEVER;
    else {
        fprintf(stderr, "cairn serve: --fsync must be always, interval or never, not '%s'\n",
                o->fsync);
        return 2;
    }
    if (!strcmp(o->codec, "zstd"))
        sc->codec = CAIRN_CODEC_ZSTD;
    else if (!strcmp(o->codec, "lz4"))
        sc->codec = CAIRN_CODEC_LZ4;
    else {
        fprintf(stderr, "cairn serve: --codec must be zstd or lz4, not '%s'\n", o->codec);
        return 2;
    }
    sc->fsync_interval_ns = o->fsync_interval;
    sc->head_budget = o->head_budget;
    sc->retention_ns = o->retention;
    sc->ooo_window_ns = o->ooo_window;
    return 0;
}

static void build_api_config(const struct serve_opts *o, struct cairn_api_config *ac)
{
    cairn_api_config_default(ac);
    ac->listen = o->listen;
    ac->limits.max_label_names = (unsigned)o->max_label_names;
    ac->limits.max_label_name_len = (unsigned)o->max_label_name_len;
    ac->limits.max_label_value_len = (unsigned)o->max_label_value_len;
    ac->limits.max_line_size = o->max_line_size;
    ac->limits.reject_old_samples = o->reject_old;
    ac->limits.reject_old_max_age_ns = o->reject_old_max_age;
    ac->limits.creation_grace_ns = o->creation_grace;
    ac->limits.ingestion_rate_mb = o->ingestion_rate_mb;
    ac->limits.ingestion_burst_mb = o->ingestion_burst_mb;
    ac->limits.max_streams_per_user = o->max_streams;
    ac->limits.max_push_body = o->max_push_body;
    ac->config_dump = dump_config;
}

int cairn_cmd_serve(int argc, char **argv)
{
    struct serve_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(&o, argc, argv);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (o.config_file[0]) {
        fprintf(stderr, "cairn serve: --config %s: YAML config files are not supported yet "
                        "(waiting for the config module); use command-line options\n",
                o.config_file);
        return 2;
    }
    enum cairn_log_level lvl;
    if (cairn_log_parse_level(o.log_level, &lvl)) {
        fprintf(stderr, "cairn serve: bad --log-level '%s'\n", o.log_level);
        return 2;
    }
    cairn_log_set_level(lvl);
    struct cairn_store_config sc;
    if (build_store_config(&o, &sc))
        return 2;
    struct cairn_api_config ac;
    build_api_config(&o, &ac);
    ac.config_dump_ctx = &o;

    /* Signals go to sigtimedwait below, never to a worker thread: block them before
     * any thread starts (threads inherit the mask). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct cairn_err err;
    cairn_err_clear(&err);
    struct cairn_api *api = cairn_api_create(&ac, &err);
    if (!api) {
        CAIRN_ERROR("serve", "cannot start HTTP", "err=\"%s\"", err.msg);
        return 1;
    }
    int64_t t0 = cairn_mono_ns();
    struct cairn_store *st = cairn_store_open(&sc, &err);
    if (!st) {
        CAIRN_ERROR("serve", "cannot open the store", "data_dir=%s err=\"%s\"", o.data_dir,
                    err.msg);
        cairn_api_destroy(api);
        return 1;
    }
    cairn_api_set_store(api, st);
    CAIRN_INFO("serve", "ready", "listen=%s port=%u data_dir=%s replay_ms=%lld", o.listen,
               cairn_api_port(api), o.data_dir, (long long)((cairn_mono_ns() - t0) / 1000000));

    int64_t tick = o.retention_interval > 0 ? o.retention_interval : 600000000000LL;
    for (;;) {
        struct timespec ts = {(time_t)(tick / 1000000000LL), (long)(tick % 1000000000LL)};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            CAIRN_INFO("serve", "shutting down", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
            break;
        }
        if (sig < 0 && errno == EAGAIN && o.retention > 0) {
            int r = cairn_store_apply_retention(st, cairn_now_ns());
            if (r)
                CAIRN_WARN("serve", "retention failed", "err=%s", cairn_strerror(r));
        }
    }
    cairn_api_stop(api);         /* waits for in-flight pushes */
    cairn_api_set_store(api, NULL);
    cairn_store_close(st);       /* flushes heads */
    cairn_api_destroy(api);
    CAIRN_INFO("serve", "stopped", "");
    return 0;
}
