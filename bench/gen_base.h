/* gen_base.h -- bench_gen's building blocks: seeded PRNG, a bounded line writer, UTC
 * time formatting, and the cluster's names (namespaces, apps, pods, nodes, images).
 *
 * Header-only because each bench/NAME.c is its own program. Everything here is a pure
 * function of the seed and its arguments, so the same flags give the same bytes.
 * Ownership: nothing here allocates; a line_w writes into caller storage. */
#ifndef CAIRN_BENCH_GEN_BASE_H
#define CAIRN_BENCH_GEN_BASE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */

struct rng {
    uint64_t s[4];
};

static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A well-mixed hash of a seed and up to three small numbers: stable identities. */
static inline uint64_t mix4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = seed ^ (a * 0x9e3779b97f4a7c15ULL);
    uint64_t h = splitmix64(&x);
    x ^= b * 0xc2b2ae3d27d4eb4fULL;
    h ^= splitmix64(&x);
    x ^= c * 0x165667b19e3779f9ULL;
    return h ^ splitmix64(&x);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n) (multiply-shift; the bias is far below anything we measure). */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline int rng_chance(struct rng *r, double p)
{
    return rng_unit(r) < p;
}

/* Log-normal with median m: most values near m, a long tail of slow ones. */
static inline double rng_lognormal(struct rng *r, double m, double sigma)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    return m * exp(sigma * z);
}

/* Pick an index by integer weights (small tables). */
static inline unsigned rng_pick(struct rng *r, const unsigned *w, unsigned n)
{
    unsigned total = 0;
    for (unsigned i = 0; i < n; i++)
        total += w[i];
    unsigned x = rng_below(r, total);
    for (unsigned i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* ---- the line writer: appends into a fixed buffer, aborts on overflow (a bug) ---- */

struct line_w {
    char *p;
    char *end;
};

static inline void w_need(struct line_w *w, size_t n)
{
    if ((size_t)(w->end - w->p) < n) {
        fputs("bench_gen: internal error: line buffer overflow\n", stderr);
        abort();
    }
}

static inline void w_mem(struct line_w *w, const char *s, size_t n)
{
    w_need(w, n);
    memcpy(w->p, s, n);
    w->p += n;
}

/* Literals only: the "" pasting rejects anything but a string literal. */
#define W_LIT(w, s) w_mem((w), "" s "", sizeof(s) - 1)

static inline void w_str(struct line_w *w, const char *s)
{
    w_mem(w, s, strlen(s));
}

static inline void w_ch(struct line_w *w, char c)
{
    w_need(w, 1);
    *w->p++ = c;
}

static inline void w_u64(struct line_w *w, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    w_need(w, (size_t)n);
    while (n)
        *w->p++ = tmp[--n];
}

/* Zero-padded to width digits. */
static inline void w_pad(struct line_w *w, unsigned v, int width)
{
    w_need(w, (size_t)width);
    for (int i = width - 1; i >= 0; i--) {
        w->p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    w->p += width;
}

static inline void w_hex(struct line_w *w, uint64_t v, int ndigits)
{
    static const char hx[] = "0123456789abcdef";
    w_need(w, (size_t)ndigits);
    for (int i = ndigits - 1; i >= 0; i--) {
        w->p[i] = hx[v & 15];
        v >>= 4;
    }
    w->p += ndigits;
}

/* v / 10^frac with exactly frac decimals: w_fixed(w, 12345, 3) -> "12.345". */
static inline void w_fixed(struct line_w *w, uint64_t v, int frac)
{
    uint64_t div = 1;
    for (int i = 0; i < frac; i++)
        div *= 10;
    w_u64(w, v / div);
    w_ch(w, '.');
    w_pad(w, (unsigned)(v % div), frac);
}

/* A UUID-shaped identifier (version 4 layout) from two 64-bit values. */
static inline void w_uuid(struct line_w *w, uint64_t hi, uint64_t lo)
{
    w_hex(w, hi >> 32, 8);
    w_ch(w, '-');
    w_hex(w, (hi >> 16) & 0xffff, 4);
    w_ch(w, '-');
    w_hex(w, 0x4000 | (hi & 0x0fff), 4);
    w_ch(w, '-');
    w_hex(w, 0x8000 | ((lo >> 48) & 0x3fff), 4);
    w_ch(w, '-');
    w_hex(w, lo & 0xffffffffffffULL, 12);
}

/* s escaped for the inside of a JSON string (no quotes added). */
static inline void w_json_esc(struct line_w *w, const char *s, size_t n)
{
    w_need(w, n * 2);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"' || c == '\\')
            *w->p++ = '\\';
        *w->p++ = c;
    }
}

/* Kubernetes' name alphabet for generated suffixes (no vowels, no lookalikes). */
static inline void w_k8s_suffix(struct line_w *w, uint64_t h, int n)
{
    static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
    w_need(w, (size_t)n);
    for (int i = 0; i < n; i++) {
        *w->p++ = al[h % 27];
        h /= 27;
    }
}

/* ---- UTC time ---- */

struct civil {
    int year;
    unsigned mon, day, hour, min, sec;
};

/* Unix nanoseconds to a UTC date and time: days since 1970-01-01 to a proleptic
 * Gregorian date by the 400-year era arithmetic of "chrono-compatible low-level date
 * algorithms". */
static inline void civil_from_ns(int64_t ns, struct civil *c)
{
    int64_t secs = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    c->hour = (unsigned)(sod / 3600);
    c->min = (unsigned)(sod / 60 % 60);
    c->sec = (unsigned)(sod % 60);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    c->mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    c->year = (int)(yoe + era * 400 + (c->mon <= 2));
}

static inline unsigned ns_frac(int64_t ns, int digits)
{
    int64_t f = ns % 1000000000;
    if (f < 0)
        f += 1000000000;
    for (int i = digits; i < 9; i++)
        f /= 10;
    return (unsigned)f;
}

/* 2026-11-24T10:00:00Z, or with digits (3, 6, 9) of fraction: ...00.123Z */
static inline void w_rfc3339(struct line_w *w, int64_t ns, int digits)
{
    struct civil c;
    civil_from_ns(ns, &c);
    w_pad(w, (unsigned)c.year, 4);
    w_ch(w, '-');
    w_pad(w, c.mon, 2);
    w_ch(w, '-');
    w_pad(w, c.day, 2);
    w_ch(w, 'T');
    w_pad(w, c.hour, 2);
    w_ch(w, ':');
    w_pad(w, c.min, 2);
    w_ch(w, ':');
    w_pad(w, c.sec, 2);
    if (digits) {
        w_ch(w, '.');
        w_pad(w, ns_frac(ns, digits), digits);
    }
    w_ch(w, 'Z');
}

/* nginx's $time_local in UTC: 24/Nov/2026:10:00:00 +0000 */
static inline void w_clf_time(struct line_w *w, int64_t ns)
{
    static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct civil c;
    civil_from_ns(ns, &c);
    w_pad(w, c.day, 2);
    w_ch(w, '/');
    w_mem(w, mon[c.mon - 1], 3);
    w_ch(w, '/');
    w_pad(w, (unsigned)c.year, 4);
    w_ch(w, ':');
    w_pad(w, c.hour, 2);
    w_ch(w, ':');
    w_pad(w, c.min, 2);
    w_ch(w, ':');
    w_pad(w, c.sec, 2);
    W_LIT(w, " +0000");
}

/* ---- the cluster: names are pure functions of (seed, indices) ---- */

enum app_format { FMT_JSON, FMT_LOGFMT, FMT_ACCESS };

struct app_def {
    const char *name;
    enum app_format fmt;
    unsigned port;
};

static const struct app_def APPS[] = {
    {"checkout", FMT_JSON, 8080},        {"payments", FMT_LOGFMT, 8443},
    {"frontend", FMT_ACCESS, 80},        {"cart", FMT_JSON, 8080},
    {"search", FMT_LOGFMT, 9200},        {"orders", FMT_JSON, 8080},
    {"api-gateway", FMT_ACCESS, 8000},   {"auth", FMT_JSON, 9000},
    {"notifications", FMT_LOGFMT, 8080}, {"inventory", FMT_JSON, 8080},
    {"shipping", FMT_LOGFMT, 8080},      {"recommendations", FMT_JSON, 5000},
    {"web", FMT_ACCESS, 80},             {"billing", FMT_LOGFMT, 8080},
    {"user-profile", FMT_JSON, 8080},    {"ledger", FMT_LOGFMT, 7070},
    {"catalog", FMT_JSON, 8080},         {"scheduler", FMT_LOGFMT, 8080},
    {"ingress-nginx-controller", FMT_ACCESS, 443},
    {"pricing", FMT_JSON, 8080},         {"prometheus", FMT_LOGFMT, 9090},
    {"fraud-detector", FMT_JSON, 8500},  {"grafana", FMT_LOGFMT, 3000},
    {"session", FMT_JSON, 6000},         {"alertmanager", FMT_LOGFMT, 9093},
    {"admin-ui", FMT_ACCESS, 80},        {"graphql-gateway", FMT_JSON, 4000},
    {"kafka-exporter", FMT_LOGFMT, 9308}, {"static-assets", FMT_ACCESS, 80},
    {"reviews", FMT_JSON, 9080},
};
#define NAPPS (sizeof APPS / sizeof APPS[0])
#define APPS_PER_NS 8u
#define NNODES 24u

static const char *const NAMESPACES[] = {
    "default",       "kube-system",   "payments",      "checkout",    "storefront",
    "identity",      "search",        "logistics",     "monitoring",  "ingress-nginx",
    "data-pipeline", "ml-serving",    "notifications", "platform",    "cert-manager",
    "argocd",
};
#define NNAMED_NS (sizeof NAMESPACES / sizeof NAMESPACES[0])

static inline void w_namespace(struct line_w *w, unsigned ns)
{
    if (ns < NNAMED_NS) {
        w_str(w, NAMESPACES[ns]);
    } else {
        unsigned t = ns - (unsigned)NNAMED_NS;
        W_LIT(w, "team-");
        if (t < 1000)
            w_pad(w, t, 3);
        else
            w_u64(w, t);
    }
}

/* The j-th app of namespace ns (distinct within a namespace). */
static inline unsigned ns_app(unsigned ns, unsigned j)
{
    return (ns * 7u + j) % (unsigned)NAPPS;
}

static inline unsigned app_replicas(uint64_t seed, unsigned ns, unsigned app)
{
    return 2 + (unsigned)(mix4(seed, 11, ns, app) % 7);
}

static inline int app_has_sidecar(uint64_t seed, unsigned ns, unsigned app)
{
    return mix4(seed, 12, ns, app) % 100 < 35;
}

static inline int app_has_stderr(uint64_t seed, unsigned ns, unsigned app)
{
    return APPS[app].fmt != FMT_ACCESS && mix4(seed, 13, ns, app) % 100 < 25;
}

/* The ReplicaSet name: app-<10 chars> */
static inline void w_replicaset(struct line_w *w, uint64_t seed, unsigned ns, unsigned app)
{
    w_str(w, APPS[app].name);
    w_ch(w, '-');
    w_k8s_suffix(w, mix4(seed, 14, ns, app), 10);
}

/* The pod name: app-<10>-<5>, as a Deployment names them. */
static inline void w_pod(struct line_w *w, uint64_t seed, unsigned ns, unsigned app, unsigned rep)
{
    w_replicaset(w, seed, ns, app);
    w_ch(w, '-');
    w_k8s_suffix(w, mix4(seed, 15, ns, (uint64_t)app << 16 | rep), 5);
}

static inline void w_pod_uid(struct line_w *w, uint64_t seed, unsigned ns, unsigned app,
                             unsigned rep)
{
    uint64_t k = (uint64_t)app << 16 | rep;
    w_uuid(w, mix4(seed, 16, ns, k), mix4(seed, 17, ns, k));
}

static inline void w_node(struct line_w *w, unsigned node)
{
    W_LIT(w, "ip-10-0-");
    w_u64(w, 16 + node / 8 * 16);
    w_ch(w, '-');
    w_u64(w, 11 + node * 23 % 200);
    W_LIT(w, ".eu-west-1.compute.internal");
}

static inline unsigned pod_node(uint64_t seed, unsigned ns, unsigned app, unsigned rep)
{
    return (unsigned)(mix4(seed, 18, ns, (uint64_t)app << 16 | rep) % NNODES);
}

static inline void w_pod_ip(struct line_w *w, uint64_t seed, unsigned ns, unsigned app,
                            unsigned rep)
{
    uint64_t h = mix4(seed, 19, ns, (uint64_t)app << 16 | rep);
    W_LIT(w, "10.");
    w_u64(w, 100 + h % 4);
    w_ch(w, '.');
    w_u64(w, (h >> 8) % 256);
    w_ch(w, '.');
    w_u64(w, 2 + (h >> 16) % 250);
}

static inline void w_image(struct line_w *w, uint64_t seed, unsigned ns, unsigned app)
{
    uint64_t h = mix4(seed, 20, ns, app);
    W_LIT(w, "registry.example.com/");
    w_namespace(w, ns);
    w_ch(w, '/');
    w_str(w, APPS[app].name);
    W_LIT(w, ":v1.");
    w_u64(w, h % 60);
    w_ch(w, '.');
    w_u64(w, (h >> 8) % 20);
}

#endif
