/* error.c -- names for CAIRN_E* codes and the user-facing error message helper. */
#include <stdarg.h>
#include <stdio.h>

#include "cairn/error.h"

const char *cairn_strerror(int err)
{
    switch (err) {
    case CAIRN_OK: return "ok";
    case CAIRN_ENOMEM: return "out of memory";
    case CAIRN_EINVAL: return "invalid argument";
    case CAIRN_EIO: return "i/o error";
    case CAIRN_ECORRUPT: return "corrupt data";
    case CAIRN_ENOTFOUND: return "not found";
    case CAIRN_ELIMIT: return "limit exceeded";
    case CAIRN_ERANGE: return "out of range";
    case CAIRN_EEXIST: return "already exists";
    case CAIRN_EAGAIN: return "try again";
    case CAIRN_EUNSUPPORTED: return "unsupported";
    case CAIRN_ETIMEDOUT: return "timed out";
    case CAIRN_ENOSPC: return "no space left on device";
    case CAIRN_EREMOTE: return "object store unavailable";
    default: return "unknown error";
    }
}

int cairn_err_set(struct cairn_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void cairn_err_clear(struct cairn_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
