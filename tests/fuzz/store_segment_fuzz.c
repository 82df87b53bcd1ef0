/* store_segment_fuzz.c -- libFuzzer target: the segment file readers on arbitrary
 * bytes. The input is (1) scanned as a segment file's records, resynchronising past
 * damage, each block decoded; (2) written as the one segment file of a period that the
 * store opens (the scan that rebuilds the index, header mending, quarantine), reads
 * back entry by entry and column-only, and abandons; (3) checked and repaired as
 * `cairn check --repair` does, then opened again. Nothing may crash, leak or read out
 * of bounds, and the store must open whatever the file holds. */
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

#define T0 "1767225600000000000"

static char dir[256];

static void cleanup(void)
{
    cairn__rm_rf(dir);
}

static void scan(const uint8_t *data, size_t size)
{
    struct cairn__codec_ctx c = {0};
    struct cairn__block_dec d = {0};
    struct cairn__recscan sc;
    cairn__recscan_init(&sc, data, size, 0, cairn__seg_rec_plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t pn;
    size_t off;
    while (cairn__recscan_next(&sc, &type, &pl, &pn, &off) == 1)
        if (type == CAIRN__SEG_BLOCK && pn >= 24)
            (void)cairn__block_decode_into(&c, pl + 24, pn - 24, CAIRN__DEC_LINES, &d);
    cairn__block_dec_deinit(&d);
    cairn__codec_ctx_deinit(&c);
}

static void read_all(struct cairn_store *s, unsigned flags)
{
    struct cairn_entry_iter it;
    if (cairn_store_iter_init(&it, s, "fake", NULL, INT64_MIN / 2, INT64_MAX / 2,
                              flags ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD, flags) == 0) {
        uint32_t sid;
        struct cairn_entry e;
        while (cairn_store_iter_next(&it, &sid, &e) == 1)
            ;
    }
    cairn_store_iter_deinit(&it);
}

static void open_read(void)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        abort(); /* one bad file never stops the store */
    read_all(s, 0);
    read_all(s, CAIRN_ITER_NO_LINES);
    cairn_store_abandon(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        cairn_log_set_level(CAIRN_LOG_ERROR + 1);
        snprintf(dir, sizeof dir, "%s/cairn-segfuzz-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"); /* no disk syncs */
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
    }
    scan(data, size);
    char path[512];
    cairn__rm_rf(dir);
    snprintf(path, sizeof path, "%s/tenants/fake/" T0, dir);
    if (cairn__mkdir_p(path))
        abort();
    snprintf(path, sizeof path, "%s/tenants/fake/" T0 "/seg-000000.cseg", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    struct cairn_check_result res;
    if (cairn_store_check(dir, 0, NULL, NULL, &res))
        abort();
    open_read();
    if (cairn_store_check(dir, 1, NULL, NULL, &res))
        abort();
    open_read();
    return 0;
}
