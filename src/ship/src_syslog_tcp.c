/* src_syslog_tcp.c -- a syslog TCP listener: one thread, epoll over the listening
 * socket, the stop eventfd and every connection (optionally TLS through OpenSSL).
 *
 * Why one thread and not one per connection: the pipeline is not thread-safe, so a
 * thread per connection would need a pipeline each (stage state such as multiline and
 * limit would split by connection) or a lock around it; and back-pressure comes free:
 * while the push client blocks this thread in emit, no connection is read, the kernel's
 * receive windows fill and the senders block. Memory is bounded by max_connections
 * buffers of one message each. An idle connection costs a buffer and a socket.
 *
 * Each read is cut into frames (octet counted or LF framed, decided per frame); a bad
 * octet count loses the framing and closes that connection only; oversize messages
 * are discarded and counted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "ship/src_syslog_int.h"

#define EVENTS 64
#define READS_PER_EVENT 8 /* then the next connection's turn (level-triggered) */
#define FRAME_SLACK 16    /* octet count header: up to 10 digits and SP */

struct conn {
    int fd;
    SSL *ssl;
    char *buf;
    size_t len, cap;
    struct cairn_syslog_framer fr;
    int64_t last; /* monotonic ns of the last byte read */
    int want_out; /* TLS wants to write before it can read */
    char ip[INET6_ADDRSTRLEN];
};

/* ---- TLS ---- */

static void ssl_errors(const char *what, const char *job)
{
    unsigned long e;
    char msg[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, msg, sizeof msg);
        CAIRN_WARN("ship", "syslog TLS", "job=%s what=%s err=\"%s\"", job, what, msg);
    }
}

int cairn__syslog_tls_init(struct syslog_listener *l, const char *path, struct cairn_err *err)
{
    const char *cert = l->cfg->tls_config.cert_file, *key = l->cfg->tls_config.key_file,
               *ca = l->cfg->tls_config.ca_file;
    if (!cert || !*cert)
        return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* senders close without close_notify all the time; frames carry their own ends, so
     * that is an end of stream, not an error */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* no session tickets: a sender that never reads would leave them unread and its
     * close would reset the connection */
    SSL_CTX_set_num_tickets(ctx, 0);
    const char *bad = NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        bad = "cert_file";
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
             SSL_CTX_check_private_key(ctx) != 1)
        bad = "key_file";
    else if (ca && *ca) {
        /* as Promtail: a CA means client certificates are required and verified */
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
            bad = "ca_file";
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (bad) {
        char msg[256] = "";
        ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return cairn_err_set(err, CAIRN_EINVAL, "%s.tls_config.%s: %s", path, bad, msg);
    }
    l->tls = ctx;
    return 0;
}

void cairn__syslog_tls_free(struct syslog_listener *l)
{
    SSL_CTX_free(l->tls);
    l->tls = NULL;
}

/* ---- connections ---- */

struct loop {
    struct syslog_listener *l;
    int ep;
    struct conn **conns;
    size_t n, cap;
    int64_t last_sweep;
};

static void conn_close(struct loop *lp, size_t i)
{
    struct conn *c = lp->conns[i];
    epoll_ctl(lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->ssl) {
        SSL_shutdown(c->ssl); /* best effort close_notify; never waits */
        SSL_free(c->ssl);
        ERR_clear_error(); /* a shutdown before the handshake ended leaves errors */
    }
    close(c->fd);
    free(c->buf);
    free(c);
    lp->conns[i] = lp->conns[--lp->n];
    atomic_fetch_sub(&lp->l->c.open, 1);
}

static size_t conn_index(struct loop *lp, struct conn *c)
{
    for (size_t i = 0; i < lp->n; i++)
        if (lp->conns[i] == c)
            return i;
    return (size_t)-1;
}

static void do_accept(struct loop *lp)
{
    struct syslog_listener *l = lp->l;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                CAIRN_WARN("ship", "syslog accept failed", "job=%s err=\"%s\"",
                           l->sc->job_name, strerror(errno));
            return;
        }
        if (lp->n >= (size_t)l->cfg->max_connections) {
            atomic_fetch_add(&l->c.rejected, 1);
            close(fd);
            continue;
        }
        struct conn *c = calloc(1, sizeof *c);
        size_t cap = (size_t)l->cfg->max_message_length + FRAME_SLACK;
        if (c)
            c->buf = malloc(cap);
        if (lp->n == lp->cap) {
            size_t nc = lp->cap ? lp->cap * 2 : 16;
            struct conn **v = realloc(lp->conns, nc * sizeof *v);
            if (v)
                lp->conns = v, lp->cap = nc;
        }
        if (!c || !c->buf || lp->n == lp->cap) {
            if (c)
                free(c->buf);
            free(c);
            close(fd);
            atomic_fetch_add(&l->c.rejected, 1);
            continue;
        }
        c->fd = fd;
        c->cap = cap;
        c->fr.max = (size_t)l->cfg->max_message_length;
        c->last = cairn_mono_ns();
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
                inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], c->ip, sizeof c->ip);
            else
                inet_ntop(AF_INET6, &s6->sin6_addr, c->ip, sizeof c->ip);
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->ip, sizeof c->ip);
        }
        if (l->tls) {
            c->ssl = SSL_new(l->tls);
            if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
                SSL_free(c->ssl);
                free(c->buf);
                free(c);
                close(fd);
                atomic_fetch_add(&l->c.tls_errors, 1);
                continue;
            }
            SSL_set_accept_state(c->ssl);
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            SSL_free(c->ssl);
            free(c->buf);
            free(c);
            close(fd);
            continue;
        }
        lp->conns[lp->n++] = c;
        atomic_fetch_add(&l->c.accepted, 1);
        atomic_fetch_add(&l->c.open, 1);
    }
}

/* Cut c->buf into frames and handle them. Returns 0, 1 when the framing is lost
 * (close the connection), or the sink's error. */
static int conn_frames(struct loop *lp, struct conn *c, int eof)
{
    struct syslog_listener *l = lp->l;
    size_t off = 0;
    int rc = 0;
    while (!rc) {
        const char *frame;
        size_t flen, used;
        int fr = cairn_syslog_frame_next(&c->fr, c->buf + off, c->len - off, &frame, &flen, &used);
        off += used;
        if (fr == CAIRN_FRAME_OK) {
            rc = cairn__syslog_handle(l, frame, flen, c->ip);
        } else if (fr == CAIRN_FRAME_OVERSIZE) {
            atomic_fetch_add(&l->c.malformed[MAL_OVERSIZE], 1);
        } else if (fr == CAIRN_FRAME_BAD) {
            atomic_fetch_add(&l->c.malformed[MAL_OCTET_COUNT], 1);
            CAIRN_DEBUG("ship", "syslog framing lost: closing", "job=%s peer=%s",
                        l->sc->job_name, c->ip);
            rc = 1;
        } else {
            /* a last message without its LF when the peer closes */
            if (eof && off < c->len && !c->fr.skip && !c->fr.skip_to_lf && c->buf[off] == '<') {
                rc = cairn__syslog_handle(l, c->buf + off, c->len - off, c->ip);
                off = c->len;
            }
            break;
        }
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return rc;
}

/* Read what c has. Returns 0 (keep), 1 (close it), or a sink error. */
static int conn_read(struct loop *lp, struct conn *c)
{
    struct syslog_listener *l = lp->l;
    for (int k = 0; k < READS_PER_EVENT || (c->ssl && SSL_pending(c->ssl) > 0); k++) {
        size_t room = c->cap - c->len;
        ssize_t n;
        if (c->ssl) {
            int r = SSL_read(c->ssl, c->buf + c->len, (int)room);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                int out = e == SSL_ERROR_WANT_WRITE;
                if (out != c->want_out) {
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
                                             .data.ptr = c};
                    epoll_ctl(lp->ep, EPOLL_CTL_MOD, c->fd, &ev);
                    c->want_out = out;
                }
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return 0;
                if (e == SSL_ERROR_SSL) { /* handshake, certificate, protocol */
                    atomic_fetch_add(&l->c.tls_errors, 1);
                    ssl_errors("read", l->sc->job_name);
                    ERR_clear_error();
                    return 1;
                }
                ERR_clear_error();
                if (e != SSL_ERROR_ZERO_RETURN && !(e == SSL_ERROR_SYSCALL && r == 0))
                    return 1; /* the connection failed (reset): not TLS's doing */
                n = 0;
            } else {
                n = r;
            }
        } else {
            n = read(c->fd, c->buf + c->len, room);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return 0;
            if (n < 0)
                return 1;
        }
        if (n == 0) {
            int rc = conn_frames(lp, c, 1);
            return rc < 0 ? rc : 1;
        }
        c->len += (size_t)n;
        c->last = cairn_mono_ns();
        int rc = conn_frames(lp, c, 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* Close connections silent for idle_timeout. One that has unread bytes (this thread was
 * blocked in the sink, not the peer silent) is not idle. */
static void sweep(struct loop *lp, int64_t now)
{
    struct syslog_listener *l = lp->l;
    for (size_t i = 0; i < lp->n;) {
        struct conn *c = lp->conns[i];
        if (now - c->last < l->cfg->idle_timeout_ns) {
            i++;
            continue;
        }
        int pending = 0;
        if (ioctl(c->fd, FIONREAD, &pending) == 0 && pending > 0) {
            c->last = now;
            i++;
            continue;
        }
        atomic_fetch_add(&l->c.idle_closed, 1);
        conn_close(lp, i);
    }
}

void *cairn__syslog_tcp_main(void *arg)
{
    struct syslog_listener *l = arg;
    struct loop lp = {.l = l, .ep = epoll_create1(EPOLL_CLOEXEC)};
    if (lp.ep < 0) {
        CAIRN_ERROR("ship", "syslog: epoll_create1 failed", "err=\"%s\"", strerror(errno));
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lp};
    epoll_ctl(lp.ep, EPOLL_CTL_ADD, l->fd, &ev);
    ev.data.ptr = l;
    epoll_ctl(lp.ep, EPOLL_CTL_ADD, l->efd, &ev);
    struct epoll_event evs[EVENTS];
    lp.last_sweep = cairn_mono_ns();
    while (!atomic_load(&l->stop)) {
        int n = epoll_wait(lp.ep, evs, EVENTS, 100);
        if (n < 0 && errno != EINTR) {
            CAIRN_ERROR("ship", "syslog: epoll_wait failed", "err=\"%s\"", strerror(errno));
            break;
        }
        for (int i = 0; i < n && !atomic_load(&l->stop); i++) {
            void *p = evs[i].data.ptr;
            if (p == &lp) {
                do_accept(&lp);
                continue;
            }
            if (p == l)
                continue; /* stop: the loop condition sees it */
            struct conn *c = p;
            size_t idx = conn_index(&lp, c);
            if (idx == (size_t)-1)
                continue; /* closed earlier in this batch */
            int r = conn_read(&lp, c);
            if (r < 0 && !atomic_load(&l->stop))
                CAIRN_WARN("ship", "syslog: entry not delivered, closing the connection",
                           "job=%s peer=%s err=\"%s\"", l->sc->job_name, c->ip,
                           cairn_strerror(r));
            if (r != 0)
                conn_close(&lp, idx);
        }
        int t = cairn__syslog_tick(l, 0);
        if (t && !atomic_load(&l->stop))
            CAIRN_WARN("ship", "syslog: held entries not delivered", "job=%s err=\"%s\"",
                       l->sc->job_name, cairn_strerror(t));
        int64_t now = cairn_mono_ns();
        if (now - lp.last_sweep >= 1000000000LL) {
            sweep(&lp, now);
            lp.last_sweep = now;
        }
    }
    cairn__syslog_tick(l, 1);
    while (lp.n)
        conn_close(&lp, lp.n - 1);
    free(lp.conns);
    close(lp.ep);
    return NULL;
}
