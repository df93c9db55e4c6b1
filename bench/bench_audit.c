/* Audit log throughput: chained appends with durable commits, a plain
 * SQLite insert of the same rows as the floor, and verification.
 *
 * Usage: bench_audit [DIR]   (default /var/tmp; the database must live on
 * the file system under test, not on tmpfs, or fsync costs nothing).
 *
 * Durability: in WAL mode synchronous=FULL fsyncs the WAL at every commit,
 * so a committed event survives power loss; synchronous=NORMAL fsyncs only
 * at WAL checkpoints, so a commit survives a crash of the process but the
 * last transactions may be lost on power loss.  Both are measured. */
#include "audit/audit.h"
#include "common/fsutil.h"

#include <sodium.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHAINS 10
#define CHECKPOINT_EVERY 1000

static struct audit_key key;

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die_sql(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_audit: %s failed: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die_sql(db, sql);
}

static sqlite3 *open_fresh(const char *dir, const char *name, const char *sync)
{
    char path[600], pragma[64];
    struct werr err = {0};
    sqlite3 *db;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s", sync);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die_sql(db, "open");
    exec_sql(db, "PRAGMA journal_mode=WAL");
    exec_sql(db, pragma);
    if (audit_db_init(db, &err) < 0) {
        fprintf(stderr, "bench_audit: %s\n", err.msg);
        exit(1);
    }
    return db;
}

/* A control-request event as the daemon writes it. */
static void fill_event(struct audit_event *ev, json_t *details, char *chain,
                       char *tenant, long i)
{
    int t = (int)(i % CHAINS);

    snprintf(tenant, 32, "tenant%d", t);
    snprintf(chain, 48, "tenant:tenant%d", t);
    json_object_set_new(details, "request", json_integer(i));
    *ev = (struct audit_event){
        .chain = chain,
        .actor = "operator7",
        .uid = 100007,
        .tenant = tenant,
        .action = "export.submit",
        .object = "request:4711 file:sha256:9f86d081884c7d65",
        .result = "ok",
        .details = details,
    };
}

static void report(const char *what, const char *sync, long batch, long n,
                   double secs)
{
    printf("%-22s sync=%-6s batch=%-4ld events=%-7ld secs=%7.3f "
           "rate=%9.0f events/s\n", what, sync, batch, n, secs,
           (double)n / secs);
    fflush(stdout);
}

static void bench_append(const char *dir, const char *sync, long batch, long n)
{
    sqlite3 *db = open_fresh(dir, "append.db", sync);
    json_t *details = json_pack("{s:s, s:s, s:i}", "scenario", "annual report",
                                "file", "out/summary.csv", "bytes", 18230);
    char chain[48], tenant[32];
    struct audit_log *log;
    struct werr err = {0};
    double start;

    if (audit_log_open(db, &log, &err) < 0) {
        fprintf(stderr, "bench_audit: %s\n", err.msg);
        exit(1);
    }
    start = now_seconds();
    for (long i = 0; i < n; i += batch) {
        exec_sql(db, "BEGIN IMMEDIATE");
        for (long j = i; j < i + batch && j < n; j++) {
            struct audit_event ev;

            fill_event(&ev, details, chain, tenant, j);
            if (audit_append(log, &ev, NULL, NULL, &err) < 0) {
                fprintf(stderr, "bench_audit: %s\n", err.msg);
                exit(1);
            }
        }
        /* As the daemon does after its appends: with one event per
         * transaction only that event's chain is checked. */
        if (audit_checkpoint_maybe(log, batch == 1 ? chain : NULL, &key,
                                   CHECKPOINT_EVERY, 0, 0, &err) < 0) {
            fprintf(stderr, "bench_audit: %s\n", err.msg);
            exit(1);
        }
        exec_sql(db, "COMMIT");
    }
    report("audit_append+checkpt", sync, batch, n, now_seconds() - start);
    json_decref(details);
    audit_log_free(log);
    exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
}

/* The same rows with a fixed seq counter and no hashing: the cost of
 * SQLite alone. */
static void bench_plain(const char *dir, const char *sync, long batch, long n)
{
    sqlite3 *db = open_fresh(dir, "plain.db", sync);
    static const unsigned char zero[AUDIT_HASH_SIZE];
    char chain[48], tenant[32];
    sqlite3_stmt *st;
    double start;

    if (sqlite3_prepare_v2(db, "INSERT INTO audit_events (chain, seq,"
                           " time_ns, actor, uid, tenant, action, object,"
                           " result, details, prev, hash) VALUES (?1, ?2, ?3,"
                           " 'operator7', 100007, ?4, 'export.submit',"
                           " 'request:4711 file:sha256:9f86d081884c7d65',"
                           " 'ok', '{\"bytes\":18230,\"file\":\"out/"
                           "summary.csv\",\"request\":1,\"scenario\":"
                           "\"annual report\"}', ?5, ?5)", -1, &st,
                           NULL) != SQLITE_OK)
        die_sql(db, "prepare");
    start = now_seconds();
    for (long i = 0; i < n; i += batch) {
        exec_sql(db, "BEGIN IMMEDIATE");
        for (long j = i; j < i + batch && j < n; j++) {
            snprintf(tenant, sizeof(tenant), "tenant%ld", j % CHAINS);
            snprintf(chain, sizeof(chain), "tenant:%s", tenant);
            sqlite3_bind_text(st, 1, chain, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, j / CHAINS + 1);
            sqlite3_bind_int64(st, 3, audit_now_ns());
            sqlite3_bind_text(st, 4, tenant, -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 5, zero, sizeof(zero), SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                die_sql(db, "insert");
            sqlite3_reset(st);
        }
        exec_sql(db, "COMMIT");
    }
    report("plain sqlite insert", sync, batch, n, now_seconds() - start);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void bench_verify(const char *dir)
{
    struct audit_verify_report rep;
    struct werr err = {0};
    char path[600];
    double start;
    sqlite3 *db;

    snprintf(path, sizeof(path), "%s/append.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die_sql(db, "open");
    start = now_seconds();
    if (audit_verify(db, NULL, key.public_key, -1, &rep, &err) < 0) {
        fprintf(stderr, "bench_audit: %s\n", err.msg);
        exit(1);
    }
    report(rep.ok ? "audit_verify (ok)" : "audit_verify (FAILED)", "-", 0,
           (long)rep.events, now_seconds() - start);
    printf("verified %lld chains, %lld checkpoints\n", (long long)rep.chains,
           (long long)rep.checkpoints);
    audit_verify_report_free(&rep);
    sqlite3_close(db);
}

int main(int argc, char **argv)
{
    char dir[512];

    snprintf(dir, sizeof(dir), "%s/bench_audit.XXXXXX",
             argc > 1 ? argv[1] : "/var/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_audit: mkdtemp");
        return 1;
    }
    if (sodium_init() < 0)
        return 1;
    crypto_sign_keypair(key.public_key, key.secret_key);
    printf("database directory: %s, %d chains\n", dir, CHAINS);
    bench_plain(dir, "FULL", 1, 5000);
    bench_append(dir, "FULL", 1, 5000);
    bench_plain(dir, "NORMAL", 1, 50000);
    bench_append(dir, "NORMAL", 1, 50000);
    bench_plain(dir, "FULL", 100, 200000);
    bench_append(dir, "FULL", 100, 200000);
    bench_plain(dir, "NORMAL", 100, 200000);
    bench_append(dir, "NORMAL", 100, 200000);
    /* First run with a cold SQLite cache, second run warm. */
    bench_verify(dir);
    bench_verify(dir);

    int dirfd = open(argc > 1 ? argv[1] : "/var/tmp",
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!getenv("BENCH_AUDIT_KEEP"))
        fs_remove_tree_at(dirfd, strrchr(dir, '/') + 1, NULL, NULL);
    close(dirfd);
    return 0;
}
