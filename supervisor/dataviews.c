/* The views of granted datasets that sandboxes see read-only at /data.
 *
 * views/<tenant>/dev/<dataset>.csv is a sample of cfg.sample_rows rows
 * with every column passed through its rule, pseudonyms keyed by the
 * tenant's own secret, and a sample seed derived from the tenant and
 * dataset names, so a rebuild gives the same file.  views/<tenant>/prod/
 * <dataset>.csv is a copy of the raw file for production jobs: a reflink
 * (FICLONE) where the file system supports it, else a byte copy.  It is
 * never a hard link, because a link shares the inode, and with it the
 * mode and owner, of the root-only raw store.
 *
 * Files are 0440 and directories 0750, owned by root with the group of
 * the tenant's sandbox user (uid_base + 1000), so the sandbox can read
 * them and change nothing.  Builds run in worker processes; each build
 * carries the grant's generation number, and a build that finishes after
 * a newer one was started, or after a revoke, drops its output. */
#include "supervisor/datasets.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1u << 20)

/* A grant with what a build needs to know about it. */
struct grant_row {
    int64_t id;
    char dataset[64];
    char tenant[64];
    gid_t gid;
    int64_t generation;
    bool revoked;
};

struct view_job {
    struct daemon *d;
    struct grant_row grant;
    struct caller by;
    struct view_batch *batch;
    enum csv_encoding encoding;
    struct dz_rules *rules;
    uint8_t secret[DZ_SECRET_SIZE];
    struct dz_sample sample;
    int raw_fd;
    int dev_fd;   /* temporary file of the development view, or -1 */
    int prod_fd;  /* temporary file of the production copy, or -1 */
    char tmp_name[96];
};

static int load_grant(struct daemon *d, int64_t id, struct grant_row *ret,
                      struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT ds.name, t.name, t.uid_base, g.view_generation, "
                   "g.revoked_at IS NOT NULL FROM grants g "
                   "JOIN datasets ds ON ds.id = g.dataset_id "
                   "JOIN tenants t ON t.id = g.tenant_id WHERE g.id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        ret->id = id;
        snprintf(ret->dataset, sizeof(ret->dataset), "%s", db_text(stmt, 0));
        snprintf(ret->tenant, sizeof(ret->tenant), "%s", db_text(stmt, 1));
        ret->gid = (gid_t)(sqlite3_column_int64(stmt, 2) + SANDBOX_ID_OFFSET);
        ret->generation = sqlite3_column_int64(stmt, 3);
        ret->revoked = sqlite3_column_int(stmt, 4) != 0;
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT, "grant %lld not found", (long long)id);
    if (rc != SQLITE_ROW)
        return db_error(d->db, rc, "reading the grant failed", err);
    return 0;
}

/* ---- directories and keys ---- */

/* Create or fix directory name below dir_fd: mode, owner root, group gid. */
static int owned_dir(int dir_fd, const char *name, mode_t mode, gid_t gid,
                     int *ret_fd, struct werr *err)
{
    _cleanup_close_ int fd = -1;
    struct stat st;

    if (mkdirat(dir_fd, name, mode) < 0 && errno != EEXIST)
        return werr_errno(err, neg_errno(), "creating the view directory "
                          "%s failed", name);
    fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "opening the view directory %s "
                          "failed", name);
    if ((st.st_uid != 0 || st.st_gid != gid) && fchown(fd, 0, gid) < 0)
        return werr_errno(err, neg_errno(), "setting the owner of %s "
                          "failed", name);
    if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
        return werr_errno(err, neg_errno(), "setting the mode of %s failed",
                          name);
    if (ret_fd)
        *ret_fd = TAKE_FD(fd);
    return 0;
}

/* Open views/<tenant>/dev or prod, creating the tree. */
static int open_view_dir(struct daemon *d, const char *tenant, gid_t gid,
                         bool production, struct werr *err)
{
    _cleanup_close_ int views_fd = -1, tenant_fd = -1;
    int fd = -1, r;

    r = owned_dir(d->state_dir_fd, VIEWS_DIR, 0700, 0, &views_fd, err);
    if (r == 0)
        r = owned_dir(views_fd, tenant, 0750, gid, &tenant_fd, err);
    if (r == 0)
        r = owned_dir(tenant_fd, production ? "prod" : "dev", 0750, gid,
                      &fd, err);
    return r < 0 ? r : fd;
}

/* Read the tenant's pseudonym secret, creating it on first use. */
static int tenant_secret(struct daemon *d, const char *tenant,
                         uint8_t ret[DZ_SECRET_SIZE], struct werr *err)
{
    _cleanup_close_ int fd = -1;
    char path[128];
    ssize_t n;

    snprintf(path, sizeof(path), "keys/tenant-%s.key", tenant);
    fd = fs_open_beneath(d->state_dir_fd, path, O_RDONLY, 0);
    if (fd == -ENOENT) {
        uint8_t fresh[DZ_SECRET_SIZE];
        int r;

        randombytes_buf(fresh, sizeof(fresh));
        fd = fs_open_beneath(d->state_dir_fd, path,
                             O_WRONLY | O_CREAT | O_EXCL, 0600);
        r = fd < 0 ? fd : fs_write_all(fd, fresh, sizeof(fresh));
        if (r == 0 && fsync(fd) < 0)
            r = neg_errno();
        if (r < 0) {
            sodium_memzero(fresh, sizeof(fresh));
            return werr_errno(err, r, "creating the secret %s failed", path);
        }
        memcpy(ret, fresh, sizeof(fresh));
        sodium_memzero(fresh, sizeof(fresh));
        return 0;
    }
    if (fd < 0)
        return werr_errno(err, fd, "opening the secret %s failed", path);
    n = read(fd, ret, DZ_SECRET_SIZE);
    if (n != DZ_SECRET_SIZE)
        return werr_set(err, -EIO, "the secret %s is damaged: expected %d "
                        "bytes", path, DZ_SECRET_SIZE);
    return 0;
}

/* A sample seed that depends only on the tenant and dataset names. */
static uint64_t sample_seed(const char *tenant, const char *dataset)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state state;
    uint64_t seed = 0;

    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, (const unsigned char *)"warden-sample",
                              sizeof("warden-sample"));
    crypto_hash_sha256_update(&state, (const unsigned char *)tenant,
                              strlen(tenant) + 1);
    crypto_hash_sha256_update(&state, (const unsigned char *)dataset,
                              strlen(dataset));
    crypto_hash_sha256_final(&state, digest);
    for (int i = 0; i < 8; i++)
        seed |= (uint64_t)digest[i] << (8 * i);
    return seed;
}

int dataviews_dir(struct daemon *d, const char *tenant, bool production,
                  char *ret_path, size_t size, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t uid_base = 0;
    int r, rc, fd;

    r = db_prepare(d->db, "SELECT uid_base FROM tenants WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        uid_base = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT, "tenant '%s' not found", tenant);
    if (rc != SQLITE_ROW)
        return db_error(d->db, rc, "reading the tenant failed", err);
    fd = open_view_dir(d, tenant, (gid_t)(uid_base + SANDBOX_ID_OFFSET),
                       production, err);
    if (fd < 0)
        return fd;
    close(fd);
    if (snprintf(ret_path, size, "%s/%s/%s/%s", d->cfg.state_dir, VIEWS_DIR,
                 tenant, production ? "prod" : "dev") >= (int)size)
        return werr_set(err, -ENAMETOOLONG, "the view path of tenant '%s' "
                        "is too long", tenant);
    return 0;
}

int dataviews_remove(struct daemon *d, const char *tenant,
                     const char *dataset, struct werr *err)
{
    static const char *const kinds[] = {"dev", "prod"};
    char path[256];

    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        snprintf(path, sizeof(path), "%s/%s/%s/%s.csv", VIEWS_DIR, tenant,
                 kinds[i], dataset);
        if (unlinkat(d->state_dir_fd, path, 0) < 0 && errno != ENOENT)
            return werr_errno(err, neg_errno(), "removing the view %s "
                              "failed", path);
    }
    return 0;
}

/* ---- batches ---- */

void dataviews_batch_maybe_reply(struct daemon *d, struct view_batch *batch)
{
    if (!batch || batch->pending > 0)
        return;
    if (!batch->cancelled)
        request_complete(d, &batch->request, 0,
                         json_pack("{s:O}", "views", batch->views), NULL);
    json_decref(batch->views);
    free(batch);
}

static void batch_add(struct view_batch *batch, const struct grant_row *g,
                      const char *state, const char *note, int64_t rows)
{
    json_t *v = json_pack("{s:s, s:s, s:s}", "dataset", g->dataset, "tenant",
                  g->tenant, "state", state);
    if (note)
        json_object_set_new(v, "note", json_string(note));
    if (rows >= 0)
        json_object_set_new(v, "rows", json_integer(rows));
    json_array_append_new(batch->views, v);
}

/* ---- recording a view's state ---- */

static int set_view_state(struct daemon *d, int64_t grant_id,
                          const char *state, const char *note, int64_t rows,
                          struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "UPDATE grants SET view_state = ?, view_note = ?, "
                   "view_rows = ?, view_built_at = IIF(? = 'ready', ?, "
                   "view_built_at) WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, note, -1, SQLITE_STATIC);
    if (rows >= 0)
        sqlite3_bind_int64(stmt, 3, rows);
    sqlite3_bind_text(stmt, 4, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)daemon_now(d));
    sqlite3_bind_int64(stmt, 6, grant_id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "storing the view state failed", err);
    return 0;
}

/* Mark the development view blocked, delete a stale one and record why. */
static int block_view(struct daemon *d, const struct grant_row *g,
                      const struct caller *by, const char *reason,
                      struct werr *err)
{
    char note[WERR_MSG_MAX + 16], path[256], object[96];
    int r;

    snprintf(note, sizeof(note), "blocked: %s", reason);
    snprintf(path, sizeof(path), "%s/%s/dev/%s.csv", VIEWS_DIR, g->tenant,
             g->dataset);
    if (unlinkat(d->state_dir_fd, path, 0) < 0 && errno != ENOENT)
        return werr_errno(err, neg_errno(), "removing the stale view %s "
                          "failed", path);
    r = set_view_state(d, g->id, "blocked", note, -1, err);
    snprintf(object, sizeof(object), "dataset:%s", g->dataset);
    if (r == 0)
        r = record_event_owned(d, by, g->tenant, "dataview.blocked", object,
                               "blocked",
                               json_pack("{s:s}", "reason", reason), err);
    return r;
}

/* ---- the worker ---- */

static int copy_fd(int src, int dst, bool *ret_cloned, struct werr *err)
{
    _cleanup_free_ char *buf = NULL;

    if (lseek(src, 0, SEEK_SET) < 0)
        return werr_errno(err, neg_errno(), "rewinding the raw file failed");
    if (ioctl(dst, FICLONE, src) == 0) {
        *ret_cloned = true;
        return 0;
    }
    *ret_cloned = false;
    buf = malloc(COPY_CHUNK);
    if (!buf)
        return werr_set(err, -ENOMEM, "out of memory");
    for (;;) {
        ssize_t n = read(src, buf, COPY_CHUNK);
        int r;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return werr_errno(err, neg_errno(), "reading the raw file "
                              "failed");
        if (n == 0)
            return 0;
        r = fs_write_all(dst, buf, (size_t)n);
        if (r < 0)
            return werr_errno(err, r, "writing the production copy failed");
    }
}

static int view_work(void *data, json_t **ret_report, struct werr *err)
{
    struct view_job *job = data;
    json_t *report = json_object();
    bool cloned = false;
    int r;

    if (job->dev_fd >= 0) {
        struct dz_view_request request = {
            .in_fd = job->raw_fd, .encoding = job->encoding,
            .rules = job->rules, .secret = job->secret,
            .sample = job->sample, .out_fd = job->dev_fd,
        };
        struct dz_view_stats stats = {0};
        struct werr dev_err = {0};

        r = dz_view_make(&request, &stats, &dev_err);
        if (r == 0 && fsync(job->dev_fd) < 0)
            r = werr_errno(&dev_err, neg_errno(), "syncing the view failed");
        if (r < 0)
            json_object_set_new(report, "dev",
                                json_pack("{s:i, s:s}", "code", r,
                                          "message", dev_err.msg));
        else
            json_object_set_new(
                report, "dev",
                json_pack("{s:I, s:I, s:I}", "rows",
                          (json_int_t)stats.rows_out, "rows_in",
                          (json_int_t)stats.rows_in, "unparsed",
                          (json_int_t)stats.unparsed_values));
    }
    sodium_memzero(job->secret, sizeof(job->secret));
    if (job->prod_fd >= 0) {
        r = copy_fd(job->raw_fd, job->prod_fd, &cloned, err);
        if (r == 0 && fsync(job->prod_fd) < 0)
            r = werr_errno(err, neg_errno(), "syncing the production copy "
                           "failed");
        if (r < 0) {
            json_decref(report);
            return r;
        }
        json_object_set_new(report, "prod",
                            json_pack("{s:s}", "method",
                                      cloned ? "reflink" : "copy"));
    }
    *ret_report = report;
    return 0;
}

/* ---- starting and finishing builds ---- */

static void view_job_free(struct view_job *job)
{
    if (job->raw_fd >= 0)
        close(job->raw_fd);
    if (job->dev_fd >= 0)
        close(job->dev_fd);
    if (job->prod_fd >= 0)
        close(job->prod_fd);
    dz_rules_free(job->rules);
    sodium_memzero(job->secret, sizeof(job->secret));
    free(job);
}

static int open_tmp(struct daemon *d, struct view_job *job, bool production,
                    struct werr *err)
{
    _cleanup_close_ int dir_fd = open_view_dir(d, job->grant.tenant,
                                               job->grant.gid, production,
                                               err);
    int fd;

    if (dir_fd < 0)
        return dir_fd;
    unlinkat(dir_fd, job->tmp_name, 0);
    fd = openat(dir_fd, job->tmp_name, O_RDWR | O_CREAT | O_EXCL |
                O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "creating the view %s/%s "
                          "failed", job->grant.tenant, job->tmp_name);
    return fd;
}

/* Give the temporary file of a finished view its owner and mode and move
 * it into place. */
static int install_view(struct daemon *d, struct view_job *job,
                        bool production, int fd, struct werr *err)
{
    _cleanup_close_ int dir_fd = open_view_dir(d, job->grant.tenant,
                                               job->grant.gid, production,
                                               err);
    char name[80];

    if (dir_fd < 0)
        return dir_fd;
    snprintf(name, sizeof(name), "%s.csv", job->grant.dataset);
    if (fchown(fd, 0, job->grant.gid) < 0 || fchmod(fd, 0440) < 0 ||
        renameat(dir_fd, job->tmp_name, dir_fd, name) < 0)
        return werr_errno(err, neg_errno(), "installing the view %s/%s "
                          "failed", job->grant.tenant, name);
    return 0;
}

static void discard_tmp(struct daemon *d, struct view_job *job)
{
    char path[256];

    if (job->dev_fd >= 0) {
        snprintf(path, sizeof(path), "%s/%s/dev/%s", VIEWS_DIR,
                 job->grant.tenant, job->tmp_name);
        unlinkat(d->state_dir_fd, path, 0);
    }
    if (job->prod_fd >= 0) {
        snprintf(path, sizeof(path), "%s/%s/prod/%s", VIEWS_DIR,
                 job->grant.tenant, job->tmp_name);
        unlinkat(d->state_dir_fd, path, 0);
    }
}

/* Apply a finished build in the open transaction.  Return 1 when the
 * build is outdated and was dropped. */
static int apply_build(struct daemon *d, struct view_job *job,
                       json_t *report, json_t **ret_view, struct werr *err)
{
    struct grant_row now = {0};
    json_t *dev = json_object_get(report, "dev");
    char object[96];
    int64_t rows = -1;
    int r;

    r = load_grant(d, job->grant.id, &now, err);
    if (r == -ENOENT || (r == 0 && (now.revoked ||
                                    now.generation != job->grant.generation)))
        return 1;
    if (r < 0)
        return r;
    snprintf(object, sizeof(object), "dataset:%s", job->grant.dataset);
    if (job->prod_fd >= 0) {
        r = install_view(d, job, true, job->prod_fd, err);
        if (r < 0)
            return r;
    }
    if (dev && json_object_get(dev, "code")) {
        const char *message = json_string_value(json_object_get(dev,
                                                                "message"));
        if (json_integer_value(json_object_get(dev, "code")) == -EPERM) {
            r = block_view(d, &job->grant, &job->by, message, err);
            *ret_view = json_pack("{s:s, s:s}", "state", "blocked", "note",
                                  message);
            return r;
        }
        return werr_set(err, -EIO, "%s", message);
    }
    /* Without a development part the view stays blocked, as recorded
     * when the build started. */
    if (dev) {
        rows = json_integer_value(json_object_get(dev, "rows"));
        r = install_view(d, job, false, job->dev_fd, err);
        if (r == 0)
            r = set_view_state(d, job->grant.id, "ready", NULL, rows, err);
        *ret_view = json_pack("{s:s, s:I}", "state", "ready", "rows",
                              (json_int_t)rows);
    }
    if (r == 0)
        r = record_event_owned(d, &job->by, job->grant.tenant,
                               "dataview.built", object, "ok",
                               json_deep_copy(report), err);
    return r;
}

/* Record a failed build in its own transaction. */
static void record_failure(struct daemon *d, struct view_job *job,
                           const char *message)
{
    char note[WERR_MSG_MAX + 16], object[96];
    struct werr err = {0};

    snprintf(note, sizeof(note), "failed: %s", message);
    snprintf(object, sizeof(object), "dataset:%s", job->grant.dataset);
    log_error("building the views of '%s' for tenant '%s' failed: %s",
              job->grant.dataset, job->grant.tenant, message);
    if (db_begin(d->db, &err) < 0 ||
        set_view_state(d, job->grant.id, "failed", note, -1, &err) < 0 ||
        record_event(d, &job->by, job->grant.tenant, "dataview.failed",
                     object, note, NULL, &err) < 0 ||
        db_commit(d->db, &err) < 0) {
        db_rollback(d->db);
        log_error("recording the failed view build failed: %s", err.msg);
    }
}

static void view_done(struct daemon *d, void *data, int r, json_t *report,
                      const struct werr *worker_err)
{
    struct view_job *job = data;
    struct werr err = {0};
    json_t *view = NULL;

    if (r < 0)
        err = *worker_err;
    if (r == 0)
        r = db_begin(d->db, &err);
    if (r == 0) {
        r = apply_build(d, job, report, &view, &err);
        if (r >= 0 && db_commit(d->db, &err) < 0)
            r = err.code;
        if (r < 0)
            db_rollback(d->db);
    }
    if (r != 0)
        discard_tmp(d, job);
    if (r == 1)
        log_debug("dropped an outdated build of '%s' for tenant '%s'",
                  job->grant.dataset, job->grant.tenant);
    if (r < 0) {
        record_failure(d, job, err.msg);
        json_decref(view);
        view = json_pack("{s:s, s:s}", "state", "failed", "note", err.msg);
    }
    if (job->batch) {
        if (view && r != 1)
            batch_add(job->batch, &job->grant,
                      json_string_value(json_object_get(view, "state")),
                      json_string_value(json_object_get(view, "note")),
                      json_object_get(view, "rows")
                          ? json_integer_value(json_object_get(view, "rows"))
                          : -1);
        job->batch->pending--;
        dataviews_batch_maybe_reply(d, job->batch);
    }
    json_decref(view);
    view_job_free(job);
}

static int open_raw(struct daemon *d, const char *dataset, struct werr *err)
{
    char path[128];
    int fd;

    snprintf(path, sizeof(path), "%s/%s/raw.csv", DATASETS_DIR, dataset);
    fd = fs_open_beneath(d->state_dir_fd, path, O_RDONLY, 0);
    if (fd < 0)
        return werr_errno(err, fd, "opening the raw file of '%s' failed",
                          dataset);
    return fd;
}

/* Bump the grant's generation so that older builds drop their output. */
static int next_generation(struct daemon *d, struct grant_row *g,
                           struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "UPDATE grants SET view_generation = view_generation + 1, "
                   "view_state = 'building', view_note = NULL WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, g->id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "updating the grant failed", err);
    g->generation++;
    return 0;
}

static int view_job_setup(struct daemon *d, struct view_job *job,
                          const struct dataset *ds, bool dev, bool production,
                          struct werr *err)
{
    int r;

    job->encoding = ds->encoding;
    job->raw_fd = open_raw(d, ds->name, err);
    if (job->raw_fd < 0)
        return job->raw_fd;
    snprintf(job->tmp_name, sizeof(job->tmp_name), ".%s.csv.%lld.tmp",
             ds->name, (long long)job->grant.generation);
    if (dev) {
        job->sample = (struct dz_sample){
            .mode = DZ_SAMPLE_COUNT,
            .count = d->cfg.sample_rows,
            .seed = sample_seed(job->grant.tenant, ds->name),
        };
        r = dataset_parse_rules(ds->rules, &job->rules, err);
        if (r == 0)
            r = tenant_secret(d, job->grant.tenant, job->secret, err);
        if (r < 0)
            return r;
        job->dev_fd = open_tmp(d, job, false, err);
        if (job->dev_fd < 0)
            return job->dev_fd;
    }
    if (production) {
        job->prod_fd = open_tmp(d, job, true, err);
        if (job->prod_fd < 0)
            return job->prod_fd;
    }
    return 0;
}

static int start_build(struct daemon *d, struct view_job *job,
                       struct werr *err)
{
    int keep[3] = {job->raw_fd, job->dev_fd, job->prod_fd};
    char what[200];
    int r;

    snprintf(what, sizeof(what), "building the views of '%s' for tenant "
             "'%s'", job->grant.dataset, job->grant.tenant);
    r = worker_start(d, what, keep, 3, view_work, view_done, job, err);
    if (r < 0)
        return r;
    /* The worker has its own copy of the secret. */
    sodium_memzero(job->secret, sizeof(job->secret));
    if (job->batch)
        job->batch->pending++;
    return 0;
}

int dataviews_schedule(struct daemon *d, int64_t grant_id, bool production,
                       const struct caller *by, struct view_batch *batch,
                       struct werr *err)
{
    struct view_job *job = calloc(1, sizeof(*job));
    struct dz_rules *rules = NULL;
    struct dataset ds = {0};
    struct werr blocking = {0};
    bool dev = true;
    int r;

    if (!job)
        return werr_set(err, -ENOMEM, "out of memory");
    *job = (struct view_job){.d = d, .by = *by, .batch = batch,
                             .raw_fd = -1, .dev_fd = -1, .prod_fd = -1};
    r = load_grant(d, grant_id, &job->grant, err);
    if (r == 0)
        r = dataset_load(d, job->grant.dataset, &ds, err);
    if (r == 0)
        r = next_generation(d, &job->grant, err);
    if (r == 0)
        r = dataset_parse_rules(ds.rules, &rules, err);
    if (r == 0 && dataset_check_blocking(&ds, rules, &blocking) < 0) {
        dev = false;
        r = block_view(d, &job->grant, by, blocking.msg, err);
        if (batch)
            batch_add(batch, &job->grant, "blocked", blocking.msg, -1);
    }
    if (r == 0 && (dev || production))
        r = view_job_setup(d, job, &ds, dev, production, err);
    if (r == 0 && (dev || production))
        r = start_build(d, job, err);
    if (r < 0 || !(dev || production)) {
        discard_tmp(d, job);
        view_job_free(job);
    }
    dz_rules_free(rules);
    dataset_clear(&ds);
    return r;
}
