/* Creating namespaces with unshare(2) and clone(2), above all a user
 * namespace, which would give the caller a full capability set in it.
 *
 * Stopped by the seccomp argument filter on the namespace flags (EPERM).
 * Without it, unshare(CLONE_NEWUSER) works for an unprivileged user on
 * most kernels, so this probe proves the filter. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

static const struct {
    const char *name;
    unsigned long flag;
} namespace_flags[] = {
    {"CLONE_NEWUSER", CLONE_NEWUSER},     {"CLONE_NEWNS", CLONE_NEWNS},
    {"CLONE_NEWPID", CLONE_NEWPID},       {"CLONE_NEWNET", CLONE_NEWNET},
    {"CLONE_NEWUTS", CLONE_NEWUTS},       {"CLONE_NEWIPC", CLONE_NEWIPC},
    {"CLONE_NEWCGROUP", CLONE_NEWCGROUP},
};

/* Raw clone(2) so that glibc cannot turn it into clone3; a child that
 * got created exits at once. */
static long raw_clone(unsigned long flags)
{
    long rc = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);

    if (rc == 0)
        _exit(0);
    if (rc > 0)
        waitpid((pid_t)rc, NULL, 0);
    return rc;
}

int main(void)
{
    char what[96];
    size_t i;

    probe_name = "userns";
    for (i = 0; i < sizeof(namespace_flags) / sizeof(namespace_flags[0]);
         i++) {
        long rc;
        int err;

        snprintf(what, sizeof(what), "unshare(%s)", namespace_flags[i].name);
        errno = 0;
        rc = unshare((int)namespace_flags[i].flag);
        err = errno;
        expect_errno(what, rc, err, EPERM);

        snprintf(what, sizeof(what), "clone(%s)", namespace_flags[i].name);
        errno = 0;
        rc = raw_clone(namespace_flags[i].flag);
        err = errno;
        expect_errno(what, rc, err, EPERM);
    }
    EXPECT_ERRNO(EPERM, unshare(CLONE_NEWTIME));
    /* Extra bits around the flag must not hide it. */
    EXPECT_ERRNO(EPERM, unshare(CLONE_NEWUSER | CLONE_FILES | CLONE_FS));
    EXPECT_ERRNO(EPERM, syscall(SYS_unshare, 0xffffffff00000000UL |
                                                 CLONE_NEWUSER));
    EXPECT_ERRNO(EPERM, raw_clone(CLONE_NEWUSER | CLONE_NEWNS | CLONE_FS));
    return probe_finish("unshare and clone with any namespace flag return "
                        "EPERM");
}
