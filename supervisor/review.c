/* The review queue: stored requests, their transitions, and the verbs of
 * reviewers (list, show, approve, reject, return, override, revoke).
 *
 * Separation of duties: only reviewers decide, never on a request of their
 * own tenant or their own.  Data requests for datasets of level 3 and
 * above, and approvals that override failed checks, need the approvals of
 * two different reviewers.  Every transition is an audit event in the
 * tenant's chain with the acting person. */
#include "supervisor/review.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_COLUMNS                                                            \
    "r.id, r.kind, t.name, t.id, t.uid_base, r.submitter, r.state, "         \
    "r.scenario, r.purpose, r.dataset, r.job_id, r.revision, "              \
    "r.approvals_needed, r.checks_passed, r.override_reason, r.created_at, " \
    "r.fetched_at"

static void read_row(sqlite3_stmt *stmt, struct review_row *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->id = sqlite3_column_int64(stmt, 0);
    snprintf(ret->kind, sizeof(ret->kind), "%s", db_text(stmt, 1));
    snprintf(ret->tenant, sizeof(ret->tenant), "%s", db_text(stmt, 2));
    ret->tenant_id = sqlite3_column_int64(stmt, 3);
    ret->uid_base = sqlite3_column_int64(stmt, 4);
    snprintf(ret->submitter, sizeof(ret->submitter), "%s", db_text(stmt, 5));
    snprintf(ret->state, sizeof(ret->state), "%s", db_text(stmt, 6));
    snprintf(ret->scenario, sizeof(ret->scenario), "%s", db_text(stmt, 7));
    snprintf(ret->purpose, sizeof(ret->purpose), "%s", db_text(stmt, 8));
    snprintf(ret->dataset, sizeof(ret->dataset), "%s", db_text(stmt, 9));
    snprintf(ret->job_id, sizeof(ret->job_id), "%s", db_text(stmt, 10));
    ret->revision = sqlite3_column_int64(stmt, 11);
    ret->approvals_needed = sqlite3_column_int(stmt, 12);
    ret->checks_passed = sqlite3_column_type(stmt, 13) == SQLITE_NULL
                             ? -1
                             : sqlite3_column_int(stmt, 13);
    ret->overridden = sqlite3_column_type(stmt, 14) != SQLITE_NULL;
    ret->created_at = sqlite3_column_int64(stmt, 15);
    ret->fetched_at = sqlite3_column_int64(stmt, 16);
}

int review_load(struct daemon *d, int64_t id, struct review_row *ret,
                struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT " ROW_COLUMNS " FROM review_requests r "
                   "JOIN tenants t ON t.id = r.tenant_id WHERE r.id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        read_row(stmt, ret);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "request %lld not found: see 'warden request list' "
                        "or 'warden review list'", (long long)id);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "reading the request",
                                           err);
}

int review_record(struct daemon *d, const struct review_row *row,
                  const struct caller *who, const char *action,
                  json_t *details, struct werr *err)
{
    char object[64];
    json_t *all = details ? details : json_object();
    int r;

    snprintf(object, sizeof(object), "request:%lld", (long long)row->id);
    json_object_set_new(all, "kind", json_string(row->kind));
    json_object_set_new(all, "revision", json_integer(row->revision));
    r = record_event(d, who, row->tenant, action, object, "ok", all, err);
    json_decref(all);
    return r;
}

int review_set_state(struct daemon *d, const struct review_row *row,
                     const char *state, const struct caller *who,
                     const char *action, json_t *details, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *all = details ? details : json_object();
    int r, rc;

    r = db_prepare(d->db,
                   "UPDATE review_requests SET state = ?, updated_at = ? "
                   "WHERE id = ?",
                   &stmt, err);
    if (r < 0) {
        json_decref(all);
        return r;
    }
    sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)daemon_now(d));
    sqlite3_bind_int64(stmt, 3, row->id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(all);
        return db_error(d->db, rc, "storing the request state", err);
    }
    json_object_set_new(all, "from", json_string(row->state));
    json_object_set_new(all, "to", json_string(state));
    return review_record(d, row, who, action, all, err);
}

int review_tenant(struct daemon *d, const char *tenant, int64_t *ret_id,
                  int64_t *ret_uid_base, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db, "SELECT id, uid_base FROM tenants WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(stmt, 0);
        *ret_uid_base = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "tenant '%s' not found: see 'warden tenant list'",
                        tenant);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "reading the tenant",
                                           err);
}

int review_check_scenario(struct daemon *d, const char *tenant,
                          const char *scenario, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = NULL, *item;
    char names[600] = "";
    size_t i, used = 0;
    int r, rc, found = 0;

    r = db_prepare(d->db, "SELECT scenarios FROM tenants WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        list = json_loads(db_text(stmt, 0), 0, NULL);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return db_error(d->db, rc, "reading the tenant's scenarios", err);
    json_array_foreach(list, i, item) {
        if (json_is_string(item) &&
            strcmp(json_string_value(item), scenario) == 0)
            found = 1;
        if (used < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used,
                                     "%s'%s'", i ? ", " : "",
                                     json_string_value(item));
    }
    json_decref(list);
    if (found)
        return 0;
    return werr_set(err, -EINVAL,
                    "scenario '%.200s' is not an approved scenario of tenant "
                    "'%s': use one of %s", scenario, tenant, names);
}

int review_check_file_name(const char *name, struct werr *err)
{
    size_t len = strlen(name);

    if (len == 0 || len > REVIEW_NAME_MAX)
        return werr_set(err, -EINVAL,
                        "invalid file name '%.140s': use 1 to %d bytes",
                        name, REVIEW_NAME_MAX);
    if (name[0] == '.')
        return werr_set(err, -EINVAL,
                        "invalid file name '%s': it must not start with '.'",
                        name);
    if (!strcmp(name, "manifest.json") || !strcmp(name, "manifest.sig"))
        return werr_set(err, -EINVAL,
                        "invalid file name '%s': the release uses that name "
                        "for its manifest; rename the file", name);
    for (size_t i = 0; i < len; i++)
        if (name[i] == '/' || (unsigned char)name[i] < 0x20 ||
            name[i] == 0x7f)
            return werr_set(err, -EINVAL,
                            "invalid file name '%.140s': no '/' or control "
                            "characters allowed", name);
    return 0;
}

int review_store_files(struct daemon *d, int64_t id, int64_t revision,
                       const struct review_file *files, size_t n,
                       struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc = SQLITE_DONE;

    r = db_prepare(d->db,
                   "INSERT INTO review_files (request_id, revision, "
                   "position, name, source, sha256, size_bytes) "
                   "VALUES (?,?,?,?,?,?,?)",
                   &stmt, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, revision);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)i);
        sqlite3_bind_text(stmt, 4, files[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, files[i].source, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 6, files[i].sha256, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 7, (sqlite3_int64)files[i].size);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "storing the files",
                                            err);
}

int review_files_json(struct daemon *d, int64_t id, int64_t revision,
                      json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT name, sha256, size_bytes, type, source "
                   "FROM review_files WHERE request_id = ? AND revision = ? "
                   "ORDER BY position",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, revision);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:I, s:s?, s:s}", "name",
                            db_text(stmt, 0), "sha256", db_text(stmt, 1),
                            "size", (json_int_t)sqlite3_column_int64(stmt, 2),
                            "type",
                            sqlite3_column_type(stmt, 3) == SQLITE_NULL
                                ? NULL
                                : db_text(stmt, 3),
                            "source", db_text(stmt, 4)));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(d->db, rc, "listing the request's files", err);
    }
    *ret = list;
    return 0;
}

json_t *review_row_json(const struct review_row *row)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, "
                          "s:b}",
                          "id", (json_int_t)row->id, "kind", row->kind,
                          "tenant", row->tenant, "submitter", row->submitter,
                          "state", row->state, "purpose", row->purpose,
                          "revision", (json_int_t)row->revision,
                          "created_at", (json_int_t)row->created_at,
                          "approvals_needed", row->approvals_needed,
                          "overridden", row->overridden);

    json_object_set_new(o, "scenario", row->scenario[0]
                                           ? json_string(row->scenario)
                                           : json_null());
    if (row->dataset[0])
        json_object_set_new(o, "dataset", json_string(row->dataset));
    if (row->job_id[0])
        json_object_set_new(o, "job", json_string(row->job_id));
    json_object_set_new(o, "checks_passed",
                        row->checks_passed < 0
                            ? json_null()
                            : json_boolean(row->checks_passed));
    if (row->fetched_at)
        json_object_set_new(o, "fetched_at",
                            json_integer((json_int_t)row->fetched_at));
    return o;
}

static bool is_pending(const char *state)
{
    return !strcmp(state, "submitted") || !strcmp(state, "checked") ||
           !strcmp(state, "in_review") || !strcmp(state, "returned");
}

int review_list_json(struct daemon *d, const char *kind, const char *tenant,
                     bool pending, json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT " ROW_COLUMNS " FROM review_requests r "
                   "JOIN tenants t ON t.id = r.tenant_id "
                   "WHERE (?1 IS NULL OR r.kind = ?1) "
                   "AND (?2 IS NULL OR t.name = ?2) ORDER BY r.id",
                   &stmt, err);
    if (r < 0)
        return r;
    if (kind)
        sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    if (tenant)
        sqlite3_bind_text(stmt, 2, tenant, -1, SQLITE_STATIC);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct review_row row;

        read_row(stmt, &row);
        if (!pending || is_pending(row.state))
            json_array_append_new(list, review_row_json(&row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(d->db, rc, "listing requests", err);
    }
    *ret = list;
    return 0;
}

static int request_id_arg(struct request *req, struct review_row *ret,
                          struct werr *err)
{
    json_int_t id;
    int r;

    r = arg_int(req->args, "id", true, 1, INT64_MAX, &id, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "request:%lld",
             (long long)id);
    r = review_load(req->d, id, ret, err);
    if (r == 0)
        snprintf(req->tenant, sizeof(req->tenant), "%s", ret->tenant);
    return r;
}

/* Separation of duties: a reviewer never decides on a request of their
 * own tenant or on their own request. */
static int check_may_review(const struct request *req,
                            const struct review_row *row, struct werr *err)
{
    const struct caller *c = &req->caller;

    if (c->tenant[0] && strcmp(c->tenant, row->tenant) == 0)
        return werr_set(err, -EACCES,
                        "%s belongs to tenant '%s' and cannot review its "
                        "request %lld: ask a reviewer outside the tenant",
                        c->login, row->tenant, (long long)row->id);
    if (strcmp(c->login, row->submitter) == 0)
        return werr_set(err, -EACCES,
                        "%s submitted request %lld and cannot review it",
                        c->login, (long long)row->id);
    return 0;
}

static int check_decidable(const struct review_row *row, struct werr *err)
{
    if (!strcmp(row->state, "checked") || !strcmp(row->state, "in_review"))
        return 0;
    if (!strcmp(row->state, "submitted"))
        return werr_set(err, -EBUSY,
                        "request %lld is still being checked: try again "
                        "when its state is 'checked'", (long long)row->id);
    return werr_set(err, -EALREADY,
                    "request %lld is %s: only checked requests and "
                    "requests in review can be decided",
                    (long long)row->id, row->state);
}

static int insert_decision(struct daemon *d, const struct review_row *row,
                           const char *reviewer, const char *decision,
                           const char *reason, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "INSERT INTO review_decisions (request_id, revision, "
                   "reviewer, decision, reason, decided_at) "
                   "VALUES (?,?,?,?,?,?)",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, row->id);
    sqlite3_bind_int64(stmt, 2, row->revision);
    sqlite3_bind_text(stmt, 3, reviewer, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, decision, -1, SQLITE_STATIC);
    if (reason)
        sqlite3_bind_text(stmt, 5, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)daemon_now(d));
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "storing the decision",
                                            err);
}

/* Decisions as a JSON array of {"reviewer", "decision", "reason", "at",
 * "revision"}: every decision with all_decisions, else the approvals of
 * the current revision (overrides count as approvals). */
static int approvals_json(struct daemon *d, const struct review_row *row,
                          bool all_decisions, json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT reviewer, decision, reason, decided_at, revision "
                   "FROM review_decisions WHERE request_id = ?1 AND "
                   "(?2 OR (revision = ?3 AND decision IN "
                   "('approve', 'override'))) ORDER BY id",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, row->id);
    sqlite3_bind_int(stmt, 2, all_decisions);
    sqlite3_bind_int64(stmt, 3, row->revision);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s?, s:I, s:I}", "reviewer",
                            db_text(stmt, 0), "decision", db_text(stmt, 1),
                            "reason",
                            sqlite3_column_type(stmt, 2) == SQLITE_NULL
                                ? NULL
                                : db_text(stmt, 2),
                            "at", (json_int_t)sqlite3_column_int64(stmt, 3),
                            "revision",
                            (json_int_t)sqlite3_column_int64(stmt, 4)));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(d->db, rc, "listing the decisions", err);
    }
    *ret = list;
    return 0;
}

static int update_decided(struct daemon *d, const struct review_row *row,
                          const char *released_as, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t now = (int64_t)daemon_now(d);
    int r, rc;

    r = db_prepare(d->db,
                   "UPDATE review_requests SET decided_at = ?1, "
                   "released_at = CASE WHEN ?2 THEN ?1 ELSE released_at END, "
                   "released_as = COALESCE(?3, released_as) WHERE id = ?4",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, now);
    sqlite3_bind_int(stmt, 2, released_as != NULL);
    if (released_as)
        sqlite3_bind_text(stmt, 3, released_as, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, row->id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "storing the decision",
                                            err);
}

/* The last approval: approved, then released (exports, imports) or
 * granted (data), in the request's transaction. */
static int finish_approval(struct request *req, struct review_row *row,
                           json_t *approvers, const char **ret_state,
                           struct werr *err)
{
    struct daemon *d = req->d;
    char name[REVIEW_NAME_MAX + 32];
    int r;

    r = tenant_require_active(d, row->tenant, err);
    if (r < 0)
        return werr_prefix(err, "cannot release request %lld",
                           (long long)row->id);
    r = review_set_state(d, row, "approved", &req->caller, "review.approved",
                         json_pack("{s:O}", "approvers", approvers), err);
    if (r < 0)
        return r;
    snprintf(row->state, sizeof(row->state), "approved");
    if (!strcmp(row->kind, "data")) {
        r = grant_create(d, row->dataset, row->tenant, row->scenario,
                         &req->caller, err);
        if (r == 0)
            r = update_decided(d, row, row->dataset, err);
        if (r == 0)
            r = review_set_state(d, row, "granted", &req->caller,
                                 "review.granted",
                                 json_pack("{s:s, s:s}", "dataset",
                                           row->dataset, "scenario",
                                           row->scenario),
                                 err);
        *ret_state = "granted";
        return r;
    }
    if (!strcmp(row->kind, "import")) {
        r = review_release_import(d, row, name, sizeof(name), err);
        if (r == 0)
            r = update_decided(d, row, name, err);
        if (r == 0)
            r = review_set_state(d, row, "released", &req->caller,
                                 "review.released",
                                 json_pack("{s:s}", "inbox", name), err);
        *ret_state = "released";
        return r;
    }
    r = review_release_export(d, row, approvers, err);
    if (r == 0)
        r = update_decided(d, row, "outgoing", err);
    if (r == 0)
        r = review_set_state(d, row, "released", &req->caller,
                             "review.released", NULL, err);
    if (r < 0)
        review_remove_outgoing(d, row, &(struct werr){0});
    *ret_state = "released";
    return r;
}

static int approve(struct request *req, const char *note,
                   const char *override, json_t **ret_result,
                   struct werr *err)
{
    struct review_row row;
    json_t *approvers = NULL;
    const char *state = NULL;
    size_t i;
    json_t *a;
    int r;

    r = request_id_arg(req, &row, err);
    if (r == 0)
        r = check_may_review(req, &row, err);
    if (r == 0)
        r = check_decidable(&row, err);
    if (r < 0)
        return r;
    if (row.checks_passed == 0 && !override && !row.overridden)
        return werr_set(err, -EPERM,
                        "request %lld failed its automatic checks (see "
                        "'warden review show %lld'): reject it, or approve "
                        "with 'warden review override %lld --reason TEXT', "
                        "which needs a second reviewer",
                        (long long)row.id, (long long)row.id,
                        (long long)row.id);
    r = approvals_json(req->d, &row, false, &approvers, err);
    if (r < 0)
        return r;
    json_array_foreach(approvers, i, a)
        if (!strcmp(json_string_value(json_object_get(a, "reviewer")),
                    req->caller.login)) {
            json_decref(approvers);
            return werr_set(err, -EALREADY,
                            "%s already approved request %lld: a second "
                            "approval must come from another reviewer",
                            req->caller.login, (long long)row.id);
        }
    json_decref(approvers);
    r = insert_decision(req->d, &row, req->caller.login,
                        override ? "override" : "approve",
                        override ? override : note, err);
    if (r == 0 && override) {
        sqlite3_stmt *stmt = NULL;
        int rc;

        r = db_prepare(req->d->db,
                       "UPDATE review_requests SET override_reason = ?, "
                       "approvals_needed = MAX(approvals_needed, 2) "
                       "WHERE id = ?",
                       &stmt, err);
        if (r == 0) {
            sqlite3_bind_text(stmt, 1, override, -1, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 2, row.id);
            rc = sqlite3_step(stmt);
            sqlite3_finalize(stmt);
            if (rc != SQLITE_DONE)
                r = db_error(req->d->db, rc, "storing the override", err);
        }
        if (r == 0)
            r = review_record(req->d, &row, &req->caller, "review.overridden",
                              json_pack("{s:s}", "reason", override), err);
        if (r == 0 && row.approvals_needed < 2)
            row.approvals_needed = 2;
        row.overridden = true;
    }
    if (r == 0)
        r = approvals_json(req->d, &row, false, &approvers, err);
    if (r < 0)
        return r;
    if (json_array_size(approvers) < (size_t)row.approvals_needed) {
        r = review_set_state(req->d, &row, "in_review", &req->caller,
                             "review.approval",
                             json_pack("{s:s?, s:I, s:i}", "note", note,
                                       "approvals",
                                       (json_int_t)json_array_size(approvers),
                                       "needed", row.approvals_needed),
                             err);
        state = "in_review";
    } else {
        r = finish_approval(req, &row, approvers, &state, err);
    }
    if (r == 0)
        *ret_result = json_pack("{s:I, s:s, s:I, s:i}", "id",
                                (json_int_t)row.id, "state", state,
                                "approvals",
                                (json_int_t)json_array_size(approvers),
                                "needed", row.approvals_needed);
    json_decref(approvers);
    return r;
}

static int verb_approve(struct request *req, json_t **ret_result,
                        struct werr *err)
{
    const char *note, *override;
    int r;

    r = arg_string(req->args, "note", false, REVIEW_REASON_MAX, &note, err);
    if (r == 0)
        r = arg_string(req->args, "override", false, REVIEW_REASON_MAX,
                       &override, err);
    if (r < 0)
        return r;
    if (override && !override[0])
        return werr_set(err, -EINVAL, "an override needs a reason");
    return approve(req, note, override, ret_result, err);
}

static int verb_override(struct request *req, json_t **ret_result,
                         struct werr *err)
{
    const char *reason;
    int r;

    r = arg_string(req->args, "reason", true, REVIEW_REASON_MAX, &reason,
                   err);
    if (r < 0)
        return r;
    return approve(req, NULL, reason, ret_result, err);
}

/* Reject (final) or return for changes. */
static int decide_against(struct request *req, bool reject,
                          json_t **ret_result, struct werr *err)
{
    const char *state = reject ? "rejected" : "returned";
    struct review_row row;
    const char *reason;
    int r;

    r = arg_string(req->args, "reason", true, REVIEW_REASON_MAX, &reason,
                   err);
    if (r == 0)
        r = request_id_arg(req, &row, err);
    if (r == 0)
        r = check_may_review(req, &row, err);
    if (r == 0)
        r = check_decidable(&row, err);
    if (r == 0 && !reject && !strcmp(row.kind, "data"))
        r = werr_set(err, -EINVAL,
                     "data requests cannot be returned for changes: reject "
                     "it and let the tenant request again");
    if (r == 0)
        r = insert_decision(req->d, &row, req->caller.login,
                            reject ? "reject" : "return", reason, err);
    if (r == 0 && reject)
        r = update_decided(req->d, &row, NULL, err);
    if (r == 0)
        r = review_set_state(req->d, &row, state, &req->caller,
                             reject ? "review.rejected" : "review.returned",
                             json_pack("{s:s}", "reason", reason), err);
    if (r < 0)
        return r;
    *ret_result = json_pack("{s:I, s:s}", "id", (json_int_t)row.id, "state",
                            state);
    return 0;
}

static int verb_reject(struct request *req, json_t **ret_result,
                       struct werr *err)
{
    return decide_against(req, true, ret_result, err);
}

static int verb_return(struct request *req, json_t **ret_result,
                       struct werr *err)
{
    return decide_against(req, false, ret_result, err);
}

/* Take back a released export that nobody fetched yet. */
static int verb_revoke(struct request *req, json_t **ret_result,
                       struct werr *err)
{
    struct review_row row;
    const char *reason;
    int r;

    r = arg_string(req->args, "reason", true, REVIEW_REASON_MAX, &reason,
                   err);
    if (r == 0)
        r = request_id_arg(req, &row, err);
    if (r < 0)
        return r;
    if (strcmp(row.kind, "export") != 0 || strcmp(row.state, "released") != 0)
        return werr_set(err, -EALREADY,
                        "request %lld is a %s request in state %s: only "
                        "released exports can be revoked",
                        (long long)row.id, row.kind, row.state);
    if (row.fetched_at)
        return werr_set(err, -EALREADY,
                        "export %lld was already fetched and can no longer "
                        "be revoked", (long long)row.id);
    r = insert_decision(req->d, &row, req->caller.login, "revoke", reason,
                        err);
    if (r == 0)
        r = review_set_state(req->d, &row, "revoked", &req->caller,
                             "review.revoked",
                             json_pack("{s:s}", "reason", reason), err);
    if (r == 0)
        r = review_remove_outgoing(req->d, &row, err);
    if (r < 0)
        return r;
    *ret_result = json_pack("{s:I, s:s}", "id", (json_int_t)row.id, "state",
                            "revoked");
    return 0;
}

static int verb_list(struct request *req, json_t **ret_result,
                     struct werr *err)
{
    const char *kind, *tenant;
    bool all = false;
    json_t *list = NULL;
    int r;

    r = arg_string(req->args, "kind", false, 16, &kind, err);
    if (r == 0)
        r = arg_string(req->args, "tenant", false, 64, &tenant, err);
    if (r == 0)
        r = arg_bool(req->args, "all", &all, err);
    if (r < 0)
        return r;
    if (kind && strcmp(kind, "data") && strcmp(kind, "import") &&
        strcmp(kind, "export"))
        return werr_set(err, -EINVAL,
                        "invalid kind '%.20s': use data, import or export",
                        kind);
    r = review_list_json(req->d, kind, tenant, !all, &list, err);
    if (r < 0)
        return r;
    *ret_result = json_pack("{s:o}", "requests", list);
    return 0;
}

/* Earlier requests of the same tenant, newest first, so that a reviewer
 * can compare this export with what already left. */
static int earlier_json(struct daemon *d, const struct review_row *row,
                        json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT r.id, r.kind, r.state, r.created_at, "
                   "(SELECT json_group_array(json_object('name', f.name, "
                   "'sha256', f.sha256)) FROM review_files f "
                   "WHERE f.request_id = r.id AND f.revision = r.revision) "
                   "FROM review_requests r WHERE r.tenant_id = ? AND "
                   "r.id < ? ORDER BY r.id DESC LIMIT 20",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, row->tenant_id);
    sqlite3_bind_int64(stmt, 2, row->id);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(
            list, json_pack("{s:I, s:s, s:s, s:I, s:o}", "id",
                            (json_int_t)sqlite3_column_int64(stmt, 0), "kind",
                            db_text(stmt, 1), "state", db_text(stmt, 2),
                            "created_at",
                            (json_int_t)sqlite3_column_int64(stmt, 3),
                            "files",
                            json_loads(db_text(stmt, 4), 0, NULL)
                                ?: json_array()));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(d->db, rc, "listing earlier requests", err);
    }
    *ret = list;
    return 0;
}

static int load_checks(struct daemon *d, const struct review_row *row,
                       json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT checks, provenance, override_reason "
                   "FROM review_requests WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, row->id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ret = json_pack("{s:o, s:o, s:s?}", "checks",
                         json_loads(db_text(stmt, 0), 0, NULL) ?: json_null(),
                         "provenance",
                         json_loads(db_text(stmt, 1), 0, NULL) ?: json_null(),
                         "override_reason",
                         sqlite3_column_type(stmt, 2) == SQLITE_NULL
                             ? NULL
                             : db_text(stmt, 2));
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "reading the checks",
                                           err);
}

static int verb_show(struct request *req, json_t **ret_result,
                     struct werr *err)
{
    struct review_row row;
    json_t *result, *files = NULL, *decisions = NULL, *earlier = NULL;
    json_t *extra = NULL, *file;
    struct werr ignored = {0};
    size_t i;
    int r;

    r = request_id_arg(req, &row, err);
    if (r < 0)
        return r;
    /* The first reviewer who may decide and opens a checked request
     * moves it into review. */
    if (!strcmp(row.state, "checked") && (req->caller.role & ROLE_REVIEWER) &&
        check_may_review(req, &row, &ignored) == 0) {
        r = review_set_state(req->d, &row, "in_review", &req->caller,
                             "review.opened", NULL, err);
        if (r < 0)
            return r;
        snprintf(row.state, sizeof(row.state), "in_review");
    }
    r = review_files_json(req->d, row.id, row.revision, &files, err);
    if (r == 0)
        r = approvals_json(req->d, &row, true, &decisions, err);
    if (r == 0)
        r = earlier_json(req->d, &row, &earlier, err);
    if (r == 0)
        r = load_checks(req->d, &row, &extra, err);
    if (r < 0) {
        json_decref(files);
        json_decref(decisions);
        json_decref(earlier);
        return r;
    }
    json_array_foreach(files, i, file) {
        const char *type = json_string_value(json_object_get(file, "type"));

        if (type && strcmp(type, "png") != 0 && strcmp(type, "pdf") != 0)
            json_object_set_new(
                file, "preview",
                review_preview(req->d, json_string_value(json_object_get(
                                           file, "sha256"))));
    }
    result = review_row_json(&row);
    json_object_update(result, extra);
    json_decref(extra);
    json_object_set_new(result, "files", files);
    json_object_set_new(result, "decisions", decisions);
    json_object_set_new(result, "earlier", earlier);
    *ret_result = result;
    return 0;
}

const struct verb review_verbs[] = {
    /* Tenants submit from their sandboxes or, as operators, from the
     * host.  Imports come from the host only, since the file is outside;
     * fetching happens on the host only, since the export leaves. */
    {"export.submit", ROLE_OPERATOR, VERB_IN_SANDBOX,
     review_verb_export_submit},
    {"export.resubmit", ROLE_OPERATOR, VERB_IN_SANDBOX,
     review_verb_export_resubmit},
    {"data.request", ROLE_OPERATOR, VERB_IN_SANDBOX,
     review_verb_data_request},
    {"request.list", ROLE_OPERATOR, VERB_IN_SANDBOX | VERB_READ_ONLY,
     review_verb_request_list},
    {"request.withdraw", ROLE_OPERATOR, VERB_IN_SANDBOX,
     review_verb_request_withdraw},
    {"import.submit", ROLE_ADMIN | ROLE_OPERATOR, 0,
     review_verb_import_submit},
    {"export.fetch", ROLE_OPERATOR, 0, review_verb_export_fetch},
    {"review.list", ROLE_REVIEWER | ROLE_AUDITOR, VERB_READ_ONLY, verb_list},
    {"review.show", ROLE_REVIEWER | ROLE_AUDITOR, 0, verb_show},
    {"review.approve", ROLE_REVIEWER, 0, verb_approve},
    {"review.override", ROLE_REVIEWER, 0, verb_override},
    {"review.reject", ROLE_REVIEWER, 0, verb_reject},
    {"review.return", ROLE_REVIEWER, 0, verb_return},
    {"review.revoke", ROLE_REVIEWER | ROLE_ADMIN, 0, verb_revoke},
    {NULL, 0, 0, NULL},
};
