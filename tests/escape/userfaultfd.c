/* userfaultfd lets a process stall kernel accesses to its memory at will,
 * which turns many kernel races into reliable exploits.  The syscall is
 * stopped by the seccomp filter (EPERM).  /dev/userfaultfd is stopped by
 * the file layer: it is absent from the sandbox's /dev (ENOENT) and
 * root-only on a host (EACCES). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    int dev;

    probe_name = "userfaultfd";
    EXPECT_ERRNO(EPERM, syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
    EXPECT_ERRNO(EPERM, syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));

    errno = 0;
    dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    probe_attempts++;
    if (dev >= 0) {
        int uffd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);

        if (uffd >= 0)
            probe_fail("/dev/userfaultfd opened and USERFAULTFD_IOC_NEW "
                       "returned a userfaultfd");
        else
            probe_fail("/dev/userfaultfd opened (ioctl then failed with %s); "
                       "the node must not be reachable",
                       strerrorname_np(errno));
        if (uffd >= 0)
            close(uffd);
        close(dev);
    } else if (errno != ENOENT && errno != EACCES && errno != EPERM) {
        probe_fail("open(/dev/userfaultfd) failed with %s, expected ENOENT, "
                   "EACCES or EPERM", strerrorname_np(errno));
    }
    return probe_finish("userfaultfd returns EPERM and /dev/userfaultfd "
                        "cannot be opened");
}
