/* Escape probe: setuid-root binaries of the base root file system.
 *
 * For each setuid-root program present (mount, su, passwd, newgrp, chsh),
 * the mount must be nosuid, and running it must not raise the effective
 * uid: the program runs with stdout and stderr on a full pipe, so it
 * blocks on its first write and the probe reads its credentials from
 * /proc/PID/status.  At least one program must be present and observed. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

/* Return the effective uid of a running pid, or -1. */
static long effective_uid(pid_t pid)
{
    char path[64], line[256];
    long ruid, euid = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Uid: %ld %ld", &ruid, &euid) == 2)
            break;
    fclose(f);
    return euid;
}

static void fill_pipe(int fd)
{
    static char buf[4096];

    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (write(fd, buf, sizeof(buf)) > 0)
        ;
}

/* Run path with a full output pipe; return 1 if observed while running. */
static int observe(const char *path, char *const argv[])
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    int out[2], observed = 0;
    long euid;
    pid_t pid;

    if (pipe(out) < 0)
        return 0;
    fill_pipe(out[1]);
    pid = fork();
    if (pid == 0) {
        int flags = fcntl(out[1], F_GETFL);
        fcntl(out[1], F_SETFL, flags & ~O_NONBLOCK);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execv(path, argv);
        _exit(127);
    }
    nanosleep(&ts, NULL);
    euid = effective_uid(pid);
    if (euid >= 0) {
        observed = 1;
        probe_attempts++;
        if (euid == 0 || euid != (long)geteuid())
            probe_fail("%s runs with euid %ld", path, euid);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(out[0]);
    close(out[1]);
    return observed;
}

int main(void)
{
    static const char *const programs[] = {"/usr/bin/mount", "/usr/bin/su",
                                           "/usr/bin/passwd", "/usr/bin/newgrp",
                                           "/usr/bin/chsh"};
    struct statvfs vfs;
    int present = 0, observed = 0;

    probe_name = "setuid";
    probe_attempts++;
    if (statvfs("/usr/bin", &vfs) < 0 || !(vfs.f_flag & ST_NOSUID))
        probe_fail("/usr/bin is not mounted nosuid");
    for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
        char *argv[] = {(char *)programs[i], NULL};
        struct stat st;

        if (stat(programs[i], &st) < 0 || !(st.st_mode & S_ISUID))
            continue;
        present++;
        observed += observe(programs[i], argv);
    }
    probe_attempts++;
    if (!present || !observed)
        probe_fail("no setuid program could be observed (%d present)", present);
    return probe_finish("setuid programs keep the caller's uid");
}
