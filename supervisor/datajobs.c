/* Worker processes for slow data work (copying, profiling and masking
 * large files) and the replies that wait for them.
 *
 * A worker is a forked child that keeps only the descriptors it was given,
 * wipes the daemon's keys from its copy of memory, drops to the unprivileged
 * user nobody, runs one function and writes its JSON report to a pipe.  The
 * event loop watches the pipe and, at end of file, reaps the child and calls
 * the completion in the daemon, which commits the result together with its
 * audit event. */
#include "supervisor/conn.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reports are small (a column profile); anything larger is a broken
 * worker. */
#define WORKER_REPORT_MAX (16u << 20)
#define WORKER_UID 65534u /* nobody */

struct worker {
    struct watch watch;
    pid_t pid;
    char what[128];
    char *buf;
    size_t len;
    worker_done_fn done;
    void *data;
    struct worker *next;
};

static struct worker *workers;

void request_defer(struct request *req, struct deferred_request *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->conn_id = conn_id(req->conn);
    ret->id = req->id;
    snprintf(ret->verb, sizeof(ret->verb), "%s", req->verb);
    ret->caller = req->caller;
    snprintf(ret->tenant, sizeof(ret->tenant), "%s", req->tenant);
    snprintf(ret->object, sizeof(ret->object), "%s", req->object);
    req->deferred = true;
}

static struct conn *find_conn(struct daemon *d, uint64_t id)
{
    for (struct conn *c = d->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void record_late_refusal(struct daemon *d,
                                const struct deferred_request *def,
                                const struct werr *failure)
{
    char result[WERR_MSG_MAX + 64];
    struct werr err = {0};

    snprintf(result, sizeof(result), "%s: %s",
             proto_error_code(failure->code), failure->msg);
    if (db_begin(d->db, &err) < 0 ||
        record_event(d, &def->caller, def->tenant, def->verb, def->object,
                     result, NULL, &err) < 0 ||
        db_commit(d->db, &err) < 0) {
        db_rollback(d->db);
        log_error("recording the failed request '%s' of uid %u failed: %s",
                  def->verb, def->caller.uid, err.msg);
    }
}

void request_complete(struct daemon *d, const struct deferred_request *def,
                      int r, json_t *result, const struct werr *err)
{
    struct conn *c = find_conn(d, def->conn_id);
    json_t *msg;

    if (r < 0) {
        record_late_refusal(d, def, err);
        log_info("request %s from uid %u failed: %s", def->verb,
                 def->caller.uid, err->msg);
        msg = json_pack("{s:i, s:I, s:b, s:{s:s, s:s}}", "v", PROTO_VERSION,
                        "id", def->id, "ok", 0, "error", "code",
                        proto_error_code(r), "message", err->msg);
        json_decref(result);
    } else {
        msg = json_pack("{s:i, s:I, s:b, s:o}", "v", PROTO_VERSION, "id",
                        def->id, "ok", 1, "result",
                        result ? result : json_object());
    }
    if (!c)
        log_info("connection %llu closed before the reply to request %s",
                 (unsigned long long)def->conn_id, def->verb);
    else if (msg)
        conn_reply(c, msg);
    json_decref(msg);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* Close every descriptor above stderr except those in keep. */
static void close_all_but(const int *keep, size_t n_keep)
{
    int sorted[16];
    unsigned next = 3;

    n_keep = n_keep < ARRAY_SIZE(sorted) ? n_keep : ARRAY_SIZE(sorted);
    memcpy(sorted, keep, n_keep * sizeof(int));
    qsort(sorted, n_keep, sizeof(int), cmp_int);
    for (size_t i = 0; i < n_keep; i++) {
        if (sorted[i] < 0 || (unsigned)sorted[i] < next) {
            if (sorted[i] >= 0)
                next = (unsigned)sorted[i] + 1;
            continue;
        }
        if ((unsigned)sorted[i] > next)
            close_range(next, (unsigned)sorted[i] - 1, 0);
        next = (unsigned)sorted[i] + 1;
    }
    close_range(next, ~0u, 0);
}

/* Shed what the worker must not have: other descriptors, the signing and
 * identity keys, and root. */
static int worker_confine(struct daemon *d, const int *keep, size_t n_keep)
{
    gid_t gid = WORKER_UID;
    sigset_t all;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    close_all_but(keep, n_keep);
    audit_key_clear(&d->audit_key);
    sodium_memzero(d->identity_key, sizeof(d->identity_key));
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
        setresuid(WORKER_UID, WORKER_UID, WORKER_UID) < 0)
        return neg_errno();
    if (setuid(0) == 0)
        return -EPERM;
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? neg_errno() : 0;
}

static __attribute__((noreturn)) void worker_main(struct daemon *d,
                                                  int report_fd,
                                                  const int *keep,
                                                  size_t n_keep,
                                                  worker_work_fn work,
                                                  void *data)
{
    int all_keep[16];
    struct werr err = {0};
    json_t *report = NULL, *msg;
    char *text;
    int r;

    n_keep = n_keep < ARRAY_SIZE(all_keep) - 1 ? n_keep
                                                : ARRAY_SIZE(all_keep) - 1;
    memcpy(all_keep, keep, n_keep * sizeof(int));
    all_keep[n_keep] = report_fd;
    r = worker_confine(d, all_keep, n_keep + 1);
    if (r < 0)
        werr_errno(&err, r, "dropping privileges in the worker failed");
    else
        r = work(data, &report, &err);
    if (r < 0)
        msg = json_pack("{s:b, s:i, s:s}", "ok", 0, "code", r, "message",
                        err.msg);
    else
        msg = json_pack("{s:b, s:o}", "ok", 1, "report",
                        report ? report : json_object());
    text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (!text || fs_write_all(report_fd, text, strlen(text)) < 0)
        _exit(1);
    _exit(0);
}

static void worker_free(struct daemon *d, struct worker *w)
{
    struct worker **p;

    for (p = &workers; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    loop_del(d, &w->watch);
    close(w->watch.fd);
    free(w->buf);
    free(w);
}

static int parse_report(struct worker *w, int status, json_t **ret_report,
                        struct werr *err)
{
    json_t *msg;
    json_int_t code;

    msg = w->buf ? json_loadb(w->buf, w->len, 0, NULL) : NULL;
    if (!msg) {
        if (WIFSIGNALED(status))
            return werr_set(err, -EIO, "%s: the worker was killed by "
                            "signal %d", w->what, WTERMSIG(status));
        return werr_set(err, -EIO, "%s: the worker exited with status %d "
                        "without a report", w->what,
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (json_is_true(json_object_get(msg, "ok"))) {
        *ret_report = json_incref(json_object_get(msg, "report"));
        json_decref(msg);
        return 0;
    }
    code = json_integer_value(json_object_get(msg, "code"));
    werr_set(err, code < 0 && code > -4096 ? (int)code : -EIO, "%s",
             json_string_value(json_object_get(msg, "message"))
                 ? json_string_value(json_object_get(msg, "message"))
                 : "the worker failed");
    json_decref(msg);
    return err->code;
}

static void worker_finish(struct daemon *d, struct worker *w)
{
    struct werr err = {0};
    json_t *report = NULL;
    int status = 0, r;

    /* The child closes the pipe when it exits, so this waits only for
     * the exit itself to complete. */
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    r = parse_report(w, status, &report, &err);
    log_debug("worker %d (%s) finished: %s", (int)w->pid, w->what,
              r < 0 ? err.msg : "ok");
    w->done(d, w->data, r, report, &err);
    json_decref(report);
    worker_free(d, w);
}

static void on_worker_output(struct daemon *d, struct watch *watch,
                             uint32_t events)
{
    struct worker *w = watch->data;
    char chunk[65536];
    ssize_t n;

    (void)events;
    for (;;) {
        char *grown;

        n = read(watch->fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            break;
        if (w->len + (size_t)n > WORKER_REPORT_MAX) {
            log_error("worker %d (%s) sent more than %u bytes; killing it",
                      (int)w->pid, w->what, WORKER_REPORT_MAX);
            kill(w->pid, SIGKILL);
            free(w->buf);
            w->buf = NULL;
            w->len = 0;
            break;
        }
        grown = realloc(w->buf, w->len + (size_t)n);
        if (!grown) {
            kill(w->pid, SIGKILL);
            break;
        }
        w->buf = grown;
        memcpy(w->buf + w->len, chunk, (size_t)n);
        w->len += (size_t)n;
    }
    worker_finish(d, w);
}

int worker_start(struct daemon *d, const char *what, const int *keep_fds,
                 size_t n_keep, worker_work_fn work, worker_done_fn done,
                 void *data, struct werr *err)
{
    struct worker *w;
    int pipefd[2];
    int r;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return werr_errno(err, neg_errno(), "creating a worker pipe failed");
    w = calloc(1, sizeof(*w));
    if (!w) {
        close(pipefd[0]);
        close(pipefd[1]);
        return werr_set(err, -ENOMEM, "out of memory");
    }
    snprintf(w->what, sizeof(w->what), "%s", what);
    w->done = done;
    w->data = data;
    w->pid = fork();
    if (w->pid < 0) {
        r = neg_errno();
        close(pipefd[0]);
        close(pipefd[1]);
        free(w);
        return werr_errno(err, r, "starting a worker for %s failed", what);
    }
    if (w->pid == 0) {
        close(pipefd[0]);
        worker_main(d, pipefd[1], keep_fds, n_keep, work, data);
    }
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    w->watch = (struct watch){.fd = pipefd[0], .fn = on_worker_output,
                              .data = w};
    r = loop_add(d, &w->watch, EPOLLIN);
    if (r < 0) {
        kill(w->pid, SIGKILL);
        waitpid(w->pid, NULL, 0);
        close(pipefd[0]);
        free(w);
        return werr_errno(err, r, "watching the worker for %s failed", what);
    }
    w->next = workers;
    workers = w;
    log_debug("worker %d started: %s", (int)w->pid, what);
    return 0;
}
