/* Run a command in a sandbox, for tests before the supervisor is involved.
 *
 *   sandbox-exec [OPTIONS] -- CMD [ARGS...]
 *
 * Relays stdin, stdout and stderr through pipes (or a pty with --pty),
 * prints each seccomp denial on stderr as "sandbox-exec: denied NAME pid
 * N", and exits with the command's exit code, or 128 + the signal that
 * killed it.  Limits (--mem, --pids, --cpu) put the sandbox in a tenant
 * cgroup below this process's own cgroup, in a base directory named by
 * --cgroup-name; the sandbox, tenant and base cgroups are removed at the
 * end.  Exit code 125 means sandbox-exec itself failed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "sandbox/sandbox.h"

#define MAX_BINDS 16

struct options {
    struct sandbox_spec spec;
    struct sandbox_bind binds[MAX_BINDS];
    struct cgroup_limits limits;
    const char *home;
    const char *cgroup_name;
    const char *tenant;
    const char *stats_file;
    char *profile;
    bool use_cgroup;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: sandbox-exec [OPTIONS] -- CMD [ARGS...]\n"
            "  --home DIR          tenant home, bound at /home/USER\n"
            "  --user NAME         sandbox user name (default tenant)\n"
            "  --uid-base N        host uid and gid of uid 0 inside (default 200000)\n"
            "  --tmp-size BYTES    size of /tmp (suffix k, m or g)\n"
            "  --mem BYTES         tenant memory limit (suffix k, m or g)\n"
            "  --pids N            tenant pids limit\n"
            "  --cpu PERCENT       tenant CPU limit in percent of one CPU\n"
            "  --nproc N           RLIMIT_NPROC (0 leaves it unset)\n"
            "  --bind SRC:DST[:ro] extra bind mount\n"
            "  --socket PATH       listening socket bound at %s\n"
            "  --rootfs DIR        root tree instead of the host's /usr\n"
            "  --hostname NAME     hostname inside\n"
            "  --cgroup-name NAME  base cgroup name (default sandbox-exec-PID)\n"
            "  --tenant NAME       tenant cgroup name (default t0)\n"
            "  --stats FILE        write tenant cgroup counters to FILE at exit\n"
            "  --profile FILE      seccomp profile instead of the built-in one\n"
            "  --pty               use a pty instead of pipes\n"
            "  --stdin-null        stdin from /dev/null\n",
            SANDBOX_REQUEST_SOCKET_PATH);
    exit(125);
}

static uint64_t parse_size(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 10);

    switch (*end) {
    case 'g': case 'G': v <<= 10; /* fall through */
    case 'm': case 'M': v <<= 10; /* fall through */
    case 'k': case 'K': v <<= 10; end++; break;
    default: break;
    }
    if (*end || end == s) {
        fprintf(stderr, "sandbox-exec: invalid size '%s'\n", s);
        exit(125);
    }
    return v;
}

static char *read_profile(const char *path)
{
    char *text = NULL;
    size_t len;
    int r = fs_read_file_at(AT_FDCWD, path, 1 << 20, &text, &len);

    if (r < 0) {
        fprintf(stderr, "sandbox-exec: reading '%s' failed: %s\n", path,
                strerror(-r));
        exit(125);
    }
    return text;
}

static void add_bind(struct options *o, char *arg)
{
    char *dst = strchr(arg, ':'), *flag;
    struct sandbox_bind *b;

    if (!dst || o->spec.n_binds == MAX_BINDS)
        usage();
    *dst++ = '\0';
    flag = strchr(dst, ':');
    if (flag)
        *flag++ = '\0';
    b = &o->binds[o->spec.n_binds++];
    *b = (struct sandbox_bind){.source_fd = -1, .source = arg, .target = dst,
                               .read_only = flag && !strcmp(flag, "ro")};
}

static void parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"home", required_argument, NULL, 'h'},
        {"user", required_argument, NULL, 'u'},
        {"uid-base", required_argument, NULL, 'U'},
        {"tmp-size", required_argument, NULL, 't'},
        {"mem", required_argument, NULL, 'm'},
        {"pids", required_argument, NULL, 'p'},
        {"cpu", required_argument, NULL, 'c'},
        {"nproc", required_argument, NULL, 'N'},
        {"bind", required_argument, NULL, 'b'},
        {"socket", required_argument, NULL, 's'},
        {"rootfs", required_argument, NULL, 'r'},
        {"hostname", required_argument, NULL, 'H'},
        {"cgroup-name", required_argument, NULL, 'g'},
        {"tenant", required_argument, NULL, 'T'},
        {"stats", required_argument, NULL, 'S'},
        {"profile", required_argument, NULL, 'P'},
        {"pty", no_argument, NULL, 'y'},
        {"stdin-null", no_argument, NULL, 'n'},
        {0},
    };
    int c;

    sandbox_spec_init(&o->spec);
    o->spec.user_name = "tenant";
    o->spec.uid_base = o->spec.gid_base = 200000;
    o->spec.binds = o->binds;
    o->tenant = "t0";
    while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': o->home = optarg; break;
        case 'u': o->spec.user_name = optarg; break;
        case 'U':
            o->spec.uid_base = o->spec.gid_base = (uint32_t)parse_size(optarg);
            break;
        case 't': o->spec.tmp_size = parse_size(optarg); break;
        case 'm': o->limits.memory_max = parse_size(optarg); o->use_cgroup = true; break;
        case 'p': o->limits.pids_max = parse_size(optarg); o->use_cgroup = true; break;
        case 'c': o->limits.cpu_percent = (uint32_t)parse_size(optarg); o->use_cgroup = true; break;
        case 'N': o->spec.nproc = parse_size(optarg); break;
        case 'b': add_bind(o, optarg); break;
        case 's': o->spec.request_socket = optarg; break;
        case 'r': o->spec.rootfs = optarg; break;
        case 'H': o->spec.hostname = optarg; break;
        case 'g': o->cgroup_name = optarg; o->use_cgroup = true; break;
        case 'T': o->tenant = optarg; break;
        case 'S': o->stats_file = optarg; o->use_cgroup = true; break;
        case 'P': o->profile = read_profile(optarg); break;
        case 'y': o->spec.use_pty = true; break;
        case 'n': o->spec.stdin_null = true; break;
        default: usage();
        }
    }
    if (optind >= argc)
        usage();
    o->spec.argv = argv + optind;
    o->spec.seccomp_profile = o->profile ? o->profile : config_seccomp_profile;
}

/* Copy what is readable from in to out; return false at end of file. */
static bool pump(int in, int out)
{
    char buf[65536];
    ssize_t n = read(in, buf, sizeof(buf));

    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    return fs_write_all(out, buf, (size_t)n) >= 0;
}

static void drain_denials(int fd)
{
    for (int i = 0; i < 64; i++) {
        struct sandbox_seccomp_denial d;
        struct werr err = {0};
        int r = sandbox_seccomp_handle_notification(fd, &d, &err);

        if (r == -EAGAIN)
            return;
        if (r == 0)
            fprintf(stderr, "sandbox-exec: denied %s pid %d\n",
                    d.syscall_name, (int)d.pid);
        else if (r != -ENOENT)
            return;
    }
}

enum { PFD_STDIN, PFD_OUT, PFD_ERR, PFD_SECCOMP, PFD_PID, PFD_MAX };

/* Relay until the sandbox exits and its output is drained. */
static void relay(struct sandbox *sb)
{
    struct pollfd p[PFD_MAX];
    int in = sb->stdin_fd >= 0 ? sb->stdin_fd : sb->pty_master;
    int out = sb->pty_master >= 0 ? sb->pty_master : sb->stdout_fd;
    bool stdin_open = in >= 0, exited = false;

    p[PFD_OUT] = (struct pollfd){.fd = out, .events = POLLIN};
    p[PFD_ERR] = (struct pollfd){.fd = sb->stderr_fd, .events = POLLIN};
    p[PFD_SECCOMP] = (struct pollfd){.fd = sb->seccomp_fd, .events = POLLIN};
    p[PFD_PID] = (struct pollfd){.fd = sb->pidfd, .events = POLLIN};
    while (p[PFD_OUT].fd >= 0 || p[PFD_ERR].fd >= 0 || !exited) {
        p[PFD_STDIN] = (struct pollfd){.fd = stdin_open ? 0 : -1, .events = POLLIN};
        if (poll(p, PFD_MAX, exited ? 200 : -1) == 0)
            break; /* exited and no output within 200 ms */
        if (p[PFD_STDIN].revents && !pump(0, in)) {
            stdin_open = false;
            if (sb->stdin_fd >= 0) {
                close(sb->stdin_fd);
                sb->stdin_fd = -1;
            }
        }
        for (int i = PFD_OUT; i <= PFD_ERR; i++)
            if (p[i].revents && !pump(p[i].fd, i == PFD_OUT ? 1 : 2))
                p[i].fd = -1;
        if (p[PFD_SECCOMP].revents & POLLIN)
            drain_denials(sb->seccomp_fd);
        if (p[PFD_SECCOMP].revents & (POLLHUP | POLLERR | POLLNVAL))
            p[PFD_SECCOMP].fd = -1;
        if (p[PFD_PID].revents) {
            exited = true;
            p[PFD_PID].fd = -1;
        }
    }
    if (sb->seccomp_fd >= 0)
        drain_denials(sb->seccomp_fd);
}

static void write_stats(const struct options *o, struct cgroup_setup *cg)
{
    struct cgroup_stats st;
    struct werr err = {0};
    FILE *f;

    if (cgroup_tenant_stats(cg, o->tenant, &st, &err) < 0) {
        fprintf(stderr, "sandbox-exec: %s\n", err.msg);
        return;
    }
    f = fopen(o->stats_file, "we");
    if (!f)
        return;
    fprintf(f,
            "memory_current %" PRIu64 "\noom_kills %" PRIu64
            "\nmemory_max_hits %" PRIu64 "\npids_current %" PRIu64
            "\npids_max_hits %" PRIu64 "\n",
            st.memory_current, st.oom_kills, st.memory_max_hits,
            st.pids_current, st.pids_max_hits);
    fclose(f);
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static struct cgroup_setup *open_cgroup(struct options *o)
{
    char name[64];
    struct cgroup_options copts = {.name = o->cgroup_name};
    struct cgroup_setup *cg = NULL;
    struct werr err = {0};

    if (!o->use_cgroup)
        return NULL;
    if (!copts.name) {
        snprintf(name, sizeof(name), "sandbox-exec-%d", (int)getpid());
        copts.name = name;
    }
    if (cgroup_setup_open(&copts, &cg, &err) < 0 ||
        cgroup_tenant_ensure(cg, o->tenant, &o->limits, &err) < 0) {
        fprintf(stderr, "sandbox-exec: %s\n", err.msg);
        if (cg)
            cgroup_setup_remove(cg, NULL);
        exit(125);
    }
    return cg;
}

static void remove_cgroup(const struct options *o, struct cgroup_setup *cg)
{
    struct werr err = {0};

    if (!cg)
        return;
    if (cgroup_tenant_remove(cg, o->tenant, &err) < 0 ||
        cgroup_setup_remove(cg, &err) < 0)
        fprintf(stderr, "sandbox-exec: %s\n", err.msg);
    cgroup_setup_free(cg);
}

int main(int argc, char **argv)
{
    static struct options o;
    _cleanup_close_ int home = -1;
    struct cgroup_setup *cg;
    struct sandbox sb;
    struct werr err = {0};
    char id[64];
    int status = 0, r;

    parse_args(argc, argv, &o);
    if (o.home) {
        home = open(o.home, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (home < 0) {
            fprintf(stderr, "sandbox-exec: opening '%s' failed: %s\n",
                    o.home, strerror(errno));
            return 125;
        }
        o.spec.home_fd = home;
    }
    snprintf(id, sizeof(id), "sb-%d", (int)getpid());
    o.spec.id = id;
    cg = open_cgroup(&o);
    o.spec.cgroup = cg;
    o.spec.tenant = o.tenant;
    signal(SIGPIPE, SIG_IGN);

    r = sandbox_start(&o.spec, &sb, &err);
    if (r < 0) {
        fprintf(stderr, "sandbox-exec: %s\n", err.msg);
        remove_cgroup(&o, cg);
        return 125;
    }
    relay(&sb);
    r = sandbox_wait(&sb, true, &status, &err);
    if (r < 0)
        fprintf(stderr, "sandbox-exec: %s\n", err.msg);
    if (cg && o.stats_file)
        write_stats(&o, cg);
    if (sandbox_destroy(&sb, &err) < 0)
        fprintf(stderr, "sandbox-exec: %s\n", err.msg);
    remove_cgroup(&o, cg);
    free(o.profile);
    return r < 0 ? 125 : exit_code(status);
}
