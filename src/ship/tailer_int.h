/* tailer_int.h -- the tailer's internal layout, shared by tailer.c (globs, the event
 * loop, positions) and tailer_file.c (reading one file: lines, truncation, rotation).
 *
 * Ownership: the tailer owns its files (struct tfile) and the draining list; a tfile
 * owns its descriptor, path, partial line and labels (cairn__tail_free). */
#ifndef CAIRN_TAILER_INT_H
#define CAIRN_TAILER_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "cairn/buf.h"
#include "cairn/labels.h"
#include "cairn/ship.h"

#define READ_BUF_SIZE (64 * 1024)
#define READS_PER_TURN 16 /* 1 MiB per file before giving the others a turn */
#define NS_PER_SEC 1000000000LL
#define DRAIN_MAX 64   /* rotated files read during their grace period at once */
/* How long a rotated-away file is still read after its last new data: a writer that
 * has not reopened yet (logrotate without copytruncate) keeps appending to it. As
 * Fluent Bit's rotate_wait; never shorter than two polls. */
#define DRAIN_GRACE_NS (5LL * 1000000000LL)
#define TAIL_CHECK 64 /* bytes compared to detect a truncation hidden by new writes */
/* Discovered targets are refreshed at most this often: a burst of pod changes is one
 * refresh, and a new pod is still tailed within a second of its discovery. */
#define REFRESH_MIN_NS (500LL * 1000000)

struct tfile {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    int64_t off; /* bytes consumed from fd */
    /* the last bytes read before off: if the file no longer holds them there, it was
     * truncated and rewritten past off before we looked (copytruncate under load) */
    char tail[TAIL_CHECK];
    size_t tail_len;
    struct cairn_buf partial; /* a line still waiting for its newline */
    int64_t partial_off;      /* where it starts in the file */
    /* the entries' source id (cairn_ship_entry.src): new for every file opened and
     * every restart from 0, so held lines of an older one never pin this position */
    uint64_t src;
    int64_t saved_off; /* the position last recorded, and its check */
    uint64_t saved_check;
    int wd;
    size_t target;
    struct cairn_ship_pipeline *pl; /* the pipeline of its target (pipelines outlive targets) */
    struct cairn_labels labels;
    int seen, dirty;
};

struct dwatch {
    int wd;
    char *dir;
};

struct cairn_tailer {
    struct cairn_tailer_config cfg;
    struct tfile **files;
    size_t n_files, cap_files;
    struct dwatch *dirs;
    size_t n_dirs, cap_dirs;
    int ifd, evfd;
    char *rbuf;
    struct cairn_ship_entry entry;
    struct cairn_tailer_stats stats;
    atomic_int stop;
    double tokens;
    int64_t tokens_at;
    /* rotated-away files still read for a grace period: writers that have not
     * reopened their log yet keep appending to the old inode */
    struct tfile *draining[DRAIN_MAX];
    int64_t drain_until[DRAIN_MAX];
    size_t n_draining;
    uint64_t next_src; /* the last tfile.src given out */
    atomic_int refresh; /* cfg.refresh is due */
    int64_t last_refresh; /* monotonic ns of the last one */
    int retarget;       /* a rescan after new targets: matched files take their labels again */
    int prune_dirs;     /* files went away: the next rescan drops unneeded dir watches */
};

/* tailer_file.c */
/* Send one line read at file offset off through f's pipeline. */
int cairn__tail_emit(struct cairn_tailer *t, struct tfile *f, const char *p, size_t len,
                     int64_t off);
/* Send f's partial line as it is (the file is finished) and clear it. */
int cairn__tail_emit_partial(struct cairn_tailer *t, struct tfile *f);
/* Read what is there: 1 more may be waiting, 0 at EOF, negative on a sink error. */
int cairn__tail_read(struct cairn_tailer *t, struct tfile *f);
int cairn__tail_open(struct cairn_tailer *t, struct tfile *f, int use_positions);
void cairn__tail_close(struct cairn_tailer *t, struct tfile *f);
int cairn__tail_labels(struct cairn_tailer *t, struct tfile *f);
/* Read to EOF (or the turn cap), then check for truncation and rotation. */
int cairn__tail_service(struct cairn_tailer *t, struct tfile *f);
/* Move f's open file to the draining list, f left closed (see tailer_file.c). */
void cairn__tail_retire(struct cairn_tailer *t, struct tfile *f);
/* The grace period of a rotated file after its last new data (see DRAIN_GRACE_NS). */
int64_t cairn__tail_drain_grace(const struct cairn_tailer *t);
/* tailer.c */
void cairn__tail_free(struct tfile *f);

#endif
