/* parse_units.h -- durations and byte sizes as LogQL, templates and the agent read
 * them. Pure functions over (p, len); nothing is owned. */
#ifndef CAIRN_PARSE_UNITS_H
#define CAIRN_PARSE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/units.h" /* cairn_parse_duration */

/* A humanized byte size ("20MB", "1KiB", "42", "5 kb") in bytes (go-humanize's
 * ParseBytes units: SI k/M/G... and IEC Ki/Mi/Gi...). */
int cairn_parse_bytes(const char *p, size_t len, double *bytes);

#endif
