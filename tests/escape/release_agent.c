/* Escape probe: the cgroup v1 release_agent and writable cgroupfs.
 *
 * Mounting a cgroup v1 hierarchy (classic and new mount API) must be
 * refused, no cgroup file system may be visible, and writing any
 * release_agent or cgroup.procs under /sys/fs/cgroup must fail. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

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

static void expect_no_cgroupfs_visible(void)
{
    char line[4096];
    FILE *f = fopen("/proc/self/mountinfo", "re");

    probe_attempts++;
    if (!f) {
        probe_fail("reading /proc/self/mountinfo failed: %s", strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f))
        if (strstr(line, " - cgroup ") || strstr(line, " - cgroup2 "))
            probe_fail("cgroup file system visible: %s", line);
    fclose(f);
}

int main(void)
{
    static const char *const hierarchies[] = {"memory", "pids", "freezer",
                                              "none,name=escape"};
    char dir[] = "/tmp/cgXXXXXX";

    probe_name = "release_agent";
    if (!mkdtemp(dir)) {
        probe_fail("mkdtemp failed: %s", strerror(errno));
        return probe_finish("");
    }
    for (size_t i = 0; i < sizeof(hierarchies) / sizeof(hierarchies[0]); i++)
        EXPECT_ERRNO(EPERM, mount("cgroup", dir, "cgroup", 0, hierarchies[i]));
    EXPECT_ERRNO(EPERM, mount("cgroup2", dir, "cgroup2", 0, NULL));
    EXPECT_ERRNO(EPERM, syscall(SYS_fsopen, "cgroup", 0));
    expect_no_cgroupfs_visible();
    expect_no_write("/sys/fs/cgroup/release_agent");
    expect_no_write("/sys/fs/cgroup/memory/release_agent");
    expect_no_write("/sys/fs/cgroup/cgroup.procs");
    expect_no_write("/sys/fs/cgroup/unified/cgroup.procs");
    rmdir(dir);
    return probe_finish("no cgroup v1 mount, no visible cgroupfs");
}
