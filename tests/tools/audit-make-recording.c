/* Create a recorded session the way wardend records one, for tests of the
 * audit and session verbs while the daemon is stopped:
 *
 *   audit-make-recording --state DIR --tenant NAME --id SANDBOX_ID
 *       --login LOGIN --uid UID [--text TEXT] [--exit-code N]
 *
 * writes DIR/recordings/NAME/SANDBOX_ID.cast in asciicast v2: a prompt,
 * the typed command "echo TEXT" and TEXT printed back, with short pauses
 * between them.  Then, in one BEGIN IMMEDIATE transaction on
 * DIR/warden.db, it inserts the session's row into the sandboxes table and
 * appends to the tenant's chain the "session.end" event that carries the
 * recording's name and SHA-256.  It prints that SHA-256. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/asciicast.h"
#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <unistd.h>

struct options {
    const char *state;
    const char *tenant;
    const char *id;
    const char *login;
    long long uid;
    const char *text;
    int exit_code;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: audit-make-recording --state DIR --tenant NAME --id ID "
            "--login LOGIN --uid UID [--text TEXT] [--exit-code N]\n");
    exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"tenant", required_argument, NULL, 't'},
        {"id", required_argument, NULL, 'i'},
        {"login", required_argument, NULL, 'l'},
        {"uid", required_argument, NULL, 'u'},
        {"text", required_argument, NULL, 'x'},
        {"exit-code", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    o->uid = -1;
    o->text = "hello from the sandbox";
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 's': o->state = optarg; break;
        case 't': o->tenant = optarg; break;
        case 'i': o->id = optarg; break;
        case 'l': o->login = optarg; break;
        case 'u': o->uid = atoll(optarg); break;
        case 'x': o->text = optarg; break;
        case 'e': o->exit_code = atoi(optarg); break;
        default: usage();
        }
    }
    if (!o->state || !o->tenant || !o->id || !o->login || o->uid < 0 ||
        optind != argc)
        usage();
}

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int write_recording(const struct options *o, const char *name,
                           char sha256[AUDIT_HEX_SIZE], struct werr *err)
{
    _cleanup_close_ int state_fd = -1, dir_fd = -1;
    struct asciicast *cast = NULL;
    char line[512], subdir[256];
    int r;

    state_fd = open(o->state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (state_fd < 0)
        return werr_errno(err, -errno, "cannot open %s", o->state);
    snprintf(subdir, sizeof(subdir), "recordings/%s", o->tenant);
    dir_fd = fs_mkdir_p_beneath(state_fd, subdir, 0700);
    if (dir_fd < 0)
        return werr_errno(err, dir_fd, "cannot create %s/%s", o->state,
                          subdir);
    r = asciicast_open(dir_fd, name, 80, 24, o->id, "xterm-256color",
                       "/bin/sh", &cast, err);
    if (r < 0)
        return r;
    snprintf(line, sizeof(line), "echo %s\r", o->text);
    if ((r = asciicast_write_output(cast, "$ ", 2, err)) < 0)
        goto fail;
    pause_ms(30);
    if ((r = asciicast_write_input(cast, line, strlen(line), err)) < 0 ||
        (r = asciicast_write_output(cast, line, strlen(line) - 1, err)) < 0 ||
        (r = asciicast_write_output(cast, "\r\n", 2, err)) < 0)
        goto fail;
    pause_ms(30);
    snprintf(line, sizeof(line), "%s\r\n$ ", o->text);
    if ((r = asciicast_write_output(cast, line, strlen(line), err)) < 0)
        goto fail;
    return asciicast_close(cast, sha256, err);

fail:
    asciicast_free(cast);
    return r;
}

static int insert_session(sqlite3 *db, const struct options *o,
                          const char *recording, const char *sha256,
                          struct werr *err)
{
    sqlite3_stmt *st = NULL;
    time_t now = time(NULL);
    int rc;

    rc = sqlite3_prepare_v2(
        db,
        "INSERT INTO sandboxes (id, tenant_id, login, uid, kind, pid, "
        "started_at, ended_at, exit_code, command, recording, "
        "recording_sha256) SELECT ?1, id, ?2, ?3, 'shell', NULL, ?4, ?5, ?6, "
        "'[\"/bin/sh\"]', ?7, ?8 FROM tenants WHERE name = ?9",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return werr_set(err, -EIO, "preparing the insert failed: %s",
                        sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, o->uid);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)now - 60);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
    sqlite3_bind_int(st, 6, o->exit_code);
    sqlite3_bind_text(st, 7, recording, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, o->tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return werr_set(err, -EIO, "inserting the session failed: %s",
                        sqlite3_errmsg(db));
    if (sqlite3_changes(db) != 1)
        return werr_set(err, -ENOENT, "tenant '%s' not found", o->tenant);
    return 0;
}

static int append_end_event(sqlite3 *db, const struct options *o,
                            const char *recording, const char *sha256,
                            struct werr *err)
{
    struct audit_log *log = NULL;
    char chain[AUDIT_CHAIN_MAX], object[128];
    json_t *details = json_pack("{s:i}", "exit_code", o->exit_code);
    struct audit_event ev = {0};
    int r;

    snprintf(chain, sizeof(chain), "%s%s", AUDIT_TENANT_PREFIX, o->tenant);
    snprintf(object, sizeof(object), "sandbox:%s", o->id);
    ev.chain = chain;
    ev.actor = o->login;
    ev.uid = o->uid;
    ev.tenant = o->tenant;
    ev.action = "session.end";
    ev.object = object;
    ev.result = "ok";
    ev.details = details;
    ev.recording = recording;
    ev.recording_sha256 = sha256;
    r = audit_log_open(db, &log, err);
    if (r == 0)
        r = audit_append(log, &ev, NULL, NULL, err);
    audit_log_free(log);
    json_decref(details);
    return r;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    char sha256[AUDIT_HEX_SIZE], recording[256], name[128], path[4096];
    struct werr err = {0};
    sqlite3 *db = NULL;
    int r;

    parse_options(argc, argv, &o);
    snprintf(name, sizeof(name), "%s.cast", o.id);
    snprintf(recording, sizeof(recording), "%s/%s", o.tenant, name);
    snprintf(path, sizeof(path), "%s/warden.db", o.state);

    r = write_recording(&o, name, sha256, &err);
    if (r < 0)
        goto fail;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        r = werr_set(&err, -EIO, "cannot open %s: %s", path,
                     sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        r = werr_set(&err, -EIO, "BEGIN failed: %s", sqlite3_errmsg(db));
        goto fail;
    }
    r = insert_session(db, &o, recording, sha256, &err);
    if (r == 0)
        r = append_end_event(db, &o, recording, sha256, &err);
    if (r == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        r = werr_set(&err, -EIO, "COMMIT failed: %s", sqlite3_errmsg(db));
    if (r < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    sqlite3_close(db);
    printf("%s\n", sha256);
    return 0;

fail:
    sqlite3_close(db);
    fprintf(stderr, "audit-make-recording: %s\n", err.msg);
    return 1;
}
