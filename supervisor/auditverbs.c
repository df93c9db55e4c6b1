/* Reading the audit trail: the log, its export, its verification and the
 * recorded shell sessions.
 *
 * Who may read what:
 *   - admins and auditors read every chain and every session;
 *   - reviewers read every chain and list and show sessions, because
 *     their reviews span tenants, but they cannot play recordings: a
 *     recording shows what a tenant's staff saw on screen, which a review
 *     does not need;
 *   - operators read only their own tenant's chain and sessions.
 * Export and verification are for admins and auditors only.
 *
 * None of these verbs changes state, but each is a request, so the
 * dispatcher records it as an audit event like any other.  The handlers
 * put what was read (the filter and the number of events, or the session
 * played) into that event's details, so reading the audit trail leaves a
 * trace in it. */
#include "supervisor/daemon.h"

#include "audit/asciicast.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Recordings live below state_dir in this directory, one subdirectory per
 * tenant ("<tenant>/<sandbox id>.cast"); events name them relative to it. */
#define RECORDINGS_DIR "recordings"

#define LOG_DEFAULT_LIMIT 1000
#define LOG_MAX_LIMIT 100000
#define SESSION_LIST_MAX 10000

/* ---- Filters ---------------------------------------------------------- */

struct log_filter {
    struct audit_filter filter;
    char chain[AUDIT_CHAIN_MAX];
    json_t *echo; /* the filter as understood, for the event's details */
};

/* Parse "HH:MM" or "HH:MM:SS" into seconds after midnight. */
static int parse_clock_time(const char *text, int64_t *ret)
{
    unsigned hour, minute, second = 0;
    int consumed = 0;

    if (sscanf(text, "%2u:%2u%n", &hour, &minute, &consumed) != 2 ||
        consumed != 5)
        return -EINVAL;
    if (text[consumed] == ':') {
        int more = 0;
        if (sscanf(text + consumed + 1, "%2u%n", &second, &more) != 1 ||
            more != 2)
            return -EINVAL;
        consumed += 3;
    }
    if (text[consumed] == 'Z')
        consumed++;
    if (text[consumed] != '\0' || hour > 23 || minute > 59 || second > 59)
        return -EINVAL;
    *ret = (int64_t)hour * 3600 + minute * 60 + second;
    return 0;
}

/* Parse a UTC time bound: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z]" (a
 * space may replace the T).  A date alone as an upper bound means the end
 * of that day, so that --until 2026-03-01 includes March 1. */
static int parse_time_bound(const char *key, const char *text, bool upper,
                            int64_t *ret_ns, struct werr *err)
{
    char date[11];
    time_t midnight;
    int64_t seconds = 0;

    if (strlen(text) < 10)
        goto invalid;
    memcpy(date, text, 10);
    date[10] = '\0';
    if (date_parse(date, &midnight) < 0)
        goto invalid;
    if (text[10] == '\0') {
        seconds = upper ? 86400 : 0;
    } else if ((text[10] == 'T' || text[10] == ' ') &&
               parse_clock_time(text + 11, &seconds) == 0) {
        /* seconds set */
    } else {
        goto invalid;
    }
    *ret_ns = ((int64_t)midnight + seconds) * 1000000000LL;
    return 0;

invalid:
    return werr_set(err, -EINVAL,
                    "invalid %s time '%.40s': use YYYY-MM-DD or "
                    "YYYY-MM-DDTHH:MM:SS in UTC",
                    key, text);
}

/* Restrict an operator to their own tenant's chain. */
static int scope_to_caller(struct request *req, const char *tenant,
                           const char *chain, struct log_filter *lf,
                           struct werr *err)
{
    const char *own = req->caller.tenant;

    if (req->caller.role != ROLE_OPERATOR)
        return 0;
    if (tenant || chain)
        json_object_set_new(lf->echo, tenant ? "tenant" : "chain",
                            json_string(tenant ? tenant : chain));
    if ((tenant && strcmp(tenant, own) != 0) ||
        (chain && (strncmp(chain, AUDIT_TENANT_PREFIX,
                           strlen(AUDIT_TENANT_PREFIX)) != 0 ||
                   strcmp(chain + strlen(AUDIT_TENANT_PREFIX), own) != 0)))
        return werr_set(err, -EACCES,
                        "operators may read only their own tenant's audit "
                        "log: use --tenant %s or leave --tenant out",
                        own);
    snprintf(lf->chain, sizeof(lf->chain), "%s%s", AUDIT_TENANT_PREFIX, own);
    return 0;
}

static int parse_chain_args(struct request *req, struct log_filter *lf,
                            struct werr *err)
{
    const char *tenant = NULL, *chain = NULL;
    int r;

    r = arg_string(req->args, "tenant", false, 64, &tenant, err);
    if (r == 0 && tenant)
        r = check_name("tenant", tenant, err);
    if (r == 0)
        r = arg_string(req->args, "chain", false, AUDIT_CHAIN_MAX - 1, &chain,
                       err);
    if (r == 0 && chain)
        r = audit_chain_name_check(chain, err);
    if (r < 0)
        return r;
    if (tenant && chain)
        return werr_set(err, -EINVAL,
                        "give either 'tenant' or 'chain', not both");
    if (tenant)
        snprintf(lf->chain, sizeof(lf->chain), "%s%s", AUDIT_TENANT_PREFIX,
                 tenant);
    else if (chain)
        snprintf(lf->chain, sizeof(lf->chain), "%s", chain);
    r = scope_to_caller(req, tenant, chain, lf, err);
    if (r < 0)
        return r;
    if (lf->chain[0]) {
        lf->filter.chain = lf->chain;
        json_object_set_new(lf->echo, "chain", json_string(lf->chain));
    }
    return 0;
}

static int parse_time_args(struct request *req, struct log_filter *lf,
                           struct werr *err)
{
    const char *since = NULL, *until = NULL;
    int r;

    r = arg_string(req->args, "since", false, 40, &since, err);
    if (r == 0)
        r = arg_string(req->args, "until", false, 40, &until, err);
    if (r == 0 && since)
        r = parse_time_bound("since", since, false, &lf->filter.since_ns,
                             err);
    if (r == 0 && until)
        r = parse_time_bound("until", until, true, &lf->filter.until_ns, err);
    if (r < 0)
        return r;
    if (since)
        json_object_set_new(lf->echo, "since", json_string(since));
    if (until)
        json_object_set_new(lf->echo, "until", json_string(until));
    return 0;
}

/* Fill lf from the request's arguments.  default_limit 0 means no limit
 * unless the client gives one. */
static int parse_log_filter(struct request *req, json_int_t default_limit,
                            struct log_filter *lf, struct werr *err)
{
    json_int_t limit = default_limit;
    const char *action = NULL, *user = NULL;
    int r;

    memset(lf, 0, sizeof(*lf));
    lf->echo = json_object();
    if (!lf->echo)
        return werr_set(err, -ENOMEM, "out of memory");
    r = parse_chain_args(req, lf, err);
    if (r == 0)
        r = parse_time_args(req, lf, err);
    if (r == 0)
        r = arg_string(req->args, "action", false, 64, &action, err);
    if (r == 0)
        r = arg_string(req->args, "user", false, 64, &user, err);
    if (r == 0)
        r = arg_int(req->args, "limit", false, 1, LOG_MAX_LIMIT, &limit, err);
    if (r < 0)
        return r;
    lf->filter.action = action && action[0] ? action : NULL;
    lf->filter.actor = user && user[0] ? user : NULL;
    lf->filter.limit = limit;
    if (lf->filter.action)
        json_object_set_new(lf->echo, "action", json_string(action));
    if (lf->filter.actor)
        json_object_set_new(lf->echo, "user", json_string(user));
    if (limit)
        json_object_set_new(lf->echo, "limit", json_integer(limit));
    return 0;
}

/* Record the filter in the request's event details before reading, so
 * that a refused read is recorded with what it asked for. */
static void note_filter(struct request *req, struct log_filter *lf)
{
    json_decref(req->details);
    req->details = json_pack("{s:O}", "filter", lf->echo);
    snprintf(req->object, sizeof(req->object), "audit:%s",
             lf->chain[0] ? lf->chain : "*");
}

static void note_count(struct request *req, int64_t count)
{
    if (req->details)
        json_object_set_new(req->details, "count", json_integer(count));
}

/* ---- audit.pubkey ----------------------------------------------------- */

static int verb_audit_pubkey(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    char hex[AUDIT_HEX_SIZE];

    (void)err;
    audit_pubkey_to_hex(req->d->audit_key.public_key, hex);
    *ret_result = json_pack("{s:s, s:s}", "algorithm", "ed25519", "pubkey",
                            hex);
    return *ret_result ? 0 : -ENOMEM;
}

/* ---- audit.log -------------------------------------------------------- */

struct log_collect {
    json_t *events;
    int64_t count;
    int64_t limit;
    bool more;
};

static int collect_event(const struct audit_event *ev, void *userdata)
{
    struct log_collect *c = userdata;
    json_t *obj;

    if (c->count == c->limit) {
        c->more = true;
        return 0;
    }
    obj = audit_event_to_json(ev);
    if (!obj || json_array_append_new(c->events, obj) < 0)
        return -ENOMEM;
    c->count++;
    return 0;
}

static int verb_audit_log(struct request *req, json_t **ret_result,
                          struct werr *err)
{
    struct log_filter lf;
    struct log_collect c = {0};
    int r;

    r = parse_log_filter(req, LOG_DEFAULT_LIMIT, &lf, err);
    note_filter(req, &lf);
    json_decref(lf.echo);
    if (r < 0)
        return r;
    c.limit = lf.filter.limit;
    c.events = json_array();
    /* Ask for one more than the limit to tell the client that more
     * events match. */
    lf.filter.limit++;
    r = audit_query(req->d->db, &lf.filter, collect_event, &c, err);
    if (r == -ENOMEM && err->code == 0)
        r = werr_set(err, -ENOMEM, "out of memory while reading the log");
    if (r < 0) {
        json_decref(c.events);
        return r;
    }
    note_count(req, c.count);
    *ret_result = json_pack("{s:o, s:I, s:b}", "events", c.events, "count",
                            (json_int_t)c.count, "truncated", c.more);
    return *ret_result ? 0 : -ENOMEM;
}

/* ---- audit.export ----------------------------------------------------- */

struct export_state {
    FILE *out;
    int64_t count;
};

static int export_event(const struct audit_event *ev, void *userdata)
{
    struct export_state *s = userdata;
    json_t *obj = audit_event_to_json(ev);
    int r;

    if (!obj)
        return -ENOMEM;
    r = json_dumpf(obj, s->out, JSON_COMPACT);
    json_decref(obj);
    if (r < 0 || fputc('\n', s->out) == EOF)
        return -EIO;
    s->count++;
    return 0;
}

/* Write the matching events as JSON Lines into a sealed memory file and
 * return its descriptor, rewound, in *ret_fd.  A file instead of a reply
 * line keeps an export of the whole log out of the connection's queue. */
static int export_to_memfd(struct request *req, const struct audit_filter *f,
                           int *ret_fd, int64_t *ret_count, off_t *ret_size,
                           struct werr *err)
{
    _cleanup_close_ int fd = -1;
    struct export_state s = {0};
    int copy, r;

    fd = memfd_create("warden-audit-export", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "creating the export file failed");
    copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    s.out = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (!s.out) {
        r = werr_errno(err, neg_errno(), "opening the export file failed");
        if (copy >= 0)
            close(copy);
        return r;
    }
    r = audit_query(req->d->db, f, export_event, &s, err);
    if (fclose(s.out) != 0 && r >= 0)
        r = werr_errno(err, neg_errno(), "writing the export failed");
    if (r < 0)
        return err->code ? r : werr_errno(err, r, "writing the export failed");
    *ret_size = lseek(fd, 0, SEEK_END);
    if (*ret_size < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
        fcntl(fd, F_ADD_SEALS,
              F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return werr_errno(err, neg_errno(), "sealing the export failed");
    *ret_count = s.count;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static int verb_audit_export(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    struct log_filter lf;
    int64_t count = 0;
    off_t size = 0;
    int fd = -1, r;

    r = parse_log_filter(req, 0, &lf, err);
    note_filter(req, &lf);
    json_decref(lf.echo);
    if (r < 0)
        return r;
    r = export_to_memfd(req, &lf.filter, &fd, &count, &size, err);
    if (r < 0)
        return r;
    req->reply_fds[req->n_reply_fds++] = fd;
    note_count(req, count);
    *ret_result = json_pack("{s:s, s:I, s:I}", "format", "jsonl", "count",
                            (json_int_t)count, "bytes", (json_int_t)size);
    return *ret_result ? 0 : -ENOMEM;
}

/* ---- audit.verify ----------------------------------------------------- */

static json_t *report_to_json(const struct audit_verify_report *rep)
{
    json_t *findings = json_array();

    for (size_t i = 0; i < rep->n_findings; i++) {
        const struct audit_finding *f = &rep->findings[i];
        json_array_append_new(
            findings,
            json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind",
                      audit_finding_kind_to_string(f->kind), "chain",
                      f->chain, "seq", (json_int_t)f->seq, "seq_last",
                      (json_int_t)f->seq_last, "message", f->message));
    }
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "ok", rep->ok,
                     "chains", (json_int_t)rep->chains, "events",
                     (json_int_t)rep->events, "checkpoints",
                     (json_int_t)rep->checkpoints, "recordings",
                     (json_int_t)rep->recordings, "findings", findings);
}

static int open_recordings_dir(struct daemon *d, struct werr *err)
{
    int fd = openat(d->state_dir_fd, RECORDINGS_DIR,
                    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return werr_errno(err, neg_errno(),
                          "opening the recordings directory %s/%s failed",
                          d->cfg.state_dir, RECORDINGS_DIR);
    return fd;
}

static int verb_audit_verify(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    struct audit_verify_report rep = {0};
    unsigned char key[AUDIT_PUBKEY_SIZE];
    _cleanup_close_ int recdir = -1;
    struct log_filter lf = {0};
    const char *pubkey_hex = NULL;
    int r;

    lf.echo = json_object();
    if (!lf.echo)
        return werr_set(err, -ENOMEM, "out of memory");
    r = parse_chain_args(req, &lf, err);
    if (r == 0)
        r = arg_string(req->args, "pubkey", false, AUDIT_HEX_SIZE - 1,
                       &pubkey_hex, err);
    note_filter(req, &lf);
    json_decref(lf.echo);
    if (r < 0)
        return r;
    /* An auditor may bring the public key from their own records, so that
     * a replaced daemon key cannot make a forged log verify. */
    memcpy(key, req->d->audit_key.public_key, sizeof(key));
    if (pubkey_hex && (r = audit_pubkey_from_hex(pubkey_hex, key, err)) < 0)
        return werr_prefix(err, "invalid argument 'pubkey'");
    recdir = open_recordings_dir(req->d, err);
    if (recdir < 0)
        return recdir;
    r = audit_verify(req->d->db, lf.chain[0] ? lf.chain : NULL, key, recdir,
                     &rep, err);
    if (r < 0)
        return werr_prefix(err, "verifying the audit log failed");
    json_object_set_new(req->details, "ok", json_boolean(rep.ok));
    json_object_set_new(req->details, "findings",
                        json_integer((json_int_t)rep.n_findings));
    *ret_result = report_to_json(&rep);
    audit_verify_report_free(&rep);
    return *ret_result ? 0 : -ENOMEM;
}

/* ---- Sessions --------------------------------------------------------- */

#define SESSION_COLUMNS                                                        \
    "s.id, t.name, s.login, s.uid, s.kind, s.pid, s.started_at, "            \
    "s.ended_at, s.exit_code, s.exit_signal, s.command, s.recording, "       \
    "s.recording_sha256"

static json_t *column_int_or_null(sqlite3_stmt *stmt, int col)
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(stmt, col));
}

static json_t *column_text_or_null(sqlite3_stmt *stmt, int col)
{
    const unsigned char *s = sqlite3_column_text(stmt, col);
    json_t *value = s ? json_string((const char *)s) : NULL;

    return value ? value : json_null();
}

static json_t *session_row_to_json(sqlite3_stmt *stmt)
{
    json_t *command = json_loads(db_text(stmt, 10), 0, NULL);

    if (!command)
        command = column_text_or_null(stmt, 10);
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:o, "
                     "s:o, s:o, s:o}",
                     "id", db_text(stmt, 0), "tenant", db_text(stmt, 1),
                     "login", db_text(stmt, 2), "uid",
                     (json_int_t)sqlite3_column_int64(stmt, 3), "kind",
                     db_text(stmt, 4), "pid", column_int_or_null(stmt, 5),
                     "started_at", column_int_or_null(stmt, 6), "ended_at",
                     column_int_or_null(stmt, 7), "exit_code",
                     column_int_or_null(stmt, 8), "exit_signal",
                     column_int_or_null(stmt, 9), "command", command,
                     "recording", column_text_or_null(stmt, 11),
                     "recording_sha256", column_text_or_null(stmt, 12));
}

/* The tenant whose sessions the caller may see: an operator's own, or
 * the requested one (NULL for all). */
static int session_scope(struct request *req, const char **ret_tenant,
                         struct werr *err)
{
    const char *tenant = NULL;
    int r;

    r = arg_string(req->args, "tenant", false, 64, &tenant, err);
    if (r == 0 && tenant)
        r = check_name("tenant", tenant, err);
    if (r < 0)
        return r;
    if (req->caller.role == ROLE_OPERATOR) {
        if (tenant && strcmp(tenant, req->caller.tenant) != 0)
            return werr_set(err, -EACCES,
                            "operators may see only their own tenant's "
                            "sessions: use --tenant %s or leave it out",
                            req->caller.tenant);
        tenant = req->caller.tenant;
    }
    *ret_tenant = tenant;
    return 0;
}

static int verb_session_list(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    const char *tenant = NULL;
    json_t *list;
    int r, rc;

    r = session_scope(req, &tenant, err);
    if (r == 0)
        r = db_prepare(req->d->db,
                       "SELECT " SESSION_COLUMNS " FROM sandboxes s "
                       "JOIN tenants t ON t.id = s.tenant_id "
                       "WHERE ?1 IS NULL OR t.name = ?1 "
                       "ORDER BY s.started_at, s.id LIMIT ?2",
                       &stmt, err);
    if (r < 0)
        return r;
    if (tenant)
        sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, SESSION_LIST_MAX);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(list, session_row_to_json(stmt));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return db_error(req->d->db, rc, "listing sessions failed", err);
    }
    req->details = json_pack("{s:s?, s:I}", "tenant", tenant, "count",
                             (json_int_t)json_array_size(list));
    *ret_result = json_pack("{s:o}", "sessions", list);
    return *ret_result ? 0 : -ENOMEM;
}

/* Load the session named by the "id" argument, checking that the caller
 * may see it. */
static int load_session(struct request *req, json_t **ret_session,
                        struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    const char *id;
    json_t *session = NULL;
    int r, rc;

    r = arg_string(req->args, "id", true, 32, &id, err);
    if (r == 0)
        r = check_name("session", id, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "sandbox:%s", id);
    r = db_prepare(req->d->db,
                   "SELECT " SESSION_COLUMNS " FROM sandboxes s "
                   "JOIN tenants t ON t.id = s.tenant_id WHERE s.id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        session = session_row_to_json(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return werr_set(err, -ENOENT,
                        "session '%s' not found: see 'warden session list'",
                        id);
    if (rc != SQLITE_ROW)
        return db_error(req->d->db, rc, "reading the session failed", err);
    if (req->caller.role == ROLE_OPERATOR &&
        strcmp(json_string_value(json_object_get(session, "tenant")),
               req->caller.tenant) != 0) {
        json_decref(session);
        /* The same error as for a missing session, so that operators
         * cannot probe other tenants' session ids. */
        return werr_set(err, -ENOENT,
                        "session '%s' not found: see 'warden session list'",
                        id);
    }
    *ret_session = session;
    return 0;
}

struct chained_recording {
    const char *recording;
    char sha256[AUDIT_HEX_SIZE];
    char chain[AUDIT_CHAIN_MAX];
    int64_t seq;
};

static int find_recording_event(const struct audit_event *ev, void *userdata)
{
    struct chained_recording *c = userdata;

    if (!ev->recording || strcmp(ev->recording, c->recording) != 0)
        return 0;
    snprintf(c->sha256, sizeof(c->sha256), "%s",
             ev->recording_sha256 ? ev->recording_sha256 : "");
    snprintf(c->chain, sizeof(c->chain), "%s", ev->chain);
    c->seq = ev->seq;
    return 0;
}

static int hash_fd(int fd, char ret_hex[AUDIT_HEX_SIZE], off_t *ret_size)
{
    crypto_hash_sha256_state state;
    unsigned char buf[65536], digest[crypto_hash_sha256_BYTES];
    off_t size = 0;
    ssize_t n;

    crypto_hash_sha256_init(&state);
    while ((n = pread(fd, buf, sizeof(buf), size)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return neg_errno();
        crypto_hash_sha256_update(&state, buf, (size_t)n);
        size += n;
    }
    crypto_hash_sha256_final(&state, digest);
    audit_hex(digest, sizeof(digest), ret_hex);
    *ret_size = size;
    return 0;
}

/* Open the session's recording and add to session what the audit chain
 * records about it: the event that sealed its hash, and whether the file
 * still matches.  *ret_fd is -1 when the session has no recording. */
static int check_recording(struct request *req, json_t *session, int *ret_fd,
                           struct werr *err)
{
    const char *recording =
        json_string_value(json_object_get(session, "recording"));
    const char *tenant = json_string_value(json_object_get(session, "tenant"));
    struct chained_recording found = {.recording = recording};
    struct audit_filter f = {.action = "session.end"};
    _cleanup_close_ int recdir = -1, fd = -1;
    char actual[AUDIT_HEX_SIZE];
    off_t size = 0;
    int r;

    *ret_fd = -1;
    if (!recording)
        return 0;
    snprintf(found.chain, sizeof(found.chain), "%s%s", AUDIT_TENANT_PREFIX,
             tenant);
    f.chain = found.chain;
    r = audit_query(req->d->db, &f, find_recording_event, &found, err);
    if (r < 0)
        return r;
    recdir = open_recordings_dir(req->d, err);
    if (recdir < 0)
        return recdir;
    fd = fs_open_beneath(recdir, recording, O_RDONLY | O_NOCTTY, 0);
    if (fd < 0 && fd != -ENOENT)
        return werr_errno(err, fd, "opening the recording %s failed",
                          recording);
    if (fd >= 0 && (r = hash_fd(fd, actual, &size)) < 0)
        return werr_errno(err, r, "reading the recording %s failed",
                          recording);
    json_object_set_new(session, "recording_present", json_boolean(fd >= 0));
    json_object_set_new(session, "recording_bytes", json_integer(size));
    if (found.seq > 0)
        json_object_set_new(session, "recorded_in",
                            json_pack("{s:s, s:I, s:s}", "chain", found.chain,
                                      "seq", (json_int_t)found.seq,
                                      "recording_sha256", found.sha256));
    /* The chained hash is what counts: the sandboxes row can be edited
     * without breaking any chain.  A session still running has no
     * session.end event yet, so its recording cannot be checked (null). */
    if (found.seq > 0)
        json_object_set_new(session, "recording_intact",
                            json_boolean(fd >= 0 &&
                                         strcmp(found.sha256, actual) == 0));
    else
        json_object_set_new(session, "recording_intact", json_null());
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static int verb_session_show(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    json_t *session = NULL;
    int fd = -1, r;

    r = load_session(req, &session, err);
    if (r == 0)
        r = check_recording(req, session, &fd, err);
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        json_decref(session);
        return r;
    }
    *ret_result = session;
    return 0;
}

static int verb_session_play(struct request *req, json_t **ret_result,
                             struct werr *err)
{
    json_t *session = NULL;
    int fd = -1, r;

    r = load_session(req, &session, err);
    if (r == 0)
        r = check_recording(req, session, &fd, err);
    if (r == 0 && fd < 0)
        r = werr_set(err, -ENOENT, "session '%s' has no recording%s",
                     json_string_value(json_object_get(session, "id")),
                     json_is_string(json_object_get(session, "recording"))
                         ? " file: it was deleted"
                         : "");
    if (r < 0) {
        json_decref(session);
        return r;
    }
    req->reply_fds[req->n_reply_fds++] = fd;
    req->details = json_pack(
        "{s:O?, s:O?}", "recording", json_object_get(session, "recording"),
        "recording_intact", json_object_get(session, "recording_intact"));
    *ret_result = session;
    return 0;
}

const struct verb audit_verbs[] = {
    {"audit.pubkey", ROLE_ANY, VERB_READ_ONLY, verb_audit_pubkey},
    {"audit.log", ROLE_ANY, VERB_READ_ONLY, verb_audit_log},
    {"audit.export", ROLE_ADMIN | ROLE_AUDITOR, VERB_READ_ONLY,
     verb_audit_export},
    {"audit.verify", ROLE_ADMIN | ROLE_AUDITOR, VERB_READ_ONLY,
     verb_audit_verify},
    {"session.list", ROLE_ANY, VERB_READ_ONLY, verb_session_list},
    {"session.show", ROLE_ANY, VERB_READ_ONLY, verb_session_show},
    {"session.play", ROLE_ADMIN | ROLE_AUDITOR | ROLE_OPERATOR,
     VERB_READ_ONLY, verb_session_play},
    {NULL, 0, 0, NULL},
};
