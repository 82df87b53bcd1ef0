/* template_ext.c -- calling a caller's extra function (cairn_template_compile_with):
 * the arguments as text and number, the result as text (copied to the render's
 * scratch) or a bool. */
#include <string.h>

#include "parse/template_fn.h"

#define EXT_MAX_ARGS 8

TPL_FN(f_ext)
{
    const struct cairn_template_func *e = ((const struct tfunc_ext *)call->args[0].fn)->ext;
    struct cairn_template_arg v[EXT_MAX_ARGS];
    if (n > EXT_MAX_ARGS)
        return cairn__tpl_fail(x, "too many arguments for %s", e->name);
    for (int i = 0; i < n; i++) {
        if (cairn__tpl_to_str(x, &a[i], &v[i].s, &v[i].len))
            return -1;
        v[i].is_num = a[i].t != TV_NIL && a[i].t != TV_BOOL && !(a[i].t == TV_STR && !a[i].len) &&
                     !cairn__tpl_to_float(&a[i], &v[i].num);
        if (!v[i].is_num)
            v[i].num = 0;
    }
    struct cairn_buf b = CAIRN_BUF_INIT;
    struct cairn_template_ret r = {.text = &b};
    struct cairn_err err;
    cairn_err_clear(&err);
    int rc = e->fn(v, n, &r, &err);
    if (rc)
        rc = cairn__tpl_fail(x, "error calling %s: %s", e->name, err.msg[0] ? err.msg : "failed");
    else if (r.is_bool)
        *out = (struct tval){.t = TV_BOOL, .i = r.b != 0};
    else
        rc = cairn__tpl_ret_buf(x, out, b.data ? b.data : "", b.len);
    cairn_buf_deinit(&b);
    return rc;
}
