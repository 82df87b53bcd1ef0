/* pipeline.c -- run pipeline stages in order over an entry and emit what survives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "ship/ship_int.h"

struct cairn_ship_pipeline *cairn__pipeline_new(size_t n)
{
    struct cairn_ship_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return NULL;
    if (n && !(pl->v = calloc(n, sizeof *pl->v))) {
        free(pl);
        return NULL;
    }
    return pl;
}

int cairn__pipeline_add(struct cairn_ship_pipeline *pl, const struct cairn__stage_ops *ops,
                        void *st, const char *drop_reason)
{
    void *nv = realloc(pl->v, (pl->n + 1) * sizeof *pl->v);
    if (!nv)
        return CAIRN_ENOMEM;
    pl->v = nv;
    pl->v[pl->n++] = (struct cairn__stage){ops, st, drop_reason};
    return 0;
}

void cairn_ship_pipeline_destroy(struct cairn_ship_pipeline *pl)
{
    if (!pl)
        return;
    for (size_t i = 0; i < pl->n; i++)
        if (pl->v[i].ops->destroy)
            pl->v[i].ops->destroy(&pl->v[i]);
    free(pl->v);
    free(pl);
}

void cairn__pipeline_count_drop(struct cairn_ship_pipeline *pl, const char *reason)
{
    if (!reason)
        reason = "stage";
    while (pl->parent)
        pl = pl->parent;
    for (size_t i = 0; i < CAIRN__DROP_REASONS; i++) {
        if (pl->drops[i].reason[0] == '\0') {
            snprintf(pl->drops[i].reason, sizeof pl->drops[i].reason, "%s", reason);
            pl->drops[i].n = 1;
            return;
        }
        if (strcmp(pl->drops[i].reason, reason) == 0) {
            pl->drops[i].n++;
            return;
        }
    }
    pl->drops[CAIRN__DROP_REASONS - 1].n++;
}

static int apply_from(struct cairn_ship_pipeline *pl, size_t from, struct cairn_ship_entry *e)
{
    for (size_t i = from; i < pl->n; i++) {
        struct cairn__stage *s = &pl->v[i];
        int rc = s->ops->process(s, e);
        if (rc == CAIRN__KEEP)
            continue;
        if (rc == CAIRN__DROP)
            cairn__pipeline_count_drop(pl, s->drop_reason);
        return rc;
    }
    return CAIRN__KEEP;
}

int cairn__pipeline_apply(struct cairn_ship_pipeline *pl, struct cairn_ship_entry *e)
{
    return apply_from(pl, 0, e);
}

int cairn__pipeline_run_from(struct cairn_ship_pipeline *pl, size_t from,
                             struct cairn_ship_entry *e, const struct cairn_ship_sink *sink)
{
    int rc = pl ? apply_from(pl, from, e) : CAIRN__KEEP;
    if (rc < 0)
        return rc;
    if (rc != CAIRN__KEEP)
        return 0;
    if (e->labels.n == 0) {
        /* Loki refuses a stream without labels; Promtail drops these too */
        if (pl)
            cairn__pipeline_count_drop(pl, "no_labels");
        return 0;
    }
    return sink->emit(sink->ud, e);
}

int cairn_ship_pipeline_run(struct cairn_ship_pipeline *pl, struct cairn_ship_entry *e,
                            const struct cairn_ship_sink *sink)
{
    return cairn__pipeline_run_from(pl, 0, e, sink);
}

int cairn_ship_pipeline_tick(struct cairn_ship_pipeline *pl, int64_t now_mono,
                             const struct cairn_ship_sink *sink)
{
    if (!pl)
        return 0;
    for (size_t i = 0; i < pl->n; i++) {
        if (pl->v[i].ops->tick) {
            int rc = pl->v[i].ops->tick(&pl->v[i], now_mono, now_mono == INT64_MAX, pl, i, sink);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int64_t cairn_ship_pipeline_held_floor(const struct cairn_ship_pipeline *pl, uint64_t src)
{
    int64_t floor = INT64_MAX;
    for (size_t i = 0; pl && i < pl->n; i++) {
        if (!pl->v[i].ops->held_floor)
            continue;
        int64_t f = pl->v[i].ops->held_floor(&pl->v[i], src);
        if (f < floor)
            floor = f;
    }
    return floor;
}

size_t cairn__pipeline_held_streams(const struct cairn_ship_pipeline *pl)
{
    size_t n = 0;
    for (size_t i = 0; pl && i < pl->n; i++)
        if (pl->v[i].ops->held_streams)
            n += pl->v[i].ops->held_streams(&pl->v[i]);
    return n;
}
