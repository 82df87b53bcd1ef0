/* faultfs_tool.c -- the test driver for the faultfs shim: reads one command per line
 * on stdin, makes that call and prints one line with its result, so a test can change
 * the shim's control file between calls.
 *
 *   open PATH    open (create, truncate) PATH for writing; prints `open ok`
 *   write | pwrite | writev | fsync | fdatasync
 *                that call on the open file; prints `<call> ok` or `<call> <errno>`
 *   stderr       a write(2) to stderr; prints its result the same way
 *
 * Writes are of 4 bytes; the tool exits at end of input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void report(const char *call, long rc)
{
    if (rc < 0)
        printf("%s %d\n", call, errno);
    else
        printf("%s ok\n", call);
    fflush(stdout);
}

int main(void)
{
    char line[4096];
    int fd = -1;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "open ", 5) == 0) {
            if (fd >= 0)
                close(fd);
            fd = open(line + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            report("open", fd);
        } else if (strcmp(line, "write") == 0) {
            report(line, write(fd, "abcd", 4));
        } else if (strcmp(line, "pwrite") == 0) {
            report(line, pwrite(fd, "abcd", 4, 0));
        } else if (strcmp(line, "writev") == 0) {
            struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
            report(line, writev(fd, iov, 2));
        } else if (strcmp(line, "fsync") == 0) {
            report(line, fsync(fd));
        } else if (strcmp(line, "fdatasync") == 0) {
            report(line, fdatasync(fd));
        } else if (strcmp(line, "stderr") == 0) {
            report(line, write(STDERR_FILENO, "x\n", 2));
        } else {
            printf("unknown %s\n", line);
            fflush(stdout);
        }
    }
    if (fd >= 0)
        close(fd);
    return 0;
}
