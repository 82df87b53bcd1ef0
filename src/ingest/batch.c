/* batch.c -- the reusable push batch and Loki's per-stream and
 * per-entry validation with Loki's messages (pkg/validation wording).
 *
 * Everything here works on storage the batch keeps between requests: in steady state
 * a push allocates nothing per line or per stream. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/ingest.h"
#include "cairn/smeta.h"
#include "cairn/text.h"
#include "cairn/timeutil.h"

/* ---- limits --------------------------------------------------------------------- */

void cairn_ingest_limits_default(struct cairn_ingest_limits *l)
{
    memset(l, 0, sizeof *l);
    l->max_label_names = CAIRN_MAX_LABEL_NAMES_PER_SERIES;
    l->max_label_name_len = CAIRN_MAX_LABEL_NAME_LENGTH;
    l->max_label_value_len = CAIRN_MAX_LABEL_VALUE_LENGTH;
    l->max_line_size = CAIRN_MAX_LINE_SIZE;
    l->allow_structured_metadata = CAIRN_ALLOW_STRUCTURED_METADATA;
    l->max_sm_size = CAIRN_MAX_STRUCTURED_METADATA_SIZE;
    l->max_sm_entries = CAIRN_MAX_STRUCTURED_METADATA_ENTRIES;
    l->reject_old_samples = 1;
    l->reject_old_max_age_ns = CAIRN_REJECT_OLD_MAX_AGE_NS;
    l->creation_grace_ns = CAIRN_CREATION_GRACE_NS;
    l->max_push_decoded = CAIRN_MAX_PUSH_DECODED;
}

/* ---- tenants ---- */

const char *cairn_ingest_tenant_problem(const char *id, size_t len)
{
    if (len == 0)
        return "tenant ID is empty";
    if (len > CAIRN_TENANT_ID_MAX)
        return "tenant ID is too long: max 150 characters";
    if ((len == 1 && id[0] == '.') || (len == 2 && id[0] == '.' && id[1] == '.'))
        return "tenant ID is '.' or '..'";
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (c == '\0' || !strchr("!-_.*'()", c))
            return c == '|' ? "tenant ID holds '|': several tenants in one query are not supported"
                            : "tenant ID contains an unsupported character";
    }
    return NULL;
}

/* ---- batch ---------------------------------------------------------------------- */

void cairn_ingest_batch_init(struct cairn_ingest_batch *b)
{
    memset(b, 0, sizeof *b);
    cairn_ingest_lcache_init(&b->lcache);
}

void cairn_ingest_batch_deinit(struct cairn_ingest_batch *b)
{
    for (size_t i = 0; i < b->labels_cap; i++)
        cairn_labels_deinit(&b->labels[i]);
    free(b->labels);
    free(b->s);
    free(b->e);
    free(b->ps);
    cairn_buf_deinit(&b->body);
    cairn_buf_deinit(&b->dec);
    cairn_buf_deinit(&b->unesc);
    cairn_buf_deinit(&b->fix);
    cairn_buf_deinit(&b->lfix);
    cairn_buf_deinit(&b->msg);
    cairn_buf_deinit(&b->tmp);
    cairn_buf_deinit(&b->smb);
    cairn_buf_deinit(&b->otlp);
    cairn_buf_deinit(&b->otlp_lines);
    free(b->esm);
    free(b->smref);
    json_decref(b->otlp_doc);
    cairn_ingest_lcache_deinit(&b->lcache);
    memset(b, 0, sizeof *b);
}

void cairn_ingest_batch_reset(struct cairn_ingest_batch *b)
{
    b->n = 0;
    b->ne = 0;
    b->n_errors = 0;
    b->status = 0;
    b->bad_utf8 = 0;
    cairn_buf_reset(&b->body);
    cairn_buf_reset(&b->dec);
    cairn_buf_reset(&b->unesc);
    cairn_buf_reset(&b->fix);
    cairn_buf_reset(&b->msg);
    cairn_buf_reset(&b->smb);
    cairn_buf_reset(&b->otlp_lines);
    json_decref(b->otlp_doc);
    b->otlp_doc = NULL;
}

/* The stream pool (label sets, stream states, store views) is freed as one piece. */
static size_t pool_bytes(const struct cairn_ingest_batch *b)
{
    return b->labels_cap * sizeof *b->labels + b->cap * sizeof *b->s + b->ps_cap * sizeof *b->ps;
}

static void free_pool(struct cairn_ingest_batch *b)
{
    for (size_t i = 0; i < b->labels_cap; i++)
        cairn_labels_deinit(&b->labels[i]);
    free(b->labels);
    b->labels = NULL;
    b->labels_cap = 0;
    free(b->s);
    b->s = NULL;
    b->cap = b->n = 0;
    free(b->ps);
    b->ps = NULL;
    b->ps_cap = 0;
}

void cairn_ingest_batch_trim(struct cairn_ingest_batch *b, size_t keep)
{
    struct cairn_buf *bufs[] = {&b->body, &b->dec, &b->unesc, &b->fix, &b->lfix, &b->msg, &b->tmp,
                               &b->smb, &b->otlp, &b->otlp_lines};
    enum { NBUF = sizeof bufs / sizeof bufs[0], ENTRIES = NBUF, POOL = NBUF + 1 };
    for (;;) { /* free the biggest piece until the rest fits */
        size_t size[NBUF + 2], total = 0, big = 0;
        for (size_t i = 0; i < NBUF; i++)
            size[i] = bufs[i]->cap;
        size[ENTRIES] = b->ecap * (sizeof *b->e + sizeof *b->esm);
        size[POOL] = pool_bytes(b);
        for (size_t i = 0; i < NBUF + 2; i++) {
            total += size[i];
            if (size[i] > size[big])
                big = i;
        }
        if (total <= keep || size[big] == 0)
            return;
        if (big < NBUF) {
            cairn_buf_deinit(bufs[big]);
        } else if (big == ENTRIES) {
            free(b->e);
            free(b->esm);
            b->e = NULL;
            b->esm = NULL;
            b->ecap = b->ne = 0;
        } else {
            free_pool(b);
        }
    }
}

int cairn_ingest_batch_stream(struct cairn_ingest_batch *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct cairn_ingest_bstream *s = realloc(b->s, cap * sizeof *s);
        if (!s)
            return CAIRN_ENOMEM;
        b->s = s;
        b->cap = cap;
    }
    if (b->n == b->labels_cap) {
        size_t cap = b->labels_cap ? b->labels_cap * 2 : 16;
        struct cairn_labels *l = realloc(b->labels, cap * sizeof *l);
        if (!l)
            return CAIRN_ENOMEM;
        b->labels = l;
        for (size_t i = b->labels_cap; i < cap; i++)
            cairn_labels_init(&l[i]);
        b->labels_cap = cap;
    }
    cairn_labels_reset(&b->labels[b->n]);
    b->s[b->n] = (struct cairn_ingest_bstream){.first = b->ne};
    return (int)b->n++;
}

int cairn_ingest_batch_entry(struct cairn_ingest_batch *b, int64_t ts, const char *line, size_t len)
{
    if (b->ne == b->ecap) {
        size_t cap = b->ecap ? b->ecap * 2 : 1024;
        struct cairn_entry *e = realloc(b->e, cap * sizeof *e);
        if (!e)
            return CAIRN_ENOMEM;
        b->e = e;
        struct cairn_ingest_esm *m = realloc(b->esm, cap * sizeof *m);
        if (!m)
            return CAIRN_ENOMEM; /* e grew: harmless, ecap stays */
        b->esm = m;
        b->ecap = cap;
    }
    b->esm[b->ne] = (struct cairn_ingest_esm){0, 0};
    b->e[b->ne++] = (struct cairn_entry){ts, line, len};
    b->s[b->n - 1].n++;
    return 0;
}

int cairn_ingest_batch_entry_sm(struct cairn_ingest_batch *b, int64_t ts, const char *line,
                                 size_t len, size_t mark)
{
    int rc = cairn_ingest_batch_entry(b, ts, line, len);
    if (!rc)
        b->esm[b->ne - 1] = (struct cairn_ingest_esm){mark, b->smb.len - mark};
    return rc;
}

int cairn_ingest_sm_refs(struct cairn_ingest_batch *b)
{
    b->has_sm = 0;
    for (size_t i = 0; i < b->n && !b->has_sm; i++)
        for (size_t j = 0; j < b->s[i].n && !b->has_sm; j++)
            b->has_sm = b->esm[b->s[i].first + j].len != 0;
    if (!b->has_sm)
        return 0;
    if (b->smref_cap < b->ne) {
        struct cairn_sm_ref *r = realloc(b->smref, b->ne * sizeof *r);
        if (!r)
            return CAIRN_ENOMEM;
        b->smref = r;
        b->smref_cap = b->ne;
    }
    for (size_t i = 0; i < b->ne; i++)
        b->smref[i] = (struct cairn_sm_ref){b->smb.data + b->esm[i].off, b->esm[i].len};
    return 0;
}

void cairn_ingest_fail(struct cairn_ingest_batch *b, int status, const char *fmt, ...)
{
    if (status > b->status)
        b->status = status;
    if (b->n_errors++ >= CAIRN_PUSH_MAX_ERROR_LINES)
        return;
    va_list ap;
    va_start(ap, fmt);
    size_t keep = b->msg.len;
    /* Out of memory while reporting: drop the message, the status still stands. */
    if (cairn_buf_vappendf(&b->msg, fmt, ap) || cairn_buf_append_byte(&b->msg, '\n'))
        cairn_buf_truncate(&b->msg, keep);
    va_end(ap);
}

const char *cairn_ingest_stream_text(struct cairn_ingest_batch *b, size_t i)
{
    cairn_buf_reset(&b->tmp);
    if (cairn_labels_format(&b->labels[i], &b->tmp))
        return "{...}";
    return cairn_buf_cstr(&b->tmp);
}

int cairn_ingest_fix_utf8(struct cairn_ingest_batch *b, size_t max)
{
    if (!b->bad_utf8)
        return 0;
    /* Size every repair first: one reservation, so repaired lines never move. */
    size_t need = 0;
    for (size_t i = 0; i < b->ne && need <= max; i++)
        if (!cairn_utf8_valid(b->e[i].line, b->e[i].len))
            need += cairn_utf8_fixed_len(b->e[i].line, b->e[i].len);
    if (need > max)
        return CAIRN_ELIMIT;
    cairn_buf_reset(&b->fix);
    int rc = cairn_ingest_reserve(&b->fix, need, &b->charge);
    if (rc)
        return rc;
    for (size_t i = 0; i < b->ne; i++) {
        struct cairn_entry *e = &b->e[i];
        if (cairn_utf8_valid(e->line, e->len))
            continue;
        char *o = b->fix.data + b->fix.len;
        size_t n = cairn_utf8_fix(o, e->line, e->len);
        b->fix.len += n;
        e->line = o;
        e->len = n;
    }
    b->fix.data[b->fix.len] = '\0';
    return 0;
}

/* ---- validation ----------------------------------------------------------------- */

void cairn_ingest_labels_check(struct cairn_ingest_batch *b, size_t i,
                              const struct cairn_ingest_limits *lim)
{
    struct cairn_labels *ls = &b->labels[i];
    struct cairn_ingest_bstream *s = &b->s[i];
    /* Loki's own wording for lengths first (cairn_labels_validate words them its
     * way), then the shared validator for the rest. */
    for (size_t j = 0; j < ls->n && ls->n <= lim->max_label_names; j++) {
        const struct cairn_label *l = &ls->v[j];
        if (l->name_len > lim->max_label_name_len) {
            s->bad = 1;
            cairn_ingest_fail(b, 400, "stream '%s' has label name too long: '%s'",
                             cairn_ingest_stream_text(b, i), l->name);
            return;
        }
        if (l->value_len > lim->max_label_value_len) {
            s->bad = 1;
            cairn_ingest_fail(b, 400, "stream '%s' has label value too long: '%s'",
                             cairn_ingest_stream_text(b, i), l->value);
            return;
        }
    }
    struct cairn_labels_limits ll = {lim->max_label_names, lim->max_label_name_len,
                                     lim->max_label_value_len};
    struct cairn_err err;
    if (cairn_labels_validate(ls, &ll, &err)) {
        s->bad = 1;
        cairn_ingest_fail(b, 400, "%s", err.msg);
    }
}

void cairn_ingest_stream_labels(struct cairn_ingest_batch *b, size_t i, const char *text,
                                 size_t len, const struct cairn_ingest_limits *lim)
{
    struct cairn_err le;
    int tl = len > INT32_MAX ? INT32_MAX : (int)len;
    uint64_t h = 0;
    if (len && len <= CAIRN_INGEST_LCACHE_MAX_TEXT) {
        cairn_ingest_lcache_limits(&b->lcache, lim);
        h = cairn_ingest_lcache_hash(text, len);
        if (cairn_ingest_lcache_get(&b->lcache, text, len, h, &b->labels[i], &b->s[i].fp)) {
            b->s[i].fp_set = 1;
            return;
        }
    }
    size_t good = cairn_utf8_valid_prefix(text, len);
    if (good < len) {
        /* Loki parses the text with Prometheus' lexer, which refuses invalid UTF-8 in
         * a quoted value. The message shows the text with U+FFFD for the bad bytes. */
        size_t show = len < CAIRN_INGEST_LCACHE_MAX_TEXT ? len : CAIRN_INGEST_LCACHE_MAX_TEXT;
        cairn_buf_reset(&b->lfix);
        if (cairn_buf_reserve(&b->lfix, cairn_utf8_fixed_len(text, show)) == 0)
            b->lfix.len = cairn_utf8_fix(b->lfix.data, text, show);
        b->s[i].bad = 1;
        cairn_ingest_fail(b, 400, "Error parsing labels '%.*s' with error: 1:%zu: parse error: "
                           "invalid UTF-8 rune", (int)b->lfix.len, cairn_buf_cstr(&b->lfix),
                           good + 1);
        return;
    }
    if (len == 0 || (len == 2 && memcmp(text, "{}", 2) == 0)) {
        b->s[i].bad = 1;
        cairn_ingest_fail(b, 400, "error at least one label pair is required per stream");
    } else if (cairn_labels_parse(&b->labels[i], text, len, &le)) {
        b->s[i].bad = 1;
        if (strncmp(le.msg, "duplicate label name", 20) == 0) {
            const char *q = strchr(le.msg, '\'');
            cairn_ingest_fail(b, 400, "stream '%.*s' has duplicate label name: %s", tl, text,
                               q ? q : le.msg);
        } else {
            cairn_ingest_fail(b, 400, "Error parsing labels '%.*s' with error: %s", tl, text,
                               le.msg);
        }
    } else {
        cairn_ingest_labels_check(b, i, lim);
        if (!b->s[i].bad && len <= CAIRN_INGEST_LCACHE_MAX_TEXT) {
            b->s[i].fp = cairn_labels_fingerprint(&b->labels[i]);
            b->s[i].fp_set = 1;
            cairn_ingest_lcache_put(&b->lcache, text, len, h, &b->labels[i], b->s[i].fp);
        }
    }
}

static void fmt_time(int64_t ns, char *out, size_t cap)
{
    cairn_format_rfc3339(ns, out, cap);
}

/* Loki 3's structured metadata checks (validation.go's wording): 1 (message recorded)
 * when the entry's metadata is refused. */
static int sm_refused(struct cairn_ingest_batch *b, const struct cairn_ingest_limits *lim, size_t i,
                      const char *sm, size_t sm_len)
{
    size_t count, bytes;
    if (!lim->allow_structured_metadata) {
        cairn_ingest_fail(b, 400, "stream '%s' includes structured metadata, but this feature "
                           "is disallowed. Please see `limits_config.allow_structured_metadata` "
                           "or contact your Loki administrator to enable it.",
                           cairn_ingest_stream_text(b, i));
        return 1;
    }
    if (cairn_smeta_stats(sm, sm_len, &count, &bytes)) {
        cairn_ingest_fail(b, 400, "stream '%s' has malformed structured metadata",
                           cairn_ingest_stream_text(b, i));
        return 1;
    }
    if (lim->max_sm_size && bytes > lim->max_sm_size) {
        cairn_ingest_fail(b, 400, "stream '%s' has structured metadata too large: '%zu' bytes, "
                           "limit: '%zu' bytes. Please see "
                           "`limits_config.max_structured_metadata_size` or contact your Loki "
                           "administrator to increase it.",
                           cairn_ingest_stream_text(b, i), bytes, lim->max_sm_size);
        return 1;
    }
    if (lim->max_sm_entries && count > lim->max_sm_entries) {
        cairn_ingest_fail(b, 400, "stream '%s' has too many structured metadata labels: '%zu', "
                           "limit: '%zu'. Please see "
                           "`limits_config.max_structured_metadata_entries_count` or contact "
                           "your Loki administrator to increase it.",
                           cairn_ingest_stream_text(b, i), count, lim->max_sm_entries);
        return 1;
    }
    return 0;
}

size_t cairn_ingest_validate(struct cairn_ingest_batch *b, const struct cairn_ingest_limits *lim,
                            int64_t now_ns, size_t *bytes)
{
    size_t total = 0, total_bytes = 0;
    int64_t oldest = lim->reject_old_samples ? now_ns - lim->reject_old_max_age_ns : INT64_MIN;
    int64_t newest = now_ns + lim->creation_grace_ns;
    for (size_t i = 0; i < b->n; i++) {
        struct cairn_ingest_bstream *s = &b->s[i];
        s->bytes = 0;
        if (s->bad)
            s->n = 0;
        if (!s->n)
            continue;
        struct cairn_entry *e = b->e + s->first;
        size_t kept = 0;
        for (size_t j = 0; j < s->n; j++) {
            const struct cairn_entry *x = &e[j];
            if (lim->max_line_size && x->len > lim->max_line_size) {
                cairn_ingest_fail(b, 400,
                                 "Max entry size '%zu' bytes exceeded for stream '%s' while "
                                 "adding an entry with length '%zu' bytes",
                                 lim->max_line_size, cairn_ingest_stream_text(b, i), x->len);
                continue;
            }
            const struct cairn_ingest_esm *xm = &b->esm[s->first + j];
            if (xm->len && sm_refused(b, lim, i, b->smb.data + xm->off, xm->len))
                continue;
            if (x->ts < oldest) {
                char t[48], o[48];
                fmt_time(x->ts, t, sizeof t);
                fmt_time(oldest, o, sizeof o);
                cairn_ingest_fail(b, 400,
                                 "entry for stream '%s' has timestamp too old: %s, "
                                 "oldest acceptable timestamp is: %s",
                                 cairn_ingest_stream_text(b, i), t, o);
                continue;
            }
            if (x->ts > newest) {
                char t[48];
                fmt_time(x->ts, t, sizeof t);
                cairn_ingest_fail(b, 400, "entry for stream '%s' has timestamp too new: %s",
                                 cairn_ingest_stream_text(b, i), t);
                continue;
            }
            if (kept != j) {
                e[kept] = *x;
                b->esm[s->first + kept] = *xm;
            }
            kept++;
            s->bytes += x->len;
        }
        s->n = kept;
        if (kept) {
            if (!s->fp_set)
                s->fp = cairn_labels_fingerprint(&b->labels[i]);
            total += kept;
            total_bytes += s->bytes;
        }
    }
    *bytes = total_bytes;
    return total;
}
