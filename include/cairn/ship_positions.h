/* ship_positions.h -- the agent's positions file: how far each tailed file was read.
 *
 * The file is YAML in Promtail's shape, so an existing Promtail positions file is
 * picked up as is:
 *     positions:
 *       /var/log/app.log: "1234"
 *     inodes:
 *       /var/log/app.log: "5678"
 *     checks:
 *       /var/log/app.log: "3141592653589793"
 * (`inodes` and `checks` are cairn's additions, ignored by Promtail. The inode lets a
 * restart notice that a file was rotated while the agent was down; the check, a hash
 * of the bytes just before the offset, that it was truncated and rewritten past the
 * offset (copytruncate) while the agent was down.) Saves are atomic: write a temporary
 * file, fsync, rename over the old one, fsync the directory.
 *
 * A key may instead hold a string, as Promtail keeps a journal reader's cursor:
 *     positions:
 *       journal-systemd: "s=7d2a...;i=1c4;b=...;m=...;t=...;x=..."
 * (no inode or check for it).
 *
 * Ownership: the positions object owns its entries (keys and strings copied on set).
 * It is thread-safe: every call takes its mutex (the tailer and the journal readers
 * save from their own threads); cairn_positions_key's pointer is valid only while no
 * other thread removes that key. */
#ifndef CAIRN_SHIP_POSITIONS_H
#define CAIRN_SHIP_POSITIONS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

struct cairn_positions;

/* Open the positions file at path, loading it if it exists (a missing file is an
 * empty set). NULL on failure (unreadable or malformed file: err names it and the
 * line). */
struct cairn_positions *cairn_positions_open(const char *path, struct cairn_err *err);
/* Save (if changed) and free. NULL is a no-op. */
void cairn_positions_close(struct cairn_positions *p);

/* What is recorded for one file. */
struct cairn_position {
    int64_t offset; /* bytes read and delivered */
    uint64_t ino;   /* 0: unknown (a Promtail file) */
    uint64_t check; /* cairn_positions_check of the bytes before offset; 0: unknown */
};

/* The position recorded for key. 0 or CAIRN_ENOTFOUND. */
int cairn_positions_get(const struct cairn_positions *p, const char *key,
                        struct cairn_position *out);
/* Record the position of key. 0 or CAIRN_ENOMEM. */
int cairn_positions_set(struct cairn_positions *p, const char *key,
                        const struct cairn_position *pos);
/* A string position (a journal cursor): copied into out (reset first). 0,
 * CAIRN_ENOTFOUND (absent, or a file's position), CAIRN_ENOMEM. */
int cairn_positions_get_string(const struct cairn_positions *p, const char *key,
                               struct cairn_buf *out);
/* Record a string position under key (replacing a file position there). 0 or
 * CAIRN_ENOMEM. */
int cairn_positions_set_string(struct cairn_positions *p, const char *key, const char *value);
/* The check of the up to CAIRN_POSITIONS_CHECK_BYTES bytes that end at offset in fd
 * (never 0; 0 if they cannot be read). */
#define CAIRN_POSITIONS_CHECK_BYTES 64
uint64_t cairn_positions_check(int fd, int64_t offset);
/* Forget key (a file no longer tailed). No-op if absent. */
void cairn_positions_remove(struct cairn_positions *p, const char *key);
/* Number of entries, and the i-th key (for cleaning up files that are gone). */
size_t cairn_positions_count(const struct cairn_positions *p);
const char *cairn_positions_key(const struct cairn_positions *p, size_t i);
/* Write the file atomically if anything changed since the last save. 0 or CAIRN_EIO
 * (logged with errno). */
int cairn_positions_save(struct cairn_positions *p);

#endif
