/* Supervisor side of a sandbox start: validation, the setup handshake,
 * waiting and teardown.
 *
 * sandbox_start() forks a short-lived launcher, which is single-threaded
 * and therefore safe to clone(2) from without glibc's fork handlers.  The
 * launcher creates the sandbox init with clone3(CLONE_PARENT), so the init
 * is the supervisor's child, sends its pid and pidfd back and exits.  The
 * supervisor then writes the uid and gid maps, moves the init into its
 * cgroup, runs the before_exec hook and releases the init, which reports
 * every failure as a message on the setup socket. */
#include "sandbox/internal.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h>

#define SETUP_TIMEOUT_MS 10000
#define NAMESPACE_FLAGS                                                        \
    (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |              \
     CLONE_NEWUTS | CLONE_NEWIPC)

void sandbox_spec_init(struct sandbox_spec *spec)
{
    *spec = (struct sandbox_spec){
        .uid = 1000,
        .gid = 1000,
        .home_fd = -1,
        .tmp_size = 64ull << 20,
        .winsize = {.ws_row = 24, .ws_col = 80},
        .nofile_soft = 1024,
        .nofile_hard = 4096,
        .nproc = 4096,
    };
}

static bool user_name_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;

    if (len == 0 || len > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
            s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static bool hostname_valid(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 63 || s[0] == '-' || s[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

static int check_id_base(const char *what, uint32_t base, struct werr *err)
{
    if (base < SANDBOX_ID_BASE_MIN ||
        (uint64_t)base + SANDBOX_ID_RANGE > UINT32_MAX)
        return werr_set(err, -EINVAL, "invalid host %s base %u: use a value from %u to %u",
                        what, base, SANDBOX_ID_BASE_MIN,
                        (unsigned)(UINT32_MAX - SANDBOX_ID_RANGE));
    return 0;
}

static int validate_spec(const struct sandbox_spec *s, struct werr *err)
{
    int r;

    if (!cgroup_name_valid(s->id))
        return werr_set(err, -EINVAL, "invalid sandbox id '%s': use 1 to 64 letters, digits, '_', '-' or '.'",
                        s->id ? s->id : "(null)");
    if (!user_name_valid(s->user_name))
        return werr_set(err, -EINVAL, "invalid user name '%s': use up to 32 lowercase letters, digits, '_' or '-'",
                        s->user_name ? s->user_name : "(null)");
    if (s->hostname && !hostname_valid(s->hostname))
        return werr_set(err, -EINVAL, "invalid hostname '%s'", s->hostname);
    r = check_id_base("uid", s->uid_base, err);
    if (r >= 0)
        r = check_id_base("gid", s->gid_base, err);
    if (r < 0)
        return r;
    if (s->uid == 0 || s->gid == 0 || s->uid >= SANDBOX_ID_RANGE ||
        s->gid >= SANDBOX_ID_RANGE)
        return werr_set(err, -EINVAL, "invalid sandbox user %u:%u: use ids from 1 to %u",
                        s->uid, s->gid, SANDBOX_ID_RANGE - 1);
    if (!s->argv || !s->argv[0])
        return werr_set(err, -EINVAL, "missing command to run in the sandbox");
    if (!s->seccomp_profile)
        return werr_set(err, -EINVAL, "missing seccomp profile");
    if (s->tmp_size < 4096)
        return werr_set(err, -EINVAL, "invalid /tmp size %llu: use at least 4096 bytes",
                        (unsigned long long)s->tmp_size);
    if (s->nofile_soft == 0 || s->nofile_soft > s->nofile_hard)
        return werr_set(err, -EINVAL, "invalid RLIMIT_NOFILE %llu/%llu",
                        (unsigned long long)s->nofile_soft,
                        (unsigned long long)s->nofile_hard);
    if (s->cgroup && !cgroup_name_valid(s->tenant))
        return werr_set(err, -EINVAL, "invalid tenant '%s'",
                        s->tenant ? s->tenant : "(null)");
    return 0;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Default environment: PATH, HOME, USER, LOGNAME, SHELL, TERM, LANG. */
static char **default_env(const struct sandbox_spec *s, const char *home)
{
    char **env = calloc(8, sizeof(char *));
    int n = 0;

    if (!env)
        return NULL;
    if (asprintf(&env[n++], "PATH=/usr/local/bin:/usr/bin:/bin") < 0 ||
        asprintf(&env[n++], "HOME=%s", home) < 0 ||
        asprintf(&env[n++], "USER=%s", s->user_name) < 0 ||
        asprintf(&env[n++], "LOGNAME=%s", s->user_name) < 0 ||
        asprintf(&env[n++], "SHELL=%s", s->shell ? s->shell : "/bin/sh") < 0 ||
        asprintf(&env[n++], "TERM=%s", s->use_pty ? "xterm-256color" : "dumb") < 0 ||
        asprintf(&env[n++], "LANG=C.UTF-8") < 0) {
        env[n - 1] = NULL;
        free_strv(env);
        return NULL;
    }
    return env;
}

static char **copy_env(char *const *envp)
{
    size_t n = 0;
    char **env;

    while (envp[n])
        n++;
    env = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; env && i < n; i++) {
        env[i] = strdup(envp[i]);
        if (!env[i]) {
            free_strv(env);
            return NULL;
        }
    }
    return env;
}

/* Runs in the forked launcher: create the init and report it. */
_Noreturn static void launcher_main(const struct sandbox_child_args *args)
{
    int pidfd = -1;
    struct clone_args ca = {
        .flags = NAMESPACE_FLAGS | CLONE_PARENT | CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        /* Must be 0 with CLONE_PARENT: the init inherits the launcher's
         * exit signal, SIGCHLD. */
        .exit_signal = 0,
    };
    /* NOTE: after a raw clone3 glibc's cached thread id in the child is
     * the launcher's, so the init must not use raise() or abort(). */
    long pid = syscall(SYS_clone3, &ca, sizeof(ca));
    char msg[256];

    if (pid == 0)
        sandbox_child_main(args);
    if (pid < 0) {
        snprintf(msg, sizeof(msg), "creating the sandbox namespaces failed: %s",
                 strerror(errno));
        sync_send(args->sync_fd, SYNC_ERROR, neg_errno(), msg, -1);
        _exit(1);
    }
    sync_send(args->sync_fd, SYNC_PID, (int)pid, NULL, pidfd);
    _exit(0);
}

/* Wait up to the setup timeout for the next message. */
static int recv_setup(int sock, struct sync_msg *m, int *ret_fd,
                      struct werr *err)
{
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int r;

    do {
        r = poll(&p, 1, SETUP_TIMEOUT_MS);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return werr_set(err, -ETIMEDOUT, "sandbox setup timed out after %d ms",
                        SETUP_TIMEOUT_MS);
    r = sync_recv(sock, m, ret_fd);
    if (r < 0)
        return werr_errno(err, r, "reading the sandbox setup socket failed");
    if (r == 1 && m->type == SYNC_ERROR)
        return werr_set(err, m->code < 0 ? m->code : -EIO, "%s", m->text);
    return r;
}

static int write_map(pid_t pid, const char *file, uint32_t base,
                     struct werr *err)
{
    char path[64], map[64];
    _cleanup_close_ int fd = -1;
    int r;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    snprintf(map, sizeof(map), "0 %u %u\n", base, SANDBOX_ID_RANGE);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    r = fd < 0 ? neg_errno() : fs_write_all(fd, map, strlen(map));
    if (r < 0)
        return werr_errno(err, r, "writing '%s' failed", path);
    return 0;
}

static int run_hook(const struct sandbox_spec *spec, pid_t pid,
                    struct werr *err)
{
    _cleanup_close_ int netns = -1;
    char path[64];
    int r;

    if (!spec->before_exec)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    netns = open(path, O_RDONLY | O_CLOEXEC);
    if (netns < 0)
        return werr_errno(err, neg_errno(), "opening '%s' failed", path);
    r = spec->before_exec(spec->before_exec_ctx, pid, netns, err);
    if (r < 0 && err->code == 0)
        werr_set(err, r, "the before_exec hook failed");
    return r < 0 ? werr_prefix(err, "preparing the sandbox") : 0;
}

/* The supervisor's half of the handshake once the init exists. */
static int release_child(const struct sandbox_spec *spec, struct sandbox *sb,
                         int sock, struct werr *err)
{
    struct sync_msg m;
    int r, fd;

    r = write_map(sb->pid, "uid_map", spec->uid_base, err);
    if (r >= 0)
        r = write_map(sb->pid, "gid_map", spec->gid_base, err);
    if (r >= 0 && spec->cgroup)
        r = cgroup_sandbox_attach(spec->cgroup, spec->tenant, spec->id,
                                  sb->pid, err);
    if (r >= 0)
        r = run_hook(spec, sb->pid, err);
    if (r >= 0 && (r = sync_send(sock, SYNC_GO, 0, NULL, -1)) < 0)
        werr_errno(err, r, "releasing the sandbox failed");
    while (r >= 0) {
        r = recv_setup(sock, &m, &fd, err);
        if (r <= 0)
            break;
        if (m.type == SYNC_PTY && sb->pty_master < 0 && fd >= 0)
            sb->pty_master = fd;
        else if (m.type == SYNC_SECCOMP && sb->seccomp_fd < 0 && fd >= 0)
            sb->seccomp_fd = fd;
        else if (fd >= 0)
            close(fd);
    }
    if (r == 0 && sb->seccomp_fd < 0)
        r = werr_set(err, -EIO, "the sandbox exited during setup without a report");
    return r;
}

/* Descriptors of one start: index 0 the supervisor's end, 1 the
 * sandbox's, except for stdin where the sandbox reads index 0. */
struct start_fds {
    int sync[2];
    int status[2];
    int in[2], out[2], errout[2];
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_pair(int p[2])
{
    close_fd(&p[0]);
    close_fd(&p[1]);
}

static int make_fds(const struct sandbox_spec *spec, struct start_fds *f,
                    struct werr *err)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sync) < 0 ||
        pipe2(f->status, O_CLOEXEC) < 0)
        return werr_errno(err, neg_errno(), "creating the setup channel failed");
    if (spec->use_pty)
        return 0;
    if ((!spec->stdin_null && pipe2(f->in, O_CLOEXEC) < 0) ||
        pipe2(f->out, O_CLOEXEC) < 0 || pipe2(f->errout, O_CLOEXEC) < 0)
        return werr_errno(err, neg_errno(), "creating the stdio pipes failed");
    return 0;
}

/* Fork the launcher and receive the init's pid and pidfd. */
static int spawn(const struct sandbox_spec *spec,
                 const struct rootfs_plan *plan, struct start_fds *f,
                 char **env, struct sandbox *sb, struct werr *err)
{
    struct sandbox_child_args args = {
        .spec = spec, .plan = plan, .sync_fd = f->sync[1],
        .status_fd = f->status[1],
        .stdio = {f->in[0], f->out[1], f->errout[1]},
        .envp = env,
    };
    struct sync_msg m;
    pid_t launcher;
    int r, fd;

    launcher = fork();
    if (launcher < 0)
        return werr_errno(err, neg_errno(), "forking the sandbox launcher failed");
    if (launcher == 0)
        launcher_main(&args);

    /* Without the supervisor's copy of the sandbox end, a launcher or
     * init that dies shows up as end-of-file. */
    close(f->sync[1]);
    f->sync[1] = -1;
    r = recv_setup(f->sync[0], &m, &fd, err);
    waitpid(launcher, NULL, 0);
    if (r == 0)
        return werr_set(err, -EIO, "the sandbox launcher exited without a report");
    if (r < 0)
        return r;
    if (m.type != SYNC_PID || fd < 0) {
        if (fd >= 0)
            close(fd);
        return werr_set(err, -EPROTO, "unexpected message %d from the sandbox launcher",
                        m.type);
    }
    sb->pid = m.code;
    sb->pidfd = fd;
    return 0;
}

static void sandbox_clear(struct sandbox *sb)
{
    *sb = (struct sandbox){
        .pid = -1, .pidfd = -1, .pty_master = -1, .stdin_fd = -1,
        .stdout_fd = -1, .stderr_fd = -1, .seccomp_fd = -1, .status_fd = -1,
    };
}

static int remember_cgroup(const struct sandbox_spec *spec, struct sandbox *sb,
                           struct werr *err)
{
    int r;

    if (!spec->cgroup)
        return 0;
    r = cgroup_sandbox_create(spec->cgroup, spec->tenant, spec->id,
                              spec->limits, err);
    if (r < 0)
        return r;
    sb->cgroup = spec->cgroup;
    sb->tenant = strdup(spec->tenant);
    sb->id = strdup(spec->id);
    if (!sb->tenant || !sb->id)
        return werr_set(err, -ENOMEM, "out of memory");
    cgroup_path(spec->cgroup, spec->tenant, spec->id, sb->cgroup_path,
                sizeof(sb->cgroup_path));
    return 0;
}

static void set_nonblocking(int fd)
{
    int flags = fd >= 0 ? fcntl(fd, F_GETFL) : -1;

    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void keep_parent_ends(struct sandbox *sb, struct start_fds *f)
{
    sb->status_fd = TAKE_FD(f->status[0]);
    sb->stdin_fd = TAKE_FD(f->in[1]);
    sb->stdout_fd = TAKE_FD(f->out[0]);
    sb->stderr_fd = TAKE_FD(f->errout[0]);
    set_nonblocking(sb->status_fd);
    set_nonblocking(sb->stdin_fd);
    set_nonblocking(sb->stdout_fd);
    set_nonblocking(sb->stderr_fd);
    set_nonblocking(sb->pty_master);
}

int sandbox_start(const struct sandbox_spec *spec, struct sandbox *ret,
                  struct werr *err)
{
    struct start_fds f = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
    struct rootfs_plan plan = {0};
    struct werr local = {0};
    struct sandbox sb;
    char **env = NULL;
    char home[4096];
    int r;

    if (!err)
        err = &local;
    sandbox_clear(&sb);
    r = validate_spec(spec, err);
    if (r < 0)
        return r;
    snprintf(home, sizeof(home), spec->home_path ? "%s" : "/home/%s",
             spec->home_path ? spec->home_path : spec->user_name);

    r = remember_cgroup(spec, &sb, err);
    if (r >= 0)
        r = rootfs_plan_prepare(spec, &plan, err);
    if (r >= 0)
        r = make_fds(spec, &f, err);
    if (r >= 0) {
        env = spec->envp ? copy_env(spec->envp) : default_env(spec, home);
        if (!env)
            r = werr_set(err, -ENOMEM, "out of memory");
    }
    if (r >= 0)
        r = spawn(spec, &plan, &f, env, &sb, err);
    rootfs_plan_free(&plan);
    free_strv(env);
    /* The sandbox has its own copies of these now. */
    close_fd(&f.status[1]);
    close_fd(&f.in[0]);
    close_fd(&f.out[1]);
    close_fd(&f.errout[1]);

    if (r >= 0)
        r = release_child(spec, &sb, f.sync[0], err);
    close_pair(f.sync);
    if (r >= 0)
        keep_parent_ends(&sb, &f);
    close_pair(f.status);
    close_pair(f.in);
    close_pair(f.out);
    close_pair(f.errout);
    if (r < 0) {
        sandbox_destroy(&sb, NULL);
        return r;
    }
    *ret = sb;
    return 0;
}

static int status_from_siginfo(const siginfo_t *si)
{
    if (si->si_code == CLD_EXITED)
        return W_EXITCODE(si->si_status, 0);
    return si->si_status | (si->si_code == CLD_DUMPED ? WCOREFLAG : 0);
}

int sandbox_wait(struct sandbox *sb, bool block, int *ret_status,
                 struct werr *err)
{
    siginfo_t si = {0};
    int reported;

    if (sb->reaped) {
        *ret_status = sb->status;
        return 0;
    }
    if (sb->pidfd < 0)
        return werr_set(err, -EBADF, "the sandbox has no process");
    if (waitid(P_PIDFD, (id_t)sb->pidfd, &si, WEXITED | (block ? 0 : WNOHANG)) < 0)
        return werr_errno(err, neg_errno(), "waiting for sandbox pid %d failed",
                          (int)sb->pid);
    if (si.si_pid == 0)
        return -EAGAIN;
    sb->reaped = true;
    sb->status = status_from_siginfo(&si);
    /* The init reports the workload's status just before it exits. */
    if (sb->status_fd >= 0 &&
        read(sb->status_fd, &reported, sizeof(reported)) == sizeof(reported))
        sb->status = reported;
    *ret_status = sb->status;
    return 0;
}

int sandbox_kill(struct sandbox *sb, int sig)
{
    if (sb->pidfd < 0 || sb->reaped)
        return -ESRCH;
    if (pidfd_send_signal(sb->pidfd, sig, NULL, 0) < 0)
        return neg_errno();
    return 0;
}

int sandbox_destroy(struct sandbox *sb, struct werr *err)
{
    int status, r = 0;

    if (sb->pidfd >= 0 && !sb->reaped) {
        sandbox_kill(sb, SIGKILL);
        sandbox_wait(sb, true, &status, NULL);
    }
    close_fd(&sb->pidfd);
    close_fd(&sb->pty_master);
    close_fd(&sb->stdin_fd);
    close_fd(&sb->stdout_fd);
    close_fd(&sb->stderr_fd);
    close_fd(&sb->seccomp_fd);
    close_fd(&sb->status_fd);
    if (sb->cgroup && sb->tenant && sb->id)
        r = cgroup_sandbox_remove(sb->cgroup, sb->tenant, sb->id, err);
    free(sb->tenant);
    free(sb->id);
    sb->tenant = sb->id = NULL;
    sb->cgroup = NULL;
    sb->cgroup_path[0] = '\0';
    return r;
}
