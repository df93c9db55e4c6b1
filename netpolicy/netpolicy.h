/* netpolicy: network modes of sandboxes, their links and nftables rules.
 *
 * Modes
 *   none      the sandbox's network namespace contains only loopback, up.
 *   internal  one veth pair per sandbox.  The host end stays in the
 *             daemon's namespace and is routed, not bridged; the peer is
 *             created directly inside the sandbox's namespace as "eth0".
 *
 * Why routed host ends and no per-tenant bridge: on a bridge, two
 * sandboxes of one tenant exchange frames at layer 2, which the inet
 * forward hook never receives (that would need br_netfilter).  With one routed
 * link per sandbox every packet a sandbox sends crosses the IP layer of
 * the daemon's namespace, so the nftables rules below see all of it,
 * including traffic between sandboxes of the same tenant.
 *
 * Addressing: each tenant index T owns one /24 of the configured pools
 * (pools are split into /24s in order).  The host ends of tenant T all
 * carry the gateway address .1 of that /24 with a /32 peer route to the
 * sandbox's address (.2 to .254); the sandbox has the reverse peer
 * address and a default route via the gateway.  Sandbox addresses never
 * leave the host through NAT: there is no masquerading anywhere.
 *
 * Rules live in table "inet warden", which the daemon owns:
 *   chain input, chain forward (filter hooks, priority 0, policy accept)
 *     both jump to chain "tenants" for packets from a "wd" link;
 *     forward also accepts established/related packets towards "wd"
 *     links and drops every other packet towards them.
 *   chain tenants: iifname "wd<T>s*" jump t<T> for every tenant, then a
 *     logged drop for a "wd" link that matches no tenant.
 *   chain t<T>: established/related accept; accepts for allowlist
 *     entries naming the tenant's own gateway; a drop towards every pool
 *     (so no tenant reaches a sandbox address, even through a broad entry
 *     such as 0.0.0.0/0); one accept per other allowlist entry; drop.
 *     Each drop is preceded by a copy that drops silently above 50
 *     packets per second, so the NFLOG copy (prefix "wd:<T>") is rate
 *     limited per tenant.
 * Host-end names are "wd" + tenant index (decimal) + "s" + a counter in
 * base 36, so a name is never reused right after a detach, while the
 * kernel may still be releasing the old link.
 *
 * Call order for the daemon:
 *   netpolicy_new() once, in the daemon's network namespace;
 *   netpolicy_reconcile() once, with every tenant's allowlist and the
 *     attachments of the sandboxes still alive (it (re)creates the table);
 *   netpolicy_tenant_set() whenever a tenant's allowlist changes (also
 *     with no endpoints, to cut a suspended tenant off);
 *   per sandbox, after its child has created its network namespace and
 *     before the child is released to exec: netpolicy_loopback_up() for
 *     mode none, or netpolicy_attach() for mode internal (which also
 *     brings loopback up); store the attachment returned;
 *   netpolicy_detach() after the sandbox has exited (or at termination).
 * Every call needs CAP_NET_ADMIN in the daemon's namespace, and attach and
 * loopback_up need CAP_SYS_ADMIN over the sandbox's namespace (setns).
 * The context is not thread-safe; call it from the daemon's loop. */
#ifndef WARDEN_NETPOLICY_NETPOLICY_H
#define WARDEN_NETPOLICY_NETPOLICY_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum netpolicy_mode {
    NETPOLICY_MODE_NONE,
    NETPOLICY_MODE_INTERNAL,
    NETPOLICY_MODE_MAX
};

enum netpolicy_proto {
    NETPOLICY_PROTO_TCP,
    NETPOLICY_PROTO_UDP,
    NETPOLICY_PROTO_ICMP,
    NETPOLICY_PROTO_MAX
};

/* Name of the nftables table (family inet) that this module owns. */
#define NETPOLICY_TABLE "warden"
/* Prefix of every host-end link name and of the NFLOG prefixes. */
#define NETPOLICY_LINK_PREFIX "wd"

union netpolicy_addr {
    struct in_addr v4;
    struct in6_addr v6;
};

/* One allowlist entry: destination prefix, protocol and port. */
struct netpolicy_endpoint {
    int family;                /* AF_INET or AF_INET6 */
    union netpolicy_addr addr; /* host bits cleared */
    unsigned prefix_len;
    enum netpolicy_proto proto;
    uint16_t port; /* host order; 0 means any port (never for ICMP) */
};

/* An IPv4 address pool, split into one /24 per tenant. */
struct netpolicy_pool {
    struct in_addr base; /* network address, host bits cleared */
    unsigned prefix_len; /* 8 to 24 */
};

struct netpolicy_config {
    const struct netpolicy_pool *pools;
    size_t n_pools;
    uint16_t nflog_group; /* NFLOG group of the drop rules, 1 to 65535 */
};

/* The link and addresses that netpolicy_attach() set up; the daemon stores it with the sandbox
 * and hands it back to netpolicy_detach() and netpolicy_reconcile(). */
struct netpolicy_attachment {
    unsigned tenant;
    char host_ifname[IFNAMSIZ];
    struct in_addr addr;    /* the sandbox's address */
    struct in_addr gateway; /* the host end's address */
};

struct netpolicy_tenant_spec {
    unsigned tenant;
    const struct netpolicy_endpoint *endpoints;
    size_t n_endpoints;
};

struct netpolicy_reconcile_stats {
    size_t links_adopted;
    size_t links_removed;
};

struct netpolicy;

/* Parse an allowlist entry.  addr is an IPv4 or IPv6 address with an
 * optional "/prefix"; proto is "tcp", "udp" or "icmp"; port is 1 to 65535,
 * or NULL or "" for any port; ICMP takes no port. */
int netpolicy_parse_endpoint(const char *addr, const char *proto,
                             const char *port,
                             struct netpolicy_endpoint *ret_endpoint,
                             struct werr *err);

/* Parse an IPv4 pool such as "10.201.0.0/16" (prefix 8 to 24). */
int netpolicy_pool_parse(const char *text, struct netpolicy_pool *ret_pool,
                         struct werr *err);

/* Fail with -EINVAL when two pools overlap. */
int netpolicy_pools_check(const struct netpolicy_pool *pools, size_t n,
                          struct werr *err);

/* Return the number of tenant indices the pools provide (one per /24). */
unsigned netpolicy_pools_capacity(const struct netpolicy_pool *pools,
                                  size_t n);

/* Create a context in the current (the daemon's) network namespace.
 * Rejects overlapping pools and pools overlapping an address already
 * configured on a link of this namespace that is not a warden host end. */
int netpolicy_new(const struct netpolicy_config *config,
                  struct netpolicy **ret_np, struct werr *err);
void netpolicy_free(struct netpolicy *np);

/* Delete and rebuild table inet warden from tenants in one transaction,
 * adopt the "wd" links named in live and delete every other one. */
int netpolicy_reconcile(struct netpolicy *np,
                        const struct netpolicy_tenant_spec *tenants,
                        size_t n_tenants,
                        const struct netpolicy_attachment *live,
                        size_t n_live,
                        struct netpolicy_reconcile_stats *ret_stats,
                        struct werr *err);

/* Create or atomically replace a tenant's allowlist (flush and refill of
 * its chain in one transaction).  Sandboxes already running see the new
 * rules at once.  An endpoint overlapping a pool is rejected. */
int netpolicy_tenant_set(struct netpolicy *np, unsigned tenant,
                         const struct netpolicy_endpoint *endpoints,
                         size_t n_endpoints, struct werr *err);

/* Remove a tenant's chain and dispatch rule; fails with -EBUSY while one
 * of its sandboxes is still attached. */
int netpolicy_tenant_remove(struct netpolicy *np, unsigned tenant,
                            struct werr *err);

/* Give the sandbox whose network namespace netns_fd refers to an internal
 * link: loopback up, eth0 with an address from the tenant's /24 and a
 * default route through the host end.  Nothing is left behind on error. */
int netpolicy_attach(struct netpolicy *np, unsigned tenant, int netns_fd,
                     struct netpolicy_attachment *ret_attachment,
                     struct werr *err);

/* Delete the host end (the peer goes with it, or with the namespace) and
 * release the address.  A host end already gone is not an error. */
int netpolicy_detach(struct netpolicy *np,
                     const struct netpolicy_attachment *attachment,
                     struct werr *err);

/* Bring loopback up inside the namespace netns_fd refers to. */
int netpolicy_loopback_up(int netns_fd, struct werr *err);

/* Bring loopback up in the caller's own network namespace (for a sandbox
 * child that configures itself before exec). */
int netpolicy_lo_up_here(struct werr *err);

const char *netpolicy_proto_to_string(enum netpolicy_proto proto);

/* NFLOG: drop records of the rules above, read with libmnl. */

struct nflog_event {
    char prefix[64]; /* "wd:<tenant>", or "wd:?" for an unknown link */
    int family;      /* AF_INET or AF_INET6 */
    union netpolicy_addr src;
    union netpolicy_addr dst;
    uint8_t protocol; /* IPPROTO_* */
    uint16_t dport;   /* host order; 0 when the protocol has no ports */
    uint32_t ifindex; /* input link */
};

typedef void (*nflog_callback)(const struct nflog_event *event, void *data);

/* Open a non-blocking NFLOG socket bound to group in the current network
 * namespace and return its descriptor.  Only one socket per group. */
int nflog_open(uint16_t group, struct werr *err);

/* Read what is queued on fd and call callback once per packet.  Returns
 * the number of packets, 0 when none is queued, or a negative errno. */
int nflog_read(int fd, nflog_callback callback, void *data);

/* Return the tenant index named by an NFLOG prefix, or -EINVAL. */
int nflog_prefix_tenant(const char *prefix, unsigned *ret_tenant);

/* Aggregator of drop events: counts per (tenant, source, destination,
 * protocol, port) over a window, at most max_keys keys per window; events
 * past that are counted in one overflow record.  Pure data structure:
 * the caller passes the clock in milliseconds. */

#define NFLOG_AGG_NO_TENANT UINT32_MAX

struct nflog_agg_key {
    uint32_t tenant; /* NFLOG_AGG_NO_TENANT when the prefix named none */
    int family;
    union netpolicy_addr src;
    union netpolicy_addr dst;
    uint8_t protocol;
    uint16_t dport;
};

struct nflog_agg_record {
    struct nflog_agg_key key; /* zeroed for the overflow record */
    bool overflow;            /* events that found no free key */
    uint64_t count;
    uint64_t first_ms;
    uint64_t last_ms;
};

struct nflog_agg;

typedef void (*nflog_agg_emit)(const struct nflog_agg_record *record,
                               void *data);

struct nflog_agg *nflog_agg_new(uint64_t window_ms, size_t max_keys);
void nflog_agg_free(struct nflog_agg *agg);

/* Build the aggregation key of an event. */
void nflog_agg_key_from_event(const struct nflog_event *event,
                              struct nflog_agg_key *ret_key);

/* Count one event.  Returns 0, or 1 when it went into the overflow
 * count because max_keys keys are already in this window. */
int nflog_agg_add(struct nflog_agg *agg, const struct nflog_agg_key *key,
                  uint64_t now_ms);

/* When the window that began with its first event has ended (or when
 * force is set), emit one record per key plus the overflow record if
 * non-zero, then start empty.  Returns the number of records emitted. */
size_t nflog_agg_flush(struct nflog_agg *agg, uint64_t now_ms, bool force,
                       nflog_agg_emit emit, void *data);

/* Milliseconds until the current window ends, or -1 when it is empty:
 * the value for the daemon's timer. */
int64_t nflog_agg_next_deadline(const struct nflog_agg *agg, uint64_t now_ms);

#endif
