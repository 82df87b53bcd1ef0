/* store_wal_fuzz.c -- libFuzzer target: the WAL's readers on arbitrary bytes. The input
 * is (1) scanned as a WAL file's records, resynchronising past damage, each record's
 * content checked as replay reads it; (2) cut into payloads framed with valid CRCs, so
 * the content checks see arbitrary records past the CRC; (3) written as the one WAL
 * file of a data directory that the store opens (replay, header mending, quarantine),
 * reads back and abandons, and that the check reads. Nothing may crash, leak or read
 * out of bounds, and the store must open whatever the file holds. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/store_check.h"
#include "cairn/store_read.h"
#include "store/store_int.h"

int cairn__wal_rec_verify(uint8_t type, const unsigned char *p, uint32_t n);

static char dir[256];

static void cleanup(void)
{
    cairn__rm_rf(dir);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void scan(const uint8_t *data, size_t size)
{
    struct cairn__recscan sc;
    cairn__recscan_init(&sc, data, size, 0, cairn__wal_rec_plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t pn;
    size_t off;
    while (cairn__recscan_next(&sc, &type, &pl, &pn, &off) == 1) {
        if (off + CAIRN__REC_HDR + pn > size)
            abort();
        (void)cairn__wal_rec_verify(type, pl, pn);
    }
    if (sc.tail_off > size)
        abort();
}

/* The input as records: a byte of type, a byte of length, that many payload bytes. */
static void framed(const uint8_t *data, size_t size)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t type = data[i] % 4, n = data[i + 1];
        i += 2;
        if (n > size - i)
            n = (uint8_t)(size - i);
        if (cairn__rec_append(&b, type, data + i, n))
            abort();
        (void)cairn__wal_rec_verify(type, data + i, n);
        (void)cairn__wal_rec_plausible(type, data + i, n);
        i += n;
    }
    scan((const uint8_t *)b.data, b.len);
    cairn_buf_deinit(&b);
}

static void store(const uint8_t *data, size_t size)
{
    char path[512];
    cairn__rm_rf(dir);
    snprintf(path, sizeof path, "%s/wal", dir);
    if (cairn__mkdir_p(path))
        abort();
    snprintf(path, sizeof path, "%s/wal/0000000000000001.wal", dir);
    write_file(path, data, size);
    struct cairn_check_result res;
    if (cairn_store_check(dir, 0, NULL, NULL, &res))
        abort();
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        abort(); /* one bad file never stops the store */
    struct cairn_entry_iter it;
    if (cairn_store_iter_init(&it, s, "fake", NULL, INT64_MIN / 2, INT64_MAX / 2,
                              CAIRN_ITER_FORWARD, 0) == 0) {
        uint32_t sid;
        struct cairn_entry e;
        while (cairn_store_iter_next(&it, &sid, &e) == 1)
            ;
    }
    cairn_store_iter_deinit(&it);
    cairn_store_abandon(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        cairn_log_set_level(CAIRN_LOG_ERROR + 1);
        snprintf(dir, sizeof dir, "%s/cairn-walfuzz-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"); /* no disk syncs */
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
    }
    scan(data, size);
    framed(data, size);
    store(data, size);
    return 0;
}
