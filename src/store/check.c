/* check.c -- the offline check and repair of a data directory (`cairn check`): every
 * WAL file, segment file (each block decoded, its CRC checked) and index file read
 * without changing anything; with repair, damaged WAL and segment files rewritten
 * without their bad records and damaged index files moved aside, originals kept in
 * DATA_DIR/quarantine/. Also the damage counters of a running store.
 *
 * A torn tail (a short last record: a crash in the middle of a write) is not damage:
 * the store cuts it when it opens. A stale index file (written before its segment
 * files last changed) is not either: the store rebuilds it. Both are reported as notes.
 * Command and exit codes: docs/CHECK.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/labels.h"
#include "cairn/log.h"
#include "cairn/store_check.h"
#include "store/store_int.h"

void cairn_store_damage(struct cairn_store *s, struct cairn_store_damage *out)
{
    out->records_skipped = atomic_load(&s->damage.records_skipped);
    out->bytes_skipped = atomic_load(&s->damage.bytes_skipped);
    out->blocks_skipped = atomic_load(&s->damage.blocks_skipped);
    out->files_quarantined = atomic_load(&s->damage.files_quarantined);
}

struct chk {
    const char *data_dir;
    int repair;
    int quiet_notes; /* the pass after a repair reports remaining damage only */
    cairn_check_report_fn fn;
    void *ctx;
    struct cairn_check_result *res;
    struct cairn__codec_ctx codec;
    struct cairn__block_dec dec;
};

__attribute__((format(printf, 5, 6))) static void report(struct chk *c,
                                                         enum cairn_check_kind kind,
                                                         const char *file, uint64_t off,
                                                         const char *fmt, ...);
static void report(struct chk *c, enum cairn_check_kind kind, const char *file, uint64_t off,
                   const char *fmt, ...)
{
    if (kind == CAIRN_CHECK_DAMAGE)
        c->res->damaged++;
    else if (kind == CAIRN_CHECK_REPAIRED)
        c->res->repaired++;
    if (c->quiet_notes && kind != CAIRN_CHECK_DAMAGE)
        return;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (c->fn)
        c->fn(c->ctx, kind, file, off, what);
}

/* A file mapped read-only (NULL map for an empty one). */
struct mapped {
    unsigned char *p;
    size_t len;
};

static int map_ro(const char *path, struct mapped *m)
{
    m->p = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return CAIRN_EIO;
    }
    m->len = (size_t)st.st_size;
    if (m->len) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return CAIRN_EIO;
        }
        m->p = p;
    }
    close(fd);
    return 0;
}

static void unmap(struct mapped *m)
{
    if (m->p)
        munmap(m->p, m->len);
    m->p = NULL;
}

/* ---- record contents ---- */

static int get_str(const unsigned char *p, uint32_t n, size_t *off, size_t *l)
{
    uint64_t v;
    size_t k = *off <= n ? cairn_get_uvarint(p + *off, n - *off, &v) : 0;
    if (!k || v > n - *off - k)
        return CAIRN_ECORRUPT;
    *l = (size_t)v;
    *off += k + v;
    return 0;
}

static int labels_parse(const unsigned char *p, size_t n)
{
    struct cairn_labels ls;
    struct cairn_err err;
    cairn_labels_init(&ls);
    int rc = cairn_labels_parse(&ls, (const char *)p, n, &err) ? CAIRN_ECORRUPT : 0;
    cairn_labels_deinit(&ls);
    return rc;
}

/* Does a WAL record's payload parse as replay reads it? 0 or CAIRN_ECORRUPT. */
int cairn__wal_rec_verify(uint8_t type, const unsigned char *p, uint32_t n)
{
    if (type != CAIRN__WAL_STREAM && type != CAIRN__WAL_ENTRIES && type != CAIRN__WAL_ENTRIES_SM)
        return 0; /* a newer record type: replay skips it */
    size_t off = 0, tl;
    if (get_str(p, n, &off, &tl) || tl == 0 || tl > CAIRN__TENANT_MAX)
        return CAIRN_ECORRUPT;
    if (type == CAIRN__WAL_STREAM) {
        size_t ll;
        if (n - off < 12)
            return CAIRN_ECORRUPT;
        off += 12;
        size_t at = off;
        if (get_str(p, n, &off, &ll))
            return CAIRN_ECORRUPT;
        return labels_parse(p + off - ll, ll) || at >= off ? CAIRN_ECORRUPT : 0;
    }
    if (n - off < 4)
        return CAIRN_ECORRUPT;
    off += 4;
    uint64_t first;
    size_t k = cairn_get_uvarint(p + off, n - off, &first);
    if (!k)
        return CAIRN_ECORRUPT;
    off += k;
    while (off < n) {
        int64_t d;
        uint64_t len;
        size_t a = cairn_get_varint(p + off, n - off, &d);
        size_t b = a ? cairn_get_uvarint(p + off + a, n - off - a, &len) : 0;
        if (!a || !b || len > n - off - a - b)
            return CAIRN_ECORRUPT;
        off += a + b + len;
        if (type == CAIRN__WAL_ENTRIES_SM) {
            uint64_t sml;
            size_t c = cairn_get_uvarint(p + off, n - off, &sml);
            if (!c || sml > n - off - c)
                return CAIRN_ECORRUPT;
            off += c + sml;
        }
    }
    return 0;
}

/* ---- WAL and segment files ---- */

struct kind {
    const char *magic;
    uint32_t version;
    cairn__rec_plausible_fn plausible;
    int segment;
};
static const struct kind WAL = {"CAIRNWAL", CAIRN__WAL_VERSION, cairn__wal_rec_plausible, 0};
static const struct kind SEG = {"CAIRNSEG", CAIRN__SEG_VERSION, cairn__seg_rec_plausible, 1};

/* Check one record's content; 1 when damaged (reported). */
static int check_record(struct chk *c, const struct kind *k, const char *path, size_t off,
                        uint8_t type, const unsigned char *pl, uint32_t pn)
{
    c->res->records++;
    if (!k->segment) {
        if (cairn__wal_rec_verify(type, pl, pn) == 0)
            return 0;
        report(c, CAIRN_CHECK_DAMAGE, path, off, "WAL record of type %u does not parse (%u bytes)",
               type, pn);
        return 1;
    }
    if (type == CAIRN__SEG_STREAM) {
        size_t o = 12, ll;
        if (pn >= 13 && !get_str(pl, pn, &o, &ll) && !labels_parse(pl + o - ll, ll))
            return 0;
        report(c, CAIRN_CHECK_DAMAGE, path, off, "STREAM record does not parse");
        return 1;
    }
    if (type != CAIRN__SEG_BLOCK)
        return 0;
    c->res->blocks++;
    int rc = pn < 24 ? CAIRN_ECORRUPT
                     : cairn__block_decode_into(&c->codec, pl + 24, pn - 24, CAIRN__DEC_LINES,
                                                &c->dec);
    if (rc == 0)
        return 0;
    report(c, CAIRN_CHECK_DAMAGE, path, off + CAIRN__REC_HDR + 24,
           "block of stream %u fails its checks (%s): its entries are lost",
           pn >= 4 ? cairn_get_u32le(pl) : 0, cairn_strerror(rc));
    return 1;
}

/* Check (and with repair, rewrite) one WAL or segment file. last: the newest WAL file,
 * whose torn tail is expected after a crash. */
static int check_file(struct chk *c, const struct kind *k, const char *path)
{
    struct mapped m;
    c->res->files++;
    if (map_ro(path, &m)) {
        report(c, CAIRN_CHECK_DAMAGE, path, 0, "cannot be read: %s", strerror(errno));
        return 0;
    }
    int damaged = 0, newer = 0;
    uint64_t records0 = c->res->records;
    if (m.len < CAIRN__FILE_HDR) {
        report(c, CAIRN_CHECK_NOTE, path, 0,
               "shorter than its header (%zu bytes): a file created just before a crash", m.len);
        unmap(&m);
        return 0;
    }
    int hrc = cairn__file_hdr_check(m.p, m.len, k->magic, k->version);
    if (hrc == CAIRN_EUNSUPPORTED && cairn_get_u32le(m.p + 8) < 256) {
        newer = 1;
        report(c, CAIRN_CHECK_DAMAGE, path, 0, "format version %u is newer than this cairn's %u",
               cairn_get_u32le(m.p + 8), k->version);
    } else if (hrc) {
        damaged = 1;
        report(c, CAIRN_CHECK_DAMAGE, path, 0, "bad file header");
    }
    struct cairn__recscan sc;
    cairn__recscan_init(&sc, m.p, newer ? CAIRN__FILE_HDR : m.len, CAIRN__FILE_HDR, k->plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t pn;
    size_t off;
    for (;;) {
        int r = cairn__recscan_next(&sc, &type, &pl, &pn, &off);
        if (sc.skip_len) {
            damaged = 1;
            report(c, CAIRN_CHECK_DAMAGE, path, sc.skip_off,
                   "%zu damaged bytes (records failing their CRC), valid records resume at %zu",
                   sc.skip_len, sc.skip_off + sc.skip_len);
        }
        if (r != 1)
            break;
        damaged |= check_record(c, k, path, off, type, pl, pn);
    }
    if (!newer && sc.tail_off < m.len) {
        if (sc.tail_torn) {
            report(c, CAIRN_CHECK_NOTE, path, sc.tail_off,
                   "torn tail of %zu bytes (a write cut by a crash): cut when the store opens",
                   m.len - sc.tail_off);
        } else {
            damaged = 1;
            report(c, CAIRN_CHECK_DAMAGE, path, sc.tail_off,
                   "last record (%zu bytes) fails its CRC", m.len - sc.tail_off);
        }
    }
    if (damaged && c->repair && !newer) {
        unsigned char h[CAIRN__FILE_HDR] = {0};
        memcpy(h, k->magic, 8);
        h[8] = (unsigned char)k->version;
        int rc = cairn__quarantine_move(c->data_dir, path, NULL);
        if (!rc)
            rc = cairn__file_rewrite(path, h, m.p, m.len, CAIRN__FILE_HDR, k->plausible);
        if (rc)
            report(c, CAIRN_CHECK_DAMAGE, path, 0, "repair failed: %s", cairn_strerror(rc));
        else
            report(c, CAIRN_CHECK_REPAIRED, path, 0,
                   "rewritten with its %llu valid records (original in %s/quarantine/)",
                   (unsigned long long)(c->res->records - records0), c->data_dir);
    }
    unmap(&m);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir that start with prefix and end with suffix; caller frees. */
static int list(const char *dir, const char *prefix, const char *suffix, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? CAIRN_ENOTFOUND : CAIRN_EIO;
    size_t cap = 0, pl = strlen(prefix), sl = strlen(suffix);
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < pl + sl || strncmp(de->d_name, prefix, pl) ||
            strcmp(de->d_name + l - sl, suffix))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(*out, cap * sizeof *nv);
            if (!nv) {
                rc = CAIRN_ENOMEM;
                break;
            }
            *out = nv;
        }
        if (!((*out)[*n] = strdup(de->d_name)))
            rc = CAIRN_ENOMEM;
        else
            (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_name);
    return rc;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The index file of a period directory: damaged, stale or good. */
static void check_index(struct chk *c, const char *pdir, char **segs, size_t nseg)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s/index.cidx", pdir) >= (int)sizeof path)
        return;
    struct mapped m;
    if (access(path, F_OK) != 0)
        return;
    c->res->files++;
    if (map_ro(path, &m)) {
        report(c, CAIRN_CHECK_DAMAGE, path, 0, "cannot be read: %s", strerror(errno));
        return;
    }
    uint64_t sizes[1024];
    size_t nf = 0;
    int rc = cairn__index_verify(m.p, m.len, sizes, 1024, &nf);
    unmap(&m);
    if (rc) {
        report(c, CAIRN_CHECK_DAMAGE, path, 0, "index file fails its %s",
               rc == CAIRN_EUNSUPPORTED ? "version check" : "CRC or format check");
        if (c->repair) {
            if (cairn__quarantine_move(c->data_dir, path, NULL) == 0)
                report(c, CAIRN_CHECK_REPAIRED, path, 0,
                       "moved to the quarantine: rebuilt from the segment files when the "
                       "store opens");
            else
                report(c, CAIRN_CHECK_DAMAGE, path, 0, "repair failed: cannot move it");
        }
        return;
    }
    char man[4300];
    if (snprintf(man, sizeof man, "%s/remote.manifest", pdir) < (int)sizeof man &&
        access(man, F_OK) == 0) { /* some files are only in the object store */
        report(c, CAIRN_CHECK_NOTE, path, 0, "period partly in the object store "
               "(remote.manifest): its uploaded segment files are not checked here");
        return;
    }
    int stale = nf != nseg;
    for (size_t i = 0; !stale && i < nf && i < 1024; i++) {
        char sp[4300];
        struct stat st;
        stale = snprintf(sp, sizeof sp, "%s/%s", pdir, segs[i]) >= (int)sizeof sp ||
                stat(sp, &st) != 0 || (uint64_t)st.st_size != sizes[i];
    }
    if (stale)
        report(c, CAIRN_CHECK_NOTE, path, 0,
               "stale (the segment files changed since): rebuilt when the store opens");
}

static int check_period(struct chk *c, const char *pdir)
{
    char **segs;
    size_t n;
    int rc = list(pdir, "seg-", ".cseg", &segs, &n);
    if (rc == CAIRN_ENOMEM)
        return rc;
    if (rc) {
        report(c, CAIRN_CHECK_DAMAGE, pdir, 0, "period directory cannot be read");
        return 0;
    }
    char path[4300];
    for (size_t i = 0; i < n; i++) {
        if (snprintf(path, sizeof path, "%s/%s", pdir, segs[i]) < (int)sizeof path)
            check_file(c, &SEG, path);
    }
    check_index(c, pdir, segs, n);
    free_list(segs, n);
    return 0;
}

static int check_tenants(struct chk *c)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/tenants", c->data_dir);
    char **tenants;
    size_t nt;
    int rc = list(dir, "", "", &tenants, &nt);
    if (rc == CAIRN_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < nt; i++) {
        char tdir[4300];
        if (snprintf(tdir, sizeof tdir, "%s/%s", dir, tenants[i]) >= (int)sizeof tdir)
            continue;
        char **periods;
        size_t np;
        rc = list(tdir, "", "", &periods, &np);
        if (rc == CAIRN_ENOMEM)
            break;
        if (rc) {
            rc = 0;
            continue; /* not a directory */
        }
        for (size_t j = 0; !rc && j < np; j++) {
            char *end;
            strtoll(periods[j], &end, 10);
            if (*end)
                continue;
            char pdir[4400];
            if (snprintf(pdir, sizeof pdir, "%s/%s", tdir, periods[j]) >= (int)sizeof pdir)
                continue;
            rc = check_period(c, pdir);
        }
        free_list(periods, np);
    }
    free_list(tenants, nt);
    return rc;
}

static int check_wal(struct chk *c)
{
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/wal", c->data_dir);
    char **names;
    size_t n;
    int rc = list(dir, "", ".wal", &names, &n);
    if (rc == CAIRN_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path)
            check_file(c, &WAL, path);
    }
    free_list(names, n);
    return 0;
}

static int check_pass(struct chk *c)
{
    int rc = check_wal(c);
    if (!rc)
        rc = check_tenants(c);
    return rc;
}

int cairn_store_check(const char *data_dir, int repair, cairn_check_report_fn fn, void *ctx,
                      struct cairn_check_result *res)
{
    memset(res, 0, sizeof *res);
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return errno == ENOENT || !errno ? CAIRN_ENOTFOUND : CAIRN_EIO;
    int lock = cairn__dir_lock(data_dir);
    if (lock == CAIRN_EAGAIN) {
        res->locked = 1;
        if (repair)
            return CAIRN_EAGAIN;
    } else if (lock < 0 && repair) {
        return lock;
    } else if (lock >= 0 && !repair) {
        close(lock); /* a read-only check does not keep a server from starting */
        lock = -1;
    }
    struct chk c = {.data_dir = data_dir, .repair = repair, .fn = fn, .ctx = ctx, .res = res};
    if (res->locked)
        report(&c, CAIRN_CHECK_NOTE, data_dir, 0,
               "another process (a running server?) holds the directory: files it is "
               "writing may show torn tails");
    int rc = check_pass(&c);
    if (!rc && repair && res->damaged) {
        /* what is left after the repair decides: check again, reporting damage only */
        struct cairn_check_result again = {0};
        struct chk v = {.data_dir = data_dir, .quiet_notes = 1, .fn = fn, .ctx = ctx, .res = &again};
        rc = check_pass(&v);
        cairn__block_dec_deinit(&v.dec);
        cairn__codec_ctx_deinit(&v.codec);
        res->damaged = again.damaged;
    }
    cairn__block_dec_deinit(&c.dec);
    cairn__codec_ctx_deinit(&c.codec);
    if (lock >= 0)
        close(lock);
    return rc;
}
