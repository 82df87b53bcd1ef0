/* params.c -- request parameters as Loki reads them: from the URL query string, or
 * from an application/x-www-form-urlencoded POST body; and Loki's time, duration and
 * direction formats. */
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/params.h"
#include "cairn/parse_units.h"
#include "cairn/text.h"
#include "cairn/timeutil.h"

/* Percent-decode p[0..n) (and '+' as space) onto out, NUL-terminated. */
static int form_decode(const char *p, size_t n, struct cairn_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && cairn_hex_digit(p[i + 1]) >= 0 && cairn_hex_digit(p[i + 2]) >= 0) {
            c = (char)(cairn_hex_digit(p[i + 1]) << 4 | cairn_hex_digit(p[i + 2]));
            i += 2;
        }
        if (cairn_buf_append_byte(out, c))
            return CAIRN_ENOMEM;
    }
    return cairn_buf_append_byte(out, '\0');
}

int cairn__params_init(struct cairn__params *pr, struct cairn__req *r)
{
    memset(pr, 0, sizeof *pr);
    pr->req = r;
    if (!r->method || strcmp(r->method, "POST") != 0 || !r->batch || !r->batch->body.len)
        return 0;
    const char *ct = cairn__req_header(r, "Content-Type");
    if (ct && strncmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return 0;
    /* Decode every pair into one buffer as key\0value\0 and remember offsets. */
    const char *p = r->batch->body.data;
    size_t n = r->batch->body.len, i = 0;
    size_t offs[2 * CAIRN_PARAMS_MAX];
    while (i < n && pr->n < CAIRN_PARAMS_MAX) {
        const char *amp = memchr(p + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - p) : n;
        const char *eq = memchr(p + i, '=', end - i);
        size_t kend = eq ? (size_t)(eq - p) : end;
        offs[2 * pr->n] = pr->form.len;
        if (form_decode(p + i, kend - i, &pr->form))
            return CAIRN_ENOMEM;
        offs[2 * pr->n + 1] = pr->form.len;
        if (form_decode(eq ? p + kend + 1 : "", eq ? end - kend - 1 : 0, &pr->form))
            return CAIRN_ENOMEM;
        pr->n++;
        i = end + 1;
    }
    for (size_t k = 0; k < pr->n; k++) {
        pr->key[k] = pr->form.data + offs[2 * k];
        pr->val[k] = pr->form.data + offs[2 * k + 1];
    }
    return 0;
}

void cairn__params_deinit(struct cairn__params *pr)
{
    cairn_buf_deinit(&pr->form);
}

const char *cairn__param(struct cairn__params *pr, const char *name)
{
    const char *v = cairn__req_query(pr->req, name);
    if (v)
        return v;
    for (size_t k = 0; k < pr->n; k++) {
        if (strcmp(pr->key[k], name) == 0)
            return pr->val[k];
    }
    return NULL;
}

struct all_ctx {
    const char *name;
    cairn__param_fn fn;
    void *ud;
    int rc;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct all_ctx *c = cls;
    if (value && strcmp(key, c->name) == 0 && c->rc == 0)
        c->rc = c->fn(c->ud, value);
    return MHD_YES;
}

int cairn__param_each(struct cairn__params *pr, const char *name, cairn__param_fn fn, void *ud)
{
    struct all_ctx c = {name, fn, ud, 0};
    MHD_get_connection_values(pr->req->conn, MHD_GET_ARGUMENT_KIND, each_arg, &c);
    for (size_t k = 0; k < pr->n && c.rc == 0; k++) {
        if (strcmp(pr->key[k], name) == 0)
            c.rc = fn(ud, pr->val[k]);
    }
    return c.rc;
}

/* RFC3339 with optional fraction and zone, e.g. 2026-11-25T19:30:00.5+01:00. */
static int parse_rfc3339(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 9) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits++ < 9)
            frac *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = sign * (hh * 3600 + mm * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *out = ((int64_t)timegm(&tm) - off) * 1000000000LL + frac;
    return 0;
}

int cairn__parse_time(const char *s, int64_t *out)
{
    if (strchr(s, '.') && !strchr(s, 'T')) {
        char *end;
        double f = strtod(s, &end);
        if (*end || !isfinite(f))
            return CAIRN_EINVAL;
        double ip, fp = modf(f, &ip);
        fp = round(fp * 1000) / 1000; /* Loki rounds float seconds to milliseconds */
        *out = (int64_t)ip * 1000000000LL + (int64_t)(fp * 1e9);
        return 0;
    }
    int64_t v;
    size_t n = strlen(s);
    if (cairn_parse_i64(s, n, &v) == 0) {
        /* Loki: up to 10 digits is unix seconds, longer is unix nanoseconds. */
        *out = n <= 10 ? v * 1000000000LL : v;
        return 0;
    }
    return parse_rfc3339(s, out) ? CAIRN_EINVAL : 0;
}

int cairn__parse_duration_or_seconds(const char *s, int64_t *out)
{
    char *end;
    double f = strtod(s, &end);
    if (end != s && *end == '\0' && isfinite(f)) {
        *out = (int64_t)(f * 1e9);
        return 0;
    }
    return cairn_parse_duration(s, strlen(s), out);
}
