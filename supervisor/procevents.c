/* Programs executed in sandboxes, from the kernel's proc connector.  An
 * exec event is attributed to a sandbox by its pid namespace, which every
 * process of a sandbox shares, and becomes an audit event of the tenant.
 * The connector exists only in the initial network namespace.  A wardend
 * started in another one (as the tests start it) therefore opens the socket
 * from a thread that joins the namespace of pid 1 for that one call.  The
 * socket only receives events and changes nothing in that namespace. */
#include "supervisor/sbx.h"

#include "audit/procev.h"
#include "common/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

/* exec events recorded per sandbox before they are only counted, so a
 * build that runs thousands of compilers cannot flood the chain. */
#define PROCEV_MAX_EVENTS_PER_SANDBOX 2000

static struct watch procev_watch = {.fd = -1};

static ino_t pid_namespace_of(pid_t pid)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
    if (stat(path, &st) < 0)
        return 0;
    return st.st_ino;
}

static struct sbx *find_by_namespace(struct daemon *d, ino_t ns)
{
    for (struct sbx *s = d->sandboxes; s; s = s->next) {
        if (!s->pidns)
            s->pidns = pid_namespace_of(s->sb.pid);
        if (s->pidns == ns)
            return s;
    }
    return NULL;
}

static void record_exec(struct daemon *d, struct sbx *s,
                        const struct procev_info *info)
{
    struct werr err = {0};
    json_t *details;

    details = json_pack("{s:s, s:i, s:i, s:I, s:s, s:b, s:s}", "sandbox",
                        s->id, "pid", (int)info->pid, "ppid", (int)info->ppid,
                        "uid", (json_int_t)info->uid, "argv", info->cmdline,
                        "argv_truncated", info->cmdline_truncated, "user",
                        s->login);
    if (!details) /* the command line is not valid UTF-8 */
        details = json_pack("{s:s, s:i, s:s}", "sandbox", s->id, "pid",
                            (int)info->pid, "argv", "(not valid UTF-8)");
    if (db_begin(d->db, &err) < 0 ||
        record_event(d, NULL, s->tenant, "sandbox.exec", s->id, "ok",
                     details, &err) < 0 ||
        db_commit(d->db, &err) < 0) {
        db_rollback(d->db);
        log_error("sandbox %s: recording an exec failed: %s", s->id,
                  err.msg);
    }
    json_decref(details);
}

static int on_event(const struct procev_event *ev, void *userdata)
{
    struct daemon *d = userdata;
    struct procev_info info;
    struct werr err = {0};
    struct sbx *s;
    ino_t ns;

    if (ev->kind != PROCEV_EXEC || ev->pid != ev->tgid)
        return 0;
    ns = pid_namespace_of(ev->tgid);
    if (!ns)
        return 0;
    s = find_by_namespace(d, ns);
    if (!s || s->sb.pid == ev->tgid)
        return 0;
    if (++s->execs > PROCEV_MAX_EVENTS_PER_SANDBOX)
        return 0;
    /* The process may be gone already; then only its pid is known. */
    if (procev_info_read(ev->tgid, &info, &err) < 0) {
        memset(&info, 0, sizeof(info));
        info.pid = ev->tgid;
        snprintf(info.cmdline, sizeof(info.cmdline), "(exited)");
    }
    record_exec(d, s, &info);
    return 0;
}

static void on_readable(struct daemon *d, struct watch *w, uint32_t events)
{
    struct werr err = {0};

    (void)events;
    if (procev_read(w->fd, on_event, d, &err) < 0 && err.code != -EAGAIN) {
        if (err.code == -ENOBUFS)
            log_warning("exec events were lost: the kernel's queue "
                        "overflowed");
        else
            log_warning("reading exec events failed: %s", err.msg);
    }
}

struct open_attempt {
    int fd;
    struct werr err;
};

static void *open_in_initial_namespace(void *data)
{
    struct open_attempt *a = data;
    int ns = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);

    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
        a->fd = werr_errno(&a->err, neg_errno(),
                           "joining the initial network namespace failed");
    } else {
        a->fd = procev_open(&a->err);
    }
    if (ns >= 0)
        close(ns);
    return NULL;
}

static int open_connector(struct werr *err)
{
    struct open_attempt a = {.fd = -1};
    pthread_t thread;
    int fd = procev_open(err);

    if (fd >= 0 || err->code != -ECONNREFUSED)
        return fd;
    if (pthread_create(&thread, NULL, open_in_initial_namespace, &a) != 0)
        return fd;
    pthread_join(thread, NULL);
    if (a.fd < 0)
        *err = a.err;
    return a.fd;
}

void procevents_start(struct daemon *d)
{
    struct werr err = {0};
    int fd = open_connector(&err);

    if (fd < 0) {
        log_warning("executed programs will not be audited: %s", err.msg);
        return;
    }
    procev_watch = (struct watch){.fd = fd, .fn = on_readable};
    if (loop_add(d, &procev_watch, EPOLLIN) < 0) {
        log_warning("watching the proc connector failed");
        procev_close(fd);
        procev_watch.fd = -1;
    }
}

void procevents_stop(struct daemon *d)
{
    if (procev_watch.fd < 0)
        return;
    loop_del(d, &procev_watch);
    procev_close(procev_watch.fd);
    procev_watch.fd = -1;
}
