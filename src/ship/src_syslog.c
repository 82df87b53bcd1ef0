/* src_syslog.c -- the agent's syslog source, as Promtail's syslog target: one listener
 * per scrape config with a `syslog:` block; each message becomes an entry whose
 * `__syslog_*` labels (connection address and name, severity, facility, hostname,
 * app name, proc id, msg id, structured data) feed relabel_configs, after which labels
 * starting with "__" are dropped and the entry runs through the scrape config's
 * pipeline_stages into the agent's sink.
 *
 * Threads (see src_syslog_int.h): TCP is one epoll thread per listener, so a blocked
 * push client stops every read of that listener and the kernel's windows push back on
 * the senders; UDP cannot push back, so a reader thread fills a bounded queue and
 * counts what does not fit. This file: the set's lifecycle, sockets, the message path
 * and the counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/text.h"
#include "cairn/timeutil.h"
#include "ship/src_syslog_int.h"

struct cairn_syslog_set {
    struct syslog_listener *l;
    size_t n;
};

/* ---- the message path ---- */

/* Promtail's label names, in the order of enum syslog_need's bits. */
static const char *const need_names[] = {
    "__syslog_connection_ip_address", "__syslog_connection_hostname",
    "__syslog_message_severity", "__syslog_message_facility", "__syslog_message_hostname",
    "__syslog_message_app_name", "__syslog_message_proc_id", "__syslog_message_msg_id",
};

static int guard_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct syslog_listener *l = ud;
    if (e->labels.n == 0) {
        /* a stream needs a label: the store would refuse the whole batch */
        atomic_fetch_add(&l->c.dropped[DROP_NO_LABELS], 1);
        return 0;
    }
    return l->sink->emit(l->sink->ud, e);
}

static int guard_flush(void *ud)
{
    struct syslog_listener *l = ud;
    return l->sink->flush ? l->sink->flush(l->sink->ud) : 0;
}

/* The peer's name by reverse lookup (Promtail's __syslog_connection_hostname), cached:
 * a lookup blocks this listener's thread, so it is made only when a rule can read the
 * label, at most once per address and TTL. */
static const char *hostname_of(struct syslog_listener *l, const char *ip)
{
    int64_t now = cairn_mono_ns();
    struct syslog_dns *slot = &l->dns[0];
    for (size_t i = 0; i < CAIRN_SYSLOG_DNS_CACHE; i++) {
        struct syslog_dns *d = &l->dns[i];
        if (d->name && strcmp(d->ip, ip) == 0 && now - d->at < CAIRN_SYSLOG_DNS_TTL_NS)
            return d->name;
        if (!d->name || d->at < slot->at)
            slot = d; /* empty, or the oldest */
        if (!d->name)
            break;
    }
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &s6->sin6_addr);
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &s4->sin_addr);
        sl = sizeof *s4;
    }
    char host[NI_MAXHOST];
    if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, NULL, 0, NI_NAMEREQD) != 0)
        host[0] = '\0';
    char *name = strdup(host);
    if (!name)
        return "";
    free(slot->name);
    snprintf(slot->ip, sizeof slot->ip, "%s", ip);
    slot->name = name;
    slot->at = now;
    return name;
}

/* Called for each __syslog_* label of a message (name, value). Nonzero stops. */
typedef int (*label_fn)(struct syslog_listener *l, const char *name, size_t nl, const char *v,
                        size_t vl);

static int field_to(struct syslog_listener *l, label_fn fn, int k, const struct cairn_syslog_field *f)
{
    return f->p && f->len ? fn(l, need_names[k], strlen(need_names[k]), f->p, f->len) : 0;
}

static int str_to(struct syslog_listener *l, label_fn fn, int k, const char *v)
{
    return *v ? fn(l, need_names[k], strlen(need_names[k]), v, strlen(v)) : 0;
}

/* Promtail's label for an SD parameter: __syslog_message_sd_<id>_<name>, '@' (and, in
 * cairn, any byte not allowed in a label name) as '_'. */
static int sd_labels(struct syslog_listener *l, const struct cairn_syslog_msg *m, label_fn fn)
{
    struct cairn_syslog_sd_iter it;
    struct cairn_syslog_field id, name;
    cairn_syslog_sd_begin(&it, m);
    int rc;
    while ((rc = cairn_syslog_sd_next(&it, &id, &name, &l->val)) == 1) {
        cairn_buf_reset(&l->name);
        if (cairn_buf_append_str(&l->name, "__syslog_message_sd_") ||
            cairn_buf_append(&l->name, id.p, id.len) || cairn_buf_append_byte(&l->name, '_') ||
            cairn_buf_append(&l->name, name.p, name.len))
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < l->name.len; i++) {
            char c = l->name.data[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
                l->name.data[i] = '_';
        }
        /* PARAM-VALUE is UTF-8 (RFC 5424 6.3.3): a value that is not would make the
         * store refuse the whole batch, so it gives no label */
        if (l->val.len && cairn_utf8_valid(l->val.data, l->val.len) &&
            (rc = fn(l, l->name.data, l->name.len, l->val.data, l->val.len)))
            return rc;
    }
    return rc;
}

/* Every __syslog_* label of m that some rule can read, in a fixed order. */
static int each_label(struct syslog_listener *l, const struct cairn_syslog_msg *m, const char *ip,
                      label_fn fn)
{
    unsigned need = l->need;
    int rc = 0;
    if (!rc && (need & NEED_IP))
        rc = str_to(l, fn, 0, ip);
    if (!rc && (need & NEED_HOSTNAME))
        rc = str_to(l, fn, 1, hostname_of(l, ip));
    if (!rc && (need & NEED_SEVERITY))
        rc = str_to(l, fn, 2, cairn_syslog_severity_name(m->severity));
    if (!rc && (need & NEED_FACILITY))
        rc = str_to(l, fn, 3, cairn_syslog_facility_name(m->facility));
    if (!rc && (need & NEED_MSG_HOSTNAME))
        rc = field_to(l, fn, 4, &m->host);
    if (!rc && (need & NEED_APP))
        rc = field_to(l, fn, 5, &m->app);
    if (!rc && (need & NEED_PROCID))
        rc = field_to(l, fn, 6, &m->procid);
    if (!rc && (need & NEED_MSGID))
        rc = field_to(l, fn, 7, &m->msgid);
    if (!rc && (need & NEED_SD) && l->cfg->label_structured_data && m->sd.p)
        rc = sd_labels(l, m, fn);
    return rc;
}

static int to_key(struct syslog_listener *l, const char *name, size_t nl, const char *v, size_t vl)
{
    struct cairn_buf *k = &l->key;
    return cairn_buf_append(k, name, nl) || cairn_buf_append_byte(k, '\0') ||
                   cairn_buf_append(k, v, vl) || cairn_buf_append_byte(k, '\0')
               ? CAIRN_ENOMEM
               : 0;
}

static int to_set(struct syslog_listener *l, const char *name, size_t nl, const char *v, size_t vl)
{
    return cairn_sd_labels_set(&l->sdl, name, nl, v, vl);
}

/* The entry's labels after relabel_configs: 1 keep (*out), 0 dropped, <0 error.
 * Relabelling is a pure function of the label set, so results are cached by it (the
 * labels the rules can read, in each_label's order): the same host, app and severity
 * again costs a hash and a compare instead of a label set built and rewritten. */
static int relabel(struct syslog_listener *l, const struct cairn_syslog_msg *m, const char *ip,
                   const struct cairn_labels **out)
{
    cairn_buf_reset(&l->key);
    int rc = each_label(l, m, ip, to_key);
    if (rc)
        return rc;
    uint64_t h = cairn_hash64(l->key.data ? l->key.data : "", l->key.len);
    struct syslog_rcache *c = &l->rcache[h % CAIRN_SYSLOG_RELABEL_CACHE];
    if (c->used && c->hash == h && c->key.len == l->key.len &&
        memcmp(c->key.data, l->key.data, l->key.len) == 0) {
        *out = &c->labels;
        return c->keep;
    }
    struct cairn_sd_labels *ls = &l->sdl;
    cairn_sd_labels_reset(ls);
    for (size_t i = 0; i < l->base.n && !rc; i++)
        rc = cairn_sd_labels_set(ls, l->base.v[i].name, l->base.v[i].name_len, l->base.v[i].value,
                                 l->base.v[i].value_len);
    if (!rc)
        rc = each_label(l, m, ip, to_set);
    if (rc)
        return CAIRN_ENOMEM;
    int keep = cairn_ship_relabel_apply(l->rules, l->n_rules, ls);
    if (keep < 0)
        return keep;
    c->used = 0;
    cairn_buf_reset(&c->key);
    cairn_labels_reset(&c->labels);
    if (cairn_buf_append(&c->key, l->key.data ? l->key.data : "", l->key.len))
        return CAIRN_ENOMEM;
    /* ls is sorted by name: so is what is left of it */
    for (size_t i = 0; keep == 1 && i < ls->n; i++) {
        if (ls->v[i].name_len >= 2 && ls->v[i].name[0] == '_' && ls->v[i].name[1] == '_')
            continue;
        if (cairn_labels_add(&c->labels, ls->v[i].name, ls->v[i].name_len, ls->v[i].value,
                             ls->v[i].value_len))
            return CAIRN_ENOMEM;
    }
    c->hash = h;
    c->keep = keep;
    c->used = 1;
    *out = &c->labels;
    return keep;
}

int cairn__syslog_handle(struct syslog_listener *l, const char *frame, size_t len, const char *ip)
{
    struct cairn_syslog_msg m;
    const char *why = "";
    if (cairn_syslog_parse(frame, len, l->cfg->syslog_format, &m, &why)) {
        atomic_fetch_add(&l->c.malformed[MAL_PARSE], 1);
        CAIRN_DEBUG("ship", "malformed syslog message", "job=%s peer=%s why=\"%s\"",
                    l->sc->job_name, ip, why);
        return 0;
    }
    if (!m.msg.p || !m.msg.len) {
        atomic_fetch_add(&l->c.empty, 1);
        return 0;
    }
    const struct cairn_labels *ls = &l->base;
    if (l->relabel) {
        int keep = relabel(l, &m, ip, &ls);
        if (keep < 0)
            return keep;
        if (keep == 0) {
            atomic_fetch_add(&l->c.dropped[DROP_RELABEL], 1);
            return 0;
        }
    }
    const char *line = m.msg.p;
    size_t ll = m.msg.len;
    if (l->cfg->use_rfc5424_message) {
        line = frame;
        ll = len;
        while (ll && (line[ll - 1] == '\n' || line[ll - 1] == '\r' || line[ll - 1] == '\0'))
            ll--;
    }
    int64_t ts;
    if (!l->cfg->use_incoming_timestamp || cairn_syslog_time(&m, &ts))
        ts = cairn_now_ns();
    int rc = cairn_ship_entry_reset(&l->entry, ls, ts, line, ll);
    if (!rc)
        rc = cairn_ship_pipeline_run(l->pipe, &l->entry, &l->guard);
    if (!rc)
        atomic_fetch_add(&l->c.entries, 1);
    return rc;
}

int cairn__syslog_tick(struct syslog_listener *l, int force)
{
    int64_t now = cairn_mono_ns();
    if (!force && now - l->last_tick < 100000000LL)
        return 0;
    l->last_tick = now;
    return cairn_ship_pipeline_tick(l->pipe, force ? INT64_MAX : now, &l->guard);
}

/* ---- building ---- */

static unsigned need_of(const char *name)
{
    for (size_t i = 0; i < sizeof need_names / sizeof need_names[0]; i++)
        if (strcmp(name, need_names[i]) == 0)
            return 1u << i;
    return strncmp(name, "__syslog_message_sd_", 20) == 0 ? NEED_SD : 0;
}

/* Which __syslog_* labels can the rules read? By name in source_labels (and the target
 * of keepequal / dropequal); labelmap reads every name. The others are dropped unread
 * after relabelling, so they are not built: no reverse lookup, no copies. */
static unsigned rules_need(const struct cairn_ship_relabel_rule *r, size_t n)
{
    unsigned need = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].action == CAIRN_RELABEL_LABELMAP)
            return NEED_ALL;
        for (size_t k = 0; k < r[i].n_sources; k++)
            need |= need_of(r[i].sources[k]);
        if (r[i].action == CAIRN_RELABEL_KEEPEQUAL || r[i].action == CAIRN_RELABEL_DROPEQUAL)
            need |= need_of(r[i].target);
    }
    return need;
}

static int open_socket(struct syslog_listener *l, const char *path, struct cairn_err *err)
{
    const char *addr = l->cfg->listen_address;
    const char *colon = strrchr(addr, ':');
    char host[256];
    size_t hl = (size_t)(colon - addr);
    if (hl && addr[0] == '[' && addr[hl - 1] == ']')
        addr++, hl -= 2;
    if (hl >= sizeof host)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.listen_address: host too long", path);
    memcpy(host, addr, hl);
    host[hl] = '\0';
    int udp = l->cfg->listen_protocol == CAIRN_SYSLOG_UDP;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
    if (gai)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.listen_address: '%s': %s", path,
                             l->cfg->listen_address, gai_strerror(gai));
    int fd = -1, e = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || (!udp && listen(fd, 128) != 0)) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return cairn_err_set(err, CAIRN_EIO, "%s.listen_address: cannot listen on %s/%s: %s",
                             path, l->cfg->listen_address, udp ? "udp" : "tcp", strerror(e));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    l->fd = fd;
    return 0;
}

static int listener_init(struct syslog_listener *l, const struct cairn_ship_scrape *sc, size_t i,
                         const struct cairn_ship_sink *sink, struct cairn_ship_metrics *metrics,
                         struct cairn_err *err)
{
    char path[96];
    l->sc = sc;
    l->cfg = &sc->syslog;
    l->sink = sink;
    l->guard = (struct cairn_ship_sink){guard_emit, guard_flush, l};
    l->fd = l->efd = -1;
    cairn_labels_init(&l->base);
    cairn_sd_labels_init(&l->sdl);
    cairn_ship_entry_init(&l->entry);
    l->name = (struct cairn_buf)CAIRN_BUF_INIT;
    l->val = (struct cairn_buf)CAIRN_BUF_INIT;
    l->key = (struct cairn_buf)CAIRN_BUF_INIT;
    l->dns = calloc(CAIRN_SYSLOG_DNS_CACHE, sizeof *l->dns);
    l->rcache = calloc(CAIRN_SYSLOG_RELABEL_CACHE, sizeof *l->rcache);
    if (!l->dns || !l->rcache)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    for (size_t k = 0; k < CAIRN_SYSLOG_RELABEL_CACHE; k++)
        cairn_labels_init(&l->rcache[k].labels);
    /* its own pipeline and rules: neither may be shared with the tailer's thread */
    snprintf(path, sizeof path, "scrape_configs[%zu].pipeline_stages", i);
    if (!(l->pipe = cairn_ship_pipeline_build(&sc->pipeline_stages, path, err)))
        return err->code ? err->code : CAIRN_EINVAL;
    cairn_ship_pipeline_set_metrics(l->pipe, metrics);
    snprintf(path, sizeof path, "scrape_configs[%zu].relabel_configs", i);
    if (!(l->rules = cairn_ship_relabel_compile(&sc->relabel_configs, path, err)))
        return err->code ? err->code : CAIRN_EINVAL;
    l->n_rules = sc->relabel_configs.n;
    l->need = rules_need(l->rules, l->n_rules);
    for (size_t k = 0; k < l->cfg->labels.n; k++) {
        const struct cairn_cfg_kv *kv = &l->cfg->labels.v[k];
        const char *v = kv->value ? kv->value : "";
        if (*v && cairn_labels_add(&l->base, kv->key, strlen(kv->key), v, strlen(v)))
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    snprintf(path, sizeof path, "scrape_configs[%zu].syslog.labels", i);
    struct cairn_err e2;
    if (cairn_labels_sort(&l->base, &e2))
        return cairn_err_set(err, CAIRN_EINVAL, "%s: %s", path, e2.msg);
    /* without rules the entry's labels are `labels:` as they are, unless some start
     * with "__": those go through the (empty) relabelling to be dropped */
    l->relabel = l->n_rules > 0;
    for (size_t k = 0; k < l->base.n; k++)
        if (l->base.v[k].name_len >= 2 && l->base.v[k].name[0] == '_' && l->base.v[k].name[1] == '_')
            l->relabel = 1;
    snprintf(path, sizeof path, "scrape_configs[%zu].syslog", i);
    if ((l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return cairn_err_set(err, CAIRN_EIO, "eventfd: %s", strerror(errno));
    int rc = open_socket(l, path, err);
    if (!rc && l->cfg->listen_protocol == CAIRN_SYSLOG_TCP)
        rc = cairn__syslog_tls_init(l, path, err);
    if (!rc && l->cfg->listen_protocol == CAIRN_SYSLOG_UDP)
        rc = cairn__syslog_udp_init(l, err);
    return rc;
}

static void listener_deinit(struct syslog_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    if (l->efd >= 0)
        close(l->efd);
    cairn__syslog_tls_free(l);
    cairn__syslog_udp_free(l);
    cairn_ship_pipeline_destroy(l->pipe);
    if (l->rules)
        cairn_ship_relabel_free(l->rules, l->n_rules);
    cairn_labels_deinit(&l->base);
    cairn_sd_labels_deinit(&l->sdl);
    cairn_ship_entry_deinit(&l->entry);
    cairn_buf_deinit(&l->name);
    cairn_buf_deinit(&l->val);
    cairn_buf_deinit(&l->key);
    for (size_t i = 0; l->rcache && i < CAIRN_SYSLOG_RELABEL_CACHE; i++) {
        cairn_buf_deinit(&l->rcache[i].key);
        cairn_labels_deinit(&l->rcache[i].labels);
    }
    free(l->rcache);
    for (size_t i = 0; l->dns && i < CAIRN_SYSLOG_DNS_CACHE; i++)
        free(l->dns[i].name);
    free(l->dns);
}

struct cairn_syslog_set *cairn_syslog_create(const struct cairn_ship_config *cfg,
                                             const struct cairn_ship_sink *sink,
                                             struct cairn_ship_metrics *metrics,
                                             struct cairn_err *err)
{
    struct cairn_syslog_set *s = calloc(1, sizeof *s);
    const struct cairn_ship_scrape *sc = cfg->scrape_configs.v;
    if (s)
        s->l = calloc(cfg->scrape_configs.n ? cfg->scrape_configs.n : 1, sizeof *s->l);
    if (!s || !s->l) {
        free(s);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfg->scrape_configs.n; i++) {
        if (!sc[i].syslog.listen_address || !*sc[i].syslog.listen_address)
            continue;
        struct syslog_listener *l = &s->l[s->n++];
        if (listener_init(l, &sc[i], i, sink, metrics, err)) {
            cairn_syslog_destroy(s);
            return NULL;
        }
        CAIRN_INFO("ship", "syslog listening", "job=%s address=%s protocol=%s port=%d tls=%d",
                   sc[i].job_name, sc[i].syslog.listen_address,
                   sc[i].syslog.listen_protocol == CAIRN_SYSLOG_UDP ? "udp" : "tcp", l->port,
                   l->tls != NULL);
    }
    return s;
}

size_t cairn_syslog_count(const struct cairn_syslog_set *s)
{
    return s ? s->n : 0;
}

int cairn_syslog_port(const struct cairn_syslog_set *s, size_t i)
{
    return s && i < s->n ? s->l[i].port : 0;
}

int cairn_syslog_start(struct cairn_syslog_set *s)
{
    for (size_t i = 0; s && i < s->n; i++) {
        struct syslog_listener *l = &s->l[i];
        int udp = l->cfg->listen_protocol == CAIRN_SYSLOG_UDP;
        if (pthread_create(&l->thr, NULL, udp ? cairn__syslog_udp_main : cairn__syslog_tcp_main,
                           l) != 0)
            return CAIRN_EIO;
        l->thr_started = 1;
        if (udp) {
            if (pthread_create(&l->reader, NULL, cairn__syslog_udp_reader, l) != 0)
                return CAIRN_EIO;
            l->reader_started = 1;
        }
    }
    return 0;
}

void cairn_syslog_stop(struct cairn_syslog_set *s)
{
    for (size_t i = 0; s && i < s->n; i++) {
        atomic_store(&s->l[i].stop, 1);
        uint64_t one = 1;
        ssize_t w = write(s->l[i].efd, &one, sizeof one);
        (void)w; /* full or closed: the threads see stop anyway */
    }
}

void cairn_syslog_destroy(struct cairn_syslog_set *s)
{
    if (!s)
        return;
    cairn_syslog_stop(s);
    for (size_t i = 0; i < s->n; i++) {
        if (s->l[i].reader_started)
            pthread_join(s->l[i].reader, NULL);
        if (s->l[i].thr_started)
            pthread_join(s->l[i].thr, NULL);
        listener_deinit(&s->l[i]);
    }
    free(s->l);
    free(s);
}

/* ---- metrics ---- */

#define LD(x) ((unsigned long long)atomic_load(&(x)))

int cairn_syslog_drops_write(struct cairn_syslog_set *s, struct cairn_buf *out)
{
    int rc = 0;
    for (size_t i = 0; s && i < s->n; i++)
        rc |= cairn_ship_pipeline_drops_write(s->l[i].pipe, s->l[i].sc->job_name, out);
    return rc ? CAIRN_ENOMEM : 0;
}

int cairn_syslog_metrics_write(struct cairn_syslog_set *s, struct cairn_buf *out)
{
    if (!s || !s->n)
        return 0;
    int rc = 0;
    unsigned long long entries = 0, errors = 0, empty = 0;
    for (size_t i = 0; i < s->n; i++) {
        entries += LD(s->l[i].c.entries);
        empty += LD(s->l[i].c.empty);
        for (int k = 0; k < MAL_KINDS; k++)
            errors += LD(s->l[i].c.malformed[k]);
    }
    /* Promtail's names, over every listener */
    rc |= cairn_buf_appendf(out, "# TYPE promtail_syslog_target_entries_total counter\n"
                            "promtail_syslog_target_entries_total %llu\n"
                            "# TYPE promtail_syslog_target_parsing_errors_total counter\n"
                            "promtail_syslog_target_parsing_errors_total %llu\n"
                            "# TYPE promtail_syslog_empty_messages_total counter\n"
                            "promtail_syslog_empty_messages_total %llu\n",
                            entries, errors, empty);
    static const char *const mal[MAL_KINDS] = {"parse", "oversize", "octet_count"};
    static const char *const drop[DROP_KINDS] = {"queue_full", "kernel", "relabel", "no_labels"};
    static const struct { const char *name, *type; size_t off; } one[] = {
        {"cairn_ship_syslog_entries_total", "counter", offsetof(struct syslog_counters, entries)},
        {"cairn_ship_syslog_empty_messages_total", "counter", offsetof(struct syslog_counters, empty)},
        {"cairn_ship_syslog_connections_total", "counter", offsetof(struct syslog_counters, accepted)},
        {"cairn_ship_syslog_connections_rejected_total", "counter",
         offsetof(struct syslog_counters, rejected)},
        {"cairn_ship_syslog_connections_idle_closed_total", "counter",
         offsetof(struct syslog_counters, idle_closed)},
        {"cairn_ship_syslog_tls_errors_total", "counter", offsetof(struct syslog_counters, tls_errors)},
    };
    for (size_t k = 0; k < sizeof one / sizeof one[0]; k++) {
        rc |= cairn_buf_appendf(out, "# TYPE %s %s\n", one[k].name, one[k].type);
        for (size_t i = 0; i < s->n; i++) {
            atomic_ullong *v = (atomic_ullong *)((char *)&s->l[i].c + one[k].off);
            rc |= cairn_buf_appendf(out, "%s{job=\"%s\"} %llu\n", one[k].name,
                                    s->l[i].sc->job_name, LD(*v));
        }
    }
    rc |= cairn_buf_append_str(out, "# TYPE cairn_ship_syslog_connections_open gauge\n");
    for (size_t i = 0; i < s->n; i++)
        rc |= cairn_buf_appendf(out, "cairn_ship_syslog_connections_open{job=\"%s\"} %lld\n",
                                s->l[i].sc->job_name, (long long)atomic_load(&s->l[i].c.open));
    rc |= cairn_buf_append_str(out, "# TYPE cairn_ship_syslog_malformed_total counter\n");
    for (size_t i = 0; i < s->n; i++)
        for (int k = 0; k < MAL_KINDS; k++)
            rc |= cairn_buf_appendf(out, "cairn_ship_syslog_malformed_total{job=\"%s\",reason=\"%s\"} "
                                    "%llu\n", s->l[i].sc->job_name, mal[k],
                                    LD(s->l[i].c.malformed[k]));
    rc |= cairn_buf_append_str(out, "# TYPE cairn_ship_syslog_dropped_total counter\n");
    for (size_t i = 0; i < s->n; i++)
        for (int k = 0; k < DROP_KINDS; k++)
            rc |= cairn_buf_appendf(out, "cairn_ship_syslog_dropped_total{job=\"%s\",reason=\"%s\"} "
                                    "%llu\n", s->l[i].sc->job_name, drop[k],
                                    LD(s->l[i].c.dropped[k]));
    return rc ? CAIRN_ENOMEM : 0;
}
