/* Escape probe: descriptors inherited from the supervisor.
 *
 * Only 0, 1 and 2 may be open at start, and none of them may be a
 * directory.  For any other open descriptor the probe also tries the
 * classic escapes through it: fchdir and "..", /proc/self/fd/N/.., and
 * openat relative to it. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

static void try_escape_through(int fd)
{
    char path[64];
    int r;

    snprintf(path, sizeof(path), "/proc/self/fd/%d/..", fd);
    probe_attempts++;
    if (chdir(path) == 0)
        probe_fail("chdir(%s) succeeded", path);
    probe_attempts++;
    r = openat(fd, "../../../../etc/shadow", O_RDONLY | O_CLOEXEC);
    if (r >= 0) {
        probe_fail("openat(%d, ../../../../etc/shadow) succeeded", fd);
        close(r);
    }
    probe_attempts++;
    if (fchdir(fd) == 0 && chdir("../../../../..") == 0 &&
        access("/proc/1/root/etc/shadow", F_OK) == 0)
        probe_fail("fchdir(%d) reached a root with /etc/shadow", fd);
    if (chdir("/") < 0)
        exit(2);
}

static void check_fd(int fd)
{
    char path[64], target[PATH_MAX] = "?";
    struct stat st;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n > 0)
        target[n] = '\0';
    probe_attempts++;
    if (fd > 2)
        probe_fail("descriptor %d (%s) was inherited", fd, target);
    else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        probe_fail("descriptor %d is a directory (%s)", fd, target);
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        try_escape_through(fd);
}

int main(void)
{
    int fds[256], n = 0;
    struct dirent *de;
    DIR *d;

    probe_name = "fdleak";
    /* Collect first: the directory stream has a descriptor of its own. */
    d = opendir("/proc/self/fd");
    if (!d) {
        probe_fail("opening /proc/self/fd failed: %s", strerror(errno));
        return probe_finish("");
    }
    while ((de = readdir(d)) && n < 256)
        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
            fds[n++] = atoi(de->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        check_fd(fds[i]);
    return probe_finish("only stdin, stdout and stderr are open");
}
