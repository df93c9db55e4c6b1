/* `warden status`: who the caller is and how the daemon is doing. */
#include "supervisor/daemon.h"

#include <stdio.h>
#include <unistd.h>

static int count_rows(struct daemon *d, const char *sql, json_int_t *ret,
                      struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r = db_prepare(d->db, sql, &stmt, err);

    if (r < 0)
        return r;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *ret = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

static int verb_status(struct request *req, json_t **ret_result,
                       struct werr *err)
{
    struct daemon *d = req->d;
    json_int_t tenants = 0, users = 0, events = 0;
    char pubkey[AUDIT_HEX_SIZE];
    int r;

    r = count_rows(d, "SELECT count(*) FROM tenants", &tenants, err);
    if (r == 0)
        r = count_rows(d, "SELECT count(*) FROM users", &users, err);
    if (r == 0)
        r = count_rows(d, "SELECT count(*) FROM audit_events", &events, err);
    if (r < 0)
        return r;
    audit_pubkey_to_hex(d->audit_key.public_key, pubkey);
    *ret_result = json_pack(
        "{s:s, s:I, s:I, s:{s:s, s:s, s:s?, s:I}, s:{s:I, s:I, s:I, s:s}}",
        "version", WARDEN_VERSION, "pid", (json_int_t)getpid(), "uptime",
        (json_int_t)(daemon_now(d) - d->started_at), "caller", "login",
        req->caller.login, "role", role_to_string(req->caller.role),
        "tenant", req->caller.tenant[0] ? req->caller.tenant : NULL, "uid",
        (json_int_t)req->caller.uid, "counts", "tenants", tenants, "users",
        users, "audit_events", events, "audit_pubkey", pubkey);
    return 0;
}

const struct verb status_verbs[] = {
    {"status", ROLE_ANY, VERB_READ_ONLY | VERB_IN_SANDBOX, verb_status},
    {NULL, 0, 0, NULL},
};
