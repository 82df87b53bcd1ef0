/* pattern.c -- Loki pattern expressions: compile `<name>` / `<_>` captures between
 * literals, extract captures, and test whole lines for the `|>` filter. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_pattern.h"

struct pat_node {
    int capture;  /* 1: capture, 0: literal */
    int unnamed;  /* <_> */
    size_t off, len; /* into text: capture name or literal bytes */
};

struct cairn_pattern {
    char *text;
    struct pat_node *v;
    size_t n;
};

static size_t capture_at(const char *p, size_t len, size_t i)
{
    /* `<name>` at i: returns its length, or 0 if this '<' is a literal. */
    if (p[i] != '<')
        return 0;
    size_t j = i + 1;
    if (j >= len || !(isalpha((unsigned char)p[j]) || p[j] == '_'))
        return 0;
    while (j < len && (isalnum((unsigned char)p[j]) || p[j] == '_'))
        j++;
    if (j >= len || p[j] != '>')
        return 0;
    return j + 1 - i;
}

struct cairn_pattern *cairn_pattern_compile(const char *p, size_t len, int for_filter,
                                            struct cairn_err *err)
{
    struct cairn_pattern *pat = calloc(1, sizeof(*pat));
    if (!pat || !(pat->text = malloc(len + 1)) ||
        !(pat->v = calloc(len + 1, sizeof(*pat->v)))) {
        cairn_pattern_destroy(pat);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(pat->text, p, len);
    pat->text[len] = '\0';
    size_t i = 0, named = 0, captures = 0;
    while (i < len) {
        size_t cl = capture_at(p, len, i);
        if (cl) {
            if (pat->n && pat->v[pat->n - 1].capture) {
                cairn_err_set(err, CAIRN_EINVAL,
                              "found consecutive capture '%.*s': invalid expression",
                              (int)cl, p + i);
                goto fail;
            }
            struct pat_node *nd = &pat->v[pat->n++];
            nd->capture = 1;
            nd->off = i + 1;
            nd->len = cl - 2;
            nd->unnamed = nd->len == 1 && p[i + 1] == '_';
            captures++;
            if (!nd->unnamed) {
                for (size_t k = 0; k + 1 < pat->n; k++)
                    if (pat->v[k].capture && pat->v[k].len == nd->len &&
                        memcmp(p + pat->v[k].off, p + nd->off, nd->len) == 0) {
                        cairn_err_set(err, CAIRN_EINVAL, "duplicate capture name (%.*s) in expression",
                                      (int)nd->len, p + nd->off);
                        goto fail;
                    }
                named++;
            }
            i += cl;
            continue;
        }
        if (!pat->n || pat->v[pat->n - 1].capture) {
            pat->v[pat->n].off = i;
            pat->v[pat->n].len = 0;
            pat->n++;
        }
        pat->v[pat->n - 1].len++;
        i++;
    }
    if (!for_filter && !named) {
        cairn_err_set(err, CAIRN_EINVAL, "at least one capture is required");
        goto fail;
    }
    if (named > CAIRN_PATTERN_MAX_CAPTURES) {
        cairn_err_set(err, CAIRN_EINVAL, "too many captures in pattern");
        goto fail;
    }
    if (pat->n == 0) {
        cairn_err_set(err, CAIRN_EINVAL, "invalid expression");
        goto fail;
    }
    (void)captures;
    return pat;
fail:
    cairn_pattern_destroy(pat);
    return NULL;
}

void cairn_pattern_destroy(struct cairn_pattern *pat)
{
    if (!pat)
        return;
    free(pat->text);
    free(pat->v);
    free(pat);
}

int cairn_pattern_extract(const struct cairn_pattern *pat, const char *in, size_t len,
                          struct cairn_pattern_capture *caps)
{
    int n = 0;
    size_t k = 0;
    if (!len || !pat->n)
        return 0;
    if (!pat->v[0].capture) {
        const struct pat_node *l = &pat->v[0];
        if (len < l->len || memcmp(in, pat->text + l->off, l->len) != 0)
            return 0;
        in += l->len;
        len -= l->len;
        k = 1;
    }
    while (k < pat->n) {
        const struct pat_node *c = &pat->v[k];
        if (k + 1 == pat->n) {
            if (!c->unnamed)
                caps[n++] = (struct cairn_pattern_capture){pat->text + c->off, c->len, in, len};
            return n;
        }
        const struct pat_node *l = &pat->v[k + 1];
        k += 2;
        const char *f = memmem(in, len, pat->text + l->off, l->len);
        if (!f) {
            if (!c->unnamed)
                caps[n++] = (struct cairn_pattern_capture){pat->text + c->off, c->len, in, len};
            return n;
        }
        size_t i = (size_t)(f - in);
        if (!c->unnamed)
            caps[n++] = (struct cairn_pattern_capture){pat->text + c->off, c->len, in, i};
        in += i + l->len;
        len -= i + l->len;
    }
    return n;
}

int cairn_pattern_test(const struct cairn_pattern *pat, const char *in, size_t len)
{
    size_t k = 0;
    if (!pat->n)
        return 0;
    if (!pat->v[0].capture) {
        const struct pat_node *l = &pat->v[0];
        if (len < l->len || memcmp(in, pat->text + l->off, l->len) != 0)
            return 0;
        in += l->len;
        len -= l->len;
        k = 1;
    }
    while (k < pat->n) {
        if (k + 1 == pat->n)
            return 1; /* ends on a capture: takes the rest */
        const struct pat_node *l = &pat->v[k + 1];
        k += 2;
        if (k == pat->n) {
            /* trailing literal: must end the line */
            return len >= l->len && memcmp(in + len - l->len, pat->text + l->off, l->len) == 0;
        }
        const char *f = memmem(in, len, pat->text + l->off, l->len);
        if (!f)
            return 0;
        size_t i = (size_t)(f - in);
        in += i + l->len;
        len -= i + l->len;
    }
    return len == 0;
}
