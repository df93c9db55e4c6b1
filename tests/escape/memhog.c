/* Escape probe: exhaust memory.
 *
 * A child allocates and touches 1 MiB blocks without end (up to 64 GiB).
 * The probe passes when the child is killed with SIGKILL, as the OOM
 * killer does at the cgroup memory limit.  An allocation failure or a
 * normal exit fails it. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <stdlib.h>

static void hog(void)
{
    for (size_t i = 0; i < 64 * 1024; i++) {
        char *p = malloc(1 << 20);
        if (!p)
            _exit(3);
        memset(p, (int)i, 1 << 20);
    }
    _exit(4);
}

int main(void)
{
    int status;
    pid_t pid;

    probe_name = "memhog";
    pid = fork();
    if (pid == 0)
        hog();
    probe_attempts++;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        probe_fail("running the hog failed: %s", strerror(errno));
    else if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        probe_fail("the hog ended with status 0x%x, expected SIGKILL", status);
    return probe_finish("the OOM killer ends a hog at the memory limit");
}
