/* The daemon's SQLite database: opening in WAL mode, forward migrations
 * numbered by PRAGMA user_version, and the one place where SQLite result
 * codes become negative errno values with a message. */
#include "supervisor/daemon.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Each entry moves the schema from version i to i + 1.  Never edit a
 * released entry; append a new one. */
static const char *const migrations[] = {
    /* 1: tenants and the real-name registry. */
    "CREATE TABLE tenants ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  legal_entity TEXT NOT NULL,"
    "  contact TEXT NOT NULL,"
    "  scenarios TEXT NOT NULL,"          /* JSON array of strings */
    "  term_start TEXT NOT NULL,"         /* YYYY-MM-DD, UTC */
    "  term_end TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending',"
    "  uid_base INTEGER NOT NULL UNIQUE,"
    "  memory_bytes INTEGER NOT NULL,"
    "  pids_max INTEGER NOT NULL,"
    "  cpu_percent INTEGER NOT NULL,"
    "  net_mode TEXT NOT NULL DEFAULT 'none',"
    "  created_at INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL"
    ");"
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  login TEXT NOT NULL UNIQUE,"
    "  uid INTEGER NOT NULL UNIQUE,"
    "  real_name TEXT NOT NULL,"
    "  id_masked TEXT NOT NULL,"
    "  id_hash BLOB NOT NULL UNIQUE,"    /* keyed BLAKE2b of the number */
    "  role TEXT NOT NULL,"
    "  tenant_id INTEGER REFERENCES tenants(id),"
    "  agreement_date TEXT,"
    "  training_date TEXT,"
    "  approved_by TEXT,"
    "  approved_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL"
    ");",

    /* 2: sandboxes and the sessions that ran in them. */
    "CREATE TABLE sandboxes ("
    "  id TEXT PRIMARY KEY,"              /* sbx-<n> */
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  login TEXT NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"               /* shell, run or job */
    "  pid INTEGER,"
    "  cgroup TEXT,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  exit_code INTEGER,"
    "  exit_signal INTEGER,"
    "  command TEXT NOT NULL,"            /* JSON array argv */
    "  recording TEXT,"                   /* <tenant>/<id>.cast */
    "  recording_sha256 TEXT"
    ");"
    "CREATE INDEX sandboxes_by_tenant ON sandboxes (tenant_id, started_at);"
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",

    /* 3: datasets, their grants to tenants and the state of each view. */
    "CREATE TABLE datasets ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  owner TEXT NOT NULL,"              /* owner agency */
    "  level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),"
    "  encoding TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"             /* of raw.csv, lower-case hex */
    "  size_bytes INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL,"            /* records after the header */
    "  header TEXT NOT NULL,"             /* JSON array of column names */
    "  profile TEXT NOT NULL,"            /* JSON array, one per column */
    "  rules TEXT,"                       /* rules file text */
    "  rules_version INTEGER NOT NULL DEFAULT 0,"
    "  rules_at INTEGER,"
    "  rules_by TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL"
    ");"
    "CREATE TABLE grants ("
    "  id INTEGER PRIMARY KEY,"
    "  dataset_id INTEGER NOT NULL REFERENCES datasets(id),"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  scenario TEXT NOT NULL,"
    "  granted_at INTEGER NOT NULL,"
    "  granted_by TEXT NOT NULL,"
    "  revoked_at INTEGER,"
    "  revoked_by TEXT,"
    "  view_generation INTEGER NOT NULL DEFAULT 0," /* latest build started */
    "  view_state TEXT NOT NULL DEFAULT 'pending',"
    "  view_note TEXT,"                   /* why blocked or failed */
    "  view_rows INTEGER,"
    "  view_built_at INTEGER"
    ");"
    "CREATE UNIQUE INDEX grants_active ON grants (dataset_id, tenant_id)"
    "  WHERE revoked_at IS NULL;",

    /* 4: network allowlists per tenant. */
    "CREATE TABLE tenant_endpoints ("
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  address TEXT NOT NULL,"            /* ADDR/PREFIX, host bits clear */
    "  proto TEXT NOT NULL,"
    "  port INTEGER NOT NULL,"            /* 0: any port */
    "  added_by TEXT NOT NULL,"
    "  added_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, address, proto, port)"
    ");",

    /* 5: the authorization lifecycle: the emergency response plan,
     * suspension, termination and purge, and what termination destroyed. */
    "ALTER TABLE tenants ADD COLUMN plan_text TEXT;"
    "ALTER TABLE tenants ADD COLUMN plan_sha256 TEXT;"
    "ALTER TABLE tenants ADD COLUMN plan_filed_by TEXT;"
    "ALTER TABLE tenants ADD COLUMN plan_filed_at INTEGER;"
    "ALTER TABLE tenants ADD COLUMN state_changed_at INTEGER;"
    "ALTER TABLE tenants ADD COLUMN suspension_reason TEXT;"
    "ALTER TABLE tenants ADD COLUMN suspension_deadline TEXT;" /* YYYY-MM-DD */
    "ALTER TABLE tenants ADD COLUMN termination_reason TEXT;"
    "ALTER TABLE tenants ADD COLUMN terminated_at INTEGER;"
    "ALTER TABLE tenants ADD COLUMN purged_at INTEGER;"
    "CREATE TABLE destructions ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  status TEXT NOT NULL DEFAULT 'pending'," /* pending or done */
    "  reason TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  files INTEGER,"                    /* counted before deleting */
    "  bytes INTEGER,"
    "  datasets TEXT NOT NULL,"           /* JSON array of names */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT"
    ");",

    /* 6: production jobs. */
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"              /* job-<n> */
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  login TEXT NOT NULL,"
    "  sandbox_id TEXT,"
    "  command TEXT NOT NULL,"            /* JSON array argv */
    "  scenario TEXT,"
    "  code_dir TEXT NOT NULL,"           /* below the user's home */
    "  code_sha256 TEXT NOT NULL,"
    "  code_files INTEGER NOT NULL,"
    "  datasets TEXT NOT NULL,"           /* JSON [{name, sha256}] */
    "  state TEXT NOT NULL,"              /* running, succeeded, failed */
    "  submitted_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  exit_code INTEGER,"
    "  exit_signal INTEGER,"
    "  outputs INTEGER,"                  /* files in /output at the end */
    "  export_request TEXT,"
    "  note TEXT"
    ");",

    /* 7: the review queue of data, import and export requests. */
    "CREATE TABLE review_requests ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"               /* data, import or export */
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  submitter TEXT NOT NULL,"          /* login */
    "  state TEXT NOT NULL,"
    "  scenario TEXT,"
    "  purpose TEXT NOT NULL,"
    "  dataset TEXT,"                     /* data requests */
    "  job_id TEXT,"                      /* exports of job outputs */
    "  provenance TEXT,"                  /* JSON object */
    "  revision INTEGER NOT NULL DEFAULT 1,"
    "  checks TEXT,"                      /* JSON of the current revision */
    "  checks_passed INTEGER,"            /* NULL while they run */
    "  approvals_needed INTEGER NOT NULL DEFAULT 1,"
    "  override_reason TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  decided_at INTEGER,"
    "  released_at INTEGER,"
    "  released_as TEXT,"                 /* inbox name, grant */
    "  fetched_at INTEGER,"
    "  fetched_by TEXT"
    ");"
    "CREATE INDEX review_requests_by_tenant ON review_requests "
    "  (tenant_id, created_at);"
    "CREATE TABLE review_files ("
    "  request_id INTEGER NOT NULL REFERENCES review_requests(id),"
    "  revision INTEGER NOT NULL,"
    "  position INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"             /* quarantine/<sha256> */
    "  size_bytes INTEGER NOT NULL,"
    "  type TEXT,"                        /* detected by the checks */
    "  PRIMARY KEY (request_id, revision, position)"
    ");"
    "CREATE TABLE review_decisions ("
    "  id INTEGER PRIMARY KEY,"
    "  request_id INTEGER NOT NULL REFERENCES review_requests(id),"
    "  revision INTEGER NOT NULL,"
    "  reviewer TEXT NOT NULL,"
    "  decision TEXT NOT NULL,"           /* approve, override, reject, return */
    "  reason TEXT,"
    "  decided_at INTEGER NOT NULL"
    ");",
};

int db_error(sqlite3 *db, int rc, const char *what, struct werr *err)
{
    int code;

    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        code = -EEXIST;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = -EBUSY;
        break;
    case SQLITE_NOMEM:
        code = -ENOMEM;
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        code = -EROFS;
        break;
    case SQLITE_FULL:
        code = -ENOSPC;
        break;
    default:
        code = -EIO;
        break;
    }
    return werr_set(err, code, "%s: %s", what, sqlite3_errmsg(db));
}

int db_exec(sqlite3 *db, const char *sql, struct werr *err)
{
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);

    if (rc != SQLITE_OK) {
        int code = db_error(db, rc, "database statement failed", err);
        sqlite3_free(message);
        return code;
    }
    return 0;
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret_stmt,
               struct werr *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, ret_stmt, NULL);

    if (rc != SQLITE_OK)
        return db_error(db, rc, "preparing a database statement failed",
                        err);
    return 0;
}

const char *db_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *s = sqlite3_column_text(stmt, col);
    return s ? (const char *)s : "";
}

int db_begin(sqlite3 *db, struct werr *err)
{
    return db_exec(db, "BEGIN IMMEDIATE", err);
}

int db_commit(sqlite3 *db, struct werr *err)
{
    return db_exec(db, "COMMIT", err);
}

void db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int read_user_version(sqlite3 *db, int *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r = db_prepare(db, "PRAGMA user_version", &stmt, err);

    if (r < 0)
        return r;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        r = db_error(db, sqlite3_errcode(db), "reading the schema version",
                     err);
        sqlite3_finalize(stmt);
        return r;
    }
    *ret = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

static int migrate(struct daemon *d, struct werr *err)
{
    int version = 0, r;
    const int latest = (int)ARRAY_SIZE(migrations);

    r = read_user_version(d->db, &version, err);
    if (r < 0)
        return r;
    if (version > latest)
        return werr_set(err, -EPROTO,
                        "database schema version %d is newer than this "
                        "wardend supports (%d): run a newer wardend",
                        version, latest);
    for (int v = version; v < latest; v++) {
        char pragma[64];

        r = db_begin(d->db, err);
        if (r < 0)
            return r;
        if (v == 0)
            r = audit_db_init(d->db, err);
        if (r == 0)
            r = db_exec(d->db, migrations[v], err);
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if (r == 0)
            r = db_exec(d->db, pragma, err);
        if (r == 0)
            r = db_commit(d->db, err);
        if (r < 0) {
            db_rollback(d->db);
            return werr_prefix(err, "migrating the database to version %d",
                               v + 1);
        }
        log_info("migrated database schema to version %d", v + 1);
    }
    return 0;
}

int db_open(struct daemon *d, struct werr *err)
{
    char path[4096];
    int rc, r;

    if (snprintf(path, sizeof(path), "%s/warden.db", d->cfg.state_dir) >=
        (int)sizeof(path))
        return werr_set(err, -ENAMETOOLONG, "state_dir %s is too long",
                        d->cfg.state_dir);
    rc = sqlite3_open_v2(path, &d->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                         NULL);
    if (rc != SQLITE_OK)
        return db_error(d->db, rc, "opening the database failed", err);
    chmod(path, 0600);
    sqlite3_busy_timeout(d->db, 5000);
    r = db_exec(d->db,
                "PRAGMA journal_mode = WAL;"
                "PRAGMA synchronous = FULL;"
                "PRAGMA foreign_keys = ON;",
                err);
    if (r < 0)
        return werr_prefix(err, "configuring %s", path);
    r = migrate(d, err);
    if (r < 0)
        return r;
    return audit_log_open(d->db, &d->audit, err);
}

void db_close(struct daemon *d)
{
    if (d->audit)
        audit_log_free(d->audit);
    d->audit = NULL;
    if (d->db)
        sqlite3_close(d->db);
    d->db = NULL;
}
