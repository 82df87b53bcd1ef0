/* ship_stages_fuzz.c -- arbitrary lines through the agent's parsing stages (container
 * format, cri partial joining, json, logfmt, regex, replace, template, timestamp with
 * Go layouts, pack, decolorize, multiline) and arbitrary text through the time
 * parser and the pod-log path parser. The pipeline is built once from YAML; every
 * input is split at newlines into entries of two streams. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn/config.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"

static const char yaml[] =
    "scrape_configs:\n- job_name: f\n  pipeline_stages:\n"
    "  - multiline:\n      firstline: '^\\S'\n      max_lines: 4\n"
    "  - json:\n      expressions:\n        level:\n        msg: 'a.b[1].\"c\"'\n"
    "  - logfmt:\n      mapping:\n        ts:\n        user:\n"
    "  - regex:\n      expression: '(?P<word>[a-z]+)=(?P<num>\\d+)'\n"
    "  - replace:\n      expression: '(secret=\\S+)'\n      replace: '{{ .Value | ToUpper }}'\n"
    "  - template:\n      source: t\n      template: '{{ .level }}-{{ .user | default \"x\" }}'\n"
    "  - timestamp:\n      source: ts\n      format: '2006-01-02T15:04:05.999Z07:00'\n"
    "      fallback_formats: [UnixMs, RFC1123, Stamp]\n"
    "  - labels:\n      level:\n      user:\n"
    "  - decolorize: {}\n"
    "  - pack:\n      labels: [user]\n"
    "  - drop:\n      longer_than: 4000\n";

struct state {
    struct cairn_ship_config cfg;
    struct cairn_cfg c;
    struct cairn_ship_pipeline *pl;
    struct cairn_ship_entry e;
    struct cairn_labels a, b;
    uint64_t emitted;
};

static int sink_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct state *s = ud;
    s->emitted += e->line.len + e->labels.n;
    return 0;
}

static struct state *setup(void)
{
    static struct state s;
    static int ready;
    if (ready)
        return &s;
    struct cairn_err err;
    if (cairn_cfg_init(&s.c, &cairn_ship_config_table, &s.cfg, NULL, &err) ||
        cairn_cfg_load_string(&s.c, "fuzz.yaml", yaml, strlen(yaml), &err))
        __builtin_trap();
    const struct cairn_ship_scrape *sc = s.cfg.scrape_configs.v;
    s.pl = cairn__pipeline_new(0);
    if (!s.pl || cairn__stage_container(s.pl, &err) ||
        cairn_ship_pipeline_build_into(s.pl, &sc[0].pipeline_stages, "p", &err))
        __builtin_trap();
    cairn_ship_entry_init(&s.e);
    cairn_labels_init(&s.a);
    cairn_labels_init(&s.b);
    cairn_labels_add(&s.a, "job", 3, "a", 1);
    cairn_labels_add(&s.b, "job", 3, "b", 1);
    ready = 1;
    return &s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct state *s = setup();
    struct cairn_ship_sink sink = {sink_emit, NULL, s};
    const char *p = (const char *)data, *end = p + size;
    int which = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (cairn_ship_entry_reset(&s->e, which ? &s->b : &s->a, 1, p, len) == 0)
            cairn_ship_pipeline_run(s->pl, &s->e, &sink);
        which ^= len & 1;
        p += len + 1;
    }
    cairn_ship_pipeline_tick(s->pl, INT64_MAX, &sink);
    /* the time parser and the pod path parser on the raw input */
    int64_t ns;
    cairn__time_parse("2006-01-02T15:04:05.999999999Z07:00", NULL, (const char *)data, size, &ns);
    cairn__time_parse("Unix", NULL, (const char *)data, size, &ns);
    char path[512];
    size_t n = size < sizeof path - 1 ? size : sizeof path - 1;
    memcpy(path, data, n);
    path[n] = '\0';
    struct cairn_labels pl;
    cairn_labels_init(&pl);
    cairn_ship_pod_labels(path, &pl);
    cairn_labels_deinit(&pl);
    return 0;
}
