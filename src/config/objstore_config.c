/* objstore_config.c -- the object storage keys of `cairn serve`, as Loki names them:
 * storage_config.aws and common.storage.s3 (the same settings), storage_config.cache
 * for the block cache. */
#include <stddef.h>
#include <stdint.h>

#include "cairn/config_serve.h"
#include "cairn/limits.h"
#include "config/config_int.h"

#define SEC 1000000000LL
/* A Loki key that means nothing for cairn: accepted, and named in a warning. */
#define IGNORED(k, T, why)                                                                 \
    {.key = (k), .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_IGNORED, CAIRN_CFG_AT(T, ignored), \
     .help = (why)}
#define S struct cairn_serve_s3
static const struct cairn_cfg_entry http_entries[] = {
    {.key = "insecure_skip_verify", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(S, http_config.insecure_skip_verify), .idef = 0,
     .help = "do not check the object store's TLS certificate"},
    IGNORED("idle_conn_timeout", S, "connections are reused from a small pool; see timeout"),
    IGNORED("response_header_timeout", S, "one deadline covers the whole request: timeout"),
    IGNORED("ca_file", S, "not supported yet: the system's CA certificates are used"),
};
static const struct cairn_cfg_table http_table =
    CAIRN_CFG_TABLE("http_config", http_entries, S);

static const struct cairn_cfg_entry s3_entries[] = {
    {.key = "endpoint", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, endpoint),

     .help = "S3 endpoint (http://host:port or host); setting it turns object storage on"},
    {.key = "bucketnames", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, bucketnames),
 .help = "the bucket (one name)"},
    {.key = "region", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, region), .def = "us-east-1",
 .help = "region for SigV4"},
    {.key = "access_key_id", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, access_key_id),
 .help = "access key (default: $AWS_ACCESS_KEY_ID)"},
    {.key = "secret_access_key", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(S, secret_access_key),
     .help = "secret key (default: $AWS_SECRET_ACCESS_KEY)"},
    {.key = "secret_access_key_file", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(S, secret_access_key_file), .help = "file holding the secret key"},
    {.key = "s3forcepathstyle", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(S, s3forcepathstyle),
     .idef = 0,
     .help = "endpoint/bucket/key rather than bucket.endpoint/key"},
    {.key = "insecure", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(S, insecure), .idef = 0,
 .help = "plain http when the endpoint names no scheme"},
    {.key = "http_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(S),
     .sub = &http_table, .help = "TLS settings"},
    {.key = "timeout", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(S, timeout_ns),
     .idef = CAIRN_OBJSTORE_TIMEOUT_MS * 1000000LL, .min = 100000000LL, .max = 3600 * SEC,
     .help = "every request ends by this (a stuck store fails rather than hangs)"},
    {.key = "max_retries", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(S, max_retries),
     .idef = CAIRN_OBJSTORE_MAX_RETRIES, .min = 0, .max = 20,
     .help = "retries after network errors and 5xx, with backoff"},
    IGNORED("sse", S, "server-side encryption: set the bucket's default encryption"),
    IGNORED("storage_class", S, "objects get the bucket's default storage class"),
    IGNORED("signature_version", S, "requests are always signed with SigV4"),
    IGNORED("s3", S, "the s3:// URL form is not read: give endpoint, bucketnames, region and keys"),
    IGNORED("backoff_config", S, "retries are max_retries with cairn's own doubling backoff"),
    IGNORED("dynamodb", S, "there is no DynamoDB index: each period's index is an object"),
};
#undef S
static const struct cairn_cfg_table s3_table =
    CAIRN_CFG_TABLE("s3", s3_entries, struct cairn_serve_s3);

#define O struct cairn_serve_objstore
static const struct cairn_cfg_entry cache_entries[] = {
    {.key = "dir", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(O, cache.dir),
     .help = "block cache directory (default DATA_DIR/cache; emptied at start)"},
    {.key = "max_size", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(O, cache.max_size),
     .idef = CAIRN_OBJSTORE_CACHE_SIZE, .min = 1 << 20, .max = INT64_MAX,
     .help = "bytes the block cache may hold; least recently used out first"},
};
static const struct cairn_cfg_table cache_table =
    CAIRN_CFG_TABLE("cache", cache_entries, O);

static const struct cairn_cfg_entry storage_config_entries[] = {
    {.key = "aws", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(O, s3), .sub = &s3_table,
     .help = "S3-compatible object storage"},
    {.key = "cache", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(O),
     .sub = &cache_table, .help = "the block cache"},
    IGNORED("boltdb_shipper", O, "cairn keeps its own index per period, uploaded beside its segments"),
    IGNORED("tsdb_shipper", O, "cairn keeps its own index per period, uploaded beside its segments"),
    IGNORED("filesystem", O, "local storage is the data directory (storage.data_dir)"),
    IGNORED("index_queries_cache_config", O, "index files are cached whole on local disk"),
    IGNORED("max_chunk_batch_size", O, "blocks are fetched one ranged GET each"),
    IGNORED("hedging", O, "requests are not hedged; see timeout and max_retries"),
};
const struct cairn_cfg_table cairn__storage_config_table =
    CAIRN_CFG_TABLE("storage_config", storage_config_entries, O);

static const struct cairn_cfg_entry common_storage_entries[] = {
    {.key = "s3", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(O, s3), .sub = &s3_table,
     .help = "S3-compatible object storage"},
    IGNORED("filesystem", O, "local storage is the data directory (storage.data_dir)"),
};
/* common.storage; the rest of Loki's common block is serve_cluster.c's */
const struct cairn_cfg_table cairn__common_storage_table =
    CAIRN_CFG_TABLE("storage", common_storage_entries, O);
#undef O
