/* testutil.c -- temp directories and file helpers for the unit tests. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

char *test_mkdtemp(const char *prefix)
{
    const char *base = getenv("CAIRN_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    char *p = malloc(strlen(base) + strlen(prefix) + 16);
    if (!p)
        return NULL;
    sprintf(p, "%s/%s-XXXXXX", base, prefix);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_rmdir_r(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return p;
}

size_t test_labels_end(const char *p, size_t n)
{
    size_t i = 0;
    int inq = 0;
    for (; i < n; i++) {
        if (inq) {
            if (p[i] == '\\')
                i++;
            else if (p[i] == '"')
                inq = 0;
        } else if (p[i] == '"') {
            inq = 1;
        } else if (p[i] == '}') {
            break;
        }
    }
    return i < n ? i : n;
}

char *test_strndup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
