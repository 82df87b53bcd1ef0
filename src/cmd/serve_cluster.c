/* serve_cluster.c -- `cairn serve`'s cluster wiring: from -target and the common
 * block to a ring membership (etcd, static list or this node alone) and the api's
 * cluster mode. A node runs in cluster mode unless it is -target=all with the
 * inmemory kvstore (today's single process, untouched). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cairn/api.h"
#include "cairn/config_serve.h"
#include "cairn/log.h"
#include "cairn/ring.h"
#include "cmd/cmd.h"
#include "cmd/serve_int.h"

static const char *const target_names[] = {"all", "write", "read", "backend"};

static unsigned target_roles(int target)
{
    switch (target) {
    case CAIRN_TARGET_WRITE: return CAIRN_RING_ROLE_WRITE;
    case CAIRN_TARGET_READ: return CAIRN_RING_ROLE_READ;
    case CAIRN_TARGET_BACKEND: return CAIRN_RING_ROLE_BACKEND;
    default: return CAIRN_RING_ROLE_WRITE | CAIRN_RING_ROLE_READ | CAIRN_RING_ROLE_BACKEND;
    }
}

int cairn_cmd_serve_cluster(const struct cairn_serve_config *sc, struct cairn_api *api,
                            struct cairn_ring **out, struct cairn__bucket **bucket,
                            struct cairn_err *err)
{
    const struct cairn_serve_common *cm = &sc->common;
    *out = NULL;
    *bucket = NULL;
    if (sc->target == CAIRN_TARGET_ALL && cm->ring.kvstore.store == CAIRN_KV_INMEMORY)
        return 0;
    char host[256] = "localhost", id[CAIRN_RING_ID_MAX], addr[CAIRN_RING_ADDR_MAX];
    gethostname(host, sizeof host - 1);
    unsigned port = cairn_api_port(api);
    snprintf(id, sizeof id, "%s", cm->ring.instance_id && *cm->ring.instance_id ? cm->ring.instance_id : host);
    const char *ia = cm->instance_addr, *la = sc->server.http_listen_address;
    if (ia && *ia)
        snprintf(addr, sizeof addr, strchr(ia, ':') ? "%s" : "%s:%u", ia, port);
    else if (!la || !*la || strcmp(la, "0.0.0.0") == 0 || strcmp(la, "::") == 0)
        snprintf(addr, sizeof addr, "%s:%u", host, port);
    else
        snprintf(addr, sizeof addr, strchr(la, ':') ? "[%s]:%u" : "%s:%u", la, port);

    struct cairn_ring_config rc;
    cairn_ring_config_default(&rc);
    static const char *const kinds[] = {"inmemory", "etcd", "static"};
    rc.store = kinds[cm->ring.kvstore.store];
    rc.prefix = cm->ring.kvstore.prefix;
    rc.endpoints = (const char *const *)cm->ring.kvstore.etcd.endpoints.v;
    rc.n_endpoints = cm->ring.kvstore.etcd.endpoints.n;
    rc.dial_timeout_ns = cm->ring.kvstore.etcd.dial_timeout_ns;
    rc.username = cm->ring.kvstore.etcd.username && *cm->ring.kvstore.etcd.username
                      ? cm->ring.kvstore.etcd.username : NULL;
    rc.password = cm->ring.kvstore.etcd.password;
    rc.static_addrs = (const char *const *)cm->ring.kvstore.static_addrs.v;
    rc.n_static = cm->ring.kvstore.static_addrs.n;
    rc.instance_id = id;
    rc.instance_addr = addr;
    rc.roles = target_roles(sc->target);
    rc.lease_ttl_ns = cm->ring.heartbeat_timeout_ns;
    rc.heartbeat_ns = cm->ring.heartbeat_period_ns;
    if (cm->ring.kvstore.store == CAIRN_KV_STATIC && rc.n_static == 0)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "common.ring.kvstore.static: store: static needs the write nodes' addresses");
    struct cairn_ring *ring = cairn_ring_create(&rc, err);
    if (!ring)
        return err->code ? err->code : CAIRN_EIO;
    char scratch[1024];
    snprintf(scratch, sizeof scratch, "%s/scratch", sc->store.data_dir);
    struct cairn_api_cluster ac = {.ring = ring, .target = target_names[sc->target],
                                   .roles = rc.roles,
                                   .replication_factor = (unsigned)cm->replication_factor,
                                   .secret = cm->ring.cluster_secret,
                                   .forward_timeout_ns = cm->ring.forward_timeout_ns,
                                   .scratch_dir = scratch};
    /* a read node reads the uploaded periods from the bucket itself, a backend applies
     * retention to them (serve_bucket.c) */
    int backend = sc->target == CAIRN_TARGET_BACKEND;
    if ((sc->target == CAIRN_TARGET_READ || backend) && sc->store.objstore) {
        if (!(*bucket = cairn__bucket_open(sc, sc->store.objstore, backend, err))) {
            cairn_ring_destroy(ring);
            return err->code ? err->code : CAIRN_ENOMEM;
        }
        if (!backend) {
            ac.read_source = cairn__bucket_read;
            ac.read_source_ctx = *bucket;
        }
    }
    int r = cairn_api_set_cluster(api, &ac, err);
    if (r) {
        cairn__bucket_close(*bucket);
        *bucket = NULL;
        cairn_ring_destroy(ring);
        return r;
    }
    if (!cm->ring.cluster_secret || !*cm->ring.cluster_secret)
        CAIRN_WARN("serve", "no common.ring.cluster_secret: the internal routes are open; keep "
                            "the port on a private network", "");
    CAIRN_INFO("serve", "cluster mode", "target=%s id=%s addr=%s rf=%d kvstore=%s",
               target_names[sc->target], id, addr, cm->replication_factor, rc.store);
    *out = ring;
    return 0;
}
