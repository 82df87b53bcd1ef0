/* load.c -- the option loading that subcommands built on the config tables share:
 * defaults, file and flags through cairn_cfg_load_args, no positional arguments,
 * --help and --print-config written to stdout, errors as "cairn NAME: ...". */
#include <stdio.h>

#include "cairn/config.h"
#include "cmd/cmd.h"

int cairn__cmd_load(const char *name, struct cairn_cfg *c, int argc, char **argv,
                    const char *usage)
{
    struct cairn_err err;
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_cfg_args args;
    cairn_err_clear(&err);
    int rc = cairn_cfg_load_args(c, argc, argv, usage, &args, &out, &err);
    if (rc == 0 && args.n_pos > 0)
        rc = cairn_err_set(&err, CAIRN_EINVAL, "unexpected argument '%s' (see --help)",
                           args.pos[0]);
    cairn_cfg_args_deinit(&args);
    int status = -1;
    if (rc == CAIRN_CFG_EXIT) {
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        status = 0;
    } else if (rc) {
        fprintf(stderr, "cairn %s: %s\n", name, err.msg);
        status = 2;
    }
    cairn_buf_deinit(&out);
    return status;
}
