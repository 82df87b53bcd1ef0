/* localcopy.c -- the driver's local copy of a container's output, so `docker logs`
 * works: docker's json-file format ({"log":"line\n","stream":"stdout","time":"..."}
 * one per line) in <data_dir>/<id>/json.log, rotated at max-size into json.log.1 ..
 * json.log.<max-file - 1> (max-file 1: truncated), as json-file does. Lines are
 * batched per FIFO read and written by cairn__docker_local_flush. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/json.h"
#include "cairn/k8s.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "docker/docker_int.h"

/* Lines are batched and written once per FIFO read (one write instead of one a line);
 * past this many bytes a batch is written early. */
#define LOCAL_PEND_MAX (256 * 1024)

int cairn__docker_local_name(struct cairn_buf *out, const char *dir, int n)
{
    cairn_buf_reset(out);
    return n ? cairn_buf_appendf(out, "%s/json.log.%d", dir, n)
             : cairn_buf_appendf(out, "%s/json.log", dir);
}

int cairn__docker_local_open(struct cairn__docker_local *l, const char *data_dir, const char *id,
                             uint64_t max_size, int max_file, int no_file)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->max_size = max_size;
    l->max_file = max_file < 1 ? 1 : max_file;
    struct cairn_buf b = CAIRN_BUF_INIT;
    if (cairn_buf_appendf(&b, "%s/%s", data_dir, id))
        return CAIRN_ENOMEM;
    l->dir = cairn_buf_detach(&b, NULL);
    if (cairn__docker_local_name(&b, l->dir, 0)) {
        cairn_buf_deinit(&b);
        return CAIRN_ENOMEM;
    }
    l->path = cairn_buf_detach(&b, NULL);
    if (!l->dir || !l->path)
        return CAIRN_ENOMEM;
    if (no_file)
        return 0;
    if (mkdir(l->dir, 0750) && errno != EEXIST) {
        CAIRN_ERROR("docker", "cannot create the local copy's directory", "dir=%s errno=%d",
                    l->dir, errno);
        return CAIRN_EIO;
    }
    l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (l->fd < 0) {
        CAIRN_ERROR("docker", "cannot open the local copy", "path=%s errno=%d", l->path, errno);
        return CAIRN_EIO;
    }
    struct stat st;
    if (fstat(l->fd, &st) == 0)
        l->size = (uint64_t)st.st_size;
    return 0;
}

static int rotate(struct cairn__docker_local *l)
{
    struct cairn_buf from = CAIRN_BUF_INIT, to = CAIRN_BUF_INIT;
    int rc = 0;
    if (l->max_file > 1) {
        for (int i = l->max_file - 1; i >= 1 && !rc; i--) {
            rc = cairn__docker_local_name(&from, l->dir, i - 1);
            rc |= cairn__docker_local_name(&to, l->dir, i);
            if (!rc && rename(from.data, to.data) && errno != ENOENT)
                CAIRN_WARN("docker", "local copy rotation failed", "from=%s errno=%d", from.data,
                           errno);
        }
        close(l->fd);
        l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
    } else if (ftruncate(l->fd, 0)) {
        CAIRN_WARN("docker", "local copy truncation failed", "path=%s errno=%d", l->path, errno);
    }
    cairn_buf_deinit(&from);
    cairn_buf_deinit(&to);
    l->size = 0;
    if (l->fd < 0) {
        CAIRN_ERROR("docker", "cannot reopen the local copy", "path=%s errno=%d", l->path, errno);
        return CAIRN_EIO;
    }
    return rc ? CAIRN_ENOMEM : 0;
}

static int write_all(struct cairn__docker_local *l, const char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(l->fd, p + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            CAIRN_ERROR("docker", "local copy write failed", "path=%s errno=%d", l->path, errno);
            return CAIRN_EIO;
        }
        off += (size_t)k;
    }
    l->size += n;
    return 0;
}

int cairn__docker_local_flush(struct cairn__docker_local *l)
{
    if (l->fd < 0 || !l->pend.len)
        return 0;
    int rc = write_all(l, l->pend.data, l->pend.len);
    cairn_buf_reset(&l->pend);
    return rc;
}

int cairn__docker_local_write(struct cairn__docker_local *l, const char *source, size_t slen,
                              int64_t ts, const char *line, size_t len, int *rotated)
{
    *rotated = 0;
    if (l->fd < 0)
        return 0;
    char t[48];
    size_t tl = cairn_format_rfc3339(ts, t, sizeof t);
    struct cairn_buf *b = &l->line;
    cairn_buf_reset(b);
    int rc = cairn_buf_append_str(b, "{\"log\":");
    /* the line with its newline, as json-file keeps it */
    rc |= cairn_buf_append_json_str(b, line, len);
    if (!rc) {
        b->len--; /* the closing quote */
        rc |= cairn_buf_append_str(b, "\\n\"");
    }
    rc |= cairn_buf_append_str(b, ",\"stream\":");
    rc |= cairn_buf_append_json_str(b, source, slen);
    rc |= cairn_buf_append_str(b, ",\"time\":\"");
    rc |= cairn_buf_append(b, t, tl);
    rc |= cairn_buf_append_str(b, "\"}\n");
    if (rc)
        return CAIRN_ENOMEM;
    uint64_t size = l->size + l->pend.len;
    if (l->max_size && size && size + b->len > l->max_size) {
        if ((rc = cairn__docker_local_flush(l)) || (rc = rotate(l)))
            return rc;
        *rotated = 1;
    }
    if (l->pend.len + b->len > LOCAL_PEND_MAX && (rc = cairn__docker_local_flush(l)))
        return rc;
    if (cairn_buf_append(&l->pend, b->data, b->len))
        return write_all(l, b->data, b->len); /* no room to batch: write it alone */
    return 0;
}

void cairn__docker_local_close(struct cairn__docker_local *l, int keep)
{
    if (l->fd >= 0) {
        (void)cairn__docker_local_flush(l);
        close(l->fd);
    }
    l->fd = -1;
    if (!keep && l->dir) {
        struct cairn_buf p = CAIRN_BUF_INIT;
        for (int i = 0; i < l->max_file; i++)
            if (!cairn__docker_local_name(&p, l->dir, i))
                unlink(p.data);
        cairn_buf_deinit(&p);
        rmdir(l->dir);
    }
    free(l->dir);
    free(l->path);
    cairn_buf_deinit(&l->line);
    cairn_buf_deinit(&l->pend);
    l->dir = l->path = NULL;
}

int cairn__docker_local_parse(const char *p, size_t len, struct cairn_buf *scratch,
                              struct cairn_docker_entry *e)
{
    memset(e, 0, sizeof *e);
    e->source = e->line = e->meta_id = "";
    struct cairn_json js;
    struct cairn_json_tok k, v;
    cairn_json_init(&js, p, len);
    if (cairn_json_next(&js, &k) != CAIRN_JSON_OBJECT_START)
        return CAIRN_EINVAL;
    cairn_buf_reset(scratch);
    size_t line_off = 0, line_len = 0, src_off = 0, src_len = 0;
    int have_time = 0;
    for (;;) {
        enum cairn_json_type t = cairn_json_next(&js, &k);
        if (t == CAIRN_JSON_OBJECT_END)
            break;
        if (t != CAIRN_JSON_KEY || cairn_json_next(&js, &v) <= 0)
            return CAIRN_EINVAL;
        if (v.type == CAIRN_JSON_STRING && cairn_json_str_eq(&k, "log", 3)) {
            line_off = scratch->len;
            if (cairn_json_unescape(v.p, v.len, scratch))
                return CAIRN_EINVAL;
            line_len = scratch->len - line_off;
        } else if (v.type == CAIRN_JSON_STRING && cairn_json_str_eq(&k, "stream", 6)) {
            src_off = scratch->len;
            if (cairn_json_unescape(v.p, v.len, scratch))
                return CAIRN_EINVAL;
            src_len = scratch->len - src_off;
        } else if (v.type == CAIRN_JSON_STRING && cairn_json_str_eq(&k, "time", 4)) {
            char tb[64];
            if (v.len >= sizeof tb)
                return CAIRN_EINVAL;
            memcpy(tb, v.p, v.len);
            tb[v.len] = 0;
            if (cairn_k8s_parse_time(tb, &e->time_nano))
                return CAIRN_EINVAL;
            have_time = 1;
        } else if (cairn_json_skip(&js, &v)) {
            return CAIRN_EINVAL;
        }
    }
    if (!have_time || !scratch->data)
        return CAIRN_EINVAL;
    e->line = scratch->data + line_off;
    if (line_len && e->line[line_len - 1] == '\n')
        line_len--;
    else
        e->partial = 1; /* json-file keeps partial messages without their newline */
    e->line_len = line_len;
    e->source = scratch->data + src_off;
    e->source_len = src_len;
    return 0;
}
