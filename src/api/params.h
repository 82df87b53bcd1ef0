/* params.h -- request parameters (query string or form body) and Loki's formats for
 * times ("unix ns", "unix s[.frac]", RFC3339) and durations ("5m" or seconds). */
#ifndef CAIRN_API_PARAMS_H
#define CAIRN_API_PARAMS_H

#include "api/api_int.h"

#define CAIRN_PARAMS_MAX 64 /* form fields read from a POST body; more are ignored */

/* The form fields of a POST body, decoded; owns its buffer. */
struct cairn__params {
    struct cairn__req *req;
    struct cairn_buf form;
    const char *key[CAIRN_PARAMS_MAX];
    const char *val[CAIRN_PARAMS_MAX];
    size_t n;
};

int cairn__params_init(struct cairn__params *pr, struct cairn__req *r);
void cairn__params_deinit(struct cairn__params *pr);
/* The first value of `name` (query string first, then form body), or NULL. */
const char *cairn__param(struct cairn__params *pr, const char *name);
/* Call fn for every value of `name` (for repeated match[]); stops at a non-zero return. */
typedef int (*cairn__param_fn)(void *ud, const char *value);
int cairn__param_each(struct cairn__params *pr, const char *name, cairn__param_fn fn, void *ud);

/* `limit` with Loki's default (100) and maximum (5000); 0, or -1 after replying 400. */
int cairn__param_limit(struct cairn__params *pr, struct cairn__req *r, size_t *limit);

/* `step` with Loki's default for range queries: (end - start) / 250 in whole seconds,
 * at least 1 s. 0, or -1 after replying 400. */
int cairn__param_step(struct cairn__params *pr, struct cairn__req *r, int64_t start,
                      int64_t end, int64_t *step);
/* start/end/since with Loki's defaults (end now, start end - since, since def_span);
 * 0, or -1 after replying 400. */
int cairn__time_range(struct cairn__params *pr, struct cairn__req *r, int64_t def_span,
                      int64_t *start, int64_t *end);
/* The store and the request's parameters in pr (the caller deinits them), or NULL
 * after replying 503 (the WAL is still being replayed) or 500 (out of memory). */
struct cairn_store *cairn__store_params(struct cairn_api *api, struct cairn__req *r,
                                        struct cairn__params *pr);
/* The store, or NULL after replying 503 (the WAL is still being replayed). */
struct cairn_store *cairn__store_or_503(struct cairn_api *api, struct cairn__req *r);
/* Take a place in the tenant's query queue (query_gate.h): 0, or -1 after replying
 * 429 (queue full, with Retry-After) or 500. */
struct cairn_query_gate;
struct cairn_query_ticket;
int cairn__query_gate_in(struct cairn_api *api, struct cairn__req *r, const char *tenant,
                         struct cairn_query_gate **g, struct cairn_query_ticket *tk);
/* The HTTP status of a query's error code (400 user error or limit, 504 timeout, 500). */
int cairn__query_status(int rc);
/* The <name> of a "<prefix><name>/values" path into name (cap bytes); 0, or -1 after
 * replying 404. */
int cairn__path_name(struct cairn__req *r, const char *prefix, char *name, size_t cap);
/* Mark the reply (already in r->reply) as 200 JSON. */
void cairn__reply_json(struct cairn__req *r);

/* Loki's time parameter: float seconds, integer unix seconds (<= 10 digits) or ns,
 * or RFC3339(Nano). 0 or CAIRN_EINVAL. */
int cairn__parse_time(const char *s, int64_t *out);
/* A duration ("5m", "1h30m") or float seconds ("15", "0.5"). 0 or CAIRN_EINVAL. */
int cairn__parse_duration_or_seconds(const char *s, int64_t *out);

#endif
