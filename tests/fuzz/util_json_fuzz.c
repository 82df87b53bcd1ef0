/* util_json_fuzz.c -- libFuzzer target: the JSON scanner and unescape on any input
 * never read out of bounds, always terminate, and skip agrees with next. */
#include <stddef.h>
#include <stdint.h>

#include "cairn/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    struct cairn_buf b = CAIRN_BUF_INIT;
    cairn_json_init(&js, (const char *)data, size);
    for (size_t steps = 0; steps <= size + 1; steps++) {
        enum cairn_json_type ty = cairn_json_next(&js, &t);
        if (ty <= 0)
            break;
        if (ty == CAIRN_JSON_KEY || ty == CAIRN_JSON_STRING) {
            cairn_buf_reset(&b);
            (void)cairn_json_unescape(t.p, t.len, &b);
        }
        if ((ty == CAIRN_JSON_ARRAY_START) && (size & 1))
            (void)cairn_json_skip(&js, &t);
    }
    cairn_buf_deinit(&b);
    return 0;
}
