/* reboot(2): inside a pid namespace it would end the sandbox, on the host
 * it restarts the machine.  Stopped by the seccomp filter (EPERM) and by
 * the missing CAP_SYS_BOOT.  The second magic number is wrong on purpose,
 * so a call that passed the permission check fails with EINVAL and does
 * nothing. */
#define _GNU_SOURCE
#include <linux/reboot.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    probe_name = "reboot";
    EXPECT_ERRNO(EPERM, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0,
                                LINUX_REBOOT_CMD_CAD_OFF, NULL));
    EXPECT_ERRNO(EPERM, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0,
                                LINUX_REBOOT_CMD_RESTART, NULL));
    return probe_finish("reboot returns EPERM");
}
