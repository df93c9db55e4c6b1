/* The real-name registry: every person who may act on the platform, bound
 * to a Unix uid, with the prerequisites an operator needs before getting a
 * shell.  Identity numbers are validated and never stored in clear: only a
 * masked form and a keyed hash (to find a person registered twice). */
#include "supervisor/daemon.h"

#include "common/cleanup.h"
#include "desensitize/pii.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define USER_COLUMNS                                                           \
    "u.login, u.uid, u.real_name, u.id_masked, u.role, t.name, "               \
    "u.agreement_date, u.training_date, u.approved_by, u.approved_at, "        \
    "u.created_at, u.created_by, t.state"

static void hash_identity(const struct daemon *d, const char *id,
                          unsigned char ret[32])
{
    char upper[19];
    size_t i;

    for (i = 0; id[i] && i < sizeof(upper) - 1; i++)
        upper[i] = id[i] == 'x' ? 'X' : id[i];
    upper[i] = '\0';
    crypto_generichash(ret, 32, (const unsigned char *)upper, i,
                       d->identity_key, sizeof(d->identity_key));
}

static int lookup_tenant_id(struct daemon *d, const char *name,
                            int64_t *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT id, state IN ('terminated', 'purged') "
                   "FROM tenants WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_int(stmt, 1)) {
        sqlite3_finalize(stmt);
        return werr_set(err, -ESTALE,
                        "tenant '%s' is terminated: it takes no new users",
                        name);
    }
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "tenant '%s' not found: create it first with "
                        "'warden tenant create'", name);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "finding the tenant",
                                           err);
}

struct new_user {
    const char *login;
    const char *real_name;
    const char *id_number;
    const char *role_name;
    const char *tenant;
    json_int_t uid;
    int role;
    int64_t tenant_id;
    char masked[PII_RESIDENT_ID_MASKED_SIZE];
};

static int parse_new_user(struct request *req, struct new_user *u,
                          struct werr *err)
{
    json_t *a = req->args;
    int r;

    r = arg_string(a, "login", true, 32, &u->login, err);
    if (r == 0)
        r = check_name("login", u->login, err);
    if (r == 0)
        r = arg_int(a, "uid", true, 1, 0xfffffffeLL, &u->uid, err);
    if (r == 0)
        r = arg_string(a, "real_name", true, 100, &u->real_name, err);
    if (r == 0)
        r = arg_string(a, "id_number", true, 18, &u->id_number, err);
    if (r == 0)
        r = arg_string(a, "role", true, 16, &u->role_name, err);
    if (r == 0)
        r = arg_string(a, "tenant", false, 64, &u->tenant, err);
    if (r < 0)
        return r;
    if (u->uid >= req->d->cfg.uid_base)
        return werr_set(err, -EINVAL,
                        "uid %lld lies in the range reserved for tenants' "
                        "sandbox users (from %u): register the person's "
                        "own host uid",
                        (long long)u->uid, req->d->cfg.uid_base);
    u->role = role_from_string(u->role_name);
    if (u->role < 0)
        return werr_set(err, -EINVAL,
                        "invalid role '%s': use admin, operator, reviewer or "
                        "auditor", u->role_name);
    if (u->role == ROLE_OPERATOR && !u->tenant)
        return werr_set(err, -EINVAL,
                        "an operator needs a tenant: add --tenant NAME");
    if ((u->role == ROLE_ADMIN || u->role == ROLE_AUDITOR) && u->tenant)
        return werr_set(err, -EINVAL,
                        "a platform %s belongs to no tenant: drop --tenant",
                        u->role_name);
    r = pii_resident_id_mask(u->id_number, u->masked, err);
    if (r < 0)
        return r;
    if (u->tenant)
        return lookup_tenant_id(req->d, u->tenant, &u->tenant_id, err);
    return 0;
}

static int explain_duplicate(struct daemon *d, const struct new_user *u,
                             const unsigned char id_hash[32], struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT login, uid, id_hash = ? FROM users "
                   "WHERE login = ? OR uid = ? OR id_hash = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_blob(stmt, 1, id_hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, u->login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, u->uid);
    sqlite3_bind_blob(stmt, 4, id_hash, 32, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(stmt);
        return 0;
    }
    if (strcmp(db_text(stmt, 0), u->login) == 0)
        r = werr_set(err, -EEXIST, "user '%s' already exists", u->login);
    else if (sqlite3_column_int64(stmt, 1) == u->uid)
        r = werr_set(err, -EEXIST, "uid %lld already belongs to user '%s'",
                     (long long)u->uid, db_text(stmt, 0));
    else
        r = werr_set(err, -EEXIST,
                     "this identity number is already registered as user "
                     "'%s': one person has one account", db_text(stmt, 0));
    sqlite3_finalize(stmt);
    return r;
}

static int verb_user_add(struct request *req, json_t **ret_result,
                         struct werr *err)
{
    struct daemon *d = req->d;
    struct new_user u = {0};
    unsigned char id_hash[32];
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = parse_new_user(req, &u, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "user:%s", u.login);
    hash_identity(d, u.id_number, id_hash);
    r = explain_duplicate(d, &u, id_hash, err);
    if (r < 0)
        return r;
    r = db_prepare(d->db,
                   "INSERT INTO users (login, uid, real_name, id_masked, "
                   "id_hash, role, tenant_id, created_at, created_by) "
                   "VALUES (?,?,?,?,?,?,?,?,?)",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, u.login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, u.uid);
    sqlite3_bind_text(stmt, 3, u.real_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, u.masked, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 5, id_hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, u.role_name, -1, SQLITE_STATIC);
    if (u.tenant_id)
        sqlite3_bind_int64(stmt, 7, u.tenant_id);
    else
        sqlite3_bind_null(stmt, 7);
    sqlite3_bind_int64(stmt, 8, (sqlite3_int64)daemon_now(d));
    sqlite3_bind_text(stmt, 9, req->caller.login, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "storing the user failed", err);
    if (u.tenant)
        snprintf(req->tenant, sizeof(req->tenant), "%s", u.tenant);
    req->details = json_pack("{s:s, s:I, s:s, s:s}", "login", u.login, "uid",
                             u.uid, "role", u.role_name, "id_masked",
                             u.masked);
    *ret_result = json_pack("{s:s, s:I, s:s, s:s}", "login", u.login, "uid",
                            u.uid, "role", u.role_name, "id_masked",
                            u.masked);
    return 0;
}

/* List what a user still lacks before getting a shell; an empty array
 * means nothing is missing.  Only operators work in sandboxes. */
static json_t *missing_prerequisites(sqlite3_stmt *stmt)
{
    json_t *missing = json_array();
    const char *state = db_text(stmt, 12);

    if (strcmp(db_text(stmt, 4), "operator") != 0)
        return missing;
    if (sqlite3_column_type(stmt, 8) == SQLITE_NULL)
        json_array_append_new(missing,
                              json_string("filing approval "
                                          "(warden user approve)"));
    if (sqlite3_column_type(stmt, 6) == SQLITE_NULL)
        json_array_append_new(missing,
                              json_string("signed confidentiality agreement "
                                          "(warden user agree)"));
    if (sqlite3_column_type(stmt, 7) == SQLITE_NULL)
        json_array_append_new(missing,
                              json_string("completed training "
                                          "(warden user train)"));
    if (strcmp(state, "active") != 0) {
        char text[96];
        snprintf(text, sizeof(text), "an active tenant (tenant '%s' is %s)",
                 db_text(stmt, 5), state);
        json_array_append_new(missing, json_string(text));
    }
    return missing;
}

static json_t *nullable_text(sqlite3_stmt *stmt, int col)
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    return json_string(db_text(stmt, col));
}

static json_t *user_row_to_json(sqlite3_stmt *stmt)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, "
                     "s:s, s:o}",
                     "login", db_text(stmt, 0), "uid",
                     (json_int_t)sqlite3_column_int64(stmt, 1), "real_name",
                     db_text(stmt, 2), "id_masked", db_text(stmt, 3), "role",
                     db_text(stmt, 4), "tenant", nullable_text(stmt, 5),
                     "agreement_date", nullable_text(stmt, 6),
                     "training_date", nullable_text(stmt, 7), "approved_by",
                     nullable_text(stmt, 8), "created_at",
                     (json_int_t)sqlite3_column_int64(stmt, 10),
                     "created_by", db_text(stmt, 11), "missing",
                     missing_prerequisites(stmt));
}

static bool may_see_user(const struct request *req, sqlite3_stmt *stmt)
{
    if (req->caller.role != ROLE_OPERATOR)
        return true;
    return strcmp(req->caller.login, db_text(stmt, 0)) == 0;
}

static int verb_user_list(struct request *req, json_t **ret_result,
                          struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(req->d->db,
                   "SELECT " USER_COLUMNS " FROM users u LEFT JOIN tenants t "
                   "ON t.id = u.tenant_id ORDER BY u.login",
                   &stmt, err);
    if (r < 0)
        return r;
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if (may_see_user(req, stmt))
            json_array_append_new(list, user_row_to_json(stmt));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(req->d->db, rc, "listing users failed", err);
    }
    *ret_result = json_pack("{s:o}", "users", list);
    return 0;
}

int user_load_json(struct daemon *d, const char *login, json_t **ret,
                   struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT " USER_COLUMNS " FROM users u LEFT JOIN tenants t "
                   "ON t.id = u.tenant_id WHERE u.login = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, login, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ret = user_row_to_json(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "user '%s' not found: see 'warden user list'", login);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "reading the user",
                                           err);
}

static int verb_user_show(struct request *req, json_t **ret_result,
                          struct werr *err)
{
    const char *login;
    int r;

    r = arg_string(req->args, "login", false, 32, &login, err);
    if (r < 0)
        return r;
    if (!login)
        login = req->caller.login;
    snprintf(req->object, sizeof(req->object), "user:%s", login);
    if (req->caller.role == ROLE_OPERATOR &&
        strcmp(login, req->caller.login) != 0)
        return werr_set(err, -EACCES,
                        "operators may only see their own registration");
    return user_load_json(req->d, login, ret_result, err);
}

/* Set one prerequisite column of a user: agreement or training date, or
 * the filing approval. */
static int update_prerequisite(struct request *req, const char *sql,
                               const char *what, json_t **ret_result,
                               struct werr *err)
{
    const char *login, *date = NULL;
    char today[11];
    sqlite3_stmt *stmt = NULL;
    time_t parsed;
    json_t *user = NULL;
    int r, rc;

    r = arg_string(req->args, "login", true, 32, &login, err);
    if (r == 0)
        r = arg_string(req->args, "date", false, 10, &date, err);
    if (r == 0)
        r = user_load_json(req->d, login, &user, err);
    if (r < 0)
        return r;
    if (json_is_string(json_object_get(user, "tenant")))
        snprintf(req->tenant, sizeof(req->tenant), "%s",
                 json_string_value(json_object_get(user, "tenant")));
    json_decref(user);
    snprintf(req->object, sizeof(req->object), "user:%s", login);
    date_format(daemon_now(req->d), today);
    if (date && date_parse(date, &parsed) < 0)
        return werr_set(err, -EINVAL, "invalid %s date '%s': use YYYY-MM-DD",
                        what, date);
    if (date && strcmp(date, today) > 0)
        return werr_set(err, -EINVAL,
                        "the %s date %s is in the future: record it once it "
                        "has happened", what, date);
    r = db_prepare(req->d->db, sql, &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, date ? date : today, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, req->caller.login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)daemon_now(req->d));
    sqlite3_bind_text(stmt, 4, login, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(req->d->db, rc, "updating the user failed", err);
    req->details = json_pack("{s:s}", "date", date ? date : today);
    return user_load_json(req->d, login, ret_result, err);
}

static int verb_user_agree(struct request *req, json_t **ret_result,
                           struct werr *err)
{
    return update_prerequisite(req,
                               "UPDATE users SET agreement_date = ?1 "
                               "WHERE login = ?4 AND ?2 IS NOT NULL "
                               "AND ?3 IS NOT NULL",
                               "agreement", ret_result, err);
}

static int verb_user_train(struct request *req, json_t **ret_result,
                           struct werr *err)
{
    return update_prerequisite(req,
                               "UPDATE users SET training_date = ?1 "
                               "WHERE login = ?4 AND ?2 IS NOT NULL "
                               "AND ?3 IS NOT NULL",
                               "training", ret_result, err);
}

static int verb_user_approve(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    return update_prerequisite(req,
                               "UPDATE users SET approved_by = ?2, "
                               "approved_at = ?3 WHERE login = ?4 "
                               "AND ?1 IS NOT NULL",
                               "approval", ret_result, err);
}

const struct verb user_verbs[] = {
    {"user.add", ROLE_ADMIN, 0, verb_user_add},
    {"user.agree", ROLE_ADMIN, 0, verb_user_agree},
    {"user.train", ROLE_ADMIN, 0, verb_user_train},
    {"user.approve", ROLE_ADMIN, 0, verb_user_approve},
    {"user.list", ROLE_ANY, VERB_READ_ONLY, verb_user_list},
    {"user.show", ROLE_ANY, VERB_READ_ONLY | VERB_IN_SANDBOX, verb_user_show},
    {NULL, 0, 0, NULL},
};
