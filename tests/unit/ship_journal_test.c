/* ship_journal_test.c -- the journal source's pure parts: field names to
 * `__journal_*` label names, priority keywords, matches, the `journal:` config
 * section (present or not, checked, dumped), fields to labels through relabel_configs
 * with the cache, the JSON line, and cursors in the positions file. Reading real
 * journal files is tests/e2e/ship_journal_test.py's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/buf.h"
#include "cairn/config.h"
#include "cairn/ship_config.h"
#include "cairn/ship_positions.h"
#include "ship/src_journal.h"
#include "testutil.h"

static void field_names_become_labels(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(cairn__journal_label_name("_SYSTEMD_UNIT", 13, out, sizeof out), 23);
    assert_string_equal(out, "__journal__systemd_unit");
    assert_int_equal(cairn__journal_label_name("PRIORITY", 8, out, sizeof out), 18);
    assert_string_equal(out, "__journal_priority");
    assert_int_equal(cairn__journal_label_name("A_VERY_LONG_FIELD_NAME_INDEED_X", 31, out, 32), 0);
    assert_string_equal(cairn__journal_priority_keyword("0", 1), "emerg");
    assert_string_equal(cairn__journal_priority_keyword("3", 1), "error");
    assert_string_equal(cairn__journal_priority_keyword("4", 1), "warning");
    assert_string_equal(cairn__journal_priority_keyword("7", 1), "debug");
    assert_null(cairn__journal_priority_keyword("8", 1));
    assert_null(cairn__journal_priority_keyword("10", 2));
}

static int count_match(void *ud, const char *m, size_t len)
{
    (void)m;
    (void)len;
    (*(int *)ud)++;
    return 0;
}

static void matches_are_checked(void **state)
{
    (void)state;
    int n = 0;
    const char *bad = NULL;
    size_t bl = 0;
    assert_int_equal(cairn__journal_matches_parse(" _SYSTEMD_UNIT=a.service  PRIORITY=3 + "
                                                  "_COMM=x=y\t", count_match, &n, &bad, &bl), 0);
    assert_int_equal(n, 4);
    assert_int_equal(cairn__journal_matches_parse("", NULL, NULL, &bad, &bl), 0);
    assert_int_equal(cairn__journal_matches_parse("PRIORITY=3 unit=a", NULL, NULL, &bad, &bl),
                     CAIRN_EINVAL);
    assert_int_equal(bl, 6);
    assert_memory_equal(bad, "unit=a", 6);
    assert_int_equal(cairn__journal_matches_parse("NOEQUALS", NULL, NULL, &bad, &bl),
                     CAIRN_EINVAL);
    assert_int_equal(cairn__journal_matches_parse("=x", NULL, NULL, &bad, &bl), CAIRN_EINVAL);
    assert_int_equal(cairn__journal_matches_parse("1ABC=x", NULL, NULL, &bad, &bl),
                     CAIRN_EINVAL);
}

static const char *CONFIG =
    "scrape_configs:\n"
    "  - job_name: files\n"
    "    static_configs:\n"
    "      - labels: {__path__: /var/log/*.log}\n"
    "  - job_name: journal\n"
    "    journal:\n"
    "      json: true\n"
    "      labels: {job: systemd-journal}\n"
    "    relabel_configs:\n"
    "      - source_labels: [__journal__systemd_unit]\n"
    "        target_label: unit\n"
    "      - source_labels: [__journal_priority_keyword]\n"
    "        target_label: level\n"
    "      - source_labels: [__journal__comm]\n"
    "        regex: skipme\n"
    "        action: drop\n"
    "      - regex: __journal_(code_.*)\n"
    "        action: labelmap\n"
    "  - job_name: empty\n"
    "    journal: {}\n"
    "  - job_name: nil\n"
    "    journal:\n";

struct loaded {
    struct cairn_ship_config cfg;
    struct cairn_cfg c;
};

static int load(struct loaded *l, const char *yaml, struct cairn_err *err)
{
    memset(l, 0, sizeof *l);
    assert_int_equal(cairn_cfg_init(&l->c, &cairn_ship_config_table, &l->cfg, NULL, err), 0);
    int rc = cairn_cfg_load_string(&l->c, "test.yaml", yaml, strlen(yaml), err);
    return rc ? rc : cairn_cfg_check(&l->c, err);
}

static void journal_section_only_when_named(void **state)
{
    (void)state;
    struct loaded l;
    struct cairn_err err;
    assert_int_equal(load(&l, CONFIG, &err), 0);
    const struct cairn_ship_scrape *sc = l.cfg.scrape_configs.v;
    assert_int_equal(l.cfg.scrape_configs.n, 4);
    assert_int_equal(sc[0].journal.present, 0);
    assert_int_equal(sc[1].journal.present, 1);
    assert_int_equal(sc[1].journal.json, 1);
    assert_int_equal(sc[1].journal.max_age_ns, 7LL * 3600 * 1000000000LL); /* Promtail's 7h */
    assert_int_equal(sc[2].journal.present, 1); /* `journal: {}`: the system journal */
    assert_int_equal(sc[3].journal.present, 0); /* `journal:` is a nil pointer in Go */
    /* the dump names the journal sections there are, and loads back the same */
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_cfg_dump(&l.c, &b), 0);
    size_t n = 0;
    for (const char *p = b.data; (p = strstr(p, "journal:\n")) != NULL; p++)
        n++;
    assert_int_equal(n, 2);
    struct loaded l2;
    assert_int_equal(load(&l2, b.data, &err), 0);
    const struct cairn_ship_scrape *sc2 = l2.cfg.scrape_configs.v;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sc2[i].journal.present, sc[i].journal.present);
    cairn_buf_deinit(&b);
    cairn_cfg_deinit(&l2.c);
    cairn_cfg_deinit(&l.c);
    /* checked: matches and labels */
    assert_int_not_equal(load(&l, "scrape_configs:\n  - job_name: j\n    journal:\n"
                                  "      matches: _SYSTEMD_UNIT=a unit=b\n", &err), 0);
    assert_non_null(strstr(err.msg, "journal.matches: 'unit=b'"));
    cairn_cfg_deinit(&l.c);
    assert_int_not_equal(load(&l, "scrape_configs:\n  - job_name: j\n    journal:\n"
                                  "      labels: {bad-name: x}\n", &err), 0);
    assert_non_null(strstr(err.msg, "journal.labels: 'bad-name'"));
    cairn_cfg_deinit(&l.c);
    assert_int_not_equal(load(&l, "scrape_configs:\n  - job_name: j\n    journal:\n"
                                  "      max_agee: 1h\n", &err), 0);
    assert_non_null(strstr(err.msg, "max_agee"));
    cairn_cfg_deinit(&l.c);
}

static void add(struct cairn__jmap *m, const char *datum)
{
    assert_int_equal(cairn__jmap_add(m, datum, strlen(datum)), 0);
}

static void entry(struct cairn__jmap *m, const char *unit, const char *prio, const char *msg)
{
    cairn__jmap_begin(m);
    add(m, "_HOSTNAME=h1");
    char b[256];
    snprintf(b, sizeof b, "_SYSTEMD_UNIT=%s", unit);
    add(m, b);
    snprintf(b, sizeof b, "PRIORITY=%s", prio);
    add(m, b);
    snprintf(b, sizeof b, "MESSAGE=%s", msg);
    add(m, b);
}

static void labels_text(const struct cairn_labels *ls, struct cairn_buf *b)
{
    cairn_buf_reset(b);
    assert_int_equal(cairn_labels_format(ls, b), 0);
}

static void fields_become_labels_through_relabel(void **state)
{
    (void)state;
    struct loaded l;
    struct cairn_err err;
    assert_int_equal(load(&l, CONFIG, &err), 0);
    const struct cairn_ship_scrape *sc = &((const struct cairn_ship_scrape *)l.cfg.scrape_configs.v)[1];
    struct cairn_ship_relabel_rule *rules =
        cairn_ship_relabel_compile(&sc->relabel_configs, "relabel_configs", &err);
    assert_non_null(rules);
    struct cairn__jmap *m = malloc(sizeof *m);
    assert_non_null(m);
    assert_int_equal(cairn__jmap_init(m, rules, sc->relabel_configs.n, &sc->journal.labels, 0), 0);
    struct cairn_buf b = CAIRN_BUF_INIT;
    const struct cairn_labels *ls, *first;

    entry(m, "a.service", "3", "one");
    assert_int_equal(cairn__jmap_labels(m, &ls), 1);
    labels_text(ls, &b);
    assert_string_equal(b.data, "{job=\"systemd-journal\", level=\"error\", unit=\"a.service\"}");
    assert_true(m->message >= 0);
    assert_memory_equal(m->store.data + m->f[m->message].val_off, "one", 3);
    first = ls;
    /* same unit and priority, another message: the cached set, no relabelling */
    entry(m, "a.service", "3", "two");
    assert_int_equal(cairn__jmap_labels(m, &ls), 1);
    assert_ptr_equal(ls, first);
    assert_int_equal(m->misses, 1);
    /* another priority: another set; an unknown priority is its own keyword */
    entry(m, "a.service", "9", "three");
    assert_int_equal(cairn__jmap_labels(m, &ls), 1);
    labels_text(ls, &b);
    assert_string_equal(b.data, "{job=\"systemd-journal\", level=\"9\", unit=\"a.service\"}");
    assert_int_equal(m->misses, 2);
    /* the drop rule sees _COMM; labelmap sees CODE_* fields */
    entry(m, "a.service", "3", "four");
    add(m, "_COMM=skipme");
    assert_int_equal(cairn__jmap_labels(m, &ls), 0);
    entry(m, "a.service", "3", "five");
    add(m, "CODE_FILE=x.c");
    add(m, "CODE_FILE=y.c"); /* a repeated field: the last value, as Promtail's map */
    assert_int_equal(cairn__jmap_labels(m, &ls), 1);
    labels_text(ls, &b);
    assert_string_equal(b.data, "{code_file=\"y.c\", job=\"systemd-journal\", level=\"error\", "
                                "unit=\"a.service\"}");
    /* fields nothing sees are not even kept (no json) */
    entry(m, "b.service", "6", "six");
    add(m, "_PID=42");
    assert_int_equal(m->nf, 3); /* _SYSTEMD_UNIT, PRIORITY, MESSAGE */
    cairn__jmap_deinit(m);

    /* without journal.labels nor rules, every label starts with "__": dropped */
    struct cairn_cfg_map none = {0};
    assert_int_equal(cairn__jmap_init(m, rules, 0, &none, 1), 0);
    entry(m, "a.service", "3", "one");
    assert_int_equal(cairn__jmap_labels(m, &ls), 0);
    /* json keeps every field: sorted keys, the last of a repeated one, escaped */
    add(m, "CODE_LINE=1");
    add(m, "CODE_LINE=2");
    add(m, "QUOTE=say \"hi\"\n");
    assert_int_equal(cairn__jmap_json(m), 0);
    assert_string_equal(m->scratch.data,
                        "{\"CODE_LINE\":\"2\",\"MESSAGE\":\"one\",\"PRIORITY\":\"3\","
                        "\"QUOTE\":\"say \\\"hi\\\"\\n\",\"_HOSTNAME\":\"h1\","
                        "\"_SYSTEMD_UNIT\":\"a.service\"}");
    cairn__jmap_deinit(m);
    free(m);
    cairn_buf_deinit(&b);
    cairn_ship_relabel_free(rules, sc->relabel_configs.n);
    cairn_cfg_deinit(&l.c);
}

static void cursors_live_in_the_positions_file(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("jpos");
    char path[512];
    snprintf(path, sizeof path, "%s/positions.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    /* as Promtail writes it: a file offset and a journal cursor */
    fputs("positions:\n  /var/log/a.log: \"12\"\n  journal-sys: \"s=abc;i=1;t=5\"\n", f);
    fclose(f);
    struct cairn_err err;
    struct cairn_positions *p = cairn_positions_open(path, &err);
    assert_non_null(p);
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_positions_get_string(p, "journal-sys", &b), 0);
    assert_string_equal(b.data, "s=abc;i=1;t=5");
    struct cairn_position pos;
    assert_int_equal(cairn_positions_get(p, "journal-sys", &pos), CAIRN_ENOTFOUND);
    assert_int_equal(cairn_positions_get_string(p, "/var/log/a.log", &b), CAIRN_ENOTFOUND);
    assert_int_equal(cairn_positions_set_string(p, "journal-sys", "s=abc;i=2;t=6"), 0);
    assert_int_equal(cairn_positions_set_string(p, "journal-other", "s=def;i=1"), 0);
    assert_int_equal(cairn_positions_save(p), 0);
    cairn_positions_close(p);
    p = cairn_positions_open(path, &err);
    assert_non_null(p);
    assert_int_equal(cairn_positions_count(p), 3);
    assert_int_equal(cairn_positions_get_string(p, "journal-sys", &b), 0);
    assert_string_equal(b.data, "s=abc;i=2;t=6");
    assert_int_equal(cairn_positions_get(p, "/var/log/a.log", &pos), 0);
    assert_int_equal(pos.offset, 12);
    cairn_positions_close(p);
    size_t len;
    char *text = test_read_file(path, &len);
    assert_non_null(strstr(text, "\"journal-other\": \"s=def;i=1\""));
    assert_null(strstr(strstr(text, "inodes:"), "journal-")); /* no inode for a cursor */
    free(text);
    /* only journal keys may hold a string */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("positions:\n  /var/log/a.log: \"s=abc\"\n", f);
    fclose(f);
    assert_null(cairn_positions_open(path, &err));
    cairn_buf_deinit(&b);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_names_become_labels),
        cmocka_unit_test(matches_are_checked),
        cmocka_unit_test(journal_section_only_when_named),
        cmocka_unit_test(fields_become_labels_through_relabel),
        cmocka_unit_test(cursors_live_in_the_positions_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
