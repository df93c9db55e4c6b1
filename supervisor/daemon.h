/* wardend internals shared by the files of supervisor/.
 *
 * The daemon is one event loop: every descriptor it waits on is a `struct
 * watch` registered with epoll, whose callback runs when the descriptor is
 * ready.  Slow work runs in worker processes that report back through a
 * watched descriptor. */
#ifndef WARDEN_SUPERVISOR_DAEMON_H
#define WARDEN_SUPERVISOR_DAEMON_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "audit/audit.h"
#include "common/err.h"
#include "common/proto.h"
#include "config/config.h"

struct daemon;
struct watch;

typedef void (*watch_fn)(struct daemon *d, struct watch *w, uint32_t events);

struct watch {
    int fd;
    watch_fn fn;
    void *data;
};

enum role {
    ROLE_ADMIN = 1 << 0,
    ROLE_OPERATOR = 1 << 1,
    ROLE_REVIEWER = 1 << 2,
    ROLE_AUDITOR = 1 << 3,
};
#define ROLE_ANY (ROLE_ADMIN | ROLE_OPERATOR | ROLE_REVIEWER | ROLE_AUDITOR)

struct conn;

struct daemon {
    struct warden_config cfg;
    char *config_path;
    sqlite3 *db;
    struct audit_log *audit;
    struct audit_key audit_key;
    unsigned char identity_key[32]; /* keys identity-number hashes */
    int epoll_fd;
    int state_dir_fd;
    struct watch signal_watch;
    struct watch timer_watch;
    struct watch listen_watch;
    struct conn *conns;
    unsigned n_conns;
    uint64_t next_conn_id;
    time_t started_at;
    bool stopping;
};

/* loop.c */
int loop_add(struct daemon *d, struct watch *w, uint32_t events);
int loop_mod(struct daemon *d, struct watch *w, uint32_t events);
void loop_del(struct daemon *d, struct watch *w);
int loop_setup(struct daemon *d, struct werr *err);
int loop_run(struct daemon *d);

/* clock.c: the daemon's notion of now, which tests may move. */
time_t daemon_now(const struct daemon *d);
int64_t daemon_now_ns(const struct daemon *d);
int date_parse(const char *text, time_t *ret_midnight_utc);
void date_format(time_t t, char ret_buf[11]);

/* db.c */
int db_open(struct daemon *d, struct werr *err);
void db_close(struct daemon *d);
int db_exec(sqlite3 *db, const char *sql, struct werr *err);
int db_begin(sqlite3 *db, struct werr *err);
int db_commit(sqlite3 *db, struct werr *err);
void db_rollback(sqlite3 *db);
/* Prepare sql or fail with a message naming the statement. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret_stmt,
               struct werr *err);
/* Map an sqlite3_step() failure to a negative errno with context. */
int db_error(sqlite3 *db, int rc, const char *what, struct werr *err);
const char *db_text(sqlite3_stmt *stmt, int col);

/* Caller of a request: the registered person behind a uid. */
struct caller {
    uid_t uid;
    pid_t pid;
    int64_t user_id;          /* 0 for the unregistered bootstrap admin */
    char login[64];
    enum role role;
    int64_t tenant_id;        /* 0 when not bound to a tenant */
    char tenant[64];
    char sandbox_id[32];      /* set on a sandbox's request socket */
};

struct request {
    struct daemon *d;
    struct conn *conn;
    struct caller caller;
    json_int_t id;
    const char *verb;
    json_t *args;
    int fds[PROTO_MAX_FDS];
    size_t nfds;
    /* Filled by handlers for the request's audit event. */
    char tenant[64];          /* tenant chain the event belongs to */
    char object[256];
    json_t *details;
};

typedef int (*verb_fn)(struct request *req, json_t **ret_result,
                       struct werr *err);

enum verb_flags {
    VERB_READ_ONLY = 1 << 0,   /* no transaction needed */
    VERB_IN_SANDBOX = 1 << 1,  /* allowed on a sandbox request socket */
    VERB_UNREGISTERED = 1 << 2 /* allowed for unregistered callers */
};

struct verb {
    const char *name;
    unsigned roles;  /* mask of enum role */
    unsigned flags;
    verb_fn fn;
};

/* dispatch.c */
int dispatch_request(struct conn *c, struct daemon *d, const char *line);
int resolve_caller(struct daemon *d, uid_t uid, pid_t pid,
                   struct caller *ret, struct werr *err);
/* Append an audit event inside the open transaction; chain is the
 * tenant's when tenant is non-empty, else the platform's. */
int record_event(struct daemon *d, const struct caller *who,
                 const char *tenant, const char *action, const char *object,
                 const char *result, json_t *details, struct werr *err);
const char *role_to_string(enum role role);
int role_from_string(const char *s);

/* server.c */
int server_listen(struct daemon *d, struct werr *err);
void server_close_all(struct daemon *d);
int conn_reply(struct conn *c, json_t *msg);
uint64_t conn_id(const struct conn *c);

/* args.c: typed access to request arguments with clear errors. */
int arg_string(json_t *args, const char *key, bool required, size_t max,
               const char **ret, struct werr *err);
int arg_int(json_t *args, const char *key, bool required, json_int_t min,
            json_int_t max, json_int_t *ret, struct werr *err);
int arg_bool(json_t *args, const char *key, bool *ret, struct werr *err);
/* Names of tenants, users and datasets: 1-32 characters of [a-z0-9-],
 * starting with a letter. */
int check_name(const char *what, const char *name, struct werr *err);

/* tenants.c */
int tenant_load_json(struct daemon *d, const char *name, json_t **ret,
                     struct werr *err);

/* users.c */
int user_load_json(struct daemon *d, const char *login, json_t **ret,
                   struct werr *err);

/* sandboxes.c */
int sandbox_caller(struct daemon *d, const char *sandbox_id,
                   struct caller *ret, struct werr *err);
/* Push a tenant's stored limits to its live cgroup, if it has one. */
int tenant_apply_limits(struct daemon *d, const char *tenant,
                        struct werr *err);

/* Verb tables, one per file. */
extern const struct verb status_verbs[];
extern const struct verb tenant_verbs[];
extern const struct verb user_verbs[];

#endif
