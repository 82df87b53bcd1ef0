/* options.c -- a container's log-opts with the names and defaults of Grafana Loki's
 * Docker driver, checked by the config table loader (an unknown option is refused),
 * and what they build: the stream's labels (external labels with docker's
 * {{.Name}}-style templates, swarm_* and compose_* from container labels, host,
 * filename, relabelled by loki-relabel-config) and the pipeline from
 * loki-pipeline-stages / loki-pipeline-stage-file through the agent's stage tables. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_template.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"
#include "cairn/timeutil.h"
#include "docker/docker_int.h"
#include "ship/ship_build.h"

#define O struct cairn__docker_opts
#define E(key_, type_, m, ...) {.key = key_, .type = type_, CAIRN_CFG_AT(O, m), __VA_ARGS__}
static const struct cairn_cfg_entry opts_e[] = {
    E("loki-url", CAIRN_CFG_STRING, loki_url, .help = "Loki push endpoint (required)"),
    E("loki-external-labels", CAIRN_CFG_STRING, external_labels, .def = "container_name={{.Name}}",
      .help = "k=v,k2=v2 added to every stream; values are docker tag templates"),
    E("loki-pipeline-stages", CAIRN_CFG_STRING, pipeline_stages,
      .help = "pipeline stages as YAML text (a list)"),
    E("loki-pipeline-stage-file", CAIRN_CFG_STRING, pipeline_stage_file,
      .help = "a YAML file with pipeline_stages:"),
    E("loki-relabel-config", CAIRN_CFG_STRING, relabel_config,
      .help = "relabel_configs as YAML text (a list), applied to the stream's labels"),
    E("loki-batch-size", CAIRN_CFG_SIZE, batch_size, .idef = 1024 * 1024,
      .help = "bytes of lines per push"),
    E("loki-batch-wait", CAIRN_CFG_DURATION, batch_wait_ns, .def = "1s", .min = 1, .max = INT64_MAX,
      .help = "longest wait before a batch is sent"),
    E("loki-timeout", CAIRN_CFG_DURATION, timeout_ns, .def = "10s", .min = 1, .max = INT64_MAX,
      .help = "per push request"),
    E("loki-min-backoff", CAIRN_CFG_DURATION, min_backoff_ns, .def = "500ms", .min = 1,
      .max = INT64_MAX, .help = "first retry delay"),
    E("loki-max-backoff", CAIRN_CFG_DURATION, max_backoff_ns, .def = "5m", .min = 1,
      .max = INT64_MAX, .help = "longest retry delay"),
    E("loki-retries", CAIRN_CFG_INT, retries, .idef = 10, .min = 0, .max = 1000000,
      .help = "retries of a failed batch"),
    E("loki-tenant-id", CAIRN_CFG_STRING, tenant_id, .help = "X-Scope-OrgID"),
    E("loki-tls-ca-file", CAIRN_CFG_STRING, tls_ca_file, .help = "CA bundle"),
    E("loki-tls-cert-file", CAIRN_CFG_STRING, tls_cert_file, .help = "client certificate"),
    E("loki-tls-key-file", CAIRN_CFG_STRING, tls_key_file, .help = "client key"),
    E("loki-tls-insecure-skip-verify", CAIRN_CFG_BOOL, tls_insecure_skip_verify,
      .help = "do not verify the server's certificate"),
    E("no-file", CAIRN_CFG_BOOL, no_file, .help = "keep no local copy (docker logs then fails)"),
    E("keep-file", CAIRN_CFG_BOOL, keep_file, .help = "keep the local copy after the container stops"),
    E("max-size", CAIRN_CFG_STRING, max_size, .def = "-1",
      .help = "local copy size before rotation (docker's 10k/10m/1g; -1 unlimited)"),
    E("max-file", CAIRN_CFG_INT, max_file, .idef = 1, .min = 1, .max = 1000,
      .help = "local copy files kept"),
    E("mode", CAIRN_CFG_STRING, mode, .help = "the daemon's delivery mode (its own; unused here)"),
    E("max-buffer-size", CAIRN_CFG_STRING, max_buffer_size,
      .help = "the daemon's non-blocking buffer (its own; unused here)"),
    E("labels", CAIRN_CFG_STRING, labels, .help = "container label keys added as labels"),
    E("env", CAIRN_CFG_STRING, env, .help = "container env keys added as labels"),
};
#undef E
#undef O
static const struct cairn_cfg_table opts_t =
    CAIRN_CFG_TABLE("log-opts", opts_e, struct cairn__docker_opts);

/* Docker's sizes (go-units RAMInBytes): an integer with k, m, g, t (optionally + b),
 * 1024-based; -1 is unlimited (0 here). */
static int parse_docker_size(const char *s, uint64_t *out)
{
    if (strcmp(s, "-1") == 0) {
        *out = 0;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return CAIRN_EINVAL;
    double mul = 1;
    char u = (char)tolower((unsigned char)*end);
    if (u == 'k' || u == 'm' || u == 'g' || u == 't') {
        mul = u == 'k' ? 1024.0 : u == 'm' ? 1048576.0 : u == 'g' ? 1073741824.0 : 1099511627776.0;
        end++;
    }
    if (tolower((unsigned char)*end) == 'b')
        end++;
    if ((*end == 'i' || *end == 'I') && mul > 1 && tolower((unsigned char)end[1]) == 'b')
        end += 2;
    if (*end)
        return CAIRN_EINVAL;
    *out = (uint64_t)(v * mul);
    return 0;
}

void cairn__docker_info_read(json_t *obj, struct cairn__docker_info *info)
{
    memset(info, 0, sizeof *info);
#define S(field, key)                                                   \
    do {                                                                \
        json_t *v_ = json_object_get(obj, key);                         \
        info->field = json_is_string(v_) ? json_string_value(v_) : ""; \
    } while (0)
    S(id, "ContainerID");
    S(name, "ContainerName");
    S(image_id, "ContainerImageID");
    S(image_name, "ContainerImageName");
    S(log_path, "LogPath");
    S(daemon_name, "DaemonName");
#undef S
    json_t *v = json_object_get(obj, "ContainerLabels");
    info->labels = json_is_object(v) ? v : NULL;
    v = json_object_get(obj, "ContainerEnv");
    info->env = json_is_array(v) ? v : NULL;
    v = json_object_get(obj, "Config");
    info->config = json_is_object(v) ? v : NULL;
}

int cairn__docker_id_valid(const char *id)
{
    if (!id[0] || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 128)
        return 0;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return 0;
    return 1;
}

/* ---- docker's tag template fields: {{.Name}}, {{.ID}}, {{.FullID}}, ... ---- */

static int info_lookup(void *arg, const char *name, size_t len, const char **v, size_t *vlen)
{
    const struct cairn__docker_info *in = arg;
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
    const char *s = NULL;
    size_t n = 0;
    if (IS("Name") || IS("ContainerName")) {
        s = in->name[0] == '/' ? in->name + 1 : in->name;
        n = strlen(s);
    } else if (IS("FullID") || IS("ContainerID")) {
        s = in->id;
        n = strlen(s);
    } else if (IS("ID")) {
        s = in->id;
        n = strlen(s) < 12 ? strlen(s) : 12;
    } else if (IS("ImageFullID") || IS("ImageID")) {
        const char *c = strchr(in->image_id, ':');
        s = c ? c + 1 : in->image_id;
        n = strlen(s);
        if (IS("ImageID") && n > 12)
            n = 12;
    } else if (IS("ImageName")) {
        s = in->image_name;
        n = strlen(s);
    } else if (IS("DaemonName")) {
        s = in->daemon_name;
        n = strlen(s);
    }
#undef IS
    if (!s)
        return 0;
    *v = s;
    *vlen = n;
    return 1;
}

static int add_label(struct cairn_sd_labels *ls, const char *name, size_t nlen, const char *val,
                     size_t vlen)
{
    char clean[256];
    char tmp[256];
    if (nlen >= sizeof tmp)
        nlen = sizeof tmp - 1;
    memcpy(tmp, name, nlen);
    tmp[nlen] = 0;
    cairn_sd_sanitize(clean, sizeof clean, "", tmp);
    return cairn_sd_labels_set(ls, clean, strlen(clean), val, vlen);
}

/* "k=v,k2=v2" with each value rendered as a template over the Info. */
static int external_labels(struct cairn_sd_labels *ls, const char *spec,
                           const struct cairn__docker_info *info, struct cairn_err *err)
{
    struct cairn_buf out = CAIRN_BUF_INIT;
    int rc = 0;
    const char *p = spec;
    while (*p && !rc) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p) {
            rc = cairn_err_set(err, CAIRN_EINVAL, "loki-external-labels: '%.*s' is not name=value",
                               (int)n, p);
            break;
        }
        size_t nlen = (size_t)(eq - p), vlen = n - nlen - 1;
        if (!cairn_label_name_valid(p, nlen)) {
            rc = cairn_err_set(err, CAIRN_EINVAL, "loki-external-labels: invalid label name '%.*s'",
                               (int)nlen, p);
            break;
        }
        struct cairn_template *t = cairn_template_compile(eq + 1, vlen, err);
        if (!t) {
            rc = CAIRN_EINVAL;
            break;
        }
        struct cairn_template_ctx ctx = {.lookup = info_lookup, .arg = (void *)info,
                                         .now_ns = cairn_now_ns()};
        cairn_buf_reset(&out);
        rc = cairn_template_render(t, &ctx, &out, err);
        cairn_template_destroy(t);
        if (!rc && out.len)
            rc = cairn_sd_labels_set(ls, p, nlen, out.data, out.len);
        p += n + (comma ? 1 : 0);
    }
    cairn_buf_deinit(&out);
    if (rc && !err->code)
        cairn_err_set(err, rc, "loki-external-labels: %s", cairn_strerror(rc));
    return rc;
}

/* `labels=a,b` / `env=X,Y`: values of those container labels / env variables. */
static int extra_attrs(struct cairn_sd_labels *ls, const struct cairn__docker_opts *o,
                       const struct cairn__docker_info *info)
{
    int rc = 0;
    for (const char *p = o->labels; p && *p && !rc;) {
        size_t n = strcspn(p, ",");
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        json_t *v = info->labels ? json_object_get(info->labels, key) : NULL;
        if (json_is_string(v))
            rc = add_label(ls, key, strlen(key), json_string_value(v), json_string_length(v));
        p += n + (p[n] == ',');
    }
    for (const char *p = o->env; p && *p && !rc;) {
        size_t n = strcspn(p, ",");
        size_t i;
        json_t *v;
        json_array_foreach(info->env, i, v) {
            const char *kv = json_string_value(v);
            if (kv && strncmp(kv, p, n) == 0 && kv[n] == '=') {
                rc = add_label(ls, p, n, kv + n + 1, strlen(kv + n + 1));
                break;
            }
        }
        p += n + (p[n] == ',');
    }
    return rc;
}

static int from_container_label(struct cairn_sd_labels *ls, const struct cairn__docker_info *info,
                                const char *key, const char *label)
{
    json_t *v = info->labels ? json_object_get(info->labels, key) : NULL;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    return cairn_sd_labels_set_str(ls, label, json_string_value(v));
}

/* Wrap a YAML list given as text under `key:` so the table loader reads it. */
static int load_list_text(struct cairn_cfg *c, const char *key, const char *opt, const char *text,
                          struct cairn_err *err)
{
    struct cairn_buf y = CAIRN_BUF_INIT;
    int rc = cairn_buf_appendf(&y, "%s:\n", key);
    for (const char *p = text; *p && !rc;) {
        size_t n = strcspn(p, "\n");
        rc = cairn_buf_append_str(&y, "  ");
        rc |= cairn_buf_append(&y, p, n);
        rc |= cairn_buf_append_byte(&y, '\n');
        p += n + (p[n] == '\n');
    }
    if (rc) {
        cairn_buf_deinit(&y);
        return cairn_err_set(err, CAIRN_ENOMEM, "%s: out of memory", opt);
    }
    rc = cairn_cfg_load_string(c, opt, y.data, y.len, err);
    cairn_buf_deinit(&y);
    return rc;
}

static int build_stages(struct cairn__docker_setup *s, struct cairn_sd_labels *ls,
                        struct cairn_err *err)
{
    const struct cairn__docker_opts *o = &s->opts;
    if (o->pipeline_stages && o->pipeline_stage_file)
        return cairn_err_set(err, CAIRN_EINVAL, "loki-pipeline-stages and "
                             "loki-pipeline-stage-file are exclusive: set one");
    s->sent[0] = (struct cairn_cfg_entry){
        .key = "pipeline_stages", .type = CAIRN_CFG_VARIANTS,
        .offset = offsetof(struct cairn__docker_setup, sh.stages) -
                  offsetof(struct cairn__docker_setup, sh),
        .size = sizeof(struct cairn_cfg_list), .variants = cairn_ship_stage_variants(),
        .help = "stages"};
    s->sent[1] = (struct cairn_cfg_entry){
        .key = "relabel_configs", .type = CAIRN_CFG_LIST,
        .offset = offsetof(struct cairn__docker_setup, sh.relabel) -
                  offsetof(struct cairn__docker_setup, sh),
        .size = sizeof(struct cairn_cfg_list), .sub = cairn_ship_relabel_table(),
        .help = "relabel rules"};
    s->stab = (struct cairn_cfg_table){.name = "docker-stages", .entries = s->sent, .n = 2,
                                       .size = sizeof s->sh};
    int rc = cairn_cfg_init(&s->sc, &s->stab, &s->sh, NULL, err);
    if (rc)
        return rc;
    if (o->pipeline_stage_file)
        rc = cairn_cfg_load_file(&s->sc, o->pipeline_stage_file, err);
    else if (o->pipeline_stages)
        rc = load_list_text(&s->sc, "pipeline_stages", "loki-pipeline-stages", o->pipeline_stages,
                            err);
    if (!rc && o->relabel_config)
        rc = load_list_text(&s->sc, "relabel_configs", "loki-relabel-config", o->relabel_config,
                            err);
    if (!rc)
        rc = cairn_cfg_check(&s->sc, err);
    if (rc)
        return rc;
    if (s->sh.stages.n) {
        s->pipeline = cairn_ship_pipeline_build(&s->sh.stages, "loki-pipeline-stages", err);
        if (!s->pipeline)
            return err->code ? err->code : CAIRN_EINVAL;
    }
    if (s->sh.relabel.n) {
        struct cairn_ship_relabel_rule *rules =
            cairn_ship_relabel_compile(&s->sh.relabel, "loki-relabel-config", err);
        if (!rules)
            return err->code ? err->code : CAIRN_EINVAL;
        rc = cairn_ship_relabel_apply(rules, s->sh.relabel.n, ls);
        cairn_ship_relabel_free(rules, s->sh.relabel.n);
        if (rc < 0)
            return cairn_err_set(err, rc, "loki-relabel-config: %s", cairn_strerror(rc));
        s->dropped = rc == 0;
    }
    return 0;
}

int cairn__docker_setup_init(struct cairn__docker_setup *s, const struct cairn__docker_info *info,
                             const char *hostname, const char *filename, struct cairn_err *err)
{
    memset(s, 0, sizeof *s);
    cairn_labels_init(&s->labels);
    struct cairn_sd_labels ls;
    cairn_sd_labels_init(&ls);
    int rc = cairn_cfg_init(&s->c, &opts_t, &s->opts, NULL, err);
    if (rc)
        goto fail;
    if (info->config && json_object_size(info->config) > CAIRN_DOCKER_MAX_OPTS) {
        rc = cairn_err_set(err, CAIRN_ELIMIT, "more than %d log-opts", CAIRN_DOCKER_MAX_OPTS);
        goto fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(info->config, k, v) {
        if (!json_is_string(v)) {
            rc = cairn_err_set(err, CAIRN_EINVAL, "log-opt %s: not a string", k);
            goto fail;
        }
        struct cairn_err e2;
        cairn_err_clear(&e2);
        /* the loader reads dots as sections: no option of ours has one */
        if (strchr(k, '.'))
            rc = cairn_err_set(&e2, CAIRN_EINVAL, "unknown option");
        else
            rc = cairn_cfg_set(&s->c, k, json_string_value(v), &e2);
        if (rc) {
            rc = cairn_err_set(err, rc, "log-opt %s: %s", k, e2.msg);
            goto fail;
        }
    }
    struct cairn__docker_opts *o = &s->opts;
    if (!o->loki_url || !o->loki_url[0]) {
        rc = cairn_err_set(err, CAIRN_EINVAL, "log-opt loki-url is required");
        goto fail;
    }
    if (parse_docker_size(o->max_size, &o->max_size_bytes)) {
        rc = cairn_err_set(err, CAIRN_EINVAL, "log-opt max-size: '%s' is not a size (10k, 10m, 1g)",
                           o->max_size);
        goto fail;
    }
    if ((rc = external_labels(&ls, o->external_labels, info, err)))
        goto fail;
    if ((rc = extra_attrs(&ls, o, info)))
        goto fail;
    rc = from_container_label(&ls, info, "com.docker.swarm.service.name", "swarm_service");
    rc |= from_container_label(&ls, info, "com.docker.stack.namespace", "swarm_stack");
    rc |= from_container_label(&ls, info, "com.docker.compose.service", "compose_service");
    rc |= from_container_label(&ls, info, "com.docker.compose.project", "compose_project");
    rc |= cairn_sd_labels_set_str(&ls, "host", hostname);
    rc |= cairn_sd_labels_set_str(&ls, "filename", filename);
    if (rc) {
        rc = cairn_err_set(err, CAIRN_ENOMEM, "labels: out of memory");
        goto fail;
    }
    if ((rc = build_stages(s, &ls, err)))
        goto fail;
    for (size_t i = 0; i < ls.n && !rc; i++) {
        if (ls.v[i].name_len >= 2 && memcmp(ls.v[i].name, "__", 2) == 0)
            continue; /* Prometheus's rule: __ labels are gone after relabelling */
        if (!ls.v[i].value_len)
            continue;
        if (!cairn_label_name_valid(ls.v[i].name, ls.v[i].name_len)) {
            rc = cairn_err_set(err, CAIRN_EINVAL, "label name '%s' is not valid (from "
                               "loki-relabel-config, labels or env)", ls.v[i].name);
            break;
        }
        if (s->labels.n >= CAIRN_LABELS_PARSE_MAX) {
            rc = cairn_err_set(err, CAIRN_ELIMIT, "more than %d labels", CAIRN_LABELS_PARSE_MAX);
            break;
        }
        rc = cairn_labels_add(&s->labels, ls.v[i].name, ls.v[i].name_len, ls.v[i].value,
                              ls.v[i].value_len);
    }
    if (!rc)
        rc = cairn_labels_sort(&s->labels, err);
    if (rc)
        goto fail;
    cairn_sd_labels_deinit(&ls);
    return 0;
fail:
    if (!err->code)
        cairn_err_set(err, rc, "%s", cairn_strerror(rc));
    cairn_sd_labels_deinit(&ls);
    cairn__docker_setup_deinit(s);
    return rc;
}

void cairn__docker_setup_deinit(struct cairn__docker_setup *s)
{
    cairn_ship_pipeline_destroy(s->pipeline);
    s->pipeline = NULL;
    if (s->sc.table)
        cairn_cfg_deinit(&s->sc);
    if (s->c.table)
        cairn_cfg_deinit(&s->c);
    cairn_labels_deinit(&s->labels);
}
