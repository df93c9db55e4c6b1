/* x32 syscalls: numbers with __X32_SYSCALL_BIT (0x40000000) set reach the
 * same entry point with AUDIT_ARCH_X86_64, so an x86_64 filter that only
 * matches numbers could be bypassed through them.  The sandbox filter
 * kills the process (SIGSYS).  Without it a kernel built without x32
 * support returns ENOSYS and the probe fails, so it proves the filter. */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "syscall-probe.h"

#define X32_SYSCALL_BIT 0x40000000L

static void x32_getpid(void)
{
    syscall(X32_SYSCALL_BIT | SYS_getpid);
}

/* 512 to 547 are the x32-only numbers, 512 is x32 rt_sigaction. */
static void x32_only_number(void)
{
    syscall(X32_SYSCALL_BIT | 512, 0, NULL, NULL, 8);
}

static void x32_mount(void)
{
    syscall(X32_SYSCALL_BIT | SYS_mount, "none", "/tmp", "tmpfs", 0, NULL);
}

static void x32_unshare(void)
{
    syscall(X32_SYSCALL_BIT | SYS_unshare, 0x10000000L /* CLONE_NEWUSER */);
}

int main(void)
{
    probe_name = "x32";
    expect_killed("x32 getpid", x32_getpid, SIGSYS);
    expect_killed("x32 rt_sigaction (512)", x32_only_number, SIGSYS);
    expect_killed("x32 mount", x32_mount, SIGSYS);
    expect_killed("x32 unshare", x32_unshare, SIGSYS);
    return probe_finish("x32 syscall numbers kill the process with SIGSYS");
}
