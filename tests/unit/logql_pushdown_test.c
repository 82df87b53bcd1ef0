/* logql_pushdown_test.c -- label filters decided on the raw line (pushdown.c) must
 * never change what a pipeline keeps: every query runs beside a twin the pushdown
 * cannot touch, over generated lines full of the traps (escaped values, nested keys,
 * numbers, stream labels of the same name), and both must keep the same entries with
 * the same labels and lines. Also the literal search they share, against a naive one.
 *
 * The twin runs `| line_format "{{__line__}}"` right before the filter: the line and
 * labels stay what they were, but a line_format ends what the pushdown may look at, so
 * the twin's filter runs only in full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/logql.h"
#include "cairn/logql_pipeline.h"
#include "logql/pipeline_int.h"

/* Parser prefixes and label filters combined into the queries under test. */
static const char *parsers[] = {
    "| json",
    "| logfmt",
    "| json lvl=\"level\", m=\"msg\"",
    "| json | logfmt",
    "|= \"e\" | json",
    "| regexp `(?P<level>\\w+):`",
    "| pattern `<level> <_>`",
    "| json | drop msg",
    "| json | keep level, a_level",
};

static const char *filters[] = {
    "level=\"error\"",
    "level=\"err\\\"or\"",
    "level=\"a/b\"",
    "level=\"500\"",
    "level=~\"error|warn\"",
    "level=~\"err.*\"",
    "level!=\"error\"",
    "level=\"\"",
    "lvl=\"error\"",
    "a_level=\"error\"",
    "level_extracted=\"error\"",
    "msg=\"x\\\\qy\"",
    "level=\"error\" or msg=\"warn\"",
    "level=\"error\" and msg=\"boom\"",
    "level=\"error\" or level >= 500",
    "level=\"error\" and level >= 500",
    "level=\"error\", msg=\"boom\"",
    "(level=\"warn\" or level=\"error\") and a_level=\"error\"",
    "__error__=\"JSONParserErr\"",
    "__error__=\"\" and level=\"error\"",
};

/* Pieces the lines are made of. */
static const char *values[] = {
    "\"error\"", "\"\\u0065rror\"", "\"e\\u0072ror\"", "\"\\\\u0065rror\"", "\"err\\\"or\"",
    "\"warn\"", "\"\\u0077arn\"", "\"a\\/b\"", "\"a/b\"", "\"a\\u002fb\"", "null", "500",
    "5e2", "\"500\"", "\"boom\"", "\"x\\\\qy\"", "{\"level\":\"error\"}",
    "{\"level\":\"\\u0065rror\"}", "[\"error\"]", "\"errors\"",
};
static const char *keys[] = {"level", "msg", "a", "lvl", "\\u006cevel", " level"};
static const char *bare[] = {"error", "err\\qor", "\"\\u0065rror\"", "warn", "x\\qy", "500",
                             "a/b", "boom"};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned pick(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}
#define PICK(a) (a)[pick(sizeof(a) / sizeof((a)[0]))]

/* One generated line: a JSON object, logfmt pairs or `word: rest`. */
static size_t gen_line(char *out, size_t cap)
{
    size_t n = 0;
    unsigned kind = pick(4);
    if (kind <= 1) {
        n += (size_t)snprintf(out + n, cap - n, "{");
        unsigned k = 1 + pick(3);
        for (unsigned i = 0; i < k; i++)
            n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":%s", i ? "," : "", PICK(keys),
                                  PICK(values));
        n += (size_t)snprintf(out + n, cap - n, kind == 1 && pick(4) == 0 ? "," : "}");
    } else if (kind == 2) {
        unsigned k = 1 + pick(3);
        for (unsigned i = 0; i < k; i++) {
            const char *key = pick(2) ? "level" : pick(2) ? "msg" : "lvl";
            if (pick(2))
                n += (size_t)snprintf(out + n, cap - n, "%s%s=%s", i ? " " : "", key, PICK(bare));
            else
                n += (size_t)snprintf(out + n, cap - n, "%s%s=%s", i ? " " : "", key, PICK(values));
        }
    } else {
        n += (size_t)snprintf(out + n, cap - n, "%s: %s", PICK(bare), PICK(values));
    }
    return n < cap ? n : cap - 1;
}

struct run {
    struct cairn_logql_query *q;
    struct cairn_logql_pipeline *p;
};

static void run_open(struct run *r, const char *text)
{
    struct cairn_err err;
    int rc = cairn_logql_parse(text, strlen(text), &r->q, &err);
    if (rc)
        fail_msg("%s: %s", text, err.msg);
    r->p = cairn_logql_pipeline_create(cairn_logql_root(r->q), &err);
    assert_non_null(r->p);
    cairn_logql_pipeline_set_now(r->p, 1700000000000000000LL);
}

static void run_close(struct run *r)
{
    cairn_logql_pipeline_destroy(r->p);
    cairn_logql_query_destroy(r->q);
}

/* Kept or not, and if kept the labels and the line, as one string. */
static void outcome(struct run *r, const struct cairn_labels *stream, const char *line, size_t len,
                    int store_side, struct cairn_buf *out)
{
    cairn_buf_reset(out);
    int keep;
    if (store_side) { /* as the store runs it: the prefilter first, then the rest */
        cairn_logql_pipeline_set_prefiltered(r->p, 1);
        keep = cairn_logql_pipeline_prefilter_stream(r->p, stream, line, len);
        if (keep)
            keep = cairn_logql_pipeline_process(r->p, 0, stream, line, len);
        cairn_logql_pipeline_set_prefiltered(r->p, 0);
    } else {
        keep = cairn_logql_pipeline_process(r->p, 0, stream, line, len);
    }
    assert_true(keep >= 0);
    if (!keep) {
        assert_int_equal(cairn_buf_append_str(out, "dropped"), 0);
        return;
    }
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    assert_int_equal(cairn_logql_pipeline_labels(r->p, &ls), 0);
    assert_int_equal(cairn_labels_format(&ls, out), 0);
    cairn_labels_deinit(&ls);
    size_t l;
    const char *s = cairn_logql_pipeline_line(r->p, &l);
    assert_int_equal(cairn_buf_append(out, " ", 1), 0);
    assert_int_equal(cairn_buf_append(out, s, l), 0);
}

static void same_as_twin(void **state)
{
    (void)state;
    struct cairn_labels streams[2];
    struct cairn_err err;
    const char *stext[2] = {"{app=\"a\"}", "{app=\"a\", level=\"error\"}"};
    for (int i = 0; i < 2; i++) {
        cairn_labels_init(&streams[i]);
        assert_int_equal(cairn_labels_parse(&streams[i], stext[i], strlen(stext[i]), &err), 0);
    }
    struct cairn_buf a = CAIRN_BUF_INIT, b = CAIRN_BUF_INIT;
    char q1[512], q2[512], line[512];
    long compared = 0, kept = 0;
    for (size_t pi = 0; pi < sizeof(parsers) / sizeof(parsers[0]); pi++) {
        for (size_t fi = 0; fi < sizeof(filters) / sizeof(filters[0]); fi++) {
            snprintf(q1, sizeof q1, "{app=\"a\"} %s | %s", parsers[pi], filters[fi]);
            snprintf(q2, sizeof q2, "{app=\"a\"} %s | line_format \"{{__line__}}\" | %s",
                     parsers[pi], filters[fi]);
            struct run r1, r2;
            run_open(&r1, q1);
            run_open(&r2, q2);
            for (int k = 0; k < 400; k++) {
                size_t len = gen_line(line, sizeof line);
                const struct cairn_labels *st = &streams[pick(4) == 0];
                int store_side = pick(2);
                outcome(&r2, st, line, len, 0, &b);
                outcome(&r1, st, line, len, store_side, &a);
                if (strcmp(cairn_buf_cstr(&a), cairn_buf_cstr(&b)) != 0)
                    fail_msg("%s\n  line: %s\n  stream: %s\n  got:  %s\n  want: %s", q1, line,
                             stext[st == &streams[1]], cairn_buf_cstr(&a), cairn_buf_cstr(&b));
                compared++;
                kept += strcmp(cairn_buf_cstr(&b), "dropped") != 0;
            }
            run_close(&r1);
            run_close(&r2);
        }
    }
    printf("pushdown: %ld entries compared, %ld kept\n", compared, kept);
    assert_true(kept > compared / 50); /* the generator makes lines that pass, too */
    cairn_buf_deinit(&a);
    cairn_buf_deinit(&b);
    for (int i = 0; i < 2; i++)
        cairn_labels_deinit(&streams[i]);
}

/* The prefilter drops lines that cannot pass (the point of it), and knows nothing of a
 * stream it is not told about. */
static void drops_what_it_can(void **state)
{
    (void)state;
    struct run r;
    run_open(&r, "{app=\"a\"} | json | level=\"error\"");
    struct cairn_labels st;
    struct cairn_err err;
    cairn_labels_init(&st);
    assert_int_equal(cairn_labels_parse(&st, "{app=\"a\"}", 9, &err), 0);
    assert_true(cairn_logql_pipeline_has_prefilter(r.p));
    const char *l1 = "{\"level\":\"info\",\"msg\":\"a \\\"quoted\\\" word\\n\"}";
    assert_int_equal(cairn_logql_pipeline_prefilter_stream(r.p, &st, l1, strlen(l1)), 0);
    assert_int_equal(cairn_logql_pipeline_prefilter_stream(r.p, NULL, l1, strlen(l1)), 1);
    const char *l2 = "{\"level\":\"info\",\"msg\":\"\\u0041\"}";
    assert_int_equal(cairn_logql_pipeline_prefilter_stream(r.p, &st, l2, strlen(l2)), 1);
    const char *l3 = "{\"level\":\"error\"}";
    assert_int_equal(cairn_logql_pipeline_prefilter_stream(r.p, &st, l3, strlen(l3)), 1);
    run_close(&r);
    run_open(&r, "{app=\"a\"} | json | level!=\"error\"");
    assert_false(cairn_logql_pipeline_has_prefilter(r.p));
    run_close(&r);
    run_open(&r, "{app=\"a\"} | json | line_format \"{{__line__}}\" | level=\"error\"");
    assert_false(cairn_logql_pipeline_has_prefilter(r.p));
    run_close(&r);
    cairn_labels_deinit(&st);
}

/* The literal search the pushdown and `|=` share, at every offset and length around
 * its 16- and 32-byte groups, against a naive search: haystacks of few letters (many
 * near misses), the needle at the very start and end, in a heap block of exactly the
 * haystack's size (ASan sees a read past it). */
static void literal_search_agrees(void **state)
{
    (void)state;
    const char *needles[] = {"ab", "aab", "bab", "error", "aaaaaaaaaaaaaaaaaaab",
                             "abababababababababababababababababab"};
    for (size_t ni = 0; ni < sizeof needles / sizeof needles[0]; ni++) {
        struct lf_alt a;
        size_t nl = strlen(needles[ni]);
        cairn__lit_init(&a, needles[ni], nl);
        for (size_t hl = 0; hl < 140; hl++) {
            for (int round = 0; round < 24; round++) {
                char *h = malloc(hl ? hl : 1);
                assert_non_null(h);
                for (size_t i = 0; i < hl; i++)
                    h[i] = "abe"[pick(round < 12 ? 2 : 3)];
                if (round % 4 == 1 && hl >= nl)
                    memcpy(h + hl - nl, needles[ni], nl); /* at the end */
                if (round % 4 == 2 && hl >= nl)
                    memcpy(h, needles[ni], nl); /* at the start */
                int want = 0;
                for (size_t i = 0; i + nl <= hl && !want; i++)
                    want = memcmp(h + i, needles[ni], nl) == 0;
                if (cairn__lit_find(&a, h, hl) != want)
                    fail_msg("needle %s, haystack of %zu: want %d", needles[ni], hl, want);
                free(h);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_as_twin),
        cmocka_unit_test(drops_what_it_can),
        cmocka_unit_test(literal_search_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
