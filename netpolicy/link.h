/* Thin wrapper around libnl-route: links, addresses and routes.  Every
 * function converts libnl's error codes to a negative errno at this one
 * boundary and explains a failure in err. */
#ifndef WARDEN_NETPOLICY_LINK_H
#define WARDEN_NETPOLICY_LINK_H

#include <netinet/in.h>
#include <stdbool.h>

#include "common/err.h"

struct nl_sock;

/* Open a route netlink socket in the caller's network namespace. */
int link_socket_open(struct nl_sock **ret_sk, struct werr *err);

/* Open a route netlink socket bound to the namespace netns_fd refers to.
 * A short-lived thread enters the namespace and opens the socket, so the
 * caller's own namespace never changes. */
int link_socket_open_in(int netns_fd, struct nl_sock **ret_sk,
                        struct werr *err);

void link_socket_close(struct nl_sock *sk);

/* Create a veth pair, both ends down: host_name in the socket's
 * namespace, peer_name directly in the namespace netns_fd refers to. */
int link_veth_create(struct nl_sock *sk, const char *host_name,
                     const char *peer_name, int netns_fd, struct werr *err);

/* Delete a link by name; -ENODEV when there is none. */
int link_delete(struct nl_sock *sk, const char *name, struct werr *err);

int link_get_ifindex(struct nl_sock *sk, const char *name, int *ret_ifindex,
                     struct werr *err);

int link_set_up(struct nl_sock *sk, int ifindex, struct werr *err);

/* Stop IPv6 address generation on a link that is still down, so that it
 * never gets a link-local address, and optionally turn on IPv4 forwarding
 * of packets that arrive on it.  (The kernel rejects these options while
 * creating a veth pair, hence a separate request.) */
int link_set_inet(struct nl_sock *sk, int ifindex, bool ipv4_forwarding,
                  struct werr *err);

/* Add local as a /32 with peer as its point-to-point peer, which also
 * installs the /32 route to peer through ifindex. */
int link_addr_add_peer(struct nl_sock *sk, int ifindex, struct in_addr local,
                       struct in_addr peer, struct werr *err);

int link_route_add_default(struct nl_sock *sk, int ifindex,
                           struct in_addr gateway, struct werr *err);

typedef void (*link_visit_fn)(const char *name, int ifindex, void *data);

/* Call visit for every link whose name starts with prefix. */
int link_foreach_prefix(struct nl_sock *sk, const char *prefix,
                        link_visit_fn visit, void *data, struct werr *err);

typedef void (*link_addr_visit_fn)(int ifindex, struct in_addr local,
                                   unsigned prefix_len, struct in_addr peer,
                                   void *data);

/* Call visit for every IPv4 address (peer is 0 when the address has none). */
int link_foreach_v4_addr(struct nl_sock *sk, link_addr_visit_fn visit,
                         void *data, struct werr *err);

#endif
