/* Escape probe: fork until the kernel refuses.
 *
 * Forks children that wait in pause() until fork fails.  The failure must
 * be EAGAIN (the pids cgroup limit, or RLIMIT_NPROC as a backstop) before
 * 100000 processes.  Every child is killed and reaped at the end. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <stdlib.h>

#define MAX_CHILDREN 100000

int main(void)
{
    static pid_t children[MAX_CHILDREN];
    int n = 0, err = 0;

    probe_name = "forkbomb";
    while (n < MAX_CHILDREN) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            pause();
            _exit(0);
        }
        children[n++] = pid;
    }
    for (int i = 0; i < n; i++)
        kill(children[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(children[i], NULL, 0);
    printf("forkbomb: fork failed after %d children\n", n);
    expect_errno("fork until failure", -1, err, EAGAIN);
    return probe_finish("the process count is limited");
}
