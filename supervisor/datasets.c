/* Registered datasets.  `dataset add` copies a file passed by descriptor
 * into the root-only store and profiles its columns in a worker process.
 * `dataset rules` replaces the masking rules and rebuilds the development
 * views.  `dataset list` and `dataset show` describe them.
 *
 * The daemon never opens a path named by a client: the CLI opens the CSV
 * and rules files with the caller's own rights and passes the descriptors
 * (SCM_RIGHTS). */
#include "supervisor/datasets.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RULES_TEXT_MAX (1u << 20)
#define COPY_CHUNK (1u << 20)

/* A registration whose worker is running. */
struct add_job {
    struct deferred_request request;
    char name[64];
    char owner[201];
    int level;
    enum csv_encoding encoding;
    char *rules_text;
    struct dz_rules *rules;
    int src_fd;
    int raw_fd;
    int rawset_fd;
    struct add_job *next;
};

static struct add_job *add_jobs;

/* ---- loading and describing ---- */

void dataset_clear(struct dataset *ds)
{
    json_decref(ds->header);
    json_decref(ds->profile);
    free(ds->rules);
    memset(ds, 0, sizeof(*ds));
}

int dataset_load(struct daemon *d, const char *name, struct dataset *ret,
                 struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT id, name, encoding, rows, header, profile, rules, "
                   "rules_version FROM datasets WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        int enc = csv_encoding_from_string(db_text(stmt, 2));

        memset(ret, 0, sizeof(*ret));
        ret->id = sqlite3_column_int64(stmt, 0);
        snprintf(ret->name, sizeof(ret->name), "%s", db_text(stmt, 1));
        ret->encoding = enc < 0 ? CSV_ENCODING_UTF8 : (enum csv_encoding)enc;
        ret->rows = sqlite3_column_int64(stmt, 3);
        ret->header = json_loads(db_text(stmt, 4), 0, NULL);
        ret->profile = json_loads(db_text(stmt, 5), 0, NULL);
        if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
            ret->rules = strdup(db_text(stmt, 6));
        ret->rules_version = sqlite3_column_int64(stmt, 7);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "dataset '%s' not found: see 'warden dataset list'",
                        name);
    if (rc != SQLITE_ROW)
        return db_error(d->db, rc, "reading the dataset failed", err);
    if (!ret->header || !ret->profile) {
        dataset_clear(ret);
        return werr_set(err, -EIO, "the stored profile of dataset '%s' is "
                        "damaged", name);
    }
    return 0;
}

int dataset_parse_rules(const char *text, struct dz_rules **ret_rules,
                        struct werr *err)
{
    return dz_rules_parse(text ? text : "", text ? strlen(text) : 0,
                          "rules", ret_rules, err);
}

void dataset_describe_rule(const struct dz_rule *rule, char *buf,
                           size_t size)
{
    const char *action = dz_action_to_string(rule->action);

    switch (rule->action) {
    case DZ_ACTION_KEEP:
        snprintf(buf, size, "%s%s%s", action, rule->reason ? " " : "",
                 rule->reason ? rule->reason : "");
        break;
    case DZ_ACTION_MASK:
        snprintf(buf, size, "%s %zu %zu", action, rule->head, rule->tail);
        break;
    case DZ_ACTION_PSEUDONYM:
        snprintf(buf, size, "%s %s", action, rule->prefix);
        break;
    case DZ_ACTION_GENERALIZE:
        snprintf(buf, size, "%s %llu", action,
                 (unsigned long long)rule->width);
        break;
    case DZ_ACTION_DATE:
        snprintf(buf, size, "%s %s", action,
                 rule->precision == DZ_DATE_YEAR ? "year" : "month");
        break;
    default:
        snprintf(buf, size, "%s", action);
        break;
    }
}

/* The stored column profile as the library's struct, for
 * dz_profile_check_rules(). */
static int profile_from_json(json_t *columns, struct dz_profile *ret)
{
    size_t i;
    json_t *col;

    ret->n_columns = json_array_size(columns);
    ret->columns = calloc(ret->n_columns + 1, sizeof(*ret->columns));
    if (!ret->columns)
        return -ENOMEM;
    json_array_foreach(columns, i, col) {
        struct dz_column_profile *p = &ret->columns[i];
        json_t *matches = json_object_get(col, "matches");

        p->name = (char *)(uintptr_t)json_string_value(
            json_object_get(col, "name"));
        p->name = p->name ? p->name : (char *)(uintptr_t)"";
        p->non_empty = (uint64_t)json_integer_value(
            json_object_get(col, "non_empty"));
        p->pii_values = (uint64_t)json_integer_value(
            json_object_get(col, "pii_values"));
        p->in_text = (uint64_t)json_integer_value(
            json_object_get(col, "in_text"));
        p->pii = json_is_true(json_object_get(col, "pii"));
        p->profiled = true;
        for (int k = 0; k < PII_KIND_MAX; k++)
            p->matches[k] = (uint64_t)json_integer_value(
                json_object_get(matches, pii_kind_to_string(k)));
    }
    return 0;
}

int dataset_check_blocking(const struct dataset *ds,
                           const struct dz_rules *rules, struct werr *err)
{
    struct dz_profile profile = {0};
    int r = profile_from_json(ds->profile, &profile);

    if (r < 0)
        return werr_set(err, r, "out of memory");
    r = dz_profile_check_rules(&profile, rules, err);
    free(profile.columns);
    return r;
}

static json_t *profile_to_json(const struct dz_profile *profile)
{
    json_t *columns = json_array();

    for (size_t i = 0; i < profile->n_columns; i++) {
        const struct dz_column_profile *p = &profile->columns[i];
        json_t *matches = json_object();

        for (int k = 0; k < PII_KIND_MAX; k++)
            if (p->matches[k])
                json_object_set_new(matches, pii_kind_to_string(k),
                                    json_integer((json_int_t)p->matches[k]));
        json_array_append_new(
            columns,
            json_pack("{s:s, s:I, s:I, s:I, s:b, s:o}", "name", p->name,
                      "non_empty", (json_int_t)p->non_empty, "pii_values",
                      (json_int_t)p->pii_values, "in_text",
                      (json_int_t)p->in_text, "pii", p->pii, "matches",
                      matches));
    }
    return columns;
}

/* The PII columns that rules keep with a reason: the audited exceptions. */
static json_t *keep_exceptions(json_t *profile, const struct dz_rules *rules)
{
    json_t *list = json_array(), *col;
    size_t i;

    json_array_foreach(profile, i, col) {
        const char *name = json_string_value(json_object_get(col, "name"));
        const struct dz_rule *rule = name ? dz_rules_find(rules, name) : NULL;

        if (json_is_true(json_object_get(col, "pii")) && rule &&
            rule->action == DZ_ACTION_KEEP && rule->reason)
            json_array_append_new(list, json_pack("{s:s, s:s}", "column",
                                                  name, "reason",
                                                  rule->reason));
    }
    return list;
}

/* Record the audited exception of keeping PII columns, if there is one. */
static int record_exceptions(struct daemon *d, const struct caller *by,
                             const char *dataset, json_t *profile,
                             const struct dz_rules *rules, struct werr *err)
{
    json_t *list = keep_exceptions(profile, rules);
    char object[128];
    int r = 0;

    snprintf(object, sizeof(object), "dataset:%s", dataset);
    if (json_array_size(list) > 0)
        r = record_event_owned(d, by, NULL, "dataset.pii_exception",
                               object, "ok",
                               json_pack("{s:O}", "kept_columns", list), err);
    json_decref(list);
    return r;
}

/* Check that every rule names a column of header. */
static int check_rule_columns(const struct dz_rules *rules, json_t *header,
                              struct werr *err)
{
    for (size_t r = 0; r < rules->n_rules; r++) {
        const struct dz_rule *rule = &rules->rules[r];
        char list[600] = "";
        size_t used = 0, i;
        json_t *name;
        bool found = false;

        json_array_foreach(header, i, name)
            found |= strcmp(json_string_value(name), rule->column) == 0;
        if (found)
            continue;
        json_array_foreach(header, i, name)
            if (used < sizeof(list))
                used += (size_t)snprintf(list + used, sizeof(list) - used,
                                         "%s%s", i ? ", " : "",
                                         json_string_value(name));
        return werr_set(err, -EINVAL,
                        "rules line %u: unknown column '%.64s'; the header "
                        "has: %s", rule->line, rule->column, list);
    }
    return 0;
}

static json_t *describe_columns(const struct dataset *ds,
                                const struct dz_rules *rules)
{
    json_t *out = json_array(), *col;
    size_t i;

    json_array_foreach(ds->profile, i, col) {
        const char *name = json_string_value(json_object_get(col, "name"));
        const struct dz_rule *rule = dz_rules_find(rules, name ? name : "");
        bool pii = json_is_true(json_object_get(col, "pii"));
        const char *status = "ok";
        char text[320];

        if (pii && (!rule || (rule->action == DZ_ACTION_KEEP && !rule->reason)))
            status = "blocking";
        else if (pii && rule->action == DZ_ACTION_KEEP)
            status = "exception";
        if (rule)
            dataset_describe_rule(rule, text, sizeof(text));
        json_array_append_new(
            out, json_pack("{s:s?, s:b, s:O?, s:I, s:s?, s:s}", "name", name,
                           "pii", pii, "matches",
                           json_object_get(col, "matches"), "non_empty",
                           json_integer_value(
                               json_object_get(col, "non_empty")),
                           "rule", rule ? text : NULL, "status", status));
    }
    return out;
}

/* ---- visibility ---- */

int dataset_visible(struct daemon *d, const struct caller *caller,
                    int64_t dataset_id, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    if (caller->role != ROLE_OPERATOR)
        return 1;
    r = db_prepare(d->db,
                   "SELECT 1 FROM grants WHERE dataset_id = ? AND "
                   "tenant_id = ? AND revoked_at IS NULL",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, dataset_id);
    sqlite3_bind_int64(stmt, 2, caller->tenant_id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(d->db, rc, "checking the grants failed", err);
    return rc == SQLITE_ROW;
}

/* ---- list and show ---- */

#define DATASET_COLUMNS                                                        \
    "id, name, owner, level, encoding, sha256, size_bytes, rows, header, "     \
    "profile, rules, rules_version, rules_at, rules_by, created_at, "          \
    "created_by"

static json_t *dataset_row_to_json(sqlite3_stmt *stmt)
{
    json_t *profile = json_loads(db_text(stmt, 9), 0, NULL), *col;
    json_t *pii = json_array();
    size_t i;

    json_array_foreach(profile, i, col)
        if (json_is_true(json_object_get(col, "pii")))
            json_array_append(pii, json_object_get(col, "name"));
    json_decref(profile);
    return json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:o, s:o, s:b, s:I, s:I, s:s}",
        "name", db_text(stmt, 1), "owner", db_text(stmt, 2), "level",
        (json_int_t)sqlite3_column_int64(stmt, 3), "encoding",
        db_text(stmt, 4), "sha256", db_text(stmt, 5), "size_bytes",
        (json_int_t)sqlite3_column_int64(stmt, 6), "rows",
        (json_int_t)sqlite3_column_int64(stmt, 7), "header",
        json_loads(db_text(stmt, 8), 0, NULL), "pii_columns", pii, "rules",
        sqlite3_column_type(stmt, 10) != SQLITE_NULL, "rules_version",
        (json_int_t)sqlite3_column_int64(stmt, 11), "created_at",
        (json_int_t)sqlite3_column_int64(stmt, 14), "created_by",
        db_text(stmt, 15));
}

static int verb_dataset_list(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array();
    int r, rc;

    r = db_prepare(req->d->db,
                   "SELECT " DATASET_COLUMNS " FROM datasets ORDER BY name",
                   &stmt, err);
    if (r < 0) {
        json_decref(list);
        return r;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        r = dataset_visible(req->d, &req->caller,
                            sqlite3_column_int64(stmt, 0), err);
        if (r < 0)
            break;
        if (r > 0)
            json_array_append_new(list, dataset_row_to_json(stmt));
    }
    sqlite3_finalize(stmt);
    if (r >= 0 && rc != SQLITE_DONE)
        r = db_error(req->d->db, rc, "listing datasets failed", err);
    if (r < 0) {
        json_decref(list);
        return r;
    }
    *ret_result = json_pack("{s:o}", "datasets", list);
    return 0;
}

static int dataset_show_json(struct daemon *d, const struct caller *caller,
                             const char *name, json_t **ret, struct werr *err)
{
    struct dataset ds = {0};
    struct dz_rules *rules = NULL;
    struct werr blocking = {0};
    sqlite3_stmt *stmt = NULL;
    json_t *out = NULL, *grants = NULL;
    int r, rc;

    r = dataset_load(d, name, &ds, err);
    if (r < 0)
        return r;
    r = dataset_visible(d, caller, ds.id, err);
    if (r == 0)
        r = werr_set(err, -ENOENT,
                     "dataset '%s' not found among the datasets granted to "
                     "tenant '%s'", name, caller->tenant);
    if (r >= 0)
        r = dataset_parse_rules(ds.rules, &rules, err);
    if (r >= 0)
        r = db_prepare(d->db,
                       "SELECT " DATASET_COLUMNS " FROM datasets "
                       "WHERE id = ?", &stmt, err);
    if (r < 0)
        goto out;
    sqlite3_bind_int64(stmt, 1, ds.id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        out = dataset_row_to_json(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 12) != SQLITE_NULL) {
        json_object_set_new(out, "rules_at",
                            json_integer(sqlite3_column_int64(stmt, 12)));
        json_object_set_new(out, "rules_by",
                            json_string(db_text(stmt, 13)));
    }
    sqlite3_finalize(stmt);
    if (!out) {
        r = db_error(d->db, rc, "reading the dataset failed", err);
        goto out;
    }
    json_object_set_new(out, "columns", describe_columns(&ds, rules));
    if (dataset_check_blocking(&ds, rules, &blocking) < 0)
        json_object_set_new(out, "dev_view",
                            json_sprintf("blocked: %s", blocking.msg));
    else
        json_object_set_new(out, "dev_view", json_string("allowed"));
    r = grant_list_json(d, name,
                        caller->role == ROLE_OPERATOR ? caller->tenant_id : 0,
                        &grants, err);
    if (r < 0)
        goto out;
    json_object_set_new(out, "grants", grants);
    *ret = TAKE_PTR(out);
out:
    json_decref(out);
    dz_rules_free(rules);
    dataset_clear(&ds);
    return r < 0 ? r : 0;
}

static int verb_dataset_show(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    const char *name;
    int r = arg_string(req->args, "name", true, 64, &name, err);

    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "dataset:%s", name);
    return dataset_show_json(req->d, &req->caller, name, ret_result, err);
}

/* ---- registration ---- */

/* Read the whole rules file on fd, a regular file of at most 1 MiB. */
static int read_rules_fd(int fd, char **ret_text, struct werr *err)
{
    _cleanup_free_ char *text = NULL;
    struct stat st;
    size_t len = 0;

    if (fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "checking the rules file failed");
    if (!S_ISREG(st.st_mode))
        return werr_set(err, -EINVAL, "the rules descriptor is not a regular "
                        "file: pass a rules file with --rules FILE");
    if (st.st_size > (off_t)RULES_TEXT_MAX)
        return werr_set(err, -EFBIG, "the rules file has %lld bytes: the "
                        "maximum is %u", (long long)st.st_size,
                        RULES_TEXT_MAX);
    text = malloc((size_t)st.st_size + 1);
    if (!text)
        return werr_set(err, -ENOMEM, "out of memory");
    while (len < (size_t)st.st_size) {
        ssize_t n = pread(fd, text + len, (size_t)st.st_size - len,
                          (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return werr_errno(err, neg_errno(), "reading the rules file "
                              "failed");
        if (n == 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    if (strlen(text) != len)
        return werr_set(err, -EINVAL, "the rules file contains a NUL byte: "
                        "it must be UTF-8 text");
    *ret_text = TAKE_PTR(text);
    return 0;
}

static int check_data_fd(int fd, struct werr *err)
{
    struct stat st;
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "checking the data descriptor "
                          "failed");
    if (S_ISDIR(st.st_mode))
        return werr_set(err, -EISDIR, "the data descriptor is a directory: "
                        "pass a CSV file with --file PATH");
    /* A pipe, socket or device could stream without end into the store. */
    if (!S_ISREG(st.st_mode))
        return werr_set(err, -EINVAL, "the data descriptor is not a regular "
                        "file: pass a CSV file with --file PATH");
    if ((flags & O_ACCMODE) == O_WRONLY || (flags & O_PATH))
        return werr_set(err, -EBADF, "the data descriptor is not open for "
                        "reading");
    return 0;
}

static bool add_pending(const char *name)
{
    for (struct add_job *j = add_jobs; j; j = j->next)
        if (strcmp(j->name, name) == 0)
            return true;
    return false;
}

static void add_job_free(struct add_job *job)
{
    struct add_job **p;

    for (p = &add_jobs; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            break;
        }
    if (job->src_fd >= 0)
        close(job->src_fd);
    if (job->raw_fd >= 0)
        close(job->raw_fd);
    if (job->rawset_fd >= 0)
        close(job->rawset_fd);
    dz_rules_free(job->rules);
    free(job->rules_text);
    free(job);
}

static void incoming_name(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, ".incoming-%s", name);
}

/* Create datasets/.incoming-<name>/ with raw.csv and rawset.bin, removing
 * what a crash during an earlier registration left behind. */
static int add_job_prepare(struct daemon *d, struct add_job *job,
                           struct werr *err)
{
    _cleanup_close_ int dir_fd = -1, in_fd = -1;
    char incoming[96];

    if (mkdirat(d->state_dir_fd, DATASETS_DIR, 0700) < 0 && errno != EEXIST)
        return werr_errno(err, neg_errno(), "creating %s/%s failed",
                          d->cfg.state_dir, DATASETS_DIR);
    dir_fd = fs_open_beneath(d->state_dir_fd, DATASETS_DIR,
                             O_RDONLY | O_DIRECTORY, 0);
    if (dir_fd < 0)
        return werr_errno(err, dir_fd, "opening %s/%s failed",
                          d->cfg.state_dir, DATASETS_DIR);
    incoming_name(job->name, incoming, sizeof(incoming));
    fs_remove_tree_at(dir_fd, incoming, NULL, NULL);
    if (mkdirat(dir_fd, incoming, 0700) < 0)
        return werr_errno(err, neg_errno(), "creating %s failed", incoming);
    in_fd = openat(dir_fd, incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                   O_NOFOLLOW);
    if (in_fd >= 0)
        job->raw_fd = openat(in_fd, "raw.csv", O_RDWR | O_CREAT | O_EXCL |
                             O_CLOEXEC | O_NOFOLLOW, 0600);
    if (job->raw_fd >= 0)
        job->rawset_fd = openat(in_fd, "rawset.bin", O_WRONLY | O_CREAT |
                                O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (job->rawset_fd < 0) {
        int r = neg_errno();
        fs_remove_tree_at(dir_fd, incoming, NULL, NULL);
        return werr_errno(err, r, "creating the store files of '%s' "
                          "failed", job->name);
    }
    return 0;
}

static void add_job_discard(struct daemon *d, const char *name)
{
    _cleanup_close_ int dir_fd = fs_open_beneath(
        d->state_dir_fd, DATASETS_DIR, O_RDONLY | O_DIRECTORY, 0);
    char incoming[96];

    incoming_name(name, incoming, sizeof(incoming));
    if (dir_fd >= 0)
        fs_remove_tree_at(dir_fd, incoming, NULL, NULL);
}

/* Copy src to dst, hashing the bytes with SHA-256. */
static int copy_and_hash(int src, int dst, uint64_t *ret_size,
                         char ret_hex[crypto_hash_sha256_BYTES * 2 + 1],
                         struct werr *err)
{
    crypto_hash_sha256_state state;
    unsigned char digest[crypto_hash_sha256_BYTES];
    _cleanup_free_ unsigned char *buf = malloc(COPY_CHUNK);
    uint64_t size = 0;

    if (!buf)
        return werr_set(err, -ENOMEM, "out of memory");
    crypto_hash_sha256_init(&state);
    for (;;) {
        ssize_t n = read(src, buf, COPY_CHUNK);
        int r;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return werr_errno(err, neg_errno(), "reading the data file "
                              "failed");
        if (n == 0)
            break;
        crypto_hash_sha256_update(&state, buf, (size_t)n);
        r = fs_write_all(dst, buf, (size_t)n);
        if (r < 0)
            return werr_errno(err, r, "writing the store copy failed");
        size += (uint64_t)n;
    }
    if (fsync(dst) < 0)
        return werr_errno(err, neg_errno(), "syncing the store copy failed");
    crypto_hash_sha256_final(&state, digest);
    sodium_bin2hex(ret_hex, crypto_hash_sha256_BYTES * 2 + 1, digest,
                   sizeof(digest));
    *ret_size = size;
    return 0;
}

static int build_rawset(struct add_job *job, const struct dz_profile *profile,
                        struct werr *err)
{
    _cleanup_free_ const char **ids = calloc(profile->n_columns + 1,
                                             sizeof(char *));
    size_t n = 0;
    int r;

    if (!ids)
        return werr_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < profile->n_columns; i++)
        if (profile->columns[i].pii)
            ids[n++] = profile->columns[i].name;
    if (lseek(job->raw_fd, 0, SEEK_SET) < 0)
        return werr_errno(err, neg_errno(), "rewinding the store copy "
                          "failed");
    r = dz_rawset_build(job->raw_fd, job->encoding, ids, n, job->rawset_fd,
                        err);
    if (r < 0)
        return werr_prefix(err, "building the raw set failed");
    if (fsync(job->rawset_fd) < 0)
        return werr_errno(err, neg_errno(), "syncing the raw set failed");
    return 0;
}

/* Copy, hash, profile, check the rules against the header and build the
 * raw set, in the worker process. */
static int add_work(void *data, json_t **ret_report, struct werr *err)
{
    struct add_job *job = data;
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    struct dz_profile *profile = NULL;
    json_t *header;
    uint64_t size = 0;
    int r;

    r = copy_and_hash(job->src_fd, job->raw_fd, &size, hex, err);
    if (r < 0)
        return r;
    if (lseek(job->raw_fd, 0, SEEK_SET) < 0)
        return werr_errno(err, neg_errno(), "rewinding the store copy "
                          "failed");
    r = dz_profile_fd(job->raw_fd, job->encoding, &profile, err);
    if (r == -EILSEQ || r == -EBADMSG)
        err->code = -EINVAL; /* the client's input, not a daemon fault */
    if (r < 0)
        return werr_prefix(err, "dataset '%s' is not valid %s CSV",
                           job->name, csv_encoding_to_string(job->encoding));
    header = json_array();
    for (size_t i = 0; i < profile->n_columns; i++)
        json_array_append_new(header, json_string(profile->columns[i].name));
    r = check_rule_columns(job->rules, header, err);
    if (r == 0)
        r = build_rawset(job, profile, err);
    if (r == 0)
        *ret_report = json_pack("{s:s, s:I, s:I, s:O, s:o}", "sha256", hex,
                                "size_bytes", (json_int_t)size, "rows",
                                (json_int_t)profile->rows, "header", header,
                                "profile", profile_to_json(profile));
    json_decref(header);
    dz_profile_free(profile);
    return r;
}

static int insert_dataset(struct daemon *d, const struct add_job *job,
                          json_t *report, struct werr *err)
{
    _cleanup_free_ char *header = json_dumps(json_object_get(report,
                                                             "header"),
                                             JSON_COMPACT);
    _cleanup_free_ char *profile = json_dumps(json_object_get(report,
                                                              "profile"),
                                              JSON_COMPACT);
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    if (!header || !profile)
        return werr_set(err, -EIO, "the worker's report is incomplete");
    r = db_prepare(d->db,
                   "INSERT INTO datasets (name, owner, level, encoding, "
                   "sha256, size_bytes, rows, header, profile, rules, "
                   "rules_at, rules_by, created_at, created_by) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, job->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, job->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, job->level);
    sqlite3_bind_text(stmt, 4, csv_encoding_to_string(job->encoding), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5,
                      json_string_value(json_object_get(report, "sha256")),
                      -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, json_integer_value(
                                    json_object_get(report, "size_bytes")));
    sqlite3_bind_int64(stmt, 7,
                       json_integer_value(json_object_get(report, "rows")));
    sqlite3_bind_text(stmt, 8, header, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 9, profile, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 10, job->rules_text, -1, SQLITE_STATIC);
    if (job->rules_text) {
        sqlite3_bind_int64(stmt, 11, (sqlite3_int64)daemon_now(d));
        sqlite3_bind_text(stmt, 12, job->request.caller.login, -1,
                          SQLITE_STATIC);
    }
    sqlite3_bind_int64(stmt, 13, (sqlite3_int64)daemon_now(d));
    sqlite3_bind_text(stmt, 14, job->request.caller.login, -1,
                      SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "storing the dataset failed", err);
    return 0;
}

static json_t *pii_names(json_t *profile)
{
    json_t *names = json_array(), *col;
    size_t i;

    json_array_foreach(profile, i, col)
        if (json_is_true(json_object_get(col, "pii")))
            json_array_append(names, json_object_get(col, "name"));
    return names;
}

/* Store the dataset and its audit event in one transaction, and move the
 * files into place before the commit. */
static int add_commit(struct daemon *d, struct add_job *job, json_t *report,
                      struct werr *err)
{
    _cleanup_close_ int dir_fd = -1;
    char incoming[96];
    bool moved = false;
    int r;

    dir_fd = fs_open_beneath(d->state_dir_fd, DATASETS_DIR,
                             O_RDONLY | O_DIRECTORY, 0);
    if (dir_fd < 0)
        return werr_errno(err, dir_fd, "opening the dataset store failed");
    incoming_name(job->name, incoming, sizeof(incoming));
    r = db_begin(d->db, err);
    if (r < 0)
        return r;
    r = insert_dataset(d, job, report, err);
    if (r == -EEXIST)
        r = werr_set(err, -EEXIST, "dataset '%s' already exists: choose "
                     "another name", job->name);
    if (r == 0)
        r = record_exceptions(d, &job->request.caller, job->name,
                              json_object_get(report, "profile"), job->rules,
                              err);
    if (r == 0)
        r = record_event_owned(
            d, &job->request.caller, NULL, "dataset.registered",
            job->request.object, "ok",
            json_pack("{s:O, s:O, s:O, s:s, s:i, s:s, s:o, s:b}", "sha256",
                      json_object_get(report, "sha256"), "size_bytes",
                      json_object_get(report, "size_bytes"), "rows",
                      json_object_get(report, "rows"), "owner", job->owner,
                      "level", job->level, "encoding",
                      csv_encoding_to_string(job->encoding), "pii_columns",
                      pii_names(json_object_get(report, "profile")),
                      "rules", job->rules_text != NULL),
            err);
    if (r == 0) {
        if (renameat2(dir_fd, incoming, dir_fd, job->name,
                      RENAME_NOREPLACE) < 0)
            r = werr_errno(err, neg_errno(), "moving dataset '%s' into the "
                           "store failed", job->name);
        else
            moved = true;
    }
    if (r == 0)
        r = db_commit(d->db, err);
    if (r < 0) {
        db_rollback(d->db);
        if (moved)
            renameat(dir_fd, job->name, dir_fd, incoming);
    }
    return r;
}

static void add_done(struct daemon *d, void *data, int r, json_t *report,
                     const struct werr *worker_err)
{
    struct add_job *job = data;
    struct werr err = {0};
    json_t *result = NULL;

    if (r < 0)
        err = *worker_err;
    else
        r = add_commit(d, job, report, &err);
    if (r < 0) {
        add_job_discard(d, job->name);
    } else {
        log_info("registered dataset '%s' (%lld rows)", job->name,
                 (long long)json_integer_value(json_object_get(report,
                                                               "rows")));
        r = dataset_show_json(d, &job->request.caller, job->name, &result,
                              &err);
    }
    request_complete(d, &job->request, r, result, &err);
    add_job_free(job);
}

static int parse_add_args(struct request *req, struct add_job *job,
                          struct werr *err)
{
    const char *name, *owner, *encoding = NULL;
    json_int_t level = 0;
    int r, enc;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r == 0)
        r = check_name("dataset", name, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "dataset:%s", name);
    if (!strcmp(name, "list") || !strcmp(name, "revoke"))
        return werr_set(err, -EINVAL, "dataset name '%s' is reserved for "
                        "'warden grant %s': choose another name", name,
                        name);
    r = arg_string(req->args, "owner", true, 200, &owner, err);
    if (r == 0)
        r = arg_int(req->args, "level", true, 1, 4, &level, err);
    if (r == 0)
        r = arg_string(req->args, "encoding", false, 16, &encoding, err);
    if (r < 0)
        return r;
    enc = encoding ? csv_encoding_from_string(encoding) : CSV_ENCODING_UTF8;
    if (enc < 0)
        return werr_set(err, -EINVAL, "invalid encoding '%s': use utf-8, "
                        "gb18030 or gbk", encoding);
    snprintf(job->name, sizeof(job->name), "%s", name);
    snprintf(job->owner, sizeof(job->owner), "%s", owner);
    job->level = (int)level;
    job->encoding = (enum csv_encoding)enc;
    return 0;
}

static int dataset_exists(struct daemon *d, const char *name,
                          struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r = db_prepare(d->db, "SELECT 1 FROM datasets WHERE name = ?", &stmt,
                       err);

    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    r = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return r;
}

static int add_job_setup(struct request *req, struct add_job *job,
                         struct werr *err)
{
    int r = parse_add_args(req, job, err);

    if (r < 0)
        return r;
    if (req->nfds < 1 || req->fds[0] < 0)
        return werr_set(err, -EINVAL, "missing data file descriptor: the "
                        "client passes the CSV file it opened (warden "
                        "dataset add NAME --file PATH)");
    r = check_data_fd(req->fds[0], err);
    if (r == 0 && req->nfds >= 2)
        r = read_rules_fd(req->fds[1], &job->rules_text, err);
    if (r == 0)
        r = dataset_parse_rules(job->rules_text, &job->rules, err);
    if (r < 0)
        return r;
    r = dataset_exists(req->d, job->name, err);
    if (r < 0)
        return r;
    if (r > 0 || add_pending(job->name))
        return werr_set(err, -EEXIST, "dataset '%s' %s: choose another "
                        "name or see 'warden dataset show %s'", job->name,
                        r > 0 ? "already exists" : "is being registered",
                        job->name);
    return add_job_prepare(req->d, job, err);
}

static int verb_dataset_add(struct request *req, json_t **ret_result,
                            struct werr *err)
{
    struct add_job *job = calloc(1, sizeof(*job));
    char what[128];
    int keep[3];
    int r;

    (void)ret_result;
    if (!job)
        return werr_set(err, -ENOMEM, "out of memory");
    job->src_fd = job->raw_fd = job->rawset_fd = -1;
    r = add_job_setup(req, job, err);
    if (r < 0) {
        add_job_free(job);
        return r;
    }
    job->src_fd = req->fds[0];
    req->fds[0] = -1;
    keep[0] = job->src_fd;
    keep[1] = job->raw_fd;
    keep[2] = job->rawset_fd;
    snprintf(what, sizeof(what), "registering dataset '%s'", job->name);
    r = worker_start(req->d, what, keep, 3, add_work, add_done, job, err);
    if (r < 0) {
        add_job_discard(req->d, job->name);
        add_job_free(job);
        return r;
    }
    /* The worker has its own copies now. */
    close(TAKE_FD(job->src_fd));
    job->next = add_jobs;
    add_jobs = job;
    request_defer(req, &job->request);
    return 0;
}

/* ---- rules ---- */

static int store_rules(struct request *req, const struct dataset *ds,
                       const char *text, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(req->d->db,
                   "UPDATE datasets SET rules = ?, rules_version = "
                   "rules_version + 1, rules_at = ?, rules_by = ? "
                   "WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)daemon_now(req->d));
    sqlite3_bind_text(stmt, 3, req->caller.login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, ds->id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(req->d->db, rc, "storing the rules failed", err);
    return 0;
}

static int active_grant_ids(struct daemon *d, int64_t dataset_id,
                            int64_t **ret_ids, size_t *ret_n,
                            struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT id FROM grants WHERE dataset_id = ? AND "
                   "revoked_at IS NULL ORDER BY id",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, dataset_id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t *grown = realloc(ids, (n + 1) * sizeof(*ids));
        if (!grown) {
            rc = SQLITE_NOMEM;
            break;
        }
        ids = grown;
        ids[n++] = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        free(ids);
        return db_error(d->db, rc, "listing the grants failed", err);
    }
    *ret_ids = ids;
    *ret_n = n;
    return 0;
}

/* Start rebuilding the development view of every grant of ds.  The reply
 * waits for the last build; with nothing to build it is sent now. */
static int rebuild_dev_views(struct request *req, const struct dataset *ds,
                             json_t **ret_result, struct werr *err)
{
    _cleanup_free_ int64_t *ids = NULL;
    struct view_batch *batch = calloc(1, sizeof(*batch));
    size_t n = 0;
    int r;

    if (!batch)
        return werr_set(err, -ENOMEM, "out of memory");
    batch->views = json_array();
    r = active_grant_ids(req->d, ds->id, &ids, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = dataviews_schedule(req->d, ids[i], false, &req->caller, batch,
                               err);
    if (r == 0 && batch->pending > 0) {
        request_defer(req, &batch->request);
        return 0;
    }
    /* Builds already started find themselves outdated once the
     * transaction is rolled back, and drop their output. */
    batch->cancelled = true;
    if (r == 0)
        *ret_result = json_pack("{s:s, s:O}", "dataset", ds->name, "views",
                                batch->views);
    dataviews_batch_maybe_reply(req->d, batch);
    return r;
}

static int verb_dataset_rules(struct request *req, json_t **ret_result,
                              struct werr *err)
{
    _cleanup_free_ char *text = NULL;
    struct dz_rules *rules = NULL;
    struct dataset ds = {0};
    const char *name;
    int r;

    r = arg_string(req->args, "name", true, 64, &name, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "dataset:%s", name);
    if (req->nfds < 1 || req->fds[0] < 0)
        return werr_set(err, -EINVAL, "missing rules file descriptor: the "
                        "client passes the rules file it opened (warden "
                        "dataset rules NAME --file RULES)");
    r = read_rules_fd(req->fds[0], &text, err);
    if (r == 0)
        r = dataset_parse_rules(text, &rules, err);
    if (r == 0)
        r = dataset_load(req->d, name, &ds, err);
    if (r == 0)
        r = check_rule_columns(rules, ds.header, err);
    if (r == 0)
        r = store_rules(req, &ds, text, err);
    if (r == 0)
        r = record_exceptions(req->d, &req->caller, name, ds.profile, rules,
                              err);
    if (r == 0) {
        req->details = json_pack("{s:I, s:o}", "rules_version",
                                 (json_int_t)ds.rules_version + 1,
                                 "kept_pii_columns",
                                 keep_exceptions(ds.profile, rules));
        r = rebuild_dev_views(req, &ds, ret_result, err);
    }
    dz_rules_free(rules);
    dataset_clear(&ds);
    return r;
}

const struct verb dataset_verbs[] = {
    {"dataset.add", ROLE_ADMIN, 0, verb_dataset_add},
    {"dataset.list", ROLE_ANY, VERB_READ_ONLY, verb_dataset_list},
    {"dataset.show", ROLE_ANY, VERB_READ_ONLY, verb_dataset_show},
    {"dataset.rules", ROLE_ADMIN, 0, verb_dataset_rules},
    {"grant.create", ROLE_ADMIN, 0, grant_verb_create},
    {"grant.revoke", ROLE_ADMIN, 0, grant_verb_revoke},
    {"grant.list", ROLE_ANY, VERB_READ_ONLY, grant_verb_list},
    {NULL, 0, 0, NULL},
};
