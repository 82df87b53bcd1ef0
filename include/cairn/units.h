/* units.h -- durations and byte sizes as Loki, Prometheus and Promtail write them:
 * "250ms", "1h30m", "7d", "1w"; "512KB" (1000s), "64MiB" (1024s), "1.5GB". Pure
 * functions over (p, len) that parse exactly len bytes; nothing is owned. */
#ifndef CAIRN_UNITS_H
#define CAIRN_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"

/* 0, CAIRN_EINVAL (not a duration / size), or CAIRN_ERANGE (overflow). A duration
 * may be negative ("-3s"); "0" alone needs no unit. */
int cairn_parse_duration(const char *s, size_t len, int64_t *ns);
int cairn_parse_size(const char *s, size_t len, uint64_t *bytes);
/* Format for dumps and help: "1h30m", "250ms", "0s"; "64MiB", "1500". */
int cairn_format_duration(int64_t ns, struct cairn_buf *out);
int cairn_format_size(uint64_t bytes, struct cairn_buf *out);

#endif
