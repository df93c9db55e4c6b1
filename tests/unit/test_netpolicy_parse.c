/* Input validation of allowlist entries and address pools (no root). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "netpolicy/netpolicy.h"

static int parse(const char *addr, const char *proto, const char *port,
                 struct netpolicy_endpoint *ep, struct werr *err)
{
    return netpolicy_parse_endpoint(addr, proto, port, ep, err);
}

static void endpoint_ipv4_prefix_port(void **state)
{
    struct netpolicy_endpoint ep;
    struct werr err = {0};
    char text[INET_ADDRSTRLEN];

    (void)state;
    assert_int_equal(parse("10.0.0.5/32", "tcp", "443", &ep, &err), 0);
    assert_int_equal(ep.family, AF_INET);
    assert_int_equal(ep.prefix_len, 32);
    assert_int_equal(ep.proto, NETPOLICY_PROTO_TCP);
    assert_int_equal(ep.port, 443);
    inet_ntop(AF_INET, &ep.addr.v4, text, sizeof(text));
    assert_string_equal(text, "10.0.0.5");
}

static void endpoint_host_bits_cleared(void **state)
{
    struct netpolicy_endpoint ep;
    char text[INET_ADDRSTRLEN];

    (void)state;
    assert_int_equal(parse("192.168.7.9/20", "udp", "53", &ep, NULL), 0);
    inet_ntop(AF_INET, &ep.addr.v4, text, sizeof(text));
    assert_string_equal(text, "192.168.0.0");
    assert_int_equal(ep.prefix_len, 20);
}

static void endpoint_without_prefix_is_host(void **state)
{
    struct netpolicy_endpoint ep;

    (void)state;
    assert_int_equal(parse("10.1.2.3", "icmp", NULL, &ep, NULL), 0);
    assert_int_equal(ep.prefix_len, 32);
    assert_int_equal(ep.port, 0);
    assert_int_equal(ep.proto, NETPOLICY_PROTO_ICMP);
}

static void endpoint_ipv6_accepted(void **state)
{
    struct netpolicy_endpoint ep;

    (void)state;
    assert_int_equal(parse("fd00::5/64", "tcp", "8080", &ep, NULL), 0);
    assert_int_equal(ep.family, AF_INET6);
    assert_int_equal(ep.prefix_len, 64);
    assert_int_equal(ep.addr.v6.s6_addr[15], 0);
}

static void endpoint_empty_port_means_any(void **state)
{
    struct netpolicy_endpoint ep;

    (void)state;
    assert_int_equal(parse("10.0.0.0/8", "tcp", "", &ep, NULL), 0);
    assert_int_equal(ep.port, 0);
}

struct bad_case {
    const char *addr, *proto, *port, *message_part;
};

static const struct bad_case bad_cases[] = {
    {"10.0.0", "tcp", "443", "invalid address"},
    {"10.0.0.256", "tcp", "443", "invalid address"},
    {"example.org", "tcp", "443", "invalid address"},
    {"10.0.0.5/33", "tcp", "443", "use 0 to 32"},
    {"10.0.0.5/-1", "tcp", "443", "invalid prefix length"},
    {"10.0.0.5/", "tcp", "443", "invalid prefix length"},
    {"10.0.0.5/8x", "tcp", "443", "invalid prefix length"},
    {"fd00::1/129", "tcp", "443", "use 0 to 128"},
    {"fd00::zz", "tcp", "443", "invalid address"},
    {"10.0.0.5", "tcp", "0", "1 to 65535"},
    {"10.0.0.5", "tcp", "70000", "1 to 65535"},
    {"10.0.0.5", "udp", "-5", "1 to 65535"},
    {"10.0.0.5", "udp", "53a", "1 to 65535"},
    {"10.0.0.5", "sctp", "443", "unknown protocol 'sctp'"},
    {"10.0.0.5", "TCP", "443", "unknown protocol"},
    {"10.0.0.5", "icmp", "8", "icmp has no ports"},
    {NULL, "tcp", "443", "invalid address"},
};

static void endpoint_bad_inputs_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct netpolicy_endpoint ep;
        struct werr err = {0};

        memset(&ep, 0x5a, sizeof(ep));
        assert_int_equal(parse(c->addr, c->proto, c->port, &ep, &err),
                         -EINVAL);
        if (!strstr(err.msg, c->message_part))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg,
                     c->message_part);
        /* Outputs stay untouched on failure. */
        assert_int_equal(ep.port, 0x5a5a);
    }
}

static void pool_parsed(void **state)
{
    struct netpolicy_pool pool;
    struct werr err = {0};

    (void)state;
    assert_int_equal(netpolicy_pool_parse("10.201.0.0/16", &pool, &err), 0);
    assert_int_equal(pool.prefix_len, 16);
    assert_int_equal(ntohl(pool.base.s_addr), 0x0ac90000);
    assert_int_equal(netpolicy_pools_capacity(&pool, 1), 256);
}

static void pool_bad_inputs_rejected(void **state)
{
    static const char *const bad[] = {
        "10.201.0.0",    "10.201.0.0/25", "10.0.0.0/7", "fd00::/48",
        "10.201.0.0/x",  "10.201/16",     "",
    };
    struct netpolicy_pool pool;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct werr err = {0};

        if (netpolicy_pool_parse(bad[i], &pool, &err) != -EINVAL)
            fail_msg("pool '%s' was accepted", bad[i]);
        assert_true(strlen(err.msg) > 0);
    }
}

static void overlapping_pools_rejected(void **state)
{
    struct netpolicy_pool pools[3];
    struct werr err = {0};

    (void)state;
    assert_int_equal(netpolicy_pool_parse("10.201.0.0/16", &pools[0], NULL),
                     0);
    assert_int_equal(netpolicy_pool_parse("10.202.0.0/16", &pools[1], NULL),
                     0);
    assert_int_equal(netpolicy_pool_parse("10.201.128.0/20", &pools[2], NULL),
                     0);
    assert_int_equal(netpolicy_pools_check(pools, 2, &err), 0);
    assert_int_equal(netpolicy_pools_check(pools, 3, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "10.201.0.0/16 and 10.201.128.0/20"));
    assert_int_equal(netpolicy_pools_capacity(pools, 2), 512);
}

static void nflog_prefix_parsed(void **state)
{
    unsigned tenant = 99;

    (void)state;
    assert_int_equal(nflog_prefix_tenant("wd:12", &tenant), 0);
    assert_int_equal(tenant, 12);
    assert_int_equal(nflog_prefix_tenant("wd:?", &tenant), -EINVAL);
    assert_int_equal(nflog_prefix_tenant("wd:", &tenant), -EINVAL);
    assert_int_equal(nflog_prefix_tenant("wd:3x", &tenant), -EINVAL);
    assert_int_equal(nflog_prefix_tenant("xx:3", &tenant), -EINVAL);
    assert_int_equal(tenant, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endpoint_ipv4_prefix_port),
        cmocka_unit_test(endpoint_host_bits_cleared),
        cmocka_unit_test(endpoint_without_prefix_is_host),
        cmocka_unit_test(endpoint_ipv6_accepted),
        cmocka_unit_test(endpoint_empty_port_means_any),
        cmocka_unit_test(endpoint_bad_inputs_rejected),
        cmocka_unit_test(pool_parsed),
        cmocka_unit_test(pool_bad_inputs_rejected),
        cmocka_unit_test(overlapping_pools_rejected),
        cmocka_unit_test(nflog_prefix_parsed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
