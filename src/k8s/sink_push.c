/* sink_push.c -- the push sink: each event line (the stdout sink's shape) goes to a
 * Loki-compatible store through the shared push client (src/push: batching, retries,
 * back-pressure), in a stream labelled job, namespace, kind, reason, type, source and
 * any extra labels taken from the event by JSON path.
 *
 * Entries carry the time they were received, as Promtail stamps eventrouter's lines:
 * always in order per stream, so a store never refuses a listed event as too old. */
#include <stdlib.h>
#include <string.h>

#include "cairn/k8s_router.h"
#include "cairn/labels.h"
#include "cairn/log.h"
#include "cairn/parse_json.h"
#include "cairn/push.h"
#include "cairn/timeutil.h"

struct extra_label {
    char *name;
    struct cairn_jsonpath *path;
};

struct push_sink {
    struct cairn_push *p;
    int events_v1;
    char *job;
    struct extra_label *extra;
    size_t nextra;
    struct cairn_labels labels;
    struct cairn_buf line, val;
};

/* An extra label: the path resolved over the event's JSON text by the shared JSON path
 * code (parse_json.h); strings unescaped, numbers and booleans as written; objects,
 * arrays, null and absent paths give no label. */
static int add_path_value(struct push_sink *s, const char *name, const struct cairn_jsonpath *jp,
                          const char *ev, size_t len)
{
    struct cairn_json_tok t;
    const char *raw;
    size_t rawlen;
    if (cairn_jsonpath_get(jp, ev, len, &t, &raw, &rawlen) != 1)
        return 0;
    for (size_t i = 0; i < s->labels.n; i++)
        if (strcmp(s->labels.v[i].name, name) == 0)
            return 0;
    cairn_buf_reset(&s->val);
    if (t.type == CAIRN_JSON_STRING) {
        if (cairn_json_unescape(t.p, t.len, &s->val) != 0)
            return 0;
    } else if (t.type == CAIRN_JSON_NUMBER || t.type == CAIRN_JSON_TRUE ||
               t.type == CAIRN_JSON_FALSE) {
        cairn_buf_append(&s->val, t.p, t.len);
    }
    if (s->val.len == 0)
        return 0;
    if (s->val.len > CAIRN_MAX_LABEL_VALUE_LENGTH)
        cairn_buf_truncate(&s->val, CAIRN_MAX_LABEL_VALUE_LENGTH);
    return cairn_labels_add(&s->labels, name, strlen(name), s->val.data, s->val.len);
}

/* A label value from a JSON value: strings as they are, numbers and booleans as text;
 * objects, arrays and null give no label. */
static int add_value(struct push_sink *s, const char *name, json_t *v)
{
    cairn_buf_reset(&s->val);
    if (json_is_string(v)) {
        cairn_buf_append(&s->val, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        cairn_buf_appendf(&s->val, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        cairn_buf_appendf(&s->val, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        cairn_buf_append_str(&s->val, json_is_true(v) ? "true" : "false");
    }
    if (s->val.len == 0)
        return 0; /* Loki drops empty labels: leave it out */
    if (s->val.len > CAIRN_MAX_LABEL_VALUE_LENGTH)
        cairn_buf_truncate(&s->val, CAIRN_MAX_LABEL_VALUE_LENGTH);
    for (size_t i = 0; i < s->labels.n; i++) /* not sorted yet; a handful of labels */
        if (strcmp(s->labels.v[i].name, name) == 0)
            return 0; /* the first one set wins (the built-in labels) */
    return cairn_labels_add(&s->labels, name, strlen(name), s->val.data, s->val.len);
}

static json_t *get2(json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

static int push_emit(void *ctx, const char *verb, json_t *ev, const char *ev_json, size_t ev_len,
                     const char *old, size_t old_len)
{
    struct push_sink *s = ctx;
    cairn_labels_reset(&s->labels);
    int rc = cairn_labels_add(&s->labels, "job", 3, s->job, strlen(s->job));
    rc = rc ? rc : add_value(s, "namespace", get2(ev, "metadata", "namespace"));
    rc = rc ? rc : add_value(s, "kind", get2(ev, s->events_v1 ? "regarding" : "involvedObject",
                                             "kind"));
    rc = rc ? rc : add_value(s, "reason", json_object_get(ev, "reason"));
    rc = rc ? rc : add_value(s, "type", json_object_get(ev, "type"));
    json_t *src = get2(ev, "source", "component");
    if (!json_is_string(src) || json_string_length(src) == 0)
        src = json_object_get(ev, s->events_v1 ? "reportingController" : "reportingComponent");
    rc = rc ? rc : add_value(s, "source", src);
    for (size_t i = 0; rc == 0 && i < s->nextra; i++)
        rc = add_path_value(s, s->extra[i].name, s->extra[i].path, ev_json, ev_len);
    if (rc == 0)
        rc = cairn_labels_sort(&s->labels, NULL);
    if (rc)
        return rc;
    cairn_buf_reset(&s->line);
    rc = cairn_buf_appendf(&s->line, "{\"verb\":\"%s\",\"event\":", verb);
    rc = rc ? rc : cairn_buf_append(&s->line, ev_json, ev_len);
    if (old && rc == 0) {
        rc = cairn_buf_append_str(&s->line, ",\"old_event\":");
        rc = rc ? rc : cairn_buf_append(&s->line, old, old_len);
    }
    rc = rc ? rc : cairn_buf_append_byte(&s->line, '}');
    if (rc)
        return rc;
    return cairn_push_entry(s->p, NULL, &s->labels, cairn_now_ns(), s->line.data, s->line.len);
}

static int push_flush(void *ctx)
{
    struct push_sink *s = ctx;
    return cairn_push_flush(s->p);
}

static void push_destroy(void *ctx)
{
    struct push_sink *s = ctx;
    if (!s)
        return;
    cairn_push_destroy(s->p);
    for (size_t i = 0; i < s->nextra; i++) {
        free(s->extra[i].name);
        cairn_jsonpath_destroy(s->extra[i].path);
    }
    free(s->extra);
    free(s->job);
    cairn_labels_deinit(&s->labels);
    cairn_buf_deinit(&s->line);
    cairn_buf_deinit(&s->val);
    free(s);
}

static int metrics_cb(void *ud, struct cairn_buf *out)
{
    struct push_sink *s = ud;
    return cairn_push_metrics_write(s->p, "cairn_events", out);
}

int cairn_k8s_sink_push_init(struct cairn_k8s_sink *sink, const struct cairn_k8s_push_opts *o,
                             struct cairn_err *err)
{
    struct push_sink *s = calloc(1, sizeof *s);
    if (!s)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    cairn_labels_init(&s->labels);
    s->events_v1 = o->events_v1;
    int rc = 0;
    if (!(s->job = strdup(o->job ? o->job : "events")) ||
        (o->nextra && !(s->extra = calloc(o->nextra, sizeof *s->extra))))
        rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < o->nextra; i++) {
        const char *spec = o->extra[i], *eq = strchr(spec, '=');
        if (!eq || eq == spec || !cairn_label_name_valid(spec, (size_t)(eq - spec))) {
            rc = cairn_err_set(err, CAIRN_EINVAL, "--label %s: want NAME=JSONPATH with a valid "
                               "label name", spec);
            break;
        }
        if (!(s->extra[i].name = strndup(spec, (size_t)(eq - spec)))) {
            rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            break;
        }
        s->nextra = i + 1;
        if (!(s->extra[i].path = cairn_jsonpath_compile(eq + 1, strlen(eq + 1), err)))
            rc = cairn_err_set(err, CAIRN_EINVAL, "--label %s: cannot parse the JSON path", spec);
    }
    if (rc == 0) {
        struct cairn_push_config pc;
        cairn_push_config_default(&pc);
        pc.url = o->url;
        pc.tenant_id = o->tenant_id;
        pc.user_agent = "cairn-events/" CAIRN_VERSION;
        pc.bearer_token_file = o->bearer_token_file;
        pc.basic_auth_username = o->basic_auth_username;
        pc.basic_auth_password_file = o->basic_auth_password_file;
        pc.tls_ca_file = o->tls_ca_file;
        pc.tls_insecure_skip_verify = o->tls_insecure_skip_verify;
        if (!(s->p = cairn_push_create(&pc, err)))
            rc = err && err->code ? err->code : CAIRN_EINVAL;
    }
    if (rc) {
        push_destroy(s);
        return rc;
    }
    sink->emit = push_emit;
    sink->flush = push_flush;
    sink->destroy = push_destroy;
    sink->ctx = s;
    sink->metrics = metrics_cb;
    return 0;
}
