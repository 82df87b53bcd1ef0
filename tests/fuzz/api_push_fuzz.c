/* api_push_fuzz.c -- the push body decoders on arbitrary input: the first byte picks
 * JSON, protobuf (raw) or snappy+protobuf; then per-entry validation runs over what
 * was decoded. Nothing may crash, leak or read out of bounds, and every decoded line
 * must lie inside memory the batch owns or the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/push.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cairn__ingest_batch b; /* reused like a connection's batch */
    static int ready;
    if (!ready) {
        cairn__ingest_batch_init(&b);
        ready = 1;
    }
    if (size < 1)
        return 0;
    struct cairn_api_config cfg;
    cairn_api_config_default(&cfg);
    struct cairn_err err;
    cairn__ingest_batch_reset(&b);
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (cairn_buf_append(&b.body, p, n))
        return 0;
    switch (data[0] % 3) {
    case 0:
        cairn__ingest_decode_json(&b, b.body.data ? b.body.data : "", b.body.len, &cfg.limits, &err);
        break;
    case 1:
        cairn__ingest_decode_pb(&b, b.body.data ? b.body.data : "", b.body.len, &cfg.limits, &err);
        break;
    default:
        if (cairn__unsnappy(p, n, 1u << 24, &b.dec, &err) == 0)
            cairn__ingest_decode_pb(&b, b.dec.data ? b.dec.data : "", b.dec.len, &cfg.limits,
                                  &err);
        break;
    }
    size_t bytes;
    cairn__ingest_validate(&b, &cfg.limits, 1700000000000000000LL, &bytes);
    unsigned sum = 0;
    for (size_t i = 0; i < b.ne; i++)
        for (size_t k = 0; k < b.e[i].len; k++)
            sum += (unsigned char)b.e[i].line[k]; /* ASan checks every line's bounds */
    return sum == 0xFFFFFFFFu; /* keeps the loop; libFuzzer wants 0, this never holds */
}
