/* stage_format.c -- stages for container log formats and line grouping: cri (with P/F
 * partial lines joined per stream), docker (json-file), multiline (blocks that start
 * at a firstline regex, flushed by max_lines or max_wait_time). */
#include <stdlib.h>
#include <string.h>

#include "cairn/matcher.h"
#include "cairn/parse_json.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"

/* Per-stream state shared by cri (partials) and multiline (blocks). */
struct held {
    uint64_t fp;
    int used;
    struct cairn_labels labels;
    int64_t ts;
    int64_t started; /* monotonic */
    size_t lines;
    struct cairn_buf buf;
    uint64_t src;    /* where the first held line was read (see held_floor) */
    int64_t src_off;
};

struct held_set {
    struct held *v;
    size_t n, cap;
};

static struct held *held_get(struct held_set *hs, uint64_t fp)
{
    for (size_t i = 0; i < hs->n; i++)
        if (hs->v[i].fp == fp)
            return &hs->v[i];
    if (hs->n == hs->cap) {
        size_t nc = hs->cap ? hs->cap * 2 : 8;
        void *nv = realloc(hs->v, nc * sizeof *hs->v);
        if (!nv)
            return NULL;
        hs->v = nv;
        hs->cap = nc;
    }
    struct held *h = &hs->v[hs->n++];
    memset(h, 0, sizeof *h);
    h->fp = fp;
    cairn_labels_init(&h->labels);
    return h;
}

/* Forget the stream at i (nothing held): a stream's state lives only while it holds
 * lines, so the streams of pods that came and went leave nothing behind. */
static void held_remove(struct held_set *hs, size_t i)
{
    cairn_labels_deinit(&hs->v[i].labels);
    cairn_buf_deinit(&hs->v[i].buf);
    hs->v[i] = hs->v[--hs->n];
}

static void held_free(struct held_set *hs)
{
    for (size_t i = 0; i < hs->n; i++) {
        cairn_labels_deinit(&hs->v[i].labels);
        cairn_buf_deinit(&hs->v[i].buf);
    }
    free(hs->v);
}

/* The entry's line is the first one of a held block: remember where it was read. */
static void held_start(struct held *h, const struct cairn_ship_entry *e)
{
    h->src = e->src;
    h->src_off = e->src_off;
}

static int64_t held_floor(const struct held_set *hs, uint64_t src)
{
    int64_t floor = INT64_MAX;
    for (size_t i = 0; i < hs->n; i++)
        if (hs->v[i].lines && hs->v[i].src == src && hs->v[i].src_off < floor)
            floor = hs->v[i].src_off;
    return floor;
}

static void swap_buf(struct cairn_buf *a, struct cairn_buf *b)
{
    struct cairn_buf t = *a;
    *a = *b;
    *b = t;
}

/* ---- cri ---- */

struct cri_stage {
    int max_lines;
    size_t max_size;
    int truncate;
    struct held_set hs;
};

static const char *next_field(const char *p, const char *end, const char **f, size_t *fl)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp)
        return NULL;
    *f = p;
    *fl = (size_t)(sp - p);
    return sp + 1;
}

static int cri_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct cri_stage *c = s->st;
    const char *p = e->line.data ? e->line.data : "", *end = p + e->line.len;
    const char *ts, *stream, *flags;
    size_t tsl, sl, fl;
    const char *q = next_field(p, end, &ts, &tsl);
    if (q)
        q = next_field(q, end, &stream, &sl);
    if (q) {
        const char *sp = memchr(q, ' ', (size_t)(end - q));
        flags = q;
        fl = sp ? (size_t)(sp - q) : (size_t)(end - q);
        q = sp ? sp + 1 : end;
    }
    if (!q || sl == 0 || fl == 0)
        return CAIRN__KEEP; /* not CRI: leave the entry alone */
    int64_t ns;
    if (cairn__time_parse("RFC3339Nano", NULL, ts, tsl, &ns))
        return CAIRN__KEEP;
    int partial = memchr(flags, 'P', fl) != NULL;
    if (cairn_ship_ex_set(e, "time", 4, ts, tsl) || cairn_ship_ex_set(e, "stream", 6, stream, sl) ||
        cairn_ship_ex_set(e, "flags", 5, flags, fl) ||
        cairn_ship_ex_set(e, "content", 7, q, (size_t)(end - q)))
        return CAIRN_ENOMEM;
    if (cairn_ship_label_set(e, "stream", 6, stream, sl))
        return CAIRN_ENOMEM;
    e->ts = ns;
    /* the line becomes the content: move it down in place */
    size_t cl = (size_t)(end - q);
    memmove(e->line.data, q, cl);
    cairn_buf_truncate(&e->line, cl);
    uint64_t fp = cairn_labels_fingerprint(&e->labels);
    struct held *h = NULL;
    for (size_t i = 0; i < c->hs.n; i++)
        if (c->hs.v[i].fp == fp && c->hs.v[i].lines)
            h = &c->hs.v[i];
    /* an idle stream's state is freed when its line is out (held_remove) */
    if (partial) {
        if (!h && !(h = held_get(&c->hs, fp)))
            return CAIRN_ENOMEM;
        if (h->lines == 0)
            held_start(h, e);
        size_t add = cl;
        if (c->max_size && h->buf.len + add > c->max_size)
            add = h->buf.len >= c->max_size ? 0 : c->max_size - h->buf.len;
        if (cairn_buf_append(&h->buf, e->line.data, add))
            return CAIRN_ENOMEM;
        h->lines++;
        if ((int)h->lines < c->max_lines && !(c->max_size && h->buf.len >= c->max_size && !c->truncate))
            return CAIRN__HELD;
        /* too many partials: send what we have */
        swap_buf(&e->line, &h->buf);
        e->src_off = h->src_off;
        held_remove(&c->hs, (size_t)(h - c->hs.v));
        return CAIRN__KEEP;
    }
    if (h) {
        size_t add = cl;
        if (c->max_size && h->buf.len + add > c->max_size)
            add = h->buf.len >= c->max_size ? 0 : c->max_size - h->buf.len;
        if (cairn_buf_append(&h->buf, e->line.data, add))
            return CAIRN_ENOMEM;
        swap_buf(&e->line, &h->buf);
        e->src_off = h->src_off; /* the joined line starts at its first partial */
        held_remove(&c->hs, (size_t)(h - c->hs.v));
    }
    return CAIRN__KEEP;
}

static void cri_destroy(struct cairn__stage *s)
{
    struct cri_stage *c = s->st;
    if (!c)
        return;
    held_free(&c->hs);
    free(c);
}

static int64_t cri_floor(const struct cairn__stage *s, uint64_t src)
{
    return held_floor(&((const struct cri_stage *)s->st)->hs, src);
}

static size_t cri_streams(const struct cairn__stage *s)
{
    return ((const struct cri_stage *)s->st)->hs.n;
}

static const struct cairn__stage_ops cri_ops = {
    .name = "cri",
    .process = cri_process,
    .destroy = cri_destroy,
    .held_floor = cri_floor,
    .held_streams = cri_streams,
};

int cairn__stage_cri(struct cairn_ship_pipeline *pl, int max_partial_lines, size_t max_size,
                     int truncate, struct cairn_err *err)
{
    struct cri_stage *c = calloc(1, sizeof *c);
    if (!c)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    c->max_lines = max_partial_lines > 0 ? max_partial_lines : 100;
    c->max_size = max_size;
    c->truncate = truncate;
    if (cairn__pipeline_add(pl, &cri_ops, c, NULL)) {
        free(c);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- docker ---- */

struct docker_stage {
    struct cairn_jsonpath *paths[3]; /* log, stream, time */
    struct cairn_buf log;
};

/* The string at path i, or NULL. */
static const char *docker_str(struct docker_stage *d, int i, const char *doc, size_t len,
                              size_t *out_len, int *escaped)
{
    struct cairn_json_tok v;
    const char *raw;
    size_t rawlen;
    if (cairn_jsonpath_get(d->paths[i], doc, len, &v, &raw, &rawlen) != 1 ||
        v.type != CAIRN_JSON_STRING)
        return NULL;
    *out_len = v.len;
    *escaped = v.escaped;
    return v.p;
}

static int docker_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct docker_stage *d = s->st;
    const char *doc = e->line.data ? e->line.data : "";
    size_t len = e->line.len, ll, sl, tl;
    int lesc, sesc, tesc;
    const char *log = docker_str(d, 0, doc, len, &ll, &lesc);
    if (!log)
        return CAIRN__KEEP; /* not a json-file line: leave it alone */
    cairn_buf_reset(&d->log);
    if (cairn_json_unescape(log, ll, &d->log))
        return CAIRN__KEEP;
    const char *stream = docker_str(d, 1, doc, len, &sl, &sesc);
    if (stream && (cairn_ship_ex_set(e, "stream", 6, stream, sl) ||
                   cairn_ship_label_set(e, "stream", 6, stream, sl)))
        return CAIRN_ENOMEM;
    const char *time = docker_str(d, 2, doc, len, &tl, &tesc);
    if (time) {
        int64_t ns;
        if (cairn_ship_ex_set(e, "timestamp", 9, time, tl))
            return CAIRN_ENOMEM;
        if (cairn__time_parse("RFC3339Nano", NULL, time, tl, &ns) == 0)
            e->ts = ns;
    }
    /* json-file keeps the newline the container wrote, and so does Promtail's docker
     * stage (stages/docker.md: output "log message\n"): lines stay byte for byte */
    if (cairn_ship_ex_set(e, "output", 6, d->log.data ? d->log.data : "", d->log.len))
        return CAIRN_ENOMEM;
    swap_buf(&e->line, &d->log);
    return CAIRN__KEEP;
}

static void docker_destroy(struct cairn__stage *s)
{
    struct docker_stage *d = s->st;
    if (!d)
        return;
    for (int i = 0; i < 3; i++)
        cairn_jsonpath_destroy(d->paths[i]);
    cairn_buf_deinit(&d->log);
    free(d);
}

static const struct cairn__stage_ops docker_ops = {
    .name = "docker",
    .process = docker_process,
    .destroy = docker_destroy,
};

int cairn__stage_docker(struct cairn_ship_pipeline *pl, struct cairn_err *err)
{
    struct docker_stage *d = calloc(1, sizeof *d);
    if (!d)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, d, NULL};
    if (!(d->paths[0] = cairn_jsonpath_compile("log", 3, err)) ||
        !(d->paths[1] = cairn_jsonpath_compile("stream", 6, err)) ||
        !(d->paths[2] = cairn_jsonpath_compile("time", 4, err)) ||
        cairn__pipeline_add(pl, &docker_ops, d, NULL)) {
        docker_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- container: CRI or docker json-file, chosen per line (pod logs) ---- */

struct container_stage {
    struct cairn__stage cri, docker;
    struct cairn_ship_pipeline *tmp; /* owns cri and docker while building */
};

static int container_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct container_stage *c = s->st;
    /* json-file lines are JSON objects; CRI lines start with an RFC3339 time */
    if (e->line.len && e->line.data[0] == '{')
        return c->docker.ops->process(&c->docker, e);
    return c->cri.ops->process(&c->cri, e);
}

static void container_destroy(struct cairn__stage *s)
{
    struct container_stage *c = s->st;
    if (!c)
        return;
    cairn_ship_pipeline_destroy(c->tmp);
    free(c);
}

static int64_t container_floor(const struct cairn__stage *s, uint64_t src)
{
    const struct container_stage *c = s->st;
    return c->cri.ops->held_floor(&c->cri, src);
}

static size_t container_streams(const struct cairn__stage *s)
{
    return cairn__pipeline_held_streams(((const struct container_stage *)s->st)->tmp);
}

static const struct cairn__stage_ops container_ops = {
    .name = "container",
    .process = container_process,
    .destroy = container_destroy,
    .held_floor = container_floor,
    .held_streams = container_streams,
};

int cairn__stage_container(struct cairn_ship_pipeline *pl, struct cairn_err *err)
{
    struct container_stage *c = calloc(1, sizeof *c);
    if (!c)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, c, NULL};
    if (!(c->tmp = cairn__pipeline_new(0)) || cairn__stage_cri(c->tmp, 100, 0, 0, err) ||
        cairn__stage_docker(c->tmp, err)) {
        container_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    c->cri = c->tmp->v[0];
    c->docker = c->tmp->v[1];
    if (cairn__pipeline_add(pl, &container_ops, c, NULL)) {
        container_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- multiline ---- */

struct multiline_stage {
    struct cairn_regex *first;
    int64_t max_wait;
    size_t max_lines;
    struct held_set hs;
    struct cairn_ship_entry out; /* for blocks flushed by time */
};

static int ml_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct multiline_stage *m = s->st;
    uint64_t fp = cairn_labels_fingerprint(&e->labels);
    struct held *h = held_get(&m->hs, fp);
    if (!h)
        return CAIRN_ENOMEM;
    const char *line = e->line.data ? e->line.data : "";
    int first = cairn_regex_match(m->first, line, e->line.len) == 1;
    if (h->lines == 0) {
        cairn_buf_reset(&h->buf);
        if (cairn_buf_append(&h->buf, line, e->line.len) || cairn_labels_copy(&h->labels, &e->labels))
            return CAIRN_ENOMEM;
        h->ts = e->ts;
        h->started = cairn_mono_ns();
        h->lines = 1;
        held_start(h, e);
        return CAIRN__HELD;
    }
    if (first) {
        /* the held block goes on in this entry; the new line starts the next block */
        int64_t ts = h->ts;
        h->ts = e->ts;
        e->ts = ts;
        swap_buf(&e->line, &h->buf);
        h->started = cairn_mono_ns();
        h->lines = 1;
        uint64_t src = h->src;
        int64_t src_off = h->src_off;
        held_start(h, e);
        e->src = src; /* the entry now carries the block that started there */
        e->src_off = src_off;
        e->n_ex = 0;
        cairn_buf_reset(&e->ex_store);
        return CAIRN__KEEP;
    }
    if (cairn_buf_append_byte(&h->buf, '\n') || cairn_buf_append(&h->buf, line, e->line.len))
        return CAIRN_ENOMEM;
    if (++h->lines < m->max_lines)
        return CAIRN__HELD;
    e->ts = h->ts;
    swap_buf(&e->line, &h->buf);
    cairn_buf_reset(&h->buf);
    h->lines = 0;
    return CAIRN__KEEP;
}

static int ml_tick(struct cairn__stage *s, int64_t now, int force, struct cairn_ship_pipeline *pl,
                   size_t index, const struct cairn_ship_sink *sink)
{
    struct multiline_stage *m = s->st;
    /* streams holding nothing (flushed, or their block closed by max_lines) are
     * forgotten: with pods coming and going, every stream ever seen would stay */
    for (size_t i = 0; i < m->hs.n;)
        if (m->hs.v[i].lines)
            i++;
        else
            held_remove(&m->hs, i);
    for (size_t i = 0; i < m->hs.n; i++) {
        struct held *h = &m->hs.v[i];
        if (!force && now - h->started < m->max_wait)
            continue;
        int rc = cairn_ship_entry_reset(&m->out, &h->labels, h->ts, h->buf.data ? h->buf.data : "",
                                        h->buf.len);
        h->lines = 0;
        cairn_buf_reset(&h->buf);
        if (rc)
            return rc;
        if ((rc = cairn__pipeline_run_from(pl, index + 1, &m->out, sink)))
            return rc;
    }
    return 0;
}

static void ml_destroy(struct cairn__stage *s)
{
    struct multiline_stage *m = s->st;
    if (!m)
        return;
    cairn_regex_destroy(m->first);
    held_free(&m->hs);
    cairn_ship_entry_deinit(&m->out);
    free(m);
}

static int64_t ml_floor(const struct cairn__stage *s, uint64_t src)
{
    return held_floor(&((const struct multiline_stage *)s->st)->hs, src);
}

static size_t ml_streams(const struct cairn__stage *s)
{
    return ((const struct multiline_stage *)s->st)->hs.n;
}

static const struct cairn__stage_ops ml_ops = {
    .name = "multiline",
    .process = ml_process,
    .tick = ml_tick,
    .destroy = ml_destroy,
    .held_floor = ml_floor,
    .held_streams = ml_streams,
};

int cairn__stage_multiline(struct cairn_ship_pipeline *pl, const char *firstline,
                           int64_t max_wait_ns, int max_lines, struct cairn_err *err)
{
    if (!firstline || !*firstline)
        return cairn_err_set(err, CAIRN_EINVAL, "multiline stage: firstline is required");
    struct multiline_stage *m = calloc(1, sizeof *m);
    if (!m)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, m, NULL};
    cairn_ship_entry_init(&m->out);
    m->max_wait = max_wait_ns > 0 ? max_wait_ns : 3000000000LL;
    m->max_lines = max_lines > 0 ? (size_t)max_lines : 128;
    if (!(m->first = cairn_regex_compile(firstline, strlen(firstline), 0, err))) {
        ml_destroy(&tmp);
        return CAIRN_EINVAL;
    }
    if (cairn__pipeline_add(pl, &ml_ops, m, NULL)) {
        ml_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}
