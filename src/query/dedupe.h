/* dedupe.h -- duplicate entries on the read path, as Loki's queriers drop them: within
 * one stream, an entry with the same timestamp and the same line bytes as one already
 * returned is returned (or counted) once. Internal to src/query.
 *
 * The entries of a stream come out of the store's merged iterator in time order, so a
 * duplicate can only follow its original inside the run of entries sharing the stream
 * and the timestamp. The common case (the next entry has another timestamp) costs a
 * comparison and keeps only a pointer to the line: the store's entry iterator keeps
 * the previous entry's line readable while it returns the next one. Only when a run
 * forms are its lines copied, into a scratch reused from run to run (the steady state
 * allocates nothing); a long run (many lines with one timestamp) is looked up by hash.
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
    const char *first;          /* the run's first line while it is alone (n == 0): */
    size_t first_len;           /* the caller's memory, still valid on the next call */
    struct cairn_buf lines;     /* the run's lines, back to back */
    struct cairn__qdup_ent *v;  /* the run's entries */
    size_t n, cap;
    uint32_t *slots;            /* a hashed run: index+1 into v, 0 empty */
    size_t nslots;              /* 0: the run is not hashed (short: linear scan) */
    size_t slotcap;             /* slots allocated */
};

/* The slow path: an entry joining the current run. */
int cairn__qdup_join(struct cairn__qdup *d, const char *line, size_t len);

/* 1: an entry of stream sid with this timestamp and line was seen already (drop it);
 * 0: it is new (now remembered); CAIRN_ENOMEM. Entries of one stream must come in
 * time order (either direction), and a run of equal (stream, timestamp) entries must
 * not be interleaved with other entries (the merged iterator's order: timestamp, then
 * stream id). The line passed in the previous call must still be readable during this
 * one (cairn_store_iter_next promises it); nothing older is read. */
static inline int cairn__qdup_seen(struct cairn__qdup *d, uint32_t sid, int64_t ts, const char *line,
                                   size_t len)
{
    if (d->live && ts == d->ts && sid == d->sid)
        return cairn__qdup_join(d, line, len);
    d->ts = ts;
    d->sid = sid;
    d->live = 1;
    d->first = line;
    d->first_len = len;
    d->n = 0;
    return 0;
}

/* Forget the current run (the next entry starts a new one). */
static inline void cairn__qdup_reset(struct cairn__qdup *d)
{
    d->live = 0;
}

void cairn__qdup_deinit(struct cairn__qdup *d);

#endif
