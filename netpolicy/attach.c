/* Attaching sandboxes: veth pairs, addresses, routes and loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netpolicy/internal.h"
#include "netpolicy/link.h"
#include "netpolicy/netpolicy.h"

/* Tries at a fresh link name when one is still taken (a name cannot be
 * taken unless something outside warden created it). */
#define NAME_TRIES 4

static int host_alloc(struct tenant_state *t, unsigned *ret_host)
{
    for (unsigned h = HOST_FIRST; h <= HOST_LAST; h++) {
        if (host_used(t, h))
            continue;
        host_mark(t, h, true);
        *ret_host = h;
        return 0;
    }
    return -ENOSPC;
}

static void format_base36(uint64_t value, char *buf, size_t size)
{
    char digits[16];
    size_t n = 0;

    do {
        digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[value % 36];
        value /= 36;
    } while (value > 0 && n < sizeof(digits));
    for (size_t i = 0; i < n && i + 1 < size; i++)
        buf[i] = digits[n - 1 - i];
    buf[n < size ? n : size - 1] = '\0';
}

static int link_name_next(struct netpolicy *np, unsigned tenant,
                          char ret_name[IFNAMSIZ], struct werr *err)
{
    char counter[16];
    int len;

    format_base36(np->counter++, counter, sizeof(counter));
    len = snprintf(ret_name, IFNAMSIZ, NETPOLICY_LINK_PREFIX "%us%s", tenant,
                   counter);
    if (len < 0 || len >= IFNAMSIZ)
        return werr_set(err, -ENAMETOOLONG,
                        "link name for tenant %u and counter %s is longer "
                        "than %d characters",
                        tenant, counter, IFNAMSIZ - 1);
    return 0;
}

static int veth_create(struct netpolicy *np, unsigned tenant, int netns_fd,
                       char ret_name[IFNAMSIZ], struct werr *err)
{
    int r = -EEXIST;

    for (int i = 0; i < NAME_TRIES && r == -EEXIST; i++) {
        r = link_name_next(np, tenant, ret_name, err);
        if (r < 0)
            return r;
        r = link_veth_create(np->rtnl, ret_name, PEER_IFNAME, netns_fd, err);
    }
    return r;
}

/* Configure the sandbox side: lo up, eth0 up with its address and a
 * default route via the gateway. */
static int configure_peer(int netns_fd, struct in_addr addr,
                          struct in_addr gateway, struct werr *err)
{
    struct nl_sock *sk = NULL;
    int ifindex = 0;
    int r;

    r = link_socket_open_in(netns_fd, &sk, err);
    if (r < 0)
        return r;
    r = link_set_up(sk, LOOPBACK_IFINDEX, err);
    if (r >= 0)
        r = link_get_ifindex(sk, PEER_IFNAME, &ifindex, err);
    if (r >= 0)
        r = link_set_inet(sk, ifindex, false, err);
    if (r >= 0)
        r = link_set_up(sk, ifindex, err);
    if (r >= 0)
        r = link_addr_add_peer(sk, ifindex, addr, gateway, err);
    if (r >= 0)
        r = link_route_add_default(sk, ifindex, gateway, err);
    link_socket_close(sk);
    return r;
}

static int configure_host(struct netpolicy *np, const char *name,
                          struct in_addr addr, struct in_addr gateway,
                          struct werr *err)
{
    int ifindex = 0;
    int r;

    r = link_get_ifindex(np->rtnl, name, &ifindex, err);
    if (r >= 0)
        r = link_set_inet(np->rtnl, ifindex, true, err);
    if (r >= 0)
        r = link_set_up(np->rtnl, ifindex, err);
    if (r >= 0)
        r = link_addr_add_peer(np->rtnl, ifindex, gateway, addr, err);
    return r;
}

static int attach_check(struct netpolicy *np, unsigned tenant,
                        struct werr *err)
{
    int r = table_check_ready(np, err);

    if (r < 0)
        return r;
    if (tenant >= np->capacity)
        return werr_set(err, -ERANGE,
                        "invalid tenant index %u: the configured pools "
                        "hold tenants 0 to %u",
                        tenant, np->capacity - 1);
    if (!np->tenants[tenant] || !np->tenants[tenant]->configured)
        return werr_set(err, -ENOENT,
                        "tenant %u has no network policy: call "
                        "netpolicy_tenant_set() first",
                        tenant);
    return 0;
}

int netpolicy_attach(struct netpolicy *np, unsigned tenant, int netns_fd,
                     struct netpolicy_attachment *ret_attachment,
                     struct werr *err)
{
    struct netpolicy_attachment a = {.tenant = tenant};
    struct tenant_state *t;
    unsigned host;
    int r;

    r = attach_check(np, tenant, err);
    if (r < 0)
        return r;
    t = np->tenants[tenant];
    if (host_alloc(t, &host) < 0)
        return werr_set(err, -ENOSPC,
                        "tenant %u has %d sandboxes attached, the most its "
                        "/24 holds: detach one first",
                        tenant, HOST_LAST - HOST_FIRST + 1);
    tenant_net_host(np, tenant, host, &a.addr);
    tenant_net_host(np, tenant, GATEWAY_HOST, &a.gateway);

    r = veth_create(np, tenant, netns_fd, a.host_ifname, err);
    if (r < 0) {
        host_mark(t, host, false);
        return r;
    }
    r = configure_host(np, a.host_ifname, a.addr, a.gateway, err);
    if (r >= 0)
        r = configure_peer(netns_fd, a.addr, a.gateway, err);
    if (r < 0) {
        link_delete(np->rtnl, a.host_ifname, NULL);
        host_mark(t, host, false);
        return r;
    }
    t->attached++;
    *ret_attachment = a;
    return 0;
}

static void release_address(struct netpolicy *np,
                            const struct netpolicy_attachment *a)
{
    struct tenant_state *t;
    struct in_addr net;
    uint32_t host;

    if (a->tenant >= np->capacity || !np->tenants[a->tenant])
        return;
    t = np->tenants[a->tenant];
    if (netpolicy_pools_tenant_net(np->pools, np->n_pools, a->tenant, &net) <
        0)
        return;
    host = ntohl(a->addr.s_addr) - ntohl(net.s_addr);
    if (host < HOST_FIRST || host > HOST_LAST || !host_used(t, host))
        return;
    host_mark(t, host, false);
    if (t->attached > 0)
        t->attached--;
}

int netpolicy_detach(struct netpolicy *np,
                     const struct netpolicy_attachment *attachment,
                     struct werr *err)
{
    int r;

    if (strncmp(attachment->host_ifname, NETPOLICY_LINK_PREFIX,
                strlen(NETPOLICY_LINK_PREFIX)) != 0)
        return werr_set(err, -EINVAL,
                        "invalid attachment: link '%.16s' is not a warden "
                        "link",
                        attachment->host_ifname);
    /* NOTE: deleting a veth pair whose peer is alive blocks for about
     * 30 ms (median of bench/net.sh on 2 CPUs, kernel 6.18).  Call this
     * after the sandbox has exited: the kernel then deletes the pair along
     * with the namespace, and this usually finds nothing left. */
    r = link_delete(np->rtnl, attachment->host_ifname, err);
    if (r < 0 && r != -ENODEV)
        return r;
    werr_clear(err);
    release_address(np, attachment);
    return 0;
}

int netpolicy_loopback_up(int netns_fd, struct werr *err)
{
    struct nl_sock *sk = NULL;
    int r;

    r = link_socket_open_in(netns_fd, &sk, err);
    if (r < 0)
        return r;
    r = link_set_up(sk, LOOPBACK_IFINDEX, err);
    link_socket_close(sk);
    return r;
}

int netpolicy_lo_up_here(struct werr *err)
{
    struct nl_sock *sk = NULL;
    int r;

    r = link_socket_open(&sk, err);
    if (r < 0)
        return r;
    r = link_set_up(sk, LOOPBACK_IFINDEX, err);
    link_socket_close(sk);
    return r;
}
