/* dump.c -- the effective configuration as YAML (GET /config, --print-config), with
 * secrets masked. The output loads back into the same configuration. */
#include <string.h>

#include "config/config_int.h"

#define MASK "\"<secret>\"" /* what a SECRET value that is set dumps as */

static int emit_table(struct cairn_buf *b, const struct cairn_cfg_table *t, const void *obj,
                      int indent, int *dash);

static int dumpable(const struct cairn_cfg_entry *e)
{
    return e->key && !(e->flags & (CAIRN_CFG_CLI_ONLY | CAIRN_CFG_ALIAS));
}

static int count_dumpable(const struct cairn_cfg_table *t)
{
    int n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += dumpable(&t->entries[i]);
    return n;
}

/* Start a line at indent; a pending list dash goes two columns to the left. */
static int line_start(struct cairn_buf *b, int indent, int *dash)
{
    if (dash && *dash) {
        *dash = 0;
        return cairn_buf_appendf(b, "%*s- ", indent - 2, "");
    }
    return cairn_buf_appendf(b, "%*s", indent, "");
}

static int emit_entry(struct cairn_buf *b, const struct cairn_cfg_entry *e, const char *key,
                      const void *field, int indent, int *dash)
{
    int rc = line_start(b, indent, dash);
    rc |= cairn__cfg_format_str(key, b);
    rc |= cairn_buf_append_byte(b, ':');
    if (rc)
        return CAIRN_ENOMEM;
    switch (e->type) {
    case CAIRN_CFG_SECTION:
        if (count_dumpable(e->sub) == 0)
            return cairn_buf_append_str(b, " {}\n");
        rc = cairn_buf_append_byte(b, '\n');
        return rc ? rc : emit_table(b, e->sub, field, indent + 2, NULL);
    case CAIRN_CFG_STRLIST: {
        const struct cairn_cfg_strlist *l = field;
        if (l->n == 0)
            return cairn_buf_append_str(b, " []\n");
        rc = cairn_buf_append_byte(b, '\n');
        for (size_t i = 0; i < l->n && rc == 0; i++) {
            rc |= cairn_buf_appendf(b, "%*s- ", indent + 2, "");
            rc |= (e->flags & CAIRN_CFG_SECRET) ? cairn_buf_append_str(b, MASK)
                                                : cairn__cfg_format_str(l->v[i], b);
            rc |= cairn_buf_append_byte(b, '\n');
        }
        return rc ? CAIRN_ENOMEM : 0;
    }
    case CAIRN_CFG_MAP: {
        const struct cairn_cfg_map *m = field;
        if (m->n == 0)
            return cairn_buf_append_str(b, " {}\n");
        rc = cairn_buf_append_byte(b, '\n');
        for (size_t i = 0; i < m->n && rc == 0; i++) {
            rc |= cairn_buf_appendf(b, "%*s", indent + 2, "");
            rc |= cairn__cfg_format_str(m->v[i].key, b);
            rc |= cairn_buf_append_byte(b, ':');
            if (m->v[i].value) {
                rc |= cairn_buf_append_byte(b, ' ');
                if (e->flags & CAIRN_CFG_SECRET)
                    rc |= cairn_buf_append_str(b, MASK);
                else if (m->v[i].value[0])
                    rc |= cairn__cfg_format_str(m->v[i].value, b);
                else
                    rc |= cairn_buf_append_str(b, "\"\"");
            }
            rc |= cairn_buf_append_byte(b, '\n');
        }
        return rc ? CAIRN_ENOMEM : 0;
    }
    case CAIRN_CFG_LIST:
    case CAIRN_CFG_KEYED:
    case CAIRN_CFG_VARIANTS: {
        const struct cairn_cfg_list *l = field;
        if (l->n == 0)
            return cairn_buf_append_str(b, e->type == CAIRN_CFG_KEYED ? " {}\n" : " []\n");
        rc = cairn_buf_append_byte(b, '\n');
        for (size_t i = 0; i < l->n && rc == 0; i++) {
            if (e->type == CAIRN_CFG_VARIANTS) {
                const struct cairn_cfg_tagged *tg = (const struct cairn_cfg_tagged *)l->v + i;
                const struct cairn_cfg_variant *v = &e->variants[tg->kind];
                const struct cairn_cfg_entry *whole = cairn__cfg_whole_entry(v->table);
                int d = 1;
                if (whole) {
                    rc = emit_entry(b, whole, v->name, (const char *)tg->data + whole->offset,
                                    indent + 4, &d);
                } else if (count_dumpable(v->table) == 0) {
                    rc = cairn_buf_appendf(b, "%*s- %s: {}\n", indent + 2, "", v->name);
                } else {
                    rc = cairn_buf_appendf(b, "%*s- %s:\n", indent + 2, "", v->name);
                    rc = rc ? rc : emit_table(b, v->table, tg->data, indent + 6, NULL);
                }
                continue;
            }
            const char *el = (const char *)l->v + i * e->sub->size;
            if (e->type == CAIRN_CFG_KEYED) {
                const char *k;
                memcpy(&k, el + e->key_offset, sizeof k);
                rc |= cairn_buf_appendf(b, "%*s", indent + 2, "");
                rc |= cairn__cfg_format_str(k ? k : "", b);
                rc |= cairn_buf_append_str(b, count_dumpable(e->sub) ? ":\n" : ": {}\n");
                rc = rc ? CAIRN_ENOMEM : emit_table(b, e->sub, el, indent + 4, NULL);
            } else if (count_dumpable(e->sub) == 0) {
                rc = cairn_buf_appendf(b, "%*s- {}\n", indent + 2, "");
            } else {
                int d = 1;
                rc = emit_table(b, e->sub, el, indent + 4, &d);
            }
        }
        return rc;
    }
    default:
        rc = cairn_buf_append_byte(b, ' ');
        rc |= cairn__cfg_format_scalar(e, field, 1, b);
        rc |= cairn_buf_append_byte(b, '\n');
        return rc ? CAIRN_ENOMEM : 0;
    }
}

static int emit_table(struct cairn_buf *b, const struct cairn_cfg_table *t, const void *obj,
                      int indent, int *dash)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        if (!dumpable(e) || !*e->key ||
            (e->type == CAIRN_CFG_SECTION &&
             !cairn__cfg_section_present(e, (const char *)obj + e->offset)))
            continue;
        int rc = emit_entry(b, e, e->key, (const char *)obj + e->offset, indent, dash);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cairn_cfg_dump(const struct cairn_cfg *c, struct cairn_buf *out)
{
    size_t start = out->len;
    int rc = emit_table(out, c->table, c->obj, 0, NULL);
    if (rc != 0)
        cairn_buf_truncate(out, start);
    return rc;
}
