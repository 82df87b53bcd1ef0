/* rules.c -- the rule file tables (Prometheus's rule format with LogQL expressions)
 * and their checks. */
#include <string.h>

#include "cairn/logql.h"
#include "cairn/ruler.h"

#define SEC 1000000000LL
#define RU struct cairn_rule
#define G struct cairn_rule_group

/* Prometheus's metric names: [a-zA-Z_:][a-zA-Z0-9_:]* */
static int metric_name_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return 0;
    return 1;
}

static int rule_check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err)
{
    (void)c;
    RU *r = obj;
    if (!!(r->alert && *r->alert) == !!(r->record && *r->record))
        return cairn_err_set(err, CAIRN_EINVAL, "%s: a rule has either alert or record", path);
    if (!r->expr || !*r->expr)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.expr: required", path);
    struct cairn_logql_query *q = NULL;
    struct cairn_err e;
    cairn_err_clear(&e);
    if (cairn_logql_parse(r->expr, strlen(r->expr), &q, &e))
        return cairn_err_set(err, CAIRN_EINVAL, "%s.expr: %s", path, e.msg);
    int is_log = cairn_logql_is_log(q);
    cairn_logql_query_destroy(q);
    if (is_log)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.expr: a log query cannot be a rule: use a "
                                                "metric query such as count_over_time(...)", path);
    if (r->record && !metric_name_ok(r->record))
        return cairn_err_set(err, CAIRN_EINVAL, "%s.record: invalid metric name '%s'", path,
                             r->record);
    if (r->record && (r->for_ns || r->annotations.n))
        return cairn_err_set(err, CAIRN_EINVAL, "%s: a recording rule has no for or annotations",
                             path);
    return 0;
}

static const struct cairn_cfg_entry rule_e[] = {
    {.key = "alert", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(RU, alert), .help = "alert name"},
    {.key = "record", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(RU, record),
     .help = "metric name to record the result as"},
    {.key = "expr", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(RU, expr), .help = "LogQL metric query"},
    {.key = "for", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(RU, for_ns), .min = 0,
     .max = 365 * 24 * 3600 * SEC, .help = "pending this long before firing"},
    {.key = "keep_firing_for", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(RU, keep_firing_for_ns),
     .min = 0, .max = 365 * 24 * 3600 * SEC, .help = "keep firing this long after it stops"},
    {.key = "labels", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(RU, labels), .help = "added labels"},
    {.key = "annotations", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(RU, annotations),
     .help = "Go templates: $labels, $value, humanize..."},
};
static const struct cairn_cfg_table rule_t = {.name = "rule", .entries = rule_e,
                                              .n = sizeof rule_e / sizeof rule_e[0],
                                              .size = sizeof(RU), .check = rule_check};

static const struct cairn_cfg_entry group_e[] = {
    {.key = "name", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_REQUIRED, CAIRN_CFG_AT(G, name),
     .help = "group name (unique in its file)"},
    {.key = "interval", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(G, interval_ns), .min = 0,
     .max = 24 * 3600 * SEC, .help = "evaluation interval (default: ruler.evaluation_interval)"},
    {.key = "limit", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(G, limit), .min = 0, .max = 1000000,
     .help = "most alerts or series per rule (0: no limit)"},
    {.key = "rules", .type = CAIRN_CFG_LIST, CAIRN_CFG_AT(G, rules), .sub = &rule_t,
     .help = "alerting and recording rules"},
};
const struct cairn_cfg_table cairn_rule_group_table =
    CAIRN_CFG_TABLE("group", group_e, struct cairn_rule_group);

static int file_check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err)
{
    (void)c;
    (void)path;
    const struct cairn_rule_file *f = obj;
    const G *g = f->groups.v;
    for (size_t i = 0; i < f->groups.n; i++)
        for (size_t j = 0; j < i; j++)
            if (g[i].name && g[j].name && strcmp(g[i].name, g[j].name) == 0)
                return cairn_err_set(err, CAIRN_EINVAL, "groups[%zu]: group name '%s' repeated",
                                     i, g[i].name);
    return 0;
}

static const struct cairn_cfg_entry file_e[] = {
    {.key = "groups", .type = CAIRN_CFG_LIST, CAIRN_CFG_AT(struct cairn_rule_file, groups),
     .sub = &cairn_rule_group_table, .help = "rule groups"},
};
const struct cairn_cfg_table cairn_rule_file_table = {
    .name = "rules", .entries = file_e, .n = 1, .size = sizeof(struct cairn_rule_file),
    .check = file_check};

int cairn_rule_file_parse(struct cairn_cfg *c, struct cairn_rule_file *f, const char *name,
                          const char *text, size_t len, struct cairn_err *err)
{
    int rc = cairn_cfg_init(c, &cairn_rule_file_table, f, NULL, err);
    if (rc)
        return rc;
    rc = cairn_cfg_load_string(c, name, text, len, err);
    if (!rc)
        rc = cairn_cfg_check(c, err);
    return rc;
}
