/* positions.c -- load and atomically save the positions file (Promtail's YAML shape). */
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
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
};

struct cairn_positions {
    char *path;
    struct pos_entry *v;
    size_t n, cap;
    int dirty;
};

static struct pos_entry *find(const struct cairn_positions *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    return NULL;
}

int cairn_positions_set(struct cairn_positions *p, const char *key,
                        const struct cairn_position *pos)
{
    struct pos_entry *e = find(p, key);
    if (e) {
        if (memcmp(&e->pos, pos, sizeof *pos) != 0)
            p->dirty = 1;
        e->pos = *pos;
        return 0;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        void *nv = realloc(p->v, nc * sizeof *p->v);
        if (!nv)
            return CAIRN_ENOMEM;
        p->v = nv;
        p->cap = nc;
    }
    char *k = strdup(key);
    if (!k)
        return CAIRN_ENOMEM;
    p->v[p->n++] = (struct pos_entry){k, *pos};
    p->dirty = 1;
    return 0;
}

int cairn_positions_get(const struct cairn_positions *p, const char *key,
                        struct cairn_position *out)
{
    const struct pos_entry *e = find(p, key);
    if (!e)
        return CAIRN_ENOTFOUND;
    *out = e->pos;
    return 0;
}

void cairn_positions_remove(struct cairn_positions *p, const char *key)
{
    struct pos_entry *e = find(p, key);
    if (!e)
        return;
    free(e->key);
    *e = p->v[--p->n];
    p->dirty = 1;
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
    return p->n;
}

const char *cairn_positions_key(const struct cairn_positions *p, size_t i)
{
    return i < p->n ? p->v[i].key : NULL;
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
        if (!k || !v || cairn_parse_i64(v, vl, &num) || num < 0)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: bad entry for '%.*s'", p->path,
                                 (int)(k ? kl : 0), k ? k : "");
        char key[4096];
        if (kl >= sizeof key)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: path too long", p->path);
        memcpy(key, k, kl);
        key[kl] = '\0';
        struct cairn_position pos = {0};
        cairn_positions_get(p, key, &pos);
        if (which == MAP_INODE)
            pos.ino = (uint64_t)num;
        else if (which == MAP_CHECK)
            pos.check = (uint64_t)num;
        else
            pos.offset = num;
        if (cairn_positions_set(p, key, &pos))
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

int cairn_positions_save(struct cairn_positions *p)
{
    if (!p->dirty)
        return 0;
    struct cairn_buf b = CAIRN_BUF_INIT, tmp = CAIRN_BUF_INIT;
    int rc = 0;
    for (int m = MAP_OFFSET; m <= MAP_CHECK && !rc; m++) {
        if (m != MAP_OFFSET && !p->n)
            break; /* an empty set is written as Promtail writes it */
        rc = cairn_buf_appendf(&b, "%s:\n", map_names[m]);
        for (size_t i = 0; i < p->n && !rc; i++) {
            const struct cairn_position *pos = &p->v[i].pos;
            unsigned long long v = m == MAP_OFFSET ? (unsigned long long)pos->offset
                                   : m == MAP_INODE ? pos->ino
                                                    : pos->check;
            rc |= cairn_buf_append_str(&b, "  ");
            rc |= yaml_quote(&b, p->v[i].key);
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
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].key);
    free(p->v);
    free(p->path);
    free(p);
}
