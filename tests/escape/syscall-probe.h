/* Shared checks for the syscall escape probes in this folder.
 *
 * A probe makes each escape attempt through one of the expect_*() helpers
 * and ends with probe_finish(), which prints "PASS name: detail" and
 * returns 0 when every attempt was blocked as expected, or prints
 * "FAIL name: ..." for each attempt that was not and returns 1.  The
 * probes are standalone programs built without the project library, so
 * that they run unchanged inside a sandbox. */
#ifndef WARDEN_TESTS_ESCAPE_SYSCALL_PROBE_H
#define WARDEN_TESTS_ESCAPE_SYSCALL_PROBE_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *probe_name = "probe";
static unsigned probe_attempts;
static unsigned probe_failures;

static void probe_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void probe_fail(const char *fmt, ...)
{
    va_list ap;

    printf("FAIL %s: ", probe_name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    probe_failures++;
}

/* Check that a call returned -1 with errno equal to expected; rc and err
 * are the call's return value and errno, captured right after it. */
__attribute__((unused)) static void expect_errno(const char *what, long rc, int err, int expected)
{
    probe_attempts++;
    if (rc == -1 && err == expected)
        return;
    if (rc == -1)
        probe_fail("%s failed with %s, expected %s", what, strerrorname_np(err),
                   strerrorname_np(expected));
    else
        probe_fail("%s succeeded (returned %ld), expected %s", what, rc,
                   strerrorname_np(expected));
}

/* Evaluate call once and check it failed with errno `expected`; the call's
 * source text names the attempt in a FAIL line. */
#define EXPECT_ERRNO(expected, call)                                           \
    do {                                                                       \
        errno = 0;                                                             \
        long rc_ = (long)(call);                                               \
        int err_ = errno;                                                      \
        expect_errno(#call, rc_, err_, (expected));                            \
    } while (0)

/* Like expect_errno() for a call where any of two errors proves the
 * attempt was blocked. */
__attribute__((unused)) static void expect_errno2(const char *what, long rc, int err, int expected1,
                          int expected2)
{
    expect_errno(what, rc, err, rc == -1 && err == expected2 ? expected2
                                                              : expected1);
}

/* Run attempt() in a child process and check that the child was killed by
 * signal `expected` (SIGSYS for a seccomp kill) and nothing else. */
__attribute__((unused)) static void expect_killed(const char *what, void (*attempt)(void), int expected)
{
    int status;
    pid_t pid;

    probe_attempts++;
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        probe_fail("%s: fork failed: %s", what, strerror(errno));
        return;
    }
    if (pid == 0) {
        attempt();
        _exit(0);
    }
    if (waitpid(pid, &status, 0) < 0) {
        probe_fail("%s: waitpid failed: %s", what, strerror(errno));
        return;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == expected)
        return;
    if (WIFSIGNALED(status))
        probe_fail("%s: child died of %s, expected %s", what,
                   sigabbrev_np(WTERMSIG(status)), sigabbrev_np(expected));
    else
        probe_fail("%s: child survived and exited with %d, expected death by "
                   "%s", what, WEXITSTATUS(status), sigabbrev_np(expected));
}

static int probe_finish(const char *detail)
{
    if (probe_failures > 0)
        return 1;
    if (probe_attempts == 0) {
        probe_fail("no attempt was made");
        return 1;
    }
    printf("PASS %s: %s (%u attempts blocked)\n", probe_name, detail,
           probe_attempts);
    return 0;
}

#endif
