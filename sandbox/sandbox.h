/* Sandboxes: a process tree in new user, mount, pid, network, UTS, IPC and
 * cgroup namespaces, on a private root file system, below a tenant's
 * cgroup, with a pty or pipes as its only terminal.
 *
 * Call order for the supervisor:
 *
 *     struct sandbox_spec spec;
 *     sandbox_spec_init(&spec);
 *     ... fill spec ...
 *     sandbox_start(&spec, &sb, &err);     // returns once execve succeeded
 *     poll sb.pidfd, sb.pty_master or sb.stdout_fd/sb.stderr_fd,
 *          sb.seccomp_fd (sandbox_seccomp_handle_notification)
 *     sandbox_wait(&sb, false, &status, &err);   // when pidfd is readable
 *     sandbox_destroy(&sb);
 *
 * The caller must be root in the initial user namespace.  sandbox_start()
 * forks once and blocks for the setup handshake (a few milliseconds). */
#ifndef WARDEN_SANDBOX_SANDBOX_H
#define WARDEN_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "common/err.h"
#include "sandbox/cgroup.h"
#include "sandbox/seccomp.h"

/* Each tenant owns this many consecutive host uids and gids. */
#define SANDBOX_ID_RANGE 65536u
/* Lowest accepted host uid/gid base: ids below stay with host accounts. */
#define SANDBOX_ID_BASE_MIN 65536u
#define SANDBOX_REQUEST_SOCKET_PATH "/run/warden/warden.sock"

struct sandbox_bind {
    int source_fd;        /* descriptor of the source (O_PATH suffices),
                             or -1 to use source */
    const char *source;   /* host path, opened by the supervisor */
    const char *target;   /* absolute path inside the sandbox */
    bool read_only;
};

/* Called in the supervisor after the sandbox's namespaces exist and its
 * uid maps and cgroup are in place, before any tenant code runs.  pid is
 * the sandbox init (host pid namespace), netns_fd its network namespace,
 * valid for the duration of the call.  A negative return aborts the
 * start with err's message. */
typedef int (*sandbox_hook_fn)(void *ctx, pid_t pid, int netns_fd,
                               struct werr *err);

struct sandbox_spec {
    const char *id;          /* cgroup name; see cgroup_name_valid() */
    const char *hostname;    /* NULL: "sandbox" */

    uint32_t uid_base;       /* host uid of uid 0 inside */
    uint32_t gid_base;       /* host gid of gid 0 inside */
    uint32_t uid;            /* sandbox user inside, default 1000 */
    uint32_t gid;            /* its group inside, default 1000 */
    const char *user_name;   /* required; names /home/<user_name> */
    const char *shell;       /* written to /etc/passwd; default /bin/sh */

    const char *rootfs;      /* NULL: the host's /usr tree and /etc
                                subset; else a root directory tree */
    int home_fd;             /* tenant home directory, or -1 for none */
    const char *home_path;   /* inside; NULL: /home/<user_name> */
    const struct sandbox_bind *binds;
    size_t n_binds;
    const char *request_socket; /* host path of a listening unix socket
                                   bound at SANDBOX_REQUEST_SOCKET_PATH,
                                   or NULL */
    uint64_t tmp_size;       /* bytes of the /tmp tmpfs */

    char *const *argv;       /* argv[0] is the program path inside */
    char *const *envp;       /* NULL: a minimal PATH, HOME, USER, TERM */
    const char *cwd;         /* NULL: the home path, else "/" */

    bool use_pty;            /* pty (master returned) instead of pipes */
    struct winsize winsize;  /* initial pty size */
    bool stdin_null;         /* pipes mode: stdin from /dev/null */

    uint64_t nofile_soft, nofile_hard; /* RLIMIT_NOFILE */
    uint64_t nproc;          /* RLIMIT_NPROC backstop; 0: not set */

    struct cgroup_setup *cgroup; /* NULL: no cgroup (tests only) */
    const char *tenant;          /* existing tenant cgroup */
    const struct cgroup_limits *limits; /* per sandbox, may be NULL */

    const char *seccomp_profile; /* required profile text */

    sandbox_hook_fn before_exec; /* optional */
    void *before_exec_ctx;
};

/* A started sandbox.  Descriptors are the supervisor's ends, O_CLOEXEC and
 * nonblocking, -1 when absent. */
struct sandbox {
    pid_t pid;          /* sandbox init in the supervisor's pid namespace */
    int pidfd;
    int pty_master;     /* use_pty */
    int stdin_fd;       /* pipes: write end, -1 with stdin_null */
    int stdout_fd;      /* pipes: read ends */
    int stderr_fd;
    int seccomp_fd;     /* seccomp user-notification listener */
    int status_fd;      /* the init's exit report; private */
    char cgroup_path[4096]; /* empty without a cgroup */

    /* private */
    struct cgroup_setup *cgroup;
    char *tenant;
    char *id;
    bool reaped;
    int status;
};

/* Fill spec with defaults: no descriptors, uid/gid 1000, 64 MiB /tmp,
 * RLIMIT_NOFILE 1024/4096, RLIMIT_NPROC 4096, 80x24 pty. */
void sandbox_spec_init(struct sandbox_spec *spec);

/* Start the sandbox and wait until its workload has called execve.  On
 * failure nothing is left behind and err holds the reason, including
 * failures inside the sandbox ("mounting /proc failed: ..."). */
int sandbox_start(const struct sandbox_spec *spec, struct sandbox *ret,
                  struct werr *err);

/* Collect the exit of the sandbox.  With block false, return -EAGAIN while
 * it runs (poll pidfd for readability).  *ret_status is a wait(2) status:
 * the workload's own (WIFEXITED/WIFSIGNALED) as reported by the init, or
 * the init's when the init itself was killed. */
int sandbox_wait(struct sandbox *sb, bool block, int *ret_status,
                 struct werr *err);

/* Send sig to the sandbox init, which forwards SIGTERM, SIGINT, SIGHUP,
 * SIGQUIT, SIGUSR1 and SIGUSR2 to the workload; SIGKILL ends every
 * process of the sandbox at once. */
int sandbox_kill(struct sandbox *sb, int sig);

/* Kill the sandbox if it still runs, reap it, close every descriptor and
 * remove its cgroup.  Safe on a zeroed or partly filled struct with
 * descriptors set to -1, and safe to call twice. */
int sandbox_destroy(struct sandbox *sb, struct werr *err);

#endif
