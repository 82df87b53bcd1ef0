/* head.c -- tenants, streams and their open blocks: find or create a stream by
 * fingerprint, append entries into its uncompressed open block, cut the block into a
 * compressed one written at once to the period's segment file, close chunks, and keep
 * the head under its global memory budget by cutting the largest open blocks first.
 *
 * Out-of-order entries within the window are appended as they come and the block is
 * marked unsorted; it is sorted when it is cut (block.c) or when a reader snapshots it
 * (read.c). Blocks never span two periods: an entry for another period cuts first.
 *
 * An open block lives in pages of the store's page pool (pagepool.c): entries (time,
 * length, offset) in entry pages, line bytes running on across line pages. Growing
 * copies nothing, the budget counts exactly the pages held, and a cut gives the pages
 * back for the next block instead of unmapping them (the block is gathered into
 * contiguous columns in the codec context for encoding). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "store/needle.h"
#include "store/store_int.h"

int cairn__tenant_name_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > CAIRN__TENANT_MAX || !strcmp(t, ".") || !strcmp(t, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        /* Loki's allowed set: alphanumerics and !-_.*'() */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!-_.*'()", c)))
            return 0;
    }
    return 1;
}

struct cairn__tenant *cairn__tenant_get(struct cairn_store *s, const char *name, int create)
{
    pthread_mutex_lock(&s->tenants_mu);
    for (size_t i = 0; i < s->n_tenants; i++)
        if (!strcmp(s->tenants[i]->name, name)) {
            struct cairn__tenant *t = s->tenants[i];
            pthread_mutex_unlock(&s->tenants_mu);
            return t;
        }
    struct cairn__tenant *t = NULL;
    if (!create || !cairn__tenant_name_valid(name))
        goto out;
    if (s->n_tenants == s->cap_tenants) {
        size_t nc = s->cap_tenants ? s->cap_tenants * 2 : 8;
        struct cairn__tenant **nv = realloc(s->tenants, nc * sizeof *nv);
        if (!nv)
            goto out;
        s->tenants = nv;
        s->cap_tenants = nc;
    }
    if (!(t = calloc(1, sizeof *t)))
        goto out;
    size_t dl = strlen(s->tenants_dir) + strlen(name) + 2;
    t->name = strdup(name);
    t->dir = malloc(dl);
    if (!t->name || !t->dir) {
        free(t->name);
        free(t->dir);
        free(t);
        t = NULL;
        goto out;
    }
    snprintf(t->dir, dl, "%s/%s", s->tenants_dir, name);
    if (cairn__mkdir_p(t->dir)) {
        free(t->name);
        free(t->dir);
        free(t);
        t = NULL;
        goto out;
    }
    for (int i = 0; i < CAIRN__SHARDS; i++) {
        pthread_mutex_init(&t->shards[i].mu, NULL);
        pthread_cond_init(&t->shards[i].turn, NULL);
    }
    pthread_mutex_init(&t->id_mu, NULL);
    pthread_mutex_init(&t->periods_mu, NULL);
    t->next_sid = 1;
    s->tenants[s->n_tenants++] = t;
out:
    pthread_mutex_unlock(&s->tenants_mu);
    return t;
}

struct cairn__tenant *cairn__tenant_at(struct cairn_store *s, size_t i)
{
    pthread_mutex_lock(&s->tenants_mu);
    struct cairn__tenant *t = i < s->n_tenants ? s->tenants[i] : NULL;
    pthread_mutex_unlock(&s->tenants_mu);
    return t;
}

static void stream_free(struct cairn__stream *st)
{
    if (st->chunk_per)
        cairn__period_unref(st->chunk_per);
    free(st->ltext);
    free(st->lv);
    free(st->lstore);
    /* the store gives every block's pages back before its tenants are freed */
    free(st->blk.epages);
    free(st->blk.lpages);
    if (st->blk.per)
        cairn__period_unref(st->blk.per);
    free(st);
}

void cairn__tenant_free(struct cairn__tenant *t)
{
    if (!t)
        return;
    for (int i = 0; i < CAIRN__SHARDS; i++) {
        struct cairn__shard *sh = &t->shards[i];
        for (size_t k = 0; k < sh->cap; k++)
            for (struct cairn__stream *st = sh->tab[k], *nx; st; st = nx) {
                nx = st->next;
                stream_free(st);
            }
        free(sh->tab);
        pthread_mutex_destroy(&sh->mu);
        pthread_cond_destroy(&sh->turn);
    }
    for (size_t i = 0; i < t->n_periods; i++)
        cairn__period_unref(t->periods[i]);
    free(t->periods);
    free(t->by_id);
    pthread_mutex_destroy(&t->id_mu);
    pthread_mutex_destroy(&t->periods_mu);
    free(t->name);
    free(t->dir);
    free(t);
}

struct cairn__stream *cairn__stream_by_id(struct cairn__tenant *t, uint32_t sid)
{
    pthread_mutex_lock(&t->id_mu);
    struct cairn__stream *st = sid < t->by_id_cap ? t->by_id[sid] : NULL;
    pthread_mutex_unlock(&t->id_mu);
    return st;
}

static struct cairn__stream *shard_find(struct cairn__shard *sh, uint64_t fp)
{
    if (!sh->cap)
        return NULL;
    for (struct cairn__stream *st = sh->tab[fp & (sh->cap - 1)]; st; st = st->next)
        if (st->fp == fp)
            return st;
    return NULL;
}

static int shard_insert(struct cairn__shard *sh, struct cairn__stream *st)
{
    if (sh->n >= sh->cap) {
        size_t nc = sh->cap ? sh->cap * 2 : 64;
        struct cairn__stream **nt = calloc(nc, sizeof *nt);
        if (!nt)
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < sh->cap; i++)
            for (struct cairn__stream *x = sh->tab[i], *nx; x; x = nx) {
                nx = x->next;
                x->next = nt[x->fp & (nc - 1)];
                nt[x->fp & (nc - 1)] = x;
            }
        free(sh->tab);
        sh->tab = nt;
        sh->cap = nc;
    }
    st->next = sh->tab[st->fp & (sh->cap - 1)];
    sh->tab[st->fp & (sh->cap - 1)] = st;
    sh->n++;
    return 0;
}

/* Give the stream an id (or record the given one) in the tenant's id table. */
static int assign_id(struct cairn__tenant *t, struct cairn__stream *st, uint32_t sid)
{
    pthread_mutex_lock(&t->id_mu);
    if (!sid)
        sid = t->next_sid;
    if (sid >= t->next_sid)
        t->next_sid = sid + 1;
    if (sid >= t->by_id_cap) {
        size_t nc = t->by_id_cap ? t->by_id_cap : 256;
        while (nc <= sid)
            nc *= 2;
        struct cairn__stream **nv = realloc(t->by_id, nc * sizeof *nv);
        if (!nv) {
            pthread_mutex_unlock(&t->id_mu);
            return CAIRN_ENOMEM;
        }
        memset(nv + t->by_id_cap, 0, (nc - t->by_id_cap) * sizeof *nv);
        t->by_id = nv;
        t->by_id_cap = nc;
    }
    t->by_id[sid] = st;
    st->sid = sid;
    pthread_mutex_unlock(&t->id_mu);
    return 0;
}

static struct cairn__stream *stream_new(const struct cairn_labels *ls, const char *ltext,
                                        size_t ltext_len, uint64_t fp)
{
    struct cairn__stream *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->fp = fp;
    st->max_ts = INT64_MIN;
    size_t need = 1;
    for (size_t i = 0; i < ls->n; i++)
        need += ls->v[i].name_len + ls->v[i].value_len + 2;
    st->ltext = malloc(ltext_len + 1);
    st->lstore = malloc(need);
    st->lv = calloc(ls->n ? ls->n : 1, sizeof *st->lv);
    if (!st->ltext || !st->lstore || !st->lv) {
        free(st->ltext);
        free(st->lstore);
        free(st->lv);
        free(st);
        return NULL;
    }
    memcpy(st->ltext, ltext, ltext_len);
    st->ltext[ltext_len] = '\0';
    st->ltext_len = ltext_len;
    char *o = st->lstore;
    for (size_t i = 0; i < ls->n; i++) {
        const struct cairn_label *l = &ls->v[i];
        memcpy(o, l->name, l->name_len + 1);
        st->lv[i].name = o;
        st->lv[i].name_len = l->name_len;
        o += l->name_len + 1;
        memcpy(o, l->value, l->value_len + 1);
        st->lv[i].value = o;
        st->lv[i].value_len = l->value_len;
        o += l->value_len + 1;
    }
    st->nl = ls->n;
    return st;
}

struct cairn__stream *cairn__stream_get_locked(struct cairn_store *s, struct cairn__tenant *t,
                                               struct cairn__shard *sh, uint64_t fp,
                                               const struct cairn_labels *ls, const char *ltext,
                                               size_t ltext_len, uint32_t sid, int *created)
{
    (void)s;
    *created = 0;
    struct cairn__stream *st = shard_find(sh, fp);
    if (st)
        return st;
    struct cairn_buf txt = CAIRN_BUF_INIT;
    if (!ltext) {
        if (cairn_labels_format(ls, &txt))
            return NULL;
        ltext = txt.data;
        ltext_len = txt.len;
    }
    st = stream_new(ls, ltext, ltext_len, fp);
    cairn_buf_deinit(&txt);
    if (!st)
        return NULL;
    if (assign_id(t, st, sid) || shard_insert(sh, st)) {
        pthread_mutex_lock(&t->id_mu);
        if (st->sid < t->by_id_cap && t->by_id[st->sid] == st)
            t->by_id[st->sid] = NULL;
        pthread_mutex_unlock(&t->id_mu);
        stream_free(st);
        return NULL;
    }
    *created = 1;
    return st;
}

void cairn__stream_drop_locked(struct cairn__tenant *t, struct cairn__shard *sh,
                               struct cairn__stream *st)
{
    struct cairn__stream **pp = &sh->tab[st->fp & (sh->cap - 1)];
    while (*pp && *pp != st)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = st->next;
        sh->n--;
    }
    pthread_mutex_lock(&t->id_mu);
    if (st->sid < t->by_id_cap && t->by_id[st->sid] == st)
        t->by_id[st->sid] = NULL;
    pthread_mutex_unlock(&t->id_mu);
    stream_free(st);
}

struct cairn__stream *cairn__stream_restore(struct cairn_store *s, struct cairn__tenant *t,
                                            uint32_t sid, uint64_t fp, const char *ltext,
                                            size_t ltext_len)
{
    struct cairn__shard *sh = cairn__shard_of(t, fp);
    pthread_mutex_lock(&sh->mu);
    struct cairn__stream *st = shard_find(sh, fp);
    if (!st) {
        struct cairn_labels ls;
        struct cairn_err err;
        cairn_labels_init(&ls);
        if (cairn_labels_parse(&ls, ltext, ltext_len, &err) == 0) {
            int created;
            st = cairn__stream_get_locked(s, t, sh, fp, &ls, ltext, ltext_len, sid, &created);
        } else {
            CAIRN_ERROR("head", "stored labels do not parse", "tenant=\"%s\" sid=%u err=\"%s\"",
                        t->name, sid, err.msg);
        }
        cairn_labels_deinit(&ls);
    } else if (st->sid != sid) {
        CAIRN_WARN("head", "stream id differs between files", "tenant=\"%s\" sid=%u stored=%u",
                   t->name, st->sid, sid);
    }
    pthread_mutex_unlock(&sh->mu);
    return st;
}

/* Memory an open block holds (what the budget counts): its pages. */
static size_t blk_alloc(const struct cairn__hblock *b)
{
    return ((size_t)b->n_epages + b->n_lpages) * CAIRN__PAGE_SIZE;
}

static void blk_account(struct cairn_store *s, struct cairn__stream *st)
{
    size_t now = blk_alloc(&st->blk);
    size_t was = atomic_exchange(&st->blk_bytes, now);
    if (now >= was)
        atomic_fetch_add(&s->head_bytes, now - was);
    else
        atomic_fetch_sub(&s->head_bytes, was - now);
}

/* Give the block's pages back and empty it; the page tables stay for the next one. */
void cairn__hblock_free(struct cairn_store *s, struct cairn__stream *st)
{
    struct cairn__hblock *b = &st->blk;
    cairn__page_put_many(&s->pages, (void *const *)b->epages, b->n_epages);
    cairn__page_put_many(&s->pages, (void *const *)b->lpages, b->n_lpages);
    b->n_epages = b->n_lpages = 0;
    if (b->per)
        cairn__period_unref(b->per);
    b->per = NULL;
    b->n = 0;
    b->lines_len = 0;
    b->has_sm = 0;
    b->min_ts = b->max_ts = 0;
    b->sorted = 0;
    b->seq_lo = b->wal_min = 0;
    blk_account(s, st);
}

void cairn__hblock_read(const struct cairn__hblock *b, size_t off, size_t len, char *dst)
{
    while (len) {
        size_t po = off % CAIRN__PAGE_SIZE, k = CAIRN__PAGE_SIZE - po;
        if (k > len)
            k = len;
        memcpy(dst, b->lpages[off / CAIRN__PAGE_SIZE] + po, k);
        dst += k;
        off += k;
        len -= k;
    }
}

int cairn__hblock_eq(const struct cairn__hblock *b, size_t off, const char *p, size_t len)
{
    while (len) {
        size_t po = off % CAIRN__PAGE_SIZE, k = CAIRN__PAGE_SIZE - po;
        if (k > len)
            k = len;
        if (memcmp(p, b->lpages[off / CAIRN__PAGE_SIZE] + po, k))
            return 0;
        p += k;
        off += k;
        len -= k;
    }
    return 1;
}

/* The block as the contiguous columns cairn__block_encode takes, in c's buffers. */
static int blk_gather(struct cairn__codec_ctx *c, const struct cairn__hblock *b)
{
    if (c->g_cap < b->n) {
        size_t nc = b->n;
        int64_t *ts = realloc(c->g_ts, nc * sizeof *ts);
        if (ts)
            c->g_ts = ts;
        uint32_t *lens = realloc(c->g_lens, nc * sizeof *lens);
        if (lens)
            c->g_lens = lens;
        if (!ts || !lens)
            return CAIRN_ENOMEM;
        c->g_cap = nc;
    }
    cairn_buf_reset(&c->g_lines);
    if (cairn_buf_reserve(&c->g_lines, b->lines_len))
        return CAIRN_ENOMEM;
    c->g_has_sm = b->has_sm;
    if (b->has_sm) { /* lines and metadata interleave in the pages: entry by entry */
        if (c->g_smcap < b->n) {
            uint32_t *l = realloc(c->g_smlens, (size_t)b->n * sizeof *l);
            if (!l)
                return CAIRN_ENOMEM;
            c->g_smlens = l;
            c->g_smcap = b->n;
        }
        cairn_buf_reset(&c->g_sm);
        if (cairn_buf_reserve(&c->g_sm, b->lines_len))
            return CAIRN_ENOMEM;
        for (uint32_t i = 0; i < b->n; i++) {
            const struct cairn__hent *e = cairn__hblock_ent(b, i);
            c->g_ts[i] = e->ts;
            c->g_lens[i] = e->len;
            c->g_smlens[i] = e->sm_len;
            cairn__hblock_read(b, e->off, e->len, c->g_lines.data + c->g_lines.len);
            c->g_lines.len += e->len;
            cairn__hblock_read(b, (size_t)e->off + e->len, e->sm_len, c->g_sm.data + c->g_sm.len);
            c->g_sm.len += e->sm_len;
        }
        return 0;
    }
    for (uint32_t p = 0, i = 0; p < b->n_epages && i < b->n; p++) {
        const struct cairn__hent *e = b->epages[p];
        for (uint32_t k = 0; k < CAIRN__HENT_PER_PAGE && i < b->n; k++, i++) {
            c->g_ts[i] = e[k].ts;
            c->g_lens[i] = e[k].len;
        }
    }
    size_t left = b->lines_len;
    for (uint32_t p = 0; left; p++) {
        size_t k = left < CAIRN__PAGE_SIZE ? left : CAIRN__PAGE_SIZE;
        memcpy(c->g_lines.data + c->g_lines.len, b->lpages[p], k);
        c->g_lines.len += k;
        left -= k;
    }
    return 0;
}

struct cairn__codec_ctx *cairn__ctx_get(struct cairn_store *s)
{
    pthread_mutex_lock(&s->ctx_mu);
    struct cairn__codec_ctx *c = s->ctx_free;
    if (c)
        s->ctx_free = c->next;
    pthread_mutex_unlock(&s->ctx_mu);
    if (!c)
        c = calloc(1, sizeof *c);
    return c;
}

void cairn__ctx_put(struct cairn_store *s, struct cairn__codec_ctx *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&s->ctx_mu);
    c->next = s->ctx_free;
    s->ctx_free = c;
    pthread_mutex_unlock(&s->ctx_mu);
}

static int close_chunk(struct cairn_store *s, struct cairn__stream *st)
{
    if (!st->chunk_open)
        return 0;
    st->chunk_open = 0;
    s->chunks_flushed++;
    int rc = cairn__period_write_chunk(st->chunk_per, st->sid, st->chunk_no);
    cairn__period_unref(st->chunk_per);
    st->chunk_per = NULL;
    return rc;
}

int cairn__head_cut(struct cairn_store *s, struct cairn__stream *st, int close)
{
    struct cairn__hblock *b = &st->blk;
    if (b->n == 0) {
        int rc = close ? close_chunk(s, st) : 0;
        if (b->n_epages || b->n_lpages || b->per)
            cairn__hblock_free(s, st);
        return rc;
    }
    struct cairn__codec_ctx *c = cairn__ctx_get(s);
    if (!c)
        return CAIRN_ENOMEM;
    cairn_buf_reset(&c->out);
    int rc = blk_gather(c, b);
    if (!rc)
        rc = cairn__block_encode(c, c->g_ts, c->g_lens, c->g_lines.data,
                                 c->g_has_sm ? c->g_sm.data : NULL, c->g_smlens, b->n, b->sorted,
                                 s->cfg.codec, s->cfg.zstd_level, &c->out);
    struct cairn__period *p = b->per;
    if (!rc && st->chunk_open && st->chunk_per != p)
        rc = close_chunk(s, st);
    if (!rc && !st->chunk_open) {
        st->chunk_no = cairn__period_next_chunk(p, st->sid);
        st->chunk_open = 1;
        cairn__period_ref(p);
        st->chunk_per = p;
        st->chunk_bytes = 0;
        st->chunk_started = cairn_now_ns();
    }
    if (!rc)
        rc = cairn__period_write_block(s, p, st, &c->out, st->chunk_no, b->seq_lo, st->seq);
    if (!rc) {
        cairn__needle_after_cut(s, p, st->sid, &c->out, c->g_lines.data, c->g_lens, b->n);
        st->hw = st->seq;
        st->chunk_bytes += c->out.len;
        s->blocks_cut++;
        s->chunk_bytes += c->out.len;
        if (close || st->chunk_bytes >= s->cfg.chunk_target)
            rc = close_chunk(s, st);
        cairn__hblock_free(s, st);
        atomic_store(&s->cut_fail_ns, 0);
    } else {
        atomic_store(&s->cut_fail_ns, cairn_now_ns());
        CAIRN_ERROR("head", "block cut failed, kept in memory (the WAL keeps its entries)",
                    "sid=%u err=\"%s\"", st->sid, cairn_strerror(rc));
    }
    cairn__ctx_put(s, c);
    return rc;
}

/* Append one page from the pool to a page table (grown by doubling, kept). */
static int table_add(struct cairn_store *s, void ***tab, uint32_t *n, uint32_t *cap)
{
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 16;
        void **nt = realloc(*tab, nc * sizeof *nt);
        if (!nt)
            return CAIRN_ENOMEM;
        *tab = nt;
        *cap = nc;
    }
    void *pg = cairn__page_get(&s->pages);
    if (!pg)
        return CAIRN_ENOMEM;
    (*tab)[(*n)++] = pg;
    return 0;
}

/* Pages for one more entry of len line bytes. On failure the block is unchanged
 * (pages already added stay, empty, and are counted). */
static int blk_grow(struct cairn_store *s, struct cairn__stream *st, size_t len)
{
    struct cairn__hblock *b = &st->blk;
    int rc = 0, added = 0;
    if (b->n == b->n_epages * CAIRN__HENT_PER_PAGE) {
        rc = table_add(s, (void ***)&b->epages, &b->n_epages, &b->cap_epages);
        added = 1;
    }
    while (!rc && b->lines_len + len > (size_t)b->n_lpages * CAIRN__PAGE_SIZE) {
        rc = table_add(s, (void ***)&b->lpages, &b->n_lpages, &b->cap_lpages);
        added = 1;
    }
    if (added)
        blk_account(s, st);
    return rc;
}

/* Copy p[0..len) into the block's line pages at off (room already there). */
static void blk_write(struct cairn__hblock *b, size_t off, const char *p, size_t len)
{
    while (len) {
        size_t po = off % CAIRN__PAGE_SIZE, k = CAIRN__PAGE_SIZE - po;
        if (k > len)
            k = len;
        memcpy(b->lpages[off / CAIRN__PAGE_SIZE] + po, p, k);
        p += k;
        off += k;
        len -= k;
    }
}

int cairn__head_insert(struct cairn_store *s, struct cairn__tenant *t, struct cairn__stream *st,
                       int64_t ts, const char *line, size_t len, const char *sm, size_t sm_len,
                       uint64_t seq, uint64_t wal_seq)
{
    struct cairn__hblock *b = &st->blk;
    int rc;
    size_t all = len + sm_len; /* the pages hold the metadata right after the line */
    if (b->n) {
        int other_period = ts < b->per->start || ts >= b->per->end;
        int hard = b->n >= CAIRN__BLOCK_MAX_ENTRIES || b->lines_len + all > UINT32_MAX;
        int full = b->lines_len + all > s->cfg.block_target_raw;
        /* after a failed cut, size-triggered cuts wait a second before trying again */
        if (full && !other_period && !hard && atomic_load(&s->cut_fail_ns) &&
            cairn_now_ns() - atomic_load(&s->cut_fail_ns) < CAIRN__CUT_RETRY_NS)
            full = 0;
        if (other_period || hard || full) {
            rc = cairn__head_cut(s, st, other_period);
            /* the entry is in the WAL already: when only the block's size asked for the
             * cut (a full disk, say), the block grows past its target and the cut is
             * tried again later (eviction, maintenance, the next entry) */
            if (rc && (other_period || hard))
                return rc;
        }
    }
    if (b->n == 0) {
        if (!b->per || ts < b->per->start || ts >= b->per->end) {
            struct cairn__period *p = cairn__period_get(s, t, ts);
            if (!p)
                return CAIRN_EIO;
            if (b->per)
                cairn__period_unref(b->per);
            b->per = p;
        }
        struct cairn__pstream *ps;
        pthread_mutex_lock(&b->per->mu);
        rc = cairn__period_add_stream_locked(b->per, st->sid, st->lv, st->nl, &ps);
        pthread_mutex_unlock(&b->per->mu);
        if (rc)
            return rc;
        b->min_ts = b->max_ts = ts;
        b->sorted = 1;
        b->seq_lo = seq;
        b->wal_min = wal_seq;
        b->lines_len = 0;
        b->has_sm = 0;
    }
    if ((rc = blk_grow(s, st, all)))
        return rc;
    if (b->n && ts < b->max_ts)
        b->sorted = 0;
    if (ts < b->min_ts)
        b->min_ts = ts;
    if (ts > b->max_ts)
        b->max_ts = ts;
    if (seq < b->seq_lo)
        b->seq_lo = seq;
    if (wal_seq < b->wal_min)
        b->wal_min = wal_seq;
    struct cairn__hent *e = &b->epages[b->n / CAIRN__HENT_PER_PAGE][b->n % CAIRN__HENT_PER_PAGE];
    e->ts = ts;
    e->len = (uint32_t)len;
    e->off = (uint32_t)b->lines_len;
    e->sm_len = (uint32_t)sm_len;
    blk_write(b, b->lines_len, line, len);
    if (sm_len) {
        blk_write(b, b->lines_len + len, sm, sm_len);
        b->has_sm = 1;
    }
    b->lines_len += all;
    b->n++;
    return 0;
}

struct cand {
    struct cairn__stream *st;
    struct cairn__shard *sh;
    size_t bytes;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

void cairn__head_evict(struct cairn_store *s)
{
    if (atomic_load(&s->head_bytes) <= s->cfg.head_budget)
        return;
    int64_t failed = atomic_load(&s->cut_fail_ns);
    if (failed && cairn_now_ns() - failed < CAIRN__CUT_RETRY_NS)
        return; /* cuts are failing (disk full?): the WAL holds it all; retry later */
    if (pthread_mutex_trylock(&s->evict_mu) != 0)
        return;
    struct cand *v = NULL;
    size_t n = 0, cap = 0;
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++) {
        for (int k = 0; k < CAIRN__SHARDS; k++) {
            struct cairn__shard *sh = &t->shards[k];
            pthread_mutex_lock(&sh->mu);
            for (size_t j = 0; j < sh->cap; j++)
                for (struct cairn__stream *st = sh->tab[j]; st; st = st->next) {
                    size_t bytes = atomic_load(&st->blk_bytes);
                    if (!bytes)
                        continue;
                    if (n == cap) {
                        cap = cap ? cap * 2 : 256;
                        struct cand *nv = realloc(v, cap * sizeof *nv);
                        if (!nv) {
                            pthread_mutex_unlock(&sh->mu);
                            goto cut;
                        }
                        v = nv;
                    }
                    v[n++] = (struct cand){st, sh, bytes};
                }
            pthread_mutex_unlock(&sh->mu);
        }
    }
cut:
    if (n > 1) /* qsort(NULL, 0) is undefined */
        qsort(v, n, sizeof *v, cand_cmp);
    size_t low = s->cfg.head_budget / 4 * 3;
    for (size_t i = 0; i < n && atomic_load(&s->head_bytes) > low; i++) {
        pthread_mutex_lock(&v[i].sh->mu);
        cairn__head_cut(s, v[i].st, 0);
        pthread_mutex_unlock(&v[i].sh->mu);
    }
    free(v);
    pthread_mutex_unlock(&s->evict_mu);
}

int cairn__wal_stream_record(struct cairn_buf *out, const char *tenant, uint32_t sid,
                             uint64_t fp, const char *ltext, size_t ltext_len)
{
    size_t old = out->len;
    size_t at = cairn__rec_begin(out, CAIRN__WAL_STREAM);
    size_t tl = strlen(tenant);
    if (at == (size_t)-1 || cairn_buf_append_uvarint(out, tl) || cairn_buf_append(out, tenant, tl) ||
        cairn_buf_append_u32le(out, sid) || cairn_buf_append_u64le(out, fp) ||
        cairn_buf_append_uvarint(out, ltext_len) || cairn_buf_append(out, ltext, ltext_len)) {
        cairn_buf_truncate(out, old);
        return CAIRN_ENOMEM;
    }
    cairn__rec_finish(out, at);
    return 0;
}

int cairn__head_stream_records(struct cairn_store *s, struct cairn_buf *out)
{
    int rc = 0;
    struct cairn__tenant *t;
    for (size_t i = 0; !rc && (t = cairn__tenant_at(s, i)); i++) {
        for (int k = 0; k < CAIRN__SHARDS && !rc; k++) {
            struct cairn__shard *sh = &t->shards[k];
            pthread_mutex_lock(&sh->mu);
            for (size_t j = 0; j < sh->cap && !rc; j++)
                for (struct cairn__stream *st = sh->tab[j]; st && !rc; st = st->next)
                    if (st->active)
                        rc = cairn__wal_stream_record(out, t->name, st->sid, st->fp, st->ltext,
                                                      st->ltext_len);
            pthread_mutex_unlock(&sh->mu);
        }
    }
    return rc;
}
