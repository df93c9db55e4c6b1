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
struct sbx;
struct cgroup_setup;

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
    struct netpolicy *net;          /* NULL when the network layer failed */
    char net_error[WERR_MSG_MAX];   /* why, for internal-mode requests */
    struct watch nflog_watch;
    struct nflog_agg *nflog_agg;
    struct cgroup_setup *cgroup;    /* NULL when cgroups are unusable */
    char *seccomp_profile;          /* profile text given to sandboxes */
    struct sbx *sandboxes;          /* running sandboxes */
};

/* loop.c */
int loop_add(struct daemon *d, struct watch *w, uint32_t events);
int loop_mod(struct daemon *d, struct watch *w, uint32_t events);
void loop_del(struct daemon *d, struct watch *w);
/* free(ptr) once the current batch of events is handled: for objects that
 * contain watches. */
void loop_free_later(struct daemon *d, void *ptr);
/* Free what loop_free_later() deferred (after each batch and at stop). */
void loop_free_pending(void);
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
    /* Descriptors a handler sends with its reply; the dispatcher closes
     * them after queueing the reply, or on failure. */
    int reply_fds[PROTO_MAX_FDS];
    size_t n_reply_fds;
    /* Filled by handlers for the request's audit event. */
    char tenant[64];          /* tenant chain the event belongs to */
    char object[256];
    json_t *details;
    /* Set by request_defer(): the handler replies later. */
    bool deferred;
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

enum tenant_sandbox_action {
    TENANT_SANDBOXES_FREEZE, /* freeze every process through the cgroup */
    TENANT_SANDBOXES_THAW,
    TENANT_SANDBOXES_KILL,   /* kill every process and end every session */
};
/* Apply action to every running sandbox of tenant.  message (may be NULL)
 * is shown to connected shells and run clients; KILL also disconnects
 * them.  Returns the number of sandboxes affected. */
int sandboxes_tenant_action(struct daemon *d, const char *tenant,
                            enum tenant_sandbox_action action,
                            const char *message, struct werr *err);

/* Set up cgroups and the seccomp profile and end sandboxes that a
 * previous run left behind (start); kill every sandbox (stop). */
int sandboxes_start(struct daemon *d, struct werr *err);
void sandboxes_stop(struct daemon *d);
/* Attach or detach the network links of a tenant's running sandboxes
 * after its mode changed. */
int sandboxes_network_changed(struct daemon *d, const char *tenant,
                              struct werr *err);

/* procevents.c: programs executed in sandboxes become audit events. */
void procevents_start(struct daemon *d);
void procevents_stop(struct daemon *d);

/* Host directory holding a tenant's workspace (the homes of its users),
 * created on first use. */
int workspace_path(struct daemon *d, const char *tenant, char *ret_path,
                   size_t size);

/* network.c: cut (true) or restore (false) a tenant's network access:
 * with cut set, every packet from its sandboxes is dropped whatever its
 * allowlist allows. */
int network_tenant_cut(struct daemon *d, const char *tenant, bool cut,
                       struct werr *err);
/* Remove every link and rule of a tenant (termination). */
int network_tenant_remove(struct daemon *d, const char *tenant,
                          struct werr *err);
/* Set up the network layer and rebuild every tenant's rules (start). */
void network_start(struct daemon *d);
void network_stop(struct daemon *d);
/* Emit aggregated drop events whose window has ended (timer). */
void network_flush_drops(struct daemon *d, bool force);
/* Tenant index of the address pools, from its uid range. */
unsigned network_tenant_index(const struct daemon *d, int64_t uid_base);
/* Network mode of a tenant: 0 none, 1 internal; negative on error. */
int network_tenant_mode(struct daemon *d, const char *tenant,
                        unsigned *ret_index, struct werr *err);

/* datajobs.c: worker processes and replies that wait for them. */
struct deferred_request {
    uint64_t conn_id;
    json_int_t id;
    char verb[64];
    struct caller caller;
    char tenant[64];
    char object[256];
};
/* Take over the reply of req.  The dispatcher then records the request's
 * audit event with the result "accepted" and sends no reply; the handler
 * replies later with request_complete().  Call it only once the handler
 * can no longer fail. */
void request_defer(struct request *req, struct deferred_request *ret);
/* Reply to a deferred request with result (stolen) when r >= 0, else with
 * err, which is also recorded as a failed request.  Nothing is sent when
 * the client has disconnected meanwhile. */
void request_complete(struct daemon *d, const struct deferred_request *def,
                      int r, json_t *result, const struct werr *err);
/* Runs in the worker process, unprivileged, with only the kept
 * descriptors open; fills *ret_report with a JSON report. */
typedef int (*worker_work_fn)(void *data, json_t **ret_report,
                              struct werr *err);
/* Runs in the daemon when the worker ended: r < 0 with err on failure. */
typedef void (*worker_done_fn)(struct daemon *d, void *data, int r,
                               json_t *report, const struct werr *err);
/* Fork a worker that runs work(data) as the user nobody with only
 * keep_fds open (at most 15), and call done(data) from the event loop
 * when it ends.  done is always called once after a successful start. */
int worker_start(struct daemon *d, const char *what, const int *keep_fds,
                 size_t n_keep, worker_work_fn work, worker_done_fn done,
                 void *data, struct werr *err);

/* datasets.c, datagrants.c, dataviews.c: registered datasets, grants to
 * tenants, and the views mounted at /data in sandboxes. */
/* Grant dataset to tenant for scenario, which must be one of the
 * tenant's approved scenarios, inside the caller's open transaction.
 * Records the audit event "grant.created" and starts building the
 * tenant's views of the dataset (reported later by "dataview.*"
 * events).  Fails with -EEXIST when an active grant exists. */
int grant_create(struct daemon *d, const char *dataset, const char *tenant,
                 const char *scenario, const struct caller *by,
                 struct werr *err);
/* Write to ret_path the host directory to bind read-only at /data: the
 * tenant's desensitized development views, or with production the raw
 * copies for production jobs.  The directory is created empty (mode 0750,
 * owner root, group uid_base + 1000) when the tenant has no grant yet. */
int dataviews_dir(struct daemon *d, const char *tenant, bool production,
                  char *ret_path, size_t size, struct werr *err);
/* Write to ret_path the raw set of dataset for dz_rawset_open(): the
 * hashes of its normalized rows and identifier values. */
int dataset_rawset_path(struct daemon *d, const char *dataset,
                        char *ret_path, size_t size, struct werr *err);
/* Return in *ret a JSON array of {"dataset", "rawset", "encoding"} for
 * every dataset with an active grant to tenant, for the export review's
 * raw-record overlap check. */
int dataset_rawsets_of_tenant(struct daemon *d, const char *tenant,
                              json_t **ret, struct werr *err);

/* lifecycle.c: pending -> active <-> suspended -> terminated -> purged.
 * A term ends at the end of its term_end day (UTC). */
/* Fail with -EACCES and a message naming the state, since when and why,
 * unless tenant is active and its term has not ended.  Call it before
 * starting anything new for a tenant (sessions, jobs, requests). */
int tenant_require_active(struct daemon *d, const char *tenant,
                          struct werr *err);
/* The first second after the term ending on the day term_end, or -1. */
time_t tenant_term_end(const char *term_end);
/* The first second at which a tenant terminated at terminated_at may have
 * its audit records purged (retention_days later). */
time_t tenant_retention_end(const struct daemon *d, int64_t terminated_at);
/* Terminate tenants whose term or deadline has passed and resume pending
 * destructions; call after db_open() and loop_setup(), before accepting
 * requests. */
int lifecycle_start(struct daemon *d, struct werr *err);
/* The same checks every expiry_check_seconds; call from the timer. */
void lifecycle_periodic(struct daemon *d);
/* Count the non-directories and the bytes of regular files of the tree at
 * name below dirfd, opening each directory without following links.  A
 * missing tree counts nothing. */
int tree_usage_at(int dirfd, const char *name, uint64_t *files,
                  uint64_t *bytes);

/* jobs.c: delete a terminated tenant's job folders (code snapshots,
 * outputs and logs), counting files and bytes. */
int jobs_remove_tenant_files(struct daemon *d, const char *tenant,
                             uint64_t *files, uint64_t *bytes);

/* Refuse a sandbox or job to a caller who lacks a prerequisite. */
int sandbox_check_prerequisites(struct request *req, struct werr *err);

/* review*.c: the review queue of data, import and export requests. */
/* Write to ret_path the host directory to bind read-only at /inbox in the
 * tenant's sandboxes, holding its approved imports (files 0440, directory
 * 0750, owner root, group uid_base + 1000), creating it when missing. */
int review_inbox_dir(struct daemon *d, const char *tenant, char *ret_path,
                     size_t size, struct werr *err);
/* Submit every regular file below output_dir_fd (walked by descriptor,
 * links and other non-regular files skipped and listed as failed checks)
 * as one export request of login in tenant, with provenance (a JSON
 * object, borrowed: "scenario", "code_sha256", "datasets", ...) stored
 * in the request and its manifest.  Uses the caller's transaction when
 * one is open, else its own.  Fails with -E2BIG above 14 files. */
int review_submit_job_outputs(struct daemon *d, const char *tenant,
                              const char *login, const char *job_id,
                              int output_dir_fd, json_t *provenance,
                              struct werr *err);
/* Withdraw every pending request of tenant and revoke its released exports
 * not yet fetched, inside the caller's transaction (termination).  Files
 * stay until review_remove_tenant_files(). */
int review_revoke_tenant(struct daemon *d, const char *tenant,
                         struct werr *err);
/* Delete the tenant's inbox and outgoing exports (data destruction);
 * counts into the optional counters.  Quarantine copies stay as evidence
 * of what was reviewed. */
int review_remove_tenant_files(struct daemon *d, const char *tenant,
                               uint64_t *files, uint64_t *bytes);

/* Verb tables, one per file. */
extern const struct verb status_verbs[];
extern const struct verb tenant_verbs[];
extern const struct verb user_verbs[];
extern const struct verb network_verbs[];
extern const struct verb sandbox_verbs[];
extern const struct verb job_verbs[];
extern const struct verb audit_verbs[];
extern const struct verb dataset_verbs[];
extern const struct verb lifecycle_verbs[];
extern const struct verb report_verbs[];
extern const struct verb review_verbs[];

#endif
