/* The sandbox's terminal: a pty of the sandbox's own devpts instance.  The
 * master goes to the supervisor, which relays bytes to the client; the
 * sandbox never sees a descriptor of the client's terminal. */
#include "sandbox/internal.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define TTY_GID 5

int pty_open(int root, const struct winsize *ws, uid_t uid, int *ret_master,
             int *ret_slave, struct werr *err)
{
    _cleanup_close_ int master = -1;
    int unlock = 0, slave;

    master = openat(root, "dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return werr_errno(err, neg_errno(), "opening /dev/pts/ptmx failed");
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return werr_errno(err, neg_errno(), "unlocking the pty failed");
    if (ws->ws_row && ws->ws_col && ioctl(master, TIOCSWINSZ, ws) < 0)
        return werr_errno(err, neg_errno(), "setting the pty size failed");
    /* TIOCGPTPEER opens the slave without a path lookup. */
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return werr_errno(err, neg_errno(), "opening the pty slave failed");
    if (fchown(slave, uid, TTY_GID) < 0 || fchmod(slave, 0620) < 0) {
        close(slave);
        return werr_errno(err, neg_errno(), "setting the pty slave owner failed");
    }
    *ret_master = TAKE_FD(master);
    *ret_slave = slave;
    return 0;
}
