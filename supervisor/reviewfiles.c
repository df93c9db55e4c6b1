/* Files of the review queue: reading a tenant's file from its workspace,
 * the content-addressed quarantine, releasing approved exports with a
 * signed manifest and approved imports into the tenant's inbox. */
#include "supervisor/review.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (128u * 1024)

/* ---- reading from a workspace ---- */

static int open_home(struct daemon *d, const char *tenant, const char *login,
                     struct werr *err)
{
    char path[4096];
    _cleanup_close_ int workspace = -1;
    int fd;

    if (workspace_path(d, tenant, path, sizeof(path)) < 0)
        return werr_set(err, -ENAMETOOLONG, "state_dir is too long");
    workspace = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (workspace < 0)
        return werr_errno(err, neg_errno(),
                          "opening the workspace of tenant '%s' failed",
                          tenant);
    fd = fs_open_beneath(workspace, login, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return werr_errno(err, fd, "opening the home of %s failed", login);
    return fd;
}

static const char *file_type_name(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFDIR:
        return "a directory";
    case S_IFIFO:
        return "a FIFO";
    case S_IFSOCK:
        return "a socket";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFLNK:
        return "a symbolic link";
    default:
        return "not a regular file";
    }
}

/* Reject anything but a regular file with a single link owned by owner.
 * A second link may be a file outside the tenant's reach that the tenant
 * linked to, so the name in the workspace does not show its origin. */
static int check_stat(const struct stat *st, const char *path, uid_t owner,
                      struct werr *err)
{
    if (!S_ISREG(st->st_mode))
        return werr_set(err, -EINVAL,
                        "'%s' is %s: only regular files can be submitted",
                        path, file_type_name(st->st_mode));
    if (st->st_nlink != 1)
        return werr_set(err, -EINVAL,
                        "'%s' has %ju hard links: copy it to a new file and "
                        "submit the copy", path, (uintmax_t)st->st_nlink);
    if (st->st_uid != owner)
        return werr_set(err, -EINVAL,
                        "'%s' is owned by host uid %u, not by the tenant's "
                        "sandbox user: submit files you created in the "
                        "sandbox", path, (unsigned)st->st_uid);
    return 0;
}

static int check_sandbox_path(const char *path, const char *login,
                              const char **ret_relative, struct werr *err)
{
    char prefix[96];
    const char *rel, *p;

    snprintf(prefix, sizeof(prefix), "/home/%s/", login);
    if (strncmp(path, prefix, strlen(prefix)) != 0)
        return werr_set(err, -EINVAL,
                        "'%.300s' is not below %s: only files in your home "
                        "can be submitted (give absolute sandbox paths)",
                        path, prefix);
    rel = path + strlen(prefix);
    if (!rel[0] || rel[strlen(rel) - 1] == '/')
        return werr_set(err, -EINVAL, "'%.300s' does not name a file", path);
    for (p = rel; p; p = strchr(p, '/')) {
        if (*p == '/')
            p++;
        if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
            return werr_set(err, -EINVAL,
                            "'%.300s' contains '..': give the file's plain "
                            "path", path);
    }
    *ret_relative = rel;
    return 0;
}

int review_open_home_file(struct daemon *d, const char *tenant,
                          int64_t uid_base, const char *login,
                          const char *path, int *ret_fd, struct werr *err)
{
    uid_t owner = (uid_t)(uid_base + REVIEW_SANDBOX_ID);
    _cleanup_close_ int home = -1, probe = -1, fd = -1;
    const char *rel = NULL;
    struct stat st, st2;
    int r;

    r = check_sandbox_path(path, login, &rel, err);
    if (r < 0)
        return r;
    home = open_home(d, tenant, login, err);
    if (home < 0)
        return home;
    /* Look before opening: an O_PATH descriptor never opens a device or
     * blocks on a FIFO, and the lookup refuses every symbolic link, ".."
     * out of the home and mount crossings. */
    probe = fs_open_beneath(home, rel, O_PATH | O_NOFOLLOW, 0);
    if (probe == -ELOOP)
        return werr_set(err, -EINVAL,
                        "'%.300s' is or passes through a symbolic link: "
                        "submit the file itself", path);
    if (probe == -EXDEV)
        return werr_set(err, -EINVAL,
                        "'%.300s' is on another file system: only files in "
                        "your home can be submitted", path);
    if (probe < 0)
        return werr_errno(err, probe, "opening '%.300s' failed", path);
    if (fstat(probe, &st) < 0)
        return werr_errno(err, neg_errno(), "reading '%.300s' failed", path);
    r = check_stat(&st, path, owner, err);
    if (r < 0)
        return r;
    fd = fs_open_beneath(home, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
    if (fd < 0)
        return werr_errno(err, fd, "opening '%.300s' failed", path);
    /* The tenant may have swapped the name between both opens. */
    if (fstat(fd, &st2) < 0)
        return werr_errno(err, neg_errno(), "reading '%.300s' failed", path);
    if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
        return werr_set(err, -EAGAIN,
                        "'%.300s' changed while it was opened: submit it "
                        "again", path);
    r = check_stat(&st2, path, owner, err);
    if (r < 0)
        return r;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* ---- quarantine ---- */

static int open_store_dir(struct daemon *d, const char *name,
                          struct werr *err)
{
    int fd = fs_mkdir_p_beneath(d->state_dir_fd, name, 0700);

    if (fd < 0)
        return werr_errno(err, fd, "opening %s/%s failed", d->cfg.state_dir,
                          name);
    return fd;
}

static int make_temp(int dirfd, mode_t mode, char *ret_name, size_t size)
{
    static unsigned counter;

    for (int attempt = 0; attempt < 100; attempt++) {
        int fd;

        snprintf(ret_name, size, ".tmp-%d-%u", (int)getpid(), counter++);
        fd = openat(dirfd, ret_name,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode);
        if (fd >= 0 || errno != EEXIST)
            return fd >= 0 ? fd : neg_errno();
    }
    return -EEXIST;
}

int review_quarantine(struct daemon *d, int fd, uint64_t max,
                      struct review_file *file, struct werr *err)
{
    crypto_hash_sha256_state state;
    unsigned char hash[crypto_hash_sha256_BYTES];
    _cleanup_close_ int dir = -1, out = -1;
    _cleanup_free_ char *buf = malloc(COPY_CHUNK);
    char temp[64];
    uint64_t total = 0;
    struct stat st;
    int r = 0;

    if (!buf)
        return werr_set(err, -ENOMEM, "out of memory");
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return werr_set(err, -EINVAL,
                        "'%s' is not a regular file: only regular files can "
                        "be submitted", file->name);
    if ((uint64_t)st.st_size > max)
        return werr_set(err, -EFBIG,
                        "'%s' has %jd bytes: the maximum is %ju (max_export_"
                        "size)", file->name, (intmax_t)st.st_size,
                        (uintmax_t)max);
    dir = open_store_dir(d, QUARANTINE_DIR, err);
    if (dir < 0)
        return dir;
    out = make_temp(dir, 0600, temp, sizeof(temp));
    if (out < 0)
        return werr_errno(err, out, "creating a quarantine file failed");
    /* TODO: the copy runs in the event loop, up to max_export_size per
     * file; move it into the checks worker, which would need the source
     * descriptor and a writable quarantine descriptor. */
    crypto_hash_sha256_init(&state);
    for (;;) {
        ssize_t n = pread(fd, buf, COPY_CHUNK, (off_t)total);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = werr_errno(err, neg_errno(), "reading '%s' failed",
                           file->name);
            break;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > max) {
            r = werr_set(err, -EFBIG,
                         "'%s' grew beyond %ju bytes (max_export_size) while "
                         "it was copied", file->name, (uintmax_t)max);
            break;
        }
        crypto_hash_sha256_update(&state, (unsigned char *)buf, (size_t)n);
        r = fs_write_all(out, buf, (size_t)n);
        if (r < 0) {
            werr_errno(err, r, "writing the quarantine copy failed");
            break;
        }
    }
    if (r == 0 && fsync(out) < 0)
        r = werr_errno(err, neg_errno(), "writing the quarantine copy failed");
    if (r < 0) {
        unlinkat(dir, temp, 0);
        return r;
    }
    crypto_hash_sha256_final(&state, hash);
    sodium_bin2hex(file->sha256, sizeof(file->sha256), hash, sizeof(hash));
    file->size = total;
    /* Equal content has one copy: a file already stored stays. */
    if (renameat2(dir, temp, dir, file->sha256, RENAME_NOREPLACE) < 0) {
        r = errno == EEXIST ? 0 : neg_errno();
        unlinkat(dir, temp, 0);
        if (r < 0)
            return werr_errno(err, r, "storing the quarantine copy failed");
    }
    return 0;
}

int review_quarantine_open(struct daemon *d, const char *sha256,
                           struct werr *err)
{
    char path[128];
    int fd;

    snprintf(path, sizeof(path), QUARANTINE_DIR "/%s", sha256);
    fd = fs_open_beneath(d->state_dir_fd, path, O_RDONLY, 0);
    if (fd < 0)
        return werr_errno(err, fd, "opening the quarantine copy %s failed",
                          sha256);
    return fd;
}

json_t *review_preview(struct daemon *d, const char *sha256)
{
    struct werr err = {0};
    char buf[REVIEW_PREVIEW_LINES * (REVIEW_PREVIEW_LINE_MAX + 2) * 4];
    _cleanup_close_ int fd = review_quarantine_open(d, sha256, &err);
    json_t *lines = json_array();
    ssize_t n;
    char *p, *end;

    if (fd < 0)
        return lines;
    n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return lines;
    end = buf + n;
    for (p = buf; p < end && json_array_size(lines) < REVIEW_PREVIEW_LINES;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > REVIEW_PREVIEW_LINE_MAX) {
            len = REVIEW_PREVIEW_LINE_MAX;
            /* Cut at a character boundary of the UTF-8 text. */
            while (len > 0 && ((unsigned char)p[len] & 0xc0) == 0x80)
                len--;
        }
        json_array_append_new(lines, json_stringn(p, len));
        if (!nl)
            break;
        p = nl + 1;
    }
    return lines;
}

/* ---- release ---- */

static int copy_fd(int in, int out)
{
    char buf[65536];

    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        int r;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return neg_errno();
        if (n == 0)
            return 0;
        r = fs_write_all(out, buf, (size_t)n);
        if (r < 0)
            return r;
    }
}

static void outgoing_name(const struct review_row *row, char *buf,
                          size_t size)
{
    snprintf(buf, size, OUTGOING_DIR "/%s/%lld", row->tenant,
             (long long)row->id);
}

int review_remove_outgoing(struct daemon *d, const struct review_row *row,
                           struct werr *err)
{
    char name[128];
    int r;

    outgoing_name(row, name, sizeof(name));
    r = fs_remove_tree_at(d->state_dir_fd, name, NULL, NULL);
    if (r < 0 && r != -ENOENT)
        return werr_errno(err, r, "removing %s/%s failed", d->cfg.state_dir,
                          name);
    return 0;
}

/* Datasets granted to the tenant now, with their hashes and scenarios: the
 * data an export without a job could come from. */
static json_t *granted_datasets(struct daemon *d, int64_t tenant_id)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array();

    if (sqlite3_prepare_v2(d->db,
                           "SELECT ds.name, ds.sha256, g.scenario FROM grants "
                           "g JOIN datasets ds ON ds.id = g.dataset_id "
                           "WHERE g.tenant_id = ? AND g.revoked_at IS NULL "
                           "ORDER BY ds.name",
                           -1, &stmt, NULL) != SQLITE_OK)
        return list;
    sqlite3_bind_int64(stmt, 1, tenant_id);
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s}", "name",
                                        db_text(stmt, 0), "sha256",
                                        db_text(stmt, 1), "scenario",
                                        db_text(stmt, 2)));
    sqlite3_finalize(stmt);
    return list;
}

static json_t *load_provenance(struct daemon *d, int64_t id)
{
    sqlite3_stmt *stmt = NULL;
    json_t *provenance = NULL;

    if (sqlite3_prepare_v2(d->db,
                           "SELECT provenance FROM review_requests "
                           "WHERE id = ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(stmt, 1, id);
    if (sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        provenance = json_loads(db_text(stmt, 0), 0, NULL);
    sqlite3_finalize(stmt);
    return provenance;
}

static json_t *build_manifest(struct daemon *d, const struct review_row *row,
                              json_t *files, json_t *approvers)
{
    json_t *provenance = load_provenance(d, row->id);
    json_t *sources = json_object_get(provenance, "datasets");
    json_t *manifest, *list = json_array(), *file;
    size_t i;

    json_array_foreach(files, i, file)
        json_array_append_new(
            list, json_pack("{s:O, s:O, s:O, s:O}", "name",
                            json_object_get(file, "name"), "sha256",
                            json_object_get(file, "sha256"), "size",
                            json_object_get(file, "size"), "type",
                            json_object_get(file, "type")));
    manifest = json_pack(
        "{s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:O, s:o, s:o, s:o}",
        "version", 1, "request", (json_int_t)row->id, "kind", "export",
        "tenant", row->tenant, "scenario", row->scenario, "purpose",
        row->purpose, "submitter", row->submitter, "submitted_at",
        (json_int_t)row->created_at, "released_at",
        (json_int_t)daemon_now(d), "approvers", approvers, "files", list,
        "source_datasets",
        sources ? json_incref(sources) : granted_datasets(d, row->tenant_id),
        "provenance", provenance ? provenance : json_null());
    if (manifest && row->job_id[0])
        json_object_set_new(manifest, "job", json_string(row->job_id));
    return manifest;
}

static int write_signed_manifest(struct daemon *d, int dir, json_t *manifest,
                                 struct werr *err)
{
    unsigned char sig[crypto_sign_BYTES];
    char hex[crypto_sign_BYTES * 2 + 2];
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r;

    text = json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return werr_set(err, -ENOMEM, "out of memory");
    len = strlen(text);
    crypto_sign_detached(sig, NULL, (const unsigned char *)text, len,
                         d->audit_key.secret_key);
    sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
    strcat(hex, "\n");
    r = fs_write_file_atomic(dir, "manifest.json", text, len, 0600);
    if (r == 0)
        r = fs_write_file_atomic(dir, "manifest.sig", hex, strlen(hex), 0600);
    if (r < 0)
        return werr_errno(err, r, "writing the export manifest failed");
    return 0;
}

int review_release_export(struct daemon *d, const struct review_row *row,
                          json_t *approvers, struct werr *err)
{
    _cleanup_close_ int quarantine = -1, dir = -1;
    json_t *files = NULL, *file, *manifest;
    char name[128];
    size_t i;
    int r;

    r = review_remove_outgoing(d, row, err);
    if (r < 0)
        return r;
    outgoing_name(row, name, sizeof(name));
    dir = fs_mkdir_p_beneath(d->state_dir_fd, name, 0700);
    if (dir < 0)
        return werr_errno(err, dir, "creating %s/%s failed", d->cfg.state_dir,
                          name);
    quarantine = open_store_dir(d, QUARANTINE_DIR, err);
    if (quarantine < 0)
        return quarantine;
    r = review_files_json(d, row->id, row->revision, &files, err);
    if (r < 0)
        return r;
    /* Quarantine and outgoing copies are both root-only and never
     * written again, so they can share the inode. */
    json_array_foreach(files, i, file) {
        const char *sha = json_string_value(json_object_get(file, "sha256"));
        const char *fname = json_string_value(json_object_get(file, "name"));

        if (linkat(quarantine, sha, dir, fname, 0) < 0) {
            r = werr_errno(err, neg_errno(), "releasing '%s' failed", fname);
            json_decref(files);
            return r;
        }
    }
    manifest = build_manifest(d, row, files, approvers);
    json_decref(files);
    if (!manifest)
        return werr_set(err, -ENOMEM, "building the manifest failed");
    r = write_signed_manifest(d, dir, manifest, err);
    json_decref(manifest);
    return r;
}

int review_inbox_dir(struct daemon *d, const char *tenant, char *ret_path,
                     size_t size, struct werr *err)
{
    int64_t tenant_id, uid_base;
    gid_t group;
    char name[128];
    _cleanup_close_ int top = -1, fd = -1;
    int r;

    r = review_tenant(d, tenant, &tenant_id, &uid_base, err);
    if (r < 0)
        return r;
    group = (gid_t)(uid_base + REVIEW_SANDBOX_ID);
    /* inbox/ itself only lets others pass through to their own tenant's
     * directory, whose group is that tenant's sandbox user. */
    top = fs_mkdir_p_beneath(d->state_dir_fd, INBOX_DIR, 0711);
    if (top < 0 || fchmod(top, 0711) < 0)
        return werr_errno(err, top < 0 ? top : neg_errno(),
                          "creating %s/" INBOX_DIR " failed",
                          d->cfg.state_dir);
    snprintf(name, sizeof(name), INBOX_DIR "/%s", tenant);
    fd = fs_mkdir_p_beneath(d->state_dir_fd, name, 0750);
    if (fd < 0 || fchown(fd, 0, group) < 0 || fchmod(fd, 0750) < 0)
        return werr_errno(err, fd < 0 ? fd : neg_errno(),
                          "creating the inbox of tenant '%s' failed", tenant);
    if ((size_t)snprintf(ret_path, size, "%s/%s", d->cfg.state_dir, name) >=
        size)
        return werr_set(err, -ENAMETOOLONG, "state_dir is too long");
    return 0;
}

static int place_in_inbox(int dir, int in, gid_t group, const char *name,
                          int64_t id, char *ret_name, size_t size)
{
    char temp[64];
    _cleanup_close_ int out = make_temp(dir, 0440, temp, sizeof(temp));
    int r;

    if (out < 0)
        return out;
    r = copy_fd(in, out);
    if (r == 0 && (fchown(out, 0, group) < 0 || fchmod(out, 0440) < 0 ||
                   fsync(out) < 0))
        r = neg_errno();
    if (r < 0) {
        unlinkat(dir, temp, 0);
        return r;
    }
    /* A name already in the inbox keeps its file; the new one gets the
     * request number in front. */
    snprintf(ret_name, size, "%s", name);
    if (renameat2(dir, temp, dir, ret_name, RENAME_NOREPLACE) == 0)
        return 0;
    snprintf(ret_name, size, "%lld-%s", (long long)id, name);
    if (renameat2(dir, temp, dir, ret_name, RENAME_NOREPLACE) == 0)
        return 0;
    r = neg_errno();
    unlinkat(dir, temp, 0);
    return r;
}

int review_release_import(struct daemon *d, const struct review_row *row,
                          char *ret_name, size_t size, struct werr *err)
{
    char path[4096];
    json_t *files = NULL, *file;
    _cleanup_close_ int dir = -1, in = -1;
    int r;

    r = review_inbox_dir(d, row->tenant, path, sizeof(path), err);
    if (r < 0)
        return r;
    dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0)
        return werr_errno(err, neg_errno(), "opening %s failed", path);
    r = review_files_json(d, row->id, row->revision, &files, err);
    if (r < 0)
        return r;
    file = json_array_get(files, 0);
    in = file ? review_quarantine_open(
                    d, json_string_value(json_object_get(file, "sha256")),
                    err)
              : werr_set(err, -ENOENT, "request %lld has no file",
                         (long long)row->id);
    if (in >= 0) {
        r = place_in_inbox(dir, in,
                           (gid_t)(row->uid_base + REVIEW_SANDBOX_ID),
                           json_string_value(json_object_get(file, "name")),
                           row->id, ret_name, size);
        if (r < 0)
            werr_errno(err, r, "copying the import into %s failed", path);
    } else {
        r = in;
    }
    json_decref(files);
    return r;
}

int review_open_release(struct daemon *d, const struct review_row *row,
                        json_t *files, size_t start, size_t count, int *fds,
                        struct werr *err)
{
    static const char *const manifest_files[] = {"manifest.json",
                                                 "manifest.sig"};
    char dir_name[128];
    _cleanup_close_ int dir = -1;
    int n = 0;

    outgoing_name(row, dir_name, sizeof(dir_name));
    dir = fs_open_beneath(d->state_dir_fd, dir_name, O_RDONLY | O_DIRECTORY,
                          0);
    if (dir < 0)
        return werr_errno(err, dir, "opening the release of request %lld "
                          "failed", (long long)row->id);
    for (size_t i = 0; i < 2 + count; i++) {
        const char *name =
            i < 2 ? manifest_files[i]
                  : json_string_value(json_object_get(
                        json_array_get(files, start + i - 2), "name"));
        int fd = name ? fs_open_beneath(dir, name, O_RDONLY | O_NOFOLLOW, 0)
                      : -ENOENT;

        if (fd < 0) {
            while (n > 0)
                close(fds[--n]);
            return werr_errno(err, fd, "opening '%s' of request %lld failed",
                              name ? name : "?", (long long)row->id);
        }
        fds[n++] = fd;
    }
    return n;
}
