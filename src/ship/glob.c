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
};

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
    DIR *d = opendir(base ? w->path.data : "/");
    if (!d)
        return;
    struct dirent *de;
    while (!w->rc && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
            continue;
        size_t nl = strlen(nm);
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
    closedir(d);
}

int cairn__glob_walk(const char *pattern, cairn__glob_fn fn, void *ud)
{
    struct walk w = {pattern, fn, ud, CAIRN_BUF_INIT, 0};
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
