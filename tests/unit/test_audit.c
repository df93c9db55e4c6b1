/* Audit chain: appending, checkpoints, verification against tampering,
 * purge, query and the signing key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "audit/audit.h"
#include "common/fsutil.h"

#include <sodium.h>

#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char db_path[128];
    sqlite3 *db;
    struct audit_log *log;
    struct audit_key key;
};

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK)
        fail_msg("SQL failed: %s: %s", sql, msg ? msg : "?");
}

static void open_db(struct fixture *fx)
{
    struct werr err = {0};

    assert_int_equal(sqlite3_open(fx->db_path, &fx->db), SQLITE_OK);
    exec_sql(fx->db, "PRAGMA journal_mode=WAL");
    assert_int_equal(audit_db_init(fx->db, &err), 0);
    assert_int_equal(audit_log_open(fx->db, &fx->log, &err), 0);
}

static void close_db(struct fixture *fx)
{
    audit_log_free(fx->log);
    fx->log = NULL;
    sqlite3_close(fx->db);
    fx->db = NULL;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char key_path[128];
    struct werr err = {0};

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_audit.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->db_path, sizeof(fx->db_path), "%s/state.db", fx->dir);
    snprintf(key_path, sizeof(key_path), "%s/audit.key", fx->dir);
    if (audit_key_load_or_create(key_path, &fx->key, &err) < 0) {
        fprintf(stderr, "key: %s\n", err.msg);
        return -1;
    }
    open_db(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    int dirfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    close_db(fx);
    fs_remove_tree_at(dirfd, fx->dir + strlen("/tmp/"), NULL, NULL);
    close(dirfd);
    audit_key_clear(&fx->key);
    free(fx);
    return 0;
}

/* Append one event to chain (tenant derived from it) in its own
 * transaction and return its seq. */
static int64_t append_one(struct fixture *fx, const char *chain,
                          const char *action, int n)
{
    const char *tenant = strncmp(chain, "tenant:", 7) == 0 ? chain + 7 : NULL;
    json_t *details = json_pack("{s:i, s:s}", "n", n, "note", "x");
    struct audit_event ev = {
        .chain = chain,
        .actor = "alice",
        .uid = 1001,
        .tenant = tenant,
        .action = action,
        .object = "sandbox:1",
        .result = "ok",
        .details = details,
    };
    struct werr err = {0};
    int64_t seq = 0;

    exec_sql(fx->db, "BEGIN IMMEDIATE");
    if (audit_append(fx->log, &ev, &seq, NULL, &err) < 0)
        fail_msg("append: %s", err.msg);
    exec_sql(fx->db, "COMMIT");
    json_decref(details);
    return seq;
}

static void append_many(struct fixture *fx, const char *chain, int count)
{
    for (int i = 0; i < count; i++)
        append_one(fx, chain, "test.event", i);
}

static void checkpoint(struct fixture *fx, const char *chain)
{
    struct werr err = {0};

    exec_sql(fx->db, "BEGIN IMMEDIATE");
    if (audit_checkpoint_now(fx->log, chain, &fx->key, 0, &err) < 0)
        fail_msg("checkpoint: %s", err.msg);
    exec_sql(fx->db, "COMMIT");
}

static void verify(struct fixture *fx, const char *chain, int recdir,
                   struct audit_verify_report *rep)
{
    struct werr err = {0};

    if (audit_verify(fx->db, chain, fx->key.public_key, recdir, rep, &err) < 0)
        fail_msg("verify: %s", err.msg);
}

/* Return the first finding that is a failure, or a finding of kind
 * AUDIT_FINDING_KIND_MAX when there is none. */
static const struct audit_finding *first_failure(
    const struct audit_verify_report *rep)
{
    static const struct audit_finding none = {.kind = AUDIT_FINDING_KIND_MAX};

    for (size_t i = 0; i < rep->n_findings; i++)
        if (rep->findings[i].kind != AUDIT_FINDING_UNCOVERED)
            return &rep->findings[i];
    return &none;
}

static void expect_failure(struct fixture *fx, enum audit_finding_kind kind,
                           const char *chain, int64_t seq)
{
    struct audit_verify_report rep;
    const struct audit_finding *f;

    verify(fx, NULL, -1, &rep);
    f = first_failure(&rep);
    assert_false(rep.ok);
    if (f->kind != kind || f->seq != seq)
        fprintf(stderr, "finding: %s\n", f->message);
    assert_string_equal(audit_finding_kind_to_string(f->kind),
                        audit_finding_kind_to_string(kind));
    assert_string_equal(f->chain, chain);
    assert_int_equal(f->seq, seq);
    audit_verify_report_free(&rep);
}

/* Recompute prev and hash of the events of chain from seq first to seq
 * last, as an attacker with write access to the database can. */
static void rehash_range(struct fixture *fx, const char *chain, int64_t first,
                         int64_t last)
{
    sqlite3_stmt *sel, *upd;
    unsigned char prev[AUDIT_HASH_SIZE] = {0};

    assert_int_equal(sqlite3_prepare_v2(fx->db,
                         "SELECT chain, seq, time_ns, actor, uid, tenant,"
                         " action, object, result, details, recording,"
                         " recording_sha256, prev, hash, id FROM audit_events"
                         " WHERE chain = ?1 ORDER BY seq", -1, &sel, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                         "UPDATE audit_events SET prev = ?1, hash = ?2"
                         " WHERE id = ?3", -1, &upd, NULL), SQLITE_OK);
    sqlite3_bind_text(sel, 1, chain, -1, SQLITE_STATIC);
    while (sqlite3_step(sel) == SQLITE_ROW) {
        struct audit_event ev = {
            .chain = (const char *)sqlite3_column_text(sel, 0),
            .seq = sqlite3_column_int64(sel, 1),
            .time_ns = sqlite3_column_int64(sel, 2),
            .actor = (const char *)sqlite3_column_text(sel, 3),
            .uid = sqlite3_column_int64(sel, 4),
            .tenant = (const char *)sqlite3_column_text(sel, 5),
            .action = (const char *)sqlite3_column_text(sel, 6),
            .object = (const char *)sqlite3_column_text(sel, 7),
            .result = (const char *)sqlite3_column_text(sel, 8),
            .details_json = (const char *)sqlite3_column_text(sel, 9),
            .recording = (const char *)sqlite3_column_text(sel, 10),
            .recording_sha256 = (const char *)sqlite3_column_text(sel, 11),
        };
        unsigned char hash[AUDIT_HASH_SIZE];

        if (ev.seq < first || ev.seq > last) {
            memcpy(prev, sqlite3_column_blob(sel, 13), AUDIT_HASH_SIZE);
            continue;
        }
        audit_event_hash(&ev, prev, hash);
        sqlite3_bind_blob(upd, 1, prev, AUDIT_HASH_SIZE, SQLITE_TRANSIENT);
        sqlite3_bind_blob(upd, 2, hash, AUDIT_HASH_SIZE, SQLITE_TRANSIENT);
        sqlite3_bind_int64(upd, 3, sqlite3_column_int64(sel, 14));
        assert_int_equal(sqlite3_step(upd), SQLITE_DONE);
        sqlite3_reset(upd);
        memcpy(prev, hash, AUDIT_HASH_SIZE);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
}

static void audit_append_numbers_and_links(void **state)
{
    struct fixture *fx = *state;
    unsigned char h1[AUDIT_HASH_SIZE];
    struct audit_event ev = {.chain = "platform", .actor = "root", .uid = 0,
                             .action = "tenant.create", .result = "ok"};
    struct werr err = {0};
    sqlite3_stmt *st;
    int64_t seq;

    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_append(fx->log, &ev, &seq, h1, &err), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(audit_append(fx->log, &ev, &seq, NULL, &err), 0);
    assert_int_equal(seq, 2);
    exec_sql(fx->db, "COMMIT");

    assert_int_equal(sqlite3_prepare_v2(fx->db,
                         "SELECT prev, details FROM audit_events WHERE"
                         " chain = 'platform' AND seq = 2", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_memory_equal(sqlite3_column_blob(st, 0), h1, AUDIT_HASH_SIZE);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "{}");
    sqlite3_finalize(st);
}

static void audit_append_rejects_autocommit(void **state)
{
    struct fixture *fx = *state;
    struct audit_event ev = {.chain = "platform", .actor = "root",
                             .action = "x", .result = "ok"};
    struct werr err = {0};

    assert_int_equal(audit_append(fx->log, &ev, NULL, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "transaction"));
}

static void audit_append_rejects_bad_fields(void **state)
{
    struct fixture *fx = *state;
    struct audit_event ev = {.chain = "tenant:a/b", .actor = "root",
                             .action = "x", .result = "ok"};
    struct werr err = {0};

    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_append(fx->log, &ev, NULL, NULL, &err), -EINVAL);
    ev.chain = "tenant:acme";
    ev.tenant = "other";
    assert_int_equal(audit_append(fx->log, &ev, NULL, NULL, &err), -EINVAL);
    ev.tenant = "acme";
    ev.result = "bad \xff utf8";
    assert_int_equal(audit_append(fx->log, &ev, NULL, NULL, &err), -EINVAL);
    ev.result = "ok";
    ev.recording = "../etc/passwd";
    ev.recording_sha256 = "00";
    assert_int_equal(audit_append(fx->log, &ev, NULL, NULL, &err), -EINVAL);
    exec_sql(fx->db, "ROLLBACK");
}

static void audit_details_are_canonical(void **state)
{
    struct fixture *fx = *state;
    json_t *details = json_loads("{\"z\":1,\"a\":\"\\u00e9\",\"m\":[true]}",
                                 0, NULL);
    struct audit_event ev = {.chain = "platform", .actor = "root",
                             .action = "x", .result = "ok",
                             .details = details};
    struct werr err = {0};
    sqlite3_stmt *st;

    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_append(fx->log, &ev, NULL, NULL, &err), 0);
    exec_sql(fx->db, "COMMIT");
    json_decref(details);
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                         "SELECT details FROM audit_events", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0),
                        "{\"a\":\"\\u00E9\",\"m\":[true],\"z\":1}");
    sqlite3_finalize(st);
}

static void audit_tenant_chain_announced(void **state)
{
    struct fixture *fx = *state;
    struct audit_verify_report rep;
    sqlite3_stmt *st;

    append_many(fx, "tenant:acme", 2);
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                         "SELECT count(*) FROM audit_events WHERE chain ="
                         " 'platform' AND action = 'audit.chain.start' AND"
                         " object = 'tenant:acme'", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 1);
    sqlite3_finalize(st);
    verify(fx, NULL, -1, &rep);
    assert_true(rep.ok);
    assert_int_equal(rep.chains, 2);
    assert_int_equal(rep.events, 3);
    audit_verify_report_free(&rep);
}

static void audit_verify_clean_log(void **state)
{
    struct fixture *fx = *state;
    struct audit_verify_report rep;

    append_many(fx, "tenant:acme", 10);
    append_many(fx, "platform", 5);
    checkpoint(fx, "tenant:acme");
    checkpoint(fx, "platform");
    verify(fx, NULL, -1, &rep);
    assert_true(rep.ok);
    assert_int_equal(rep.n_findings, 0);
    assert_int_equal(rep.events, 16);
    assert_int_equal(rep.checkpoints, 2);
    audit_verify_report_free(&rep);
}

static void audit_verify_detects_edit(void **state)
{
    struct fixture *fx = *state;

    append_many(fx, "tenant:acme", 10);
    checkpoint(fx, "tenant:acme");
    exec_sql(fx->db, "UPDATE audit_events SET result = 'EPERM: denied'"
                     " WHERE chain = 'tenant:acme' AND seq = 5");
    expect_failure(fx, AUDIT_FINDING_EDITED, "tenant:acme", 5);
}

static void audit_verify_detects_delete(void **state)
{
    struct fixture *fx = *state;

    append_many(fx, "tenant:acme", 10);
    exec_sql(fx->db, "DELETE FROM audit_events WHERE chain = 'tenant:acme'"
                     " AND seq = 5");
    expect_failure(fx, AUDIT_FINDING_GAP, "tenant:acme", 5);
}

static void audit_verify_detects_duplicate(void **state)
{
    struct fixture *fx = *state;

    append_many(fx, "tenant:acme", 10);
    exec_sql(fx->db, "DROP INDEX audit_events_chain_seq");
    exec_sql(fx->db, "INSERT INTO audit_events (chain, seq, time_ns, actor,"
                     " uid, tenant, action, object, result, details, prev,"
                     " hash) SELECT chain, seq, time_ns, 'mallory', uid,"
                     " tenant, action, object, result, details, prev, hash"
                     " FROM audit_events WHERE chain = 'tenant:acme' AND"
                     " seq = 4");
    expect_failure(fx, AUDIT_FINDING_DUPLICATE, "tenant:acme", 4);
}

/* A forged event with a correct hash inserted at seq 5 shifts the old
 * event 5 to seq 6, whose prev no longer links. */
static void audit_verify_detects_insert(void **state)
{
    struct fixture *fx = *state;

    append_many(fx, "tenant:acme", 10);
    exec_sql(fx->db, "DROP INDEX audit_events_chain_seq");
    exec_sql(fx->db, "UPDATE audit_events SET seq = seq + 1 WHERE chain ="
                     " 'tenant:acme' AND seq >= 5");
    exec_sql(fx->db, "INSERT INTO audit_events (chain, seq, time_ns, actor,"
                     " uid, tenant, action, object, result, details, prev,"
                     " hash) SELECT chain, 5, time_ns, 'mallory', uid,"
                     " tenant, action, object, result, details, hash, hash"
                     " FROM audit_events WHERE chain = 'tenant:acme' AND"
                     " seq = 4");
    rehash_range(fx, "tenant:acme", 5, 5);
    expect_failure(fx, AUDIT_FINDING_PREV_MISMATCH, "tenant:acme", 6);
}

static void audit_verify_detects_reorder(void **state)
{
    struct fixture *fx = *state;

    append_many(fx, "tenant:acme", 10);
    exec_sql(fx->db, "UPDATE audit_events SET seq = -1 WHERE chain ="
                     " 'tenant:acme' AND seq = 3");
    exec_sql(fx->db, "UPDATE audit_events SET seq = 3 WHERE chain ="
                     " 'tenant:acme' AND seq = 4");
    exec_sql(fx->db, "UPDATE audit_events SET seq = 4 WHERE chain ="
                     " 'tenant:acme' AND seq = -1");
    expect_failure(fx, AUDIT_FINDING_PREV_MISMATCH, "tenant:acme", 3);
}

static void audit_verify_detects_rehashed_edit(void **state)
{
    struct fixture *fx = *state;
    struct audit_verify_report rep;
    const struct audit_finding *f;

    append_many(fx, "tenant:acme", 4);
    checkpoint(fx, "tenant:acme");
    append_many(fx, "tenant:acme", 6);
    checkpoint(fx, "tenant:acme");
    exec_sql(fx->db, "UPDATE audit_events SET actor = 'bob' WHERE chain ="
                     " 'tenant:acme' AND seq = 7");
    rehash_range(fx, "tenant:acme", 7, INT64_MAX);

    verify(fx, NULL, -1, &rep);
    f = first_failure(&rep);
    assert_false(rep.ok);
    assert_int_equal(f->kind, AUDIT_FINDING_CHECKPOINT_MISMATCH);
    assert_int_equal(f->seq, 5);
    assert_int_equal(f->seq_last, 10);
    audit_verify_report_free(&rep);
}

static void audit_verify_detects_truncation(void **state)
{
    struct fixture *fx = *state;

    append_many(fx, "tenant:acme", 10);
    checkpoint(fx, "tenant:acme");
    exec_sql(fx->db, "DELETE FROM audit_events WHERE chain = 'tenant:acme'"
                     " AND seq >= 8");
    expect_failure(fx, AUDIT_FINDING_CHECKPOINT_PAST_END, "tenant:acme", 8);
}

static void audit_verify_reports_uncovered_tail(void **state)
{
    struct fixture *fx = *state;
    struct audit_verify_report rep;
    const struct audit_finding *f = NULL;

    append_many(fx, "tenant:acme", 10);
    checkpoint(fx, "tenant:acme");
    append_many(fx, "tenant:acme", 5);
    exec_sql(fx->db, "DELETE FROM audit_events WHERE chain = 'tenant:acme'"
                     " AND seq >= 13");

    verify(fx, "tenant:acme", -1, &rep);
    assert_true(rep.ok);
    assert_int_equal(rep.n_findings, 1);
    f = &rep.findings[0];
    assert_int_equal(f->kind, AUDIT_FINDING_UNCOVERED);
    assert_int_equal(f->seq, 11);
    assert_non_null(strstr(f->message, "events after seq 10 are not covered"));
    audit_verify_report_free(&rep);
}

static void audit_verify_rejects_wrong_key(void **state)
{
    struct fixture *fx = *state;
    unsigned char other_pk[AUDIT_PUBKEY_SIZE], other_sk[64];
    struct audit_verify_report rep;
    struct werr err = {0};

    append_many(fx, "platform", 3);
    checkpoint(fx, "platform");
    crypto_sign_keypair(other_pk, other_sk);
    assert_int_equal(audit_verify(fx->db, NULL, other_pk, -1, &rep, &err), 0);
    assert_false(rep.ok);
    assert_int_equal(rep.n_findings, 1);
    assert_int_equal(rep.findings[0].kind, AUDIT_FINDING_BAD_SIGNATURE);
    audit_verify_report_free(&rep);
}

static void audit_verify_detects_deleted_chain(void **state)
{
    struct fixture *fx = *state;

    append_many(fx, "tenant:acme", 3);
    append_many(fx, "platform", 2);
    exec_sql(fx->db, "DELETE FROM audit_events WHERE chain = 'tenant:acme'");
    expect_failure(fx, AUDIT_FINDING_CHAIN_MISSING, "tenant:acme", 1);
}

static void audit_purge_leaves_final_hash(void **state)
{
    struct fixture *fx = *state;
    struct audit_purge_result res;
    struct audit_verify_report rep;
    unsigned char head[AUDIT_HASH_SIZE];
    char hex[AUDIT_HEX_SIZE], *expected;
    struct werr err = {0};
    sqlite3_stmt *st;

    append_many(fx, "tenant:acme", 7);
    checkpoint(fx, "tenant:acme");
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                         "SELECT hash FROM audit_events WHERE chain ="
                         " 'tenant:acme' AND seq = 7", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    memcpy(head, sqlite3_column_blob(st, 0), AUDIT_HASH_SIZE);
    sqlite3_finalize(st);

    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_purge_chain(fx->log, "tenant:acme", "root", 0, &res,
                                       &err), 0);
    exec_sql(fx->db, "COMMIT");
    assert_int_equal(res.events, 7);
    assert_int_equal(res.final_seq, 7);
    assert_memory_equal(res.final_hash, head, AUDIT_HASH_SIZE);

    audit_hex(head, AUDIT_HASH_SIZE, hex);
    assert_int_not_equal(asprintf(&expected, "SELECT count(*) FROM"
                                  " audit_events WHERE action = 'audit.purge'"
                                  " AND json_extract(details, '$.final_hash')"
                                  " = '%s'", hex), -1);
    assert_int_equal(sqlite3_prepare_v2(fx->db, expected, -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 1);
    sqlite3_finalize(st);
    free(expected);

    verify(fx, NULL, -1, &rep);
    assert_true(rep.ok);
    audit_verify_report_free(&rep);
}

static void audit_purge_rejects_platform(void **state)
{
    struct fixture *fx = *state;
    struct werr err = {0};

    append_many(fx, "platform", 1);
    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_purge_chain(fx->log, "platform", "root", 0, NULL,
                                       &err), -EPERM);
    exec_sql(fx->db, "ROLLBACK");
}

/* Write a small file named name in dir and append an event that carries
 * its SHA-256. */
static void append_recording(struct fixture *fx, int dirfd, const char *name)
{
    static const char content[] = "{\"version\": 2}\n[0.1, \"o\", \"hi\"]\n";
    unsigned char digest[AUDIT_HASH_SIZE];
    char hex[AUDIT_HEX_SIZE];
    struct audit_event ev = {.chain = "tenant:acme", .tenant = "acme",
                             .actor = "alice", .uid = 1001,
                             .action = "session.end", .result = "ok",
                             .recording = name, .recording_sha256 = hex};
    struct werr err = {0};

    assert_int_equal(fs_write_file_atomic(dirfd, name, content,
                                          sizeof(content) - 1, 0600), 0);
    crypto_hash_sha256(digest, (const unsigned char *)content,
                       sizeof(content) - 1);
    audit_hex(digest, sizeof(digest), hex);
    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_append(fx->log, &ev, NULL, NULL, &err), 0);
    exec_sql(fx->db, "COMMIT");
}

static void audit_verify_detects_altered_recording(void **state)
{
    struct fixture *fx = *state;
    int dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct audit_verify_report rep;
    int fd;

    append_recording(fx, dirfd, "s1.cast");
    verify(fx, NULL, dirfd, &rep);
    assert_true(rep.ok);
    assert_int_equal(rep.recordings, 1);
    audit_verify_report_free(&rep);

    fd = openat(dirfd, "s1.cast", O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 20), 1);
    close(fd);
    verify(fx, NULL, dirfd, &rep);
    assert_false(rep.ok);
    assert_int_equal(first_failure(&rep)->kind,
                     AUDIT_FINDING_RECORDING_ALTERED);
    audit_verify_report_free(&rep);

    assert_int_equal(unlinkat(dirfd, "s1.cast", 0), 0);
    verify(fx, NULL, dirfd, &rep);
    assert_false(rep.ok);
    assert_int_equal(first_failure(&rep)->kind,
                     AUDIT_FINDING_RECORDING_MISSING);
    audit_verify_report_free(&rep);
    close(dirfd);
}

static void audit_verify_works_read_only(void **state)
{
    struct fixture *fx = *state;
    struct audit_verify_report rep;
    struct werr err = {0};
    sqlite3 *ro;

    append_many(fx, "tenant:acme", 5);
    checkpoint(fx, "tenant:acme");
    exec_sql(fx->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_int_equal(sqlite3_open_v2(fx->db_path, &ro, SQLITE_OPEN_READONLY,
                                     NULL), SQLITE_OK);
    assert_int_equal(audit_verify(ro, NULL, fx->key.public_key, -1, &rep,
                                  &err), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.events, 6);
    audit_verify_report_free(&rep);
    sqlite3_close(ro);
}

static void audit_checkpoint_maybe_by_count_and_age(void **state)
{
    struct fixture *fx = *state;
    struct werr err = {0};
    int64_t now = audit_now_ns();

    append_many(fx, "platform", 3);
    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_checkpoint_maybe(fx->log, NULL, &fx->key, 5, 0,
                                            now, &err), 0);
    assert_int_equal(audit_checkpoint_maybe(fx->log, NULL, &fx->key, 3, 0,
                                            now, &err), 1);
    assert_int_equal(audit_checkpoint_maybe(fx->log, NULL, &fx->key, 1, 0,
                                            now, &err), 0);
    exec_sql(fx->db, "COMMIT");

    append_many(fx, "platform", 1);
    exec_sql(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(audit_checkpoint_maybe(fx->log, "platform", &fx->key, 0,
                                            60000000000LL, now, &err), 0);
    assert_int_equal(audit_checkpoint_maybe(fx->log, "platform", &fx->key, 0,
                                            60000000000LL,
                                            now + 61000000000LL, &err), 1);
    exec_sql(fx->db, "COMMIT");
}

struct collect {
    int count;
    char last_action[64];
    json_t *last_json;
};

static int collect_event(const struct audit_event *ev, void *userdata)
{
    struct collect *c = userdata;

    c->count++;
    snprintf(c->last_action, sizeof(c->last_action), "%s", ev->action);
    json_decref(c->last_json);
    c->last_json = audit_event_to_json(ev);
    return 0;
}

static void audit_query_filters(void **state)
{
    struct fixture *fx = *state;
    struct audit_filter f = {.chain = "tenant:acme", .action = "session.*"};
    struct collect c = {0};
    struct werr err = {0};

    append_one(fx, "tenant:acme", "session.start", 1);
    append_one(fx, "tenant:acme", "file.export", 2);
    append_one(fx, "tenant:acme", "session.end", 3);
    assert_int_equal(audit_query(fx->db, &f, collect_event, &c, &err), 0);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.last_action, "session.end");

    assert_int_equal(json_integer_value(json_object_get(c.last_json, "seq")),
                     3);
    assert_string_equal(json_string_value(json_object_get(c.last_json,
                                                          "actor")), "alice");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(c.last_json, "details"), "n")), 3);
    assert_int_equal(strlen(json_string_value(json_object_get(c.last_json,
                                                              "hash"))), 64);
    assert_int_equal(strlen(json_string_value(json_object_get(c.last_json,
                                                              "time"))), 24);

    memset(&f, 0, sizeof(f));
    f.actor = "nobody";
    c.count = 0;
    assert_int_equal(audit_query(fx->db, &f, collect_event, &c, &err), 0);
    assert_int_equal(c.count, 0);
    f.actor = "alice";
    f.tenant = "acme";
    assert_int_equal(audit_query(fx->db, &f, collect_event, &c, &err), 0);
    assert_int_equal(c.count, 4);
    json_decref(c.last_json);
}

static void audit_key_created_private(void **state)
{
    struct fixture *fx = *state;
    struct audit_key again;
    char path[128];
    struct werr err = {0};
    struct stat st;

    snprintf(path, sizeof(path), "%s/audit.key", fx->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(audit_key_load_or_create(path, &again, &err), 0);
    assert_memory_equal(again.public_key, fx->key.public_key,
                        AUDIT_PUBKEY_SIZE);

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(audit_key_load_or_create(path, &again, &err), -EPERM);
    assert_non_null(strstr(err.msg, "0640"));
    assert_int_equal(chmod(path, 0600), 0);

    assert_int_equal(chmod(fx->dir, 0777), 0);
    assert_int_equal(audit_key_load_or_create(path, &again, &err), -EPERM);
    assert_int_equal(chmod(fx->dir, 0700), 0);
    audit_key_clear(&again);
}

static void audit_pubkey_file_round_trip(void **state)
{
    struct fixture *fx = *state;
    int dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    unsigned char read_back[AUDIT_PUBKEY_SIZE];
    struct werr err = {0};
    char hex[AUDIT_HEX_SIZE];

    assert_int_equal(audit_pubkey_write(dirfd, "audit.pub", fx->key.public_key,
                                        &err), 0);
    assert_int_equal(audit_pubkey_read(dirfd, "audit.pub", read_back, &err),
                     0);
    assert_memory_equal(read_back, fx->key.public_key, AUDIT_PUBKEY_SIZE);
    audit_pubkey_to_hex(fx->key.public_key, hex);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(audit_pubkey_from_hex("abc", read_back, &err), -EINVAL);
    close(dirfd);
}

/* Child of the crash test: append forever, acknowledging each commit on
 * the pipe, until killed. */
static void crash_child(const char *db_path, int ack_fd)
{
    struct fixture fx = {0};
    struct audit_event ev = {.chain = "tenant:acme", .tenant = "acme",
                             .actor = "alice", .uid = 1001,
                             .action = "test.event", .result = "ok"};

    snprintf(fx.db_path, sizeof(fx.db_path), "%s", db_path);
    if (sqlite3_open(fx.db_path, &fx.db) != SQLITE_OK ||
        audit_log_open(fx.db, &fx.log, NULL) < 0)
        _exit(2);
    sqlite3_exec(fx.db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    for (;;) {
        int64_t seq;

        if (sqlite3_exec(fx.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ||
            audit_append(fx.log, &ev, &seq, NULL, NULL) < 0 ||
            sqlite3_exec(fx.db, "COMMIT", NULL, NULL, NULL))
            _exit(3);
        if (write(ack_fd, &seq, sizeof(seq)) != sizeof(seq))
            _exit(4);
    }
}

static void audit_survives_sigkill(void **state)
{
    struct fixture *fx = *state;
    struct audit_verify_report rep;
    int64_t acked = 0, seq, head;
    sqlite3_stmt *st;
    int pipefd[2], status;
    pid_t pid;

    close_db(fx);
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        crash_child(fx->db_path, pipefd[1]);
    }
    close(pipefd[1]);
    while (acked < 300 && read(pipefd[0], &seq, sizeof(seq)) == sizeof(seq))
        acked = seq;
    kill(pid, SIGKILL);
    while (read(pipefd[0], &seq, sizeof(seq)) == sizeof(seq))
        acked = seq;
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    open_db(fx);
    verify(fx, NULL, -1, &rep);
    assert_true(rep.ok);
    audit_verify_report_free(&rep);
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                         "SELECT max(seq), count(*) FROM audit_events"
                         " WHERE chain = 'tenant:acme'", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    head = sqlite3_column_int64(st, 0);
    assert_true(head >= acked);
    assert_int_equal(sqlite3_column_int64(st, 1), head);
    sqlite3_finalize(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(audit_append_numbers_and_links),
        T(audit_append_rejects_autocommit),
        T(audit_append_rejects_bad_fields),
        T(audit_details_are_canonical),
        T(audit_tenant_chain_announced),
        T(audit_verify_clean_log),
        T(audit_verify_detects_edit),
        T(audit_verify_detects_delete),
        T(audit_verify_detects_duplicate),
        T(audit_verify_detects_insert),
        T(audit_verify_detects_reorder),
        T(audit_verify_detects_rehashed_edit),
        T(audit_verify_detects_truncation),
        T(audit_verify_reports_uncovered_tail),
        T(audit_verify_rejects_wrong_key),
        T(audit_verify_detects_deleted_chain),
        T(audit_purge_leaves_final_hash),
        T(audit_purge_rejects_platform),
        T(audit_verify_detects_altered_recording),
        T(audit_verify_works_read_only),
        T(audit_checkpoint_maybe_by_count_and_age),
        T(audit_query_filters),
        T(audit_key_created_private),
        T(audit_pubkey_file_round_trip),
        T(audit_survives_sigkill),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
