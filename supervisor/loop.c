/* The event loop: epoll over watches, signals through a signalfd and the
 * periodic work (expiry checks, audit checkpoints) through a timerfd. */
#include "supervisor/daemon.h"

#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64

int loop_add(struct daemon *d, struct watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};

    if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
        return neg_errno();
    return 0;
}

int loop_mod(struct daemon *d, struct watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};

    if (epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return neg_errno();
    return 0;
}

void loop_del(struct daemon *d, struct watch *w)
{
    if (w->fd >= 0)
        epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
    /* An event for w may still wait in the current batch: skip it. */
    w->fn = NULL;
}

/* Objects that contain watches are freed only after the current batch of
 * events, because a later event of the batch may still point into them. */
static void **free_later;
static size_t n_free_later, cap_free_later;

void loop_free_later(struct daemon *d, void *ptr)
{
    (void)d;
    if (!ptr)
        return;
    if (n_free_later == cap_free_later) {
        size_t cap = cap_free_later ? cap_free_later * 2 : 16;
        void **grown = realloc(free_later, cap * sizeof(*grown));

        if (!grown) {
            /* Leaking is safer than a use after free. */
            log_error("out of memory while deferring a free");
            return;
        }
        free_later = grown;
        cap_free_later = cap;
    }
    free_later[n_free_later++] = ptr;
}

void loop_free_pending(void)
{
    for (size_t i = 0; i < n_free_later; i++)
        free(free_later[i]);
    n_free_later = 0;
}

static void reload_config(struct daemon *d)
{
    struct warden_config fresh;
    struct werr err = {0};

    if (config_init_defaults(&fresh) < 0) {
        log_error("reload failed: out of memory");
        return;
    }
    if (config_load(&fresh, d->config_path, &err) < 0 ||
        config_validate(&fresh, &err) < 0) {
        log_error("reload of %s failed, keeping the running "
                  "configuration: %s", d->config_path, err.msg);
        config_free(&fresh);
        return;
    }
    /* Only settings that do not move files or sockets are reloaded. */
    d->cfg.log_level = fresh.log_level;
    log_set_level((enum log_level)fresh.log_level);
    d->cfg.max_request_bytes = fresh.max_request_bytes;
    d->cfg.max_connections_per_uid = fresh.max_connections_per_uid;
    if (fresh.retention_days > d->cfg.retention_days)
        d->cfg.retention_days = fresh.retention_days;
    d->cfg.checkpoint_events = fresh.checkpoint_events;
    d->cfg.checkpoint_seconds = fresh.checkpoint_seconds;
    d->cfg.sample_rows = fresh.sample_rows;
    d->cfg.max_export_bytes = fresh.max_export_bytes;
    d->cfg.small_count_threshold = fresh.small_count_threshold;
    config_free(&fresh);
    log_info("reloaded configuration from %s (log level %s)",
             d->config_path, log_level_to_string(log_get_level()));
}

static void on_signal(struct daemon *d, struct watch *w, uint32_t events)
{
    struct signalfd_siginfo si;

    (void)events;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            log_info("received %s from pid %u, shutting down",
                     strsignal((int)si.ssi_signo), si.ssi_pid);
            d->stopping = true;
            break;
        case SIGHUP:
            reload_config(d);
            break;
        default:
            break;
        }
    }
}

void daemon_periodic(struct daemon *d);

static void on_timer(struct daemon *d, struct watch *w, uint32_t events)
{
    uint64_t expirations;

    (void)events;
    if (read(w->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        log_warning("reading the timer failed: %s", strerror(errno));
    daemon_periodic(d);
}

static int setup_signals(struct daemon *d, struct werr *err)
{
    sigset_t mask;
    int fd;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return werr_errno(err, neg_errno(), "blocking signals failed");
    signal(SIGPIPE, SIG_IGN);
    fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "creating the signalfd failed");
    d->signal_watch = (struct watch){.fd = fd, .fn = on_signal};
    return loop_add(d, &d->signal_watch, EPOLLIN);
}

static int setup_timer(struct daemon *d, struct werr *err)
{
    struct itimerspec spec = {
        .it_value = {.tv_sec = 1},
        .it_interval = {.tv_sec = 1},
    };
    int fd;

    fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "creating the timerfd failed");
    if (timerfd_settime(fd, 0, &spec, NULL) < 0) {
        close(fd);
        return werr_errno(err, neg_errno(), "arming the timerfd failed");
    }
    d->timer_watch = (struct watch){.fd = fd, .fn = on_timer};
    return loop_add(d, &d->timer_watch, EPOLLIN);
}

int loop_setup(struct daemon *d, struct werr *err)
{
    int r;

    d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (d->epoll_fd < 0)
        return werr_errno(err, neg_errno(), "creating the epoll instance "
                          "failed");
    r = setup_signals(d, err);
    if (r < 0)
        return r;
    return setup_timer(d, err);
}

int loop_run(struct daemon *d)
{
    struct epoll_event events[LOOP_MAX_EVENTS];

    while (!d->stopping) {
        int n = epoll_wait(d->epoll_fd, events, LOOP_MAX_EVENTS, -1);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait failed: %s", strerror(errno));
            return neg_errno();
        }
        for (int i = 0; i < n && !d->stopping; i++) {
            struct watch *w = events[i].data.ptr;
            if (w->fn)
                w->fn(d, w, events[i].events);
        }
        loop_free_pending();
    }
    return 0;
}
