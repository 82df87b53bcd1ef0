/* src_syslog_udp.c -- a syslog UDP listener: one message per datagram. UDP has no
 * back-pressure, so a reader thread moves datagrams into a bounded queue (slots of
 * max_message_length, CAIRN_SYSLOG_UDP_QUEUE_BYTES in all) and the processing thread
 * parses and emits them; a datagram that finds the queue full is dropped and counted,
 * as are those the kernel dropped before we read them (SO_RXQ_OVFL) and those longer
 * than max_message_length. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/limits.h"
#include "cairn/log.h"
#include "ship/src_syslog_int.h"

struct slot {
    size_t len;
    char ip[INET6_ADDRSTRLEN];
};

struct udpq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n_slots, size; /* slot count; bytes of one slot's data */
    size_t head, count;   /* next to process, and how many are queued */
    struct slot *slots;
    char *data;           /* n_slots * size */
    char *spare;          /* where datagrams that do not fit are read to be dropped */
    uint32_t kernel_drops; /* last SO_RXQ_OVFL value */
};

int cairn__syslog_udp_init(struct syslog_listener *l, struct cairn_err *err)
{
    struct udpq *q = calloc(1, sizeof *q);
    if (!q)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    l->udp = q;
    q->size = (size_t)l->cfg->max_message_length;
    q->n_slots = CAIRN_SYSLOG_UDP_QUEUE_BYTES / q->size;
    if (q->n_slots < 16)
        q->n_slots = 16;
    q->slots = calloc(q->n_slots, sizeof *q->slots);
    q->data = malloc(q->n_slots * q->size);
    q->spare = malloc(q->size);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (!q->slots || !q->data || !q->spare)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    int one = 1;
    setsockopt(l->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    int rcvbuf = 1 << 20; /* Promtail's read buffer */
    setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    return 0;
}

void cairn__syslog_udp_free(struct syslog_listener *l)
{
    struct udpq *q = l->udp;
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->slots);
    free(q->data);
    free(q->spare);
    free(q);
    l->udp = NULL;
}

static void peer_ip(const struct sockaddr_storage *ss, char *ip, size_t cap)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, (socklen_t)cap);
        else
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)cap);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, (socklen_t)cap);
    }
}

void *cairn__syslog_udp_reader(void *arg)
{
    struct syslog_listener *l = arg;
    struct udpq *q = l->udp;
    struct pollfd pf[2] = {{.fd = l->fd, .events = POLLIN}, {.fd = l->efd, .events = POLLIN}};
    while (!atomic_load(&l->stop)) {
        if (poll(pf, 2, 1000) < 0 && errno != EINTR)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        for (int k = 0; k < 64 && !atomic_load(&l->stop); k++) {
            pthread_mutex_lock(&q->mu);
            int full = q->count == q->n_slots;
            size_t at = (q->head + q->count) % q->n_slots;
            pthread_mutex_unlock(&q->mu);
            /* only this thread adds: the free slot stays free while we read into it */
            char *dst = full ? q->spare : q->data + at * q->size;
            struct sockaddr_storage ss;
            struct iovec iov = {dst, q->size};
            char cbuf[CMSG_SPACE(sizeof(uint32_t))];
            struct msghdr mh = {.msg_name = &ss, .msg_namelen = sizeof ss, .msg_iov = &iov,
                                .msg_iovlen = 1, .msg_control = cbuf,
                                .msg_controllen = sizeof cbuf};
            ssize_t n = recvmsg(l->fd, &mh, MSG_DONTWAIT);
            if (n < 0)
                break; /* EAGAIN: drained */
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
                    uint32_t v;
                    memcpy(&v, CMSG_DATA(cm), sizeof v);
                    atomic_fetch_add(&l->c.dropped[DROP_KERNEL], (uint32_t)(v - q->kernel_drops));
                    q->kernel_drops = v;
                }
            if (mh.msg_flags & MSG_TRUNC) {
                atomic_fetch_add(&l->c.malformed[MAL_OVERSIZE], 1);
                continue;
            }
            if (full) {
                atomic_fetch_add(&l->c.dropped[DROP_QUEUE_FULL], 1);
                continue;
            }
            struct slot *s = &q->slots[at];
            s->len = (size_t)n;
            peer_ip(&ss, s->ip, sizeof s->ip);
            pthread_mutex_lock(&q->mu);
            q->count++;
            pthread_cond_signal(&q->cv);
            pthread_mutex_unlock(&q->mu);
        }
    }
    pthread_mutex_lock(&q->mu);
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* A datagram may carry an octet count too (RFC 6587 framing over UDP): take the frame. */
static int handle_datagram(struct syslog_listener *l, const char *p, size_t len, const char *ip)
{
    if (len && p[0] >= '1' && p[0] <= '9') {
        struct cairn_syslog_framer fr = {.max = (size_t)l->cfg->max_message_length};
        const char *frame;
        size_t flen, used;
        if (cairn_syslog_frame_next(&fr, p, len, &frame, &flen, &used) == CAIRN_FRAME_OK)
            p = frame, len = flen;
    }
    return cairn__syslog_handle(l, p, len, ip);
}

void *cairn__syslog_udp_main(void *arg)
{
    struct syslog_listener *l = arg;
    struct udpq *q = l->udp;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        if (!q->count && !atomic_load(&l->stop)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100000000L;
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        }
        size_t at = q->head, have = q->count;
        pthread_mutex_unlock(&q->mu);
        if (!have && atomic_load(&l->stop))
            break;
        int rc = 0;
        if (have) {
            /* the slot stays ours until head moves past it */
            rc = handle_datagram(l, q->data + at * q->size, q->slots[at].len, q->slots[at].ip);
            pthread_mutex_lock(&q->mu);
            q->head = (q->head + 1) % q->n_slots;
            q->count--;
            pthread_mutex_unlock(&q->mu);
        }
        if (!rc)
            rc = cairn__syslog_tick(l, 0);
        if (rc && atomic_load(&l->stop))
            break;
        if (rc)
            CAIRN_WARN("ship", "syslog: entry not delivered", "job=%s err=\"%s\"",
                       l->sc->job_name, cairn_strerror(rc));
    }
    cairn__syslog_tick(l, 1);
    return NULL;
}
