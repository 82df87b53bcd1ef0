/* plugin.c -- the Docker plugin side of `cairn docker-driver`: HTTP over a unix
 * socket (libmicrohttpd, a thread per connection so a ReadLogs follower may wait) with
 * the managed-plugin protocol: /Plugin.Activate, /LogDriver.StartLogging,
 * /LogDriver.StopLogging, /LogDriver.Capabilities, /LogDriver.ReadLogs. Streams are kept
 * in a list under one lock; a stream's work happens on its own thread (stream.c). */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cairn/k8s.h"
#include "cairn/log.h"
#include "docker/docker_int.h"
#include "ship/ship_build.h"

#define MAX_BODY (1024 * 1024) /* a StartLogging with every label and env var fits */
#define CONTENT_TYPE "application/vnd.docker.plugins.v1+json"

struct cairn_docker_driver {
    char *socket_path, *data_dir, *hostname;
    int lfd;
    struct MHD_Daemon *mhd;
    pthread_mutex_t mu;
    struct cairn__docker_stream *streams; /* guarded by mu */
    atomic_int shutdown;
    struct cairn_ship_metrics *metrics;
};

struct request {
    struct cairn_buf body;
    int too_big;
};

/* libmicrohttpd's own messages (a follower's client gone mid-reply) as debug lines. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    CAIRN_DEBUG("docker", "http", "detail=\"%s\"", msg);
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    struct MHD_Response *r = s ? MHD_create_response_from_buffer(strlen(s), s,
                                                                 MHD_RESPMEM_MUST_FREE)
                               : MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", CONTENT_TYPE);
    enum MHD_Result ret = MHD_queue_response(c, s ? status : 500, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_err(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply_json(c, status, json_pack("{s:s}", "Err", msg));
}

static struct cairn__docker_stream *find_file(struct cairn_docker_driver *d, const char *file,
                                              struct cairn__docker_stream ***link)
{
    for (struct cairn__docker_stream **pp = &d->streams; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->file, file) == 0) {
            if (link)
                *link = pp;
            return *pp;
        }
    return NULL;
}

static enum MHD_Result start_logging(struct cairn_docker_driver *d, struct MHD_Connection *c,
                                     json_t *req)
{
    struct cairn_err err;
    cairn_err_clear(&err);
    json_t *file = json_object_get(req, "File");
    if (json_is_string(file)) {
        pthread_mutex_lock(&d->mu);
        int dup = find_file(d, json_string_value(file), NULL) != NULL;
        pthread_mutex_unlock(&d->mu);
        if (dup)
            return reply_err(c, 200, "logging already started for this File");
    }
    struct cairn__docker_stream *s =
        cairn__docker_stream_start(req, d->data_dir, d->hostname, d->metrics, &err);
    if (!s) {
        CAIRN_WARN("docker", "StartLogging refused", "err=\"%s\"", err.msg);
        return reply_err(c, 200, err.msg);
    }
    pthread_mutex_lock(&d->mu);
    s->next = d->streams;
    d->streams = s;
    pthread_mutex_unlock(&d->mu);
    return reply_err(c, 200, "");
}

static enum MHD_Result stop_logging(struct cairn_docker_driver *d, struct MHD_Connection *c,
                                    json_t *req)
{
    json_t *file = json_object_get(req, "File");
    if (!json_is_string(file))
        return reply_err(c, 200, "StopLogging needs File");
    struct cairn__docker_stream **link = NULL;
    pthread_mutex_lock(&d->mu);
    struct cairn__docker_stream *s = find_file(d, json_string_value(file), &link);
    if (s)
        *link = s->next;
    pthread_mutex_unlock(&d->mu);
    if (!s) {
        CAIRN_WARN("docker", "StopLogging for a File not logging", "file=%s",
                   json_string_value(file));
        return reply_err(c, 200, "");
    }
    cairn__docker_stream_stop(s);
    return reply_err(c, 200, "");
}

/* ---- ReadLogs ---- */

struct follow {
    struct cairn__docker_reader *r;
    int conn_fd;
};

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct follow *f = cls;
    long n = cairn__docker_reader_fill(f->r, buf, max, f->conn_fd);
    if (n > 0)
        return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void read_free(void *cls)
{
    struct follow *f = cls;
    cairn__docker_reader_close(f->r);
    free(f);
}

/* Go's time.Time in JSON: RFC3339; the zero time ("0001-01-01T00:00:00Z") is none. */
static int64_t go_time(json_t *v)
{
    int64_t ns = 0;
    const char *s = json_string_value(v);
    if (!s || strncmp(s, "0001-01-01", 10) == 0 || cairn_k8s_parse_time(s, &ns))
        return 0;
    return ns;
}

static enum MHD_Result read_logs(struct cairn_docker_driver *d, struct MHD_Connection *c,
                                 json_t *req)
{
    struct cairn__docker_info info;
    json_t *ji = json_object_get(req, "Info");
    if (!json_is_object(ji))
        return reply_err(c, 400, "ReadLogs needs Info");
    cairn__docker_info_read(ji, &info);
    if (!cairn__docker_id_valid(info.id))
        return reply_err(c, 400, "Info.ContainerID is not a container id");
    json_t *cfg = json_object_get(req, "Config");
    json_t *jt = json_object_get(cfg, "Tail");
    long tail = json_is_integer(jt) ? (long)json_integer_value(jt) : -1;
    int follow = json_is_true(json_object_get(cfg, "Follow"));
    int64_t since = go_time(json_object_get(cfg, "Since"));
    int64_t until = go_time(json_object_get(cfg, "Until"));

    pthread_mutex_lock(&d->mu);
    struct cairn__docker_stream *s = NULL;
    for (struct cairn__docker_stream *p = d->streams; p; p = p->next)
        if (strcmp(p->id, info.id) == 0) {
            s = p;
            break;
        }
    if (s)
        cairn__docker_stream_ref(s);
    pthread_mutex_unlock(&d->mu);
    struct cairn_err err;
    cairn_err_clear(&err);
    struct follow *f = calloc(1, sizeof *f);
    if (f)
        f->r = cairn__docker_reader_open(d->data_dir, info.id, s, since, until, tail, follow,
                                         &d->shutdown, &err);
    cairn__docker_stream_unref(s);
    if (!f || !f->r) {
        free(f);
        return reply_err(c, err.code == CAIRN_ENOTFOUND ? 404 : 500,
                         err.msg[0] ? err.msg : "out of memory");
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    f->conn_fd = ci ? ci->connect_fd : -1;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_cb, f, read_free);
    if (!r) {
        read_free(f);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/x-json-stream");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    struct cairn_docker_driver *d = cls;
    struct request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->body.len + *upload_size > MAX_BODY || rq->too_big)
            rq->too_big = 1;
        else if (cairn_buf_append(&rq->body, upload, *upload_size))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return reply_err(c, 405, "plugin endpoints take POST");
    if (rq->too_big)
        return reply_err(c, 413, "request body over 1 MiB");
    if (strcmp(url, "/Plugin.Activate") == 0)
        return reply_json(c, 200, json_pack("{s:[s]}", "Implements", "LogDriver"));
    if (strcmp(url, "/LogDriver.Capabilities") == 0)
        return reply_json(c, 200, json_pack("{s:{s:b}}", "Cap", "ReadLogs", 1));
    json_error_t je;
    json_t *req = rq->body.len ? json_loadb(rq->body.data, rq->body.len, 0, &je) : json_object();
    if (!json_is_object(req)) {
        json_decref(req);
        char msg[200];
        snprintf(msg, sizeof msg, "request body is not a JSON object: %s",
                 rq->body.len ? je.text : "");
        return reply_err(c, 400, msg);
    }
    enum MHD_Result ret;
    if (strcmp(url, "/LogDriver.StartLogging") == 0)
        ret = start_logging(d, c, req);
    else if (strcmp(url, "/LogDriver.StopLogging") == 0)
        ret = stop_logging(d, c, req);
    else if (strcmp(url, "/LogDriver.ReadLogs") == 0)
        ret = read_logs(d, c, req);
    else
        ret = reply_err(c, 404, "unknown endpoint");
    json_decref(req);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct request *rq = *con_cls;
    if (rq) {
        cairn_buf_deinit(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static int listen_unix(const char *path, struct cairn_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return cairn_err_set(err, CAIRN_EINVAL, "socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cairn_err_set(err, CAIRN_EIO, "socket: %s", strerror(errno));
    unlink(path); /* a socket left by an earlier run */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64)) {
        int e = errno;
        close(fd);
        return cairn_err_set(err, CAIRN_EIO, "cannot listen on %s: %s", path, strerror(e));
    }
    return fd;
}

struct cairn_docker_driver *cairn_docker_driver_create(const struct cairn_docker_config *cfg,
                                                       struct cairn_err *err)
{
    struct cairn_docker_driver *d = calloc(1, sizeof *d);
    if (!d) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    d->lfd = -1;
    pthread_mutex_init(&d->mu, NULL);
    char host[256] = "";
    if (cfg->hostname && cfg->hostname[0])
        snprintf(host, sizeof host, "%s", cfg->hostname);
    else if (gethostname(host, sizeof host - 1))
        snprintf(host, sizeof host, "localhost");
    d->socket_path = strdup(cfg->socket_path);
    d->data_dir = strdup(cfg->data_dir);
    d->hostname = strdup(host);
    d->metrics = cairn_ship_metrics_create();
    if (!d->socket_path || !d->data_dir || !d->hostname || !d->metrics) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdir(d->data_dir, 0750) && errno != EEXIST) {
        cairn_err_set(err, CAIRN_EIO, "cannot create data dir %s: %s", d->data_dir,
                      strerror(errno));
        goto fail;
    }
    d->lfd = listen_unix(d->socket_path, err);
    if (d->lfd < 0)
        goto fail;
    d->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                  MHD_USE_ERROR_LOG,
                              0, NULL, NULL, handle, d, MHD_OPTION_LISTEN_SOCKET, d->lfd,
                              MHD_OPTION_NOTIFY_COMPLETED, request_done, d,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, d, MHD_OPTION_END);
    if (!d->mhd) {
        cairn_err_set(err, CAIRN_EIO, "cannot start the HTTP server on %s", d->socket_path);
        goto fail;
    }
    return d;
fail:
    cairn_docker_driver_destroy(d);
    return NULL;
}

void cairn_docker_driver_destroy(struct cairn_docker_driver *d)
{
    if (!d)
        return;
    atomic_store(&d->shutdown, 1);
    /* followers see shutdown within FOLLOW_WAIT_MS; MHD waits for their threads */
    if (d->mhd)
        MHD_stop_daemon(d->mhd);
    else if (d->lfd >= 0)
        close(d->lfd);
    if (d->lfd >= 0 && d->socket_path)
        unlink(d->socket_path);
    for (;;) {
        pthread_mutex_lock(&d->mu);
        struct cairn__docker_stream *s = d->streams;
        if (s)
            d->streams = s->next;
        pthread_mutex_unlock(&d->mu);
        if (!s)
            break;
        cairn__docker_stream_stop(s);
    }
    cairn_ship_metrics_destroy(d->metrics);
    pthread_mutex_destroy(&d->mu);
    free(d->socket_path);
    free(d->data_dir);
    free(d->hostname);
    free(d);
}
