/* personality(2) flags weaken exploit mitigations: READ_IMPLIES_EXEC
 * makes readable mappings executable and ADDR_NO_RANDOMIZE turns off
 * ASLR for the next program.  Only PER_LINUX and the query value
 * 0xffffffff are allowed.  Stopped by the seccomp argument filter
 * (EPERM), compared on the low 32 bits as the kernel does; without it
 * every one of these calls succeeds, so the probe proves the filter. */
#define _GNU_SOURCE
#include <sys/personality.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

static const struct {
    const char *name;
    unsigned long value;
} denied[] = {
    {"READ_IMPLIES_EXEC", READ_IMPLIES_EXEC},
    {"ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE},
    {"ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT},
    {"MMAP_PAGE_ZERO", MMAP_PAGE_ZERO},
    {"PER_LINUX32", PER_LINUX32},
    {"PER_SVR4", PER_SVR4},
    {"READ_IMPLIES_EXEC with upper bits", 0x100000000UL | READ_IMPLIES_EXEC},
};

int main(void)
{
    long current;

    probe_name = "personality";
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        char what[96];
        long rc;
        int err;

        snprintf(what, sizeof(what), "personality(%s)", denied[i].name);
        errno = 0;
        rc = syscall(SYS_personality, denied[i].value);
        err = errno;
        expect_errno(what, rc, err, EPERM);
    }

    current = syscall(SYS_personality, 0xffffffffUL);
    if (current != PER_LINUX)
        probe_fail("personality(0xffffffff) returned %ld (errno %s), "
                   "expected PER_LINUX", current, strerrorname_np(errno));
    if (syscall(SYS_personality, (unsigned long)PER_LINUX) != PER_LINUX)
        probe_fail("personality(PER_LINUX) is not allowed: %s",
                   strerrorname_np(errno));
    return probe_finish("personality flags return EPERM; PER_LINUX and the "
                        "query stay allowed");
}
