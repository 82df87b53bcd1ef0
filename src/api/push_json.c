/* push_json.c -- decode Loki's JSON push body straight into a push batch.
 *
 *   {"streams":[{"stream":{"app":"x"},"values":[["<unix ns>","line"(, {meta})],...]}]}
 *
 * A single pass over the body with no document tree: strings that need no unescaping
 * are used where they lie; strings with escapes are unescaped in place (the result is
 * never longer than the source), so lines point into the request body. Unknown keys
 * are skipped, as Go's decoder does; structured metadata (the optional third element
 * of a value) is accepted and ignored. */
#include <string.h>

#include "api/push.h"
#include "cairn/timeutil.h"

#define JSON_MAX_DEPTH 64

struct cur {
    char *p, *end;
    const char *start;
    struct cairn_err *err;
};

static int fail(struct cur *c, const char *what)
{
    return cairn_err_set(c->err, CAIRN_EINVAL,
                         "error parsing push request JSON at byte %zu: %s",
                         (size_t)(c->p - c->start), what);
}

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Consume `ch` after optional whitespace; 1 if it was there. */
static int eat(struct cur *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | cp >> 6);
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | cp >> 12);
        *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *w++ = (char)(0xF0 | cp >> 18);
        *w++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    }
    return w;
}

/* Parse a string at c->p (after whitespace); *s and *n view the unescaped bytes. */
static int string(struct cur *c, const char **s, size_t *n)
{
    if (!eat(c, '"'))
        return fail(c, "expected a string");
    char *p = c->p, *end = c->end;
    char *q = memchr(p, '"', (size_t)(end - p));
    if (!q)
        return fail(c, "unterminated string");
    char *bs = memchr(p, '\\', (size_t)(q - p));
    if (!bs) { /* the common case: nothing to unescape */
        *s = p;
        *n = (size_t)(q - p);
        c->p = q + 1;
        return 0;
    }
    char *w = bs, *r = bs;
    for (;;) {
        if (r >= end)
            return fail(c, "unterminated string");
        char ch = *r;
        if (ch == '"')
            break;
        if (ch != '\\') {
            /* Copy the run up to the next quote or backslash in one move. */
            char *nq = memchr(r, '"', (size_t)(end - r));
            if (!nq)
                return fail(c, "unterminated string");
            char *nb = memchr(r, '\\', (size_t)(nq - r));
            char *stop = nb ? nb : nq;
            memmove(w, r, (size_t)(stop - r));
            w += stop - r;
            r = stop;
            continue;
        }
        if (end - r < 2)
            return fail(c, "unterminated string");
        char e = r[1];
        r += 2;
        switch (e) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(r, end, &cp))
                return fail(c, "bad \\u escape");
            r += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - r >= 6 && r[0] == '\\' && r[1] == 'u' &&
                hex4(r + 2, end, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                r += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* lone surrogate, as Go's decoder does */
            }
            w = put_utf8(w, cp);
            break;
        }
        default:
            c->p = r - 2;
            return fail(c, "bad escape in string");
        }
    }
    *s = p;
    *n = (size_t)(w - p);
    c->p = r + 1;
    return 0;
}

static int key_is(const char *k, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(k, lit, l) == 0;
}

/* Skip any value (used for unknown keys and structured metadata). */
static int skip(struct cur *c, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(c, "nested too deep");
    ws(c);
    if (c->p >= c->end)
        return fail(c, "unexpected end of body");
    char ch = *c->p;
    if (ch == '"') {
        const char *s;
        size_t n;
        return string(c, &s, &n);
    }
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        if (eat(c, close))
            return 0;
        do {
            if (ch == '{') {
                const char *s;
                size_t n;
                if (string(c, &s, &n))
                    return CAIRN_EINVAL;
                if (!eat(c, ':'))
                    return fail(c, "expected ':'");
            }
            if (skip(c, depth + 1))
                return CAIRN_EINVAL;
        } while (eat(c, ','));
        if (!eat(c, close))
            return fail(c, ch == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        return 0;
    }
    /* number, true, false, null */
    char *p = c->p;
    while (p < c->end && (strchr("+-.0123456789eEtrufalsn", *p) && *p))
        p++;
    if (p == c->p)
        return fail(c, "unexpected character");
    c->p = p;
    return 0;
}

/* "stream": {"name": "value", ...} */
static int stream_labels(struct cur *c, struct cairn__push_batch *b, size_t i)
{
    if (!eat(c, '{'))
        return fail(c, "expected an object of labels");
    if (eat(c, '}'))
        return 0;
    do {
        const char *k, *v;
        size_t kn, vn;
        if (string(c, &k, &kn))
            return CAIRN_EINVAL;
        if (!eat(c, ':'))
            return fail(c, "expected ':'");
        if (string(c, &v, &vn))
            return CAIRN_EINVAL;
        int rc = cairn_labels_add(&b->labels[i], k, kn, v, vn);
        if (rc == CAIRN_ENOMEM)
            return cairn_err_set(c->err, CAIRN_ENOMEM, "out of memory");
        if (rc && !b->s[i].bad) {
            b->s[i].bad = 1; /* more labels than the parser holds */
            cairn__push_fail(b, 400, "stream has more than %d label names",
                             CAIRN_LABELS_PARSE_MAX);
        }
    } while (eat(c, ','));
    if (!eat(c, '}'))
        return fail(c, "expected ',' or '}'");
    return 0;
}

/* One value: ["<ns>", "line"] or ["<ns>", "line", {structured metadata}] */
static int value(struct cur *c, struct cairn__push_batch *b)
{
    if (!eat(c, '['))
        return fail(c, "expected a [timestamp, line] array");
    const char *ts, *line;
    size_t tn, ln;
    int64_t t;
    ws(c);
    if (c->p < c->end && *c->p == '"') {
        if (string(c, &ts, &tn))
            return CAIRN_EINVAL;
    } else { /* tolerate a bare number */
        ts = c->p;
        while (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') || *c->p == '-'))
            c->p++;
        tn = (size_t)(c->p - ts);
    }
    if (cairn_parse_i64(ts, tn, &t))
        return cairn_err_set(c->err, CAIRN_EINVAL,
                             "error parsing push request JSON at byte %zu: "
                             "timestamp '%.*s' is not unix nanoseconds",
                             (size_t)(c->p - c->start), (int)(tn > 64 ? 64 : tn), ts);
    if (!eat(c, ','))
        return fail(c, "expected ',' after the timestamp");
    if (string(c, &line, &ln))
        return CAIRN_EINVAL;
    if (eat(c, ',') && skip(c, 1))
        return CAIRN_EINVAL;
    if (!eat(c, ']'))
        return fail(c, "expected ']' after the line");
    if (cairn__push_batch_entry(b, t, line, ln))
        return cairn_err_set(c->err, CAIRN_ENOMEM, "out of memory");
    return 0;
}

static int stream(struct cur *c, struct cairn__push_batch *b, const struct cairn_api_limits *lim)
{
    if (!eat(c, '{'))
        return fail(c, "expected a stream object");
    int i = cairn__push_batch_stream(b);
    if (i < 0)
        return cairn_err_set(c->err, CAIRN_ENOMEM, "out of memory");
    int have_labels = 0;
    if (!eat(c, '}')) {
        do {
            const char *k;
            size_t kn;
            if (string(c, &k, &kn))
                return CAIRN_EINVAL;
            if (!eat(c, ':'))
                return fail(c, "expected ':'");
            if (key_is(k, kn, "stream")) {
                if (stream_labels(c, b, (size_t)i))
                    return CAIRN_EINVAL;
                have_labels = 1;
            } else if (key_is(k, kn, "values")) {
                if (!eat(c, '['))
                    return fail(c, "expected an array of values");
                if (!eat(c, ']')) {
                    do {
                        if (value(c, b))
                            return CAIRN_EINVAL;
                    } while (eat(c, ','));
                    if (!eat(c, ']'))
                        return fail(c, "expected ',' or ']'");
                }
            } else if (skip(c, 1)) {
                return CAIRN_EINVAL;
            }
        } while (eat(c, ','));
        if (!eat(c, '}'))
            return fail(c, "expected ',' or '}'");
    }
    struct cairn__bstream *s = &b->s[i];
    if (s->bad)
        return 0;
    struct cairn_err e;
    if (!have_labels || b->labels[i].n == 0) {
        s->bad = 1;
        cairn__push_fail(b, 400, "error at least one label pair is required per stream");
    } else if (cairn_labels_sort(&b->labels[i], &e)) {
        s->bad = 1;
        /* Sorting reports the duplicated name; print the set unsorted-as-given. */
        const char *dup = e.msg;
        const char *q = strchr(e.msg, '\'');
        if (q)
            dup = q;
        cairn__push_fail(b, 400, "stream '%s' has duplicate label name: %s",
                         cairn__push_stream_text(b, (size_t)i), dup);
    } else {
        cairn__push_labels_check(b, (size_t)i, lim);
    }
    return 0;
}

int cairn__push_decode_json(struct cairn__push_batch *b, char *p, size_t len,
                            const struct cairn_api_limits *lim, struct cairn_err *err)
{
    struct cur c = {p, p + len, p, err};
    if (!eat(&c, '{'))
        return fail(&c, "expected '{'");
    if (!eat(&c, '}')) {
        do {
            const char *k;
            size_t kn;
            if (string(&c, &k, &kn))
                return CAIRN_EINVAL;
            if (!eat(&c, ':'))
                return fail(&c, "expected ':'");
            if (key_is(k, kn, "streams")) {
                ws(&c);
                if (c.end - c.p >= 4 && memcmp(c.p, "null", 4) == 0) {
                    c.p += 4;
                    continue;
                }
                if (!eat(&c, '['))
                    return fail(&c, "expected an array of streams");
                if (!eat(&c, ']')) {
                    do {
                        int rc = stream(&c, b, lim);
                        if (rc)
                            return rc;
                    } while (eat(&c, ','));
                    if (!eat(&c, ']'))
                        return fail(&c, "expected ',' or ']'");
                }
            } else if (skip(&c, 1)) {
                return CAIRN_EINVAL;
            }
        } while (eat(&c, ','));
        if (!eat(&c, '}'))
            return fail(&c, "expected ',' or '}'");
    }
    ws(&c);
    if (c.p != c.end)
        return fail(&c, "trailing data after the object");
    return 0;
}
