/* rss.c -- bench_rss: run a command, pass signals on to it, and report its peak RSS.
 *
 * The peak resident set of a process is only final once it has exited (a server's
 * flush after SIGTERM can be its largest moment), when /proc/<pid>/status is gone.
 * wait4() returns it then (ru_maxrss, the kernel's high-water mark that /proc shows as
 * VmHWM), so the benchmark starts the server under this wrapper and signals the
 * wrapper. Output, to --out or stderr: `maxrss_kb=N status=S cpu_user_s=U cpu_sys_s=Y`
 * with S the command's exit status, or 128 + the signal that ended it (the wrapper
 * exits with S too), and the CPU time it used. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_rss [--out FILE] [--pid-file FILE] -- COMMAND [ARGS...]\n"
               "Runs COMMAND, forwards SIGTERM, SIGINT and SIGHUP to it, and when it exits\n"
               "writes `maxrss_kb=N status=S cpu_user_s=U cpu_sys_s=Y` to FILE (default\n"
               "stderr) and exits with S.\n");
}

static void on_chld(int sig)
{
    (void)sig; /* only here so SIGCHLD is not discarded; sigwait takes it */
}

int main(int argc, char **argv)
{
    const char *out = NULL, *pid_file = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--pid-file") && i + 1 < argc) {
            pid_file = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_chld};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench_rss: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[i], argv + i);
        fprintf(stderr, "bench_rss: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    if (pid_file) {
        FILE *f = fopen(pid_file, "w");
        if (f) {
            fprintf(f, "%d\n", (int)pid);
            fclose(f);
        }
    }
    int status = 0;
    struct rusage ru;
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGCHLD) {
            kill(pid, sig);
            continue;
        }
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid)
            break;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    FILE *f = out ? fopen(out, "w") : stderr;
    if (!f) {
        fprintf(stderr, "bench_rss: cannot write %s: %s\n", out, strerror(errno));
        f = stderr;
    }
    fprintf(f, "maxrss_kb=%ld status=%d cpu_user_s=%.3f cpu_sys_s=%.3f\n", ru.ru_maxrss, code,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    if (f != stderr)
        fclose(f);
    return code;
}
