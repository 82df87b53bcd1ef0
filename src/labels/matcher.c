/* matcher.c -- label matchers and the PCRE2 regex wrapper every regex user shares.
 *
 * PCRE2 is compiled with UTF and MATCH_INVALID_UTF (log lines are not always valid
 * UTF-8; RE2 treats bad bytes as U+FFFD, PCRE2 as non-matching), DOLLAR_ENDONLY (RE2's
 * `$` without (?m) is the very end), and JIT when available. Anchored regexes use
 * PCRE2_ANCHORED | PCRE2_ENDANCHORED, which is what Prometheus's ^(?:re)$ means. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/matcher.h"

struct cairn_regex {
    pcre2_code *code;
    pcre2_match_data *md;
    int jit;
    int ngroups;
    char **names; /* ngroups + 1 entries, NULL for unnamed groups */
};

/* RE2 (Perl mode) takes a '-' right after a class escape or POSIX class inside [...]
 * as a literal ([\d-:] is digits, '-' and ':'); PCRE2 calls it an invalid range.
 * Copy pat into out with such hyphens escaped. 0, or -1 on allocation failure. */
static int escape_class_hyphens(const char *pat, size_t len, char **out, size_t *outlen)
{
    char *o = malloc(2 * len + 1);
    if (!o)
        return -1;
    size_t k = 0;
    int in_class = 0, after_set = 0;
    for (size_t i = 0; i < len; i++) {
        char c = pat[i];
        int set = 0;
        if (c == '\\' && i + 1 < len) {
            char n = pat[i + 1];
            o[k++] = c;
            o[k++] = n;
            i++;
            set = in_class && strchr("dDwWsS", n) != NULL;
            if (in_class && (n == 'p' || n == 'P') && i + 1 < len && pat[i + 1] == '{') {
                while (i + 1 < len && pat[i] != '}')
                    o[k++] = pat[++i];
                set = 1;
            }
        } else if (!in_class && c == '[') {
            o[k++] = c;
            in_class = 1;
            if (i + 1 < len && pat[i + 1] == '^')
                o[k++] = pat[++i];
            if (i + 1 < len && pat[i + 1] == ']')
                o[k++] = pat[++i]; /* a leading ']' is literal */
        } else if (in_class && c == '[' && i + 1 < len && pat[i + 1] == ':') {
            const char *end = NULL;
            for (size_t j = i + 2; j + 1 < len && !end; j++)
                if (pat[j] == ':' && pat[j + 1] == ']')
                    end = pat + j + 1;
            size_t stop = end ? (size_t)(end - pat) : i;
            while (i < stop)
                o[k++] = pat[i++];
            o[k++] = pat[i];
            set = end != NULL;
        } else if (in_class && c == ']') {
            o[k++] = c;
            in_class = 0;
        } else if (in_class && c == '-' && after_set && i + 1 < len && pat[i + 1] != ']') {
            o[k++] = '\\';
            o[k++] = '-';
        } else {
            o[k++] = c;
        }
        after_set = set;
    }
    o[k] = '\0';
    *out = o;
    *outlen = k;
    return 0;
}

struct cairn_regex *cairn_regex_compile(const char *pat, size_t len, int flags,
                                        struct cairn_err *err)
{
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY;
    if (flags & CAIRN_RE_ANCHORED)
        opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    if (flags & CAIRN_RE_CASELESS)
        opts |= PCRE2_CASELESS;
    int ec;
    PCRE2_SIZE off;
    struct cairn_regex *re = calloc(1, sizeof(*re));
    if (!re) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    re->code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &ec, &off, NULL);
    if (!re->code && ec == PCRE2_ERROR_CLASS_INVALID_RANGE) {
        char *alt;
        size_t altlen;
        if (escape_class_hyphens(pat, len, &alt, &altlen) == 0) {
            int ec2;
            PCRE2_SIZE off2;
            re->code = pcre2_compile((PCRE2_SPTR)alt, altlen, opts, &ec2, &off2, NULL);
            free(alt);
        }
    }
    if (!re->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        cairn_err_set(err, CAIRN_EINVAL, "error parsing regexp: %s at offset %zu: `%.*s`",
                      (char *)msg, (size_t)off, (int)(len > 200 ? 200 : len), pat);
        free(re);
        return NULL;
    }
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    uint32_t cap = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &cap);
    re->ngroups = (int)cap;
    re->names = calloc(cap + 1, sizeof(char *));
    if (!re->md || !re->names)
        goto oom;
    uint32_t count = 0, esz = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &esz);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    for (uint32_t i = 0; i < count; i++) {
        PCRE2_SPTR e = table + (size_t)i * esz;
        int g = (e[0] << 8) | e[1];
        if (g > 0 && g <= re->ngroups && !re->names[g]) {
            re->names[g] = strdup((const char *)e + 2);
            if (!re->names[g])
                goto oom;
        }
    }
    return re;
oom:
    cairn_regex_destroy(re);
    cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return NULL;
}

void cairn_regex_destroy(struct cairn_regex *re)
{
    if (!re)
        return;
    if (re->names)
        for (int i = 0; i <= re->ngroups; i++)
            free(re->names[i]);
    free(re->names);
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    free(re);
}

static int run(struct cairn_regex *re, const char *s, size_t len, size_t start)
{
    if (!s)
        s = "";
    if (re->jit)
        return pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, start, 0, re->md, NULL);
    return pcre2_match(re->code, (PCRE2_SPTR)s, len, start, 0, re->md, NULL);
}

int cairn_regex_match(struct cairn_regex *re, const char *s, size_t len)
{
    return run(re, s, len, 0) >= 0;
}

int cairn_regex_exec(struct cairn_regex *re, const char *s, size_t len, size_t start,
                     size_t *ovec, int pairs)
{
    int rc = run(re, s, len, start);
    if (rc < 0)
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    uint32_t n = pcre2_get_ovector_count(re->md);
    int set = 0;
    for (int i = 0; i < pairs && (uint32_t)i < n; i++) {
        if (i < rc && ov[2 * i] != PCRE2_UNSET) {
            ovec[2 * i] = ov[2 * i];
            ovec[2 * i + 1] = ov[2 * i + 1];
        } else {
            ovec[2 * i] = ovec[2 * i + 1] = (size_t)-1;
        }
        set = i + 1;
    }
    return set ? set : 1;
}

int cairn_regex_groups(const struct cairn_regex *re)
{
    return re->ngroups;
}

const char *cairn_regex_group_name(const struct cairn_regex *re, int i)
{
    return (i > 0 && i <= re->ngroups) ? re->names[i] : NULL;
}

int cairn_regex_matches_empty(struct cairn_regex *re)
{
    return run(re, "", 0, 0) >= 0;
}

const char *cairn_matcher_op_str(enum cairn_match_type type)
{
    switch (type) {
    case CAIRN_MATCH_EQ: return "=";
    case CAIRN_MATCH_NEQ: return "!=";
    case CAIRN_MATCH_RE: return "=~";
    case CAIRN_MATCH_NRE: return "!~";
    }
    return "?";
}

int cairn_matcher_init(struct cairn_matcher *m, enum cairn_match_type type,
                       const char *name, size_t name_len, const char *value,
                       size_t value_len, struct cairn_err *err)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->name = malloc(name_len + 1);
    m->value = malloc(value_len + 1);
    if (!m->name || !m->value) {
        cairn_matcher_deinit(m);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    memcpy(m->name, name, name_len);
    m->name[name_len] = '\0';
    memcpy(m->value, value, value_len);
    m->value[value_len] = '\0';
    m->name_len = name_len;
    m->value_len = value_len;
    if (type == CAIRN_MATCH_RE || type == CAIRN_MATCH_NRE) {
        m->re = cairn_regex_compile(value, value_len, CAIRN_RE_ANCHORED, err);
        if (!m->re) {
            int code = err ? err->code : CAIRN_EINVAL;
            cairn_matcher_deinit(m);
            return code ? code : CAIRN_EINVAL;
        }
    }
    return 0;
}

void cairn_matcher_deinit(struct cairn_matcher *m)
{
    free(m->name);
    free(m->value);
    cairn_regex_destroy(m->re);
    memset(m, 0, sizeof(*m));
}

int cairn_matcher_matches(const struct cairn_matcher *m, const char *v, size_t len)
{
    switch (m->type) {
    case CAIRN_MATCH_EQ:
        return len == m->value_len && memcmp(v, m->value, len) == 0;
    case CAIRN_MATCH_NEQ:
        return !(len == m->value_len && memcmp(v, m->value, len) == 0);
    case CAIRN_MATCH_RE:
        return cairn_regex_match(m->re, v, len);
    case CAIRN_MATCH_NRE:
        return !cairn_regex_match(m->re, v, len);
    }
    return 0;
}
