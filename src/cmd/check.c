/* check.c -- `cairn check [--repair] DATA_DIR`: verify every file of a data directory
 * (WAL, segments and their blocks, indexes), print what is damaged, and with --repair
 * rewrite what can be rewritten. Exit codes (docs/CHECK.md): 0 clean, 1 damage found
 * (or left after --repair), 2 usage error, unreadable directory, or --repair refused
 * because another process holds the directory. */
#include <stdio.h>
#include <string.h>

#include "cairn/config.h"
#include "cairn/log.h"
#include "cairn/store_check.h"
#include "cmd/cmd.h"

static const char check_usage[] =
    "usage: cairn check [options] DATA_DIR\n\n"
    "Verify every WAL file, segment file (each block's CRC) and index file.\n"
    "Exit status: 0 clean, 1 damage found (or left after --repair), 2 usage or I/O\n"
    "error, or --repair refused (the directory is in use).";

struct check_opts {
    int repair, quiet;
};

static const struct cairn_cfg_entry check_e[] = {
    {.key = "repair", .type = CAIRN_CFG_BOOL, .flags = CAIRN_CFG_CLI_ONLY,
     CAIRN_CFG_AT(struct check_opts, repair), .flag = "repair",
     .help = "rewrite damaged WAL and segment files without their bad records, move "
             "damaged index files aside (rebuilt on the next start); originals go to "
             "DATA_DIR/quarantine/. Refused while a server holds the directory"},
    {.key = "quiet", .type = CAIRN_CFG_BOOL, .flags = CAIRN_CFG_CLI_ONLY,
     CAIRN_CFG_AT(struct check_opts, quiet), .flag = "quiet", .lflag = "q",
     .help = "print damage only (no notes, no summary)"},
};
static const struct cairn_cfg_table check_t = CAIRN_CFG_TABLE("check", check_e, struct check_opts);

struct out {
    int quiet;
};

static void on_finding(void *ctx, enum cairn_check_kind kind, const char *file, uint64_t off,
                       const char *what)
{
    const struct out *o = ctx;
    static const char *const tag[] = {"DAMAGED", "note", "repaired"};
    if (o->quiet && kind != CAIRN_CHECK_DAMAGE)
        return;
    if (off)
        printf("%s: %s offset %llu: %s\n", tag[kind], file, (unsigned long long)off, what);
    else
        printf("%s: %s: %s\n", tag[kind], file, what);
}

int cairn_cmd_check(int argc, char **argv)
{
    struct check_opts opts;
    struct cairn_cfg c = {0};
    struct cairn_err err;
    struct cairn_buf help = CAIRN_BUF_INIT;
    struct cairn_cfg_args args = {0};
    struct out o = {0};
    cairn_err_clear(&err);
    if (cairn_cfg_init(&c, &check_t, &opts, NULL, &err)) {
        fprintf(stderr, "cairn check: %s\n", err.msg);
        return 2;
    }
    int rc = cairn_cfg_load_args(&c, argc, argv, check_usage, &args, &help, &err);
    if (rc == 0 && args.n_pos != 1)
        rc = cairn_err_set(&err, CAIRN_EINVAL, args.n_pos ? "unexpected argument '%s' (see --help)"
                                                          : "a DATA_DIR is required%s (see --help)",
                           args.n_pos ? args.pos[1] : "");
    char dir[4096];
    if (rc == 0)
        snprintf(dir, sizeof dir, "%s", args.pos[0]);
    int repair = opts.repair;
    o.quiet = opts.quiet;
    cairn_cfg_args_deinit(&args);
    cairn_cfg_deinit(&c);
    if (rc == CAIRN_CFG_EXIT)
        fwrite(help.data ? help.data : "", 1, help.len, stdout);
    cairn_buf_deinit(&help);
    if (rc == CAIRN_CFG_EXIT)
        return 0;
    if (rc) {
        fprintf(stderr, "cairn check: %s\n", err.msg);
        return 2;
    }
    /* findings are printed; the library's log says only what went wrong with it */
    cairn_log_set_level(CAIRN_LOG_ERROR);
    struct cairn_check_result res;
    rc = cairn_store_check(dir, repair, on_finding, &o, &res);
    if (rc == CAIRN_EAGAIN) {
        fprintf(stderr, "cairn check: %s is in use by another process (a running server?): "
                        "stop it before --repair\n", dir);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "cairn check: %s: %s\n", dir, cairn_strerror(rc));
        return 2;
    }
    if (!o.quiet)
        printf("checked %llu files, %llu records, %llu blocks: %llu damaged%s, %llu repaired\n",
               (unsigned long long)res.files, (unsigned long long)res.records,
               (unsigned long long)res.blocks, (unsigned long long)res.damaged,
               repair ? " left" : "", (unsigned long long)res.repaired);
    fflush(stdout);
    return res.damaged ? 1 : 0;
}
