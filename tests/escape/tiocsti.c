/* Injecting input into a terminal with TIOCSTI, and TIOCLINUX, on the
 * controlling terminal, on stdin and on a pseudo-terminal of our own.  The
 * kernel reads the ioctl request as a 32-bit value, so the probe also sets
 * the upper 32 bits, which a filter comparing all 64 bits would miss.
 *
 * Stopped by the seccomp argument filter on ioctl (EPERM); without it the
 * kernel answers ENOTTY, EIO or EPERM depending on the descriptor and on
 * dev.tty.legacy_tiocsti, so EPERM on /dev/null proves the filter. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>

#include "syscall-probe.h"

static const uint64_t high_bits[] = {0, UINT64_C(0x100000000),
                                     UINT64_C(0xffffffff00000000)};

static void try_fd(const char *label, int fd)
{
    static const struct {
        const char *name;
        unsigned long request;
    } requests[] = {{"TIOCSTI", TIOCSTI}, {"TIOCLINUX", TIOCLINUX}};
    char byte = 'x';
    char linux_arg[2] = {2, 0}; /* TIOCL_SETSEL */

    for (size_t r = 0; r < 2; r++) {
        for (size_t h = 0; h < 3; h++) {
            uint64_t request = high_bits[h] | requests[r].request;
            void *arg = r == 0 ? (void *)&byte : (void *)linux_arg;
            char what[128];
            long rc;
            int err;

            snprintf(what, sizeof(what), "ioctl(%s, %s | 0x%llx)", label,
                     requests[r].name, (unsigned long long)high_bits[h]);
            errno = 0;
            rc = syscall(SYS_ioctl, fd, request, arg);
            err = errno;
            expect_errno(what, rc, err, EPERM);
        }
    }
}

static int open_pty_slave(int *ret_master)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    char *name;

    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        return -1;
    name = ptsname(master);
    if (!name)
        return -1;
    *ret_master = master;
    return open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int main(void)
{
    struct winsize ws;
    int tty, master = -1, slave, devnull;

    probe_name = "tiocsti";
    tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty >= 0) {
        try_fd("/dev/tty", tty);
        close(tty);
    }
    if (isatty(0))
        try_fd("stdin", 0);

    slave = open_pty_slave(&master);
    if (slave >= 0) {
        try_fd("pty slave", slave);
        /* The filter must not block ioctl as a whole. */
        if (ioctl(slave, TIOCGWINSZ, &ws) < 0)
            probe_fail("ioctl(TIOCGWINSZ) on a pty failed: %s; ioctl "
                       "looks blocked as a whole", strerror(errno));
        close(slave);
    }
    if (master >= 0)
        close(master);

    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        try_fd("/dev/null", devnull);
        close(devnull);
    }
    return probe_finish("TIOCSTI and TIOCLINUX return EPERM, also with the "
                        "upper 32 bits of the request set");
}
