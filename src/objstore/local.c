/* local.c -- the `local` object storage backend: objects are files under a directory.
 *
 * A put writes a temporary file beside the object, syncs it and renames it into place
 * (readers see the old object or the new one, never a part); put_if_absent links the
 * temporary file to the object's name instead, which fails if the name exists, so it
 * is create-only even between processes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/fs.h"
#include "cairn/log.h"
#include "objstore/objstore_int.h"

struct local {
    char *dir;
    atomic_uint_least64_t tmp_seq;
};

static int path_of(const struct local *l, const char *key, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", l->dir, key);
    return n < 0 || (size_t)n >= cap ? CAIRN_EINVAL : 0;
}

/* Write p[0..n) into a new temporary file next to key's path; its name in tmp. */
static int write_tmp(struct local *l, const char *path, const void *p, size_t n, char *tmp,
                     size_t cap)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (cairn_fs_mkdir_p(dir))
            return CAIRN_EIO;
    }
    snprintf(tmp, cap, "%s.tmp.%d.%" PRIu64, path, (int)getpid(),
             (uint64_t)atomic_fetch_add(&l->tmp_seq, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_ERROR("objstore", "create failed", "file=\"%s\" errno=%d", tmp, errno);
        return CAIRN_EIO;
    }
    const char *c = p;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, c + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            CAIRN_ERROR("objstore", "write failed", "file=\"%s\" errno=%d", tmp, errno);
            close(fd);
            unlink(tmp);
            return errno == ENOSPC || errno == EDQUOT ? CAIRN_ENOSPC : CAIRN_EIO;
        }
        done += (size_t)w;
    }
    if (fdatasync(fd) < 0) {
        CAIRN_ERROR("objstore", "fdatasync failed", "file=\"%s\" errno=%d", tmp, errno);
        close(fd);
        unlink(tmp);
        return CAIRN_EIO;
    }
    close(fd);
    return 0;
}

static int l_put(void *be, const char *key, const void *p, size_t n)
{
    struct local *l = be;
    char path[4096], tmp[4200];
    int rc;
    if ((rc = path_of(l, key, path, sizeof path)) || (rc = write_tmp(l, path, p, n, tmp, sizeof tmp)))
        return rc;
    if (rename(tmp, path) < 0) {
        CAIRN_ERROR("objstore", "rename failed", "file=\"%s\" errno=%d", path, errno);
        unlink(tmp);
        return CAIRN_EIO;
    }
    return 0;
}

static int l_put_if_absent(void *be, const char *key, const void *p, size_t n)
{
    struct local *l = be;
    char path[4096], tmp[4200];
    int rc;
    if ((rc = path_of(l, key, path, sizeof path)) || (rc = write_tmp(l, path, p, n, tmp, sizeof tmp)))
        return rc;
    rc = 0;
    if (link(tmp, path) < 0) {
        rc = errno == EEXIST ? CAIRN_EEXIST : CAIRN_EIO;
        if (rc == CAIRN_EIO)
            CAIRN_ERROR("objstore", "link failed", "file=\"%s\" errno=%d", path, errno);
    }
    unlink(tmp);
    return rc;
}

static int open_key(struct local *l, const char *key, uint64_t *size)
{
    char path[4096];
    if (path_of(l, key, path, sizeof path))
        return CAIRN_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? CAIRN_ENOTFOUND : CAIRN_EIO;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return CAIRN_ENOTFOUND;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

static int l_get_range(void *be, const char *key, uint64_t off, uint64_t len,
                       struct cairn_buf *out)
{
    uint64_t size;
    int fd = open_key(be, key, &size);
    if (fd < 0)
        return fd;
    int rc = 0;
    if (off > size || len > size - off)
        rc = CAIRN_ERANGE;
    else if (cairn_buf_reserve(out, len))
        rc = CAIRN_ENOMEM;
    size_t got = 0;
    while (!rc && got < len) {
        ssize_t r = pread(fd, out->data + out->len + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = r == 0 ? CAIRN_ERANGE : CAIRN_EIO;
        else
            got += (size_t)r;
    }
    close(fd);
    if (!rc) {
        out->len += len;
        out->data[out->len] = '\0';
    }
    return rc;
}

static int l_get(void *be, const char *key, struct cairn_buf *out)
{
    uint64_t size;
    int fd = open_key(be, key, &size);
    if (fd < 0)
        return fd;
    close(fd);
    return size ? l_get_range(be, key, 0, size, out) : 0;
}

static int l_head(void *be, const char *key, uint64_t *size)
{
    int fd = open_key(be, key, size);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static int l_del(void *be, const char *key)
{
    char path[4096];
    if (path_of(be, key, path, sizeof path))
        return CAIRN_EINVAL;
    if (unlink(path) < 0 && errno != ENOENT) {
        CAIRN_ERROR("objstore", "unlink failed", "file=\"%s\" errno=%d", path, errno);
        return CAIRN_EIO;
    }
    return 0;
}

/* Walk dir (rel: its key prefix) adding keys that start with prefix. */
static int walk(const char *dir, const char *rel, const char *prefix,
                struct cairn_objstore_list *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : CAIRN_EIO;
    struct dirent *de;
    int rc = 0;
    char sub[4096], key[4096];
    size_t plen = strlen(prefix);
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        snprintf(key, sizeof key, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        struct stat st;
        if (lstat(sub, &st) < 0)
            continue;
        size_t kl = strlen(key);
        size_t m = kl < plen ? kl : plen;
        if (strncmp(key, prefix, m) != 0)
            continue; /* neither inside the prefix nor on the way to it */
        if (S_ISDIR(st.st_mode))
            rc = walk(sub, key, prefix, out);
        else if (S_ISREG(st.st_mode) && kl >= plen)
            rc = cairn__objstore_list_add(out, key, kl, (uint64_t)st.st_size);
    }
    closedir(d);
    return rc;
}

static int l_list(void *be, const char *prefix, struct cairn_objstore_list *out)
{
    struct local *l = be;
    return walk(l->dir, "", prefix ? prefix : "", out);
}

static void l_destroy(void *be)
{
    struct local *l = be;
    if (l) {
        free(l->dir);
        free(l);
    }
}

static const struct cairn_objstore_ops local_ops = {
    "local", l_put, l_put_if_absent, l_get_range, l_get, l_head, l_del, l_list, l_destroy, NULL,
};

struct cairn_objstore *cairn_objstore_local_create(const char *dir, struct cairn_err *err)
{
    if (!dir || !*dir) {
        cairn_err_set(err, CAIRN_EINVAL, "local object storage: no directory given");
        return NULL;
    }
    if (cairn_fs_mkdir_p(dir)) {
        cairn_err_set(err, CAIRN_EIO, "local object storage: cannot create %s", dir);
        return NULL;
    }
    struct local *l = calloc(1, sizeof *l);
    if (!l || !(l->dir = strdup(dir))) {
        free(l);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    struct cairn_objstore *os = cairn__objstore_wrap(&local_ops, l, dir);
    if (!os)
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return os;
}
