/* json.c -- decode Loki's JSON push body straight into a push batch, on the
 * shared zero-copy scanner (cairn/json.h).
 *
 *   {"streams":[{"stream":{"app":"x"},"values":[["<unix ns>","line"(, {meta})],...]}]}
 *
 * Strings without escapes are used where they lie in the body. Escaped ones are
 * decoded into b->unesc, sized to the body's length at the first escaped string
 * (decoding never lengthens a string; the growth is charged to the decoding budget),
 * so it never moves and earlier lines stay valid. Unknown keys
 * are skipped, as Go's decoder does. Structured metadata (the optional third element
 * of a value, an object of strings) goes into the batch's smeta blobs; anything else
 * there is refused naming the entry. */
#include <string.h>

#include "cairn/ingest.h"
#include "cairn/json.h"
#include "cairn/smeta.h"
#include "cairn/text.h"
#include "cairn/timeutil.h"

struct dec {
    struct cairn_json js;
    struct cairn_json_tok t;
    struct cairn_ingest_batch *b;
    const struct cairn_ingest_limits *lim;
    size_t len; /* of the body: what b->unesc must hold once a string has escapes */
    struct cairn_err *err;
};

static int bad(struct dec *d, const char *what)
{
    if (d->t.type == CAIRN_JSON_ERROR)
        return cairn_json_error(&d->js, d->err);
    return cairn_err_set(d->err, CAIRN_EINVAL, "error parsing push request JSON at offset %zu: %s",
                         d->js.pos, what);
}

static enum cairn_json_type next(struct dec *d)
{
    return cairn_json_next(&d->js, &d->t);
}

/* The text of the current KEY/STRING token, unescaped if need be. */
static int text(struct dec *d, const char **p, size_t *n)
{
    if (!d->t.escaped) {
        *p = d->t.p;
        *n = d->t.len;
        return 0;
    }
    struct cairn_buf *u = &d->b->unesc;
    if (u->cap < d->len + 1) { /* the first escaped string: room for them all, once */
        int rc = cairn_ingest_reserve(u, d->len, &d->b->charge);
        if (rc == CAIRN_EAGAIN)
            return cairn_err_set(d->err, CAIRN_EAGAIN, "too many push bytes being decoded at "
                                                       "once, retry later");
        if (rc)
            return cairn_err_set(d->err, CAIRN_ENOMEM, "out of memory");
    }
    size_t at = u->len;
    char *before = u->data;
    int rc = cairn_json_unescape(d->t.p, d->t.len, u);
    if (rc == CAIRN_ENOMEM)
        return cairn_err_set(d->err, CAIRN_ENOMEM, "out of memory");
    if (rc || u->data != before) /* reserved to fit: moving would dangle earlier lines */
        return bad(d, "bad escape in string");
    *p = u->data + at;
    *n = u->len - at;
    return 0;
}

static int key_is(const struct cairn_json_tok *t, const char *lit)
{
    return cairn_json_str_eq(t, lit, strlen(lit));
}

/* Skip the value whose first token comes next. */
static int skip_value(struct dec *d)
{
    if (next(d) <= 0 || d->t.type == CAIRN_JSON_OBJECT_END || d->t.type == CAIRN_JSON_ARRAY_END)
        return bad(d, "expected a value");
    if (cairn_json_skip(&d->js, &d->t))
        return cairn_json_error(&d->js, d->err);
    return 0;
}

/* Invalid UTF-8 in a label name or value becomes U+FFFD, as Go's JSON decoding does
 * in Loki (a name so repaired is then refused as an invalid name). Both land in
 * b->lfix, which labels_add copies from at once. 0 or CAIRN_ENOMEM. */
static int fix_label(struct cairn_ingest_batch *b, const struct cairn_ingest_limits *lim,
                     const char **k, size_t *kn, const char **v, size_t *vn)
{
    /* Too long to pass validation whatever it holds: left as it is (repair triples). */
    if (*kn > lim->max_label_name_len || *vn > lim->max_label_value_len)
        return 0;
    int kbad = !cairn_utf8_valid(*k, *kn), vbad = !cairn_utf8_valid(*v, *vn);
    if (!kbad && !vbad)
        return 0;
    size_t kl = kbad ? cairn_utf8_fixed_len(*k, *kn) : *kn;
    size_t vl = vbad ? cairn_utf8_fixed_len(*v, *vn) : *vn;
    cairn_buf_reset(&b->lfix);
    if (cairn_buf_reserve(&b->lfix, kl + vl))
        return CAIRN_ENOMEM;
    char *o = b->lfix.data;
    if (kbad)
        cairn_utf8_fix(o, *k, *kn);
    else
        memcpy(o, *k, kl);
    if (vbad)
        cairn_utf8_fix(o + kl, *v, *vn);
    else
        memcpy(o + kl, *v, vl);
    b->lfix.len = kl + vl;
    b->lfix.data[b->lfix.len] = '\0';
    *k = o;
    *kn = kl;
    *v = o + kl;
    *vn = vl;
    return 0;
}

/* "stream": {"name": "value", ...} */
static int stream_labels(struct dec *d, size_t i)
{
    struct cairn_ingest_batch *b = d->b;
    if (next(d) != CAIRN_JSON_OBJECT_START)
        return bad(d, "expected an object of labels");
    while (next(d) == CAIRN_JSON_KEY) {
        const char *k, *v;
        size_t kn, vn;
        if (text(d, &k, &kn))
            return d->err->code;
        int k_high = d->t.nonascii;
        if (next(d) != CAIRN_JSON_STRING)
            return bad(d, "label values must be strings");
        if (text(d, &v, &vn))
            return d->err->code;
        if ((k_high || d->t.nonascii) && fix_label(b, d->lim, &k, &kn, &v, &vn))
            return cairn_err_set(d->err, CAIRN_ENOMEM, "out of memory");
        int rc = cairn_labels_add(&b->labels[i], k, kn, v, vn);
        if (rc == CAIRN_ENOMEM)
            return cairn_err_set(d->err, CAIRN_ENOMEM, "out of memory");
        if (rc && !b->s[i].bad) {
            b->s[i].bad = 1; /* more labels than a set holds */
            cairn_ingest_fail(b, 400, "stream has more than %d label names",
                             CAIRN_LABELS_PARSE_MAX);
        }
    }
    if (d->t.type != CAIRN_JSON_OBJECT_END)
        return bad(d, "expected a label name");
    return 0;
}

/* The structured metadata object of entry `entry` of the current stream, whose '{'
 * was just read: string names and values only. */
static int smeta(struct dec *d, size_t entry)
{
    struct cairn_ingest_batch *b = d->b;
    size_t stream = b->n - 1;
    while (next(d) == CAIRN_JSON_KEY) {
        const char *k, *v;
        size_t kn, vn;
        if (text(d, &k, &kn))
            return d->err->code;
        if (next(d) != CAIRN_JSON_STRING)
            return cairn_err_set(d->err, CAIRN_EINVAL,
                                 "error parsing push request JSON at offset %zu: structured "
                                 "metadata of entry %zu of stream %zu: '%.*s' must be a string",
                                 d->js.pos, entry, stream, (int)(kn > 64 ? 64 : kn), k);
        if (text(d, &v, &vn))
            return d->err->code;
        if (cairn_smeta_append(&b->smb, k, kn, v, vn))
            return cairn_err_set(d->err, CAIRN_ENOMEM, "out of memory");
    }
    if (d->t.type != CAIRN_JSON_OBJECT_END)
        return bad(d, "expected a structured metadata name");
    return 0;
}

/* One value: ["<ns>", "line"] or ["<ns>", "line", {structured metadata}] */
static int value(struct dec *d)
{
    const char *ts, *line;
    size_t tn, ln;
    int64_t t;
    enum cairn_json_type ty = next(d);
    if (ty != CAIRN_JSON_STRING && ty != CAIRN_JSON_NUMBER)
        return bad(d, "expected a timestamp string");
    ts = d->t.p;
    tn = d->t.len;
    if (cairn_parse_i64(ts, tn, &t))
        return cairn_err_set(d->err, CAIRN_EINVAL,
                             "error parsing push request JSON at offset %zu: timestamp '%.*s' "
                             "is not unix nanoseconds",
                             d->js.pos, (int)(tn > 64 ? 64 : tn), ts);
    if (next(d) != CAIRN_JSON_STRING)
        return bad(d, "expected a log line string after the timestamp");
    if (text(d, &line, &ln))
        return d->err->code;
    if (d->t.nonascii && !d->b->bad_utf8 && !cairn_utf8_valid(line, ln))
        d->b->bad_utf8 = 1; /* repaired after decoding (cairn_ingest_fix_utf8) */
    size_t mark = cairn_ingest_sm_mark(d->b);
    ty = next(d);
    if (ty != CAIRN_JSON_ARRAY_END) {
        size_t entry = d->b->s[d->b->n - 1].n;
        if (ty == CAIRN_JSON_OBJECT_START) {
            int rc = smeta(d, entry);
            if (rc)
                return rc;
        } else if (ty != CAIRN_JSON_NULL) {
            if (ty <= 0 || ty == CAIRN_JSON_OBJECT_END || ty == CAIRN_JSON_ARRAY_END)
                return bad(d, "expected ']' after the line");
            return cairn_err_set(d->err, CAIRN_EINVAL,
                                 "error parsing push request JSON at offset %zu: structured "
                                 "metadata of entry %zu of stream %zu must be an object of "
                                 "strings", d->js.pos, entry, d->b->n - 1);
        }
        if (next(d) != CAIRN_JSON_ARRAY_END)
            return bad(d, "expected ']' after structured metadata");
    }
    if (cairn_ingest_batch_entry_sm(d->b, t, line, ln, mark))
        return cairn_err_set(d->err, CAIRN_ENOMEM, "out of memory");
    return 0;
}

static void finish_stream(struct dec *d, size_t i, int have_labels,
                          const struct cairn_ingest_limits *lim)
{
    struct cairn_ingest_batch *b = d->b;
    struct cairn_ingest_bstream *s = &b->s[i];
    struct cairn_err e;
    if (s->bad)
        return;
    if (!have_labels || b->labels[i].n == 0) {
        s->bad = 1;
        cairn_ingest_fail(b, 400, "error at least one label pair is required per stream");
    } else if (cairn_labels_sort(&b->labels[i], &e)) {
        s->bad = 1;
        const char *q = strchr(e.msg, '\''); /* the quoted name in the sort's message */
        cairn_ingest_fail(b, 400, "stream '%s' has duplicate label name: %s",
                         cairn_ingest_stream_text(b, i), q ? q : e.msg);
    } else {
        cairn_ingest_labels_check(b, i, lim);
    }
}

static int stream(struct dec *d, const struct cairn_ingest_limits *lim)
{
    int i = cairn_ingest_batch_stream(d->b);
    if (i < 0)
        return cairn_err_set(d->err, CAIRN_ENOMEM, "out of memory");
    int have_labels = 0;
    while (next(d) == CAIRN_JSON_KEY) {
        if (key_is(&d->t, "stream")) {
            if (stream_labels(d, (size_t)i))
                return d->err->code;
            have_labels = 1;
        } else if (key_is(&d->t, "values")) {
            if (next(d) != CAIRN_JSON_ARRAY_START)
                return bad(d, "expected an array of values");
            enum cairn_json_type ty;
            while ((ty = next(d)) == CAIRN_JSON_ARRAY_START) {
                int rc = value(d);
                if (rc)
                    return rc;
            }
            if (ty != CAIRN_JSON_ARRAY_END)
                return bad(d, "expected a [timestamp, line] array");
        } else if (skip_value(d)) {
            return d->err->code;
        }
    }
    if (d->t.type != CAIRN_JSON_OBJECT_END)
        return bad(d, "expected a key in the stream object");
    finish_stream(d, (size_t)i, have_labels, lim);
    return 0;
}

int cairn_ingest_decode_json(struct cairn_ingest_batch *b, const char *p, size_t len,
                            const struct cairn_ingest_limits *lim, struct cairn_err *err)
{
    struct dec d = {.b = b, .lim = lim, .len = len, .err = err};
    cairn_buf_reset(&b->unesc);
    cairn_json_init(&d.js, p, len);
    if (next(&d) != CAIRN_JSON_OBJECT_START)
        return bad(&d, "expected an object");
    while (next(&d) == CAIRN_JSON_KEY) {
        if (!key_is(&d.t, "streams")) {
            if (skip_value(&d))
                return d.err->code;
            continue;
        }
        enum cairn_json_type ty = next(&d);
        if (ty == CAIRN_JSON_NULL)
            continue;
        if (ty != CAIRN_JSON_ARRAY_START)
            return bad(&d, "expected an array of streams");
        while ((ty = next(&d)) == CAIRN_JSON_OBJECT_START) {
            int rc = stream(&d, lim);
            if (rc)
                return rc;
        }
        if (ty != CAIRN_JSON_ARRAY_END)
            return bad(&d, "expected a stream object");
    }
    if (d.t.type != CAIRN_JSON_OBJECT_END)
        return bad(&d, "expected a key");
    if (next(&d) != CAIRN_JSON_EOF)
        return bad(&d, "trailing data after the object");
    int rc = cairn_ingest_fix_utf8(b, lim->max_push_decoded);
    if (rc == CAIRN_ELIMIT)
        return cairn_err_set(err, CAIRN_ELIMIT, "request body too large: more than %zu bytes "
                             "once invalid UTF-8 is replaced, limit: %zu bytes",
                             lim->max_push_decoded, lim->max_push_decoded);
    if (rc == CAIRN_EAGAIN)
        return cairn_err_set(err, CAIRN_EAGAIN, "too many push bytes being decoded at once, "
                                                "retry later");
    if (rc)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return 0;
}
