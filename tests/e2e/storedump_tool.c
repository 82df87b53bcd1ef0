/* storedump_tool.c -- e2e helper: print every entry of a cairn data directory as
 * `tenant<TAB>labels<TAB>ts<TAB>line`, one per line, sorted bytewise, so that tests
 * can compare what a server stored with what they pushed.
 *
 *   storedump_tool DATA_DIR
 *
 * Backslash, tab and newline inside a line are printed as \\, \t and \n. The store is
 * opened (replaying its WAL, as the server would on start) and then abandoned without
 * a flush, so the directory is left as a restarted server would find it. Never run it
 * on a directory a live server is using. Exit status 0, or 1 with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/store_read.h"

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int append_escaped(struct cairn_buf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (p[i] == '\\')
            rc = cairn_buf_append(b, "\\\\", 2);
        else if (p[i] == '\t')
            rc = cairn_buf_append(b, "\\t", 2);
        else if (p[i] == '\n')
            rc = cairn_buf_append(b, "\\n", 2);
        else
            rc = cairn_buf_append_byte(b, p[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: storedump_tool DATA_DIR\n");
        return 1;
    }
    cairn_log_set_level(CAIRN_LOG_WARN);
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = argv[1];
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "storedump: %s\n", err.msg);
        return 1;
    }
    struct cairn_strlist tenants = {0};
    char **rows = NULL;
    size_t n = 0, cap = 0;
    int rc = cairn_store_tenants(s, &tenants);
    struct cairn_buf row = CAIRN_BUF_INIT;
    for (size_t t = 0; !rc && t < tenants.n; t++) {
        const char *tn = tenants.v[t];
        roaring_bitmap_t *all = roaring_bitmap_create();
        struct cairn_entry_iter it;
        if (!all || cairn_store_streams(s, tn, INT64_MIN / 2, INT64_MAX / 2, all) ||
            cairn_store_iter_init(&it, s, tn, all, INT64_MIN / 2, INT64_MAX / 2,
                                  CAIRN_ITER_FORWARD, 0)) {
            roaring_bitmap_free(all);
            rc = 1;
            break;
        }
        uint32_t sid;
        struct cairn_entry e;
        int r;
        while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
            cairn_buf_reset(&row);
            if (cairn_buf_appendf(&row, "%s\t", tn) ||
                cairn_store_stream_labels_str(s, tn, sid, &row) ||
                cairn_buf_appendf(&row, "\t%lld\t", (long long)e.ts) ||
                append_escaped(&row, e.line, e.len)) {
                r = -1;
                break;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                char **nv = realloc(rows, cap * sizeof *nv);
                if (!nv) {
                    r = -1;
                    break;
                }
                rows = nv;
            }
            if (!(rows[n] = strdup(cairn_buf_cstr(&row)))) {
                r = -1;
                break;
            }
            n++;
        }
        if (r < 0) {
            fprintf(stderr, "storedump: reading tenant %s failed: %s\n", tn, cairn_strerror(r));
            rc = 1;
        }
        cairn_store_iter_deinit(&it);
        roaring_bitmap_free(all);
    }
    if (!rc) {
        qsort(rows, n, sizeof *rows, cmp);
        for (size_t i = 0; i < n; i++)
            puts(rows[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(rows[i]);
    free(rows);
    cairn_buf_deinit(&row);
    cairn_strlist_deinit(&tenants);
    cairn_store_abandon(s);
    return rc;
}
