/* Run a command under the sandbox seccomp filter, without namespaces.
 *
 *   seccomp-exec [--expect-notify] [--profile FILE] -- CMD [ARGS...]
 *
 * The child drops to uid/gid 65534 when started as root, drops every
 * capability, installs the filter, sends the notification descriptor to
 * the parent over a socket pair and executes CMD.  The parent responds to each
 * notification with EPERM, prints "denied SYSCALL pid N" on stderr for it,
 * and exits with the child's status, or 128 + the signal that killed it.
 * With --expect-notify it exits 1 if no notification arrived. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "sandbox/seccomp.h"

#define NOBODY 65534

static int send_fd(int sock, int fd)
{
    char data = 'F';
    struct iovec iov = {.iov_base = &data, .iov_len = 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control = {0};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
    char data;
    struct iovec iov = {.iov_base = &data, .iov_len = 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *cmsg;
    int fd;

    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -EPIPE;
    cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
        return -EBADMSG;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return fd;
}

static void switch_to_nobody(void)
{
    if (geteuid() != 0)
        return;
    /* Keep the permitted set across setresuid() so the bounding set can
     * still be cleared; sandbox_drop_privileges() empties it. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
        setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
        setresuid(NOBODY, NOBODY, NOBODY) < 0) {
        perror("seccomp-exec: switching to uid 65534 failed");
        _exit(125);
    }
}

static _Noreturn void run_child(int sock, const char *profile, char **argv)
{
    struct werr err = {0};
    int notify_fd = -1;

    switch_to_nobody();
    if (sandbox_drop_privileges(&err) < 0 ||
        sandbox_seccomp_install(profile, &notify_fd, &err) < 0) {
        fprintf(stderr, "seccomp-exec: %s\n", err.msg);
        _exit(125);
    }
    if (send_fd(sock, notify_fd) < 0)
        _exit(125);
    close(notify_fd);
    close(sock);
    execvp(argv[0], argv);
    fprintf(stderr, "seccomp-exec: executing '%s' failed: %s\n", argv[0],
            strerror(errno));
    _exit(127);
}

/* Respond to every pending notification; return how many there were. */
static unsigned drain_notifications(int notify_fd)
{
    unsigned count = 0;

    for (;;) {
        struct sandbox_seccomp_denial d;
        struct werr err = {0};
        int r = sandbox_seccomp_handle_notification(notify_fd, &d, &err);

        if (r == 0 || r == -ENOENT) {
            fprintf(stderr, "denied %s pid %d\n", d.syscall_name, (int)d.pid);
            count++;
            continue;
        }
        if (r != -EAGAIN && r != -EPIPE)
            fprintf(stderr, "seccomp-exec: %s\n", err.msg);
        return count;
    }
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 125;
}

/* Serve notifications until the child exits; return its exit code. */
static int supervise(pid_t pid, int notify_fd, unsigned *ret_denials)
{
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int status;

    if (pidfd < 0) {
        perror("seccomp-exec: pidfd_open");
        return 125;
    }
    for (;;) {
        struct pollfd pfd[2] = {{.fd = notify_fd, .events = POLLIN},
                                {.fd = pidfd, .events = POLLIN}};

        /* poll() ignores a negative descriptor, for a child that failed
         * before sending one. */
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            return 125;
        if (notify_fd >= 0 && (pfd[0].revents & POLLIN))
            *ret_denials += drain_notifications(notify_fd);
        if (pfd[1].revents & POLLIN)
            break;
    }
    if (notify_fd >= 0)
        *ret_denials += drain_notifications(notify_fd);
    if (waitpid(pid, &status, 0) < 0)
        return 125;
    return exit_code(status);
}

static char *load_profile(const char *path)
{
    FILE *f = fopen(path, "re");
    char *text = NULL;
    size_t len = 0;

    if (!f || getdelim(&text, &len, '\0', f) < 0) {
        fprintf(stderr, "seccomp-exec: reading profile '%s' failed: %s\n",
                path, strerror(errno));
        exit(125);
    }
    fclose(f);
    return text;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"expect-notify", no_argument, NULL, 'n'},
        {"profile", required_argument, NULL, 'p'},
        {0},
    };
    _cleanup_free_ char *profile_text = NULL;
    bool expect_notify = false;
    unsigned denials = 0;
    int sv[2], c, code, notify_fd;
    pid_t pid;

    while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
        if (c == 'n')
            expect_notify = true;
        else if (c == 'p')
            profile_text = load_profile(optarg);
        else
            return 125;
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: seccomp-exec [--expect-notify] "
                        "[--profile FILE] -- CMD [ARGS...]\n");
        return 125;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return 125;
    fflush(NULL);

    pid = fork();
    if (pid < 0)
        return 125;
    if (pid == 0) {
        close(sv[0]);
        run_child(sv[1], profile_text ? profile_text : config_seccomp_profile,
                  argv + optind);
    }
    close(sv[1]);
    notify_fd = recv_fd(sv[0]);
    close(sv[0]);

    code = supervise(pid, notify_fd, &denials);
    if (notify_fd >= 0)
        close(notify_fd);
    if (expect_notify && denials == 0) {
        fprintf(stderr, "seccomp-exec: expected a denial, none arrived\n");
        return code ? code : 1;
    }
    return code;
}
