/* lexer.c -- LogQL tokens: identifiers, Go-quoted and backtick strings, numbers,
 * durations and byte sizes, operators, `# comments`; with line and column. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_units.h"
#include "cairn/text.h"
#include "logql/logql_int.h"

const char *cairn__lq_tok_name(enum lq_tok t)
{
    static const char *names[] = {
        [LT_EOF] = "$end", [LT_IDENT] = "IDENTIFIER", [LT_STRING] = "STRING",
        [LT_NUMBER] = "NUMBER", [LT_DURATION] = "DURATION", [LT_BYTES] = "BYTES",
        [LT_FLAG] = "PARSER_FLAG", [LT_LBRACE] = "{", [LT_RBRACE] = "}",
        [LT_LPAREN] = "(", [LT_RPAREN] = ")", [LT_LBRACK] = "[", [LT_RBRACK] = "]",
        [LT_COMMA] = ",", [LT_EQ] = "=", [LT_EQEQ] = "==", [LT_NEQ] = "!=",
        [LT_RE] = "=~", [LT_NRE] = "!~", [LT_PIPE_EXACT] = "|=", [LT_PIPE_MATCH] = "|~",
        [LT_PIPE_PATTERN] = "|>", [LT_NPATTERN] = "!>", [LT_PIPE] = "|", [LT_GT] = ">",
        [LT_GTE] = ">=", [LT_LT] = "<", [LT_LTE] = "<=", [LT_ADD] = "+", [LT_SUB] = "-",
        [LT_MUL] = "*", [LT_DIV] = "/", [LT_MOD] = "%", [LT_POW] = "^",
    };
    return names[t];
}

long cairn__lq_unquote(const char *p, size_t len, char *out, const char **why)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (++i >= len) {
            *why = "invalid syntax";
            return -1;
        }
        c = p[i];
        switch (c) {
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'v': out[o++] = '\v'; break;
        case '\\': out[o++] = '\\'; break;
        case '"': out[o++] = '"'; break;
        case 'x':
            if (i + 2 >= len || cairn_hex_digit(p[i + 1]) < 0 || cairn_hex_digit(p[i + 2]) < 0) {
                *why = "invalid char escape";
                return -1;
            }
            out[o++] = (char)(cairn_hex_digit(p[i + 1]) * 16 + cairn_hex_digit(p[i + 2]));
            i += 2;
            break;
        case 'u':
        case 'U': {
            int nd = c == 'u' ? 4 : 8;
            uint32_t cp = 0;
            if (i + (size_t)nd >= len) {
                *why = "invalid char escape";
                return -1;
            }
            for (int k = 1; k <= nd; k++) {
                int h = cairn_hex_digit(p[i + k]);
                if (h < 0) {
                    *why = "invalid char escape";
                    return -1;
                }
                cp = cp * 16 + (uint32_t)h;
            }
            /* \uXXXX is at most 6 bytes, \UXXXXXXXX 10: the output never outgrows. */
            o += cairn_utf8_encode(out + o, cp);
            i += (size_t)nd;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                if (i + 2 >= len || p[i + 1] < '0' || p[i + 1] > '7' || p[i + 2] < '0' ||
                    p[i + 2] > '7') {
                    *why = "invalid char escape";
                    return -1;
                }
                int v = (c - '0') * 64 + (p[i + 1] - '0') * 8 + (p[i + 2] - '0');
                if (v > 255) {
                    *why = "invalid char escape";
                    return -1;
                }
                out[o++] = (char)v;
                i += 2;
                break;
            }
            *why = "invalid char escape";
            return -1;
        }
    }
    return (long)o;
}

struct lexer {
    struct lq_arena *a;
    const char *q;
    size_t len, i;
    int line, col;
    struct lq_token *v;
    size_t n, cap;
    struct cairn_err *err;
};

static void adv(struct lexer *lx, size_t k)
{
    while (k-- && lx->i < lx->len) {
        if (lx->q[lx->i] == '\n') {
            lx->line++;
            lx->col = 1;
        } else if (((unsigned char)lx->q[lx->i] & 0xC0) != 0x80) {
            lx->col++;
        }
        lx->i++;
    }
}

static struct lq_token *push(struct lexer *lx, enum lq_tok t, size_t start, int line, int col)
{
    if (lx->n == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 32;
        struct lq_token *nv = cairn__lq_alloc(lx->a, cap * sizeof(*nv));
        if (!nv)
            return NULL;
        if (lx->n)
            memcpy(nv, lx->v, lx->n * sizeof(*nv));
        lx->v = nv;
        lx->cap = cap;
    }
    struct lq_token *tk = &lx->v[lx->n++];
    memset(tk, 0, sizeof(*tk));
    tk->t = t;
    tk->src = lx->q + start;
    tk->srclen = lx->i - start;
    tk->line = line;
    tk->col = col;
    return tk;
}

static int lex_err(struct lexer *lx, int line, int col, const char *msg)
{
    return cairn_err_set(lx->err, CAIRN_EINVAL, "parse error at line %d, col %d: %s", line,
                         col, msg);
}

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_';
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_' || c == ':';
}

/* Is d a Prometheus duration as 2.7's model.ParseDuration takes it (its regexp
 * ^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$, or "0")? */
static int prom_duration(const char *d, size_t n)
{
    static const char *const units[] = {"y", "w", "d", "h", "m", "s", "ms"};
    if (n == 1 && d[0] == '0')
        return 1;
    size_t i = 0;
    int last = -1;
    while (i < n) {
        size_t d0 = i;
        while (i < n && isdigit((unsigned char)d[i]))
            i++;
        size_t u0 = i;
        while (i < n && isalpha((unsigned char)d[i]))
            i++;
        if (i == d0 || u0 == d0 || u0 == i)
            return 0;
        int k;
        for (k = 0; k < 7; k++)
            if (strlen(units[k]) == i - u0 && memcmp(units[k], d + u0, i - u0) == 0)
                break;
        if (k == 7 || k <= last)
            return 0;
        last = k;
    }
    return n > 0;
}

/* A duration literal as Loki 2.7's lexer takes it (parseDuration): Prometheus' form,
 * else Go's time.ParseDuration (fractions, any order, but no d, w or y). */
static int loki_duration(const char *d, size_t n, int64_t *ns)
{
    if (cairn_parse_duration(d, n, ns) != 0)
        return 0;
    if (prom_duration(d, n))
        return 1;
    for (size_t i = 0; i < n; i++)
        if (d[i] == 'd' || d[i] == 'w' || d[i] == 'y')
            return 0;
    return 1;
}

static int lex_number(struct lexer *lx, size_t start, int line, int col)
{
    const char *q = lx->q;
    size_t i = lx->i;
    while (i < lx->len && isdigit((unsigned char)q[i]))
        i++;
    if (i < lx->len && q[i] == '.' && i + 1 < lx->len && isdigit((unsigned char)q[i + 1])) {
        i++;
        while (i < lx->len && isdigit((unsigned char)q[i]))
            i++;
    }
    if (i < lx->len && (q[i] == 'e' || q[i] == 'E')) {
        size_t j = i + 1;
        if (j < lx->len && (q[j] == '+' || q[j] == '-'))
            j++;
        if (j < lx->len && isdigit((unsigned char)q[j])) {
            i = j;
            while (i < lx->len && isdigit((unsigned char)q[i]))
                i++;
        }
    }
    size_t numend = i;
    /* Loki's lexer (syntax/lex.go) decides: a run of duration runes (digits, '.',
     * n u µ m s h d w y) that parses as a duration is a DURATION; else a run of
     * byte-size runes (digits, '.', B i k K M G T P) that go-humanize parses is BYTES;
     * else the number ends here and the rest is the next token. So `195kb` is
     * BYTES(195k) then IDENTIFIER b, while `195k`, `195KB` and `195KiB` are sizes and
     * `1mb` is DURATION(1m) then IDENTIFIER b. (Ranges are lexed by lex_range.) */
    size_t dend = numend, bend = numend;
    for (;;) {
        if (dend < lx->len && q[dend] != '\0' &&
            (isdigit((unsigned char)q[dend]) || strchr(".numshdwy", q[dend])))
            dend++;
        else if (dend + 1 < lx->len && (unsigned char)q[dend] == 0xc2 &&
                 (unsigned char)q[dend + 1] == 0xb5)
            dend += 2; /* µ, U+00B5 */
        else
            break;
    }
    while (bend < lx->len && q[bend] != '\0' &&
           (isdigit((unsigned char)q[bend]) || strchr(".BikKMGTP", q[bend])))
        bend++;
    int64_t ns;
    double b;
    if (dend > numend && loki_duration(q + start, dend - start, &ns)) {
        adv(lx, dend - lx->i);
        struct lq_token *t = push(lx, LT_DURATION, start, line, col);
        if (!t)
            return CAIRN_ENOMEM;
        t->dur = ns;
        return 0;
    }
    if (bend > numend && cairn_parse_bytes(q + start, bend - start, &b) == 0) {
        adv(lx, bend - lx->i);
        struct lq_token *t = push(lx, LT_BYTES, start, line, col);
        if (!t)
            return CAIRN_ENOMEM;
        t->num = b;
        return 0;
    }
    adv(lx, numend - lx->i);
    struct lq_token *t = push(lx, LT_NUMBER, start, line, col);
    if (!t)
        return CAIRN_ENOMEM;
    char buf[64];
    size_t n = numend - start < 63 ? numend - start : 63;
    memcpy(buf, q + start, n);
    buf[n] = '\0';
    t->num = strtod(buf, NULL);
    return 0;
}

/* A range `[...]` as Loki's lexer reads it: everything up to `]` is one Prometheus
 * duration. Errors are reported as Loki reports them, at the `[` with line 0 (its
 * scanner invalidates the line once the lexer has read on with Next()). On success
 * the tokens are `[`, DURATION, `]` for the parser. */
static int lex_range(struct lexer *lx, size_t start, int line, int col)
{
    const char *q = lx->q;
    size_t i = lx->i + 1;
    while (i < lx->len && q[i] != ']')
        i++;
    char msg[160];
    if (i >= lx->len)
        return lex_err(lx, 0, col, "missing closing ']' in duration");
    size_t b = lx->i + 1, n = i - b;
    int64_t ns = 0;
    if (n == 0) {
        return lex_err(lx, 0, col, "empty duration string");
    } else if (!prom_duration(q + b, n) || cairn_parse_duration(q + b, n, &ns) != 0) {
        snprintf(msg, sizeof(msg), "not a valid duration string: \"%.*s\"", (int)(n > 64 ? 64 : n),
                 q + b);
        return lex_err(lx, 0, col, msg);
    }
    adv(lx, 1);
    if (!push(lx, LT_LBRACK, start, line, col))
        return CAIRN_ENOMEM;
    int dline = lx->line, dcol = lx->col;
    adv(lx, n);
    struct lq_token *t = push(lx, LT_DURATION, b, dline, dcol);
    if (!t)
        return CAIRN_ENOMEM;
    t->dur = ns;
    int rline = lx->line, rcol = lx->col;
    adv(lx, 1);
    if (!push(lx, LT_RBRACK, i, rline, rcol))
        return CAIRN_ENOMEM;
    return 0;
}

static int lex_string(struct lexer *lx, size_t start, int line, int col)
{
    const char *q = lx->q;
    char quote = q[lx->i];
    size_t i = lx->i + 1;
    while (i < lx->len && q[i] != quote) {
        if (quote == '"' && q[i] == '\\')
            i++;
        else if (quote == '"' && q[i] == '\n')
            break;
        i++;
    }
    if (i >= lx->len || q[i] != quote)
        return lex_err(lx, line, col, "literal not terminated");
    size_t body = lx->i + 1, blen = i - body;
    adv(lx, i + 1 - lx->i);
    struct lq_token *t = push(lx, LT_STRING, start, line, col);
    if (!t)
        return CAIRN_ENOMEM;
    t->s = cairn__lq_alloc(lx->a, blen + 1);
    if (!t->s)
        return CAIRN_ENOMEM;
    if (quote == '`') {
        memcpy(t->s, q + body, blen);
        t->slen = blen;
    } else {
        const char *why = NULL;
        long n = cairn__lq_unquote(q + body, blen, t->s, &why);
        if (n < 0)
            return lex_err(lx, line, col, why);
        t->slen = (size_t)n;
    }
    t->s[t->slen] = '\0';
    return 0;
}

int cairn__lq_lex(struct lq_arena *a, const char *q, size_t len, struct lq_token **out,
                  size_t *nout, struct cairn_err *err)
{
    struct lexer lx = {.a = a, .q = q, .len = len, .line = 1, .col = 1, .err = err};
    int rc = 0;
    while (lx.i < len) {
        unsigned char c = (unsigned char)q[lx.i];
        if (isspace(c)) {
            adv(&lx, 1);
            continue;
        }
        if (c == '#') {
            while (lx.i < len && q[lx.i] != '\n')
                adv(&lx, 1);
            continue;
        }
        size_t start = lx.i;
        int line = lx.line, col = lx.col;
        if (isdigit(c) || (c == '.' && lx.i + 1 < len && isdigit((unsigned char)q[lx.i + 1]))) {
            if ((rc = lex_number(&lx, start, line, col)))
                return rc;
            continue;
        }
        if (c == '[') {
            if ((rc = lex_range(&lx, start, line, col)))
                return rc;
            continue;
        }
        if (c == '"' || c == '`') {
            if ((rc = lex_string(&lx, start, line, col)))
                return rc;
            continue;
        }
        if (is_ident_start(c)) {
            size_t i = lx.i;
            while (i < len && is_ident((unsigned char)q[i]))
                i++;
            adv(&lx, i - lx.i);
            struct lq_token *t = push(&lx, LT_IDENT, start, line, col);
            if (!t || !(t->s = cairn__lq_strdup(a, q + start, i - start)))
                return CAIRN_ENOMEM;
            t->slen = i - start;
            continue;
        }
        if (c == '-' && lx.i + 2 < len && q[lx.i + 1] == '-' &&
            is_ident_start((unsigned char)q[lx.i + 2])) {
            size_t i = lx.i + 2;
            while (i < len && (is_ident((unsigned char)q[i]) || q[i] == '-'))
                i++;
            adv(&lx, i - lx.i);
            struct lq_token *t = push(&lx, LT_FLAG, start, line, col);
            if (!t || !(t->s = cairn__lq_strdup(a, q + start, i - start)))
                return CAIRN_ENOMEM;
            t->slen = i - start;
            continue;
        }
        static const struct { const char *s; enum lq_tok t; } ops[] = {
            {"|=", LT_PIPE_EXACT}, {"|~", LT_PIPE_MATCH}, {"|>", LT_PIPE_PATTERN},
            {"!>", LT_NPATTERN}, {"!=", LT_NEQ}, {"!~", LT_NRE}, {"=~", LT_RE},
            {"==", LT_EQEQ}, {">=", LT_GTE}, {"<=", LT_LTE}, {"=", LT_EQ}, {"|", LT_PIPE},
            {">", LT_GT}, {"<", LT_LT}, {"{", LT_LBRACE}, {"}", LT_RBRACE},
            {"(", LT_LPAREN}, {")", LT_RPAREN}, {"[", LT_LBRACK}, {"]", LT_RBRACK},
            {",", LT_COMMA}, {"+", LT_ADD}, {"-", LT_SUB}, {"*", LT_MUL}, {"/", LT_DIV},
            {"%", LT_MOD}, {"^", LT_POW},
        };
        size_t k;
        for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
            size_t ol = strlen(ops[k].s);
            if (lx.i + ol <= len && memcmp(q + lx.i, ops[k].s, ol) == 0)
                break;
        }
        if (k == sizeof(ops) / sizeof(ops[0])) {
            char msg[64];
            snprintf(msg, sizeof(msg), "syntax error: unexpected character '%c'",
                     isprint(c) ? c : '?');
            return lex_err(&lx, line, col, msg);
        }
        adv(&lx, strlen(ops[k].s));
        if (!push(&lx, ops[k].t, start, line, col))
            return CAIRN_ENOMEM;
    }
    if (!push(&lx, LT_EOF, lx.i, lx.line, lx.col))
        return CAIRN_ENOMEM;
    *out = lx.v;
    *nout = lx.n;
    return 0;
}
