/* append.c -- the store's write path: a push becomes one WAL write, and only once the
 * WAL has it (synced, under CAIRN_FSYNC_ALWAYS) do its entries enter the head.
 *
 * Three steps, so that a failed write leaves no trace in memory:
 *  1. reserve: under each stream's shard lock, check the out-of-order window and
 *     Loki's duplicate rule against the head, encode the accepted entries into the
 *     batch (one ENTRIES record per stream, a STREAM record first for a stream whose
 *     record is not in the WAL yet) and reserve their sequence numbers. Nothing in
 *     the head changes; a stream created here is dropped again if nothing of it was
 *     accepted.
 *  2. write the batch to the WAL (one write(2), the group fsync under ALWAYS).
 *  3. insert: under each shard lock again, the entries enter the head from the batch
 *     (or, if the WAL failed, the reservation is abandoned), in sequence order per
 *     stream: an append whose reservation follows one still between steps 1 and 3
 *     skips that stream, does its others and comes back (never waiting while holding
 *     a lock, so two appends sharing streams in opposite order cannot deadlock).
 * Only then does a stream become active, its newest timestamp move, its entries
 * become visible to queries and to the duplicate check. Step 1 takes a stream shard
 * in arrival order (a ticket), so a push that waited through a long hold of the lock
 * is not overtaken by later pushes until it falls out of the out-of-order window.
 *
 * Sequence numbers stay exact for replay (store.c): st->seq, the next to enter the
 * head, is what a block cut records as "everything below is in segment files"; a
 * reservation abandoned after a failure leaves a gap below it, which replay never
 * needs. */
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/timeutil.h"
#include "store/store_int.h"

/* One stream's part of an append between reservation and insert. */
struct pend {
    struct cairn__stream *st;
    struct cairn__shard *sh;
    size_t i;                /* index in the caller's streams */
    size_t eoff, eend;       /* its entries inside the batch */
    uint64_t first, end;     /* reserved sequence numbers [first, end) */
    uint64_t bytes;          /* line bytes */
    int sm;                  /* an ENTRIES_SM record: each entry carries its metadata */
    int done;
};

struct cairn__append_scratch {
    struct cairn_buf b; /* the WAL batch */
    struct pend *v;
    size_t cap;
};

void cairn__append_scratch_free(struct cairn__append_scratch *a)
{
    if (!a)
        return;
    cairn_buf_deinit(&a->b);
    free(a->v);
    free(a);
}

static struct cairn__append_scratch *scratch_get(struct cairn_store *s)
{
    struct cairn__append_scratch *a = NULL;
    pthread_mutex_lock(&s->buf_mu);
    if (s->n_scr_free)
        a = s->scr_free[--s->n_scr_free];
    pthread_mutex_unlock(&s->buf_mu);
    if (!a && (a = calloc(1, sizeof *a)))
        cairn_buf_init(&a->b);
    return a;
}

static void scratch_put(struct cairn_store *s, struct cairn__append_scratch *a)
{
    cairn_buf_reset(&a->b);
    if (a->b.cap > (8u << 20)) /* do not keep a huge one around */
        cairn_buf_deinit(&a->b);
    pthread_mutex_lock(&s->buf_mu);
    if (s->n_scr_free < sizeof s->scr_free / sizeof s->scr_free[0]) {
        s->scr_free[s->n_scr_free++] = a;
        a = NULL;
    }
    pthread_mutex_unlock(&s->buf_mu);
    cairn__append_scratch_free(a);
}

/* Loki drops an entry identical (same timestamp, same line) to one still in the
 * stream's head. In-order entries (the common case) cannot be: one comparison. Others
 * are looked for in the open block, newest first. */
static int is_dup(const struct cairn__stream *st, int64_t ts, const char *line, size_t len)
{
    const struct cairn__hblock *b = &st->blk;
    if (!b->n || ts > b->max_ts || ts < b->min_ts)
        return 0;
    for (uint32_t k = b->n; k-- > 0;) {
        const struct cairn__hent *e = cairn__hblock_ent(b, k);
        if (e->ts == ts && e->len == len && cairn__hblock_eq(b, e->off, line, len))
            return 1;
        if (b->sorted && e->ts < ts)
            break;
    }
    return 0;
}

/* LEB128 / zigzag straight into reserved room (the caller reserved 20 bytes). */
static void put_uv(struct cairn_buf *b, uint64_t v)
{
    unsigned char *o = (unsigned char *)b->data + b->len;
    while (v >= 0x80) {
        *o++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *o++ = (unsigned char)v;
    b->len = (size_t)((char *)o - b->data);
}

/* Step 1 for one stream, under its shard lock (sh, held): window, duplicates, encoding,
 * reservation. 0 with *pd filled (pd->end == pd->first when nothing was accepted) or
 * a negative CAIRN_E* with the batch and the stream as they were. */
static int reserve_locked(struct cairn_store *s, struct cairn__tenant *t, const char *tenant,
                          size_t tl, struct cairn_push_stream *ps, struct cairn_buf *b,
                          struct pend *pd, struct cairn__shard *sh, uint64_t fp)
{
    int created;
    struct cairn__stream *st =
        cairn__stream_get_locked(s, t, sh, fp, ps->labels, NULL, 0, 0, &created);
    if (!st)
        return CAIRN_ENOMEM;
    if (st->seq_res < st->seq) /* after replay or loading, only seq moved */
        st->seq_res = st->seq;
    int rc = 0;
    size_t mark = b->len;
    /* a STREAM record until one is known to be in the WAL (a second copy is harmless) */
    if (!st->active && cairn__wal_stream_record(b, tenant, st->sid, fp, st->ltext, st->ltext_len))
        rc = CAIRN_ENOMEM;
    /* entries with structured metadata go in the newer record type (WAL.md) */
    int with_sm = 0;
    for (size_t k = 0; ps->sm && k < ps->n && !with_sm; k++)
        with_sm = ps->sm[k].len != 0;
    size_t at = rc ? (size_t)-1
                   : cairn__rec_begin(b, with_sm ? CAIRN__WAL_ENTRIES_SM : CAIRN__WAL_ENTRIES);
    if (!rc && (at == (size_t)-1 || cairn_buf_append_uvarint(b, tl) ||
                cairn_buf_append(b, tenant, tl) || cairn_buf_append_u32le(b, st->sid) ||
                cairn_buf_append_uvarint(b, st->seq_res)))
        rc = CAIRN_ENOMEM;
    /* room for the whole record at once: each entry is at most its line and two
     * 10-byte varints */
    size_t need = 0;
    for (size_t k = 0; !rc && k < ps->n; k++)
        need += ps->entries[k].len + 20 + (with_sm ? ps->sm[k].len + 10 : 0);
    if (!rc && cairn_buf_reserve(b, need))
        rc = CAIRN_ENOMEM;
    size_t eoff = b->len, accepted = 0;
    uint64_t bytes = 0;
    /* the window is measured from the newest entry in the head or accepted above */
    int64_t newest = st->max_ts, prev = 0;
    const struct cairn_entry *last = NULL;
    for (size_t k = 0; !rc && k < ps->n; k++) {
        const struct cairn_entry *e = &ps->entries[k];
        if (newest != INT64_MIN && e->ts < newest - s->cfg.ooo_window_ns) {
            if (!ps->rejected) {
                char a[48], c[48];
                cairn_format_rfc3339(e->ts, a, sizeof a);
                cairn_format_rfc3339(newest - s->cfg.ooo_window_ns, c, sizeof c);
                cairn_err_set(&ps->err, CAIRN_ERANGE,
                              "entry with timestamp %s ignored, reason: 'entry too far "
                              "behind, oldest acceptable timestamp is: %s'",
                              a, c);
            }
            ps->rejected++;
            continue;
        }
        /* duplicates of the head, or of the entry before in this push */
        if (is_dup(st, e->ts, e->line, e->len) ||
            (last && last->ts == e->ts && last->len == e->len &&
             memcmp(last->line, e->line, e->len) == 0))
            continue;
        /* an entry of another period than the open block's: cut now, before anything
         * is written, so that a cut failing on a full disk fails the push cleanly (not
         * possible while an earlier append to this stream is still in flight: its
         * insert cuts then) */
        if (!accepted && st->blk.n && st->seq_res == st->seq &&
            (e->ts < st->blk.per->start || e->ts >= st->blk.per->end) &&
            (rc = cairn__head_cut(s, st, 1)))
            break;
        int64_t d = (int64_t)((uint64_t)e->ts - (uint64_t)prev);
        put_uv(b, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
        put_uv(b, e->len);
        memcpy(b->data + b->len, e->line, e->len);
        b->len += e->len;
        if (with_sm) {
            put_uv(b, ps->sm[k].len);
            if (ps->sm[k].len)
                memcpy(b->data + b->len, ps->sm[k].p, ps->sm[k].len);
            b->len += ps->sm[k].len;
        }
        b->data[b->len] = '\0';
        prev = e->ts;
        if (e->ts > newest)
            newest = e->ts;
        last = e;
        accepted++;
        bytes += e->len;
    }
    if (rc || !accepted) {
        cairn_buf_truncate(b, mark); /* no half record goes to the WAL */
        if (created)
            cairn__stream_drop_locked(t, sh, st); /* nobody else has seen it */
        pd->st = NULL;
        return rc;
    }
    cairn__rec_finish(b, at);
    *pd = (struct pend){.st = st, .sh = sh, .eoff = eoff, .eend = b->len,
                        .first = st->seq_res, .end = st->seq_res + accepted, .bytes = bytes,
                        .sm = with_sm};
    st->seq_res += accepted;
    return 0;
}

/* reserve_locked in the shard's arrival order (see struct cairn__shard). */
static int reserve(struct cairn_store *s, struct cairn__tenant *t, const char *tenant,
                   size_t tl, struct cairn_push_stream *ps, struct cairn_buf *b,
                   struct pend *pd)
{
    uint64_t fp = ps->fp_set ? ps->fp : cairn_labels_fingerprint(ps->labels);
    struct cairn__shard *sh = cairn__shard_of(t, fp);
    uint64_t ticket = atomic_fetch_add(&sh->next_ticket, 1);
    pthread_mutex_lock(&sh->mu);
    while (sh->serving != ticket)
        pthread_cond_wait(&sh->turn, &sh->mu);
    int rc = reserve_locked(s, t, tenant, tl, ps, b, pd, sh, fp);
    sh->serving++;
    pthread_cond_broadcast(&sh->turn);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Step 3 for one stream whose turn it is (caller holds the shard lock): insert the
 * reserved entries from the batch, or abandon them if the WAL failed (ok == 0).
 * 0 or the error of a failed insert (the rest of the reservation is abandoned). */
static int insert(struct cairn_store *s, struct cairn__tenant *t, const struct cairn_buf *b,
                  const struct pend *pd, uint64_t wal_seq, int64_t now, int ok)
{
    struct cairn__stream *st = pd->st;
    int rc = 0;
    if (ok) {
        const unsigned char *p = (const unsigned char *)b->data + pd->eoff;
        size_t n = pd->eend - pd->eoff, off = 0;
        int64_t prev = 0;
        for (uint64_t q = pd->first; q < pd->end && !rc; q++) {
            int64_t d;
            uint64_t len;
            size_t a = cairn_get_varint(p + off, n - off, &d);
            size_t c = cairn_get_uvarint(p + off + a, n - off - a, &len);
            int64_t ts = (int64_t)((uint64_t)prev + (uint64_t)d);
            prev = ts;
            const char *line = (const char *)p + off + a + c;
            off += a + c + len;
            uint64_t sml = 0;
            if (pd->sm)
                off += cairn_get_uvarint(p + off, n - off, &sml);
            rc = cairn__head_insert(s, t, st, ts, line, (size_t)len, (const char *)p + off,
                                    (size_t)sml, q, wal_seq);
            off += sml;
            if (!rc) {
                st->seq = q + 1; /* a cut inside the next insert covers this one */
                cairn__note_accepted(st, ts);
            }
        }
        if (!st->active) {
            st->active = 1; /* its STREAM record is in the WAL now */
            atomic_fetch_add(&t->active, 1);
        }
        st->last_append = now;
    }
    st->seq = pd->end;
    return rc;
}

/* Step 3 for every stream of the append, each in its turn. Returns the first insert
 * error. A stream this append created is dropped again when the WAL failed. */
static int insert_all(struct cairn_store *s, struct cairn__tenant *t,
                      struct cairn__append_scratch *a, size_t np, uint64_t wal_seq, int ok)
{
    int64_t now = cairn_now_ns();
    size_t left = np;
    int rc = 0;
    while (left) {
        uint64_t gen = atomic_load(&s->order_gen);
        for (size_t j = 0; j < np; j++) {
            struct pend *pd = &a->v[j];
            if (pd->done)
                continue;
            pthread_mutex_lock(&pd->sh->mu);
            if (pd->st->seq != pd->first) { /* an earlier append is still in flight */
                pthread_mutex_unlock(&pd->sh->mu);
                continue;
            }
            int r = insert(s, t, &a->b, pd, wal_seq, now, ok);
            struct cairn__stream *st = pd->st;
            if (!ok && pd->first == 0 && st->seq_res == pd->end && !st->active && !st->blk.n &&
                !st->blk.per && !st->chunk_open)
                cairn__stream_drop_locked(t, pd->sh, st); /* created by this failed push */
            pthread_mutex_unlock(&pd->sh->mu);
            if (r)
                rc = rc ? rc : r;
            pd->done = 1;
            left--;
            atomic_fetch_add(&s->order_gen, 1);
            if (atomic_load(&s->order_waiters)) {
                pthread_mutex_lock(&s->order_mu);
                pthread_cond_broadcast(&s->order_cv);
                pthread_mutex_unlock(&s->order_mu);
            }
        }
        if (!left)
            break;
        pthread_mutex_lock(&s->order_mu);
        atomic_fetch_add(&s->order_waiters, 1);
        while (atomic_load(&s->order_gen) == gen)
            pthread_cond_wait(&s->order_cv, &s->order_mu);
        atomic_fetch_sub(&s->order_waiters, 1);
        pthread_mutex_unlock(&s->order_mu);
    }
    return rc;
}

/* Register an append in flight on the current WAL file (returned): the checkpoint
 * keeps that file until infl_done. */
static uint64_t infl_begin(struct cairn_store *s)
{
    pthread_mutex_lock(&s->infl_mu);
    for (;;) {
        uint64_t seq = cairn__wal_seq(s->wal);
        size_t free_slot = CAIRN__INFLIGHT_FILES;
        for (size_t i = 0; i < CAIRN__INFLIGHT_FILES; i++) {
            if (s->infl[i].n && s->infl[i].seq == seq) {
                s->infl[i].n++;
                pthread_mutex_unlock(&s->infl_mu);
                return seq;
            }
            if (!s->infl[i].n && free_slot == CAIRN__INFLIGHT_FILES)
                free_slot = i;
        }
        if (free_slot < CAIRN__INFLIGHT_FILES) {
            s->infl[free_slot].seq = seq;
            s->infl[free_slot].n = 1;
            pthread_mutex_unlock(&s->infl_mu);
            return seq;
        }
        /* every slot taken by older files: let their appends finish */
        pthread_mutex_unlock(&s->infl_mu);
        sched_yield();
        pthread_mutex_lock(&s->infl_mu);
    }
}

static void infl_done(struct cairn_store *s, uint64_t seq)
{
    pthread_mutex_lock(&s->infl_mu);
    for (size_t i = 0; i < CAIRN__INFLIGHT_FILES; i++)
        if (s->infl[i].n && s->infl[i].seq == seq) {
            s->infl[i].n--;
            break;
        }
    pthread_mutex_unlock(&s->infl_mu);
}

void cairn__append_inflight(struct cairn_store *s, uint64_t *cur, uint64_t *oldest)
{
    pthread_mutex_lock(&s->infl_mu);
    *cur = cairn__wal_seq(s->wal);
    *oldest = UINT64_MAX;
    for (size_t i = 0; i < CAIRN__INFLIGHT_FILES; i++)
        if (s->infl[i].n && s->infl[i].seq < *oldest)
            *oldest = s->infl[i].seq;
    pthread_mutex_unlock(&s->infl_mu);
}

int cairn_store_append(struct cairn_store *s, const char *tenant, struct cairn_push_stream *streams,
                       size_t n)
{
    if (!cairn__tenant_name_valid(tenant))
        return CAIRN_EINVAL;
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 1);
    struct cairn__append_scratch *a = scratch_get(s);
    if (!t || !a) {
        if (a)
            scratch_put(s, a);
        return CAIRN_ENOMEM;
    }
    if (a->cap < n) {
        struct pend *nv = realloc(a->v, n * sizeof *nv);
        if (!nv) {
            scratch_put(s, a);
            return CAIRN_ENOMEM;
        }
        a->v = nv;
        a->cap = n;
    }
    size_t tl = strlen(tenant), np = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct cairn_push_stream *ps = &streams[i];
        ps->rejected = 0;
        cairn_err_clear(&ps->err);
        if (!ps->n)
            continue;
        rc = reserve(s, t, tenant, tl, ps, &a->b, &a->v[np]);
        if (!rc && a->v[np].st) {
            a->v[np].i = i;
            np++;
        }
    }
    /* step 2, unless reserving failed: then nothing is written and every reservation
     * is abandoned, so the push fails as a whole */
    uint64_t wal_seq = infl_begin(s); /* the file the batch goes to, or older */
    int wrc = rc ? rc : a->b.len ? cairn__wal_append(s->wal, a->b.data, a->b.len) : 0;
    int irc = insert_all(s, t, a, np, wal_seq, wrc == 0);
    infl_done(s, wal_seq);
    uint64_t n_accepted = 0, bytes = 0, n_rejected = 0;
    for (size_t j = 0; j < np && !wrc; j++) {
        n_accepted += a->v[j].end - a->v[j].first;
        bytes += a->v[j].bytes;
    }
    for (size_t i = 0; i < n; i++)
        n_rejected += streams[i].rejected;
    /* the shared counters once per push, not per line */
    s->entries += n_accepted;
    s->bytes += bytes;
    s->rejected += n_rejected;
    scratch_put(s, a);
    cairn__head_evict(s);
    return wrc ? wrc : irc;
}

size_t cairn_store_active_streams(struct cairn_store *s, const char *tenant)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    return t ? atomic_load(&t->active) : 0;
}

int cairn_store_stream_active(struct cairn_store *s, const char *tenant, uint64_t fingerprint)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    struct cairn__shard *sh = cairn__shard_of(t, fingerprint);
    pthread_mutex_lock(&sh->mu);
    int active = 0;
    if (sh->cap)
        for (struct cairn__stream *st = sh->tab[fingerprint & (sh->cap - 1)]; st; st = st->next)
            if (st->fp == fingerprint)
                active = st->active;
    pthread_mutex_unlock(&sh->mu);
    return active;
}
