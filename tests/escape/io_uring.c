/* io_uring runs file and network operations from kernel workers, outside
 * the syscall path a seccomp filter sees, and has a long record of kernel
 * bugs.  Stopped by the seccomp filter (EPERM); without it the setup call
 * succeeds for an unprivileged user unless kernel.io_uring_disabled is
 * set. */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    struct io_uring_params params = {0};

    probe_name = "io_uring";
    EXPECT_ERRNO(EPERM, syscall(SYS_io_uring_setup, 8, &params));
    EXPECT_ERRNO(EPERM, syscall(SYS_io_uring_enter, 3, 1, 0, 0, NULL, 0));
    EXPECT_ERRNO(EPERM, syscall(SYS_io_uring_register, 3,
                                IORING_REGISTER_PROBE, NULL, 0));
    return probe_finish("io_uring_setup, io_uring_enter and "
                        "io_uring_register return EPERM");
}
