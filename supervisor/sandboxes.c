/* Sandboxes run by the daemon: starting them for a registered operator,
 * their request sockets, seccomp denials, exits and recordings, and the
 * sandbox verbs (shell, run, list, kill). */
#include "supervisor/sbx.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* The sandbox user, inside every sandbox. */
#define SBX_INNER_ID 1000

struct sbx *sbx_find(struct daemon *d, const char *id)
{
    for (struct sbx *s = d->sandboxes; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

int sandbox_caller(struct daemon *d, const char *sandbox_id,
                   struct caller *ret, struct werr *err)
{
    struct sbx *s = sbx_find(d, sandbox_id);
    struct caller c;
    int r;

    if (!s)
        return werr_set(err, -ENOENT, "sandbox '%s' is not running",
                        sandbox_id);
    r = resolve_caller(d, s->uid, 0, &c, err);
    if (r < 0)
        return r;
    snprintf(c.sandbox_id, sizeof(c.sandbox_id), "%s", s->id);
    *ret = c;
    return 0;
}

/* ---- cgroups and tenant-wide actions ---- */

static int tenant_limits(struct daemon *d, const char *tenant,
                         struct cgroup_limits *ret, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "SELECT memory_bytes, pids_max, cpu_percent FROM tenants "
                   "WHERE name = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(stmt, 1, tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ret = (struct cgroup_limits){
            .memory_max = (uint64_t)sqlite3_column_int64(stmt, 0),
            .pids_max = (uint64_t)sqlite3_column_int64(stmt, 1),
            .cpu_percent = (uint32_t)sqlite3_column_int64(stmt, 2),
        };
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return werr_set(err, -ENOENT, "tenant '%s' not found", tenant);
    return 0;
}

static bool tenant_has_sandboxes(struct daemon *d, const char *tenant)
{
    for (struct sbx *s = d->sandboxes; s; s = s->next)
        if (strcmp(s->tenant, tenant) == 0)
            return true;
    return false;
}

int tenant_apply_limits(struct daemon *d, const char *tenant,
                        struct werr *err)
{
    struct cgroup_limits limits;
    int r;

    if (!d->cgroup || !tenant_has_sandboxes(d, tenant))
        return 0;
    r = tenant_limits(d, tenant, &limits, err);
    if (r < 0)
        return r;
    r = cgroup_tenant_set_limits(d->cgroup, tenant, &limits, err);
    /* cgroup v1 rejects a memory limit below the current usage. */
    if (r == -EBUSY)
        return werr_set(err, -EBUSY,
                        "tenant '%s' uses more memory than the new limit of "
                        "%llu bytes: end some of its processes first, or "
                        "choose a higher limit",
                        tenant, (unsigned long long)limits.memory_max);
    return r;
}

static void finish(struct daemon *d, struct sbx *s, int status);

/* Collect the exits of a tenant's killed sandboxes now, so that their
 * links and cgroups are gone when the caller goes on (termination removes
 * the tenant's network next). */
static void reap_tenant(struct daemon *d, const char *tenant)
{
    struct sbx *s;

    do {
        for (s = d->sandboxes; s; s = s->next)
            if (strcmp(s->tenant, tenant) == 0)
                break;
        if (s) {
            struct werr err = {0};
            int status = W_EXITCODE(0, SIGKILL);

            if (sandbox_wait(&s->sb, true, &status, &err) < 0)
                log_warning("sandbox %s: collecting its exit failed: %s",
                            s->id, err.msg);
            finish(d, s, status);
        }
    } while (s);
}

int sandboxes_tenant_action(struct daemon *d, const char *tenant,
                            enum tenant_sandbox_action action,
                            const char *message, struct werr *err)
{
    int count = 0, r = 0;

    for (struct sbx *s = d->sandboxes; s; s = s->next) {
        if (strcmp(s->tenant, tenant) != 0)
            continue;
        count++;
        if (message)
            relay_send_message(s, message);
    }
    if (!d->cgroup)
        return count;
    if (count == 0) {
        /* Nothing runs; a terminated tenant still loses its cgroup. */
        if (action == TENANT_SANDBOXES_KILL &&
            cgroup_tenant_remove(d->cgroup, tenant, err) < 0 &&
            err->code != -ENOENT)
            return err->code;
        return 0;
    }
    switch (action) {
    case TENANT_SANDBOXES_FREEZE:
        /* Interactive shells are disconnected, which ends them once the
         * tenant thaws; runs and jobs stay frozen and carry on. */
        for (struct sbx *s = d->sandboxes; s; s = s->next)
            if (strcmp(s->tenant, tenant) == 0 && s->tty && s->conn)
                conn_close_after_flush(s->conn);
        r = cgroup_tenant_freeze(d->cgroup, tenant, err);
        break;
    case TENANT_SANDBOXES_THAW:
        r = cgroup_tenant_thaw(d->cgroup, tenant, err);
        break;
    case TENANT_SANDBOXES_KILL:
        for (struct sbx *s = d->sandboxes; s; s = s->next)
            if (strcmp(s->tenant, tenant) == 0 && s->conn)
                conn_close_after_flush(s->conn);
        r = cgroup_tenant_kill(d->cgroup, tenant, err);
        if (r == 0)
            reap_tenant(d, tenant);
        if (r == 0)
            r = cgroup_tenant_remove(d->cgroup, tenant, err);
        break;
    }
    return r < 0 ? r : count;
}

int workspace_path(struct daemon *d, const char *tenant, char *ret_path,
                   size_t size)
{
    if ((size_t)snprintf(ret_path, size, "%s/workspaces/%s", d->cfg.state_dir,
                         tenant) >= size)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- the files a sandbox needs on the host ---- */

static int make_owned_dir(const char *path, mode_t mode, uid_t uid,
                          gid_t gid, struct werr *err)
{
    struct stat st;

    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return werr_errno(err, neg_errno(), "creating %s failed", path);
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return werr_set(err, -ENOTDIR, "%s is not a directory", path);
    if ((st.st_uid != uid || st.st_gid != gid) && lchown(path, uid, gid) < 0)
        return werr_errno(err, neg_errno(), "setting the owner of %s failed",
                          path);
    /* The daemon's umask (077) must not narrow the mode asked for. */
    if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
        return werr_errno(err, neg_errno(), "setting the mode of %s failed",
                          path);
    return 0;
}

/* Open (creating it on first use) the home of login in tenant's
 * workspace, owned by the tenant's sandbox user.
 * TODO: homes have no size limit; a tenant can fill the file system of
 * state_dir.  Project quotas per tenant uid range would bound them. */
static int open_home(struct daemon *d, const struct sbx *s, struct werr *err)
{
    char path[4096];
    uid_t owner = (uid_t)(s->uid_base + SBX_INNER_ID);
    int r, fd;

    snprintf(path, sizeof(path), "%s/workspaces", d->cfg.state_dir);
    r = make_owned_dir(path, 0711, 0, 0, err);
    if (r == 0) {
        workspace_path(d, s->tenant, path, sizeof(path));
        r = make_owned_dir(path, 0711, 0, 0, err);
    }
    if (r < 0)
        return r;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "opening %s failed", path);
    if (mkdirat(fd, s->login, 0700) < 0 && errno != EEXIST) {
        r = werr_errno(err, neg_errno(), "creating the home of %s failed",
                       s->login);
        close(fd);
        return r;
    }
    r = fs_open_beneath(fd, s->login, O_RDONLY | O_DIRECTORY, 0);
    close(fd);
    if (r < 0)
        return werr_errno(err, r, "opening the home of %s failed", s->login);
    if (fchown(r, owner, owner) < 0) {
        int e = neg_errno();
        close(r);
        return werr_errno(err, e, "setting the owner of %s's home failed",
                          s->login);
    }
    return r;
}

static void on_request_accept(struct daemon *d, struct watch *w,
                              uint32_t events)
{
    server_on_sandbox_accept(d, w, events);
}

/* Create the listening request socket of a sandbox in a root-only
 * directory: only the bind mount inside the sandbox reaches it. */
static int open_request_socket(struct daemon *d, struct sbx *s,
                               char *ret_path, size_t size, struct werr *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char parent[4096];
    int fd, r;

    snprintf(parent, sizeof(parent), "%s/sbx", d->cfg.run_dir);
    r = make_owned_dir(parent, 0700, 0, 0, err);
    if (r < 0)
        return r;
    if (snprintf(s->request_dir, sizeof(s->request_dir), "%s/%s", parent,
                 s->id) >= (int)sizeof(s->request_dir))
        return werr_set(err, -ENAMETOOLONG,
                        "run_dir %s is too long: use a shorter path",
                        d->cfg.run_dir);
    r = make_owned_dir(s->request_dir, 0700, 0, 0, err);
    if (r < 0)
        return r;
    if ((size_t)snprintf(ret_path, size, "%s/warden.sock", s->request_dir) >=
            size ||
        strlen(ret_path) >= sizeof(addr.sun_path))
        return werr_set(err, -ENAMETOOLONG,
                        "request socket path %s is too long: use a shorter "
                        "run_dir", ret_path);
    strcpy(addr.sun_path, ret_path);
    unlink(ret_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        chmod(ret_path, 0666) < 0 || listen(fd, 16) < 0) {
        r = werr_errno(err, neg_errno(), "creating the request socket %s "
                       "failed", ret_path);
        if (fd >= 0)
            close(fd);
        return r;
    }
    s->request_watch = (struct watch){.fd = fd, .fn = on_request_accept,
                                      .data = s->id};
    return 0;
}

/* ---- start ---- */

static int before_exec(void *ctx, pid_t pid, int netns_fd, struct werr *err)
{
    struct sbx *s = ctx;
    unsigned index;
    int mode;

    (void)pid;
    mode = network_tenant_mode(s->d, s->tenant, &index, err);
    if (mode < 0)
        return mode;
    if (mode == 1 && strcmp(s->kind, "job") != 0) {
        if (!s->d->net)
            return werr_set(err, -ENOTSUP,
                            "tenant '%s' uses internal networking, which is "
                            "unavailable on this host: %s",
                            s->tenant, s->d->net_error);
        if (netpolicy_attach(s->d->net, index, netns_fd, &s->net, err) < 0)
            return err->code;
        s->net_attached = true;
        return 0;
    }
    return netpolicy_loopback_up(netns_fd, err);
}

static int next_sandbox_number(struct daemon *d, int64_t *ret,
                               struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(d->db,
                   "INSERT INTO counters (name, value) VALUES ('sandbox', 1) "
                   "ON CONFLICT (name) DO UPDATE SET value = value + 1 "
                   "RETURNING value",
                   &stmt, err);
    if (r < 0)
        return r;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : db_error(d->db, rc, "numbering sandbox",
                                           err);
}

static int insert_row(struct daemon *d, const struct sbx *s,
                      char *const *argv, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *command = json_array();
    char *command_text;
    int r, rc;

    for (size_t i = 0; argv[i]; i++)
        json_array_append_new(command, json_string(argv[i]));
    command_text = json_dumps(command, JSON_COMPACT);
    json_decref(command);
    r = db_prepare(d->db,
                   "INSERT INTO sandboxes (id, tenant_id, login, uid, kind, "
                   "pid, cgroup, started_at, command, recording) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?)",
                   &stmt, err);
    if (r < 0) {
        free(command_text);
        return r;
    }
    sqlite3_bind_text(stmt, 1, s->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, s->tenant_id);
    sqlite3_bind_text(stmt, 3, s->login, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, s->uid);
    sqlite3_bind_text(stmt, 5, s->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, s->sb.pid);
    sqlite3_bind_text(stmt, 7, s->sb.cgroup_path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 8, (sqlite3_int64)s->started_at);
    sqlite3_bind_text(stmt, 9, command_text ? command_text : "[]", -1,
                      SQLITE_STATIC);
    if (s->recording[0])
        sqlite3_bind_text(stmt, 10, s->recording, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 10);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    free(command_text);
    return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "storing sandbox",
                                            err);
}

static int open_recording(struct daemon *d, struct sbx *s,
                          const struct launch *l, struct werr *err)
{
    char path[4096];
    _cleanup_close_ int dirfd = -1;
    char title[256];

    snprintf(path, sizeof(path), "%s/recordings", d->cfg.state_dir);
    if (make_owned_dir(path, 0700, 0, 0, err) < 0)
        return err->code;
    snprintf(path, sizeof(path), "%s/recordings/%s", d->cfg.state_dir,
             s->tenant);
    if (make_owned_dir(path, 0700, 0, 0, err) < 0)
        return err->code;
    dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dirfd < 0)
        return werr_errno(err, neg_errno(), "opening %s failed", path);
    snprintf(s->recording, sizeof(s->recording), "%s/%s.cast", s->tenant,
             s->id);
    snprintf(title, sizeof(title), "%s@%s %s", s->login, s->tenant, s->id);
    snprintf(path, sizeof(path), "%s.cast", s->id);
    return asciicast_open(dirfd, path, l->winsize.ws_col, l->winsize.ws_row,
                          title, l->term, "/bin/bash", &s->cast, err);
}

static void free_sbx(struct sbx *s)
{
    struct werr err = {0};

    relay_detach(s);
    if (s->pid_watch.fd >= 0)
        loop_del(s->d, &s->pid_watch);
    if (s->seccomp_watch.fd >= 0)
        loop_del(s->d, &s->seccomp_watch);
    if (s->request_watch.fd >= 0) {
        loop_del(s->d, &s->request_watch);
        close(s->request_watch.fd);
    }
    if (s->request_dir[0])
        fs_remove_tree_at(AT_FDCWD, s->request_dir, NULL, NULL);
    if (sandbox_destroy(&s->sb, &err) < 0)
        log_warning("sandbox %s: cleanup failed: %s", s->id, err.msg);
    if (s->net_attached && s->d->net &&
        netpolicy_detach(s->d->net, &s->net, &err) < 0)
        log_warning("sandbox %s: removing its link failed: %s", s->id,
                    err.msg);
    if (s->cast)
        asciicast_free(s->cast);
    for (int i = 0; i < 2; i++)
        if (s->log_fds[i] >= 0)
            close(s->log_fds[i]);
    free(s->in_buf);
    loop_free_later(s->d, s);
}

static void unlink_sbx(struct daemon *d, struct sbx *s)
{
    for (struct sbx **p = &d->sandboxes; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

static void on_pidfd(struct daemon *d, struct watch *w, uint32_t events);
static void on_seccomp(struct daemon *d, struct watch *w, uint32_t events);

static int fill_identity(struct daemon *d, struct sbx *s,
                         const struct launch *l, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    snprintf(s->tenant, sizeof(s->tenant), "%s", l->who->tenant);
    snprintf(s->login, sizeof(s->login), "%s", l->who->login);
    snprintf(s->kind, sizeof(s->kind), "%s", l->kind);
    s->uid = l->who->uid;
    s->tenant_id = l->who->tenant_id;
    r = db_prepare(d->db, "SELECT uid_base FROM tenants WHERE id = ?", &stmt,
                   err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, s->tenant_id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        s->uid_base = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : werr_set(err, -ENOENT, "tenant of %s not "
                                           "found", s->login);
}

static void build_env(const struct sbx *s, const struct launch *l,
                      char env[8][160], char **envp)
{
    snprintf(env[0], 160, "PATH=/usr/local/bin:/usr/bin:/bin");
    snprintf(env[1], 160, "HOME=/home/%s", s->login);
    snprintf(env[2], 160, "USER=%s", s->login);
    snprintf(env[3], 160, "LOGNAME=%s", s->login);
    snprintf(env[4], 160, "TERM=%s", l->term ? l->term : "dumb");
    snprintf(env[5], 160, "LANG=C.UTF-8");
    snprintf(env[6], 160, "WARDEN_SANDBOX=%s", s->id);
    snprintf(env[7], 160, "WARDEN_TENANT=%s", s->tenant);
    for (int i = 0; i < 8; i++)
        envp[i] = env[i];
    envp[8] = NULL;
}

/* Fill the spec's binds: the caller's, then /data and /inbox, both
 * read-only. */
static int data_binds(struct daemon *d, const struct sbx *s,
                      const struct launch *l, struct sandbox_bind *binds,
                      size_t *n, char paths[2][4096], struct werr *err)
{
    int r;

    for (size_t i = 0; i < l->n_binds && *n < 8; i++)
        binds[(*n)++] = l->binds[i];
    r = dataviews_dir(d, s->tenant, l->production, paths[0], 4096, err);
    if (r == 0)
        r = review_inbox_dir(d, s->tenant, paths[1], 4096, err);
    if (r < 0)
        return r;
    binds[(*n)++] = (struct sandbox_bind){.source_fd = -1,
                                          .source = paths[0],
                                          .target = "/data",
                                          .read_only = true};
    binds[(*n)++] = (struct sandbox_bind){.source_fd = -1,
                                          .source = paths[1],
                                          .target = "/inbox",
                                          .read_only = true};
    return 0;
}

static int start_process(struct daemon *d, struct sbx *s,
                         const struct launch *l, struct werr *err)
{
    struct sandbox_spec spec;
    struct sandbox_bind binds[10];
    struct cgroup_limits limits;
    char request_path[4096] = "", data_paths[2][4096];
    char env[8][160];
    char *envp[9];
    size_t n_binds = 0;
    _cleanup_close_ int home_fd = -1;
    int r;

    /* A production job gets its code snapshot, not the live home. */
    if (!l->production) {
        home_fd = open_home(d, s, err);
        if (home_fd < 0)
            return home_fd;
    }
    r = data_binds(d, s, l, binds, &n_binds, data_paths, err);
    if (r == 0 && !l->production)
        r = open_request_socket(d, s, request_path, sizeof(request_path),
                                err);
    if (r == 0 && d->cgroup)
        r = tenant_limits(d, s->tenant, &limits, err);
    if (r == 0 && d->cgroup)
        r = cgroup_tenant_ensure(d->cgroup, s->tenant, &limits, err);
    if (r < 0)
        return r;
    build_env(s, l, env, envp);
    sandbox_spec_init(&spec);
    spec.id = s->id;
    spec.hostname = s->tenant;
    spec.uid_base = (uint32_t)s->uid_base;
    spec.gid_base = (uint32_t)s->uid_base;
    spec.user_name = s->login;
    spec.shell = "/bin/bash";
    spec.rootfs = d->cfg.rootfs;
    spec.home_fd = home_fd;
    spec.binds = binds;
    spec.n_binds = n_binds;
    spec.request_socket = request_path[0] ? request_path : NULL;
    spec.tmp_size = d->cfg.tmp_size_bytes;
    spec.argv = l->argv;
    spec.envp = envp;
    spec.cwd = l->production ? "/code" : NULL;
    spec.use_pty = l->tty;
    spec.winsize = l->winsize;
    spec.stdin_null = l->log_fds[0] >= 0;
    spec.cgroup = d->cgroup;
    spec.tenant = s->tenant;
    spec.seccomp_profile = d->seccomp_profile;
    spec.before_exec = before_exec;
    spec.before_exec_ctx = s;
    return sandbox_start(&spec, &s->sb, err);
}

static void register_watches(struct daemon *d, struct sbx *s)
{
    s->pid_watch = (struct watch){.fd = s->sb.pidfd, .fn = on_pidfd,
                                  .data = s};
    if (loop_add(d, &s->pid_watch, EPOLLIN) < 0)
        log_error("sandbox %s: watching its pidfd failed", s->id);
    s->seccomp_watch = (struct watch){.fd = s->sb.seccomp_fd,
                                      .fn = on_seccomp, .data = s};
    if (s->sb.seccomp_fd >= 0 && loop_add(d, &s->seccomp_watch, EPOLLIN) < 0)
        log_error("sandbox %s: watching its seccomp listener failed", s->id);
    if (s->request_watch.fd >= 0 &&
        loop_add(d, &s->request_watch, EPOLLIN) < 0)
        log_error("sandbox %s: watching its request socket failed", s->id);
    relay_attach(s);
}

int sandbox_launch(struct daemon *d, const struct launch *l,
                   struct sbx **ret, struct werr *err)
{
    struct sbx *s = calloc(1, sizeof(*s));
    int64_t number = 0;
    int r;

    if (!s)
        return werr_set(err, -ENOMEM, "out of memory");
    s->d = d;
    s->pid_watch.fd = s->seccomp_watch.fd = s->request_watch.fd = -1;
    s->pty_watch.fd = s->out_watch.fd = s->err_watch.fd = -1;
    s->in_watch.fd = -1;
    s->sb = (struct sandbox){.pidfd = -1, .pty_master = -1, .stdin_fd = -1,
                             .stdout_fd = -1, .stderr_fd = -1,
                             .seccomp_fd = -1, .status_fd = -1};
    s->log_fds[0] = l->log_fds[0];
    s->log_fds[1] = l->log_fds[1];
    s->tty = l->tty;
    s->conn = l->conn;
    s->on_exit = l->on_exit;
    s->exit_data = l->exit_data;
    s->started_at = daemon_now(d);
    r = fill_identity(d, s, l, err);
    if (r == 0)
        r = next_sandbox_number(d, &number, err);
    snprintf(s->id, sizeof(s->id), "sbx-%lld", (long long)number);
    if (r == 0 && l->tty)
        r = open_recording(d, s, l, err);
    if (r == 0)
        r = start_process(d, s, l, err);
    if (r == 0)
        r = insert_row(d, s, l->argv, err);
    if (r < 0) {
        s->log_fds[0] = s->log_fds[1] = -1; /* the caller still owns them */
        free_sbx(s);
        return r;
    }
    s->next = d->sandboxes;
    d->sandboxes = s;
    register_watches(d, s);
    log_info("sandbox %s started for %s of tenant %s (pid %d, %s)", s->id,
             s->login, s->tenant, (int)s->sb.pid, s->kind);
    if (ret)
        *ret = s;
    return 0;
}

/* ---- events of a running sandbox ---- */

static void on_seccomp(struct daemon *d, struct watch *w, uint32_t events)
{
    struct sbx *s = w->data;
    struct sandbox_seccomp_denial denial;
    struct werr err = {0};
    json_t *details;
    int r;

    (void)events;
    r = sandbox_seccomp_handle_notification(w->fd, &denial, &err);
    if (r == -EAGAIN)
        return;
    if (r == -EPIPE) {
        /* Every process under the filter is gone. */
        loop_del(d, w);
        w->fd = -1;
        return;
    }
    if (r < 0 && r != -ENOENT) {
        log_warning("sandbox %s: seccomp notification failed: %s", s->id,
                    err.msg);
        loop_del(d, w);
        w->fd = -1;
        return;
    }
    if (++s->denials > SBX_MAX_DENIAL_EVENTS)
        return;
    details = json_pack("{s:s, s:s, s:i, s:i, s:s}", "sandbox", s->id,
                        "syscall", denial.syscall_name, "nr",
                        denial.syscall_nr, "pid", (int)denial.pid, "user",
                        s->login);
    if (db_begin(d->db, &err) < 0 ||
        record_event(d, NULL, s->tenant, "seccomp.denied", s->id,
                     "denied: EPERM", details, &err) < 0 ||
        db_commit(d->db, &err) < 0) {
        db_rollback(d->db);
        log_error("sandbox %s: recording a seccomp denial failed: %s", s->id,
                  err.msg);
    }
    log_info("sandbox %s (%s@%s): denied %s", s->id, s->login, s->tenant,
             denial.syscall_name);
    json_decref(details);
}

static json_t *exit_details(struct sbx *s, int status, char *message,
                            size_t size)
{
    struct cgroup_stats stats = {0};
    struct werr err = {0};
    json_t *details;

    message[0] = '\0';
    if (s->d->cgroup)
        cgroup_sandbox_stats(s->d->cgroup, s->tenant, s->id, &stats, &err);
    details = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "sandbox", s->id,
                        "kind", s->kind, "seconds",
                        (json_int_t)(daemon_now(s->d) - s->started_at),
                        "oom_kills", (json_int_t)stats.oom_kills,
                        "pids_limit_hits", (json_int_t)stats.pids_max_hits,
                        "seccomp_denials", (json_int_t)s->denials);
    if (WIFEXITED(status))
        json_object_set_new(details, "exit_code",
                            json_integer(WEXITSTATUS(status)));
    else if (WIFSIGNALED(status))
        json_object_set_new(details, "signal",
                            json_integer(WTERMSIG(status)));
    if (stats.oom_kills)
        snprintf(message, size,
                 "a process was killed at the tenant's memory limit");
    else if (stats.pids_max_hits)
        snprintf(message, size,
                 "the tenant's process limit was hit: fork failed %llu "
                 "times", (unsigned long long)stats.pids_max_hits);
    return details;
}

static int store_exit(struct sbx *s, int status, const char *sha256,
                      struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = db_prepare(s->d->db,
                   "UPDATE sandboxes SET ended_at = ?, exit_code = ?, "
                   "exit_signal = ?, recording_sha256 = ? WHERE id = ?",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)daemon_now(s->d));
    if (WIFEXITED(status))
        sqlite3_bind_int(stmt, 2, WEXITSTATUS(status));
    else
        sqlite3_bind_null(stmt, 2);
    if (WIFSIGNALED(status))
        sqlite3_bind_int(stmt, 3, WTERMSIG(status));
    else
        sqlite3_bind_null(stmt, 3);
    if (sha256)
        sqlite3_bind_text(stmt, 4, sha256, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 4);
    sqlite3_bind_text(stmt, 5, s->id, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_error(s->d->db, rc, "storing the exit",
                                            err);
}

/* Append the exit event; a shell's carries its recording and hash. */
static int record_exit(struct sbx *s, json_t *details, const char *sha256,
                       struct werr *err)
{
    char chain[AUDIT_CHAIN_MAX];
    struct audit_event ev = {0};
    int r;

    snprintf(chain, sizeof(chain), "%s%s", AUDIT_TENANT_PREFIX, s->tenant);
    ev.chain = chain;
    ev.time_ns = daemon_now_ns(s->d);
    ev.actor = s->login;
    ev.uid = s->uid;
    ev.tenant = s->tenant;
    ev.action = sha256 ? "session.end" : "sandbox.exit";
    ev.object = s->id;
    ev.result = "ok";
    ev.details = details;
    ev.recording = sha256 ? s->recording : NULL;
    ev.recording_sha256 = sha256;
    r = audit_append(s->d->audit, &ev, NULL, NULL, err);
    if (r < 0)
        return r;
    return audit_checkpoint_maybe(s->d->audit, chain, &s->d->audit_key,
                                  s->d->cfg.checkpoint_events,
                                  (int64_t)s->d->cfg.checkpoint_seconds *
                                      1000000000LL,
                                  ev.time_ns, err) < 0
               ? err->code
               : 0;
}

static void send_exit(struct sbx *s, int status)
{
    json_t *msg;

    if (!s->conn)
        return;
    if (WIFSIGNALED(status))
        msg = json_pack("{s:s, s:i}", "stream", "exit", "signal",
                        WTERMSIG(status));
    else
        msg = json_pack("{s:s, s:i}", "stream", "exit", "code",
                        WIFEXITED(status) ? WEXITSTATUS(status) : 255);
    conn_set_stream(s->conn, NULL, NULL);
    if (msg) {
        conn_reply(s->conn, msg);
        json_decref(msg);
    }
    conn_close_after_flush(s->conn);
    s->conn = NULL;
}

static void finish(struct daemon *d, struct sbx *s, int status)
{
    char sha256[AUDIT_HEX_SIZE] = "", message[160];
    struct werr err = {0};
    json_t *details;

    s->exiting = true;
    relay_drain(s);
    details = exit_details(s, status, message, sizeof(message));
    if (message[0]) {
        relay_send_message(s, message);
        log_info("sandbox %s (%s@%s): %s", s->id, s->login, s->tenant,
                 message);
    }
    if (s->cast) {
        if (asciicast_close(s->cast, sha256, &err) < 0)
            log_error("sandbox %s: closing its recording failed: %s", s->id,
                      err.msg);
        s->cast = NULL;
    }
    if (db_begin(d->db, &err) < 0 ||
        store_exit(s, status, sha256[0] ? sha256 : NULL, &err) < 0 ||
        record_exit(s, details, sha256[0] ? sha256 : NULL, &err) < 0 ||
        db_commit(d->db, &err) < 0) {
        db_rollback(d->db);
        log_error("sandbox %s: recording its exit failed: %s", s->id,
                  err.msg);
    }
    /* Remove the link before the client hears of the exit, so that an
     * exited sandbox never leaves a reachable address behind. */
    if (s->net_attached && d->net) {
        if (netpolicy_detach(d->net, &s->net, &err) < 0)
            log_warning("sandbox %s: removing its link failed: %s", s->id,
                        err.msg);
        s->net_attached = false;
    }
    send_exit(s, status);
    relay_detach(s);
    unlink_sbx(d, s);
    if (s->on_exit)
        s->on_exit(d, s, status, details);
    json_decref(details);
    log_info("sandbox %s ended (%s %d)", s->id,
             WIFSIGNALED(status) ? "signal" : "status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    free_sbx(s);
}

static void on_pidfd(struct daemon *d, struct watch *w, uint32_t events)
{
    struct sbx *s = w->data;
    struct werr err = {0};
    int status = 0, r;

    (void)events;
    r = sandbox_wait(&s->sb, false, &status, &err);
    if (r == -EAGAIN)
        return;
    if (r < 0) {
        log_error("sandbox %s: collecting its exit failed: %s", s->id,
                  err.msg);
        status = W_EXITCODE(255, 0);
    }
    finish(d, s, status);
}

/* ---- daemon start and stop ---- */

/* Close the rows of sandboxes that a previous run of the daemon left
 * behind, and kill whatever of them still runs. */
static int end_orphans(struct daemon *d, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    if (d->cgroup) {
        r = db_prepare(d->db, "SELECT name FROM tenants", &stmt, err);
        if (r < 0)
            return r;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            struct werr kill_err = {0};
            if (cgroup_tenant_kill(d->cgroup, db_text(stmt, 0),
                                   &kill_err) < 0 &&
                kill_err.code != -ENOENT)
                log_warning("ending old sandboxes of tenant %s failed: %s",
                            db_text(stmt, 0), kill_err.msg);
            cgroup_tenant_remove(d->cgroup, db_text(stmt, 0), &kill_err);
        }
        sqlite3_finalize(stmt);
    }
    r = db_begin(d->db, err);
    if (r == 0)
        r = db_exec(d->db,
                    "UPDATE sandboxes SET ended_at = strftime('%s','now') "
                    "WHERE ended_at IS NULL",
                    err);
    if (r == 0 && sqlite3_changes(d->db) > 0)
        r = record_event(d, NULL, NULL, "sandbox.orphans.ended", NULL, "ok",
                         NULL, err);
    /* A job whose daemon died cannot have delivered its outputs. */
    if (r == 0)
        r = db_exec(d->db,
                    "UPDATE jobs SET state = 'failed', "
                    "ended_at = strftime('%s','now'), "
                    "note = 'wardend stopped while the job ran' "
                    "WHERE state = 'running'",
                    err);
    if (r == 0 && sqlite3_changes(d->db) > 0)
        r = record_event(d, NULL, NULL, "job.orphans.failed", NULL, "ok",
                         NULL, err);
    if (r == 0)
        r = db_commit(d->db, err);
    if (r < 0)
        db_rollback(d->db);
    return r;
}

int sandboxes_start(struct daemon *d, struct werr *err)
{
    struct cgroup_options opts = {.name = d->cfg.cgroup_name};
    struct werr cg_err = {0};
    int r;

    if (d->cfg.seccomp_profile) {
        r = fs_read_file_at(AT_FDCWD, d->cfg.seccomp_profile, 1 << 20,
                            &d->seccomp_profile, NULL);
        if (r < 0)
            return werr_errno(err, r, "reading the seccomp profile %s "
                              "failed", d->cfg.seccomp_profile);
    } else {
        d->seccomp_profile = strdup(config_seccomp_profile);
        if (!d->seccomp_profile)
            return werr_set(err, -ENOMEM, "out of memory");
    }
    r = sandbox_seccomp_check_profile(d->seccomp_profile, err);
    if (r < 0)
        return werr_prefix(err, "invalid seccomp profile");
    if (cgroup_setup_open(&opts, &d->cgroup, &cg_err) < 0) {
        /* Without cgroups there are no limits: refuse to run sandboxes
         * rather than run them unbounded. */
        log_error("setting up cgroups failed, so sandboxes are rejected: %s",
                  cg_err.msg);
        d->cgroup = NULL;
    } else {
        log_info("using cgroup v%d below '%s'",
                 (int)cgroup_setup_version(d->cgroup), d->cfg.cgroup_name);
    }
    return end_orphans(d, err);
}

/* Call fn for the name of every tenant that may own a cgroup. */
static void for_each_tenant(struct daemon *d,
                            void (*fn)(struct daemon *d, const char *tenant))
{
    sqlite3_stmt *stmt = NULL;
    struct werr err = {0};

    if (db_prepare(d->db, "SELECT name FROM tenants", &stmt, &err) < 0)
        return;
    while (sqlite3_step(stmt) == SQLITE_ROW)
        fn(d, db_text(stmt, 0));
    sqlite3_finalize(stmt);
}

static void kill_tenant(struct daemon *d, const char *tenant)
{
    struct werr err = {0};

    /* Thaws a frozen tenant too, so that no sandbox outlives the daemon. */
    if (tenant_has_sandboxes(d, tenant) &&
        cgroup_tenant_kill(d->cgroup, tenant, &err) < 0)
        log_warning("ending the sandboxes of tenant %s failed: %s", tenant,
                    err.msg);
}

static void remove_tenant_cgroup(struct daemon *d, const char *tenant)
{
    struct werr err = {0};

    cgroup_tenant_remove(d->cgroup, tenant, &err);
}

void sandboxes_stop(struct daemon *d)
{
    struct werr err = {0};

    if (d->cgroup)
        for_each_tenant(d, kill_tenant);
    while (d->sandboxes) {
        struct sbx *s = d->sandboxes;
        sandbox_kill(&s->sb, SIGKILL);
        sandbox_wait(&s->sb, true, &(int){0}, &err);
        finish(d, s, W_EXITCODE(0, SIGKILL));
    }
    if (d->cgroup) {
        for_each_tenant(d, remove_tenant_cgroup);
        if (cgroup_setup_remove(d->cgroup, &err) < 0)
            log_warning("removing the cgroup '%s' failed: %s",
                        d->cfg.cgroup_name, err.msg);
        cgroup_setup_free(d->cgroup);
        d->cgroup = NULL;
    }
    free(d->seccomp_profile);
    d->seccomp_profile = NULL;
}

int sandboxes_network_changed(struct daemon *d, const char *tenant,
                              struct werr *err)
{
    unsigned index;
    int mode = network_tenant_mode(d, tenant, &index, err);

    if (mode < 0)
        return mode;
    for (struct sbx *s = d->sandboxes; s; s = s->next) {
        char path[64];
        _cleanup_close_ int netns = -1;

        if (strcmp(s->tenant, tenant) != 0 || !strcmp(s->kind, "job"))
            continue;
        if (mode == 0 && s->net_attached) {
            if (netpolicy_detach(d->net, &s->net, err) < 0)
                return err->code;
            s->net_attached = false;
        }
        if (mode == 1 && !s->net_attached && d->net) {
            snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)s->sb.pid);
            netns = open(path, O_RDONLY | O_CLOEXEC);
            if (netns < 0)
                continue;
            if (netpolicy_attach(d->net, index, netns, &s->net, err) < 0)
                return err->code;
            s->net_attached = true;
        }
    }
    return 0;
}
