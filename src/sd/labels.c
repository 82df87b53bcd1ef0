/* labels.c -- the discovered target's label set: sorted, any size, each name and
 * value its own allocation (sets are built once per pod change, not per line). */
#include <stdlib.h>
#include <string.h>

#include "cairn/sd.h"

void cairn_sd_labels_init(struct cairn_sd_labels *ls)
{
    memset(ls, 0, sizeof *ls);
}

void cairn_sd_labels_reset(struct cairn_sd_labels *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->v[i].name);
        free(ls->v[i].value);
    }
    ls->n = 0;
}

void cairn_sd_labels_deinit(struct cairn_sd_labels *ls)
{
    cairn_sd_labels_reset(ls);
    free(ls->v);
    memset(ls, 0, sizeof *ls);
}

static int cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al < bl ? -1 : al > bl);
}

/* Index of name, or -(insertion point) - 1. */
static long find(const struct cairn_sd_labels *ls, const char *name, size_t nl)
{
    size_t lo = 0, hi = ls->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp(ls->v[mid].name, ls->v[mid].name_len, name, nl);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static char *dup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int cairn_sd_labels_set(struct cairn_sd_labels *ls, const char *name, size_t nl,
                        const char *value, size_t vl)
{
    long at = find(ls, name, nl);
    char *v = dup(value ? value : "", value ? vl : 0);
    if (!v)
        return CAIRN_ENOMEM;
    if (at >= 0) {
        free(ls->v[at].value);
        ls->v[at].value = v;
        ls->v[at].value_len = value ? vl : 0;
        return 0;
    }
    char *n = dup(name, nl);
    if (!n) {
        free(v);
        return CAIRN_ENOMEM;
    }
    if (ls->n == ls->cap) {
        size_t nc = ls->cap ? ls->cap * 2 : 16;
        void *nv = realloc(ls->v, nc * sizeof *ls->v);
        if (!nv) {
            free(n);
            free(v);
            return CAIRN_ENOMEM;
        }
        ls->v = nv;
        ls->cap = nc;
    }
    size_t pos = (size_t)(-at - 1);
    memmove(&ls->v[pos + 1], &ls->v[pos], (ls->n - pos) * sizeof *ls->v);
    ls->v[pos] = (struct cairn_sd_label){n, v, nl, value ? vl : 0};
    ls->n++;
    return 0;
}

int cairn_sd_labels_set_str(struct cairn_sd_labels *ls, const char *name, const char *value)
{
    return cairn_sd_labels_set(ls, name, strlen(name), value ? value : "",
                               value ? strlen(value) : 0);
}

const char *cairn_sd_labels_get(const struct cairn_sd_labels *ls, const char *name, size_t nl,
                                size_t *len)
{
    long at = find(ls, name, nl);
    if (at < 0)
        return NULL;
    if (len)
        *len = ls->v[at].value_len;
    return ls->v[at].value;
}

void cairn_sd_labels_remove_at(struct cairn_sd_labels *ls, size_t i)
{
    if (i >= ls->n)
        return;
    free(ls->v[i].name);
    free(ls->v[i].value);
    memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof *ls->v);
    ls->n--;
}

int cairn_sd_labels_copy(struct cairn_sd_labels *dst, const struct cairn_sd_labels *src)
{
    struct cairn_sd_labels tmp;
    cairn_sd_labels_init(&tmp);
    for (size_t i = 0; i < src->n; i++)
        if (cairn_sd_labels_set(&tmp, src->v[i].name, src->v[i].name_len, src->v[i].value,
                                src->v[i].value_len)) {
            cairn_sd_labels_deinit(&tmp);
            return CAIRN_ENOMEM;
        }
    cairn_sd_labels_deinit(dst);
    *dst = tmp;
    return 0;
}

void cairn_sd_sanitize(char *out, size_t cap, const char *prefix, const char *name)
{
    size_t k = 0;
    for (const char *p = prefix; *p && k + 1 < cap; p++)
        out[k++] = *p;
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 1 < cap; p++) {
        unsigned char c = *p;
        if ((c & 0xC0) == 0x80)
            continue; /* one '_' per character, as Prometheus's rune loop gives */
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_';
        out[k++] = ok ? (char)c : '_';
    }
    out[k] = '\0';
}
