#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *const level_names[LOG_LEVEL_MAX] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARNING] = "warning",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_priorities[LOG_LEVEL_MAX] = {
    [LOG_LEVEL_ERROR] = LOG_ERR,
    [LOG_LEVEL_WARNING] = LOG_WARNING,
    [LOG_LEVEL_INFO] = LOG_INFO,
    [LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

static struct {
    const char *ident;
    bool use_syslog;
    enum log_level level;
} log_state = {"warden", false, LOG_LEVEL_INFO};

int log_level_from_string(const char *s)
{
    for (int i = 0; i < LOG_LEVEL_MAX; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -EINVAL;
}

const char *log_level_to_string(enum log_level level)
{
    if (level >= LOG_LEVEL_MAX)
        return "unknown";
    return level_names[level];
}

void log_setup(const char *ident, bool use_syslog, enum log_level level)
{
    log_state.ident = ident;
    log_state.use_syslog = use_syslog;
    log_state.level = level;
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
    log_state.level = level;
}

enum log_level log_get_level(void)
{
    return log_state.level;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    char stamp[32];
    struct timespec now;
    struct tm tm;
    va_list ap;
    int saved_errno = errno;

    if (level > log_state.level || level >= LOG_LEVEL_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    if (log_state.use_syslog) {
        syslog(syslog_priorities[level], "%s", line);
    } else {
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", stamp,
                now.tv_nsec / 1000000, log_state.ident, level_names[level],
                line);
    }
    errno = saved_errno;
}

const char *log_cap(const char *s, char *buf, size_t max)
{
    size_t i;

    if (max == 0)
        return "";
    if (!s) {
        snprintf(buf, max, "(null)");
        return buf;
    }
    for (i = 0; s[i] && i + 1 < max; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[i] = '\0';
    if (s[i] && max > 4)
        memcpy(buf + max - 4, "...", 4);
    return buf;
}
