/* The sandbox side: setup ladder, pid 1 init and the workload.
 *
 * The child starts as pid 1 of the new pid namespace.  It waits for the
 * supervisor to write its uid maps, builds the root, then forks the
 * workload and stays as init.  The init reaps every process of the
 * namespace and forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and
 * SIGUSR2 to the workload.  When the workload exits, the init writes the
 * workload's wait status to the status pipe and exits with the same code
 * (the exit code, or 128 + signal).
 *
 * The init drops to the sandbox user and empties its capabilities like
 * the workload, but runs without the seccomp filter, because the filter is
 * installed last before execve.  It also marks itself non-dumpable, so the
 * workload, although it runs as the same uid, can neither ptrace it nor
 * open its /proc entries. */
#include "sandbox/internal.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Descriptor numbers inside the sandbox after setup. */
enum {
    FD_SYNC = 3,    /* setup socket; closed by init, CLOEXEC in workload */
    FD_STATUS = 4,  /* init only: exit report to the supervisor */
    FD_FIRST_FREE = 5,
};

static const int forwarded_signals[] = {SIGTERM, SIGINT, SIGHUP,
                                        SIGQUIT, SIGUSR1, SIGUSR2};

_Noreturn static void fail(int sync_fd, const struct werr *err)
{
    sync_send(sync_fd, SYNC_ERROR, err->code, err->msg, -1);
    _exit(1);
}

static int become_root(struct werr *err)
{
    /* Drop the supervisor's supplementary groups: they would keep host
     * gids such as 0 on every sandboxed process. */
    if (setgroups(0, NULL) < 0)
        return werr_errno(err, neg_errno(), "clearing supplementary groups failed");
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        return werr_errno(err, neg_errno(), "switching to uid 0 in the user namespace failed");
    return 0;
}

/* Switch to the sandbox user, keeping the permitted capabilities so that
 * sandbox_drop_privileges() can still empty the bounding set. */
static int become_user(const struct sandbox_spec *spec, struct werr *err)
{
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return werr_errno(err, neg_errno(), "setting PR_SET_KEEPCAPS failed");
    if (setresgid(spec->gid, spec->gid, spec->gid) < 0 ||
        setresuid(spec->uid, spec->uid, spec->uid) < 0)
        return werr_errno(err, neg_errno(), "switching to uid %u gid %u failed",
                          spec->uid, spec->gid);
    return 0;
}

static int loopback_up(struct werr *err)
{
    _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};

    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return werr_errno(err, neg_errno(), "reading the loopback flags failed");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return werr_errno(err, neg_errno(), "bringing up the loopback failed");
    return 0;
}

static int set_hostname(const struct sandbox_spec *spec, struct werr *err)
{
    const char *name = spec->hostname ? spec->hostname : "sandbox";

    if (sethostname(name, strlen(name)) < 0 ||
        setdomainname("(none)", 6) < 0)
        return werr_errno(err, neg_errno(), "setting hostname '%s' failed",
                          name);
    return 0;
}

static int set_limit(int resource, const char *name, uint64_t soft,
                     uint64_t hard, struct werr *err)
{
    struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};

    if (setrlimit(resource, &rl) < 0)
        return werr_errno(err, neg_errno(), "setting %s to %llu/%llu failed",
                          name, (unsigned long long)soft,
                          (unsigned long long)hard);
    return 0;
}

static int set_rlimits(const struct sandbox_spec *spec, struct werr *err)
{
    int r = set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0, err);

    if (r >= 0)
        r = set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", spec->nofile_soft,
                      spec->nofile_hard, err);
    if (r >= 0 && spec->nproc)
        r = set_limit(RLIMIT_NPROC, "RLIMIT_NPROC", spec->nproc, spec->nproc,
                      err);
    return r;
}

/* Place stdio at 0-2, the setup socket at 3 and the status pipe at 4, and
 * close every other descriptor. */
static int arrange_fds(const struct sandbox_child_args *a, int slave,
                       struct werr *err)
{
    int src[5];

    for (int i = 0; i < 3; i++) {
        int fd = slave >= 0 ? slave : a->stdio[i];
        if (fd < 0)
            fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
        src[i] = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 64);
    }
    src[FD_SYNC] = fcntl(a->sync_fd, F_DUPFD_CLOEXEC, 64);
    src[FD_STATUS] = fcntl(a->status_fd, F_DUPFD_CLOEXEC, 64);
    for (int i = 0; i < 5; i++) {
        if (src[i] < 0 || dup3(src[i], i, i < 3 ? 0 : O_CLOEXEC) < 0)
            return werr_errno(err, neg_errno(), "setting up descriptor %d failed", i);
    }
    if (close_range(FD_FIRST_FREE, ~0U, 0) < 0)
        return werr_errno(err, neg_errno(), "closing inherited descriptors failed");
    return 0;
}

static const char *work_dir(const struct sandbox_spec *spec,
                            const struct rootfs_plan *plan, char *buf,
                            size_t size)
{
    if (spec->cwd)
        return spec->cwd;
    if (!plan->home_target)
        return "/";
    snprintf(buf, size, "/%s", plan->home_target);
    return buf;
}

/* Give the workload default signal handling: the supervisor blocks the
 * signals it reads through a signalfd and ignores SIGPIPE, and both would
 * otherwise survive execve(2) into the sandboxed program. */
static void reset_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

_Noreturn static void workload_exec(const struct sandbox_child_args *a,
                                    const sigset_t *old_mask)
{
    const struct sandbox_spec *spec = a->spec;
    extern char **environ;
    struct werr err = {0};
    char cwd_buf[4096];
    const char *cwd = work_dir(spec, a->plan, cwd_buf, sizeof(cwd_buf));
    int notify_fd = -1;

    close(FD_STATUS);
    reset_signals();
    (void)old_mask;
    if (setsid() < 0)
        werr_errno(&err, neg_errno(), "creating a session failed");
    else if (spec->use_pty && ioctl(0, TIOCSCTTY, 0) < 0)
        werr_errno(&err, neg_errno(), "setting the controlling terminal failed");
    if (err.code < 0)
        fail(FD_SYNC, &err);
    if (become_user(spec, &err) < 0 || sandbox_drop_privileges(&err) < 0)
        fail(FD_SYNC, &err);
    if (chdir(cwd) < 0) {
        werr_errno(&err, neg_errno(), "changing to working directory '%s' failed",
                   cwd);
        fail(FD_SYNC, &err);
    }
    if (sandbox_seccomp_install(spec->seccomp_profile, &notify_fd, &err) < 0)
        fail(FD_SYNC, &err);
    if (sync_send(FD_SYNC, SYNC_SECCOMP, 0, NULL, notify_fd) < 0)
        _exit(127);
    close(notify_fd);

    environ = a->envp;
    execvp(spec->argv[0], spec->argv);
    werr_errno(&err, neg_errno(), "executing '%s' failed", spec->argv[0]);
    fail(FD_SYNC, &err);
}

_Noreturn static void init_finish(int status)
{
    if (write(FD_STATUS, &status, sizeof(status)) < 0) {
        /* The supervisor then reports the init's own exit code. */
    }
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    _exit(128 + WTERMSIG(status));
}

_Noreturn static void init_loop(pid_t workload, const sigset_t *set)
{
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(set, &si), status;
        pid_t pid;

        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(workload, sig);
            continue;
        }
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == workload)
                init_finish(status);
    }
}

/* Fork the workload, then turn this process into the unprivileged init. */
_Noreturn static void init_run(const struct sandbox_child_args *a)
{
    struct werr err = {0};
    sigset_t set, old;
    pid_t workload;
    int null;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
        sigaddset(&set, forwarded_signals[i]);
    sigprocmask(SIG_BLOCK, &set, &old);

    workload = _Fork();
    if (workload < 0) {
        werr_errno(&err, neg_errno(), "forking the workload failed");
        fail(FD_SYNC, &err);
    }
    if (workload == 0)
        workload_exec(a, &old);

    /* The init keeps no end of the workload's terminal or pipes, so the
     * supervisor reads end-of-file when the workload's side closes. */
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3; i++)
        if (null < 0 || dup2(null, i) < 0)
            _exit(1);
    close(null);
    if (become_user(a->spec, &err) < 0 || sandbox_drop_privileges(&err) < 0 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
        if (!err.code)
            werr_errno(&err, neg_errno(), "making the init non-dumpable failed");
        kill(workload, SIGKILL);
        fail(FD_SYNC, &err);
    }
    close(FD_SYNC);
    init_loop(workload, &set);
}

_Noreturn void sandbox_child_main(const struct sandbox_child_args *a)
{
    const struct sandbox_spec *spec = a->spec;
    struct werr err = {0};
    struct sync_msg m;
    int fd, root, master = -1, slave = -1;

    /* A parent that dies or refuses leaves nothing to report to. */
    if (sync_recv(a->sync_fd, &m, &fd) != 1 || m.type != SYNC_GO)
        _exit(1);

    /* The supervisor may run with a strict umask such as 077, but the
     * directories and files of the new root must be usable by the sandbox
     * user. */
    umask(022);
    if (become_root(&err) < 0)
        fail(a->sync_fd, &err);
    if (unshare(CLONE_NEWCGROUP) < 0) {
        werr_errno(&err, neg_errno(), "creating the cgroup namespace failed");
        fail(a->sync_fd, &err);
    }
    root = rootfs_build(a->plan, &err);
    if (root < 0)
        fail(a->sync_fd, &err);
    if (rootfs_mount_proc(root, &err) < 0)
        fail(a->sync_fd, &err);
    if (spec->use_pty) {
        if (pty_open(root, &spec->winsize, spec->uid, &master, &slave,
                     &err) < 0)
            fail(a->sync_fd, &err);
        if (sync_send(a->sync_fd, SYNC_PTY, 0, NULL, master) < 0)
            _exit(1);
        close(master);
    }
    if (loopback_up(&err) < 0 || set_hostname(spec, &err) < 0)
        fail(a->sync_fd, &err);
    if (rootfs_pivot(root, &err) < 0)
        fail(a->sync_fd, &err);
    close(root);
    /* Descriptors first: the supervisor may hold more descriptors than
     * the sandbox's RLIMIT_NOFILE allows, and dup2() to a number above the
     * limit fails. */
    if (arrange_fds(a, slave, &err) < 0)
        fail(a->sync_fd, &err);
    if (set_rlimits(spec, &err) < 0)
        fail(a->sync_fd, &err);
    init_run(a);
}
