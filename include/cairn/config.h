/* config.h -- the one configuration mechanism: declarative tables, one loader for
 * YAML files (libfyaml) and command-line options, --help and a YAML dump from the
 * same tables.
 *
 * A component describes its configuration struct with a table: one entry per key
 * (YAML key, type, default, offsetof target, range, command-line flag names, help).
 * Sections nest a table inside a struct; lists hold a growable array of elements
 * that each have a table; variant lists hold elements whose one key picks the
 * element's table (Promtail's pipeline_stages). The loader walks a YAML document
 * against the table, range-checks every value and rejects an unknown or mistyped key
 * with the full key path, the file and the line:column.
 *
 * Ownership: every string, list and element the loader stores in a config struct is
 * owned by that struct (defaults included: they are parsed and copied at init), and
 * freed by cairn_cfg_deinit, which walks the same table. Callers read the struct
 * directly and never free its members themselves. Targets of STRING entries are
 * `char *` (or `const char *` in structs shared with other modules). Nothing here
 * keeps global state; the only allocator is the one in struct cairn_cfg. */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/units.h" /* durations and sizes in config values */

enum cairn_cfg_type {
    CAIRN_CFG_BOOL = 1, /* bool or int target: true/false (yes/no/on/off accepted) */
    CAIRN_CFG_INT,      /* signed integer of .size bytes, range [min, max] */
    CAIRN_CFG_FLOAT,    /* double, range [min, max] when min < max */
    CAIRN_CFG_SIZE,     /* bytes, uint64_t or size_t: "1048576", "512KB", "64MiB", "1.5GB" */
    CAIRN_CFG_DURATION, /* int64_t nanoseconds: Go "1h5m", "250ms", Prometheus "7d", "1w" */
    CAIRN_CFG_STRING,   /* char *, owned */
    CAIRN_CFG_ENUM,     /* int-sized target, one of .names */
    CAIRN_CFG_STRLIST,  /* struct cairn_cfg_strlist: YAML sequence of scalars */
    CAIRN_CFG_MAP,      /* struct cairn_cfg_map: YAML mapping of scalar -> scalar, in order */
    CAIRN_CFG_SECTION,  /* nested mapping; .sub's offsets are relative to obj + offset */
    CAIRN_CFG_LIST,     /* struct cairn_cfg_list of .sub->size elements: sequence of mappings */
    CAIRN_CFG_KEYED,    /* struct cairn_cfg_list from a mapping name -> section; the name
                         * is stored as a char * at .key_offset inside each element */
    CAIRN_CFG_VARIANTS, /* struct cairn_cfg_list of struct cairn_cfg_tagged: a sequence of
                         * one-key mappings, the key names one of .variants */
};

/* Entry flags. */
#define CAIRN_CFG_SECRET 0x1u   /* masked as "<secret>" in dumps (passwords, tokens; for
                                 * STRLIST and MAP every item's value is masked) */
#define CAIRN_CFG_REQUIRED 0x2u /* STRING/STRLIST/MAP/LIST: must be set and non-empty */
#define CAIRN_CFG_CLI_ONLY 0x4u /* a command-line option only: no YAML key, not dumped */
#define CAIRN_CFG_ONE_OK 0x8u   /* STRLIST: a single value is a list of one (Promtail's
                                 * `source: [<string>] | <string>`) */
#define CAIRN_CFG_OPTIONAL 0x10u /* SECTION: absent until the YAML names it (`journal: {}`
                                  * counts, `journal:` does not, as a Go pointer); the
                                  * loader then sets the int at .key_offset inside the
                                  * section to 1. Absent, it is neither checked nor dumped */
#define CAIRN_CFG_ALIAS 0x20u   /* a second key over a target another entry also has (Loki's
                                 * storage_config.aws beside common.storage.s3): loaded as
                                 * usual, left out of dumps so the setting shows once, under
                                 * the other key */

struct cairn_cfg_table;

struct cairn_cfg_enum {
    const char *name;
    int value;
};

struct cairn_cfg_variant {
    const char *name;                   /* the YAML key that selects it ("json") */
    const struct cairn_cfg_table *table; /* its element table; ->size bytes per element */
    const char *help;
};

struct cairn_cfg_entry {
    const char *key;   /* YAML key. "" in a table means "the node itself": the table takes
                        * the value as a whole (a variant whose value is a list or a map,
                        * like Promtail's `labeldrop: [a, b]`); such a table has one entry */
    enum cairn_cfg_type type;
    unsigned flags;    /* CAIRN_CFG_SECRET | _REQUIRED | _CLI_ONLY | ... (above) */
    size_t offset;     /* of the target inside the table's struct (CAIRN_CFG_AT) */
    size_t size;       /* sizeof the target */
    const char *def;   /* default as text, parsed like a YAML value ("1s", "64MiB", "zstd");
                        * NULL: idef / fdef for numbers, empty for the rest */
    int64_t idef;      /* numeric default when def is NULL (BOOL, INT, SIZE, DURATION, ENUM) */
    double fdef;       /* FLOAT default when def is NULL */
    int64_t min, max;  /* INT, FLOAT, SIZE, DURATION: allowed range, checked when min < max */
    const struct cairn_cfg_enum *names;       /* ENUM: ends with {NULL, 0} */
    const struct cairn_cfg_table *sub;        /* SECTION, LIST, KEYED */
    const struct cairn_cfg_variant *variants; /* VARIANTS: ends with {NULL} */
    size_t key_offset; /* KEYED: where each element stores its key (a char *);
                        * OPTIONAL SECTION: where it stores its `present` int */
    const char *flag;  /* GNU long option without "--" ("data-dir"), or NULL */
    const char *lflag; /* Loki/Promtail single-dash flag without "-" ("server.http-listen-port") */
    const char *metavar; /* value name in --help ("HOST:PORT"); NULL: from the type */
    const char *hdef;    /* default shown in --help when it is not the field's own
                          * (an option that derives other keys, like --listen) */
    const char *help;
};

struct cairn_cfg;

/* A key a table accepts and ignores (a Loki or Promtail key that means nothing to
 * cairn): loading it logs one warning, msg="key ignored" with where=FILE:LINE:COL,
 * key=<full key path> and reason=<reason>, whatever its value; never an error, never
 * silently dropped, never stored, never dumped; --help lists it as "(ignored)". The one
 * way to ignore a key: list it in the table's .ignored, not among its entries (so it
 * needs no field). A mistyped key is still refused, with a did-you-mean over the
 * entries and the ignored keys. */
struct cairn_cfg_ignored {
    const char *key;
    const char *reason;
};

struct cairn_cfg_table {
    const char *name;                     /* for --help and messages */
    const struct cairn_cfg_entry *entries;
    size_t n;
    size_t size;                          /* sizeof the struct the offsets point into */
    /* Optional: validate (or derive) after everything is loaded. obj is this table's
     * struct, path its key path ("clients[0]", "" for the root). Returns 0 or a negative
     * code with err filled; may call cairn_cfg_set on c. */
    int (*check)(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err);
    const struct cairn_cfg_ignored *ignored; /* optional, ends with {NULL} */
};

#define CAIRN_CFG_AT(type, member) \
    .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define CAIRN_CFG_TABLE(tname, entries_, type)                                        \
    {                                                                                 \
        .name = (tname), .entries = (entries_),                                       \
        .n = sizeof(entries_) / sizeof((entries_)[0]), .size = sizeof(type)            \
    }
/* The same, with a list of ignored keys (struct cairn_cfg_ignored[], ends with {NULL}). */
#define CAIRN_CFG_TABLE_IGNORING(tname, entries_, type, ignored_)                     \
    {                                                                                 \
        .name = (tname), .entries = (entries_),                                       \
        .n = sizeof(entries_) / sizeof((entries_)[0]), .size = sizeof(type),           \
        .ignored = (ignored_)                                                         \
    }

/* Collection targets. */
struct cairn_cfg_strlist {
    char **v;
    size_t n;
};
struct cairn_cfg_kv {
    char *key;
    char *value; /* NULL when the YAML value was null (`name:` or `name: ~`) */
};
struct cairn_cfg_map {
    struct cairn_cfg_kv *v;
    size_t n;
};
struct cairn_cfg_list {
    void *v;  /* n elements of the entry's sub->size (LIST, KEYED) or cairn_cfg_tagged */
    size_t n;
};
struct cairn_cfg_tagged {
    int kind;   /* index into the entry's variants */
    void *data; /* variants[kind].table->size bytes, owned */
};

/* The allocator the loader uses for everything it stores (tests make it fail).
 * Frees always go to free(3), so the allocator must return malloc-compatible memory. */
struct cairn_cfg_alloc {
    void *(*realloc)(void *user, void *p, size_t n);
    void *user;
};

/* One configuration being built: a table over a caller-owned struct. */
struct cairn_cfg {
    const struct cairn_cfg_table *table;
    void *obj;
    struct cairn_cfg_alloc alloc;
    int expand_env; /* expand ${VAR} and ${VAR:-default} in files (-config.expand-env) */
};

/* Zero obj and fill every default. alloc NULL: realloc(3). Returns 0, CAIRN_ENOMEM, or
 * CAIRN_EINVAL if a default does not parse (a table bug; err says which key). On
 * failure obj holds nothing that needs freeing. */
int cairn_cfg_init(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *obj,
                   const struct cairn_cfg_alloc *alloc, struct cairn_err *err);
/* Free everything obj owns and zero it. NULL or an uninitialised (zeroed) c is a no-op. */
void cairn_cfg_deinit(struct cairn_cfg *c);
/* Free what a struct described by t owns, without a cairn_cfg (for list elements). */
void cairn_cfg_free(const struct cairn_cfg_table *t, void *obj);

/* Merge a YAML document into the config: keys present replace their values (lists and
 * maps are replaced whole), keys absent keep theirs. On error err reads
 * "FILE:LINE:COL: key.path: what", and the config may be partly updated (still valid
 * to free and to use). Returns 0, CAIRN_EINVAL, CAIRN_EIO (file unreadable),
 * CAIRN_ENOMEM. An empty document changes nothing. */
int cairn_cfg_load_file(struct cairn_cfg *c, const char *path, struct cairn_err *err);
int cairn_cfg_load_string(struct cairn_cfg *c, const char *name, const char *text, size_t len,
                          struct cairn_err *err);
/* Set one value by dotted key path ("storage.fsync", "limits_config.max_line_size")
 * through sections; STRLIST and MAP values ("k=v") are appended. */
int cairn_cfg_set(struct cairn_cfg *c, const char *path, const char *value,
                  struct cairn_err *err);
/* The same, relative to a struct described by t (a list element, from a check callback). */
int cairn_cfg_set_in(struct cairn_cfg *c, const struct cairn_cfg_table *t, void *obj,
                     const char *path, const char *value, struct cairn_err *err);
/* Append an element to a LIST l whose elements t describes: zeroed, t's defaults filled,
 * owned by the list. For options that add to a list, as Promtail's -client.url adds a
 * client: a CLI_ONLY option plus a check callback that appends and fills an element.
 * Returns the element (valid until the list next grows) or NULL with err set. */
void *cairn_cfg_list_append(struct cairn_cfg *c, const struct cairn_cfg_table *t,
                            struct cairn_cfg_list *l, struct cairn_err *err);
/* After all sources: required keys of root sections, then every table's check
 * callback (depth first, list elements included). */
int cairn_cfg_check(struct cairn_cfg *c, struct cairn_err *err);

/* Append the effective config as YAML to out; SECRET values that are set appear as
 * "<secret>". CLI_ONLY entries are left out. Loading the dump gives the same config. */
int cairn_cfg_dump(const struct cairn_cfg *c, struct cairn_buf *out);
/* Append --help text: usage, every command-line option with its type, default, YAML key
 * and help, then every YAML key with its type and default. */
int cairn_cfg_help(const struct cairn_cfg_table *t, const void *defaults, const char *usage,
                   struct cairn_buf *out);
/* Sanity-check a table tree (sizes, enum defaults, duplicate keys and flags). For tests:
 * returns 0 or CAIRN_EINVAL with err naming the bad entry. */
int cairn_cfg_table_validate(const struct cairn_cfg_table *t, struct cairn_err *err);

/* Command-line parsing over the same tables. Accepted forms, for an entry with flag
 * "data-dir" or lflag "server.http-listen-port": --data-dir X, --data-dir=X, -data-dir X,
 * -server.http-listen-port=3100, and for booleans --x, --x=false, --no-x. Built in:
 * --config FILE / -config.file=FILE, -config.expand-env[=bool], --print-config
 * (-print-config-stderr), --help / -h / -help, and "--" ending options. Anything else
 * starting with '-' is an error naming it; other words are positional. */
struct cairn__cfg_pending;
struct cairn_cfg_args {
    const char *config_file; /* points into argv, or NULL */
    int help;
    int print_config;
    int expand_env;
    char **pos;              /* positional arguments (pointers into argv) */
    size_t n_pos;
    struct cairn__cfg_pending *sets; /* option values to apply, in order */
    size_t n_sets;
};
/* Parse argv[1..argc-1] (argv[0] is the program or subcommand name). Nothing is applied
 * yet. Returns 0, CAIRN_EINVAL (err: "unknown option --x", "option --x: ..."),
 * CAIRN_ENOMEM. cairn_cfg_args_deinit frees a even on failure. */
int cairn_cfg_args_parse(struct cairn_cfg *c, int argc, char **argv, struct cairn_cfg_args *a,
                         struct cairn_err *err);
/* Apply the parsed options in order (later ones win; STRLIST/MAP options append). */
int cairn_cfg_args_apply(struct cairn_cfg *c, const struct cairn_cfg_args *a,
                         struct cairn_err *err);
void cairn_cfg_args_deinit(struct cairn_cfg_args *a);

/* What cairn_cfg_load_args returns when it wrote help or the config to out and the
 * command should exit 0 without running. */
#define CAIRN_CFG_EXIT 1

/* Everything a subcommand needs, in Loki's order: defaults (already in c), then the
 * file named by --config / -config.file, then the options, then cairn_cfg_check.
 * On --help writes the help text (usage line first) to out and returns
 * CAIRN_CFG_EXIT; on --print-config the dumped config likewise. a receives the
 * positional arguments; the caller deinits it. Returns 0, CAIRN_CFG_EXIT, or negative
 * with err filled. */
int cairn_cfg_load_args(struct cairn_cfg *c, int argc, char **argv, const char *usage,
                        struct cairn_cfg_args *a, struct cairn_buf *out,
                        struct cairn_err *err);

/* Value parsers, shared with components that take the same syntax elsewhere. Each
 * parses exactly len bytes and returns 0 or CAIRN_EINVAL (CAIRN_ERANGE on overflow). */
int cairn_cfg_parse_bool(const char *s, size_t len, int *out);

#endif
