/* recscan.c -- reading runs of framed records (WAL and segment files) past damage: a
 * record that fails its length or CRC check is skipped and the scan resynchronises on
 * the next valid record; what cannot be resynchronised is the file's tail.
 *
 * Resynchronisation looks at every later offset for a record whose length fits the
 * file, whose type and payload are plausible for the file kind (a cheap structural
 * check given by the caller) and whose CRC32C matches; the CRC is computed only for
 * the rare candidates that pass the cheap checks. A tail is "torn" when its record is
 * short (the file ends inside it: a crash in the middle of a write) and "damaged" when
 * it is complete but fails its CRC. A record that claims to end past the end of the
 * file is treated as a tear unless the records found after it run cleanly to the end
 * of the file, so a torn last write is cut as before and a line that happens to hold
 * record-shaped bytes is not replayed from inside a torn record. Format:
 * docs/FORMATS.md "Record framing". */
#include <string.h>

#include "cairn/hash.h"
#include "store/store_int.h"

void cairn__recscan_init(struct cairn__recscan *sc, const unsigned char *p, size_t len,
                         size_t off, cairn__rec_plausible_fn plausible)
{
    memset(sc, 0, sizeof *sc);
    sc->p = p;
    sc->len = len;
    sc->off = off;
    sc->tail_off = len;
    sc->plausible = plausible;
}

/* Is there a valid, plausible record at off? Its total size in *size. */
static int valid_at(const struct cairn__recscan *sc, size_t off, size_t *size)
{
    if (sc->len - off < CAIRN__REC_HDR)
        return 0;
    uint32_t n = cairn_get_u32le(sc->p + off);
    if (n > sc->len - off - CAIRN__REC_HDR)
        return 0;
    uint8_t type = sc->p[off + 8];
    if (sc->plausible && !sc->plausible(type, sc->p + off + CAIRN__REC_HDR, n))
        return 0;
    if (cairn_crc32c(0, sc->p + off + 8, (size_t)n + 1) != cairn_get_u32le(sc->p + off + 4))
        return 0;
    *size = CAIRN__REC_HDR + (size_t)n;
    return 1;
}

/* Do valid records run from off exactly to the end of the file? */
static int clean_to_end(const struct cairn__recscan *sc, size_t off)
{
    size_t sz;
    while (off < sc->len) {
        if (!valid_at(sc, off, &sz))
            return 0;
        off += sz;
    }
    return 1;
}

/* The next offset after `from` where a valid record starts, or len. */
static size_t resync(const struct cairn__recscan *sc, size_t from)
{
    size_t sz;
    for (size_t o = from + 1; o + CAIRN__REC_HDR <= sc->len; o++)
        if (valid_at(sc, o, &sz))
            return o;
    return sc->len;
}

int cairn__recscan_next(struct cairn__recscan *sc, uint8_t *type, const unsigned char **payload,
                        uint32_t *plen, size_t *rec_off)
{
    sc->skip_off = sc->skip_len = 0;
    if (sc->off >= sc->len)
        return 0;
    if (cairn__rec_next(sc->p, sc->len, sc->off, type, payload, plen) != 1) {
        size_t bad = sc->off;
        int short_rec = sc->len - bad < CAIRN__REC_HDR ||
                        cairn_get_u32le(sc->p + bad) > sc->len - bad - CAIRN__REC_HDR;
        size_t next = resync(sc, bad);
        if (next < sc->len && short_rec && !clean_to_end(sc, next))
            next = sc->len; /* a torn record: what is inside it is not trusted */
        if (next >= sc->len) { /* nothing valid after it: the tail */
            sc->tail_off = bad;
            sc->tail_torn = short_rec;
            sc->off = sc->len;
            return 0;
        }
        sc->skip_off = bad;
        sc->skip_len = next - bad;
        sc->n_skipped++;
        sc->bytes_skipped += next - bad;
        sc->off = next;
        if (cairn__rec_next(sc->p, sc->len, sc->off, type, payload, plen) != 1)
            return 0; /* cannot happen: resync checked it */
    }
    *rec_off = sc->off;
    sc->off += CAIRN__REC_HDR + *plen;
    return 1;
}

/* ---- what a record of each file kind may look like (for resynchronisation) ---- */

static int tenant_ok(const unsigned char *p, uint32_t n, size_t *off)
{
    uint64_t tl;
    size_t k = cairn_get_uvarint(p, n, &tl);
    if (!k || tl == 0 || tl > CAIRN__TENANT_MAX || tl > n - k)
        return 0;
    char t[CAIRN__TENANT_MAX + 1];
    if (memchr(p + k, '\0', tl))
        return 0;
    memcpy(t, p + k, tl);
    t[tl] = '\0';
    *off = k + tl;
    return cairn__tenant_name_valid(t);
}

static int labels_ok(const unsigned char *p, uint32_t n, size_t off)
{
    uint64_t ll;
    size_t k = cairn_get_uvarint(p + off, n - off, &ll);
    return k && ll >= 2 && ll == n - off - k && p[off + k] == '{' && p[n - 1] == '}';
}

int cairn__wal_rec_plausible(uint8_t type, const unsigned char *p, uint32_t n)
{
    size_t off;
    if ((type != CAIRN__WAL_STREAM && type != CAIRN__WAL_ENTRIES &&
         type != CAIRN__WAL_ENTRIES_SM) || !tenant_ok(p, n, &off))
        return 0;
    if (type == CAIRN__WAL_STREAM)
        return n - off >= 13 && labels_ok(p, n, off + 12);
    return n - off >= 5;
}

int cairn__seg_rec_plausible(uint8_t type, const unsigned char *p, uint32_t n)
{
    struct cairn__block_hdr h;
    switch (type) {
    case CAIRN__SEG_STREAM:
        return n >= 15 && labels_ok(p, n, 12);
    case CAIRN__SEG_BLOCK:
        return n >= 24 && cairn__block_hdr_parse(p + 24, n - 24, &h) == 0;
    case CAIRN__SEG_CHUNK: {
        if (n < 32)
            return 0;
        uint64_t k = cairn_get_u32le(p + 24);
        return n - 32 >= 9 * k && n - 32 <= 18 * k;
    }
    default:
        return 0;
    }
}
