/* query.c -- 'cairn query': a command-line client for any Loki-compatible endpoint
 * (cairn serve or Loki), shaped after logcli: query, instant, labels, series.
 *
 * Log results are printed one entry per line, merged across streams in the
 * requested direction: `<RFC3339 time> <labels> <line>` (--output default), the
 * bare line (raw), or one JSON object per entry (jsonl). Metric results are
 * printed as the API's JSON. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/json.h"
#include "cairn/timeutil.h"
#include "cairn/units.h"
#include "cmd/cmd.h"
#include "cmd/query_int.h"


static const char query_usage[] =
    "usage: cairn query [options] '<LogQL>'          range query (logs or metrics)\n"
    "       cairn query [options] --instant '<LogQL>' instant query\n"
    "       cairn query [options] labels [name]       label names, or one label's values\n"
    "       cairn query [options] series '<selector>' streams matching a selector\n"
    "       cairn query [options] --tail '<LogQL>'    follow new entries live\n\n"
    "Options also take logcli's environment variables as defaults (LOKI_ADDR,\n"
    "LOKI_ORG_ID, LOKI_USERNAME, LOKI_PASSWORD, LOKI_BEARER_TOKEN(_FILE),\n"
    "LOKI_CA_CERT_PATH, LOKI_CLIENT_CERT_PATH, LOKI_CLIENT_KEY_PATH, LOKI_TLS_SKIP_VERIFY).";

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct query_reply *r = ud;
    return cairn_buf_append(&r->body, p, size * n) ? 0 : size * n;
}

int cairn__query_http_get(const struct query_opts *o, const char *path, struct cairn_buf *params,
                    struct query_reply *reply)
{
    struct cairn_buf url = CAIRN_BUF_INIT;
    int rc = -1;
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    if (!c || cairn_buf_appendf(&url, "%s%s?%s", o->addr, path, cairn_buf_cstr(params)))
        goto out;
    /* -o jsonl prints structured metadata and parsed labels apart from the stream's:
     * ask for Loki 3's categorized answer (a server that does not know it ignores it) */
    if (cairn__query_curl_headers(o, &hdr) ||
        (strcmp(o->output, "jsonl") == 0 &&
         !(hdr = curl_slist_append(hdr, "X-Loki-Response-Encoding-Flags: categorize-labels")))) {
        fprintf(stderr, "cairn query: out of memory\n");
        goto out;
    }
    cairn__query_curl_tls(c, o);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "cairn query: %s: %s\n", url.data, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
    if (!o->quiet)
        fprintf(stderr, "%s\n", url.data);
    rc = 0;
out:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    cairn_buf_deinit(&url);
    return rc;
}

int cairn__qparam(CURL *c, struct cairn_buf *b, const char *k, const char *v)
{
    char *e = curl_easy_escape(c, v, 0);
    if (!e)
        return -1;
    int rc = cairn_buf_appendf(b, "%s%s=%s", b->len ? "&" : "", k, e);
    curl_free(e);
    return rc;
}

static int row_cmp_fwd(const void *a, const void *b)
{
    const struct query_row *x = a, *y = b;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

static int row_cmp_back(const void *a, const void *b)
{
    return row_cmp_fwd(b, a);
}

void cairn__query_rows_free(struct query_rows *r)
{
    for (size_t i = 0; i < r->nlabels; i++)
        free(r->labels[i]);
    free(r->labels);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* --include-label / --exclude-label: is this label printed? */
int cairn__query_label_shown(const struct query_opts *o, const char *name)
{
    if (o->include) {
        int in = 0;
        for (const char **p = o->include; *p && !in; p++)
            in = strcmp(*p, name) == 0;
        if (!in)
            return 0;
    }
    for (const char **p = o->exclude; p && *p; p++)
        if (strcmp(*p, name) == 0)
            return 0;
    return 1;
}

int cairn__query_rows_collect(const struct query_opts *o, json_t *result, int forward,
                              struct query_rows *out)
{
    size_t total = 0, i, k;
    json_t *s;
    memset(out, 0, sizeof *out);
    json_array_foreach(result, i, s) total += json_array_size(json_object_get(s, "values"));
    out->rows = calloc(total ? total : 1, sizeof *out->rows);
    out->labels = calloc(2 * json_array_size(result) + 1, sizeof *out->labels);
    if (!out->rows || !out->labels) {
        cairn__query_rows_free(out);
        return CAIRN_ENOMEM;
    }
    struct query_row *rows = out->rows;
    size_t n = 0;
    json_array_foreach(result, i, s) {
        /* shown: the labels printed; all: every label, the stream's identity */
        struct cairn_buf lb = CAIRN_BUF_INIT, ab = CAIRN_BUF_INIT;
        const char *key;
        json_t *v, *e;
        int filtered = o->include || o->exclude;
        int bad = cairn_buf_append_byte(&lb, '{') | cairn_buf_append_byte(&ab, '{');
        int first = 1, afirst = 1;
        json_object_foreach(json_object_get(s, "stream"), key, v) {
            if (filtered) {
                bad |= cairn_buf_appendf(&ab, "%s%s=\"%s\"", afirst ? "" : ", ", key,
                                         json_string_value(v));
                afirst = 0;
            }
            if (!cairn__query_label_shown(o, key))
                continue;
            bad |= cairn_buf_appendf(&lb, "%s%s=\"%s\"", first ? "" : ", ", key,
                                     json_string_value(v));
            first = 0;
        }
        bad |= cairn_buf_append_byte(&lb, '}') | cairn_buf_append_byte(&ab, '}');
        char *shown = cairn_buf_detach(&lb, NULL);
        char *all = filtered ? cairn_buf_detach(&ab, NULL) : NULL;
        cairn_buf_deinit(&ab);
        if (shown)
            out->labels[out->nlabels++] = shown;
        if (all)
            out->labels[out->nlabels++] = all;
        if (bad || !shown || (filtered && !all)) {
            cairn_buf_deinit(&lb);
            cairn__query_rows_free(out);
            return CAIRN_ENOMEM;
        }
        json_array_foreach(json_object_get(s, "values"), k, e) {
            const char *ts = json_string_value(json_array_get(e, 0));
            rows[n].ts = ts ? strtoll(ts, NULL, 10) : 0;
            rows[n].labels = shown;
            rows[n].stream = filtered ? all : shown;
            rows[n].line = json_string_value(json_array_get(e, 1));
            rows[n].cat = json_is_object(json_array_get(e, 2)) ? json_array_get(e, 2) : NULL;
            if (!rows[n].line)
                rows[n].line = "";
            n++;
        }
    }
    out->n = n;
    qsort(rows, n, sizeof *rows, forward ? row_cmp_fwd : row_cmp_back);
    return 0;
}

int cairn__query_print_streams(const struct query_opts *o, json_t *result, int forward)
{
    struct query_rows r;
    if (cairn__query_rows_collect(o, result, forward, &r)) {
        fprintf(stderr, "cairn query: out of memory\n");
        return 1;
    }
    int rc = cairn__query_print_rows(o, r.rows, r.n);
    cairn__query_rows_free(&r);
    return rc;
}

/* The colour of a line by its level (`level=error`, `"level":"warn"`, `lvl=`...), or "". */
static const char *level_color(const char *line)
{
    static const char *const keys[] = {"level", "lvl", "severity"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *p = strstr(line, keys[k]);
        if (!p)
            continue;
        p += strlen(keys[k]);
        while (*p == '"' || *p == ':' || *p == '=' || *p == ' ')
            p++;
        if (!strncasecmp(p, "err", 3) || !strncasecmp(p, "fatal", 5) ||
            !strncasecmp(p, "crit", 4) || !strncasecmp(p, "panic", 5))
            return "\033[31m";
        if (!strncasecmp(p, "warn", 4))
            return "\033[33m";
        if (!strncasecmp(p, "debug", 5) || !strncasecmp(p, "trace", 5))
            return "\033[2m";
        return "";
    }
    return "";
}

/* -o jsonl: an entry's structured metadata and parsed labels (categorize-labels) as
 * their own members, "structuredMetadata" and "parsed", each only when present. */
static void jsonl_categories(struct cairn_buf *out, const json_t *cat)
{
    static const char *const keys[] = {"structuredMetadata", "parsed"};
    for (size_t k = 0; cat && k < 2; k++) {
        json_t *m = json_object_get(cat, keys[k]);
        char *js = json_is_object(m) ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (js)
            cairn_buf_appendf(out, ",\"%s\":%s", keys[k], js);
        free(js);
    }
}

int cairn__query_print_rows(const struct query_opts *o, const struct query_row *rows, size_t n)
{
    size_t i;
    struct cairn_buf out = CAIRN_BUF_INIT;
    int rc = 0;
    if (o->fields && strcmp(o->output, "jsonl") != 0) {
        rc = cairn__query_fields_print(o, rows, n);
        n = 0;
    }
    for (i = 0; i < n; i++) {
        cairn_buf_reset(&out);
        if (strcmp(o->output, "raw") == 0) {
            cairn_buf_append_str(&out, rows[i].line);
        } else if (strcmp(o->output, "jsonl") == 0) {
            char t[64];
            cairn_format_rfc3339(rows[i].ts, t, sizeof t);
            cairn_buf_appendf(&out, "{\"timestamp\":\"%s\",\"labels\":", t);
            cairn_buf_append_json_str(&out, rows[i].labels, strlen(rows[i].labels));
            cairn_buf_append_str(&out, ",\"line\":");
            cairn_buf_append_json_str(&out, rows[i].line, strlen(rows[i].line));
            jsonl_categories(&out, rows[i].cat);
            cairn_buf_append_byte(&out, '}');
        } else if (o->color) {
            char t[64];
            cairn_format_rfc3339(rows[i].ts, t, sizeof t);
            const char *lc = level_color(rows[i].line);
            cairn_buf_appendf(&out, "\033[2m%s\033[0m \033[36m%s\033[0m %s%s%s", t,
                              rows[i].labels, lc, rows[i].line, *lc ? "\033[0m" : "");
        } else {
            char t[64];
            cairn_format_rfc3339(rows[i].ts, t, sizeof t);
            cairn_buf_appendf(&out, "%s %s %s", t, rows[i].labels, rows[i].line);
        }
        cairn_buf_append_byte(&out, '\n');
        fwrite(out.data, 1, out.len, stdout);
    }
    cairn_buf_deinit(&out);
    return rc;
}

static int print_elem(void *arg, const char *p, size_t len)
{
    (void)arg;
    struct cairn_buf out = CAIRN_BUF_INIT;
    int rc;
    if (len >= 2 && p[0] == '"') {
        rc = cairn_json_unescape(p + 1, len - 2, &out); /* label names and values: bare */
    } else {
        rc = cairn__query_json_reprint(p, len, 0, &out);
    }
    if (!rc)
        rc = cairn_buf_append_byte(&out, '\n');
    if (!rc)
        fwrite(out.data, 1, out.len, stdout);
    cairn_buf_deinit(&out);
    return rc;
}

/* Everything but streams, from the reply's raw bytes so numbers pass through exactly as
 * sent: lists (labels, series) one element a line; metric results as indented JSON, or
 * with -o jsonl one compact series (or sample) a line. */
static int print_raw(const struct query_opts *o, const char *body, size_t len, int has_data)
{
    const char *raw = body, *res;
    size_t rawlen = len, reslen;
    int rc = 0;
    if (has_data && cairn__query_json_at(body, len, "data", &raw, &rawlen) != 1) {
        raw = body;
        rawlen = len;
    }
    if (rawlen && raw[0] == '[') {
        rc = cairn__query_json_each(raw, rawlen, print_elem, (void *)o);
    } else if (strcmp(o->output, "jsonl") == 0 &&
               cairn__query_json_at(raw, rawlen, "result", &res, &reslen) == 1 && res[0] == '[') {
        rc = cairn__query_json_each(res, reslen, print_elem, (void *)o);
    } else {
        struct cairn_buf out = CAIRN_BUF_INIT;
        rc = cairn__query_json_reprint(raw, rawlen, 2, &out);
        if (!rc)
            rc = cairn_buf_append_byte(&out, '\n');
        if (!rc)
            fwrite(out.data, 1, out.len, stdout);
        cairn_buf_deinit(&out);
    }
    if (rc) {
        fprintf(stderr, "cairn query: cannot print the reply (%s)\n",
                rc == CAIRN_ENOMEM ? "out of memory" : "malformed JSON");
        return 1;
    }
    return 0;
}

/* Print the reply: streams merged, other result types and lists as JSON. */
static int print_reply(const struct query_opts *o, struct query_reply *r)
{
    json_error_t je;
    json_t *doc = json_loadb(cairn_buf_cstr(&r->body), r->body.len, JSON_DECODE_INT_AS_REAL, &je);
    if (r->status != 200 || !doc) {
        fprintf(stderr, "cairn query: server answered %ld: %s\n", r->status,
                cairn_buf_cstr(&r->body));
        json_decref(doc);
        return 1;
    }
    json_t *data = json_object_get(doc, "data");
    json_t *rt = json_object_get(data, "resultType");
    int rc = 0;
    if (o->stats)
        cairn__query_print_stats(cairn_buf_cstr(&r->body), r->body.len);
    if (rt && strcmp(json_string_value(rt), "streams") == 0) {
        rc = cairn__query_print_streams(o, json_object_get(data, "result"), o->forward);
    } else if (rt && strcmp(o->output, "default") == 0) {
        rc = cairn__query_print_metric(o, data);
    } else {
        rc = print_raw(o, cairn_buf_cstr(&r->body), r->body.len, data != NULL);
    }
    json_decref(doc);
    return rc;
}

static int query_run(struct query_opts *op, int64_t since_ns, char **pos, size_t npos,
                     int instant, int tail);

static const char *const output_names[] = {"default", "raw", "jsonl"};

/* NULL-ended copy of a string list's pointers (the strings stay the list's). */
static const char **null_ended(const struct cairn_cfg_strlist *l)
{
    if (!l->n)
        return NULL;
    const char **v = calloc(l->n + 1, sizeof *v);
    if (v)
        memcpy(v, l->v, l->n * sizeof *v);
    return v;
}

int cairn_cmd_query(int argc, char **argv)
{
    struct query_config q;
    struct cairn_cfg c = {0};
    struct cairn_err err;
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_cfg_args args = {0};
    struct query_fields *fields = NULL;
    struct query_opts o = {0};
    int rc = 2;
    cairn_err_clear(&err);
    if (cairn_cfg_init(&c, &cairn__query_config_table, &q, NULL, &err)) {
        fprintf(stderr, "cairn query: %s\n", err.msg);
        return 1;
    }
    int lrc = cairn__query_config_env(&c, &err);
    if (!lrc)
        lrc = cairn_cfg_load_args(&c, argc, argv, query_usage, &args, &out, &err);
    if (lrc == CAIRN_CFG_EXIT) {
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        rc = 0;
        goto done;
    }
    if (lrc) {
        fprintf(stderr, "cairn query: %s\n", err.msg);
        goto done;
    }
    if (args.n_pos == 0) {
        fprintf(stderr, "cairn query: a LogQL query, 'labels' or 'series' is required "
                        "(see --help)\n");
        goto done;
    }
    size_t want = strcmp(args.pos[0], "labels") == 0 || strcmp(args.pos[0], "series") == 0
                      ? 2 : 1;
    if (args.n_pos > want) {
        fprintf(stderr, "cairn query: unexpected argument '%s' (one query; quote it)\n",
                args.pos[want]);
        goto done;
    }
    o = (struct query_opts){
        .addr = q.addr, .org_id = q.org_id, .from = q.from, .to = q.to,
        .output = output_names[q.output], .step = q.step, .limit = q.limit,
        .batch = q.batch, .delay_for = q.delay_for, .forward = q.forward, .quiet = q.quiet,
        .wide = q.wide, .username = q.username, .password = q.password,
        .bearer = q.bearer, .bearer_file = q.bearer_file, .ca_cert = q.ca_cert,
        .cert = q.cert, .key = q.key, .tls_skip_verify = q.tls_skip_verify,
        .stats = q.stats,
    };
    o.include = null_ended(&q.include);
    o.exclude = null_ended(&q.exclude);
    if ((q.include.n && !o.include) || (q.exclude.n && !o.exclude)) {
        fprintf(stderr, "cairn query: out of memory\n");
        rc = 1;
        goto done;
    }
    if (q.fields && *q.fields) {
        if (!(fields = cairn__query_fields_parse(q.fields))) {
            fprintf(stderr, "cairn query: --fields: want a comma-separated list of keys\n");
            goto done;
        }
        o.fields = fields;
        o.fields_header = q.output == QUERY_OUT_DEFAULT;
    }
    o.color = !q.no_color && q.output == QUERY_OUT_DEFAULT && isatty(STDOUT_FILENO);
    if (cairn__query_auth_load(&o) == 0)
        rc = query_run(&o, q.since_ns, args.pos, args.n_pos, q.instant, q.tail);
done:
    cairn__query_fields_free(fields);
    free(o.bearer_owned);
    free(o.include);
    free(o.exclude);
    cairn_cfg_args_deinit(&args);
    cairn_buf_deinit(&out);
    cairn_cfg_deinit(&c);
    return rc;
}

static int query_run(struct query_opts *op, int64_t since_ns, char **pos, size_t npos,
                     int instant, int tail)
{
    struct query_opts o = *op;
    char to_buf[32], from_buf[32], afrom[40], astep[40];
    int64_t now = cairn_now_ns();
    if (!o.to) {
        snprintf(to_buf, sizeof to_buf, "%lld", (long long)now);
        o.to = to_buf;
    }
    if (!o.from) {
        int64_t to_ns = strtoll(o.to, NULL, 10);
        if (strchr(o.to, '-') || to_ns <= 0)
            to_ns = now; /* RFC3339 --to: count --since back from now */
        snprintf(from_buf, sizeof from_buf, "%lld", (long long)(to_ns - since_ns));
        o.from = from_buf;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (tail) {
        int trc = cairn__query_tail(&o, pos[0]);
        curl_global_cleanup();
        return trc;
    }
    if (!instant && o.limit > o.batch && strcmp(pos[0], "labels") &&
        strcmp(pos[0], "series") && !cairn__query_is_metric(pos[0])) {
        int brc = cairn__query_batched(&o, pos[0]);
        curl_global_cleanup();
        return brc;
    }
    CURL *esc = curl_easy_init();
    struct cairn_buf params = CAIRN_BUF_INIT;
    struct query_reply reply = {CAIRN_BUF_INIT, 0};
    const char *path;
    int rc = 1, bad = 0;
    const char *what = pos[0];
    if (strcmp(what, "labels") == 0) {
        static char lpath[512];
        if (npos > 1)
            snprintf(lpath, sizeof lpath, "/loki/api/v1/label/%s/values", pos[1]);
        path = npos > 1 ? lpath : "/loki/api/v1/labels";
        bad |= cairn__qparam(esc, &params, "start", o.from) |
               cairn__qparam(esc, &params, "end", o.to);
    } else if (strcmp(what, "series") == 0) {
        if (npos < 2) {
            fprintf(stderr, "cairn query series: a selector is required, e.g. '{job=\"x\"}'\n");
            goto out;
        }
        path = "/loki/api/v1/series";
        bad |= cairn__qparam(esc, &params, "match[]", pos[1]) |
               cairn__qparam(esc, &params, "start", o.from) |
               cairn__qparam(esc, &params, "end", o.to);
    } else {
        char lim[32];
        snprintf(lim, sizeof lim, "%ld", o.limit);
        path = instant ? "/loki/api/v1/query" : "/loki/api/v1/query_range";
        bad |= cairn__qparam(esc, &params, "query", what) |
               cairn__qparam(esc, &params, "limit", lim) |
               cairn__qparam(esc, &params, "direction", o.forward ? "forward" : "backward");
        if (instant) {
            bad |= cairn__qparam(esc, &params, "time", o.to);
        } else {
            if (cairn__query_align(what, o.from, o.to, o.step, afrom, astep, sizeof afrom)) {
                o.from = afrom;
                o.step = astep;
            }
            bad |= cairn__qparam(esc, &params, "start", o.from) |
                   cairn__qparam(esc, &params, "end", o.to);
            if (o.step)
                bad |= cairn__qparam(esc, &params, "step", o.step);
        }
    }
    if (bad) {
        fprintf(stderr, "cairn query: out of memory\n");
        goto out;
    }
    if (cairn__query_http_get(&o, path, &params, &reply) == 0)
        rc = print_reply(&o, &reply);
out:
    cairn_buf_deinit(&params);
    cairn_buf_deinit(&reply.body);
    curl_easy_cleanup(esc);
    curl_global_cleanup();
    return rc;
}
