/* Production jobs: a program that runs without a terminal or network on
 * the raw datasets granted to the tenant, from a read-only snapshot of the
 * submitter's code folder, writing only to an empty output folder.  Its
 * standard output and error are kept for review, never streamed, and its
 * output files enter the export review with the job as provenance. */
#include "supervisor/sbx.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A code folder larger than this is refused: jobs ship code, not data. */
#define JOB_MAX_CODE_BYTES (64ull << 20)
#define JOB_MAX_CODE_FILES 10000
#define JOB_MAX_ARGS 256

struct snapshot {
    crypto_hash_sha256_state hash;
    uint64_t bytes;
    uint64_t files;
    gid_t gid;
};

static int copy_file(int src_dir, int dst_dir, const char *name,
                     struct snapshot *snap, struct werr *err)
{
    _cleanup_close_ int in = -1, out = -1;
    char buf[65536];
    struct stat st;
    ssize_t n;

    in = fs_open_beneath(src_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
                         0);
    if (in < 0 || fstat(in, &st) < 0)
        return werr_errno(err, in < 0 ? in : neg_errno(),
                          "reading code file '%s' failed", name);
    if (!S_ISREG(st.st_mode))
        return 0;
    if (++snap->files > JOB_MAX_CODE_FILES)
        return werr_set(err, -EFBIG, "the code folder has more than %d files",
                        JOB_MAX_CODE_FILES);
    out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                 0440);
    /* fchmod because the daemon's umask would clear the group bits. */
    if (out < 0 || fchown(out, 0, snap->gid) < 0 || fchmod(out, 0440) < 0)
        return werr_errno(err, neg_errno(), "writing snapshot of '%s' failed",
                          name);
    crypto_hash_sha256_update(&snap->hash, (const unsigned char *)name,
                              strlen(name) + 1);
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        snap->bytes += (uint64_t)n;
        if (snap->bytes > JOB_MAX_CODE_BYTES)
            return werr_set(err, -EFBIG,
                            "the code folder is larger than %llu MiB: keep "
                            "data out of it",
                            JOB_MAX_CODE_BYTES >> 20);
        crypto_hash_sha256_update(&snap->hash, (unsigned char *)buf,
                                  (size_t)n);
        if (fs_write_all(out, buf, (size_t)n) < 0)
            return werr_errno(err, neg_errno(), "writing snapshot failed");
    }
    return n < 0 ? werr_errno(err, neg_errno(), "reading '%s' failed", name)
                 : 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy the regular files and folders below src_dir into dst_dir, in name
 * order so that the hash does not depend on directory order.  Symbolic
 * links and special files are left out. */
static int copy_tree(int src_dir, int dst_dir, struct snapshot *snap,
                     int depth, struct werr *err)
{
    _cleanup_close_ int iter = fcntl(src_dir, F_DUPFD_CLOEXEC, 3);
    char *names[4096];
    size_t n = 0;
    DIR *dir;
    struct dirent *de;
    int r = 0;

    if (depth > 16)
        return werr_set(err, -ELOOP, "the code folder is nested too deeply");
    dir = iter >= 0 ? fdopendir(iter) : NULL;
    if (!dir)
        return werr_errno(err, neg_errno(), "listing the code folder failed");
    iter = -1;
    while ((de = readdir(dir)) && n < ARRAY_SIZE(names))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            names[n++] = strdup(de->d_name);
    closedir(dir);
    qsort(names, n, sizeof(char *), compare_names);
    for (size_t i = 0; i < n && r == 0; i++) {
        struct stat st;

        if (!names[i] || fstatat(src_dir, names[i], &st,
                                 AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            _cleanup_close_ int sub = -1, dsub = -1;

            sub = fs_open_beneath(src_dir, names[i], O_RDONLY | O_DIRECTORY,
                                  0);
            if (mkdirat(dst_dir, names[i], 0550) < 0 ||
                fchownat(dst_dir, names[i], 0, snap->gid,
                         AT_SYMLINK_NOFOLLOW) < 0 ||
                fchmodat(dst_dir, names[i], 0550, 0) < 0)
                r = werr_errno(err, neg_errno(), "snapshot of '%s' failed",
                               names[i]);
            dsub = openat(dst_dir, names[i],
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (r == 0 && sub >= 0 && dsub >= 0)
                r = copy_tree(sub, dsub, snap, depth + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            r = copy_file(src_dir, dst_dir, names[i], snap, err);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return r;
}

/* jobs/<tenant>/<id>[/sub] below the state directory: one folder per
 * tenant, so that termination destroys a tenant's job data in one walk. */
static int job_dir(struct daemon *d, const char *tenant, const char *id,
                   const char *sub, char *ret, size_t size)
{
    if ((size_t)snprintf(ret, size, "%s/jobs/%s/%s%s%s", d->cfg.state_dir,
                         tenant, id, sub ? "/" : "",
                         sub ? sub : "") >= size)
        return -ENAMETOOLONG;
    return 0;
}

int jobs_remove_tenant_files(struct daemon *d, const char *tenant,
                             uint64_t *files, uint64_t *bytes)
{
    char name[128];
    int r;

    snprintf(name, sizeof(name), "jobs/%s", tenant);
    r = fs_remove_tree_at(d->state_dir_fd, name, files, bytes);
    return r == -ENOENT ? 0 : r;
}

struct job_setup {
    char id[32];
    char code_path[4096];
    char output_path[4096];
    char code_sha256[65];
    uint64_t code_files;
    int log_fds[2];
};

/* Make jobs/<id>/{code,output} and the log files, and snapshot the code
 * folder (relative to the submitter's home) into code. */
static int prepare(struct daemon *d, const struct caller *who,
                   int64_t uid_base, const char *code_dir,
                   struct job_setup *job, struct werr *err)
{
    struct snapshot snap = {.gid = (gid_t)(uid_base + 1000)};
    unsigned char digest[32];
    char path[4096], home[4096];
    _cleanup_close_ int home_fd = -1, src = -1, dst = -1, dir = -1;
    int r;

    snprintf(path, sizeof(path), "%s/jobs", d->cfg.state_dir);
    if ((mkdir(path, 0711) < 0 && errno != EEXIST) || chmod(path, 0711) < 0)
        return werr_errno(err, neg_errno(), "creating %s failed", path);
    snprintf(path, sizeof(path), "%s/jobs/%s", d->cfg.state_dir, who->tenant);
    if ((mkdir(path, 0711) < 0 && errno != EEXIST) || chmod(path, 0711) < 0)
        return werr_errno(err, neg_errno(), "creating %s failed", path);
    job_dir(d, who->tenant, job->id, NULL, path, sizeof(path));
    if (mkdir(path, 0711) < 0)
        return werr_errno(err, neg_errno(), "creating %s failed", path);
    dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dir >= 0 && fchmod(dir, 0711) < 0)
        return werr_errno(err, neg_errno(), "setting the mode of %s failed",
                          path);
    job_dir(d, who->tenant, job->id, "code", job->code_path,
            sizeof(job->code_path));
    job_dir(d, who->tenant, job->id, "output", job->output_path,
            sizeof(job->output_path));
    if (dir < 0 || mkdirat(dir, "code", 0550) < 0 ||
        fchownat(dir, "code", 0, snap.gid, 0) < 0 ||
        fchmodat(dir, "code", 0550, 0) < 0 ||
        mkdirat(dir, "output", 0700) < 0 ||
        fchownat(dir, "output", (uid_t)(uid_base + 1000), snap.gid, 0) < 0)
        return werr_errno(err, neg_errno(), "preparing job folders failed");
    job->log_fds[0] = openat(dir, "stdout.log",
                             O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    job->log_fds[1] = openat(dir, "stderr.log",
                             O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (job->log_fds[0] < 0 || job->log_fds[1] < 0)
        return werr_errno(err, neg_errno(), "creating job logs failed");
    r = workspace_path(d, who->tenant, home, sizeof(home));
    if (r < 0)
        return werr_set(err, r, "workspace path too long");
    home_fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (home_fd >= 0)
        src = fs_open_beneath(home_fd, who->login, O_RDONLY | O_DIRECTORY, 0);
    if (src >= 0) {
        int inner = fs_open_beneath(src, code_dir, O_RDONLY | O_DIRECTORY, 0);
        close(src);
        src = inner;
    }
    if (src < 0)
        return werr_set(err, -ENOENT,
                        "code folder '%s' not found in /home/%s: create it "
                        "or pass --code DIR",
                        code_dir, who->login);
    dst = openat(dir, "code", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    crypto_hash_sha256_init(&snap.hash);
    r = copy_tree(src, dst, &snap, 0, err);
    if (r < 0)
        return r;
    crypto_hash_sha256_final(&snap.hash, digest);
    audit_hex(digest, sizeof(digest), job->code_sha256);
    job->code_files = snap.files;
    return 0;
}

/* Check that each named dataset is granted to the tenant and collect
 * the hashes of every granted dataset for the job's provenance. */
static int granted_datasets(struct daemon *d, int64_t tenant_id,
                            json_t *requested, json_t **ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array(), *item;
    size_t i;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT d.name, d.sha256 FROM grants g JOIN datasets d "
                   "ON d.id = g.dataset_id WHERE g.tenant_id = ? AND "
                   "g.revoked_at IS NULL ORDER BY d.name",
                   &stmt, err);
    if (r < 0) {
        json_decref(list);
        return r;
    }
    sqlite3_bind_int64(stmt, 1, tenant_id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(list,
                              json_pack("{s:s, s:s}", "name",
                                        db_text(stmt, 0), "sha256",
                                        db_text(stmt, 1)));
    sqlite3_finalize(stmt);
    json_array_foreach(requested, i, item) {
        bool found = false;
        size_t j;
        json_t *g;

        json_array_foreach(list, j, g)
            found |= json_equal(json_object_get(g, "name"), item);
        if (!found) {
            json_decref(list);
            return werr_set(err, -EACCES,
                            "dataset '%s' is not granted to your tenant: "
                            "request it with 'warden data request'",
                            json_is_string(item) ? json_string_value(item)
                                                 : "?");
        }
    }
    *ret = list;
    return 0;
}

static int count_outputs(const char *path, int *ret_fd)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    int count = 0, dup_fd;
    DIR *dir;
    struct dirent *de;

    if (fd < 0)
        return neg_errno();
    dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    while (dir && (de = readdir(dir)))
        if (de->d_type == DT_REG)
            count++;
    if (dir)
        closedir(dir);
    *ret_fd = fd;
    return count;
}

struct job_exit {
    char id[32];
    char tenant[64];
    char login[64];
    char output_path[4096];
    json_t *provenance;
};

static void on_job_exit(struct daemon *d, struct sbx *s, int status,
                        json_t *details)
{
    struct job_exit *job = s->exit_data;
    const char *state = WIFEXITED(status) && WEXITSTATUS(status) == 0
                            ? "succeeded"
                            : "failed";
    struct werr err = {0};
    sqlite3_stmt *stmt = NULL;
    _cleanup_close_ int out_fd = -1;
    int outputs, r;

    (void)details;
    outputs = count_outputs(job->output_path, &out_fd);
    r = db_begin(d->db, &err);
    if (r == 0)
        r = db_prepare(d->db,
                       "UPDATE jobs SET state = ?, ended_at = ?, "
                       "exit_code = ?, exit_signal = ?, outputs = ? "
                       "WHERE id = ?",
                       &stmt, &err);
    if (r == 0) {
        sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)daemon_now(d));
        if (WIFEXITED(status))
            sqlite3_bind_int(stmt, 3, WEXITSTATUS(status));
        if (WIFSIGNALED(status))
            sqlite3_bind_int(stmt, 4, WTERMSIG(status));
        sqlite3_bind_int(stmt, 5, outputs > 0 ? outputs : 0);
        sqlite3_bind_text(stmt, 6, job->id, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            r = db_error(d->db, sqlite3_errcode(d->db), "storing job", &err);
        sqlite3_finalize(stmt);
    }
    if (r == 0 && outputs > 0 && strcmp(state, "succeeded") == 0)
        r = review_submit_job_outputs(d, job->tenant, job->login, job->id,
                                      out_fd, job->provenance, &err);
    if (r == 0) {
        json_t *end = json_pack("{s:i, s:s}", "outputs", outputs, "sandbox",
                                s->id);
        r = record_event(d, NULL, job->tenant, "job.end", job->id, state, end,
                         &err);
        json_decref(end);
    }
    if (r == 0)
        r = db_commit(d->db, &err);
    if (r < 0) {
        db_rollback(d->db);
        log_error("job %s: recording its end failed: %s", job->id, err.msg);
    }
    json_decref(job->provenance);
    free(job);
}

static int parse_job_args(struct request *req, char **argv, json_t **requested,
                          const char **code_dir, const char **scenario,
                          struct werr *err)
{
    json_t *list = json_object_get(req->args, "argv"), *item;
    size_t i;
    int r;

    r = arg_string(req->args, "code", false, 255, code_dir, err);
    if (r == 0)
        r = arg_string(req->args, "scenario", false, 200, scenario, err);
    if (r < 0)
        return r;
    if (!*code_dir)
        *code_dir = "code";
    if (strstr(*code_dir, "..") || (*code_dir)[0] == '/')
        return werr_set(err, -EINVAL,
                        "invalid code folder '%s': give a folder inside your "
                        "home, such as 'code' or 'analysis/v2'",
                        *code_dir);
    *requested = json_object_get(req->args, "datasets");
    if (*requested && !json_is_array(*requested))
        return werr_set(err, -EINVAL, "'datasets' must be a list of names");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > JOB_MAX_ARGS)
        return werr_set(err, -EINVAL,
                        "argument 'argv' must be a list of 1 to %d strings",
                        JOB_MAX_ARGS);
    json_array_foreach(list, i, item) {
        if (!json_is_string(item) ||
            strlen(json_string_value(item)) != json_string_length(item))
            return werr_set(err, -EINVAL, "argv[%zu] must be a string", i);
        argv[i] = strdup(json_string_value(item));
        if (!argv[i])
            return werr_set(err, -ENOMEM, "out of memory");
    }
    argv[i] = NULL;
    return 0;
}

static int insert_job(struct daemon *d, const struct caller *who,
                      const struct job_setup *job, const char *sandbox_id,
                      json_t *argv_json, const char *scenario,
                      const char *code_dir, json_t *datasets,
                      struct werr *err)
{
    _cleanup_free_ char *command = json_dumps(argv_json, JSON_COMPACT);
    _cleanup_free_ char *datasets_text = json_dumps(datasets, JSON_COMPACT);
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "INSERT INTO jobs (id, tenant_id, login, sandbox_id, "
                   "command, scenario, code_dir, code_sha256, code_files, "
                   "datasets, state, submitted_at) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,'running',?)",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, who->tenant_id);
    sqlite3_bind_text(stmt, 3, who->login, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, sandbox_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, command ? command : "[]", -1, SQLITE_STATIC);
    if (scenario)
        sqlite3_bind_text(stmt, 6, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, code_dir, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 8, job->code_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64)job->code_files);
    sqlite3_bind_text(stmt, 10, datasets_text ? datasets_text : "[]", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 11, (sqlite3_int64)daemon_now(d));
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "storing the job", err);
}

static int next_job_id(struct daemon *d, char ret[32], struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "INSERT INTO counters (name, value) VALUES ('job', 1) "
                   "ON CONFLICT (name) DO UPDATE SET value = value + 1 "
                   "RETURNING value",
                   &stmt, err);
    if (r < 0)
        return r;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        snprintf(ret, 32, "job-%lld",
                 (long long)sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "numbering job", err);
}

static int tenant_uid_base(struct daemon *d, int64_t tenant_id,
                           int64_t *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db, "SELECT uid_base FROM tenants WHERE id = ?", &stmt,
                   err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, tenant_id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : werr_set(err, -ENOENT, "tenant not found");
}

static int launch_job(struct request *req, struct job_setup *job,
                      char **argv, json_t *provenance, struct sbx **ret,
                      struct werr *err)
{
    struct sandbox_bind binds[2] = {
        {.source_fd = -1, .source = job->code_path, .target = "/code",
         .read_only = true},
        {.source_fd = -1, .source = job->output_path, .target = "/output",
         .read_only = false},
    };
    struct launch l = {.kind = "job", .who = &req->caller, .argv = argv,
                       .production = true, .binds = binds, .n_binds = 2};
    struct job_exit *exit_data = calloc(1, sizeof(*exit_data));
    int r;

    if (!exit_data)
        return werr_set(err, -ENOMEM, "out of memory");
    snprintf(exit_data->id, sizeof(exit_data->id), "%s", job->id);
    snprintf(exit_data->tenant, sizeof(exit_data->tenant), "%s",
             req->caller.tenant);
    snprintf(exit_data->login, sizeof(exit_data->login), "%s",
             req->caller.login);
    snprintf(exit_data->output_path, sizeof(exit_data->output_path), "%s",
             job->output_path);
    exit_data->provenance = json_incref(provenance);
    l.log_fds[0] = job->log_fds[0];
    l.log_fds[1] = job->log_fds[1];
    l.on_exit = on_job_exit;
    l.exit_data = exit_data;
    r = sandbox_launch(req->d, &l, ret, err);
    if (r < 0) {
        json_decref(exit_data->provenance);
        free(exit_data);
        return r;
    }
    /* The sandbox owns the log descriptors now. */
    job->log_fds[0] = job->log_fds[1] = -1;
    return 0;
}

static int verb_job_submit(struct request *req, json_t **ret_result,
                           struct werr *err)
{
    struct job_setup job = {.log_fds = {-1, -1}};
    const char *code_dir = NULL, *scenario = NULL;
    char *argv[JOB_MAX_ARGS + 1] = {NULL};
    json_t *requested = NULL, *datasets = NULL, *provenance = NULL;
    struct sbx *s = NULL;
    int64_t uid_base = 0;
    int r;

    r = sandbox_check_prerequisites(req, err);
    if (r == 0)
        r = parse_job_args(req, argv, &requested, &code_dir, &scenario, err);
    if (r == 0)
        r = granted_datasets(req->d, req->caller.tenant_id, requested,
                             &datasets, err);
    if (r == 0)
        r = tenant_uid_base(req->d, req->caller.tenant_id, &uid_base, err);
    if (r == 0)
        r = next_job_id(req->d, job.id, err);
    if (r == 0)
        r = prepare(req->d, &req->caller, uid_base, code_dir, &job, err);
    if (r == 0) {
        provenance = json_pack("{s:s, s:s, s:s, s:I, s:O, s:O, s:s?}", "job",
                               job.id, "submitted_by", req->caller.login,
                               "code_sha256", job.code_sha256, "code_files",
                               (json_int_t)job.code_files, "datasets",
                               datasets, "command",
                               json_object_get(req->args, "argv"),
                               "scenario", scenario);
        r = launch_job(req, &job, argv, provenance, &s, err);
    }
    if (r == 0)
        r = insert_job(req->d, &req->caller, &job, s->id,
                       json_object_get(req->args, "argv"), scenario, code_dir,
                       datasets, err);
    snprintf(req->tenant, sizeof(req->tenant), "%s", req->caller.tenant);
    snprintf(req->object, sizeof(req->object), "%s", job.id);
    if (r == 0) {
        req->details = json_deep_copy(provenance);
        *ret_result = json_pack("{s:s, s:s, s:s}", "job", job.id, "sandbox",
                                s->id, "code_sha256", job.code_sha256);
    } else if (job.id[0]) {
        char path[4096];
        if (job_dir(req->d, req->caller.tenant, job.id, NULL, path,
                    sizeof(path)) == 0)
            fs_remove_tree_at(AT_FDCWD, path, NULL, NULL);
    }
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    for (int i = 0; i < 2; i++)
        if (job.log_fds[i] >= 0)
            close(job.log_fds[i]);
    json_decref(datasets);
    json_decref(provenance);
    return r;
}

static json_t *job_row_to_json(sqlite3_stmt *stmt)
{
    json_t *command = json_loads(db_text(stmt, 3), 0, NULL);
    json_t *datasets = json_loads(db_text(stmt, 6), 0, NULL);
    json_t *row = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:s, s:I}", "id",
        db_text(stmt, 0), "tenant", db_text(stmt, 1), "user",
        db_text(stmt, 2), "command", command ? command : json_array(),
        "code_dir", db_text(stmt, 4), "code_sha256", db_text(stmt, 5),
        "datasets", datasets ? datasets : json_array(), "state",
        db_text(stmt, 7), "submitted_at",
        (json_int_t)sqlite3_column_int64(stmt, 8));

    if (sqlite3_column_type(stmt, 9) != SQLITE_NULL)
        json_object_set_new(row, "ended_at",
                            json_integer(sqlite3_column_int64(stmt, 9)));
    if (sqlite3_column_type(stmt, 10) != SQLITE_NULL)
        json_object_set_new(row, "exit_code",
                            json_integer(sqlite3_column_int64(stmt, 10)));
    if (sqlite3_column_type(stmt, 11) != SQLITE_NULL)
        json_object_set_new(row, "signal",
                            json_integer(sqlite3_column_int64(stmt, 11)));
    if (sqlite3_column_type(stmt, 12) != SQLITE_NULL)
        json_object_set_new(row, "outputs",
                            json_integer(sqlite3_column_int64(stmt, 12)));
    return row;
}

#define JOB_COLUMNS                                                            \
    "j.id, t.name, j.login, j.command, j.code_dir, j.code_sha256, "           \
    "j.datasets, j.state, j.submitted_at, j.ended_at, j.exit_code, "          \
    "j.exit_signal, j.outputs"

static int verb_job_list(struct request *req, json_t **ret_result,
                         struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    const char *id = NULL;
    json_t *list = json_array();
    int r, rc;

    r = arg_string(req->args, "id", false, 31, &id, err);
    if (r == 0)
        r = db_prepare(req->d->db,
                       "SELECT " JOB_COLUMNS " FROM jobs j JOIN tenants t ON "
                       "t.id = j.tenant_id WHERE (?1 IS NULL OR j.id = ?1) "
                       "AND (?2 IS NULL OR t.name = ?2) "
                       "ORDER BY j.submitted_at DESC, j.id DESC",
                       &stmt, err);
    if (r < 0) {
        json_decref(list);
        return r;
    }
    if (id)
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
    if (req->caller.role == ROLE_OPERATOR)
        sqlite3_bind_text(stmt, 2, req->caller.tenant, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(list, job_row_to_json(stmt));
    sqlite3_finalize(stmt);
    if (id && json_array_size(list) == 0) {
        json_decref(list);
        return werr_set(err, -ENOENT,
                        "job '%s' not found: see 'warden job list'", id);
    }
    if (id) {
        *ret_result = json_incref(json_array_get(list, 0));
        json_decref(list);
        snprintf(req->object, sizeof(req->object), "%s", id);
        return 0;
    }
    *ret_result = json_pack("{s:o}", "jobs", list);
    return 0;
}

const struct verb job_verbs[] = {
    {"job.submit", ROLE_OPERATOR, VERB_IN_SANDBOX, verb_job_submit},
    {"job.list", ROLE_ADMIN | ROLE_OPERATOR | ROLE_REVIEWER | ROLE_AUDITOR,
     VERB_READ_ONLY | VERB_IN_SANDBOX, verb_job_list},
    {NULL, 0, 0, NULL},
};
