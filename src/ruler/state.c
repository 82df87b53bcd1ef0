/* state.c -- alert state across restarts: every rule's alerts (labels, state, times,
 * value) in one JSON file in the data directory, written atomically (temporary file,
 * fsync, rename) after each evaluation round and at stop; at start they are put back
 * into the rules with the same tenant, namespace, group and alert name, so a restart
 * neither re-fires nor forgets a pending `for`. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "ruler/ruler_int.h"

int cairn__ruler_state_save(struct cairn_ruler *r)
{
    json_t *arr = json_array();
    for (size_t gi = 0; arr && gi < r->ngroups; gi++) {
        struct group_rt *g = r->groups[gi];
        for (size_t ri = 0; ri < g->nrules; ri++) {
            struct rule_rt *rr = &g->rules[ri];
            for (size_t i = 0; rr->rule->alert && i < rr->n; i++) {
                struct alert *a = &rr->alerts[i];
                json_array_append_new(
                    arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:i,s:f,s:I,s:I,s:I,s:I,s:I}",
                                   "tenant", g->tenant, "namespace", g->ns, "group", g->g->name,
                                   "alert", rr->rule->alert, "labels", a->labels_json,
                                   "annotations", a->annotations_json, "state", (int)a->state,
                                   "value", a->value, "active_at", (json_int_t)a->active_at,
                                   "fired_at", (json_int_t)a->fired_at,
                                   "resolved_at", (json_int_t)a->resolved_at,
                                   "last_seen", (json_int_t)a->last_seen,
                                   "last_sent", (json_int_t)a->last_sent));
            }
        }
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!text)
        return CAIRN_ENOMEM;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", r->state_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(text);
    int rc = fd >= 0 && write(fd, text, len) == (ssize_t)len && fdatasync(fd) == 0 ? 0 : CAIRN_EIO;
    if (fd >= 0)
        close(fd);
    if (!rc && rename(tmp, r->state_path))
        rc = CAIRN_EIO;
    free(text);
    return rc;
}

static struct rule_rt *find_rule(struct cairn_ruler *r, const char *tenant, const char *ns,
                                 const char *group, const char *alert)
{
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct group_rt *g = r->groups[gi];
        if (strcmp(g->tenant, tenant) || strcmp(g->ns, ns) || strcmp(g->g->name, group))
            continue;
        for (size_t ri = 0; ri < g->nrules; ri++)
            if (g->rules[ri].rule->alert && !strcmp(g->rules[ri].rule->alert, alert))
                return &g->rules[ri];
    }
    return NULL;
}

void cairn__ruler_state_load(struct cairn_ruler *r)
{
    json_error_t je;
    json_t *arr = json_load_file(r->state_path, 0, &je);
    size_t i, restored = 0;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const char *tenant = NULL, *ns = NULL, *group = NULL, *alert = NULL, *labels = NULL,
                   *ann = NULL;
        int state = 0;
        double value = 0;
        json_int_t active = 0, fired = 0, resolved = 0, seen = 0, sent = 0;
        if (json_unpack(o, "{s:s,s:s,s:s,s:s,s:s,s?s,s:i,s:F,s:I,s:I,s:I,s:I,s:I}", "tenant",
                        &tenant, "namespace", &ns, "group", &group, "alert", &alert, "labels",
                        &labels, "annotations", &ann, "state", &state, "value", &value,
                        "active_at", &active, "fired_at", &fired, "resolved_at", &resolved,
                        "last_seen", &seen, "last_sent", &sent))
            continue;
        struct rule_rt *rr = find_rule(r, tenant, ns, group, alert);
        if (!rr || state < ALERT_PENDING || state > ALERT_RESOLVED)
            continue;
        if (rr->n == rr->cap) {
            size_t nc = rr->cap ? 2 * rr->cap : 8;
            struct alert *v = realloc(rr->alerts, nc * sizeof *v);
            if (!v)
                break;
            rr->alerts = v;
            rr->cap = nc;
        }
        struct alert *a = &rr->alerts[rr->n];
        *a = (struct alert){.fp = cairn_hash64(labels, strlen(labels)),
                            .labels_json = strdup(labels),
                            .annotations_json = ann ? strdup(ann) : NULL,
                            .state = (enum alert_state)state, .value = value,
                            .active_at = active, .fired_at = fired, .resolved_at = resolved,
                            .last_seen = seen, .last_sent = sent};
        if (!a->labels_json) {
            free(a->annotations_json);
            break;
        }
        rr->n++;
        restored++;
    }
    json_decref(arr);
    if (restored)
        CAIRN_INFO("ruler", "alert state restored", "alerts=%zu file=%s", restored, r->state_path);
}
