/* faultfs.c -- an LD_PRELOAD shim that makes write(2)-family and sync calls fail on
 * demand, so tests can see what a program does when the disk says EIO or ENOSPC.
 *
 * Built as libcairn_faultfs.so. Used as
 *
 *     LD_PRELOAD=build/libcairn_faultfs.so CAIRN_FAULTFS_CTL=/tmp/ctl \
 *     CAIRN_FAULTFS_DIR=/tmp/data cairn serve ...
 *
 * The control file holds lines `call=ERRNO` and optionally `count=N`:
 *
 *     fdatasync=EIO        every fdatasync fails with EIO
 *     write=ENOSPC         every write fails with ENOSPC (a number works too: write=28)
 *     count=3              only the next 3 matching calls fail, then none
 *
 * The calls are write, pwrite, writev, fsync and fdatasync (pwrite64 counts as
 * pwrite). An empty or missing file injects nothing. The file is re-read whenever its
 * identity changes (inode, size or mtime, checked with one stat per wrapped call), so
 * the writer should replace it atomically (write a temporary file, rename it over);
 * each new version restarts `count`. With CAIRN_FAULTFS_DIR set, only descriptors
 * whose path (readlink of /proc/self/fd/N) lies under that directory fail; pipes,
 * sockets and the log on stderr are never touched. Without it every descriptor may.
 *
 * CAIRN_FAULTFS_STATS=/path (optional): after each injected failure the shim rewrites
 * that file with `injected=N` (the total so far), so a test can tell that its faults
 * really happened.
 *
 * The shim is test code, built without sanitizers and kept free of any cairn library
 * so it loads into anything. State is process-wide by necessity (an interposer has no
 * context to carry it), behind one mutex. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum op { OP_WRITE, OP_PWRITE, OP_WRITEV, OP_FSYNC, OP_FDATASYNC, OP_N };
static const char *const op_names[OP_N] = {"write", "pwrite", "writev", "fsync", "fdatasync"};

#define FD_CACHE 4096 /* descriptors above this are looked up on every faulted call */

struct fd_slot {
    dev_t dev;
    ino_t ino;
    int known; /* dev/ino/under are valid for the file that had this number */
    int under; /* its path lies under CAIRN_FAULTFS_DIR */
};

static struct {
    pthread_mutex_t mu;
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*pwrite64)(int, const void *, size_t, off_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    int (*fsync)(int);
    int (*fdatasync)(int);
    const char *ctl, *dir, *stats;
    size_t dir_len;
    /* identity of the control file version last read */
    int have_ctl;
    dev_t ctl_dev;
    ino_t ctl_ino;
    off_t ctl_size;
    struct timespec ctl_mtime;
    int err[OP_N]; /* errno to inject per call, 0 for none */
    long remaining;  /* calls left to fail; -1 for unlimited */
    long injected;
    struct fd_slot fds[FD_CACHE];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .remaining = -1};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    S.write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    S.pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    S.pwrite64 = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
    S.writev = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    S.fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    S.fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    S.ctl = getenv("CAIRN_FAULTFS_CTL");
    S.dir = getenv("CAIRN_FAULTFS_DIR");
    S.stats = getenv("CAIRN_FAULTFS_STATS");
    if (S.dir && !*S.dir)
        S.dir = NULL;
    if (S.dir) {
        S.dir_len = strlen(S.dir);
        while (S.dir_len > 1 && S.dir[S.dir_len - 1] == '/')
            S.dir_len--;
    }
}

static int errno_by_name(const char *s)
{
    static const struct { const char *name; int val; } names[] = {
        {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS},
        {"EFBIG", EFBIG}, {"EINTR", EINTR}, {"EAGAIN", EAGAIN}, {"EBADF", EBADF},
        {"EPERM", EPERM}, {"EACCES", EACCES}, {"ENOMEM", ENOMEM},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].val;
    char *end;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v > 0 && v < 4096) ? (int)v : 0;
}

/* Re-read the control file if it changed; called with S.mu held. */
static void ctl_refresh(void)
{
    struct stat st;
    if (!S.ctl || stat(S.ctl, &st) < 0) {
        if (S.have_ctl) {
            memset(S.err, 0, sizeof S.err);
            S.have_ctl = 0;
        }
        return;
    }
    if (S.have_ctl && st.st_dev == S.ctl_dev && st.st_ino == S.ctl_ino &&
        st.st_size == S.ctl_size && st.st_mtim.tv_sec == S.ctl_mtime.tv_sec &&
        st.st_mtim.tv_nsec == S.ctl_mtime.tv_nsec)
        return;
    S.have_ctl = 1;
    S.ctl_dev = st.st_dev;
    S.ctl_ino = st.st_ino;
    S.ctl_size = st.st_size;
    S.ctl_mtime = st.st_mtim;
    memset(S.err, 0, sizeof S.err);
    S.remaining = -1;

    char buf[4096];
    int fd = open(S.ctl, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        char *eq = strchr(line, '=');
        if (*line == '#' || !eq)
            continue;
        *eq = '\0';
        char *val = eq + 1;
        size_t vl = strlen(val);
        while (vl && (val[vl - 1] == ' ' || val[vl - 1] == '\r' || val[vl - 1] == '\t'))
            val[--vl] = '\0';
        if (strcmp(line, "count") == 0) {
            S.remaining = strtol(val, NULL, 10);
            continue;
        }
        for (int i = 0; i < OP_N; i++)
            if (strcmp(line, op_names[i]) == 0)
                S.err[i] = errno_by_name(val);
    }
}

/* Is fd's file under S.dir? Called with S.mu held. */
static int fd_under(int fd)
{
    if (!S.dir)
        return 1;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 0;
    struct fd_slot *slot = fd >= 0 && fd < FD_CACHE ? &S.fds[fd] : NULL;
    if (slot && slot->known && slot->dev == st.st_dev && slot->ino == st.st_ino)
        return slot->under;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    int under = 0;
    if (n > 0) {
        path[n] = '\0';
        under = (size_t)n >= S.dir_len && memcmp(path, S.dir, S.dir_len) == 0 &&
                (path[S.dir_len] == '/' || path[S.dir_len] == '\0');
    }
    if (slot) {
        slot->dev = st.st_dev;
        slot->ino = st.st_ino;
        slot->known = 1;
        slot->under = under;
    }
    return under;
}

static void stats_write(long injected)
{
    if (!S.stats)
        return;
    char tmp[PATH_MAX], line[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", S.stats);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    int n = snprintf(line, sizeof line, "injected=%ld\n", injected);
    ssize_t w = S.write(fd, line, (size_t)n);
    close(fd);
    if (w == n)
        rename(tmp, S.stats);
}

/* Set while a thread is inside should_fail: a signal handler that writes meanwhile
 * passes through instead of taking the mutex its own thread holds. */
static __thread int in_shim;

/* The errno this call must fail with, or 0 to let it through. */
static int should_fail(enum op op, int fd)
{
    pthread_once(&init_once, init);
    if (!S.ctl || in_shim)
        return 0;
    in_shim = 1;
    pthread_mutex_lock(&S.mu);
    ctl_refresh();
    int e = S.err[op];
    if (e && S.remaining == 0)
        e = 0;
    if (e && !fd_under(fd))
        e = 0;
    long injected = S.injected;
    if (e) {
        if (S.remaining > 0)
            S.remaining--;
        injected = ++S.injected;
    }
    pthread_mutex_unlock(&S.mu);
    if (e)
        stats_write(injected);
    in_shim = 0;
    return e;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    int e = should_fail(OP_WRITE, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return S.write(fd, buf, n);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int e = should_fail(OP_PWRITE, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return S.pwrite(fd, buf, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    int e = should_fail(OP_PWRITE, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return (S.pwrite64 ? S.pwrite64 : S.pwrite)(fd, buf, n, off);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    int e = should_fail(OP_WRITEV, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return S.writev(fd, iov, cnt);
}

EXPORT int fsync(int fd)
{
    int e = should_fail(OP_FSYNC, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return S.fsync(fd);
}

EXPORT int fdatasync(int fd)
{
    int e = should_fail(OP_FDATASYNC, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return S.fdatasync(fd);
}
