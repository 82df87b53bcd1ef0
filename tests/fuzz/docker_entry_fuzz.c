/* docker_entry_fuzz.c -- libFuzzer target: LogEntry decoding of any bytes never reads
 * out of bounds; what decodes re-encodes and decodes to the same entry; the local
 * copy's json-file line parser takes any line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/docker.h"
#include "docker/docker_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cairn_docker_entry e, e2;
    if (cairn_docker_entry_decode(data, size, &e) == 0) {
        struct cairn_buf b = CAIRN_BUF_INIT;
        if (cairn_docker_entry_encode(&e, &b) == 0) {
            if (cairn_docker_entry_decode((const unsigned char *)b.data + 4, b.len - 4, &e2))
                abort();
            if (e2.time_nano != e.time_nano || e2.line_len != e.line_len ||
                memcmp(e2.line, e.line, e.line_len) || e2.partial != e.partial ||
                e2.source_len != e.source_len || e2.meta_ordinal != e.meta_ordinal ||
                e2.meta_last != e.meta_last || e2.meta_id_len != e.meta_id_len)
                abort();
        }
        cairn_buf_deinit(&b);
    }
    struct cairn_buf sc = CAIRN_BUF_INIT;
    (void)cairn__docker_local_parse((const char *)data, size, &sc, &e);
    cairn_buf_deinit(&sc);
    return 0;
}
