/* table.c -- the life of a config struct described by a table: allocation, defaults,
 * freeing, setting one key by path, the final checks, and a sanity check of the
 * tables themselves. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/text.h"
#include "config/config_int.h"

/* ---- allocation ---- */

void *cairn__cfg_realloc(const struct cairn_cfg *c, void *p, size_t n)
{
    if (c->alloc.realloc)
        return c->alloc.realloc(c->alloc.user, p, n);
    return realloc(p, n);
}

char *cairn__cfg_strndup(const struct cairn_cfg *c, const char *s, size_t n)
{
    char *p = cairn__cfg_realloc(c, NULL, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *cairn__cfg_push(const struct cairn_cfg *c, void **v, size_t *n, size_t elem)
{
    /* Grow to powers of two so a long list costs O(n) copies in total. */
    size_t cap = 1;
    while (cap < *n)
        cap *= 2;
    void *nv = *v;
    if (*n == 0 || *n == cap) {
        size_t ncap = *n == 0 ? 1 : cap * 2;
        nv = cairn__cfg_realloc(c, *v, ncap * elem);
        if (!nv)
            return NULL;
    }
    *v = nv;
    char *slot = (char *)nv + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

/* ---- freeing ---- */

static void free_list(const struct cairn_cfg_entry *e, struct cairn_cfg_list *l)
{
    if (e->type == CAIRN_CFG_VARIANTS) {
        struct cairn_cfg_tagged *t = l->v;
        for (size_t i = 0; i < l->n; i++) {
            if (t[i].data)
                cairn_cfg_free(e->variants[t[i].kind].table, t[i].data);
            free(t[i].data);
        }
    } else {
        for (size_t i = 0; i < l->n; i++) {
            char *el = (char *)l->v + i * e->sub->size;
            if (e->type == CAIRN_CFG_KEYED) {
                char *key;
                memcpy(&key, el + e->key_offset, sizeof key);
                free(key);
            }
            cairn_cfg_free(e->sub, el);
        }
    }
    free(l->v);
}

void cairn__cfg_free_entry(const struct cairn_cfg_entry *e, void *field)
{
    switch (e->type) {
    case CAIRN_CFG_STRING:
        free(*(char **)field);
        break;
    case CAIRN_CFG_STRLIST: {
        struct cairn_cfg_strlist *l = field;
        for (size_t i = 0; i < l->n; i++)
            free(l->v[i]);
        free(l->v);
        break;
    }
    case CAIRN_CFG_MAP: {
        struct cairn_cfg_map *m = field;
        for (size_t i = 0; i < m->n; i++) {
            free(m->v[i].key);
            free(m->v[i].value);
        }
        free(m->v);
        break;
    }
    case CAIRN_CFG_SECTION:
        cairn_cfg_free(e->sub, field);
        return; /* the section's own entries were zeroed */
    case CAIRN_CFG_LIST:
    case CAIRN_CFG_KEYED:
    case CAIRN_CFG_VARIANTS:
        free_list(e, field);
        break;
    default:
        return;
    }
    memset(field, 0, e->size);
}

void cairn_cfg_free(const struct cairn_cfg_table *t, void *obj)
{
    if (!t || !obj)
        return;
    for (size_t i = 0; i < t->n; i++)
        cairn__cfg_free_entry(&t->entries[i], (char *)obj + t->entries[i].offset);
}

/* ---- defaults ---- */

int cairn__cfg_defaults(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *obj,
                        struct cairn_err *err)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        void *field = (char *)obj + e->offset;
        char where[CAIRN__CFG_PATH_MAX];
        cairn__cfg_fmt(where, sizeof where, "default of %s.%s", t->name ? t->name : "",
                 e->key ? e->key : e->flag ? e->flag : "?");
        int rc = 0;
        if (e->type == CAIRN_CFG_SECTION) {
            rc = cairn__cfg_defaults(c, e->sub, field, err);
        } else if (e->def) {
            rc = cairn__cfg_set_scalar(c, e, field, e->def, strlen(e->def), where, err);
        } else {
            switch (e->type) {
            case CAIRN_CFG_BOOL:
                if (e->size == sizeof(bool)) {
                    bool b = e->idef != 0;
                    memcpy(field, &b, sizeof b);
                } else {
                    cairn__cfg_put_int(field, e->size, e->idef != 0);
                }
                break;
            case CAIRN_CFG_INT:
            case CAIRN_CFG_ENUM:
                cairn__cfg_put_int(field, e->size, e->idef);
                break;
            case CAIRN_CFG_DURATION:
                cairn__cfg_put_int(field, 8, e->idef);
                break;
            case CAIRN_CFG_SIZE:
                cairn__cfg_put_uint(field, e->size, (uint64_t)e->idef);
                break;
            case CAIRN_CFG_FLOAT:
                memcpy(field, &e->fdef, sizeof e->fdef);
                break;
            default:
                break; /* strings NULL, collections empty */
            }
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

void *cairn__cfg_new_element(struct cairn_cfg *c, const struct cairn_cfg_table *t,
                             struct cairn_err *err)
{
    void *el = cairn__cfg_realloc(c, NULL, t->size ? t->size : 1);
    if (!el) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    memset(el, 0, t->size ? t->size : 1);
    if (cairn__cfg_defaults(c, t, el, err) != 0) {
        cairn_cfg_free(t, el);
        free(el);
        return NULL;
    }
    return el;
}

int cairn_cfg_init(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *obj,
                   const struct cairn_cfg_alloc *alloc, struct cairn_err *err)
{
    memset(obj, 0, t->size); /* first: c may live inside obj */
    memset(c, 0, sizeof *c);
    c->table = t;
    c->obj = obj;
    if (alloc)
        c->alloc = *alloc;
    int rc = cairn__cfg_defaults(c, t, obj, err);
    if (rc != 0) {
        struct cairn_cfg keep = *c;
        cairn_cfg_free(t, obj);
        memset(obj, 0, t->size);
        *c = keep;
    }
    return rc;
}

void cairn_cfg_deinit(struct cairn_cfg *c)
{
    if (!c || !c->table || !c->obj)
        return;
    const struct cairn_cfg_table *t = c->table;
    void *obj = c->obj;
    cairn_cfg_free(t, obj);
    memset(obj, 0, t->size); /* may zero c itself when it lives inside obj */
}

/* ---- lookup helpers ---- */

const struct cairn_cfg_entry *cairn__cfg_whole_entry(const struct cairn_cfg_table *t)
{
    if (t->n == 1 && t->entries[0].key && t->entries[0].key[0] == '\0')
        return &t->entries[0];
    return NULL;
}

const struct cairn_cfg_ignored *cairn__cfg_ignored_find(const struct cairn_cfg_table *t,
                                                        const char *key, size_t len)
{
    for (const struct cairn_cfg_ignored *ig = t->ignored; ig && ig->key; ig++)
        if (strlen(ig->key) == len && memcmp(ig->key, key, len) == 0)
            return ig;
    return NULL;
}

static void closer(const char *k, const char *key, size_t len, const char **best,
                   size_t *best_d)
{
    size_t d = cairn_edit_distance(key, len, k, strlen(k));
    if (d < *best_d) {
        *best_d = d;
        *best = k;
    }
}

const char *cairn__cfg_suggest(const struct cairn_cfg_table *t, const char *key, size_t len)
{
    const char *best = NULL;
    size_t best_d = len < 4 ? 2 : 3; /* accept at most 1 edit for short keys, else 2 */
    for (size_t i = 0; i < t->n; i++) {
        const char *k = t->entries[i].key;
        if (k && *k && !(t->entries[i].flags & CAIRN_CFG_CLI_ONLY))
            closer(k, key, len, &best, &best_d);
    }
    for (const struct cairn_cfg_ignored *ig = t->ignored; ig && ig->key; ig++)
        closer(ig->key, key, len, &best, &best_d);
    return best;
}

static int entry_empty(const struct cairn_cfg_entry *e, const void *field)
{
    switch (e->type) {
    case CAIRN_CFG_STRING: {
        const char *s = *(char *const *)field;
        return !s || !*s;
    }
    case CAIRN_CFG_STRLIST: return ((const struct cairn_cfg_strlist *)field)->n == 0;
    case CAIRN_CFG_MAP: return ((const struct cairn_cfg_map *)field)->n == 0;
    case CAIRN_CFG_LIST:
    case CAIRN_CFG_KEYED:
    case CAIRN_CFG_VARIANTS: return ((const struct cairn_cfg_list *)field)->n == 0;
    default: return 0;
    }
}

int cairn__cfg_check_required(const struct cairn_cfg_table *t, const void *obj,
                              const char *where, const char *path, struct cairn_err *err)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        if ((e->flags & CAIRN_CFG_REQUIRED) && entry_empty(e, (const char *)obj + e->offset))
            return cairn_err_set(err, CAIRN_EINVAL, "%s%smissing required key '%s%s%s'",
                                 where ? where : "", where ? ": " : "", path ? path : "",
                                 path && *path ? "." : "", e->key ? e->key : e->flag);
    }
    return 0;
}

/* ---- set by path ---- */

int cairn_cfg_set(struct cairn_cfg *c, const char *path, const char *value,
                  struct cairn_err *err)
{
    return cairn_cfg_set_in(c, c->table, c->obj, path, value, err);
}

void *cairn_cfg_list_append(struct cairn_cfg *c, const struct cairn_cfg_table *t,
                            struct cairn_cfg_list *l, struct cairn_err *err)
{
    char *el = cairn__cfg_push(c, &l->v, &l->n, t->size);
    if (!el) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    if (cairn__cfg_defaults(c, t, el, err) != 0) {
        cairn_cfg_free(t, el);
        l->n--;
        return NULL;
    }
    return el;
}

int cairn_cfg_set_in(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *base,
                     const char *path, const char *value, struct cairn_err *err)
{
    char *obj = base;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        const struct cairn_cfg_entry *e = NULL;
        for (size_t i = 0; i < t->n; i++) {
            const char *k = t->entries[i].key;
            if (k && strlen(k) == len && memcmp(k, p, len) == 0 &&
                !(t->entries[i].flags & CAIRN_CFG_CLI_ONLY))
                e = &t->entries[i];
        }
        if (!e)
            return cairn_err_set(err, CAIRN_EINVAL, "unknown key '%s'", path);
        if (dot) {
            if (e->type != CAIRN_CFG_SECTION)
                return cairn_err_set(err, CAIRN_EINVAL, "unknown key '%s'", path);
            obj += e->offset;
            t = e->sub;
            p = dot + 1;
            continue;
        }
        if (e->type == CAIRN_CFG_SECTION || e->type == CAIRN_CFG_LIST ||
            e->type == CAIRN_CFG_KEYED || e->type == CAIRN_CFG_VARIANTS)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: is a %s, not a single value", path,
                                 cairn__cfg_type_name(e));
        return cairn__cfg_set_scalar(c, e, obj + e->offset, value, strlen(value), path, err);
    }
}

/* ---- final checks ---- */

int cairn__cfg_section_present(const struct cairn_cfg_entry *e, const void *field)
{
    if (!(e->flags & CAIRN_CFG_OPTIONAL))
        return 1;
    int present;
    memcpy(&present, (const char *)field + e->key_offset, sizeof present);
    return present != 0;
}


static int check_table(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *obj,
                       char *path, size_t plen, struct cairn_err *err);

static int check_entry(struct cairn_cfg *c, const struct cairn_cfg_entry *e, void *field,
                       char *path, size_t plen, struct cairn_err *err)
{
    int rc = 0;
    size_t w;
    switch (e->type) {
    case CAIRN_CFG_SECTION:
        if (!cairn__cfg_section_present(e, field))
            break;
        w = cairn__cfg_fmt(path + plen, CAIRN__CFG_PATH_MAX - plen, "%s%s", plen ? "." : "",
                           e->key);
        rc = check_table(c, e->sub, field, path, plen + w, err);
        break;
    case CAIRN_CFG_LIST:
    case CAIRN_CFG_KEYED:
    case CAIRN_CFG_VARIANTS: {
        struct cairn_cfg_list *l = field;
        for (size_t i = 0; i < l->n && rc == 0; i++) {
            w = cairn__cfg_fmt(path + plen, CAIRN__CFG_PATH_MAX - plen, "%s%s[%zu]",
                               plen ? "." : "", e->key, i);
            size_t nl = plen + w;
            if (e->type == CAIRN_CFG_VARIANTS) {
                struct cairn_cfg_tagged *tg = (struct cairn_cfg_tagged *)l->v + i;
                rc = check_table(c, e->variants[tg->kind].table, tg->data, path, nl, err);
            } else {
                rc = check_table(c, e->sub, (char *)l->v + i * e->sub->size, path, nl, err);
            }
        }
        break;
    }
    default:
        break;
    }
    path[plen] = '\0';
    return rc;
}

static int check_table(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *obj,
                       char *path, size_t plen, struct cairn_err *err)
{
    if (plen >= CAIRN__CFG_PATH_MAX)
        plen = CAIRN__CFG_PATH_MAX - 1;
    path[plen] = '\0';
    int rc = cairn__cfg_check_required(t, obj, NULL, path, err);
    for (size_t i = 0; i < t->n && rc == 0; i++)
        rc = check_entry(c, &t->entries[i], (char *)obj + t->entries[i].offset, path, plen, err);
    path[plen] = '\0';
    if (rc == 0 && t->check)
        rc = t->check(c, obj, path, err);
    return rc;
}

int cairn_cfg_check(struct cairn_cfg *c, struct cairn_err *err)
{
    char path[CAIRN__CFG_PATH_MAX];
    path[0] = '\0';
    return check_table(c, c->table, c->obj, path, 0, err);
}

/* ---- table sanity (for tests) ---- */

static int entry_size_ok(const struct cairn_cfg_entry *e)
{
    switch (e->type) {
    case CAIRN_CFG_BOOL: return e->size == sizeof(bool) || e->size == 4;
    case CAIRN_CFG_INT: return e->size == 1 || e->size == 2 || e->size == 4 || e->size == 8;
    case CAIRN_CFG_ENUM: return e->size == 1 || e->size == 2 || e->size == 4 || e->size == 8;
    case CAIRN_CFG_FLOAT: return e->size == sizeof(double);
    case CAIRN_CFG_SIZE: return e->size == 4 || e->size == 8;
    case CAIRN_CFG_DURATION: return e->size == 8;
    case CAIRN_CFG_STRING: return e->size == sizeof(char *);
    case CAIRN_CFG_STRLIST: return e->size == sizeof(struct cairn_cfg_strlist);
    case CAIRN_CFG_MAP: return e->size == sizeof(struct cairn_cfg_map);
    case CAIRN_CFG_SECTION: return e->sub && e->size == e->sub->size;
    case CAIRN_CFG_LIST:
    case CAIRN_CFG_KEYED: return e->sub && e->size == sizeof(struct cairn_cfg_list);
    case CAIRN_CFG_VARIANTS: return e->variants && e->size == sizeof(struct cairn_cfg_list);
    }
    return 0;
}

struct flagset {
    const char *names[256];
    size_t n;
};

static int validate(const struct cairn_cfg_table *t, struct flagset *fs, int reach, int depth,
                    struct cairn_err *err)
{
    const char *tn = t->name ? t->name : "?";
    if (depth > 8)
        return 0; /* self-referencing tables were checked on the way down */
    for (const struct cairn_cfg_ignored *ig = t->ignored; ig && ig->key; ig++)
        if (!ig->reason || !*ig->reason || cairn__cfg_ignored_find(t, ig->key, strlen(ig->key)) != ig)
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: ignored key %s twice or without reason",
                                 tn, ig->key);
    for (size_t i = 0; i < t->n; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        const char *k = e->key ? e->key : e->flag ? e->flag : "?";
        if (!entry_size_ok(e) || e->offset + e->size > t->size)
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: key %s: bad size or offset", tn, k);
        if (e->type == CAIRN_CFG_ENUM && !e->names)
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: key %s: enum without names", tn, k);
        if (!e->key && !(e->flags & CAIRN_CFG_CLI_ONLY))
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: entry without key", tn);
        for (size_t j = 0; j < i; j++)
            if (e->key && t->entries[j].key && strcmp(e->key, t->entries[j].key) == 0)
                return cairn_err_set(err, CAIRN_EINVAL, "table %s: key %s twice", tn, k);
        if (e->key && cairn__cfg_ignored_find(t, e->key, strlen(e->key)))
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: key %s both read and ignored",
                                 tn, k);
        if (e->key && !*e->key && t->n != 1)
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: a \"\" key must be alone", tn);
        const char *fl[2] = {e->flag, e->lflag};
        if (fl[0] && fl[1] && strcmp(fl[0], fl[1]) == 0)
            fl[1] = NULL; /* one name serving both forms (-check-syntax, --check-syntax) */
        for (int f = 0; f < 2; f++) {
            if (!fl[f])
                continue;
            if (!reach || e->type >= CAIRN_CFG_SECTION)
                return cairn_err_set(err, CAIRN_EINVAL,
                                     "table %s: key %s: option %s cannot be reached", tn, k, fl[f]);
            for (size_t j = 0; j < fs->n; j++)
                if (strcmp(fs->names[j], fl[f]) == 0)
                    return cairn_err_set(err, CAIRN_EINVAL, "option %s defined twice", fl[f]);
            if (fs->n < sizeof fs->names / sizeof fs->names[0])
                fs->names[fs->n++] = fl[f];
        }
        int rc = 0;
        if (e->type == CAIRN_CFG_SECTION)
            rc = validate(e->sub, fs, reach, depth + 1, err);
        else if (e->type == CAIRN_CFG_LIST || e->type == CAIRN_CFG_KEYED)
            rc = validate(e->sub, fs, 0, depth + 1, err);
        else if (e->type == CAIRN_CFG_VARIANTS)
            for (const struct cairn_cfg_variant *v = e->variants; v->name && rc == 0; v++)
                rc = validate(v->table, fs, 0, depth + 1, err);
        if (e->type == CAIRN_CFG_KEYED && e->key_offset + sizeof(char *) > e->sub->size)
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: key %s: bad key_offset", tn, k);
        if ((e->flags & CAIRN_CFG_OPTIONAL) &&
            (e->type != CAIRN_CFG_SECTION || e->key_offset + sizeof(int) > e->sub->size))
            return cairn_err_set(err, CAIRN_EINVAL, "table %s: key %s: bad optional section",
                                 tn, k);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cairn_cfg_table_validate(const struct cairn_cfg_table *t, struct cairn_err *err)
{
    struct flagset fs = {.n = 0};
    int rc = validate(t, &fs, 1, 0, err);
    if (rc != 0)
        return rc;
    /* every default must parse */
    void *obj = malloc(t->size ? t->size : 1);
    if (!obj)
        return CAIRN_ENOMEM;
    struct cairn_cfg c;
    rc = cairn_cfg_init(&c, t, obj, NULL, err);
    if (rc == 0)
        cairn_cfg_deinit(&c);
    free(obj);
    return rc;
}
