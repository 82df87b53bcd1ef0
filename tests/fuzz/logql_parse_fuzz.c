/* logql_parse_fuzz.c -- libFuzzer target: parse any bytes as LogQL; for what parses,
 * print it back and run its pipeline (if it has one) over a few fixed entries. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn/logql.h"
#include "cairn/logql_pipeline.h"

static const char *lines[] = {
    "level=error msg=\"disk full\" duration=25ms size=20KB addr=10.0.0.1",
    "{\"level\":\"info\",\"request\":{\"method\":\"GET\",\"status\":200},\"list\":[1,2]}",
    "GET /index.html 200 \x1b[31mred\x1b[0m",
    "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cairn_logql_query *q = NULL;
    struct cairn_err err;
    if (cairn_logql_parse((const char *)data, size, &q, &err))
        return 0;
    struct cairn_buf b = CAIRN_BUF_INIT;
    const struct cairn_lq_expr *root = cairn_logql_root(q);
    cairn_logql_format(root, &b);
    cairn_buf_deinit(&b);
    if (root->kind == CAIRN_LQ_LOG || root->kind == CAIRN_LQ_RANGE_AGG) {
        struct cairn_logql_pipeline *p = cairn_logql_pipeline_create(root, &err);
        if (p) {
            struct cairn_labels stream, out;
            cairn_labels_init(&stream);
            cairn_labels_init(&out);
            cairn_labels_parse(&stream, "{app=\"x\", level=\"l\"}", 21, &err);
            for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
                if (cairn_logql_pipeline_process(p, 1700000000000000000LL, &stream, lines[i],
                                                 strlen(lines[i])) == 1) {
                    double v;
                    cairn_logql_pipeline_labels(p, &out);
                    cairn_logql_pipeline_labels_hash(p);
                    cairn_logql_pipeline_unwrap(p, &v);
                }
            }
            cairn_labels_deinit(&stream);
            cairn_labels_deinit(&out);
            cairn_logql_pipeline_destroy(p);
        }
    }
    cairn_logql_query_destroy(q);
    return 0;
}
