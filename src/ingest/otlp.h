/* otlp.h -- OTLP logs ingest inside the ingest module: the mapping of Loki 3's default
 * otlp_config (otlp_map.c) that both OTLP decoders (otlp_pb.c, otlp_json.c) feed, one
 * resource, scope and record at a time.
 *
 * A resource becomes one batch stream: its attributes in Loki's default list of index
 * labels become stream labels (dots and other characters outside [A-Za-z0-9_] as '_',
 * service_name="unknown_service" when it has no service.name); its other attributes,
 * the scope's name, version and attributes, the record's attributes, trace_id and
 * span_id (lowercase hex), severity_text, severity_number, flags and
 * observed_timestamp become each entry's structured metadata. Ownership: the map
 * writes into the batch (which owns everything) and keeps scratch of its own, freed by
 * _deinit; strings passed in are copied before the call returns, except a record's
 * line, which must live as long as the batch's contents. */
#ifndef CAIRN_API_OTLP_H
#define CAIRN_API_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/ingest.h"

/* The action for an attribute of a resource (0), a scope (1) or a record (2). */
enum cairn_otlp_action cairn__otlp_rules_action(struct cairn_ingest_otlp_rules *r, int level,
                                                const char *k, size_t kl);

struct cairn__otlp_map {
    struct cairn_ingest_batch *b;
    struct cairn_ingest_otlp_rules *rules;
    const struct cairn_ingest_limits *lim;
    struct cairn_err *err;
    struct cairn_buf rsm, ssm; /* resource and scope structured metadata (smeta blobs) */
    struct cairn_buf name;     /* scratch: a translated attribute name */
    int stream;                /* the batch stream of the current resource */
    int service;               /* the resource had service.name */
    size_t mark;               /* start of the current record's metadata in b->smb */
    size_t rendered;           /* bytes of bodies rendered into b->otlp_lines so far */
};

/* One log record's fields other than its attributes (which go through _attr). */
struct cairn__otlp_rec {
    uint64_t time_ns, observed_ns;
    int64_t severity_number;
    const char *severity_text;
    size_t severity_text_len;
    const unsigned char *trace_id, *span_id; /* raw bytes */
    size_t trace_id_len, span_id_len;
    uint32_t flags;
    const char *line; /* a string body (a view), or NULL: rendered (see _record_end) */
    size_t len;
};

void cairn__otlp_map_init(struct cairn__otlp_map *m, struct cairn_ingest_batch *b,
                          const struct cairn_ingest_limits *lim, struct cairn_ingest_otlp_rules *rules,
                          struct cairn_err *err);
void cairn__otlp_map_deinit(struct cairn__otlp_map *m);

/* Each returns 0 or a negative CAIRN_E* with m->err set. */
int cairn__otlp_resource_begin(struct cairn__otlp_map *m);
int cairn__otlp_resource_attr(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                              size_t vl);
int cairn__otlp_resource_end(struct cairn__otlp_map *m);
/* A new scope of the current resource (name and version may be empty). */
int cairn__otlp_scope(struct cairn__otlp_map *m, const char *name, size_t nl, const char *ver,
                      size_t vl);
int cairn__otlp_scope_attr(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                           size_t vl);
/* A record: _begin, its attributes, then _end with its other fields. A record whose
 * body is not a string has it rendered as JSON into b->otlp_lines first (rec->line
 * NULL, rec->len its length): those lines are pointed at by cairn__otlp_finish. */
int cairn__otlp_record_begin(struct cairn__otlp_map *m);
int cairn__otlp_record_attr(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                            size_t vl);
int cairn__otlp_record_end(struct cairn__otlp_map *m, const struct cairn__otlp_rec *rec);
/* After the last record: point rendered bodies into b->otlp_lines (which no longer
 * grows). */
void cairn__otlp_finish(struct cairn__otlp_map *m);

/* An AnyValue's string form as Loki's (pcommon's AsString): a string as is, numbers and
 * booleans as text, bytes as base64, arrays and maps as JSON. Helpers for the
 * decoders: a scalar appended to out, quoted when nested (inside an array or map). */
int cairn__otlp_put_str(struct cairn_buf *out, const char *s, size_t n, int nested);
int cairn__otlp_put_bytes(struct cairn_buf *out, const unsigned char *p, size_t n, int nested);
int cairn__otlp_put_double(struct cairn_buf *out, double d, int nested);

#endif
