/* Automatic checks of a request before any reviewer sees it.
 *
 * Files are checked in a worker process (user nobody, only the quarantine
 * copies open, the raw sets mapped before the fork) for:
 *   - type by content: PNG and PDF by their magic bytes; otherwise UTF-8
 *     text without NUL or control bytes, named .csv, .tsv, .json (which
 *     must parse), .txt, .md, .log or without extension;
 *   - identifiers (any detector hit fails);
 *   - exports only: rows or identifier values of every raw dataset granted
 *     to the tenant, including plain SHA-256 hashes of identifiers, and in
 *     CSV files counts below small_count_threshold and dominated columns.
 * A failed check blocks approval unless two reviewers approve with an
 * override. */
#include "supervisor/review.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Examples of each finding kind kept for the reviewer. */
#define CHECK_EXAMPLES 5

struct check_job {
    struct daemon *d;
    int64_t request_id;
    int64_t revision;
    bool export;
    struct caller who;
    size_t n_files;
    int fds[REVIEW_MAX_FILES];
    char names[REVIEW_MAX_FILES][REVIEW_NAME_MAX + 1];
    size_t n_rawsets;
    struct dz_rawset **rawsets;
    json_t *rawset_names;   /* array, parallel to rawsets */
    json_t *setup_failures; /* array of strings */
    json_t *skipped;        /* array of {"name", "reason"} */
    uint64_t threshold;
    bool has_request;
    struct deferred_request request;
};

static void job_free(struct check_job *job)
{
    for (size_t i = 0; i < job->n_files; i++)
        if (job->fds[i] >= 0)
            close(job->fds[i]);
    for (size_t i = 0; i < job->n_rawsets; i++)
        dz_rawset_close(job->rawsets[i]);
    free(job->rawsets);
    json_decref(job->rawset_names);
    json_decref(job->setup_failures);
    json_decref(job->skipped);
    free(job);
}

/* ---- in the worker ---- */

/* Validate UTF-8 text without NUL or control bytes other than tab, line
 * feed, form feed and carriage return.  Return -1 when invalid, else the
 * number of bytes at the end that start an incomplete character. */
static int text_check(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t need;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\f' &&
                 c != '\r') || c == 0x7f)
                return -1;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3;
        else
            return -1;
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= len)
                return (int)(len - i);
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
        }
        /* Overlong three-byte forms, surrogates, and code points above
         * U+10FFFF. */
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f))
            return -1;
        i += need + 1;
    }
    return 0;
}

/* Whether the whole file on fd is text in the sense of text_check(). */
static int is_text_fd(int fd, bool *ret_text)
{
    unsigned char buf[65536 + 4];
    size_t carry = 0;

    *ret_text = false;
    for (;;) {
        ssize_t n = read(fd, buf + carry, sizeof(buf) - 4 - carry);
        int left;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return neg_errno();
        if (n == 0) {
            *ret_text = carry == 0;
            return 0;
        }
        left = text_check(buf, carry + (size_t)n);
        if (left < 0)
            return 0;
        memmove(buf, buf + carry + (size_t)n - (size_t)left, (size_t)left);
        carry = (size_t)left;
    }
}

static const char *extension(const char *name)
{
    const char *dot = strrchr(name, '.');

    return dot && dot != name ? dot + 1 : "";
}

/* Detect the type of the file on fd by its content; the name may only
 * agree.  Return 0 with *ret_type, or -EINVAL with why in err. */
static int detect_type(int fd, const char *name, const char **ret_type,
                       struct werr *err)
{
    static const char *const text_types[][2] = {
        {"csv", "csv"},   {"tsv", "tsv"}, {"json", "json"},
        {"txt", "text"},  {"md", "text"}, {"log", "text"},
        {"", "text"},
    };
    const char *ext = extension(name);
    unsigned char head[8] = {0};
    ssize_t n;
    bool text;
    int r;

    n = pread(fd, head, sizeof(head), 0);
    if (n < 0)
        return werr_errno(err, neg_errno(), "reading failed");
    if (n == 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8)) {
        *ret_type = "png";
        return strcasecmp(ext, "png") == 0
                   ? 0
                   : werr_set(err, -EINVAL, "content is PNG but the name "
                              "ends in '.%s': name it .png", ext);
    }
    if (n >= 5 && !memcmp(head, "%PDF-", 5)) {
        *ret_type = "pdf";
        return strcasecmp(ext, "pdf") == 0
                   ? 0
                   : werr_set(err, -EINVAL, "content is PDF but the name "
                              "ends in '.%s': name it .pdf", ext);
    }
    if (lseek(fd, 0, SEEK_SET) < 0)
        return werr_errno(err, neg_errno(), "seeking failed");
    r = is_text_fd(fd, &text);
    if (r < 0)
        return werr_errno(err, r, "reading failed");
    if (!text)
        return werr_set(err, -EINVAL,
                        "content is neither UTF-8 text nor PNG or PDF: "
                        "allowed types are CSV, TSV, JSON, text, PNG, PDF");
    for (size_t i = 0; i < ARRAY_SIZE(text_types); i++) {
        if (strcasecmp(ext, text_types[i][0]) != 0)
            continue;
        *ret_type = text_types[i][1];
        if (strcmp(*ret_type, "json") == 0) {
            json_error_t jerr;
            json_t *doc;

            lseek(fd, 0, SEEK_SET);
            doc = json_loadfd(fd, 0, &jerr);
            if (!doc)
                return werr_set(err, -EINVAL,
                                "named .json but does not parse: %s at "
                                "line %d", jerr.text, jerr.line);
            json_decref(doc);
        }
        return 0;
    }
    return werr_set(err, -EINVAL,
                    "text named '.%.20s' is not an allowed type: use .csv, "
                    ".tsv, .json, .txt, .md or .log", ext);
}

static json_t *findings_json(const struct dz_report *report)
{
    json_t *list = json_array();

    for (size_t i = 0; i < report->n_findings &&
                       json_array_size(list) < CHECK_EXAMPLES; i++) {
        const struct dz_finding *f = &report->findings[i];
        json_t *o = json_pack("{s:s, s:I, s:I, s:s}", "kind",
                              dz_finding_kind_to_string(f->kind), "line",
                              (json_int_t)f->line, "column",
                              (json_int_t)f->column, "example", f->example);

        if (f->kind == DZ_FINDING_PII)
            json_object_set_new(o, "detector",
                                json_string(pii_kind_to_string(f->pii)));
        if (f->column_name[0])
            json_object_set_new(o, "column_name",
                                json_string(f->column_name));
        json_array_append_new(list, o);
    }
    return list;
}

static json_t *check_error(const char *check, const struct werr *err)
{
    return json_pack("{s:s, s:b, s:s}", "check", check, "ok", 0, "error",
                     err->msg);
}

static json_t *check_pii(int fd, enum dz_format format)
{
    struct dz_report report = {0};
    struct werr err = {0};
    json_t *kinds = json_object();

    lseek(fd, 0, SEEK_SET);
    if (dz_scan_fd(fd, format, CSV_ENCODING_UTF8, &report, &err) < 0) {
        json_decref(kinds);
        return check_error("pii", &err);
    }
    for (int k = 0; k < PII_KIND_MAX; k++)
        if (report.pii[k])
            json_object_set_new(kinds, pii_kind_to_string((enum pii_kind)k),
                                json_integer((json_int_t)report.pii[k]));
    return json_pack("{s:s, s:b, s:I, s:o, s:o}", "check", "pii", "ok",
                     report.total == 0, "count", (json_int_t)report.total,
                     "by_detector", kinds, "examples", findings_json(&report));
}

static json_t *check_overlap(int fd, enum dz_format format,
                             const struct dz_rawset *set, const char *dataset)
{
    struct dz_report report = {0};
    struct werr err = {0};
    json_t *o;

    lseek(fd, 0, SEEK_SET);
    if (dz_overlap_check(set, fd, format, CSV_ENCODING_UTF8, &report,
                         &err) < 0) {
        o = check_error("overlap", &err);
        json_object_set_new(o, "dataset", json_string(dataset));
        return o;
    }
    return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:o}", "check",
                     "overlap", "dataset", dataset, "ok",
                     report.raw_rows == 0 && report.raw_value_rows == 0,
                     "raw_rows", (json_int_t)report.raw_rows,
                     "raw_value_rows", (json_int_t)report.raw_value_rows,
                     "raw_subset_rows", (json_int_t)report.raw_subset_rows,
                     "raw_encoded_rows", (json_int_t)report.raw_encoded_rows,
                     "examples", findings_json(&report));
}

static json_t *check_small_counts(int fd, uint64_t threshold)
{
    struct dz_report report = {0};
    struct werr err = {0};
    uint64_t small = 0, dominance = 0;

    lseek(fd, 0, SEEK_SET);
    if (dz_small_count_check(fd, CSV_ENCODING_UTF8, threshold, &report,
                             &err) < 0)
        return check_error("small_counts", &err);
    for (size_t i = 0; i < report.n_findings; i++) {
        if (report.findings[i].kind == DZ_FINDING_SMALL_COUNT)
            small++;
        else if (report.findings[i].kind == DZ_FINDING_DOMINANCE)
            dominance++;
    }
    return json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:o}", "check",
                     "small_counts", "ok", report.total == 0, "threshold",
                     (json_int_t)threshold, "findings",
                     (json_int_t)report.total, "small_examples",
                     (json_int_t)small, "dominance_examples",
                     (json_int_t)dominance, "examples",
                     findings_json(&report));
}

static json_t *check_file(const struct check_job *job, size_t index)
{
    int fd = job->fds[index];
    const char *type = NULL;
    struct werr err = {0};
    json_t *checks = json_array(), *file, *c;
    enum dz_format format;
    bool ok = true;
    size_t i;

    if (detect_type(fd, job->names[index], &type, &err) < 0) {
        json_array_append_new(checks, check_error("type", &err));
        ok = false;
    } else {
        json_array_append_new(checks, json_pack("{s:s, s:b, s:s}", "check",
                                                "type", "ok", 1, "type",
                                                type));
    }
    if (ok && (!strcmp(type, "png") || !strcmp(type, "pdf"))) {
        /* TODO: extract the text of PDF files and scan it; until then a
         * reviewer must open them. */
        json_array_append_new(
            checks, json_pack("{s:s, s:b, s:s}", "check", "content", "ok", 1,
                              "note", "binary format: not scanned, inspect "
                                      "the file before approving"));
    } else if (ok) {
        format = !strcmp(type, "csv") ? DZ_FORMAT_CSV : DZ_FORMAT_TEXT;
        json_array_append_new(checks, check_pii(fd, format));
        for (size_t k = 0; job->export && k < job->n_rawsets; k++)
            json_array_append_new(
                checks,
                check_overlap(fd, format, job->rawsets[k],
                              json_string_value(
                                  json_array_get(job->rawset_names, k))));
        if (job->export && format == DZ_FORMAT_CSV)
            json_array_append_new(checks,
                                  check_small_counts(fd, job->threshold));
    }
    json_array_foreach(checks, i, c)
        if (!json_is_true(json_object_get(c, "ok")))
            ok = false;
    file = json_pack("{s:s, s:b, s:s?, s:o}", "name", job->names[index], "ok",
                     ok, "type", type, "checks", checks);
    return file;
}

static int run_checks(void *data, json_t **ret_report, struct werr *err)
{
    struct check_job *job = data;
    json_t *files = json_array();

    (void)err;
    for (size_t i = 0; i < job->n_files; i++)
        json_array_append_new(files, check_file(job, i));
    *ret_report = json_pack("{s:o}", "files", files);
    return 0;
}

/* ---- in the daemon ---- */

/* One line per failure, for the submitter and the reviewer. */
static void summarize(json_t *checks)
{
    json_t *summary = json_array(), *file, *c, *item;
    size_t i, j;

    json_array_foreach(json_object_get(checks, "errors"), i, item)
        json_array_append(summary, item);
    json_array_foreach(json_object_get(checks, "skipped"), i, item)
        json_array_append_new(
            summary,
            json_sprintf("%s: skipped: %s",
                         json_string_value(json_object_get(item, "name")),
                         json_string_value(json_object_get(item, "reason"))));
    json_array_foreach(json_object_get(checks, "files"), i, file) {
        const char *name = json_string_value(json_object_get(file, "name"));

        json_array_foreach(json_object_get(file, "checks"), j, c) {
            const char *check = json_string_value(json_object_get(c, "check"));

            if (json_is_true(json_object_get(c, "ok")))
                continue;
            if (json_object_get(c, "error"))
                json_array_append_new(
                    summary,
                    json_sprintf("%s: %s: %s", name, check,
                                 json_string_value(
                                     json_object_get(c, "error"))));
            else if (!strcmp(check, "pii"))
                json_array_append_new(
                    summary,
                    json_sprintf("%s: pii: %" JSON_INTEGER_FORMAT
                                 " unmasked identifiers",
                                 name, json_integer_value(
                                           json_object_get(c, "count"))));
            else if (!strcmp(check, "overlap"))
                json_array_append_new(
                    summary,
                    json_sprintf(
                        "%s: overlap with dataset %s: %" JSON_INTEGER_FORMAT
                        " raw rows, %" JSON_INTEGER_FORMAT
                        " rows with raw identifiers",
                        name,
                        json_string_value(json_object_get(c, "dataset")),
                        json_integer_value(json_object_get(c, "raw_rows")),
                        json_integer_value(
                            json_object_get(c, "raw_value_rows"))));
            else if (!strcmp(check, "small_counts"))
                json_array_append_new(
                    summary,
                    json_sprintf("%s: small counts or dominance: %"
                                 JSON_INTEGER_FORMAT " findings",
                                 name, json_integer_value(
                                           json_object_get(c, "findings"))));
        }
    }
    json_object_set_new(checks, "passed",
                        json_boolean(json_array_size(summary) == 0));
    json_object_set_new(checks, "summary", summary);
}

static int store_checks(struct daemon *d, int64_t id, json_t *checks,
                        struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    _cleanup_free_ char *text = json_dumps(checks, JSON_COMPACT);
    json_t *file;
    size_t i;
    int r, rc;

    if (!text)
        return werr_set(err, -ENOMEM, "out of memory");
    r = db_prepare(d->db,
                   "UPDATE review_requests SET checks = ?, checks_passed = ? "
                   "WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, json_is_true(json_object_get(checks, "passed")));
    sqlite3_bind_int64(stmt, 3, id);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(d->db, rc, "storing the checks", err);
    r = db_prepare(d->db,
                   "UPDATE review_files SET type = ? WHERE request_id = ? "
                   "AND revision = (SELECT revision FROM review_requests "
                   "WHERE id = ?) AND position = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    json_array_foreach(json_object_get(checks, "files"), i, file) {
        sqlite3_reset(stmt);
        if (json_is_string(json_object_get(file, "type")))
            sqlite3_bind_text(stmt, 1,
                              json_string_value(json_object_get(file, "type")),
                              -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(stmt, 1);
        sqlite3_bind_int64(stmt, 2, id);
        sqlite3_bind_int64(stmt, 3, id);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)i);
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE)
            break;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "storing file types",
                                            err);
}

/* Store the checks and move the request to checked, unless it moved on
 * (withdrawn, or resubmitted as a newer revision) meanwhile. */
static int finish_checks(struct check_job *job, json_t *checks,
                         struct review_row *row, struct werr *err)
{
    struct daemon *d = job->d;
    int r;

    r = db_begin(d->db, err);
    if (r < 0)
        return r;
    r = review_load(d, job->request_id, row, err);
    if (r == 0 && (row->revision != job->revision ||
                   strcmp(row->state, "submitted") != 0)) {
        db_rollback(d->db);
        return 0;
    }
    if (r == 0)
        r = store_checks(d, job->request_id, checks, err);
    if (r == 0)
        r = review_set_state(
            d, row, "checked", &job->who, "review.checked",
            json_pack("{s:O, s:O}", "passed",
                      json_object_get(checks, "passed"), "summary",
                      json_object_get(checks, "summary")),
            err);
    if (r == 0)
        r = db_commit(d->db, err);
    if (r < 0) {
        db_rollback(d->db);
        return r;
    }
    snprintf(row->state, sizeof(row->state), "checked");
    row->checks_passed = json_is_true(json_object_get(checks, "passed"));
    return 0;
}

static void checks_done(struct daemon *d, void *data, int r, json_t *report,
                        const struct werr *worker_err)
{
    struct check_job *job = data;
    struct review_row row = {0};
    struct werr err = {0};
    json_t *checks, *result = NULL;

    checks = json_pack("{s:O, s:O, s:O}", "files",
                       r == 0 ? json_object_get(report, "files")
                              : json_array(),
                       "skipped", job->skipped, "errors",
                       job->setup_failures);
    if (r < 0)
        json_array_append_new(json_object_get(checks, "errors"),
                              json_sprintf("the checks failed to run: %s",
                                           worker_err->msg));
    summarize(checks);
    r = finish_checks(job, checks, &row, &err);
    if (r < 0)
        log_error("storing the checks of request %lld failed: %s",
                  (long long)job->request_id, err.msg);
    else
        log_info("request %lld checked: %s", (long long)job->request_id,
                 json_is_true(json_object_get(checks, "passed")) ? "passed"
                                                                 : "failed");
    if (r == 0) {
        result = review_row_json(&row);
        json_object_set(result, "summary",
                        json_object_get(checks, "summary"));
    }
    if (job->has_request)
        request_complete(d, &job->request, r, result, &err);
    else
        json_decref(result);
    json_decref(checks);
    job_free(job);
}

/* Map the raw set of every dataset granted to the tenant.  A raw set that
 * cannot be opened fails the checks instead of being skipped. */
static int open_rawsets(struct daemon *d, const char *tenant,
                        struct check_job *job, struct werr *err)
{
    json_t *list = NULL, *item;
    size_t i;
    int r;

    r = dataset_rawsets_of_tenant(d, tenant, &list, err);
    if (r < 0)
        return r;
    job->rawsets = calloc(json_array_size(list) + 1, sizeof(*job->rawsets));
    if (!job->rawsets) {
        json_decref(list);
        return werr_set(err, -ENOMEM, "out of memory");
    }
    json_array_foreach(list, i, item) {
        const char *name = json_string_value(json_object_get(item, "dataset"));
        const char *path = json_string_value(json_object_get(item, "rawset"));
        struct werr open_err = {0};
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0 || dz_rawset_open(fd, &job->rawsets[job->n_rawsets],
                                     &open_err) < 0) {
            json_array_append_new(
                job->setup_failures,
                json_sprintf("overlap with dataset %s could not be checked: "
                             "%s", name,
                             fd < 0 ? strerror(errno) : open_err.msg));
            continue;
        }
        json_array_append_new(job->rawset_names, json_string(name));
        job->n_rawsets++;
    }
    json_decref(list);
    return 0;
}

int review_checks_start(struct daemon *d, const struct review_row *row,
                        const struct review_file *files, size_t n_files,
                        json_t *skipped, const struct deferred_request *def,
                        const struct caller *who, struct werr *err)
{
    struct check_job *job;
    char what[64];
    int r = 0;

    if (n_files > REVIEW_MAX_FILES)
        return werr_set(err, -E2BIG, "at most %d files per request",
                        REVIEW_MAX_FILES);
    job = calloc(1, sizeof(*job));
    if (!job)
        return werr_set(err, -ENOMEM, "out of memory");
    job->d = d;
    job->request_id = row->id;
    job->revision = row->revision;
    job->export = strcmp(row->kind, "export") == 0;
    job->who = *who;
    job->threshold = d->cfg.small_count_threshold;
    job->rawset_names = json_array();
    job->setup_failures = json_array();
    job->skipped = skipped ? json_incref(skipped) : json_array();
    for (size_t i = 0; i < n_files && r >= 0; i++) {
        snprintf(job->names[i], sizeof(job->names[i]), "%s", files[i].name);
        r = job->fds[i] = review_quarantine_open(d, files[i].sha256, err);
        job->n_files = i + 1;
    }
    if (r >= 0 && job->export)
        r = open_rawsets(d, row->tenant, job, err);
    if (r >= 0 && def) {
        job->has_request = true;
        job->request = *def;
    }
    snprintf(what, sizeof(what), "checking request %lld", (long long)row->id);
    if (r >= 0)
        r = worker_start(d, what, job->fds, job->n_files, run_checks,
                         checks_done, job, err);
    if (r < 0) {
        job_free(job);
        return r;
    }
    return 0;
}

int review_checks_data(struct daemon *d, const struct review_row *row,
                       const struct caller *who, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *checks = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT owner, level, rows, sha256 FROM datasets "
                   "WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, row->dataset, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        checks = json_pack("{s:b, s:[], s:{s:s, s:s, s:i, s:I, s:s}}",
                           "passed", 1, "summary", "dataset", "name",
                           row->dataset, "owner", db_text(stmt, 0), "level",
                           sqlite3_column_int(stmt, 1), "rows",
                           (json_int_t)sqlite3_column_int64(stmt, 2),
                           "sha256", db_text(stmt, 3));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE
                   ? werr_set(err, -ENOENT, "dataset '%s' not found",
                              row->dataset)
                   : db_error(d->db, rc, "reading the dataset", err);
    r = store_checks(d, row->id, checks, err);
    if (r == 0)
        r = review_set_state(d, row, "checked", who, "review.checked",
                             json_pack("{s:b}", "passed", 1), err);
    json_decref(checks);
    return r;
}
