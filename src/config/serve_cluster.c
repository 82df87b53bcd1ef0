/* serve_cluster.c -- the cluster part of `cairn serve`'s configuration: Loki's
 * `common` block (ring kvstore, replication_factor, instance_addr) and the Loki keys
 * in it that cairn accepts but ignores (consul, tokens_file_path, ...; the root's
 * memberlist is in serve_config.c's list).
 *
 * Every nested table's offsets are relative to struct cairn_serve_common (sections at
 * offset 0 of it), as limits_config does for the whole serve config. */
#include <stddef.h>

#include "cairn/config_serve.h"
#include "config/config_int.h"

#define SEC 1000000000LL
#define C struct cairn_serve_common

static const struct cairn_cfg_enum kv_stores[] = {
    {"inmemory", CAIRN_KV_INMEMORY}, {"etcd", CAIRN_KV_ETCD}, {"static", CAIRN_KV_STATIC},
    {NULL, 0},
};

static const struct cairn_cfg_entry etcd_entries[] = {
    {.key = "endpoints", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(C, ring.kvstore.etcd.endpoints),
     .flags = CAIRN_CFG_ONE_OK, .lflag = "common.ring.etcd.endpoints",
     .help = "etcd client URLs (http://host:2379 or host:2379)"},
    {.key = "dial_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(C, ring.kvstore.etcd.dial_timeout_ns), .idef = 10 * SEC, .min = 1000000,
     .max = 600 * SEC, .help = "deadline of each etcd request (connect included)"},
    {.key = "username", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(C, ring.kvstore.etcd.username),
     .help = "etcd user (auth enabled in etcd)"},
    {.key = "password", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(C, ring.kvstore.etcd.password), .help = "etcd password"},
};
static const struct cairn_cfg_ignored etcd_ignored[] = {
    {"max_retries", "etcd requests fail over to the next endpoint and retry on the next tick"},
    {"tls_enabled", "not supported yet: reach etcd over plain HTTP on a private network"},
    {NULL, NULL},
};
static const struct cairn_cfg_table etcd_table = {
    .name = "etcd", .entries = etcd_entries, .n = sizeof etcd_entries / sizeof etcd_entries[0],
    .size = sizeof(C), .ignored = etcd_ignored};

static const struct cairn_cfg_entry kv_entries[] = {
    {.key = "store", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(C, ring.kvstore.store), .def = "inmemory",
     .names = kv_stores, .lflag = "common.ring.store",
     .help = "membership: etcd, inmemory (this node alone) or static (the static list)"},
    {.key = "prefix", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(C, ring.kvstore.prefix),
     .def = "collectors/cairn/", .lflag = "common.ring.prefix",
     .help = "etcd key prefix; each node's key is <prefix><instance_id>"},
    {.key = "static", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(C, ring.kvstore.static_addrs),
     .help = "store: static: every write node's host:port (cairn's key; no liveness)"},
    {.key = "etcd", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C), .sub = &etcd_table,
     .help = "the etcd cluster holding the ring"},
};
static const struct cairn_cfg_ignored kv_ignored[] = {
    {"consul", "membership is kept in etcd (store: etcd) or a static list"},
    {"multi", "membership is kept in etcd (store: etcd) or a static list"},
    {NULL, NULL},
};
static const struct cairn_cfg_table kv_table = {
    .name = "kvstore", .entries = kv_entries, .n = sizeof kv_entries / sizeof kv_entries[0],
    .size = sizeof(C), .ignored = kv_ignored};

static const struct cairn_cfg_entry ring_entries[] = {
    {.key = "kvstore", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C), .sub = &kv_table,
     .help = "where the ring's members are registered"},
    {.key = "instance_id", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(C, ring.instance_id),
     .lflag = "common.ring.instance-id",
     .help = "this node's unique id in the ring (default: the hostname); it seeds the tokens"},
    {.key = "heartbeat_period", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(C, ring.heartbeat_period_ns),
     .idef = 3 * SEC, .min = 100000000, .max = 600 * SEC,
     .help = "how often the etcd lease is kept alive and the heartbeat written"},
    {.key = "heartbeat_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(C, ring.heartbeat_timeout_ns), .idef = 10 * SEC, .min = 2 * SEC,
     .max = 3600 * SEC, .help = "the etcd lease TTL: a node silent this long leaves the ring"},
    {.key = "cluster_secret", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(C, ring.cluster_secret), .lflag = "common.ring.cluster-secret",
     .help = "shared by all nodes, required on /internal/* (cairn's key; empty: those routes "
             "are open, keep the port on a private network)"},
    {.key = "forward_timeout", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(C, ring.forward_timeout_ns),
     .idef = 5 * SEC, .min = 1000000, .max = 600 * SEC,
     .help = "deadline of a forward to one owner and of a read from one write node"},
};
static const struct cairn_cfg_ignored ring_ignored[] = {
    {"instance_interface_names", "set common.instance_addr instead"},
    {"instance_addr", "cairn takes common.instance_addr"},
    {"instance_port", "common.instance_addr carries the port"},
    {"tokens_file_path", "tokens derive from instance_id, so a restart takes the same ones"},
    {"zone_awareness_enabled", "not supported: replicas are placed by token order alone"},
    {"instance_availability_zone", "not supported: replicas are placed by token order alone"},
    {"replication_factor", "cairn takes common.replication_factor"},
    {NULL, NULL},
};
static const struct cairn_cfg_table ring_table = {
    .name = "ring", .entries = ring_entries, .n = sizeof ring_entries / sizeof ring_entries[0],
    .size = sizeof(C), .ignored = ring_ignored};

/* Loki's common block: the cluster's keys (struct cairn_serve_common) and its object
 * storage (struct cairn_serve_objstore, shared with storage_config), so the table's
 * offsets are the whole serve config's. */
#define SC struct cairn_serve_config
static const struct cairn_cfg_entry common_entries[] = {
    {.key = "replication_factor", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(SC, common.replication_factor),
     .idef = 1, .min = 1, .max = 8, .lflag = "common.replication-factor",
     .help = "owners of each stream; a push is acknowledged once rf/2+1 of them have it"},
    {.key = "instance_addr", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(SC, common.instance_addr),
     .lflag = "common.instance-addr",
     .help = "host:port (or host: the HTTP port is added) other nodes reach this one on"},
    {.key = "ring", .type = CAIRN_CFG_SECTION, .offset = offsetof(SC, common), .size = sizeof(C),
     .sub = &ring_table, .help = "the hash ring of write nodes"},
    {.key = "storage", .type = CAIRN_CFG_SECTION, .offset = offsetof(SC, objstore),
     .size = sizeof(struct cairn_serve_objstore), .sub = &cairn__common_storage_table,
     .help = "object storage (s3), as storage_config.aws"},
};
static const struct cairn_cfg_ignored common_ignored[] = {
    {"compactor_address", "the backend target needs no address: it works on the store"},
    {"compactor_grpc_address", "cairn has no gRPC"},
    {"path_prefix", "use storage.data_dir (--data-dir)"},
    {NULL, NULL},
};
const struct cairn_cfg_table cairn__serve_common_table = {
    .name = "common", .entries = common_entries,
    .n = sizeof common_entries / sizeof common_entries[0], .size = sizeof(SC),
    .ignored = common_ignored};
#undef SC
#undef C
