/* smeta.c -- the structured metadata blob (smeta.h): append, read, count, and the
 * label-name translation OTLP attributes go through. */
#include <stdint.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/smeta.h"

const char *const cairn_otlp_index_attrs[CAIRN_OTLP_N_INDEX_ATTRS] = {
    "service.name", "service.namespace", "service.instance.id", "deployment.environment",
    "cloud.region", "cloud.availability_zone", "k8s.cluster.name", "k8s.namespace.name",
    "k8s.pod.name", "k8s.container.name", "container.name", "k8s.replicaset.name",
    "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name",
    "k8s.job.name",
};

int cairn_otlp_is_index_attr(const char *k, size_t kl)
{
    for (size_t i = 0; i < CAIRN_OTLP_N_INDEX_ATTRS; i++)
        if (strlen(cairn_otlp_index_attrs[i]) == kl && memcmp(cairn_otlp_index_attrs[i], k, kl) == 0)
            return 1;
    return 0;
}

int cairn_smeta_append(struct cairn_buf *out, const char *name, size_t nlen, const char *value,
                       size_t vlen)
{
    size_t keep = out->len;
    if (cairn_buf_reserve(out, nlen + vlen + 20) || cairn_buf_append_uvarint(out, nlen) ||
        cairn_buf_append(out, name, nlen) || cairn_buf_append_uvarint(out, vlen) ||
        cairn_buf_append(out, value, vlen)) {
        cairn_buf_truncate(out, keep);
        return CAIRN_ENOMEM;
    }
    return 0;
}

void cairn_smeta_iter_init(struct cairn_smeta_iter *it, const char *blob, size_t len)
{
    it->p = (const unsigned char *)(blob ? blob : "");
    it->end = it->p + (blob ? len : 0);
}

/* One length-prefixed string: 0 or CAIRN_ECORRUPT. */
static int str(struct cairn_smeta_iter *it, const char **s, size_t *n)
{
    uint64_t v;
    size_t k = cairn_get_uvarint(it->p, (size_t)(it->end - it->p), &v);
    if (!k || v > (uint64_t)(it->end - it->p - k))
        return CAIRN_ECORRUPT;
    *s = (const char *)it->p + k;
    *n = (size_t)v;
    it->p += k + v;
    return 0;
}

int cairn_smeta_next(struct cairn_smeta_iter *it, const char **name, size_t *nlen,
                     const char **value, size_t *vlen)
{
    if (it->p >= it->end)
        return 0;
    if (str(it, name, nlen) || str(it, value, vlen))
        return CAIRN_ECORRUPT;
    return 1;
}

int cairn_smeta_stats(const char *blob, size_t len, size_t *count, size_t *bytes)
{
    struct cairn_smeta_iter it;
    const char *n, *v;
    size_t nl, vl;
    int rc;
    *count = *bytes = 0;
    cairn_smeta_iter_init(&it, blob, len);
    while ((rc = cairn_smeta_next(&it, &n, &nl, &v, &vl)) == 1) {
        (*count)++;
        *bytes += nl + vl;
    }
    return rc;
}

int cairn_smeta_label_name(struct cairn_buf *out, const char *name, size_t len)
{
    size_t keep = out->len;
    if (len && name[0] >= '0' && name[0] <= '9' && cairn_buf_append_str(out, "key_"))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_';
        if (cairn_buf_append_byte(out, ok ? c : '_')) {
            cairn_buf_truncate(out, keep);
            return CAIRN_ENOMEM;
        }
    }
    return 0;
}
