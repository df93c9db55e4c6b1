/* swapon(2) and swapoff(2) change the host's memory configuration.
 * Stopped by the seccomp filter (EPERM) and by the missing CAP_SYS_ADMIN.
 * The path does not exist, so a call that got through would change
 * nothing. */
#define _GNU_SOURCE
#include <sys/swap.h>

#include "syscall-probe.h"

int main(void)
{
    probe_name = "swapon";
    EXPECT_ERRNO(EPERM, swapon("/nonexistent-warden-swap", 0));
    EXPECT_ERRNO(EPERM, swapoff("/nonexistent-warden-swap"));
    return probe_finish("swapon and swapoff return EPERM");
}
