/* objstore_config.c -- the object storage keys of `cairn serve`, as Loki names them:
 * storage_config.aws and common.storage.s3 (the same settings), storage_config.cache
 * for the block cache. */
#include <stddef.h>
#include <stdint.h>

#include "cairn/config_serve.h"
#include "cairn/limits.h"
#include "config/config_int.h"

#define SEC 1000000000LL
#define S struct cairn_serve_s3
static const struct cairn_cfg_entry http_entries[] = {
    {.key = "insecure_skip_verify", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(S, http_config.insecure_skip_verify), .idef = 0,
     .help = "do not check the object store's TLS certificate"},
};
static const struct cairn_cfg_ignored http_ignored[] = {
    {"idle_conn_timeout", "connections are reused from a small pool; see timeout"},
    {"response_header_timeout", "one deadline covers the whole request: timeout"},
    {"ca_file", "not supported yet: the system's CA certificates are used"},
    {NULL, NULL},
};
static const struct cairn_cfg_table http_table =
    CAIRN_CFG_TABLE_IGNORING("http_config", http_entries, S, http_ignored);

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
};
static const struct cairn_cfg_ignored s3_ignored[] = {
    {"sse", "server-side encryption: set the bucket's default encryption"},
    {"storage_class", "objects get the bucket's default storage class"},
    {"signature_version", "requests are always signed with SigV4"},
    {"s3", "the s3:// URL form is not read: give endpoint, bucketnames, region and keys"},
    {"backoff_config", "retries are max_retries with cairn's own doubling backoff"},
    {"dynamodb", "there is no DynamoDB index: each period's index is an object"},
    {NULL, NULL},
};
static const struct cairn_cfg_table s3_table =
    CAIRN_CFG_TABLE_IGNORING("s3", s3_entries, S, s3_ignored);
#undef S

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
    {.key = "aws", .type = CAIRN_CFG_SECTION, .flags = CAIRN_CFG_ALIAS, CAIRN_CFG_AT(O, s3),
     .sub = &s3_table, .help = "S3-compatible object storage, as common.storage.s3 (dumped there)"},
    {.key = "cache", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(O),
     .sub = &cache_table, .help = "the block cache"},
};
#define NO_FILESYSTEM "local storage is the data directory (storage.data_dir)"
static const struct cairn_cfg_ignored storage_config_ignored[] = {
    {"boltdb_shipper", "cairn keeps its own index per period, uploaded beside its segments"},
    {"tsdb_shipper", "cairn keeps its own index per period, uploaded beside its segments"},
    {"filesystem", NO_FILESYSTEM},
    {"index_queries_cache_config", "index files are cached whole on local disk"},
    {"max_chunk_batch_size", "blocks are fetched one ranged GET each"},
    {"hedging", "requests are not hedged; see timeout and max_retries"},
    {NULL, NULL},
};
const struct cairn_cfg_table cairn__storage_config_table = CAIRN_CFG_TABLE_IGNORING(
    "storage_config", storage_config_entries, O, storage_config_ignored);

static const struct cairn_cfg_entry common_storage_entries[] = {
    {.key = "s3", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(O, s3), .sub = &s3_table,
     .help = "S3-compatible object storage"},
};
static const struct cairn_cfg_ignored common_storage_ignored[] = {
    {"filesystem", NO_FILESYSTEM},
    {NULL, NULL},
};
/* common.storage; the rest of Loki's common block is serve_cluster.c's */
const struct cairn_cfg_table cairn__common_storage_table = CAIRN_CFG_TABLE_IGNORING(
    "storage", common_storage_entries, O, common_storage_ignored);
#undef O
