/* The daemon's clock.  In production it is the system clock; a test may
 * set [daemon] clock_file to a file holding a UNIX time in seconds, which
 * the daemon rereads at every use, to move time forward without waiting. */
#include "supervisor/daemon.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool read_clock_file(const char *path, time_t *ret)
{
    _cleanup_free_ char *text = NULL;
    char *end = NULL;
    long long value;

    if (fs_read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0)
        return false;
    value = strtoll(text, &end, 10);
    if (end == text || value <= 0)
        return false;
    *ret = (time_t)value;
    return true;
}

time_t daemon_now(const struct daemon *d)
{
    static bool warned;
    static time_t last;
    time_t t;

    if (!d->cfg.clock_file)
        return time(NULL);
    if (read_clock_file(d->cfg.clock_file, &t)) {
        last = t;
        return t;
    }
    /* A file being rewritten reads empty for a moment: keep the last
     * time it held rather than jump to the system clock. */
    if (last)
        return last;
    /* The test clock is unreadable: log that once. */
    if (!warned && access(d->cfg.clock_file, F_OK) == 0) {
        log_warning("clock_file %s does not hold a UNIX time in seconds; "
                    "using the system clock", d->cfg.clock_file);
        warned = true;
    }
    return time(NULL);
}

int64_t daemon_now_ns(const struct daemon *d)
{
    struct timespec ts;

    if (d->cfg.clock_file)
        return (int64_t)daemon_now(d) * 1000000000LL;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int date_parse(const char *text, time_t *ret_midnight_utc)
{
    struct tm tm = {0};
    char *end;
    time_t t;
    char back[11];

    if (strlen(text) != 10)
        return -EINVAL;
    end = strptime(text, "%Y-%m-%d", &tm);
    if (!end || *end != '\0')
        return -EINVAL;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    /* timegm() normalizes 2025-02-30 to March; reject such dates. */
    date_format(t, back);
    if (strcmp(back, text) != 0)
        return -EINVAL;
    *ret_midnight_utc = t;
    return 0;
}

void date_format(time_t t, char ret_buf[11])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(ret_buf, 11, "%Y-%m-%d", &tm);
}
