#include "netpolicy/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/cleanup.h"

#define CHAIN_INPUT "input"
#define CHAIN_FORWARD "forward"
#define CHAIN_DISPATCH "tenants"

/* Drop packets over this rate (per rule) without logging them, so that a
 * flood cannot flood the NFLOG reader as well. */
#define LOG_RATE_PER_SECOND 50
#define LOG_BURST 20

/* Page size of batches and of the buffer that reads the replies. */
#define BATCH_PAGE_SIZE 16384

struct nft_ctx {
    struct mnl_socket *nl;
    uint32_t seq;
};

/* One batch under construction; failed records an allocation failure so
 * that builders can chain calls and check once. */
struct batch {
    struct nftnl_batch *b;
    uint32_t seq;
    bool failed;
};

/* One rule under construction. */
struct rule {
    struct nftnl_rule *r;
    bool failed;
};

int nft_open(struct nft_ctx **ret_ctx, struct werr *err)
{
    struct nft_ctx *ctx = calloc(1, sizeof(*ctx));
    int one = 1;

    if (!ctx)
        return werr_set(err, -ENOMEM, "out of memory for nftables");
    ctx->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!ctx->nl) {
        int r = neg_errno();

        free(ctx);
        return werr_errno(err, r, "opening the nftables netlink socket "
                                  "failed");
    }
    if (mnl_socket_bind(ctx->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int r = neg_errno();

        nft_close(ctx);
        return werr_errno(err, r, "binding the nftables netlink socket "
                                  "failed");
    }
    mnl_socket_setsockopt(ctx->nl, NETLINK_EXT_ACK, &one, sizeof(one));
    mnl_socket_setsockopt(ctx->nl, NETLINK_CAP_ACK, &one, sizeof(one));
    ctx->seq = (uint32_t)time(NULL);
    *ret_ctx = ctx;
    return 0;
}

void nft_close(struct nft_ctx *ctx)
{
    if (!ctx)
        return;
    mnl_socket_close(ctx->nl);
    free(ctx);
}

/* Expressions.  Every match loads into register 1 and compares it. */

static void rule_add(struct rule *rule, struct nftnl_expr *e)
{
    if (!e) {
        rule->failed = true;
        return;
    }
    nftnl_rule_add_expr(rule->r, e);
}

static struct nftnl_expr *expr_new(const char *name)
{
    return nftnl_expr_alloc(name);
}

static void add_meta(struct rule *rule, uint32_t key)
{
    struct nftnl_expr *e = expr_new("meta");

    if (e) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    }
    rule_add(rule, e);
}

static void add_cmp(struct rule *rule, uint32_t op, const void *data,
                    uint32_t len)
{
    struct nftnl_expr *e = expr_new("cmp");

    if (e) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    }
    rule_add(rule, e);
}

static void add_payload(struct rule *rule, uint32_t base, uint32_t offset,
                        uint32_t len)
{
    struct nftnl_expr *e = expr_new("payload");

    if (e) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    }
    rule_add(rule, e);
}

static void add_bitwise(struct rule *rule, const void *mask, uint32_t len)
{
    static const uint8_t zero[16];
    struct nftnl_expr *e = expr_new("bitwise");

    if (e) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
    }
    rule_add(rule, e);
}

static void add_verdict(struct rule *rule, int verdict, const char *chain)
{
    struct nftnl_expr *e = expr_new("immediate");

    if (e) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
        if (chain)
            nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
    }
    rule_add(rule, e);
}

/* Match ct state established or related. */
static void match_ct_reply(struct rule *rule)
{
    uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
                    NF_CT_STATE_BIT(IP_CT_RELATED);
    uint32_t zero = 0;
    struct nftnl_expr *e = expr_new("ct");

    if (e) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    }
    rule_add(rule, e);
    add_bitwise(rule, &mask, sizeof(mask));
    add_cmp(rule, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* Match an interface name starting with prefix, as nft's "wd3s*". */
static void match_ifname_prefix(struct rule *rule, uint32_t meta_key,
                                const char *prefix)
{
    add_meta(rule, meta_key);
    add_cmp(rule, NFT_CMP_EQ, prefix, (uint32_t)strlen(prefix));
}

static void match_nfproto(struct rule *rule, int family)
{
    uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

    add_meta(rule, NFT_META_NFPROTO);
    add_cmp(rule, NFT_CMP_EQ, &proto, sizeof(proto));
}

static void prefix_mask(uint8_t *mask, uint32_t len, unsigned prefix_len)
{
    memset(mask, 0, len);
    for (unsigned i = 0; i < prefix_len; i++)
        mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

static void match_daddr(struct rule *rule, int family,
                        const union netpolicy_addr *addr, unsigned prefix_len)
{
    uint32_t len = family == AF_INET ? 4 : 16;
    uint32_t offset = family == AF_INET ? 16 : 24;
    uint8_t mask[16];

    match_nfproto(rule, family);
    if (prefix_len == 0)
        return;
    add_payload(rule, NFT_PAYLOAD_NETWORK_HEADER, offset, len);
    if (prefix_len < len * 8) {
        prefix_mask(mask, len, prefix_len);
        add_bitwise(rule, mask, len);
    }
    add_cmp(rule, NFT_CMP_EQ, addr, len);
}

static void match_l4(struct rule *rule, int family, enum netpolicy_proto proto,
                     uint16_t port)
{
    uint8_t l4 = IPPROTO_TCP;
    uint16_t be_port = htons(port);

    if (proto == NETPOLICY_PROTO_UDP)
        l4 = IPPROTO_UDP;
    else if (proto == NETPOLICY_PROTO_ICMP)
        l4 = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    add_meta(rule, NFT_META_L4PROTO);
    add_cmp(rule, NFT_CMP_EQ, &l4, sizeof(l4));
    if (port == 0)
        return;
    add_payload(rule, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(be_port));
    add_cmp(rule, NFT_CMP_EQ, &be_port, sizeof(be_port));
}

static void add_limit_over(struct rule *rule)
{
    struct nftnl_expr *e = expr_new("limit");

    if (e) {
        nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, LOG_RATE_PER_SECOND);
        nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, LOG_BURST);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);
    }
    rule_add(rule, e);
}

static void add_log(struct rule *rule, uint16_t group, const char *prefix)
{
    struct nftnl_expr *e = expr_new("log");

    if (e) {
        nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
        nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
    }
    rule_add(rule, e);
}

/* Batch plumbing. */

static void batch_put_hdr_done(struct batch *b)
{
    if (nftnl_batch_update(b->b) < 0)
        b->failed = true;
}

static int batch_begin(struct nft_ctx *ctx, struct batch *b)
{
    b->b = nftnl_batch_alloc(BATCH_PAGE_SIZE, BATCH_PAGE_SIZE);
    b->failed = false;
    if (!b->b)
        return -ENOMEM;
    b->seq = ctx->seq;
    nftnl_batch_begin(nftnl_batch_buffer(b->b), b->seq++);
    batch_put_hdr_done(b);
    return 0;
}

static void batch_table(struct batch *b, uint16_t type)
{
    struct nftnl_table *t = nftnl_table_alloc();
    struct nlmsghdr *nlh;

    if (!t) {
        b->failed = true;
        return;
    }
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NETPOLICY_TABLE);
    nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->b), type, NFPROTO_INET,
                                type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
                                b->seq++);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    batch_put_hdr_done(b);
}

/* Add (or with type NFT_MSG_DELCHAIN delete) a chain; hook < 0 makes a
 * regular chain, otherwise a filter base chain with policy accept. */
static void batch_chain(struct batch *b, uint16_t type, const char *name,
                        int hook)
{
    struct nftnl_chain *c = nftnl_chain_alloc();
    struct nlmsghdr *nlh;

    if (!c) {
        b->failed = true;
        return;
    }
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NETPOLICY_TABLE);
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    if (hook >= 0 && type == NFT_MSG_NEWCHAIN) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
    }
    nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->b), type, NFPROTO_INET,
                                type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0,
                                b->seq++);
    nftnl_chain_nlmsg_build_payload(nlh, c);
    nftnl_chain_free(c);
    batch_put_hdr_done(b);
}

/* Delete every rule of a chain. */
static void batch_flush_chain(struct batch *b, const char *chain)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    struct nlmsghdr *nlh;

    if (!r) {
        b->failed = true;
        return;
    }
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NETPOLICY_TABLE);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->b), NFT_MSG_DELRULE,
                                NFPROTO_INET, 0, b->seq++);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    batch_put_hdr_done(b);
}

static void rule_start(struct rule *rule, const char *chain)
{
    rule->r = nftnl_rule_alloc();
    rule->failed = !rule->r;
    if (rule->failed)
        return;
    nftnl_rule_set_u32(rule->r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_str(rule->r, NFTNL_RULE_TABLE, NETPOLICY_TABLE);
    nftnl_rule_set_str(rule->r, NFTNL_RULE_CHAIN, chain);
}

/* Append the finished rule to the batch and free it. */
static void batch_rule(struct batch *b, struct rule *rule)
{
    struct nlmsghdr *nlh;

    if (rule->failed) {
        b->failed = true;
        nftnl_rule_free(rule->r);
        return;
    }
    nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->b), NFT_MSG_NEWRULE,
                                NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND,
                                b->seq++);
    nftnl_rule_nlmsg_build_payload(nlh, rule->r);
    nftnl_rule_free(rule->r);
    batch_put_hdr_done(b);
}

/* Read every message the kernel queued in reply to the batch and return
 * the first error.  nfnetlink handles a batch inside sendmsg(), so all
 * replies are queued by the time it returns. */
static int batch_collect_errors(struct nft_ctx *ctx, struct werr *err)
{
    char buf[BATCH_PAGE_SIZE];
    int first = 0;
    ssize_t n;

    while ((n = recv(mnl_socket_get_fd(ctx->nl), buf, sizeof(buf),
                     MSG_DONTWAIT)) > 0) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
        int len = (int)n;

        for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

            if (nlh->nlmsg_type != NLMSG_ERROR || e->error == 0 || first)
                continue;
            first = e->error;
        }
    }
    if (first < 0)
        return werr_errno(err, first,
                          "nftables rejected the update of table inet %s",
                          NETPOLICY_TABLE);
    return 0;
}

static int batch_commit(struct nft_ctx *ctx, struct batch *b,
                        struct werr *err)
{
    int n_iov, size, r;

    nftnl_batch_end(nftnl_batch_buffer(b->b), b->seq++);
    batch_put_hdr_done(b);
    ctx->seq = b->seq;
    if (b->failed)
        return werr_set(err, -ENOMEM, "out of memory building nftables "
                                      "rules");

    n_iov = nftnl_batch_iovec_len(b->b);
    struct iovec *iov = calloc((size_t)n_iov, sizeof(*iov));
    if (!iov)
        return werr_set(err, -ENOMEM, "out of memory sending nftables rules");
    nftnl_batch_iovec(b->b, iov, (uint32_t)n_iov);

    /* The whole batch goes in one sendmsg() to stay one transaction, so
     * the send buffer must hold all of it. */
    size = 0;
    for (int i = 0; i < n_iov; i++)
        size += (int)iov[i].iov_len;
    size += 4096;
    setsockopt(mnl_socket_get_fd(ctx->nl), SOL_SOCKET, SO_SNDBUFFORCE, &size,
               sizeof(size));

    struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
    struct msghdr msg = {.msg_name = &snl,
                         .msg_namelen = sizeof(snl),
                         .msg_iov = iov,
                         .msg_iovlen = (size_t)n_iov};
    r = sendmsg(mnl_socket_get_fd(ctx->nl), &msg, 0) < 0 ? neg_errno() : 0;
    free(iov);
    if (r < 0)
        return werr_errno(err, r, "sending nftables rules failed");
    return batch_collect_errors(ctx, err);
}

static int batch_finish(struct nft_ctx *ctx, struct batch *b,
                        struct werr *err)
{
    int r = batch_commit(ctx, b, err);

    nftnl_batch_free(b->b);
    return r;
}

/* Rule sets. */

static void tenant_link_prefix(unsigned tenant, char *buf, size_t size)
{
    snprintf(buf, size, NETPOLICY_LINK_PREFIX "%us", tenant);
}

static void tenant_chain_name(unsigned tenant, char *buf, size_t size)
{
    snprintf(buf, size, "t%u", tenant);
}

/* Two rules: drop silently above the log rate, else log and drop. */
static void add_logged_drop(struct batch *b, const char *chain,
                            void (*match)(struct rule *, const void *),
                            const void *match_arg, uint16_t group,
                            const char *prefix)
{
    struct rule rule;

    rule_start(&rule, chain);
    if (match)
        match(&rule, match_arg);
    add_limit_over(&rule);
    add_verdict(&rule, NF_DROP, NULL);
    batch_rule(b, &rule);

    rule_start(&rule, chain);
    if (match)
        match(&rule, match_arg);
    add_log(&rule, group, prefix);
    add_verdict(&rule, NF_DROP, NULL);
    batch_rule(b, &rule);
}

static void add_base_chains(struct batch *b)
{
    struct rule rule;

    batch_chain(b, NFT_MSG_NEWCHAIN, CHAIN_INPUT, NF_INET_LOCAL_IN);
    batch_chain(b, NFT_MSG_NEWCHAIN, CHAIN_FORWARD, NF_INET_FORWARD);
    batch_chain(b, NFT_MSG_NEWCHAIN, CHAIN_DISPATCH, -1);

    rule_start(&rule, CHAIN_INPUT);
    match_ifname_prefix(&rule, NFT_META_IIFNAME, NETPOLICY_LINK_PREFIX);
    add_verdict(&rule, NFT_JUMP, CHAIN_DISPATCH);
    batch_rule(b, &rule);

    rule_start(&rule, CHAIN_FORWARD);
    match_ifname_prefix(&rule, NFT_META_IIFNAME, NETPOLICY_LINK_PREFIX);
    add_verdict(&rule, NFT_JUMP, CHAIN_DISPATCH);
    batch_rule(b, &rule);

    rule_start(&rule, CHAIN_FORWARD);
    match_ifname_prefix(&rule, NFT_META_OIFNAME, NETPOLICY_LINK_PREFIX);
    match_ct_reply(&rule);
    add_verdict(&rule, NF_ACCEPT, NULL);
    batch_rule(b, &rule);

    rule_start(&rule, CHAIN_FORWARD);
    match_ifname_prefix(&rule, NFT_META_OIFNAME, NETPOLICY_LINK_PREFIX);
    add_verdict(&rule, NF_DROP, NULL);
    batch_rule(b, &rule);
}

/* Fill chain "tenants": one jump per tenant, then a logged drop for a
 * warden link that belongs to no tenant. */
static void add_dispatch_rules(struct batch *b, const unsigned *all,
                               size_t n_all, uint16_t group)
{
    char prefix[IFNAMSIZ], chain[32];
    struct rule rule;

    for (size_t i = 0; i < n_all; i++) {
        tenant_link_prefix(all[i], prefix, sizeof(prefix));
        tenant_chain_name(all[i], chain, sizeof(chain));
        rule_start(&rule, CHAIN_DISPATCH);
        match_ifname_prefix(&rule, NFT_META_IIFNAME, prefix);
        add_verdict(&rule, NFT_JUMP, chain);
        batch_rule(b, &rule);
    }
    add_logged_drop(b, CHAIN_DISPATCH, NULL, NULL, group,
                    NETPOLICY_LINK_PREFIX ":?");
}

static void add_endpoint_accept(struct batch *b, const char *chain,
                                const struct netpolicy_endpoint *ep)
{
    struct rule rule;

    rule_start(&rule, chain);
    match_daddr(&rule, ep->family, &ep->addr, ep->prefix_len);
    match_l4(&rule, ep->family, ep->proto, ep->port);
    add_verdict(&rule, NF_ACCEPT, NULL);
    batch_rule(b, &rule);
}

static bool endpoint_is_gateway(const struct netpolicy_endpoint *ep,
                                struct in_addr gateway)
{
    return ep->family == AF_INET && ep->prefix_len == 32 &&
           ep->addr.v4.s_addr == gateway.s_addr;
}

static void match_pool(struct rule *rule, const void *arg)
{
    const struct netpolicy_pool *pool = arg;
    union netpolicy_addr addr = {.v4 = pool->base};

    match_daddr(rule, AF_INET, &addr, pool->prefix_len);
}

static void add_tenant_rules(struct batch *b, const struct nft_params *params,
                             const struct nft_tenant *t)
{
    char chain[32], prefix[32];
    struct rule rule;

    tenant_chain_name(t->tenant, chain, sizeof(chain));
    snprintf(prefix, sizeof(prefix), NETPOLICY_LINK_PREFIX ":%u", t->tenant);

    rule_start(&rule, chain);
    match_ct_reply(&rule);
    add_verdict(&rule, NF_ACCEPT, NULL);
    batch_rule(b, &rule);

    for (size_t i = 0; i < t->n_endpoints; i++)
        if (endpoint_is_gateway(&t->endpoints[i], t->gateway))
            add_endpoint_accept(b, chain, &t->endpoints[i]);
    for (size_t i = 0; i < params->n_pools; i++)
        add_logged_drop(b, chain, match_pool, &params->pools[i],
                        params->nflog_group, prefix);
    for (size_t i = 0; i < t->n_endpoints; i++)
        if (!endpoint_is_gateway(&t->endpoints[i], t->gateway))
            add_endpoint_accept(b, chain, &t->endpoints[i]);
    add_logged_drop(b, chain, NULL, NULL, params->nflog_group, prefix);
}

static void add_tenant_chain(struct batch *b, const struct nft_params *params,
                             const struct nft_tenant *t)
{
    char chain[32];

    tenant_chain_name(t->tenant, chain, sizeof(chain));
    batch_chain(b, NFT_MSG_NEWCHAIN, chain, -1);
    batch_flush_chain(b, chain);
    add_tenant_rules(b, params, t);
}

int nft_rebuild(struct nft_ctx *ctx, const struct nft_params *params,
                const struct nft_tenant *tenants, size_t n, struct werr *err)
{
    _cleanup_free_ unsigned *all = calloc(n + 1, sizeof(*all));
    struct batch b;

    if (!all || batch_begin(ctx, &b) < 0)
        return werr_set(err, -ENOMEM, "out of memory for nftables rules");

    /* Creating the table first makes the delete succeed when there was
     * none; the kernel applies the three steps as one. */
    batch_table(&b, NFT_MSG_NEWTABLE);
    batch_table(&b, NFT_MSG_DELTABLE);
    batch_table(&b, NFT_MSG_NEWTABLE);
    add_base_chains(&b);
    for (size_t i = 0; i < n; i++) {
        all[i] = tenants[i].tenant;
        add_tenant_chain(&b, params, &tenants[i]);
    }
    add_dispatch_rules(&b, all, n, params->nflog_group);
    return batch_finish(ctx, &b, err);
}

int nft_tenant_update(struct nft_ctx *ctx, const struct nft_params *params,
                      const struct nft_tenant *tenant, const unsigned *all,
                      size_t n_all, struct werr *err)
{
    struct batch b;

    if (batch_begin(ctx, &b) < 0)
        return werr_set(err, -ENOMEM, "out of memory for nftables rules");
    add_tenant_chain(&b, params, tenant);
    if (all) {
        batch_flush_chain(&b, CHAIN_DISPATCH);
        add_dispatch_rules(&b, all, n_all, params->nflog_group);
    }
    return batch_finish(ctx, &b, err);
}

int nft_tenant_delete(struct nft_ctx *ctx, unsigned tenant,
                      const unsigned *all, size_t n_all, uint16_t group,
                      struct werr *err)
{
    char chain[32];
    struct batch b;

    if (batch_begin(ctx, &b) < 0)
        return werr_set(err, -ENOMEM, "out of memory for nftables rules");
    tenant_chain_name(tenant, chain, sizeof(chain));
    batch_flush_chain(&b, CHAIN_DISPATCH);
    add_dispatch_rules(&b, all, n_all, group);
    batch_flush_chain(&b, chain);
    batch_chain(&b, NFT_MSG_DELCHAIN, chain, -1);
    return batch_finish(ctx, &b, err);
}
