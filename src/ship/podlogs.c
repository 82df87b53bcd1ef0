/* podlogs.c -- the kubelet's pod log layout: labels from
 * /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log. */
#include <string.h>

#include "cairn/ship.h"

int cairn_ship_pod_labels(const char *path, struct cairn_labels *out)
{
    /* .../<ns>_<pod>_<uid>/<container>/<n>.log */
    const char *end = path + strlen(path);
    const char *s3 = end;
    while (s3 > path && s3[-1] != '/')
        s3--;
    if (s3 == path)
        return CAIRN_EINVAL;
    const char *c_end = s3 - 1, *c = c_end;
    while (c > path && c[-1] != '/')
        c--;
    if (c == path || c == c_end)
        return CAIRN_EINVAL;
    const char *d_end = c - 1, *d = d_end;
    while (d > path && d[-1] != '/')
        d--;
    const char *u1 = memchr(d, '_', (size_t)(d_end - d));
    if (!u1)
        return CAIRN_EINVAL;
    const char *u2 = memchr(u1 + 1, '_', (size_t)(d_end - u1 - 1));
    if (!u2 || u1 == d || u2 == u1 + 1 || u2 + 1 == d_end)
        return CAIRN_EINVAL;
    cairn_labels_reset(out);
    int rc = cairn_labels_add(out, "namespace", 9, d, (size_t)(u1 - d));
    rc |= cairn_labels_add(out, "pod", 3, u1 + 1, (size_t)(u2 - u1 - 1));
    rc |= cairn_labels_add(out, "container", 9, c, (size_t)(c_end - c));
    if (rc)
        return CAIRN_ENOMEM;
    return cairn_labels_sort(out, NULL);
}
