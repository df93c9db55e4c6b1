/* Loading or removing kernel modules.  Stopped by the seccomp filter
 * (EPERM) and by the missing CAP_SYS_MODULE.  The arguments are invalid
 * (no image, a bad descriptor, a module name that does not exist), so a
 * call that passed the permission check would fail and change nothing. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    probe_name = "module";
    EXPECT_ERRNO(EPERM, syscall(SYS_init_module, NULL, 0, ""));
    EXPECT_ERRNO(EPERM, syscall(SYS_finit_module, -1, "", 0));
    EXPECT_ERRNO(EPERM, syscall(SYS_delete_module, "warden_no_such_module",
                                O_NONBLOCK));
    return probe_finish("init_module, finit_module and delete_module return "
                        "EPERM");
}
