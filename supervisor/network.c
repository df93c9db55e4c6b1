/* Per-tenant network policy: allowlists stored in the database and pushed
 * to the netpolicy module, and dropped packets turned into audit events.
 * A failure to set up the network layer at start is not fatal: tenants in
 * mode none keep working, and internal mode reports why it is missing. */
#include "supervisor/daemon.h"

#include "common/cleanup.h"
#include "common/log.h"
#include "netpolicy/netpolicy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define NET_MAX_ENDPOINTS 256
/* Drops are summed over this window before they become audit events. */
#define NET_DROP_WINDOW_MS 5000
#define NET_DROP_MAX_KEYS 256

unsigned network_tenant_index(const struct daemon *d, int64_t uid_base)
{
    return (unsigned)((uid_base - d->cfg.uid_base) / 65536);
}

struct tenant_row {
    int64_t id;
    int64_t uid_base;
    char state[16];
    char mode[16];
};

static int load_tenant(struct daemon *d, const char *name,
                       struct tenant_row *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT id, uid_base, state, net_mode FROM tenants "
                   "WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        ret->id = sqlite3_column_int64(stmt, 0);
        ret->uid_base = sqlite3_column_int64(stmt, 1);
        snprintf(ret->state, sizeof(ret->state), "%s", db_text(stmt, 2));
        snprintf(ret->mode, sizeof(ret->mode), "%s", db_text(stmt, 3));
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "tenant '%s' not found: see 'warden tenant list'",
                        name);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "reading the tenant",
                                           err);
}

int network_tenant_mode(struct daemon *d, const char *tenant,
                        unsigned *ret_index, struct werr *err)
{
    struct tenant_row t;
    int r = load_tenant(d, tenant, &t, err);

    if (r < 0)
        return r;
    if (ret_index)
        *ret_index = network_tenant_index(d, t.uid_base);
    return strcmp(t.mode, "internal") == 0 ? 1 : 0;
}

/* Read a tenant's allowlist into endpoints (at most NET_MAX_ENDPOINTS). */
static int load_endpoints(struct daemon *d, int64_t tenant_id,
                          struct netpolicy_endpoint *endpoints,
                          size_t *ret_n, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    size_t n = 0;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT address, proto, port FROM tenant_endpoints "
                   "WHERE tenant_id = ? ORDER BY address, proto, port",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, tenant_id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < NET_MAX_ENDPOINTS) {
        char port[8];
        int port_value = sqlite3_column_int(stmt, 2);

        snprintf(port, sizeof(port), "%d", port_value);
        r = netpolicy_parse_endpoint(db_text(stmt, 0), db_text(stmt, 1),
                                     port_value ? port : NULL,
                                     &endpoints[n], err);
        if (r < 0)
            break;
        n++;
    }
    sqlite3_finalize(stmt);
    if (r < 0)
        return werr_prefix(err, "stored allowlist entry is invalid");
    *ret_n = n;
    return 0;
}

/* Push the tenant's rules: its allowlist, or nothing while it is not
 * active (a suspended tenant is cut off). */
static int apply_tenant(struct daemon *d, const char *tenant,
                        struct werr *err)
{
    struct netpolicy_endpoint endpoints[NET_MAX_ENDPOINTS];
    struct tenant_row t;
    size_t n = 0;
    int r;

    if (!d->net)
        return 0;
    r = load_tenant(d, tenant, &t, err);
    if (r < 0)
        return r;
    if (strcmp(t.state, "active") == 0 || strcmp(t.state, "pending") == 0) {
        r = load_endpoints(d, t.id, endpoints, &n, err);
        if (r < 0)
            return r;
    }
    return netpolicy_tenant_set(d->net, network_tenant_index(d, t.uid_base),
                                endpoints, n, err);
}

int network_tenant_cut(struct daemon *d, const char *tenant, bool cut,
                       struct werr *err)
{
    struct tenant_row t;
    int r;

    if (!d->net)
        return 0;
    if (!cut)
        return apply_tenant(d, tenant, err);
    r = load_tenant(d, tenant, &t, err);
    if (r < 0)
        return r;
    return netpolicy_tenant_set(d->net, network_tenant_index(d, t.uid_base),
                                NULL, 0, err);
}

int network_tenant_remove(struct daemon *d, const char *tenant,
                          struct werr *err)
{
    struct tenant_row t;
    int r;

    if (!d->net)
        return 0;
    r = load_tenant(d, tenant, &t, err);
    if (r < 0)
        return r;
    r = netpolicy_tenant_remove(d->net, network_tenant_index(d, t.uid_base),
                                err);
    return r == -ENOENT ? 0 : r;
}

static void emit_drop(const struct nflog_agg_record *rec, void *data)
{
    struct daemon *d = data;
    char src[INET6_ADDRSTRLEN] = "-", dst[INET6_ADDRSTRLEN] = "-";
    char tenant[64] = "";
    char object[160];
    struct werr err = {0};
    sqlite3_stmt *stmt = NULL;
    json_t *details;

    if (!rec->overflow && rec->key.tenant != NFLOG_AGG_NO_TENANT &&
        db_prepare(d->db, "SELECT name FROM tenants WHERE uid_base = ?",
                   &stmt, &err) == 0) {
        sqlite3_bind_int64(stmt, 1,
                           (int64_t)d->cfg.uid_base +
                               (int64_t)rec->key.tenant * 65536);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            snprintf(tenant, sizeof(tenant), "%s", db_text(stmt, 0));
        sqlite3_finalize(stmt);
    }
    if (!rec->overflow) {
        inet_ntop(rec->key.family, &rec->key.src, src, sizeof(src));
        inet_ntop(rec->key.family, &rec->key.dst, dst, sizeof(dst));
    }
    snprintf(object, sizeof(object), "%s:%u", dst, rec->key.dport);
    details = json_pack("{s:s, s:s, s:i, s:i, s:I, s:b}", "source", src,
                        "destination", dst, "protocol", rec->key.protocol,
                        "port", rec->key.dport, "count",
                        (json_int_t)rec->count, "overflow", rec->overflow);
    if (db_begin(d->db, &err) < 0 ||
        record_event(d, NULL, tenant, "net.drop", object, "dropped", details,
                     &err) < 0 ||
        db_commit(d->db, &err) < 0) {
        db_rollback(d->db);
        log_error("recording dropped packets of tenant '%s' failed: %s",
                  tenant, err.msg);
    }
    json_decref(details);
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void network_flush_drops(struct daemon *d, bool force)
{
    if (d->nflog_agg)
        nflog_agg_flush(d->nflog_agg, monotonic_ms(), force, emit_drop, d);
}

static void on_drop(const struct nflog_event *event, void *data)
{
    struct daemon *d = data;
    struct nflog_agg_key key;

    nflog_agg_key_from_event(event, &key);
    nflog_agg_add(d->nflog_agg, &key, monotonic_ms());
}

static void on_nflog(struct daemon *d, struct watch *w, uint32_t events)
{
    int n;

    (void)events;
    n = nflog_read(w->fd, on_drop, d);
    if (n < 0 && n != -EAGAIN)
        log_warning("reading dropped-packet records failed: %s",
                    strerror(-n));
    network_flush_drops(d, false);
}

static int reconcile(struct daemon *d, struct werr *err)
{
    struct netpolicy_tenant_spec specs[64];
    static struct netpolicy_endpoint endpoints[64][NET_MAX_ENDPOINTS];
    struct netpolicy_reconcile_stats stats = {0};
    sqlite3_stmt *stmt = NULL;
    size_t n = 0;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT id, uid_base, state FROM tenants "
                   "WHERE net_mode = 'internal' AND state IN "
                   "('pending', 'active', 'suspended') ORDER BY id",
                   &stmt, err);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < 64) {
        size_t count = 0;

        if (strcmp(db_text(stmt, 2), "suspended") != 0) {
            r = load_endpoints(d, sqlite3_column_int64(stmt, 0),
                               endpoints[n], &count, err);
            if (r < 0)
                break;
        }
        specs[n].tenant =
            network_tenant_index(d, sqlite3_column_int64(stmt, 1));
        specs[n].endpoints = endpoints[n];
        specs[n].n_endpoints = count;
        n++;
    }
    sqlite3_finalize(stmt);
    /* TODO: tenants beyond the first 64 in internal mode get their rules
     * only on their next allowlist change. */
    if (r < 0)
        return r;
    r = netpolicy_reconcile(d->net, specs, n, NULL, 0, &stats, err);
    if (r == 0)
        log_info("network rules rebuilt for %zu tenants; %zu stale links "
                 "removed", n, stats.links_removed);
    return r;
}

void network_start(struct daemon *d)
{
    struct netpolicy_pool pool;
    struct netpolicy_config config = {.pools = &pool, .n_pools = 1,
                                      .nflog_group =
                                          (uint16_t)d->cfg.nflog_group};
    struct werr err = {0};
    int fd;

    d->nflog_watch.fd = -1;
    if (netpolicy_pool_parse(d->cfg.address_pool, &pool, &err) < 0 ||
        netpolicy_new(&config, &d->net, &err) < 0 || reconcile(d, &err) < 0) {
        snprintf(d->net_error, sizeof(d->net_error), "%s", err.msg);
        log_error("network policy unavailable, internal mode disabled: %s",
                  err.msg);
        if (d->net)
            netpolicy_free(d->net);
        d->net = NULL;
        return;
    }
    d->nflog_agg = nflog_agg_new(NET_DROP_WINDOW_MS, NET_DROP_MAX_KEYS);
    fd = nflog_open((uint16_t)d->cfg.nflog_group, &err);
    if (fd < 0) {
        log_warning("dropped packets will not be audited: %s", err.msg);
        return;
    }
    d->nflog_watch = (struct watch){.fd = fd, .fn = on_nflog};
    if (loop_add(d, &d->nflog_watch, EPOLLIN) < 0)
        log_warning("watching the NFLOG socket failed");
}

void network_stop(struct daemon *d)
{
    network_flush_drops(d, true);
    if (d->nflog_watch.fd >= 0) {
        loop_del(d, &d->nflog_watch);
        close(d->nflog_watch.fd);
        d->nflog_watch.fd = -1;
    }
    nflog_agg_free(d->nflog_agg);
    d->nflog_agg = NULL;
    if (d->net)
        netpolicy_free(d->net);
    d->net = NULL;
}

/* ---- verbs ---- */

static int endpoint_args(struct request *req, struct netpolicy_endpoint *ep,
                         char *ret_address, size_t size, struct werr *err)
{
    const char *address, *proto, *port;
    char text[INET6_ADDRSTRLEN];
    int r;

    r = arg_string(req->args, "address", true, 64, &address, err);
    if (r == 0)
        r = arg_string(req->args, "proto", true, 8, &proto, err);
    if (r == 0)
        r = arg_string(req->args, "port", false, 8, &port, err);
    if (r == 0)
        r = netpolicy_parse_endpoint(address, proto, port, ep, err);
    if (r < 0)
        return r;
    inet_ntop(ep->family, &ep->addr, text, sizeof(text));
    snprintf(ret_address, size, "%s/%u", text, ep->prefix_len);
    return 0;
}

static int start_tenant_verb(struct request *req, struct tenant_row *t,
                             const char **ret_name, struct werr *err)
{
    int r = arg_string(req->args, "name", true, 64, ret_name, err);

    if (r == 0)
        r = load_tenant(req->d, *ret_name, t, err);
    if (r < 0)
        return r;
    snprintf(req->tenant, sizeof(req->tenant), "%s", *ret_name);
    snprintf(req->object, sizeof(req->object), "tenant:%s", *ret_name);
    if (strcmp(t->state, "terminated") == 0 || strcmp(t->state, "purged") == 0)
        return werr_set(err, -ESTALE, "tenant '%s' is %s", *ret_name,
                        t->state);
    return 0;
}

static int change_endpoint(struct request *req, bool add, json_t **ret_result,
                           struct werr *err)
{
    struct netpolicy_endpoint ep;
    struct tenant_row t;
    char address[80], port[16];
    const char *name;
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = start_tenant_verb(req, &t, &name, err);
    if (r == 0)
        r = endpoint_args(req, &ep, address, sizeof(address), err);
    if (r == 0)
        r = db_prepare(req->d->db,
                       add ? "INSERT INTO tenant_endpoints (tenant_id, "
                             "address, proto, port, added_by, added_at) "
                             "VALUES (?,?,?,?,?,?)"
                           : "DELETE FROM tenant_endpoints WHERE "
                             "tenant_id = ? AND address = ? AND proto = ? "
                             "AND port = ?",
                       &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, t.id);
    sqlite3_bind_text(stmt, 2, address, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, netpolicy_proto_to_string(ep.proto), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, ep.port);
    if (add) {
        sqlite3_bind_text(stmt, 5, req->caller.login, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, (sqlite3_int64)daemon_now(req->d));
    }
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (ep.port)
        snprintf(port, sizeof(port), "port %u", ep.port);
    else
        snprintf(port, sizeof(port), "any port");
    /* The database reports extended result codes, such as
     * SQLITE_CONSTRAINT_UNIQUE for a duplicate entry. */
    if (rc != SQLITE_DONE)
        return (rc & 0xff) == SQLITE_CONSTRAINT
                   ? werr_set(err, -EEXIST, "%s %s %s is already allowed "
                              "for tenant '%s'", address,
                              netpolicy_proto_to_string(ep.proto), port, name)
                   : db_error(req->d->db, rc, "storing the allowlist", err);
    if (!add && sqlite3_changes(req->d->db) == 0)
        return werr_set(err, -ENOENT,
                        "%s %s %s is not on the allowlist of tenant '%s': "
                        "see 'warden tenant net show %s'",
                        address, netpolicy_proto_to_string(ep.proto), port,
                        name, name);
    req->details = json_pack("{s:s, s:s, s:i}", "address", address, "proto",
                             netpolicy_proto_to_string(ep.proto), "port",
                             ep.port);
    /* The rules change inside the transaction's lifetime: if pushing them
     * fails, the stored allowlist is rolled back with the error. */
    r = apply_tenant(req->d, name, err);
    if (r < 0)
        return r;
    *ret_result = json_deep_copy(req->details);
    return 0;
}

static int verb_allow(struct request *req, json_t **ret_result,
                      struct werr *err)
{
    return change_endpoint(req, true, ret_result, err);
}

static int verb_deny(struct request *req, json_t **ret_result,
                     struct werr *err)
{
    return change_endpoint(req, false, ret_result, err);
}

static int verb_net_mode(struct request *req, json_t **ret_result,
                         struct werr *err)
{
    struct tenant_row t;
    const char *name, *mode;
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = start_tenant_verb(req, &t, &name, err);
    if (r == 0)
        r = arg_string(req->args, "mode", true, 16, &mode, err);
    if (r < 0)
        return r;
    if (strcmp(mode, "none") != 0 && strcmp(mode, "internal") != 0)
        return werr_set(err, -EINVAL,
                        "invalid network mode '%s': use none or internal",
                        mode);
    if (strcmp(mode, "internal") == 0 && !req->d->net)
        return werr_set(err, -ENOTSUP,
                        "internal mode is unavailable on this host: %s",
                        req->d->net_error);
    r = db_prepare(req->d->db, "UPDATE tenants SET net_mode = ? WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, mode, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, t.id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(req->d->db, rc, "updating the network mode", err);
    req->details = json_pack("{s:s, s:s}", "from", t.mode, "to", mode);
    if (strcmp(mode, "internal") == 0)
        r = apply_tenant(req->d, name, err);
    if (r == 0)
        r = sandboxes_network_changed(req->d, name, err);
    if (r < 0)
        return r;
    *ret_result = json_pack("{s:s, s:s}", "name", name, "mode", mode);
    return 0;
}

static int verb_net_show(struct request *req, json_t **ret_result,
                         struct werr *err)
{
    struct tenant_row t;
    const char *name;
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r == 0)
        r = load_tenant(req->d, name, &t, err);
    if (r < 0)
        return r;
    if (req->caller.role == ROLE_OPERATOR &&
        strcmp(req->caller.tenant, name) != 0)
        return werr_set(err, -EACCES,
                        "operators may only see their own tenant '%s'",
                        req->caller.tenant);
    snprintf(req->object, sizeof(req->object), "tenant:%s", name);
    r = db_prepare(req->d->db,
                   "SELECT address, proto, port, added_by, added_at FROM "
                   "tenant_endpoints WHERE tenant_id = ? ORDER BY address",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, t.id);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:i, s:s, s:I}", "address",
                            db_text(stmt, 0), "proto", db_text(stmt, 1),
                            "port", sqlite3_column_int(stmt, 2), "added_by",
                            db_text(stmt, 3), "added_at",
                            (json_int_t)sqlite3_column_int64(stmt, 4)));
    sqlite3_finalize(stmt);
    *ret_result = json_pack("{s:s, s:s, s:s, s:o, s:b}", "name", name,
                            "mode", t.mode, "state", t.state, "allow", list,
                            "cut", strcmp(t.state, "suspended") == 0);
    return 0;
}

const struct verb network_verbs[] = {
    {"tenant.net", ROLE_ADMIN, 0, verb_net_mode},
    {"tenant.allow", ROLE_ADMIN, 0, verb_allow},
    {"tenant.deny", ROLE_ADMIN, 0, verb_deny},
    {"tenant.net.show", ROLE_ANY, VERB_READ_ONLY, verb_net_show},
    {NULL, 0, 0, NULL},
};
