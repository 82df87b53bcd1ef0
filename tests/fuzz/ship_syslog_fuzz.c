/* ship_syslog_fuzz.c -- libFuzzer target: the syslog framer and parser never read
 * outside their input, whatever the bytes and however they are split between reads;
 * every field of a parsed message lies inside the frame, and its structured data
 * walks to the end. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ship/src_syslog.h"

static void inside(const struct cairn_syslog_field *f, const char *p, size_t len)
{
    if (f->p && (f->p < p || f->p + f->len > p + len))
        abort();
}

static void one(const char *p, size_t len, int format)
{
    struct cairn_syslog_msg m;
    const char *why = NULL;
    if (cairn_syslog_parse(p, len, format, &m, &why) != 0) {
        if (!why)
            abort();
        return;
    }
    inside(&m.host, p, len);
    inside(&m.app, p, len);
    inside(&m.procid, p, len);
    inside(&m.msgid, p, len);
    inside(&m.sd, p, len);
    inside(&m.msg, p, len);
    inside(&m.ts, p, len);
    int64_t ns;
    (void)cairn_syslog_time(&m, &ns);
    struct cairn_syslog_sd_iter it;
    struct cairn_syslog_field id, name;
    struct cairn_buf v = CAIRN_BUF_INIT;
    cairn_syslog_sd_begin(&it, &m);
    int rc, n = 0;
    while ((rc = cairn_syslog_sd_next(&it, &id, &name, &v)) == 1) {
        inside(&id, p, len);
        inside(&name, p, len);
        if (++n > (int)len)
            abort();
    }
    cairn_buf_deinit(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = 1 + data[0] % 64;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    for (int f = 0; f < 3; f++) {
        /* the parser on an exact-size copy, so reading past it is caught */
        char *copy = malloc(n ? n : 1);
        if (!copy)
            return 0;
        memcpy(copy, in, n);
        one(copy, n, f);
        free(copy);
    }
    /* the framer over reads of `step` bytes into a buffer of max + slack */
    struct cairn_syslog_framer fr = {.max = 128};
    char buf[128 + 16];
    size_t len = 0, fed = 0;
    while (fed < n) {
        size_t k = n - fed < step ? n - fed : step;
        if (k > sizeof buf - len)
            k = sizeof buf - len;
        if (k == 0)
            abort(); /* the framer must always leave room */
        memcpy(buf + len, in + fed, k);
        len += k;
        fed += k;
        size_t off = 0;
        for (;;) {
            const char *frame;
            size_t flen, used;
            int rc = cairn_syslog_frame_next(&fr, buf + off, len - off, &frame, &flen, &used);
            if (used > len - off)
                abort();
            if (rc == CAIRN_FRAME_OK) {
                if (frame < buf + off || frame + flen > buf + off + used || flen > fr.max)
                    abort();
                one(frame, flen, CAIRN_SYSLOG_AUTO);
            }
            off += used;
            if (rc == CAIRN_FRAME_BAD)
                return 0;
            if (rc == CAIRN_FRAME_MORE)
                break;
        }
        memmove(buf, buf + off, len - off);
        len -= off;
    }
    return 0;
}
