/* Tracing other processes: PTRACE_ATTACH and PTRACE_SEIZE on pid 1 and on
 * the parent, attaching to an own child (which the kernel's ptrace access
 * check alone allows), PTRACE_TRACEME, and process_vm_readv(2).
 *
 * Stopped by the seccomp filter (EPERM).  Without it PTRACE_TRACEME and
 * attaching to an own child succeed, so this probe proves the filter. */
#define _GNU_SOURCE
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "syscall-probe.h"

/* Attempt one attach; if it succeeds, detach again at once so the probe
 * never leaves a process stopped, and report the failure. */
static void try_attach(const char *what, enum __ptrace_request request,
                       pid_t pid)
{
    long rc;
    int err;

    errno = 0;
    rc = ptrace(request, pid, NULL, NULL);
    err = errno;
    if (rc == 0)
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
    expect_errno(what, rc, err, EPERM);
}

/* PTRACE_TRACEME in a child, so that a success cannot leave this process
 * waiting for a tracer that never answers; the child reports by exit
 * code. */
static void try_traceme(void)
{
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        errno = 0;
        long rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        _exit(rc == -1 && errno == EPERM ? 0 : 1);
    }
    probe_attempts++;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        probe_fail("ptrace(PTRACE_TRACEME) did not fail with EPERM");
}

int main(void)
{
    char buf[16], remote[16];
    struct iovec local = {buf, sizeof(buf)}, far = {remote, sizeof(remote)};
    pid_t child;

    probe_name = "ptrace";
    try_attach("PTRACE_ATTACH to pid 1", PTRACE_ATTACH, 1);
    try_attach("PTRACE_SEIZE on pid 1", PTRACE_SEIZE, 1);
    try_attach("PTRACE_ATTACH to the parent", PTRACE_ATTACH, getppid());
    try_traceme();
    EXPECT_ERRNO(EPERM, process_vm_readv(getppid(), &local, 1, &far, 1, 0));
    EXPECT_ERRNO(EPERM, process_vm_writev(getppid(), &local, 1, &far, 1, 0));

    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    if (child > 0) {
        try_attach("PTRACE_SEIZE on an own child", PTRACE_SEIZE, child);
        EXPECT_ERRNO(EPERM, process_vm_readv(child, &local, 1, &far, 1, 0));
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    return probe_finish("ptrace and process_vm_readv/writev return EPERM");
}
