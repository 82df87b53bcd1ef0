/* http.c -- the ruler's HTTP API: Loki's rules API (/loki/api/v1/rules, and the same
 * under /api/prom/rules) reading and writing the rule files as YAML, and the
 * Prometheus-compatible /prometheus/api/v1/rules and /alerts JSON that Grafana reads.
 * Writes replace files atomically and make the ruler's thread reload at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/timeutil.h"
#include "cairn/text.h"
#include "cairn/units.h"
#include "ruler/ruler_int.h"

#define YAML "application/yaml"
#define JSON "application/json"

/* ---- YAML out ---- */

static int yq(struct cairn_buf *o, const char *s)
{
    return cairn_buf_append_json_str(o, s, strlen(s)); /* JSON strings are YAML strings */
}

static int ydur(struct cairn_buf *o, int64_t ns)
{
    return cairn_format_duration(ns, o);
}

static int emit_map(struct cairn_buf *o, const char *key, const struct cairn_cfg_map *m,
                    const char *ind)
{
    if (!m->n)
        return 0;
    int rc = cairn_buf_appendf(o, "%s%s:\n", ind, key);
    for (size_t i = 0; i < m->n && !rc; i++)
        rc = cairn_buf_appendf(o, "%s    ", ind) || yq(o, m->v[i].key) ||
             cairn_buf_append_str(o, ": ") || yq(o, m->v[i].value ? m->v[i].value : "") ||
             cairn_buf_append_byte(o, '\n');
    return rc;
}

/* One group as a YAML list item at indentation ind ("" or "  "). */
static int emit_group(struct cairn_buf *o, const struct cairn_rule_group *g, const char *ind)
{
    int rc = cairn_buf_appendf(o, "%s- name: ", ind) || yq(o, g->name) ||
             cairn_buf_append_byte(o, '\n');
    if (g->interval_ns)
        rc = rc || cairn_buf_appendf(o, "%s  interval: ", ind) || ydur(o, g->interval_ns) ||
             cairn_buf_append_byte(o, '\n');
    if (g->limit)
        rc = rc || cairn_buf_appendf(o, "%s  limit: %d\n", ind, g->limit);
    rc = rc || cairn_buf_appendf(o, "%s  rules:\n", ind);
    const struct cairn_rule *ru = g->rules.v;
    char sub[16];
    snprintf(sub, sizeof sub, "%s    ", ind);
    for (size_t i = 0; i < g->rules.n && !rc; i++) {
        const struct cairn_rule *r = &ru[i];
        rc = cairn_buf_appendf(o, "%s  - %s: ", ind, r->alert ? "alert" : "record") ||
             yq(o, r->alert ? r->alert : r->record) || cairn_buf_appendf(o, "\n%sexpr: ", sub) ||
             yq(o, r->expr) || cairn_buf_append_byte(o, '\n');
        if (r->for_ns)
            rc = rc || cairn_buf_appendf(o, "%sfor: ", sub) || ydur(o, r->for_ns) ||
                 cairn_buf_append_byte(o, '\n');
        if (r->keep_firing_for_ns)
            rc = rc || cairn_buf_appendf(o, "%skeep_firing_for: ", sub) ||
                 ydur(o, r->keep_firing_for_ns) || cairn_buf_append_byte(o, '\n');
        rc = rc || emit_map(o, "labels", &r->labels, sub) ||
             emit_map(o, "annotations", &r->annotations, sub);
    }
    return rc ? CAIRN_ENOMEM : 0;
}

/* ---- files ---- */

static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *b = NULL;
    if (fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size + 1))) {
        ssize_t n = read(fd, b, (size_t)st.st_size);
        if (n < 0) {
            free(b);
            b = NULL;
        } else {
            b[n] = '\0';
            *len = (size_t)n;
        }
    }
    close(fd);
    return b;
}

/* Parse a namespace file; 1 loaded, 0 absent, negative error (message in err). */
static int load_ns(struct cairn_ruler *r, const char *tenant, const char *ns, struct cairn_cfg *c,
                   struct cairn_rule_file *f, struct cairn_err *err)
{
    char *path = cairn__ruler_ns_path(r, tenant, ns);
    size_t len;
    char *text = path ? slurp(path, &len) : NULL;
    int rc = text ? cairn_rule_file_parse(c, f, path, text, len, err) : 0;
    free(text);
    free(path);
    return text ? (rc ? rc : 1) : 0;
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 200 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (*s == '/' || *s == '\0')
            return 0;
    return 1;
}

/* Write a namespace file from the groups g[0..n) (one of them may replace `skip`). */
static int save_ns(struct cairn_ruler *r, const char *tenant, const char *ns,
                   const struct cairn_rule_group *const *g, size_t n)
{
    char *path = cairn__ruler_ns_path(r, tenant, ns);
    if (!path)
        return CAIRN_ENOMEM;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", r->dir, tenant);
    mkdir(dir, 0755);
    if (!n) {
        int rc = unlink(path) && errno != ENOENT ? CAIRN_EIO : 0;
        free(path);
        return rc;
    }
    struct cairn_buf o = CAIRN_BUF_INIT;
    int rc = cairn_buf_append_str(&o, "groups:\n");
    for (size_t i = 0; i < n && !rc; i++)
        rc = emit_group(&o, g[i], "  ");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = rc ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!rc && (fd < 0 || write(fd, o.data, o.len) != (ssize_t)o.len || fdatasync(fd) ||
                rename(tmp, path)))
        rc = CAIRN_EIO;
    if (fd >= 0)
        close(fd);
    cairn_buf_deinit(&o);
    free(path);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Namespaces of a tenant, sorted (malloc'd names). */
static size_t list_ns(struct cairn_ruler *r, const char *tenant, char ***out)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", r->dir, tenant);
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    *out = NULL;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
            continue;
        char **v = realloc(*out, (n + 1) * sizeof *v);
        if (!v)
            break;
        *out = v;
        if (!(v[n] = strndup(e->d_name, l - 5)))
            break;
        n++;
    }
    if (d)
        closedir(d);
    if (n > 1)
        qsort(*out, n, sizeof **out, cmp_str);
    return n;
}

/* ---- Loki's rules API ---- */

static int reply(struct cairn_buf *out, const char **ct, int status, const char *msg)
{
    cairn_buf_reset(out);
    cairn_buf_append_str(out, msg);
    cairn_buf_append_byte(out, '\n');
    *ct = "text/plain; charset=utf-8";
    return status;
}

static int accepted(struct cairn_ruler *r, struct cairn_buf *out, const char **ct)
{
    pthread_mutex_lock(&r->mu);
    r->next_poll = 0; /* reload at the thread's next tick */
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    cairn_buf_reset(out);
    cairn_buf_append_str(out, "{\"status\":\"success\",\"data\":null,\"errorType\":\"\",\"error\":\"\"}");
    *ct = JSON;
    return 202;
}

static int get_rules(struct cairn_ruler *r, const char *tenant, const char *ns,
                     const char *group, struct cairn_buf *out, const char **ct)
{
    char **names = NULL;
    size_t n = ns ? 1 : list_ns(r, tenant, &names);
    int found = 0, rc = 0;
    cairn_buf_reset(out);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *name = ns ? ns : names[i];
        struct cairn_cfg c = {0};
        struct cairn_rule_file f;
        struct cairn_err err;
        cairn_err_clear(&err);
        if (load_ns(r, tenant, name, &c, &f, &err) == 1) {
            const struct cairn_rule_group *g = f.groups.v;
            if (group) {
                for (size_t k = 0; k < f.groups.n && !found; k++)
                    if (!strcmp(g[k].name, group)) {
                        /* one group: its own document, not a list item */
                        struct cairn_buf tmp = CAIRN_BUF_INIT;
                        rc = emit_group(&tmp, &g[k], "");
                        /* "- name: x\n  ..." -> "name: x\n..." */
                        const char *p = tmp.data ? tmp.data : "";
                        for (const char *l = p; !rc && *l;) {
                            const char *e = strchr(l, '\n');
                            size_t ll = e ? (size_t)(e - l + 1) : strlen(l);
                            rc = cairn_buf_append(out, l + 2 <= l + ll ? l + 2 : l, ll >= 2 ? ll - 2 : ll);
                            l += ll;
                        }
                        cairn_buf_deinit(&tmp);
                        found = 1;
                    }
            } else if (f.groups.n) {
                rc = yq(out, name) || cairn_buf_append_str(out, ":\n");
                for (size_t k = 0; k < f.groups.n && !rc; k++)
                    rc = emit_group(out, &g[k], "  ");
                found = 1;
            }
        }
        cairn_cfg_deinit(&c);
    }
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    if (rc)
        return reply(out, ct, 500, "out of memory");
    if (!found)
        return reply(out, ct, 404, group ? "group does not exist" : "no rule groups found");
    *ct = YAML;
    return 200;
}

static int post_group(struct cairn_ruler *r, const char *tenant, const char *ns, const char *body,
                      size_t len, struct cairn_buf *out, const char **ct)
{
    if (!r->cfg->enable_api)
        return reply(out, ct, 403, "the ruler API is read-only (ruler.enable_api: false)");
    struct cairn_cfg gc = {0}, fc = {0};
    struct cairn_rule_group grp;
    struct cairn_rule_file f;
    struct cairn_err err;
    cairn_err_clear(&err);
    int rc = cairn_cfg_init(&gc, &cairn_rule_group_table, &grp, NULL, &err);
    if (!rc)
        rc = cairn_cfg_load_string(&gc, "body", body, len, &err);
    if (!rc)
        rc = cairn_cfg_check(&gc, &err);
    if (rc) {
        int st = reply(out, ct, 400, err.msg[0] ? err.msg : "invalid rule group");
        cairn_cfg_deinit(&gc);
        return st;
    }
    int have = load_ns(r, tenant, ns, &fc, &f, &err);
    const struct cairn_rule_group *old = have == 1 ? f.groups.v : NULL;
    size_t nold = have == 1 ? f.groups.n : 0, n = 0;
    const struct cairn_rule_group **v = calloc(nold + 1, sizeof *v);
    int replaced = 0;
    for (size_t i = 0; v && i < nold; i++) {
        if (!strcmp(old[i].name, grp.name)) {
            v[n++] = &grp;
            replaced = 1;
        } else {
            v[n++] = &old[i];
        }
    }
    if (v && !replaced)
        v[n++] = &grp;
    rc = v ? save_ns(r, tenant, ns, v, n) : CAIRN_ENOMEM;
    free(v);
    cairn_cfg_deinit(&gc);
    cairn_cfg_deinit(&fc);
    if (rc)
        return reply(out, ct, 500, "cannot write the rule file");
    return accepted(r, out, ct);
}

static int delete_rules(struct cairn_ruler *r, const char *tenant, const char *ns,
                        const char *group, struct cairn_buf *out, const char **ct)
{
    if (!r->cfg->enable_api)
        return reply(out, ct, 403, "the ruler API is read-only (ruler.enable_api: false)");
    struct cairn_cfg fc = {0};
    struct cairn_rule_file f;
    struct cairn_err err;
    cairn_err_clear(&err);
    int have = load_ns(r, tenant, ns, &fc, &f, &err);
    int rc = 0;
    if (have != 1) {
        cairn_cfg_deinit(&fc);
        return reply(out, ct, 404, "no rule groups found");
    }
    const struct cairn_rule_group *old = f.groups.v;
    const struct cairn_rule_group **v = calloc(f.groups.n + 1, sizeof *v);
    size_t n = 0;
    int found = !group;
    for (size_t i = 0; v && group && i < f.groups.n; i++) {
        if (!strcmp(old[i].name, group))
            found = 1;
        else
            v[n++] = &old[i];
    }
    if (!found) {
        free(v);
        cairn_cfg_deinit(&fc);
        return reply(out, ct, 404, "group does not exist");
    }
    rc = v ? save_ns(r, tenant, ns, v, n) : CAIRN_ENOMEM;
    free(v);
    cairn_cfg_deinit(&fc);
    if (rc)
        return reply(out, ct, 500, "cannot write the rule file");
    return accepted(r, out, ct);
}

/* ---- Prometheus's rules and alerts (JSON) ---- */

static json_t *ts_json(int64_t ns)
{
    char b[48];
    if (!ns)
        return json_string("0001-01-01T00:00:00Z");
    cairn_format_rfc3339(ns, b, sizeof b);
    return json_string(b);
}

static json_t *map_json(const struct cairn_cfg_map *m)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < m->n; i++)
        json_object_set_new(o, m->v[i].key, json_string(m->v[i].value ? m->v[i].value : ""));
    return o;
}

static const char *state_name(enum alert_state s)
{
    return s == ALERT_FIRING ? "firing" : s == ALERT_PENDING ? "pending" : "inactive";
}

static json_t *alert_json(const struct alert *a)
{
    json_error_t je;
    char v[64];
    snprintf(v, sizeof v, "%g", a->value);
    json_t *l = json_loads(a->labels_json, 0, &je);
    json_t *an = a->annotations_json ? json_loads(a->annotations_json, 0, &je) : json_object();
    return json_pack("{s:o,s:o,s:s,s:o,s:s}", "labels", l ? l : json_object(), "annotations",
                     an ? an : json_object(), "state", state_name(a->state), "activeAt",
                     ts_json(a->active_at), "value", v);
}

static int prom_rules(struct cairn_ruler *r, const char *tenant, int alerts_only,
                      struct cairn_buf *out, const char **ct)
{
    json_t *groups = json_array(), *alerts = json_array();
    pthread_mutex_lock(&r->mu);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct group_rt *g = r->groups[gi];
        if (strcmp(g->tenant, tenant))
            continue;
        json_t *rules = json_array();
        for (size_t ri = 0; ri < g->nrules; ri++) {
            struct rule_rt *rr = &g->rules[ri];
            const struct cairn_rule *ru = rr->rule;
            json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:f}", "name",
                                  ru->alert ? ru->alert : ru->record, "query", ru->expr,
                                  "labels", map_json(&ru->labels), "health", rr->health,
                                  "lastError", rr->last_error, "lastEvaluation",
                                  ts_json(rr->last_eval), "evaluationTime",
                                  (double)rr->eval_ns / 1e9);
            if (ru->alert) {
                json_t *al = json_array();
                enum alert_state worst = 0;
                for (size_t i = 0; i < rr->n; i++) {
                    if (rr->alerts[i].state == ALERT_RESOLVED)
                        continue;
                    json_array_append_new(al, alert_json(&rr->alerts[i]));
                    json_array_append_new(alerts, alert_json(&rr->alerts[i]));
                    if (rr->alerts[i].state > worst)
                        worst = rr->alerts[i].state;
                }
                json_object_set_new(o, "type", json_string("alerting"));
                json_object_set_new(o, "state", json_string(state_name(worst)));
                json_object_set_new(o, "duration", json_real((double)ru->for_ns / 1e9));
                json_object_set_new(o, "keepFiringFor",
                                    json_real((double)ru->keep_firing_for_ns / 1e9));
                json_object_set_new(o, "annotations", map_json(&ru->annotations));
                json_object_set_new(o, "alerts", al);
            } else {
                json_object_set_new(o, "type", json_string("recording"));
            }
            json_array_append_new(rules, o);
        }
        json_array_append_new(groups,
                              json_pack("{s:s,s:s,s:o,s:f,s:i,s:o,s:f}", "name", g->g->name,
                                        "file", g->ns, "rules", rules, "interval",
                                        (double)g->interval / 1e9, "limit", g->g->limit,
                                        "lastEvaluation", ts_json(g->last_eval),
                                        "evaluationTime", (double)g->eval_ns / 1e9));
    }
    pthread_mutex_unlock(&r->mu);
    json_t *doc = alerts_only ? json_pack("{s:s,s:{s:o}}", "status", "success", "data", "alerts",
                                          alerts)
                              : json_pack("{s:s,s:{s:o}}", "status", "success", "data", "groups",
                                          groups);
    if (alerts_only)
        json_decref(groups);
    else
        json_decref(alerts);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    cairn_buf_reset(out);
    int rc = s ? cairn_buf_append_str(out, s) : CAIRN_ENOMEM;
    free(s);
    if (rc)
        return reply(out, ct, 500, "out of memory");
    *ct = JSON;
    return 200;
}

/* "/a/b" -> a, b (URL-decoded in place; at most 2 parts). The count, -1 if more. */
static int split_path(char *p, char **parts)
{
    int n = 0;
    while (*p == '/')
        p++;
    while (*p) {
        if (n == 2)
            return -1;
        parts[n++] = p;
        char *e = strchr(p, '/');
        if (!e)
            break;
        *e = '\0';
        p = e + 1;
    }
    for (int i = 0; i < n; i++) { /* %XX */
        char *s = parts[i], *d = s;
        for (; *s; s++) {
            int h, l;
            if (*s == '%' && (h = cairn_hex_digit(s[1])) >= 0 && (l = cairn_hex_digit(s[2])) >= 0) {
                *d++ = (char)(h * 16 + l);
                s += 2;
            } else {
                *d++ = *s;
            }
        }
        *d = '\0';
    }
    return n;
}

int cairn_ruler_http(struct cairn_ruler *r, const char *method, const char *path,
                     const char *tenant, const char *body, size_t body_len,
                     struct cairn_buf *out, const char **content_type)
{
    if (!strcmp(path, "/prometheus/api/v1/rules"))
        return prom_rules(r, tenant, 0, out, content_type);
    if (!strcmp(path, "/prometheus/api/v1/alerts"))
        return prom_rules(r, tenant, 1, out, content_type);
    const char *rest = NULL;
    if (!strncmp(path, "/loki/api/v1/rules", 18))
        rest = path + 18;
    else if (!strncmp(path, "/api/prom/rules", 15))
        rest = path + 15;
    if (!rest || (*rest && *rest != '/'))
        return reply(out, content_type, 404, "404 page not found");
    char buf[1024];
    if (strlen(rest) >= sizeof buf)
        return reply(out, content_type, 400, "path too long");
    strcpy(buf, rest);
    char *parts[2] = {NULL, NULL};
    int n = split_path(buf, parts);
    if (n < 0 || (parts[0] && !valid_name(parts[0])))
        return reply(out, content_type, 400, "invalid namespace or group in the path");
    if (!strcmp(method, "GET"))
        return get_rules(r, tenant, parts[0], parts[1], out, content_type);
    if (!strcmp(method, "POST")) {
        if (n != 1)
            return reply(out, content_type, 400, "POST a rule group to /loki/api/v1/rules/{namespace}");
        return post_group(r, tenant, parts[0], body, body_len, out, content_type);
    }
    if (!strcmp(method, "DELETE")) {
        if (n < 1)
            return reply(out, content_type, 400, "DELETE /loki/api/v1/rules/{namespace}[/{group}]");
        return delete_rules(r, tenant, parts[0], parts[1], out, content_type);
    }
    return reply(out, content_type, 405, "method not allowed");
}
