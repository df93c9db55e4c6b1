/* Reading the kernel log with syslog(2) leaks host activity and kernel
 * addresses.  Stopped by the seccomp filter (EPERM); kernel.dmesg_restrict
 * gives EPERM without it on most distributions.  Only read actions are
 * tried, so nothing is cleared if a call gets through. */
#define _GNU_SOURCE
#include <sys/klog.h>

#include "syscall-probe.h"

#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_SIZE_BUFFER 10

int main(void)
{
    char buf[256];

    probe_name = "syslog";
    EXPECT_ERRNO(EPERM, klogctl(SYSLOG_ACTION_READ_ALL, buf, sizeof(buf)));
    EXPECT_ERRNO(EPERM, klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0));
    return probe_finish("syslog returns EPERM");
}
