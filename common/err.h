/* Error reporting shared by every module.
 *
 * Functions that can fail return 0 (or a non-negative result) on success
 * and a negative errno value on failure.  Functions whose failure needs a
 * human-readable explanation also take a `struct werr *err` as their last
 * argument and fill it through werr_set(), which returns the code so that
 * a failing path reads `return werr_set(err, -EINVAL, "...");`.  The
 * message travels unchanged up to the control protocol and the CLI.
 * Outputs are left untouched on failure. */
#ifndef WARDEN_COMMON_ERR_H
#define WARDEN_COMMON_ERR_H

#include <errno.h>
#include <stddef.h>

#define WERR_MSG_MAX 1024

struct werr {
    int code;                /* negative errno, 0 when no error is set */
    char msg[WERR_MSG_MAX];  /* one sentence or two, no trailing newline */
};

/* Store code and the formatted message in err (which may be NULL) and
 * return code. */
int werr_set(struct werr *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like werr_set(), with ": " and strerror(-code) appended. */
int werr_errno(struct werr *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with "context: " and return err->code. */
int werr_prefix(struct werr *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void werr_clear(struct werr *err);

/* Return -errno, or -EIO when errno is unexpectedly zero, so a failing libc
 * call can never be mistaken for success. */
static inline int neg_errno(void)
{
    return errno > 0 ? -errno : -EIO;
}

#endif
