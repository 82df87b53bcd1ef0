/* readlogs.c -- /LogDriver.ReadLogs: the local copy read back as docker's LogEntry
 * frames, with Tail (the last N lines), Since / Until, and Follow (new lines as they
 * are written, across rotations, until the container stops or the client hangs up).
 * The files are opened at once under the stream's lock, so a rotation in between
 * cannot make a line appear twice or not at all; a follower that sees rotations reads
 * its file to the end, then every newer file in order. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn/log.h"
#include "docker/docker_int.h"

#define FOLLOW_WAIT_MS 250   /* a follower rechecks the client and shutdown this often */
#define READ_CHUNK (64 * 1024)
#define OUT_TARGET (32 * 1024)
#define MAX_FILES 1001       /* max-file's range, plus the live file */

struct cairn__docker_reader {
    char *dir;
    struct cairn__docker_stream *s; /* referenced, or NULL */
    int fds[MAX_FILES];          /* oldest first; finished ones closed (-1) */
    int nfd, idx;
    uint64_t rot_seen, writes_seen;
    int64_t since, until;
    long skip;
    int follow, done;
    int rotating;                   /* a rotation was seen: finish this file, then switch */
    const atomic_int *shutdown;
    struct cairn_buf in, out, scratch, name;
    size_t in_off, out_off;
};

static int open_all(struct cairn__docker_reader *r)
{
    int n = 0;
    while (n < MAX_FILES - 1) {
        if (cairn__docker_local_name(&r->name, r->dir, n + 1))
            return CAIRN_ENOMEM;
        if (access(r->name.data, F_OK))
            break;
        n++;
    }
    for (int i = n; i >= 0; i--) {
        if (cairn__docker_local_name(&r->name, r->dir, i))
            return CAIRN_ENOMEM;
        int fd = open(r->name.data, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            r->fds[r->nfd++] = fd;
    }
    return 0;
}

static long count_lines(int fd, char *tmp)
{
    long n = 0;
    ssize_t k;
    while ((k = read(fd, tmp, READ_CHUNK)) > 0)
        for (ssize_t i = 0; i < k; i++)
            n += tmp[i] == '\n';
    lseek(fd, 0, SEEK_SET);
    return n;
}

struct cairn__docker_reader *cairn__docker_reader_open(const char *data_dir, const char *id,
                                                       struct cairn__docker_stream *s,
                                                       int64_t since, int64_t until,
                                                       long tail, int follow,
                                                       const atomic_int *shutdown,
                                                       struct cairn_err *err)
{
    struct cairn__docker_reader *r = calloc(1, sizeof *r);
    struct cairn_buf d = CAIRN_BUF_INIT;
    if (!r || cairn_buf_appendf(&d, "%s/%s", data_dir, id)) {
        free(r);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    r->dir = cairn_buf_detach(&d, NULL);
    r->since = since;
    r->until = until;
    r->follow = follow;
    r->shutdown = shutdown;
    int rc, writing = 0;
    if (s) {
        cairn__docker_stream_ref(s);
        r->s = s;
        pthread_mutex_lock(&s->mu);
        r->rot_seen = s->rotations;
        writing = s->local.fd >= 0;
        rc = open_all(r);
        pthread_mutex_unlock(&s->mu);
    } else {
        rc = open_all(r);
    }
    if (rc || (r->nfd == 0 && !(writing && follow))) {
        cairn_err_set(err, rc ? rc : CAIRN_ENOTFOUND,
                      rc ? "out of memory"
                         : "no local copy of container %s's logs (no-file, or removed when it "
                           "stopped: set keep-file)", id);
        cairn__docker_reader_close(r);
        return NULL;
    }
    if (tail >= 0) {
        char *tmp = malloc(READ_CHUNK);
        if (!tmp) {
            cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            cairn__docker_reader_close(r);
            return NULL;
        }
        long total = 0;
        for (int i = 0; i < r->nfd; i++)
            total += count_lines(r->fds[i], tmp);
        free(tmp);
        r->skip = total > tail ? total - tail : 0;
    }
    return r;
}

void cairn__docker_reader_close(struct cairn__docker_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nfd; i++)
        if (r->fds[i] >= 0)
            close(r->fds[i]);
    cairn__docker_stream_unref(r->s);
    cairn_buf_deinit(&r->in);
    cairn_buf_deinit(&r->out);
    cairn_buf_deinit(&r->scratch);
    cairn_buf_deinit(&r->name);
    free(r->dir);
    free(r);
}

/* Encode the complete lines in r->in. */
static int lines_to_frames(struct cairn__docker_reader *r)
{
    while (r->in_off < r->in.len) {
        const char *p = r->in.data + r->in_off;
        const char *nl = memchr(p, '\n', r->in.len - r->in_off);
        if (!nl)
            break; /* a line still being written */
        size_t len = (size_t)(nl - p);
        r->in_off += len + 1;
        if (r->skip > 0) {
            r->skip--;
            continue;
        }
        struct cairn_docker_entry e;
        if (cairn__docker_local_parse(p, len, &r->scratch, &e))
            continue; /* not ours: skipped */
        if (r->since && e.time_nano < r->since)
            continue;
        if (r->until && e.time_nano > r->until) {
            r->done = 1;
            break;
        }
        if (cairn_docker_entry_encode(&e, &r->out))
            return CAIRN_ENOMEM;
    }
    memmove(r->in.data, r->in.data + r->in_off, r->in.len - r->in_off);
    cairn_buf_truncate(&r->in, r->in.len - r->in_off);
    r->in_off = 0;
    return 0;
}

/* Read more of the current file; 1 read something, 0 at its end, negative error. */
static int read_more(struct cairn__docker_reader *r)
{
    if (r->idx >= r->nfd)
        return 0;
    if (cairn_buf_reserve(&r->in, READ_CHUNK))
        return CAIRN_ENOMEM;
    ssize_t n = read(r->fds[r->idx], r->in.data + r->in.len, READ_CHUNK);
    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0) {
        CAIRN_WARN("docker", "local copy read failed", "dir=%s errno=%d", r->dir, errno);
        return CAIRN_EIO;
    }
    if (n == 0)
        return 0;
    r->in.len += (size_t)n;
    r->in.data[r->in.len] = 0;
    return 1;
}

static int client_gone(int fd)
{
    if (fd < 0)
        return 0;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* After rotations: every file is finished (the caller holds the lock and read its
 * current file to the end after the rotation was seen). The file it was reading is now
 * json.log.<delta>; the newer ones json.log.<delta - 1> .. json.log.1 and json.log are
 * opened in that order (those max-file already removed are gone). 1 or 0 (none). */
static int switch_files(struct cairn__docker_reader *r, uint64_t rotations)
{
    uint64_t delta = rotations - r->rot_seen;
    r->rot_seen = rotations;
    r->rotating = 0;
    for (int i = 0; i < r->nfd; i++)
        close(r->fds[i]);
    r->nfd = r->idx = 0;
    cairn_buf_reset(&r->in);
    long first = delta - 1 < (uint64_t)(MAX_FILES - 1) ? (long)(delta - 1) : MAX_FILES - 1;
    for (long i = first; i >= 0; i--) {
        if (cairn__docker_local_name(&r->name, r->dir, (int)i))
            return 0;
        int fd = open(r->name.data, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            r->fds[r->nfd++] = fd;
    }
    return r->nfd > 0;
}

/* At the end of every file: move on, or (follow) wait for the writer. 1 go on, 0 done. */
static int at_end(struct cairn__docker_reader *r, int conn_fd)
{
    if (r->idx + 1 < r->nfd) {
        close(r->fds[r->idx]); /* finished: a long follow holds only the files it reads */
        r->fds[r->idx] = -1;
        r->idx++;
        cairn_buf_reset(&r->in); /* a torn last line of a rotated file is not completed */
        return 1;
    }
    if (!r->follow || !r->s)
        return 0;
    struct cairn__docker_stream *s = r->s;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (r->rotating) {
            /* the rotation was seen before the last read hit the end: the file was
             * complete then */
            int ok = switch_files(r, s->rotations);
            pthread_mutex_unlock(&s->mu);
            return ok;
        }
        if (s->rotations != r->rot_seen) {
            /* lines may have gone into the current file between its end and the
             * rotation: read it to the end once more first */
            r->rotating = 1;
            pthread_mutex_unlock(&s->mu);
            return 1;
        }
        if (s->writes != r->writes_seen) {
            r->writes_seen = s->writes;
            pthread_mutex_unlock(&s->mu);
            return 1;
        }
        if ((s->stop && s->ended) || (r->shutdown && atomic_load(r->shutdown))) {
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += FOLLOW_WAIT_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        if (client_gone(conn_fd)) {
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
    }
}

long cairn__docker_reader_fill(struct cairn__docker_reader *r, char *buf, size_t max, int conn_fd)
{
    for (;;) {
        if (r->out_off < r->out.len) {
            size_t n = r->out.len - r->out_off;
            if (n > max)
                n = max;
            memcpy(buf, r->out.data + r->out_off, n);
            r->out_off += n;
            if (r->out_off == r->out.len) {
                cairn_buf_reset(&r->out);
                r->out_off = 0;
            }
            return (long)n;
        }
        if (r->done)
            return 0;
        if (r->s) {
            pthread_mutex_lock(&r->s->mu);
            r->writes_seen = r->s->writes; /* before reading: a later write is seen */
            pthread_mutex_unlock(&r->s->mu);
        }
        int got = 0;
        while (r->out.len < OUT_TARGET && !r->done) {
            int rc = read_more(r);
            if (rc < 0)
                return rc;
            if (rc == 0)
                break;
            got = 1;
            if ((rc = lines_to_frames(r)))
                return rc;
        }
        if (r->out.len || r->done)
            continue;
        if (got)
            continue;
        if (!at_end(r, conn_fd))
            r->done = 1;
    }
}
