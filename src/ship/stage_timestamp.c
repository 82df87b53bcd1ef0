/* stage_timestamp.c -- the timestamp stage: set the entry's time from an extracted
 * value, trying format then fallback_formats; on failure "fudge" (the stream's last
 * timestamp + 1ns, Promtail's default) or "skip" (leave the time as it is). */
#include <stdlib.h>
#include <string.h>

#include "ship/ship_int.h"

#define FUDGE_SLOTS 1024 /* streams remembered for fudging; older ones are overwritten */

struct ts_stage {
    char *source;
    size_t source_len;
    char **formats; /* format first, then fallbacks */
    size_t n_formats;
    struct cairn__tz *tz;
    int fudge;
    struct {
        uint64_t fp;
        int64_t ts;
    } last[FUDGE_SLOTS];
};

static int ts_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct ts_stage *t = s->st;
    size_t vl;
    const char *v = cairn_ship_ex_get(e, t->source, t->source_len, &vl);
    uint64_t fp = t->fudge ? cairn_labels_fingerprint(&e->labels) : 0;
    size_t slot = fp & (FUDGE_SLOTS - 1);
    if (v) {
        for (size_t i = 0; i < t->n_formats; i++) {
            int64_t ns;
            if (cairn__time_parse(t->formats[i], t->tz, v, vl, &ns) == 0) {
                e->ts = ns;
                if (t->fudge) {
                    t->last[slot].fp = fp;
                    t->last[slot].ts = ns;
                }
                return CAIRN__KEEP;
            }
        }
    }
    if (t->fudge && t->last[slot].fp == fp && t->last[slot].ts) {
        t->last[slot].ts++;
        e->ts = t->last[slot].ts;
    }
    return CAIRN__KEEP;
}

static void ts_destroy(struct cairn__stage *s)
{
    struct ts_stage *t = s->st;
    if (!t)
        return;
    free(t->source);
    for (size_t i = 0; i < t->n_formats; i++)
        free(t->formats[i]);
    free(t->formats);
    cairn__tz_free(t->tz);
    free(t);
}

static const struct cairn__stage_ops ts_ops = {
    .name = "timestamp",
    .process = ts_process,
    .destroy = ts_destroy,
};

int cairn__stage_timestamp(struct cairn_ship_pipeline *pl, const char *source, const char *format,
                           const char *const *fallback, size_t n_fallback, const char *location,
                           const char *action_on_failure, struct cairn_err *err)
{
    if (!source || !*source)
        return cairn_err_set(err, CAIRN_EINVAL, "timestamp stage: source is required");
    if (!format || !*format)
        return cairn_err_set(err, CAIRN_EINVAL, "timestamp stage: format is required");
    int fudge = 1;
    if (action_on_failure && *action_on_failure) {
        if (strcmp(action_on_failure, "skip") == 0)
            fudge = 0;
        else if (strcmp(action_on_failure, "fudge") != 0)
            return cairn_err_set(err, CAIRN_EINVAL, "timestamp stage: invalid action_on_failure "
                                 "'%s' (fudge or skip)", action_on_failure);
    }
    struct ts_stage *t = calloc(1, sizeof *t);
    if (!t)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, t, NULL};
    if (location && *location && strcmp(location, "UTC") != 0) {
        t->tz = cairn__tz_load(location);
        if (!t->tz) {
            ts_destroy(&tmp);
            return cairn_err_set(err, CAIRN_EINVAL, "timestamp stage: unknown location '%s'",
                                 location);
        }
    }
    t->fudge = fudge;
    t->source = strdup(source);
    t->source_len = strlen(source);
    t->formats = calloc(1 + n_fallback, sizeof *t->formats);
    if (!t->source || !t->formats)
        goto nomem;
    if (!(t->formats[t->n_formats++] = strdup(format)))
        goto nomem;
    for (size_t i = 0; i < n_fallback; i++)
        if (!(t->formats[t->n_formats++] = strdup(fallback[i])))
            goto nomem;
    if (cairn__pipeline_add(pl, &ts_ops, t, NULL))
        goto nomem;
    return 0;
nomem:
    ts_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}
