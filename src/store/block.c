/* block.c -- the columnar block: timestamps (zigzag delta varints), line lengths
 * (varints) and line bytes, each compressed on its own with the block's codec, under a
 * fixed header with counts and min/max timestamps, sealed by a CRC32C.
 *
 * Entries are always sorted by timestamp inside a block (stably: equal timestamps keep
 * arrival order); an open block that received out-of-order entries is sorted here,
 * when it is cut. Version 2 (written) stores the timestamp gaps in the block's
 * largest common unit (ms or us timestamps: 20 or 10 bits less per entry) and
 * compresses the timestamp and length columns as one frame (one codec call less per
 * block); version 1 (plain zigzag deltas, three frames) is still read. A block whose
 * entries carry structured metadata is version 3: version 2 followed by a fourth
 * column, the metadata's names and values dictionary-encoded per block. Layout:
 * docs/FORMATS.md "Block". */
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "cairn/smeta.h"
#include "cairn/strmap.h"
#include "store/store_int.h"

void cairn__codec_ctx_deinit(struct cairn__codec_ctx *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    cairn_buf_deinit(&c->col);
    cairn_buf_deinit(&c->tmp);
    cairn_buf_deinit(&c->out);
    free(c->perm);
    free(c->g_ts);
    free(c->g_lens);
    cairn_buf_deinit(&c->g_lines);
    cairn_buf_deinit(&c->g_sm);
    free(c->g_smlens);
    cairn_buf_deinit(&c->smcol);
    memset(c, 0, sizeof *c);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* One LEB128 value at o; returns the byte after it. */
static inline unsigned char *put_uv(unsigned char *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *o++ = (unsigned char)v;
    return o;
}

/* Compress src into out (appending); *clen is the compressed size. */
static int compress_section(struct cairn__codec_ctx *c, enum cairn_codec codec, int level,
                            const void *src, size_t n, struct cairn_buf *out, uint32_t *clen)
{
    size_t bound;
    if (codec == CAIRN_CODEC_NONE) {
        *clen = (uint32_t)n;
        return cairn_buf_append(out, src, n);
    }
    if (codec == CAIRN_CODEC_ZSTD) {
        if (!c->zc && !(c->zc = ZSTD_createCCtx()))
            return CAIRN_ENOMEM;
        bound = ZSTD_compressBound(n);
        if (cairn_buf_reserve(out, bound))
            return CAIRN_ENOMEM;
        size_t r = ZSTD_compressCCtx(c->zc, out->data + out->len, bound, src, n, level);
        if (ZSTD_isError(r)) {
            CAIRN_ERROR("block", "zstd compress failed", "err=\"%s\"", ZSTD_getErrorName(r));
            return CAIRN_EIO;
        }
        out->len += r;
        *clen = (uint32_t)r;
        return 0;
    }
    if (codec == CAIRN_CODEC_LZ4) {
        bound = (size_t)LZ4_compressBound((int)n);
        if (cairn_buf_reserve(out, bound))
            return CAIRN_ENOMEM;
        int r = LZ4_compress_default(src, out->data + out->len, (int)n, (int)bound);
        if (r <= 0 && n > 0) {
            CAIRN_ERROR("block", "lz4 compress failed", "n=%zu", n);
            return CAIRN_EIO;
        }
        out->len += (size_t)r;
        *clen = (uint32_t)r;
        return 0;
    }
    return CAIRN_EUNSUPPORTED;
}

static int decompress_section(struct cairn__codec_ctx *c, uint8_t codec, const unsigned char *src,
                              size_t clen, char *dst, size_t rlen)
{
    if (codec == CAIRN_CODEC_NONE) {
        if (clen != rlen)
            return CAIRN_ECORRUPT;
        memcpy(dst, src, rlen);
        return 0;
    }
    if (codec == CAIRN_CODEC_ZSTD) {
        if (!c->zd && !(c->zd = ZSTD_createDCtx()))
            return CAIRN_ENOMEM;
        size_t r = ZSTD_decompressDCtx(c->zd, dst, rlen, src, clen);
        return ZSTD_isError(r) || r != rlen ? CAIRN_ECORRUPT : 0;
    }
    if (codec == CAIRN_CODEC_LZ4) {
        if (rlen == 0)
            return clen <= 1 ? 0 : CAIRN_ECORRUPT;
        int r = LZ4_decompress_safe((const char *)src, dst, (int)clen, (int)rlen);
        return r < 0 || (size_t)r != rlen ? CAIRN_ECORRUPT : 0;
    }
    return CAIRN_ECORRUPT;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The largest unit every gap between consecutive (sorted) timestamps is a multiple
 * of: 1000000 for millisecond timestamps, 1 as soon as one gap is odd-sized. */
static uint64_t ts_unit(const int64_t *ts, const uint32_t *perm, uint32_t n)
{
    uint64_t g = 0, prev = (uint64_t)ts[perm ? perm[0] : 0];
    for (uint32_t i = 1; i < n && g != 1; i++) {
        uint64_t t = (uint64_t)ts[perm ? perm[i] : i];
        g = gcd64(t - prev, g);
        prev = t;
    }
    return g ? g : 1;
}

static int perm_cmp_r(const void *a, const void *b, void *ctx)
{
    const int64_t *ts = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (ts[x] != ts[y])
        return ts[x] < ts[y] ? -1 : 1;
    return x < y ? -1 : (x > y);
}

/* The structured metadata column, raw, into c->smcol: uvarint count of distinct
 * strings, each (uvarint length, bytes) in first-use order; then per entry in block
 * order uvarint pair count and per pair uvarint name id, uvarint value id. */
static int sm_column(struct cairn__codec_ctx *c, const char *sm, const uint32_t *sm_lens,
                     const uint32_t *perm, uint32_t n)
{
    struct cairn_strmap dict;
    struct cairn_buf refs = {0};
    uint64_t *off = malloc(((size_t)n + 1) * sizeof *off);
    int rc = CAIRN_ENOMEM;
    cairn_strmap_init(&dict);
    if (!off)
        goto out;
    off[0] = 0;
    for (uint32_t i = 0; i < n; i++)
        off[i + 1] = off[i] + sm_lens[i];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = perm ? perm[i] : i;
        size_t count, bytes;
        struct cairn_smeta_iter it;
        const char *nm, *v;
        size_t nl, vl;
        uint32_t a, b;
        if (cairn_smeta_stats(sm + off[k], sm_lens[k], &count, &bytes)) {
            rc = CAIRN_EINVAL;
            goto out;
        }
        if (cairn_buf_append_uvarint(&refs, count))
            goto out;
        cairn_smeta_iter_init(&it, sm + off[k], sm_lens[k]);
        while (cairn_smeta_next(&it, &nm, &nl, &v, &vl) == 1)
            if (cairn_strmap_put(&dict, nm, nl, &a, NULL) ||
                cairn_strmap_put(&dict, v, vl, &b, NULL) || cairn_buf_append_uvarint(&refs, a) ||
                cairn_buf_append_uvarint(&refs, b))
                goto out;
    }
    cairn_buf_reset(&c->smcol);
    if (cairn_buf_append_uvarint(&c->smcol, dict.n))
        goto out;
    for (uint32_t i = 0; i < dict.n; i++) {
        size_t kl;
        const char *k = cairn_strmap_key(&dict, i, &kl);
        if (cairn_buf_append_uvarint(&c->smcol, kl) || cairn_buf_append(&c->smcol, k, kl))
            goto out;
    }
    rc = cairn_buf_append(&c->smcol, refs.data ? refs.data : "", refs.len);
out:
    free(off);
    cairn_buf_deinit(&refs);
    cairn_strmap_deinit(&dict);
    return rc;
}

int cairn__block_encode(struct cairn__codec_ctx *c, const int64_t *ts, const uint32_t *lens,
                        const char *lines, const char *sm, const uint32_t *sm_lens, uint32_t n,
                        int sorted, enum cairn_codec codec, int level, struct cairn_buf *out)
{
    size_t start = out->len;
    uint32_t *perm = NULL;
    const char **lp = NULL;
    int rc = CAIRN_ENOMEM;
    uint64_t raw = 0;
    int64_t mn = n ? ts[0] : 0, mx = n ? ts[0] : 0;
    for (uint32_t i = 0; i < n; i++) {
        raw += lens[i];
        if (ts[i] < mn)
            mn = ts[i];
        if (ts[i] > mx)
            mx = ts[i];
    }
    if (!sorted && n > 1) {
        if (c->perm_cap < n) {
            uint32_t *np = realloc(c->perm, (size_t)n * sizeof *np);
            if (!np)
                return CAIRN_ENOMEM;
            c->perm = np;
            c->perm_cap = n;
        }
        perm = c->perm;
        for (uint32_t i = 0; i < n; i++)
            perm[i] = i;
        qsort_r(perm, n, sizeof *perm, perm_cmp_r, (void *)ts);
        /* line start offsets, so lines can be gathered in the new order */
        lp = malloc((size_t)n * sizeof *lp);
        if (!lp)
            return CAIRN_ENOMEM;
        const char *q = lines;
        for (uint32_t i = 0; i < n; i++) {
            lp[i] = q;
            q += lens[i];
        }
    }
#define IDX(i) (perm ? perm[i] : (i))
    unsigned char hdr[CAIRN__BLOCK_HDR] = {0};
    if (cairn_buf_append(out, hdr, sizeof hdr))
        goto fail;
    /* version 2: the timestamp column (the unit, the first as a zigzag varint, then
     * the gaps in units) and right after it the length column, compressed together
     * as one frame (room reserved once: at most 10 + 5 bytes per entry) */
    cairn_buf_reset(&c->col);
    if (cairn_buf_reserve(&c->col, (size_t)n * 15 + 10))
        goto fail;
    unsigned char *o = (unsigned char *)c->col.data;
    if (n) {
        uint64_t unit = ts_unit(ts, perm, n);
        int64_t t0 = ts[IDX(0)];
        o = put_uv(o, unit);
        o = put_uv(o, ((uint64_t)t0 << 1) ^ (uint64_t)(t0 >> 63));
        uint64_t prev = (uint64_t)t0;
        for (uint32_t i = 1; i < n; i++) {
            uint64_t t = (uint64_t)ts[IDX(i)];
            o = put_uv(o, (t - prev) / unit); /* sorted: t >= prev */
            prev = t;
        }
    }
    uint32_t ts_raw = (uint32_t)((char *)o - c->col.data), ts_comp, len_raw, len_comp = 0;
    uint32_t lines_comp;
    for (uint32_t i = 0; i < n; i++)
        o = put_uv(o, lens[IDX(i)]);
    c->col.len = (size_t)((char *)o - c->col.data);
    len_raw = (uint32_t)c->col.len - ts_raw;
    if ((rc = compress_section(c, codec, level, c->col.data, c->col.len, out, &ts_comp)))
        goto fail;
    const char *src = lines;
    if (perm) {
        rc = CAIRN_ENOMEM;
        cairn_buf_reset(&c->tmp);
        if (cairn_buf_reserve(&c->tmp, raw))
            goto fail;
        for (uint32_t i = 0; i < n; i++) {
            memcpy(c->tmp.data + c->tmp.len, lp[perm[i]], lens[perm[i]]);
            c->tmp.len += lens[perm[i]];
        }
        src = c->tmp.data;
    }
    if ((rc = compress_section(c, codec, level, src, raw, out, &lines_comp)))
        goto fail;
#undef IDX
    if (sm) { /* version 3: u32 raw size, u32 compressed size, the column's frame */
        uint32_t sm_comp;
        size_t at = out->len;
        if ((rc = sm_column(c, sm, sm_lens, perm, n)) ||
            (rc = cairn_buf_append_u32le(out, (uint32_t)c->smcol.len) ? CAIRN_ENOMEM : 0) ||
            (rc = cairn_buf_append_u32le(out, 0) ? CAIRN_ENOMEM : 0) ||
            (rc = compress_section(c, codec, level, c->smcol.data, c->smcol.len, out, &sm_comp)))
            goto fail;
        put32((unsigned char *)out->data + at + 4, sm_comp);
    }
    unsigned char *h = (unsigned char *)out->data + start;
    h[0] = sm ? CAIRN__BLOCK_VERSION_SM : CAIRN__BLOCK_VERSION;
    h[1] = (unsigned char)codec;
    put32(h + 4, n);
    put64(h + 8, (uint64_t)mn);
    put64(h + 16, (uint64_t)mx);
    put32(h + 24, (uint32_t)raw);
    put32(h + 28, ts_raw);
    put32(h + 32, ts_comp);
    put32(h + 36, len_raw);
    put32(h + 40, len_comp);
    put32(h + 44, (uint32_t)raw);
    put32(h + 48, lines_comp);
    uint32_t crc = cairn_crc32c(0, out->data + start, out->len - start);
    if (cairn_buf_append_u32le(out, crc))
        goto fail;
    free(lp);
    return 0;
fail:
    free(lp);
    cairn_buf_truncate(out, start);
    return rc;
}

int cairn__block_hdr_parse_only(const unsigned char *p, struct cairn__block_hdr *h)
{
    h->version = p[0];
    h->codec = p[1];
    h->flags = (uint16_t)(p[2] | p[3] << 8);
    h->n = cairn_get_u32le(p + 4);
    h->min_ts = (int64_t)cairn_get_u64le(p + 8);
    h->max_ts = (int64_t)cairn_get_u64le(p + 16);
    h->raw_len = cairn_get_u32le(p + 24);
    h->ts_raw = cairn_get_u32le(p + 28);
    h->ts_comp = cairn_get_u32le(p + 32);
    h->len_raw = cairn_get_u32le(p + 36);
    h->len_comp = cairn_get_u32le(p + 40);
    h->lines_raw = cairn_get_u32le(p + 44);
    h->lines_comp = cairn_get_u32le(p + 48);
    if (h->version < 1 || h->version > CAIRN__BLOCK_VERSION_SM || h->codec > CAIRN_CODEC_LZ4 ||
        h->n > CAIRN__BLOCK_MAX_ENTRIES || h->lines_raw != h->raw_len || h->min_ts > h->max_ts)
        return CAIRN_ECORRUPT;
    /* each entry is one to ten bytes of timestamp (version 2: plus one to ten of unit)
     * and one to five of length: bounds what a damaged header can make a reader
     * allocate before anything is checked */
    uint64_t ts_max = 10ull * h->n + (h->version >= 2 && h->n ? 10 : 0);
    if (h->ts_raw < h->n || h->ts_raw > ts_max || h->len_raw < h->n ||
        h->len_raw > 5ull * h->n)
        return CAIRN_ECORRUPT;
    /* version 2: both columns are one frame, its size in ts_comp */
    if (h->version >= 2 && h->len_comp != 0)
        return CAIRN_ECORRUPT;
    return 0;
}

int cairn__block_len_ok(const struct cairn__block_hdr *h, const unsigned char *p, uint64_t len)
{
    uint64_t fixed = CAIRN__BLOCK_HDR + (uint64_t)h->ts_comp + h->len_comp + h->lines_comp + 4;
    if (h->version < CAIRN__BLOCK_VERSION_SM)
        return fixed == len;
    if (len < fixed + 8)
        return 0;
    return !p || fixed + 8 + cairn_get_u32le(p + fixed) == len;
}

int cairn__block_hdr_parse(const unsigned char *p, size_t len, struct cairn__block_hdr *h)
{
    if (len < CAIRN__BLOCK_HDR + 4 || cairn__block_hdr_parse_only(p, h))
        return CAIRN_ECORRUPT;
    if (!cairn__block_len_ok(h, p, len))
        return CAIRN_ECORRUPT;
    return 0;
}

void cairn__block_dec_deinit(struct cairn__block_dec *d)
{
    free(d->ts);
    free(d->lens);
    free(d->offs);
    free(d->lines_buf); /* lines points into it */
    cairn_buf_deinit(&d->smb);
    free(d->sm_off);
    free(d->sm_len);
    memset(d, 0, sizeof *d);
}

/* Grow d's columns to hold n entries and (if lines) raw line bytes; keeps capacity,
 * not contents (every caller fills them next). Grown by half again at least, so the
 * buffers an iterator recycles settle at the largest blocks instead of being moved
 * block after block. */
int cairn__block_dec_reserve(struct cairn__block_dec *d, size_t n, size_t raw, int lines)
{
    if (n > d->cap_n || !d->ts) {
        size_t c = d->cap_n + d->cap_n / 2;
        c = n > c ? n : c;
        c = c > 64 ? c : 64;
        free(d->ts);
        free(d->lens);
        free(d->offs);
        d->ts = malloc(c * sizeof *d->ts);
        d->lens = malloc(c * sizeof *d->lens);
        d->offs = malloc(c * sizeof *d->offs);
        d->cap_n = c;
        if (!d->ts || !d->lens || !d->offs) {
            free(d->ts);
            free(d->lens);
            free(d->offs);
            d->ts = NULL;
            d->lens = NULL;
            d->offs = NULL;
            d->cap_n = 0;
            return CAIRN_ENOMEM;
        }
    }
    if (lines && (raw > d->cap_lines || !d->lines_buf)) {
        size_t c = d->cap_lines + d->cap_lines / 2;
        c = raw > c ? raw : c;
        c = c > 4096 ? c : 4096;
        free(d->lines_buf);
        d->lines = NULL; /* it pointed into lines_buf */
        d->cap_lines = 0;
        if (!(d->lines_buf = malloc(c)))
            return CAIRN_ENOMEM;
        d->cap_lines = c;
    }
    return 0;
}

int cairn__block_dec_reserve_sm(struct cairn__block_dec *d, size_t n)
{
    if (n > d->cap_sm || !d->sm_off) {
        size_t c = n > 64 ? n : 64;
        size_t *o = realloc(d->sm_off, c * sizeof *o);
        if (o)
            d->sm_off = o;
        uint32_t *l = realloc(d->sm_len, c * sizeof *l);
        if (l)
            d->sm_len = l;
        if (!o || !l)
            return CAIRN_ENOMEM;
        d->cap_sm = c;
    }
    cairn_buf_reset(&d->smb);
    d->has_sm = 1;
    return 0;
}

/* One LEB128 value: the one-byte case inline, the rest through the checked decoder. */
static inline size_t get_uv(const unsigned char *p, size_t left, uint64_t *v)
{
    if (left && p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    return cairn_get_uvarint(p, left, v);
}

/* Decode the version 3 structured metadata column at q (u32 raw, u32 comp, frame)
 * into per-entry blobs in out. 0, CAIRN_ECORRUPT or CAIRN_ENOMEM. */
static int sm_decode(struct cairn__codec_ctx *c, const struct cairn__block_hdr *h,
                     const unsigned char *q, struct cairn__block_dec *out)
{
    uint32_t raw = cairn_get_u32le(q), comp = cairn_get_u32le(q + 4);
    const char **ds = NULL;
    uint32_t *dl = NULL;
    int rc = CAIRN_ECORRUPT;
    /* each entry is at least its one-byte count; a string at least its length byte */
    if (raw < h->n || raw > (64u << 20))
        return CAIRN_ECORRUPT;
    cairn_buf_reset(&c->smcol);
    if (cairn_buf_reserve(&c->smcol, raw) || cairn__block_dec_reserve_sm(out, h->n))
        return CAIRN_ENOMEM;
    if (decompress_section(c, h->codec, q + 8, comp, c->smcol.data, raw))
        return CAIRN_ECORRUPT;
    const unsigned char *u = (const unsigned char *)c->smcol.data;
    size_t off = 0, k;
    uint64_t nd, v;
    if (!(k = get_uv(u, raw, &nd)) || nd > raw)
        return CAIRN_ECORRUPT;
    off = k;
    ds = malloc((nd ? nd : 1) * sizeof *ds);
    dl = malloc((nd ? nd : 1) * sizeof *dl);
    if (!ds || !dl) {
        rc = CAIRN_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < nd; i++) {
        if (!(k = get_uv(u + off, raw - off, &v)) || v > raw - off - k)
            goto out;
        ds[i] = (const char *)u + off + k;
        dl[i] = (uint32_t)v;
        off += k + v;
    }
    for (uint32_t i = 0; i < h->n; i++) {
        uint64_t np;
        if (!(k = get_uv(u + off, raw - off, &np)) || np > raw)
            goto out;
        off += k;
        out->sm_off[i] = out->smb.len;
        for (uint64_t j = 0; j < np; j++) {
            uint64_t a, b;
            if (!(k = get_uv(u + off, raw - off, &a)) || a >= nd)
                goto out;
            off += k;
            if (!(k = get_uv(u + off, raw - off, &b)) || b >= nd)
                goto out;
            off += k;
            if (cairn_smeta_append(&out->smb, ds[a], dl[a], ds[b], dl[b])) {
                rc = CAIRN_ENOMEM;
                goto out;
            }
        }
        out->sm_len[i] = (uint32_t)(out->smb.len - out->sm_off[i]);
    }
    rc = off == raw ? 0 : CAIRN_ECORRUPT;
out:
    free(ds);
    free(dl);
    return rc;
}

int cairn__block_decode_into(struct cairn__codec_ctx *c, const unsigned char *p, size_t len,
                             unsigned flags, struct cairn__block_dec *out)
{
    struct cairn__block_hdr *h = &out->h;
    out->lines = NULL;
    out->h.n = 0;
    out->has_sm = 0;
    if (flags & CAIRN__DEC_COLS) {
        /* p holds the header and the two small columns only: the block CRC covers the
         * line column too, so it cannot be checked; the structure is checked instead */
        if (len < CAIRN__BLOCK_HDR || cairn__block_hdr_parse_only(p, h) ||
            len != CAIRN__BLOCK_HDR + (size_t)h->ts_comp + h->len_comp)
            goto corrupt;
    } else {
        if (cairn__block_hdr_parse(p, len, h) ||
            cairn_crc32c(0, p, len - 4) != cairn_get_u32le(p + len - 4))
            goto corrupt;
    }
    size_t n = h->n;
    int want_lines = (flags & CAIRN__DEC_LINES) && !(flags & CAIRN__DEC_COLS);
    cairn_buf_reset(&c->col);
    if (cairn__block_dec_reserve(out, n, h->raw_len, want_lines) ||
        cairn_buf_reserve(&c->col, (size_t)h->ts_raw + h->len_raw)) {
        h->n = 0;
        return CAIRN_ENOMEM;
    }
    const unsigned char *q = p + CAIRN__BLOCK_HDR;
    char *cols = c->col.data;
    if (h->version == 1 ? decompress_section(c, h->codec, q, h->ts_comp, cols, h->ts_raw) ||
                              decompress_section(c, h->codec, q + h->ts_comp, h->len_comp,
                                                 cols + h->ts_raw, h->len_raw)
                        : decompress_section(c, h->codec, q, h->ts_comp, cols,
                                             (size_t)h->ts_raw + h->len_raw))
        goto corrupt;
    const unsigned char *u = (const unsigned char *)cols;
    size_t off = 0, lim = h->ts_raw;
    int64_t prev = 0;
    int64_t *ts = out->ts;
    if (h->version == 1) {
        for (size_t i = 0; i < n; i++) {
            uint64_t z;
            size_t k = get_uv(u + off, lim - off, &z);
            if (!k)
                goto corrupt;
            off += k;
            prev = (int64_t)((uint64_t)prev + (uint64_t)((int64_t)(z >> 1) ^ -(int64_t)(z & 1)));
            ts[i] = prev;
        }
    } else if (n) {
        uint64_t unit, z;
        size_t k = get_uv(u, lim, &unit);
        if (!k || !unit)
            goto corrupt;
        off = k;
        if (!(k = get_uv(u + off, lim - off, &z)))
            goto corrupt;
        off += k;
        prev = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
        ts[0] = prev;
        for (size_t i = 1; i < n; i++) {
            uint64_t g;
            if (!(k = get_uv(u + off, lim - off, &g)) || __builtin_mul_overflow(g, unit, &g))
                goto corrupt;
            off += k;
            prev = (int64_t)((uint64_t)prev + g); /* ascending and bounds checked below */
            ts[i] = prev;
        }
    }
    if (off != lim)
        goto corrupt;
    if (n && (ts[0] != h->min_ts || ts[n - 1] != h->max_ts))
        goto corrupt;
    for (size_t i = 1; i < n; i++)
        if (ts[i] < ts[i - 1])
            goto corrupt;
    u += h->ts_raw;
    off = 0;
    lim = h->len_raw;
    uint64_t total = 0;
    uint32_t *lens = out->lens;
    uint64_t *offs = out->offs;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        size_t k = get_uv(u + off, lim - off, &v);
        if (!k || v > UINT32_MAX)
            goto corrupt;
        off += k;
        lens[i] = (uint32_t)v;
        offs[i] = total;
        total += v;
    }
    if (total != h->raw_len || off != lim)
        goto corrupt;
    if (want_lines) {
        if (decompress_section(c, h->codec, q + h->ts_comp + h->len_comp, h->lines_comp,
                               out->lines_buf, h->raw_len))
            goto corrupt;
        out->lines = out->lines_buf;
        if (h->version >= CAIRN__BLOCK_VERSION_SM) {
            int rc = sm_decode(c, h, q + h->ts_comp + h->len_comp + h->lines_comp, out);
            if (rc == CAIRN_ENOMEM) {
                h->n = 0;
                out->has_sm = 0;
                return rc;
            }
            if (rc)
                goto corrupt;
        }
    }
    return 0;
corrupt:
    h->n = 0;
    out->has_sm = 0;
    return CAIRN_ECORRUPT;
}

int cairn__block_decode(struct cairn__codec_ctx *c, const unsigned char *p, size_t len,
                        int want_lines, struct cairn__block_dec *out)
{
    memset(out, 0, sizeof *out);
    int rc = cairn__block_decode_into(c, p, len, want_lines ? CAIRN__DEC_LINES : 0, out);
    if (rc)
        cairn__block_dec_deinit(out);
    return rc;
}
