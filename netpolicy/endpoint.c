/* Parsing and checking of allowlist entries and address pools. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netpolicy/internal.h"
#include "netpolicy/netpolicy.h"

static const char *const proto_names[NETPOLICY_PROTO_MAX] = {
    [NETPOLICY_PROTO_TCP] = "tcp",
    [NETPOLICY_PROTO_UDP] = "udp",
    [NETPOLICY_PROTO_ICMP] = "icmp",
};

const char *netpolicy_proto_to_string(enum netpolicy_proto proto)
{
    if ((unsigned)proto >= NETPOLICY_PROTO_MAX)
        return "unknown";
    return proto_names[proto];
}

/* Parse a decimal number in [min, max] with nothing after it. */
static int parse_uint(const char *text, unsigned long min, unsigned long max,
                      unsigned long *ret_value)
{
    unsigned long value;
    char *end;

    if (!text || text[0] < '0' || text[0] > '9')
        return -EINVAL;
    errno = 0;
    value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return -ERANGE;
    *ret_value = value;
    return 0;
}

/* Clear the bits of addr past prefix_len; len is 4 or 16 bytes. */
static void mask_bytes(uint8_t *addr, size_t len, unsigned prefix_len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned bits = i * 8 >= prefix_len ? 0 : prefix_len - (unsigned)i * 8;

        if (bits >= 8)
            continue;
        addr[i] &= (uint8_t)(0xff00u >> bits);
    }
}

/* Split "ADDR[/PREFIX]" and parse both parts. */
static int parse_prefix(const char *text, int *ret_family,
                        union netpolicy_addr *ret_addr,
                        unsigned *ret_prefix_len, struct werr *err)
{
    char buf[INET6_ADDRSTRLEN + 8];
    union netpolicy_addr addr;
    unsigned long prefix_len;
    unsigned max_len;
    char *slash;
    int family;

    if (!text || strlen(text) >= sizeof(buf))
        return werr_set(err, -EINVAL,
                        "invalid address '%.64s': use an IPv4 or IPv6 "
                        "address with an optional /prefix",
                        text ? text : "(null)");
    strcpy(buf, text);
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';

    family = strchr(buf, ':') ? AF_INET6 : AF_INET;
    max_len = family == AF_INET ? 32 : 128;
    memset(&addr, 0, sizeof(addr));
    if (inet_pton(family, buf, &addr) != 1)
        return werr_set(err, -EINVAL,
                        "invalid address '%s': use an IPv4 address such as "
                        "10.0.0.5/32 or an IPv6 address such as fd00::5/128",
                        text);

    prefix_len = max_len;
    if (slash && parse_uint(slash + 1, 0, max_len, &prefix_len) < 0)
        return werr_set(err, -EINVAL,
                        "invalid prefix length in '%s': use 0 to %u", text,
                        max_len);

    mask_bytes((uint8_t *)&addr, family == AF_INET ? 4 : 16,
               (unsigned)prefix_len);
    *ret_family = family;
    *ret_addr = addr;
    *ret_prefix_len = (unsigned)prefix_len;
    return 0;
}

static int parse_proto(const char *text, enum netpolicy_proto *ret_proto,
                       struct werr *err)
{
    for (int p = 0; p < NETPOLICY_PROTO_MAX; p++) {
        if (text && strcmp(text, proto_names[p]) == 0) {
            *ret_proto = (enum netpolicy_proto)p;
            return 0;
        }
    }
    return werr_set(err, -EINVAL,
                    "unknown protocol '%.32s': use tcp, udp or icmp",
                    text ? text : "(null)");
}

static int parse_port(const char *text, enum netpolicy_proto proto,
                      uint16_t *ret_port, struct werr *err)
{
    unsigned long port;

    if (!text || text[0] == '\0') {
        *ret_port = 0;
        return 0;
    }
    if (proto == NETPOLICY_PROTO_ICMP)
        return werr_set(err, -EINVAL,
                        "invalid port '%.32s' for icmp: icmp has no ports, "
                        "leave the port empty",
                        text);
    if (parse_uint(text, 1, 65535, &port) < 0)
        return werr_set(err, -EINVAL,
                        "invalid port '%.32s': use a number from 1 to 65535, "
                        "or leave it empty for any port",
                        text);
    *ret_port = (uint16_t)port;
    return 0;
}

int netpolicy_parse_endpoint(const char *addr, const char *proto,
                             const char *port,
                             struct netpolicy_endpoint *ret_endpoint,
                             struct werr *err)
{
    struct netpolicy_endpoint ep;
    int r;

    memset(&ep, 0, sizeof(ep));
    r = parse_prefix(addr, &ep.family, &ep.addr, &ep.prefix_len, err);
    if (r < 0)
        return r;
    r = parse_proto(proto, &ep.proto, err);
    if (r < 0)
        return r;
    r = parse_port(port, ep.proto, &ep.port, err);
    if (r < 0)
        return r;

    *ret_endpoint = ep;
    return 0;
}

int netpolicy_pool_parse(const char *text, struct netpolicy_pool *ret_pool,
                         struct werr *err)
{
    union netpolicy_addr addr;
    unsigned prefix_len;
    int family, r;

    r = parse_prefix(text, &family, &addr, &prefix_len, err);
    if (r < 0)
        return r;
    if (family != AF_INET)
        return werr_set(err, -EINVAL,
                        "invalid pool '%s': sandbox pools are IPv4, such as "
                        "10.201.0.0/16",
                        text);
    if (!strchr(text, '/') || prefix_len < 8 || prefix_len > 24)
        return werr_set(err, -EINVAL,
                        "invalid pool '%s': give a prefix length from /8 to "
                        "/24, because each tenant takes one /24",
                        text);

    ret_pool->base = addr.v4;
    ret_pool->prefix_len = prefix_len;
    return 0;
}

bool netpolicy_v4_in_prefix(struct in_addr addr, struct in_addr net,
                            unsigned prefix_len)
{
    uint32_t mask = prefix_len == 0 ? 0 : UINT32_MAX << (32 - prefix_len);

    return (ntohl(addr.s_addr) & mask) == (ntohl(net.s_addr) & mask);
}

bool netpolicy_v4_prefixes_overlap(struct in_addr a, unsigned a_len,
                                   struct in_addr b, unsigned b_len)
{
    unsigned shorter = a_len < b_len ? a_len : b_len;

    return netpolicy_v4_in_prefix(a, b, shorter);
}

int netpolicy_pools_check(const struct netpolicy_pool *pools, size_t n,
                          struct werr *err)
{
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (!netpolicy_v4_prefixes_overlap(pools[i].base,
                                               pools[i].prefix_len,
                                               pools[j].base,
                                               pools[j].prefix_len))
                continue;
            inet_ntop(AF_INET, &pools[i].base, a, sizeof(a));
            inet_ntop(AF_INET, &pools[j].base, b, sizeof(b));
            return werr_set(err, -EINVAL,
                            "pools %s/%u and %s/%u overlap: give each pool "
                            "a disjoint range",
                            a, pools[i].prefix_len, b, pools[j].prefix_len);
        }
    }
    return 0;
}

unsigned netpolicy_pools_capacity(const struct netpolicy_pool *pools,
                                  size_t n)
{
    unsigned long total = 0;

    for (size_t i = 0; i < n; i++)
        total += 1ul << (24 - pools[i].prefix_len);
    return total > UINT_MAX ? UINT_MAX : (unsigned)total;
}

int netpolicy_pools_tenant_net(const struct netpolicy_pool *pools, size_t n,
                               unsigned tenant, struct in_addr *ret_net)
{
    for (size_t i = 0; i < n; i++) {
        unsigned count = 1u << (24 - pools[i].prefix_len);

        if (tenant < count) {
            ret_net->s_addr =
                htonl(ntohl(pools[i].base.s_addr) + (tenant << 8));
            return 0;
        }
        tenant -= count;
    }
    return -ERANGE;
}
