/* wardend: the warden supervisor daemon. */
#include "supervisor/daemon.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

void daemon_periodic(struct daemon *d);

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: wardend [--config PATH] [--check-config]\n"
            "\n"
            "Run the warden supervisor in the foreground.\n"
            "\n"
            "  -c, --config PATH   configuration file (default %s)\n"
            "      --check-config  load and validate the configuration, "
            "then exit\n"
            "  -h, --help          show this help\n"
            "  -V, --version       print the version\n",
            CONFIG_DEFAULT_PATH);
}

static int make_dir(const char *path, mode_t mode, struct werr *err)
{
    struct stat st;

    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return werr_errno(err, neg_errno(), "creating %s failed", path);
    if (lstat(path, &st) < 0)
        return werr_errno(err, neg_errno(), "checking %s failed", path);
    if (!S_ISDIR(st.st_mode) || st.st_uid != 0)
        return werr_set(err, -EPERM,
                        "%s must be a directory owned by root", path);
    if (chmod(path, mode) < 0)
        return werr_errno(err, neg_errno(), "setting the mode of %s failed",
                          path);
    return 0;
}

/* Read a secret of len random bytes from name below dirfd, creating it
 * (mode 0600) on first start. */
static int load_or_create_secret(int dirfd, const char *name,
                                 unsigned char *buf, size_t len,
                                 struct werr *err)
{
    _cleanup_close_ int fd = -1;
    ssize_t n;

    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        randombytes_buf(buf, len);
        fd = openat(dirfd, name,
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    0600);
        if (fd < 0 || fs_write_all(fd, buf, len) < 0 || fsync(fd) < 0)
            return werr_errno(err, neg_errno(), "creating the secret %s "
                              "failed", name);
        return 0;
    }
    if (fd < 0)
        return werr_errno(err, neg_errno(), "opening the secret %s failed",
                          name);
    n = read(fd, buf, len);
    if (n != (ssize_t)len)
        return werr_set(err, -EIO, "the secret %s is damaged: expected %zu "
                        "bytes", name, len);
    return 0;
}

static int setup_keys(struct daemon *d, struct werr *err)
{
    char path[4096];
    int r;

    snprintf(path, sizeof(path), "%s/keys", d->cfg.state_dir);
    r = make_dir(path, 0700, err);
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/keys/audit.key", d->cfg.state_dir);
    r = audit_key_load_or_create(path, &d->audit_key, err);
    if (r < 0)
        return r;
    r = audit_pubkey_write(d->state_dir_fd, "audit.pub",
                           d->audit_key.public_key, err);
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/keys", d->cfg.state_dir);
    _cleanup_close_ int keys_fd =
        open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (keys_fd < 0)
        return werr_errno(err, neg_errno(), "opening %s failed", path);
    return load_or_create_secret(keys_fd, "identity.key", d->identity_key,
                                 sizeof(d->identity_key), err);
}

static int setup_dirs(struct daemon *d, struct werr *err)
{
    char sock_dir[4096];
    char recordings_dir[4096];
    char *slash;
    int r;

    r = make_dir(d->cfg.state_dir, 0700, err);
    if (r == 0)
        r = make_dir(d->cfg.run_dir, 0755, err);
    /* Session recordings, one subdirectory per tenant. */
    snprintf(recordings_dir, sizeof(recordings_dir), "%s/recordings",
             d->cfg.state_dir);
    if (r == 0)
        r = make_dir(recordings_dir, 0700, err);
    if (r < 0)
        return r;
    snprintf(sock_dir, sizeof(sock_dir), "%s", d->cfg.socket_path);
    slash = strrchr(sock_dir, '/');
    if (slash && slash != sock_dir) {
        *slash = '\0';
        if (mkdir(sock_dir, 0755) < 0 && errno != EEXIST)
            return werr_errno(err, neg_errno(), "creating %s failed",
                              sock_dir);
    }
    d->state_dir_fd = open(d->cfg.state_dir,
                           O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->state_dir_fd < 0)
        return werr_errno(err, neg_errno(), "opening %s failed",
                          d->cfg.state_dir);
    return 0;
}

static int load_config(struct daemon *d, bool explicit_path,
                       struct werr *err)
{
    int r = config_init_defaults(&d->cfg);

    if (r < 0)
        return werr_set(err, r, "out of memory");
    if (explicit_path || access(d->config_path, F_OK) == 0) {
        r = config_load(&d->cfg, d->config_path, err);
        if (r < 0)
            return r;
    }
    return config_validate(&d->cfg, err);
}

/* Each sandbox keeps a few descriptors open in the daemon (pidfd, pty or
 * pipes, seccomp listener, request socket), so the default soft limit of
 * 1024 would cap the host at a few hundred sandboxes. */
static void raise_descriptor_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        log_warning("raising the descriptor limit to %llu failed: %s",
                    (unsigned long long)rl.rlim_max, strerror(errno));
}

/* The audit retention may only grow, also across restarts: the largest
 * value ever configured is kept in the database. */
static int check_retention(struct daemon *d, struct werr *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t stored = 0;
    int r;

    r = db_prepare(d->db,
                   "SELECT value FROM counters WHERE name = 'retention_days'",
                   &stmt, err);
    if (r < 0)
        return r;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        stored = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if ((int64_t)d->cfg.retention_days < stored)
        return werr_set(err, -EINVAL,
                        "audit retention_days = %u is below the %lld days "
                        "this platform used before: retention may only "
                        "grow, so set retention_days to %lld or more",
                        d->cfg.retention_days, (long long)stored,
                        (long long)stored);
    if ((int64_t)d->cfg.retention_days == stored)
        return 0;
    r = db_prepare(d->db,
                   "INSERT INTO counters (name, value) "
                   "VALUES ('retention_days', ?) ON CONFLICT (name) "
                   "DO UPDATE SET value = excluded.value",
                   &stmt, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(stmt, 1, d->cfg.retention_days);
    r = sqlite3_step(stmt) == SQLITE_DONE
            ? 0
            : db_error(d->db, sqlite3_errcode(d->db),
                       "storing the retention failed", err);
    sqlite3_finalize(stmt);
    return r;
}

static int start(struct daemon *d, struct werr *err)
{
    int r;

    if (geteuid() != 0)
        return werr_set(err, -EPERM, "wardend must run as root");
    if (sodium_init() < 0)
        return werr_set(err, -EIO, "initializing libsodium failed");
    umask(0077);
    raise_descriptor_limit();
    r = setup_dirs(d, err);
    if (r == 0)
        r = setup_keys(d, err);
    if (r == 0)
        r = db_open(d, err);
    if (r == 0)
        r = check_retention(d, err);
    if (r == 0)
        r = loop_setup(d, err);
    if (r == 0)
        r = sandboxes_start(d, err);
    if (r == 0) {
        network_start(d);
        procevents_start(d);
    }
    if (r == 0)
        r = lifecycle_start(d, err);
    if (r == 0)
        r = server_listen(d, err);
    return r;
}

static void stop(struct daemon *d)
{
    server_close_all(d);
    if (d->db) {
        procevents_stop(d);
        sandboxes_stop(d);
        network_stop(d);
    }
    db_close(d);
    loop_free_pending();
    audit_key_clear(&d->audit_key);
    sodium_memzero(d->identity_key, sizeof(d->identity_key));
    if (d->state_dir_fd >= 0)
        close(d->state_dir_fd);
    config_free(&d->cfg);
}

void daemon_periodic(struct daemon *d)
{
    static time_t last_checkpoint;
    struct werr err = {0};
    time_t now = daemon_now(d);
    int r;

    network_flush_drops(d, false);
    lifecycle_periodic(d);
    if (now - last_checkpoint < (time_t)d->cfg.checkpoint_seconds)
        return;
    last_checkpoint = now;
    r = db_begin(d->db, &err);
    if (r == 0)
        r = audit_checkpoint_maybe(d->audit, NULL, &d->audit_key,
                                   d->cfg.checkpoint_events,
                                   (int64_t)d->cfg.checkpoint_seconds *
                                       1000000000LL,
                                   daemon_now_ns(d), &err);
    if (r >= 0)
        r = db_commit(d->db, &err);
    if (r < 0) {
        db_rollback(d->db);
        log_error("periodic audit checkpoint failed: %s", err.msg);
    }
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct daemon d = {.state_dir_fd = -1, .listen_watch.fd = -1,
                       .nflog_watch.fd = -1};
    struct werr err = {0};
    bool explicit_path = false, check_only = false;
    int opt, r;

    d.config_path = (char *)(uintptr_t)CONFIG_DEFAULT_PATH;
    while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            d.config_path = optarg;
            explicit_path = true;
            break;
        case 'k':
            check_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("wardend %s\n", WARDEN_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wardend: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    log_setup("wardend", false, LOG_LEVEL_INFO);
    if (load_config(&d, explicit_path, &err) < 0) {
        log_error("invalid configuration: %s", err.msg);
        config_free(&d.cfg);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration is valid\n", d.config_path);
        config_free(&d.cfg);
        return 0;
    }
    log_setup("wardend", d.cfg.log_syslog, (enum log_level)d.cfg.log_level);
    r = start(&d, &err);
    if (r < 0) {
        log_error("start failed: %s", err.msg);
        stop(&d);
        return 1;
    }
    d.started_at = daemon_now(&d);
    log_info("wardend %s started (pid %d, socket %s, state %s)",
             WARDEN_VERSION, (int)getpid(), d.cfg.socket_path,
             d.cfg.state_dir);
    r = loop_run(&d);
    log_info("wardend stopping (pid %d)", (int)getpid());
    stop(&d);
    return r < 0 ? 1 : 0;
}
