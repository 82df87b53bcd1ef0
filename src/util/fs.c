/* fs.c -- small file-system helpers shared by the store and the object storage:
 * read a whole file, make and remove directory trees, sync a directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/fs.h"
#include "cairn/log.h"

int cairn_fs_read_file(const char *path, struct cairn_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? CAIRN_ENOTFOUND : CAIRN_EIO;
    struct stat st;
    if (fstat(fd, &st) < 0 || cairn_buf_reserve(out, (size_t)st.st_size)) {
        close(fd);
        return CAIRN_EIO;
    }
    size_t got = 0, want = (size_t)st.st_size;
    while (got < want) {
        ssize_t r = read(fd, out->data + out->len + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    out->len += got;
    out->data[out->len] = '\0';
    return 0;
}

int cairn_fs_mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return CAIRN_EINVAL;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
                CAIRN_ERROR("fs", "mkdir failed", "dir=\"%s\" errno=%d", tmp, errno);
                return CAIRN_EIO;
            }
            tmp[i] = c;
        }
    }
    return 0;
}

int cairn_fs_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return CAIRN_EIO;
    int rc = fsync(fd) < 0 ? CAIRN_EIO : 0;
    close(fd);
    return rc;
}

int cairn_fs_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return unlink(path) == 0 || errno == ENOENT ? 0 : CAIRN_EIO;
    struct dirent *de;
    int rc = 0;
    char sub[4096];
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            rc |= cairn_fs_rm_rf(sub);
        else if (unlink(sub) < 0)
            rc = CAIRN_EIO;
    }
    closedir(d);
    if (rmdir(path) < 0)
        rc = CAIRN_EIO;
    return rc ? CAIRN_EIO : 0;
}
