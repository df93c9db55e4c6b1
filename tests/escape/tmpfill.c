/* Escape probe: fill /tmp.
 *
 *   tmpfill [MAX_BYTES]
 *
 * Writes 1 MiB blocks to a file in /tmp until the write fails.  The
 * failure must be ENOSPC, and with MAX_BYTES given, no more than that many
 * bytes may have been written.  The file is removed at the end. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <fcntl.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    static char block[1 << 20];
    unsigned long long max = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
    unsigned long long total = 0;
    int fd, err = 0;

    probe_name = "tmpfill";
    memset(block, 'x', sizeof(block));
    fd = open("/tmp/probe-fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        probe_fail("creating /tmp/probe-fill failed: %s", strerror(errno));
        return probe_finish("");
    }
    /* Stop at 64 GiB so a missing limit ends as a failure, not a hang. */
    while (total < (64ull << 30)) {
        ssize_t n = write(fd, block, sizeof(block));
        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        total += (unsigned long long)n;
    }
    close(fd);
    unlink("/tmp/probe-fill");
    expect_errno("write to /tmp until full", -1, err, ENOSPC);
    probe_attempts++;
    if (max && total > max)
        probe_fail("wrote %llu bytes, more than the %llu byte limit", total, max);
    printf("tmpfill: wrote %llu bytes before ENOSPC\n", total);
    return probe_finish("/tmp is size-limited");
}
