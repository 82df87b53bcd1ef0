/* dedupe.h -- duplicate entries on the read path, as Loki's queriers drop them: within
 * one stream, an entry with the same timestamp and the same line bytes as one already
 * returned is returned (or counted) once. Internal to src/query.
 *
 * The entries of a stream come out of the store's merged iterator in time order, so a
 * duplicate can only follow its original inside the run of entries sharing the stream
 * and the timestamp: the run's lines are kept (copied: an iterator's line is valid only
 * until its next call) in a scratch reused from run to run, so the steady state
 * allocates nothing; a long run (many lines with one timestamp) is looked up by hash.
 * Ownership: the struct is caller storage (zeroed is ready), freed by _deinit. */
#ifndef CAIRN_QUERY_DEDUPE_H
#define CAIRN_QUERY_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"

struct cairn__qdup_ent {
    uint64_t off;  /* in lines */
    uint64_t h;    /* the line's hash, once the run is hashed */
    uint32_t len;
};

struct cairn__qdup {
    int64_t ts;
    uint32_t sid;
    int live;                   /* ts and sid name the current run */
    struct cairn_buf lines;     /* the run's lines, back to back */
    struct cairn__qdup_ent *v;  /* the run's entries */
    size_t n, cap;
    uint32_t *slots;            /* a hashed run: index+1 into v, 0 empty */
    size_t nslots;              /* 0: the run is not hashed (short: linear scan) */
    size_t slotcap;             /* slots allocated */
};

/* The slow paths (a new run, and an entry joining the current one). */
int cairn__qdup_start(struct cairn__qdup *d, uint32_t sid, int64_t ts, const char *line, size_t len);
int cairn__qdup_join(struct cairn__qdup *d, const char *line, size_t len);

/* 1: an entry of stream sid with this timestamp and line was seen already (drop it);
 * 0: it is new (now remembered); CAIRN_ENOMEM. Entries of one stream must come in
 * time order (either direction); other streams' entries may come in between only
 * when no stream's run of equal timestamps is interleaved with another's (the merged
 * iterator's order: timestamp, then stream id). */
static inline int cairn__qdup_seen(struct cairn__qdup *d, uint32_t sid, int64_t ts, const char *line,
                                   size_t len)
{
    if (d->live && ts == d->ts && sid == d->sid)
        return cairn__qdup_join(d, line, len);
    return cairn__qdup_start(d, sid, ts, line, len);
}

/* Forget the current run (the next entry starts a new one). */
static inline void cairn__qdup_reset(struct cairn__qdup *d)
{
    d->live = 0;
}

void cairn__qdup_deinit(struct cairn__qdup *d);

#endif
