/* Loading a new kernel with kexec_load(2) or kexec_file_load(2).  Stopped
 * by the seccomp filter (EPERM) and by the missing CAP_SYS_BOOT.  The
 * flags are invalid, so a call that passed the permission check would
 * fail with EINVAL instead of replacing or unloading a kernel. */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "syscall-probe.h"

#define INVALID_KEXEC_FLAGS 0x8000UL

int main(void)
{
    probe_name = "kexec";
    EXPECT_ERRNO(EPERM, syscall(SYS_kexec_load, 0UL, 0UL, NULL,
                                INVALID_KEXEC_FLAGS));
    EXPECT_ERRNO(EPERM, syscall(SYS_kexec_file_load, -1, -1, 0UL, "",
                                INVALID_KEXEC_FLAGS));
    return probe_finish("kexec_load and kexec_file_load return EPERM");
}
