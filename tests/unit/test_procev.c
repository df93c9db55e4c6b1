/* Proc connector: exec events for a child, /proc details, and behaviour in
 * a new network namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "audit/procev.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct seen {
    pid_t child;
    bool fork;
    bool exec;
    bool exit;
};

static int note_event(const struct procev_event *ev, void *userdata)
{
    struct seen *s = userdata;

    if (ev->kind == PROCEV_FORK && ev->tgid == s->child)
        s->fork = true;
    if (ev->kind == PROCEV_EXEC && ev->tgid == s->child && ev->pid == s->child)
        s->exec = true;
    if (ev->kind == PROCEV_EXIT && ev->tgid == s->child)
        s->exit = true;
    return 0;
}

/* Fork a child that waits for a byte on a pipe and then execs /bin/true. */
static pid_t spawn_true(int *ret_go_fd)
{
    int go[2];
    pid_t pid;
    char c;

    if (pipe2(go, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    close(go[0]);
    *ret_go_fd = go[1];
    return pid;
}

/* Read events from fd for up to two seconds or until exec and exit of
 * child were seen. */
static int collect(int fd, struct seen *s, struct werr *err)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    time_t deadline = time(NULL) + 2;

    while (!(s->exec && s->exit) && time(NULL) <= deadline) {
        int r;

        if (poll(&pfd, 1, 200) <= 0)
            continue;
        r = procev_read(fd, note_event, s, err);
        if (r < 0 && r != -ENOBUFS)
            return r;
    }
    return 0;
}

/* Subscribe, run /bin/true, and return whether its exec event came. */
static int exec_seen(struct seen *s, struct werr *err)
{
    int fd = procev_open(err);
    int go, status, r;

    if (fd < 0)
        return fd;
    s->child = spawn_true(&go);
    if (s->child < 0) {
        procev_close(fd);
        return -errno;
    }
    r = write(go, "x", 1) == 1 ? 0 : -EIO;
    close(go);
    waitpid(s->child, &status, 0);
    if (r == 0)
        r = collect(fd, s, err);
    procev_close(fd);
    return r;
}

static void procev_reports_exec_of_child(void **state)
{
    struct werr err = {0};
    struct seen s = {0};
    int r;

    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: the proc connector needs root\n");
        skip();
    }
    r = exec_seen(&s, &err);
    if (r == -EPERM || r == -ECONNREFUSED || r == -ETIMEDOUT) {
        fprintf(stderr, "SKIP: kernel rejected the subscription: %s\n",
                err.msg);
        skip();
    }
    assert_int_equal(r, 0);
    assert_true(s.fork);
    assert_true(s.exec);
    assert_true(s.exit);
}

/* Run exec_seen() in a child inside a new network namespace and pass the
 * outcome back through a pipe: "ok" or the error message. */
static void netns_child(int out)
{
    struct werr err = {0};
    struct seen s = {0};
    char msg[WERR_MSG_MAX + 16];
    int r;

    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(msg, sizeof(msg), "unshare: %s", strerror(errno));
        r = -1;
    } else {
        r = exec_seen(&s, &err);
        snprintf(msg, sizeof(msg), "%d %s", r,
                 r == 0 ? (s.exec ? "exec seen" : "no exec event") : err.msg);
    }
    if (write(out, msg, strlen(msg)) < 0)
        _exit(3);
    _exit(r == 0 ? 0 : 1);
}

/* In a non-initial network namespace either events still arrive or
 * procev_open() fails with a message naming the namespace. */
static void procev_new_netns_fails_clearly(void **state)
{
    char msg[WERR_MSG_MAX + 16] = {0};
    int pipefd[2], status;
    ssize_t n;
    pid_t pid;

    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: unshare(CLONE_NEWNET) needs root\n");
        skip();
    }
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        netns_child(pipefd[1]);
    }
    close(pipefd[1]);
    n = read(pipefd[0], msg, sizeof(msg) - 1);
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(n > 0);
    fprintf(stderr, "proc connector in a new network namespace: %s\n", msg);
    if (strncmp(msg, "unshare:", 8) == 0) {
        fprintf(stderr, "SKIP: cannot create a network namespace\n");
        skip();
    }
    if (WEXITSTATUS(status) == 0)
        assert_non_null(strstr(msg, "exec seen"));
    else
        assert_non_null(strstr(msg, "network namespace"));
}

static void procev_info_of_sleeping_child(void **state)
{
    struct procev_info info;
    char self_cgroup[PROCEV_CGROUP_MAX];
    struct werr err = {0};
    pid_t pid;

    (void)state;
    assert_int_equal(procev_info_read(getpid(), &info, &err), 0);
    snprintf(self_cgroup, sizeof(self_cgroup), "%s", info.cgroup);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (procev_info_read(pid, &info, &err) == 0 &&
            strcmp(info.comm, "sleep") == 0)
            break;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_string_equal(info.comm, "sleep");
    assert_string_equal(info.cmdline, "sleep 30");
    assert_false(info.cmdline_truncated);
    assert_int_equal(info.ppid, getpid());
    assert_int_equal(info.uid, getuid());
    assert_int_equal(info.euid, geteuid());
    assert_string_equal(info.cgroup, self_cgroup);
    assert_true(info.cgroup[0] == '/');
}

static void procev_info_cuts_long_cmdline(void **state)
{
    static char arg[3000];
    struct procev_info info = {0};
    struct werr err = {0};
    int hold[2];
    pid_t pid;

    (void)state;
    memset(arg, 'a', sizeof(arg) - 1);
    assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(hold[0], STDIN_FILENO);
        execl("/bin/sh", "sh", "-c", "read x", arg, (char *)NULL);
        _exit(127);
    }
    close(hold[0]);
    for (int i = 0; i < 200; i++) {
        if (procev_info_read(pid, &info, &err) == 0 &&
            strcmp(info.comm, "sh") == 0)
            break;
        usleep(10000);
    }
    close(hold[1]);
    waitpid(pid, NULL, 0);
    assert_true(info.cmdline_truncated);
    assert_int_equal(strlen(info.cmdline), PROCEV_CMDLINE_MAX);
    assert_memory_equal(info.cmdline, "sh -c read x aaa", 16);
}

static void procev_info_of_missing_pid(void **state)
{
    struct procev_info info;
    struct werr err = {0};

    (void)state;
    assert_int_equal(procev_info_read(0x3fffffff, &info, &err), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(procev_reports_exec_of_child),
        cmocka_unit_test(procev_new_netns_fails_clearly),
        cmocka_unit_test(procev_info_of_sleeping_child),
        cmocka_unit_test(procev_info_cuts_long_cmdline),
        cmocka_unit_test(procev_info_of_missing_pid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
