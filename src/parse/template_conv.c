/* template_conv.c -- template functions that convert values: durations and byte
 * sizes, base64, URL escaping, and Promtail's Hash/Sha2Hash digests. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_units.h"
#include "parse/template_fn.h"

TPL_FN(f_duration)
{
    UNUSED;
    STR(0, s, l);
    int64_t ns;
    if (cairn_parse_duration(s, l, &ns))
        return cairn__tpl_fail(x, "error calling duration: time: invalid duration \"%.*s\"", (int)l, s);
    *out = (struct tval){.t = TV_FLOAT, .f = (double)ns / 1e9};
    return 0;
}
TPL_FN(f_bytes)
{
    UNUSED;
    STR(0, s, l);
    double b;
    if (cairn_parse_bytes(s, l, &b))
        return cairn__tpl_fail(x, "error calling bytes: invalid size \"%.*s\"", (int)l, s);
    *out = (struct tval){.t = TV_INT, .i = (int64_t)b};
    return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
TPL_FN(f_b64enc)
{
    UNUSED;
    STR(0, s, l);
    char *o = cairn__tpl_scratch(x, (l + 2) / 3 * 4);
    if (!o)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < l; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < l) v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < l) v |= (unsigned char)s[i + 2];
        o[k++] = b64[(v >> 18) & 63];
        o[k++] = b64[(v >> 12) & 63];
        o[k++] = i + 1 < l ? b64[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < l ? b64[v & 63] : '=';
    }
    *out = cairn__tpl_str(o, k);
    return 0;
}
TPL_FN(f_b64dec)
{
    UNUSED;
    STR(0, s, l);
    char *o = cairn__tpl_scratch(x, l);
    if (!o)
        return -1;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < l; i++) {
        if (s[i] == '=')
            break;
        const char *p = memchr(b64, s[i], 64);
        if (!p) { /* sprig returns the error text as the value */
            static const char bad[] = "illegal base64 data at input byte ";
            char msg[64];
            int m = snprintf(msg, sizeof(msg), "%s%zu", bad, i);
            return cairn__tpl_ret_buf(x, out, msg, (size_t)m);
        }
        acc = acc << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)((acc >> bits) & 0xFF);
        }
    }
    *out = cairn__tpl_str(o, k);
    return 0;
}

TPL_FN(f_urlencode)
{
    UNUSED;
    STR(0, s, l);
    char *o = cairn__tpl_scratch(x, l * 3);
    if (!o)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            o[k++] = (char)c;
        } else if (c == ' ') {
            o[k++] = '+';
        } else {
            k += (size_t)sprintf(o + k, "%%%02X", c);
        }
    }
    *out = cairn__tpl_str(o, k);
    return 0;
}
TPL_FN(f_urldecode)
{
    UNUSED;
    STR(0, s, l);
    char *o = cairn__tpl_scratch(x, l);
    if (!o)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < l; i++) {
        if (s[i] == '+') {
            o[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < l && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            char h[3] = {s[i + 1], s[i + 2], 0};
            o[k++] = (char)strtol(h, NULL, 16);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    *out = cairn__tpl_str(o, k);
    return 0;
}

/* Promtail's Hash (SHA3-256) and Sha2Hash (SHA-256) of the two arguments joined, hex. */
static int digest_hex(struct texec *x, struct tval *a, struct tval *out, int sha3)
{
    STR(0, p, pl);
    STR(1, q, ql);
    unsigned char d[32];
    if (sha3)
        cairn__sha3_256(p, pl, q, ql, d);
    else
        cairn__sha256(p, pl, q, ql, d);
    char *o = cairn__tpl_scratch(x, 64);
    if (!o)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        o[2 * i] = hex[d[i] >> 4];
        o[2 * i + 1] = hex[d[i] & 15];
    }
    *out = cairn__tpl_str(o, 64);
    return 0;
}
TPL_FN(f_Hash) { UNUSED; return digest_hex(x, a, out, 1); }
TPL_FN(f_Sha2Hash) { UNUSED; return digest_hex(x, a, out, 0); }
