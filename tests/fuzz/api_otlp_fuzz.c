/* api_otlp_fuzz.c -- the OTLP logs decoders on arbitrary input: the first byte picks
 * protobuf (even) or JSON (odd), and with its bit 1 set a small otlp_config (a name
 * rule and a regex rule) applies. Nothing may crash, leak or read out of bounds; every
 * decoded entry's structured metadata must be a well-formed smeta blob inside the
 * batch, every line must lie in memory the batch owns or the input (ASan checks each
 * byte), and validation runs over what was decoded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/otlp.h"
#include "cairn/ingest.h"
#include "cairn/smeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cairn_ingest_batch b; /* reused like a connection's batch */
    static struct cairn_ingest_otlp_rules *rules;
    static int ready;
    if (!ready) {
        cairn_ingest_batch_init(&b);
        static const char *const names[] = {"host.name"};
        static const struct cairn_otlp_rule res[] = {
            {CAIRN_OTLP_INDEX_LABEL, names, 1, NULL},
            {CAIRN_OTLP_DROP, NULL, 0, "k8s\\..*"},
        };
        static const struct cairn_otlp_config cfg = {0, res, NULL, NULL, 2, 0, 0};
        struct cairn_err err;
        if (cairn_ingest_otlp_rules_create(&cfg, &rules, &err))
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    struct cairn_ingest_limits lim;
    cairn_ingest_limits_default(&lim);
    struct cairn_err err;
    cairn_ingest_batch_reset(&b);
    if (cairn_buf_append(&b.body, data + 1, size - 1))
        return 0;
    const char *body = b.body.data ? b.body.data : "";
    struct cairn_ingest_otlp_rules *r = data[0] & 2 ? rules : NULL;
    int rc = data[0] & 1 ? cairn_ingest_decode_otlp_json(&b, body, b.body.len, &lim, r, &err)
                         : cairn_ingest_decode_otlp_pb(&b, body, b.body.len, &lim, r, &err);
    if (rc)
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < b.ne; i++) {
        size_t count, bytes;
        if (b.esm[i].off + b.esm[i].len > b.smb.len ||
            cairn_smeta_stats(b.smb.data + b.esm[i].off, b.esm[i].len, &count, &bytes))
            abort();
        if (b.e[i].len && !b.e[i].line)
            abort();
        for (size_t k = 0; k < b.e[i].len; k++)
            sum += (unsigned char)b.e[i].line[k];
    }
    size_t bytes;
    cairn_ingest_validate(&b, &lim, 1700000000000000000LL, &bytes);
    if (cairn_ingest_sm_refs(&b))
        return 0;
    return sum == 0xFFFFFFFFu; /* keeps the loop; libFuzzer wants 0, this never holds */
}
