/* notify.c -- alerts to Alertmanager's v2 API (POST /api/v2/alerts), as Prometheus
 * sends them: a firing alert when it starts firing and again every resend_delay, with
 * endsAt four resend periods ahead (so Alertmanager resolves it itself should the
 * ruler go away); a resolved one with its endsAt, re-sent for 15 minutes. A failed
 * send is retried at the next evaluation (the alert stays due): the alerts are the
 * queue. The payload is built under the ruler's lock, sent without it. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "ruler/ruler_int.h"

#define SEND_TIMEOUT_S 10L

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static int post(const char *base, const char *body, size_t len, long *status)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[2048];
    snprintf(url, sizeof url, "%s/api/v2/alerts", base);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, SEND_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && *status >= 200 && *status < 300 ? 0 : -1;
}

static json_t *rfc3339(int64_t ns)
{
    char b[48];
    cairn_format_rfc3339(ns, b, sizeof b);
    return json_string(b);
}

void cairn__ruler_notify(struct cairn_ruler *r, int64_t now)
{
    if (!r->n_am)
        return;
    json_t *arr = json_array();
    struct alert **sent = NULL;
    size_t nsent = 0;
    for (size_t gi = 0; arr && gi < r->ngroups; gi++) {
        struct group_rt *g = r->groups[gi];
        int64_t resend = r->cfg->resend_delay_ns;
        int64_t period = resend > g->interval ? resend : g->interval;
        for (size_t ri = 0; ri < g->nrules; ri++) {
            struct rule_rt *rr = &g->rules[ri];
            for (size_t i = 0; i < rr->n; i++) {
                struct alert *a = &rr->alerts[i];
                if (a->state == ALERT_PENDING || (a->last_sent && now - a->last_sent < resend))
                    continue;
                json_error_t je;
                json_t *labels = json_loads(a->labels_json, 0, &je);
                json_t *ann = a->annotations_json ? json_loads(a->annotations_json, 0, &je) : NULL;
                if (!labels)
                    continue;
                for (size_t e = 0; e < r->cfg->external_labels.n; e++)
                    if (!json_object_get(labels, r->cfg->external_labels.v[e].key))
                        json_object_set_new(labels, r->cfg->external_labels.v[e].key,
                                            json_string(r->cfg->external_labels.v[e].value
                                                            ? r->cfg->external_labels.v[e].value
                                                            : ""));
                char gen[1024];
                snprintf(gen, sizeof gen, "%s/alerting/list",
                         r->cfg->external_url && *r->cfg->external_url ? r->cfg->external_url : "");
                json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:s}", "labels", labels, "annotations",
                                      ann ? ann : json_object(), "startsAt",
                                      rfc3339(a->active_at), "endsAt",
                                      rfc3339(a->state == ALERT_RESOLVED ? a->resolved_at
                                                                         : now + 4 * period),
                                      "generatorURL", gen);
                struct alert **ns = realloc(sent, (nsent + 1) * sizeof *ns);
                if (!o || !ns) {
                    json_decref(o);
                    if (ns)
                        sent = ns;
                    continue;
                }
                sent = ns;
                sent[nsent++] = a;
                json_array_append_new(arr, o);
            }
        }
    }
    char *body = nsent ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!body) {
        free(sent);
        return;
    }
    size_t len = strlen(body);
    int ok = 0;
    /* send without the lock; this thread alone changes alerts, so `sent` stays valid */
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < r->n_am; i++) {
        long status;
        if (post(r->am_urls[i], body, len, &status) == 0) {
            ok++;
        } else {
            CAIRN_WARN("ruler", "cannot send alerts to Alertmanager", "url=%s status=%ld alerts=%zu",
                       r->am_urls[i], status, nsent);
        }
    }
    pthread_mutex_lock(&r->mu);
    if (ok) { /* sent to at least one: due again after resend_delay */
        for (size_t i = 0; i < nsent; i++)
            sent[i]->last_sent = now;
        r->notify_sent += nsent;
    } else {
        r->notify_errors++;
    }
    free(body);
    free(sent);
}
