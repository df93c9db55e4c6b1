/* Tests for the seccomp profile parser, the filter and the privilege drop.
 *
 * Filter tests fork a child that drops to uid 65534, drops every
 * capability, installs the shipped filter, sends the notification
 * descriptor to the parent and then makes one call; the child's exit code
 * reports whether the call behaved as expected, and the parent responds to and
 * counts the notifications.  They need root and skip otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "sandbox/seccomp.h"

#define NOBODY 65534
#define UNASSIGNED_SYSCALL 1000
#define X32_SYSCALL_BIT 0x40000000L

struct filtered_run {
    int status;                 /* waitpid() status of the child */
    unsigned denials;           /* notifications responded to */
    char last_denied[64];       /* syscall name of the last one */
};

static void skip_unless_root(void)
{
    if (geteuid() != 0) {
        print_message("skipped: filter tests need root to drop to uid "
                      "65534\n");
        skip();
    }
}

static int send_fd(int sock, int fd)
{
    char byte = 'F';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
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
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
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
        return -1;
    cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
        return -1;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return fd;
}

/* The child side: become the sandbox user, drop, filter, report, call. */
static _Noreturn void child_run(int sock, int (*call)(void))
{
    struct werr err = {0};
    int notify_fd;

    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
        setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
        setresuid(NOBODY, NOBODY, NOBODY) < 0)
        _exit(90);
    if (sandbox_drop_privileges(&err) < 0) {
        fprintf(stderr, "drop: %s\n", err.msg);
        _exit(91);
    }
    if (sandbox_seccomp_install(config_seccomp_profile, &notify_fd, &err) < 0) {
        fprintf(stderr, "install: %s\n", err.msg);
        _exit(92);
    }
    if (send_fd(sock, notify_fd) < 0)
        _exit(93);
    close(notify_fd);
    _exit(call());
}

static void serve(int notify_fd, struct filtered_run *run)
{
    for (;;) {
        struct sandbox_seccomp_denial d;
        int r = sandbox_seccomp_handle_notification(notify_fd, &d, NULL);

        if (r < 0 && r != -ENOENT)
            return;
        run->denials++;
        snprintf(run->last_denied, sizeof(run->last_denied), "%s",
                 d.syscall_name);
    }
}

/* Run call() in a filtered child and collect its status and denials. */
static void run_filtered(int (*call)(void), struct filtered_run *run)
{
    _cleanup_close_ int notify_fd = -1, pidfd = -1;
    int sv[2];
    pid_t pid;

    *run = (struct filtered_run){0};
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
                     0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        child_run(sv[1], call);
    }
    close(sv[1]);
    notify_fd = recv_fd(sv[0]);
    close(sv[0]);
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    assert_true(pidfd >= 0);

    for (;;) {
        struct pollfd pfd[2] = {{.fd = notify_fd, .events = POLLIN},
                                {.fd = pidfd, .events = POLLIN}};

        assert_true(poll(pfd, 2, 10000) > 0);
        if (pfd[0].revents & POLLIN)
            serve(notify_fd, run);
        if (pfd[1].revents & POLLIN)
            break;
    }
    if (notify_fd >= 0)
        serve(notify_fd, run);
    assert_int_equal(waitpid(pid, &run->status, 0), pid);
}

static int expect_errno(long rc, int expected)
{
    return rc == -1 && errno == expected ? 0 : 1;
}

static void assert_exited_zero(const struct filtered_run *run)
{
    assert_true(WIFEXITED(run->status));
    assert_int_equal(WEXITSTATUS(run->status), 0);
}

/* Calls made inside the filtered child; each returns 0 when the call
 * behaved as expected. */

static int call_mount(void)
{
    return expect_errno(mount("none", "/tmp", "tmpfs", 0, NULL), EPERM);
}

static int call_unassigned(void)
{
    return expect_errno(syscall(UNASSIGNED_SYSCALL, 0), ENOSYS);
}

static int call_clone3(void)
{
    return expect_errno(syscall(SYS_clone3, NULL, 0), ENOSYS);
}

static int call_tiocsti_high_bits(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    char c = 'x';

    return expect_errno(syscall(SYS_ioctl, fd, 0x100000000UL | TIOCSTI, &c),
                        EPERM);
}

static int call_ioctl_allowed(void)
{
    int fds[2], n = -1;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return 2;
    return ioctl(fds[0], FIONREAD, &n) == 0 && n == 0 ? 0 : 1;
}

static int call_af_packet(void)
{
    return expect_errno(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), EPERM);
}

static int call_netlink_route(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

    return fd >= 0 ? 0 : 1;
}

static int call_netlink_audit(void)
{
    return expect_errno(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
                               NETLINK_AUDIT),
                        EPERM);
}

static int call_unix_socket(void)
{
    return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0 ? 0 : 1;
}

static int call_unshare_user(void)
{
    return expect_errno(unshare(CLONE_NEWUSER), EPERM);
}

static int call_unshare_files(void)
{
    return unshare(CLONE_FILES | CLONE_FS) == 0 ? 0 : 1;
}

static int call_fork(void)
{
    pid_t pid = fork();
    int status;

    if (pid == 0)
        _exit(7);
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 1;
}

static int call_personality_query(void)
{
    return syscall(SYS_personality, 0xffffffffUL) == PER_LINUX ? 0 : 1;
}

static int call_personality_exec(void)
{
    return expect_errno(syscall(SYS_personality, READ_IMPLIES_EXEC), EPERM);
}

static int call_mknod_fifo(void)
{
    char path[64];
    int ok;

    snprintf(path, sizeof(path), "/tmp/seccomp-test-fifo-%d", getpid());
    ok = mknod(path, S_IFIFO | 0600, 0) == 0;
    unlink(path);
    return ok ? 0 : 1;
}

static int call_mknod_device(void)
{
    return expect_errno(mknod("/tmp/seccomp-test-dev", S_IFCHR | 0600,
                              makedev(1, 3)),
                        EPERM);
}

static int call_x32(void)
{
    syscall(X32_SYSCALL_BIT | SYS_getpid);
    return 0;
}

static int call_check_dropped(void)
{
    if (cap_get_bound(CAP_SYS_ADMIN) != 0 || cap_get_bound(CAP_SETPCAP) != 0)
        return 1;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return 2;
    if (setuid(0) == 0 || errno != EPERM)
        return 3;
    if (getuid() != NOBODY || getgid() != NOBODY)
        return 4;
    return 0;
}

static void test_shipped_profile_parses(void **state)
{
    struct werr err = {0};

    (void)state;
    assert_int_equal(sandbox_seccomp_check_profile(config_seccomp_profile,
                                                   &err),
                     0);
    assert_string_equal(err.msg, "");
}

static const struct {
    const char *text;
    const char *expected; /* substring of the error message */
} bad_profiles[] = {
    {"[allow]\nread\nnot_a_syscall\n", "line 3: unknown syscall 'not_a_syscall'"},
    {"read write\n", "line 1: syscall names before the first section"},
    {"[allow]\nread\n[permit]\n", "line 3: unknown section '[permit]'"},
    {"[allow]\nread\n\n[deny]\nread\n", "line 5: syscall 'read' is already listed on line 2"},
    {"[allow]\nread\n[rules]\nioctl deny-values arg1 TIOCSTI\n", "line 4: expected 'SYSCALL: FORM"},
    {"[allow]\nread\n[rules]\nioctl: forbid arg1 TIOCSTI\n", "line 4: unknown rule form 'forbid'"},
    {"[allow]\nread\n[rules]\nioctl: deny-values arg7 TIOCSTI\n", "line 4: invalid argument 'arg7'"},
    {"[allow]\nread\n[rules]\nioctl: deny-values arg1 TIOCFOO\n", "line 4: unknown value 'TIOCFOO'"},
    {"[allow]\nioctl\n[rules]\nioctl: deny-values arg1 TIOCSTI\n", "line 4: syscall 'ioctl' is already listed on line 2"},
    {"[allow]\nread\n[rules]\nsocket: allow-values arg0,arg2 AF_UNIX\n", "line 4: value 'AF_UNIX' needs two parts"},
    {"[allow]\nread\n[rules]\nclone: deny-flags arg0 0\n", "line 4: deny-flags needs at least one non-zero flag"},
    {"# only a comment\n", "lists no syscalls"},
};

static void test_profile_errors_name_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad_profiles); i++) {
        struct werr err = {0};
        int r = sandbox_seccomp_check_profile(bad_profiles[i].text, &err);

        print_message("profile %zu: %s\n", i, err.msg);
        assert_int_equal(r, -EINVAL);
        assert_non_null(strstr(err.msg, bad_profiles[i].expected));
    }
}

static void test_mount_denied_and_notified(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_mount, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 1);
    assert_string_equal(run.last_denied, "mount");
}

static void test_unknown_syscall_enosys(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_unassigned, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 0);
}

static void test_clone3_enosys(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_clone3, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 0);
}

static void test_tiocsti_high_bits_denied(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_tiocsti_high_bits, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 1);
    assert_string_equal(run.last_denied, "ioctl");
}

static void test_other_ioctl_allowed(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_ioctl_allowed, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 0);
}

static void test_socket_af_packet_denied(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_af_packet, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 1);
    assert_string_equal(run.last_denied, "socket");
}

static void test_socket_allowed_families(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_unix_socket, &run);
    assert_exited_zero(&run);
    run_filtered(call_netlink_route, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 0);
}

static void test_socket_netlink_audit_denied(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_netlink_audit, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 1);
}

static void test_unshare_user_denied(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_unshare_user, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 1);
    assert_string_equal(run.last_denied, "unshare");
}

static void test_unshare_files_and_fork_allowed(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_unshare_files, &run);
    assert_exited_zero(&run);
    run_filtered(call_fork, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 0);
}

static void test_personality_query_allowed(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_personality_query, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 0);
}

static void test_personality_flag_denied(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_personality_exec, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 1);
}

static void test_mknod_fifo_only(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_mknod_fifo, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 0);
    run_filtered(call_mknod_device, &run);
    assert_exited_zero(&run);
    assert_int_equal(run.denials, 1);
}

static void test_x32_killed_sigsys(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_x32, &run);
    assert_true(WIFSIGNALED(run.status));
    assert_int_equal(WTERMSIG(run.status), SIGSYS);
}

static void test_drop_privileges_proven(void **state)
{
    struct filtered_run run;

    (void)state;
    skip_unless_root();
    run_filtered(call_check_dropped, &run);
    assert_exited_zero(&run);
}

static void test_install_requires_nnp(void **state)
{
    struct werr err = {0};
    int notify_fd = -1, status;
    pid_t pid;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int r = sandbox_seccomp_install(config_seccomp_profile, &notify_fd,
                                        &err);
        _exit(r == -EPERM && strstr(err.msg, "no_new_privs") ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_no_pending_notification_eagain(void **state)
{
    int fds[2];
    struct sandbox_seccomp_denial d;

    (void)state;
    /* A pipe with nothing in it polls like an idle notification fd. */
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(sandbox_seccomp_handle_notification(fds[0], &d, NULL),
                     -EAGAIN);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_profile_parses),
        cmocka_unit_test(test_profile_errors_name_line),
        cmocka_unit_test(test_mount_denied_and_notified),
        cmocka_unit_test(test_unknown_syscall_enosys),
        cmocka_unit_test(test_clone3_enosys),
        cmocka_unit_test(test_tiocsti_high_bits_denied),
        cmocka_unit_test(test_other_ioctl_allowed),
        cmocka_unit_test(test_socket_af_packet_denied),
        cmocka_unit_test(test_socket_allowed_families),
        cmocka_unit_test(test_socket_netlink_audit_denied),
        cmocka_unit_test(test_unshare_user_denied),
        cmocka_unit_test(test_unshare_files_and_fork_allowed),
        cmocka_unit_test(test_personality_query_allowed),
        cmocka_unit_test(test_personality_flag_denied),
        cmocka_unit_test(test_mknod_fifo_only),
        cmocka_unit_test(test_x32_killed_sigsys),
        cmocka_unit_test(test_drop_privileges_proven),
        cmocka_unit_test(test_install_requires_nnp),
        cmocka_unit_test(test_no_pending_notification_eagain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
