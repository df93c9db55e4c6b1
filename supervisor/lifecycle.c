/* The authorization lifecycle of a tenant:
 *
 *     pending -> active <-> suspended -> terminated -> purged
 *
 * Dates.  term_start, term_end and a suspension deadline are calendar days
 * in UTC.  The term begins at 00:00 UTC on term_start and ends at the end
 * of term_end, which is 00:00 UTC of the following day.  A rectification
 * deadline likewise runs to the end of its day.  Once the term has ended,
 * or the deadline has passed while the tenant is still suspended, the
 * daemon terminates the tenant by itself: at start (so that a daemon that
 * was down at that moment catches up) and every expiry_check_seconds.
 * Pending tenants never expire: they were never authorized and cannot be
 * activated after their term anyway.
 *
 * Termination commits the state change and a pending row in destructions
 * first, so that every later request is refused at once.  After the commit
 * the event loop kills the tenant's sandboxes, removes its network state
 * and forks a worker that deletes the workspace and the data views.  The
 * worker first counts what it is about to delete and waits until the
 * daemon has stored that inventory, then deletes, so the destruction
 * record is exact even when the daemon dies halfway.  Every pending
 * destruction resumes at start and after a failure, so termination is
 * idempotent and survives a crash. */
#include "supervisor/daemon.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLAN_MAX_BYTES (1u << 20)
#define REASON_MAX 500
#define DAY_SECONDS 86400
/* Below state_dir: session recordings and the data views of each tenant
 * (the views belong to the dataset code, which uses the same names). */
#define RECORDINGS_DIR "recordings"
#define VIEWS_DIR "views"
/* A failed destruction is retried after 10 s per failure, at most 5 min. */
#define RETRY_STEP_SECONDS 10
#define RETRY_MAX_SECONDS 300

/* The lifecycle columns of one tenant. */
struct tenant_life {
    int64_t id;
    char name[64];
    char state[16];
    char term_start[11];
    char term_end[11];
    bool has_plan;
    int64_t changed_at;
    char suspension_reason[REASON_MAX + 1];
    char deadline[11];
    char termination_reason[REASON_MAX + 1];
    int64_t terminated_at;
};

#define LIFE_COLUMNS                                                           \
    "id, name, state, term_start, term_end, plan_sha256 IS NOT NULL, "         \
    "COALESCE(state_changed_at, created_at), suspension_reason, "              \
    "suspension_deadline, termination_reason, terminated_at"

static int life_load(struct daemon *d, const char *name,
                     struct tenant_life *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT " LIFE_COLUMNS " FROM tenants WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        memset(ret, 0, sizeof(*ret));
        ret->id = sqlite3_column_int64(stmt, 0);
        snprintf(ret->name, sizeof(ret->name), "%s", db_text(stmt, 1));
        snprintf(ret->state, sizeof(ret->state), "%s", db_text(stmt, 2));
        snprintf(ret->term_start, sizeof(ret->term_start), "%s",
                 db_text(stmt, 3));
        snprintf(ret->term_end, sizeof(ret->term_end), "%s",
                 db_text(stmt, 4));
        ret->has_plan = sqlite3_column_int(stmt, 5) != 0;
        ret->changed_at = sqlite3_column_int64(stmt, 6);
        snprintf(ret->suspension_reason, sizeof(ret->suspension_reason),
                 "%s", db_text(stmt, 7));
        snprintf(ret->deadline, sizeof(ret->deadline), "%s",
                 db_text(stmt, 8));
        snprintf(ret->termination_reason, sizeof(ret->termination_reason),
                 "%s", db_text(stmt, 9));
        ret->terminated_at = sqlite3_column_int64(stmt, 10);
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

/* Run one statement that returns no rows.  Each character of types gives
 * the type of the next argument: 'i' int64_t, 't' text (NULL binds
 * NULL). */
static int db_run(struct daemon *d, const char *what, const char *sql,
                  const char *types, ...)
{
    sqlite3_stmt *stmt = NULL;
    struct werr *err;
    va_list ap;
    int r, rc;

    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 'i')
            (void)va_arg(ap, int64_t);
        else
            (void)va_arg(ap, const char *);
    }
    err = va_arg(ap, struct werr *);
    va_end(ap);
    r = db_prepare(d->db, sql, &stmt, err);
    if (r < 0)
        return r;
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 'i')
            sqlite3_bind_int64(stmt, i + 1, va_arg(ap, int64_t));
        else
            sqlite3_bind_text(stmt, i + 1, va_arg(ap, const char *), -1,
                              SQLITE_TRANSIENT);
    }
    va_end(ap);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, what, err);
    return 0;
}

/* The first second after the calendar day date (YYYY-MM-DD, UTC), or -1
 * when date is malformed. */
static time_t day_end(const char *date)
{
    time_t midnight;

    if (date_parse(date, &midnight) < 0)
        return -1;
    return midnight + DAY_SECONDS;
}

time_t tenant_term_end(const char *term_end)
{
    return day_end(term_end);
}

static void format_time(time_t t, char ret_buf[32])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(ret_buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int tenant_require_active(struct daemon *d, const char *tenant,
                          struct werr *err)
{
    struct tenant_life t;
    char since[32], until[32];
    int r;

    r = life_load(d, tenant, &t, err);
    if (r < 0)
        return r;
    format_time((time_t)t.changed_at, since);
    if (strcmp(t.state, "active") == 0) {
        time_t end = day_end(t.term_end);

        if (end > 0 && daemon_now(d) < end)
            return 0;
        format_time(end, until);
        return werr_set(err, -EACCES,
                        "the authorization of tenant '%s' ended with its "
                        "term at %s: ask a platform admin",
                        tenant, until);
    }
    if (strcmp(t.state, "suspended") == 0)
        return werr_set(err, -EACCES,
                        "tenant '%s' is suspended since %s (reason: %.200s; "
                        "%s%s): ask a platform admin",
                        tenant, since, t.suspension_reason,
                        t.deadline[0] ? "rectification deadline "
                                      : "frozen, no deadline",
                        t.deadline);
    if (strcmp(t.state, "pending") == 0)
        return werr_set(err, -EACCES,
                        "tenant '%s' is pending and has not been activated "
                        "yet: ask a platform admin",
                        tenant);
    return werr_set(err, -EACCES,
                    "tenant '%s' is %s since %s (reason: %.200s): its "
                    "authorization has ended",
                    tenant, t.state, since, t.termination_reason);
}

/* Read the verb's "name" argument and load that tenant.  The request's
 * audit event then goes to the tenant's chain. */
static int tenant_arg(struct request *req, struct tenant_life *ret,
                      struct werr *err)
{
    const char *name;
    int r;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "tenant:%s", name);
    r = life_load(req->d, name, ret, err);
    if (r < 0)
        return r;
    snprintf(req->tenant, sizeof(req->tenant), "%s", ret->name);
    return 0;
}

static int reason_arg(struct request *req, const char **ret,
                      struct werr *err)
{
    int r = arg_string(req->args, "reason", true, REASON_MAX, ret, err);

    if (r < 0)
        return r;
    if (!(*ret)[0])
        return werr_set(err, -EINVAL,
                        "empty argument 'reason': say why, in up to %d "
                        "bytes",
                        REASON_MAX);
    return 0;
}

static bool is_ended(const struct tenant_life *t)
{
    return strcmp(t->state, "terminated") == 0 ||
           strcmp(t->state, "purged") == 0;
}

/* ---- The kick: work that must wait for the request's commit ----------- */

static struct watch kick_watch = {.fd = -1};

static void lifecycle_kick(void)
{
    uint64_t one = 1;

    if (kick_watch.fd >= 0 && write(kick_watch.fd, &one, sizeof(one)) < 0)
        log_warning("waking the lifecycle work failed: %s", strerror(errno));
}

/* ---- Emergency response plan ------------------------------------------ */

/* Read the plan from the client's descriptor: a regular file (so that a
 * client cannot stall the daemon with a pipe), at most PLAN_MAX_BYTES of
 * UTF-8 text without NUL bytes. */
static int read_plan(int fd, char **ret_text, size_t *ret_len,
                     struct werr *err)
{
    _cleanup_free_ char *buf = NULL;
    struct stat st;
    json_t *check;
    size_t len = 0;

    if (fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "checking the plan file failed");
    if (!S_ISREG(st.st_mode))
        return werr_set(err, -EINVAL,
                        "the plan must be a regular file, not a pipe or a "
                        "device");
    if (st.st_size > (off_t)PLAN_MAX_BYTES)
        return werr_set(err, -EFBIG,
                        "the plan has %lld bytes: at most %u are accepted",
                        (long long)st.st_size, PLAN_MAX_BYTES);
    buf = malloc(PLAN_MAX_BYTES + 1);
    if (!buf)
        return werr_set(err, -ENOMEM, "out of memory");
    while (len <= PLAN_MAX_BYTES) {
        ssize_t n = pread(fd, buf + len, PLAN_MAX_BYTES + 1 - len,
                          (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return werr_errno(err, neg_errno(), "reading the plan failed");
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > PLAN_MAX_BYTES)
        return werr_set(err, -EFBIG, "the plan is larger than %u bytes",
                        PLAN_MAX_BYTES);
    if (len == 0)
        return werr_set(err, -EINVAL, "the plan file is empty");
    if (memchr(buf, '\0', len))
        return werr_set(err, -EINVAL,
                        "the plan contains a NUL byte: it must be UTF-8 "
                        "text");
    check = json_stringn(buf, len);
    if (!check)
        return werr_set(err, -EINVAL,
                        "the plan is not valid UTF-8 text: convert it to "
                        "UTF-8 first");
    json_decref(check);
    buf[len] = '\0';
    *ret_text = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

static int verb_tenant_plan(struct request *req, json_t **ret_result,
                            struct werr *err)
{
    struct daemon *d = req->d;
    _cleanup_free_ char *text = NULL;
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[AUDIT_HEX_SIZE];
    struct tenant_life t;
    size_t len = 0;
    int64_t now = (int64_t)daemon_now(d);
    int r;

    r = tenant_arg(req, &t, err);
    if (r < 0)
        return r;
    if (is_ended(&t))
        return werr_set(err, -EBUSY,
                        "tenant '%s' is %s: a plan can no longer be filed",
                        t.name, t.state);
    if (req->nfds != 1)
        return werr_set(err, -EINVAL,
                        "missing plan file: send one descriptor with the "
                        "request, as 'warden tenant plan %s FILE' does",
                        t.name);
    r = read_plan(req->fds[0], &text, &len, err);
    if (r < 0)
        return r;
    crypto_hash_sha256(digest, (const unsigned char *)text, len);
    audit_hex(digest, sizeof(digest), hex);
    r = db_run(d, "storing the plan failed",
               "UPDATE tenants SET plan_text = ?, plan_sha256 = ?, "
               "plan_filed_by = ?, plan_filed_at = ? WHERE id = ?",
               "tttii", text, hex, req->caller.login, now, t.id, err);
    if (r < 0)
        return r;
    req->details = json_pack("{s:s, s:I}", "sha256", hex, "bytes",
                             (json_int_t)len);
    *ret_result = json_pack("{s:s, s:s, s:I, s:s, s:I}", "name", t.name,
                            "plan_sha256", hex, "bytes", (json_int_t)len,
                            "filed_by", req->caller.login, "filed_at",
                            (json_int_t)now);
    return 0;
}

/* ---- Activation, suspension, resumption ------------------------------- */

static int verb_tenant_activate(struct request *req, json_t **ret_result,
                                struct werr *err)
{
    struct daemon *d = req->d;
    struct tenant_life t;
    time_t now = daemon_now(d), start;
    int r;

    r = tenant_arg(req, &t, err);
    if (r < 0)
        return r;
    if (strcmp(t.state, "active") == 0)
        return werr_set(err, -EALREADY, "tenant '%s' is already active",
                        t.name);
    if (strcmp(t.state, "suspended") == 0)
        return werr_set(err, -EBUSY,
                        "tenant '%s' is suspended: lift the suspension with "
                        "'warden tenant resume %s'",
                        t.name, t.name);
    if (is_ended(&t))
        return werr_set(err, -EBUSY,
                        "tenant '%s' is %s and cannot be activated again: "
                        "create a new tenant for a new term",
                        t.name, t.state);
    if (!t.has_plan)
        return werr_set(err, -EBUSY,
                        "tenant '%s' has no emergency response plan on "
                        "file: file one with 'warden tenant plan %s FILE' "
                        "first",
                        t.name, t.name);
    if (date_parse(t.term_start, &start) < 0 || now < start)
        return werr_set(err, -EBUSY,
                        "the term of tenant '%s' starts on %s: it cannot be "
                        "activated before then",
                        t.name, t.term_start);
    if (now >= day_end(t.term_end))
        return werr_set(err, -EBUSY,
                        "the term of tenant '%s' ended on %s: it cannot be "
                        "activated; create a new tenant for a new term",
                        t.name, t.term_end);
    r = db_run(d, "activating the tenant failed",
               "UPDATE tenants SET state = 'active', state_changed_at = ? "
               "WHERE id = ?",
               "ii", (int64_t)now, t.id, err);
    if (r < 0)
        return r;
    req->details = json_pack("{s:s, s:s}", "term_start", t.term_start,
                             "term_end", t.term_end);
    *ret_result = json_pack("{s:s, s:s, s:s, s:s}", "name", t.name, "state",
                            "active", "term_start", t.term_start, "term_end",
                            t.term_end);
    return 0;
}

/* Suspend (with a rectification deadline) or freeze (without one) an
 * active tenant: freeze its sandboxes and cut its network. */
static int suspend_tenant(struct request *req, bool with_deadline,
                          json_t **ret_result, struct werr *err)
{
    struct daemon *d = req->d;
    const char *reason, *deadline = NULL;
    char message[REASON_MAX + 128];
    struct tenant_life t;
    struct werr ignored = {0};
    time_t now = daemon_now(d), deadline_end = 0;
    int r, frozen;

    r = tenant_arg(req, &t, err);
    if (r == 0)
        r = reason_arg(req, &reason, err);
    if (r == 0 && with_deadline)
        r = arg_string(req->args, "deadline", true, 10, &deadline, err);
    if (r < 0)
        return r;
    if (strcmp(t.state, "active") != 0)
        return werr_set(err, strcmp(t.state, "suspended") == 0 ? -EALREADY
                                                               : -EBUSY,
                        "tenant '%s' is %s: only an active tenant can be "
                        "suspended",
                        t.name, t.state);
    if (deadline) {
        deadline_end = day_end(deadline);
        if (deadline_end < 0)
            return werr_set(err, -EINVAL,
                            "invalid deadline '%s': use YYYY-MM-DD",
                            deadline);
        if (deadline_end <= now)
            return werr_set(err, -EINVAL,
                            "the deadline %s has already passed: give a "
                            "later date",
                            deadline);
    }
    r = db_run(d, "suspending the tenant failed",
               "UPDATE tenants SET state = 'suspended', state_changed_at = ?, "
               "suspension_reason = ?, suspension_deadline = ? WHERE id = ?",
               "itti", (int64_t)now, reason, deadline, t.id, err);
    if (r < 0)
        return r;

    snprintf(message, sizeof(message),
             "tenant %s is suspended by a platform admin: %s%s%s", t.name,
             reason, deadline ? "; rectification deadline " : "",
             deadline ? deadline : "");
    frozen = sandboxes_tenant_action(d, t.name, TENANT_SANDBOXES_FREEZE,
                                     message, err);
    if (frozen < 0)
        return frozen;
    r = network_tenant_cut(d, t.name, true, err);
    if (r < 0) {
        /* The state change rolls back, so the sandboxes must run again. */
        sandboxes_tenant_action(d, t.name, TENANT_SANDBOXES_THAW, NULL,
                                &ignored);
        return r;
    }
    req->details = json_pack("{s:s, s:s?, s:i}", "reason", reason,
                             "deadline", deadline, "sandboxes", frozen);
    *ret_result = json_pack("{s:s, s:s, s:s, s:s?, s:i}", "name", t.name,
                            "state", "suspended", "reason", reason,
                            "deadline", deadline, "sandboxes_frozen", frozen);
    return 0;
}

static int verb_tenant_suspend(struct request *req, json_t **ret_result,
                               struct werr *err)
{
    return suspend_tenant(req, true, ret_result, err);
}

static int verb_tenant_freeze(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    return suspend_tenant(req, false, ret_result, err);
}

static int verb_tenant_resume(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    struct daemon *d = req->d;
    struct tenant_life t;
    struct werr ignored = {0};
    time_t now = daemon_now(d);
    int r, thawed;

    r = tenant_arg(req, &t, err);
    if (r < 0)
        return r;
    if (strcmp(t.state, "suspended") != 0)
        return werr_set(err, -EBUSY,
                        "tenant '%s' is %s: only a suspended tenant can be "
                        "resumed",
                        t.name, t.state);
    if (now >= day_end(t.term_end))
        return werr_set(err, -EBUSY,
                        "the term of tenant '%s' ended on %s: it cannot be "
                        "resumed and will be terminated",
                        t.name, t.term_end);
    r = db_run(d, "resuming the tenant failed",
               "UPDATE tenants SET state = 'active', state_changed_at = ?, "
               "suspension_reason = NULL, suspension_deadline = NULL "
               "WHERE id = ?",
               "ii", (int64_t)now, t.id, err);
    if (r < 0)
        return r;
    r = network_tenant_cut(d, t.name, false, err);
    if (r < 0)
        return r;
    thawed = sandboxes_tenant_action(d, t.name, TENANT_SANDBOXES_THAW, NULL,
                                     err);
    if (thawed < 0) {
        network_tenant_cut(d, t.name, true, &ignored);
        return thawed;
    }
    req->details = json_pack("{s:s, s:i}", "suspension_reason",
                             t.suspension_reason, "sandboxes", thawed);
    *ret_result = json_pack("{s:s, s:s, s:i}", "name", t.name, "state",
                            "active", "sandboxes_thawed", thawed);
    return 0;
}

/* ---- Termination -------------------------------------------------------- */

/* Add the names of the dataset views in views/<tenant>/{dev,prod}/ to
 * names, opening each level without following links. */
static void add_view_names(struct daemon *d, const char *tenant,
                           json_t *names)
{
    static const char *const kinds[] = {"dev", "prod"};
    _cleanup_close_ int views = -1, own = -1;

    views = openat(d->state_dir_fd, VIEWS_DIR,
                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (views >= 0)
        own = openat(views, tenant,
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (own < 0)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        int fd = openat(own, kinds[i],
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct dirent *de;
        DIR *dir;

        if (fd < 0)
            continue;
        dir = fdopendir(fd);
        if (!dir) {
            close(fd);
            continue;
        }
        while ((de = readdir(dir))) {
            size_t len = strlen(de->d_name);
            char name[256];

            if (len <= 4 || strcmp(de->d_name + len - 4, ".csv") != 0)
                continue;
            snprintf(name, sizeof(name), "%.*s", (int)(len - 4), de->d_name);
            /* A name that is not UTF-8 cannot be a registered dataset and
             * is left out of the record. */
            json_object_set_new(names, name, json_true());
        }
        closedir(dir);
    }
}

/* Return a sorted JSON array with the datasets whose views the tenant
 * has: those of its active grants and those found in its views
 * directory. */
static json_t *collect_datasets(struct daemon *d, const struct tenant_life *t)
{
    json_t *names = json_object(), *list = json_array();
    sqlite3_stmt *stmt = NULL;
    const char *key;
    json_t *value;

    if (!names || !list) {
        json_decref(names);
        json_decref(list);
        return NULL;
    }
    if (sqlite3_prepare_v2(d->db,
                           "SELECT ds.name FROM grants g JOIN datasets ds "
                           "ON ds.id = g.dataset_id WHERE g.tenant_id = ? "
                           "AND g.revoked_at IS NULL",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, t->id);
        while (sqlite3_step(stmt) == SQLITE_ROW)
            json_object_set_new(names, db_text(stmt, 0), json_true());
        sqlite3_finalize(stmt);
    }
    add_view_names(d, t->name, names);
    json_object_foreach(names, key, value)
        json_array_append_new(list, json_string(key));
    json_decref(names);
    return list;
}

/* Mark t terminated and queue the destruction of its data, inside the
 * caller's transaction.  Nothing is deleted here: the work starts from the
 * event loop after the commit (lifecycle_kick), so a rolled-back
 * termination destroys nothing. */
static int terminate_begin(struct daemon *d, const struct tenant_life *t,
                           const char *reason, const char *actor,
                           int64_t *ret_destruction, json_t **ret_datasets,
                           struct werr *err)
{
    int64_t now = (int64_t)daemon_now(d);
    _cleanup_free_ char *datasets_text = NULL;
    json_t *datasets;
    int r;

    datasets = collect_datasets(d, t);
    if (!datasets)
        return werr_set(err, -ENOMEM, "out of memory");
    datasets_text = json_dumps(datasets, JSON_COMPACT);
    r = db_run(d, "terminating the tenant failed",
               "UPDATE tenants SET state = 'terminated', state_changed_at = ?, "
               "terminated_at = ?, termination_reason = ?, "
               "suspension_deadline = NULL WHERE id = ?",
               "iiti", now, now, reason, t->id, err);
    /* The grants end with the authorization; their views go with the
     * destruction below. */
    if (r == 0)
        r = db_run(d, "revoking the tenant's grants failed",
                   "UPDATE grants SET revoked_at = ?, revoked_by = ? "
                   "WHERE tenant_id = ? AND revoked_at IS NULL",
                   "iti", now, actor, t->id, err);
    /* Pending requests are withdrawn and released exports not yet fetched
     * are revoked; their files go with the destruction. */
    if (r == 0)
        r = review_revoke_tenant(d, t->name, err);
    if (r == 0)
        r = db_run(d, "recording the destruction failed",
                   "INSERT INTO destructions (tenant_id, reason, started_at, "
                   "datasets) VALUES (?, ?, ?, ?)",
                   "itit", t->id, reason, now,
                   datasets_text ? datasets_text : "[]", err);
    if (r < 0) {
        json_decref(datasets);
        return r;
    }
    *ret_destruction = (int64_t)sqlite3_last_insert_rowid(d->db);
    *ret_datasets = datasets;
    lifecycle_kick();
    return 0;
}

static int verb_tenant_terminate(struct request *req, json_t **ret_result,
                                 struct werr *err)
{
    struct tenant_life t;
    json_t *datasets = NULL;
    const char *reason;
    int64_t destruction = 0;
    int r;

    r = tenant_arg(req, &t, err);
    if (r < 0)
        return r;
    if (is_ended(&t)) {
        /* Terminating twice is harmless: it only wakes a destruction that
         * is still pending. */
        lifecycle_kick();
        *ret_result = json_pack("{s:s, s:s, s:b, s:s}", "name", t.name,
                                "state", t.state, "already", 1, "reason",
                                t.termination_reason);
        return 0;
    }
    r = reason_arg(req, &reason, err);
    if (r == 0)
        r = terminate_begin(req->d, &t, reason, req->caller.login,
                            &destruction, &datasets, err);
    if (r < 0)
        return r;
    req->details = json_pack("{s:s, s:s, s:I, s:O}", "reason", reason,
                             "previous_state", t.state, "destruction",
                             (json_int_t)destruction, "datasets", datasets);
    *ret_result = json_pack("{s:s, s:s, s:b, s:I, s:o}", "name", t.name,
                            "state", "terminated", "already", 0,
                            "destruction", (json_int_t)destruction,
                            "datasets", datasets);
    return 0;
}

/* Terminate t on the daemon's own authority (term ended, deadline passed)
 * in a transaction of its own. */
static void terminate_by_daemon(struct daemon *d, const struct tenant_life *t,
                                const char *cause, const char *reason)
{
    struct caller daemon_caller = {.uid = 0};
    struct werr err = {0};
    char object[128];
    json_t *datasets = NULL, *details;
    int64_t destruction = 0;
    int r;

    snprintf(daemon_caller.login, sizeof(daemon_caller.login), "wardend");
    snprintf(object, sizeof(object), "tenant:%s", t->name);
    r = db_begin(d->db, &err);
    if (r == 0)
        r = terminate_begin(d, t, reason, "wardend", &destruction, &datasets,
                            &err);
    if (r == 0) {
        details = json_pack("{s:s, s:s, s:s, s:I, s:o}", "cause", cause,
                            "reason", reason, "previous_state", t->state,
                            "destruction", (json_int_t)destruction,
                            "datasets", datasets);
        r = record_event(d, &daemon_caller, t->name, "tenant.terminate",
                         object, "ok", details, &err);
        json_decref(details);
    }
    if (r == 0)
        r = db_commit(d->db, &err);
    if (r < 0) {
        db_rollback(d->db);
        log_error("terminating tenant '%s' (%s) failed, retrying at the next "
                  "check: %s",
                  t->name, cause, err.msg);
        return;
    }
    log_info("terminated tenant '%s': %s", t->name, reason);
}

/* Terminate every active or suspended tenant whose term has ended, and
 * every suspended tenant whose rectification deadline has passed. */
static void check_expiry(struct daemon *d)
{
    sqlite3_stmt *stmt = NULL;
    struct werr err = {0};
    json_t *names = json_array();
    time_t now = daemon_now(d);
    size_t i;
    json_t *name;

    if (!names ||
        db_prepare(d->db,
                   "SELECT name FROM tenants WHERE state IN ('active', "
                   "'suspended') ORDER BY name",
                   &stmt, &err) < 0) {
        log_error("checking tenant expiry failed: %s", err.msg);
        json_decref(names);
        return;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_array_append_new(names, json_string(db_text(stmt, 0)));
    sqlite3_finalize(stmt);

    json_array_foreach(names, i, name) {
        struct tenant_life t;
        char reason[REASON_MAX + 128];

        if (life_load(d, json_string_value(name), &t, &err) < 0) {
            log_error("checking tenant expiry failed: %s", err.msg);
            continue;
        }
        if (day_end(t.term_end) < 0) {
            log_error("tenant '%s' has an invalid term end '%s': it is not "
                      "checked for expiry",
                      t.name, t.term_end);
        } else if (now >= day_end(t.term_end)) {
            snprintf(reason, sizeof(reason),
                     "the authorization term ended on %s", t.term_end);
            terminate_by_daemon(d, &t, "term_ended", reason);
        } else if (strcmp(t.state, "suspended") == 0 && t.deadline[0] &&
                   now >= day_end(t.deadline)) {
            snprintf(reason, sizeof(reason),
                     "the rectification deadline %s passed while suspended "
                     "(reason: %.300s)",
                     t.deadline, t.suspension_reason);
            terminate_by_daemon(d, &t, "deadline_passed", reason);
        }
    }
    json_decref(names);
}

/* ---- Destruction worker ------------------------------------------------- */

int tree_usage_at(int dirfd, const char *name, uint64_t *files,
                  uint64_t *bytes)
{
    struct dirent *de;
    struct stat st;
    DIR *dir;
    int fd, r = 0;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : neg_errno();
    if (!S_ISDIR(st.st_mode)) {
        (*files)++;
        if (S_ISREG(st.st_mode))
            *bytes += (uint64_t)st.st_size;
        return 0;
    }
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : neg_errno();
    dir = fdopendir(fd);
    if (!dir) {
        r = neg_errno();
        close(fd);
        return r;
    }
    while ((errno = 0, de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = tree_usage_at(fd, de->d_name, files, bytes);
        if (r < 0)
            break;
    }
    if (r == 0 && errno != 0)
        r = neg_errno();
    closedir(dir);
    return r;
}

/* Directory tree for a destruction worker to delete: name below dirfd. */
struct doomed_tree {
    int dirfd; /* -1 when the parent directory does not exist */
    char name[256];
};

struct destruction_job {
    struct watch watch;
    int64_t id;
    char tenant[64];
    pid_t pid;
    bool running;
    bool done;           /* the worker reported success */
    uint64_t removed_files;
    uint64_t removed_bytes;
    uint64_t review_files; /* the review queue's inbox and exports */
    uint64_t review_bytes;
    char error[WERR_MSG_MAX];
    unsigned failures;
    struct timespec retry_at; /* CLOCK_MONOTONIC */
    struct destruction_job *next;
};

static struct destruction_job *jobs;

static time_t monotonic_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int cmp_fd(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* Close every descriptor above stderr except the n in keep (-1 ignored). */
static void close_all_except(int *keep, size_t n)
{
    unsigned next = 3;

    qsort(keep, n, sizeof(int), cmp_fd);
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < (int)next)
            continue;
        if ((unsigned)keep[i] > next)
            close_range(next, (unsigned)keep[i] - 1, 0);
        next = (unsigned)keep[i] + 1;
    }
    close_range(next, ~0u, 0);
}

/* Keep root's uid but only the capabilities that deleting other users'
 * files needs, so a bug in the walk cannot do more than delete. */
static int destruction_confine(struct daemon *d, int sock,
                               const struct doomed_tree *trees, size_t n)
{
    int keep[4] = {sock, -1, -1, -1};
    sigset_t all;
    cap_t caps;
    int r;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    for (size_t i = 0; i < n && i < 3; i++)
        keep[i + 1] = trees[i].dirfd;
    close_all_except(keep, ARRAY_SIZE(keep));
    audit_key_clear(&d->audit_key);
    sodium_memzero(d->identity_key, sizeof(d->identity_key));
    caps = cap_from_text("cap_dac_override,cap_dac_read_search,cap_fowner=ep");
    if (!caps)
        return neg_errno();
    r = cap_set_proc(caps) < 0 ? neg_errno() : 0;
    cap_free(caps);
    if (r < 0)
        return r;
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? neg_errno() : 0;
}

static void send_line(int sock, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void send_line(int sock, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof(buf))
        len = (int)strlen(buf);
    if (send(sock, buf, (size_t)len, MSG_NOSIGNAL) < 0)
        _exit(1);
}

/* The worker: count the trees unless counted before, wait for the daemon
 * to store the count, delete them, and report.  Messages on the seqpacket
 * socket: "inventory FILES BYTES", "done FILES BYTES", "error ERRNO TEXT".
 * The daemon replies to an inventory with "stored". */
static __attribute__((noreturn)) void destruction_worker(
    struct daemon *d, int sock, struct doomed_tree *trees, size_t n,
    bool counted)
{
    uint64_t files = 0, bytes = 0;
    char ack[16];
    int r;

    r = destruction_confine(d, sock, trees, n);
    if (r < 0) {
        send_line(sock, "error %d confining the destruction worker", r);
        _exit(1);
    }
    if (!counted) {
        for (size_t i = 0; i < n && r == 0; i++)
            if (trees[i].dirfd >= 0)
                r = tree_usage_at(trees[i].dirfd, trees[i].name, &files,
                                  &bytes);
        if (r < 0) {
            send_line(sock, "error %d counting the files to destroy", r);
            _exit(1);
        }
        send_line(sock, "inventory %llu %llu", (unsigned long long)files,
                  (unsigned long long)bytes);
        if (recv(sock, ack, sizeof(ack), 0) != 6 || memcmp(ack, "stored", 6))
            _exit(1);
    }
    files = bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (trees[i].dirfd < 0)
            continue;
        r = fs_remove_tree_at(trees[i].dirfd, trees[i].name, &files, &bytes);
        if (r < 0) {
            send_line(sock, "error %d deleting %s", r, trees[i].name);
            _exit(1);
        }
    }
    send_line(sock, "done %llu %llu", (unsigned long long)files,
              (unsigned long long)bytes);
    _exit(0);
}

static int store_inventory(struct daemon *d, struct destruction_job *job,
                           unsigned long long files, unsigned long long bytes)
{
    struct werr err = {0};
    int r;

    r = db_run(d, "storing the destruction inventory failed",
               "UPDATE destructions SET files = ?, bytes = ? "
               "WHERE id = ? AND files IS NULL",
               "iii", (int64_t)files, (int64_t)bytes, job->id, &err);
    if (r < 0) {
        snprintf(job->error, sizeof(job->error), "%s", err.msg);
        return r;
    }
    return 0;
}

static void handle_worker_message(struct daemon *d,
                                  struct destruction_job *job, char *msg)
{
    unsigned long long files = 0, bytes = 0;
    int code = 0, offset = 0;

    if (sscanf(msg, "inventory %llu %llu", &files, &bytes) == 2) {
        if (store_inventory(d, job, files, bytes) < 0 ||
            send(job->watch.fd, "stored", 6, MSG_NOSIGNAL) != 6)
            kill(job->pid, SIGKILL);
    } else if (sscanf(msg, "done %llu %llu", &files, &bytes) == 2) {
        job->done = true;
        job->removed_files = files;
        job->removed_bytes = bytes;
    } else if (sscanf(msg, "error %d %n", &code, &offset) == 1) {
        snprintf(job->error, sizeof(job->error), "%s: %s", msg + offset,
                 strerror(-code));
    } else {
        snprintf(job->error, sizeof(job->error),
                 "unexpected message from the destruction worker");
        kill(job->pid, SIGKILL);
    }
}

static json_t *destruction_json(struct daemon *d, int64_t id);

/* Mark the destruction done and record it in the platform chain, which
 * outlives the purge of the tenant's own chain. */
static int complete_destruction(struct daemon *d,
                                const struct destruction_job *job,
                                struct werr *err)
{
    struct caller daemon_caller = {.uid = 0};
    char object[128];
    json_t *details;
    int r;

    snprintf(daemon_caller.login, sizeof(daemon_caller.login), "wardend");
    snprintf(object, sizeof(object), "tenant:%s destruction:%lld",
             job->tenant, (long long)job->id);
    r = db_begin(d->db, err);
    if (r < 0)
        return r;
    r = db_run(d, "completing the destruction failed",
               "UPDATE destructions SET status = 'done', finished_at = ?, "
               "last_error = NULL, files = COALESCE(files, ?) + ?, "
               "bytes = COALESCE(bytes, ?) + ? WHERE id = ?",
               "iiiiii", (int64_t)daemon_now(d), (int64_t)job->removed_files,
               (int64_t)job->review_files, (int64_t)job->removed_bytes,
               (int64_t)job->review_bytes, job->id, err);
    if (r == 0) {
        details = destruction_json(d, job->id);
        if (details)
            json_object_set_new(
                details, "removed_in_last_run",
                json_pack("{s:I, s:I, s:I, s:I}", "files",
                          (json_int_t)job->removed_files, "bytes",
                          (json_int_t)job->removed_bytes, "review_files",
                          (json_int_t)job->review_files, "review_bytes",
                          (json_int_t)job->review_bytes));
        r = record_event(d, &daemon_caller, NULL, "tenant.destroyed", object,
                         "ok", details, err);
        json_decref(details);
    }
    if (r == 0)
        r = db_commit(d->db, err);
    if (r < 0)
        db_rollback(d->db);
    return r;
}

static void fail_destruction(struct daemon *d, struct destruction_job *job)
{
    struct werr err = {0};
    time_t wait;

    job->failures++;
    wait = (time_t)job->failures * RETRY_STEP_SECONDS;
    if (wait > RETRY_MAX_SECONDS)
        wait = RETRY_MAX_SECONDS;
    clock_gettime(CLOCK_MONOTONIC, &job->retry_at);
    job->retry_at.tv_sec += wait;
    if (!job->error[0])
        snprintf(job->error, sizeof(job->error),
                 "the destruction worker ended without a report");
    if (db_run(d, "recording the destruction failure failed",
               "UPDATE destructions SET last_error = ? WHERE id = ?", "ti",
               job->error, job->id, &err) < 0)
        log_error("%s", err.msg);
    log_error("destroying the data of tenant '%s' (destruction %lld) "
              "failed, retrying in %lld s: %s",
              job->tenant, (long long)job->id, (long long)wait, job->error);
}

static void free_job(struct destruction_job *job)
{
    for (struct destruction_job **p = &jobs; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            break;
        }
    free(job);
}

static void on_worker_message(struct daemon *d, struct watch *w,
                              uint32_t events)
{
    struct destruction_job *job = w->data;
    struct werr err = {0};
    char buf[512];
    ssize_t n;
    int status = 0;

    (void)events;
    for (;;) {
        n = recv(w->fd, buf, sizeof(buf) - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0)
            break;
        buf[n] = '\0';
        handle_worker_message(d, job, buf);
    }

    /* End of the stream: the worker has exited or is exiting. */
    while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
        ;
    loop_del(d, w);
    close(w->fd);
    w->fd = -1;
    job->running = false;
    /* The review queue's inbox and exports are few small files, deleted
     * here rather than in the worker.  NOTE: after a crash between this
     * and the commit below, the record does not count them. */
    if (job->done) {
        int removed = review_remove_tenant_files(d, job->tenant,
                                                 &job->review_files,
                                                 &job->review_bytes);
        /* Job folders hold raw-derived outputs and logs. */
        if (removed >= 0)
            removed = jobs_remove_tenant_files(d, job->tenant,
                                               &job->review_files,
                                               &job->review_bytes);
        if (removed < 0) {
            werr_errno(&err, removed, "deleting the review files of tenant "
                       "'%s' failed", job->tenant);
            job->done = false;
            snprintf(job->error, sizeof(job->error), "%s", err.msg);
        }
    }
    if (job->done && complete_destruction(d, job, &err) == 0) {
        log_info("destroyed the data of tenant '%s' (destruction %lld): "
                 "%llu files, %llu bytes in the last run",
                 job->tenant, (long long)job->id,
                 (unsigned long long)job->removed_files,
                 (unsigned long long)job->removed_bytes);
        free_job(job);
        return;
    }
    if (job->done)
        snprintf(job->error, sizeof(job->error), "%s", err.msg);
    else if (!job->error[0] && WIFSIGNALED(status))
        snprintf(job->error, sizeof(job->error),
                 "the destruction worker was killed by signal %d",
                 WTERMSIG(status));
    job->done = false;
    fail_destruction(d, job);
}

/* Open the parent directory of path and split off its last component. */
static int open_parent(const char *path, struct doomed_tree *ret)
{
    char parent[4096];
    const char *slash = strrchr(path, '/');

    ret->dirfd = -1;
    if (!slash || slash == path || !slash[1] ||
        (size_t)(slash - path) >= sizeof(parent))
        return -EINVAL;
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
    snprintf(ret->name, sizeof(ret->name), "%s", slash + 1);
    ret->dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ret->dirfd < 0 && errno != ENOENT)
        return neg_errno();
    return 0;
}

/* End the tenant's processes and network, then fork the worker. */
static int start_worker(struct daemon *d, struct destruction_job *job,
                        bool counted, struct werr *err)
{
    struct doomed_tree trees[2] = {{.dirfd = -1}, {.dirfd = -1}};
    char path[4096];
    int sv[2] = {-1, -1};
    int r;

    r = sandboxes_tenant_action(d, job->tenant, TENANT_SANDBOXES_KILL,
                                "the authorization of this tenant was "
                                "terminated",
                                err);
    if (r >= 0)
        r = network_tenant_remove(d, job->tenant, err);
    if (r < 0)
        return r;

    r = workspace_path(d, job->tenant, path, sizeof(path));
    if (r == 0)
        r = open_parent(path, &trees[0]);
    if (r < 0)
        return werr_errno(err, r, "opening the parent of the workspace %s "
                          "failed", path);
    trees[1].dirfd = openat(d->state_dir_fd, VIEWS_DIR,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    snprintf(trees[1].name, sizeof(trees[1].name), "%s", job->tenant);
    if (trees[1].dirfd < 0 && errno != ENOENT) {
        r = werr_errno(err, neg_errno(), "opening %s/%s failed",
                       d->cfg.state_dir, VIEWS_DIR);
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = werr_errno(err, neg_errno(), "creating the worker socket failed");
        goto out;
    }
    job->pid = fork();
    if (job->pid < 0) {
        r = werr_errno(err, neg_errno(), "starting the destruction worker "
                       "failed");
        goto out;
    }
    if (job->pid == 0)
        destruction_worker(d, sv[1], trees, ARRAY_SIZE(trees), counted);

    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    job->watch = (struct watch){.fd = sv[0], .fn = on_worker_message,
                                .data = job};
    r = loop_add(d, &job->watch, EPOLLIN);
    if (r < 0) {
        kill(job->pid, SIGKILL);
        waitpid(job->pid, NULL, 0);
        r = werr_errno(err, r, "watching the destruction worker failed");
        goto out;
    }
    sv[0] = -1;
    job->running = true;
    job->done = false;
    job->error[0] = '\0';
    job->removed_files = job->removed_bytes = 0;
    job->review_files = job->review_bytes = 0;
    log_info("destroying the data of tenant '%s' (destruction %lld, "
             "worker pid %d)",
             job->tenant, (long long)job->id, (int)job->pid);
out:
    for (size_t i = 0; i < ARRAY_SIZE(trees); i++)
        if (trees[i].dirfd >= 0)
            close(trees[i].dirfd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    return r;
}

static struct destruction_job *find_job(int64_t id)
{
    for (struct destruction_job *job = jobs; job; job = job->next)
        if (job->id == id)
            return job;
    return NULL;
}

/* A pending destruction as read from the database. */
struct pending_destruction {
    int64_t id;
    char tenant[64];
    bool counted;
};

/* Start a worker for every pending destruction that has none and is not
 * waiting to be retried. */
static void resume_destructions(struct daemon *d)
{
    struct pending_destruction pending[64];
    sqlite3_stmt *stmt = NULL;
    struct werr err = {0};
    time_t now = monotonic_seconds();
    size_t n = 0;

    if (db_prepare(d->db,
                   "SELECT x.id, t.name, x.files IS NOT NULL "
                   "FROM destructions x JOIN tenants t ON t.id = x.tenant_id "
                   "WHERE x.status = 'pending' ORDER BY x.id",
                   &stmt, &err) < 0) {
        log_error("looking for pending destructions failed: %s", err.msg);
        return;
    }
    /* At most 64 workers start per call; the next check starts the rest. */
    while (n < ARRAY_SIZE(pending) && sqlite3_step(stmt) == SQLITE_ROW) {
        pending[n].id = sqlite3_column_int64(stmt, 0);
        snprintf(pending[n].tenant, sizeof(pending[n].tenant), "%s",
                 db_text(stmt, 1));
        pending[n].counted = sqlite3_column_int(stmt, 2) != 0;
        n++;
    }
    sqlite3_finalize(stmt);

    for (size_t i = 0; i < n; i++) {
        struct destruction_job *job = find_job(pending[i].id);

        if (job && (job->running || job->retry_at.tv_sec > now))
            continue;
        if (!job) {
            job = calloc(1, sizeof(*job));
            if (!job)
                return;
            job->id = pending[i].id;
            job->watch.fd = -1;
            snprintf(job->tenant, sizeof(job->tenant), "%s",
                     pending[i].tenant);
            job->next = jobs;
            jobs = job;
        }
        if (db_run(d, "counting the destruction attempt failed",
                   "UPDATE destructions SET attempts = attempts + 1 "
                   "WHERE id = ?",
                   "i", job->id, &err) < 0 ||
            start_worker(d, job, pending[i].counted, &err) < 0) {
            snprintf(job->error, sizeof(job->error), "%s", err.msg);
            fail_destruction(d, job);
        }
    }
}

static json_t *int_or_null(sqlite3_stmt *stmt, int col)
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(stmt, col));
}

static json_t *text_or_null(sqlite3_stmt *stmt, int col)
{
    const unsigned char *s = sqlite3_column_text(stmt, col);
    json_t *value = s ? json_string((const char *)s) : NULL;

    return value ? value : json_null();
}

#define DESTRUCTION_COLUMNS                                                    \
    "x.id, t.name, x.status, x.reason, x.started_at, x.finished_at, "          \
    "x.files, x.bytes, x.datasets, x.attempts, x.last_error"

static json_t *destruction_row_to_json(sqlite3_stmt *stmt)
{
    json_t *datasets = json_loads(db_text(stmt, 8), 0, NULL);

    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:I, "
                     "s:o}",
                     "id", (json_int_t)sqlite3_column_int64(stmt, 0),
                     "tenant", db_text(stmt, 1), "status", db_text(stmt, 2),
                     "reason", db_text(stmt, 3), "started_at",
                     (json_int_t)sqlite3_column_int64(stmt, 4),
                     "finished_at", int_or_null(stmt, 5), "files",
                     int_or_null(stmt, 6), "bytes", int_or_null(stmt, 7),
                     "datasets", datasets ? datasets : json_array(),
                     "attempts", (json_int_t)sqlite3_column_int64(stmt, 9),
                     "last_error", text_or_null(stmt, 10));
}

static json_t *destruction_json(struct daemon *d, int64_t id)
{
    sqlite3_stmt *stmt = NULL;
    json_t *row = NULL;

    if (sqlite3_prepare_v2(d->db,
                           "SELECT " DESTRUCTION_COLUMNS " FROM destructions "
                           "x JOIN tenants t ON t.id = x.tenant_id "
                           "WHERE x.id = ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(stmt, 1, id);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        row = destruction_row_to_json(stmt);
    sqlite3_finalize(stmt);
    return row;
}

/* ---- Retention and purge ------------------------------------------------ */

/* The first second at which the audit records of a tenant terminated at
 * terminated_at may be purged. */
time_t tenant_retention_end(const struct daemon *d, int64_t terminated_at)
{
    return (time_t)terminated_at +
           (time_t)d->cfg.retention_days * DAY_SECONDS;
}

/* Delete recordings/<tenant> of every purged tenant that still has one.
 * audit_purge_chain() leaves the files to its caller, and this runs after
 * the purge's commit and again at every start. */
static void remove_purged_recordings(struct daemon *d)
{
    _cleanup_close_ int recordings = -1;
    sqlite3_stmt *stmt = NULL;

    recordings = openat(d->state_dir_fd, RECORDINGS_DIR,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (recordings < 0)
        return;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT name FROM tenants WHERE state = 'purged'",
                           -1, &stmt, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *name = db_text(stmt, 0);
        uint64_t files = 0, bytes = 0;
        struct stat st;
        int r;

        if (fstatat(recordings, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        /* TODO: many large recordings block the event loop while they are
         * unlinked; move this into a worker if that shows up. */
        r = fs_remove_tree_at(recordings, name, &files, &bytes);
        if (r < 0)
            log_error("removing the recordings of purged tenant '%s' "
                      "failed: %s",
                      name, strerror(-r));
        else
            log_info("removed the recordings of purged tenant '%s': %llu "
                     "files, %llu bytes",
                     name, (unsigned long long)files,
                     (unsigned long long)bytes);
    }
    sqlite3_finalize(stmt);
}

static int pending_destruction_of(struct daemon *d, int64_t tenant_id)
{
    sqlite3_stmt *stmt = NULL;
    int found;

    if (sqlite3_prepare_v2(d->db,
                           "SELECT 1 FROM destructions WHERE tenant_id = ? "
                           "AND status = 'pending'",
                           -1, &stmt, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(stmt, 1, tenant_id);
    found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
}

static int verb_audit_purge(struct request *req, json_t **ret_result,
                            struct werr *err)
{
    struct daemon *d = req->d;
    struct audit_purge_result res = {0};
    char chain[AUDIT_CHAIN_MAX], hash[AUDIT_HEX_SIZE];
    char allowed_text[32], terminated_text[32];
    struct tenant_life t;
    time_t now = daemon_now(d), allowed;
    int r;

    r = tenant_arg(req, &t, err);
    /* The request's own event goes to the platform chain: the tenant's
     * chain is the one being deleted. */
    req->tenant[0] = '\0';
    if (r < 0)
        return r;
    if (strcmp(t.state, "purged") == 0)
        return werr_set(err, -EALREADY,
                        "the audit records of tenant '%s' were already "
                        "purged",
                        t.name);
    if (strcmp(t.state, "terminated") != 0)
        return werr_set(err, -EBUSY,
                        "tenant '%s' is %s: only a terminated tenant's audit "
                        "records can be purged",
                        t.name, t.state);
    if (pending_destruction_of(d, t.id) != 0)
        return werr_set(err, -EBUSY,
                        "the data of tenant '%s' is still being destroyed: "
                        "see 'warden tenant lifecycle %s' and retry when it "
                        "is done",
                        t.name, t.name);
    allowed = tenant_retention_end(d, t.terminated_at);
    if (now < allowed) {
        format_time(allowed, allowed_text);
        format_time((time_t)t.terminated_at, terminated_text);
        return werr_set(err, -EBUSY,
                        "the audit records of tenant '%s' must be kept for "
                        "%u days after its termination on %s: purging is "
                        "allowed from %s",
                        t.name, d->cfg.retention_days, terminated_text,
                        allowed_text);
    }
    snprintf(chain, sizeof(chain), "%s%s", AUDIT_TENANT_PREFIX, t.name);
    r = audit_purge_chain(d->audit, chain, req->caller.login,
                          (int64_t)req->caller.uid, &res, err);
    if (r < 0)
        return r;
    r = db_run(d, "marking the tenant purged failed",
               "UPDATE tenants SET state = 'purged', purged_at = ?, "
               "state_changed_at = ? WHERE id = ?",
               "iii", (int64_t)now, (int64_t)now, t.id, err);
    if (r < 0)
        return r;
    lifecycle_kick();
    audit_hex(res.final_hash, sizeof(res.final_hash), hash);
    req->details = json_pack("{s:s, s:I, s:I, s:s}", "chain", chain,
                             "events", (json_int_t)res.events, "final_seq",
                             (json_int_t)res.final_seq, "final_hash", hash);
    *ret_result = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "name",
                            t.name, "state", "purged", "chain", chain,
                            "events", (json_int_t)res.events, "final_seq",
                            (json_int_t)res.final_seq, "final_hash", hash,
                            "platform_seq", (json_int_t)res.platform_seq);
    return 0;
}

/* ---- Lifecycle details -------------------------------------------------- */

static int add_destructions(struct daemon *d, int64_t tenant_id,
                            json_t *result, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array();
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT " DESTRUCTION_COLUMNS " FROM destructions x "
                   "JOIN tenants t ON t.id = x.tenant_id "
                   "WHERE x.tenant_id = ? ORDER BY x.id",
                   &stmt, err);
    if (r < 0) {
        json_decref(list);
        return r;
    }
    sqlite3_bind_int64(stmt, 1, tenant_id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(list, destruction_row_to_json(stmt));
    sqlite3_finalize(stmt);
    json_object_set_new(result, "destructions", list);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "listing destructions failed", err);
    return 0;
}

static int verb_tenant_lifecycle(struct request *req, json_t **ret_result,
                                 struct werr *err)
{
    struct daemon *d = req->d;
    sqlite3_stmt *stmt = NULL;
    struct tenant_life t;
    json_t *result;
    int r, rc;

    r = tenant_arg(req, &t, err);
    if (r < 0)
        return r;
    if (req->caller.role == ROLE_OPERATOR &&
        strcmp(req->caller.tenant, t.name) != 0)
        return werr_set(err, -EACCES,
                        "operators may only see their own tenant '%s'",
                        req->caller.tenant);
    r = db_prepare(d->db,
                   "SELECT state, COALESCE(state_changed_at, created_at), "
                   "term_start, term_end, plan_sha256, "
                   "length(CAST(plan_text AS BLOB)), plan_filed_by, "
                   "plan_filed_at, suspension_reason, suspension_deadline, "
                   "termination_reason, terminated_at, purged_at "
                   "FROM tenants WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, t.id);
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(stmt);
        return db_error(d->db, rc, "reading the tenant failed", err);
    }
    result = json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:I, s:{s:o, s:o, s:o, s:o}, "
        "s:{s:o, s:o}, s:{s:o, s:o, s:o}, s:o}",
        "name", t.name, "state", db_text(stmt, 0), "state_changed_at",
        (json_int_t)sqlite3_column_int64(stmt, 1), "term_start",
        db_text(stmt, 2), "term_end", db_text(stmt, 3), "term_ends_at",
        (json_int_t)day_end(db_text(stmt, 3)), "plan", "sha256",
        text_or_null(stmt, 4), "bytes", int_or_null(stmt, 5), "filed_by",
        text_or_null(stmt, 6), "filed_at", int_or_null(stmt, 7),
        "suspension", "reason", text_or_null(stmt, 8), "deadline",
        text_or_null(stmt, 9), "termination", "reason",
        text_or_null(stmt, 10), "terminated_at", int_or_null(stmt, 11),
        "retention_until",
        sqlite3_column_type(stmt, 11) == SQLITE_NULL
            ? json_null()
            : json_integer((json_int_t)tenant_retention_end(
                  d, sqlite3_column_int64(stmt, 11))),
        "purged_at", int_or_null(stmt, 12));
    sqlite3_finalize(stmt);
    if (!result)
        return werr_set(err, -ENOMEM, "out of memory");
    r = add_destructions(d, t.id, result, err);
    if (r < 0) {
        json_decref(result);
        return r;
    }
    *ret_result = result;
    return 0;
}

/* ---- Start and timer ---------------------------------------------------- */

static void on_kick(struct daemon *d, struct watch *w, uint32_t events)
{
    uint64_t count;

    (void)events;
    if (read(w->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_warning("reading the lifecycle wake-up failed: %s",
                    strerror(errno));
    resume_destructions(d);
    remove_purged_recordings(d);
}

int lifecycle_start(struct daemon *d, struct werr *err)
{
    int fd, r;

    fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "creating the lifecycle eventfd "
                          "failed");
    kick_watch = (struct watch){.fd = fd, .fn = on_kick};
    r = loop_add(d, &kick_watch, EPOLLIN);
    if (r < 0) {
        close(fd);
        kick_watch.fd = -1;
        return werr_errno(err, r, "watching the lifecycle eventfd failed");
    }
    /* Catch up on what happened while the daemon was down. */
    check_expiry(d);
    resume_destructions(d);
    remove_purged_recordings(d);
    return 0;
}

void lifecycle_periodic(struct daemon *d)
{
    static time_t last_check;
    time_t now = monotonic_seconds();

    if (last_check && now - last_check < (time_t)d->cfg.expiry_check_seconds)
        return;
    last_check = now;
    check_expiry(d);
    resume_destructions(d);
}

const struct verb lifecycle_verbs[] = {
    {"tenant.plan", ROLE_ADMIN, 0, verb_tenant_plan},
    {"tenant.activate", ROLE_ADMIN, 0, verb_tenant_activate},
    {"tenant.suspend", ROLE_ADMIN, 0, verb_tenant_suspend},
    {"tenant.freeze", ROLE_ADMIN, 0, verb_tenant_freeze},
    {"tenant.resume", ROLE_ADMIN, 0, verb_tenant_resume},
    {"tenant.terminate", ROLE_ADMIN, 0, verb_tenant_terminate},
    {"tenant.lifecycle", ROLE_ANY, VERB_READ_ONLY, verb_tenant_lifecycle},
    {"audit.purge", ROLE_ADMIN, 0, verb_audit_purge},
    {NULL, 0, 0, NULL},
};
