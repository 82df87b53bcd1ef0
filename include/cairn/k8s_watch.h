/* k8s_watch.h -- list+watch of any Kubernetes resource, the loop the event router and
 * service discovery share: LIST pages (limit/continue) -> WATCH from the list's
 * resourceVersion with bookmarks -> on a clean end watch again from the last version
 * seen; on errors back off (exponential, jittered); on 410 Gone list again.
 *
 * The caller says what to watch (one request path per namespace, or one for all) and
 * gets every object through a handler; what it does with them (exactly-once emission,
 * a target table) is its own business.
 *
 * Ownership: the loop borrows the connection, options and handler for the length of
 * cairn_k8s_watch_run. Objects handed to the handler are borrowed for the call (the
 * handler may take a reference with json_incref). Not thread-safe except through
 * *stop and the metrics lock. */
#ifndef CAIRN_K8S_WATCH_H
#define CAIRN_K8S_WATCH_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/k8s.h"

struct cairn_k8s_metrics;

/* What the loop reports. Every callback may be NULL except object. */
struct cairn_k8s_watch_handler {
    /* One object: type is "LISTED" (a list item), "ADDED", "MODIFIED" or "DELETED".
     * Returns 0, 1 to end the run cleanly (enough seen), or a negative CAIRN_E* to end
     * it with that error (err filled by the handler). */
    int (*object)(void *ud, size_t path_index, const char *type, json_t *obj);
    /* A full list of path_index starts (from its first page) or has completed
     * (begin 0): objects not listed in between are gone. */
    void (*list)(void *ud, size_t path_index, int begin);
    /* The resume point of path_index moved (list done, watch event, bookmark). */
    void (*resume)(void *ud, size_t path_index, const char *rv);
    /* After every turn of the loop: now is monotonic ns, listing says a list is under
     * way. Returns like object; *wait_ns may be lowered (how soon to come back). */
    int (*turn)(void *ud, int64_t now, int listing, int64_t *wait_ns);
    void *ud;
};

struct cairn_k8s_watch_opts {
    const char *const *paths;      /* request paths, e.g. /api/v1/namespaces/x/pods */
    size_t npaths;
    const char *const *resume_rv;  /* per path, the version to watch from (NULL or "":
                                    * list first); may be NULL */
    const char *field_selector;    /* NULL: none */
    const char *label_selector;    /* NULL: none */
    int page_limit;                /* 0: 500 */
    int watch_timeout_s;           /* 0: 300, jittered to [t, 2t) */
    const volatile sig_atomic_t *stop; /* ends the run when it becomes nonzero */
    const char *what;              /* for logs: "events", "pods" */
};

/* Run until *stop, or a handler ends it. m (may be NULL) gets watch_restarts,
 * relists, api_errors and ready. Returns 0 or the handler's negative error. */
int cairn_k8s_watch_run(const struct cairn_k8s_conn *conn, const struct cairn_k8s_watch_opts *o,
                        const struct cairn_k8s_watch_handler *h, struct cairn_k8s_metrics *m,
                        struct cairn_err *err);

#endif
