/* Helpers shared by the files of netpolicy/ and nowhere else. */
#ifndef WARDEN_NETPOLICY_INTERNAL_H
#define WARDEN_NETPOLICY_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>

#include "netpolicy/netpolicy.h"

struct nl_sock;
struct nft_ctx;

bool netpolicy_v4_in_prefix(struct in_addr addr, struct in_addr net,
                            unsigned prefix_len);
bool netpolicy_v4_prefixes_overlap(struct in_addr a, unsigned a_len,
                                   struct in_addr b, unsigned b_len);

/* Store the /24 network of tenant in ret_net; -ERANGE past the pools. */
int netpolicy_pools_tenant_net(const struct netpolicy_pool *pools, size_t n,
                               unsigned tenant, struct in_addr *ret_net);

/* Host numbers inside a tenant's /24: .1 is the gateway, .2 to .254 go to
 * sandboxes. */
#define HOST_FIRST 2
#define HOST_LAST 254
#define GATEWAY_HOST 1

/* Upper bound on one tenant's allowlist, which keeps a rebuild of all
 * tenants within one netlink batch of reasonable size. */
#define ENDPOINTS_MAX 1024

/* Name of the sandbox end, inside the sandbox's namespace. */
#define PEER_IFNAME "eth0"

/* Loopback has this index in every network namespace (the kernel's
 * LOOPBACK_IFINDEX). */
#define LOOPBACK_IFINDEX 1

struct tenant_state {
    bool configured;
    struct netpolicy_endpoint *endpoints;
    size_t n_endpoints;
    uint8_t used[32]; /* bitmap of host numbers 0 to 255 */
    unsigned attached;
};

struct netpolicy {
    struct netpolicy_pool *pools;
    size_t n_pools;
    uint16_t nflog_group;
    unsigned capacity; /* tenant indices the pools provide */
    struct tenant_state **tenants;
    struct nl_sock *rtnl;
    struct nft_ctx *nft;
    uint64_t counter; /* next link-name counter */
    bool table_ready;
};

static inline struct tenant_state *tenant_get(struct netpolicy *np, unsigned tenant)
{
    if (tenant >= np->capacity)
        return NULL;
    if (!np->tenants[tenant])
        np->tenants[tenant] = calloc(1, sizeof(struct tenant_state));
    return np->tenants[tenant];
}

static inline void tenant_net_host(const struct netpolicy *np, unsigned tenant,
                            unsigned host, struct in_addr *ret_addr)
{
    struct in_addr net = {0};

    netpolicy_pools_tenant_net(np->pools, np->n_pools, tenant, &net);
    ret_addr->s_addr = htonl(ntohl(net.s_addr) + host);
}

static inline bool host_used(const struct tenant_state *t, unsigned host)
{
    return t->used[host / 8] & (1u << (host % 8));
}

static inline void host_mark(struct tenant_state *t, unsigned host, bool used)
{
    if (used)
        t->used[host / 8] |= (uint8_t)(1u << (host % 8));
    else
        t->used[host / 8] &= (uint8_t) ~(1u << (host % 8));
}

static inline int table_check_ready(const struct netpolicy *np, struct werr *err)
{
    if (np->table_ready)
        return 0;
    return werr_set(err, -ESTALE, "table inet %s is not set up: call "
                                  "netpolicy_reconcile() first",
                    NETPOLICY_TABLE);
}

#endif
