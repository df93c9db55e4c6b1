/* The netpolicy context: tenants, address allocation, attach and detach. */
#include "netpolicy/netpolicy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "netpolicy/internal.h"
#include "netpolicy/link.h"
#include "netpolicy/nft.h"

static void nft_params_of(const struct netpolicy *np,
                          struct nft_params *ret_params)
{
    ret_params->pools = np->pools;
    ret_params->n_pools = np->n_pools;
    ret_params->nflog_group = np->nflog_group;
}

/* Collect the indices of configured tenants; the caller frees. */
static unsigned *configured_tenants(const struct netpolicy *np,
                                    size_t *ret_n)
{
    unsigned *all = calloc(np->capacity + 1, sizeof(*all));
    size_t n = 0;

    if (!all)
        return NULL;
    for (unsigned i = 0; i < np->capacity; i++)
        if (np->tenants[i] && np->tenants[i]->configured)
            all[n++] = i;
    *ret_n = n;
    return all;
}

/* Checks against the local addresses of the daemon's namespace. */

struct local_check {
    const struct netpolicy *np;
    int skip_ifindex[64];
    size_t n_skip;
    struct werr *err;
    int result;
};

static void local_check_skip(const char *name, int ifindex, void *data)
{
    struct local_check *check = data;

    (void)name;
    if (check->n_skip < ARRAY_SIZE(check->skip_ifindex))
        check->skip_ifindex[check->n_skip++] = ifindex;
}

static void local_check_addr(int ifindex, struct in_addr local,
                             unsigned prefix_len, struct in_addr peer,
                             void *data)
{
    struct local_check *check = data;
    char text[INET_ADDRSTRLEN], pool[INET_ADDRSTRLEN];

    (void)peer;
    for (size_t i = 0; i < check->n_skip; i++)
        if (check->skip_ifindex[i] == ifindex)
            return;
    for (size_t i = 0; i < check->np->n_pools && check->result == 0; i++) {
        const struct netpolicy_pool *p = &check->np->pools[i];

        if (!netpolicy_v4_prefixes_overlap(local, prefix_len, p->base,
                                           p->prefix_len))
            continue;
        inet_ntop(AF_INET, &local, text, sizeof(text));
        inet_ntop(AF_INET, &p->base, pool, sizeof(pool));
        check->result = werr_set(check->err, -EADDRINUSE,
                                 "pool %s/%u overlaps local address %s/%u "
                                 "on link #%d: choose a pool that no local "
                                 "network uses",
                                 pool, p->prefix_len, text, prefix_len,
                                 ifindex);
    }
}

/* NOTE: warden's own host ends are recognised by the "wd" prefix; only the
 * first 64 of them are skipped, which matters only if a pool is checked
 * while more than 64 old links linger before netpolicy_reconcile(). */
static int pools_check_local(const struct netpolicy *np, struct werr *err)
{
    struct local_check check = {.np = np, .err = err};
    int r;

    r = link_foreach_prefix(np->rtnl, NETPOLICY_LINK_PREFIX,
                            local_check_skip, &check, err);
    if (r < 0)
        return r;
    r = link_foreach_v4_addr(np->rtnl, local_check_addr, &check, err);
    if (r < 0)
        return r;
    return check.result;
}

static int config_check(const struct netpolicy_config *config,
                        struct werr *err)
{
    if (config->n_pools == 0)
        return werr_set(err, -EINVAL, "no sandbox address pool configured: "
                                      "give at least one, such as "
                                      "10.201.0.0/16");
    if (config->nflog_group == 0)
        return werr_set(err, -EINVAL, "invalid NFLOG group 0: use 1 to "
                                      "65535");
    return netpolicy_pools_check(config->pools, config->n_pools, err);
}

int netpolicy_new(const struct netpolicy_config *config,
                  struct netpolicy **ret_np, struct werr *err)
{
    struct netpolicy *np;
    int r;

    r = config_check(config, err);
    if (r < 0)
        return r;
    np = calloc(1, sizeof(*np));
    if (!np)
        return werr_set(err, -ENOMEM, "out of memory for netpolicy");
    np->n_pools = config->n_pools;
    np->nflog_group = config->nflog_group;
    np->capacity = netpolicy_pools_capacity(config->pools, config->n_pools);
    np->pools = calloc(config->n_pools, sizeof(*np->pools));
    np->tenants = calloc(np->capacity, sizeof(*np->tenants));
    if (!np->pools || !np->tenants) {
        netpolicy_free(np);
        return werr_set(err, -ENOMEM, "out of memory for netpolicy");
    }
    memcpy(np->pools, config->pools, config->n_pools * sizeof(*np->pools));

    r = link_socket_open(&np->rtnl, err);
    if (r >= 0)
        r = nft_open(&np->nft, err);
    if (r >= 0)
        r = pools_check_local(np, err);
    if (r < 0) {
        netpolicy_free(np);
        return r;
    }
    *ret_np = np;
    return 0;
}

static void tenant_free(struct tenant_state *t)
{
    if (!t)
        return;
    free(t->endpoints);
    free(t);
}

void netpolicy_free(struct netpolicy *np)
{
    if (!np)
        return;
    for (unsigned i = 0; np->tenants && i < np->capacity; i++)
        tenant_free(np->tenants[i]);
    free(np->tenants);
    free(np->pools);
    link_socket_close(np->rtnl);
    nft_close(np->nft);
    free(np);
}

/* Tenants and their allowlists. */

static int tenant_check_index(const struct netpolicy *np, unsigned tenant,
                              struct werr *err)
{
    if (tenant < np->capacity)
        return 0;
    return werr_set(err, -ERANGE,
                    "invalid tenant index %u: the configured pools hold "
                    "tenants 0 to %u; add a pool or reuse a free index",
                    tenant, np->capacity - 1);
}

/* Reject an entry inside a pool unless it is the tenant's own gateway. */
static int endpoint_check(const struct netpolicy *np, unsigned tenant,
                          const struct netpolicy_endpoint *ep,
                          struct werr *err)
{
    char text[INET_ADDRSTRLEN], pool[INET_ADDRSTRLEN];
    char gateway_text[INET_ADDRSTRLEN];
    struct in_addr gateway;

    if (ep->family != AF_INET)
        return 0;
    tenant_net_host(np, tenant, GATEWAY_HOST, &gateway);
    if (ep->prefix_len == 32 && ep->addr.v4.s_addr == gateway.s_addr)
        return 0;
    for (size_t i = 0; i < np->n_pools; i++) {
        const struct netpolicy_pool *p = &np->pools[i];

        if (ep->prefix_len < p->prefix_len ||
            !netpolicy_v4_in_prefix(ep->addr.v4, p->base, p->prefix_len))
            continue;
        inet_ntop(AF_INET, &ep->addr.v4, text, sizeof(text));
        inet_ntop(AF_INET, &p->base, pool, sizeof(pool));
        inet_ntop(AF_INET, &gateway, gateway_text, sizeof(gateway_text));
        return werr_set(err, -EINVAL,
                        "invalid endpoint %s/%u: it lies in the sandbox "
                        "pool %s/%u, and tenants may reach no sandbox "
                        "address (only their gateway %s)",
                        text, ep->prefix_len, pool, p->prefix_len,
                        gateway_text);
    }
    return 0;
}

static int endpoints_check(const struct netpolicy *np, unsigned tenant,
                           const struct netpolicy_endpoint *endpoints,
                           size_t n, struct werr *err)
{
    int r = tenant_check_index(np, tenant, err);

    if (r < 0)
        return r;
    if (n > ENDPOINTS_MAX)
        return werr_set(err, -E2BIG,
                        "tenant %u has %zu allowlist entries: at most %d "
                        "are supported; merge entries into prefixes",
                        tenant, n, ENDPOINTS_MAX);
    for (size_t i = 0; i < n; i++) {
        r = endpoint_check(np, tenant, &endpoints[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Replace the stored allowlist of a tenant with a copy of endpoints. */
static int tenant_store(struct netpolicy *np, unsigned tenant,
                        const struct netpolicy_endpoint *endpoints, size_t n,
                        struct werr *err)
{
    struct tenant_state *t = tenant_get(np, tenant);
    struct netpolicy_endpoint *copy = calloc(n + 1, sizeof(*copy));

    if (!t || !copy) {
        free(copy);
        return werr_set(err, -ENOMEM, "out of memory for tenant %u", tenant);
    }
    if (n > 0)
        memcpy(copy, endpoints, n * sizeof(*copy));
    free(t->endpoints);
    t->endpoints = copy;
    t->n_endpoints = n;
    t->configured = true;
    return 0;
}

static void nft_tenant_of(const struct netpolicy *np, unsigned tenant,
                          struct nft_tenant *ret_t)
{
    const struct tenant_state *t = np->tenants[tenant];

    ret_t->tenant = tenant;
    tenant_net_host(np, tenant, GATEWAY_HOST, &ret_t->gateway);
    ret_t->endpoints = t->endpoints;
    ret_t->n_endpoints = t->n_endpoints;
}

int netpolicy_tenant_set(struct netpolicy *np, unsigned tenant,
                         const struct netpolicy_endpoint *endpoints,
                         size_t n_endpoints, struct werr *err)
{
    _cleanup_free_ unsigned *all = NULL;
    struct nft_params params;
    struct nft_tenant t;
    bool is_new;
    size_t n_all = 0;
    int r;

    r = table_check_ready(np, err);
    if (r < 0)
        return r;
    r = endpoints_check(np, tenant, endpoints, n_endpoints, err);
    if (r < 0)
        return r;
    is_new = !np->tenants[tenant] || !np->tenants[tenant]->configured;
    r = tenant_store(np, tenant, endpoints, n_endpoints, err);
    if (r < 0)
        return r;

    if (is_new) {
        all = configured_tenants(np, &n_all);
        if (!all)
            return werr_set(err, -ENOMEM, "out of memory for tenant list");
    }
    nft_params_of(np, &params);
    nft_tenant_of(np, tenant, &t);
    r = nft_tenant_update(np->nft, &params, &t, all, n_all, err);
    if (r < 0 && is_new)
        np->tenants[tenant]->configured = false;
    return r;
}

int netpolicy_tenant_remove(struct netpolicy *np, unsigned tenant,
                            struct werr *err)
{
    _cleanup_free_ unsigned *all = NULL;
    struct tenant_state *t;
    size_t n_all = 0;
    int r;

    r = tenant_check_index(np, tenant, err);
    if (r < 0)
        return r;
    t = np->tenants[tenant];
    if (!t || !t->configured)
        return 0;
    if (t->attached > 0)
        return werr_set(err, -EBUSY,
                        "tenant %u still has %u attached sandboxes: detach "
                        "them first",
                        tenant, t->attached);

    t->configured = false;
    all = configured_tenants(np, &n_all);
    if (!all) {
        t->configured = true;
        return werr_set(err, -ENOMEM, "out of memory for tenant list");
    }
    r = nft_tenant_delete(np->nft, tenant, all, n_all, np->nflog_group, err);
    if (r < 0)
        t->configured = true;
    return r;
}

/* Startup reconciliation. */

/* Parse a host-end name "wd<tenant>s<counter in base 36>". */
static int link_name_parse(const char *name, unsigned *ret_tenant,
                           uint64_t *ret_counter)
{
    size_t plen = strlen(NETPOLICY_LINK_PREFIX);
    unsigned long tenant;
    unsigned long long counter;
    char *end;

    if (strncmp(name, NETPOLICY_LINK_PREFIX, plen) != 0 ||
        name[plen] < '0' || name[plen] > '9')
        return -EINVAL;
    tenant = strtoul(name + plen, &end, 10);
    if (*end != 's' || end[1] == '\0' || tenant > UINT32_MAX)
        return -EINVAL;
    counter = strtoull(end + 1, &end, 36);
    if (*end != '\0')
        return -EINVAL;
    *ret_tenant = (unsigned)tenant;
    *ret_counter = counter;
    return 0;
}

struct name_list {
    char (*names)[IFNAMSIZ];
    size_t n, cap;
    bool failed;
};

static void name_list_add(const char *name, int ifindex, void *data)
{
    struct name_list *list = data;

    (void)ifindex;
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        void *grown = realloc(list->names, cap * IFNAMSIZ);

        if (!grown) {
            list->failed = true;
            return;
        }
        list->names = grown;
        list->cap = cap;
    }
    snprintf(list->names[list->n++], IFNAMSIZ, "%s", name);
}

static const struct netpolicy_attachment *
live_find(const struct netpolicy_attachment *live, size_t n_live,
          const char *name)
{
    for (size_t i = 0; i < n_live; i++)
        if (strncmp(live[i].host_ifname, name, IFNAMSIZ) == 0)
            return &live[i];
    return NULL;
}

/* Mark the address of a live attachment as taken; false when the
 * attachment does not fit the tenant's /24. */
static bool adopt(struct netpolicy *np, const struct netpolicy_attachment *a)
{
    struct tenant_state *t = tenant_get(np, a->tenant);
    struct in_addr net;
    uint32_t host;

    if (!t || netpolicy_pools_tenant_net(np->pools, np->n_pools, a->tenant,
                                         &net) < 0)
        return false;
    host = ntohl(a->addr.s_addr) - ntohl(net.s_addr);
    if (host < HOST_FIRST || host > HOST_LAST)
        return false;
    host_mark(t, host, true);
    t->attached++;
    return true;
}

static int reconcile_links(struct netpolicy *np,
                           const struct netpolicy_attachment *live,
                           size_t n_live,
                           struct netpolicy_reconcile_stats *stats,
                           struct werr *err)
{
    struct name_list list = {0};
    int r;

    r = link_foreach_prefix(np->rtnl, NETPOLICY_LINK_PREFIX, name_list_add,
                            &list, err);
    if (r >= 0 && list.failed)
        r = werr_set(err, -ENOMEM, "out of memory listing links");
    for (size_t i = 0; r >= 0 && i < list.n; i++) {
        const struct netpolicy_attachment *a;
        uint64_t counter;
        unsigned tenant;

        if (link_name_parse(list.names[i], &tenant, &counter) < 0)
            continue;
        if (counter >= np->counter)
            np->counter = counter + 1;
        a = live_find(live, n_live, list.names[i]);
        if (a && a->tenant == tenant && adopt(np, a)) {
            stats->links_adopted++;
            continue;
        }
        r = link_delete(np->rtnl, list.names[i], err);
        if (r == -ENODEV)
            r = 0;
        else if (r >= 0)
            stats->links_removed++;
    }
    free(list.names);
    return r;
}

static void tenants_reset(struct netpolicy *np)
{
    for (unsigned i = 0; i < np->capacity; i++) {
        struct tenant_state *t = np->tenants[i];

        if (!t)
            continue;
        t->configured = false;
        t->attached = 0;
        memset(t->used, 0, sizeof(t->used));
    }
}

static int reconcile_table(struct netpolicy *np,
                           const struct netpolicy_tenant_spec *tenants,
                           size_t n, struct werr *err)
{
    _cleanup_free_ struct nft_tenant *rules = NULL;
    _cleanup_free_ unsigned *all = NULL;
    struct nft_params params;
    size_t n_all = 0;
    int r;

    for (size_t i = 0; i < n; i++) {
        r = endpoints_check(np, tenants[i].tenant, tenants[i].endpoints,
                            tenants[i].n_endpoints, err);
        if (r < 0)
            return r;
    }
    tenants_reset(np);
    for (size_t i = 0; i < n; i++) {
        r = tenant_store(np, tenants[i].tenant, tenants[i].endpoints,
                         tenants[i].n_endpoints, err);
        if (r < 0)
            return r;
    }

    all = configured_tenants(np, &n_all);
    rules = calloc(n_all + 1, sizeof(*rules));
    if (!all || !rules)
        return werr_set(err, -ENOMEM, "out of memory for tenant rules");
    for (size_t i = 0; i < n_all; i++)
        nft_tenant_of(np, all[i], &rules[i]);
    nft_params_of(np, &params);
    return nft_rebuild(np->nft, &params, rules, n_all, err);
}

int netpolicy_reconcile(struct netpolicy *np,
                        const struct netpolicy_tenant_spec *tenants,
                        size_t n_tenants,
                        const struct netpolicy_attachment *live,
                        size_t n_live,
                        struct netpolicy_reconcile_stats *ret_stats,
                        struct werr *err)
{
    struct netpolicy_reconcile_stats stats = {0};
    int r;

    r = reconcile_table(np, tenants, n_tenants, err);
    if (r < 0)
        return r;
    np->table_ready = true;
    r = reconcile_links(np, live, n_live, &stats, err);
    if (r < 0)
        return r;
    if (ret_stats)
        *ret_stats = stats;
    return 0;
}
