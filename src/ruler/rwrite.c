/* rwrite.c -- recording rules' samples to Prometheus remote write (1.0: snappy-
 * compressed protobuf WriteRequest), through a WAL of their own so nothing recorded is
 * lost while Prometheus is down: every sample is appended (and fdatasync'ed) to
 * <dir>/queue as a line "<ms> <value> <labels JSON>"; <dir>/acked holds the byte
 * offset sent so far. A flush sends from there in batches, in order; a 2xx or a
 * non-retryable 4xx (logged: the batch is bad) moves the offset on, a 429, 5xx or
 * network error leaves it for the next flush. Once all is sent the queue is cut back
 * to empty. A torn last line (a crash mid-write) is never sent: lines end in '\n'. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/buf.h"
#include "cairn/log.h"
#include "remote_write.pb-c.h"
#include "ruler/ruler_int.h"

#define BATCH_SAMPLES 2000
#define SEND_TIMEOUT_S 30L

struct rwrite {
    char *url;
    char *queue_path, *acked_path;
    int fd;               /* queue, append */
    off_t acked;
    uint64_t sent, dropped, failed;
};

static int write_acked(struct rwrite *w)
{
    char tmp[4200], b[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", w->acked_path);
    int n = snprintf(b, sizeof b, "%lld\n", (long long)w->acked);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && write(fd, b, (size_t)n) == n && fdatasync(fd) == 0;
    if (fd >= 0)
        close(fd);
    return ok && rename(tmp, w->acked_path) == 0 ? 0 : CAIRN_EIO;
}

struct rwrite *cairn__rwrite_open(const char *url, const char *dir, struct cairn_err *err)
{
    struct rwrite *w = calloc(1, sizeof *w);
    size_t n = strlen(dir) + 16;
    if (!w || !(w->url = strdup(url)) || !(w->queue_path = malloc(n)) ||
        !(w->acked_path = malloc(n))) {
        cairn__rwrite_close(w);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    w->fd = -1;
    snprintf(w->queue_path, n, "%s/queue", dir);
    snprintf(w->acked_path, n, "%s/acked", dir);
    if (mkdir(dir, 0755) && errno != EEXIST) {
        cairn_err_set(err, CAIRN_EIO, "ruler: cannot create %s: %s", dir, strerror(errno));
        cairn__rwrite_close(w);
        return NULL;
    }
    w->fd = open(w->queue_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        cairn_err_set(err, CAIRN_EIO, "ruler: cannot open %s: %s", w->queue_path, strerror(errno));
        cairn__rwrite_close(w);
        return NULL;
    }
    FILE *f = fopen(w->acked_path, "r");
    long long a = 0;
    if (f) {
        if (fscanf(f, "%lld", &a) != 1)
            a = 0;
        fclose(f);
    }
    struct stat st;
    if (fstat(w->fd, &st) == 0 && a > st.st_size)
        a = st.st_size;
    w->acked = a;
    return w;
}

void cairn__rwrite_close(struct rwrite *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->url);
    free(w->queue_path);
    free(w->acked_path);
    free(w);
}

int cairn__rwrite_add(struct rwrite *w, const char *labels_json, int64_t ts_ms, double v)
{
    char head[64];
    int hl = snprintf(head, sizeof head, "%lld %.17g ", (long long)ts_ms, v);
    size_t ll = strlen(labels_json);
    char *line = malloc((size_t)hl + ll + 1);
    if (!line)
        return CAIRN_ENOMEM;
    memcpy(line, head, (size_t)hl);
    memcpy(line + hl, labels_json, ll);
    line[hl + ll] = '\n';
    ssize_t n = write(w->fd, line, (size_t)hl + ll + 1);
    free(line);
    if (n != (ssize_t)((size_t)hl + ll + 1) || fdatasync(w->fd))
        return CAIRN_EIO;
    return 0;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

/* POST one encoded batch; the HTTP status (0: no answer). */
static long post(struct rwrite *w, const uint8_t *body, size_t len)
{
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    h = curl_slist_append(h, "Content-Encoding: snappy");
    h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
    h = curl_slist_append(h, "User-Agent: cairn-ruler");
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, SEND_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* One series of a batch: its labels and samples (one sample per line: each recorded
 * sample is its own series entry, Prometheus merges them by labels). */
struct item {
    Prometheus__TimeSeries ts;
    Prometheus__Sample s, *sp;
    Prometheus__Label *lv, **lp;
};

/* Encode the lines of text[0..len) (whole lines) as a WriteRequest body. */
static int encode(const char *text, size_t len, size_t *nlines, struct cairn_buf *pb,
                  struct cairn_buf *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    struct item *it = calloc(n ? n : 1, sizeof *it);
    Prometheus__TimeSeries **tsp = calloc(n ? n : 1, sizeof *tsp);
    json_t **docs = calloc(n ? n : 1, sizeof *docs);
    int rc = it && tsp && docs ? 0 : CAIRN_ENOMEM;
    size_t k = 0;
    const char *p = text, *end = text + len;
    while (!rc && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        long long ms;
        double v;
        int off = 0;
        if (sscanf(p, "%lld %lg %n", &ms, &v, &off) != 2 || off <= 0) {
            p = nl + 1;
            continue; /* a damaged line is skipped */
        }
        json_error_t je;
        json_t *lab = json_loadb(p + off, (size_t)(nl - p - off), 0, &je);
        p = nl + 1;
        if (!json_is_object(lab)) {
            json_decref(lab);
            continue;
        }
        docs[k] = lab;
        struct item *x = &it[k];
        prometheus__time_series__init(&x->ts);
        prometheus__sample__init(&x->s);
        x->s.value = v;
        x->s.timestamp = ms;
        x->sp = &x->s;
        x->ts.samples = &x->sp;
        x->ts.n_samples = 1;
        size_t nl2 = json_object_size(lab), li = 0;
        x->lv = calloc(nl2 ? nl2 : 1, sizeof *x->lv);
        x->lp = calloc(nl2 ? nl2 : 1, sizeof *x->lp);
        if (!x->lv || !x->lp) {
            rc = CAIRN_ENOMEM;
            break;
        }
        /* names in byte order (the JSON was written with sorted keys) */
        const char *key;
        json_t *val;
        json_object_foreach(lab, key, val) {
            prometheus__label__init(&x->lv[li]);
            x->lv[li].name = (char *)key;
            x->lv[li].value = (char *)(json_string_value(val) ? json_string_value(val) : "");
            x->lp[li] = &x->lv[li];
            li++;
        }
        x->ts.labels = x->lp;
        x->ts.n_labels = li;
        tsp[k] = &x->ts;
        k++;
    }
    if (!rc) {
        Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
        req.timeseries = tsp;
        req.n_timeseries = k;
        size_t plen = prometheus__write_request__get_packed_size(&req);
        cairn_buf_reset(pb);
        cairn_buf_reset(out);
        size_t clen = snappy_max_compressed_length(plen);
        if (cairn_buf_reserve(pb, plen + 1) || cairn_buf_reserve(out, clen + 1)) {
            rc = CAIRN_ENOMEM;
        } else {
            pb->len = prometheus__write_request__pack(&req, (uint8_t *)pb->data);
            if (snappy_compress(pb->data, pb->len, out->data, &clen) != SNAPPY_OK)
                rc = CAIRN_EIO;
            else
                out->len = clen;
        }
    }
    for (size_t i = 0; it && i < n; i++) {
        free(it[i].lv);
        free(it[i].lp);
        if (docs)
            json_decref(docs[i]);
    }
    free(it);
    free(tsp);
    free(docs);
    *nlines = n;
    return rc;
}

int cairn__rwrite_flush(struct rwrite *w)
{
    struct cairn_buf text = CAIRN_BUF_INIT, pb = CAIRN_BUF_INIT, body = CAIRN_BUF_INIT;
    int rc = 0;
    for (;;) {
        struct stat st;
        if (fstat(w->fd, &st))
            break;
        if (w->acked >= st.st_size) {
            /* all sent: start the queue over (nothing can be appended meanwhile: the
             * ruler's thread is the one writer and it is here) */
            if (st.st_size > (1 << 20) && ftruncate(w->fd, 0) == 0) {
                w->acked = 0;
                write_acked(w);
            }
            break;
        }
        size_t want = (size_t)(st.st_size - w->acked);
        if (want > (4u << 20))
            want = 4u << 20;
        cairn_buf_reset(&text);
        if (cairn_buf_reserve(&text, want + 1)) {
            rc = CAIRN_ENOMEM;
            break;
        }
        ssize_t got = pread(w->fd, text.data, want, w->acked);
        if (got <= 0) {
            rc = CAIRN_EIO;
            break;
        }
        /* whole lines only, at most BATCH_SAMPLES */
        size_t use = 0, lines = 0;
        for (size_t i = 0; i < (size_t)got && lines < BATCH_SAMPLES; i++)
            if (text.data[i] == '\n') {
                use = i + 1;
                lines++;
            }
        if (!use)
            break; /* a torn last line: never sent */
        size_t nl;
        if ((rc = encode(text.data, use, &nl, &pb, &body)))
            break;
        long status = post(w, (const uint8_t *)body.data, body.len);
        if (status >= 200 && status < 300) {
            w->sent += nl;
        } else if (status >= 400 && status < 500 && status != 429) {
            w->dropped += nl; /* Prometheus refuses these for good (out of order, ...) */
            CAIRN_WARN("ruler", "remote write refused a batch", "url=%s status=%ld samples=%zu",
                       w->url, status, nl);
        } else {
            w->failed++;
            CAIRN_WARN("ruler", "remote write failed, will retry", "url=%s status=%ld queued=%lld",
                       w->url, status, (long long)(st.st_size - w->acked));
            rc = CAIRN_EAGAIN;
            break;
        }
        w->acked += (off_t)use;
        if (write_acked(w)) {
            rc = CAIRN_EIO;
            break;
        }
    }
    cairn_buf_deinit(&text);
    cairn_buf_deinit(&pb);
    cairn_buf_deinit(&body);
    return rc;
}
