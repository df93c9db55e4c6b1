/* Namespaces and probes for the netpolicy tests.
 *
 * Every test binary that includes this calls testns_enter() first.  It
 * moves the whole process into a fresh network and mount namespace and
 * checks that the namespace changed, so the tests never touch the
 * machine's own links, routes or rules.  "Sandboxes" are
 * forked children in namespaces of their own; each listens on TCP port
 * SANDBOX_TCP_PORT so that another sandbox's failed connection proves a
 * drop and not a missing listener. */
#ifndef WARDEN_TEST_NETPOLICY_NS_H
#define WARDEN_TEST_NETPOLICY_NS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_TCP_PORT 7000
/* How long a probe waits before it calls a packet dropped. */
#define PROBE_TIMEOUT_MS 300

struct test_sandbox {
    pid_t pid;
    int netns_fd;
    int hold_fd; /* closing it lets the child exit */
};

/* Return NULL when the process now runs in a new network namespace, or
 * the reason it could not get one. */
static inline const char *testns_enter(void)
{
    struct stat before, after;

    if (geteuid() != 0)
        return "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)";
    if (stat("/proc/self/ns/net", &before) < 0)
        return "cannot stat /proc/self/ns/net";
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
        return "unshare(CLONE_NEWNET | CLONE_NEWNS) failed";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return "making mounts private failed";
    if (stat("/proc/self/ns/net", &after) < 0 || after.st_ino == before.st_ino)
        return "the network namespace did not change";
    if (system("ip link set lo up") != 0)
        return "bringing loopback up in the test namespace failed";
    return NULL;
}

static inline int testns_write(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, value, strlen(value));
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

static inline void sandbox_child(int ready_fd, int hold_fd)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons(SANDBOX_TCP_PORT)};
    int one = 1, lfd;

    /* Keep no copy of another sandbox's hold pipe, or closing it would not
     * stop that sandbox. */
    if (dup2(ready_fd, 3) < 0 || dup2(hold_fd, 4) < 0 ||
        close_range(5, ~0u, 0) < 0)
        _exit(1);
    ready_fd = 3;
    hold_fd = 4;
    if (unshare(CLONE_NEWNET) < 0)
        _exit(1);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(lfd, 64) < 0)
        _exit(1);
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    for (;;) {
        struct pollfd p[2] = {{hold_fd, POLLIN, 0}, {lfd, POLLIN, 0}};
        char c;

        if (poll(p, 2, -1) < 0)
            continue;
        if (p[0].revents && read(hold_fd, &c, 1) <= 0)
            _exit(0);
        if (p[1].revents & POLLIN) {
            int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

            if (cfd >= 0)
                close(cfd);
        }
    }
}

/* Fork a child that makes its own network namespace and waits. */
static inline int sandbox_start(struct test_sandbox *s)
{
    int ready[2], hold[2];
    char path[64], c;

    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        close(ready[0]);
        close(hold[1]);
        sandbox_child(ready[1], hold[0]);
    }
    close(ready[1]);
    close(hold[0]);
    s->hold_fd = hold[1];
    if (read(ready[0], &c, 1) != 1) {
        close(ready[0]);
        return -1;
    }
    close(ready[0]);
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)s->pid);
    s->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
    return s->netns_fd < 0 ? -1 : 0;
}

static inline void sandbox_stop(struct test_sandbox *s)
{
    close(s->hold_fd);
    waitpid(s->pid, NULL, 0);
    close(s->netns_fd);
}

/* Run fn(arg) in a child that entered netns_fd; return its exit status,
 * or 255 when the child could not run. */
static inline int in_netns(int netns_fd, int (*fn)(const void *),
                           const void *arg)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return 255;
    if (pid == 0) {
        if (setns(netns_fd, CLONE_NEWNET) < 0)
            _exit(255);
        _exit(fn(arg));
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return 255;
    return WEXITSTATUS(status);
}

struct probe {
    const char *addr;
    uint16_t port;
};

static inline int wait_fd(int fd, short events)
{
    struct pollfd p = {fd, events, 0};

    return poll(&p, 1, PROBE_TIMEOUT_MS) == 1 ? 0 : -1;
}

/* Exit status 0 when a TCP connection to addr:port completes. */
static inline int probe_tcp(const void *arg)
{
    const struct probe *p = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    inet_pton(AF_INET, p->addr, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return 0;
    if (errno != EINPROGRESS || wait_fd(fd, POLLOUT) < 0)
        return 1;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    return soerr == 0 ? 0 : 2;
}

/* Exit status 0 when a UDP datagram to addr:port is echoed back. */
static inline int probe_udp(const void *arg)
{
    const struct probe *p = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->port)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char buf[16];

    inet_pton(AF_INET, p->addr, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        send(fd, "ping", 4, 0) != 4 || wait_fd(fd, POLLIN) < 0)
        return 1;
    return recv(fd, buf, sizeof(buf), 0) == 4 && memcmp(buf, "ping", 4) == 0
               ? 0
               : 2;
}

/* Exit status 0 when an ICMP echo request to addr gets a reply. */
static inline int probe_icmp(const void *arg)
{
    const struct probe *p = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct icmphdr req = {.type = ICMP_ECHO};
    char buf[256];
    int fd;

    /* A ping socket needs ping_group_range, which this namespace sets for
     * root only. */
    testns_write("/proc/sys/net/ipv4/ping_group_range", "0 0");
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    inet_pton(AF_INET, p->addr, &sa.sin_addr);
    req.un.echo.sequence = htons(1);
    if (fd < 0 ||
        sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
               sizeof(sa)) < 0 ||
        wait_fd(fd, POLLIN) < 0)
        return 1;
    return recv(fd, buf, sizeof(buf), 0) >= (ssize_t)sizeof(req) &&
                   ((struct icmphdr *)buf)->type == ICMP_ECHOREPLY
               ? 0
               : 2;
}

/* Count the links of the caller's namespace whose name starts with
 * prefix. */
static inline int count_links(const char *prefix)
{
    struct if_nameindex *list = if_nameindex();
    int n = 0;

    if (!list)
        return -1;
    for (struct if_nameindex *i = list; i->if_index != 0; i++)
        if (strncmp(i->if_name, prefix, strlen(prefix)) == 0)
            n++;
    if_freenameindex(list);
    return n;
}

/* Read the output of a shell command into buf; return its length. */
static inline ssize_t command_output(const char *cmd, char *buf, size_t size)
{
    FILE *f = popen(cmd, "r");
    size_t n;

    if (!f)
        return -1;
    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    pclose(f);
    return (ssize_t)n;
}

#endif
