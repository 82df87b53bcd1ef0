/* index.c -- the label index of one tenant and period: label name -> value -> roaring
 * bitmap of stream ids, stream id -> block references with time bounds; and the
 * immutable index file a closed period is written to.
 *
 * Postings are keyed by "name\0value" in one hash map; a period has few distinct
 * pairs compared with lines, and they change only when a stream first writes into the
 * period. Format of index.cidx: docs/FORMATS.md "Index file". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "store/store_int.h"

static const char IDX_MAGIC[8] = {'C', 'A', 'I', 'R', 'N', 'I', 'D', 'X'};

/* ---- the string map ---- */

void *cairn__strmap_get(const struct cairn__strmap *m, const void *key, size_t klen)
{
    if (!m->cap)
        return NULL;
    uint64_t h = cairn_hash64(key, klen);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const struct cairn__strmap_ent *e = &m->v[i];
        if (!e->key)
            return NULL;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e->val;
    }
}

static void strmap_place(struct cairn__strmap_ent *v, size_t cap, struct cairn__strmap_ent e)
{
    size_t i = e.hash & (cap - 1);
    while (v[i].key)
        i = (i + 1) & (cap - 1);
    v[i] = e;
}

int cairn__strmap_put(struct cairn__strmap *m, const void *key, size_t klen, void *val)
{
    if ((m->n + 1) * 4 >= m->cap * 3) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        struct cairn__strmap_ent *nv = calloc(ncap, sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].key)
                strmap_place(nv, ncap, m->v[i]);
        free(m->v);
        m->v = nv;
        m->cap = ncap;
    }
    struct cairn__strmap_ent e = {malloc(klen + 1), (uint32_t)klen, cairn_hash64(key, klen), val};
    if (!e.key)
        return CAIRN_ENOMEM;
    memcpy(e.key, key, klen);
    e.key[klen] = '\0';
    strmap_place(m->v, m->cap, e);
    m->n++;
    return 0;
}

void cairn__strmap_deinit(struct cairn__strmap *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].key) {
            free(m->v[i].key);
            if (free_val)
                free_val(m->v[i].val);
        }
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- postings ---- */

static int postings_add(struct cairn__period *p, const char *name, size_t nl, const char *value,
                        size_t vl, uint32_t sid)
{
    char stackkey[512];
    char *key = nl + vl + 1 <= sizeof stackkey ? stackkey : malloc(nl + vl + 1);
    if (!key)
        return CAIRN_ENOMEM;
    memcpy(key, name, nl);
    key[nl] = '\0';
    memcpy(key + nl + 1, value, vl);
    size_t kl = nl + 1 + vl;
    int rc = 0;
    roaring_bitmap_t *b = cairn__strmap_get(&p->postings, key, kl);
    if (!b) {
        if (!(b = roaring_bitmap_create()))
            rc = CAIRN_ENOMEM;
        else if ((rc = cairn__strmap_put(&p->postings, key, kl, b)))
            roaring_bitmap_free(b);
    }
    if (!rc)
        roaring_bitmap_add(b, sid);
    if (key != stackkey)
        free(key);
    return rc;
}

static void pstream_free(void *v)
{
    struct cairn__pstream *ps = v;
    free(ps->refs);
    free(ps);
}

static void bitmap_free(void *v)
{
    roaring_bitmap_free(v);
}

int cairn__period_add_stream_locked(struct cairn__period *p, uint32_t sid,
                                    const struct cairn_label *lv, size_t nl,
                                    struct cairn__pstream **out)
{
    struct cairn__pstream *ps = cairn__strmap_get(&p->streams, &sid, sizeof sid);
    if (ps) {
        *out = ps;
        return 0;
    }
    if (!(ps = calloc(1, sizeof *ps)))
        return CAIRN_ENOMEM;
    ps->sid = sid;
    if (cairn__strmap_put(&p->streams, &sid, sizeof sid, ps)) {
        free(ps);
        return CAIRN_ENOMEM;
    }
    for (size_t i = 0; i < nl; i++)
        if (postings_add(p, lv[i].name, lv[i].name_len, lv[i].value, lv[i].value_len, sid))
            return CAIRN_ENOMEM;
    roaring_bitmap_add(p->all, sid);
    *out = ps;
    return 0;
}

void cairn__period_index_reset(struct cairn__period *p)
{
    cairn__strmap_deinit(&p->postings, bitmap_free);
    cairn__strmap_deinit(&p->streams, pstream_free);
    roaring_bitmap_clear(p->all);
    p->n_blocks = p->n_chunks = p->bytes = 0;
}

uint32_t cairn__period_next_chunk(struct cairn__period *p, uint32_t sid)
{
    pthread_mutex_lock(&p->mu);
    struct cairn__pstream *ps = cairn__strmap_get(&p->streams, &sid, sizeof sid);
    uint32_t c = ps ? ps->next_chunk : 0;
    pthread_mutex_unlock(&p->mu);
    return c;
}

void cairn__period_free(struct cairn__period *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n_files; i++)
        if (p->files[i].fd >= 0)
            close(p->files[i].fd);
    free(p->files);
    free(p->orphans);
    cairn__strmap_deinit(&p->postings, bitmap_free);
    cairn__strmap_deinit(&p->streams, pstream_free);
    if (p->all)
        roaring_bitmap_free(p->all);
    pthread_mutex_destroy(&p->mu);
    free(p->dir);
    free(p->okey);
    free(p);
}

/* ---- the index file ---- */

static int put_str(struct cairn_buf *b, const char *s, size_t n)
{
    return cairn_buf_append_uvarint(b, n) || cairn_buf_append(b, s, n) ? CAIRN_ENOMEM : 0;
}

/* Called with p->mu held and every head of the period flushed. Streams are written
 * with their labels (the index file alone rebuilds postings and refs). */
static int index_encode(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p,
                        struct cairn_buf *b)
{
    (void)s;
    if (cairn_buf_append_uvarint(b, p->streams.n))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < p->streams.cap; i++) {
        struct cairn__pstream *ps = p->streams.v[i].val;
        if (!p->streams.v[i].key)
            continue;
        struct cairn__stream *st = cairn__stream_by_id(t, ps->sid);
        if (!st)
            return CAIRN_ECORRUPT;
        if (cairn_buf_append_u32le(b, ps->sid) || cairn_buf_append_u64le(b, st->fp) ||
            put_str(b, st->ltext, st->ltext_len) || cairn_buf_append_uvarint(b, ps->next_chunk) ||
            cairn_buf_append_u64le(b, ps->hw) ||
            cairn_buf_append_uvarint(b, ps->n))
            return CAIRN_ENOMEM;
        for (size_t k = 0; k < ps->n; k++) {
            const struct cairn__bref *r = &ps->refs[k];
            if (cairn_buf_append_uvarint(b, r->file) || cairn_buf_append_u64le(b, r->off) ||
                cairn_buf_append_u32le(b, r->len) || cairn_buf_append_u64le(b, (uint64_t)r->min_ts) ||
                cairn_buf_append_u64le(b, (uint64_t)r->max_ts) || cairn_buf_append_u32le(b, r->n) ||
                cairn_buf_append_u32le(b, r->raw) || cairn_buf_append_uvarint(b, r->chunk))
                return CAIRN_ENOMEM;
        }
    }
    /* postings: "name\0value" -> roaring bitmap, in the portable roaring format */
    if (cairn_buf_append_uvarint(b, p->postings.n))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < p->postings.cap; i++) {
        const struct cairn__strmap_ent *e = &p->postings.v[i];
        if (!e->key)
            continue;
        roaring_bitmap_t *bm = e->val;
        roaring_bitmap_run_optimize(bm);
        size_t n = roaring_bitmap_portable_size_in_bytes(bm);
        if (put_str(b, e->key, e->klen) || cairn_buf_append_uvarint(b, n) ||
            cairn_buf_reserve(b, n))
            return CAIRN_ENOMEM;
        b->len += roaring_bitmap_portable_serialize(bm, b->data + b->len);
        b->data[b->len] = '\0';
    }
    return 0;
}

int cairn__index_write(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p)
{
    char path[4200], tmp[4210];
    snprintf(path, sizeof path, "%s/index.cidx", p->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct cairn_buf b = CAIRN_BUF_INIT;
    unsigned char hdr[CAIRN__FILE_HDR] = {0};
    memcpy(hdr, IDX_MAGIC, 8);
    hdr[8] = CAIRN__IDX_VERSION;
    int rc = cairn_buf_append(&b, hdr, sizeof hdr) ? CAIRN_ENOMEM : 0;
    if (!rc)
        rc = cairn_buf_append_u64le(&b, (uint64_t)p->start) ||
                     cairn_buf_append_u64le(&b, (uint64_t)p->end) ||
                     cairn_buf_append_uvarint(&b, p->n_files)
                 ? CAIRN_ENOMEM
                 : 0;
    for (uint32_t i = 0; !rc && i < p->n_files; i++)
        rc = cairn_buf_append_u64le(&b, p->files[i].size) ? CAIRN_ENOMEM : 0;
    if (!rc)
        rc = index_encode(s, t, p, &b);
    if (!rc)
        rc = cairn_buf_append_u32le(&b, cairn_crc32c(0, b.data, b.len)) ? CAIRN_ENOMEM : 0;
    if (!rc) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            rc = CAIRN_EIO;
        else {
            rc = cairn__write_all(fd, b.data, b.len, tmp);
            if (!rc && fsync(fd) < 0)
                rc = CAIRN_EIO;
            close(fd);
            if (!rc && rename(tmp, path) < 0)
                rc = CAIRN_EIO;
            if (!rc)
                cairn__fsync_dir(p->dir);
        }
    }
    cairn_buf_deinit(&b);
    if (!rc) {
        p->closed = 1;
        p->index_gen++; /* the uploader's cue (remote.c) */
        cairn__period_close_files(p);
        CAIRN_INFO("index", "index file written", "dir=\"%s\" streams=%zu", p->dir, p->streams.n);
    }
    return rc;
}

int cairn__index_unlink(struct cairn__period *p)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.cidx", p->dir);
    if (unlink(path) < 0 && errno != ENOENT)
        return CAIRN_EIO;
    p->closed = 0;
    return 0;
}

struct rd {
    const unsigned char *p;
    size_t len, off;
    int bad;
};

static uint64_t rd_uv(struct rd *r)
{
    uint64_t v = 0;
    size_t k = r->bad ? 0 : cairn_get_uvarint(r->p + r->off, r->len - r->off, &v);
    if (!k)
        r->bad = 1;
    r->off += k;
    return v;
}

static uint64_t rd_fixed(struct rd *r, int bytes)
{
    if (r->bad || r->len - r->off < (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = bytes == 4 ? cairn_get_u32le(r->p + r->off) : cairn_get_u64le(r->p + r->off);
    r->off += (size_t)bytes;
    return v;
}

int cairn__index_load(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.cidx", p->dir);
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = cairn__read_file(path, &b);
    if (rc) {
        cairn_buf_deinit(&b);
        return rc;
    }
    const unsigned char *u = (const unsigned char *)b.data;
    if (b.len < CAIRN__FILE_HDR + 4 ||
        cairn_crc32c(0, u, b.len - 4) != cairn_get_u32le(u + b.len - 4) ||
        (rc = cairn__file_hdr_check(u, b.len, IDX_MAGIC, CAIRN__IDX_VERSION))) {
        CAIRN_ERROR("index", "index file damaged (CRC or header), rebuilding from segments",
                    "file=\"%s\"", path);
        cairn_buf_deinit(&b);
        return CAIRN_ECORRUPT;
    }
    struct rd r = {u, b.len - 4, CAIRN__FILE_HDR, 0};
    rd_fixed(&r, 8);
    rd_fixed(&r, 8);
    uint64_t nf = rd_uv(&r);
    int stale = !r.bad && nf != p->n_files;
    for (uint64_t i = 0; i < nf && !r.bad && !stale; i++)
        if (rd_fixed(&r, 8) != p->files[i].size)
            stale = 1; /* the segment files changed after the index was written */
    if (stale) {
        CAIRN_INFO("index", "index file older than its segment files, rebuilding",
                   "file=\"%s\"", path);
        cairn_buf_deinit(&b);
        return CAIRN_ERANGE;
    }
    uint64_t ns = rd_uv(&r);
    for (uint64_t i = 0; i < ns && !r.bad; i++) {
        uint32_t sid = (uint32_t)rd_fixed(&r, 4);
        uint64_t fp = rd_fixed(&r, 8);
        uint64_t ll = rd_uv(&r);
        if (r.bad || ll > r.len - r.off) {
            r.bad = 1;
            break;
        }
        const char *lt = (const char *)r.p + r.off;
        r.off += ll;
        struct cairn__stream *st = cairn__stream_restore(s, t, sid, fp, lt, ll);
        struct cairn__pstream *ps;
        /* no labels: the postings come from their own section below */
        if (!st || cairn__period_add_stream_locked(p, sid, NULL, 0, &ps)) {
            rc = CAIRN_ENOMEM;
            break;
        }
        ps->next_chunk = (uint32_t)rd_uv(&r);
        ps->hw = rd_fixed(&r, 8);
        if (ps->hw > st->hw)
            st->hw = ps->hw;
        if (st->hw > st->seq)
            st->seq = st->hw;
        uint64_t nr = rd_uv(&r);
        if (nr > (r.len - r.off) / 8) {
            r.bad = 1;
            break;
        }
        ps->refs = calloc(nr ? nr : 1, sizeof *ps->refs);
        if (!ps->refs) {
            rc = CAIRN_ENOMEM;
            break;
        }
        ps->cap = nr ? nr : 1;
        for (uint64_t k = 0; k < nr && !r.bad; k++) {
            struct cairn__bref *f = &ps->refs[ps->n++];
            f->file = (uint32_t)rd_uv(&r);
            f->off = rd_fixed(&r, 8);
            f->len = (uint32_t)rd_fixed(&r, 4);
            f->min_ts = (int64_t)rd_fixed(&r, 8);
            f->max_ts = (int64_t)rd_fixed(&r, 8);
            f->n = (uint32_t)rd_fixed(&r, 4);
            f->raw = (uint32_t)rd_fixed(&r, 4);
            f->chunk = (uint32_t)rd_uv(&r);
            p->n_blocks++;
            p->bytes += f->len;
            if (f->max_ts > st->max_ts)
                st->max_ts = f->max_ts;
        }
        p->n_chunks += ps->next_chunk;
    }
    uint64_t np = rc ? 0 : rd_uv(&r);
    for (uint64_t i = 0; i < np && !r.bad && !rc; i++) {
        uint64_t kl = rd_uv(&r);
        if (r.bad || kl > r.len - r.off) {
            r.bad = 1;
            break;
        }
        const char *key = (const char *)r.p + r.off;
        r.off += kl;
        uint64_t bl = rd_uv(&r);
        if (r.bad || bl > r.len - r.off || !memchr(key, '\0', kl) ||
            cairn__strmap_get(&p->postings, key, kl)) {
            r.bad = 1;
            break;
        }
        roaring_bitmap_t *bm =
            roaring_bitmap_portable_deserialize_safe((const char *)r.p + r.off, bl);
        r.off += bl;
        if (!bm) {
            r.bad = 1;
            break;
        }
        if (cairn__strmap_put(&p->postings, key, kl, bm)) {
            roaring_bitmap_free(bm);
            rc = CAIRN_ENOMEM;
        }
    }
    if (!rc && r.off != r.len)
        r.bad = 1;
    cairn_buf_deinit(&b);
    if (!rc && r.bad) {
        CAIRN_ERROR("index", "index file does not parse, rebuilding", "file=\"%s\"", path);
        rc = CAIRN_ECORRUPT;
    }
    if (!rc)
        p->closed = 1;
    return rc;
}

int cairn__index_verify(const unsigned char *u, size_t len, uint64_t *sizes, size_t cap,
                        size_t *nf_out)
{
    *nf_out = 0;
    if (len < CAIRN__FILE_HDR + 4 || cairn_crc32c(0, u, len - 4) != cairn_get_u32le(u + len - 4))
        return CAIRN_ECORRUPT;
    int rc = cairn__file_hdr_check(u, len, IDX_MAGIC, CAIRN__IDX_VERSION);
    if (rc)
        return rc;
    struct rd r = {u, len - 4, CAIRN__FILE_HDR, 0};
    int64_t start = (int64_t)rd_fixed(&r, 8), end = (int64_t)rd_fixed(&r, 8);
    if (end <= start)
        r.bad = 1;
    uint64_t nf = rd_uv(&r);
    if (nf > (r.len - r.off) / 8)
        r.bad = 1;
    for (uint64_t i = 0; i < nf && !r.bad; i++) {
        uint64_t sz = rd_fixed(&r, 8);
        if (i < cap)
            sizes[i] = sz;
    }
    *nf_out = (size_t)nf;
    uint64_t ns = rd_uv(&r);
    for (uint64_t i = 0; i < ns && !r.bad; i++) {
        rd_fixed(&r, 4);
        rd_fixed(&r, 8);
        uint64_t ll = rd_uv(&r);
        if (r.bad || ll > r.len - r.off)
            return CAIRN_ECORRUPT;
        r.off += ll;
        rd_uv(&r);
        rd_fixed(&r, 8);
        uint64_t nr = rd_uv(&r);
        if (r.bad || nr > (r.len - r.off) / 8)
            return CAIRN_ECORRUPT;
        for (uint64_t k = 0; k < nr && !r.bad; k++) {
            uint64_t file = rd_uv(&r);
            rd_fixed(&r, 8);
            rd_fixed(&r, 4);
            int64_t mn = (int64_t)rd_fixed(&r, 8), mx = (int64_t)rd_fixed(&r, 8);
            rd_fixed(&r, 4);
            rd_fixed(&r, 4);
            rd_uv(&r);
            if (file >= nf || mn > mx)
                r.bad = 1;
        }
    }
    uint64_t np = rd_uv(&r);
    for (uint64_t i = 0; i < np && !r.bad; i++) {
        uint64_t kl = rd_uv(&r);
        if (r.bad || kl > r.len - r.off || !memchr(r.p + r.off, '\0', kl))
            return CAIRN_ECORRUPT;
        r.off += kl;
        uint64_t bl = rd_uv(&r);
        if (r.bad || bl > r.len - r.off)
            return CAIRN_ECORRUPT;
        roaring_bitmap_t *bm =
            roaring_bitmap_portable_deserialize_safe((const char *)r.p + r.off, bl);
        if (!bm)
            return CAIRN_ECORRUPT;
        roaring_bitmap_free(bm);
        r.off += bl;
    }
    return r.bad || r.off != r.len ? CAIRN_ECORRUPT : 0;
}
