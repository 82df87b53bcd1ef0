/* sink_stdout.c -- the stdout sink: one JSON object per line in eventrouter's shape,
 * {"verb":"ADDED","event":{...}} or {"verb":"UPDATED","event":{...},"old_event":{...}}.
 * Lines collect in a buffer written to the fd on flush (and when it grows past 64 KiB),
 * so a burst costs a few write(2) calls, not one per event. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/buf.h"
#include "cairn/k8s_router.h"
#include "cairn/log.h"

#define STDOUT_FLUSH_AT (64 * 1024)

struct stdout_sink {
    int fd;
    struct cairn_buf out;
};

static int write_all(struct stdout_sink *s)
{
    size_t off = 0;
    while (off < s->out.len) {
        ssize_t n = write(s->fd, s->out.data + off, s->out.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            CAIRN_ERROR("k8s", "stdout sink: write failed", "err=\"%s\"", strerror(errno));
            /* keep what was not written for the next try */
            memmove(s->out.data, s->out.data + off, s->out.len - off);
            cairn_buf_truncate(&s->out, s->out.len - off);
            return CAIRN_EIO;
        }
        off += (size_t)n;
    }
    cairn_buf_reset(&s->out);
    return 0;
}

static int stdout_emit(void *ctx, const char *verb, json_t *event, const char *ev, size_t ev_len,
                       const char *old, size_t old_len)
{
    (void)event;
    struct stdout_sink *s = ctx;
    size_t mark = s->out.len;
    int rc = cairn_buf_append_str(&s->out, "{\"verb\":\"");
    rc = rc ? rc : cairn_buf_append_str(&s->out, verb);
    rc = rc ? rc : cairn_buf_append_str(&s->out, "\",\"event\":");
    rc = rc ? rc : cairn_buf_append(&s->out, ev, ev_len);
    if (old && rc == 0) {
        rc = cairn_buf_append_str(&s->out, ",\"old_event\":");
        rc = rc ? rc : cairn_buf_append(&s->out, old, old_len);
    }
    rc = rc ? rc : cairn_buf_append_str(&s->out, "}\n");
    if (rc) {
        cairn_buf_truncate(&s->out, mark);
        return rc;
    }
    return s->out.len >= STDOUT_FLUSH_AT ? write_all(s) : 0;
}

static int stdout_flush(void *ctx)
{
    return write_all(ctx);
}

static void stdout_destroy(void *ctx)
{
    struct stdout_sink *s = ctx;
    if (!s)
        return;
    write_all(s);
    cairn_buf_deinit(&s->out);
    free(s);
}

int cairn_k8s_sink_stdout_init(struct cairn_k8s_sink *sink, int fd)
{
    struct stdout_sink *s = calloc(1, sizeof *s);
    if (!s)
        return CAIRN_ENOMEM;
    s->fd = fd;
    sink->emit = stdout_emit;
    sink->flush = stdout_flush;
    sink->destroy = stdout_destroy;
    sink->ctx = s;
    return 0;
}
