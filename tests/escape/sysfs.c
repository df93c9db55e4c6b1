/* Escape probe: writes to /sys.
 *
 * The sandbox has no /sys; writes to well-known sysfs files and creating
 * /sys must fail, and mounting a sysfs must be refused. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

static void expect_no_write(const char *path)
{
    int fd;

    probe_attempts++;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        probe_fail("%s opened for writing", path);
        close(fd);
    }
}

int main(void)
{
    probe_name = "sysfs";
    EXPECT_ERRNO(ENOENT, access("/sys", F_OK));
    EXPECT_ERRNO(EROFS, mkdir("/sys", 0755));
    expect_no_write("/sys/kernel/uevent_helper");
    expect_no_write("/sys/power/state");
    expect_no_write("/sys/class/net/lo/mtu");
    expect_no_write("/sys/fs/cgroup/cgroup.procs");
    EXPECT_ERRNO(EPERM, mount("sysfs", "/tmp", "sysfs", 0, NULL));
    return probe_finish("/sys is absent and cannot be mounted");
}
