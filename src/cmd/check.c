/* check.c -- `cairn check [--repair] DATA_DIR`: verify every file of a data directory
 * (WAL, segments and their blocks, indexes), print what is damaged, and with --repair
 * rewrite what can be rewritten. Exit codes (docs/CHECK.md): 0 clean, 1 damage found
 * (or left after --repair), 2 usage error, unreadable directory, or --repair refused
 * because another process holds the directory. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/store_check.h"
#include "cmd/cmd.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cairn check [options] DATA_DIR\n\n"
               "Verify every WAL file, segment file (each block's CRC) and index file.\n\n"
               "options:\n"
               "  --repair   rewrite damaged WAL and segment files without their bad records,\n"
               "             move damaged index files aside (rebuilt on the next start);\n"
               "             originals go to DATA_DIR/quarantine/. Refused while a server\n"
               "             holds the directory.\n"
               "  --quiet    print damage only (no notes, no summary)\n"
               "  --help     this text\n\n"
               "exit status: 0 clean, 1 damage found (or left after --repair), 2 usage or\n"
               "I/O error, or --repair refused (the directory is in use)\n");
}

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
    static const struct option longopts[] = {
        {"repair", no_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int repair = 0, c;
    struct out o = {0};
    while ((c = getopt_long(argc, argv, "rqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            repair = 1;
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *dir = argv[optind];
    /* findings are printed; the library's log says only what went wrong with it */
    cairn_log_set_level(CAIRN_LOG_ERROR);
    struct cairn_check_result res;
    int rc = cairn_store_check(dir, repair, on_finding, &o, &res);
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
