/* Request dispatch: envelope checks, caller identity, the verb table with
 * its role rules, one transaction per request and an audit event for
 * every request, accepted or refused. */
#include "supervisor/conn.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct verb *const verb_tables[] = {
    status_verbs,
    tenant_verbs,
    user_verbs,
    network_verbs,
    sandbox_verbs,
    job_verbs,
    audit_verbs,
    dataset_verbs,
    lifecycle_verbs,
    report_verbs,
    review_verbs,
};

static const char *const role_names[] = {"admin", "operator", "reviewer",
                                         "auditor"};

const char *role_to_string(enum role role)
{
    for (unsigned i = 0; i < ARRAY_SIZE(role_names); i++)
        if (role == (enum role)(1u << i))
            return role_names[i];
    return "none";
}

int role_from_string(const char *s)
{
    for (unsigned i = 0; i < ARRAY_SIZE(role_names); i++)
        if (strcmp(s, role_names[i]) == 0)
            return (int)(1u << i);
    return -EINVAL;
}

static const struct verb *find_verb(const char *name)
{
    for (size_t t = 0; t < ARRAY_SIZE(verb_tables); t++)
        for (const struct verb *v = verb_tables[t]; v->name; v++)
            if (strcmp(v->name, name) == 0)
                return v;
    return NULL;
}

static void describe_roles(unsigned roles, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < ARRAY_SIZE(role_names); i++) {
        if (!(roles & (1u << i)))
            continue;
        len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                len ? " or " : "", role_names[i]);
        if (len >= size)
            break;
    }
}

int resolve_caller(struct daemon *d, uid_t uid, pid_t pid,
                   struct caller *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    memset(ret, 0, sizeof(*ret));
    ret->uid = uid;
    ret->pid = pid;
    r = db_prepare(d->db,
                   "SELECT u.id, u.login, u.role, u.tenant_id, t.name "
                   "FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id "
                   "WHERE u.uid = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, uid);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        ret->user_id = sqlite3_column_int64(stmt, 0);
        snprintf(ret->login, sizeof(ret->login), "%s", db_text(stmt, 1));
        r = role_from_string(db_text(stmt, 2));
        ret->role = r > 0 ? (enum role)r : 0;
        ret->tenant_id = sqlite3_column_int64(stmt, 3);
        snprintf(ret->tenant, sizeof(ret->tenant), "%s", db_text(stmt, 4));
        r = 0;
    } else if (rc == SQLITE_DONE && uid == 0) {
        /* uid 0 is the bootstrap admin until someone registers it. */
        snprintf(ret->login, sizeof(ret->login), "root");
        ret->role = ROLE_ADMIN;
        r = 0;
    } else if (rc == SQLITE_DONE) {
        r = werr_set(err, -EACCES,
                     "uid %u is not registered with warden: ask a platform "
                     "admin to register you with 'warden user add'",
                     uid);
    } else {
        r = db_error(d->db, rc, "looking up the caller", err);
    }
    sqlite3_finalize(stmt);
    return r;
}

int record_event(struct daemon *d, const struct caller *who,
                 const char *tenant, const char *action, const char *object,
                 const char *result, json_t *details, struct werr *err)
{
    char chain[AUDIT_CHAIN_MAX];
    struct audit_event ev = {0};
    int r;

    if (tenant && tenant[0])
        snprintf(chain, sizeof(chain), "%s%s", AUDIT_TENANT_PREFIX, tenant);
    else
        snprintf(chain, sizeof(chain), "%s", AUDIT_PLATFORM_CHAIN);
    ev.chain = chain;
    ev.time_ns = daemon_now_ns(d);
    ev.actor = who && who->login[0] ? who->login : "-";
    ev.uid = who ? (int64_t)who->uid : -1;
    ev.tenant = tenant && tenant[0] ? tenant : NULL;
    ev.action = action;
    ev.object = object && object[0] ? object : NULL;
    ev.result = result;
    ev.details = details;
    r = audit_append(d->audit, &ev, NULL, NULL, err);
    if (r < 0)
        return r;
    return audit_checkpoint_maybe(d->audit, chain, &d->audit_key,
                                  d->cfg.checkpoint_events,
                                  (int64_t)d->cfg.checkpoint_seconds *
                                      1000000000LL,
                                  ev.time_ns, err) < 0
               ? werr_prefix(err, "signing an audit checkpoint")
               : 0;
}

static void reply_error(struct conn *c, json_int_t id, bool has_id, int code,
                        const char *message)
{
    json_t *msg = json_pack("{s:i, s:o, s:b, s:{s:s, s:s}}", "v",
                            PROTO_VERSION, "id",
                            has_id ? json_integer(id) : json_null(), "ok", 0,
                            "error", "code", proto_error_code(code),
                            "message", message);
    if (msg) {
        conn_reply(c, msg);
        json_decref(msg);
    }
}

static void reply_ok(struct conn *c, json_int_t id, json_t *result,
                     const int *fds, size_t nfds)
{
    json_t *msg = json_pack("{s:i, s:I, s:b, s:O}", "v", PROTO_VERSION, "id",
                            id, "ok", 1, "result",
                            result ? result : json_object());
    if (msg) {
        conn_reply_fds(c, msg, fds, nfds);
        json_decref(msg);
    }
}

/* Record a request that failed before or inside its handler, in its own
 * transaction, so the refusal is in the log even though the handler's
 * changes were rolled back. */
static void record_refusal(struct request *req, const char *verb,
                           const struct werr *failure)
{
    char result[WERR_MSG_MAX + 64];
    struct werr err = {0};

    snprintf(result, sizeof(result), "%s: %s",
             proto_error_code(failure->code), failure->msg);
    if (db_begin(req->d->db, &err) < 0 ||
        record_event(req->d, &req->caller, req->tenant, verb, req->object,
                     result, req->details, &err) < 0 ||
        db_commit(req->d->db, &err) < 0) {
        db_rollback(req->d->db);
        log_error("recording the rejected request '%s' of uid %u failed: %s",
                  verb, req->caller.uid, err.msg);
    }
}

static int check_envelope(json_t *msg, json_int_t *ret_id, bool *ret_has_id,
                          const char **ret_verb, json_t **ret_args,
                          json_int_t *ret_nfds, struct werr *err)
{
    json_t *v = json_object_get(msg, "v");
    json_t *id = json_object_get(msg, "id");
    json_t *verb = json_object_get(msg, "verb");
    json_t *args = json_object_get(msg, "args");
    json_t *fds = json_object_get(msg, "fds");

    if (json_is_integer(id)) {
        *ret_id = json_integer_value(id);
        *ret_has_id = true;
    }
    if (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION)
        return werr_set(err, -EPROTO,
                        "unsupported or missing protocol version 'v': this "
                        "wardend speaks version %d",
                        PROTO_VERSION);
    if (!*ret_has_id)
        return werr_set(err, -EPROTO, "missing integer request 'id'");
    if (!json_is_string(verb))
        return werr_set(err, -EPROTO, "missing string 'verb'");
    if (args && !json_is_object(args))
        return werr_set(err, -EPROTO, "'args' must be a JSON object");
    if (fds && (!json_is_integer(fds) || json_integer_value(fds) < 0 ||
                json_integer_value(fds) > PROTO_MAX_FDS))
        return werr_set(err, -EPROTO, "'fds' must be an integer from 0 to %d",
                        PROTO_MAX_FDS);
    *ret_verb = json_string_value(verb);
    *ret_args = args;
    *ret_nfds = fds ? json_integer_value(fds) : 0;
    return 0;
}

static int authorize(struct request *req, const struct verb *v,
                     struct werr *err)
{
    struct conn *c = req->conn;
    char needed[64];
    int r;

    if (c->sandbox_id[0]) {
        r = sandbox_caller(req->d, c->sandbox_id, &req->caller, err);
        if (r < 0)
            return r;
        if (!(v->flags & VERB_IN_SANDBOX))
            return werr_set(err, -EACCES,
                            "'%s' is not available inside a sandbox", v->name);
    } else {
        r = resolve_caller(req->d, c->uid, c->pid, &req->caller, err);
        if (r < 0)
            return r;
    }
    snprintf(req->tenant, sizeof(req->tenant), "%s", req->caller.tenant);
    if (req->caller.role & v->roles)
        return 0;
    describe_roles(v->roles, needed, sizeof(needed));
    return werr_set(err, -EACCES, "'%s' needs the role %s; %s is %s",
                    v->name, needed, req->caller.login,
                    role_to_string(req->caller.role));
}

static int run_handler(struct request *req, const struct verb *v,
                       json_t **ret_result, struct werr *err)
{
    int r;

    r = db_begin(req->d->db, err);
    if (r < 0)
        return r;
    r = v->fn(req, ret_result, err);
    if (r >= 0)
        r = record_event(req->d, &req->caller, req->tenant, v->name,
                         req->object, req->deferred ? "accepted" : "ok",
                         req->details, err);
    if (r >= 0)
        r = db_commit(req->d->db, err);
    if (r < 0) {
        db_rollback(req->d->db);
        json_decref(*ret_result);
        *ret_result = NULL;
    }
    return r;
}

static void close_request_fds(struct request *req)
{
    for (size_t i = 0; i < req->nfds; i++)
        if (req->fds[i] >= 0)
            close(req->fds[i]);
    req->nfds = 0;
    for (size_t i = 0; i < req->n_reply_fds; i++)
        close(req->reply_fds[i]);
    req->n_reply_fds = 0;
}

int dispatch_request(struct conn *c, struct daemon *d, const char *line)
{
    struct request req = {.d = d, .conn = c};
    struct werr err = {0};
    json_error_t jerr;
    json_t *msg, *result = NULL;
    const struct verb *v = NULL;
    const char *verb_name = "request.malformed";
    bool has_id = false;
    json_int_t nfds = 0;
    int r;

    msg = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg || !json_is_object(msg)) {
        r = werr_set(&err, -EPROTO,
                     "malformed request: %s at line %d column %d",
                     msg ? "not a JSON object" : jerr.text, jerr.line,
                     jerr.column);
        goto fail;
    }
    r = check_envelope(msg, &req.id, &has_id, &req.verb, &req.args, &nfds,
                       &err);
    if (r < 0)
        goto fail;
    for (json_int_t i = 0; i < nfds; i++) {
        int fd = proto_reader_take_fd(&c->reader);
        if (fd < 0) {
            r = werr_set(&err, -EPROTO,
                         "request announces %lld descriptors but %lld "
                         "arrived", (long long)nfds, (long long)i);
            goto fail;
        }
        req.fds[req.nfds++] = fd;
    }
    v = find_verb(req.verb);
    if (!v) {
        char capped[80];
        r = werr_set(&err, -EINVAL,
                     "unknown verb '%s': run 'warden --help' for the list",
                     log_cap(req.verb, capped, sizeof(capped)));
        verb_name = "request.unknown";
        goto fail;
    }
    verb_name = v->name;
    r = authorize(&req, v, &err);
    if (r < 0)
        goto fail;
    r = run_handler(&req, v, &result, &err);
    if (r < 0)
        goto fail;
    if (!req.deferred)
        reply_ok(c, req.id, result, req.reply_fds, req.n_reply_fds);
    json_decref(result);
    close_request_fds(&req);
    json_decref(req.details);
    json_decref(msg);
    return 0;

fail:
    reply_error(c, req.id, has_id, r, err.msg);
    if (!req.caller.login[0])
        snprintf(req.caller.login, sizeof(req.caller.login), "uid:%u",
                 c->uid);
    req.caller.uid = req.caller.uid ? req.caller.uid : c->uid;
    record_refusal(&req, verb_name, &err);
    log_info("request %s from uid %u rejected: %s", verb_name, c->uid,
             err.msg);
    close_request_fds(&req);
    json_decref(req.details);
    json_decref(msg);
    return r;
}
