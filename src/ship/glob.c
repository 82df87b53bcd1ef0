/* glob.c -- path globs as Promtail's __path__ takes them: `*`, `?`, `[...]` within one
 * path segment, `**` across any number of directories (zero included), `{a,b}`
 * alternatives. Matching works segment by segment with fnmatch(3); walking starts
 * at the longest literal prefix and descends only where the pattern can match. */
#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cairn/buf.h"
#include "cairn/hash.h"
#include "ship/ship_int.h"

#define GLOB_MAX_DEPTH 64 /* bound `**` recursion (symlink loops, pathological trees) */

static int has_meta(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '{')
            return 1;
    return 0;
}

/* Match one segment (no '/') against a segment pattern, expanding {a,b} braces. */
static int seg_match(const char *pat, size_t plen, const char *name, size_t nlen)
{
    const char *lb = memchr(pat, '{', plen);
    if (lb) {
        const char *rb = memchr(lb, '}', plen - (size_t)(lb - pat));
        if (rb) {
            const char *alt = lb + 1;
            for (;;) {
                const char *end = alt;
                while (end < rb && *end != ',')
                    end++;
                char tmp[1024];
                size_t pre = (size_t)(lb - pat), a = (size_t)(end - alt),
                       post = plen - (size_t)(rb + 1 - pat);
                if (pre + a + post < sizeof tmp) {
                    memcpy(tmp, pat, pre);
                    memcpy(tmp + pre, alt, a);
                    memcpy(tmp + pre + a, rb + 1, post);
                    if (seg_match(tmp, pre + a + post, name, nlen))
                        return 1;
                }
                if (end >= rb)
                    return 0;
                alt = end + 1;
            }
        }
    }
    /* the shapes __path__ relabelling makes ("*<uid>", "*.log", "<name>*") without
     * fnmatch: globs are walked for every target at every rescan */
    if (plen >= 1 && !memchr(pat, '\\', plen)) {
        if (pat[0] == '*' && !has_meta(pat + 1, plen - 1))
            return nlen >= plen - 1 && memcmp(name + nlen - (plen - 1), pat + 1, plen - 1) == 0;
        if (pat[plen - 1] == '*' && !has_meta(pat, plen - 1))
            return nlen >= plen - 1 && memcmp(name, pat, plen - 1) == 0;
    }
    char p[1024], n[1024];
    if (plen >= sizeof p || nlen >= sizeof n)
        return 0;
    memcpy(p, pat, plen);
    p[plen] = '\0';
    memcpy(n, name, nlen);
    n[nlen] = '\0';
    return fnmatch(p, n, 0) == 0;
}

static size_t seg_len(const char *s)
{
    const char *e = strchr(s, '/');
    return e ? (size_t)(e - s) : strlen(s);
}

/* Recursive segment matcher: pat and path both at a segment start. */
static int match_from(const char *pat, const char *path, int depth)
{
    if (depth > GLOB_MAX_DEPTH)
        return 0;
    for (;;) {
        while (*pat == '/')
            pat++;
        while (*path == '/')
            path++;
        if (!*pat)
            return !*path;
        size_t pl = seg_len(pat);
        if (pl == 2 && pat[0] == '*' && pat[1] == '*') {
            const char *rest = pat + 2;
            /* ** matches zero or more whole segments */
            for (const char *q = path;;) {
                if (match_from(rest, q, depth + 1))
                    return 1;
                if (!*q)
                    return 0;
                q += seg_len(q);
                while (*q == '/')
                    q++;
            }
        }
        if (!*path)
            return 0;
        size_t nl = seg_len(path);
        if (!seg_match(pat, pl, path, nl))
            return 0;
        pat += pl;
        path += nl;
    }
}

int cairn__glob_match(const char *pattern, const char *path)
{
    if ((*pattern == '/') != (*path == '/'))
        return 0;
    return match_from(pattern, path, 0);
}

struct walk {
    const char *pattern;
    cairn__glob_fn fn;
    void *ud;
    struct cairn_buf path;
    int rc;
    struct cairn__glob_cache *cache;
};

/* ---- the listing cache: dir -> its names ("a\0b\0"), open addressing ---- */

struct cairn__glob_dir {
    char *dir; /* NULL: free slot */
    uint64_t hash;
    char *names;
    size_t len;
};

void cairn__glob_cache_clear(struct cairn__glob_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++) {
        free(c->slots[i].dir);
        free(c->slots[i].names);
    }
    free(c->slots);
    c->slots = NULL;
    c->n = c->cap = 0;
}

static struct cairn__glob_dir *cache_slot(struct cairn__glob_cache *c, const char *dir,
                                          uint64_t h)
{
    size_t i = (size_t)h & (c->cap - 1);
    while (c->slots[i].dir && (c->slots[i].hash != h || strcmp(c->slots[i].dir, dir) != 0))
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static int cache_grow(struct cairn__glob_cache *c)
{
    size_t nc = c->cap ? c->cap * 2 : 64;
    struct cairn__glob_dir *ns = calloc(nc, sizeof *ns);
    if (!ns)
        return CAIRN_ENOMEM;
    struct cairn__glob_cache old = *c;
    c->slots = ns;
    c->cap = nc;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].dir)
            *cache_slot(c, old.slots[i].dir, old.slots[i].hash) = old.slots[i];
    free(old.slots);
    return 0;
}

/* Read dir's names into b (NUL after each). 0, or -1 if it cannot be opened. */
static int read_names(const char *dir, struct cairn_buf *b, int *nomem)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
            continue;
        if (cairn_buf_append(b, nm, strlen(nm) + 1)) {
            *nomem = 1;
            break;
        }
    }
    closedir(d);
    return 0;
}

/* The names in dir: from the cache, or read (and cached when there is one). *own: the
 * caller frees *names. -1: the directory cannot be read. */
static int list_dir(struct walk *w, const char *dir, char **names, size_t *len, int *own)
{
    struct cairn__glob_cache *c = w->cache;
    uint64_t h = cairn_hash64(dir, strlen(dir));
    if (c && c->cap) {
        struct cairn__glob_dir *g = cache_slot(c, dir, h);
        if (g->dir) {
            *names = g->names;
            *len = g->len;
            *own = 0;
            return 0;
        }
    }
    struct cairn_buf b = CAIRN_BUF_INIT;
    int nomem = 0;
    if (read_names(dir, &b, &nomem) < 0) {
        cairn_buf_deinit(&b);
        return -1;
    }
    if (nomem) {
        cairn_buf_deinit(&b);
        w->rc = CAIRN_ENOMEM;
        return -1;
    }
    if (c)
        c->lists++;
    *names = b.data;
    *len = b.len;
    *own = 1;
    if (c && ((c->n + 1) * 2 <= c->cap || cache_grow(c) == 0)) {
        char *d = strdup(dir);
        if (d) {
            struct cairn__glob_dir *g = cache_slot(c, dir, h);
            *g = (struct cairn__glob_dir){d, h, b.data, b.len};
            c->n++;
            *own = 0;
        }
    }
    return 0;
}

/* Walk the directory in w->path, matching the pattern segments from pat. */
static void walk_dir(struct walk *w, const char *pat, int depth)
{
    if (w->rc || depth > GLOB_MAX_DEPTH)
        return;
    while (*pat == '/')
        pat++;
    size_t base = w->path.len;
    if (!*pat)
        return;
    size_t pl = seg_len(pat);
    int last = pat[pl] == '\0' || (pat[pl] == '/' && pat[pl + 1] == '\0');
    int dstar = pl == 2 && pat[0] == '*' && pat[1] == '*';
    if (dstar) {
        /* zero segments */
        walk_dir(w, pat + 2, depth + 1);
        if (last) {
            /* a trailing ** matches every file below */
        }
    }
    if (!dstar && !has_meta(pat, pl)) {
        /* a literal segment: no readdir */
        if (cairn_buf_append_byte(&w->path, '/') || cairn_buf_append(&w->path, pat, pl)) {
            w->rc = CAIRN_ENOMEM;
            return;
        }
        struct stat st;
        if (stat(w->path.data, &st) == 0) {
            if (last && S_ISREG(st.st_mode))
                w->rc = w->fn(w->ud, w->path.data, &st);
            else if (!last && S_ISDIR(st.st_mode))
                walk_dir(w, pat + pl, depth + 1);
        }
        cairn_buf_truncate(&w->path, base);
        return;
    }
    char *names;
    size_t len;
    int own;
    if (list_dir(w, base ? w->path.data : "/", &names, &len, &own) < 0)
        return;
    for (size_t at = 0; !w->rc && at < len;) {
        const char *nm = names + at;
        size_t nl = strlen(nm);
        at += nl + 1;
        if (!dstar && !seg_match(pat, pl, nm, nl))
            continue;
        if (cairn_buf_append_byte(&w->path, '/') || cairn_buf_append(&w->path, nm, nl)) {
            w->rc = CAIRN_ENOMEM;
            break;
        }
        struct stat st;
        if (stat(w->path.data, &st) == 0) {
            if (dstar) {
                if (S_ISDIR(st.st_mode))
                    walk_dir(w, pat, depth + 1); /* ** stays, one level deeper */
                else if (last && S_ISREG(st.st_mode))
                    w->rc = w->fn(w->ud, w->path.data, &st);
            } else if (last && S_ISREG(st.st_mode)) {
                w->rc = w->fn(w->ud, w->path.data, &st);
            } else if (!last && S_ISDIR(st.st_mode)) {
                walk_dir(w, pat + pl, depth + 1);
            }
        }
        cairn_buf_truncate(&w->path, base);
    }
    if (own)
        free(names);
}

int cairn__glob_walk(const char *pattern, cairn__glob_fn fn, void *ud)
{
    return cairn__glob_walk_cached(pattern, NULL, fn, ud);
}

int cairn__glob_walk_cached(const char *pattern, struct cairn__glob_cache *c,
                            cairn__glob_fn fn, void *ud)
{
    struct walk w = {pattern, fn, ud, CAIRN_BUF_INIT, 0, c};
    if (pattern[0] != '/') {
        /* relative: walk from the current directory, report paths as "./x" stripped */
        if (cairn_buf_append_byte(&w.path, '.')) {
            return CAIRN_ENOMEM;
        }
    } else if (cairn_buf_reserve(&w.path, 256)) {
        return CAIRN_ENOMEM;
    }
    walk_dir(&w, pattern, 0);
    cairn_buf_deinit(&w.path);
    return w.rc;
}
