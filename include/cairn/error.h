/* error.h -- cairn's one error convention: 0 on success, negative CAIRN_E* on failure.
 *
 * Functions return int; constructors return a pointer or NULL. Where a caller needs
 * to tell a user what was wrong (a label, a key, a position), the function also takes
 * a `struct cairn_err *` and fills its message; the message never owns memory. */
#ifndef CAIRN_ERROR_H
#define CAIRN_ERROR_H

#include <stddef.h>

enum {
    CAIRN_OK = 0,
    CAIRN_ENOMEM = -1,    /* allocation failed */
    CAIRN_EINVAL = -2,    /* bad input from the user or caller */
    CAIRN_EIO = -3,       /* a syscall failed (logged where it failed) */
    CAIRN_ECORRUPT = -4,  /* stored data failed a CRC or format check */
    CAIRN_ENOTFOUND = -5, /* no such thing */
    CAIRN_ELIMIT = -6,    /* a configured limit was hit (rate, streams, size) */
    CAIRN_ERANGE = -7,    /* a value outside its allowed range (too old, too long) */
    CAIRN_EEXIST = -8,    /* already there */
    CAIRN_EAGAIN = -9,    /* try again later (back-pressure, shutting down) */
    CAIRN_EUNSUPPORTED = -10, /* valid but not supported (format version, codec) */
    CAIRN_ETIMEDOUT = -11, /* a deadline passed (a query's timeout) */
    CAIRN_ENOSPC = -12,    /* the disk (or quota) is full; retry once space is freed */
    CAIRN_EREMOTE = -13,   /* the object store could not be read (down, refusing, or no
                            * answer within its timeout); retry once it is back */
};

/* A human-readable name for a CAIRN_E* code; never NULL. */
const char *cairn_strerror(int err);

#define CAIRN_ERR_MSG_MAX 512

/* A user-facing error message, filled by functions that validate user input. */
struct cairn_err {
    int code;                     /* CAIRN_E* */
    char msg[CAIRN_ERR_MSG_MAX];  /* NUL-terminated, truncated if too long */
};

/* Set err->code and format err->msg (printf-style); returns code so callers can
 * `return cairn_err_set(err, CAIRN_EINVAL, "...")`. err may be NULL. */
int cairn_err_set(struct cairn_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear an error: code 0, empty message. err may be NULL. */
void cairn_err_clear(struct cairn_err *err);

#endif
