/* log.h -- structured logs: one logfmt line per event on stderr, level-checked.
 *
 *   CAIRN_INFO("wal", "replay done", "records=%zu bytes=%zu", n, bytes);
 * writes
 *   ts=2026-11-25T19:30:00.123Z level=info component=wal msg="replay done" records=3 bytes=9
 * The third argument is a printf format for extra key=value pairs ("" for none);
 * values with spaces should be quoted by the caller (%s inside "..." ) or passed
 * through cairn_log_quote. The level is a process-wide setting made once by main
 * before any thread starts (the one piece of global state outside main). */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

enum cairn_log_level {
    CAIRN_LOG_DEBUG = 0,
    CAIRN_LOG_INFO = 1,
    CAIRN_LOG_WARN = 2,
    CAIRN_LOG_ERROR = 3,
};

/* Parse "debug", "info", "warn", "error"; returns 0 or CAIRN_EINVAL. */
int cairn_log_parse_level(const char *s, enum cairn_log_level *out);
void cairn_log_set_level(enum cairn_log_level level);
enum cairn_log_level cairn_log_get_level(void);
int cairn_log_enabled(enum cairn_log_level level);
void cairn_log_write(enum cairn_log_level level, const char *component, const char *msg,
                     const char *kvfmt, ...) __attribute__((format(printf, 4, 5)));

#define CAIRN_LOG(level, comp, msg, ...)                                   \
    do {                                                                   \
        if (cairn_log_enabled(level))                                      \
            cairn_log_write(level, comp, msg, __VA_ARGS__);                \
    } while (0)
#define CAIRN_DEBUG(comp, msg, ...) CAIRN_LOG(CAIRN_LOG_DEBUG, comp, msg, __VA_ARGS__)
#define CAIRN_INFO(comp, msg, ...) CAIRN_LOG(CAIRN_LOG_INFO, comp, msg, __VA_ARGS__)
#define CAIRN_WARN(comp, msg, ...) CAIRN_LOG(CAIRN_LOG_WARN, comp, msg, __VA_ARGS__)
#define CAIRN_ERROR(comp, msg, ...) CAIRN_LOG(CAIRN_LOG_ERROR, comp, msg, __VA_ARGS__)

#endif
