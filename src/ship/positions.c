/* positions.c -- load and atomically save the positions file (Promtail's YAML shape).
 * Every public call takes the object's mutex: the tailer and the journal readers
 * record their positions from their own threads. */
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/buf.h"
#include "cairn/hash.h"
#include "cairn/log.h"
#include "cairn/ship_positions.h"
#include "cairn/timeutil.h"

struct pos_entry {
    char *key;
    struct cairn_position pos;
    char *str; /* a string position (a journal cursor); NULL: pos is a file's */
};

struct cairn_positions {
    pthread_mutex_t mu; /* guards everything below; taken by every public call */
    char *path;
    struct pos_entry *v;
    size_t n, cap;
    int dirty;
};

/* The mutex of a positions object that callers hold as const (reads lock too). */
static pthread_mutex_t *mu_of(const struct cairn_positions *p)
{
    return (pthread_mutex_t *)&p->mu;
}

static struct pos_entry *find(const struct cairn_positions *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    return NULL;
}

/* The entry of key, added (zeroed) if absent. NULL: out of memory. Under mu. */
static struct pos_entry *find_or_add(struct cairn_positions *p, const char *key)
{
    struct pos_entry *e = find(p, key);
    if (e)
        return e;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        void *nv = realloc(p->v, nc * sizeof *p->v);
        if (!nv)
            return NULL;
        p->v = nv;
        p->cap = nc;
    }
    char *k = strdup(key);
    if (!k)
        return NULL;
    p->v[p->n] = (struct pos_entry){.key = k};
    p->dirty = 1;
    return &p->v[p->n++];
}

static int set_locked(struct cairn_positions *p, const char *key,
                      const struct cairn_position *pos)
{
    struct pos_entry *e = find_or_add(p, key);
    if (!e)
        return CAIRN_ENOMEM;
    if (memcmp(&e->pos, pos, sizeof *pos) != 0 || e->str)
        p->dirty = 1;
    e->pos = *pos;
    free(e->str);
    e->str = NULL;
    return 0;
}

int cairn_positions_set(struct cairn_positions *p, const char *key,
                        const struct cairn_position *pos)
{
    pthread_mutex_lock(&p->mu);
    int rc = set_locked(p, key, pos);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int get_locked(const struct cairn_positions *p, const char *key,
                      struct cairn_position *out)
{
    const struct pos_entry *e = find(p, key);
    if (!e || e->str)
        return CAIRN_ENOTFOUND;
    *out = e->pos;
    return 0;
}

int cairn_positions_get(const struct cairn_positions *p, const char *key,
                        struct cairn_position *out)
{
    pthread_mutex_lock(mu_of(p));
    int rc = get_locked(p, key, out);
    pthread_mutex_unlock(mu_of(p));
    return rc;
}

int cairn_positions_set_string(struct cairn_positions *p, const char *key, const char *value)
{
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    struct pos_entry *e = find_or_add(p, key);
    if (!e) {
        rc = CAIRN_ENOMEM;
    } else if (!e->str || strcmp(e->str, value) != 0) {
        char *v = strdup(value);
        if (!v) {
            rc = CAIRN_ENOMEM;
        } else {
            free(e->str);
            e->str = v;
            e->pos = (struct cairn_position){0};
            p->dirty = 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int cairn_positions_get_string(const struct cairn_positions *p, const char *key,
                               struct cairn_buf *out)
{
    pthread_mutex_lock(mu_of(p));
    const struct pos_entry *e = find(p, key);
    int rc = !e || !e->str ? CAIRN_ENOTFOUND : 0;
    if (!rc) {
        cairn_buf_reset(out);
        rc = cairn_buf_append_str(out, e->str) ? CAIRN_ENOMEM : 0;
    }
    pthread_mutex_unlock(mu_of(p));
    return rc;
}

void cairn_positions_remove(struct cairn_positions *p, const char *key)
{
    pthread_mutex_lock(&p->mu);
    struct pos_entry *e = find(p, key);
    if (e) {
        free(e->key);
        free(e->str);
        *e = p->v[--p->n];
        p->dirty = 1;
    }
    pthread_mutex_unlock(&p->mu);
}

uint64_t cairn_positions_check(int fd, int64_t offset)
{
    char b[CAIRN_POSITIONS_CHECK_BYTES];
    size_t k = offset < (int64_t)sizeof b ? (size_t)offset : sizeof b;
    if (k == 0 || pread(fd, b, k, offset - (int64_t)k) != (ssize_t)k)
        return 0;
    /* 63 bits, so the file's number parses as a signed integer; never 0 (unknown) */
    uint64_t h = cairn_hash64(b, k) >> 1;
    return h ? h : 1;
}

size_t cairn_positions_count(const struct cairn_positions *p)
{
    pthread_mutex_lock(mu_of(p));
    size_t n = p->n;
    pthread_mutex_unlock(mu_of(p));
    return n;
}

const char *cairn_positions_key(const struct cairn_positions *p, size_t i)
{
    pthread_mutex_lock(mu_of(p));
    const char *k = i < p->n ? p->v[i].key : NULL;
    pthread_mutex_unlock(mu_of(p));
    return k;
}

/* The mappings of the file, each path -> "number". */
enum pos_map { MAP_OFFSET, MAP_INODE, MAP_CHECK };
static const char *const map_names[] = {"positions", "inodes", "checks"};

/* Load one mapping of path -> "number" into the field it names. */
static int load_map(struct cairn_positions *p, struct fy_node *map, enum pos_map which,
                    struct cairn_err *err)
{
    if (!map)
        return 0;
    if (!fy_node_is_mapping(map))
        return cairn_err_set(err, CAIRN_EINVAL, "%s: '%s' is not a mapping", p->path,
                             map_names[which]);
    void *it = NULL;
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(map, &it))) {
        size_t kl = 0, vl = 0;
        const char *k = fy_node_get_scalar(fy_node_pair_key(pair), &kl);
        const char *v = fy_node_get_scalar(fy_node_pair_value(pair), &vl);
        int64_t num;
        int is_num = v && cairn_parse_i64(v, vl, &num) == 0 && num >= 0;
        /* a journal cursor is a string position (Promtail's `journal-<job>:
         * "s=...;i=..."`); anything else must be a number */
        int is_cursor = k && kl > 8 && memcmp(k, "journal-", 8) == 0;
        if (!k || !v ||
            (!is_num && (which != MAP_OFFSET || !is_cursor || vl == 0 || memchr(v, 0, vl))))
            return cairn_err_set(err, CAIRN_EINVAL, "%s: bad entry for '%.*s'", p->path,
                                 (int)(k ? kl : 0), k ? k : "");
        char key[4096];
        if (kl >= sizeof key)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: path too long", p->path);
        memcpy(key, k, kl);
        key[kl] = '\0';
        if (!is_num) {
            struct pos_entry *e = find_or_add(p, key);
            char *sv = strndup(v, vl);
            if (!e || !sv) {
                free(sv);
                return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            }
            free(e->str);
            e->str = sv;
            continue;
        }
        struct cairn_position pos = {0};
        if (get_locked(p, key, &pos) && find(p, key))
            continue; /* an inode or check of a string position: not ours to read */
        if (which == MAP_INODE)
            pos.ino = (uint64_t)num;
        else if (which == MAP_CHECK)
            pos.check = (uint64_t)num;
        else
            pos.offset = num;
        if (set_locked(p, key, &pos))
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

struct cairn_positions *cairn_positions_open(const char *path, struct cairn_err *err)
{
    struct cairn_positions *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return p;
        cairn_err_set(err, CAIRN_EIO, "positions file %s: %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_size == 0)
        return p;
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET};
    struct fy_document *doc = fy_document_build_from_file(&cfg, path);
    if (!doc) {
        cairn_err_set(err, CAIRN_EINVAL, "positions file %s is not valid YAML", path);
        goto fail;
    }
    struct fy_node *root = fy_document_root(doc);
    int rc = 0;
    if (root && fy_node_is_mapping(root)) {
        for (int m = MAP_OFFSET; m <= MAP_CHECK && !rc; m++)
            rc = load_map(p, fy_node_mapping_lookup_by_string(root, map_names[m], -1), m, err);
    } else if (root) {
        rc = cairn_err_set(err, CAIRN_EINVAL, "positions file %s: not a mapping", path);
    }
    fy_document_destroy(doc);
    if (rc)
        goto fail;
    p->dirty = 0;
    return p;
fail:
    p->dirty = 0; /* never overwrite a file we could not read */
    cairn_positions_close(p);
    return NULL;
}

/* Append s as a YAML double-quoted scalar. */
static int yaml_quote(struct cairn_buf *b, const char *s)
{
    int rc = cairn_buf_append_byte(b, '"');
    for (; *s && !rc; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = cairn_buf_appendf(b, "\\%c", c);
        else if (c < 0x20)
            rc = cairn_buf_appendf(b, "\\x%02x", c);
        else
            rc = cairn_buf_append_byte(b, (char)c);
    }
    return rc ? rc : cairn_buf_append_byte(b, '"');
}

static int save_locked(struct cairn_positions *p);

int cairn_positions_save(struct cairn_positions *p)
{
    pthread_mutex_lock(&p->mu);
    int rc = save_locked(p);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int save_locked(struct cairn_positions *p)
{
    if (!p->dirty)
        return 0;
    struct cairn_buf b = CAIRN_BUF_INIT, tmp = CAIRN_BUF_INIT;
    int rc = 0;
    size_t n_files = 0;
    for (size_t i = 0; i < p->n; i++)
        n_files += !p->v[i].str;
    for (int m = MAP_OFFSET; m <= MAP_CHECK && !rc; m++) {
        if (m != MAP_OFFSET && !n_files)
            break; /* an empty set is written as Promtail writes it */
        rc = cairn_buf_appendf(&b, "%s:\n", map_names[m]);
        for (size_t i = 0; i < p->n && !rc; i++) {
            const struct cairn_position *pos = &p->v[i].pos;
            if (p->v[i].str && m != MAP_OFFSET)
                continue;
            rc |= cairn_buf_append_str(&b, "  ");
            rc |= yaml_quote(&b, p->v[i].key);
            if (p->v[i].str) {
                rc |= cairn_buf_append_str(&b, ": ");
                rc |= yaml_quote(&b, p->v[i].str);
                rc |= cairn_buf_append_byte(&b, '\n');
                continue;
            }
            unsigned long long v = m == MAP_OFFSET ? (unsigned long long)pos->offset
                                   : m == MAP_INODE ? pos->ino
                                                    : pos->check;
            rc |= cairn_buf_appendf(&b, ": \"%llu\"\n", v);
        }
    }
    rc |= cairn_buf_appendf(&tmp, "%s.tmp", p->path);
    if (rc) {
        rc = CAIRN_ENOMEM;
        goto out;
    }
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        CAIRN_ERROR("positions", "cannot write positions", "file=%s errno=%d", tmp.data, errno);
        rc = CAIRN_EIO;
        goto out;
    }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            CAIRN_ERROR("positions", "write failed", "file=%s errno=%d", tmp.data, errno);
            close(fd);
            unlink(tmp.data);
            rc = CAIRN_EIO;
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp.data, p->path) != 0) {
        CAIRN_ERROR("positions", "cannot save positions", "file=%s errno=%d", p->path, errno);
        unlink(tmp.data);
        rc = CAIRN_EIO;
        goto out;
    }
    /* make the rename itself durable */
    char *slash = strrchr(tmp.data, '/');
    if (slash) {
        *slash = '\0';
        int dfd = open(slash == tmp.data ? "/" : tmp.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    p->dirty = 0;
out:
    cairn_buf_deinit(&b);
    cairn_buf_deinit(&tmp);
    return rc;
}

void cairn_positions_close(struct cairn_positions *p)
{
    if (!p)
        return;
    if (p->dirty)
        cairn_positions_save(p);
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].str);
    }
    free(p->v);
    free(p->path);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
