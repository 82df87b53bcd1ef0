/* api_push_fuzz.c -- the push body decoders on arbitrary input: the first byte picks
 * JSON, protobuf (raw) or snappy+protobuf (first byte % 3), through gzip first when
 * its high bit is set (snappy and gzip charged to a small shared budget, their output
 * never past the cap); then per-entry validation runs over what was decoded. Every
 * line and label of a decoded JSON push is valid UTF-8 (bad bytes became U+FFFD), a
 * protobuf stream whose label text is not valid UTF-8 is refused, and the JSON string
 * escaper turns any bytes into one valid UTF-8 JSON string. Nothing may crash, leak or read out of bounds, and every decoded line
 * must lie inside memory the batch owns or the input. Differential: whenever the
 * hand-written protobuf decoder and protobuf-c's generated unpack both accept the
 * bytes, they must agree on the streams, label texts, timestamps and lines. The
 * batch (and its label cache) lives across inputs: a set served from the cache must
 * be the one a fresh parse of its text gives. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "cairn/ingest.h"
#include "cairn/json.h"
#include "cairn/text.h"
#include "push.pb-c.h"

/* Small caps so that bombs are found quickly and cheaply. */
#define FUZZ_MAX_DECODED (1u << 20)
#define FUZZ_BUDGET (768u * 1024)

/* protobuf-c's string is NUL-terminated: it sees a label text up to its first NUL. */
static void same_as_protobuf_c(const struct cairn_ingest_batch *b, const uint8_t *p, size_t n)
{
    Logproto__PushRequest *req = logproto__push_request__unpack(NULL, n, p);
    if (!req)
        return; /* protobuf-c is stricter in places (it checks nothing we rely on) */
    if (req->n_streams != b->n)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < req->n_streams; i++) {
        const Logproto__StreamAdapter *sa = req->streams[i];
        const struct cairn_ingest_bstream *s = &b->s[i];
        const char *want = sa->labels ? sa->labels : "";
        size_t tl = s->ltext_len;
        const char *nul = tl ? memchr(s->ltext, '\0', tl) : NULL;
        if (nul)
            tl = (size_t)(nul - s->ltext);
        if (strlen(want) != tl || (tl && memcmp(want, s->ltext, tl) != 0))
            abort();
        if (s->first != k || s->n != sa->n_entries)
            abort();
        for (size_t j = 0; j < sa->n_entries; j++, k++) {
            const Logproto__EntryAdapter *ea = sa->entries[j];
            const struct cairn_entry *e = &b->e[k];
            int64_t ts = 0;
            if (ea->timestamp && (__builtin_mul_overflow(ea->timestamp->seconds,
                                                         (int64_t)1000000000, &ts) ||
                                  __builtin_add_overflow(ts, ea->timestamp->nanos, &ts)))
                ts = ea->timestamp->seconds < 0 ? INT64_MIN : INT64_MAX;
            if (e->ts != ts || e->len != ea->line.len ||
                (e->len && memcmp(e->line, ea->line.data, e->len) != 0))
                abort();
        }
    }
    if (k != b->ne)
        abort();
    logproto__push_request__free_unpacked(req, NULL);
}

static void cache_is_right(const struct cairn_ingest_batch *b)
{
    static struct cairn_labels ls;
    static int ready;
    if (!ready) {
        cairn_labels_init(&ls);
        ready = 1;
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct cairn_ingest_bstream *s = &b->s[i];
        if (s->bad || !s->fp_set)
            continue;
        struct cairn_err err;
        const char *t = s->ltext; /* cached texts are valid UTF-8: never repaired */
        size_t tl = s->ltext_len;
        if (cairn_labels_parse(&ls, t, tl, &err))
            abort();
        if (cairn_labels_fingerprint(&ls) != s->fp ||
            cairn_labels_fingerprint(&b->labels[i]) != s->fp || ls.n != b->labels[i].n)
            abort();
    }
}

static void pb_bad_labels_refused(const struct cairn_ingest_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (!b->s[i].bad && !cairn_utf8_valid(b->s[i].ltext, b->s[i].ltext_len))
            abort();
}

static void json_lines_are_utf8(const struct cairn_ingest_batch *b)
{
    for (size_t i = 0; i < b->ne; i++)
        if (!cairn_utf8_valid(b->e[i].line, b->e[i].len))
            abort();
    for (size_t i = 0; i < b->n; i++)
        for (size_t j = 0; j < b->labels[i].n; j++)
            if (!cairn_utf8_valid(b->labels[i].v[j].name, b->labels[i].v[j].name_len) ||
                !cairn_utf8_valid(b->labels[i].v[j].value, b->labels[i].v[j].value_len))
                abort();
}

/* Any bytes escape to exactly one JSON string our scanner takes, all valid UTF-8. */
static void escaper_makes_valid_json(const char *p, size_t n)
{
    static struct cairn_buf o;
    cairn_buf_reset(&o);
    if (cairn_buf_append_json_str(&o, p, n))
        return;
    if (!cairn_utf8_valid(o.data, o.len))
        abort();
    struct cairn_json js;
    struct cairn_json_tok t;
    cairn_json_init(&js, o.data, o.len);
    if (cairn_json_next(&js, &t) != CAIRN_JSON_STRING || cairn_json_next(&js, &t) != CAIRN_JSON_EOF)
        abort();
}

/* Charge invariants: the shared counter holds exactly what the request holds, never
 * more than the budget; all of it goes back. */
static void release_checked(struct cairn_ingest_charge *ch)
{
    if (ch->held > FUZZ_BUDGET || atomic_load(ch->used) != ch->held)
        abort();
    cairn_ingest_charge_release(ch);
    if (atomic_load(ch->used) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cairn_ingest_batch b; /* reused like a connection's batch */
    static int ready;
    if (!ready) {
        cairn_ingest_batch_init(&b);
        ready = 1;
    }
    if (size < 1)
        return 0;
    struct cairn_api_config cfg;
    cairn_api_config_default(&cfg);
    struct cairn_ingest_limits lim = cfg.limits.ingest;
    struct cairn_err err;
    cairn_ingest_batch_reset(&b);
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (cairn_buf_append(&b.body, p, n))
        return 0;
    const char *body = b.body.data ? b.body.data : "";
    size_t blen = b.body.len;
    static _Atomic size_t used;
    struct cairn_ingest_charge ch = {.used = &used, .max = FUZZ_BUDGET};
    escaper_makes_valid_json(p, n);
    if (data[0] & 0x80) { /* gzip first, as with Content-Encoding: gzip */
        size_t cap_before = b.dec.cap;
        int rc = cairn_ingest_gunzip(p, n, FUZZ_MAX_DECODED, &b.dec, &ch, &err);
        if (b.dec.cap > cap_before && b.dec.cap > FUZZ_MAX_DECODED + 2)
            abort(); /* grown past the cap */
        if (rc) {
            release_checked(&ch);
            return 0;
        }
        if (b.dec.len > FUZZ_MAX_DECODED)
            abort();
        cairn_buf_reset(&b.body); /* decoders read the inflated text from the body */
        if (cairn_buf_append(&b.body, b.dec.data ? b.dec.data : "", b.dec.len)) {
            release_checked(&ch);
            return 0;
        }
        body = b.body.data ? b.body.data : "";
        blen = b.body.len;
        p = body;
        n = blen;
    }
    switch (data[0] % 3) {
    case 0:
        if (cairn_ingest_decode_json(&b, body, blen, &lim, &err) == 0)
            json_lines_are_utf8(&b);
        break;
    case 1:
        if (cairn_ingest_decode_pb(&b, body, blen, &lim, &err) == 0) {
            same_as_protobuf_c(&b, (const uint8_t *)body, blen);
            pb_bad_labels_refused(&b);
            cache_is_right(&b);
        }
        break;
    default:
        if (cairn_ingest_unsnappy(p, n, FUZZ_MAX_DECODED, &b.dec, &ch, &err) == 0) {
            if (b.dec.len > FUZZ_MAX_DECODED)
                abort();
            const char *d = b.dec.data ? b.dec.data : "";
            if (cairn_ingest_decode_pb(&b, d, b.dec.len, &lim, &err) == 0) {
                same_as_protobuf_c(&b, (const uint8_t *)d, b.dec.len);
                pb_bad_labels_refused(&b);
                cache_is_right(&b);
            }
        }
        break;
    }
    release_checked(&ch);
    size_t bytes;
    cairn_ingest_validate(&b, &lim, 1700000000000000000LL, &bytes);
    unsigned sum = 0;
    for (size_t i = 0; i < b.ne; i++)
        for (size_t k = 0; k < b.e[i].len; k++)
            sum += (unsigned char)b.e[i].line[k]; /* ASan checks every line's bounds */
    return sum == 0xFFFFFFFFu; /* keeps the loop; libFuzzer wants 0, this never holds */
}
