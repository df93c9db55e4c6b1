/* Logging for the daemon and its helpers: stderr or syslog, with levels.
 *
 * Helpers stay quiet above debug; the caller that gives up on an operation
 * logs it once.  Strings that come from a tenant must be capped with
 * log_cap() before they reach a log line. */
#ifndef WARDEN_COMMON_LOG_H
#define WARDEN_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_MAX
};

/* Parse "error", "warning", "info" or "debug"; return the level or -EINVAL. */
int log_level_from_string(const char *s);
const char *log_level_to_string(enum log_level level);

void log_setup(const char *ident, bool use_syslog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Copy at most max-1 bytes of s into buf, replacing control characters with
 * '?', and mark a cut with "...".  Return buf. */
const char *log_cap(const char *s, char *buf, size_t max);

#endif
