/* timeutil.h -- clocks and the time formats of Loki's API (unix ns, RFC3339). */
#ifndef CAIRN_TIMEUTIL_H
#define CAIRN_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock in unix nanoseconds. */
int64_t cairn_now_ns(void);
/* Monotonic clock in nanoseconds (for durations and rates). */
int64_t cairn_mono_ns(void);
/* Parse a decimal int64 of exactly len bytes (optional leading '-'); 0 or CAIRN_EINVAL. */
int cairn_parse_i64(const char *p, size_t len, int64_t *out);
/* Format ns as RFC3339 with nanoseconds in UTC ("2006-01-02T15:04:05.999999999Z",
 * trailing zeros trimmed as Go does) into out (at least 40 bytes); returns length. */
size_t cairn_format_rfc3339(int64_t ns, char *out, size_t cap);

#endif
