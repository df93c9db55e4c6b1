/* Escape probe: create device nodes.
 *
 * mknod of a character device (/dev/mem, 1:1) and a block device
 * (/dev/sda, 8:0) must fail in /tmp, in the home directory and in /dev. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static void try_dir(const char *dir)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/probe-mem", dir);
    probe_attempts++;
    if (mknod(path, S_IFCHR | 0666, makedev(1, 1)) == 0) {
        probe_fail("mknod(%s, char 1:1) succeeded", path);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/probe-sda", dir);
    probe_attempts++;
    if (mknod(path, S_IFBLK | 0666, makedev(8, 0)) == 0) {
        probe_fail("mknod(%s, block 8:0) succeeded", path);
        unlink(path);
    }
}

int main(void)
{
    const char *home = getenv("HOME");

    probe_name = "mknod";
    EXPECT_ERRNO(EPERM, mknod("/tmp/probe-mem", S_IFCHR | 0666, makedev(1, 1)));
    EXPECT_ERRNO(EPERM, mknod("/tmp/probe-sda", S_IFBLK | 0666, makedev(8, 0)));
    try_dir("/dev");
    try_dir("/dev/shm");
    if (home)
        try_dir(home);
    return probe_finish("device nodes cannot be created");
}
