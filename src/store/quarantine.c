/* quarantine.c -- where damaged files go: DATA_DIR/quarantine/, never deleted, never
 * truncated away; the rewrite of a damaged file without its bad records; the data
 * directory's lock file.
 *
 * A quarantined file is named after its path under the data directory with '/'
 * turned into '~' (tenants~fake~1767225600000000000~seg-000000.cseg), then a dot and
 * the unix time and a counter, so two files of the same name never collide. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/log.h"
#include "store/store_int.h"

/* A free quarantine path for path (which is inside data_dir or not). */
static int qpath(const char *data_dir, const char *path, const char *what, char *out,
                 size_t cap)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/quarantine", data_dir);
    if (cairn__mkdir_p(dir))
        return CAIRN_EIO;
    size_t dl = strlen(data_dir);
    const char *rel = strncmp(path, data_dir, dl) == 0 && path[dl] == '/' ? path + dl + 1 : path;
    char name[1024];
    size_t k = 0;
    for (const char *c = rel; *c && k + 1 < sizeof name; c++)
        name[k++] = *c == '/' ? '~' : *c;
    name[k] = '\0';
    long long now = (long long)time(NULL);
    struct stat st;
    for (int i = 0; i < 1000; i++) {
        snprintf(out, cap, "%s/%s%s%s.%lld.%d", dir, name, what ? "." : "", what ? what : "",
                 now, i);
        if (lstat(out, &st) < 0 && errno == ENOENT)
            return 0;
    }
    return CAIRN_EEXIST;
}

int cairn__quarantine_move(const char *data_dir, const char *path, struct cairn__damage *dmg)
{
    char to[8192];
    int rc = qpath(data_dir, path, NULL, to, sizeof to);
    if (!rc && rename(path, to) < 0) {
        CAIRN_ERROR("store", "cannot move a damaged file into the quarantine",
                    "file=\"%s\" to=\"%s\" errno=%d", path, to, errno);
        rc = CAIRN_EIO;
    }
    if (rc)
        return rc;
    char d[4096];
    snprintf(d, sizeof d, "%s/quarantine", data_dir);
    cairn__fsync_dir(d);
    if (dmg)
        atomic_fetch_add(&dmg->files_quarantined, 1);
    CAIRN_WARN("store", "damaged file quarantined", "file=\"%s\" to=\"%s\"", path, to);
    return 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_ERROR("store", "open failed", "file=\"%s\" errno=%d", path, errno);
        return CAIRN_EIO;
    }
    int rc = cairn__write_all(fd, p, n, path);
    if (!rc && fsync(fd) < 0)
        rc = CAIRN_EIO;
    close(fd);
    return rc;
}

int cairn__quarantine_save(const char *data_dir, const char *path, const char *what,
                           const void *p, size_t n)
{
    char to[8192];
    int rc = qpath(data_dir, path, what, to, sizeof to);
    if (!rc)
        rc = write_file(to, p, n);
    if (!rc)
        CAIRN_WARN("store", "damaged bytes kept in the quarantine", "file=\"%s\" bytes=%zu to=\"%s\"",
                   path, n, to);
    return rc;
}

int cairn__file_rewrite(const char *path, const unsigned char *hdr, const unsigned char *p,
                        size_t len, size_t off, cairn__rec_plausible_fn plausible)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.rewrite", path);
    unlink(tmp); /* a leftover of an interrupted rewrite */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_ERROR("store", "open failed", "file=\"%s\" errno=%d", tmp, errno);
        return CAIRN_EIO;
    }
    int rc = cairn__write_all(fd, hdr, CAIRN__FILE_HDR, tmp);
    struct cairn__recscan sc;
    cairn__recscan_init(&sc, p, len, off, plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t pn;
    size_t ro;
    while (!rc && cairn__recscan_next(&sc, &type, &pl, &pn, &ro) == 1)
        rc = cairn__write_all(fd, p + ro, CAIRN__REC_HDR + (size_t)pn, tmp);
    if (!rc && fsync(fd) < 0)
        rc = CAIRN_EIO;
    close(fd);
    if (!rc && rename(tmp, path) < 0) {
        CAIRN_ERROR("store", "rename failed", "file=\"%s\" errno=%d", path, errno);
        rc = CAIRN_EIO;
    }
    if (rc) {
        unlink(tmp);
        return rc;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        cairn__fsync_dir(dir);
    }
    return 0;
}

int cairn__dir_lock(const char *data_dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/cairn.lock", data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_ERROR("store", "cannot open the lock file", "file=\"%s\" errno=%d", path, errno);
        return CAIRN_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK ? CAIRN_EAGAIN : CAIRN_EIO;
    }
    return fd;
}
