/* stream.c -- one container's logging, from StartLogging to StopLogging: a thread
 * reads the FIFO's length-prefixed LogEntry frames, joins partial entries (bounded),
 * writes each line to the local copy, runs it through the pipeline stages and queues
 * it on the container's push client. A corrupt frame closes this FIFO only (logged);
 * docker's side then sees a broken pipe, the driver and other containers go on. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/push.h"
#include "cairn/ship.h"
#include "cairn/timeutil.h"
#include "docker/docker_int.h"
#include "ship/ship_build.h"

#define POLL_MS 200 /* how often a quiet FIFO's reader looks at the stop flag */

struct joiner {
    struct cairn_buf line;
    struct cairn_buf source;
    int64_t ts;
    int open;
};

static int push_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct cairn__docker_stream *s = ud;
    const char *tenant = e->tenant.len ? e->tenant.data : NULL;
    return cairn_push_entry(s->push, tenant, &e->labels, e->ts, e->line.data ? e->line.data : "",
                            e->line.len);
}

static int push_flush(void *ud)
{
    struct cairn__docker_stream *s = ud;
    return cairn_push_flush(s->push);
}

/* One finished line: local copy (batched; written by local_flush), then stages and
 * push. The copy is changed under the lock: a ReadLogs opening the files sees them
 * before or after a rotation, never in the middle of one. */
static int deliver(struct cairn__docker_stream *s, struct cairn_ship_entry *se,
                   const struct cairn_ship_sink *sink, const char *src, size_t slen, int64_t ts,
                   const char *line, size_t len)
{
    int rotated = 0;
    pthread_mutex_lock(&s->mu);
    int rc = cairn__docker_local_write(&s->local, src, slen, ts, line, len, &rotated);
    s->lines++;
    s->bytes += len;
    if (rc)
        s->errors++;
    if (rotated) {
        s->rotations++;
        s->writes++;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (s->setup.dropped)
        return 0;
    if ((rc = cairn_ship_entry_reset(se, &s->setup.labels, ts, line, len)))
        return rc;
    if (s->setup.pipeline)
        return cairn_ship_pipeline_run(s->setup.pipeline, se, sink);
    return sink->emit(sink->ud, se);
}

static int join_flush(struct cairn__docker_stream *s, struct joiner *j, struct cairn_ship_entry *se,
                      const struct cairn_ship_sink *sink)
{
    if (!j->open)
        return 0;
    j->open = 0;
    int rc = deliver(s, se, sink, j->source.data ? j->source.data : "", j->source.len, j->ts,
                     j->line.data ? j->line.data : "", j->line.len);
    cairn_buf_reset(&j->line);
    return rc;
}

/* Partial entries (docker splits lines at 16 KiB) are joined until the last part: the
 * part with partial_log_metadata.last, or (older daemons) the first not partial. */
static int on_entry(struct cairn__docker_stream *s, struct joiner *j, struct cairn_ship_entry *se,
                    const struct cairn_ship_sink *sink, const struct cairn_docker_entry *e)
{
    int more = e->partial && !(e->has_meta && e->meta_last);
    if (!j->open && !more)
        return deliver(s, se, sink, e->source, e->source_len, e->time_nano, e->line, e->line_len);
    int rc = 0;
    if (j->open && j->line.len + e->line_len > CAIRN_DOCKER_MAX_JOINED)
        rc = join_flush(s, j, se, sink); /* bounded: what is joined so far goes as a line */
    if (rc)
        return rc;
    if (!j->open) {
        j->open = 1;
        j->ts = e->time_nano;
        cairn_buf_reset(&j->source);
        if (cairn_buf_append(&j->source, e->source, e->source_len))
            return CAIRN_ENOMEM;
    }
    if (cairn_buf_append(&j->line, e->line, e->line_len))
        return CAIRN_ENOMEM;
    return more ? 0 : join_flush(s, j, se, sink);
}

/* Write the batched lines of the local copy and wake ReadLogs followers. */
static void local_flush(struct cairn__docker_stream *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->local.pend.len) {
        if (cairn__docker_local_flush(&s->local))
            s->errors++;
        s->writes++;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

static int stop_requested(struct cairn__docker_stream *s)
{
    pthread_mutex_lock(&s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void *reader_main(void *arg)
{
    struct cairn__docker_stream *s = arg;
    pthread_setname_np(pthread_self(), "docker-fifo");
    struct cairn_ship_sink sink = {push_emit, push_flush, s};
    struct cairn_ship_entry se;
    struct joiner j = {CAIRN_BUF_INIT, CAIRN_BUF_INIT, 0, 0};
    cairn_ship_entry_init(&se);
    unsigned char *buf = malloc(CAIRN_DOCKER_MAX_FRAME + 4);
    size_t have = 0;
    const char *why = NULL;
    int fd = s->fd;
    s->fd = -1;
    if (!buf)
        why = "out of memory";
    int rc = 0;
    int64_t last_tick = cairn_mono_ns();
    while (!why) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, POLL_MS);
        if (pr < 0 && errno != EINTR) {
            why = "poll failed";
            break;
        }
        if (s->setup.pipeline && cairn_mono_ns() - last_tick >= POLL_MS * 1000000LL) {
            /* held entries past their deadline (multiline max_wait_time) */
            last_tick = cairn_mono_ns();
            (void)cairn_ship_pipeline_tick(s->setup.pipeline, last_tick, &sink);
        }
        if (pr <= 0) {
            if (stop_requested(s))
                break; /* drained: nothing more was readable */
            continue;
        }
        ssize_t n = read(fd, buf + have, CAIRN_DOCKER_MAX_FRAME + 4 - have);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0) {
            CAIRN_ERROR("docker", "FIFO read failed", "container=%s errno=%d", s->id, errno);
            why = "read failed";
            break;
        }
        if (n == 0)
            break; /* the writer closed: the container is gone */
        have += (size_t)n;
        size_t off = 0;
        while (have - off >= 4) {
            const unsigned char *h = buf + off;
            uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
            if (len > CAIRN_DOCKER_MAX_FRAME) {
                CAIRN_ERROR("docker", "corrupt log stream: frame length over the limit; closing it",
                            "container=%s length=%u limit=%d", s->id, len,
                            CAIRN_DOCKER_MAX_FRAME);
                why = "corrupt";
                break;
            }
            if (have - off - 4 < len)
                break;
            struct cairn_docker_entry e;
            if (cairn_docker_entry_decode(h + 4, len, &e)) {
                CAIRN_ERROR("docker", "corrupt log stream: undecodable LogEntry; closing it",
                            "container=%s length=%u", s->id, len);
                why = "corrupt";
                break;
            }
            off += 4 + len;
            if ((rc = on_entry(s, &j, &se, &sink, &e))) {
                if (rc == CAIRN_EAGAIN) {
                    why = "shutting down";
                    break;
                }
                CAIRN_WARN("docker", "entry not delivered", "container=%s err=%s", s->id,
                           cairn_strerror(rc));
                rc = 0;
            }
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        local_flush(s);
    }
    (void)join_flush(s, &j, &se, &sink);
    local_flush(s);
    if (s->setup.pipeline)
        (void)cairn_ship_pipeline_tick(s->setup.pipeline, INT64_MAX, &sink);
    if (fd >= 0)
        close(fd);
    CAIRN_INFO("docker", "log stream ended", "container=%s reason=\"%s\" lines=%llu", s->id,
               why ? why : "end", (unsigned long long)s->lines);
    pthread_mutex_lock(&s->mu);
    s->ended = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    free(buf);
    cairn_buf_deinit(&j.line);
    cairn_buf_deinit(&j.source);
    cairn_ship_entry_deinit(&se);
    return NULL;
}

static void stream_free(struct cairn__docker_stream *s)
{
    if (s->fd >= 0)
        close(s->fd);
    cairn_push_destroy(s->push);
    cairn__docker_setup_deinit(&s->setup);
    cairn__docker_local_close(&s->local, 1);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    json_decref(s->req);
    free(s->file);
    free(s);
}

struct cairn__docker_stream *cairn__docker_stream_start(json_t *req, const char *data_dir,
                                                        const char *hostname,
                                                        struct cairn_ship_metrics *metrics,
                                                        struct cairn_err *err)
{
    json_t *file = json_object_get(req, "File");
    json_t *info = json_object_get(req, "Info");
    if (!json_is_string(file) || !json_string_length(file) || !json_is_object(info)) {
        cairn_err_set(err, CAIRN_EINVAL, "StartLogging needs File and Info");
        return NULL;
    }
    struct cairn__docker_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->file = strdup(json_string_value(file)))) {
        free(s);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    s->req = json_incref(req);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->local.fd = -1;
    s->fd = -1;
    s->refs = 1;
    cairn__docker_info_read(info, &s->info);
    s->id = (char *)s->info.id;
    if (!cairn__docker_id_valid(s->id)) {
        cairn_err_set(err, CAIRN_EINVAL, "Info.ContainerID '%s' is not a container id", s->id);
        goto fail;
    }
    struct cairn_buf fname = CAIRN_BUF_INIT;
    if (cairn_buf_appendf(&fname, "%s/%s/json.log", data_dir, s->id)) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    int rc = cairn__docker_setup_init(&s->setup, &s->info, hostname, fname.data, err);
    cairn_buf_deinit(&fname);
    if (rc)
        goto fail;
    if (s->setup.pipeline && metrics)
        cairn_ship_pipeline_set_metrics(s->setup.pipeline, metrics);
    const struct cairn__docker_opts *o = &s->setup.opts;
    s->keep_file = o->keep_file;
    struct cairn_push_config pc;
    cairn_push_config_default(&pc);
    pc.url = o->loki_url;
    pc.tenant_id = o->tenant_id && o->tenant_id[0] ? o->tenant_id : NULL;
    pc.batch_size = (size_t)o->batch_size;
    pc.batch_wait_ns = o->batch_wait_ns;
    pc.timeout_ns = o->timeout_ns;
    pc.min_backoff_ns = o->min_backoff_ns;
    pc.max_backoff_ns = o->max_backoff_ns;
    pc.max_retries = o->retries;
    pc.tls_ca_file = o->tls_ca_file;
    pc.tls_cert_file = o->tls_cert_file;
    pc.tls_key_file = o->tls_key_file;
    pc.tls_insecure_skip_verify = o->tls_insecure_skip_verify;
    struct cairn_err perr;
    cairn_err_clear(&perr);
    s->push = cairn_push_create(&pc, &perr);
    if (!s->push) {
        cairn_err_set(err, perr.code ? perr.code : CAIRN_EINVAL, "loki-url / loki-tls-*: %s",
                      perr.msg);
        goto fail;
    }
    /* O_NONBLOCK: the open does not wait for docker's writer; poll tells when it has
     * come (POLLIN) and gone (POLLHUP after it was there) */
    s->fd = open(s->file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) || !S_ISFIFO(st.st_mode)) {
        cairn_err_set(err, CAIRN_EINVAL, "File %s: %s", s->file,
                      s->fd < 0 ? strerror(errno) : "not a FIFO");
        goto fail;
    }
    /* last, so a refused StartLogging leaves no file behind */
    if (cairn__docker_local_open(&s->local, data_dir, s->id, o->max_size_bytes, o->max_file,
                                 o->no_file)) {
        cairn_err_set(err, CAIRN_EIO, "cannot create the local copy under %s (see the log)",
                      data_dir);
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, reader_main, s)) {
        cairn_err_set(err, CAIRN_EIO, "cannot start the reader thread");
        goto fail;
    }
    s->started = 1;
    struct cairn_buf lb = CAIRN_BUF_INIT;
    (void)cairn_labels_format(&s->setup.labels, &lb);
    CAIRN_INFO("docker", "logging started", "container=%s file=%s labels=%s", s->id, s->file,
               lb.data ? lb.data : "{}");
    cairn_buf_deinit(&lb);
    return s;
fail:
    stream_free(s);
    return NULL;
}

void cairn__docker_stream_ref(struct cairn__docker_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->refs++;
    pthread_mutex_unlock(&s->mu);
}

void cairn__docker_stream_unref(struct cairn__docker_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last)
        stream_free(s);
}

void cairn__docker_stream_stop(struct cairn__docker_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->thread, NULL);
    s->started = 0;
    /* send what is queued; retries end CAIRN_PUSH_DRAIN_TIMEOUT_NS later, so a store
     * that is down cannot hold the daemon's StopLogging (and the container's stop) for
     * loki-retries x loki-max-backoff */
    cairn_push_interrupt(s->push);
    struct cairn_push *p = s->push;
    s->push = NULL;
    cairn_push_destroy(p);
    pthread_mutex_lock(&s->mu);
    cairn__docker_local_close(&s->local, s->keep_file);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    CAIRN_INFO("docker", "logging stopped", "container=%s lines=%llu bytes=%llu", s->id,
               (unsigned long long)s->lines, (unsigned long long)s->bytes);
    cairn__docker_stream_unref(s);
}
