/* perf_event_open(2) exposes hardware counters and a large kernel
 * surface; with kernel.perf_event_paranoid at 2 or below an unprivileged
 * process may still monitor itself.  Stopped by the seccomp filter
 * (EPERM), which this probe proves on such kernels. */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    struct perf_event_attr attr = {
        .type = PERF_TYPE_SOFTWARE,
        .size = sizeof(attr),
        .config = PERF_COUNT_SW_CPU_CLOCK,
        .disabled = 1,
        .exclude_kernel = 1,
        .exclude_hv = 1,
    };
    struct perf_event_attr tracepoint = attr;

    tracepoint.type = PERF_TYPE_TRACEPOINT;
    tracepoint.config = 1;

    probe_name = "perf_event_open";
    EXPECT_ERRNO(EPERM, syscall(SYS_perf_event_open, &attr, 0, -1, -1,
                                PERF_FLAG_FD_CLOEXEC));
    EXPECT_ERRNO(EPERM, syscall(SYS_perf_event_open, &attr, -1, 0, -1,
                                PERF_FLAG_FD_CLOEXEC));
    EXPECT_ERRNO(EPERM, syscall(SYS_perf_event_open, &tracepoint, 0, -1, -1,
                                PERF_FLAG_FD_CLOEXEC));
    return probe_finish("perf_event_open returns EPERM");
}
