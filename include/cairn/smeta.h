/* smeta.h -- structured metadata (Loki 3): name/value pairs attached to one entry,
 * not part of its stream's labels, in one compact encoding shared by the push
 * decoders, the store and the query engine.
 *
 * Encoding ("an smeta blob"): pairs one after another, each
 *   uvarint name length, name bytes, uvarint value length, value bytes
 * in the order they were sent (names are not sorted nor deduplicated here). An empty
 * blob is no metadata. Ownership: the caller owns every buffer; the reader returns
 * views into the blob. */
#ifndef CAIRN_SMETA_H
#define CAIRN_SMETA_H

#include <stddef.h>

#include "cairn/buf.h"

/* Append one pair to out: 0 or CAIRN_ENOMEM (out unchanged). */
int cairn_smeta_append(struct cairn_buf *out, const char *name, size_t nlen, const char *value,
                       size_t vlen);

/* A reader over a blob (stack is fine). */
struct cairn_smeta_iter {
    const unsigned char *p, *end;
};
void cairn_smeta_iter_init(struct cairn_smeta_iter *it, const char *blob, size_t len);
/* 1 and the next pair, 0 at the end, CAIRN_ECORRUPT for a blob that does not decode. */
int cairn_smeta_next(struct cairn_smeta_iter *it, const char **name, size_t *nlen,
                     const char **value, size_t *vlen);

/* Number of pairs and Loki's size (sum of name and value lengths) of a blob: 0, or
 * CAIRN_ECORRUPT. */
int cairn_smeta_stats(const char *blob, size_t len, size_t *count, size_t *bytes);

/* Make name a valid label name in place of Loki's OTLP translation: every byte outside
 * [A-Za-z0-9_] becomes '_', and a leading digit gets "key_" in front. Appended to out;
 * 0 or CAIRN_ENOMEM. */
int cairn_smeta_label_name(struct cairn_buf *out, const char *name, size_t len);

/* Loki 3's default otlp_config: the OTLP resource attributes that become index labels
 * (dots as '_'), in Loki's order; CAIRN_OTLP_N_INDEX_ATTRS of them. */
#define CAIRN_OTLP_N_INDEX_ATTRS 17
extern const char *const cairn_otlp_index_attrs[CAIRN_OTLP_N_INDEX_ATTRS];
/* Is k[0..kl) one of them? */
int cairn_otlp_is_index_attr(const char *k, size_t kl);

#endif
