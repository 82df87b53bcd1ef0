/* targets.h -- the agent's target sets: tail targets built from relabelled label sets
 * (static_configs and discovered ones), as Promtail's target syncer builds them.
 *
 * Ownership: a tset owns its targets' paths and labels; the pipelines are borrowed
 * (the agent owns them for its whole life). */
#ifndef CAIRN_SHIP_TARGETS_H
#define CAIRN_SHIP_TARGETS_H

#include <stddef.h>

#include "cairn/sd.h"
#include "cairn/ship.h"

struct cairn__tstate {
    struct cairn_labels labels;
    char *path, *exclude;
    const char *job;
};

struct cairn__tset {
    struct cairn_tail_target *t;  /* pointed at st's strings by cairn__tset_fix */
    struct cairn__tstate *st;
    size_t n, cap;
};

void cairn__tset_free(struct cairn__tset *s);
/* Add a target (copies path, exclude, labels). Same path, exclusion and labels as one
 * already there: not added again (Promtail's "already exists"). 0 or CAIRN_ENOMEM. */
int cairn__tset_add(struct cairn__tset *s, enum cairn_tail_kind kind, const char *path,
                    const char *exclude, const struct cairn_labels *ls,
                    struct cairn_ship_pipeline *pl, const char *job);
/* Point the targets at their strings (after the last add). */
void cairn__tset_fix(struct cairn__tset *s);

/* A relabelled label set to a file target, as Promtail's syncer decides: dropped when
 * __host__ is set and is not hostname, dropped without __path__; labels starting with
 * "__" and empty ones are not the stream's. *why gets the reason of a drop.
 * 1 added, 0 dropped, negative error. */
int cairn__tset_add_labels(struct cairn__tset *s, const struct cairn_sd_labels *ls,
                           struct cairn_ship_pipeline *pl, const char *job,
                           const char *hostname, const char **why);

#endif
