/* Reachability under the netpolicy rules, with real namespaces, veth
 * links, nftables and NFLOG.  The test process is the daemon side: it
 * moves itself into a fresh network namespace first (testns_enter), runs
 * services on 10.250.0.1 there, and attaches forked "sandboxes". */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "netpolicy/netpolicy.h"
#include "test_netpolicy_ns.h"

#define SERVICE_ADDR "10.250.0.1"
#define PORT_ALLOWED 8443
#define PORT_OTHER 9443
#define PORT_HOST 7001
#define UDP_ALLOWED 5353
#define UDP_OTHER 5354
#define NFLOG_GROUP 7
#define TENANT_A 3
#define TENANT_B 4

static const char *skip_reason;

struct fixture {
    struct netpolicy *np;
    struct test_sandbox a, b;
    struct netpolicy_attachment att_a, att_b;
    pthread_t service;
    int stop_pipe[2];
};

static struct fixture fx;

/* Services of the daemon side: TCP listeners that accept and close, UDP
 * sockets that echo. */

static int listen_on(int type, const char *addr, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int one = 1;

    inet_pton(AF_INET, addr, &sa.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    if (type == SOCK_STREAM && listen(fd, 64) < 0)
        return -1;
    return fd;
}

static void service_serve(struct pollfd *p, int type)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    char buf[64];
    ssize_t n;

    if (!(p->revents & POLLIN))
        return;
    if (type == SOCK_STREAM) {
        int cfd = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC);

        if (cfd >= 0)
            close(cfd);
        return;
    }
    n = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);
    if (n > 0)
        sendto(p->fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
}

static void *service_thread(void *arg)
{
    static const int types[] = {SOCK_STREAM, SOCK_STREAM, SOCK_STREAM,
                                SOCK_DGRAM, SOCK_DGRAM};
    struct pollfd p[6];

    (void)arg;
    p[0] = (struct pollfd){listen_on(SOCK_STREAM, SERVICE_ADDR, PORT_ALLOWED),
                           POLLIN, 0};
    p[1] = (struct pollfd){listen_on(SOCK_STREAM, SERVICE_ADDR, PORT_OTHER),
                           POLLIN, 0};
    p[2] = (struct pollfd){listen_on(SOCK_STREAM, "0.0.0.0", PORT_HOST),
                           POLLIN, 0};
    p[3] = (struct pollfd){listen_on(SOCK_DGRAM, SERVICE_ADDR, UDP_ALLOWED),
                           POLLIN, 0};
    p[4] = (struct pollfd){listen_on(SOCK_DGRAM, SERVICE_ADDR, UDP_OTHER),
                           POLLIN, 0};
    p[5] = (struct pollfd){fx.stop_pipe[0], POLLIN, 0};
    for (;;) {
        if (poll(p, 6, -1) < 0)
            continue;
        if (p[5].revents)
            break;
        for (int i = 0; i < 5; i++)
            service_serve(&p[i], types[i]);
    }
    for (int i = 0; i < 5; i++)
        close(p[i].fd);
    return NULL;
}

/* Allowlists. */

static void endpoint(const char *addr, const char *proto, const char *port,
                     struct netpolicy_endpoint *ret)
{
    struct werr err = {0};

    assert_int_equal(netpolicy_parse_endpoint(addr, proto, port, ret, &err),
                     0);
}

static size_t allowlist_a(struct netpolicy_endpoint *eps)
{
    endpoint(SERVICE_ADDR "/32", "tcp", "8443", &eps[0]);
    endpoint(SERVICE_ADDR, "udp", "5353", &eps[1]);
    endpoint(SERVICE_ADDR, "icmp", NULL, &eps[2]);
    return 3;
}

static size_t allowlist_b(struct netpolicy_endpoint *eps)
{
    endpoint(SERVICE_ADDR "/32", "tcp", "8443", &eps[0]);
    return 1;
}

static int reconcile_default(struct werr *err)
{
    struct netpolicy_endpoint ea[4], eb[4];
    struct netpolicy_tenant_spec specs[2] = {
        {TENANT_A, ea, allowlist_a(ea)},
        {TENANT_B, eb, allowlist_b(eb)},
    };
    struct netpolicy_attachment live[2] = {fx.att_a, fx.att_b};

    return netpolicy_reconcile(fx.np, specs, 2, live,
                               fx.att_a.host_ifname[0] ? 2 : 0, NULL, err);
}

static int group_setup(void **state)
{
    struct netpolicy_pool pool;
    struct netpolicy_config config = {&pool, 1, NFLOG_GROUP};
    struct werr err = {0};

    (void)state;
    if (skip_reason)
        return 0;
    /* Global ip_forward stays 0: attach turns forwarding on for the host
     * ends only. */
    if (system("ip addr add " SERVICE_ADDR "/32 dev lo") != 0)
        return -1;
    if (pipe2(fx.stop_pipe, O_CLOEXEC) < 0 ||
        pthread_create(&fx.service, NULL, service_thread, NULL) != 0)
        return -1;
    if (netpolicy_pool_parse("10.201.0.0/16", &pool, &err) < 0 ||
        netpolicy_new(&config, &fx.np, &err) < 0 ||
        reconcile_default(&err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    if (sandbox_start(&fx.a) < 0 || sandbox_start(&fx.b) < 0)
        return -1;
    if (netpolicy_attach(fx.np, TENANT_A, fx.a.netns_fd, &fx.att_a, &err) <
            0 ||
        netpolicy_attach(fx.np, TENANT_B, fx.b.netns_fd, &fx.att_b, &err) <
            0) {
        fprintf(stderr, "attach: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (skip_reason)
        return 0;
    netpolicy_detach(fx.np, &fx.att_a, NULL);
    netpolicy_detach(fx.np, &fx.att_b, NULL);
    sandbox_stop(&fx.a);
    sandbox_stop(&fx.b);
    netpolicy_free(fx.np);
    close(fx.stop_pipe[1]);
    pthread_join(fx.service, NULL);
    return 0;
}

static void skip_unless_ready(void)
{
    if (skip_reason) {
        fprintf(stderr, "SKIP: %s\n", skip_reason);
        skip();
    }
}

static int reach_tcp(const struct test_sandbox *s, const char *addr,
                     uint16_t port)
{
    struct probe p = {addr, port};

    return in_netns(s->netns_fd, probe_tcp, &p);
}

static int reach_udp(const struct test_sandbox *s, const char *addr,
                     uint16_t port)
{
    struct probe p = {addr, port};

    return in_netns(s->netns_fd, probe_udp, &p);
}

static int reach_icmp(const struct test_sandbox *s, const char *addr)
{
    struct probe p = {addr, 0};

    return in_netns(s->netns_fd, probe_icmp, &p);
}

/* Mode none. */

static int check_only_lo_up(const void *arg)
{
    struct ifreq ifr = {0};
    int fd;

    (void)arg;
    if (count_links("") != 1 || count_links("lo") != 1)
        return 1;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return 2;
    return (ifr.ifr_flags & IFF_UP) ? 0 : 3;
}

static void none_mode_has_only_lo_up(void **state)
{
    struct test_sandbox s = {0};
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    assert_int_equal(sandbox_start(&s), 0);
    assert_int_equal(netpolicy_loopback_up(s.netns_fd, &err), 0);
    assert_int_equal(in_netns(s.netns_fd, check_only_lo_up, NULL), 0);
    sandbox_stop(&s);
}

static int lo_up_here_then_check(const void *arg)
{
    struct werr err = {0};

    (void)arg;
    if (netpolicy_lo_up_here(&err) < 0)
        return 10;
    return check_only_lo_up(NULL);
}

static void lo_up_here_brings_loopback_up(void **state)
{
    struct test_sandbox s = {0};

    (void)state;
    skip_unless_ready();
    assert_int_equal(sandbox_start(&s), 0);
    assert_int_equal(in_netns(s.netns_fd, lo_up_here_then_check, NULL), 0);
    sandbox_stop(&s);
}

/* Mode internal. */

static void attach_assigns_tenant_addresses(void **state)
{
    char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];

    (void)state;
    skip_unless_ready();
    inet_ntop(AF_INET, &fx.att_a.addr, addr, sizeof(addr));
    inet_ntop(AF_INET, &fx.att_a.gateway, gw, sizeof(gw));
    assert_string_equal(addr, "10.201.3.2");
    assert_string_equal(gw, "10.201.3.1");
    assert_int_equal(strncmp(fx.att_a.host_ifname, "wd3s", 4), 0);
    assert_int_equal(count_links(fx.att_a.host_ifname), 1);
}

static int check_no_ipv6_address(const void *arg)
{
    char out[4096];

    (void)arg;
    if (command_output("ip -6 addr show dev eth0", out, sizeof(out)) < 0)
        return 1;
    return strstr(out, "inet6") ? 2 : 0;
}

static void attach_sets_forwarding_per_link(void **state)
{
    char path[128], out[16];

    (void)state;
    skip_unless_ready();
    snprintf(path, sizeof(path), "cat /proc/sys/net/ipv4/conf/%s/forwarding",
             fx.att_a.host_ifname);
    assert_true(command_output(path, out, sizeof(out)) > 0);
    assert_string_equal(out, "1\n");
    assert_true(command_output("cat /proc/sys/net/ipv4/ip_forward", out,
                               sizeof(out)) > 0);
    assert_string_equal(out, "0\n");
    assert_int_equal(in_netns(fx.a.netns_fd, check_no_ipv6_address, NULL), 0);
}

static void allowlisted_tcp_reachable(void **state)
{
    (void)state;
    skip_unless_ready();
    assert_int_equal(reach_tcp(&fx.a, SERVICE_ADDR, PORT_ALLOWED), 0);
    assert_int_equal(reach_tcp(&fx.b, SERVICE_ADDR, PORT_ALLOWED), 0);
}

static void other_port_dropped(void **state)
{
    (void)state;
    skip_unless_ready();
    assert_int_not_equal(reach_tcp(&fx.a, SERVICE_ADDR, PORT_OTHER), 0);
}

static void allowlisted_udp_echoed(void **state)
{
    (void)state;
    skip_unless_ready();
    assert_int_equal(reach_udp(&fx.a, SERVICE_ADDR, UDP_ALLOWED), 0);
    assert_int_not_equal(reach_udp(&fx.a, SERVICE_ADDR, UDP_OTHER), 0);
    assert_int_not_equal(reach_udp(&fx.b, SERVICE_ADDR, UDP_ALLOWED), 0);
}

static void icmp_follows_allowlist(void **state)
{
    (void)state;
    skip_unless_ready();
    assert_int_equal(reach_icmp(&fx.a, SERVICE_ADDR), 0);
    assert_int_not_equal(reach_icmp(&fx.b, SERVICE_ADDR), 0);
    assert_int_not_equal(reach_icmp(&fx.a, "10.201.3.1"), 0);
}

static void host_end_needs_allowlist(void **state)
{
    struct netpolicy_endpoint eps[4];
    size_t n = allowlist_a(eps);
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    assert_int_not_equal(reach_tcp(&fx.a, "10.201.3.1", PORT_HOST), 0);

    endpoint("10.201.3.1", "tcp", "7001", &eps[n]);
    assert_int_equal(netpolicy_tenant_set(fx.np, TENANT_A, eps, n + 1, &err),
                     0);
    assert_int_equal(reach_tcp(&fx.a, "10.201.3.1", PORT_HOST), 0);
    /* The other tenant's gateway stays out of reach for B. */
    assert_int_not_equal(reach_tcp(&fx.b, "10.201.4.1", PORT_HOST), 0);

    assert_int_equal(netpolicy_tenant_set(fx.np, TENANT_A, eps, n, &err), 0);
    assert_int_not_equal(reach_tcp(&fx.a, "10.201.3.1", PORT_HOST), 0);
}

static void tenants_cannot_reach_each_other(void **state)
{
    char a_addr[INET_ADDRSTRLEN], b_addr[INET_ADDRSTRLEN];
    struct probe to_a;
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    inet_ntop(AF_INET, &fx.att_a.addr, a_addr, sizeof(a_addr));
    inet_ntop(AF_INET, &fx.att_b.addr, b_addr, sizeof(b_addr));
    to_a = (struct probe){a_addr, SANDBOX_TCP_PORT};

    assert_int_not_equal(reach_tcp(&fx.a, b_addr, SANDBOX_TCP_PORT), 0);
    assert_int_not_equal(reach_tcp(&fx.b, a_addr, SANDBOX_TCP_PORT), 0);
    assert_int_not_equal(reach_icmp(&fx.b, a_addr), 0);

    /* Controls: the listener in A answers the daemon side, and without
     * table inet warden B reaches it, so the rules made the difference. */
    assert_int_equal(probe_tcp(&to_a), 0);
    assert_int_equal(system("nft delete table inet warden"), 0);
    assert_int_equal(reach_tcp(&fx.b, a_addr, SANDBOX_TCP_PORT), 0);
    assert_int_equal(reconcile_default(&err), 0);
    assert_int_not_equal(reach_tcp(&fx.b, a_addr, SANDBOX_TCP_PORT), 0);
}

static void broad_allowlist_never_reaches_pool(void **state)
{
    char b_addr[INET_ADDRSTRLEN];
    struct netpolicy_endpoint eps[4];
    size_t n = allowlist_a(eps);
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    inet_ntop(AF_INET, &fx.att_b.addr, b_addr, sizeof(b_addr));
    endpoint("0.0.0.0/0", "tcp", NULL, &eps[n]);
    assert_int_equal(netpolicy_tenant_set(fx.np, TENANT_A, eps, n + 1, &err),
                     0);
    assert_int_equal(reach_tcp(&fx.a, SERVICE_ADDR, PORT_OTHER), 0);
    assert_int_not_equal(reach_tcp(&fx.a, b_addr, SANDBOX_TCP_PORT), 0);
    assert_int_equal(netpolicy_tenant_set(fx.np, TENANT_A, eps, n, &err), 0);
}

static void allowlist_change_applies_live(void **state)
{
    struct netpolicy_endpoint eps[4];
    size_t n = allowlist_b(eps);
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    assert_int_not_equal(reach_tcp(&fx.b, SERVICE_ADDR, PORT_OTHER), 0);

    endpoint(SERVICE_ADDR, "tcp", "9443", &eps[n]);
    assert_int_equal(netpolicy_tenant_set(fx.np, TENANT_B, eps, n + 1, &err),
                     0);
    assert_int_equal(reach_tcp(&fx.b, SERVICE_ADDR, PORT_OTHER), 0);

    assert_int_equal(netpolicy_tenant_set(fx.np, TENANT_B, eps, n, &err), 0);
    assert_int_not_equal(reach_tcp(&fx.b, SERVICE_ADDR, PORT_OTHER), 0);
}

struct nflog_seen {
    int matched;
    struct nflog_event last;
};

static void nflog_collect(const struct nflog_event *ev, void *data)
{
    struct nflog_seen *seen = data;
    struct in_addr service;

    inet_pton(AF_INET, SERVICE_ADDR, &service);
    if (ev->family == AF_INET && ev->dst.v4.s_addr == service.s_addr &&
        ev->dport == PORT_OTHER) {
        seen->matched++;
        seen->last = *ev;
    }
}

static void drops_logged_with_tenant_prefix(void **state)
{
    struct nflog_seen seen = {0};
    struct werr err = {0};
    unsigned tenant = 0;
    int fd;

    (void)state;
    skip_unless_ready();
    fd = nflog_open(NFLOG_GROUP, &err);
    assert_true(fd >= 0);
    assert_int_not_equal(reach_tcp(&fx.a, SERVICE_ADDR, PORT_OTHER), 0);
    for (int i = 0; i < 10 && seen.matched == 0; i++) {
        struct pollfd p = {fd, POLLIN, 0};

        poll(&p, 1, 100);
        assert_true(nflog_read(fd, nflog_collect, &seen) >= 0);
    }
    close(fd);

    assert_true(seen.matched > 0);
    assert_string_equal(seen.last.prefix, "wd:3");
    assert_int_equal(nflog_prefix_tenant(seen.last.prefix, &tenant), 0);
    assert_int_equal(tenant, TENANT_A);
    assert_int_equal(seen.last.protocol, IPPROTO_TCP);
    assert_int_equal(seen.last.src.v4.s_addr, fx.att_a.addr.s_addr);
    assert_int_equal(seen.last.ifindex, if_nametoindex(fx.att_a.host_ifname));
}

static void attach_rejects_unknown_tenant(void **state)
{
    struct netpolicy_attachment att;
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    assert_int_equal(netpolicy_attach(fx.np, 9, fx.a.netns_fd, &att, &err),
                     -ENOENT);
    assert_non_null(strstr(err.msg, "tenant 9"));
    assert_int_equal(netpolicy_attach(fx.np, 256, fx.a.netns_fd, &att, &err),
                     -ERANGE);
}

static void tenant_set_rejects_sandbox_address(void **state)
{
    struct netpolicy_endpoint ep;
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    endpoint("10.201.4.2/32", "tcp", "7000", &ep);
    assert_int_equal(netpolicy_tenant_set(fx.np, TENANT_A, &ep, 1, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "sandbox pool"));
    /* The rejected change left the old rules in place. */
    assert_int_equal(reach_tcp(&fx.a, SERVICE_ADDR, PORT_ALLOWED), 0);
}

static void pool_overlapping_local_address_rejected(void **state)
{
    struct netpolicy_pool pool;
    struct netpolicy_config config = {&pool, 1, NFLOG_GROUP};
    struct netpolicy *np = NULL;
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    assert_int_equal(netpolicy_pool_parse("10.250.0.0/16", &pool, &err), 0);
    assert_int_equal(netpolicy_new(&config, &np, &err), -EADDRINUSE);
    assert_null(np);
    assert_non_null(strstr(err.msg, "10.250.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(none_mode_has_only_lo_up),
        cmocka_unit_test(lo_up_here_brings_loopback_up),
        cmocka_unit_test(attach_assigns_tenant_addresses),
        cmocka_unit_test(attach_sets_forwarding_per_link),
        cmocka_unit_test(allowlisted_tcp_reachable),
        cmocka_unit_test(other_port_dropped),
        cmocka_unit_test(allowlisted_udp_echoed),
        cmocka_unit_test(icmp_follows_allowlist),
        cmocka_unit_test(host_end_needs_allowlist),
        cmocka_unit_test(tenants_cannot_reach_each_other),
        cmocka_unit_test(broad_allowlist_never_reaches_pool),
        cmocka_unit_test(allowlist_change_applies_live),
        cmocka_unit_test(drops_logged_with_tenant_prefix),
        cmocka_unit_test(attach_rejects_unknown_tenant),
        cmocka_unit_test(tenant_set_rejects_sandbox_address),
        cmocka_unit_test(pool_overlapping_local_address_rejected),
    };

    skip_reason = testns_enter();
    if (skip_reason && geteuid() == 0) {
        fprintf(stderr, "cannot isolate the test: %s\n", skip_reason);
        return 1;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
