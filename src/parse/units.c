/* units.c -- byte sizes as LogQL's label filters compare them (a double); parsing is
 * util's one size parser (units.h). */
#include "cairn/error.h"
#include "cairn/parse_units.h"

int cairn_parse_bytes(const char *p, size_t len, double *bytes)
{
    uint64_t v;
    int rc = cairn_parse_size(p, len, &v);
    if (rc)
        return CAIRN_EINVAL;
    *bytes = (double)v;
    return 0;
}
