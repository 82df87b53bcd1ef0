/* pushdown.c -- label filters decided on the raw line before any parser runs: a
 * line that cannot hold the value a `name="value"` filter wants is dropped on one
 * literal search, so `| json | level="error"` parses only the lines holding "error".
 *
 * Why it is exact. Every label the pipeline has when the filter runs comes from the
 * stream or from a parser stage (json, logfmt, regexp, pattern) over the unchanged
 * line, as long as only line filters, parsers, label filters, drop and keep come
 * before it (line_format, label_format, unpack and decolorize end the prefix: they
 * make values or lines of their own). A parser's value is a run of the line's bytes,
 * except for quoted strings with backslash escapes (json, logfmt), which it decodes:
 * a short escape (\" \\ \/ \b \f \n \r \t) gives one of the bytes " \ / BS FF LF CR
 * TAB, and only another escape (\u; logfmt keeps an unknown one with its backslash)
 * gives anything else. So for a value V without those bytes, a parsed label equal to
 * V means V is in the line or the line has a backslash that does not start a short
 * escape; for any other V, V is in the line or the line has a backslash. An absent
 * label is "", which V != "" never equals. One exception: `| json` reads malformed
 * lines as jsoniter does, and its ReadBool gives "true" for a 't' followed by any
 * three bytes and "false" for other bytes once an error is set (pipeline_json.c), so
 * behind a json stage the values "true" and "false" are never pushed down.
 *
 * Leaves that push down: `name = "V"` and `name =~ "A|B|..."` (literal alternatives,
 * none empty: anchored, the value is one of them) with V non-empty, on a name that
 * does not start with "__" (the pipeline's own labels) and is not one of the stream's
 * labels (then the filter reads the stream's value; checked per stream). `and` drops
 * when either side drops, `or` when both do; any other leaf (!=, !~, numbers,
 * durations, bytes, ip) is "maybe". A maybe keeps the line for the full pipeline,
 * which decides exactly: the pushdown only ever drops lines the filter would drop. */
#include <stdlib.h>
#include <string.h>

#include "logql/pipeline_int.h"

enum pd_kind { PD_MAYBE, PD_AND, PD_OR, PD_ANY };

struct pd_node {
    enum pd_kind kind;
    uint32_t l, r;           /* PD_AND / PD_OR: children */
    uint32_t lit0, nlit;     /* PD_ANY: the line must hold one of lits[lit0..+nlit) */
    int strict;              /* PD_ANY: a short escape could make one of their bytes */
    const char *name;        /* PD_ANY: the label */
    size_t name_len;
};

struct cairn__pushdown {
    struct pd_node *v;
    size_t n, cap;
    struct lf_alt *lits;
    size_t nlits, litcap;
    uint32_t *roots;         /* one per pushed label filter stage */
    size_t nroots;
    int json_bools;          /* a `| json` precedes: "true"/"false" may be made up */
};

static long node_new(struct cairn__pushdown *pd, enum pd_kind kind)
{
    if (pd->n == pd->cap) {
        size_t cap = pd->cap ? pd->cap * 2 : 8;
        struct pd_node *v = realloc(pd->v, cap * sizeof *v);
        if (!v)
            return CAIRN_ENOMEM;
        pd->v = v;
        pd->cap = cap;
    }
    memset(&pd->v[pd->n], 0, sizeof pd->v[pd->n]);
    pd->v[pd->n].kind = kind;
    return (long)pd->n++;
}

static int lit_add(struct cairn__pushdown *pd, const char *p, size_t len)
{
    if (pd->nlits == pd->litcap) {
        size_t cap = pd->litcap ? pd->litcap * 2 : 8;
        struct lf_alt *v = realloc(pd->lits, cap * sizeof *v);
        if (!v)
            return CAIRN_ENOMEM;
        pd->lits = v;
        pd->litcap = cap;
    }
    cairn__lit_init(&pd->lits[pd->nlits++], p, len);
    return 0;
}

/* Could a short escape (or logfmt's kept unknown one) produce this byte? */
static int escapable(unsigned char c)
{
    return c == '"' || c == '\\' || c == '/' || c == '\b' || c == '\f' || c == '\n' ||
           c == '\r' || c == '\t';
}

/* `=~` source made only of literal alternatives, none empty? */
static int literal_alts(const char *p, size_t n)
{
    if (!n)
        return 0;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '|') {
            if (!run)
                return 0;
            run = 0;
            continue;
        }
        if (strchr("\\.+*?()[]{}^$", p[i]))
            return 0;
        run++;
    }
    return run > 0;
}

/* Compile one label filter into nodes; the node's index, or a negative error. */
static long compile(struct cairn__pushdown *pd, const struct cairn_lq_label_filter *f)
{
    if (f->kind == CAIRN_LQ_LF_AND || f->kind == CAIRN_LQ_LF_OR) {
        long l = compile(pd, f->left);
        if (l < 0)
            return l;
        long r = compile(pd, f->right);
        if (r < 0)
            return r;
        long k = node_new(pd, f->kind == CAIRN_LQ_LF_AND ? PD_AND : PD_OR);
        if (k >= 0) {
            pd->v[k].l = (uint32_t)l;
            pd->v[k].r = (uint32_t)r;
        }
        return k;
    }
    const struct cairn_matcher *m = &f->m;
    int usable = f->kind == CAIRN_LQ_LF_STRING && m->name_len &&
                 !(m->name_len >= 2 && m->name[0] == '_' && m->name[1] == '_') &&
                 ((m->type == CAIRN_MATCH_EQ && m->value_len) ||
                  (m->type == CAIRN_MATCH_RE && literal_alts(m->value, m->value_len)));
    if (!usable)
        return node_new(pd, PD_MAYBE);
    if (pd->json_bools) {
        for (size_t a = 0, b; a <= m->value_len; a = b + 1) {
            const char *bar = m->type == CAIRN_MATCH_RE ? memchr(m->value + a, '|', m->value_len - a) : NULL;
            b = bar ? (size_t)(bar - m->value) : m->value_len;
            if ((b - a == 4 && memcmp(m->value + a, "true", 4) == 0) ||
                (b - a == 5 && memcmp(m->value + a, "false", 5) == 0))
                return node_new(pd, PD_MAYBE);
        }
    }
    long k = node_new(pd, PD_ANY);
    if (k < 0)
        return k;
    struct pd_node *nd = &pd->v[k];
    nd->name = m->name;
    nd->name_len = m->name_len;
    nd->lit0 = (uint32_t)pd->nlits;
    for (size_t i = 0; i < m->value_len; i++)
        if (escapable((unsigned char)m->value[i]))
            nd->strict = 1;
    if (m->type == CAIRN_MATCH_EQ)
        return lit_add(pd, m->value, m->value_len) ? CAIRN_ENOMEM : (pd->v[k].nlit = 1, k);
    for (size_t a = 0, b; a < m->value_len; a = b + 1) { /* literal_alts checked them */
        const char *bar = memchr(m->value + a, '|', m->value_len - a);
        b = bar ? (size_t)(bar - m->value) : m->value_len;
        if (lit_add(pd, m->value + a, b - a))
            return CAIRN_ENOMEM;
        pd->v[k].nlit++;
    }
    return k;
}

struct pd_line {
    const char *p;
    size_t len;
    const struct cairn_labels *stream;
    int bs, odd; /* has a backslash, has_odd_escape(): -1 not looked yet */
};

static int has_bs(struct pd_line *ln)
{
    if (ln->bs < 0)
        ln->bs = memchr(ln->p, '\\', ln->len) != NULL;
    return ln->bs;
}

/* A backslash that is not one of the short escapes a parser decodes to one of the
 * escapable() bytes (\" \\ \/ \b \f \n \r \t): \u, or anything a parser might read
 * as more. Runs of backslashes are paired from their start, as a parser does. */
static int has_odd_escape(struct pd_line *ln)
{
    if (ln->odd < 0) {
        ln->odd = 0;
        const char *q = ln->p, *end = ln->p + ln->len;
        while (has_bs(ln) && (q = memchr(q, '\\', (size_t)(end - q)))) {
            if (++q == end || !*q || !strchr("\"\\/bfnrt", *q)) {
                ln->odd = 1;
                break;
            }
            q++; /* the escaped byte does not start another escape */
        }
    }
    return ln->odd;
}

/* Can the label filter under node k keep this line? */
static int can_keep(const struct cairn__pushdown *pd, uint32_t k, struct pd_line *ln)
{
    const struct pd_node *nd = &pd->v[k];
    switch (nd->kind) {
    case PD_MAYBE:
        return 1;
    case PD_AND:
        return can_keep(pd, nd->l, ln) && can_keep(pd, nd->r, ln);
    case PD_OR:
        return can_keep(pd, nd->l, ln) || can_keep(pd, nd->r, ln);
    case PD_ANY:
        for (uint32_t i = 0; i < nd->nlit; i++)
            if (cairn__lit_find(&pd->lits[nd->lit0 + i], ln->p, ln->len))
                return 1;
        if (nd->strict ? has_bs(ln) : has_odd_escape(ln))
            return 1;
        /* the stream's own label is what the filter reads, whatever the line holds
         * (a handful of labels: lengths first, no search) */
        for (size_t i = 0; i < ln->stream->n; i++) {
            const struct cairn_label *l = &ln->stream->v[i];
            if (l->name_len == nd->name_len && memcmp(l->name, nd->name, nd->name_len) == 0)
                return 1;
        }
        return 0;
    }
    return 1;
}

int cairn__pushdown_create(const struct stage_rt *v, size_t n, struct cairn__pushdown **out)
{
    *out = NULL;
    struct cairn__pushdown *pd = NULL;
    int json_bools = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cairn_lq_stage *st = v[i].st;
        switch (st->kind) {
        case CAIRN_LQ_STAGE_JSON:
            json_bools |= !st->nparams;
            continue;
        case CAIRN_LQ_STAGE_LINE_FILTER:
        case CAIRN_LQ_STAGE_LOGFMT:
        case CAIRN_LQ_STAGE_REGEXP:
        case CAIRN_LQ_STAGE_PATTERN:
        case CAIRN_LQ_STAGE_DROP:
        case CAIRN_LQ_STAGE_KEEP:
            continue;
        case CAIRN_LQ_STAGE_LABEL_FILTER:
            break;
        default:
            i = n; /* the end of the prefix */
            continue;
        }
        if (!pd && !(pd = calloc(1, sizeof *pd)))
            return CAIRN_ENOMEM;
        pd->json_bools = json_bools;
        size_t mark = pd->n, lmark = pd->nlits;
        long k = compile(pd, st->lf);
        if (k < 0) {
            cairn__pushdown_destroy(pd);
            return (int)k;
        }
        if (pd->v[k].kind == PD_MAYBE) { /* nothing to decide here: forget it */
            pd->n = mark;
            pd->nlits = lmark;
            continue;
        }
        uint32_t *roots = realloc(pd->roots, (pd->nroots + 1) * sizeof *roots);
        if (!roots) {
            cairn__pushdown_destroy(pd);
            return CAIRN_ENOMEM;
        }
        pd->roots = roots;
        pd->roots[pd->nroots++] = (uint32_t)k;
    }
    if (pd && !pd->nroots) {
        cairn__pushdown_destroy(pd);
        pd = NULL;
    }
    *out = pd;
    return 0;
}

void cairn__pushdown_destroy(struct cairn__pushdown *pd)
{
    if (!pd)
        return;
    free(pd->v);
    free(pd->lits);
    free(pd->roots);
    free(pd);
}

int cairn__pushdown_keep(struct cairn__pushdown *pd, const struct cairn_labels *stream,
                         const char *line, size_t len)
{
    if (!stream)
        return 1;
    struct pd_line ln = {line ? line : "", len, stream, -1, -1};
    for (size_t i = 0; i < pd->nroots; i++)
        if (!can_keep(pd, pd->roots[i], &ln))
            return 0;
    return 1;
}
