/* store_index_fuzz.c -- libFuzzer target: the index file reader on arbitrary bytes.
 * The input is (1) verified as an index file as it is; (2) verified with a valid
 * header in front and a valid CRC behind, so the structure walk sees arbitrary
 * content; (3) written as the index file of a period (next to a real segment file)
 * that the store opens (a damaged index is put aside and the period rebuilt from its
 * segment file) and reads back. Nothing may crash, leak or read out of bounds; the
 * store must open and return every entry the segment file holds. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "store/store_int.h"

#define T0 1767225600000000000LL
#define N 40

static char dir[256];

static void cleanup(void)
{
    cairn__rm_rf(dir);
}
static char idx[512];

static struct cairn_store *open_dir(void)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    cfg.block_target_raw = 256;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        abort();
    return s;
}

/* A period with a few blocks of one stream, closed cleanly (segment + index file). */
static void setup(void)
{
    cairn_log_set_level(CAIRN_LOG_ERROR + 1);
    snprintf(dir, sizeof dir, "%s/cairn-idxfuzz-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"); /* no disk syncs */
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    snprintf(idx, sizeof idx, "%s/tenants/fake/%lld/index.cidx", dir, T0);
    struct cairn_store *s = open_dir();
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "job", 3, "fuzz", 4);
    struct cairn_entry e[N];
    char buf[N][32];
    for (int i = 0; i < N; i++) {
        int l = snprintf(buf[i], sizeof buf[i], "entry %d of the index fuzzer", i);
        e[i] = (struct cairn_entry){T0 + i, buf[i], (size_t)l};
    }
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = N};
    if (cairn_store_append(s, "fake", &ps, 1))
        abort();
    cairn_labels_deinit(&ls);
    cairn_store_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    uint64_t sizes[8];
    size_t nf;
    (void)cairn__index_verify(data, size, sizes, 8, &nf);
    unsigned char *b = malloc(size + 20);
    if (!b)
        abort();
    memcpy(b, "CAIRNIDX\1\0\0\0\0\0\0\0", 16);
    memcpy(b + 16, data, size);
    uint32_t crc = cairn_crc32c(0, b, size + 16);
    for (int i = 0; i < 4; i++)
        b[size + 16 + i] = (unsigned char)(crc >> (8 * i));
    (void)cairn__index_verify(b, size + 20, sizes, 8, &nf);
    free(b);
    /* as the period's index file: whatever it holds, every entry comes back (a valid
     * CRC over crafted content is out of reach of mutation; the structure walk above
     * covers it) */
    int fd = open(idx, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    struct cairn_store *s = open_dir();
    struct cairn_entry_iter it;
    int n = 0;
    if (cairn_store_iter_init(&it, s, "fake", NULL, INT64_MIN / 2, INT64_MAX / 2,
                              CAIRN_ITER_FORWARD, 0) == 0) {
        uint32_t sid;
        struct cairn_entry e;
        while (cairn_store_iter_next(&it, &sid, &e) == 1)
            n++;
    }
    cairn_store_iter_deinit(&it);
    cairn_store_abandon(s);
    if (n != N)
        abort();
    char q[512];
    snprintf(q, sizeof q, "%s/quarantine", dir);
    cairn__rm_rf(q);
    snprintf(q, sizeof q, "%s/wal", dir); /* each open starts a WAL file */
    cairn__rm_rf(q);
    return 0;
}
