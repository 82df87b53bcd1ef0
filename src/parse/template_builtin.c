/* template_builtin.c -- the rest of Go text/template's builtins: println, html, js,
 * urlquery and slice (strings), with their escaping rules (html/template's
 * HTMLEscapeString, JSEscapeString, url.QueryEscape). Each escaper takes its
 * operands as fmt.Sprint joins them, as evalArgs does. */
#include <stdio.h>
#include <string.h>

#include "parse/template_fn.h"

/* fmt.Sprint of the operands (spaces between two non-strings) into scratch;
 * println=1: Sprintln (a space between any two, and a newline). */
static int sprint(struct texec *x, struct tval *a, int n, int println, const char **s, size_t *l)
{
    if (n == 1 && a[0].t == TV_STR && !println)
        return cairn__tpl_to_str(x, &a[0], s, l);
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *p;
        size_t pl;
        if (i && (println || (a[i].t != TV_STR && a[i - 1].t != TV_STR)))
            rc |= cairn_buf_append_byte(&b, ' ');
        if (cairn__tpl_to_str(x, &a[i], &p, &pl)) {
            cairn_buf_deinit(&b);
            return -1;
        }
        rc |= cairn_buf_append(&b, p, pl);
    }
    if (println)
        rc |= cairn_buf_append_byte(&b, '\n');
    char *o = rc ? NULL : cairn__tpl_scratch(x, b.len);
    if (o && b.len)
        memcpy(o, b.data, b.len);
    *s = o ? o : "";
    *l = o ? b.len : 0;
    cairn_buf_deinit(&b);
    return o ? 0 : (rc ? cairn__tpl_fail(x, "out of memory") : -1);
}

TPL_FN(f_println)
{
    (void)call;
    const char *s;
    size_t l;
    if (sprint(x, a, n, 1, &s, &l))
        return -1;
    *out = cairn__tpl_str(s, l);
    return 0;
}

/* The result of an escaper: b's bytes copied into scratch (b is freed); rc: one of
 * b's appends failed. */
static int ret_escaped(struct texec *x, struct cairn_buf *b, int rc, struct tval *out)
{
    rc = rc ? cairn__tpl_fail(x, "out of memory")
            : cairn__tpl_ret_buf(x, out, b->data ? b->data : "", b->len);
    cairn_buf_deinit(b);
    return rc;
}

TPL_FN(f_html)
{
    (void)call;
    const char *s;
    size_t l;
    if (sprint(x, a, n, 0, &s, &l))
        return -1;
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < l; i++) {
        switch (s[i]) {
        case '"': rc |= cairn_buf_append_str(&b, "&#34;"); break;
        case '\'': rc |= cairn_buf_append_str(&b, "&#39;"); break;
        case '&': rc |= cairn_buf_append_str(&b, "&amp;"); break;
        case '<': rc |= cairn_buf_append_str(&b, "&lt;"); break;
        case '>': rc |= cairn_buf_append_str(&b, "&gt;"); break;
        case '\0': rc |= cairn_buf_append_str(&b, "\xef\xbf\xbd"); break;
        default: rc |= cairn_buf_append_byte(&b, s[i]);
        }
    }
    return ret_escaped(x, &b, rc, out);
}

TPL_FN(f_js)
{
    (void)call;
    const char *s;
    size_t l;
    if (sprint(x, a, n, 0, &s, &l))
        return -1;
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\': rc |= cairn_buf_append_str(&b, "\\\\"); break;
        case '\'': rc |= cairn_buf_append_str(&b, "\\'"); break;
        case '"': rc |= cairn_buf_append_str(&b, "\\\""); break;
        case '<': rc |= cairn_buf_append_str(&b, "\\u003C"); break;
        case '>': rc |= cairn_buf_append_str(&b, "\\u003E"); break;
        case '&': rc |= cairn_buf_append_str(&b, "\\u0026"); break;
        case '=': rc |= cairn_buf_append_str(&b, "\\u003D"); break;
        default:
            if (c < ' ')
                rc |= cairn_buf_appendf(&b, "\\u00%02X", c);
            else
                rc |= cairn_buf_append_byte(&b, (char)c); /* printable runes kept */
        }
    }
    return ret_escaped(x, &b, rc, out);
}

TPL_FN(f_urlquery)
{
    const char *s;
    size_t l;
    if (sprint(x, a, n, 0, &s, &l))
        return -1;
    struct tval v = cairn__tpl_str(s, l);
    return cairn__tpl_f_urlencode(x, call, &v, 1, out);
}

/* slice s [i [j]]: byte slices of a string, Go's bounds errors. */
TPL_FN(f_slice)
{
    (void)call;
    if (a[0].t != TV_STR) {
        if (a[0].t == TV_NIL)
            return cairn__tpl_fail(x, "error calling slice: slice of untyped nil");
        return cairn__tpl_fail(x, "error calling slice: can't slice item of type %s",
                               a[0].t == TV_INT ? "int" : a[0].t == TV_FLOAT ? "float64"
                               : a[0].t == TV_BOOL ? "bool" : "interface {}");
    }
    if (n > 3)
        return cairn__tpl_fail(x, "error calling slice: cannot 3-index slice a string");
    int64_t idx[2] = {0, (int64_t)a[0].len};
    for (int i = 1; i < n; i++) {
        if (a[i].t != TV_INT)
            return cairn__tpl_fail(x, "error calling slice: cannot index slice/array with type %s",
                                   a[i].t == TV_STR ? "string" : "float64");
        if (a[i].i < 0 || a[i].i > (int64_t)a[0].len)
            return cairn__tpl_fail(x, "error calling slice: index out of range: %lld", (long long)a[i].i);
        idx[i - 1] = a[i].i;
    }
    if (idx[0] > idx[1])
        return cairn__tpl_fail(x, "error calling slice: invalid slice index: %lld > %lld",
                               (long long)idx[0], (long long)idx[1]);
    *out = cairn__tpl_str(a[0].s + idx[0], (size_t)(idx[1] - idx[0]));
    return 0;
}
