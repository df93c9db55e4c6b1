/* Joining another namespace with setns(2): the namespaces of pid 1 (the
 * sandbox's own init, or the host's init where there is no pid
 * namespace), every namespace file this process can open under
 * /proc/PID/ns, namespace descriptors it already holds, and a pidfd.
 *
 * Stopped by the seccomp filter (EPERM).  Opening another user's
 * namespace files already fails with EACCES (ptrace access mode check),
 * which counts as blocked too. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

#define MAX_PIDS 64

static const char *const ns_names[] = {"user", "mnt",    "pid", "net",
                                       "uts",  "ipc", "cgroup", "time"};
static unsigned setns_tries;

static void try_setns_fd(const char *what, int fd)
{
    long rc;
    int err;

    errno = 0;
    rc = setns(fd, 0);
    err = errno;
    expect_errno(what, rc, err, EPERM);
    setns_tries++;
}

static void try_ns_files_of(const char *pid)
{
    for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
        char path[128];
        int fd;

        snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, ns_names[i]);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        char what[160];
        snprintf(what, sizeof(what), "setns(%s)", path);
        try_setns_fd(what, fd);
        close(fd);
    }
}

static void try_all_processes(void)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    unsigned seen = 0;

    if (!proc)
        return;
    while ((e = readdir(proc)) && seen < MAX_PIDS) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        try_ns_files_of(e->d_name);
        seen++;
    }
    closedir(proc);
}

/* Descriptors inherited from outside that refer to namespace files. */
static void try_inherited_fds(void)
{
    for (int fd = 0; fd < 1024; fd++) {
        char link[64], target[256];
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strstr(target, ":[") && strncmp(target, "pipe", 4) != 0 &&
            strncmp(target, "socket", 6) != 0 && strncmp(target, "anon", 4)) {
            char what[320];
            snprintf(what, sizeof(what), "setns(inherited fd %d -> %s)", fd,
                     target);
            try_setns_fd(what, fd);
        }
    }
}

int main(void)
{
    int pidfd;

    probe_name = "setns";
    try_ns_files_of("1");
    try_ns_files_of("self");
    try_all_processes();
    try_inherited_fds();

    pidfd = (int)syscall(SYS_pidfd_open, 1, 0);
    if (pidfd >= 0) {
        EXPECT_ERRNO(EPERM, setns(pidfd, CLONE_NEWNS | CLONE_NEWNET));
        close(pidfd);
    }
    if (setns_tries == 0)
        probe_fail("no namespace file could be opened, not even "
                   "/proc/self/ns/*: is /proc mounted?");
    return probe_finish("setns on every reachable namespace file returns "
                        "EPERM");
}
