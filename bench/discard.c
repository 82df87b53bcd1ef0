/* discard.c -- bench_discard: an HTTP sink that acknowledges every push and keeps nothing.
 *
 * The other end for measuring a client alone (bench_push, `cairn ship`, `cairn events`):
 * POST to any path is read and answered 204; with --decode the body is also decoded as
 * Loki would (snappy+protobuf, or JSON) and its entries counted, so a client's output
 * can be checked and the decoding cost included; entries that arrive behind their
 * stream's newest are counted too. GET /ready answers 200, GET /stats the
 * counters as JSON. SIGTERM or SIGINT prints `BENCH_DISCARD key=value ...` and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <snappy-c.h>
#include <zlib.h>

#include "cairn/buf.h"
#include "cairn/hash.h"
#include "push.pb-c.h"

/* Per stream (by the 64-bit hash of its labels as sent), the newest timestamp seen:
 * with --decode, entries older than their stream's newest are counted, so a client
 * that lets one stream's pushes race each other shows it. Open addressing; a zero
 * hash marks a free slot. Guarded by the sink's mutex. */
struct newest {
    uint64_t hash;
    int64_t ts;
};

struct sink {
    int decode;
    unsigned status; /* the answer to a push */
    atomic_uint_fast64_t requests, body_bytes, lines, line_bytes, decode_errors;
    pthread_mutex_t mu;
    struct newest *tab;
    size_t cap, used;
    uint64_t out_of_order; /* entries behind their stream's newest (under mu) */
};

struct req {
    int post;
    struct cairn_buf body; /* only with --decode */
    int too_big;
};

#define DISCARD_MAX_BODY (256u << 20)

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_discard [options]\n"
               "An HTTP sink: answers every POST with 204 and keeps nothing.\n\n"
               "  --listen ADDR:PORT  where to listen; port 0 picks a free one [127.0.0.1:0]\n"
               "  --port-file FILE    write the chosen port there once listening\n"
               "  --threads N         server threads [2]\n"
               "  --decode            decode push bodies (snappy+protobuf, JSON or gzipped\n"
               "                      JSON), count their entries, and count entries older\n"
               "                      than their stream's newest (out_of_order)\n"
               "  --status CODE       answer pushes with this status instead, e.g. 429 or 500\n"
               "                      to exercise a client's retries [204]\n"
               "  -h, --help          this text\n"
               "Prints `listening 127.0.0.1:PORT` on stdout when ready.\n");
}

/* The newest-timestamp slot of a stream, growing the table as needed; NULL if out of
 * memory. Caller holds s->mu. */
static struct newest *newest_slot(struct sink *s, uint64_t h)
{
    h |= 1; /* never zero */
    if (2 * (s->used + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        struct newest *t = calloc(cap, sizeof *t);
        if (!t)
            return NULL;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->tab[i].hash)
                continue;
            size_t j = s->tab[i].hash & (cap - 1);
            while (t[j].hash)
                j = (j + 1) & (cap - 1);
            t[j] = s->tab[i];
        }
        free(s->tab);
        s->tab = t;
        s->cap = cap;
    }
    size_t j = h & (s->cap - 1);
    while (s->tab[j].hash && s->tab[j].hash != h)
        j = (j + 1) & (s->cap - 1);
    if (!s->tab[j].hash) {
        s->tab[j].hash = h;
        s->tab[j].ts = INT64_MIN;
        s->used++;
    }
    return &s->tab[j];
}

/* Count ts against its stream's newest. Caller holds s->mu. */
static void check_order(struct sink *s, struct newest *n, int64_t ts)
{
    if (!n)
        return;
    if (ts < n->ts)
        s->out_of_order++;
    else
        n->ts = ts;
}

static void count_protobuf(struct sink *s, const char *p, size_t n)
{
    size_t ulen;
    if (snappy_uncompressed_length(p, n, &ulen) != SNAPPY_OK || ulen > DISCARD_MAX_BODY) {
        atomic_fetch_add(&s->decode_errors, 1);
        return;
    }
    char *u = malloc(ulen ? ulen : 1);
    if (!u || snappy_uncompress(p, n, u, &ulen) != SNAPPY_OK) {
        free(u);
        atomic_fetch_add(&s->decode_errors, 1);
        return;
    }
    Logproto__PushRequest *req = logproto__push_request__unpack(NULL, ulen, (uint8_t *)u);
    free(u);
    if (!req) {
        atomic_fetch_add(&s->decode_errors, 1);
        return;
    }
    uint64_t lines = 0, bytes = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < req->n_streams; i++) {
        const Logproto__StreamAdapter *st = req->streams[i];
        struct newest *nw = newest_slot(s, cairn_hash64(st->labels, strlen(st->labels)));
        lines += st->n_entries;
        for (size_t j = 0; j < st->n_entries; j++) {
            const Logproto__EntryAdapter *e = st->entries[j];
            bytes += e->line.len;
            if (e->timestamp)
                check_order(s, nw, e->timestamp->seconds * 1000000000LL + e->timestamp->nanos);
        }
    }
    pthread_mutex_unlock(&s->mu);
    logproto__push_request__free_unpacked(req, NULL);
    atomic_fetch_add(&s->lines, lines);
    atomic_fetch_add(&s->line_bytes, bytes);
}

static void count_json(struct sink *s, const char *p, size_t n)
{
    json_error_t err;
    json_t *root = json_loadb(p, n, 0, &err);
    json_t *streams = root ? json_object_get(root, "streams") : NULL;
    if (!json_is_array(streams)) {
        json_decref(root);
        atomic_fetch_add(&s->decode_errors, 1);
        return;
    }
    uint64_t lines = 0, bytes = 0;
    size_t i, j;
    json_t *st, *v;
    pthread_mutex_lock(&s->mu);
    json_array_foreach(streams, i, st) {
        char *key = json_dumps(json_object_get(st, "stream"), JSON_SORT_KEYS | JSON_COMPACT);
        struct newest *nw = key ? newest_slot(s, cairn_hash64(key, strlen(key))) : NULL;
        free(key);
        json_array_foreach(json_object_get(st, "values"), j, v) {
            lines++;
            bytes += json_string_length(json_array_get(v, 1));
            const char *ts = json_string_value(json_array_get(v, 0));
            if (ts)
                check_order(s, nw, strtoll(ts, NULL, 10));
        }
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(root);
    atomic_fetch_add(&s->lines, lines);
    atomic_fetch_add(&s->line_bytes, bytes);
}

/* Inflate a gzip body into out; 0 or -1. */
static int gunzip(const char *p, size_t n, struct cairn_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    int zr = Z_OK;
    while (zr == Z_OK) {
        if (out->len > DISCARD_MAX_BODY || cairn_buf_reserve(out, 1 << 20) != 0)
            break;
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)(out->cap - out->len - 1);
        size_t before = z.avail_out;
        zr = inflate(&z, Z_NO_FLUSH);
        out->len += before - z.avail_out;
    }
    inflateEnd(&z);
    return zr == Z_STREAM_END ? 0 : -1;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    struct sink *s = cls;
    (void)version;
    struct req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->post = !strcmp(method, "POST");
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        atomic_fetch_add(&s->body_bytes, *upload_size);
        if (s->decode && !rq->too_big) {
            if (rq->body.len + *upload_size > DISCARD_MAX_BODY ||
                cairn_buf_append(&rq->body, upload, *upload_size) != 0)
                rq->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->post) {
        atomic_fetch_add(&s->requests, 1);
        if (s->decode) {
            const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
            const char *ce =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
            if (rq->too_big)
                atomic_fetch_add(&s->decode_errors, 1);
            else if (ct && strstr(ct, "json") && ce && !strcmp(ce, "gzip")) {
                struct cairn_buf u = CAIRN_BUF_INIT;
                if (gunzip(rq->body.data ? rq->body.data : "", rq->body.len, &u) == 0)
                    count_json(s, u.data, u.len);
                else
                    atomic_fetch_add(&s->decode_errors, 1);
                cairn_buf_deinit(&u);
            } else if (ct && strstr(ct, "json"))
                count_json(s, rq->body.data ? rq->body.data : "", rq->body.len);
            else
                count_protobuf(s, rq->body.data ? rq->body.data : "", rq->body.len);
        }
        if (s->status != MHD_HTTP_NO_CONTENT)
            return reply(c, s->status, "bench_discard: refused as told by --status\n",
                         "text/plain");
        return reply(c, MHD_HTTP_NO_CONTENT, "", NULL);
    }
    if (!strcmp(url, "/ready"))
        return reply(c, MHD_HTTP_OK, "ready\n", "text/plain");
    if (!strcmp(url, "/stats")) {
        char buf[512];
        pthread_mutex_lock(&s->mu);
        unsigned long long ooo = s->out_of_order;
        pthread_mutex_unlock(&s->mu);
        snprintf(buf, sizeof buf,
                 "{\"requests\":%llu,\"body_bytes\":%llu,\"lines\":%llu,\"line_bytes\":%llu,"
                 "\"decode_errors\":%llu,\"out_of_order\":%llu}\n",
                 (unsigned long long)atomic_load(&s->requests),
                 (unsigned long long)atomic_load(&s->body_bytes),
                 (unsigned long long)atomic_load(&s->lines),
                 (unsigned long long)atomic_load(&s->line_bytes),
                 (unsigned long long)atomic_load(&s->decode_errors), ooo);
        return reply(c, MHD_HTTP_OK, buf, "application/json");
    }
    return reply(c, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req *rq = *con_cls;
    if (rq) {
        cairn_buf_deinit(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static int listen_on(const char *spec)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    const char *listen_spec = "127.0.0.1:0", *port_file = NULL;
    unsigned threads = 2;
    struct sink *s = calloc(1, sizeof *s);
    if (!s)
        return 2;
    s->status = MHD_HTTP_NO_CONTENT;
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(s);
            return 0;
        } else if (!strcmp(a, "--decode")) {
            s->decode = 1;
        } else if (!strcmp(a, "--listen") && v) {
            listen_spec = v;
            i++;
        } else if (!strcmp(a, "--port-file") && v) {
            port_file = v;
            i++;
        } else if (!strcmp(a, "--status") && v && atoi(v) >= 100 && atoi(v) <= 599) {
            s->status = (unsigned)atoi(v);
            i++;
        } else if (!strcmp(a, "--threads") && v && atoi(v) > 0) {
            threads = (unsigned)atoi(v);
            i++;
        } else {
            fprintf(stderr, "bench_discard: bad or unknown option %s (try --help)\n", a);
            free(s);
            return 2;
        }
    }
    int fd = listen_on(listen_spec);
    if (fd < 0) {
        fprintf(stderr, "bench_discard: cannot listen on %s: %s\n", listen_spec,
                strerror(errno));
        free(s);
        return 1;
    }
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &salen);
    unsigned port = ntohs(sa.sin_port);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the server's threads inherit this */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench_discard: cannot start the HTTP server\n");
        close(fd);
        free(s);
        return 1;
    }
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
            fprintf(stderr, "bench_discard: cannot write %s\n", port_file);
            MHD_stop_daemon(d);
            free(s);
            return 1;
        }
    }
    char host[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    printf("listening %s:%u\n", host, port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    close(fd);
    printf("BENCH_DISCARD requests=%llu body_bytes=%llu lines=%llu line_bytes=%llu "
           "decode_errors=%llu out_of_order=%llu\n",
           (unsigned long long)atomic_load(&s->requests),
           (unsigned long long)atomic_load(&s->body_bytes),
           (unsigned long long)atomic_load(&s->lines),
           (unsigned long long)atomic_load(&s->line_bytes),
           (unsigned long long)atomic_load(&s->decode_errors),
           (unsigned long long)s->out_of_order);
    free(s->tab);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return 0;
}
