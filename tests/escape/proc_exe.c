/* Escape probe: overwrite host binaries through /proc/PID/exe or /usr.
 *
 * Opens /proc/self/exe, the file it points to and /proc/1/exe for
 * writing, and tries to open and create files under /usr.  Every attempt
 * must fail: the running executable is busy (ETXTBSY) or on a read-only
 * mount (EROFS), and the init is not dumpable (EACCES). */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <fcntl.h>
#include <limits.h>

static void expect_open_fails(const char *path, int flags)
{
    int fd;

    probe_attempts++;
    errno = 0;
    fd = open(path, flags | O_CLOEXEC, 0755);
    if (fd >= 0) {
        probe_fail("open(%s) for writing succeeded", path);
        close(fd);
    }
}

int main(void)
{
    static const char *const usr_files[] = {"/usr/bin/env", "/usr/bin/sh",
                                            "/usr/lib/os-release"};
    char target[PATH_MAX];
    ssize_t n;

    probe_name = "proc_exe";
    expect_open_fails("/proc/self/exe", O_WRONLY);
    expect_open_fails("/proc/self/exe", O_RDWR | O_TRUNC);
    expect_open_fails("/proc/1/exe", O_WRONLY);
    n = readlink("/proc/self/exe", target, sizeof(target) - 1);
    if (n > 0) {
        target[n] = '\0';
        expect_open_fails(target, O_WRONLY);
    }
    for (size_t i = 0; i < sizeof(usr_files) / sizeof(usr_files[0]); i++) {
        expect_open_fails(usr_files[i], O_WRONLY);
        expect_open_fails(usr_files[i], O_WRONLY | O_APPEND);
    }
    expect_open_fails("/usr/bin/warden-probe-new", O_WRONLY | O_CREAT);
    EXPECT_ERRNO(EROFS, unlink("/usr/bin/env"));
    EXPECT_ERRNO(EROFS, rename("/usr/bin/env", "/usr/bin/env2"));
    return probe_finish("/proc/*/exe and /usr binaries are not writable");
}
