/* Grants of datasets to tenants, each for one of the tenant's approved use
 * scenarios.  A grant makes the tenant's views of the dataset; a revoke
 * deletes them.  Revoked grants stay in the table for the record. */
#include "supervisor/datasets.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tenant_row {
    int64_t id;
    char state[32];
    json_t *scenarios;
};

static int load_tenant(struct daemon *d, const char *name,
                       struct tenant_row *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT id, state, scenarios FROM tenants WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        ret->id = sqlite3_column_int64(stmt, 0);
        snprintf(ret->state, sizeof(ret->state), "%s", db_text(stmt, 1));
        ret->scenarios = json_loads(db_text(stmt, 2), 0, NULL);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "tenant '%s' not found: see 'warden tenant list'",
                        name);
    if (rc != SQLITE_ROW)
        return db_error(d->db, rc, "reading the tenant failed", err);
    return 0;
}

static int check_scenario(const struct tenant_row *t, const char *tenant,
                          const char *scenario, struct werr *err)
{
    char list[600] = "";
    size_t used = 0, i;
    json_t *item;

    json_array_foreach(t->scenarios, i, item)
        if (json_is_string(item) &&
            strcmp(json_string_value(item), scenario) == 0)
            return 0;
    json_array_foreach(t->scenarios, i, item)
        if (used < sizeof(list))
            used += (size_t)snprintf(list + used, sizeof(list) - used,
                                     "%s'%s'", i ? ", " : "",
                                     json_string_value(item));
    return werr_set(err, -EINVAL,
                    "scenario '%.200s' is not an approved scenario of "
                    "tenant '%s': use one of %s", scenario, tenant, list);
}

static int insert_grant(struct daemon *d, int64_t dataset_id,
                        int64_t tenant_id, const char *scenario,
                        const struct caller *by, int64_t *ret_id,
                        struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "INSERT INTO grants (dataset_id, tenant_id, scenario, "
                   "granted_at, granted_by) VALUES (?,?,?,?,?)",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, dataset_id);
    sqlite3_bind_int64(stmt, 2, tenant_id);
    sqlite3_bind_text(stmt, 3, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)daemon_now(d));
    sqlite3_bind_text(stmt, 5, by->login, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "storing the grant failed", err);
    *ret_id = sqlite3_last_insert_rowid(d->db);
    return 0;
}

static int grant_create_batch(struct daemon *d, const char *dataset,
                              const char *tenant, const char *scenario,
                              const struct caller *by,
                              struct view_batch *batch, struct werr *err)
{
    struct tenant_row t = {0};
    struct dataset ds = {0};
    char object[160];
    int64_t grant_id = 0;
    int r;

    r = dataset_load(d, dataset, &ds, err);
    if (r == 0)
        r = load_tenant(d, tenant, &t, err);
    if (r == 0 && (!strcmp(t.state, "terminated") ||
                   !strcmp(t.state, "purged")))
        r = werr_set(err, -EPERM, "tenant '%s' is %s: a grant needs a "
                     "tenant that is not terminated", tenant, t.state);
    if (r == 0)
        r = check_scenario(&t, tenant, scenario, err);
    if (r == 0) {
        r = insert_grant(d, ds.id, t.id, scenario, by, &grant_id, err);
        if (r == -EEXIST)
            r = werr_set(err, -EEXIST,
                         "dataset '%s' is already granted to tenant '%s': "
                         "revoke it first with 'warden grant revoke %s %s'",
                         dataset, tenant, dataset, tenant);
    }
    snprintf(object, sizeof(object), "dataset:%s", dataset);
    if (r == 0)
        r = record_event_owned(d, by, tenant, "grant.created", object, "ok",
                               json_pack("{s:s, s:I}", "scenario", scenario,
                                         "grant", (json_int_t)grant_id),
                               err);
    if (r == 0)
        r = dataviews_schedule(d, grant_id, true, by, batch, err);
    json_decref(t.scenarios);
    dataset_clear(&ds);
    return r;
}

int grant_create(struct daemon *d, const char *dataset, const char *tenant,
                 const char *scenario, const struct caller *by,
                 struct werr *err)
{
    return grant_create_batch(d, dataset, tenant, scenario, by, NULL, err);
}

int grant_verb_create(struct request *req, json_t **ret_result,
                      struct werr *err)
{
    const char *dataset, *tenant, *scenario;
    struct view_batch *batch;
    int r;

    r = arg_string(req->args, "dataset", true, 64, &dataset, err);
    if (r == 0)
        r = arg_string(req->args, "tenant", true, 64, &tenant, err);
    if (r == 0)
        r = arg_string(req->args, "scenario", true, 200, &scenario, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "dataset:%s", dataset);
    batch = calloc(1, sizeof(*batch));
    if (!batch)
        return werr_set(err, -ENOMEM, "out of memory");
    batch->views = json_array();
    r = grant_create_batch(req->d, dataset, tenant, scenario, &req->caller,
                           batch, err);
    if (r == 0) {
        snprintf(req->tenant, sizeof(req->tenant), "%s", tenant);
        req->details = json_pack("{s:s, s:s}", "tenant", tenant, "scenario",
                                 scenario);
    }
    if (r == 0 && batch->pending > 0) {
        request_defer(req, &batch->request);
        return 0;
    }
    batch->cancelled = true;
    if (r == 0)
        *ret_result = json_pack("{s:s, s:s, s:O}", "dataset", dataset,
                                "tenant", tenant, "views", batch->views);
    dataviews_batch_maybe_reply(req->d, batch);
    return r;
}

int grant_verb_revoke(struct request *req, json_t **ret_result,
                      struct werr *err)
{
    const char *dataset, *tenant;
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = arg_string(req->args, "dataset", true, 64, &dataset, err);
    if (r == 0)
        r = arg_string(req->args, "tenant", true, 64, &tenant, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "dataset:%s", dataset);
    /* A new generation makes builds still running drop their output. */
    r = db_prepare(req->d->db,
                   "UPDATE grants SET revoked_at = ?1, revoked_by = ?2, "
                   "view_generation = view_generation + 1, "
                   "view_state = 'revoked', view_note = NULL "
                   "WHERE revoked_at IS NULL "
                   "AND dataset_id = (SELECT id FROM datasets WHERE name = ?3) "
                   "AND tenant_id = (SELECT id FROM tenants WHERE name = ?4)",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)daemon_now(req->d));
    sqlite3_bind_text(stmt, 2, req->caller.login, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, dataset, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(req->d->db, rc, "revoking the grant failed", err);
    if (sqlite3_changes(req->d->db) == 0)
        return werr_set(err, -ENOENT,
                        "dataset '%s' is not granted to tenant '%s': see "
                        "'warden grant list'", dataset, tenant);
    snprintf(req->tenant, sizeof(req->tenant), "%s", tenant);
    /* NOTE: the files go before the commit; should the commit fail, the
     * grant stays active without views until the next rules change. */
    r = dataviews_remove(req->d, tenant, dataset, err);
    if (r < 0)
        return r;
    req->details = json_pack("{s:s}", "tenant", tenant);
    *ret_result = json_pack("{s:s, s:s, s:s}", "dataset", dataset, "tenant",
                            tenant, "state", "revoked");
    return 0;
}

static json_t *grant_row_to_json(sqlite3_stmt *stmt)
{
    json_t *g = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s}", "dataset", db_text(stmt, 0),
        "tenant", db_text(stmt, 1), "scenario", db_text(stmt, 2),
        "granted_at", (json_int_t)sqlite3_column_int64(stmt, 3),
        "granted_by", db_text(stmt, 4), "view_state", db_text(stmt, 5));

    if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
        json_object_set_new(g, "view_note", json_string(db_text(stmt, 6)));
    if (sqlite3_column_type(stmt, 7) != SQLITE_NULL)
        json_object_set_new(g, "view_rows",
                            json_integer(sqlite3_column_int64(stmt, 7)));
    if (sqlite3_column_type(stmt, 8) != SQLITE_NULL)
        json_object_set_new(g, "view_built_at",
                            json_integer(sqlite3_column_int64(stmt, 8)));
    return g;
}

int grant_list_json(struct daemon *d, const char *dataset, int64_t tenant_id,
                    json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT ds.name, t.name, g.scenario, g.granted_at, "
                   "g.granted_by, g.view_state, g.view_note, g.view_rows, "
                   "g.view_built_at FROM grants g "
                   "JOIN datasets ds ON ds.id = g.dataset_id "
                   "JOIN tenants t ON t.id = g.tenant_id "
                   "WHERE g.revoked_at IS NULL "
                   "AND (?1 IS NULL OR ds.name = ?1) "
                   "AND (?2 = 0 OR g.tenant_id = ?2) "
                   "ORDER BY ds.name, t.name",
                   &stmt, err);
    if (r < 0)
        return r;
    if (dataset)
        sqlite3_bind_text(stmt, 1, dataset, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, tenant_id);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(list, grant_row_to_json(stmt));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(d->db, rc, "listing grants failed", err);
    }
    *ret = list;
    return 0;
}

static int tenant_id_of(struct daemon *d, const char *name, int64_t *ret,
                        struct werr *err)
{
    struct tenant_row t = {0};
    int r = load_tenant(d, name, &t, err);

    json_decref(t.scenarios);
    if (r == 0)
        *ret = t.id;
    return r;
}

int grant_verb_list(struct request *req, json_t **ret_result,
                    struct werr *err)
{
    const char *tenant = NULL, *dataset = NULL;
    int64_t tenant_id = 0;
    json_t *list = NULL;
    int r;

    r = arg_string(req->args, "tenant", false, 64, &tenant, err);
    if (r == 0)
        r = arg_string(req->args, "dataset", false, 64, &dataset, err);
    if (r < 0)
        return r;
    if (req->caller.role == ROLE_OPERATOR) {
        if (tenant && strcmp(tenant, req->caller.tenant) != 0)
            return werr_set(err, -EACCES, "operators may only see the "
                            "grants of their own tenant '%s'",
                            req->caller.tenant);
        tenant_id = req->caller.tenant_id;
    } else if (tenant) {
        r = tenant_id_of(req->d, tenant, &tenant_id, err);
        if (r < 0)
            return r;
    }
    r = grant_list_json(req->d, dataset, tenant_id, &list, err);
    if (r < 0)
        return r;
    *ret_result = json_pack("{s:o}", "grants", list);
    return 0;
}

int dataset_rawset_path(struct daemon *d, const char *dataset,
                        char *ret_path, size_t size, struct werr *err)
{
    struct dataset ds = {0};
    int r = dataset_load(d, dataset, &ds, err);

    dataset_clear(&ds);
    if (r < 0)
        return r;
    if (snprintf(ret_path, size, "%s/%s/%s/rawset.bin", d->cfg.state_dir,
                 DATASETS_DIR, dataset) >= (int)size)
        return werr_set(err, -ENAMETOOLONG, "the raw set path of '%s' is "
                        "too long", dataset);
    return 0;
}

int dataset_rawsets_of_tenant(struct daemon *d, const char *tenant,
                              json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT ds.name, ds.encoding FROM grants g "
                   "JOIN datasets ds ON ds.id = g.dataset_id "
                   "JOIN tenants t ON t.id = g.tenant_id "
                   "WHERE g.revoked_at IS NULL AND t.name = ? "
                   "ORDER BY ds.name",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s/%s/rawset.bin", d->cfg.state_dir,
                 DATASETS_DIR, db_text(stmt, 0));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "dataset",
                                              db_text(stmt, 0), "rawset",
                                              path, "encoding",
                                              db_text(stmt, 1)));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(d->db, rc, "listing the tenant's datasets failed",
                        err);
    }
    *ret = list;
    return 0;
}
