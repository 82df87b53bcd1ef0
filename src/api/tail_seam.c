/* tail_seam.c -- the seam between a tail's history and its live entries.
 *
 * A tail takes pushed entries from the moment it opens, then reads its history; an
 * entry pushed in between is both in the history and in the live queue, and was sent
 * twice (a canary counted it as a duplicate). The history's entries are remembered as
 * hashes of their stream's and value's JSON text, and live entries queued within
 * TAIL_SEAM_NS of the history whose text hashes the same are skipped. Comparing text
 * only ever misses a duplicate (if the two encodings differed), never drops a
 * distinct entry; a 64-bit hash collision inside one second of one tail is the only
 * way to lose one. */
#include <stdlib.h>
#include <string.h>

#include "api/tail.h"
#include "cairn/hash.h"
#include "cairn/timeutil.h"

/* How long after the history live entries are checked against it: a push publishes
 * right after the store took it, so its copy is queued well within this. */
#define TAIL_SEAM_NS (1000LL * 1000000LL)

static uint64_t entry_hash(const char *labels, size_t llen, const char *value, size_t vlen)
{
    return cairn_hash64_seed(value, vlen, cairn_hash64(labels, llen));
}

void cairn__tail_seam_add(struct cairn__tail_seam *s, const char *labels, size_t llen,
                          const char *value, size_t vlen)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 128;
        uint64_t *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return; /* out of memory: that entry may be sent twice, nothing worse */
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = entry_hash(labels, llen, value, vlen);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void cairn__tail_seam_close(struct cairn__tail_seam *s)
{
    if (s->n) /* an empty history has no array at all */
        qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    s->until = cairn_mono_ns() + TAIL_SEAM_NS;
}

int cairn__tail_seam_has(struct cairn__tail_seam *s, const char *labels, size_t llen,
                         int64_t ts, const char *line, size_t len, struct cairn_buf *scratch)
{
    if (!s->n)
        return 0;
    if (cairn_mono_ns() > s->until) {
        cairn__tail_seam_free(s);
        return 0;
    }
    /* the value as the history wrote it: ["<ts>","<line>"] */
    cairn_buf_reset(scratch);
    if (cairn_buf_appendf(scratch, "[\"%lld\",", (long long)ts) ||
        cairn_buf_append_json_str(scratch, line, len) || cairn_buf_append_byte(scratch, ']'))
        return 0;
    uint64_t h = entry_hash(labels, llen, scratch->data, scratch->len);
    return bsearch(&h, s->v, s->n, sizeof *s->v, cmp_u64) != NULL;
}

void cairn__tail_seam_free(struct cairn__tail_seam *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}
