/* fileio.c -- the file plumbing the store's formats share: record framing (length,
 * CRC32C, type), versioned file headers, whole writes, directories. Writes and syncs
 * that can be made to fail in tests go through the store's cairn_store_io hooks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "store/store_int.h"

size_t cairn__rec_begin(struct cairn_buf *out, uint8_t type)
{
    size_t start = out->len;
    unsigned char hdr[CAIRN__REC_HDR] = {0};
    hdr[8] = type;
    if (cairn_buf_append(out, hdr, sizeof hdr))
        return (size_t)-1;
    return start;
}

void cairn__rec_finish(struct cairn_buf *out, size_t start)
{
    unsigned char *h = (unsigned char *)out->data + start;
    uint32_t plen = (uint32_t)(out->len - start - CAIRN__REC_HDR);
    uint32_t crc = cairn_crc32c(0, h + 8, (size_t)plen + 1);
    for (int i = 0; i < 4; i++) {
        h[i] = (unsigned char)(plen >> (8 * i));
        h[4 + i] = (unsigned char)(crc >> (8 * i));
    }
}

int cairn__rec_append(struct cairn_buf *out, uint8_t type, const void *p, size_t n)
{
    size_t old = out->len;
    size_t st = cairn__rec_begin(out, type);
    if (st == (size_t)-1 || cairn_buf_append(out, p, n)) {
        cairn_buf_truncate(out, old);
        return CAIRN_ENOMEM;
    }
    cairn__rec_finish(out, st);
    return 0;
}

int cairn__rec_next(const unsigned char *p, size_t len, size_t off, uint8_t *type,
                    const unsigned char **payload, uint32_t *plen)
{
    if (off == len)
        return 0;
    if (len - off < CAIRN__REC_HDR)
        return CAIRN_ECORRUPT;
    uint32_t n = cairn_get_u32le(p + off);
    uint32_t crc = cairn_get_u32le(p + off + 4);
    if (n > len - off - CAIRN__REC_HDR)
        return CAIRN_ECORRUPT;
    if (cairn_crc32c(0, p + off + 8, (size_t)n + 1) != crc)
        return CAIRN_ECORRUPT;
    *type = p[off + 8];
    *payload = p + off + CAIRN__REC_HDR;
    *plen = n;
    return 1;
}

int cairn__file_hdr_write(int fd, const char magic[8], uint32_t version)
{
    unsigned char h[CAIRN__FILE_HDR] = {0};
    memcpy(h, magic, 8);
    for (int i = 0; i < 4; i++)
        h[8 + i] = (unsigned char)(version >> (8 * i));
    return cairn__write_all(fd, h, sizeof h, magic);
}

int cairn__file_hdr_check(const unsigned char *p, size_t len, const char magic[8],
                          uint32_t version)
{
    if (len < CAIRN__FILE_HDR || memcmp(p, magic, 8) != 0)
        return CAIRN_ECORRUPT;
    if (cairn_get_u32le(p + 8) != version)
        return CAIRN_EUNSUPPORTED;
    if (cairn_get_u32le(p + 12) != 0) /* no flags are defined: set bits are damage */
        return CAIRN_ECORRUPT;
    return 0;
}

/* ENOSPC and EDQUOT mean "full": the caller answers 507 and retries later; anything
 * else is an I/O error. */
static int io_err(int e)
{
    return e == ENOSPC || e == EDQUOT ? CAIRN_ENOSPC : CAIRN_EIO;
}

int cairn__io_write_all(const struct cairn_store_io *io, int fd, const void *p, size_t n,
                        const char *path)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = io && io->write ? io->write(io->ctx, fd, c, n) : write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            CAIRN_ERROR("store", "write failed", "file=\"%s\" errno=%d err=\"%s\"", path, e,
                        strerror(e));
            return io_err(e);
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int cairn__write_all(int fd, const void *p, size_t n, const char *path)
{
    return cairn__io_write_all(NULL, fd, p, n, path);
}

int cairn__io_datasync(const struct cairn_store_io *io, int fd, const char *path)
{
    int r = io && io->fdatasync ? io->fdatasync(io->ctx, fd) : fdatasync(fd);
    if (r == 0)
        return 0;
    int e = errno;
    CAIRN_ERROR("store", "fdatasync failed", "file=\"%s\" errno=%d err=\"%s\"", path, e,
                strerror(e));
    return io_err(e);
}

