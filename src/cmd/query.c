/* query.c -- 'cairn query': a command-line client for any Loki-compatible endpoint
 * (cairn serve or Loki), shaped after logcli: query, instant, labels, series.
 *
 * Log results are printed one entry per line, merged across streams in the
 * requested direction: `<RFC3339 time> <labels> <line>` (--output default), the
 * bare line (raw), or one JSON object per entry (jsonl). Metric results are
 * printed as the API's JSON. */
#include <curl/curl.h>
#include <getopt.h>
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


static void query_usage(FILE *f)
{
    fprintf(f,
            "usage: cairn query [options] '<LogQL>'          range query (logs or metrics)\n"
            "       cairn query [options] --instant '<LogQL>' instant query\n"
            "       cairn query [options] labels [name]       label names, or one label's values\n"
            "       cairn query [options] series '<selector>' streams matching a selector\n"
            "       cairn query [options] --tail '<LogQL>'    follow new entries live\n\n"
            "options (defaults in brackets):\n"
            "  --addr URL        server address [$LOKI_ADDR or http://127.0.0.1:3100]\n"
            "  --org-id ID       tenant, sent as X-Scope-OrgID [$LOKI_ORG_ID or none]\n"
            "  --since DUR       look back this far from --to, e.g. 30m, 2h [1h]\n"
            "  --from TIME       start (RFC3339 or unix ns) [now - since]\n"
            "  --to TIME         end (RFC3339 or unix ns) [now]\n"
            "  --limit N         most entries to return [30]\n"
            "  --batch N         page a log query N entries per request up to --limit [1000]\n"
            "  --forward         oldest first [newest first]\n"
            "  --step DUR        metric query resolution step [server default]\n"
            "  --instant         instant query at --to\n"
            "  -t, --tail        follow: the last --limit entries, then new ones as they come\n"
            "  --delay-for SEC   --tail: let the server wait up to 5 s to order entries [0]\n"
            "  -o, --output FMT  default | raw | jsonl [default]\n"
            "  --fields LIST     print these keys of JSON or logfmt lines as columns, e.g.\n"
            "                    event.reason,event.involvedObject.name,items[0].id\n"
            "  --wide            --fields: never cut values to the terminal width\n"
            "  --include-label L only this label in the printed labels (repeatable)\n"
            "  --exclude-label L leave this label out of the printed labels (repeatable)\n"
            "  --stats           the query's statistics on stderr\n"
            "  --no-color        no colour (colour is on only when stdout is a terminal;\n"
            "                    $NO_COLOR also turns it off)\n"
            "  -q, --quiet       no request summary on stderr\n\n"
            "auth and TLS, as logcli (defaults from the environment variable in brackets):\n"
            "  --username U      basic auth user [$LOKI_USERNAME]\n"
            "  --password P      basic auth password [$LOKI_PASSWORD]\n"
            "  --bearer-token T  bearer token [$LOKI_BEARER_TOKEN]\n"
            "  --bearer-token-file F  a file holding the token [$LOKI_BEARER_TOKEN_FILE]\n"
            "  --ca-cert F       CA to verify the server with [$LOKI_CA_CERT_PATH]\n"
            "  --cert F          client certificate [$LOKI_CLIENT_CERT_PATH]\n"
            "  --key F           client certificate key [$LOKI_CLIENT_KEY_PATH]\n"
            "  --tls-skip-verify do not verify the server certificate [$LOKI_TLS_SKIP_VERIFY]\n"
            "  --help            this text\n");
}

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
    if (cairn__query_curl_headers(o, &hdr)) {
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
static int label_shown(const struct query_opts *o, const char *name)
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
            if (!label_shown(o, key))
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
    } else {
        rc = print_raw(o, cairn_buf_cstr(&r->body), r->body.len, data != NULL);
    }
    json_decref(doc);
    return rc;
}

static int query_run(struct query_opts *op, int argc, char **argv, int instant, int tail);

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

int cairn_cmd_query(int argc, char **argv)
{
    struct query_opts o = {
        .addr = getenv("LOKI_ADDR") ? getenv("LOKI_ADDR") : "http://127.0.0.1:3100",
        .org_id = getenv("LOKI_ORG_ID"),
        .username = getenv("LOKI_USERNAME"),
        .password = getenv("LOKI_PASSWORD"),
        .bearer = getenv("LOKI_BEARER_TOKEN"),
        .bearer_file = getenv("LOKI_BEARER_TOKEN_FILE"),
        .ca_cert = getenv("LOKI_CA_CERT_PATH"),
        .cert = getenv("LOKI_CLIENT_CERT_PATH"),
        .key = getenv("LOKI_CLIENT_KEY_PATH"),
        .tls_skip_verify = env_true("LOKI_TLS_SKIP_VERIFY"),
        .since = "1h",
        .output = "default",
        .limit = 30,
        .batch = 1000,
    };
    int instant = 0, tail = 0;
    const char *fields_spec = NULL;
    int no_color = getenv("NO_COLOR") && *getenv("NO_COLOR");
    size_t ninc = 0, nexc = 0;
    const char **inc = calloc((size_t)argc + 1, sizeof *inc);
    const char **exc = calloc((size_t)argc + 1, sizeof *exc);
    if (!inc || !exc) {
        free(inc);
        free(exc);
        fprintf(stderr, "cairn query: out of memory\n");
        return 1;
    }
    int rc = 2;
    struct query_fields *fields = NULL;
    enum { O_ADDR = 256, O_ORG, O_SINCE, O_FROM, O_TO, O_LIMIT, O_FWD, O_STEP, O_INSTANT, O_HELP,
           O_DELAY, O_FIELDS, O_WIDE, O_BATCH,
           O_USER, O_PASS, O_BEARER, O_BEARER_FILE, O_CA, O_CERT, O_KEY, O_SKIP, O_INC, O_EXC,
           O_NOCOLOR, O_STATS };
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, O_ADDR},   {"org-id", required_argument, NULL, O_ORG},
        {"since", required_argument, NULL, O_SINCE}, {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},       {"limit", required_argument, NULL, O_LIMIT},
        {"forward", no_argument, NULL, O_FWD},       {"step", required_argument, NULL, O_STEP},
        {"instant", no_argument, NULL, O_INSTANT},   {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},           {"help", no_argument, NULL, O_HELP},
        {"tail", no_argument, NULL, 't'},            {"delay-for", required_argument, NULL, O_DELAY},
        {"batch", required_argument, NULL, O_BATCH},
        {"username", required_argument, NULL, O_USER},
        {"password", required_argument, NULL, O_PASS},
        {"bearer-token", required_argument, NULL, O_BEARER},
        {"bearer-token-file", required_argument, NULL, O_BEARER_FILE},
        {"ca-cert", required_argument, NULL, O_CA},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"tls-skip-verify", no_argument, NULL, O_SKIP},
        {"include-label", required_argument, NULL, O_INC},
        {"exclude-label", required_argument, NULL, O_EXC},
        {"no-color", no_argument, NULL, O_NOCOLOR},
        {"stats", no_argument, NULL, O_STATS},
        {"fields", required_argument, NULL, O_FIELDS}, {"wide", no_argument, NULL, O_WIDE},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qt", longopts, NULL)) != -1) {
        switch (c) {
        case O_ADDR: o.addr = optarg; break;
        case O_ORG: o.org_id = optarg; break;
        case O_SINCE: o.since = optarg; break;
        case O_FROM: o.from = optarg; break;
        case O_TO: o.to = optarg; break;
        case O_LIMIT: {
            char *end;
            o.limit = strtol(optarg, &end, 10);
            if (*end || o.limit < 0) {
                fprintf(stderr, "cairn query: --limit: not a count: '%s'\n", optarg);
                goto done;
            }
            break;
        }
        case O_BATCH: {
            char *end;
            o.batch = strtol(optarg, &end, 10);
            if (*end || o.batch <= 0) {
                fprintf(stderr, "cairn query: --batch: not a positive count: '%s'\n", optarg);
                goto done;
            }
            break;
        }
        case O_DELAY: {
            char *end;
            o.delay_for = strtol(optarg, &end, 10);
            if (*end || o.delay_for < 0 || o.delay_for > 5) {
                fprintf(stderr, "cairn query: --delay-for: seconds from 0 to 5, got '%s'\n",
                        optarg);
                goto done;
            }
            break;
        }
        case 't': tail = 1; break;
        case O_FWD: o.forward = 1; break;
        case O_STEP: o.step = optarg; break;
        case O_INSTANT: instant = 1; break;
        case 'o': o.output = optarg; break;
        case 'q': o.quiet = 1; break;
        case O_FIELDS: fields_spec = optarg; break;
        case O_WIDE: o.wide = 1; break;
        case O_USER: o.username = optarg; break;
        case O_PASS: o.password = optarg; break;
        case O_BEARER: o.bearer = optarg; break;
        case O_BEARER_FILE: o.bearer_file = optarg; break;
        case O_CA: o.ca_cert = optarg; break;
        case O_CERT: o.cert = optarg; break;
        case O_KEY: o.key = optarg; break;
        case O_SKIP: o.tls_skip_verify = 1; break;
        case O_INC: inc[ninc++] = optarg; break;
        case O_EXC: exc[nexc++] = optarg; break;
        case O_NOCOLOR: no_color = 1; break;
        case O_STATS: o.stats = 1; break;
        case O_HELP: query_usage(stdout); rc = 0; goto done;
        default: query_usage(stderr); goto done;
        }
    }
    if (strcmp(o.output, "default") && strcmp(o.output, "raw") && strcmp(o.output, "jsonl")) {
        fprintf(stderr, "cairn query: --output: want default, raw or jsonl, got '%s'\n", o.output);
        goto done;
    }
    if (optind >= argc) {
        query_usage(stderr);
        goto done;
    }
    if (fields_spec) {
        if (!(fields = cairn__query_fields_parse(fields_spec))) {
            fprintf(stderr, "cairn query: --fields: want a comma-separated list of keys\n");
            goto done;
        }
        o.fields = fields;
        o.fields_header = strcmp(o.output, "default") == 0;
    }
    o.include = ninc ? inc : NULL;
    o.exclude = nexc ? exc : NULL;
    o.color = !no_color && strcmp(o.output, "default") == 0 && isatty(STDOUT_FILENO);
    if (cairn__query_auth_load(&o) == 0)
        rc = query_run(&o, argc, argv, instant, tail);
done:
    cairn__query_fields_free(fields);
    free(o.bearer_owned);
    free(inc);
    free(exc);
    return rc;
}

static int query_run(struct query_opts *op, int argc, char **argv, int instant, int tail)
{
    struct query_opts o = *op;
    int64_t since_ns;
    if (cairn_parse_duration(o.since, strlen(o.since), &since_ns)) {
        fprintf(stderr, "cairn query: --since: not a duration: '%s'\n", o.since);
        return 2;
    }
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
        int trc = cairn__query_tail(&o, argv[optind]);
        curl_global_cleanup();
        return trc;
    }
    if (!instant && o.limit > o.batch && strcmp(argv[optind], "labels") &&
        strcmp(argv[optind], "series") && !cairn__query_is_metric(argv[optind])) {
        int brc = cairn__query_batched(&o, argv[optind]);
        curl_global_cleanup();
        return brc;
    }
    CURL *esc = curl_easy_init();
    struct cairn_buf params = CAIRN_BUF_INIT;
    struct query_reply reply = {CAIRN_BUF_INIT, 0};
    const char *path;
    int rc = 1, bad = 0;
    const char *what = argv[optind];
    if (strcmp(what, "labels") == 0) {
        static char lpath[512];
        if (optind + 1 < argc)
            snprintf(lpath, sizeof lpath, "/loki/api/v1/label/%s/values", argv[optind + 1]);
        path = optind + 1 < argc ? lpath : "/loki/api/v1/labels";
        bad |= cairn__qparam(esc, &params, "start", o.from) |
               cairn__qparam(esc, &params, "end", o.to);
    } else if (strcmp(what, "series") == 0) {
        if (optind + 1 >= argc) {
            fprintf(stderr, "cairn query series: a selector is required, e.g. '{job=\"x\"}'\n");
            goto out;
        }
        path = "/loki/api/v1/series";
        bad |= cairn__qparam(esc, &params, "match[]", argv[optind + 1]) |
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
