/* The classic chroot escape: chroot into a subdirectory while keeping the
 * working directory outside it, then climb with "..".  Stopped by the
 * seccomp filter (EPERM); chroot(2) also needs CAP_SYS_CHROOT.  The probe
 * also checks that "/" is the same directory after all attempts. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "syscall-probe.h"

int main(void)
{
    char dir[] = "/tmp/escape-chroot-XXXXXX";
    struct stat before, after;
    int outside;

    probe_name = "chroot";
    if (!mkdtemp(dir) || stat("/", &before) < 0) {
        probe_fail("cannot create a directory in /tmp: %s", strerror(errno));
        return 1;
    }
    outside = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    EXPECT_ERRNO(EPERM, chroot(dir));
    if (chdir(dir) == 0) {
        EXPECT_ERRNO(EPERM, chroot("."));
        chdir("../../../../..");
        EXPECT_ERRNO(EPERM, chroot("."));
    }
    if (outside >= 0 && fchdir(outside) == 0)
        EXPECT_ERRNO(EPERM, chroot("."));

    if (stat("/", &after) < 0 || after.st_dev != before.st_dev ||
        after.st_ino != before.st_ino)
        probe_fail("the root directory changed during the probe");
    if (outside >= 0)
        close(outside);
    rmdir(dir);
    return probe_finish("chroot returns EPERM and the root directory is "
                        "unchanged");
}
