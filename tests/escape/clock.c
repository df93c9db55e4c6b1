/* Setting the system clock affects the whole host, because the realtime
 * clock is not namespaced.  Stopped by the seccomp filter (EPERM) and by
 * the missing CAP_SYS_TIME.  Every call is made so that it would change
 * nothing even if it ran: settimeofday with no arguments, clock_settime
 * with an invalid time, and adjtimex with ADJ_TICK 0, which the kernel
 * rejects after its permission check. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#include "syscall-probe.h"

int main(void)
{
    struct timex tx = {.modes = ADJ_TICK, .tick = 0};
    struct timex query = {.modes = 0};
    struct timespec invalid = {.tv_sec = 0, .tv_nsec = -1};

    probe_name = "clock";
    EXPECT_ERRNO(EPERM, syscall(SYS_settimeofday, NULL, NULL));
    /* Raw syscall, because glibc rejects the invalid time itself. */
    EXPECT_ERRNO(EPERM, syscall(SYS_clock_settime, CLOCK_REALTIME, &invalid));
    EXPECT_ERRNO(EPERM, adjtimex(&tx));
    EXPECT_ERRNO(EPERM, syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
    /* adjtimex is denied as a whole, read-only queries included. */
    EXPECT_ERRNO(EPERM, adjtimex(&query));
    return probe_finish("settimeofday, clock_settime, adjtimex and "
                        "clock_adjtime return EPERM");
}
