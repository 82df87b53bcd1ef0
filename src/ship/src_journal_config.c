/* src_journal_config.c -- the table of a scrape config's `journal:` section, with
 * Promtail's keys (path, max_age, json, labels, matches), and its checks. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn/labels.h"
#include "cairn/ship_config.h"
#include "ship/src_journal.h"

#define J struct cairn_ship_journal
#define HOUR (3600LL * 1000000000LL)

/* The matches and labels must make sense before the agent starts: a typo in a field
 * name would otherwise read nothing, silently. */
static int check_journal(struct cairn_cfg *c, void *obj, const char *path,
                         struct cairn_err *err)
{
    (void)c;
    const J *j = obj;
    const char *bad = NULL;
    size_t bad_len = 0;
    if (cairn__journal_matches_parse(j->matches ? j->matches : "", NULL, NULL, &bad, &bad_len))
        return cairn_err_set(err, CAIRN_EINVAL,
                             "%s.matches: '%.*s' is not FIELD=value (FIELD in A-Z, 0-9, _) "
                             "nor '+'", path, (int)bad_len, bad);
    for (size_t i = 0; i < j->labels.n; i++)
        if (!cairn_label_name_valid(j->labels.v[i].key, strlen(j->labels.v[i].key)))
            return cairn_err_set(err, CAIRN_EINVAL, "%s.labels: '%s' is not a valid label name",
                                 path, j->labels.v[i].key);
    return 0;
}

static const struct cairn_cfg_entry journal_e[] = {
    {.key = "path", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(J, path),
     .help = "journal directory to read (default: the local system journal)"},
    {.key = "max_age", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(J, max_age_ns), .idef = 7 * HOUR,
     .min = 0, .max = 100000 * HOUR,
     .help = "without a saved cursor, start with entries this recent (0: all)"},
    {.key = "json", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(J, json),
     .help = "the line is the whole entry as a JSON object of its fields"},
    {.key = "labels", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(J, labels),
     .help = "labels added to every entry (before relabel_configs)"},
    {.key = "matches", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(J, matches),
     .help = "space-separated FIELD=value journal matches ('+' between groups: or)"},
};

const struct cairn_cfg_table cairn__ship_journal_table = {
    .name = "journal", .entries = journal_e, .n = sizeof journal_e / sizeof journal_e[0],
    .size = sizeof(J), .check = check_journal};
