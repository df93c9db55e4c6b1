/* Benchmark of netpolicy: the cost of attaching a sandbox in mode
 * internal against mode none, and of an allowlist change with 100
 * tenants configured.  It moves itself into a new network namespace
 * before it creates anything; bench/net.sh also starts it in one. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netpolicy/netpolicy.h"

#define ROUNDS 200
#define TENANTS 100
#define ENTRIES_PER_TENANT 10
#define CHANGES 50

struct netns_child {
    pid_t pid;
    int netns_fd;
    int hold_fd;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *what, double *samples, size_t n)
{
    qsort(samples, n, sizeof(*samples), cmp_double);
    printf("%-44s n=%-4zu median %.3f ms  p90 %.3f ms  max %.3f ms\n", what, n,
           samples[n / 2], samples[n * 9 / 10], samples[n - 1]);
}

/* Move into a new network namespace and check that it is one. */
static int enter_private_netns(void)
{
    struct stat before, after;

    if (stat("/proc/self/ns/net", &before) < 0 || unshare(CLONE_NEWNET) < 0 ||
        stat("/proc/self/ns/net", &after) < 0)
        return -1;
    return after.st_ino != before.st_ino ? 0 : -1;
}

/* Fork a child in a new network namespace that waits until hold_fd is
 * closed. */
static int child_start(struct netns_child *c)
{
    int ready[2], hold[2];
    char path[64], byte;

    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
        return -1;
    c->pid = fork();
    if (c->pid == 0) {
        close(hold[1]);
        if (unshare(CLONE_NEWNET) < 0 || write(ready[1], "r", 1) != 1)
            _exit(1);
        while (read(hold[0], &byte, 1) > 0)
            ;
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    c->hold_fd = hold[1];
    if (c->pid < 0 || read(ready[0], &byte, 1) != 1)
        return -1;
    close(ready[0]);
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c->pid);
    c->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
    return c->netns_fd < 0 ? -1 : 0;
}

static void child_stop(struct netns_child *c)
{
    close(c->hold_fd);
    waitpid(c->pid, NULL, 0);
    close(c->netns_fd);
}

static void die(const char *what, const struct werr *err)
{
    fprintf(stderr, "bench_net: %s: %s\n", what, err->msg);
    exit(1);
}

static void bench_none(void)
{
    static double samples[ROUNDS];
    struct werr err = {0};

    for (int i = 0; i < ROUNDS; i++) {
        struct netns_child c;
        double t0;

        if (child_start(&c) < 0)
            exit(1);
        t0 = now_ms();
        if (netpolicy_loopback_up(c.netns_fd, &err) < 0)
            die("loopback_up", &err);
        samples[i] = now_ms() - t0;
        child_stop(&c);
    }
    report("attach, mode none (loopback up)", samples, ROUNDS);
}

static void bench_internal(struct netpolicy *np)
{
    static double attach[ROUNDS], detach[ROUNDS];
    struct werr err = {0};

    for (int i = 0; i < ROUNDS; i++) {
        struct netpolicy_attachment att;
        struct netns_child c;
        double t0;

        if (child_start(&c) < 0)
            exit(1);
        t0 = now_ms();
        if (netpolicy_attach(np, (unsigned)(i % TENANTS), c.netns_fd, &att,
                             &err) < 0)
            die("attach", &err);
        attach[i] = now_ms() - t0;
        t0 = now_ms();
        if (netpolicy_detach(np, &att, &err) < 0)
            die("detach", &err);
        detach[i] = now_ms() - t0;
        child_stop(&c);
    }
    report("attach, mode internal (veth, addresses)", attach, ROUNDS);
    report("detach, mode internal", detach, ROUNDS);
}

/* Give tenant t ENTRIES_PER_TENANT entries; salt varies the ports. */
static void allowlist(unsigned t, unsigned salt,
                      struct netpolicy_endpoint *eps)
{
    char addr[32], port[8];

    for (unsigned i = 0; i < ENTRIES_PER_TENANT; i++) {
        snprintf(addr, sizeof(addr), "172.16.%u.%u/32", t, i + 1);
        snprintf(port, sizeof(port), "%u", 1000 + i + salt);
        if (netpolicy_parse_endpoint(addr, i % 2 ? "udp" : "tcp", port,
                                     &eps[i], NULL) < 0)
            exit(1);
    }
}

static void bench_changes(struct netpolicy *np,
                          struct netpolicy_tenant_spec *specs,
                          struct netpolicy_endpoint (*eps)[ENTRIES_PER_TENANT])
{
    static double change[CHANGES], rebuild[10];
    struct werr err = {0};

    for (int i = 0; i < CHANGES; i++) {
        unsigned t = (unsigned)(i * 7) % TENANTS;
        double t0;

        allowlist(t, (unsigned)i + 1, eps[t]);
        t0 = now_ms();
        if (netpolicy_tenant_set(np, t, eps[t], ENTRIES_PER_TENANT, &err) < 0)
            die("tenant_set", &err);
        change[i] = now_ms() - t0;
    }
    report("allowlist change, 1 of 100 tenants", change, CHANGES);

    for (int i = 0; i < 10; i++) {
        double t0 = now_ms();

        if (netpolicy_reconcile(np, specs, TENANTS, NULL, 0, NULL, &err) < 0)
            die("reconcile", &err);
        rebuild[i] = now_ms() - t0;
    }
    report("full rebuild of 100 tenants (reconcile)", rebuild, 10);
}

int main(void)
{
    static struct netpolicy_endpoint eps[TENANTS][ENTRIES_PER_TENANT];
    static struct netpolicy_tenant_spec specs[TENANTS];
    struct netpolicy_pool pool;
    struct netpolicy_config config = {&pool, 1, 11};
    struct netpolicy *np = NULL;
    struct werr err = {0};

    if (enter_private_netns() < 0) {
        fprintf(stderr, "bench_net: could not enter a new network "
                        "namespace (needs root)\n");
        return 1;
    }
    if (netpolicy_pool_parse("10.201.0.0/16", &pool, &err) < 0 ||
        netpolicy_new(&config, &np, &err) < 0)
        die("setup", &err);
    for (unsigned t = 0; t < TENANTS; t++) {
        allowlist(t, 0, eps[t]);
        specs[t] = (struct netpolicy_tenant_spec){t, eps[t],
                                                  ENTRIES_PER_TENANT};
    }
    if (netpolicy_reconcile(np, specs, TENANTS, NULL, 0, NULL, &err) < 0)
        die("reconcile", &err);

    bench_none();
    bench_internal(np);
    bench_changes(np, specs, eps);
    netpolicy_free(np);
    return 0;
}
