/* src_journal_entry.c -- from a journal entry's fields to its stream labels and line,
 * as Promtail's journal target does: every field becomes `__journal_<field
 * lowercased>` (PRIORITY also `__journal_priority_keyword`), journal.labels are added,
 * relabel_configs run, labels starting with "__" go; the line is MESSAGE or every
 * field as one JSON object.
 *
 * Relabelling per entry would copy every field into a label set and run the rules,
 * allocating per line. Only the fields a rule can see matter (its source_labels, a
 * keepequal/dropequal target, a labelmap regex's matches): the others are dropped with
 * the "__" prefix whatever happens. So each field name is classified once, the
 * visible fields' values form a key, and the result is cached by that key in a
 * direct-mapped table: a unit's entries reuse one label set. */
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "cairn/matcher.h"
#include "cairn/sd.h"
#include "ship/src_journal.h"

#define PREFIX "__journal_"
#define PREFIX_LEN (sizeof PREFIX - 1)
#define NAME_MAX_LEN 256 /* journald's own field names are at most 64 bytes */

struct cairn__jname {
    char *name; /* NULL: empty */
    size_t len;
    uint64_t hash;
    int visible;
};

struct cairn__jslot {
    int state; /* 0 empty, 1 labels, 2 no labels left */
    uint64_t hash;
    struct cairn_buf key;
    struct cairn_labels *labels;
};

/* ---- pure helpers ---- */

size_t cairn__journal_label_name(const char *field, size_t len, char *out, size_t cap)
{
    if (PREFIX_LEN + len + 1 > cap)
        return 0;
    memcpy(out, PREFIX, PREFIX_LEN);
    for (size_t i = 0; i < len; i++) {
        char c = field[i];
        out[PREFIX_LEN + i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[PREFIX_LEN + len] = '\0';
    return PREFIX_LEN + len;
}

const char *cairn__journal_priority_keyword(const char *v, size_t len)
{
    static const char *const kw[] = {"emerg", "alert", "crit", "error",
                                     "warning", "notice", "info", "debug"};
    if (len != 1 || v[0] < '0' || v[0] > '7')
        return NULL;
    return kw[v[0] - '0'];
}

/* A journal field name: A-Z, 0-9, _, not starting with a digit (sd-journal's rule). */
static int field_name_ok(const char *p, size_t n)
{
    if (n == 0 || (p[0] >= '0' && p[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
            return 0;
    return 1;
}

int cairn__journal_matches_parse(const char *s, int (*fn)(void *ud, const char *m, size_t len),
                                 void *ud, const char **bad, size_t *bad_len)
{
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            return 0;
        const char *t = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        size_t n = (size_t)(p - t);
        const char *eq = memchr(t, '=', n);
        if (!(n == 1 && *t == '+') && !(eq && field_name_ok(t, (size_t)(eq - t)))) {
            if (bad)
                *bad = t;
            if (bad_len)
                *bad_len = n;
            return CAIRN_EINVAL;
        }
        int rc = fn ? fn(ud, t, n) : 0;
        if (rc)
            return rc;
    }
}

/* ---- lifecycle ---- */

int cairn__jmap_init(struct cairn__jmap *m, const struct cairn_ship_relabel_rule *rules,
                     size_t n_rules, const struct cairn_cfg_map *labels, int all_fields)
{
    memset(m, 0, sizeof *m);
    m->rules = rules;
    m->n_rules = n_rules;
    m->labels = labels;
    m->all_fields = all_fields;
    m->message = -1;
    m->names = calloc(CAIRN_JOURNAL_FIELD_NAMES, sizeof *m->names);
    m->slots = calloc(CAIRN_JOURNAL_LABEL_CACHE, sizeof *m->slots);
    if (!m->names || !m->slots) {
        cairn__jmap_deinit(m);
        return CAIRN_ENOMEM;
    }
    return 0;
}

void cairn__jmap_deinit(struct cairn__jmap *m)
{
    for (size_t i = 0; m->names && i < CAIRN_JOURNAL_FIELD_NAMES; i++)
        free(m->names[i].name);
    free(m->names);
    for (size_t i = 0; m->slots && i < CAIRN_JOURNAL_LABEL_CACHE; i++) {
        cairn_buf_deinit(&m->slots[i].key);
        if (m->slots[i].labels) {
            cairn_labels_deinit(m->slots[i].labels);
            free(m->slots[i].labels);
        }
    }
    free(m->slots);
    cairn_buf_deinit(&m->store);
    cairn_buf_deinit(&m->key);
    cairn_buf_deinit(&m->scratch);
    memset(m, 0, sizeof *m);
}

/* ---- which fields relabelling sees ---- */

static int label_visible(const struct cairn__jmap *m, const char *l, size_t ll)
{
    for (size_t i = 0; i < m->n_rules; i++) {
        const struct cairn_ship_relabel_rule *r = &m->rules[i];
        for (size_t k = 0; k < r->n_sources; k++)
            if (strlen(r->sources[k]) == ll && memcmp(r->sources[k], l, ll) == 0)
                return 1;
        if ((r->action == CAIRN_RELABEL_KEEPEQUAL || r->action == CAIRN_RELABEL_DROPEQUAL) &&
            strlen(r->target) == ll && memcmp(r->target, l, ll) == 0)
            return 1;
        if (r->action == CAIRN_RELABEL_LABELMAP && cairn_regex_match(r->re, l, ll) == 1)
            return 1;
    }
    return 0;
}

static int field_visible(const struct cairn__jmap *m, const char *name, size_t len)
{
    char l[PREFIX_LEN + NAME_MAX_LEN + 16];
    size_t ll = cairn__journal_label_name(name, len, l, sizeof l);
    if (!ll)
        return 0; /* longer than any label name Loki takes: nothing can use it */
    if (label_visible(m, l, ll))
        return 1;
    return len == 8 && memcmp(name, "PRIORITY", 8) == 0 &&
           label_visible(m, PREFIX "priority_keyword", PREFIX_LEN + 16);
}

/* Remembered per field name; past the table's fill limit, worked out each time. */
static int visible(struct cairn__jmap *m, const char *name, size_t len)
{
    uint64_t h = cairn_hash64(name, len);
    size_t mask = CAIRN_JOURNAL_FIELD_NAMES - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        struct cairn__jname *n = &m->names[i];
        if (!n->name)
            break;
        if (n->hash == h && n->len == len && memcmp(n->name, name, len) == 0)
            return n->visible;
    }
    int vis = field_visible(m, name, len);
    if (m->n_names < CAIRN_JOURNAL_FIELD_NAMES / 4 * 3) {
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, name, len);
            copy[len] = '\0';
            m->names[i] = (struct cairn__jname){copy, len, h, vis};
            m->n_names++;
        }
    }
    return vis;
}

/* ---- one entry ---- */

void cairn__jmap_begin(struct cairn__jmap *m)
{
    cairn_buf_reset(&m->store);
    cairn_buf_reset(&m->key);
    m->nf = 0;
    m->message = -1;
}

int cairn__jmap_add(struct cairn__jmap *m, const void *data, size_t len)
{
    const char *d = data;
    const char *eq = memchr(d, '=', len);
    if (!eq || eq == d)
        return 0;
    size_t nl = (size_t)(eq - d), vl = len - nl - 1;
    int is_msg = nl == 7 && memcmp(d, "MESSAGE", 7) == 0;
    int vis = visible(m, d, nl);
    if (vis) {
        uint32_t a = (uint32_t)nl, b = (uint32_t)vl;
        if (cairn_buf_append(&m->key, &a, sizeof a) || cairn_buf_append(&m->key, d, nl) ||
            cairn_buf_append(&m->key, &b, sizeof b) || cairn_buf_append(&m->key, eq + 1, vl))
            return CAIRN_ENOMEM;
    }
    if (!vis && !is_msg && !m->all_fields)
        return 0;
    if (m->nf == CAIRN_JOURNAL_MAX_FIELDS)
        return 0; /* past journald's own limit: not a real entry's field */
    size_t at = m->store.len;
    if (cairn_buf_append(&m->store, d, len))
        return CAIRN_ENOMEM;
    if (is_msg)
        m->message = (long)m->nf;
    m->f[m->nf++] = (struct cairn__jfield){at, nl, at + nl + 1, vl};
    return 0;
}

/* Relabel the visible fields into ls (a cache miss). 1 keep, 0 no labels, <0 error. */
static int relabel(struct cairn__jmap *m, struct cairn_labels *out)
{
    struct cairn_sd_labels ls;
    cairn_sd_labels_init(&ls);
    char name[PREFIX_LEN + NAME_MAX_LEN + 16];
    int rc = 0;
    const char *k = m->key.data, *end = k ? k + m->key.len : k;
    while (!rc && k < end) { /* the key lists exactly the visible fields */
        uint32_t nl, vl;
        memcpy(&nl, k, sizeof nl);
        const char *n = k + sizeof nl;
        memcpy(&vl, n + nl, sizeof vl);
        const char *v = n + nl + sizeof vl;
        k = v + vl;
        size_t ll = cairn__journal_label_name(n, nl, name, sizeof name);
        if (ll)
            rc = cairn_sd_labels_set(&ls, name, ll, v, vl);
        if (!rc && nl == 8 && memcmp(n, "PRIORITY", 8) == 0) {
            const char *kw = cairn__journal_priority_keyword(v, vl);
            rc = cairn_sd_labels_set(&ls, PREFIX "priority_keyword", PREFIX_LEN + 16,
                                     kw ? kw : v, kw ? strlen(kw) : vl);
        }
    }
    for (size_t i = 0; !rc && i < m->labels->n; i++) /* journal.labels win, as Promtail's */
        rc = cairn_sd_labels_set_str(&ls, m->labels->v[i].key,
                                     m->labels->v[i].value ? m->labels->v[i].value : "");
    int keep = rc ? rc : cairn_ship_relabel_apply(m->rules, m->n_rules, &ls);
    cairn_labels_reset(out);
    for (size_t i = 0; keep == 1 && i < ls.n; i++) {
        const struct cairn_sd_label *l = &ls.v[i];
        if ((l->name_len >= 2 && l->name[0] == '_' && l->name[1] == '_') || !l->value_len)
            continue;
        if (out->n == CAIRN_LABELS_PARSE_MAX)
            break; /* the store refuses far fewer anyway (max_label_names_per_series) */
        keep = cairn_labels_add(out, l->name, l->name_len, l->value, l->value_len) ? CAIRN_ENOMEM
                                                                                    : 1;
    }
    cairn_sd_labels_deinit(&ls);
    if (keep == 1 && cairn_labels_sort(out, NULL))
        keep = CAIRN_EINVAL; /* sd labels are unique: cannot happen */
    if (keep == 1 && out->n == 0)
        keep = 0;
    return keep;
}

int cairn__jmap_labels(struct cairn__jmap *m, const struct cairn_labels **out)
{
    uint64_t h = cairn_hash64(m->key.data ? m->key.data : "", m->key.len);
    struct cairn__jslot *s = &m->slots[h % CAIRN_JOURNAL_LABEL_CACHE];
    if (s->state && s->hash == h && s->key.len == m->key.len &&
        (m->key.len == 0 || memcmp(s->key.data, m->key.data, m->key.len) == 0)) {
        *out = s->labels;
        return s->state == 1;
    }
    m->misses++;
    if (!s->labels) {
        if (!(s->labels = malloc(sizeof *s->labels)))
            return CAIRN_ENOMEM;
        cairn_labels_init(s->labels);
    }
    s->state = 0;
    int rc = relabel(m, s->labels);
    if (rc < 0)
        return rc;
    cairn_buf_reset(&s->key);
    if (cairn_buf_append(&s->key, m->key.data ? m->key.data : "", m->key.len))
        return CAIRN_ENOMEM;
    s->hash = h;
    s->state = rc == 1 ? 1 : 2;
    *out = s->labels;
    return rc;
}

/* ---- JSON ---- */

static int field_cmp(const void *a, const void *b, void *ud)
{
    const struct cairn__jmap *m = ud;
    const struct cairn__jfield *x = &m->f[*(const size_t *)a], *y = &m->f[*(const size_t *)b];
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(m->store.data + x->name_off, m->store.data + y->name_off, n);
    if (c == 0)
        c = (x->name_len > y->name_len) - (x->name_len < y->name_len);
    if (c == 0) /* a repeated field: in the order read, so the last one wins below */
        c = (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
    return c;
}

int cairn__jmap_json(struct cairn__jmap *m)
{
    size_t idx[CAIRN_JOURNAL_MAX_FIELDS];
    for (size_t i = 0; i < m->nf; i++)
        idx[i] = i;
    qsort_r(idx, m->nf, sizeof idx[0], field_cmp, m);
    cairn_buf_reset(&m->scratch);
    int rc = cairn_buf_append_byte(&m->scratch, '{');
    int first = 1;
    for (size_t i = 0; i < m->nf && !rc; i++) {
        const struct cairn__jfield *f = &m->f[idx[i]];
        if (i + 1 < m->nf) {
            const struct cairn__jfield *g = &m->f[idx[i + 1]];
            if (g->name_len == f->name_len &&
                memcmp(m->store.data + g->name_off, m->store.data + f->name_off, f->name_len) == 0)
                continue;
        }
        if (!first)
            rc |= cairn_buf_append_byte(&m->scratch, ',');
        first = 0;
        rc |= cairn_buf_append_json_str(&m->scratch, m->store.data + f->name_off, f->name_len);
        rc |= cairn_buf_append_byte(&m->scratch, ':');
        rc |= cairn_buf_append_json_str(&m->scratch, m->store.data + f->val_off, f->val_len);
    }
    rc |= cairn_buf_append_byte(&m->scratch, '}');
    return rc ? CAIRN_ENOMEM : 0;
}
