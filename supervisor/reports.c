/* Operation reports: the annual report of one tenant, which the
 * authorization terms require, and the platform overview of every
 * tenant's term, state and retention.  Both are JSON; the CLI renders
 * them as Markdown.
 *
 * Parts that read tables of other modules (grants, jobs, review_requests)
 * check the columns they need first and, when those are missing, are
 * reported as unavailable with a note instead of failing the report. */
#include "supervisor/daemon.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DAY_SECONDS 86400
#define RECORDINGS_DIR "recordings"
#define VIEWS_DIR "views"

/* Audit actions counted as security events in the annual report; an entry
 * ending in '.' matches every action with that prefix. */
static const char *const security_actions[] = {
    "seccomp.",       "net.drop",         "tenant.suspend",
    "tenant.freeze",  "tenant.terminate",
};

static json_t *unavailable(const char *note)
{
    return json_pack("{s:b, s:s}", "available", 0, "note", note);
}

static int64_t tenant_id_of(struct daemon *d, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    int64_t id = 0;

    if (sqlite3_prepare_v2(d->db, "SELECT id FROM tenants WHERE name = ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        id = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return id;
}

static json_t *usage_json(int dirfd, const char *name)
{
    uint64_t files = 0, bytes = 0;
    int r = dirfd >= 0 ? tree_usage_at(dirfd, name, &files, &bytes) : 0;

    if (r < 0)
        return json_pack("{s:n, s:n, s:s}", "files", "bytes", "error",
                         strerror(-r));
    return json_pack("{s:I, s:I}", "files", (json_int_t)files, "bytes",
                     (json_int_t)bytes);
}

/* Storage of the workspace and the data views, measured now: a report for
 * a past year shows what is left today. */
static json_t *report_storage(struct daemon *d, const char *tenant)
{
    _cleanup_close_ int ws_parent = -1, views = -1;
    char path[4096], parent[4096];
    const char *name = "";
    char *slash;
    json_t *storage;

    if (workspace_path(d, tenant, path, sizeof(path)) == 0 &&
        (slash = strrchr(path, '/')) && slash != path) {
        snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
        name = slash + 1;
        ws_parent = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    views = openat(d->state_dir_fd, VIEWS_DIR,
                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* TODO: this walk runs in the event loop; a workspace of millions of
     * files delays other requests while it is measured. */
    storage = json_pack("{s:o, s:o, s:s}", "workspace",
                        usage_json(ws_parent, name), "views",
                        usage_json(views, tenant), "note",
                        "Apparent size of regular files, measured when the "
                        "report was made");
    return storage;
}

static json_t *report_datasets(struct daemon *d, int64_t tenant_id,
                               int64_t from, int64_t to)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list;

    if (sqlite3_prepare_v2(
            d->db,
            "SELECT ds.name, ds.owner, ds.level, g.scenario, g.granted_at, "
            "g.revoked_at FROM grants g JOIN datasets ds ON ds.id = "
            "g.dataset_id WHERE g.tenant_id = ?1 AND g.granted_at < ?3 AND "
            "(g.revoked_at IS NULL OR g.revoked_at >= ?2) ORDER BY ds.name",
            -1, &stmt, NULL) != SQLITE_OK)
        return unavailable(sqlite3_errmsg(d->db));
    sqlite3_bind_int64(stmt, 1, tenant_id);
    sqlite3_bind_int64(stmt, 2, from);
    sqlite3_bind_int64(stmt, 3, to);
    list = json_array();
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:I, s:s, s:I, s:o}", "dataset",
                      db_text(stmt, 0), "owner", db_text(stmt, 1), "level",
                      (json_int_t)sqlite3_column_int64(stmt, 2), "scenario",
                      db_text(stmt, 3), "granted_at",
                      (json_int_t)sqlite3_column_int64(stmt, 4), "revoked_at",
                      sqlite3_column_type(stmt, 5) == SQLITE_NULL
                          ? json_null()
                          : json_integer((json_int_t)sqlite3_column_int64(
                                stmt, 5))));
    sqlite3_finalize(stmt);
    return json_pack("{s:b, s:o}", "available", 1, "grants", list);
}

/* Sandboxes by kind (shell sessions, runs, jobs) that ran during the year,
 * with their hours inside the year; one still running counts up to now. */
static json_t *report_processing(struct daemon *d, int64_t tenant_id,
                                 int64_t from, int64_t to)
{
    sqlite3_stmt *stmt = NULL;
    json_t *kinds = json_object();
    double total_hours = 0;
    json_int_t total = 0;

    if (sqlite3_prepare_v2(
            d->db,
            "SELECT kind, count(*), sum(min(COALESCE(ended_at, ?4), ?3) - "
            "max(started_at, ?2)) FROM sandboxes WHERE tenant_id = ?1 AND "
            "started_at < ?3 AND (ended_at IS NULL OR ended_at >= ?2) "
            "GROUP BY kind ORDER BY kind",
            -1, &stmt, NULL) != SQLITE_OK) {
        json_decref(kinds);
        return unavailable(sqlite3_errmsg(d->db));
    }
    sqlite3_bind_int64(stmt, 1, tenant_id);
    sqlite3_bind_int64(stmt, 2, from);
    sqlite3_bind_int64(stmt, 3, to);
    sqlite3_bind_int64(stmt, 4, (int64_t)daemon_now(d));
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        json_int_t count = (json_int_t)sqlite3_column_int64(stmt, 1);
        int64_t seconds = sqlite3_column_int64(stmt, 2);
        double hours = seconds > 0 ? (double)((seconds + 18) / 36) / 100.0 : 0;

        json_object_set_new(kinds, db_text(stmt, 0),
                            json_pack("{s:I, s:f}", "count", count, "hours",
                                      hours));
        total += count;
        total_hours += hours;
    }
    sqlite3_finalize(stmt);
    return json_pack("{s:b, s:o, s:I, s:f}", "available", 1, "by_kind", kinds,
                     "total", total, "hours", total_hours);
}

/* Production jobs submitted during the year, by state (running,
 * succeeded, failed). */
static json_t *report_jobs(struct daemon *d, int64_t tenant_id, int64_t from,
                           int64_t to)
{
    sqlite3_stmt *stmt = NULL;
    json_t *states;

    if (sqlite3_prepare_v2(d->db,
                           "SELECT state, count(*) FROM jobs WHERE "
                           "tenant_id = ? AND submitted_at >= ? AND "
                           "submitted_at < ? GROUP BY state ORDER BY state",
                           -1, &stmt, NULL) != SQLITE_OK)
        return unavailable(sqlite3_errmsg(d->db));
    sqlite3_bind_int64(stmt, 1, tenant_id);
    sqlite3_bind_int64(stmt, 2, from);
    sqlite3_bind_int64(stmt, 3, to);
    states = json_object();
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_object_set_new(states, db_text(stmt, 0),
                            json_integer(sqlite3_column_int64(stmt, 1)));
    sqlite3_finalize(stmt);
    return json_pack("{s:b, s:o}", "available", 1, "by_state", states);
}

/* Data, import and export requests created during the year, by kind and
 * current state. */
static json_t *report_requests(struct daemon *d, int64_t tenant_id,
                               int64_t from, int64_t to)
{
    sqlite3_stmt *stmt = NULL;
    json_t *rows;

    if (sqlite3_prepare_v2(d->db,
                           "SELECT kind, state, count(*) FROM review_requests "
                           "WHERE tenant_id = ? AND created_at >= ? AND "
                           "created_at < ? GROUP BY kind, state "
                           "ORDER BY kind, state",
                           -1, &stmt, NULL) != SQLITE_OK)
        return unavailable(sqlite3_errmsg(d->db));
    sqlite3_bind_int64(stmt, 1, tenant_id);
    sqlite3_bind_int64(stmt, 2, from);
    sqlite3_bind_int64(stmt, 3, to);
    rows = json_array();
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:I}", "kind", db_text(stmt, 0),
                            "outcome", db_text(stmt, 1), "count",
                            (json_int_t)sqlite3_column_int64(stmt, 2)));
    sqlite3_finalize(stmt);
    return json_pack("{s:b, s:o}", "available", 1, "by_kind_and_outcome",
                     rows);
}

struct security_count {
    json_t *by_action;
    json_int_t total;
    json_int_t denied_requests;
};

static int count_security_event(const struct audit_event *ev, void *userdata)
{
    struct security_count *c = userdata;

    if (ev->result && strncmp(ev->result, "permission_denied", 17) == 0)
        c->denied_requests++;
    /* A refused suspension or termination request changed nothing. */
    if (strncmp(ev->action, "tenant.", 7) == 0 &&
        (!ev->result || strcmp(ev->result, "ok") != 0))
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(security_actions); i++) {
        const char *a = security_actions[i];
        size_t len = strlen(a);
        bool match = a[len - 1] == '.' ? strncmp(ev->action, a, len) == 0
                                       : strcmp(ev->action, a) == 0;
        json_t *n;

        if (!match)
            continue;
        n = json_object_get(c->by_action, ev->action);
        json_object_set_new(c->by_action, ev->action,
                            json_integer(n ? json_integer_value(n) + 1 : 1));
        c->total++;
        break;
    }
    return 0;
}

static json_t *report_security(struct daemon *d, const char *chain,
                               int64_t from, int64_t to, struct werr *err)
{
    struct security_count c = {.by_action = json_object()};
    struct audit_filter f = {
        .chain = chain,
        .since_ns = from * 1000000000LL,
        .until_ns = to * 1000000000LL,
    };
    json_t *counted = json_array();

    for (size_t i = 0; i < ARRAY_SIZE(security_actions); i++)
        json_array_append_new(counted, json_string(security_actions[i]));
    if (audit_query(d->db, &f, count_security_event, &c, err) < 0) {
        json_decref(c.by_action);
        json_decref(counted);
        return NULL;
    }
    return json_pack("{s:I, s:o, s:I, s:o}", "total", c.total, "by_action",
                     c.by_action, "denied_requests", c.denied_requests,
                     "actions_counted", counted);
}

static json_t *report_audit(struct daemon *d, const char *chain,
                            struct werr *err)
{
    struct audit_verify_report rep = {0};
    _cleanup_close_ int recordings = -1;
    json_t *findings, *result;

    recordings = openat(d->state_dir_fd, RECORDINGS_DIR,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (audit_verify(d->db, chain, d->audit_key.public_key, recordings, &rep,
                     err) < 0)
        return NULL;
    findings = json_array();
    for (size_t i = 0; i < rep.n_findings; i++)
        json_array_append_new(
            findings,
            json_pack("{s:s, s:I, s:s}", "kind",
                      audit_finding_kind_to_string(rep.findings[i].kind),
                      "seq", (json_int_t)rep.findings[i].seq, "message",
                      rep.findings[i].message));
    result = json_pack("{s:s, s:b, s:I, s:I, s:I, s:o}", "chain", chain, "ok",
                       rep.ok, "events", (json_int_t)rep.events,
                       "checkpoints", (json_int_t)rep.checkpoints,
                       "recordings", (json_int_t)rep.recordings, "findings",
                       findings);
    audit_verify_report_free(&rep);
    return result;
}

static void iso_time(time_t t, char ret_buf[32])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(ret_buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int verb_report_annual(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    struct daemon *d = req->d;
    struct tm first = {.tm_mday = 1};
    char chain[AUDIT_CHAIN_MAX], generated[32];
    json_t *tenant = NULL, *security, *audit;
    const char *name;
    json_int_t year;
    int64_t from, to, tenant_id;
    int r;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r == 0)
        r = arg_int(req->args, "year", true, 2000, 2200, &year, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "tenant:%s year:%lld", name,
             (long long)year);
    if (req->caller.role == ROLE_OPERATOR &&
        strcmp(req->caller.tenant, name) != 0)
        return werr_set(err, -EACCES,
                        "operators may only see the report of their own "
                        "tenant '%s'",
                        req->caller.tenant);
    /* Operators lose every access with their tenant's authorization;
     * admins and auditors still read the reports of ended tenants. */
    if (req->caller.role == ROLE_OPERATOR &&
        (r = tenant_require_active(d, name, err)) < 0)
        return r;
    r = tenant_load_json(d, name, &tenant, err);
    if (r < 0)
        return r;
    tenant_id = tenant_id_of(d, name);
    first.tm_year = (int)year - 1900;
    from = (int64_t)timegm(&first);
    first.tm_year++;
    to = (int64_t)timegm(&first);
    snprintf(chain, sizeof(chain), "%s%s", AUDIT_TENANT_PREFIX, name);

    security = report_security(d, chain, from, to, err);
    audit = security ? report_audit(d, chain, err) : NULL;
    if (!audit) {
        json_decref(security);
        json_decref(tenant);
        return werr_prefix(err, "making the annual report of '%s' failed",
                           name);
    }
    iso_time(daemon_now(d), generated);
    *ret_result = json_pack(
        "{s:s, s:I, s:s, s:{s:O, s:O, s:O, s:O, s:O}, s:o, s:o, s:o, s:o, "
        "s:o, s:o, s:o}",
        "tenant", name, "year", year, "generated_at", generated, "tenant_info",
        "legal_entity", json_object_get(tenant, "legal_entity"), "state",
        json_object_get(tenant, "state"), "term_start",
        json_object_get(tenant, "term_start"), "term_end",
        json_object_get(tenant, "term_end"), "scenarios",
        json_object_get(tenant, "scenarios"), "storage",
        report_storage(d, name), "datasets",
        report_datasets(d, tenant_id, from, to), "processing",
        report_processing(d, tenant_id, from, to), "jobs",
        report_jobs(d, tenant_id, from, to), "requests",
        report_requests(d, tenant_id, from, to), "security_events", security,
        "audit", audit);
    json_decref(tenant);
    if (!*ret_result)
        return werr_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* Requests waiting for a reviewer per tenant, or NULL when the query
 * fails.  A request returned to its submitter waits for the submitter
 * instead and is not counted. */
static json_t *pending_reviews(struct daemon *d)
{
    sqlite3_stmt *stmt = NULL;
    json_t *counts;

    if (sqlite3_prepare_v2(d->db,
                           "SELECT t.name, count(*) FROM review_requests r "
                           "JOIN tenants t ON t.id = r.tenant_id WHERE "
                           "r.state IN ('submitted', 'checked', 'in_review') "
                           "GROUP BY t.name",
                           -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    counts = json_object();
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_object_set_new(counts, db_text(stmt, 0),
                            json_integer(sqlite3_column_int64(stmt, 1)));
    sqlite3_finalize(stmt);
    return counts;
}

static json_t *platform_row(struct daemon *d, sqlite3_stmt *stmt,
                            json_t *reviews, time_t now)
{
    const char *state = db_text(stmt, 1);
    time_t end = tenant_term_end(db_text(stmt, 3));
    bool running = strcmp(state, "pending") == 0 ||
                   strcmp(state, "active") == 0 ||
                   strcmp(state, "suspended") == 0;
    json_t *row, *retention = json_null(), *n;
    char date[11];

    if (sqlite3_column_type(stmt, 5) != SQLITE_NULL) {
        date_format(tenant_retention_end(d, sqlite3_column_int64(stmt, 5)),
                    date);
        retention = json_string(date);
    }
    row = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "name", db_text(stmt, 0),
        "state", state, "term_start", db_text(stmt, 2), "term_end",
        db_text(stmt, 3), "days_left",
        running && end > 0
            ? json_integer((json_int_t)((end - now + DAY_SECONDS - 1) /
                                        DAY_SECONDS))
            : json_null(),
        "suspension_deadline",
        sqlite3_column_type(stmt, 4) == SQLITE_NULL
            ? json_null()
            : json_string(db_text(stmt, 4)),
        "retention_until", retention, "pending_reviews",
        reviews ? json_integer((n = json_object_get(reviews,
                                                    db_text(stmt, 0)))
                                   ? json_integer_value(n)
                                   : 0)
                : json_null());
    return row;
}

static int verb_report_platform(struct request *req, json_t **ret_result,
                                struct werr *err)
{
    struct daemon *d = req->d;
    sqlite3_stmt *stmt = NULL;
    json_t *reviews, *list;
    time_t now = daemon_now(d);
    bool review_queue;
    char generated[32];
    int r, rc;

    reviews = pending_reviews(d);
    review_queue = reviews != NULL;
    r = db_prepare(d->db,
                   "SELECT name, state, term_start, term_end, "
                   "suspension_deadline, terminated_at FROM tenants "
                   "ORDER BY name",
                   &stmt, err);
    if (r < 0) {
        json_decref(reviews);
        return r;
    }
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(list, platform_row(d, stmt, reviews, now));
    sqlite3_finalize(stmt);
    json_decref(reviews);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(d->db, rc, "listing tenants failed", err);
    }
    iso_time(now, generated);
    *ret_result = json_pack("{s:s, s:I, s:b, s:o}", "generated_at", generated,
                            "retention_days",
                            (json_int_t)d->cfg.retention_days,
                            "review_queue", review_queue, "tenants", list);
    return *ret_result ? 0 : werr_set(err, -ENOMEM, "out of memory");
}

const struct verb report_verbs[] = {
    {"report.annual", ROLE_ADMIN | ROLE_AUDITOR | ROLE_OPERATOR,
     VERB_READ_ONLY, verb_report_annual},
    {"report.platform", ROLE_ADMIN | ROLE_AUDITOR, VERB_READ_ONLY,
     verb_report_platform},
    {NULL, 0, 0, NULL},
};
