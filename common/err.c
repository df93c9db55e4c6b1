#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void format_into(struct werr *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int werr_set(struct werr *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    format_into(err, fmt, ap);
    va_end(ap);
    return code;
}

int werr_errno(struct werr *err, int code, const char *fmt, ...)
{
    va_list ap;
    size_t len;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    format_into(err, fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    if (len + 3 < sizeof(err->msg)) {
        const char *text = strerror(code < 0 ? -code : code);
        size_t room = sizeof(err->msg) - len - 3;

        memcpy(err->msg + len, ": ", 2);
        strncpy(err->msg + len + 2, text, room);
        err->msg[sizeof(err->msg) - 1] = '\0';
    }
    return code;
}

int werr_prefix(struct werr *err, const char *fmt, ...)
{
    char joined[2 * WERR_MSG_MAX + 2];
    size_t len;
    va_list ap;

    if (!err)
        return -EIO;
    va_start(ap, fmt);
    vsnprintf(joined, WERR_MSG_MAX, fmt, ap);
    va_end(ap);
    len = strlen(joined);
    memcpy(joined + len, ": ", 2);
    memcpy(joined + len + 2, err->msg, sizeof(err->msg));
    joined[sizeof(joined) - 1] = '\0';
    memcpy(err->msg, joined, sizeof(err->msg) - 1);
    err->msg[sizeof(err->msg) - 1] = '\0';
    return err->code;
}

void werr_clear(struct werr *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}
