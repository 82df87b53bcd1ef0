/* linefilter.c -- line filters on raw bytes: literals by memmem (case-insensitive for
 * `(?i)literal`), regexes by PCRE2 JIT, pattern filters, ip() filters; decolorize. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logql/pipeline_int.h"

static void v4_mapped(unsigned char out[16], const unsigned char v4[4])
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

static int parse_addr(const char *s, size_t len, unsigned char out[16], int *is4)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    unsigned char v4[4];
    if (inet_pton(AF_INET, buf, v4) == 1) {
        v4_mapped(out, v4);
        *is4 = 1;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out) == 1) {
        *is4 = 0;
        return 0;
    }
    return -1;
}

int cairn__ip_range_parse(const char *s, size_t len, struct ip_range *r)
{
    const char *slash = memchr(s, '/', len), *dash = memchr(s, '-', len);
    int is4;
    if (slash) {
        if (parse_addr(s, (size_t)(slash - s), r->lo, &is4))
            return CAIRN_EINVAL;
        const char *b = slash + 1;
        size_t bl = len - (size_t)(b - s);
        if (!bl || bl > 3)
            return CAIRN_EINVAL;
        int bits = 0;
        for (size_t i = 0; i < bl; i++) {
            if (!isdigit((unsigned char)b[i]))
                return CAIRN_EINVAL;
            bits = bits * 10 + (b[i] - '0');
        }
        if (bits > (is4 ? 32 : 128))
            return CAIRN_EINVAL;
        if (is4)
            bits += 96;
        memcpy(r->hi, r->lo, 16);
        for (int i = bits; i < 128; i++) {
            r->lo[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
            r->hi[i / 8] |= (unsigned char)(0x80 >> (i % 8));
        }
        return 0;
    }
    if (dash) {
        int is4b;
        if (parse_addr(s, (size_t)(dash - s), r->lo, &is4) ||
            parse_addr(dash + 1, len - (size_t)(dash + 1 - s), r->hi, &is4b) || is4 != is4b ||
            memcmp(r->lo, r->hi, 16) > 0)
            return CAIRN_EINVAL;
        return 0;
    }
    if (parse_addr(s, len, r->lo, &is4))
        return CAIRN_EINVAL;
    memcpy(r->hi, r->lo, 16);
    return 0;
}

int cairn__ip_in_range(const struct ip_range *r, const char *s, size_t len)
{
    unsigned char a[16];
    int is4;
    if (parse_addr(s, len, a, &is4))
        return 0;
    return memcmp(a, r->lo, 16) >= 0 && memcmp(a, r->hi, 16) <= 0;
}

static int ipch(unsigned char c)
{
    return isxdigit(c) || c == ':' || c == '.';
}

int cairn__ip_line_match(const struct ip_range *r, const char *line, size_t len)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    /* an IPv4 range only holds v4(-mapped) addresses: a candidate needs a '.' */
    int v4 = memcmp(r->lo, mapped, 12) == 0 && memcmp(r->hi, mapped, 12) == 0;
    size_t i = 0;
    while (i < len) {
        if (!ipch((unsigned char)line[i]) || (i > 0 && ipch((unsigned char)line[i - 1]))) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && ipch((unsigned char)line[j]))
            j++;
        const char *s = line + i;
        size_t n = j - i;
        while (n && (s[n - 1] == '.' || s[n - 1] == ':'))
            n--;
        /* an address has a '.' (v4) or a ':' (v6): skip plain numbers and words cheaply */
        if (n < 2 || (!memchr(s, '.', n) && (v4 || !memchr(s, ':', n)))) {
            i = j;
            continue;
        }
        if (cairn__ip_in_range(r, s, n))
            return 1;
        /* 10.0.0.1:8080 -- an IPv4 address followed by a port */
        const char *dot = memchr(s, '.', n), *colon = dot ? memchr(dot, ':', n - (size_t)(dot - s)) : NULL;
        if (colon && cairn__ip_in_range(r, s, (size_t)(colon - s)))
            return 1;
        i = j;
    }
    return 0;
}

/* Rough byte frequency in log text (0 rare .. 9 everywhere): the literal search
 * memchr()s for the needle's rarest byte and verifies around it, which beats a
 * generic memmem on the short needles filters use. */
static int byte_rank(unsigned char c)
{
    if (c == ' ' || c == '"' || c == 'e' || c == 't' || c == 'a' || c == 'o' || c == 'i' ||
        c == 'n' || c == 's' || c == 'r')
        return 9;
    if (c >= 'a' && c <= 'z')
        return strchr("hldcump", c) ? 7 : strchr("fgwybv", c) ? 5 : 3;
    if (c >= '0' && c <= '9')
        return 6;
    if (c == ':' || c == ',' || c == '=' || c == '.' || c == '_' || c == '/' || c == '-')
        return 6;
    if (c >= 'A' && c <= 'Z')
        return 4;
    return c < 0x80 ? 2 : 1;
}

static size_t rarest(const char *p, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (byte_rank((unsigned char)p[i]) < byte_rank((unsigned char)p[best]))
            best = i;
    return best;
}

/* The rarest byte at another position; among equals the one farthest from skip: two
 * bytes apart pair up by chance less often than neighbours ("er" is everywhere,
 * "e...r" much less so). */
static size_t rarest_but(const char *p, size_t n, size_t skip)
{
    size_t best = skip == 0 ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        if (i == skip)
            continue;
        int r = byte_rank((unsigned char)p[i]), b = byte_rank((unsigned char)p[best]);
        size_t di = i > skip ? i - skip : skip - i, db = best > skip ? best - skip : skip - best;
        if (r < b || (r == b && di > db))
            best = i;
    }
    return best;
}

/* Does h hold the needle (n bytes) at its start? Short needles compare inline: most
 * candidates fail on the first bytes, and a call per candidate costs more. */
static inline int same(const char *h, const char *lit, size_t n)
{
    if (n > 16)
        return memcmp(h, lit, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (h[i] != lit[i])
            return 0;
    return 1;
}

#ifdef __SSE2__
#include <emmintrin.h>
/* Candidates 16 at a time: bytes at offsets rare and rare2 must both match (the
 * two-byte test PCRE2's JIT uses), then the whole needle is compared. Candidate
 * starts i..last; the last partial group is an overlapping one, its starts already
 * looked at masked off, so no byte goes through a scalar loop unless the haystack is
 * shorter than a group. */
static int lit_find_sse2(const struct lf_alt *a, const char *h, size_t hl, size_t i)
{
    size_t n = a->len, k1 = a->rare, k2 = a->rare2;
    const __m128i v1 = _mm_set1_epi8(a->lit[k1]), v2 = _mm_set1_epi8(a->lit[k2]);
    size_t last = hl - n; /* candidate starts ..last */
    for (;;) {
        unsigned skip = 0;
        if (i + 16 > last + 1) {
            if (i > last)
                return 0;
            if (last + 1 < 16)
                break; /* too short for one group */
            skip = (unsigned)(i - (last + 1 - 16));
            i = last + 1 - 16;
        }
        __m128i b1 = _mm_loadu_si128((const __m128i *)(h + i + k1));
        __m128i b2 = _mm_loadu_si128((const __m128i *)(h + i + k2));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(b1, v1),
                                                               _mm_cmpeq_epi8(b2, v2)));
        m &= ~((1u << skip) - 1);
        while (m) {
            unsigned bit = (unsigned)__builtin_ctz(m);
            if (same(h + i + bit, a->lit, n))
                return 1;
            m &= m - 1;
        }
        i += 16;
    }
    for (; i <= last; i++)
        if (h[i + k1] == a->lit[k1] && h[i + k2] == a->lit[k2] && same(h + i, a->lit, n))
            return 1;
    return 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
/* The same 32 at a time, on CPUs with AVX2 (checked at each call: a load and a test);
 * the rest, fewer than 32 starts, goes to the SSE2 loop. */
__attribute__((target("avx2"))) static int lit_find_avx2(const struct lf_alt *a, const char *h,
                                                         size_t hl)
{
    size_t n = a->len, k1 = a->rare, k2 = a->rare2;
    const __m256i v1 = _mm256_set1_epi8(a->lit[k1]), v2 = _mm256_set1_epi8(a->lit[k2]);
    size_t i = 0, last = hl - n;
    for (; i + 32 <= last + 1; i += 32) {
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(const void *)(h + i + k1));
        __m256i b2 = _mm256_loadu_si256((const __m256i *)(const void *)(h + i + k2));
        unsigned m = (unsigned)_mm256_movemask_epi8(
            _mm256_and_si256(_mm256_cmpeq_epi8(b1, v1), _mm256_cmpeq_epi8(b2, v2)));
        while (m) {
            unsigned bit = (unsigned)__builtin_ctz(m);
            if (same(h + i + bit, a->lit, n))
                return 1;
            m &= m - 1;
        }
    }
    return lit_find_sse2(a, h, hl, i);
}
#endif
#endif

int cairn__lit_find(const struct lf_alt *a, const char *h, size_t hl)
{
#ifdef __SSE2__
    if (a->len >= 2 && a->len <= hl) {
#ifdef HAVE_AVX2_PATH
        if (hl >= 64 && __builtin_cpu_supports("avx2"))
            return lit_find_avx2(a, h, hl);
#endif
        return lit_find_sse2(a, h, hl, 0);
    }
#endif
    size_t n = a->len, k = a->rare;
    if (n == 0)
        return 1;
    if (n > hl)
        return 0;
    char c = a->lit[k];
    const char *p = h + k, *end = h + hl - (n - k) + 1;
    char first = a->lit[0], last = a->lit[n - 1];
    while (p < end && (p = memchr(p, c, (size_t)(end - p)))) {
        const char *s = p - k;
        if (s[0] == first && s[n - 1] == last && memcmp(s, a->lit, n) == 0)
            return 1;
        p++;
    }
    return 0;
}

static int is_literal_re(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr("\\.+*?()|[]{}^$", p[i]))
            return 0;
    return 1;
}

int cairn__line_filter_init(struct line_filter *f, const struct cairn_lq_stage *st,
                            struct cairn_err *err)
{
    memset(f, 0, sizeof(*f));
    f->negate = st->fop == CAIRN_LQ_LINE_NOT_CONTAINS || st->fop == CAIRN_LQ_LINE_NOT_RE ||
                st->fop == CAIRN_LQ_LINE_NOT_PATTERN;
    f->alts = calloc(st->nalts ? st->nalts : 1, sizeof(*f->alts));
    if (!f->alts)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    for (size_t i = 0; i < st->nalts; i++, f->n++) {
        const struct cairn_lq_filter_alt *a = &st->alts[i];
        struct lf_alt *x = &f->alts[i];
        x->lit = a->value.p;
        x->len = a->value.len;
        if (a->is_ip) {
            x->kind = LFA_IP;
            if (cairn__ip_range_parse(a->value.p, a->value.len, &x->ip))
                return cairn_err_set(err, CAIRN_EINVAL, "invalid ip filter: %s", a->value.p);
            continue;
        }
        switch (st->fop) {
        case CAIRN_LQ_LINE_CONTAINS:
        case CAIRN_LQ_LINE_NOT_CONTAINS:
            x->kind = LFA_LIT;
            break;
        case CAIRN_LQ_LINE_MATCH_RE:
        case CAIRN_LQ_LINE_NOT_RE:
            if (is_literal_re(x->lit, x->len)) {
                x->kind = LFA_LIT;
            } else if (x->len > 4 && memcmp(x->lit, "(?i)", 4) == 0 &&
                       is_literal_re(x->lit + 4, x->len - 4)) {
                x->kind = LFA_LIT_CI;
                x->lit += 4;
                x->len -= 4;
            } else {
                x->kind = LFA_REGEX;
                if (!(x->re = cairn_regex_compile(x->lit, x->len, 0, err)))
                    return err ? err->code : CAIRN_EINVAL;
            }
            break;
        case CAIRN_LQ_LINE_PATTERN:
        case CAIRN_LQ_LINE_NOT_PATTERN:
            x->kind = LFA_PATTERN;
            if (!(x->pat = cairn_pattern_compile(x->lit, x->len, 1, err)))
                return err ? err->code : CAIRN_EINVAL;
            break;
        }
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->alts[i].kind == LFA_LIT)
            cairn__lit_init(&f->alts[i], f->alts[i].lit, f->alts[i].len);
    return 0;
}

void cairn__lit_init(struct lf_alt *a, const char *lit, size_t len)
{
    memset(a, 0, sizeof(*a));
    a->kind = LFA_LIT;
    a->lit = lit;
    a->len = len;
    a->rare = rarest(lit, len);
    if (len >= 2)
        a->rare2 = rarest_but(lit, len, a->rare);
}

void cairn__line_filter_deinit(struct line_filter *f)
{
    for (size_t i = 0; i < f->n; i++) {
        cairn_regex_destroy(f->alts[i].re);
        cairn_pattern_destroy(f->alts[i].pat);
    }
    free(f->alts);
    memset(f, 0, sizeof(*f));
}

static int ci_find(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return 1;
    if (nl > hl)
        return 0;
    int c0 = tolower((unsigned char)n[0]), C0 = toupper((unsigned char)n[0]);
    for (size_t i = 0; i + nl <= hl; i++) {
        int c = (unsigned char)h[i];
        if (c != c0 && c != C0)
            continue;
        if (strncasecmp(h + i, n, nl) == 0)
            return 1;
    }
    return 0;
}

static int alt_match(const struct lf_alt *a, const char *line, size_t len)
{
    switch (a->kind) {
    case LFA_LIT:
        return cairn__lit_find(a, line, len);
    case LFA_LIT_CI:
        return ci_find(line, len, a->lit, a->len);
    case LFA_REGEX:
        return cairn_regex_match(a->re, line, len);
    case LFA_PATTERN:
        return cairn_pattern_test(a->pat, line, len);
    case LFA_IP:
        return cairn__ip_line_match(&a->ip, line, len);
    }
    return 0;
}

int cairn__line_filter_match(const struct line_filter *f, const char *line, size_t len)
{
    int any = 0;
    for (size_t i = 0; i < f->n && !any; i++)
        any = alt_match(&f->alts[i], line, len);
    return f->negate ? !any : any;
}

int cairn__decolorize(const char *in, size_t len, struct cairn_buf *out)
{
    cairn_buf_reset(out);
    if (cairn_buf_reserve(out, len))
        return CAIRN_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\x1b' && i + 1 < len && in[i + 1] == '[') {
            size_t j = i + 2;
            while (j < len && ((in[j] >= '0' && in[j] <= '9') || in[j] == ';' || in[j] == '?'))
                j++;
            if (j < len && in[j] >= '@' && in[j] <= '~') {
                i = j;
                continue;
            }
        }
        out->data[k++] = in[i];
    }
    out->len = k;
    out->data[k] = '\0';
    return 0;
}
