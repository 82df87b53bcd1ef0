/* ship_stages_test.c -- the tables of pipeline-stage cases in
 * tests/unit/data/ship_stages_{parse,action,filter}.txt: the examples of Promtail's stage documentation
 * (and cairn's own edge cases), each a pipeline_stages YAML block loaded through the
 * config tables as `cairn ship` loads it, the entries fed in, and what must reach the
 * sink (line, labels, timestamp, tenant, extracted map), the metrics exposed and the
 * drops counted.
 *
 * File format, one directive per line, run in order:
 *   case: <stage> <title>   starts a case; <stage> is the stage it is about (counted)
 *   stages:                 the YAML list follows, written at column 0 as in the docs,
 *   end                     up to a line `end`
 *   err: <text>             building must fail with an error containing text
 *   at: <time>              timestamp of the following inputs (default 1000 ns)
 *   in: {labels} line       an entry (in~: the line has \n \t \e \\ \xHH escapes); in
 *                           either, ${pad-N} expands to N 'x' bytes and
 *                           ${now-<dur>} to that time (RFC3339, UTC), ${year} to this
 *                           year; ts: expands them too
 *   tick: [+<dur>]          flush what stages hold (as at shutdown), or with +<dur>
 *                           what has waited long enough that much from now
 *   n: N   n>=: N   n<=: N  entries emitted so far
 *   line: text (line~:)     the last emitted entry's line
 *   labels: {..}  tenant: t  ts: <time>  (ts!: the timestamp is not <time>)
 *   ex: k=v (ex~:)          the last entry's extracted map has k with value v
 *   noex: k                 ... has no k
 *   metric: <line>          the metrics exposition has this whole line
 *   drops: <reason> <n>     entries dropped with that drop_counter_reason
 *   xfail: <why>            a known difference from the documented result, not fixed
 *                           yet: the case must fail (it is reported), and the table
 *                           fails once it passes, so that the mark gets removed
 * <time> is unix ns, now-<duration>, or RFC3339(Nano). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cairn/ship.h"
#include "cairn/ship_config.h"
#include "cairn/timeutil.h"
#include "cairn/units.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"
#include "testutil.h"

#define MAXOUT 256
#define MAXSTAGES 32

struct out {
    char *line;
    char *labels;
    char *tenant;
    char *ex; /* "\x1fk=v\x1fk=v\x1f" */
    int64_t ts;
};

struct run {
    struct cairn_ship_config cfg;
    struct cairn_cfg c;
    int cfg_ok;
    struct cairn_ship_pipeline *pl;
    struct cairn_ship_metrics *metrics;
    struct cairn_ship_sink sink;
    struct cairn_ship_entry e;
    struct cairn_labels ls;
    struct cairn_err err;
    struct out v[MAXOUT];
    size_t n;
    int64_t at;
    int built; /* 1 built, -1 failed (err), 0 not yet */
};

static int cap_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct run *r = ud;
    if (r->n >= MAXOUT)
        return 0;
    struct out *o = &r->v[r->n++];
    o->line = test_strndup(e->line.data ? e->line.data : "", e->line.len);
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_labels_format(&e->labels, &b), 0);
    o->labels = test_strndup(cairn_buf_cstr(&b), strlen(cairn_buf_cstr(&b)));
    cairn_buf_reset(&b);
    assert_int_equal(cairn_buf_append_byte(&b, '\x1f'), 0);
    for (size_t i = 0; i < e->n_ex; i++) {
        assert_int_equal(cairn_buf_append_str(&b, cairn_ship_ex_name(e, i)), 0);
        assert_int_equal(cairn_buf_append_byte(&b, '='), 0);
        assert_int_equal(cairn_buf_append(&b, cairn_ship_ex_value(e, i), e->ex[i].val_len), 0);
        assert_int_equal(cairn_buf_append_byte(&b, '\x1f'), 0);
    }
    o->ex = test_strndup(cairn_buf_cstr(&b), b.len);
    cairn_buf_deinit(&b);
    o->tenant = test_strndup(cairn_buf_cstr(&e->tenant), e->tenant.len);
    o->ts = e->ts;
    return 0;
}

static void run_reset(struct run *r)
{
    cairn_ship_pipeline_destroy(r->pl);
    cairn_ship_metrics_destroy(r->metrics);
    if (r->built > 0) {
        cairn_ship_entry_deinit(&r->e);
        cairn_labels_deinit(&r->ls);
    }
    if (r->cfg_ok)
        cairn_cfg_deinit(&r->c);
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].line);
        free(r->v[i].labels);
        free(r->v[i].tenant);
        free(r->v[i].ex);
    }
    memset(r, 0, sizeof *r);
    r->at = 1000;
}

/* Build the pipeline from the YAML list in yaml (column 0). */
static void build(struct run *r, const char *yaml)
{
    struct cairn_buf text = CAIRN_BUF_INIT;
    assert_int_equal(cairn_buf_append_str(&text, "scrape_configs:\n- job_name: t\n"
                                                 "  pipeline_stages:\n"), 0);
    for (const char *p = yaml; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        assert_int_equal(cairn_buf_append_str(&text, "  "), 0);
        assert_int_equal(cairn_buf_append(&text, p, n), 0);
        p += n;
    }
    assert_int_equal(cairn_cfg_init(&r->c, &cairn_ship_config_table, &r->cfg, NULL, &r->err), 0);
    r->cfg_ok = 1;
    r->built = -1;
    if (cairn_cfg_load_string(&r->c, "cases.yaml", text.data, text.len, &r->err)) {
        cairn_buf_deinit(&text);
        return;
    }
    cairn_buf_deinit(&text);
    const struct cairn_ship_scrape *sc = r->cfg.scrape_configs.v;
    r->pl = cairn_ship_pipeline_build(&sc[0].pipeline_stages, "scrape_configs[0].pipeline_stages",
                                      &r->err);
    if (!r->pl)
        return;
    r->metrics = cairn_ship_metrics_create();
    assert_non_null(r->metrics);
    cairn_ship_pipeline_set_metrics(r->pl, r->metrics);
    r->sink = (struct cairn_ship_sink){cap_emit, NULL, r};
    cairn_ship_entry_init(&r->e);
    cairn_labels_init(&r->ls);
    r->built = 1;
}

static size_t unescape(char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            if (c == 'x' && i + 2 < n) {
                char hex[3] = {s[i + 1], s[i + 2], '\0'};
                s[k++] = (char)strtoul(hex, NULL, 16);
                i += 2;
                continue;
            }
            s[k++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'e' ? '\x1b' : c;
        } else {
            s[k++] = s[i];
        }
    }
    s[k] = '\0';
    return k;
}

/* unix ns, now-<dur>, or RFC3339(Nano): 0 or -1. */
static int parse_time(const char *s, int64_t *ns)
{
    if (strncmp(s, "now-", 4) == 0) {
        int64_t d;
        if (cairn_parse_duration(s + 4, strlen(s + 4), &d))
            return -1;
        *ns = cairn_now_ns() - d;
        return 0;
    }
    if (cairn_parse_i64(s, strlen(s), ns) == 0)
        return 0;
    return cairn__time_parse("RFC3339Nano", NULL, s, strlen(s), ns) ? -1 : 0;
}

/* Expand ${now-<dur>} into RFC3339 UTC. */
static char *expand(const char *p, size_t n, size_t *outlen)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    for (size_t i = 0; i < n;) {
        const char *close = NULL;
        if (i + 2 < n && p[i] == '$' && p[i + 1] == '{' &&
            (close = memchr(p + i, '}', n - i)) != NULL) {
            char spec[64];
            snprintf(spec, sizeof spec, "%.*s", (int)(close - (p + i + 2)), p + i + 2);
            if (strcmp(spec, "year") == 0) {
                time_t now = time(NULL);
                struct tm tm;
                gmtime_r(&now, &tm);
                assert_int_equal(cairn_buf_appendf(&b, "%d", tm.tm_year + 1900), 0);
                i = (size_t)(close - p) + 1;
                continue;
            }
            if (strncmp(spec, "pad-", 4) == 0) {
                for (unsigned long k = strtoul(spec + 4, NULL, 10); k; k--)
                    assert_int_equal(cairn_buf_append_byte(&b, 'x'), 0);
                i = (size_t)(close - p) + 1;
                continue;
            }
            int64_t ns;
            assert_int_equal(parse_time(spec, &ns), 0);
            time_t t = (time_t)(ns / 1000000000LL);
            struct tm tm;
            char tb[40];
            gmtime_r(&t, &tm);
            strftime(tb, sizeof tb, "%Y-%m-%dT%H:%M:%SZ", &tm);
            assert_int_equal(cairn_buf_append_str(&b, tb), 0);
            i = (size_t)(close - p) + 1;
            continue;
        }
        assert_int_equal(cairn_buf_append_byte(&b, p[i]), 0);
        i++;
    }
    *outlen = b.len;
    char *s = test_strndup(cairn_buf_cstr(&b), b.len);
    cairn_buf_deinit(&b);
    return s;
}

/* "{a="b"} rest": feed one entry. */
static int feed(struct run *r, const char *p, size_t n, int esc, char *why, size_t whylen)
{
    size_t i = test_labels_end(p, n);
    if (i >= n) {
        snprintf(why, whylen, "bad input (no labels)");
        return -1;
    }
    struct cairn_err err;
    cairn_labels_reset(&r->ls);
    if (cairn_labels_parse(&r->ls, p, i + 1, &err)) {
        snprintf(why, whylen, "bad labels: %s", err.msg);
        return -1;
    }
    size_t s = i + 1 < n && p[i + 1] == ' ' ? i + 2 : i + 1;
    size_t len;
    char *line = expand(p + s, n - s, &len);
    if (esc)
        len = unescape(line, len);
    assert_int_equal(cairn_ship_entry_reset(&r->e, &r->ls, r->at, line, len), 0);
    int rc = cairn_ship_pipeline_run(r->pl, &r->e, &r->sink);
    free(line);
    if (rc) {
        snprintf(why, whylen, "pipeline run: %s", cairn_strerror(rc));
        return -1;
    }
    return 0;
}

static const struct out *last(struct run *r, char *why, size_t whylen)
{
    if (!r->n) {
        snprintf(why, whylen, "nothing emitted");
        return NULL;
    }
    return &r->v[r->n - 1];
}

/* Does the exposition have `want` as a whole line? */
static int has_line(const char *text, const char *want)
{
    size_t wl = strlen(want);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n == wl && memcmp(p, want, n) == 0)
            return 1;
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Run one directive: 0 passed, -1 failed with why filled. */
static int directive(struct run *r, const char *key, char *val, char *why, size_t whylen)
{
    size_t vlen = strlen(val);
    int esc = key[strlen(key) - 1] == '~';
    if (esc)
        vlen = unescape(val, vlen);
    if (strcmp(key, "err") == 0) {
        if (r->built >= 0) {
            snprintf(why, whylen, "built without error");
            return -1;
        }
        if (!strstr(r->err.msg, val)) {
            snprintf(why, whylen, "error is: %s", r->err.msg);
            return -1;
        }
        return 0;
    }
    if (r->built < 0) {
        snprintf(why, whylen, "build failed: %s", r->err.msg);
        return -1;
    }
    if (strcmp(key, "at") == 0) {
        if (parse_time(val, &r->at)) {
            snprintf(why, whylen, "bad time");
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "in") == 0 || strcmp(key, "in~") == 0)
        return feed(r, val, vlen, esc, why, whylen);
    if (strcmp(key, "tick") == 0) {
        int64_t at = INT64_MAX, d;
        if (val[0] == '+') {
            if (cairn_parse_duration(val + 1, strlen(val + 1), &d)) {
                snprintf(why, whylen, "bad duration");
                return -1;
            }
            at = cairn_mono_ns() + d;
        }
        int rc = cairn_ship_pipeline_tick(r->pl, at, &r->sink);
        if (rc)
            snprintf(why, whylen, "tick: %s", cairn_strerror(rc));
        return rc ? -1 : 0;
    }
    if (strcmp(key, "n") == 0 || strcmp(key, "n>=") == 0 || strcmp(key, "n<=") == 0) {
        size_t want = strtoul(val, NULL, 10);
        int ok = key[1] == '>' ? r->n >= want : key[1] == '<' ? r->n <= want : r->n == want;
        if (!ok)
            snprintf(why, whylen, "emitted %zu", r->n);
        return ok ? 0 : -1;
    }
    if (strcmp(key, "metric") == 0 || strcmp(key, "drops") == 0) {
        struct cairn_buf m = CAIRN_BUF_INIT;
        int ok;
        if (key[0] == 'm') {
            assert_int_equal(cairn_ship_metrics_write(r->metrics, &m), 0);
            ok = has_line(cairn_buf_cstr(&m), val);
        } else {
            char reason[128];
            unsigned long cnt = 0;
            assert_int_equal(sscanf(val, "%127s %lu", reason, &cnt), 2);
            assert_int_equal(cairn_ship_pipeline_drops_write(r->pl, "t", &m), 0);
            char want[256];
            snprintf(want, sizeof want, "reason=\"%s\"} %lu\n", reason, cnt);
            ok = strstr(cairn_buf_cstr(&m), want) != NULL;
        }
        if (!ok)
            snprintf(why, whylen, "not in:\n%s", cairn_buf_cstr(&m));
        cairn_buf_deinit(&m);
        return ok ? 0 : -1;
    }
    const struct out *o = last(r, why, whylen);
    if (!o)
        return -1;
    if (strcmp(key, "line") == 0 || strcmp(key, "line~") == 0) {
        if (strlen(o->line) != vlen || memcmp(o->line, val, vlen) != 0) {
            snprintf(why, whylen, "line is: %s", o->line);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "labels") == 0 || strcmp(key, "tenant") == 0) {
        const char *got = key[0] == 'l' ? o->labels : o->tenant;
        if (strcmp(got, val) != 0) {
            snprintf(why, whylen, "%s is: %s", key, got);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "ts") == 0 || strcmp(key, "ts!") == 0) {
        int64_t want;
        size_t xl;
        char *x = expand(val, vlen, &xl);
        int bad = parse_time(x, &want);
        free(x);
        if (bad) {
            snprintf(why, whylen, "bad time");
            return -1;
        }
        if ((o->ts != want) != (key[2] == '!')) {
            snprintf(why, whylen, "ts is %lld", (long long)o->ts);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "ex") == 0 || strcmp(key, "ex~") == 0 || strcmp(key, "noex") == 0) {
        char want[1024];
        if (key[0] == 'n')
            snprintf(want, sizeof want, "\x1f%s=", val);
        else
            snprintf(want, sizeof want, "\x1f%.*s\x1f", (int)vlen, val);
        int found = strstr(o->ex, want) != NULL;
        if (found != (key[0] != 'n')) {
            for (char *p = o->ex; *p; p++)
                if (*p == '\x1f')
                    *p = ';';
            snprintf(why, whylen, "extracted: %s", o->ex);
            for (char *p = o->ex; *p; p++)
                if (*p == ';')
                    *p = '\x1f';
            return -1;
        }
        return 0;
    }
    snprintf(why, whylen, "unknown directive '%s'", key);
    return -1;
}

struct stage_count {
    char name[32];
    int n;
};

struct totals {
    struct stage_count counts[MAXSTAGES];
    size_t ncounts;
    int ncases, failed, nxfail;
};

static void count_stage(struct totals *t, const char *title)
{
    char stage[32];
    snprintf(stage, sizeof stage, "%.*s", (int)strcspn(title, " "), title);
    size_t k = 0;
    while (k < t->ncounts && strcmp(t->counts[k].name, stage) != 0)
        k++;
    if (k == t->ncounts) {
        assert_true(t->ncounts < MAXSTAGES);
        snprintf(t->counts[k].name, sizeof t->counts[k].name, "%s", stage);
        t->counts[t->ncounts++].n = 0;
    }
    t->counts[k].n++;
}

/* Run every case of one table file; failures are printed and counted in t. */
static void run_file(const char *name, struct totals *t)
{
    const char *src = getenv("CAIRN_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/data/%s", src ? src : ".", name);
    size_t flen;
    char *text = test_read_file(path, &flen);
    if (!text)
        fail_msg("cannot read %s", path);
    struct run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->at = 1000;
    struct cairn_buf yaml = CAIRN_BUF_INIT;
    int in_yaml = 0, in_case = 0, case_failed = 0, xfail = 0, lineno = 0, case_line = 0;
    char title[256] = "";
    char why[2048];
    for (char *p = text;; ) {
        char *line = p;
        char *nl = p ? strchr(p, '\n') : NULL;
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : NULL;
        lineno++;
        int eof = !line || (!*line && !p);
        if (in_yaml && !eof) {
            if (strcmp(line, "end") == 0) {
                in_yaml = 0;
                build(r, cairn_buf_cstr(&yaml));
            } else {
                assert_int_equal(cairn_buf_append_str(&yaml, line), 0);
                assert_int_equal(cairn_buf_append_byte(&yaml, '\n'), 0);
            }
            continue;
        }
        if (eof || strncmp(line, "case: ", 6) == 0) {
            if (in_case && xfail && !case_failed) {
                printf("%s:%d (%s): marked xfail but passes\n", name, case_line, title);
                t->failed++;
            }
            t->nxfail += in_case && xfail;
            if (eof)
                break;
            run_reset(r);
            in_case = 1;
            xfail = case_failed = 0;
            case_line = lineno;
            t->ncases++;
            snprintf(title, sizeof title, "%s", line + 6);
            count_stage(t, title);
            continue;
        }
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (strcmp(line, "stages:") == 0) {
            cairn_buf_reset(&yaml);
            in_yaml = 1;
            continue;
        }
        if (strncmp(line, "xfail: ", 7) == 0) {
            xfail = 1;
            continue;
        }
        if (case_failed)
            continue; /* one report per case */
        char *colon = strchr(line, ':');
        if (!colon)
            fail_msg("%s:%d: no directive", name, lineno);
        *colon = '\0';
        char *val = colon[1] == ' ' ? colon + 2 : colon + 1;
        if (directive(r, line, val, why, sizeof why)) {
            printf("%s:%d (case at line %d: %s)%s\n  %s: %s\n  %s\n", name, lineno, case_line,
                   title, xfail ? " [xfail, known]" : "", line, val, why);
            case_failed = 1;
            t->failed += !xfail;
        }
    }
    run_reset(r);
    free(r);
    cairn_buf_deinit(&yaml);
    free(text);
}

static void table_cases(void **state)
{
    (void)state;
    static const char *const files[] = {"ship_stages_parse.txt", "ship_stages_action.txt",
                                        "ship_stages_filter.txt"};
    struct totals t;
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        run_file(files[i], &t);
    printf("%d stage cases, %d failed, %d known differences (xfail); per stage:", t.ncases,
           t.failed, t.nxfail);
    for (size_t k = 0; k < t.ncounts; k++)
        printf(" %s=%d", t.counts[k].name, t.counts[k].n);
    printf("\n");
    assert_true(t.ncases > 0);
    assert_int_equal(t.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
