/* batch.c -- one push batch: entries grouped by stream, encoded as snappy(protobuf).
 *
 * Lines are appended to one byte buffer, stream label strings to another; a small
 * open-addressing table finds a stream by the hash of its label string. Encoding
 * builds the protobuf-c message tree in one reusable scratch block whose line fields
 * point straight into the batch's line buffer, so nothing is copied twice and a
 * recycled batch encodes without allocating. */
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "cairn/smeta.h"
#include "push.pb-c.h"
#include "push/push_int.h"

void cairn__pushc_batch_reset(struct cairn__push_batch *b, const char *tenant, int64_t now)
{
    size_t tl = tenant ? strlen(tenant) : 0;
    if (tl >= sizeof b->tenant)
        tl = sizeof b->tenant - 1;
    memcpy(b->tenant, tenant ? tenant : "", tl);
    b->tenant[tl] = '\0';
    b->created_ns = now;
    b->line_bytes = 0;
    b->cost = 0;
    cairn_buf_reset(&b->lines);
    cairn_buf_reset(&b->sm);
    cairn_buf_reset(&b->labels);
    b->n_entries = 0;
    b->n_streams = 0;
    if (b->slots)
        memset(b->slots, 0, b->n_slots * sizeof *b->slots);
    b->next = NULL;
}

/* Free what a batch holds, not the batch itself. */
static void batch_deinit(struct cairn__push_batch *b)
{
    cairn_buf_deinit(&b->lines);
    cairn_buf_deinit(&b->sm);
    cairn_buf_deinit(&b->smstr);
    cairn_buf_deinit(&b->labels);
    cairn_buf_deinit(&b->pb);
    cairn_buf_deinit(&b->body);
    free(b->entries);
    free(b->streams);
    free(b->slots);
    free(b->enc);
}

void cairn__pushc_batch_free(struct cairn__push_batch *b)
{
    if (!b)
        return;
    batch_deinit(b);
    free(b);
}

/* Double the slot table and reinsert every stream. */
static int grow_slots(struct cairn__push_batch *b)
{
    size_t n = b->n_slots ? b->n_slots * 2 : 64;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < b->n_streams; i++) {
        size_t j = b->streams[i].hash & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = (uint32_t)i + 1;
    }
    free(b->slots);
    b->slots = s;
    b->n_slots = n;
    return 0;
}

static int find_stream(struct cairn__push_batch *b, const char *labels, size_t len,
                       uint32_t *out)
{
    uint64_t h = cairn_hash64(labels, len);
    if ((b->n_streams + 1) * 2 > b->n_slots && grow_slots(b))
        return CAIRN_ENOMEM;
    size_t j = h & (b->n_slots - 1);
    while (b->slots[j]) {
        struct cairn__push_stream *s = &b->streams[b->slots[j] - 1];
        if (s->hash == h && s->label_len == len &&
            memcmp(b->labels.data + s->label_off, labels, len) == 0) {
            *out = b->slots[j] - 1;
            return 0;
        }
        j = (j + 1) & (b->n_slots - 1);
    }
    if (b->n_streams == b->cap_streams) {
        size_t nc = b->cap_streams ? b->cap_streams * 2 : 16;
        void *ns = realloc(b->streams, nc * sizeof *b->streams);
        if (!ns)
            return CAIRN_ENOMEM;
        b->streams = ns;
        b->cap_streams = nc;
    }
    size_t off = b->labels.len;
    if (cairn_buf_append(&b->labels, labels, len) || cairn_buf_append_byte(&b->labels, '\0')) {
        cairn_buf_truncate(&b->labels, off);
        return CAIRN_ENOMEM;
    }
    b->streams[b->n_streams] = (struct cairn__push_stream){h, off, len, 0};
    b->slots[j] = (uint32_t)b->n_streams + 1;
    *out = (uint32_t)b->n_streams++;
    return 0;
}

int cairn__pushc_batch_add(struct cairn__push_batch *b, const char *labels, size_t labels_len,
                          int64_t ts, const char *line, size_t len, const char *sm, size_t sm_len)
{
    if (len > UINT32_MAX || sm_len > UINT32_MAX)
        return CAIRN_EINVAL;
    if (b->n_entries == b->cap_entries) {
        size_t nc = b->cap_entries ? b->cap_entries * 2 : 256;
        void *ne = realloc(b->entries, nc * sizeof *b->entries);
        if (!ne)
            return CAIRN_ENOMEM;
        b->entries = ne;
        b->cap_entries = nc;
    }
    if (cairn_buf_reserve(&b->lines, len) || (sm_len && cairn_buf_reserve(&b->sm, sm_len)))
        return CAIRN_ENOMEM;
    uint32_t si;
    if (find_stream(b, labels, labels_len, &si))
        return CAIRN_ENOMEM;
    size_t off = b->lines.len;
    cairn_buf_append(&b->lines, line, len); /* reserved above: cannot fail */
    size_t sm_off = b->sm.len;
    if (sm_len)
        cairn_buf_append(&b->sm, sm, sm_len);
    b->entries[b->n_entries++] =
        (struct cairn__push_entry){si, (uint32_t)len, off, ts, sm_off, (uint32_t)sm_len};
    b->line_bytes += len;
    b->cost += len + sm_len + labels_len / 8 + CAIRN__PUSH_ENTRY_OVERHEAD;
    return 0;
}

/* The batch's structured metadata as NUL-terminated names and values in b->smstr (what
 * protobuf-c's LabelPairAdapter points at), in entry order: *npairs of them. */
static int sm_strings(struct cairn__push_batch *b, size_t *npairs)
{
    *npairs = 0;
    cairn_buf_reset(&b->smstr);
    if (!b->sm.len)
        return 0;
    struct cairn_smeta_iter it;
    const char *n, *v;
    size_t nl, vl;
    cairn_smeta_iter_init(&it, b->sm.data, b->sm.len);
    int rc;
    while ((rc = cairn_smeta_next(&it, &n, &nl, &v, &vl)) == 1) {
        if (cairn_buf_append(&b->smstr, n, nl) || cairn_buf_append_byte(&b->smstr, '\0') ||
            cairn_buf_append(&b->smstr, v, vl) || cairn_buf_append_byte(&b->smstr, '\0'))
            return CAIRN_ENOMEM;
        (*npairs)++;
    }
    return rc;
}

int cairn__pushc_batch_encode(struct cairn__push_batch *b)
{
    size_t ne = b->n_entries, ns = b->n_streams, np;
    int src = sm_strings(b, &np);
    if (src)
        return src;
    size_t need = ne * (sizeof(Logproto__EntryAdapter) + sizeof(Logproto__Timestamp) +
                        sizeof(Logproto__EntryAdapter *)) +
                  ns * (sizeof(Logproto__StreamAdapter) + sizeof(Logproto__StreamAdapter *)) +
                  np * (sizeof(Logproto__LabelPairAdapter) + sizeof(Logproto__LabelPairAdapter *));
    if (need > b->enc_cap || !b->enc) { /* an empty body too: no arithmetic on NULL */
        void *e = malloc(need ? need : 1);
        if (!e)
            return CAIRN_ENOMEM;
        free(b->enc);
        b->enc = e;
        b->enc_cap = need;
    }
    char *base = b->enc;
    Logproto__EntryAdapter *ents = (void *)base;
    base += ne * sizeof *ents;
    Logproto__Timestamp *tss = (void *)base;
    base += ne * sizeof *tss;
    Logproto__StreamAdapter *strs = (void *)base;
    base += ns * sizeof *strs;
    Logproto__EntryAdapter **eptr = (void *)base;
    base += ne * sizeof *eptr;
    Logproto__StreamAdapter **sptr = (void *)base;
    base += ns * sizeof *sptr;
    Logproto__LabelPairAdapter *pairs = (void *)base;
    base += np * sizeof *pairs;
    Logproto__LabelPairAdapter **pptr = (void *)base;
    char *str = b->smstr.data;
    size_t pi = 0;

    /* count per stream, then lay each stream's entry pointers out contiguously */
    for (size_t i = 0; i < ns; i++)
        b->streams[i].n = 0;
    for (size_t i = 0; i < ne; i++)
        b->streams[b->entries[i].stream].n++;
    size_t off = 0;
    for (size_t i = 0; i < ns; i++) {
        Logproto__StreamAdapter *s = &strs[i];
        logproto__stream_adapter__init(s);
        s->labels = b->labels.data + b->streams[i].label_off;
        s->entries = eptr + off;
        s->n_entries = 0;
        off += b->streams[i].n;
        sptr[i] = s;
    }
    for (size_t i = 0; i < ne; i++) {
        const struct cairn__push_entry *e = &b->entries[i];
        Logproto__EntryAdapter *ea = &ents[i];
        logproto__entry_adapter__init(ea);
        logproto__timestamp__init(&tss[i]);
        int64_t sec = e->ts / 1000000000LL, nsec = e->ts % 1000000000LL;
        if (nsec < 0) {
            nsec += 1000000000LL;
            sec--;
        }
        tss[i].seconds = sec;
        tss[i].nanos = (int32_t)nsec;
        ea->timestamp = &tss[i];
        ea->line.data = (uint8_t *)b->lines.data + e->off;
        ea->line.len = e->len;
        if (e->sm_len) { /* the blob's pairs, in order, as sm_strings laid them out */
            struct cairn_smeta_iter it;
            const char *n, *v;
            size_t nl, vl;
            ea->structuredmetadata = pptr + pi;
            cairn_smeta_iter_init(&it, b->sm.data + e->sm_off, e->sm_len);
            while (cairn_smeta_next(&it, &n, &nl, &v, &vl) == 1 && pi < np) {
                Logproto__LabelPairAdapter *lp = &pairs[pi];
                logproto__label_pair_adapter__init(lp);
                lp->name = str;
                str += nl + 1;
                lp->value = str;
                str += vl + 1;
                pptr[pi++] = lp;
                ea->n_structuredmetadata++;
            }
        }
        Logproto__StreamAdapter *s = &strs[e->stream];
        s->entries[s->n_entries++] = ea;
    }
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    req.n_streams = ns;
    req.streams = sptr;

    size_t plen = logproto__push_request__get_packed_size(&req);
    cairn_buf_reset(&b->pb);
    if (cairn_buf_reserve(&b->pb, plen))
        return CAIRN_ENOMEM;
    b->pb.len = logproto__push_request__pack(&req, (uint8_t *)b->pb.data);
    size_t clen = snappy_max_compressed_length(b->pb.len);
    cairn_buf_reset(&b->body);
    if (cairn_buf_reserve(&b->body, clen))
        return CAIRN_ENOMEM;
    if (snappy_compress(b->pb.data, b->pb.len, b->body.data, &clen) != SNAPPY_OK) {
        CAIRN_ERROR("push", "snappy compression failed", "bytes=%zu", b->pb.len);
        return CAIRN_EIO;
    }
    b->body.len = clen;
    b->body.data[clen] = '\0';
    /* the uncompressed message is not needed while the body is sent and retried:
     * give it back rather than hold a batch-sized buffer per recycled batch */
    cairn_buf_deinit(&b->pb);
    return 0;
}

/* ---- the public body: a batch used on its own ---------------------------------- */

struct cairn_push_body {
    struct cairn__push_batch b;
};

struct cairn_push_body *cairn_push_body_create(void)
{
    return calloc(1, sizeof(struct cairn_push_body));
}

void cairn_push_body_destroy(struct cairn_push_body *pb)
{
    if (!pb)
        return;
    batch_deinit(&pb->b); /* embedded: its members, then the wrapper */
    free(pb);
}

void cairn_push_body_reset(struct cairn_push_body *pb)
{
    cairn__pushc_batch_reset(&pb->b, NULL, 0);
}

int cairn_push_body_add(struct cairn_push_body *pb, const char *labels, size_t labels_len,
                        int64_t ts_ns, const char *line, size_t len)
{
    return cairn__pushc_batch_add(&pb->b, labels, labels_len, ts_ns, line, len, NULL, 0);
}

size_t cairn_push_body_entries(const struct cairn_push_body *pb)
{
    return pb->b.n_entries;
}

size_t cairn_push_body_line_bytes(const struct cairn_push_body *pb)
{
    return pb->b.line_bytes;
}

int cairn_push_body_encode(struct cairn_push_body *pb, const char **data, size_t *len)
{
    int rc = cairn__pushc_batch_encode(&pb->b);
    if (rc)
        return rc;
    *data = pb->b.body.data ? pb->b.body.data : "";
    *len = pb->b.body.len;
    return 0;
}
