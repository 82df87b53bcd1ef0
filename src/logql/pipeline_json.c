/* pipeline_json.c -- the `| json` and `| unpack` stages as Loki 2.7 runs them: on
 * json-iterator's Iterator (ConfigFastest, strict skipping), whose reading order,
 * leniency and error texts decide which labels a malformed line still gets and
 * what `__error_details__` says. This file walks the line the way that iterator
 * does (nextToken, ReadMapCB, ReadString, ReadNumber, ReadBool, Skip) and formats
 * errors as its ReportError does:
 *   "<op>: <msg>, error found in #<n> byte of ...|<20 bytes>|..., bigger context
 *   ...|<100 bytes>|..."
 * Known approximation: numbers that are skipped (inside arrays) and are not
 * well-formed are consumed without jsoniter's ReadFloat64 error. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cairn/parse_json.h"
#include "cairn/parse_logfmt.h"
#include "cairn/text.h"
#include "logql/pipeline_int.h"

/* Deepest object/array nesting followed; deeper is jsoniter's "exceeded max depth"
 * (it allows 10000, too deep to recurse on a query thread's stack). */
#define LQ_JSON_MAX_DEPTH 128

enum { JE_NONE, JE_EOF, JE_ERR };
enum jvt { JV_INVALID, JV_STRING, JV_NUMBER, JV_NIL, JV_BOOL, JV_ARRAY, JV_OBJECT };

struct jit {
    const char *buf;
    size_t head, tail;
    int err;
    int depth;
    struct cairn_buf *msg; /* the error text once err is JE_ERR */
    struct cairn_buf *sb;  /* ReadString's slow-path output */
    int hi;                /* the last ReadString may hold bytes >= 0x80 */
};

static unsigned char next_token(struct jit *it)
{
    for (size_t i = it->head; i < it->tail; i++) {
        unsigned char c = (unsigned char)it->buf[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
            continue;
        it->head = i + 1;
        return c;
    }
    if (it->err == JE_NONE) {
        it->head = it->tail;
        it->err = JE_EOF;
    }
    return 0;
}

static unsigned char read_byte(struct jit *it)
{
    if (it->head == it->tail) {
        if (it->err == JE_NONE) {
            it->head = it->tail;
            it->err = JE_EOF;
        }
        return 0;
    }
    return (unsigned char)it->buf[it->head++];
}

static void unread_byte(struct jit *it)
{
    if (it->err == JE_NONE)
        it->head--;
}

static void report(struct jit *it, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct jit *it, const char *op, const char *fmt, ...)
{
    if (it->err == JE_ERR)
        return;
    char m[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    size_t ps = it->head >= 10 ? it->head - 10 : 0, pe = it->head + 10 < it->tail ? it->head + 10 : it->tail;
    size_t cs = it->head >= 50 ? it->head - 50 : 0, ce = it->head + 50 < it->tail ? it->head + 50 : it->tail;
    cairn_buf_reset(it->msg);
    cairn_buf_appendf(it->msg, "%s: %s, error found in #%zu byte of ...|%.*s|..., bigger context ...|%.*s|...",
                      op, m, it->head - ps, (int)(pe - ps), it->buf + ps, (int)(ce - cs), it->buf + cs);
    it->err = JE_ERR;
}

/* %s of a byte slice holding one byte (Go's string([]byte{c})), for messages */
static const char *bstr(unsigned char c, char tmp[2])
{
    tmp[0] = (char)c;
    tmp[1] = '\0';
    return tmp;
}

static enum jvt value_type(unsigned char c)
{
    switch (c) {
    case '"': return JV_STRING;
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
    case '8': case '9': return JV_NUMBER;
    case 't': case 'f': return JV_BOOL;
    case 'n': return JV_NIL;
    case '[': return JV_ARRAY;
    case '{': return JV_OBJECT;
    default: return JV_INVALID;
    }
}

static enum jvt what_is_next(struct jit *it)
{
    enum jvt t = value_type(next_token(it));
    unread_byte(it);
    return t;
}

static void skip_bytes(struct jit *it, const char *want)
{
    size_t n = strlen(want);
    for (size_t i = 0; i < n; i++)
        if (read_byte(it) != (unsigned char)want[i]) {
            report(it, n == 3 ? "skipThreeBytes" : "skipFourBytes", "expect %s", want);
            return;
        }
}

static void put_rune(struct cairn_buf *b, uint32_t r)
{
    char u[4];
    size_t n = cairn_utf8_encode(u, r); /* surrogates and > 0x10FFFF as U+FFFD, as Go */
    cairn_buf_append(b, u, n);
}

static uint32_t read_u4(struct jit *it)
{
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = read_byte(it);
        if (it->err)
            return r;
        int d = cairn_hex_digit((char)c);
        if (d < 0) {
            char t[2];
            report(it, "readU4", "expects 0~9 or a~f, but found %s", bstr(c, t));
            return r;
        }
        r = r * 16 + (uint32_t)d;
    }
    return r;
}

static void read_escaped(struct jit *it, unsigned char c, struct cairn_buf *sb)
{
    switch (c) {
    case 'u': {
        uint32_t r = read_u4(it);
        if (r >= 0xD800 && r < 0xE000) {
            c = read_byte(it);
            if (it->err)
                return;
            if (c != '\\') {
                unread_byte(it);
                put_rune(sb, r);
                return;
            }
            c = read_byte(it);
            if (it->err)
                return;
            if (c != 'u') {
                put_rune(sb, r);
                read_escaped(it, c, sb);
                return;
            }
            uint32_t r2 = read_u4(it);
            if (it->err)
                return;
            if (r < 0xDC00 && r2 >= 0xDC00 && r2 < 0xE000) {
                put_rune(sb, 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00));
            } else {
                put_rune(sb, r);
                put_rune(sb, r2);
            }
        } else {
            put_rune(sb, r);
        }
        return;
    }
    case '"': case '\\': case '/': cairn_buf_append_byte(sb, (char)c); return;
    case 'b': cairn_buf_append_byte(sb, '\b'); return;
    case 'f': cairn_buf_append_byte(sb, '\f'); return;
    case 'n': cairn_buf_append_byte(sb, '\n'); return;
    case 'r': cairn_buf_append_byte(sb, '\r'); return;
    case 't': cairn_buf_append_byte(sb, '\t'); return;
    default: report(it, "readEscapedChar", "invalid escape char after \\"); return;
    }
}

/* Bytes that end ReadString's fast path: the quote, a backslash, control bytes. */
static const unsigned char str_stop[256] = {
    [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [7] = 1, [8] = 1, [9] = 1,
    [10] = 1, [11] = 1, [12] = 1, [13] = 1, [14] = 1, [15] = 1, [16] = 1, [17] = 1, [18] = 1,
    [19] = 1, [20] = 1, [21] = 1, [22] = 1, [23] = 1, [24] = 1, [25] = 1, [26] = 1, [27] = 1,
    [28] = 1, [29] = 1, [30] = 1, [31] = 1, ['"'] = 1, ['\\'] = 1,
};

/* Bytes readNumberAsString takes. */
static const unsigned char num_char[256] = {
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
};

/* Skip, eight bytes at a time, the run from i that holds no quote, backslash or
 * control byte; the index where the byte loop must take over. *hi gets 0x80 when
 * the run held a byte >= 0x80. */
static size_t plain_run(const char *buf, size_t i, size_t tail, unsigned *hi)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t whi = 0;
    for (; i + 8 <= tail; i += 8) {
        uint64_t w, q, b;
        memcpy(&w, buf + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs)
            break;
        whi |= w;
    }
    *hi = (whi & highs) ? 0x80 : 0;
    return i;
}

/* ReadString: the string's bytes as a view (fast path) or in it->sb; "" on error.
 * it->hi is set when the result may hold a byte >= 0x80. */
static void read_string(struct jit *it, const char **s, size_t *n)
{
    *s = "";
    *n = 0;
    it->hi = 1;
    unsigned char c = next_token(it);
    if (c == '"') {
        unsigned hi = 0;
        size_t i = plain_run(it->buf, it->head, it->tail, &hi);
        for (; i < it->tail; i++) {
            unsigned char d = (unsigned char)it->buf[i];
            hi |= d;
            if (!str_stop[d])
                continue;
            if (d == '"') {
                *s = it->buf + it->head;
                *n = i - it->head;
                it->head = i + 1;
                it->hi = (hi & 0x80) != 0;
                return;
            }
            if (d == '\\')
                break;
            if (d < ' ') {
                report(it, "ReadString", "invalid control character found: %d", d);
                return;
            }
        }
        cairn_buf_reset(it->sb);
        while (it->err == JE_NONE) {
            c = read_byte(it);
            if (c == '"') {
                *s = it->sb->data ? it->sb->data : "";
                *n = it->sb->len;
                return;
            }
            if (c == '\\') {
                c = read_byte(it);
                read_escaped(it, c, it->sb);
            } else {
                cairn_buf_append_byte(it->sb, (char)c);
            }
        }
        report(it, "readStringSlowPath", "unexpected end of input");
        return;
    }
    if (c == 'n') {
        skip_bytes(it, "ull");
        return;
    }
    char t[2];
    report(it, "ReadString", "expects \" or n, but found %s", bstr(c, t));
}

/* ReadNumber: the run of number characters, unvalidated. */
static void read_number(struct jit *it, const char **s, size_t *n)
{
    size_t i = it->head;
    while (i < it->tail && num_char[(unsigned char)it->buf[i]])
        i++;
    *s = it->buf + it->head;
    *n = i - it->head;
    it->head = i;
    if (i == it->tail && it->err == JE_NONE)
        it->err = JE_EOF;
    if (it->err == JE_ERR) {
        *n = 0;
        return;
    }
    if (!*n)
        report(it, "readNumberAsString", "invalid number");
}

static int read_bool(struct jit *it)
{
    unsigned char c = next_token(it);
    if (c == 't') {
        skip_bytes(it, "rue");
        return 1;
    }
    if (c == 'f') {
        skip_bytes(it, "alse");
        return 0;
    }
    char t[2];
    report(it, "ReadBool", "expect t or f, but found %s", bstr(c, t));
    return 0;
}

static void skip(struct jit *it);

static int inc_depth(struct jit *it)
{
    if (++it->depth <= LQ_JSON_MAX_DEPTH)
        return 1;
    report(it, "incrementDepth", "exceeded max depth");
    return 0;
}

static int dec_depth(struct jit *it)
{
    it->depth--;
    return 1;
}

static void skip_number_run(struct jit *it)
{
    const char *s;
    size_t n;
    read_number(it, &s, &n);
}

static int try_skip_number(struct jit *it)
{
    int dot = 0;
    for (size_t i = it->head; i < it->tail; i++) {
        char c = it->buf[i];
        if (c >= '0' && c <= '9')
            continue;
        if (c == '.') {
            if (dot) {
                report(it, "validateNumber", "more than one dot found in number");
                return 1;
            }
            if (i + 1 == it->tail)
                return 0;
            if (!(it->buf[i + 1] >= '0' && it->buf[i + 1] <= '9')) {
                report(it, "validateNumber", "missing digit after dot");
                return 1;
            }
            dot = 1;
            continue;
        }
        if (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (it->head == i)
                return 0;
            it->head = i;
            return 1;
        }
        return 0;
    }
    return 0;
}

static void skip_string(struct jit *it)
{
    unsigned hi;
    for (size_t i = plain_run(it->buf, it->head, it->tail, &hi); i < it->tail; i++) {
        unsigned char c = (unsigned char)it->buf[i];
        if (c == '"') {
            it->head = i + 1;
            return;
        }
        if (c == '\\')
            break;
        if (c < ' ') {
            report(it, "trySkipString", "invalid control character found: %d", c);
            return;
        }
    }
    unread_byte(it);
    const char *s;
    size_t n;
    read_string(it, &s, &n);
}

static void skip_array(struct jit *it)
{
    unread_byte(it);
    unsigned char c = next_token(it); /* ReadArrayCB */
    char t[2];
    if (c == '[') {
        if (!inc_depth(it))
            return;
        c = next_token(it);
        if (c != ']') {
            unread_byte(it);
            skip(it);
            c = next_token(it);
            while (c == ',') {
                skip(it);
                c = next_token(it);
            }
            if (c != ']')
                report(it, "ReadArrayCB", "expect ] in the end, but found %s", bstr(c, t));
        }
        dec_depth(it);
        return;
    }
    if (c == 'n') {
        skip_bytes(it, "ull");
        return;
    }
    report(it, "ReadArrayCB", "expect [ or n, but found %s", bstr(c, t));
}

static void skip_object(struct jit *it)
{
    unread_byte(it);
    unsigned char c = next_token(it); /* ReadObjectCB */
    char t[2];
    const char *s;
    size_t n;
    if (c == '{') {
        if (!inc_depth(it))
            return;
        c = next_token(it);
        if (c == '"') {
            unread_byte(it);
            read_string(it, &s, &n);
            c = next_token(it);
            if (c != ':')
                report(it, "ReadObject", "expect : after object field, but found %s", bstr(c, t));
            skip(it);
            c = next_token(it);
            while (c == ',') {
                read_string(it, &s, &n);
                c = next_token(it);
                if (c != ':')
                    report(it, "ReadObject", "expect : after object field, but found %s", bstr(c, t));
                skip(it);
                c = next_token(it);
            }
            if (c != '}')
                report(it, "ReadObjectCB", "object not ended with }");
            dec_depth(it);
            return;
        }
        if (c != '}')
            report(it, "ReadObjectCB", "expect \" after {, but found %s", bstr(c, t));
        dec_depth(it);
        return;
    }
    if (c == 'n') {
        skip_bytes(it, "ull");
        return;
    }
    report(it, "ReadObjectCB", "expect { or n, but found %s", bstr(c, t));
}

static void skip(struct jit *it)
{
    unsigned char c = next_token(it);
    switch (c) {
    case '"': skip_string(it); return;
    case 'n': skip_bytes(it, "ull"); return;
    case 't': skip_bytes(it, "rue"); return;
    case 'f': skip_bytes(it, "alse"); return;
    case '0': unread_byte(it); skip_number_run(it); return;
    case '-': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        if (!try_skip_number(it)) {
            unread_byte(it);
            if (it->err == JE_ERR)
                return;
            skip_number_run(it);
        }
        return;
    case '[': skip_array(it); return;
    case '{': skip_object(it); return;
    default: report(it, "Skip", "do not know how to skip: %d", c); return;
    }
}

/* ReadMapCB over the object at the iterator: cb(field) per member, as jsoniter
 * calls it (a `:` missing after a name ends the object with an error). */
typedef int (*member_fn)(struct jit *it, void *arg, const char *f, size_t fl);

static int read_map(struct jit *it, member_fn cb, void *arg)
{
    unsigned char c = next_token(it), prev;
    char t[2];
    const char *f;
    size_t fl;
    if (c == '{') {
        if (!inc_depth(it))
            return 0;
        c = next_token(it);
        if (c == '"') {
            unread_byte(it);
            for (;;) {
                prev = c;
                read_string(it, &f, &fl);
                if (next_token(it) != ':') {
                    report(it, "ReadMapCB", "expect : after object field, but found %s", bstr(prev, t));
                    dec_depth(it);
                    return 0;
                }
                int r = cb(it, arg, f, fl);
                if (r < 0)
                    return r;
                if (!r) {
                    dec_depth(it);
                    return 0;
                }
                c = next_token(it);
                if (c != ',')
                    break;
            }
            if (c != '}') {
                report(it, "ReadMapCB", "object not ended with }");
                dec_depth(it);
                return 0;
            }
            return dec_depth(it);
        }
        if (c == '}')
            return dec_depth(it);
        report(it, "ReadMapCB", "expect \" after {, but found %s", bstr(c, t));
        dec_depth(it);
        return 0;
    }
    if (c == 'n') {
        skip_bytes(it, "ull");
        return 1;
    }
    report(it, "ReadMapCB", "expect { or n, but found %s", bstr(c, t));
    return 0;
}

/* ---- `| json` ---- */

struct flat {
    struct cairn_logql_pipeline *p;
};

static int flat_member(struct jit *it, void *arg, const char *f, size_t fl);

static int flat_key(struct flat *fx, size_t mark, const char *f, size_t fl)
{
    struct cairn_buf *key = &fx->p->key;
    /* sanitised into the key right away: the value read may reuse f's buffer */
    cairn_buf_truncate(key, mark);
    if (mark && cairn_buf_append_byte(key, '_'))
        return CAIRN_ENOMEM;
    return cairn_json_sanitize_key(key, f, fl, mark == 0);
}

static int flat_member(struct jit *it, void *arg, const char *f, size_t fl)
{
    struct flat *fx = arg;
    struct cairn_logql_pipeline *p = fx->p;
    size_t mark = p->key.len;
    const char *v = NULL;
    size_t vl = 0;
    switch (what_is_next(it)) {
    case JV_STRING:
        if (flat_key(fx, mark, f, fl))
            return CAIRN_ENOMEM;
        read_string(it, &v, &vl);
        if (it->hi && cairn_logfmt_has_rune_error(v, vl))
            vl = 0;
        break;
    case JV_NUMBER:
        if (flat_key(fx, mark, f, fl))
            return CAIRN_ENOMEM;
        read_number(it, &v, &vl);
        break;
    case JV_BOOL:
        if (flat_key(fx, mark, f, fl))
            return CAIRN_ENOMEM;
        v = read_bool(it) ? "true" : "false";
        vl = strlen(v);
        break;
    case JV_OBJECT: {
        if (flat_key(fx, mark, f, fl))
            return CAIRN_ENOMEM;
        int r = read_map(it, flat_member, fx);
        cairn_buf_truncate(&p->key, mark);
        return r;
    }
    default:
        skip(it);
        return 1;
    }
    int rc = 0;
    if (p->key.len > mark)
        rc = cairn__lb_set(&p->lb, p->key.data, p->key.len, vl ? v : "", vl,
                           LB_PARSED | (vl ? cairn__lq_view_flags(p, v) : 0));
    cairn_buf_truncate(&p->key, mark);
    return rc ? rc : 1;
}

int cairn__lq_json_flat(struct cairn_logql_pipeline *p)
{
    struct flat fx = {p};
    struct jit it = {p->line, 0, p->len, JE_NONE, 0, &p->tmp2, &p->tmp, 0};
    cairn_buf_reset(&p->key);
    if (what_is_next(&it) != JV_OBJECT)
        return cairn__lb_set_error(&p->lb, "JSONParserErr", CAIRN__LQ_ERR_NOT_OBJECT);
    int r = read_map(&it, flat_member, &fx);
    if (r < 0)
        return r;
    if (it.err == JE_ERR)
        return cairn__lb_set_error(&p->lb, "JSONParserErr", p->tmp2.data ? p->tmp2.data : "");
    return 0;
}

/* jsoniter's Valid, which Loki 2.7's `json a="x"` asks first: one Skip without any
 * error, io.EOF included (so a bare number, read up to the end, is not valid). */
int cairn__lq_json_valid(struct cairn_logql_pipeline *p)
{
    struct jit it = {p->line, 0, p->len, JE_NONE, 0, &p->tmp2, &p->tmp, 0};
    skip(&it);
    return it.err == JE_NONE;
}

/* ---- `| unpack` ---- */

struct unp {
    struct cairn_logql_pipeline *p;
    int packed;
};

/* pairs are kept as [size_t klen][key][size_t vlen][value] in p->jpairs */
static int put_sized(struct cairn_buf *b, const char *s, size_t n)
{
    return cairn_buf_append(b, (const char *)&n, sizeof(n)) || cairn_buf_append(b, s, n) ? CAIRN_ENOMEM : 0;
}

static int unpack_member(struct jit *it, void *arg, const char *f, size_t fl)
{
    struct unp *u = arg;
    struct cairn_logql_pipeline *p = u->p;
    if (what_is_next(it) != JV_STRING) {
        skip(it);
        return 1;
    }
    cairn_buf_reset(&p->jfield);
    if (cairn_buf_append(&p->jfield, f, fl))
        return CAIRN_ENOMEM;
    const char *v;
    size_t vl;
    read_string(it, &v, &vl);
    if (fl == 6 && memcmp(p->jfield.data, "_entry", 6) == 0) {
        cairn_buf_reset(&p->lbuf[p->cur ^ 1]);
        if (cairn_buf_append(&p->lbuf[p->cur ^ 1], v, vl))
            return CAIRN_ENOMEM;
        u->packed = 1;
        return 1;
    }
    if (put_sized(&p->jpairs, p->jfield.data ? p->jfield.data : "", fl) || put_sized(&p->jpairs, v, vl))
        return CAIRN_ENOMEM;
    return 1;
}

int cairn__lq_unpack(struct cairn_logql_pipeline *p)
{
    struct unp u = {p, 0};
    struct jit it = {p->line, 0, p->len, JE_NONE, 0, &p->tmp2, &p->tmp, 0};
    if (what_is_next(&it) != JV_OBJECT)
        return cairn__lb_set_error(&p->lb, "JSONParserErr", CAIRN__LQ_ERR_NOT_OBJECT);
    cairn_buf_reset(&p->jpairs);
    int r = read_map(&it, unpack_member, &u);
    if (r < 0)
        return r;
    if (it.err == JE_ERR)
        return cairn__lb_set_error(&p->lb, "JSONParserErr", p->tmp2.data ? p->tmp2.data : "");
    if (!u.packed)
        return 0;
    for (size_t off = 0; off < p->jpairs.len;) {
        size_t kl, vl;
        memcpy(&kl, p->jpairs.data + off, sizeof(kl));
        const char *k = p->jpairs.data + off + sizeof(kl);
        off += sizeof(kl) + kl;
        memcpy(&vl, p->jpairs.data + off, sizeof(vl));
        const char *v = p->jpairs.data + off + sizeof(vl);
        off += sizeof(vl) + vl;
        if (kl && cairn__lb_set(&p->lb, k, kl, v, vl, LB_PARSED))
            return CAIRN_ENOMEM;
    }
    /* the `_entry` text was put in the other line buffer: switch to it */
    struct cairn_buf *b = &p->lbuf[p->cur ^= 1];
    p->line = b->data ? b->data : "";
    p->len = b->len;
    return 0;
}
