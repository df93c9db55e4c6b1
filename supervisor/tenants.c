/* Tenants (operating units): registration, listing and limits.  An
 * authorization term lasts at most one calendar year. */
#include "supervisor/daemon.h"

#include "common/cleanup.h"

#include <stdio.h>
#include <string.h>

#define TENANT_UID_RANGE 65536u

/* The latest allowed last day of a term starting at start.  A term runs
 * to the end of its last day, so one calendar year ends the day before the
 * anniversary: 2026-01-01 gives 2026-12-31, and 2024-02-29 gives
 * 2025-02-28 (timegm() turns February 29 of 2025 into March 1). */
static time_t latest_term_end(time_t start)
{
    struct tm tm;

    gmtime_r(&start, &tm);
    tm.tm_year += 1;
    return timegm(&tm) - 24 * 60 * 60;
}

static int parse_term(json_t *args, char ret_start[11], char ret_end[11],
                      struct werr *err)
{
    const char *start_text, *end_text;
    time_t start, end, latest;
    char latest_text[11];
    int r;

    r = arg_string(args, "start", true, 10, &start_text, err);
    if (r == 0)
        r = arg_string(args, "end", true, 10, &end_text, err);
    if (r < 0)
        return r;
    if (date_parse(start_text, &start) < 0)
        return werr_set(err, -EINVAL,
                        "invalid start date '%s': use YYYY-MM-DD", start_text);
    if (date_parse(end_text, &end) < 0)
        return werr_set(err, -EINVAL,
                        "invalid end date '%s': use YYYY-MM-DD", end_text);
    if (end <= start)
        return werr_set(err, -EINVAL,
                        "the term ends on %s, not after its start %s",
                        end_text, start_text);
    latest = latest_term_end(start);
    if (end > latest) {
        date_format(latest, latest_text);
        return werr_set(err, -EINVAL,
                        "an authorization lasts at most one calendar year: "
                        "a term starting %s must end by %s, not %s",
                        start_text, latest_text, end_text);
    }
    snprintf(ret_start, 11, "%s", start_text);
    snprintf(ret_end, 11, "%s", end_text);
    return 0;
}

static int parse_scenarios(json_t *args, char **ret_json, struct werr *err)
{
    json_t *list = json_object_get(args, "scenarios");
    size_t i;
    json_t *item;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return werr_set(err, -EINVAL,
                        "missing argument 'scenarios': give at least one "
                        "approved use scenario");
    if (json_array_size(list) > 32)
        return werr_set(err, -EINVAL, "too many scenarios: at most 32");
    json_array_foreach(list, i, item) {
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            json_string_length(item) > 200)
            return werr_set(err, -EINVAL,
                            "scenario %zu must be a string of 1 to 200 "
                            "bytes", i + 1);
    }
    *ret_json = json_dumps(list, JSON_COMPACT);
    return *ret_json ? 0 : -ENOMEM;
}

/* Pick the lowest free 65536-wide uid range at or above the configured
 * base, so that no two tenants ever share a host uid. */
static int allocate_uid_base(struct daemon *d, int64_t *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t candidate = d->cfg.uid_base;
    int r, rc;

    r = db_prepare(d->db, "SELECT uid_base FROM tenants ORDER BY uid_base",
                   &stmt, err);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t used = sqlite3_column_int64(stmt, 0);
        if (used > candidate)
            break;
        if (used == candidate)
            candidate += TENANT_UID_RANGE;
    }
    sqlite3_finalize(stmt);
    if (candidate + TENANT_UID_RANGE > 0xfffffffeLL)
        return werr_set(err, -ENOSPC, "no free uid range is left for a new "
                        "tenant");
    *ret = candidate;
    return 0;
}

static int tenant_exists(struct daemon *d, const char *name, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r = db_prepare(d->db, "SELECT 1 FROM tenants WHERE name = ?", &stmt,
                       err);

    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    r = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return r;
}

struct tenant_limits {
    json_int_t memory_bytes;
    json_int_t pids;
    json_int_t cpu_percent;
};

static int parse_limits(json_t *args, struct tenant_limits *lim,
                        struct werr *err)
{
    int r = arg_int(args, "memory_bytes", false, 16ll << 20, 1ll << 40,
                    &lim->memory_bytes, err);
    if (r == 0)
        r = arg_int(args, "pids", false, 8, 1 << 22, &lim->pids, err);
    if (r == 0)
        r = arg_int(args, "cpu_percent", false, 1, 100 * 1024,
                    &lim->cpu_percent, err);
    return r;
}

static int insert_tenant(struct request *req, const char *name,
                         const char *scenarios, const char *start,
                         const char *end, const struct tenant_limits *lim,
                         int64_t uid_base, struct werr *err)
{
    struct daemon *d = req->d;
    const char *legal, *contact;
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = arg_string(req->args, "legal_entity", true, 200, &legal, err);
    if (r == 0)
        r = arg_string(req->args, "contact", true, 200, &contact, err);
    if (r == 0)
        r = db_prepare(d->db,
                       "INSERT INTO tenants (name, legal_entity, contact, "
                       "scenarios, term_start, term_end, uid_base, "
                       "memory_bytes, pids_max, cpu_percent, created_at, "
                       "created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, legal, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, contact, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, scenarios, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, start, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, end, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 7, uid_base);
    sqlite3_bind_int64(stmt, 8, lim->memory_bytes);
    sqlite3_bind_int64(stmt, 9, lim->pids);
    sqlite3_bind_int64(stmt, 10, lim->cpu_percent);
    sqlite3_bind_int64(stmt, 11, (sqlite3_int64)daemon_now(d));
    sqlite3_bind_text(stmt, 12, req->caller.login, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "storing the tenant failed", err);
    return 0;
}

static int verb_tenant_create(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    struct daemon *d = req->d;
    struct tenant_limits lim = {
        .memory_bytes = (json_int_t)d->cfg.default_memory_bytes,
        .pids = d->cfg.default_pids,
        .cpu_percent = d->cfg.default_cpu_percent,
    };
    _cleanup_free_ char *scenarios = NULL;
    char start[11], end[11];
    const char *name;
    int64_t uid_base = 0;
    int r;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r == 0)
        r = check_name("tenant", name, err);
    if (r < 0)
        return r;
    snprintf(req->tenant, sizeof(req->tenant), "%s", name);
    snprintf(req->object, sizeof(req->object), "tenant:%s", name);
    r = tenant_exists(d, name, err);
    if (r < 0)
        return r;
    if (r > 0) {
        /* The refusal belongs to the platform chain, not the existing
         * tenant's. */
        req->tenant[0] = '\0';
        return werr_set(err, -EEXIST,
                        "tenant '%s' already exists: choose another name or "
                        "see 'warden tenant show %s'", name, name);
    }
    r = parse_term(req->args, start, end, err);
    if (r == 0)
        r = parse_scenarios(req->args, &scenarios, err);
    if (r == 0)
        r = parse_limits(req->args, &lim, err);
    if (r == 0)
        r = allocate_uid_base(d, &uid_base, err);
    if (r == 0)
        r = insert_tenant(req, name, scenarios, start, end, &lim, uid_base,
                          err);
    if (r < 0) {
        req->tenant[0] = '\0';
        return r;
    }
    req->details = json_pack("{s:s, s:s, s:I}", "term_start", start,
                             "term_end", end, "uid_base",
                             (json_int_t)uid_base);
    *ret_result = json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", name,
                            "term_start", start, "term_end", end, "uid_base",
                            (json_int_t)uid_base, "state", "pending");
    return 0;
}

#define TENANT_COLUMNS                                                         \
    "name, legal_entity, contact, scenarios, term_start, term_end, state, "    \
    "uid_base, memory_bytes, pids_max, cpu_percent, net_mode, created_at, "    \
    "created_by"

static json_t *tenant_row_to_json(sqlite3_stmt *stmt)
{
    json_t *scenarios = json_loads(db_text(stmt, 3), 0, NULL);

    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:I, "
                     "s:I, s:s, s:I, s:s}",
                     "name", db_text(stmt, 0), "legal_entity",
                     db_text(stmt, 1), "contact", db_text(stmt, 2),
                     "scenarios", scenarios ? scenarios : json_array(),
                     "term_start", db_text(stmt, 4), "term_end",
                     db_text(stmt, 5), "state", db_text(stmt, 6), "uid_base",
                     (json_int_t)sqlite3_column_int64(stmt, 7),
                     "memory_bytes",
                     (json_int_t)sqlite3_column_int64(stmt, 8), "pids",
                     (json_int_t)sqlite3_column_int64(stmt, 9),
                     "cpu_percent",
                     (json_int_t)sqlite3_column_int64(stmt, 10), "net_mode",
                     db_text(stmt, 11), "created_at",
                     (json_int_t)sqlite3_column_int64(stmt, 12),
                     "created_by", db_text(stmt, 13));
}

/* Operators may read only their own tenant; every other role reads all. */
static bool may_see_tenant(const struct request *req, const char *name)
{
    if (req->caller.role != ROLE_OPERATOR)
        return true;
    return strcmp(req->caller.tenant, name) == 0;
}

static int verb_tenant_list(struct request *req, json_t **ret_result,
                            struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;
    int r, rc;

    r = db_prepare(req->d->db,
                   "SELECT " TENANT_COLUMNS " FROM tenants ORDER BY name",
                   &stmt, err);
    if (r < 0)
        return r;
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if (may_see_tenant(req, db_text(stmt, 0)))
            json_array_append_new(list, tenant_row_to_json(stmt));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(req->d->db, rc, "listing tenants failed", err);
    }
    *ret_result = json_pack("{s:o}", "tenants", list);
    return 0;
}

int tenant_load_json(struct daemon *d, const char *name, json_t **ret,
                     struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT " TENANT_COLUMNS " FROM tenants WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ret = tenant_row_to_json(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "tenant '%s' not found: see 'warden tenant list'",
                        name);
    if (rc != SQLITE_ROW)
        return db_error(d->db, rc, "reading the tenant failed", err);
    return 0;
}

static int verb_tenant_show(struct request *req, json_t **ret_result,
                            struct werr *err)
{
    const char *name;
    int r;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "tenant:%s", name);
    if (!may_see_tenant(req, name))
        return werr_set(err, -EACCES,
                        "operators may only see their own tenant '%s'",
                        req->caller.tenant);
    return tenant_load_json(req->d, name, ret_result, err);
}

static int verb_tenant_limits(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    struct tenant_limits lim = {-1, -1, -1};
    sqlite3_stmt *stmt = NULL;
    const char *name, *state;
    json_t *tenant = NULL;
    int r, rc;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r == 0)
        r = tenant_load_json(req->d, name, &tenant, err);
    if (r < 0)
        return r;
    state = json_string_value(json_object_get(tenant, "state"));
    if (state && (!strcmp(state, "terminated") || !strcmp(state, "purged"))) {
        r = werr_set(err, -ESTALE, "tenant '%s' is %s: its limits no "
                     "longer apply", name, state);
        json_decref(tenant);
        return r;
    }
    json_decref(tenant);
    snprintf(req->tenant, sizeof(req->tenant), "%s", name);
    snprintf(req->object, sizeof(req->object), "tenant:%s", name);
    r = parse_limits(req->args, &lim, err);
    if (r == 0)
        r = db_prepare(req->d->db,
                       "UPDATE tenants SET "
                       "memory_bytes = IIF(?1 < 0, memory_bytes, ?1), "
                       "pids_max = IIF(?2 < 0, pids_max, ?2), "
                       "cpu_percent = IIF(?3 < 0, cpu_percent, ?3) "
                       "WHERE name = ?4",
                       &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, lim.memory_bytes);
    sqlite3_bind_int64(stmt, 2, lim.pids);
    sqlite3_bind_int64(stmt, 3, lim.cpu_percent);
    sqlite3_bind_text(stmt, 4, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(req->d->db, rc, "updating the limits failed", err);
    req->details = json_deep_copy(req->args);
    r = tenant_apply_limits(req->d, name, err);
    if (r < 0)
        return r;
    return tenant_load_json(req->d, name, ret_result, err);
}

const struct verb tenant_verbs[] = {
    {"tenant.create", ROLE_ADMIN, 0, verb_tenant_create},
    {"tenant.list", ROLE_ANY, VERB_READ_ONLY, verb_tenant_list},
    {"tenant.show", ROLE_ANY, VERB_READ_ONLY, verb_tenant_show},
    {"tenant.limits", ROLE_ADMIN, 0, verb_tenant_limits},
    {NULL, 0, 0, NULL},
};
