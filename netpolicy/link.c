#include "netpolicy/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Map a libnl error (a positive NLE_* code or its negation) to -errno. */
static int nlerr_to_errno(int nlerr)
{
    switch (nlerr < 0 ? -nlerr : nlerr) {
    case NLE_NOMEM:
        return -ENOMEM;
    case NLE_EXIST:
        return -EEXIST;
    case NLE_NODEV:
    case NLE_OBJ_NOTFOUND:
        return -ENODEV;
    case NLE_PERM:
        return -EPERM;
    case NLE_BUSY:
        return -EBUSY;
    case NLE_INVAL:
    case NLE_RANGE:
        return -EINVAL;
    case NLE_AGAIN:
        return -EAGAIN;
    case NLE_OPNOTSUPP:
        return -EOPNOTSUPP;
    case NLE_NOACCESS:
        return -EACCES;
    default:
        return -EIO;
    }
}

/* Fill err from a libnl error and return it as -errno. */
static int nl_fail(struct werr *err, int nlerr, const char *what,
                   const char *name)
{
    return werr_set(err, nlerr_to_errno(nlerr), "%s '%s' failed: %s", what,
                    name, nl_geterror(nlerr));
}

int link_socket_open(struct nl_sock **ret_sk, struct werr *err)
{
    struct nl_sock *sk = nl_socket_alloc();
    int r;

    if (!sk)
        return werr_set(err, -ENOMEM, "out of memory for a netlink socket");
    r = nl_connect(sk, NETLINK_ROUTE);
    if (r < 0) {
        nl_socket_free(sk);
        return nl_fail(err, r, "connecting route netlink socket", "rtnl");
    }
    *ret_sk = sk;
    return 0;
}

struct ns_open_job {
    int netns_fd;
    struct nl_sock *sk;
    int error;
    struct werr err;
};

static void *ns_open_thread(void *arg)
{
    struct ns_open_job *job = arg;

    if (setns(job->netns_fd, CLONE_NEWNET) < 0) {
        job->error = werr_errno(&job->err, neg_errno(),
                                "entering the sandbox network namespace "
                                "failed");
        return NULL;
    }
    job->error = link_socket_open(&job->sk, &job->err);
    return NULL;
}

int link_socket_open_in(int netns_fd, struct nl_sock **ret_sk,
                        struct werr *err)
{
    struct ns_open_job job = {.netns_fd = netns_fd};
    pthread_t thread;
    int r;

    r = pthread_create(&thread, NULL, ns_open_thread, &job);
    if (r != 0)
        return werr_errno(err, -r, "starting a thread to enter the "
                                   "sandbox network namespace failed");
    pthread_join(thread, NULL);
    if (job.error < 0) {
        if (err)
            *err = job.err;
        return job.error;
    }
    *ret_sk = job.sk;
    return 0;
}

void link_socket_close(struct nl_sock *sk)
{
    if (sk)
        nl_socket_free(sk);
}

int link_veth_create(struct nl_sock *sk, const char *host_name,
                     const char *peer_name, int netns_fd, struct werr *err)
{
    struct rtnl_link *link = rtnl_link_veth_alloc();
    struct rtnl_link *peer;
    int r;

    if (!link)
        return werr_set(err, -ENOMEM, "out of memory for link '%s'",
                        host_name);
    rtnl_link_set_name(link, host_name);

    peer = rtnl_link_veth_get_peer(link);
    rtnl_link_set_name(peer, peer_name);
    rtnl_link_set_ns_fd(peer, netns_fd);
    rtnl_link_put(peer);

    r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(link);
    if (r < 0)
        return nl_fail(err, r, "creating veth pair", host_name);
    return 0;
}

int link_delete(struct nl_sock *sk, const char *name, struct werr *err)
{
    struct rtnl_link *link = rtnl_link_alloc();
    int r;

    if (!link)
        return werr_set(err, -ENOMEM, "out of memory for link '%s'", name);
    rtnl_link_set_name(link, name);
    r = rtnl_link_delete(sk, link);
    rtnl_link_put(link);
    if (r < 0)
        return nl_fail(err, r, "deleting link", name);
    return 0;
}

int link_get_ifindex(struct nl_sock *sk, const char *name, int *ret_ifindex,
                     struct werr *err)
{
    struct rtnl_link *link = NULL;
    int r;

    r = rtnl_link_get_kernel(sk, 0, name, &link);
    if (r < 0)
        return nl_fail(err, r, "looking up link", name);
    *ret_ifindex = rtnl_link_get_ifindex(link);
    rtnl_link_put(link);
    return 0;
}

/* Send one RTM_SETLINK for ifindex with the attributes set in change. */
static int link_change(struct nl_sock *sk, int ifindex,
                       struct rtnl_link *change, const char *what,
                       struct werr *err)
{
    struct rtnl_link *orig = rtnl_link_alloc();
    char name[16];
    int r;

    snprintf(name, sizeof(name), "#%d", ifindex);
    if (!orig)
        return werr_set(err, -ENOMEM, "out of memory for link %s", name);
    rtnl_link_set_ifindex(orig, ifindex);
    r = rtnl_link_change(sk, orig, change, 0);
    rtnl_link_put(orig);
    if (r < 0)
        return nl_fail(err, r, what, name);
    return 0;
}

int link_set_up(struct nl_sock *sk, int ifindex, struct werr *err)
{
    struct rtnl_link *change = rtnl_link_alloc();
    int r;

    if (!change)
        return werr_set(err, -ENOMEM, "out of memory for link #%d", ifindex);
    rtnl_link_set_flags(change, IFF_UP);
    r = link_change(sk, ifindex, change, "bringing up link", err);
    rtnl_link_put(change);
    return r;
}

int link_set_inet(struct nl_sock *sk, int ifindex, bool ipv4_forwarding,
                  struct werr *err)
{
    struct rtnl_link *change = rtnl_link_alloc();
    int r;

    if (!change)
        return werr_set(err, -ENOMEM, "out of memory for link #%d", ifindex);
    r = rtnl_link_inet6_set_addr_gen_mode(change, IN6_ADDR_GEN_MODE_NONE);
    if (r >= 0 && ipv4_forwarding)
        r = rtnl_link_inet_set_conf(change, IPV4_DEVCONF_FORWARDING, 1);
    if (r < 0)
        r = nl_fail(err, r, "setting inet options of link", "new");
    else
        r = link_change(sk, ifindex, change, "setting inet options of link",
                        err);
    rtnl_link_put(change);
    return r;
}

static struct nl_addr *v4_addr_new(struct in_addr addr, unsigned prefix_len)
{
    struct nl_addr *a = nl_addr_build(AF_INET, &addr, sizeof(addr));

    if (a)
        nl_addr_set_prefixlen(a, (int)prefix_len);
    return a;
}

int link_addr_add_peer(struct nl_sock *sk, int ifindex, struct in_addr local,
                       struct in_addr peer, struct werr *err)
{
    struct rtnl_addr *addr = rtnl_addr_alloc();
    struct nl_addr *l = v4_addr_new(local, 32);
    struct nl_addr *p = v4_addr_new(peer, 32);
    char text[INET_ADDRSTRLEN];
    int r = -ENOMEM;

    inet_ntop(AF_INET, &local, text, sizeof(text));
    if (!addr || !l || !p) {
        werr_set(err, r, "out of memory for address %s", text);
        goto out;
    }
    rtnl_addr_set_ifindex(addr, ifindex);
    rtnl_addr_set_local(addr, l);
    rtnl_addr_set_peer(addr, p);
    rtnl_addr_set_prefixlen(addr, 32);
    r = rtnl_addr_add(sk, addr, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        r = nl_fail(err, r, "adding address", text);
out:
    nl_addr_put(l);
    nl_addr_put(p);
    rtnl_addr_put(addr);
    return r;
}

int link_route_add_default(struct nl_sock *sk, int ifindex,
                           struct in_addr gateway, struct werr *err)
{
    struct rtnl_route *route = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = v4_addr_new((struct in_addr){0}, 0);
    struct nl_addr *gw = v4_addr_new(gateway, 32);
    int r = -ENOMEM;

    if (!route || !nh || !dst || !gw) {
        werr_set(err, r, "out of memory for the default route");
        rtnl_route_nh_free(nh);
        goto out;
    }
    rtnl_route_set_family(route, AF_INET);
    rtnl_route_set_dst(route, dst);
    rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(route, nh);
    r = rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        r = nl_fail(err, r, "adding route", "default");
out:
    nl_addr_put(dst);
    nl_addr_put(gw);
    rtnl_route_put(route);
    return r;
}

struct prefix_walk {
    const char *prefix;
    size_t prefix_len;
    link_visit_fn visit;
    void *data;
};

static void prefix_walk_one(struct nl_object *obj, void *arg)
{
    struct rtnl_link *link = (struct rtnl_link *)obj;
    struct prefix_walk *walk = arg;
    const char *name = rtnl_link_get_name(link);

    if (name && strncmp(name, walk->prefix, walk->prefix_len) == 0)
        walk->visit(name, rtnl_link_get_ifindex(link), walk->data);
}

int link_foreach_prefix(struct nl_sock *sk, const char *prefix,
                        link_visit_fn visit, void *data, struct werr *err)
{
    struct prefix_walk walk = {prefix, strlen(prefix), visit, data};
    struct nl_cache *cache = NULL;
    int r;

    r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
    if (r < 0)
        return nl_fail(err, r, "listing links", prefix);
    nl_cache_foreach(cache, prefix_walk_one, &walk);
    nl_cache_free(cache);
    return 0;
}

struct addr_walk {
    link_addr_visit_fn visit;
    void *data;
};

static void addr_walk_one(struct nl_object *obj, void *arg)
{
    struct rtnl_addr *addr = (struct rtnl_addr *)obj;
    struct addr_walk *walk = arg;
    struct nl_addr *local = rtnl_addr_get_local(addr);
    struct nl_addr *peer = rtnl_addr_get_peer(addr);
    struct in_addr l = {0}, p = {0};

    if (rtnl_addr_get_family(addr) != AF_INET || !local ||
        nl_addr_get_len(local) != sizeof(l))
        return;
    memcpy(&l, nl_addr_get_binary_addr(local), sizeof(l));
    if (peer && nl_addr_get_len(peer) == sizeof(p))
        memcpy(&p, nl_addr_get_binary_addr(peer), sizeof(p));
    walk->visit(rtnl_addr_get_ifindex(addr), l,
                (unsigned)rtnl_addr_get_prefixlen(addr), p, walk->data);
}

int link_foreach_v4_addr(struct nl_sock *sk, link_addr_visit_fn visit,
                         void *data, struct werr *err)
{
    struct addr_walk walk = {visit, data};
    struct nl_cache *cache = NULL;
    int r;

    r = rtnl_addr_alloc_cache(sk, &cache);
    if (r < 0)
        return nl_fail(err, r, "listing addresses", "inet");
    nl_cache_foreach(cache, addr_walk_one, &walk);
    nl_cache_free(cache);
    return 0;
}
