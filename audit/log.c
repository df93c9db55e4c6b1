/* Audit schema, prepared statements and appending events to a chain. */
#include "audit/audit-internal.h"

#include "common/cleanup.h"

#include <stdlib.h>
#include <string.h>

/* audit_chains lists every chain ever started, so that checkpointing does
 * not scan the events and a purge leaves a visible trace. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS audit_events ("
    " id INTEGER PRIMARY KEY,"
    " chain TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " time_ns INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " uid INTEGER NOT NULL,"
    " tenant TEXT,"
    " action TEXT NOT NULL,"
    " object TEXT,"
    " result TEXT NOT NULL,"
    " details TEXT NOT NULL,"
    " recording TEXT,"
    " recording_sha256 TEXT,"
    " prev BLOB NOT NULL,"
    " hash BLOB NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS audit_events_chain_seq"
    " ON audit_events (chain, seq);"
    "CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time_ns);"
    "CREATE TABLE IF NOT EXISTS audit_checkpoints ("
    " id INTEGER PRIMARY KEY,"
    " chain TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " hash BLOB NOT NULL,"
    " time_ns INTEGER NOT NULL,"
    " public_key BLOB NOT NULL,"
    " signature BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_checkpoints_chain_seq"
    " ON audit_checkpoints (chain, seq);"
    "CREATE TABLE IF NOT EXISTS audit_chains ("
    " chain TEXT PRIMARY KEY,"
    " started_ns INTEGER NOT NULL) WITHOUT ROWID;";

enum {
    STMT_HEAD,
    STMT_INSERT,
    STMT_CHAIN_ADD,
    STMT_CHAIN_DEL,
    STMT_CHAINS,
    STMT_LAST_CHECKPOINT,
    STMT_EVENT_TIME,
    STMT_CHECKPOINT_ADD,
    STMT_COUNT,
    STMT_DELETE_EVENTS,
    STMT_DELETE_CHECKPOINTS,
    STMT_MAX
};

static const char *const stmt_sql[STMT_MAX] = {
    [STMT_HEAD] = "SELECT seq, hash FROM audit_events WHERE chain = ?1"
                  " ORDER BY seq DESC LIMIT 1",
    [STMT_INSERT] = "INSERT INTO audit_events (" AUDIT_EVENT_COLUMNS ")"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                    " ?12, ?13, ?14)",
    [STMT_CHAIN_ADD] = "INSERT OR IGNORE INTO audit_chains (chain, started_ns)"
                       " VALUES (?1, ?2)",
    [STMT_CHAIN_DEL] = "DELETE FROM audit_chains WHERE chain = ?1",
    [STMT_CHAINS] = "SELECT chain FROM audit_chains ORDER BY chain",
    [STMT_LAST_CHECKPOINT] = "SELECT seq FROM audit_checkpoints"
                             " WHERE chain = ?1 ORDER BY seq DESC LIMIT 1",
    [STMT_EVENT_TIME] = "SELECT time_ns FROM audit_events"
                        " WHERE chain = ?1 AND seq = ?2",
    [STMT_CHECKPOINT_ADD] = "INSERT INTO audit_checkpoints (chain, seq, hash,"
                            " time_ns, public_key, signature)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_COUNT] = "SELECT count(*) FROM audit_events WHERE chain = ?1",
    [STMT_DELETE_EVENTS] = "DELETE FROM audit_events WHERE chain = ?1",
    [STMT_DELETE_CHECKPOINTS] = "DELETE FROM audit_checkpoints"
                                " WHERE chain = ?1",
};

struct audit_log {
    sqlite3 *db;
    sqlite3_stmt *stmt[STMT_MAX];
};

int audit_sql_fail(sqlite3 *db, int rc, struct werr *err, const char *what)
{
    int code;

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = -EBUSY;
        break;
    case SQLITE_CONSTRAINT:
        code = -EEXIST;
        break;
    case SQLITE_NOMEM:
        code = -ENOMEM;
        break;
    case SQLITE_READONLY:
        code = -EROFS;
        break;
    case SQLITE_FULL:
        code = -ENOSPC;
        break;
    default:
        code = -EIO;
    }
    return werr_set(err, code, "%s failed: %s", what,
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int audit_db_init(sqlite3 *db, struct werr *err)
{
    int rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return audit_sql_fail(db, rc, err, "creating the audit tables");
    return 0;
}

int audit_log_open(sqlite3 *db, struct audit_log **ret_log, struct werr *err)
{
    struct audit_log *log = calloc(1, sizeof(*log));

    if (!log)
        return werr_set(err, -ENOMEM, "out of memory");
    log->db = db;
    for (size_t i = 0; i < STMT_MAX; i++) {
        int rc = sqlite3_prepare_v3(db, stmt_sql[i], -1,
                                    SQLITE_PREPARE_PERSISTENT,
                                    &log->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            audit_sql_fail(db, rc, err, "preparing an audit statement");
            audit_log_free(log);
            return err ? err->code : -EIO;
        }
    }
    *ret_log = log;
    return 0;
}

void audit_log_free(struct audit_log *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < STMT_MAX; i++)
        sqlite3_finalize(log->stmt[i]);
    free(log);
}

sqlite3 *audit_log_db(const struct audit_log *log)
{
    return log->db;
}

/* Reset and clear st so that it can be bound again. */
static sqlite3_stmt *stmt_get(struct audit_log *log, int which)
{
    sqlite3_stmt *st = log->stmt[which];

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static const char *column_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void column_hash(sqlite3_stmt *st, int i, unsigned char *ret_hash)
{
    const void *blob = sqlite3_column_blob(st, i);

    memset(ret_hash, 0, AUDIT_HASH_SIZE);
    if (blob && sqlite3_column_bytes(st, i) == AUDIT_HASH_SIZE)
        memcpy(ret_hash, blob, AUDIT_HASH_SIZE);
}

void audit_event_from_row(sqlite3_stmt *st, int first, struct audit_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->chain = column_text(st, first);
    ev->seq = sqlite3_column_int64(st, first + 1);
    ev->time_ns = sqlite3_column_int64(st, first + 2);
    ev->actor = column_text(st, first + 3);
    ev->uid = sqlite3_column_int64(st, first + 4);
    ev->tenant = column_text(st, first + 5);
    ev->action = column_text(st, first + 6);
    ev->object = column_text(st, first + 7);
    ev->result = column_text(st, first + 8);
    ev->details_json = column_text(st, first + 9);
    ev->recording = column_text(st, first + 10);
    ev->recording_sha256 = column_text(st, first + 11);
    column_hash(st, first + 12, ev->prev);
    column_hash(st, first + 13, ev->hash);
}

static bool chain_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int audit_chain_name_check(const char *chain, struct werr *err)
{
    const char *name;
    size_t len;

    if (!chain)
        return werr_set(err, -EINVAL, "missing audit chain name");
    if (strcmp(chain, AUDIT_PLATFORM_CHAIN) == 0)
        return 0;
    if (strncmp(chain, AUDIT_TENANT_PREFIX, strlen(AUDIT_TENANT_PREFIX)) != 0)
        goto invalid;
    name = chain + strlen(AUDIT_TENANT_PREFIX);
    len = strlen(name);
    if (len == 0 || len > 64)
        goto invalid;
    for (size_t i = 0; i < len; i++)
        if (!chain_char_ok(name[i]))
            goto invalid;
    return 0;
invalid:
    return werr_set(err, -EINVAL,
                    "invalid audit chain '%.80s': use 'platform' or "
                    "'tenant:<name>' with 1 to 64 of [A-Za-z0-9._-]",
                    chain);
}

static int check_text(const char *what, const char *s, bool required,
                      struct werr *err)
{
    if (!s) {
        if (required)
            return werr_set(err, -EINVAL, "missing audit event %s", what);
        return 0;
    }
    if (!audit_utf8_valid(s))
        return werr_set(err, -EINVAL,
                        "invalid audit event %s: not valid UTF-8", what);
    return 0;
}

static int check_recording(const struct audit_event *ev, struct werr *err)
{
    unsigned char digest[AUDIT_HASH_SIZE];

    if (!ev->recording && !ev->recording_sha256)
        return 0;
    if (!ev->recording || !ev->recording_sha256)
        return werr_set(err, -EINVAL, "audit event recording needs both a "
                                      "file name and its SHA-256");
    if (ev->recording[0] == '/' || ev->recording[0] == '\0' ||
        strstr(ev->recording, "..") || !audit_utf8_valid(ev->recording))
        return werr_set(err, -EINVAL,
                        "invalid recording name '%.80s': use a relative "
                        "path below the recordings directory without '..'",
                        ev->recording);
    if (audit_unhex(ev->recording_sha256, digest, sizeof(digest)) < 0)
        return werr_set(err, -EINVAL,
                        "invalid recording SHA-256 '%.80s': use 64 hex "
                        "digits", ev->recording_sha256);
    return 0;
}

/* Check that a tenant chain carries its own tenant name. */
static int check_tenant(const struct audit_event *ev, struct werr *err)
{
    const char *name;

    if (strcmp(ev->chain, AUDIT_PLATFORM_CHAIN) == 0)
        return 0;
    name = ev->chain + strlen(AUDIT_TENANT_PREFIX);
    if (!ev->tenant || strcmp(ev->tenant, name) != 0)
        return werr_set(err, -EINVAL,
                        "audit event for chain '%s' must have tenant '%s'",
                        ev->chain, name);
    return 0;
}

static int check_event(const struct audit_event *ev, struct werr *err)
{
    int r;

    if ((r = audit_chain_name_check(ev->chain, err)) < 0 ||
        (r = check_text("actor", ev->actor, true, err)) < 0 ||
        (r = check_text("tenant", ev->tenant, false, err)) < 0 ||
        (r = check_text("action", ev->action, true, err)) < 0 ||
        (r = check_text("object", ev->object, false, err)) < 0 ||
        (r = check_text("result", ev->result, true, err)) < 0 ||
        (r = check_recording(ev, err)) < 0 || (r = check_tenant(ev, err)) < 0)
        return r;
    if (ev->details && !json_is_object(ev->details))
        return werr_set(err, -EINVAL,
                        "invalid audit event details: use a JSON object");
    return 0;
}

/* Canonical JSON text of the details object (see audit/audit.h). */
static int details_canonical(const struct audit_event *ev, char **ret_text,
                             struct werr *err)
{
    json_t *parsed = NULL;
    json_t *obj = ev->details;
    char *text;

    if (!obj && ev->details_json) {
        parsed = json_loads(ev->details_json, 0, NULL);
        if (!json_is_object(parsed)) {
            json_decref(parsed);
            return werr_set(err, -EINVAL, "invalid audit event details "
                                          "text: use a JSON object");
        }
        obj = parsed;
    }
    if (!obj)
        text = strdup("{}");
    else
        text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS |
                                   JSON_ENSURE_ASCII);
    json_decref(parsed);
    if (!text)
        return werr_set(err, -EINVAL, "cannot encode audit event details: "
                                      "strings must be valid UTF-8");
    *ret_text = text;
    return 0;
}

/* Read seq and hash of the newest event of chain; seq 0 and a zero hash
 * for an empty chain. */
static int chain_head(struct audit_log *log, const char *chain,
                      int64_t *ret_seq, unsigned char ret_hash[AUDIT_HASH_SIZE],
                      struct werr *err)
{
    sqlite3_stmt *st = stmt_get(log, STMT_HEAD);
    int rc;

    bind_text(st, 1, chain);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        *ret_seq = 0;
        memset(ret_hash, 0, AUDIT_HASH_SIZE);
        return 0;
    }
    if (rc != SQLITE_ROW)
        return audit_sql_fail(log->db, rc, err, "reading the audit chain head");
    *ret_seq = sqlite3_column_int64(st, 0);
    column_hash(st, 1, ret_hash);
    sqlite3_reset(st);
    return 0;
}

static int insert_event(struct audit_log *log, const struct audit_event *ev,
                        struct werr *err)
{
    sqlite3_stmt *st = stmt_get(log, STMT_INSERT);
    int rc;

    bind_text(st, 1, ev->chain);
    sqlite3_bind_int64(st, 2, ev->seq);
    sqlite3_bind_int64(st, 3, ev->time_ns);
    bind_text(st, 4, ev->actor);
    sqlite3_bind_int64(st, 5, ev->uid);
    bind_text(st, 6, ev->tenant);
    bind_text(st, 7, ev->action);
    bind_text(st, 8, ev->object);
    bind_text(st, 9, ev->result);
    bind_text(st, 10, ev->details_json);
    bind_text(st, 11, ev->recording);
    bind_text(st, 12, ev->recording_sha256);
    sqlite3_bind_blob(st, 13, ev->prev, AUDIT_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(st, 14, ev->hash, AUDIT_HASH_SIZE, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return audit_sql_fail(log->db, rc, err, "inserting an audit event");
    return 0;
}

static int register_chain(struct audit_log *log, const char *chain,
                          int64_t time_ns, struct werr *err)
{
    sqlite3_stmt *st = stmt_get(log, STMT_CHAIN_ADD);
    int rc;

    bind_text(st, 1, chain);
    sqlite3_bind_int64(st, 2, time_ns);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return audit_sql_fail(log->db, rc, err, "registering an audit chain");
    return 0;
}

/* Record the start of a tenant chain in the platform chain. */
static int announce_chain(struct audit_log *log, const struct audit_event *ev,
                          struct werr *err)
{
    json_t *details = json_pack("{s:s}", "chain", ev->chain);
    struct audit_event start = {
        .chain = AUDIT_PLATFORM_CHAIN,
        .time_ns = ev->time_ns,
        .actor = ev->actor,
        .uid = ev->uid,
        .tenant = ev->tenant,
        .action = "audit.chain.start",
        .object = ev->chain,
        .result = "ok",
        .details = details,
    };
    int r;

    if (!details)
        return werr_set(err, -ENOMEM, "out of memory");
    r = audit_append(log, &start, NULL, NULL, err);
    json_decref(details);
    return r;
}

int audit_append(struct audit_log *log, const struct audit_event *ev,
                 int64_t *ret_seq, unsigned char ret_hash[AUDIT_HASH_SIZE],
                 struct werr *err)
{
    _cleanup_free_ char *details = NULL;
    struct audit_event row;
    int r;

    if (sqlite3_get_autocommit(log->db))
        return werr_set(err, -EINVAL, "audit_append needs an open "
                                      "transaction: call BEGIN IMMEDIATE first");
    if ((r = check_event(ev, err)) < 0)
        return r;
    if ((r = details_canonical(ev, &details, err)) < 0)
        return r;

    row = *ev;
    row.details = NULL;
    row.details_json = details;
    if (row.time_ns == 0)
        row.time_ns = audit_now_ns();
    if ((r = chain_head(log, ev->chain, &row.seq, row.prev, err)) < 0)
        return r;
    row.seq++;
    audit_event_hash(&row, row.prev, row.hash);
    if ((r = insert_event(log, &row, err)) < 0)
        return r;

    if (row.seq == 1) {
        if ((r = register_chain(log, row.chain, row.time_ns, err)) < 0)
            return r;
        if (strcmp(row.chain, AUDIT_PLATFORM_CHAIN) != 0 &&
            (r = announce_chain(log, &row, err)) < 0)
            return r;
    }
    if (ret_seq)
        *ret_seq = row.seq;
    if (ret_hash)
        memcpy(ret_hash, row.hash, AUDIT_HASH_SIZE);
    return 0;
}

/* Accessors for checkpoint.c and purge.c, which share the statements. */
int audit_log_chain_head(struct audit_log *log, const char *chain,
                         int64_t *ret_seq,
                         unsigned char ret_hash[AUDIT_HASH_SIZE],
                         struct werr *err)
{
    return chain_head(log, chain, ret_seq, ret_hash, err);
}

int audit_log_last_checkpoint(struct audit_log *log, const char *chain,
                              int64_t *ret_seq, struct werr *err)
{
    sqlite3_stmt *st = stmt_get(log, STMT_LAST_CHECKPOINT);
    int rc;

    bind_text(st, 1, chain);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return audit_sql_fail(log->db, rc, err, "reading the last checkpoint");
    *ret_seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return 0;
}

int audit_log_event_time(struct audit_log *log, const char *chain,
                         int64_t seq, int64_t *ret_time_ns, struct werr *err)
{
    sqlite3_stmt *st = stmt_get(log, STMT_EVENT_TIME);
    int rc;

    bind_text(st, 1, chain);
    sqlite3_bind_int64(st, 2, seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT, "audit chain '%s' has no event %lld",
                        chain, (long long)seq);
    if (rc != SQLITE_ROW)
        return audit_sql_fail(log->db, rc, err, "reading an event time");
    *ret_time_ns = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int audit_log_checkpoint_add(struct audit_log *log, const char *chain,
                             int64_t seq,
                             const unsigned char hash[AUDIT_HASH_SIZE],
                             int64_t time_ns, const unsigned char *public_key,
                             const unsigned char *signature, struct werr *err)
{
    sqlite3_stmt *st = stmt_get(log, STMT_CHECKPOINT_ADD);
    int rc;

    bind_text(st, 1, chain);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_blob(st, 3, hash, AUDIT_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, time_ns);
    sqlite3_bind_blob(st, 5, public_key, AUDIT_PUBKEY_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, signature, crypto_sign_BYTES, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return audit_sql_fail(log->db, rc, err, "inserting a checkpoint");
    return 0;
}

int audit_log_for_each_chain(struct audit_log *log,
                             int (*fn)(const char *chain, void *userdata),
                             void *userdata, struct werr *err)
{
    sqlite3_stmt *st = stmt_get(log, STMT_CHAINS);
    char **names = NULL;
    size_t n = 0;
    int rc, r = 0;

    /* Copy the names first, because fn runs statements that may write. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char **grown = realloc(names, (n + 1) * sizeof(*names));
        if (!grown || !(grown[n] = strdup(column_text(st, 0)))) {
            names = grown ? grown : names;
            r = werr_set(err, -ENOMEM, "out of memory");
            break;
        }
        names = grown;
        n++;
    }
    sqlite3_reset(st);
    if (r == 0 && rc != SQLITE_DONE)
        r = audit_sql_fail(log->db, rc, err, "listing audit chains");
    for (size_t i = 0; i < n; i++) {
        if (r >= 0)
            r = fn(names[i], userdata);
        free(names[i]);
    }
    free(names);
    return r;
}

/* Delete events, checkpoints and the registration of chain; return the
 * number of events deleted. */
int audit_log_delete_chain(struct audit_log *log, const char *chain,
                           int64_t *ret_events, struct werr *err)
{
    static const int steps[] = {STMT_COUNT, STMT_DELETE_EVENTS,
                                STMT_DELETE_CHECKPOINTS, STMT_CHAIN_DEL};

    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        sqlite3_stmt *st = stmt_get(log, steps[i]);
        int rc;

        bind_text(st, 1, chain);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && steps[i] == STMT_COUNT)
            *ret_events = sqlite3_column_int64(st, 0);
        else if (rc != SQLITE_DONE)
            rc = audit_sql_fail(log->db, rc, err, "deleting an audit chain");
        sqlite3_reset(st);
        if (rc < 0)
            return rc;
    }
    return 0;
}
