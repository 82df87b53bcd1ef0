/* gen.c -- bench_gen: the deterministic benchmark corpus (same flags, same bytes).
 *
 * A cluster's logs over a time span: Kubernetes Events as eventrouter prints them, JSON
 * and logfmt application logs, nginx-ingress and envoy access logs, spread over
 * --streams label sets with skewed rates (a few chatty pods, many quiet ones). Lines
 * are drawn until --bytes of line bytes exist; timestamps rise with the bytes written,
 * so the corpus covers [start, start + span) evenly and every stream is in order.
 *
 * Output (--emit): `bin` the corpus file of corpus.h (what bench_push reads), `text`
 * `labels<TAB>ts<TAB>line`, `lines` the bare lines, `cri` a /var/log/pods tree in CRI
 * format and `files` plain per-container files (for the agent benchmarks). Statistics
 * go to stderr. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "corpus.h"
#include "gen_lines.h"

#define LINE_CAP (64 * 1024)

enum emit { EMIT_BIN, EMIT_TEXT, EMIT_LINES, EMIT_CRI, EMIT_FILES };

struct opts {
    uint64_t bytes;
    unsigned streams;
    uint64_t seed;
    int64_t start_ns;
    int64_t span_ns;
    unsigned kinds; /* bit per CORPUS_K_* */
    enum emit emit;
    const char *output; /* file (bin, text, lines) or directory (cri); NULL: stdout */
    int quiet;
};

static const char *const KIND_NAME[CORPUS_K_COUNT] = {"events", "json", "logfmt", "access"};
/* Share of line bytes per kind, and the mean line length that turns it into a rate. */
static const double KIND_SHARE[CORPUS_K_COUNT] = {0.12, 0.33, 0.33, 0.22};
static const double KIND_MEAN_LEN[CORPUS_K_COUNT] = {1140, 306, 215, 331};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_gen [options]\n"
            "Writes a deterministic log corpus: the same options give the same bytes.\n\n"
            "  --bytes N        line bytes to generate (suffix k M G = 10^3.., Ki Mi Gi)"
            " [200M]\n"
            "  --streams N      number of streams (label sets) [2000]\n"
            "  --seed N         PRNG seed [1]\n"
            "  --start-ns N     first timestamp, unix ns, or 'now' (the span ends within\n"
            "                   the last hour; not reproducible across hours)"
            " [1764547200000000000 = 2025-12-01T00:00:00Z]\n"
            "  --span D         time span the timestamps cover (e.g. 24h, 90m, 3600s) [24h]\n"
            "  --kinds LIST     comma list of events,json,logfmt,access, or all [all]\n"
            "                   (--format is the same option)\n"
            "  --emit FORMAT    bin | text | lines | cri | files [bin]\n"
            "                   bin: the corpus file bench_push reads (see corpus.h)\n"
            "                   text: labels<TAB>unix-ns<TAB>line per line\n"
            "                   lines: the lines only\n"
            "                   cri: a /var/log/pods tree under -o DIR, CRI format\n"
            "                   files: plain log files under -o DIR, one per container\n"
            "                   (<namespace>_<pod>_<container>.log; events in eventrouter.log)\n"
            "  -o, --output P   output file (directory for cri) [stdout]\n"
            "  -q, --quiet      no statistics on stderr\n"
            "  -h, --help       this text\n");
}

/* 200M, 1.5G, 64Ki, 1000 */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    double m = 1;
    if (*end) {
        int bin = end[1] == 'i' || end[1] == 'I';
        double base = bin ? 1024 : 1000;
        switch (*end) {
        case 'k': case 'K': m = base; break;
        case 'm': case 'M': m = base * base; break;
        case 'g': case 'G': m = base * base * base; break;
        default: return -1;
        }
        end += bin ? 2 : 1;
        if (*end == 'B' || *end == 'b')
            end++;
        if (*end)
            return -1;
    }
    *out = (uint64_t)(v * m);
    return 0;
}

/* Go-style durations made of h, m, s, ms parts: 24h, 1h30m, 90s. */
static int parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || v < 0)
            return -1;
        double unit;
        if (!strncmp(end, "ms", 2)) {
            unit = 1e6;
            end += 2;
        } else if (*end == 'h') {
            unit = 3600e9;
            end++;
        } else if (*end == 'm') {
            unit = 60e9;
            end++;
        } else if (*end == 's') {
            unit = 1e9;
            end++;
        } else {
            return -1;
        }
        total += (int64_t)(v * unit);
        s = end;
    }
    *out = total;
    return 0;
}

static int parse_kinds(const char *s, unsigned *out)
{
    if (!strcmp(s, "all")) {
        *out = (1u << CORPUS_K_COUNT) - 1;
        return 0;
    }
    unsigned k = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        int found = 0;
        for (unsigned i = 0; i < CORPUS_K_COUNT; i++) {
            if (strlen(KIND_NAME[i]) == n && !strncmp(s, KIND_NAME[i], n)) {
                k |= 1u << i;
                found = 1;
            }
        }
        if (!found)
            return -1;
        s += n;
        if (*s == ',')
            s++;
    }
    if (!k)
        return -1;
    *out = k;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.bytes = 200000000, .streams = 2000, .seed = 1,
                       .start_ns = 1764547200000000000LL, .span_ns = 86400000000000LL,
                       .kinds = (1u << CORPUS_K_COUNT) - 1, .emit = EMIT_BIN};
    const char *start = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_gen: %s needs a value (or is unknown)\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--bytes")) {
            bad = parse_size(v, &o->bytes) || o->bytes == 0;
        } else if (!strcmp(a, "--streams")) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            bad = *end || n == 0 || n > 1000000;
            o->streams = (unsigned)n;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            o->seed = strtoull(v, &end, 10);
            bad = *end != '\0';
        } else if (!strcmp(a, "--start-ns")) {
            start = v;
        } else if (!strcmp(a, "--span")) {
            bad = parse_duration(v, &o->span_ns) || o->span_ns <= 0;
        } else if (!strcmp(a, "--kinds") || !strcmp(a, "--format")) {
            bad = parse_kinds(v, &o->kinds);
        } else if (!strcmp(a, "--emit")) {
            if (!strcmp(v, "bin"))
                o->emit = EMIT_BIN;
            else if (!strcmp(v, "text"))
                o->emit = EMIT_TEXT;
            else if (!strcmp(v, "lines"))
                o->emit = EMIT_LINES;
            else if (!strcmp(v, "cri"))
                o->emit = EMIT_CRI;
            else if (!strcmp(v, "files"))
                o->emit = EMIT_FILES;
            else
                bad = 1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            o->output = v;
        } else {
            fprintf(stderr, "bench_gen: unknown option %s (try --help)\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "bench_gen: bad value for %s: '%s'\n", a, v);
            return -1;
        }
    }
    if (start && !strcmp(start, "now")) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        int64_t hour = 3600000000000LL;
        o->start_ns = (now - o->span_ns) / hour * hour;
    } else if (start) {
        char *end;
        errno = 0;
        o->start_ns = strtoll(start, &end, 10);
        if (errno || *end) {
            fprintf(stderr, "bench_gen: bad value for --start-ns: '%s'\n", start);
            return -1;
        }
    }
    if ((o->emit == EMIT_CRI || o->emit == EMIT_FILES) && !o->output) {
        fprintf(stderr, "bench_gen: --emit cri and --emit files need -o DIR\n");
        return -1;
    }
    return 0;
}

/* ---- the streams ---- */

static void stream_labels(const struct gen *g, const struct gstream *s, struct line_w *w)
{
    if (s->kind == CORPUS_K_EVENTS) {
        const struct reason_def *rd = &REASONS[s->reason];
        W_LIT(w, "{job=\"events\", kind=\"");
        w_str(w, OBJ_KIND_NAME[rd->obj]);
        W_LIT(w, "\", namespace=\"");
        w_namespace(w, s->ns);
        W_LIT(w, "\", reason=\"");
        w_str(w, rd->reason);
        W_LIT(w, "\", source=\"");
        w_str(w, rd->component);
        W_LIT(w, "\", type=\"");
        w_str(w, rd->type);
        W_LIT(w, "\"}");
        return;
    }
    W_LIT(w, "{app=\"");
    w_str(w, APPS[s->app].name);
    W_LIT(w, "\", container=\"");
    w_str(w, s->sidecar ? "istio-proxy" : APPS[s->app].name);
    W_LIT(w, "\", job=\"");
    w_namespace(w, s->ns);
    w_ch(w, '/');
    w_str(w, APPS[s->app].name);
    W_LIT(w, "\", namespace=\"");
    w_namespace(w, s->ns);
    W_LIT(w, "\", pod=\"");
    w_pod(w, g->seed, s->ns, s->app, s->rep);
    W_LIT(w, "\", stream=\"");
    w_str(w, s->is_stderr ? "stderr" : "stdout");
    W_LIT(w, "\"}");
}

static unsigned kind_of_app(unsigned app)
{
    switch (APPS[app].fmt) {
    case FMT_JSON: return CORPUS_K_JSON;
    case FMT_LOGFMT: return CORPUS_K_LOGFMT;
    default: return CORPUS_K_ACCESS;
    }
}

/* Enumerate n streams: events per (namespace, reason), then app containers per
 * (namespace, app, replica, container, stdout/stderr), skipping disabled kinds. */
static void build_streams(struct gen *g, const struct opts *o, struct gstream *st)
{
    unsigned others = o->kinds & ~(1u << CORPUS_K_EVENTS);
    unsigned n_ev = 0, n = 0;
    if (o->kinds & (1u << CORPUS_K_EVENTS))
        n_ev = others ? (o->streams / 10 ? o->streams / 10 : 1) : o->streams;
    for (unsigned ns = 0; n < n_ev; ns++) {
        for (unsigned r = 0; r < NREASONS && n < n_ev; r++) {
            if (REASONS[r].obj == OBJ_NODE && ns != 0)
                continue; /* node events live in "default" */
            st[n++] = (struct gstream){.kind = CORPUS_K_EVENTS, .ns = ns, .reason = r};
        }
    }
    for (unsigned ns = 0; n < o->streams; ns++) {
        for (unsigned j = 0; j < APPS_PER_NS && n < o->streams; j++) {
            unsigned app = ns_app(ns, j);
            unsigned k = kind_of_app(app);
            unsigned reps = app_replicas(g->seed, ns, app);
            for (unsigned rep = 0; rep < reps && n < o->streams; rep++) {
                struct gstream s = {.kind = k, .ns = ns, .app = app, .rep = rep};
                if (o->kinds & (1u << k)) {
                    st[n++] = s;
                    if (app_has_stderr(g->seed, ns, app) && n < o->streams) {
                        s.is_stderr = 1;
                        st[n++] = s;
                    }
                }
                if (app_has_sidecar(g->seed, ns, app) && n < o->streams &&
                    (o->kinds & (1u << CORPUS_K_ACCESS))) {
                    st[n++] = (struct gstream){.kind = CORPUS_K_ACCESS, .ns = ns, .app = app,
                                               .rep = rep, .sidecar = 1};
                }
            }
        }
    }
}

/* Lines per second of each stream: each kind gets its share of bytes, split over its
 * streams with a log-normal skew; no stream falls below a tenth of the mean. */
static void assign_weights(struct gen *g, const struct opts *o, struct gstream *st,
                           double *cum)
{
    double fsum[CORPUS_K_COUNT] = {0}, share_sum = 0;
    for (unsigned k = 0; k < CORPUS_K_COUNT; k++)
        if (o->kinds & (1u << k))
            share_sum += KIND_SHARE[k];
    for (unsigned i = 0; i < o->streams; i++) {
        struct gstream *s = &st[i];
        double f = rng_lognormal(&g->rng, 1.0, s->kind == CORPUS_K_EVENTS ? 0.5 : 1.0);
        if (s->kind == CORPUS_K_EVENTS)
            f *= REASONS[s->reason].weight;
        if (s->is_stderr)
            f *= 0.08;
        s->weight = f;
        fsum[s->kind] += f;
    }
    double total = 0;
    for (unsigned i = 0; i < o->streams; i++) {
        struct gstream *s = &st[i];
        s->weight = KIND_SHARE[s->kind] / share_sum / KIND_MEAN_LEN[s->kind] *
                    s->weight / fsum[s->kind];
        total += s->weight;
    }
    double floor = 0.1 * total / o->streams, acc = 0;
    for (unsigned i = 0; i < o->streams; i++) {
        if (st[i].weight < floor)
            st[i].weight = floor;
        acc += st[i].weight;
        cum[i] = acc;
    }
}

static unsigned pick_stream(struct gen *g, const double *cum, unsigned n)
{
    double x = rng_unit(&g->rng) * cum[n - 1];
    unsigned lo = 0, hi = n - 1;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- outputs ---- */

struct out {
    enum emit emit;
    FILE *f;            /* bin, text, lines */
    FILE **files;       /* cri, files: per stream (stdout and stderr share one) */
    char **labels;      /* per stream, NUL-terminated */
    uint32_t *label_len;
};

static int mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

/* One file per container: for cri the tree <ns>_<pod>_<uid>/<container>/0.log, all
 * events in one eventrouter pod in kube-system as in a cluster running eventrouter; for
 * files <ns>_<pod>_<container>.log and eventrouter.log in dir. */
static int open_files(struct out *out, const struct gen *g, const struct gstream *st,
                      unsigned n, const char *dir)
{
    int plain = out->emit == EMIT_FILES;
    if (plain && mkdirs(dir) != 0) {
        fprintf(stderr, "bench_gen: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    FILE *events = NULL;
    for (unsigned i = 0; i < n; i++) {
        const struct gstream *s = &st[i];
        if (s->kind == CORPUS_K_EVENTS && events) {
            out->files[i] = events;
            continue;
        }
        if (s->is_stderr && i > 0 && out->files[i - 1]) { /* stdout's file, just before */
            out->files[i] = out->files[i - 1];
            continue;
        }
        char path[4096];
        struct line_w w = {path, path + sizeof path - 64};
        w_str(&w, dir);
        w_ch(&w, '/');
        unsigned ns = s->ns, app = s->app, rep = s->rep;
        const char *container = s->sidecar ? "istio-proxy" : APPS[app].name;
        if (plain) {
            if (s->kind == CORPUS_K_EVENTS) {
                W_LIT(&w, "eventrouter.log");
            } else {
                w_namespace(&w, ns);
                w_ch(&w, '_');
                w_pod(&w, g->seed, ns, app, rep);
                w_ch(&w, '_');
                w_str(&w, container);
                W_LIT(&w, ".log");
            }
            *w.p = '\0';
        } else if (s->kind == CORPUS_K_EVENTS) {
            W_LIT(&w, "kube-system_eventrouter-");
            w_k8s_suffix(&w, mix4(g->seed, 40, 0, 0), 10);
            W_LIT(&w, "-");
            w_k8s_suffix(&w, mix4(g->seed, 41, 0, 0), 5);
            w_ch(&w, '_');
            w_uuid(&w, mix4(g->seed, 42, 0, 0), mix4(g->seed, 43, 0, 0));
            container = "eventrouter";
        } else {
            w_namespace(&w, ns);
            w_ch(&w, '_');
            w_pod(&w, g->seed, ns, app, rep);
            w_ch(&w, '_');
            w_pod_uid(&w, g->seed, ns, app, rep);
        }
        if (!plain) {
            w_ch(&w, '/');
            w_str(&w, container);
            *w.p = '\0';
            if (mkdirs(path) != 0) {
                fprintf(stderr, "bench_gen: cannot create %s: %s\n", path, strerror(errno));
                return -1;
            }
            W_LIT(&w, "/0.log");
            *w.p = '\0';
        }
        out->files[i] = fopen(path, "w");
        if (!out->files[i]) {
            fprintf(stderr, "bench_gen: cannot create %s: %s\n", path, strerror(errno));
            return -1;
        }
        if (s->kind == CORPUS_K_EVENTS)
            events = out->files[i];
    }
    return 0;
}

static void close_files(struct out *out, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        FILE *f = out->files[i];
        if (!f)
            continue;
        for (unsigned j = i; j < n; j++) /* close a shared file once */
            if (out->files[j] == f)
                out->files[j] = NULL;
        fclose(f);
    }
}

static void emit_entry(struct out *out, const struct gstream *s, uint32_t idx, int64_t ts,
                       const char *line, size_t len)
{
    switch (out->emit) {
    case EMIT_BIN: {
        unsigned char h[CORPUS_ENTRY_HEADER];
        corpus_entry_encode(h, idx, (uint32_t)len, ts);
        fwrite(h, 1, sizeof h, out->f);
        fwrite(line, 1, len, out->f);
        break;
    }
    case EMIT_TEXT: {
        char tsbuf[24];
        struct line_w w = {tsbuf, tsbuf + sizeof tsbuf};
        w_u64(&w, (uint64_t)ts);
        fwrite(out->labels[idx], 1, out->label_len[idx], out->f);
        fputc('\t', out->f);
        fwrite(tsbuf, 1, (size_t)(w.p - tsbuf), out->f);
        fputc('\t', out->f);
        fwrite(line, 1, len, out->f);
        fputc('\n', out->f);
        break;
    }
    case EMIT_LINES:
        fwrite(line, 1, len, out->f);
        fputc('\n', out->f);
        break;
    case EMIT_FILES:
        fwrite(line, 1, len, out->files[idx]);
        fputc('\n', out->files[idx]);
        break;
    case EMIT_CRI: {
        char pre[64];
        struct line_w w = {pre, pre + sizeof pre};
        w_rfc3339(&w, ts, 9);
        w_str(&w, s->is_stderr ? " stderr F " : " stdout F ");
        fwrite(pre, 1, (size_t)(w.p - pre), out->files[idx]);
        fwrite(line, 1, len, out->files[idx]);
        fputc('\n', out->files[idx]);
        break;
    }
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    int rc = 1;
    struct gen *g = calloc(1, sizeof *g);
    struct gstream *st = calloc(o.streams, sizeof *st);
    double *cum = calloc(o.streams, sizeof *cum);
    char *line = malloc(LINE_CAP);
    struct out out = {.emit = o.emit};
    out.labels = calloc(o.streams, sizeof *out.labels);
    out.label_len = calloc(o.streams, sizeof *out.label_len);
    out.files = calloc(o.streams, sizeof *out.files);
    if (!g || !st || !cum || !line || !out.labels || !out.label_len || !out.files) {
        fprintf(stderr, "bench_gen: out of memory\n");
        goto done;
    }
    g->seed = o.seed;
    rng_seed(&g->rng, o.seed);
    g->rv = 40000000 + o.seed % 1000000;
    for (; g->nrecent < RECENT_IDS; g->nrecent++) {
        g->recent[g->nrecent][0] = rng_next(&g->rng);
        g->recent[g->nrecent][1] = rng_next(&g->rng);
    }
    build_streams(g, &o, st);
    assign_weights(g, &o, st, cum);
    for (unsigned i = 0; i < o.streams; i++) {
        struct line_w w = {line, line + LINE_CAP};
        stream_labels(g, &st[i], &w);
        out.label_len[i] = (uint32_t)(w.p - line);
        out.labels[i] = malloc(out.label_len[i] + 1);
        if (!out.labels[i]) {
            fprintf(stderr, "bench_gen: out of memory\n");
            goto done;
        }
        memcpy(out.labels[i], line, out.label_len[i]);
        out.labels[i][out.label_len[i]] = '\0';
    }

    struct corpus_header h = {.version = CORPUS_VERSION, .nstreams = o.streams,
                              .start_ns = o.start_ns, .span_ns = o.span_ns,
                              .seed = o.seed, .kinds = o.kinds};
    if (o.emit == EMIT_CRI || o.emit == EMIT_FILES) {
        if (open_files(&out, g, st, o.streams, o.output) != 0)
            goto done;
    } else {
        out.f = o.output ? fopen(o.output, "wb") : stdout;
        if (!out.f) {
            fprintf(stderr, "bench_gen: cannot create %s: %s\n", o.output, strerror(errno));
            goto done;
        }
        setvbuf(out.f, NULL, _IOFBF, 4 << 20);
    }
    if (o.emit == EMIT_BIN) {
        unsigned char hb[CORPUS_HEADER_SIZE], lb[4];
        corpus_header_encode(&h, hb);
        fwrite(hb, 1, sizeof hb, out.f);
        for (unsigned i = 0; i < o.streams; i++) {
            corpus_put32(lb, out.label_len[i]);
            fwrite(lb, 1, 4, out.f);
            fwrite(out.labels[i], 1, out.label_len[i], out.f);
        }
    }

    double t0 = mono_s();
    uint64_t kind_lines[CORPUS_K_COUNT] = {0}, kind_bytes[CORPUS_K_COUNT] = {0};
    int64_t prev = o.start_ns - 1;
    while (h.line_bytes < o.bytes) {
        unsigned i = pick_stream(g, cum, o.streams);
        int64_t ts = o.start_ns + (int64_t)((double)o.span_ns * (double)h.line_bytes /
                                            (double)o.bytes);
        if (ts <= prev)
            ts = prev + 1;
        prev = ts;
        struct line_w w = {line, line + LINE_CAP};
        make_line(&w, g, &st[i], ts);
        size_t len = (size_t)(w.p - line);
        emit_entry(&out, &st[i], i, ts, line, len);
        if (h.nentries == 0)
            h.min_ts = ts;
        h.max_ts = ts;
        h.nentries++;
        h.line_bytes += len;
        kind_lines[st[i].kind]++;
        kind_bytes[st[i].kind] += len;
    }

    if (o.emit == EMIT_CRI || o.emit == EMIT_FILES) {
        close_files(&out, o.streams);
    } else {
        if (o.emit == EMIT_BIN && fseek(out.f, 0, SEEK_SET) == 0) {
            unsigned char hb[CORPUS_HEADER_SIZE];
            corpus_header_encode(&h, hb);
            fwrite(hb, 1, sizeof hb, out.f);
        }
        if (fflush(out.f) != 0 || ferror(out.f)) {
            fprintf(stderr, "bench_gen: write failed: %s\n", strerror(errno));
            goto done;
        }
    }
    double el = mono_s() - t0;
    if (!o.quiet) {
        fprintf(stderr, "bench_gen: %u streams, %llu lines, %llu line bytes (mean %.0f) "
                        "in %.2f s: %.1f MB/s, %.0f lines/s\n",
                o.streams, (unsigned long long)h.nentries, (unsigned long long)h.line_bytes,
                h.nentries ? (double)h.line_bytes / (double)h.nentries : 0.0, el,
                (double)h.line_bytes / 1e6 / el, (double)h.nentries / el);
        for (unsigned k = 0; k < CORPUS_K_COUNT; k++)
            if (kind_lines[k])
                fprintf(stderr, "bench_gen:   %-7s %9llu lines %11llu bytes (%4.1f%%), "
                                "mean %.0f\n",
                        KIND_NAME[k], (unsigned long long)kind_lines[k],
                        (unsigned long long)kind_bytes[k],
                        100.0 * (double)kind_bytes[k] / (double)h.line_bytes,
                        (double)kind_bytes[k] / (double)kind_lines[k]);
    }
    rc = 0;
done:
    if (out.f && out.f != stdout && fclose(out.f) != 0 && rc == 0) {
        fprintf(stderr, "bench_gen: write failed: %s\n", strerror(errno));
        rc = 1;
    }
    if (out.labels)
        for (unsigned i = 0; i < o.streams; i++)
            free(out.labels[i]);
    free(out.labels);
    free(out.label_len);
    free(out.files);
    free(line);
    free(cum);
    free(st);
    free(g);
    return rc;
}
