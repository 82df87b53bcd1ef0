/* store_check.h -- damaged data: what a running store met (counters for /metrics) and
 * the offline check and repair of a data directory behind `cairn check`.
 *
 * A running store skips what fails a CRC or format check (a record, a block) and puts
 * damaged files into DATA_DIR/quarantine/ (never deleting them); the check reads every
 * file without changing any, the repair rewrites what can be rewritten (originals kept
 * in the quarantine). Formats: docs/FORMATS.md; the command: docs/CHECK.md.
 * Ownership: nothing returned is kept by the library; strings passed to the report
 * callback live until it returns. */
#ifndef CAIRN_STORE_CHECK_H
#define CAIRN_STORE_CHECK_H

#include <stdint.h>

#include "cairn/store.h"

struct cairn_store_damage {
    uint64_t records_skipped;   /* WAL or segment records skipped (bad CRC or content) */
    uint64_t bytes_skipped;     /* bytes those records took */
    uint64_t blocks_skipped;    /* blocks a query or the load could not use */
    uint64_t files_quarantined; /* files (or period directories) put aside or mended */
};
/* Counters since open. */
void cairn_store_damage(struct cairn_store *s, struct cairn_store_damage *out);

enum cairn_check_kind {
    CAIRN_CHECK_DAMAGE,   /* damaged data (check exits 1) */
    CAIRN_CHECK_NOTE,     /* worth knowing, not damage (a torn tail after a crash, a stale index) */
    CAIRN_CHECK_REPAIRED, /* --repair did this */
};
/* One finding: file (a path), offset in it (0 for the whole file), what. */
typedef void (*cairn_check_report_fn)(void *ctx, enum cairn_check_kind kind, const char *file,
                                      uint64_t offset, const char *what);

struct cairn_check_result {
    uint64_t files, records, blocks; /* verified */
    uint64_t damaged;                /* findings of kind DAMAGE */
    uint64_t repaired;               /* findings of kind REPAIRED */
    int locked;                      /* another process (a server) holds the directory */
};

/* Verify every file under data_dir: WAL files, segment files (every block decoded and
 * its CRC checked), index files. With repair, a WAL or segment file with damaged
 * records is rewritten without them and a damaged index file is moved aside (the store
 * rebuilds it from the segment files when it opens), the originals going into
 * DATA_DIR/quarantine/. Returns 0 (res says what was found), CAIRN_EAGAIN when repair
 * was asked for and another process holds the directory (nothing changed), CAIRN_EIO
 * or CAIRN_ENOTFOUND when data_dir cannot be read, CAIRN_ENOMEM. */
int cairn_store_check(const char *data_dir, int repair, cairn_check_report_fn fn, void *ctx,
                      struct cairn_check_result *res);

#endif
