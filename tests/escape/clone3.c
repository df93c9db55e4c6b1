/* clone3(2) passes its flags in memory, where a seccomp filter cannot
 * read them, so the filter leaves clone3 out of the allowlist and the
 * call fails with ENOSYS; glibc then falls back to clone(2), whose flags
 * the filter checks.  Stopped by the seccomp default action.  Without the
 * filter clone3 would create the user namespace. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

static long raw_clone3(uint64_t flags)
{
    struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};
    long rc = syscall(SYS_clone3, &args, sizeof(args));

    if (rc == 0)
        _exit(0);
    if (rc > 0)
        waitpid((pid_t)rc, NULL, 0);
    return rc;
}

int main(void)
{
    probe_name = "clone3";
    EXPECT_ERRNO(ENOSYS, raw_clone3(CLONE_NEWUSER));
    EXPECT_ERRNO(ENOSYS, raw_clone3(CLONE_NEWUSER | CLONE_NEWNS |
                                    CLONE_NEWPID | CLONE_NEWNET));
    EXPECT_ERRNO(ENOSYS, raw_clone3(CLONE_NEWTIME));
    EXPECT_ERRNO(ENOSYS, raw_clone3(0));
    return probe_finish("clone3 returns ENOSYS whatever its flags");
}
