/* docker_int.h -- the Docker driver's internal pieces: the container Info docker sends,
 * the log-opts (options.c), the per-container stream (stream.c), the local json-file
 * copy (localcopy.c) and ReadLogs (readlogs.c), shared by the plugin's HTTP side
 * (plugin.c). */
#ifndef CAIRN_DOCKER_INT_H
#define CAIRN_DOCKER_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cairn/config.h"
#include "cairn/docker.h"
#include "cairn/labels.h"
#include "cairn/sd.h"

struct cairn_ship_metrics;
struct cairn_ship_pipeline;
struct cairn_push;

/* ---- Info: the container as docker describes it (borrowed from a json_t) ---- */
struct cairn__docker_info {
    const char *id, *name, *image_id, *image_name, *log_path, *daemon_name;
    json_t *labels; /* object or NULL */
    json_t *env;    /* array of "K=V" or NULL */
    json_t *config; /* object of log-opts or NULL */
};
/* Read the fields of an Info object (borrowed views, valid while obj lives). */
void cairn__docker_info_read(json_t *obj, struct cairn__docker_info *info);
/* Is the container id safe as a directory name ([A-Za-z0-9_.-], not "." / "..")? */
int cairn__docker_id_valid(const char *id);

/* ---- log-opts, Loki's Docker driver's names (options.c) ---- */
struct cairn__docker_opts {
    char *loki_url, *external_labels, *pipeline_stages, *pipeline_stage_file, *relabel_config;
    uint64_t batch_size;
    int64_t batch_wait_ns, timeout_ns, min_backoff_ns, max_backoff_ns;
    int retries;
    char *tenant_id, *tls_ca_file, *tls_cert_file, *tls_key_file;
    int tls_insecure_skip_verify;
    int no_file, keep_file;
    char *max_size; /* docker's syntax: "10m", "-1" */
    int max_file;
    char *mode, *max_buffer_size; /* the daemon's own; accepted, not used here */
    char *labels, *env;           /* container label / env keys to add as labels */
    uint64_t max_size_bytes;      /* derived: 0 unlimited */
};

/* What a StartLogging's options build: owned by the stream, freed by _deinit. */
struct cairn__docker_setup {
    struct cairn_cfg c;                 /* the opts table over opts */
    struct cairn__docker_opts opts;
    /* pipeline_stages / relabel_configs, loaded through the agent's tables */
    struct cairn_cfg_entry sent[2];
    struct cairn_cfg_table stab;
    struct { struct cairn_cfg_list stages, relabel; } sh;
    struct cairn_cfg sc;
    struct cairn_labels labels;         /* the stream's labels, sorted */
    int dropped;                        /* relabelling dropped the target: send nothing */
    struct cairn_ship_pipeline *pipeline; /* NULL: none */
};

/* Parse info->config into s (unknown option: CAIRN_EINVAL, err names it), build the
 * labels (external labels with templates, labels/env, swarm_*, compose_*, host,
 * filename), load and build stages and relabel rules. s is zeroed first; on failure
 * everything is freed. */
int cairn__docker_setup_init(struct cairn__docker_setup *s, const struct cairn__docker_info *info,
                             const char *hostname, const char *filename, struct cairn_err *err);
void cairn__docker_setup_deinit(struct cairn__docker_setup *s);

/* ---- the local copy: docker json-file lines with max-size / max-file rotation ---- */
struct cairn__docker_local {
    char *dir;       /* <data_dir>/<id> */
    char *path;      /* <dir>/json.log */
    int fd;          /* -1: not writing (no-file) */
    uint64_t size, max_size;
    int max_file;
    struct cairn_buf line;
    struct cairn_buf pend;  /* lines formatted, not yet written */
};
int cairn__docker_local_open(struct cairn__docker_local *l, const char *data_dir, const char *id,
                             uint64_t max_size, int max_file, int no_file);
/* Add one entry to the batch (written by _flush, or here when the batch is full or a
 * rotation is due: *rotated says so). 0, CAIRN_ENOMEM or CAIRN_EIO (logged). */
int cairn__docker_local_write(struct cairn__docker_local *l, const char *source, size_t slen,
                              int64_t ts, const char *line, size_t len, int *rotated);
/* Write the batch. 0 or CAIRN_EIO (logged). */
int cairn__docker_local_flush(struct cairn__docker_local *l);
/* Flush and close; remove the files unless keep. */
void cairn__docker_local_close(struct cairn__docker_local *l, int keep);
/* "<dir>/json.log" and rotated "<dir>/json.log.<n>" paths. */
int cairn__docker_local_name(struct cairn_buf *out, const char *dir, int n);
/* Parse one json-file line into e (source, time, line views into scratch). 0 or
 * CAIRN_EINVAL. */
int cairn__docker_local_parse(const char *p, size_t len, struct cairn_buf *scratch,
                              struct cairn_docker_entry *e);

/* ---- one container's stream (stream.c) ---- */
struct cairn__docker_stream {
    char *file;                 /* the FIFO */
    char *id;                   /* container id */
    json_t *req;                /* the StartLogging request (owns info's strings) */
    struct cairn__docker_info info;
    struct cairn__docker_setup setup;
    struct cairn_push *push;
    struct cairn__docker_local local;
    int keep_file;
    int fd;                     /* the FIFO, opened by start, read by the thread */
    pthread_t thread;
    int started;
    /* guarded by mu: followers wait on cv for writes, rotations and the end */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t writes, rotations;
    int stop;                   /* StopLogging: drain what is there and end */
    int ended;                  /* the reader is done */
    int refs;                   /* the driver's list + each ReadLogs follower */
    uint64_t lines, bytes, errors;
    struct cairn__docker_stream *next;
};

struct cairn__docker_stream *cairn__docker_stream_start(json_t *req, const char *data_dir,
                                                        const char *hostname,
                                                        struct cairn_ship_metrics *metrics,
                                                        struct cairn_err *err);
/* Drain, flush, close the local copy (and remove it unless keep-file) and drop the
 * driver's reference. */
void cairn__docker_stream_stop(struct cairn__docker_stream *s);
void cairn__docker_stream_ref(struct cairn__docker_stream *s);
void cairn__docker_stream_unref(struct cairn__docker_stream *s);



/* ---- ReadLogs (readlogs.c) ---- */
struct cairn__docker_reader;
/* Open a reader over the local copy of container id (s: its live stream or NULL).
 * since/until in unix ns (0: none), tail < 0 all. NULL with err (no local copy). */
struct cairn__docker_reader *cairn__docker_reader_open(const char *data_dir, const char *id,
                                                       struct cairn__docker_stream *s,
                                                       int64_t since, int64_t until,
                                                       long tail, int follow,
                                                       const atomic_int *shutdown,
                                                       struct cairn_err *err);
/* Fill up to max bytes of frames. Returns bytes (> 0), 0 at the end, or negative
 * error. conn_fd >= 0: a follower waiting for writes also ends when it hangs up. */
long cairn__docker_reader_fill(struct cairn__docker_reader *r, char *buf, size_t max,
                               int conn_fd);
void cairn__docker_reader_close(struct cairn__docker_reader *r);

#endif
