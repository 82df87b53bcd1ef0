/* labels_parse_fuzz.c -- libFuzzer target: label parsing never misbehaves, and a set
 * that parses prints to a form that parses back to the same fingerprint. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cairn/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cairn_labels a, b;
    struct cairn_err err;
    struct cairn_buf out = CAIRN_BUF_INIT;
    cairn_labels_init(&a);
    cairn_labels_init(&b);
    if (cairn_labels_parse(&a, (const char *)data, size, &err) == 0) {
        if (cairn_labels_format(&a, &out) == 0) {
            if (cairn_labels_parse(&b, out.data, out.len, &err) != 0)
                abort();
            if (cairn_labels_fingerprint(&a) != cairn_labels_fingerprint(&b))
                abort();
        }
    }
    cairn_buf_deinit(&out);
    cairn_labels_deinit(&a);
    cairn_labels_deinit(&b);
    return 0;
}
