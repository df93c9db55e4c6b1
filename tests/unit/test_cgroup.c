/* Tests for tenant and sandbox cgroups.
 *
 * The fake-tree tests build a directory that looks like a cgroup mount
 * (v2, hybrid, v1) and check detection, paths and the values written.
 * The real tests use this host's hierarchy below this process's own
 * cgroup with a unique base name; they need root and skip otherwise.
 * NOTE: hosts with only cgroup v1 controllers exercise the v1 path for
 * real; the v2 path is then covered by the fake tree only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "sandbox/cgroup.h"

struct fake {
    char root[64];
    char self[128];
};

static void put(const char *dir, const char *file, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *get(const char *dir, const char *file)
{
    static char buf[256];
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "re");
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void mkdirs(const char *root, const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;

            *p = '\0';
            assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
            *p = c;
            if (!c)
                break;
        }
    }
}

static void fake_init(struct fake *f, const char *self_content)
{
    snprintf(f->root, sizeof(f->root), "/tmp/cgfake-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->self, sizeof(f->self), "%s/self-cgroup", f->root);
    put(f->root, "self-cgroup", self_content);
}

static void fake_done(struct fake *f)
{
    char *slash = strrchr(f->root, '/');
    int dir = open("/tmp", O_DIRECTORY | O_CLOEXEC);

    fs_remove_tree_at(dir, slash + 1, NULL, NULL);
    close(dir);
}

/* Pure v2: the parent offers memory, pids and cpu. */
static void fake_v2(struct fake *f)
{
    char svc[256];

    fake_init(f, "0::/daemon.service\n");
    put(f->root, "cgroup.controllers", "cpuset cpu io memory pids\n");
    mkdirs(f->root, "daemon.service");
    snprintf(svc, sizeof(svc), "%s/daemon.service", f->root);
    put(svc, "cgroup.controllers", "cpu memory pids\n");
    put(svc, "cgroup.subtree_control", "");
}

static struct cgroup_setup *open_fake(const struct fake *f,
                                      enum cgroup_version v)
{
    struct cgroup_options o = {.fs_root = f->root, .self_cgroup = f->self,
                               .name = "warden", .version = v};
    struct cgroup_setup *cg = NULL;
    struct werr err = {0};

    if (cgroup_setup_open(&o, &cg, &err) < 0)
        fail_msg("cgroup_setup_open: %s", err.msg);
    return cg;
}

static void cgroup_v2_detected_and_controllers_enabled(void **state)
{
    struct fake f;
    struct cgroup_setup *cg;
    char base[256];

    (void)state;
    fake_v2(&f);
    snprintf(base, sizeof(base), "%s/daemon.service/warden", f.root);
    /* mkdir in a fake tree creates no interface files: provide them. */
    mkdirs(f.root, "daemon.service/warden");
    put(base, "cgroup.controllers", "cpu memory pids\n");
    put(base, "cgroup.subtree_control", "");
    cg = open_fake(&f, CGROUP_VERSION_AUTO);
    assert_int_equal(cgroup_setup_version(cg), CGROUP_VERSION_2);
    assert_string_equal(get(f.root, "daemon.service/cgroup.subtree_control"),
                        "+memory +pids +cpu");
    assert_string_equal(get(base, "cgroup.subtree_control"),
                        "+memory +pids +cpu");
    cgroup_setup_free(cg);
    fake_done(&f);
}

static void cgroup_v2_limits_written(void **state)
{
    static const char *const files[] = {"cgroup.controllers",
        "cgroup.subtree_control", "memory.max", "memory.swap.max",
        "pids.max", "cpu.max"};
    struct cgroup_limits lim = {.memory_max = 1 << 30, .pids_max = 512,
                                .cpu_percent = 250};
    struct werr err = {0};
    struct fake f;
    struct cgroup_setup *cg;
    char t[256], path[256];

    (void)state;
    fake_v2(&f);
    mkdirs(f.root, "daemon.service/warden/acme");
    snprintf(t, sizeof(t), "%s/daemon.service/warden", f.root);
    put(t, "cgroup.controllers", "cpu memory pids\n");
    put(t, "cgroup.subtree_control", "");
    snprintf(t, sizeof(t), "%s/daemon.service/warden/acme", f.root);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        put(t, files[i], "");
    put(t, "cgroup.controllers", "cpu memory pids\n");
    cg = open_fake(&f, CGROUP_VERSION_AUTO);
    assert_int_equal(cgroup_tenant_ensure(cg, "acme", &lim, &err), 0);
    assert_string_equal(get(t, "memory.max"), "1073741824");
    assert_string_equal(get(t, "memory.swap.max"), "0");
    assert_string_equal(get(t, "pids.max"), "512");
    assert_string_equal(get(t, "cpu.max"), "250000 100000");
    lim = (struct cgroup_limits){0};
    assert_int_equal(cgroup_tenant_set_limits(cg, "acme", &lim, &err), 0);
    assert_string_equal(get(t, "memory.max"), "max");
    assert_string_equal(get(t, "pids.max"), "max");
    assert_string_equal(get(t, "cpu.max"), "max 100000");
    assert_int_equal(cgroup_path(cg, "acme", "sb1", path, sizeof(path)), 0);
    snprintf(t, sizeof(t), "%s/daemon.service/warden/acme/sb1", f.root);
    assert_string_equal(path, t);
    cgroup_setup_free(cg);
    fake_done(&f);
}

static void cgroup_v2_freeze_kill_and_stats(void **state)
{
    struct werr err = {0};
    struct cgroup_stats st;
    struct fake f;
    struct cgroup_setup *cg;
    char t[512], b[256];

    (void)state;
    fake_v2(&f);
    mkdirs(f.root, "daemon.service/warden/acme");
    snprintf(b, sizeof(b), "%s/daemon.service/warden", f.root);
    put(b, "cgroup.controllers", "memory pids\n");
    put(b, "cgroup.subtree_control", "");
    snprintf(t, sizeof(t), "%s/acme", b);
    put(t, "cgroup.freeze", "");
    put(t, "cgroup.kill", "");
    put(t, "cgroup.events", "populated 0\nfrozen 1\n");
    put(t, "memory.current", "12345\n");
    put(t, "memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n");
    put(t, "pids.current", "3\n");
    put(t, "pids.events", "max 5\n");
    cg = open_fake(&f, CGROUP_VERSION_2);
    assert_int_equal(cgroup_tenant_freeze(cg, "acme", &err), 0);
    assert_string_equal(get(t, "cgroup.freeze"), "1");
    assert_int_equal(cgroup_tenant_kill(cg, "acme", &err), 0);
    assert_string_equal(get(t, "cgroup.kill"), "1");
    assert_int_equal(cgroup_tenant_stats(cg, "acme", &st, &err), 0);
    assert_int_equal(st.memory_current, 12345);
    assert_int_equal(st.oom_kills, 2);
    assert_int_equal(st.memory_max_hits, 7);
    assert_int_equal(st.pids_current, 3);
    assert_int_equal(st.pids_max_hits, 5);
    assert_true(st.frozen);
    cgroup_setup_free(cg);
    fake_done(&f);
}

/* The host layout of a hybrid system: v1 controllers plus a unified tree
 * that offers none of them. */
static void cgroup_hybrid_without_controllers_picks_v1(void **state)
{
    static const char *const v1[] = {"memory", "pids", "cpu", "freezer"};
    struct fake f;
    struct cgroup_setup *cg;
    char path[256];

    (void)state;
    fake_init(&f, "4:memory:/svc\n8:pids:/\n6:freezer:/\n1:cpu,cpuacct:/\n"
                  "0::/\n");
    mkdirs(f.root, "unified");
    snprintf(path, sizeof(path), "%s/unified", f.root);
    put(path, "cgroup.controllers", "hugetlb\n");
    for (size_t i = 0; i < 4; i++)
        mkdirs(f.root, v1[i]);
    mkdirs(f.root, "memory/svc");
    cg = open_fake(&f, CGROUP_VERSION_AUTO);
    assert_int_equal(cgroup_setup_version(cg), CGROUP_VERSION_1);
    assert_int_equal(cgroup_path(cg, "acme", NULL, path, sizeof(path)), 0);
    assert_non_null(strstr(path, "/memory/svc/warden/acme"));
    snprintf(path, sizeof(path), "%s/pids/warden", f.root);
    assert_int_equal(access(path, F_OK), 0);
    cgroup_setup_free(cg);
    fake_done(&f);
}

static void cgroup_v1_limits_written(void **state)
{
    static const char *const v1[] = {"memory", "pids", "cpu", "freezer"};
    struct cgroup_limits lim = {.memory_max = 64 << 20, .pids_max = 32,
                                .cpu_percent = 50};
    struct werr err = {0};
    struct fake f;
    struct cgroup_setup *cg;
    char m[256], p[256], c[256];

    (void)state;
    fake_init(&f, "4:memory:/\n8:pids:/\n6:freezer:/\n1:cpu:/\n");
    for (size_t i = 0; i < 4; i++)
        mkdirs(f.root, v1[i]);
    cg = open_fake(&f, CGROUP_VERSION_1);
    assert_int_equal(cgroup_tenant_ensure(cg, "acme", NULL, &err), 0);
    snprintf(m, sizeof(m), "%s/memory/warden/acme", f.root);
    snprintf(p, sizeof(p), "%s/pids/warden/acme", f.root);
    snprintf(c, sizeof(c), "%s/cpu/warden/acme", f.root);
    put(m, "memory.limit_in_bytes", "");
    put(p, "pids.max", "");
    put(c, "cpu.cfs_period_us", "");
    put(c, "cpu.cfs_quota_us", "");
    assert_int_equal(cgroup_tenant_set_limits(cg, "acme", &lim, &err), 0);
    assert_string_equal(get(m, "memory.limit_in_bytes"), "67108864");
    assert_string_equal(get(p, "pids.max"), "32");
    assert_string_equal(get(c, "cpu.cfs_period_us"), "100000");
    assert_string_equal(get(c, "cpu.cfs_quota_us"), "50000");
    cgroup_setup_free(cg);
    fake_done(&f);
}

static void cgroup_rejects_bad_names(void **state)
{
    (void)state;
    assert_false(cgroup_name_valid(".."));
    assert_false(cgroup_name_valid("a/b"));
    assert_false(cgroup_name_valid(""));
    assert_false(cgroup_name_valid(".hidden"));
    assert_true(cgroup_name_valid("tenant-1.dev_2"));
}

/* ---- Real hierarchy ---- */

struct real {
    struct cgroup_setup *cg;
    char name[64];
};

static int real_setup(void **state)
{
    static struct real r;
    struct cgroup_options o = {.name = r.name};
    struct werr err = {0};

    if (geteuid() != 0) {
        *state = NULL;
        return 0;
    }
    snprintf(r.name, sizeof(r.name), "test-cgroup-%d", (int)getpid());
    if (cgroup_setup_open(&o, &r.cg, &err) < 0) {
        fprintf(stderr, "cgroup setup failed: %s\n", err.msg);
        return -1;
    }
    *state = &r;
    return 0;
}

static int real_teardown(void **state)
{
    struct real *r = *state;
    struct werr err = {0};

    if (!r)
        return 0;
    cgroup_tenant_remove(r->cg, "acme", &err);
    if (cgroup_setup_remove(r->cg, &err) < 0)
        fprintf(stderr, "%s\n", err.msg);
    cgroup_setup_free(r->cg);
    return 0;
}

static struct real *need_root(void **state)
{
    if (!*state) {
        fprintf(stderr, "SKIP: cgroup tests on the real hierarchy need root\n");
        skip();
    }
    return *state;
}

static pid_t spawn_counter(volatile unsigned long *counter)
{
    pid_t pid = fork();

    if (pid == 0)
        for (;;)
            (*counter)++;
    return pid;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

static void cgroup_freeze_stops_counter(void **state)
{
    struct real *r = need_root(state);
    volatile unsigned long *counter;
    struct cgroup_stats st;
    struct werr err = {0};
    unsigned long a, b;
    pid_t pid;

    counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(counter != MAP_FAILED);
    assert_int_equal(cgroup_tenant_ensure(r->cg, "acme", NULL, &err), 0);
    assert_int_equal(cgroup_sandbox_create(r->cg, "acme", "sb1", NULL, &err), 0);
    pid = spawn_counter(counter);
    assert_true(pid > 0);
    assert_int_equal(cgroup_sandbox_attach(r->cg, "acme", "sb1", pid, &err), 0);

    assert_int_equal(cgroup_tenant_freeze(r->cg, "acme", &err), 0);
    assert_int_equal(cgroup_tenant_stats(r->cg, "acme", &st, &err), 0);
    assert_true(st.frozen);
    a = *counter;
    sleep_ms(100);
    b = *counter;
    assert_int_equal(a, b);
    assert_int_equal(cgroup_tenant_thaw(r->cg, "acme", &err), 0);
    sleep_ms(100);
    assert_true(*counter > b);

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(cgroup_sandbox_remove(r->cg, "acme", "sb1", &err), 0);
    munmap((void *)(uintptr_t)counter, 4096);
}

static void cgroup_kill_empties_tenant(void **state)
{
    struct real *r = need_root(state);
    volatile unsigned long *counter;
    struct cgroup_stats st;
    struct werr err = {0};
    pid_t pids[3];
    char path[4096];
    int status;

    counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(counter != MAP_FAILED);
    assert_int_equal(cgroup_tenant_ensure(r->cg, "acme", NULL, &err), 0);
    assert_int_equal(cgroup_sandbox_create(r->cg, "acme", "sb2", NULL, &err), 0);
    for (int i = 0; i < 3; i++) {
        pids[i] = spawn_counter(counter);
        assert_int_equal(cgroup_sandbox_attach(r->cg, "acme", "sb2", pids[i],
                                               &err), 0);
    }
    assert_int_equal(cgroup_tenant_kill(r->cg, "acme", &err), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
    }
    assert_int_equal(cgroup_tenant_stats(r->cg, "acme", &st, &err), 0);
    assert_int_equal(st.pids_current, 0);
    assert_int_equal(cgroup_tenant_remove(r->cg, "acme", &err), 0);
    assert_int_equal(cgroup_path(r->cg, "acme", NULL, path, sizeof(path)), 0);
    assert_int_equal(access(path, F_OK), -1);
    munmap((void *)(uintptr_t)counter, 4096);
}

static void cgroup_limits_applied_on_host(void **state)
{
    struct real *r = need_root(state);
    struct cgroup_limits lim = {.memory_max = 32 << 20, .pids_max = 16};
    struct werr err = {0};
    char path[4096], buf[64];
    int fd;
    ssize_t n;

    assert_int_equal(cgroup_tenant_ensure(r->cg, "acme", &lim, &err), 0);
    cgroup_path(r->cg, "acme", NULL, path, sizeof(path));
    strcat(path, cgroup_setup_version(r->cg) == CGROUP_VERSION_2
                     ? "/memory.max" : "/memory.limit_in_bytes");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_int_equal(strtoull(buf, NULL, 10), 32 << 20);
    assert_int_equal(cgroup_tenant_remove(r->cg, "acme", &err), 0);
}

int main(void)
{
    const struct CMUnitTest fake[] = {
        cmocka_unit_test(cgroup_v2_detected_and_controllers_enabled),
        cmocka_unit_test(cgroup_v2_limits_written),
        cmocka_unit_test(cgroup_v2_freeze_kill_and_stats),
        cmocka_unit_test(cgroup_hybrid_without_controllers_picks_v1),
        cmocka_unit_test(cgroup_v1_limits_written),
        cmocka_unit_test(cgroup_rejects_bad_names),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test(cgroup_freeze_stops_counter),
        cmocka_unit_test(cgroup_kill_empties_tenant),
        cmocka_unit_test(cgroup_limits_applied_on_host),
    };
    int failed = cmocka_run_group_tests_name("cgroup_fake_tree", fake, NULL,
                                             NULL);

    failed += cmocka_run_group_tests_name("cgroup_host", real, real_setup,
                                          real_teardown);
    return failed ? 1 : 0;
}
