/* ruler.c -- the ruler's life: load the rule files of every tenant directory, keep
 * alerts across reloads, run each group on its interval on one thread, save state. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "ruler/ruler_int.h"

void cairn__alert_free(struct alert *a)
{
    free(a->labels_json);
    free(a->annotations_json);
}

void cairn__group_free(struct group_rt *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nrules; i++) {
        for (size_t k = 0; k < g->rules[i].n; k++)
            cairn__alert_free(&g->rules[i].alerts[k]);
        free(g->rules[i].alerts);
        cairn__rule_tpl_free(&g->rules[i]);
    }
    free(g->rules);
    if (g->rf && --g->rf->refs == 0) {
        cairn_cfg_deinit(&g->rf->cfg);
        free(g->rf);
    }
    free(g->tenant);
    free(g->ns);
    free(g->path);
    free(g);
}

char *cairn__ruler_ns_path(const struct cairn_ruler *r, const char *tenant, const char *ns)
{
    size_t n = strlen(r->dir) + strlen(tenant) + strlen(ns) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s/%s.yaml", r->dir, tenant, ns);
    return p;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 8192);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The group of the old set with this identity, to take its alerts over. */
static struct group_rt *old_group(struct group_rt **v, size_t n, const struct group_rt *g)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] && !strcmp(v[i]->tenant, g->tenant) && !strcmp(v[i]->ns, g->ns) &&
            !strcmp(v[i]->g->name, g->g->name))
            return v[i];
    return NULL;
}

/* Move the alerts and status of rules that are the same (kind, name, expr). */
static void carry_over(struct group_rt *from, struct group_rt *to)
{
    to->next_eval = from->next_eval;
    to->last_eval = from->last_eval;
    to->eval_ns = from->eval_ns;
    for (size_t i = 0; i < to->nrules; i++) {
        const struct cairn_rule *a = to->rules[i].rule;
        for (size_t k = 0; k < from->nrules; k++) {
            const struct cairn_rule *b = from->rules[k].rule;
            if (!b || strcmp(a->expr, b->expr) || !!a->alert != !!b->alert ||
                strcmp(a->alert ? a->alert : a->record, b->alert ? b->alert : b->record))
                continue;
            struct rule_rt *t = &to->rules[i], *f = &from->rules[k];
            const struct cairn_rule *keep = t->rule;
            *t = *f;
            t->rule = keep;
            *f = (struct rule_rt){0};
            cairn__rule_tpl_free(t); /* the annotations may have changed */
            break;
        }
    }
}

/* Load one namespace file into groups appended to *out. */
static void load_file(struct cairn_ruler *r, const char *tenant, const char *ns,
                      struct group_rt ***out, size_t *n, size_t *cap)
{
    char *path = cairn__ruler_ns_path(r, tenant, ns);
    size_t len;
    char *text = path ? read_all(path, &len) : NULL;
    if (!text) {
        free(path);
        return;
    }
    struct cairn_err err;
    cairn_err_clear(&err);
    struct rfile *rf = calloc(1, sizeof *rf);
    if (!rf || cairn_rule_file_parse(&rf->cfg, &rf->file, path, text, len, &err)) {
        CAIRN_WARN("ruler", "rule file refused", "file=%s err=\"%s\"", path,
                   rf ? err.msg : "out of memory");
        if (rf)
            cairn_cfg_deinit(&rf->cfg);
        free(rf);
        free(text);
        free(path);
        return;
    }
    free(text);
    rf->refs = 1; /* this function's, dropped at the end */
    for (size_t i = 0; i < rf->file.groups.n; i++) {
        struct group_rt *g = calloc(1, sizeof *g);
        if (!g)
            break;
        g->rf = rf;
        rf->refs++;
        g->g = &((const struct cairn_rule_group *)rf->file.groups.v)[i];
        g->tenant = strdup(tenant);
        g->ns = strdup(ns);
        g->path = strdup(path);
        g->nrules = g->g->rules.n;
        g->rules = calloc(g->nrules ? g->nrules : 1, sizeof *g->rules);
        if (!g->tenant || !g->ns || !g->path || !g->rules) {
            cairn__group_free(g);
            break;
        }
        for (size_t k = 0; k < g->nrules; k++) {
            g->rules[k].rule = &((const struct cairn_rule *)g->g->rules.v)[k];
            g->rules[k].health = "unknown";
        }
        g->interval = g->g->interval_ns ? g->g->interval_ns : r->cfg->evaluation_interval_ns;
        if (*n == *cap) {
            size_t nc = *cap ? 2 * *cap : 8;
            struct group_rt **nv = realloc(*out, nc * sizeof *nv);
            if (!nv) {
                cairn__group_free(g);
                break;
            }
            *out = nv;
            *cap = nc;
        }
        (*out)[(*n)++] = g;
    }
    if (--rf->refs == 0) {
        cairn_cfg_deinit(&rf->cfg);
        free(rf);
    }
    free(path);
}

void cairn__ruler_reload(struct cairn_ruler *r)
{
    struct group_rt **nv = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(r->dir);
    struct dirent *te;
    while (d && (te = readdir(d))) {
        if (te->d_name[0] == '.')
            continue;
        char tdir[4096];
        snprintf(tdir, sizeof tdir, "%s/%s", r->dir, te->d_name);
        DIR *td = opendir(tdir);
        struct dirent *fe;
        while (td && (fe = readdir(td))) {
            size_t l = strlen(fe->d_name);
            if (fe->d_name[0] == '.' || l < 6 || strcmp(fe->d_name + l - 5, ".yaml"))
                continue;
            char ns[256];
            snprintf(ns, sizeof ns, "%.*s", (int)(l - 5), fe->d_name);
            load_file(r, te->d_name, ns, &nv, &n, &cap);
        }
        if (td)
            closedir(td);
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++) {
        struct group_rt *o = old_group(r->groups, r->ngroups, nv[i]);
        if (o)
            carry_over(o, nv[i]);
    }
    for (size_t i = 0; i < r->ngroups; i++)
        cairn__group_free(r->groups[i]);
    free(r->groups);
    r->groups = nv;
    r->ngroups = n;
}

/* Reload the rule files when due, evaluate every due group, notify, save state: one
 * turn of the ruler's thread (the only caller). */
static void tick(struct cairn_ruler *r, int64_t now)
{
    pthread_mutex_lock(&r->mu);
    if (now >= r->next_poll) {
        cairn__ruler_reload(r);
        r->next_poll = now + r->cfg->poll_interval_ns;
    }
    int evaluated = 0;
    for (size_t i = 0; i < r->ngroups; i++) {
        struct group_rt *g = r->groups[i];
        if (g->next_eval > now)
            continue;
        cairn__ruler_eval_group(r, g, now);
        /* the next point on the group's grid, not drifting with evaluation time */
        g->next_eval = (now / g->interval + 1) * g->interval;
        evaluated = 1;
    }
    if (evaluated) {
        cairn__ruler_notify(r, now);
        if (cairn__ruler_state_save(r))
            CAIRN_WARN("ruler", "cannot save alert state", "file=%s", r->state_path);
    }
    pthread_mutex_unlock(&r->mu);
    if (r->rw)
        cairn__rwrite_flush(r->rw);
}

static void *run(void *arg)
{
    struct cairn_ruler *r = arg;
    while (!atomic_load(&r->stop)) {
        tick(r, cairn_now_ns());
        pthread_mutex_lock(&r->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (!atomic_load(&r->stop))
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

/* "a, b" into a list of URLs without trailing slashes. */
static int split_urls(struct cairn_ruler *r, const char *s)
{
    while (s && *s) {
        while (*s == ',' || *s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        size_t l = (size_t)(e - s);
        while (l && (s[l - 1] == ' ' || s[l - 1] == '/'))
            l--;
        if (l) {
            char **nv = realloc(r->am_urls, (r->n_am + 1) * sizeof *nv);
            if (!nv || !(nv[r->n_am] = strndup(s, l))) {
                if (nv)
                    r->am_urls = nv;
                return CAIRN_ENOMEM;
            }
            r->am_urls = nv;
            r->n_am++;
        }
        s = e;
    }
    return 0;
}

struct cairn_ruler *cairn_ruler_start(const struct cairn_ruler_config *cfg,
                                      struct cairn_store *store, const char *data_dir,
                                      struct cairn_err *err)
{
    const char *dir = cfg->directory && *cfg->directory ? cfg->directory : cfg->rule_path;
    if (!dir || !*dir) {
        cairn_err_set(err, CAIRN_EINVAL, "ruler: storage.local.directory (or rule_path) is not set");
        return NULL;
    }
    struct cairn_ruler *r = calloc(1, sizeof *r);
    if (!r) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->store = store;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    size_t sl = strlen(data_dir) + 32;
    r->dir = strdup(dir);
    r->state_path = malloc(sl);
    if (!r->dir || !r->state_path || split_urls(r, cfg->alertmanager_url)) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(r->state_path, sl, "%s/ruler-state.json", data_dir);
    if (mkdir(r->dir, 0755) && errno != EEXIST) {
        cairn_err_set(err, CAIRN_EIO, "ruler: cannot create %s: %s", r->dir, strerror(errno));
        goto fail;
    }
    if (cfg->remote_write_enabled) {
        char wal[4096];
        if (cfg->wal_dir && *cfg->wal_dir)
            snprintf(wal, sizeof wal, "%s", cfg->wal_dir);
        else
            snprintf(wal, sizeof wal, "%s/ruler-wal", data_dir);
        if (!cfg->remote_write_url || !*cfg->remote_write_url) {
            cairn_err_set(err, CAIRN_EINVAL, "ruler.remote_write.enabled needs "
                                             "ruler.remote_write.client.url");
            goto fail;
        }
        if (!(r->rw = cairn__rwrite_open(cfg->remote_write_url, wal, err)))
            goto fail;
    }
    cairn__ruler_reload(r);
    cairn__ruler_state_load(r);
    r->next_poll = cairn_now_ns() + cfg->poll_interval_ns;
    if (pthread_create(&r->th, NULL, run, r)) {
        cairn_err_set(err, CAIRN_ENOMEM, "ruler: cannot start its thread");
        goto fail;
    }
    r->started = 1;
    CAIRN_INFO("ruler", "started", "dir=%s groups=%zu alertmanagers=%zu remote_write=%s", r->dir,
               r->ngroups, r->n_am, r->rw ? cfg->remote_write_url : "off");
    return r;
fail:
    cairn_ruler_stop(r);
    return NULL;
}

void cairn_ruler_stop(struct cairn_ruler *r)
{
    if (!r)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        atomic_store(&r->stop, 1);
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->th, NULL);
        pthread_mutex_lock(&r->mu);
        cairn__ruler_state_save(r);
        pthread_mutex_unlock(&r->mu);
    }
    for (size_t i = 0; i < r->ngroups; i++)
        cairn__group_free(r->groups[i]);
    free(r->groups);
    for (size_t i = 0; i < r->n_am; i++)
        free(r->am_urls[i]);
    free(r->am_urls);
    cairn__rwrite_close(r->rw);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->dir);
    free(r->state_path);
    free(r);
}
