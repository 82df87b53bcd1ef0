/* logql_pipeline_test.c -- the table of LogQL cases in tests/unit/data/logql_cases.txt:
 * each a query and either its expected parse error, its canonical form, or input
 * entries (labels + line) and the entries the pipeline keeps, written from Loki's
 * documentation of each feature.
 *
 * File format, one directive per line:
 *   q: <query>                  starts a case
 *   err: <message>              parsing (or compiling) must fail with exactly this
 *   fmt: <canonical query>      cairn_logql_format of the parsed query
 *   ts: <unix ns>               timestamp for the following inputs
 *   in: {labels} line           an entry (in~: the line has \n \t \e \\ escapes)
 *   out: {labels} line          the next kept entry, in order (out~: escapes)
 * A case with inputs and no out: lines expects every entry to be filtered out. */
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
#include "testutil.h"

#define NOW_NS 1700000000000000000LL

struct entry {
    char *labels; /* canonical */
    char *line;
    size_t len;
    int64_t ts;
};

struct tcase {
    int lineno;
    char *q;
    char *err;
    char *fmt;
    struct entry in[32], out[32];
    int nin, nout;
};

static size_t unescape(char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            s[k++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'e' ? '\x1b' : c;
        } else {
            s[k++] = s[i];
        }
    }
    s[k] = '\0';
    return k;
}

/* "{a="b"} rest": canonical labels and the line after one space. */
static int parse_entry(const char *p, size_t n, int esc, struct entry *e)
{
    size_t i = test_labels_end(p, n);
    if (i >= n)
        return -1;
    struct cairn_labels ls;
    struct cairn_err err;
    struct cairn_buf b = CAIRN_BUF_INIT;
    cairn_labels_init(&ls);
    if (cairn_labels_parse(&ls, p, i + 1, &err) || cairn_labels_format(&ls, &b)) {
        cairn_labels_deinit(&ls);
        cairn_buf_deinit(&b);
        return -1;
    }
    e->labels = cairn_buf_detach(&b, NULL);
    if (!e->labels)
        e->labels = test_strndup("{}", 2);
    cairn_labels_deinit(&ls);
    size_t s = i + 1 < n && p[i + 1] == ' ' ? i + 2 : i + 1;
    e->line = test_strndup(p + s, n - s);
    e->len = esc ? unescape(e->line, n - s) : n - s;
    return 0;
}

static void free_case(struct tcase *c)
{
    free(c->q);
    free(c->err);
    free(c->fmt);
    for (int i = 0; i < c->nin; i++) {
        free(c->in[i].labels);
        free(c->in[i].line);
    }
    for (int i = 0; i < c->nout; i++) {
        free(c->out[i].labels);
        free(c->out[i].line);
    }
    memset(c, 0, sizeof(*c));
}

/* Run one case; returns 0 if it passed, printing what differed otherwise. */
static int run_case(struct tcase *c)
{
    struct cairn_logql_query *q = NULL;
    struct cairn_err err;
    cairn_err_clear(&err);
    int rc = cairn_logql_parse(c->q, strlen(c->q), &q, &err);
    struct cairn_logql_pipeline *p = NULL;
    if (!rc && (c->nin || c->err)) {
        const struct cairn_lq_expr *root = cairn_logql_root(q);
        if (root->kind == CAIRN_LQ_LOG || root->kind == CAIRN_LQ_RANGE_AGG) {
            p = cairn_logql_pipeline_create(root, &err);
            if (!p)
                rc = err.code ? err.code : CAIRN_EINVAL;
        }
    }
    int fail = 0;
    if (c->err) {
        if (!rc || strcmp(err.msg, c->err) != 0) {
            printf("line %d: %s\n  want error: %s\n  got: %s\n", c->lineno, c->q, c->err,
                   rc ? err.msg : "(no error)");
            fail = 1;
        }
        goto done;
    }
    if (rc) {
        printf("line %d: %s\n  unexpected error: %s\n", c->lineno, c->q, err.msg);
        fail = 1;
        goto done;
    }
    if (c->fmt) {
        struct cairn_buf b = CAIRN_BUF_INIT;
        assert_int_equal(cairn_logql_format(cairn_logql_root(q), &b), 0);
        if (strcmp(cairn_buf_cstr(&b), c->fmt) != 0) {
            printf("line %d: %s\n  want fmt: %s\n  got:      %s\n", c->lineno, c->q, c->fmt,
                   cairn_buf_cstr(&b));
            fail = 1;
        }
        cairn_buf_deinit(&b);
    }
    if (!c->nin)
        goto done;
    if (!p) {
        printf("line %d: inputs given for a query without a log pipeline\n", c->lineno);
        fail = 1;
        goto done;
    }
    cairn_logql_pipeline_set_now(p, NOW_NS);
    struct cairn_labels stream, res;
    struct cairn_buf lb = CAIRN_BUF_INIT;
    cairn_labels_init(&stream);
    cairn_labels_init(&res);
    int k = 0;
    for (int i = 0; i < c->nin && !fail; i++) {
        struct entry *e = &c->in[i];
        assert_int_equal(cairn_labels_parse(&stream, e->labels, strlen(e->labels), &err), 0);
        int kept = cairn_logql_pipeline_process(p, e->ts, &stream, e->line, e->len);
        assert_true(kept >= 0);
        if (!kept)
            continue;
        double v;
        if (cairn_logql_root(q)->kind == CAIRN_LQ_RANGE_AGG && cairn_logql_root(q)->has_unwrap) {
            int u = cairn_logql_pipeline_unwrap(p, &v);
            if (u == 0)
                continue;
        }
        size_t len;
        const char *line = cairn_logql_pipeline_line(p, &len);
        assert_int_equal(cairn_logql_pipeline_labels(p, &res), 0);
        cairn_buf_reset(&lb);
        assert_int_equal(cairn_labels_format(&res, &lb), 0);
        if (k >= c->nout) {
            printf("line %d: %s\n  unexpected output: %s %.*s\n", c->lineno, c->q,
                   cairn_buf_cstr(&lb), (int)len, line);
            fail = 1;
            break;
        }
        struct entry *o = &c->out[k++];
        if (strcmp(o->labels, cairn_buf_cstr(&lb)) != 0 || o->len != len ||
            memcmp(o->line, line, len) != 0) {
            printf("line %d: %s\n  want: %s %s\n  got:  %s %.*s\n", c->lineno, c->q, o->labels,
                   o->line, cairn_buf_cstr(&lb), (int)len, line);
            fail = 1;
        }
    }
    if (!fail && k != c->nout) {
        printf("line %d: %s\n  got %d outputs, want %d\n", c->lineno, c->q, k, c->nout);
        fail = 1;
    }
    cairn_buf_deinit(&lb);
    cairn_labels_deinit(&stream);
    cairn_labels_deinit(&res);
done:
    cairn_logql_pipeline_destroy(p);
    cairn_logql_query_destroy(q);
    return fail;
}

static void table_cases(void **state)
{
    (void)state;
    const char *src = getenv("CAIRN_SRC");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/data/logql_cases.txt", src ? src : ".");
    size_t n;
    char *text = test_read_file(path, &n);
    assert_non_null(text);
    struct tcase c;
    memset(&c, 0, sizeof(c));
    int have = 0, cases = 0, failed = 0, lineno = 0;
    int64_t ts = NOW_NS;
    char *p = text, *end = text + n;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        char *line = p;
        p = nl ? nl + 1 : end;
        if (ll == 0 || line[0] == '#')
            continue;
        if (ll >= 3 && memcmp(line, "q: ", 3) == 0) {
            if (have) {
                failed += run_case(&c);
                cases++;
                free_case(&c);
            }
            have = 1;
            ts = NOW_NS;
            c.lineno = lineno;
            c.q = test_strndup(line + 3, ll - 3);
        } else if (!have) {
            fail_msg("line %d: directive before the first q:", lineno);
        } else if (ll > 5 && memcmp(line, "err: ", 5) == 0) {
            c.err = test_strndup(line + 5, ll - 5);
        } else if (ll > 5 && memcmp(line, "fmt: ", 5) == 0) {
            c.fmt = test_strndup(line + 5, ll - 5);
        } else if (ll > 4 && memcmp(line, "ts: ", 4) == 0) {
            ts = strtoll(line + 4, NULL, 10);
        } else if ((ll > 4 && memcmp(line, "in: ", 4) == 0) || (ll > 5 && memcmp(line, "in~: ", 5) == 0)) {
            int esc = line[2] == '~';
            size_t off = esc ? 5 : 4;
            assert_true(c.nin < 32);
            if (parse_entry(line + off, ll - off, esc, &c.in[c.nin]))
                fail_msg("line %d: bad entry", lineno);
            c.in[c.nin++].ts = ts;
        } else if ((ll > 5 && memcmp(line, "out: ", 5) == 0) || (ll > 6 && memcmp(line, "out~: ", 6) == 0)) {
            int esc = line[3] == '~';
            size_t off = esc ? 6 : 5;
            assert_true(c.nout < 32);
            if (parse_entry(line + off, ll - off, esc, &c.out[c.nout++]))
                fail_msg("line %d: bad entry", lineno);
        } else {
            fail_msg("line %d: unknown directive: %.*s", lineno, (int)ll, line);
        }
    }
    if (have) {
        failed += run_case(&c);
        cases++;
        free_case(&c);
    }
    free(text);
    printf("logql cases: %d run, %d failed\n", cases, failed);
    assert_int_equal(failed, 0);
    assert_true(cases >= 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
