/* Escape probe: kernel settings and secrets through /proc.
 *
 * Writes to /proc/sys and /proc/sysrq-trigger must fail; /proc/kcore,
 * /proc/keys, /proc/timer_list, /proc/kallsyms and /proc/kmsg must be
 * absent, unreadable or empty (masked with /dev/null). */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <fcntl.h>

static void expect_no_write(const char *path, const char *data)
{
    int fd;

    probe_attempts++;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    /* Some files (attr/current) open for anyone and check at write. */
    if (write(fd, data, strlen(data)) >= 0)
        probe_fail("writing '%s' to %s succeeded", data, path);
    close(fd);
}

static void expect_no_data(const char *path)
{
    char buf[256];
    ssize_t n;
    int fd;

    probe_attempts++;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    n = read(fd, buf, sizeof(buf));
    if (n > 0)
        probe_fail("read %zd bytes from %s", n, path);
    close(fd);
}

int main(void)
{
    static const char *const secrets[] = {
        "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/kallsyms",
        "/proc/kmsg", "/proc/sched_debug", "/proc/kpageflags"};

    probe_name = "procsys";
    expect_no_write("/proc/sys/kernel/hostname", "escaped");
    expect_no_write("/proc/sys/kernel/core_pattern", "|/tmp/x");
    expect_no_write("/proc/sys/vm/drop_caches", "3");
    expect_no_write("/proc/sys/kernel/modprobe", "/tmp/x");
    expect_no_write("/proc/sysrq-trigger", "h");
    expect_no_write("/proc/1/attr/current", "unconfined");
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        expect_no_data(secrets[i]);
    return probe_finish("/proc/sys is read-only and kernel secrets are masked");
}
