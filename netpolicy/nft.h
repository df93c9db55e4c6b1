/* Thin wrapper around libnftnl and libmnl: builds the rules of table
 * "inet warden" (layout in netpolicy.h) and commits each change as one
 * nftables batch, which the kernel applies atomically or not at all. */
#ifndef WARDEN_NETPOLICY_NFT_H
#define WARDEN_NETPOLICY_NFT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "netpolicy/netpolicy.h"

struct nft_ctx;

/* Settings shared by every tenant's rules. */
struct nft_params {
    const struct netpolicy_pool *pools;
    size_t n_pools;
    uint16_t nflog_group;
};

struct nft_tenant {
    unsigned tenant;
    struct in_addr gateway;
    const struct netpolicy_endpoint *endpoints;
    size_t n_endpoints;
};

/* Open an nftables netlink socket in the caller's network namespace. */
int nft_open(struct nft_ctx **ret_ctx, struct werr *err);
void nft_close(struct nft_ctx *ctx);

/* Delete the table if present and create it again with these tenants. */
int nft_rebuild(struct nft_ctx *ctx, const struct nft_params *params,
                const struct nft_tenant *tenants, size_t n, struct werr *err);

/* Replace the rules of one tenant's chain (creating it if needed).  When
 * all is not NULL, the dispatch chain is rebuilt as well, for the n_all
 * tenant indices in all. */
int nft_tenant_update(struct nft_ctx *ctx, const struct nft_params *params,
                      const struct nft_tenant *tenant, const unsigned *all,
                      size_t n_all, struct werr *err);

/* Remove one tenant's chain; all lists the tenants that remain. */
int nft_tenant_delete(struct nft_ctx *ctx, unsigned tenant,
                      const unsigned *all, size_t n_all, uint16_t group,
                      struct werr *err);

#endif
