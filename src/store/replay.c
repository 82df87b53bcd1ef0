/* replay.c -- WAL replay into the heads on open, exactly once.
 *
 * Two passes. The first creates streams from STREAM records and collects a reference
 * to every ENTRIES record; the second inserts the entries of each stream in sequence
 * order. Concurrent pushes to one stream may reach the WAL in another order than they
 * got their sequence numbers, and a block cut during replay must hold a contiguous
 * range of them: its seq_hi then says "everything below is in segment files", which is
 * what the next replay trusts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "store/store_int.h"

struct replay_ref {
    struct cairn__stream *st;
    struct cairn__tenant *t;
    uint64_t first, wal_seq;
    const unsigned char *p; /* the entries, to the end of the payload */
    size_t n;
    size_t order; /* position in the WAL, to keep the sort stable */
    int sm;       /* ENTRIES_SM: each entry carries structured metadata */
};

struct replay {
    struct cairn_store *s;
    struct replay_ref *refs;
    size_t nrefs, cap;
    size_t entries, skipped;
};

static int get_str(const unsigned char *p, uint32_t n, size_t *off, const char **out, size_t *len)
{
    uint64_t l;
    size_t k = cairn_get_uvarint(p + *off, n - *off, &l);
    if (!k || l > n - *off - k)
        return CAIRN_ECORRUPT;
    *out = (const char *)p + *off + k;
    *len = (size_t)l;
    *off += k + l;
    return 0;
}

static int replay_scan(struct replay *r, uint64_t seq, uint8_t type, const unsigned char *p,
                       uint32_t n)
{
    struct cairn_store *s = r->s;
    size_t off = 0;
    const char *tn;
    size_t tlen;
    char tenant[CAIRN__TENANT_MAX + 1];
    if (type != CAIRN__WAL_STREAM && type != CAIRN__WAL_ENTRIES && type != CAIRN__WAL_ENTRIES_SM)
        return 0; /* a newer record type: skip */
    if (get_str(p, n, &off, &tn, &tlen) || tlen > CAIRN__TENANT_MAX)
        return CAIRN_ECORRUPT;
    memcpy(tenant, tn, tlen);
    tenant[tlen] = '\0';
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 1);
    if (!t)
        return CAIRN_ECORRUPT;
    if (type == CAIRN__WAL_STREAM) {
        if (n - off < 12)
            return CAIRN_ECORRUPT;
        uint32_t sid = cairn_get_u32le(p + off);
        uint64_t fp = cairn_get_u64le(p + off + 4);
        off += 12;
        const char *lt;
        size_t ll;
        if (get_str(p, n, &off, &lt, &ll))
            return CAIRN_ECORRUPT;
        struct cairn__stream *st = cairn__stream_restore(s, t, sid, fp, lt, ll);
        if (!st)
            return CAIRN_ENOMEM;
        if (!st->active) {
            st->active = 1;
            atomic_fetch_add(&t->active, 1);
            st->last_append = cairn_now_ns();
        }
        return 0;
    }
    if (n - off < 4)
        return CAIRN_ECORRUPT;
    uint32_t sid = cairn_get_u32le(p + off);
    off += 4;
    uint64_t first;
    size_t k = cairn_get_uvarint(p + off, n - off, &first);
    if (!k)
        return CAIRN_ECORRUPT;
    off += k;
    struct cairn__stream *st = cairn__stream_by_id(t, sid);
    if (!st) {
        CAIRN_WARN("wal", "entries for an unknown stream skipped", "tenant=\"%s\" sid=%u", tenant,
                   sid);
        cairn__sid_reserve(t, sid);
        return 0;
    }
    if (r->nrefs == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 1024;
        struct replay_ref *nv = realloc(r->refs, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        r->refs = nv;
        r->cap = nc;
    }
    r->refs[r->nrefs] = (struct replay_ref){st, t, first, seq, p + off, n - off, r->nrefs,
                                            type == CAIRN__WAL_ENTRIES_SM};
    r->nrefs++;
    return 0;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct replay_ref *x = a, *y = b;
    if (x->st != y->st)
        return (uintptr_t)x->st < (uintptr_t)y->st ? -1 : 1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static int replay_entries(struct replay *r, const struct replay_ref *f)
{
    struct cairn_store *s = r->s;
    struct cairn__stream *st = f->st;
    const unsigned char *p = f->p;
    size_t n = f->n, off = 0;
    int64_t prev = 0;
    int rc = 0;
    for (uint64_t q = f->first; off < n; q++) {
        int64_t d;
        uint64_t len;
        size_t a = cairn_get_varint(p + off, n - off, &d);
        size_t b = a ? cairn_get_uvarint(p + off + a, n - off - a, &len) : 0;
        if (!a || !b || len > n - off - a - b)
            return CAIRN_ECORRUPT;
        int64_t ts = (int64_t)((uint64_t)prev + (uint64_t)d);
        prev = ts;
        const char *line = (const char *)p + off + a + b;
        off += a + b + len;
        uint64_t sml = 0;
        const char *sm = NULL;
        if (f->sm) {
            size_t c = cairn_get_uvarint(p + off, n - off, &sml);
            if (!c || sml > n - off - c)
                return CAIRN_ECORRUPT;
            sm = (const char *)p + off + c;
            off += c + sml;
        }
        if (q < st->hw) { /* already in a segment file */
            r->skipped++;
            continue;
        }
        if ((rc = cairn__head_insert(s, f->t, st, ts, line, len, sm, (size_t)sml, q, f->wal_seq)))
            break;
        if (q + 1 > st->seq)
            st->seq = q + 1;
        cairn__note_accepted(st, ts);
        r->entries++;
    }
    return rc;
}

/* Blocks whose STREAM record was damaged, given to their streams now that the segment
 * files and the WAL's STREAM records have named every stream they can; before any
 * entry is inserted, so their seq_hi keeps replay exactly-once. */
static int adopt_orphans(struct cairn_store *s)
{
    struct cairn__tenant *t;
    int rc = 0;
    for (size_t i = 0; !rc && (t = cairn__tenant_at(s, i)); i++) {
        size_t n;
        struct cairn__period **v = cairn__periods_in(t, INT64_MIN, INT64_MAX, &n);
        if (!v)
            return CAIRN_ENOMEM;
        for (size_t j = 0; !rc && j < n; j++)
            if (v[j]->n_orphans) /* the store is not shared yet: no lock for the peek */
                rc = cairn__period_adopt_orphans(s, t, v[j], 1);
        cairn__periods_release(v, n);
    }
    return rc;
}

/* Replay the WAL into the heads (single-threaded: the store is not shared yet, but the
 * shard locks are taken anyway for the functions that expect them). */
int cairn__replay_wal(struct cairn_store *s, uint64_t *max_seq)
{
    struct cairn__wal_map *m;
    size_t nm;
    *max_seq = 0;
    int rc = cairn__wal_map_all(s->data_dir, &m, &nm, &s->damage);
    if (rc)
        return rc;
    struct replay r = {.s = s};
    for (size_t i = 0; i < nm && !rc; i++) {
        *max_seq = m[i].seq;
        if (!m[i].p)
            continue; /* quarantined */
        uint8_t type;
        const unsigned char *pl;
        uint32_t pn;
        size_t off;
        struct cairn__recscan sc;
        cairn__recscan_init(&sc, m[i].p, m[i].len, CAIRN__FILE_HDR, cairn__wal_rec_plausible);
        while (!rc && cairn__recscan_next(&sc, &type, &pl, &pn, &off) == 1) {
            int e = replay_scan(&r, m[i].seq, type, pl, pn);
            if (e == CAIRN_ENOMEM) {
                rc = e;
            } else if (e) {
                /* its CRC holds but its content does not parse: skip it, not the rest */
                CAIRN_ERROR("wal", "record rejected during replay, skipped",
                            "seq=%llu offset=%zu bytes=%u err=\"%s\"",
                            (unsigned long long)m[i].seq, off, pn, cairn_strerror(e));
                atomic_fetch_add(&s->damage.records_skipped, 1);
                atomic_fetch_add(&s->damage.bytes_skipped, CAIRN__REC_HDR + (uint64_t)pn);
            }
        }
    }
    if (!rc)
        rc = adopt_orphans(s);
    if (!rc && r.nrefs)
        qsort(r.refs, r.nrefs, sizeof *r.refs, ref_cmp);
    for (size_t i = 0; i < r.nrefs && !rc; i++) {
        struct cairn__shard *sh = cairn__shard_of(r.refs[i].t, r.refs[i].st->fp);
        pthread_mutex_lock(&sh->mu);
        rc = replay_entries(&r, &r.refs[i]);
        pthread_mutex_unlock(&sh->mu);
        if (rc == CAIRN_ECORRUPT) { /* the entries before the bad one are in */
            CAIRN_ERROR("wal", "entries record does not parse, rest of it skipped",
                        "wal_seq=%llu sid=%u", (unsigned long long)r.refs[i].wal_seq,
                        r.refs[i].st->sid);
            atomic_fetch_add(&s->damage.records_skipped, 1);
            rc = 0;
        }
        cairn__head_evict(s);
    }
    if (nm)
        CAIRN_INFO("wal", "replay done", "files=%zu records=%zu entries=%zu already_flushed=%zu",
                   nm, r.nrefs, r.entries, r.skipped);
    free(r.refs);
    cairn__wal_unmap_all(m, nm);
    return rc;
}

