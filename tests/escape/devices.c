/* Escape probe: devices visible in /dev.
 *
 * /dev may contain only null, zero, full, random, urandom, tty, ptmx, pts,
 * shm and the fd, stdin, stdout and stderr links.  Disks, /dev/mem and
 * /dev/kmsg must not exist. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static int allowed(const char *name)
{
    static const char *const names[] = {
        ".",   "..",  "null", "zero", "full", "random", "urandom", "tty",
        "ptmx", "pts", "shm", "fd",   "stdin", "stdout", "stderr"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

int main(void)
{
    static const char *const absent[] = {"/dev/sda", "/dev/vda", "/dev/mem",
                                         "/dev/kmem", "/dev/port", "/dev/kmsg",
                                         "/dev/console", "/dev/fuse",
                                         "/dev/net/tun", "/dev/loop0"};
    struct dirent *de;
    DIR *d;

    probe_name = "devices";
    d = opendir("/dev");
    if (!d) {
        probe_fail("opening /dev failed: %s", strerror(errno));
        return probe_finish("");
    }
    while ((de = readdir(d))) {
        probe_attempts++;
        if (!allowed(de->d_name))
            probe_fail("unexpected /dev/%s", de->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        EXPECT_ERRNO(ENOENT, open(absent[i], O_RDONLY | O_CLOEXEC));
    return probe_finish("/dev holds only the minimal device set");
}
