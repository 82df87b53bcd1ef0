/* ruler_int.h -- what the ruler's files share: the loaded groups with each rule's
 * runtime state and alerts (ruler.c loads and schedules, eval.c evaluates and moves
 * alerts through their states, notify.c sends them to Alertmanager, rwrite.c queues
 * recorded samples for Prometheus, http.c answers the rules API, state.c saves and
 * restores alert state). One mutex guards everything below cairn_ruler; the ruler's
 * thread is the only writer, HTTP readers take the mutex. */
#ifndef CAIRN_RULER_INT_H
#define CAIRN_RULER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cairn/ruler.h"

enum alert_state { ALERT_PENDING = 1, ALERT_FIRING, ALERT_RESOLVED };

struct alert {
    uint64_t fp;            /* hash of labels_json */
    char *labels_json;      /* owned: {"alertname":..,...} sorted by name */
    char *annotations_json; /* owned: rendered annotations */
    enum alert_state state;
    double value;
    int64_t active_at, fired_at, resolved_at, last_seen, last_sent; /* unix ns; 0 unset */
    int seen;               /* seen in the current evaluation */
};

struct rule_rt {
    const struct cairn_rule *rule; /* into the group's file */
    struct alert *alerts;
    size_t n, cap;
    const char *health;     /* "ok", "err", "unknown" */
    char last_error[600];
    int64_t last_eval, eval_ns;
    uint64_t samples;       /* last evaluation's result size */
    /* the rule's annotations compiled once (eval.c), per annotation: the template, or
     * NULL with the compile error in tpl_err[i] (owned); tpl NULL until first use */
    struct cairn_template **tpl;
    char **tpl_err;
};

/* A parsed rule file, shared by its groups (freed with the last). */
struct rfile {
    struct cairn_cfg cfg;
    struct cairn_rule_file file;
    int refs;
};

struct group_rt {
    char *tenant, *ns, *path;        /* owned */
    struct rfile *rf;                /* one reference */
    const struct cairn_rule_group *g; /* the group (in rf->file) */
    struct rule_rt *rules;
    size_t nrules;
    int64_t interval, next_eval, last_eval, eval_ns;
};

struct rwrite; /* rwrite.c */

struct cairn_ruler {
    const struct cairn_ruler_config *cfg;
    struct cairn_store *store;
    char *dir;          /* rules directory */
    char *state_path;   /* alert state file */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started;
    atomic_int stop;
    struct group_rt **groups;
    size_t ngroups;
    int64_t next_poll;
    char **am_urls;     /* Alertmanager base URLs */
    size_t n_am;
    struct rwrite *rw;  /* NULL without remote write */
    uint64_t notify_errors, notify_sent;
};

/* ruler.c: (re)load every rule file under r->dir, keeping the alerts of rules that are
 * still there. Called with r->mu held. */
void cairn__ruler_reload(struct cairn_ruler *r);
void cairn__group_free(struct group_rt *g);
/* Path of a namespace's file: <dir>/<tenant>/<ns>.yaml (malloc'd). */
char *cairn__ruler_ns_path(const struct cairn_ruler *r, const char *tenant, const char *ns);

/* eval.c: evaluate one group at t (unix ns); r->mu is held except while queries run. */
void cairn__ruler_eval_group(struct cairn_ruler *r, struct group_rt *g, int64_t t);
void cairn__alert_free(struct alert *a);
/* Free a rule's compiled annotations (compiled again at its next evaluation). */
void cairn__rule_tpl_free(struct rule_rt *rr);

/* notify.c: send the alerts due to Alertmanager (firing past resend_delay, resolved
 * ones); r->mu held. */
void cairn__ruler_notify(struct cairn_ruler *r, int64_t now);

/* rwrite.c: recorded samples, queued in a WAL and sent to remote write. */
struct rwrite *cairn__rwrite_open(const char *url, const char *dir, struct cairn_err *err);
void cairn__rwrite_close(struct rwrite *w);
/* Queue one sample of series labels_json ({"__name__":..,...}); 0 or negative. */
int cairn__rwrite_add(struct rwrite *w, const char *labels_json, int64_t ts_ms, double v);
/* Send what is queued (in order, from the last acknowledged); 0 all sent, else kept. */
int cairn__rwrite_flush(struct rwrite *w);

/* state.c: save the alerts of every rule; restore them into freshly loaded groups. */
int cairn__ruler_state_save(struct cairn_ruler *r);
void cairn__ruler_state_load(struct cairn_ruler *r);

/* Prometheus's annotation template functions (tplfuncs.c). */
struct cairn_template_funcs;
extern const struct cairn_template_funcs cairn__ruler_tpl_funcs;

#endif
