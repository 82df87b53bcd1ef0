/* config_int.h -- what the config module's files share: allocation through the
 * config's allocator, typed field access, and the scalar setter every source (defaults,
 * YAML, command line, cairn_cfg_set) goes through, so all of them check alike. */
#ifndef CAIRN_CONFIG_INT_H
#define CAIRN_CONFIG_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cairn/buf.h"
#include "cairn/config.h"
#include "cairn/error.h"

/* Longest key path kept for messages ("scrape_configs[3].pipeline_stages[2].json..."). */
#define CAIRN__CFG_PATH_MAX 256

/* One option value from the command line, applied after the file. */
struct cairn__cfg_pending {
    const struct cairn_cfg_entry *e;
    size_t base;       /* offset of the entry's table struct inside the root struct */
    const char *opt;   /* the option as written, for messages ("--fsync") */
    const char *value; /* points into argv or a static "true"/"false" */
};

/* snprintf for messages and paths, where truncation is acceptable; returns the length
 * written (less than cap). */
static inline __attribute__((format(printf, 3, 4))) size_t
cairn__cfg_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

void *cairn__cfg_realloc(const struct cairn_cfg *c, void *p, size_t n);
char *cairn__cfg_strndup(const struct cairn_cfg *c, const char *s, size_t n);
/* Grow an array of elem bytes by one zeroed element; *v and *n updated only on success.
 * Returns the new element or NULL. */
void *cairn__cfg_push(const struct cairn_cfg *c, void **v, size_t *n, size_t elem);

/* Integer fields of 1, 2, 4 or 8 bytes. */
int64_t cairn__cfg_get_int(const void *field, size_t size);
void cairn__cfg_put_int(void *field, size_t size, int64_t v);
uint64_t cairn__cfg_get_uint(const void *field, size_t size);
void cairn__cfg_put_uint(void *field, size_t size, uint64_t v);

/* The entry's effective range for INT/SIZE/DURATION/FLOAT; 0 if unbounded. */
int cairn__cfg_range(const struct cairn_cfg_entry *e, int64_t *min, int64_t *max);

/* Set the field of a scalar-valued entry (BOOL..ENUM; STRLIST and MAP append one
 * item, MAP as "key=value") from text. null: the YAML value was null, which keeps the
 * current value. On error fills err as "<where>: <why>" and returns CAIRN_EINVAL or
 * CAIRN_ENOMEM. */
int cairn__cfg_set_scalar(struct cairn_cfg *c, const struct cairn_cfg_entry *e, void *field,
                          const char *s, size_t len, const char *where, struct cairn_err *err);

/* Append the value of a scalar-valued entry as YAML text (strings quoted), masking
 * secrets when mask is set. */
int cairn__cfg_format_scalar(const struct cairn_cfg_entry *e, const void *field, int mask,
                             struct cairn_buf *out);
/* Append a string as a YAML scalar: plain when that reads back the same, else quoted. */
int cairn__cfg_format_str(const char *s, struct cairn_buf *out);
/* Text for --help: "a|b|c" for enums, the metavar, or a word for the type. */
const char *cairn__cfg_type_name(const struct cairn_cfg_entry *e);

/* Free what one entry's field owns and zero it. */
void cairn__cfg_free_entry(const struct cairn_cfg_entry *e, void *field);
/* Fill defaults of a table into obj (already zeroed). */
int cairn__cfg_defaults(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *obj,
                        struct cairn_err *err);
/* A fresh element for a list: zeroed, defaults filled. NULL on failure (err set). */
void *cairn__cfg_new_element(struct cairn_cfg *c, const struct cairn_cfg_table *t,
                             struct cairn_err *err);

/* A table whose single entry has key "" takes the node as a whole. */
const struct cairn_cfg_entry *cairn__cfg_whole_entry(const struct cairn_cfg_table *t);
/* The ignored key of t (its .ignored list) named key, or NULL. */
const struct cairn_cfg_ignored *cairn__cfg_ignored_find(const struct cairn_cfg_table *t,
                                                        const char *key, size_t len);
/* Closest key of t (entries and ignored keys) to a mistyped one, or NULL if none is close. */
const char *cairn__cfg_suggest(const struct cairn_cfg_table *t, const char *key, size_t len);
/* Check REQUIRED entries of one table struct; where is the location prefix. */
int cairn__cfg_check_required(const struct cairn_cfg_table *t, const void *obj,
                              const char *where, const char *path, struct cairn_err *err);
/* 1 unless e is an OPTIONAL section the YAML did not name (field: the section). */
int cairn__cfg_section_present(const struct cairn_cfg_entry *e, const void *field);

/* The object storage tables (objstore_config.c), over struct cairn_serve_objstore. */
extern const struct cairn_cfg_table cairn__storage_config_table;
extern const struct cairn_cfg_table cairn__common_storage_table; /* common.storage */
/* ruler_config.c: `cairn serve`'s ruler section (struct cairn_ruler_config). */
extern const struct cairn_cfg_table cairn__ruler_config_table;

/* The cluster part of serve's configuration (serve_cluster.c). */
extern const struct cairn_cfg_table cairn__serve_common_table;

#endif
