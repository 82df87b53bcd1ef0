/* select.c -- stream selection: label matchers -> index postings -> stream ids.
 *
 * For each matcher: if it does not match the empty string, the streams it selects
 * are the union of the postings of the label's values it matches; if it does match
 * the empty string (`a=""`, `a!="x"`, `a=~".*"`, `a!~"x"`), they are every stream
 * minus the union of the postings of the values it rejects (a stream without the
 * label has the empty value). The selection is the intersection over matchers. */
#include <string.h>

#include "cairn/logql.h"
#include "cairn/matcher.h"
#include "query_int.h"

static int match_one(struct cairn_store *s, const char *tenant, const struct cairn_matcher *m,
                     int64_t start, int64_t end, roaring_bitmap_t *out)
{
    struct cairn_strlist values = {0};
    int rc = 0;
    int matches_empty = cairn_matcher_matches(m, "", 0);
    if (m->type == CAIRN_MATCH_EQ && !matches_empty) {
        /* the common case: one postings list, no value scan */
        return cairn_store_postings(s, tenant, m->name, m->value, start, end, out);
    }
    rc = cairn_store_label_values(s, tenant, m->name, start, end, &values);
    if (rc)
        goto done;
    if (matches_empty) {
        rc = cairn_store_streams(s, tenant, start, end, out);
        roaring_bitmap_t *rejected = roaring_bitmap_create();
        if (!rejected) {
            rc = CAIRN_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < values.n && rc == 0; i++) {
            if (!cairn_matcher_matches(m, values.v[i], strlen(values.v[i])))
                rc = cairn_store_postings(s, tenant, m->name, values.v[i], start, end, rejected);
        }
        roaring_bitmap_andnot_inplace(out, rejected);
        cairn_bitmap_free(rejected);
    } else {
        for (size_t i = 0; i < values.n && rc == 0; i++) {
            if (cairn_matcher_matches(m, values.v[i], strlen(values.v[i])))
                rc = cairn_store_postings(s, tenant, m->name, values.v[i], start, end, out);
        }
    }
done:
    cairn_strlist_deinit(&values);
    return rc;
}

int cairn__query_select(struct cairn_store *s, const char *tenant, const struct cairn_lq_expr *log,
                        int64_t start, int64_t end, roaring_bitmap_t *out, struct cairn_err *err)
{
    roaring_bitmap_t *acc = NULL;
    int rc = 0;
    /* Evaluate the matchers that select fewest streams first would be better still;
     * equality matchers first is the cheap approximation. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t i = 0; i < log->nmatchers; i++) {
            const struct cairn_matcher *m = &log->matchers[i];
            if ((pass == 0) != (m->type == CAIRN_MATCH_EQ))
                continue;
            roaring_bitmap_t *one = roaring_bitmap_create();
            if (!one) {
                rc = CAIRN_ENOMEM;
                break;
            }
            rc = match_one(s, tenant, m, start, end, one);
            if (rc == 0) {
                if (!acc) {
                    acc = one;
                    one = NULL;
                } else {
                    roaring_bitmap_and_inplace(acc, one);
                }
            }
            cairn_bitmap_free(one);
            if (acc && roaring_bitmap_is_empty(acc))
                goto out;
        }
    }
out:
    if (rc == 0 && acc)
        roaring_bitmap_or_inplace(out, acc);
    cairn_bitmap_free(acc);
    if (rc == CAIRN_ENOMEM)
        cairn_err_set(err, rc, "out of memory selecting streams");
    else if (rc)
        cairn_err_set(err, rc, "selecting streams: %s", cairn_strerror(rc));
    return rc;
}

int cairn_query_select_text(struct cairn_store *s, const char *tenant, const char *sel, size_t len,
                            int64_t start, int64_t end, roaring_bitmap_t *out, struct cairn_err *err)
{
    struct cairn_logql_query *q = NULL;
    int rc = cairn_logql_parse(sel, len, &q, err);
    if (rc)
        return rc;
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    if (e->kind != CAIRN_LQ_LOG) {
        cairn_logql_query_destroy(q);
        return cairn_err_set(err, CAIRN_EINVAL, "parse error : only a stream selector is allowed here: %.*s",
                             (int)len, sel);
    }
    rc = cairn__query_select(s, tenant, e, start, end, out, err);
    cairn_logql_query_destroy(q);
    return rc;
}
