/* select.c -- resolve a selector's matchers to stream ids through the label index. */
#include <string.h>

#include "cairn/query.h"

/* Streams satisfying one matcher, into out (cleared first). */
static int select_one(struct cairn_store *s, const char *tenant, const struct cairn_matcher *m,
                      int64_t start, int64_t end, const roaring_bitmap_t *all,
                      roaring_bitmap_t *out)
{
    roaring_bitmap_clear(out);
    if (m->type == CAIRN_MATCH_EQ && m->value_len > 0)
        return cairn_store_postings(s, tenant, m->name, m->value, start, end, out);
    struct cairn_strlist vals = {0};
    int rc = cairn_store_label_values(s, tenant, m->name, start, end, &vals);
    roaring_bitmap_t *has = roaring_bitmap_create();
    if (!has) {
        cairn_strlist_deinit(&vals);
        return CAIRN_ENOMEM;
    }
    for (size_t i = 0; !rc && i < vals.n; i++) {
        const char *v = vals.v[i];
        size_t vl = strlen(v);
        int match = cairn_matcher_matches(m, v, vl);
        rc = cairn_store_postings(s, tenant, m->name, v, start, end, match ? out : has);
        if (!rc && match)
            rc = cairn_store_postings(s, tenant, m->name, v, start, end, has);
    }
    /* streams without the label have the empty value */
    if (!rc && cairn_matcher_matches(m, "", 0)) {
        roaring_bitmap_t *missing = roaring_bitmap_andnot(all, has);
        if (!missing)
            rc = CAIRN_ENOMEM;
        else {
            roaring_bitmap_or_inplace(out, missing);
            roaring_bitmap_free(missing);
        }
    }
    roaring_bitmap_free(has);
    cairn_strlist_deinit(&vals);
    return rc;
}

int cairn_query_select(struct cairn_store *s, const char *tenant, const struct cairn_matcher *m,
                       size_t n, int64_t start, int64_t end, roaring_bitmap_t *out)
{
    roaring_bitmap_t *all = roaring_bitmap_create(), *acc = roaring_bitmap_create(),
                     *one = roaring_bitmap_create();
    int rc = (!all || !acc || !one) ? CAIRN_ENOMEM : 0;
    if (!rc)
        rc = cairn_store_streams(s, tenant, start, end, all);
    if (!rc)
        roaring_bitmap_or_inplace(acc, all);
    /* Equality matchers first: they narrow the most for the least work. */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (size_t i = 0; i < n && !rc; i++) {
            int eq = m[i].type == CAIRN_MATCH_EQ && m[i].value_len > 0;
            if (eq != (pass == 0))
                continue;
            if (roaring_bitmap_is_empty(acc))
                break;
            rc = select_one(s, tenant, &m[i], start, end, all, one);
            if (!rc)
                roaring_bitmap_and_inplace(acc, one);
        }
    }
    if (!rc)
        roaring_bitmap_or_inplace(out, acc);
    if (all)
        roaring_bitmap_free(all);
    if (acc)
        roaring_bitmap_free(acc);
    if (one)
        roaring_bitmap_free(one);
    return rc;
}
