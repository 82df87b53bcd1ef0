/* src_syslog_int.h -- what the syslog source's files share: one listener per
 * scrape config with a `syslog:` block, its counters, and the message path that turns a
 * frame into an entry (src_syslog.c) used by the TCP loop (src_syslog_tcp.c) and the
 * UDP reader (src_syslog_udp.c).
 *
 * Threads: a TCP listener has one thread (epoll over the listening socket and every
 * connection); a UDP listener has a reader thread and a processing thread joined by a
 * bounded queue. Only the thread that processes messages touches the pipeline, the
 * relabel rules, the entry and the scratch below; counters are atomics read by the
 * HTTP thread. */
#ifndef CAIRN_SHIP_SRC_SYSLOG_INT_H
#define CAIRN_SHIP_SRC_SYSLOG_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cairn/labels.h"
#include "cairn/sd.h"
#include "ship/ship_build.h"
#include "ship/src_syslog.h"

enum syslog_malformed { MAL_PARSE, MAL_OVERSIZE, MAL_OCTET_COUNT, MAL_KINDS };
/* The __syslog_* labels, as bits: only those some rule can read are built. */
enum syslog_need {
    NEED_IP = 1u << 0, NEED_HOSTNAME = 1u << 1, NEED_SEVERITY = 1u << 2,
    NEED_FACILITY = 1u << 3, NEED_MSG_HOSTNAME = 1u << 4, NEED_APP = 1u << 5,
    NEED_PROCID = 1u << 6, NEED_MSGID = 1u << 7, NEED_SD = 1u << 8, NEED_ALL = 0x1ffu,
};
enum syslog_drop { DROP_QUEUE_FULL, DROP_KERNEL, DROP_RELABEL, DROP_NO_LABELS, DROP_KINDS };

struct syslog_counters {
    atomic_ullong entries;      /* messages handed to the pipeline */
    atomic_ullong empty;        /* messages without MSG */
    atomic_ullong malformed[MAL_KINDS];
    atomic_ullong dropped[DROP_KINDS];
    atomic_ullong accepted, rejected, idle_closed, tls_errors;
    atomic_llong open;          /* TCP connections open now */
};

struct syslog_dns {
    char ip[46];
    char *name;  /* "" when the address has no name */
    int64_t at;  /* monotonic ns of the lookup */
};

/* One relabelling result, keyed by the labels the rules could read. */
struct syslog_rcache {
    uint64_t hash;
    int used, keep;
    struct cairn_buf key;
    struct cairn_labels labels; /* without the "__" ones; empty when dropped */
};

struct syslog_listener {
    const struct cairn_ship_scrape *sc;
    const struct cairn_ship_syslog *cfg;
    const struct cairn_ship_sink *sink; /* the agent's */
    struct cairn_ship_sink guard;       /* drops entries left without labels, then sink */
    int fd;                             /* listening (TCP) or bound (UDP) socket */
    int efd;                            /* eventfd: wakes the threads to stop */
    int port;
    void *tls;                          /* SSL_CTX *, TCP only */
    atomic_int stop;
    pthread_t thr, reader;
    int thr_started, reader_started;
    struct syslog_counters c;
    /* processing thread only */
    struct cairn_ship_pipeline *pipe;
    struct cairn_ship_relabel_rule *rules;
    size_t n_rules;
    unsigned need;              /* the __syslog_* labels a rule may read (NEED_*) */
    int relabel;                /* 0: the entry's labels are `labels:` as they are */
    struct cairn_labels base;   /* `labels:` sorted (the entry's labels without rules) */
    struct cairn_sd_labels sdl; /* scratch: the __syslog_* set before relabelling */
    struct cairn_buf name, val; /* scratch: SD label names and values */
    struct cairn_buf key;       /* scratch: the relabel cache key */
    struct syslog_rcache *rcache; /* CAIRN_SYSLOG_RELABEL_CACHE slots, direct mapped */
    struct cairn_ship_entry entry;
    struct syslog_dns *dns;     /* CAIRN_SYSLOG_DNS_CACHE entries */
    int64_t last_tick;
    /* UDP queue (src_syslog_udp.c) */
    void *udp;
};

/* src_syslog.c: parse one frame and run it through relabelling, the pipeline and the
 * sink; malformed and empty messages are counted. ip is the peer's address. Returns 0,
 * or the sink's error (CAIRN_EAGAIN: the agent is stopping). */
int cairn__syslog_handle(struct syslog_listener *l, const char *frame, size_t len,
                         const char *ip);
/* Tick the pipeline (multiline deadlines) at most every 100 ms; force: flush all. */
int cairn__syslog_tick(struct syslog_listener *l, int force);

/* src_syslog_tcp.c */
/* path: "scrape_configs[i].syslog", for messages. */
int cairn__syslog_tls_init(struct syslog_listener *l, const char *path, struct cairn_err *err);
void cairn__syslog_tls_free(struct syslog_listener *l);
void *cairn__syslog_tcp_main(void *arg);

/* src_syslog_udp.c */
int cairn__syslog_udp_init(struct syslog_listener *l, struct cairn_err *err);
void cairn__syslog_udp_free(struct syslog_listener *l);
void *cairn__syslog_udp_reader(void *arg);
void *cairn__syslog_udp_main(void *arg);

#endif
