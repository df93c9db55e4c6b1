/* NFLOG reader on libmnl: binds to the group of the drop rules and turns
 * each logged packet into a struct nflog_event. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netpolicy/netpolicy.h"

/* Bytes of each packet copied to user space: enough for an IPv6 header
 * and the ports of TCP or UDP. */
#define COPY_RANGE 128
#define READ_BUFFER_SIZE 65536

static struct nlmsghdr *config_header(char *buf, uint16_t group)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct nfgenmsg *nfg;

    nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(group);
    return nlh;
}

/* Send one config request and wait for its acknowledgement. */
static int config_send(int fd, struct nlmsghdr *nlh)
{
    char buf[512];
    ssize_t n;

    if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
        return neg_errno();
    n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0)
        return neg_errno();
    if (mnl_cb_run(buf, (size_t)n, 0, 0, NULL, NULL) < 0)
        return neg_errno();
    return 0;
}

static int nflog_bind(int fd, uint16_t group)
{
    char buf[256];
    struct nlmsghdr *nlh;
    struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
    struct nfulnl_msg_config_mode mode = {
        .copy_range = htonl(COPY_RANGE),
        .copy_mode = NFULNL_COPY_PACKET,
    };
    int r;

    nlh = config_header(buf, group);
    mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
    r = config_send(fd, nlh);
    if (r < 0)
        return r;

    /* Deliver each packet at once instead of batching for up to 1 s. */
    nlh = config_header(buf, group);
    mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
    mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
    return config_send(fd, nlh);
}

int nflog_open(uint16_t group, struct werr *err)
{
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK};
    _cleanup_close_ int fd = -1;
    int r;

    if (group == 0)
        return werr_set(err, -EINVAL, "invalid NFLOG group 0: use 1 to "
                                      "65535");
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "opening an NFLOG socket failed");
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return werr_errno(err, neg_errno(), "binding an NFLOG socket failed");
    r = nflog_bind(fd, group);
    if (r == -EBUSY)
        return werr_errno(err, r, "NFLOG group %u already has a reader: "
                                  "stop it or choose another group",
                          group);
    if (r < 0)
        return werr_errno(err, r, "binding NFLOG group %u failed", group);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        return werr_errno(err, neg_errno(), "making the NFLOG socket "
                                            "non-blocking failed");
    return TAKE_FD(fd);
}

/* Fill the addresses, protocol and destination port from the copied
 * packet; false when it is too short or not IP. */
static bool parse_payload(const uint8_t *p, size_t len,
                          struct nflog_event *ev)
{
    size_t l4_offset;

    if (len >= sizeof(struct iphdr) && (p[0] >> 4) == 4) {
        const struct iphdr *ip = (const struct iphdr *)p;

        ev->family = AF_INET;
        memcpy(&ev->src.v4, &ip->saddr, 4);
        memcpy(&ev->dst.v4, &ip->daddr, 4);
        ev->protocol = ip->protocol;
        l4_offset = (size_t)ip->ihl * 4;
    } else if (len >= sizeof(struct ip6_hdr) && (p[0] >> 4) == 6) {
        const struct ip6_hdr *ip6 = (const struct ip6_hdr *)p;

        ev->family = AF_INET6;
        ev->src.v6 = ip6->ip6_src;
        ev->dst.v6 = ip6->ip6_dst;
        /* NOTE: extension headers are not walked; a packet with one
         * reports their type and no port. */
        ev->protocol = ip6->ip6_nxt;
        l4_offset = sizeof(*ip6);
    } else {
        return false;
    }

    if ((ev->protocol == IPPROTO_TCP || ev->protocol == IPPROTO_UDP) &&
        len >= l4_offset + 4) {
        uint16_t port;

        memcpy(&port, p + l4_offset + 2, sizeof(port));
        ev->dport = ntohs(port);
    }
    return true;
}

struct read_state {
    nflog_callback callback;
    void *data;
    int count;
};

static int attr_store(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(attr);

    if (mnl_attr_type_valid(attr, NFULA_MAX) > 0)
        tb[type] = attr;
    return MNL_CB_OK;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
    const struct nlattr *tb[NFULA_MAX + 1] = {0};
    struct read_state *state = data;
    struct nflog_event ev;

    if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
        return MNL_CB_OK;
    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_store, tb);
    if (!tb[NFULA_PAYLOAD])
        return MNL_CB_OK;

    memset(&ev, 0, sizeof(ev));
    if (!parse_payload(mnl_attr_get_payload(tb[NFULA_PAYLOAD]),
                       mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]), &ev))
        return MNL_CB_OK;
    if (tb[NFULA_PREFIX])
        snprintf(ev.prefix, sizeof(ev.prefix), "%.*s",
                 (int)mnl_attr_get_payload_len(tb[NFULA_PREFIX]),
                 (const char *)mnl_attr_get_payload(tb[NFULA_PREFIX]));
    if (tb[NFULA_IFINDEX_INDEV])
        ev.ifindex = ntohl(mnl_attr_get_u32(tb[NFULA_IFINDEX_INDEV]));

    state->callback(&ev, state->data);
    state->count++;
    return MNL_CB_OK;
}

int nflog_read(int fd, nflog_callback callback, void *data)
{
    struct read_state state = {callback, data, 0};
    _cleanup_free_ char *buf = malloc(READ_BUFFER_SIZE);
    ssize_t n;

    if (!buf)
        return -ENOMEM;
    while ((n = recv(fd, buf, READ_BUFFER_SIZE, MSG_DONTWAIT)) > 0) {
        if (mnl_cb_run(buf, (size_t)n, 0, 0, packet_cb, &state) < 0)
            return neg_errno();
    }
    /* ENOBUFS means the kernel dropped messages while we were slow; the
     * drops themselves still happened, so carry on reading. */
    if (n < 0 && errno != EAGAIN && errno != ENOBUFS)
        return neg_errno();
    return state.count;
}

int nflog_prefix_tenant(const char *prefix, unsigned *ret_tenant)
{
    const char *digits = prefix + strlen(NETPOLICY_LINK_PREFIX ":");
    unsigned long tenant;
    char *end;

    if (strncmp(prefix, NETPOLICY_LINK_PREFIX ":",
                strlen(NETPOLICY_LINK_PREFIX ":")) != 0 ||
        *digits < '0' || *digits > '9')
        return -EINVAL;
    errno = 0;
    tenant = strtoul(digits, &end, 10);
    if (errno != 0 || *end != '\0' || tenant >= UINT32_MAX)
        return -EINVAL;
    *ret_tenant = (unsigned)tenant;
    return 0;
}
