/* query_batch.c -- `cairn query --limit N --batch B`: page through a log query B entries
 * per request until N are printed or the range is exhausted, as logcli does.
 *
 * The API's range is [start, end). Going backward, the next page ends just after the
 * oldest timestamp seen (end = ts + 1), so entries that share that timestamp and did
 * not fit in the page come in the next one; going forward the next page starts at the
 * newest timestamp seen. Entries at the boundary timestamp that were already printed
 * are recognised by (ts, labels, line) and dropped, so nothing is printed twice and
 * nothing at a boundary is lost. When a page is full of already-seen entries (more
 * than B entries at one timestamp), the next request asks for B more than were seen
 * there; should even that bring nothing new, it is an error, never a silent loss.
 *
 * All pages are printed once at the end, so --fields columns align across pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/timeutil.h"
#include "cmd/query_int.h"

struct pager {
    json_t **docs; /* every page's decoded reply: the rows view into them */
    struct query_rows *pages;
    size_t ndocs, capdocs, cappages;
    struct query_row *out; /* the rows to print, in order */
    size_t nout, capout;
    size_t *seen; /* indices in out of the printed rows at the boundary timestamp */
    size_t nseen, capseen;
    int64_t boundary;
    int bounded; /* a page came back: boundary is set */
};

static int seen_at_boundary(const struct pager *pg, const struct query_row *r)
{
    for (size_t i = 0; i < pg->nseen; i++) {
        const struct query_row *s = &pg->out[pg->seen[i]];
        if (s->ts == r->ts && strcmp(s->stream, r->stream) == 0 && strcmp(s->line, r->line) == 0)
            return 1;
    }
    return 0;
}

static int push_ptr(void *arrp, size_t *n, size_t *cap, size_t size)
{
    if (*n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    void *p = realloc(*(void **)arrp, nc * size);
    if (!p)
        return CAIRN_ENOMEM;
    *(void **)arrp = p;
    *cap = nc;
    return 0;
}

/* Fetch one page; 0 with *got rows (all of them, seen or not) and *fresh new ones
 * appended to pg->out, 1 after a message. */
static int page(const struct query_opts *o, const char *query, struct pager *pg, long want,
                const char *from, const char *to, size_t *got, size_t *fresh)
{
    CURL *esc = curl_easy_init();
    struct cairn_buf params = CAIRN_BUF_INIT;
    struct query_reply reply = {CAIRN_BUF_INIT, 0};
    char lim[32];
    int rc = 1;
    snprintf(lim, sizeof lim, "%ld", want);
    if (!esc || cairn__qparam(esc, &params, "query", query) |
                    cairn__qparam(esc, &params, "limit", lim) |
                    cairn__qparam(esc, &params, "direction", o->forward ? "forward" : "backward") |
                    cairn__qparam(esc, &params, "start", from) |
                    cairn__qparam(esc, &params, "end", to)) {
        fprintf(stderr, "cairn query: out of memory\n");
        goto out;
    }
    if (cairn__query_http_get(o, "/loki/api/v1/query_range", &params, &reply))
        goto out;
    json_error_t je;
    json_t *doc = json_loadb(cairn_buf_cstr(&reply.body), reply.body.len,
                             JSON_DECODE_INT_AS_REAL, &je);
    json_t *data = json_object_get(doc, "data");
    json_t *rt = json_object_get(data, "resultType");
    if (reply.status != 200 || !doc || !json_is_string(rt) ||
        strcmp(json_string_value(rt), "streams") != 0) {
        fprintf(stderr, "cairn query: server answered %ld: %s\n", reply.status,
                cairn_buf_cstr(&reply.body));
        json_decref(doc);
        goto out;
    }
    if (o->stats)
        cairn__query_print_stats(cairn_buf_cstr(&reply.body), reply.body.len);
    size_t cp = pg->cappages;
    if (push_ptr(&pg->docs, &pg->ndocs, &pg->capdocs, sizeof *pg->docs) ||
        push_ptr(&pg->pages, &pg->ndocs, &cp, sizeof *pg->pages)) {
        json_decref(doc);
        goto oom;
    }
    if (cp != pg->cappages) {
        memset(pg->pages + pg->cappages, 0, (cp - pg->cappages) * sizeof *pg->pages);
        pg->cappages = cp;
    }
    pg->docs[pg->ndocs] = doc;
    struct query_rows *pr = &pg->pages[pg->ndocs++];
    if (cairn__query_rows_collect(o, json_object_get(data, "result"), o->forward, pr)) {
        fprintf(stderr, "cairn query: out of memory\n");
        goto out;
    }
    *got = pr->n;
    *fresh = 0;
    /* Rows are ordered in the query's direction; the page's far edge becomes the
     * boundary. Rows beyond the previous boundary (already covered) are skipped. */
    for (size_t i = 0; i < pr->n; i++) {
        const struct query_row *r = &pr->rows[i];
        if (pg->bounded && (o->forward ? r->ts < pg->boundary : r->ts > pg->boundary))
            continue;
        if (pg->bounded && r->ts == pg->boundary && seen_at_boundary(pg, r))
            continue;
        if (push_ptr(&pg->out, &pg->nout, &pg->capout, sizeof *pg->out))
            goto oom;
        pg->out[pg->nout++] = *r;
        (*fresh)++;
    }
    /* The new boundary and the rows printed at it (from this page and, when the
     * boundary did not move, from earlier ones). */
    if (*fresh) {
        int64_t b = pg->out[pg->nout - 1].ts;
        pg->nseen = 0;
        for (size_t i = pg->nout; i-- > 0 && pg->out[i].ts == b;) {
            if (push_ptr(&pg->seen, &pg->nseen, &pg->capseen, sizeof *pg->seen))
                goto oom;
            pg->seen[pg->nseen++] = i;
        }
        pg->boundary = b;
        pg->bounded = 1;
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "cairn query: out of memory\n");
out:
    cairn_buf_deinit(&params);
    cairn_buf_deinit(&reply.body);
    curl_easy_cleanup(esc);
    return rc;
}

int cairn__query_batched(const struct query_opts *o, const char *query)
{
    struct pager pg = {0};
    size_t got = 0, fresh = 0;
    int stuck = 0;
    char bound[32];
    const char *from = o->from, *to = o->to;
    int rc = 1;
    /* every page but the last adds at least one new row, so this ends */
    while ((long)pg.nout < o->limit) {
        long remaining = o->limit - (long)pg.nout;
        long want = remaining + (long)pg.nseen < o->batch ? remaining + (long)pg.nseen : o->batch;
        if (stuck) /* more than a page at one timestamp: ask past the ones we have */
            want = remaining < o->batch ? remaining + (long)pg.nseen : o->batch + (long)pg.nseen;
        if (page(o, query, &pg, want, from, to, &got, &fresh))
            goto out;
        if (got < (size_t)want)
            break; /* the range has no more */
        if (!fresh && !stuck) {
            stuck = 1;
            continue;
        }
        stuck = 0;
        if (!fresh) {
            fprintf(stderr,
                    "cairn query: no new entries past timestamp %lld (the server returned "
                    "only ones already printed); try a larger --batch\n",
                    (long long)pg.boundary);
            goto out;
        }
        snprintf(bound, sizeof bound, "%lld",
                 (long long)(o->forward ? pg.boundary : pg.boundary + 1));
        if (o->forward)
            from = bound;
        else
            to = bound;
    }
    if (pg.nout > (size_t)o->limit)
        pg.nout = (size_t)o->limit;
    rc = cairn__query_print_rows(o, pg.out, pg.nout);
out:
    for (size_t i = 0; i < pg.ndocs; i++) {
        cairn__query_rows_free(&pg.pages[i]);
        json_decref(pg.docs[i]);
    }
    free(pg.docs);
    free(pg.pages);
    free(pg.out);
    free(pg.seen);
    return rc;
}
