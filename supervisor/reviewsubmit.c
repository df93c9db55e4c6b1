/* Submissions to the review queue: exports and data requests from a
 * tenant's sandboxes (or its operators on the host), imports from the
 * host, job outputs from production jobs, withdrawal, and fetching
 * released exports.
 *
 * Who may submit imports: admins for any tenant, and operators for their
 * own tenant, since an import brings outside data in and a person of the
 * tenant or of the platform is accountable for it.  Reviewers and auditors never
 * submit anything. */
#include "supervisor/review.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Depth of subdirectories walked in a job's output directory. */
#define JOB_OUTPUT_DEPTH 8

struct new_request {
    const char *kind;
    int64_t tenant_id;
    const char *submitter;
    const char *scenario;
    const char *purpose;
    const char *dataset;
    const char *job_id;
    json_t *provenance;
    int approvals_needed;
};

static int insert_request(struct daemon *d, const struct new_request *n,
                          int64_t *ret_id, struct werr *err)
{
    _cleanup_free_ char *provenance =
        n->provenance ? json_dumps(n->provenance, JSON_COMPACT) : NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t now = (int64_t)daemon_now(d);
    int r, rc;

    r = db_prepare(d->db,
                   "INSERT INTO review_requests (kind, tenant_id, submitter, "
                   "state, scenario, purpose, dataset, job_id, provenance, "
                   "approvals_needed, created_at, updated_at) "
                   "VALUES (?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?, ?, ?)",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, n->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, n->tenant_id);
    sqlite3_bind_text(stmt, 3, n->submitter, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, n->scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, n->purpose, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, n->dataset, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, n->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 8, provenance, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 9, n->approvals_needed);
    sqlite3_bind_int64(stmt, 10, now);
    sqlite3_bind_int64(stmt, 11, now);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "storing the request", err);
    *ret_id = sqlite3_last_insert_rowid(d->db);
    return 0;
}

static json_t *files_detail(const struct review_file *files, size_t n)
{
    json_t *list = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I}", "name",
                                              files[i].name, "source",
                                              files[i].source, "sha256",
                                              files[i].sha256, "size",
                                              (json_int_t)files[i].size));
    return list;
}

/* Store a new request with its files, record it and start its checks. */
static int submit_files(struct daemon *d, const struct new_request *n,
                        const struct review_file *files, size_t n_files,
                        json_t *skipped, const struct caller *who,
                        struct request *req, struct review_row *ret_row,
                        struct werr *err)
{
    struct deferred_request def;
    int64_t id = 0;
    int r;

    r = insert_request(d, n, &id, err);
    if (r == 0)
        r = review_store_files(d, id, 1, files, n_files, err);
    if (r == 0)
        r = review_load(d, id, ret_row, err);
    if (r == 0)
        r = review_record(d, ret_row, who, "review.submitted",
                          json_pack("{s:s?, s:s, s:o}", "scenario",
                                    n->scenario, "purpose", n->purpose,
                                    "files", files_detail(files, n_files)),
                          err);
    if (r < 0)
        return r;
    if (req) {
        snprintf(req->object, sizeof(req->object), "request:%lld",
                 (long long)id);
        request_defer(req, &def);
    }
    r = review_checks_start(d, ret_row, files, n_files, skipped,
                            req ? &def : NULL, who, err);
    if (r < 0 && req)
        req->deferred = false;
    return r;
}

static int require_tenant(const struct request *req, struct werr *err)
{
    if (!req->caller.tenant[0])
        return werr_set(err, -EACCES,
                        "%s belongs to no tenant: only a tenant's operators "
                        "submit requests", req->caller.login);
    return tenant_require_active(req->d, req->caller.tenant, err);
}

/* Read the paths of an export into quarantine.  Names must differ,
 * because the release puts the files side by side. */
static int take_paths(struct request *req, json_t *paths, int64_t uid_base,
                      struct review_file *files, size_t *ret_n,
                      struct werr *err)
{
    size_t i, n = json_array_size(paths);
    json_t *item;
    int r;

    if (!json_is_array(paths) || n == 0 || n > REVIEW_MAX_FILES)
        return werr_set(err, -EINVAL,
                        "argument 'paths' must list 1 to %d files",
                        REVIEW_MAX_FILES);
    json_array_foreach(paths, i, item) {
        const char *path = json_string_value(item);
        const char *slash;
        _cleanup_close_ int fd = -1;

        if (!path || strlen(path) >= sizeof(files[i].source))
            return werr_set(err, -EINVAL,
                            "argument 'paths' must hold strings of less than "
                            "4096 bytes");
        r = review_open_home_file(req->d, req->caller.tenant, uid_base,
                                  req->caller.login, path, &fd, err);
        if (r < 0)
            return r;
        slash = strrchr(path, '/');
        snprintf(files[i].name, sizeof(files[i].name), "%s",
                 slash ? slash + 1 : path);
        snprintf(files[i].source, sizeof(files[i].source), "%s", path);
        r = review_check_file_name(files[i].name, err);
        for (size_t k = 0; r == 0 && k < i; k++)
            if (strcmp(files[k].name, files[i].name) == 0)
                r = werr_set(err, -EINVAL,
                             "two files are named '%s': an export's files "
                             "need different names", files[i].name);
        if (r == 0)
            r = review_quarantine(req->d, fd, req->d->cfg.max_export_bytes,
                                  &files[i], err);
        if (r < 0)
            return r;
    }
    *ret_n = n;
    return 0;
}

int review_verb_export_submit(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    struct review_file *files = NULL;
    struct review_row row;
    const char *scenario, *purpose;
    int64_t tenant_id, uid_base;
    size_t n_files = 0;
    int r;

    (void)ret_result;
    r = require_tenant(req, err);
    if (r == 0)
        r = arg_string(req->args, "scenario", true, REVIEW_SCENARIO_MAX,
                       &scenario, err);
    if (r == 0)
        r = arg_string(req->args, "purpose", true, REVIEW_PURPOSE_MAX,
                       &purpose, err);
    if (r == 0)
        r = review_check_scenario(req->d, req->caller.tenant, scenario, err);
    if (r == 0)
        r = review_tenant(req->d, req->caller.tenant, &tenant_id, &uid_base,
                          err);
    if (r < 0)
        return r;
    files = calloc(REVIEW_MAX_FILES, sizeof(*files));
    if (!files)
        return werr_set(err, -ENOMEM, "out of memory");
    r = take_paths(req, json_object_get(req->args, "paths"), uid_base, files,
                   &n_files, err);
    if (r == 0) {
        struct new_request n = {.kind = "export",
                                .tenant_id = tenant_id,
                                .submitter = req->caller.login,
                                .scenario = scenario,
                                .purpose = purpose,
                                .approvals_needed = 1};
        r = submit_files(req->d, &n, files, n_files, NULL, &req->caller, req,
                         &row, err);
    }
    free(files);
    return r;
}

static int check_submitter(const struct request *req,
                           const struct review_row *row, struct werr *err)
{
    if (strcmp(row->tenant, req->caller.tenant) != 0 ||
        strcmp(row->submitter, req->caller.login) != 0)
        return werr_set(err, -EACCES,
                        "request %lld was submitted by %s of tenant '%s': "
                        "only its submitter may change it",
                        (long long)row->id, row->submitter, row->tenant);
    return 0;
}

/* Load the request named by argument "id"; it must belong to the
 * caller's tenant and, with submitter_only, have been submitted by the
 * caller. */
static int load_request(struct request *req, bool submitter_only,
                        struct review_row *row, struct werr *err)
{
    json_int_t id;
    int r;

    r = arg_int(req->args, "id", true, 1, INT64_MAX, &id, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "request:%lld",
             (long long)id);
    r = review_load(req->d, id, row, err);
    if (r < 0)
        return r;
    if (submitter_only)
        return check_submitter(req, row, err);
    if (strcmp(row->tenant, req->caller.tenant) != 0)
        return werr_set(err, -EACCES,
                        "request %lld belongs to tenant '%s', not to yours",
                        (long long)row->id, row->tenant);
    return 0;
}

/* A new revision of a returned export: new files, new checks, and the
 * earlier reviews no longer count. */
int review_verb_export_resubmit(struct request *req, json_t **ret_result,
                                struct werr *err)
{
    struct review_file *files = NULL;
    struct deferred_request def;
    struct review_row row;
    sqlite3_stmt *stmt = NULL;
    size_t n_files = 0;
    int r, rc;

    (void)ret_result;
    r = require_tenant(req, err);
    if (r == 0)
        r = load_request(req, true, &row, err);
    if (r < 0)
        return r;
    if (strcmp(row.kind, "export") != 0 || strcmp(row.state, "returned") != 0)
        return werr_set(err, -EALREADY,
                        "request %lld is a %s request in state %s: only "
                        "exports returned for changes can be resubmitted",
                        (long long)row.id, row.kind, row.state);
    files = calloc(REVIEW_MAX_FILES, sizeof(*files));
    if (!files)
        return werr_set(err, -ENOMEM, "out of memory");
    r = take_paths(req, json_object_get(req->args, "paths"), row.uid_base,
                   files, &n_files, err);
    if (r == 0)
        r = review_store_files(req->d, row.id, row.revision + 1, files,
                               n_files, err);
    if (r == 0)
        r = db_prepare(req->d->db,
                       "UPDATE review_requests SET revision = revision + 1, "
                       "checks = NULL, checks_passed = NULL, "
                       "override_reason = NULL, approvals_needed = 1 "
                       "WHERE id = ?",
                       &stmt, err);
    if (r == 0) {
        sqlite3_bind_int64(stmt, 1, row.id);
        rc = sqlite3_step(stmt);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE)
            r = db_error(req->d->db, rc, "storing the revision", err);
    }
    if (r == 0) {
        row.revision++;
        r = review_set_state(req->d, &row, "submitted", &req->caller,
                             "review.resubmitted",
                             json_pack("{s:o}", "files",
                                       files_detail(files, n_files)),
                             err);
        snprintf(row.state, sizeof(row.state), "submitted");
    }
    if (r == 0) {
        request_defer(req, &def);
        r = review_checks_start(req->d, &row, files, n_files, NULL, &def,
                                &req->caller, err);
        if (r < 0)
            req->deferred = false;
    }
    free(files);
    return r;
}

static int dataset_level(struct daemon *d, const char *dataset,
                         int *ret_level, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db, "SELECT level FROM datasets WHERE name = ?", &stmt,
                   err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, dataset, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ret_level = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "dataset '%s' not found: ask a platform admin for "
                        "the registered names", dataset);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "reading the dataset",
                                           err);
}

/* Fail when the dataset is granted to the tenant or already requested. */
static int check_not_granted(struct daemon *d, int64_t tenant_id,
                             const char *dataset, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;
    int64_t count = 0;

    r = db_prepare(d->db,
                   "SELECT (SELECT count(*) FROM grants g JOIN datasets ds "
                   "ON ds.id = g.dataset_id WHERE g.tenant_id = ?1 AND "
                   "ds.name = ?2 AND g.revoked_at IS NULL) * 1000 + "
                   "(SELECT count(*) FROM review_requests WHERE kind = "
                   "'data' AND tenant_id = ?1 AND dataset = ?2 AND state IN "
                   "('submitted', 'checked', 'in_review'))",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, tenant_id);
    sqlite3_bind_text(stmt, 2, dataset, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return db_error(d->db, rc, "reading the grants", err);
    if (count >= 1000)
        return werr_set(err, -EEXIST,
                        "dataset '%s' is already granted to your tenant",
                        dataset);
    if (count > 0)
        return werr_set(err, -EEXIST,
                        "dataset '%s' is already requested and waits for "
                        "review: see 'warden request list'", dataset);
    return 0;
}

int review_verb_data_request(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    const char *dataset, *scenario, *purpose;
    int64_t tenant_id, uid_base, id = 0;
    struct review_row row;
    int level = 0, r;

    r = require_tenant(req, err);
    if (r == 0)
        r = arg_string(req->args, "dataset", true, 64, &dataset, err);
    if (r == 0)
        r = arg_string(req->args, "scenario", true, REVIEW_SCENARIO_MAX,
                       &scenario, err);
    if (r == 0)
        r = arg_string(req->args, "purpose", true, REVIEW_PURPOSE_MAX,
                       &purpose, err);
    if (r == 0)
        r = check_name("dataset", dataset, err);
    if (r == 0)
        r = review_check_scenario(req->d, req->caller.tenant, scenario, err);
    if (r == 0)
        r = review_tenant(req->d, req->caller.tenant, &tenant_id, &uid_base,
                          err);
    if (r == 0)
        r = dataset_level(req->d, dataset, &level, err);
    if (r == 0)
        r = check_not_granted(req->d, tenant_id, dataset, err);
    if (r == 0) {
        /* Level 3 and above is sensitive data: two reviewers decide. */
        struct new_request n = {.kind = "data",
                                .tenant_id = tenant_id,
                                .submitter = req->caller.login,
                                .scenario = scenario,
                                .purpose = purpose,
                                .dataset = dataset,
                                .approvals_needed = level >= 3 ? 2 : 1};
        r = insert_request(req->d, &n, &id, err);
    }
    if (r == 0)
        r = review_load(req->d, id, &row, err);
    if (r == 0)
        r = review_record(req->d, &row, &req->caller, "review.submitted",
                          json_pack("{s:s, s:s, s:s, s:i}", "dataset",
                                    dataset, "scenario", scenario, "purpose",
                                    purpose, "level", level),
                          err);
    if (r == 0)
        r = review_checks_data(req->d, &row, &req->caller, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "request:%lld", (long long)id);
    snprintf(row.state, sizeof(row.state), "checked");
    row.checks_passed = 1;
    *ret_result = review_row_json(&row);
    return 0;
}

int review_verb_import_submit(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    const char *tenant, *purpose, *name, *scenario;
    struct review_file file = {0};
    struct review_row row;
    int64_t tenant_id, uid_base;
    int r;

    (void)ret_result;
    r = arg_string(req->args, "tenant", false, 64, &tenant, err);
    if (r == 0)
        r = arg_string(req->args, "purpose", true, REVIEW_PURPOSE_MAX,
                       &purpose, err);
    if (r == 0)
        r = arg_string(req->args, "name", true, REVIEW_NAME_MAX, &name, err);
    if (r == 0)
        r = arg_string(req->args, "scenario", false, REVIEW_SCENARIO_MAX,
                       &scenario, err);
    if (r < 0)
        return r;
    if (!tenant)
        tenant = req->caller.tenant;
    if (!tenant[0])
        return werr_set(err, -EINVAL, "missing argument 'tenant'");
    if (!(req->caller.role & ROLE_ADMIN) &&
        strcmp(tenant, req->caller.tenant) != 0)
        return werr_set(err, -EACCES,
                        "%s is an operator of tenant '%s' and cannot import "
                        "into tenant '%s'", req->caller.login,
                        req->caller.tenant, tenant);
    snprintf(req->tenant, sizeof(req->tenant), "%s", tenant);
    if (req->nfds != 1)
        return werr_set(err, -EINVAL,
                        "import.submit needs exactly one file descriptor, "
                        "got %zu", req->nfds);
    r = tenant_require_active(req->d, tenant, err);
    if (r == 0 && scenario)
        r = review_check_scenario(req->d, tenant, scenario, err);
    if (r == 0)
        r = review_check_file_name(name, err);
    if (r == 0)
        r = review_tenant(req->d, tenant, &tenant_id, &uid_base, err);
    if (r < 0)
        return r;
    snprintf(file.name, sizeof(file.name), "%s", name);
    snprintf(file.source, sizeof(file.source), "descriptor from %s (uid %u)",
             req->caller.login, (unsigned)req->caller.uid);
    r = review_quarantine(req->d, req->fds[0], req->d->cfg.max_export_bytes,
                          &file, err);
    if (r == 0) {
        struct new_request n = {.kind = "import",
                                .tenant_id = tenant_id,
                                .submitter = req->caller.login,
                                .scenario = scenario,
                                .purpose = purpose,
                                .approvals_needed = 1};
        r = submit_files(req->d, &n, &file, 1, NULL, &req->caller, req,
                         &row, err);
    }
    return r;
}

int review_verb_request_list(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    json_t *list = NULL;
    int r;

    if (!req->caller.tenant[0])
        return werr_set(err, -EACCES, "%s belongs to no tenant",
                        req->caller.login);
    r = review_list_json(req->d, NULL, req->caller.tenant, false, &list, err);
    if (r < 0)
        return r;
    *ret_result = json_pack("{s:o}", "requests", list);
    return 0;
}

int review_verb_request_withdraw(struct request *req, json_t **ret_result,
                                 struct werr *err)
{
    struct review_row row;
    int r;

    r = load_request(req, true, &row, err);
    if (r < 0)
        return r;
    if (strcmp(row.state, "submitted") && strcmp(row.state, "checked") &&
        strcmp(row.state, "in_review") && strcmp(row.state, "returned"))
        return werr_set(err, -EALREADY,
                        "request %lld is %s: only requests without a "
                        "decision can be withdrawn",
                        (long long)row.id, row.state);
    r = review_set_state(req->d, &row, "withdrawn", &req->caller,
                         "review.withdrawn", NULL, err);
    if (r < 0)
        return r;
    *ret_result = json_pack("{s:I, s:s}", "id", (json_int_t)row.id, "state",
                            "withdrawn");
    return 0;
}

static int mark_fetched(struct request *req, const struct review_row *row,
                        json_t *slice, size_t start, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(req->d->db,
                   "UPDATE review_requests SET fetched_at = "
                   "COALESCE(fetched_at, ?), fetched_by = COALESCE("
                   "fetched_by, ?) WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)daemon_now(req->d));
    sqlite3_bind_text(stmt, 2, req->caller.login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, row->id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(req->d->db, rc, "storing the fetch", err);
    return review_record(req->d, row, &req->caller, "review.fetched",
                         json_pack("{s:O, s:I}", "files", slice, "start",
                                   (json_int_t)start),
                         err);
}

/* Hand out a released export as descriptors: the manifest, its signature
 * and up to REVIEW_FETCH_FILES files from index start; the reply's "next"
 * is the start of the following call, or null after the last file. */
int review_verb_export_fetch(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    struct review_row row;
    json_t *files = NULL, *slice;
    json_int_t start = 0;
    size_t total, count;
    int r, n;

    r = arg_int(req->args, "start", false, 0, 1 << 20, &start, err);
    if (r == 0)
        r = load_request(req, false, &row, err);
    if (r == 0)
        r = tenant_require_active(req->d, row.tenant, err);
    if (r < 0)
        return r;
    if (strcmp(row.kind, "export") != 0 || strcmp(row.state, "released"))
        return werr_set(err, -EALREADY,
                        "request %lld is a %s request in state %s: only "
                        "released exports can be fetched",
                        (long long)row.id, row.kind, row.state);
    r = review_files_json(req->d, row.id, row.revision, &files, err);
    if (r < 0)
        return r;
    total = json_array_size(files);
    if ((size_t)start > total) {
        json_decref(files);
        return werr_set(err, -EINVAL, "start %lld is beyond the %zu files",
                        (long long)start, total);
    }
    count = total - (size_t)start < REVIEW_FETCH_FILES
                ? total - (size_t)start
                : REVIEW_FETCH_FILES;
    n = review_open_release(req->d, &row, files, (size_t)start, count,
                            req->reply_fds, err);
    if (n < 0) {
        json_decref(files);
        return n;
    }
    req->n_reply_fds = (size_t)n;
    slice = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append(slice, json_array_get(files, (size_t)start + i));
    json_decref(files);
    r = mark_fetched(req, &row, slice, (size_t)start, err);
    if (r < 0) {
        json_decref(slice);
        return r;
    }
    *ret_result = json_pack("{s:I, s:o, s:I}", "id", (json_int_t)row.id,
                            "files", slice, "total", (json_int_t)total);
    json_object_set_new(*ret_result, "next",
                        (size_t)start + count < total
                            ? json_integer((json_int_t)(start + (json_int_t)count))
                            : json_null());
    return 0;
}

/* ---- hooks for production jobs and termination ---- */

struct job_walk {
    struct daemon *d;
    uid_t owner;
    struct review_file *files;
    size_t n_files;
    json_t *skipped;
};

static void skip(struct job_walk *w, const char *name, const char *reason)
{
    json_array_append_new(w->skipped, json_pack("{s:s, s:s}", "name", name,
                                                "reason", reason));
}

static int take_job_file(struct job_walk *w, int dirfd, const char *entry,
                         const char *rel, struct werr *err)
{
    _cleanup_close_ int fd = -1;
    struct review_file *file;
    struct stat st;

    fd = openat(dirfd, entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        skip(w, rel, strerror(errno));
        return 0;
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != w->owner) {
        skip(w, rel, !S_ISREG(st.st_mode) ? "not a regular file"
                     : st.st_nlink != 1  ? "has more than one hard link"
                                         : "not owned by the sandbox user");
        return 0;
    }
    if (w->n_files == REVIEW_MAX_FILES)
        return werr_set(err, -E2BIG,
                        "the job wrote more than %d files: pack the outputs "
                        "into fewer files", REVIEW_MAX_FILES);
    file = &w->files[w->n_files];
    snprintf(file->name, sizeof(file->name), "%s", rel);
    for (char *p = file->name; *p; p++)
        if (*p == '/')
            *p = '_';
    snprintf(file->source, sizeof(file->source), "job output %s", rel);
    if (review_check_file_name(file->name, err) < 0) {
        skip(w, rel, err->msg);
        *err = (struct werr){0};
        return 0;
    }
    w->n_files++;
    return review_quarantine(w->d, fd, w->d->cfg.max_export_bytes, file, err);
}

/* Walk a directory by descriptor: entries are looked at without following
 * links, and only real subdirectories are entered. */
static int walk_outputs(struct job_walk *w, int dirfd, const char *prefix,
                        int depth, struct werr *err)
{
    int copy = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *entry;
    DIR *dir;
    int r = 0;

    if (copy < 0)
        return werr_errno(err, neg_errno(), "reading the job outputs failed");
    dir = fdopendir(copy);
    if (!dir) {
        close(copy);
        return werr_errno(err, neg_errno(), "reading the job outputs failed");
    }
    while (r == 0 && (entry = readdir(dir))) {
        char rel[REVIEW_NAME_MAX + 1];
        struct stat st;

        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
            continue;
        if ((size_t)snprintf(rel, sizeof(rel), "%s%s", prefix,
                             entry->d_name) >= sizeof(rel)) {
            skip(w, entry->d_name, "name too long");
            continue;
        }
        if (fstatat(dirfd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            skip(w, rel, strerror(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth < JOB_OUTPUT_DEPTH) {
            _cleanup_close_ int sub = openat(
                dirfd, entry->d_name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            char sub_prefix[REVIEW_NAME_MAX + 2];

            snprintf(sub_prefix, sizeof(sub_prefix), "%s/", rel);
            if (sub < 0)
                skip(w, rel, strerror(errno));
            else
                r = walk_outputs(w, sub, sub_prefix, depth + 1, err);
            continue;
        }
        if (S_ISREG(st.st_mode))
            r = take_job_file(w, dirfd, entry->d_name, rel, err);
        else
            skip(w, rel, S_ISLNK(st.st_mode) ? "a symbolic link"
                                             : "not a regular file");
    }
    closedir(dir);
    return r;
}

static int caller_of(struct daemon *d, const char *login, const char *tenant,
                     struct caller *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    memset(ret, 0, sizeof(*ret));
    r = db_prepare(d->db, "SELECT id, uid FROM users WHERE login = ?", &stmt,
                   err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, login, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        ret->user_id = sqlite3_column_int64(stmt, 0);
        ret->uid = (uid_t)sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE
                   ? werr_set(err, -ENOENT, "user '%s' not found", login)
                   : db_error(d->db, rc, "reading the user", err);
    snprintf(ret->login, sizeof(ret->login), "%s", login);
    snprintf(ret->tenant, sizeof(ret->tenant), "%s", tenant);
    ret->role = ROLE_OPERATOR;
    return 0;
}

static int submit_job_outputs(struct daemon *d, const char *tenant,
                              const char *login, const char *job_id,
                              int output_dir_fd, json_t *provenance,
                              struct werr *err)
{
    struct job_walk w = {.d = d};
    const char *scenario = json_string_value(
        json_object_get(provenance, "scenario"));
    struct review_row row;
    struct caller who;
    int64_t tenant_id, uid_base;
    char purpose[128];
    int r;

    r = review_tenant(d, tenant, &tenant_id, &uid_base, err);
    if (r == 0)
        r = caller_of(d, login, tenant, &who, err);
    if (r < 0)
        return r;
    w.owner = (uid_t)(uid_base + REVIEW_SANDBOX_ID);
    w.files = calloc(REVIEW_MAX_FILES, sizeof(*w.files));
    w.skipped = json_array();
    if (!w.files || !w.skipped) {
        free(w.files);
        json_decref(w.skipped);
        return werr_set(err, -ENOMEM, "out of memory");
    }
    r = walk_outputs(&w, output_dir_fd, "", 0, err);
    if (r == 0 && w.n_files == 0 && json_array_size(w.skipped) == 0)
        r = werr_set(err, -ENOENT, "job %s wrote no output files", job_id);
    if (r == 0) {
        struct new_request n = {.kind = "export",
                                .tenant_id = tenant_id,
                                .submitter = login,
                                .scenario = scenario,
                                .purpose = purpose,
                                .job_id = job_id,
                                .provenance = provenance,
                                .approvals_needed = 1};

        snprintf(purpose, sizeof(purpose), "outputs of production job %s",
                 job_id);
        r = submit_files(d, &n, w.files, w.n_files, w.skipped, &who, NULL,
                         &row, err);
    }
    free(w.files);
    json_decref(w.skipped);
    return r;
}

int review_submit_job_outputs(struct daemon *d, const char *tenant,
                              const char *login, const char *job_id,
                              int output_dir_fd, json_t *provenance,
                              struct werr *err)
{
    bool own = sqlite3_get_autocommit(d->db) != 0;
    int r;

    if (own) {
        r = db_begin(d->db, err);
        if (r < 0)
            return r;
    }
    r = submit_job_outputs(d, tenant, login, job_id, output_dir_fd,
                           provenance, err);
    if (own && r == 0)
        r = db_commit(d->db, err);
    if (own && r < 0)
        db_rollback(d->db);
    return r;
}

int review_revoke_tenant(struct daemon *d, const char *tenant,
                         struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t ids[256];
    size_t n = 0;
    int r, rc;

    /* A tenant has few open requests; more than fit here are handled by
     * calling again. */
    do {
        n = 0;
        r = db_prepare(d->db,
                       "SELECT r.id FROM review_requests r JOIN tenants t "
                       "ON t.id = r.tenant_id WHERE t.name = ? AND "
                       "(r.state IN ('submitted', 'checked', 'in_review', "
                       "'returned') OR (r.kind = 'export' AND r.state = "
                       "'released' AND r.fetched_at IS NULL)) LIMIT 256",
                       &stmt, err);
        if (r < 0)
            return r;
        sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            ids[n++] = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE)
            return db_error(d->db, rc, "listing the tenant's requests", err);
        for (size_t i = 0; i < n; i++) {
            struct review_row row;
            bool released;

            r = review_load(d, ids[i], &row, err);
            if (r < 0)
                return r;
            released = strcmp(row.state, "released") == 0;
            r = review_set_state(d, &row, released ? "revoked" : "withdrawn",
                                 NULL,
                                 released ? "review.revoked"
                                          : "review.withdrawn",
                                 json_pack("{s:s}", "reason",
                                           "the tenant was terminated"),
                                 err);
            if (r < 0)
                return r;
        }
    } while (n == ARRAY_SIZE(ids));
    return 0;
}

/* Delete the quarantine copies that only this tenant's requests refer
 * to: they are the tenant's workspace data.  A copy that another tenant
 * also submitted (the store is content-addressed) stays for that one. */
static int remove_quarantine_of(struct daemon *d, const char *tenant,
                                uint64_t *files, uint64_t *bytes)
{
    sqlite3_stmt *stmt = NULL;
    struct werr err = {0};
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT DISTINCT f.sha256 FROM review_files f "
                   "JOIN review_requests q ON q.id = f.request_id "
                   "JOIN tenants t ON t.id = q.tenant_id WHERE t.name = ? "
                   "AND NOT EXISTS (SELECT 1 FROM review_files f2 "
                   "JOIN review_requests q2 ON q2.id = f2.request_id "
                   "WHERE f2.sha256 = f.sha256 "
                   "AND q2.tenant_id != q.tenant_id)",
                   &stmt, &err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        char name[160];
        struct stat st;

        snprintf(name, sizeof(name), QUARANTINE_DIR "/%s", db_text(stmt, 0));
        if (fstatat(d->state_dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (unlinkat(d->state_dir_fd, name, 0) < 0 && errno != ENOENT) {
            r = neg_errno();
            break;
        }
        if (files)
            (*files)++;
        if (bytes)
            *bytes += (uint64_t)st.st_size;
    }
    sqlite3_finalize(stmt);
    return r;
}

int review_remove_tenant_files(struct daemon *d, const char *tenant,
                               uint64_t *files, uint64_t *bytes)
{
    char name[128];
    int r;

    r = remove_quarantine_of(d, tenant, files, bytes);
    if (r < 0)
        return r;

    snprintf(name, sizeof(name), INBOX_DIR "/%s", tenant);
    r = fs_remove_tree_at(d->state_dir_fd, name, files, bytes);
    if (r < 0 && r != -ENOENT)
        return r;
    snprintf(name, sizeof(name), OUTGOING_DIR "/%s", tenant);
    r = fs_remove_tree_at(d->state_dir_fd, name, files, bytes);
    return r == -ENOENT ? 0 : r;
}
