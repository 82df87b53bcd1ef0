/* corpus.h -- the benchmark corpus file: what bench_gen writes and bench_push reads.
 *
 * Header-only (each bench/NAME.c is its own program, each one file), little-endian:
 *
 *   header, 80 bytes:
 *     0  magic "CAIRNCB1"          8  u32 version (1)     12 u32 nstreams
 *     16 u64 nentries              24 u64 line bytes (sum of line lengths)
 *     32 i64 start_ns (asked)      40 i64 span_ns (asked)
 *     48 i64 min ts                56 i64 max ts
 *     64 u64 seed                  72 u32 kinds mask      76 u32 reserved (0)
 *   streams, nstreams times: u32 length, label set text `{a="b", c="d"}` (canonical)
 *   entries, in timestamp order: u32 stream index, u32 line length, i64 ts (unix ns),
 *     the line bytes (no newline).
 *
 * When the writer could not seek back (a pipe), nentries and line bytes are 0 and the
 * reader counts them. Ownership: a corpus_map owns its mapping and stream table;
 * corpus_unmap releases both; entry views point into the mapping. */
#ifndef CAIRN_BENCH_CORPUS_H
#define CAIRN_BENCH_CORPUS_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CORPUS_MAGIC "CAIRNCB1"
#define CORPUS_VERSION 1u
#define CORPUS_HEADER_SIZE 80u
#define CORPUS_ENTRY_HEADER 16u

/* Kinds of streams, a bit each in the header's kinds mask. */
enum corpus_kind {
    CORPUS_K_EVENTS = 0, /* eventrouter JSON lines of core/v1 Events */
    CORPUS_K_JSON = 1,   /* application logs, one JSON object per line */
    CORPUS_K_LOGFMT = 2, /* application logs in logfmt */
    CORPUS_K_ACCESS = 3, /* nginx ingress and envoy access logs */
    CORPUS_K_COUNT = 4,
};

struct corpus_header {
    uint32_t version;
    uint32_t nstreams;
    uint64_t nentries;
    uint64_t line_bytes;
    int64_t start_ns;
    int64_t span_ns;
    int64_t min_ts;
    int64_t max_ts;
    uint64_t seed;
    uint32_t kinds;
};

static inline void corpus_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void corpus_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t corpus_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t corpus_get64(const unsigned char *p)
{
    return (uint64_t)corpus_get32(p) | (uint64_t)corpus_get32(p + 4) << 32;
}

static inline void corpus_header_encode(const struct corpus_header *h,
                                        unsigned char out[CORPUS_HEADER_SIZE])
{
    memset(out, 0, CORPUS_HEADER_SIZE);
    memcpy(out, CORPUS_MAGIC, 8);
    corpus_put32(out + 8, h->version);
    corpus_put32(out + 12, h->nstreams);
    corpus_put64(out + 16, h->nentries);
    corpus_put64(out + 24, h->line_bytes);
    corpus_put64(out + 32, (uint64_t)h->start_ns);
    corpus_put64(out + 40, (uint64_t)h->span_ns);
    corpus_put64(out + 48, (uint64_t)h->min_ts);
    corpus_put64(out + 56, (uint64_t)h->max_ts);
    corpus_put64(out + 64, h->seed);
    corpus_put32(out + 72, h->kinds);
}

/* One entry's header, written before its line bytes. */
static inline void corpus_entry_encode(unsigned char out[CORPUS_ENTRY_HEADER], uint32_t stream,
                                       uint32_t len, int64_t ts)
{
    corpus_put32(out, stream);
    corpus_put32(out + 4, len);
    corpus_put64(out + 8, (uint64_t)ts);
}

struct corpus_stream {
    const char *labels; /* not NUL-terminated */
    uint32_t len;
};

struct corpus_map {
    struct corpus_header h;
    const unsigned char *base;
    size_t size;
    struct corpus_stream *streams; /* h.nstreams of them */
    size_t entries_off;            /* offset of the first entry */
};

struct corpus_entry {
    uint32_t stream;
    uint32_t len;
    int64_t ts;
    const char *line;
};

/* Decode the entry at *off and advance *off. Returns 1 on an entry, 0 at the end,
 * -1 if the file is truncated or the entry names a stream that does not exist. */
static inline int corpus_next(const struct corpus_map *m, size_t *off, struct corpus_entry *e)
{
    if (*off == m->size)
        return 0;
    if (m->size - *off < CORPUS_ENTRY_HEADER)
        return -1;
    const unsigned char *p = m->base + *off;
    e->stream = corpus_get32(p);
    e->len = corpus_get32(p + 4);
    e->ts = (int64_t)corpus_get64(p + 8);
    if (e->stream >= m->h.nstreams || m->size - *off - CORPUS_ENTRY_HEADER < e->len)
        return -1;
    e->line = (const char *)p + CORPUS_ENTRY_HEADER;
    *off += CORPUS_ENTRY_HEADER + e->len;
    return 1;
}

/* Decode the entry at off, which corpus_next has already checked. */
static inline void corpus_entry_at(const struct corpus_map *m, size_t off,
                                   struct corpus_entry *e)
{
    const unsigned char *p = m->base + off;
    e->stream = corpus_get32(p);
    e->len = corpus_get32(p + 4);
    e->ts = (int64_t)corpus_get64(p + 8);
    e->line = (const char *)p + CORPUS_ENTRY_HEADER;
}

static inline void corpus_unmap(struct corpus_map *m)
{
    if (m->base)
        munmap((void *)m->base, m->size);
    free(m->streams);
    memset(m, 0, sizeof *m);
}

/* Map a corpus file read-only and index its streams. Returns 0, or -1 after writing
 * the reason (naming the file) to errbuf. */
static inline int corpus_map_file(struct corpus_map *m, const char *path, char *errbuf,
                                  size_t errlen)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: cannot open", path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < CORPUS_HEADER_SIZE) {
        close(fd);
        snprintf(errbuf, errlen, "%s: not a corpus file (too short)", path);
        return -1;
    }
    m->size = (size_t)st.st_size;
    void *base = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED) {
        m->base = NULL;
        snprintf(errbuf, errlen, "%s: mmap failed", path);
        return -1;
    }
    m->base = base;
    madvise(base, m->size, MADV_SEQUENTIAL);
    const unsigned char *p = m->base;
    if (memcmp(p, CORPUS_MAGIC, 8) != 0 || corpus_get32(p + 8) != CORPUS_VERSION) {
        snprintf(errbuf, errlen, "%s: not a version %u corpus file", path, CORPUS_VERSION);
        goto fail;
    }
    m->h.version = corpus_get32(p + 8);
    m->h.nstreams = corpus_get32(p + 12);
    m->h.nentries = corpus_get64(p + 16);
    m->h.line_bytes = corpus_get64(p + 24);
    m->h.start_ns = (int64_t)corpus_get64(p + 32);
    m->h.span_ns = (int64_t)corpus_get64(p + 40);
    m->h.min_ts = (int64_t)corpus_get64(p + 48);
    m->h.max_ts = (int64_t)corpus_get64(p + 56);
    m->h.seed = corpus_get64(p + 64);
    m->h.kinds = corpus_get32(p + 72);
    m->streams = calloc(m->h.nstreams ? m->h.nstreams : 1, sizeof *m->streams);
    if (!m->streams) {
        snprintf(errbuf, errlen, "%s: out of memory", path);
        goto fail;
    }
    size_t off = CORPUS_HEADER_SIZE;
    for (uint32_t i = 0; i < m->h.nstreams; i++) {
        if (m->size - off < 4 || m->size - off - 4 < corpus_get32(p + off)) {
            snprintf(errbuf, errlen, "%s: truncated in stream %u", path, i);
            goto fail;
        }
        m->streams[i].len = corpus_get32(p + off);
        m->streams[i].labels = (const char *)p + off + 4;
        off += 4 + m->streams[i].len;
    }
    m->entries_off = off;
    if (m->h.nentries == 0) { /* written to a pipe: count now */
        struct corpus_entry e;
        int r;
        while ((r = corpus_next(m, &off, &e)) == 1) {
            if (m->h.nentries == 0 || e.ts < m->h.min_ts)
                m->h.min_ts = e.ts;
            if (m->h.nentries == 0 || e.ts > m->h.max_ts)
                m->h.max_ts = e.ts;
            m->h.nentries++;
            m->h.line_bytes += e.len;
        }
        if (r < 0) {
            snprintf(errbuf, errlen, "%s: truncated at byte %zu", path, off);
            goto fail;
        }
    }
    return 0;
fail:
    corpus_unmap(m);
    return -1;
}

#endif
