/* value.c -- scalar values: parsing and formatting of booleans, integers, floats,
 * byte sizes (go-humanize units, as Loki's flagext.ByteSize), durations (Go's
 * time.ParseDuration units plus Prometheus' d, w, y) and enum names; the one setter
 * every config source goes through. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"


/* ---- integers of any width ---- */

int64_t cairn__cfg_get_int(const void *field, size_t size)
{
    switch (size) {
    case 1: { int8_t v; memcpy(&v, field, 1); return v; }
    case 2: { int16_t v; memcpy(&v, field, 2); return v; }
    case 4: { int32_t v; memcpy(&v, field, 4); return v; }
    default: { int64_t v; memcpy(&v, field, 8); return v; }
    }
}

void cairn__cfg_put_int(void *field, size_t size, int64_t v)
{
    switch (size) {
    case 1: { int8_t x = (int8_t)v; memcpy(field, &x, 1); break; }
    case 2: { int16_t x = (int16_t)v; memcpy(field, &x, 2); break; }
    case 4: { int32_t x = (int32_t)v; memcpy(field, &x, 4); break; }
    default: memcpy(field, &v, 8); break;
    }
}

uint64_t cairn__cfg_get_uint(const void *field, size_t size)
{
    if (size == 4) {
        uint32_t v;
        memcpy(&v, field, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, field, 8);
    return v;
}

void cairn__cfg_put_uint(void *field, size_t size, uint64_t v)
{
    if (size == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, 4);
    } else {
        memcpy(field, &v, 8);
    }
}

int cairn__cfg_range(const struct cairn_cfg_entry *e, int64_t *min, int64_t *max)
{
    if (e->min < e->max) {
        *min = e->min;
        *max = e->max;
        return 1;
    }
    switch (e->type) {
    case CAIRN_CFG_INT:
        *max = e->size >= 8 ? INT64_MAX : (INT64_C(1) << (e->size * 8 - 1)) - 1;
        *min = -*max - 1;
        return 1;
    case CAIRN_CFG_SIZE:
        *min = 0;
        *max = e->size == 4 ? (int64_t)UINT32_MAX : INT64_MAX;
        return e->size == 4;
    case CAIRN_CFG_DURATION:
        *min = 0; /* a negative duration is a mistake unless a table allows it */
        *max = INT64_MAX;
        return 1;
    default:
        return 0;
    }
}

/* ---- parsers ---- */

int cairn_cfg_parse_bool(const char *s, size_t len, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0) {
            *out = 1;
            return 0;
        }
        if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0) {
            *out = 0;
            return 0;
        }
    }
    return CAIRN_EINVAL;
}

/* ---- formatters ---- */

/* ---- the setter ---- */

static int set_string(struct cairn_cfg *c, char **field, const char *s, size_t len)
{
    char *p = cairn__cfg_strndup(c, s, len);
    if (!p)
        return CAIRN_ENOMEM;
    free(*field);
    *field = p;
    return 0;
}

static int range_error(const struct cairn_cfg_entry *e, const char *where, const char *s,
                       size_t len, struct cairn_err *err)
{
    int64_t min, max;
    cairn__cfg_range(e, &min, &max);
    struct cairn_buf lo = CAIRN_BUF_INIT, hi = CAIRN_BUF_INIT;
    int rc = 0;
    if (e->type == CAIRN_CFG_DURATION) {
        rc |= cairn_format_duration(min, &lo);
        rc |= cairn_format_duration(max, &hi);
    } else if (e->type == CAIRN_CFG_SIZE) {
        rc |= cairn_format_size((uint64_t)min, &lo);
        rc |= cairn_format_size((uint64_t)max, &hi);
    } else {
        rc |= cairn_buf_appendf(&lo, "%" PRId64, min);
        rc |= cairn_buf_appendf(&hi, "%" PRId64, max);
    }
    cairn_err_set(err, CAIRN_EINVAL, "%s: %.*s is out of range [%s, %s]", where, (int)len, s,
                  rc ? "?" : cairn_buf_cstr(&lo), rc ? "?" : cairn_buf_cstr(&hi));
    cairn_buf_deinit(&lo);
    cairn_buf_deinit(&hi);
    return CAIRN_EINVAL;
}

static int enum_error(const struct cairn_cfg_entry *e, const char *where, const char *s,
                      size_t len, struct cairn_err *err)
{
    char names[256];
    size_t off = 0;
    names[0] = '\0';
    for (const struct cairn_cfg_enum *n = e->names; n && n->name; n++) {
        int w = snprintf(names + off, sizeof names - off, "%s%s", off ? ", " : "", n->name);
        if (w < 0 || (size_t)w >= sizeof names - off)
            break;
        off += (size_t)w;
    }
    return cairn_err_set(err, CAIRN_EINVAL, "%s: '%.*s' is not one of %s", where, (int)len, s,
                         names);
}

int cairn__cfg_set_scalar(struct cairn_cfg *c, const struct cairn_cfg_entry *e, void *field,
                          const char *s, size_t len, const char *where, struct cairn_err *err)
{
    int rc;
    int64_t min, max;
    switch (e->type) {
    case CAIRN_CFG_BOOL: {
        int b;
        if (cairn_cfg_parse_bool(s, len, &b) != 0)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: '%.*s' is not a boolean (true or false)",
                                 where, (int)len, s);
        if (e->size == sizeof(bool)) {
            bool v = b;
            memcpy(field, &v, sizeof v);
        } else {
            cairn__cfg_put_int(field, e->size, b);
        }
        return 0;
    }
    case CAIRN_CFG_INT: {
        char num[32];
        char *end;
        if (len == 0 || len >= sizeof num)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: '%.*s' is not an integer", where,
                                 (int)len, s);
        memcpy(num, s, len);
        num[len] = '\0';
        errno = 0;
        long long v = strtoll(num, &end, 10); /* "010" is ten, as YAML 1.2 reads it */
        if (*end != '\0' || isspace((unsigned char)num[0]))
            return cairn_err_set(err, CAIRN_EINVAL, "%s: '%.*s' is not an integer", where,
                                 (int)len, s);
        cairn__cfg_range(e, &min, &max);
        if (errno == ERANGE || v < min || v > max)
            return range_error(e, where, s, len, err);
        cairn__cfg_put_int(field, e->size, v);
        return 0;
    }
    case CAIRN_CFG_FLOAT: {
        char num[64];
        char *end;
        if (len == 0 || len >= sizeof num)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: '%.*s' is not a number", where,
                                 (int)len, s);
        memcpy(num, s, len);
        num[len] = '\0';
        double v = strtod(num, &end);
        if (*end != '\0' || isspace((unsigned char)num[0]) || !isfinite(v))
            return cairn_err_set(err, CAIRN_EINVAL, "%s: '%.*s' is not a number", where,
                                 (int)len, s);
        if (e->min < e->max && (v < (double)e->min || v > (double)e->max))
            return range_error(e, where, s, len, err);
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case CAIRN_CFG_SIZE: {
        uint64_t v;
        rc = cairn_parse_size(s, len, &v);
        if (rc == CAIRN_EINVAL)
            return cairn_err_set(err, CAIRN_EINVAL,
                                 "%s: '%.*s' is not a size (bytes, or with a unit: 512KB, "
                                 "64MiB, 1GB)", where, (int)len, s);
        int bounded = cairn__cfg_range(e, &min, &max);
        if (rc != 0 || v > (uint64_t)INT64_MAX ||
            (bounded && ((int64_t)v < min || (int64_t)v > max)))
            return range_error(e, where, s, len, err);
        cairn__cfg_put_uint(field, e->size, v);
        return 0;
    }
    case CAIRN_CFG_DURATION: {
        int64_t v;
        rc = cairn_parse_duration(s, len, &v);
        if (rc == CAIRN_EINVAL)
            return cairn_err_set(err, CAIRN_EINVAL,
                                 "%s: '%.*s' is not a duration (like 250ms, 1h30m, 7d, 1w)",
                                 where, (int)len, s);
        cairn__cfg_range(e, &min, &max);
        if (rc != 0 || v < min || v > max)
            return range_error(e, where, s, len, err);
        cairn__cfg_put_int(field, 8, v);
        return 0;
    }
    case CAIRN_CFG_STRING:
        if (set_string(c, (char **)field, s, len) != 0)
            return cairn_err_set(err, CAIRN_ENOMEM, "%s: out of memory", where);
        return 0;
    case CAIRN_CFG_ENUM:
        for (const struct cairn_cfg_enum *n = e->names; n && n->name; n++) {
            if (strlen(n->name) == len && strncasecmp(n->name, s, len) == 0) {
                cairn__cfg_put_int(field, e->size, n->value);
                return 0;
            }
        }
        return enum_error(e, where, s, len, err);
    case CAIRN_CFG_STRLIST: {
        struct cairn_cfg_strlist *l = field;
        char *p = cairn__cfg_strndup(c, s, len);
        char **slot = p ? cairn__cfg_push(c, (void **)&l->v, &l->n, sizeof(char *)) : NULL;
        if (!slot) {
            free(p);
            return cairn_err_set(err, CAIRN_ENOMEM, "%s: out of memory", where);
        }
        *slot = p;
        return 0;
    }
    case CAIRN_CFG_MAP: {
        struct cairn_cfg_map *m = field;
        const char *eq = memchr(s, '=', len);
        if (!eq || eq == s)
            return cairn_err_set(err, CAIRN_EINVAL, "%s: '%.*s' is not KEY=VALUE", where,
                                 (int)len, s);
        char *k = cairn__cfg_strndup(c, s, (size_t)(eq - s));
        char *v = k ? cairn__cfg_strndup(c, eq + 1, len - (size_t)(eq - s) - 1) : NULL;
        struct cairn_cfg_kv *kv =
            v ? cairn__cfg_push(c, (void **)&m->v, &m->n, sizeof *m->v) : NULL;
        if (!kv) {
            free(k);
            free(v);
            return cairn_err_set(err, CAIRN_ENOMEM, "%s: out of memory", where);
        }
        kv->key = k;
        kv->value = v;
        return 0;
    }
    default:
        return cairn_err_set(err, CAIRN_EINVAL, "%s: takes a section, not a single value",
                             where);
    }
}

/* ---- formatting a field ---- */

/* A plain YAML scalar is safe if it cannot be read as anything but this string. */
static int plain_safe(const char *s)
{
    if (!*s)
        return 0;
    int b;
    if (cairn_cfg_parse_bool(s, strlen(s), &b) == 0 || strcmp(s, "null") == 0 ||
        strcmp(s, "~") == 0 || isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '.')
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./-", *p))
            return 0;
    return 1;
}

int cairn__cfg_format_str(const char *s, struct cairn_buf *out)
{
    if (plain_safe(s))
        return cairn_buf_append_str(out, s);
    return cairn_buf_append_json_str(out, s, strlen(s));
}

int cairn__cfg_format_scalar(const struct cairn_cfg_entry *e, const void *field, int mask,
                             struct cairn_buf *out)
{
    switch (e->type) {
    case CAIRN_CFG_BOOL: {
        int v;
        if (e->size == sizeof(bool)) {
            bool b;
            memcpy(&b, field, sizeof b);
            v = b;
        } else {
            v = cairn__cfg_get_int(field, e->size) != 0;
        }
        return cairn_buf_append_str(out, v ? "true" : "false");
    }
    case CAIRN_CFG_INT:
        return cairn_buf_appendf(out, "%" PRId64, cairn__cfg_get_int(field, e->size));
    case CAIRN_CFG_FLOAT: {
        double v;
        memcpy(&v, field, sizeof v);
        return cairn_buf_appendf(out, "%.15g", v);
    }
    case CAIRN_CFG_SIZE:
        return cairn_format_size(cairn__cfg_get_uint(field, e->size), out);
    case CAIRN_CFG_DURATION:
        return cairn_format_duration(cairn__cfg_get_int(field, 8), out);
    case CAIRN_CFG_STRING: {
        const char *s = *(char *const *)field;
        if (!s)
            return cairn_buf_append_str(out, "\"\"");
        if (mask && (e->flags & CAIRN_CFG_SECRET) && *s)
            return cairn_buf_append_str(out, "\"<secret>\"");
        return cairn__cfg_format_str(s, out);
    }
    case CAIRN_CFG_ENUM: {
        int64_t v = cairn__cfg_get_int(field, e->size);
        for (const struct cairn_cfg_enum *n = e->names; n && n->name; n++)
            if (n->value == v)
                return cairn_buf_append_str(out, n->name);
        return cairn_buf_appendf(out, "%" PRId64, v);
    }
    default:
        return CAIRN_EINVAL;
    }
}

const char *cairn__cfg_type_name(const struct cairn_cfg_entry *e)
{
    if (e->metavar)
        return e->metavar;
    switch (e->type) {
    case CAIRN_CFG_BOOL: return "bool";
    case CAIRN_CFG_INT: return "int";
    case CAIRN_CFG_FLOAT: return "float";
    case CAIRN_CFG_SIZE: return "size";
    case CAIRN_CFG_DURATION: return "duration";
    case CAIRN_CFG_STRING: return "string";
    case CAIRN_CFG_ENUM: return "enum";
    case CAIRN_CFG_STRLIST: return "list of strings";
    case CAIRN_CFG_MAP: return "map of strings";
    case CAIRN_CFG_SECTION: return "section";
    case CAIRN_CFG_LIST: return "list of sections";
    case CAIRN_CFG_KEYED: return "map of sections";
    case CAIRN_CFG_VARIANTS: return "list of one-key sections";
    }
    return "?";
}
