/* The i386 syscall table through "int $0x80" from 64-bit code: the
 * syscall arrives with AUDIT_ARCH_I386 and i386 numbers, so a filter
 * written for x86_64 numbers alone could be bypassed.  The sandbox
 * filter's bad-architecture action kills the process (SIGSYS).  Without
 * it the calls run when the kernel has IA32 emulation, so the probe
 * proves the filter. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#define I386_GETPID 20
#define I386_MOUNT 21
#define I386_UNSHARE 310

static long int80(long nr, long a, long b, long c)
{
    long ret;

    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c)
                     : "memory");
    return ret;
}

static void i386_getpid(void)
{
    int80(I386_GETPID, 0, 0, 0);
}

static void i386_mount(void)
{
    int80(I386_MOUNT, 0, 0, 0);
}

static void i386_unshare(void)
{
    int80(I386_UNSHARE, 0x10000000L /* CLONE_NEWUSER */, 0, 0);
}

int main(void)
{
    probe_name = "i386";
    expect_killed("int 0x80 getpid", i386_getpid, SIGSYS);
    expect_killed("int 0x80 mount", i386_mount, SIGSYS);
    expect_killed("int 0x80 unshare", i386_unshare, SIGSYS);
    return probe_finish("int 0x80 from 64-bit code kills the process with "
                        "SIGSYS");
}
