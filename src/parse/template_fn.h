/* template_fn.h -- what the template function files share: the calling convention of
 * a template function, its argument-conversion shorthands, and the functions defined
 * outside template_funcs.c (the table there lists them all). Internal to src/parse. */
#ifndef CAIRN_TEMPLATE_FN_H
#define CAIRN_TEMPLATE_FN_H

#include "parse/template_int.h"

#define FN(name) static int name(struct texec *x, struct tcmd *call, struct tval *a, int n, struct tval *out)
#define UNUSED (void)x, (void)call, (void)a, (void)n, (void)out
#define STR(i, s, l) const char *s; size_t l; if (cairn__tpl_to_str(x, &a[i], &s, &l)) return -1
#define INT(i, v) int64_t v; if (cairn__tpl_to_int(&a[i], &v)) return cairn__tpl_fail(x, "expected integer")
#define FLT(i, v) double v; if (cairn__tpl_to_float(&a[i], &v)) return cairn__tpl_fail(x, "expected number")
/* A template function defined in another file (non-static, cairn__tpl_ prefix). */
#define TPL_FN(name) int cairn__tpl_##name(struct texec *x, struct tcmd *call, struct tval *a, int n, struct tval *out)

/* Return a copy of p[0..len) in the execution's scratch as the string result. */
int cairn__tpl_ret_buf(struct texec *x, struct tval *out, const char *p, size_t len);

/* template_conv.c: durations, bytes, base64, URL escaping, Promtail's digests. */
TPL_FN(f_duration);
TPL_FN(f_bytes);
TPL_FN(f_b64enc);
TPL_FN(f_b64dec);
TPL_FN(f_urlencode);
TPL_FN(f_urldecode);
TPL_FN(f_Hash);
TPL_FN(f_Sha2Hash);

/* template_case.c: Go's ToUpper/ToLower/Title (upper lower title ToUpper ToLower). */
TPL_FN(f_upper);
TPL_FN(f_lower);
TPL_FN(f_title);

/* template_builtin.c: Go's println, html, js, urlquery, slice. */
TPL_FN(f_println);
TPL_FN(f_html);
TPL_FN(f_js);
TPL_FN(f_urlquery);
TPL_FN(f_slice);

/* template_math.c: sprig's arithmetic. */
TPL_FN(f_add);
TPL_FN(f_addf);
TPL_FN(f_sub);
TPL_FN(f_subf);
TPL_FN(f_mul);
TPL_FN(f_mulf);
TPL_FN(f_div);
TPL_FN(f_divf);
TPL_FN(f_mod);
TPL_FN(f_max);
TPL_FN(f_min);
TPL_FN(f_maxf);
TPL_FN(f_minf);
TPL_FN(f_ceil);
TPL_FN(f_floor);
TPL_FN(f_round);
TPL_FN(f_int);
TPL_FN(f_float64);

/* template_json.c: sprig's fromJson, Go's index, and %v of a TV_JSON value. */
TPL_FN(f_fromJson);
TPL_FN(f_index);
/* Members of a TV_JSON object or elements of an array (Go's len of the map/slice). */
int64_t cairn__tpl_json_len(const struct tval *v);

#endif
