/* pipeline_goerr.c -- the `__error_details__` texts of label filters and unwrap: Go's
 * own error strings for what Loki 2.7 calls (strconv.ParseFloat, time.ParseDuration,
 * go-humanize's ParseBytes), so that users filtering on them see the same text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logql/pipeline_int.h"

/* Go's strconv.Quote, enough for error texts: printable ASCII as is, the usual
 * escapes, other bytes below 0x80 as \xNN; UTF-8 is kept. */
static void go_quote(struct cairn_buf *b, const char *s, size_t n)
{
    cairn_buf_append_byte(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\a': e = "\\a"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\v': e = "\\v"; break;
        default: break;
        }
        if (e)
            cairn_buf_append_str(b, e);
        else if (c < 0x20 || c == 0x7f)
            cairn_buf_appendf(b, "\\x%02x", c);
        else
            cairn_buf_append_byte(b, (char)c);
    }
    cairn_buf_append_byte(b, '"');
}

static int ieq(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    if (n != wl)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != w[i])
            return 0;
    return 1;
}

/* Go's underscoreOK: '_' only between digits, or between a base prefix and a digit. */
static int underscores_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (n && (s[0] == '+' || s[0] == '-'))
        i++;
    int saw = '^';
    int hex = 0;
    if (n - i >= 2 && s[i] == '0' && strchr("bBoOxX", s[i + 1]) && s[i + 1]) {
        hex = (s[i + 1] | 0x20) == 'x';
        i += 2;
        saw = '0';
    }
    for (; i < n; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || (hex && ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))) {
            saw = '0';
        } else if (c == '_') {
            if (saw != '0')
                return 0;
            saw = '_';
        } else {
            if (saw == '_')
                return 0;
            saw = '!';
        }
    }
    return saw != '_';
}

/* The subset of Go's float syntax strtod must not go beyond: no leading space, hex
 * only with a 'p' exponent, inf/infinity with an optional sign and nan without one,
 * in any case; '_' between digits (dropped before strtod sees the text). */
static int go_float_syntax(const char *s, size_t n)
{
    size_t i = 0;
    if (ieq(s, n, "nan"))
        return 1;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (ieq(s + i, n - i, "inf") || ieq(s + i, n - i, "infinity"))
        return 1;
    if (memchr(s, '_', n) && !underscores_ok(s, n))
        return 0;
    if (n - i >= 2 && s[i] == '0' && (s[i + 1] | 0x20) == 'x')
        return memchr(s + i, 'p', n - i) || memchr(s + i, 'P', n - i);
    size_t d = 0;
    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
        d += s[i] != '_';
    if (i < n && s[i] == '.')
        for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
            d += s[i] != '_';
    if (!d)
        return 0;
    if (i < n && (s[i] | 0x20) == 'e') {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = i;
        while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            i++;
        if (i == e)
            return 0;
    }
    return i == n;
}

int cairn__go_parse_float(const char *s, size_t n, double *v, struct cairn_buf *msg)
{
    char buf[512];
    int ok = n > 0 && n < sizeof(buf) && go_float_syntax(s, n);
    if (ok) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] != '_')
                buf[k++] = s[i];
        buf[k] = '\0';
        char *end;
        *v = strtod(buf, &end);
        ok = *end == '\0';
        if (ok && isinf(*v) && !ieq(s + (s[0] == '+' || s[0] == '-'), n - (s[0] == '+' || s[0] == '-'), "inf") &&
            !ieq(s + (s[0] == '+' || s[0] == '-'), n - (s[0] == '+' || s[0] == '-'), "infinity")) {
            if (msg) {
                cairn_buf_append_str(msg, "strconv.ParseFloat: parsing ");
                go_quote(msg, s, n);
                cairn_buf_append_str(msg, ": value out of range");
            }
            return -1;
        }
    }
    if (ok)
        return 0;
    if (msg) {
        cairn_buf_append_str(msg, "strconv.ParseFloat: parsing ");
        go_quote(msg, s, n);
        cairn_buf_append_str(msg, ": invalid syntax");
    }
    return -1;
}

void cairn__go_bytes_error(const char *s, size_t n, struct cairn_buf *msg)
{
    /* go-humanize: the leading run of digits, '.' and ',' is the number (commas
     * dropped), the rest, trimmed and lower-cased, the unit. */
    size_t i = 0;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == ','))
        i++;
    char num[512] = {0};
    size_t k = 0;
    for (size_t j = 0; j < i && k + 1 < sizeof(num); j++)
        if (s[j] != ',')
            num[k++] = s[j];
    double v;
    if (cairn__go_parse_float(num, k, &v, msg))
        return;
    size_t a = i, b = n;
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r' || s[a] == '\v' || s[a] == '\f'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r' ||
                     s[b - 1] == '\v' || s[b - 1] == '\f'))
        b--;
    cairn_buf_append_str(msg, "unhandled size name: ");
    for (size_t j = a; j < b; j++) {
        char c = s[j];
        cairn_buf_append_byte(msg, c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c);
    }
}

void cairn__go_duration_error(const char *s, size_t n, struct cairn_buf *msg)
{
    /* time.ParseDuration: [sign] then (number unit)+; the first fault decides */
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (n && i < n) {
        size_t d = 0;
        if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
            break;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, d++;
        if (i < n && s[i] == '.')
            for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                d++;
        if (!d)
            break;
        size_t u = i;
        while (i < n && !(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
            i++;
        if (u == i) {
            cairn_buf_append_str(msg, "time: missing unit in duration ");
            go_quote(msg, s, n);
            return;
        }
        static const char *const units[] = {"ns", "us", "\xc2\xb5s", "\xce\xbcs", "ms", "s", "m", "h"};
        int known = 0;
        for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
            known |= strlen(units[k]) == i - u && memcmp(units[k], s + u, i - u) == 0;
        if (!known) {
            cairn_buf_append_str(msg, "time: unknown unit ");
            go_quote(msg, s + u, i - u);
            cairn_buf_append_str(msg, " in duration ");
            go_quote(msg, s, n);
            return;
        }
    }
    cairn_buf_append_str(msg, "time: invalid duration ");
    go_quote(msg, s, n);
}
