/* Tests for sandbox_start(), sandbox_wait(), sandbox_kill() and
 * sandbox_destroy() against the real kernel.
 *
 * Each test runs a small command in a sandbox and checks its output, its
 * exit status or what the supervisor reads from outside (host uids,
 * cgroup counters).  They need root and skip otherwise; cgroup tests use a
 * unique base cgroup below this process's own and remove it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "sandbox/sandbox.h"

#define UID_BASE 300000u

struct result {
    char out[16384];
    size_t len;
    int status;
    int rc;
    struct werr err;
};

/* Build an argv in static storage (literals are const under
 * -Wwrite-strings); each call replaces the previous one. */
static char **args(const char *first, ...)
{
    static char pool[8][4096];
    static char *v[9];
    const char *a = first;
    va_list ap;
    int n = 0;

    va_start(ap, first);
    for (; a && n < 8; a = va_arg(ap, const char *), n++) {
        snprintf(pool[n], sizeof(pool[n]), "%s", a);
        v[n] = pool[n];
    }
    va_end(ap);
    v[n] = NULL;
    return v;
}

static void need_root(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: sandbox tests need root\n");
        skip();
    }
}

static void spec_for(struct sandbox_spec *spec, char **argv)
{
    static unsigned seq;
    static char id[64];

    sandbox_spec_init(spec);
    snprintf(id, sizeof(id), "test-sb-%d-%u", (int)getpid(), seq++);
    spec->id = id;
    spec->user_name = "tenant";
    spec->uid_base = spec->gid_base = UID_BASE;
    spec->argv = argv;
    spec->seccomp_profile = config_seccomp_profile;
    spec->stdin_null = true;
}

/* Read stdout (or the pty) until end of file, then wait. */
static void collect(struct sandbox *sb, struct result *r)
{
    int fd = sb->pty_master >= 0 ? sb->pty_master : sb->stdout_fd;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (poll(&p, 1, 10000) > 0) {
        ssize_t n = read(fd, r->out + r->len, sizeof(r->out) - 1 - r->len);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->out[r->len] = '\0';
    r->rc = sandbox_wait(sb, true, &r->status, &r->err);
}

static void run(const struct sandbox_spec *spec, struct result *r)
{
    struct sandbox sb;

    memset(r, 0, sizeof(*r));
    r->rc = sandbox_start(spec, &sb, &r->err);
    if (r->rc < 0)
        return;
    collect(&sb, r);
    sandbox_destroy(&sb, NULL);
}

static void run_sh(const char *script, struct result *r)
{
    char **argv = args("/bin/sh", "-c", script, NULL);
    struct sandbox_spec spec;

    spec_for(&spec, argv);
    run(&spec, r);
    if (r->rc < 0)
        fail_msg("sandbox failed: %s", r->err.msg);
}

static void sandbox_netns_has_only_lo(void **state)
{
    struct result r;
    int interfaces = 0;

    (void)state;
    need_root();
    run_sh("cat /proc/net/dev", &r);
    for (char *p = r.out; (p = strchr(p, ':')); p++)
        interfaces++;
    assert_int_equal(interfaces, 1);
    assert_non_null(strstr(r.out, "lo:"));
}

static long status_field(pid_t pid, const char *key)
{
    char path[64], line[256];
    long v = -1, first;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, strlen(key)) &&
            sscanf(line + strlen(key), " %ld %ld", &first, &v) == 2)
            break;
    fclose(f);
    return v;
}

static void sandbox_uid_inside_and_on_host(void **state)
{
    char **argv = args("/bin/sh", "-c", "id -u; exec sleep 10", NULL);
    struct sandbox_spec spec;
    struct sandbox sb;
    struct werr err = {0};
    char buf[64] = "", path[96];
    pid_t workload = 0;
    FILE *f;

    (void)state;
    need_root();
    spec_for(&spec, argv);
    assert_int_equal(sandbox_start(&spec, &sb, &err), 0);
    struct pollfd p = {.fd = sb.stdout_fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(read(sb.stdout_fd, buf, sizeof(buf) - 1) > 0);
    assert_string_equal(buf, "1000\n");

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)sb.pid,
             (int)sb.pid);
    f = fopen(path, "re");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &workload), 1);
    fclose(f);
    assert_int_equal(status_field(workload, "Uid:"), UID_BASE + 1000);
    assert_int_equal(status_field(workload, "Gid:"), UID_BASE + 1000);
    assert_int_equal(status_field(sb.pid, "Uid:"), UID_BASE + 1000);
    assert_int_equal(sandbox_destroy(&sb, &err), 0);
}

static void sandbox_usr_is_read_only(void **state)
{
    struct result r;

    (void)state;
    need_root();
    run_sh("touch /usr/probe 2>&1; touch /probe 2>&1", &r);
    assert_non_null(strstr(r.out, "'/usr/probe': Read-only file system"));
    assert_non_null(strstr(r.out, "'/probe': Read-only file system"));
}

static void sandbox_kernel_secrets_unreadable(void **state)
{
    struct result r;

    (void)state;
    need_root();
    run_sh("cat /proc/kcore /proc/keys /proc/timer_list /proc/kallsyms "
           "2>/dev/null | wc -c", &r);
    assert_string_equal(r.out, "0\n");
}

static void sandbox_tmp_size_limited(void **state)
{
    char **argv = args("/bin/sh", "-c",
                    "head -c 3000000 /dev/zero > /tmp/f; echo $?; "
                    "wc -c < /tmp/f", NULL);
    struct sandbox_spec spec;
    struct result r;
    unsigned rc = 0, size = 0;

    (void)state;
    need_root();
    spec_for(&spec, argv);
    spec.tmp_size = 1 << 20;
    run(&spec, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(sscanf(r.out, "%u %u", &rc, &size), 2);
    assert_int_not_equal(rc, 0);
    assert_true(size <= 1u << 20);
}

static int make_home(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/sbhome-XXXXXX");
    if (!mkdtemp(dir) || chown(dir, UID_BASE + 1000, UID_BASE + 1000) < 0)
        return -1;
    return open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void remove_home(const char *dir)
{
    int tmp = open("/tmp", O_DIRECTORY | O_CLOEXEC);

    fs_remove_tree_at(tmp, strrchr(dir, '/') + 1, NULL, NULL);
    close(tmp);
}

static void sandbox_home_persists(void **state)
{
    struct sandbox_spec spec;
    struct result r;
    char dir[64];
    int home;

    (void)state;
    need_root();
    home = make_home(dir, sizeof(dir));
    assert_true(home >= 0);
    spec_for(&spec, args("/bin/sh", "-c", "echo kept > ~/note", NULL));
    spec.home_fd = home;
    run(&spec, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.status, 0);
    spec_for(&spec, args("/bin/cat", "/home/tenant/note", NULL));
    spec.home_fd = home;
    run(&spec, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "kept\n");
    close(home);
    remove_home(dir);
}

/* A link planted in the home, named like a mount target, must make the
 * start fail instead of redirecting the mount to the host's /etc. */
static void sandbox_home_symlink_not_followed(void **state)
{
    char **argv = args("/bin/true", NULL);
    struct sandbox_bind bind = {.source_fd = -1, .source = "/usr/share",
                                .target = "/home/tenant/.x/planted",
                                .read_only = true};
    struct sandbox_spec spec;
    struct result r;
    char dir[64], link[96];
    int home;

    (void)state;
    need_root();
    home = make_home(dir, sizeof(dir));
    assert_true(home >= 0);
    snprintf(link, sizeof(link), "%s/.x", dir);
    assert_int_equal(symlink("/etc", link), 0);
    spec_for(&spec, argv);
    spec.home_fd = home;
    spec.binds = &bind;
    spec.n_binds = 1;
    run(&spec, &r);
    assert_true(r.rc < 0);
    assert_non_null(strstr(r.err.msg, "creating the parents of "
                                      "/home/tenant/.x/planted failed"));
    assert_int_equal(access("/etc/planted", F_OK), -1);
    close(home);
    remove_home(dir);
}

static void sandbox_exit_code_propagated(void **state)
{
    struct result r;

    (void)state;
    need_root();
    run_sh("exit 3", &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 3);
}

static void sandbox_signal_propagated(void **state)
{
    struct result r;

    (void)state;
    need_root();
    run_sh("kill -KILL $$", &r);
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGKILL);
}

static void sandbox_sigterm_forwarded(void **state)
{
    char **argv = args("/bin/sleep", "30", NULL);
    struct sandbox_spec spec;
    struct sandbox sb;
    struct werr err = {0};
    int status = 0;

    (void)state;
    need_root();
    spec_for(&spec, argv);
    assert_int_equal(sandbox_start(&spec, &sb, &err), 0);
    assert_int_equal(sandbox_wait(&sb, false, &status, &err), -EAGAIN);
    assert_int_equal(sandbox_kill(&sb, SIGTERM), 0);
    assert_int_equal(sandbox_wait(&sb, true, &status, &err), 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    sandbox_destroy(&sb, NULL);
}

static void sandbox_exec_failure_reported(void **state)
{
    char **argv = args("/nonexistent", NULL);
    struct sandbox_spec spec;
    struct result r;

    (void)state;
    need_root();
    spec_for(&spec, argv);
    run(&spec, &r);
    assert_int_equal(r.rc, -ENOENT);
    assert_string_equal(r.err.msg, "executing '/nonexistent' failed: "
                                   "No such file or directory");
}

static void sandbox_pty_is_controlling_terminal(void **state)
{
    char **argv = args("/bin/sh", "-c", "tty; stty size", NULL);
    struct sandbox_spec spec;
    struct result r;

    (void)state;
    need_root();
    spec_for(&spec, argv);
    spec.use_pty = true;
    spec.winsize = (struct winsize){.ws_row = 33, .ws_col = 99};
    run(&spec, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "/dev/pts/0\r\n33 99\r\n");
}

static void sandbox_hostname_set(void **state)
{
    char **argv = args("/bin/uname", "-n", NULL);
    struct sandbox_spec spec;
    struct result r;

    (void)state;
    need_root();
    spec_for(&spec, argv);
    spec.hostname = "box1";
    run(&spec, &r);
    assert_string_equal(r.out, "box1\n");
}

static void sandbox_request_socket_bound(void **state)
{
    char **argv = args("/usr/bin/python3", "-c",
                    "import socket\n"
                    "s = socket.socket(socket.AF_UNIX)\n"
                    "s.connect('/run/warden/warden.sock')\n"
                    "print('connected')\n", NULL);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct sandbox_spec spec;
    struct result r;
    char dir[] = "/tmp/sbsock-XXXXXX";
    int s;

    (void)state;
    need_root();
    assert_non_null(mkdtemp(dir));
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s.sock", dir);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(s, 4), 0);
    assert_int_equal(chmod(addr.sun_path, 0666), 0);
    spec_for(&spec, argv);
    spec.request_socket = addr.sun_path;
    run(&spec, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "connected\n");
    close(s);
    unlink(addr.sun_path);
    rmdir(dir);
}

/* ---- With a tenant cgroup ---- */

static struct cgroup_setup *tenant_cgroup(const struct cgroup_limits *lim)
{
    char name[64];
    struct cgroup_options o = {.name = name};
    struct cgroup_setup *cg = NULL;
    struct werr err = {0};

    snprintf(name, sizeof(name), "test-sandbox-%d", (int)getpid());
    if (cgroup_setup_open(&o, &cg, &err) < 0 ||
        cgroup_tenant_ensure(cg, "acme", lim, &err) < 0)
        fail_msg("cgroup setup failed: %s", err.msg);
    return cg;
}

static void tenant_cgroup_remove(struct cgroup_setup *cg)
{
    struct werr err = {0};

    if (cgroup_tenant_remove(cg, "acme", &err) < 0 ||
        cgroup_setup_remove(cg, &err) < 0)
        fail_msg("cgroup removal failed: %s", err.msg);
    cgroup_setup_free(cg);
}

static void run_in_tenant(struct cgroup_setup *cg, char **argv,
                          struct result *r, struct cgroup_stats *st)
{
    struct sandbox_spec spec;
    struct sandbox sb;
    struct werr err = {0};

    spec_for(&spec, argv);
    spec.cgroup = cg;
    spec.tenant = "acme";
    spec.nproc = 0;
    memset(r, 0, sizeof(*r));
    if (sandbox_start(&spec, &sb, &r->err) < 0)
        fail_msg("sandbox failed: %s", r->err.msg);
    collect(&sb, r);
    /* On v1 the counters live in the sandbox cgroup: read them before
     * sandbox_destroy() removes it. */
    assert_int_equal(cgroup_tenant_stats(cg, "acme", st, &err), 0);
    assert_int_equal(sandbox_destroy(&sb, &err), 0);
}

static void sandbox_pids_limit_stops_fork_bomb(void **state)
{
    char **argv = args("/bin/sh", "-c",
                    "for i in $(seq 64); do sleep 5 & done 2>/dev/null; "
                    "echo done", NULL);
    struct cgroup_limits lim = {.pids_max = 16};
    struct cgroup_setup *cg;
    struct cgroup_stats st;
    struct result r;

    (void)state;
    need_root();
    cg = tenant_cgroup(&lim);
    run_in_tenant(cg, argv, &r, &st);
    assert_true(st.pids_max_hits > 0);
    tenant_cgroup_remove(cg);
}

static void sandbox_memory_limit_kills_hog(void **state)
{
    char **argv = args("/usr/bin/python3", "-c",
                    "b = [bytearray(1 << 20) for _ in range(1024)]", NULL);
    struct cgroup_limits lim = {.memory_max = 48 << 20};
    struct cgroup_setup *cg;
    struct cgroup_stats st;
    struct result r;

    (void)state;
    need_root();
    cg = tenant_cgroup(&lim);
    run_in_tenant(cg, argv, &r, &st);
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGKILL);
    assert_true(st.oom_kills >= 1);
    tenant_cgroup_remove(cg);
}

static void sandbox_cgroup_removed_after_destroy(void **state)
{
    char **argv = args("/bin/sh", "-c", "cat /proc/self/cgroup", NULL);
    struct cgroup_setup *cg;
    struct sandbox_spec spec;
    struct sandbox sb;
    struct werr err = {0};
    struct result r = {0};
    char path[4096];

    (void)state;
    need_root();
    cg = tenant_cgroup(NULL);
    spec_for(&spec, argv);
    spec.cgroup = cg;
    spec.tenant = "acme";
    assert_int_equal(sandbox_start(&spec, &sb, &err), 0);
    snprintf(path, sizeof(path), "%s", sb.cgroup_path);
    assert_int_equal(access(path, F_OK), 0);
    collect(&sb, &r);
    /* The cgroup namespace hides the host path. */
    assert_non_null(strstr(r.out, ":memory:/\n"));
    assert_int_equal(sandbox_destroy(&sb, &err), 0);
    assert_int_equal(access(path, F_OK), -1);
    tenant_cgroup_remove(cg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sandbox_netns_has_only_lo),
        cmocka_unit_test(sandbox_uid_inside_and_on_host),
        cmocka_unit_test(sandbox_usr_is_read_only),
        cmocka_unit_test(sandbox_kernel_secrets_unreadable),
        cmocka_unit_test(sandbox_tmp_size_limited),
        cmocka_unit_test(sandbox_home_persists),
        cmocka_unit_test(sandbox_home_symlink_not_followed),
        cmocka_unit_test(sandbox_exit_code_propagated),
        cmocka_unit_test(sandbox_signal_propagated),
        cmocka_unit_test(sandbox_sigterm_forwarded),
        cmocka_unit_test(sandbox_exec_failure_reported),
        cmocka_unit_test(sandbox_pty_is_controlling_terminal),
        cmocka_unit_test(sandbox_hostname_set),
        cmocka_unit_test(sandbox_request_socket_bound),
        cmocka_unit_test(sandbox_pids_limit_stops_fork_bomb),
        cmocka_unit_test(sandbox_memory_limit_kills_hog),
        cmocka_unit_test(sandbox_cgroup_removed_after_destroy),
    };

    return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
