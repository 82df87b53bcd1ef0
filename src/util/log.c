/* log.c -- logfmt lines on stderr, one write(2) each so threads never interleave. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn/error.h"
#include "cairn/log.h"

/* Process-wide level, set once by main before threads start (see log.h). */
static atomic_int log_level = CAIRN_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int cairn_log_parse_level(const char *s, enum cairn_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum cairn_log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = CAIRN_LOG_WARN;
        return 0;
    }
    return CAIRN_EINVAL;
}

void cairn_log_set_level(enum cairn_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum cairn_log_level cairn_log_get_level(void)
{
    return (enum cairn_log_level)atomic_load(&log_level);
}

int cairn_log_enabled(enum cairn_log_level level)
{
    return (int)level >= atomic_load_explicit(&log_level, memory_order_relaxed);
}

void cairn_log_write(enum cairn_log_level level, const char *component, const char *msg,
                     const char *kvfmt, ...)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    int k = snprintf(line + n, sizeof line - n, ".%03ldZ level=%s component=%s msg=\"",
                     ts.tv_nsec / 1000000, level_names[level & 3], component);
    n += (size_t)k;
    for (const char *m = msg; *m && n < sizeof line - 8; m++) {
        if (*m == '"' || *m == '\\')
            line[n++] = '\\';
        line[n++] = *m == '\n' ? ' ' : *m;
    }
    line[n++] = '"';
    if (kvfmt[0]) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, kvfmt);
        k = vsnprintf(line + n, sizeof line - n - 1, kvfmt, ap);
        va_end(ap);
        if (k > 0)
            n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
