/* template_case.c -- Go's strings.ToUpper, ToLower and Title for the template
 * functions upper/lower/title (ToUpper/ToLower too): simple Unicode case mapping for
 * Latin (Latin-1, Extended-A, Extended Additional), Greek and Cyrillic; other
 * scripts are left as they are. Invalid UTF-8 bytes become U+FFFD, as strings.Map
 * writes them. */
#include <stdint.h>
#include <string.h>

#include "cairn/text.h"
#include "parse/template_fn.h"

static uint32_t rune_upper(uint32_t r)
{
    if (r < 0x80)
        return r >= 'a' && r <= 'z' ? r - 0x20 : r;
    if (r == 0xB5)
        return 0x39C;
    if (r >= 0xE0 && r <= 0xFE && r != 0xF7)
        return r - 0x20;
    if (r == 0xFF)
        return 0x178;
    if ((r >= 0x100 && r <= 0x12F) || (r >= 0x132 && r <= 0x137) || (r >= 0x14A && r <= 0x177))
        return r & 1 ? r - 1 : r;
    if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E))
        return r & 1 ? r : r - 1;
    if (r == 0x131)
        return 'I';
    if (r == 0x17F)
        return 'S';
    if ((r >= 0x3B1 && r <= 0x3C1) || (r >= 0x3C3 && r <= 0x3CB))
        return r - 0x20;
    if (r == 0x3C2)
        return 0x3A3;
    if (r == 0x3AC)
        return 0x386;
    if (r >= 0x3AD && r <= 0x3AF)
        return r - 0x25;
    if (r == 0x3CC)
        return 0x38C;
    if (r == 0x3CD || r == 0x3CE)
        return r - 0x3F;
    if (r >= 0x430 && r <= 0x44F)
        return r - 0x20;
    if (r >= 0x450 && r <= 0x45F)
        return r - 0x50;
    if ((r >= 0x460 && r <= 0x481) || (r >= 0x48A && r <= 0x4BF) || (r >= 0x4D0 && r <= 0x4FF) ||
        (r >= 0x1E00 && r <= 0x1E95) || (r >= 0x1EA0 && r <= 0x1EFF))
        return r & 1 ? r - 1 : r;
    return r;
}

static uint32_t rune_lower(uint32_t r)
{
    if (r < 0x80)
        return r >= 'A' && r <= 'Z' ? r + 0x20 : r;
    if (r >= 0xC0 && r <= 0xDE && r != 0xD7)
        return r + 0x20;
    if ((r >= 0x100 && r <= 0x12F) || (r >= 0x132 && r <= 0x137) || (r >= 0x14A && r <= 0x177))
        return r & 1 ? r : r + 1;
    if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E))
        return r & 1 ? r + 1 : r;
    if (r == 0x130)
        return 'i';
    if (r == 0x178)
        return 0xFF;
    if ((r >= 0x391 && r <= 0x3A1) || (r >= 0x3A3 && r <= 0x3AB))
        return r + 0x20;
    if (r == 0x386)
        return 0x3AC;
    if (r >= 0x388 && r <= 0x38A)
        return r + 0x25;
    if (r == 0x38C)
        return 0x3CC;
    if (r == 0x38E || r == 0x38F)
        return r + 0x3F;
    if (r >= 0x410 && r <= 0x42F)
        return r + 0x20;
    if (r >= 0x400 && r <= 0x40F)
        return r + 0x50;
    if ((r >= 0x460 && r <= 0x481) || (r >= 0x48A && r <= 0x4BF) || (r >= 0x4D0 && r <= 0x4FF) ||
        (r >= 0x1E00 && r <= 0x1E95) || (r >= 0x1EA0 && r <= 0x1EFF))
        return r & 1 ? r : r + 1;
    return r;
}

/* Decode one rune at s[0..n): its length, or 1 with *r = U+FFFD for a bad byte. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *r)
{
    unsigned c = s[0];
    size_t k = c >= 0xF5 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
    if (c < 0x80) {
        *r = c;
        return 1;
    }
    *r = 0xFFFD;
    if (!k || n <= k)
        return 1;
    uint32_t v = c & (0x3Fu >> k);
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xC0) != 0x80)
            return 1;
        v = v << 6 | (s[j] & 0x3F);
    }
    if ((k == 2 && v < 0x800) || (k == 3 && (v < 0x10000 || v > 0x10FFFF)) || (v >= 0xD800 && v <= 0xDFFF))
        return 1;
    *r = v;
    return k + 1;
}

/* mode: 'u' upper, 'l' lower, 't' title (upper after a separator). */
static int map_runes(struct texec *x, const char *s, size_t l, int mode, struct tval *out)
{
    char *o = cairn__tpl_scratch(x, l * 3 + 1); /* a bad byte grows to 3 */
    if (!o)
        return -1;
    size_t k = 0;
    int start = 1;
    for (size_t i = 0; i < l;) {
        uint32_t r;
        size_t w = decode((const unsigned char *)s + i, l - i, &r);
        uint32_t m = mode == 'u' || (mode == 't' && start) ? rune_upper(r) : mode == 'l' ? rune_lower(r) : r;
        if (mode == 't') /* Go's isSeparator: ASCII but alnum and '_'; non-ASCII spaces */
            start = r < 0x80 ? !((r >= '0' && r <= '9') || ((r | 0x20) >= 'a' && (r | 0x20) <= 'z') || r == '_')
                             : (r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) ||
                                r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000);
        if (m == r && r != 0xFFFD) {
            memcpy(o + k, s + i, w);
            k += w;
        } else {
            k += cairn_utf8_encode(o + k, m);
        }
        i += w;
    }
    *out = cairn__tpl_str(o, k);
    return 0;
}

TPL_FN(f_upper) { (void)call, (void)n; STR(0, s, l); return map_runes(x, s, l, 'u', out); }
TPL_FN(f_lower) { (void)call, (void)n; STR(0, s, l); return map_runes(x, s, l, 'l', out); }
TPL_FN(f_title) { (void)call, (void)n; STR(0, s, l); return map_runes(x, s, l, 't', out); }
