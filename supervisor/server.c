/* The control socket: accepting with peer credentials, per-uid connection
 * caps, line framing and non-blocking replies. */
#include "supervisor/conn.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A client that lets this much reply data pile up is not reading; it is
 * disconnected rather than allowed to grow the daemon's memory. */
#define CONN_MAX_QUEUED (32u << 20)

uint64_t conn_id(const struct conn *c)
{
    return c->id;
}

static void conn_free(struct daemon *d, struct conn *c)
{
    if (c->stream_ops && c->stream_ops->on_close)
        c->stream_ops->on_close(c, c->stream_data);
    loop_del(d, &c->watch);
    close(c->watch.fd);
    proto_reader_free(&c->reader);
    while (c->out_head) {
        struct out_chunk *next = c->out_head->next;
        for (size_t i = 0; i < c->out_head->nfds; i++)
            close(c->out_head->fds[i]);
        free(c->out_head->data);
        free(c->out_head);
        c->out_head = next;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    d->n_conns--;
    log_debug("connection %llu closed", (unsigned long long)c->id);
    loop_free_later(d, c);
}

static int send_chunk(int fd, struct out_chunk *chunk)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = chunk->data + chunk->off,
                        .iov_len = chunk->len - chunk->off};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n;

    if (chunk->nfds > 0 && chunk->off == 0) {
        struct cmsghdr *c;

        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * chunk->nfds);
        c = CMSG_FIRSTHDR(&msg);
        if (!c)
            return -EINVAL;
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * chunk->nfds);
        memcpy(CMSG_DATA(c), chunk->fds, sizeof(int) * chunk->nfds);
    }
    n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : neg_errno();
    if (n > 0 && chunk->nfds > 0 && chunk->off == 0) {
        for (size_t i = 0; i < chunk->nfds; i++)
            close(chunk->fds[i]);
        chunk->nfds = 0;
    }
    chunk->off += (size_t)n;
    return 0;
}

/* Send as much queued output as the socket takes.  Return 0, or a
 * negative errno when the connection is broken. */
static int conn_flush(struct conn *c)
{
    while (c->out_head) {
        struct out_chunk *chunk = c->out_head;
        size_t before = chunk->off;
        int r = send_chunk(c->watch.fd, chunk);

        if (r == -EAGAIN)
            break;
        if (r < 0)
            return r;
        c->out_bytes -= chunk->off - before;
        if (chunk->off < chunk->len)
            break;
        c->out_head = chunk->next;
        if (!c->out_head)
            c->out_tail = NULL;
        free(chunk->data);
        free(chunk);
    }
    return 0;
}

static void conn_update_events(struct conn *c)
{
    uint32_t events = c->closing ? 0 : EPOLLIN;

    /* A closing connection with nothing left to send still needs one more
     * event to be freed; a writable socket provides it at once. */
    if (c->out_head || c->closing)
        events |= EPOLLOUT;
    loop_mod(c->d, &c->watch, events | EPOLLRDHUP);
}

int conn_reply_fds(struct conn *c, json_t *msg, const int *fds, size_t nfds)
{
    struct out_chunk *chunk;
    char *text;
    size_t len;

    if (nfds > PROTO_MAX_FDS)
        return -EINVAL;
    text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    len = strlen(text);
    text[len] = '\n';
    chunk = calloc(1, sizeof(*chunk));
    if (!chunk) {
        free(text);
        return -ENOMEM;
    }
    chunk->data = text;
    chunk->len = len + 1;
    for (size_t i = 0; i < nfds; i++) {
        int dup_fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
            continue;
        chunk->fds[chunk->nfds++] = dup_fd;
    }
    if (c->out_tail)
        c->out_tail->next = chunk;
    else
        c->out_head = chunk;
    c->out_tail = chunk;
    c->out_bytes += chunk->len;
    if (c->out_bytes > CONN_MAX_QUEUED) {
        log_warning("connection %llu (uid %u) is not reading its replies; "
                    "disconnecting", (unsigned long long)c->id, c->uid);
        c->closing = true;
        conn_update_events(c);
        return -ENOBUFS;
    }
    if (conn_flush(c) < 0)
        c->closing = true;
    conn_update_events(c);
    return 0;
}

int conn_reply(struct conn *c, json_t *msg)
{
    return conn_reply_fds(c, msg, NULL, 0);
}

void conn_close_after_flush(struct conn *c)
{
    c->closing = true;
    conn_update_events(c);
}

void conn_set_stream(struct conn *c, const struct conn_stream_ops *ops,
                     void *data)
{
    c->stream_ops = ops;
    c->stream_data = data;
}

static void send_protocol_error(struct conn *c, const char *code,
                                const char *message)
{
    json_t *msg = json_pack("{s:i, s:n, s:b, s:{s:s, s:s}}", "v",
                            PROTO_VERSION, "id", "ok", 0, "error", "code",
                            code, "message", message);
    if (msg) {
        conn_reply(c, msg);
        json_decref(msg);
    }
}

static void handle_stream_line(struct conn *c, const char *line)
{
    json_error_t jerr;
    json_t *msg = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);

    if (!msg || !json_is_object(msg)) {
        json_decref(msg);
        return;
    }
    c->stream_ops->on_line(c, msg, c->stream_data);
    json_decref(msg);
}

static void conn_read(struct daemon *d, struct conn *c)
{
    for (;;) {
        long n = proto_reader_fill(&c->reader, c->watch.fd);
        char *line = NULL;
        int r;

        if (n == -EAGAIN)
            break;
        if (n <= 0) {
            c->closing = true;
            break;
        }
        while ((r = proto_reader_next(&c->reader, &line)) != 0) {
            if (r == -EMSGSIZE) {
                char message[160];
                snprintf(message, sizeof(message),
                         "request larger than the maximum of %u bytes",
                         d->cfg.max_request_bytes);
                log_warning("connection %llu (uid %u): %s",
                            (unsigned long long)c->id, c->uid, message);
                send_protocol_error(c, PROTO_E_TOO_LARGE, message);
                continue;
            }
            if (r < 0) {
                c->closing = true;
                break;
            }
            if (c->stream_ops)
                handle_stream_line(c, line);
            else
                dispatch_request(c, d, line);
            free(line);
            if (c->closing)
                break;
        }
        if (c->closing)
            break;
    }
}

static void on_conn_event(struct daemon *d, struct watch *w, uint32_t events)
{
    struct conn *c = w->data;

    if (events & EPOLLIN && !c->closing)
        conn_read(d, c);
    if (events & (EPOLLOUT | EPOLLIN)) {
        if (conn_flush(c) < 0) {
            conn_free(d, c);
            return;
        }
        if (c->stream_ops && c->stream_ops->on_drain && c->out_bytes == 0)
            c->stream_ops->on_drain(c, c->stream_data);
    }
    if ((events & (EPOLLHUP | EPOLLERR)) ||
        (c->closing && !c->out_head)) {
        conn_free(d, c);
        return;
    }
    if (events & EPOLLRDHUP && !c->stream_ops && !c->out_head) {
        conn_free(d, c);
        return;
    }
    conn_update_events(c);
}

static unsigned count_conns_of(struct daemon *d, uid_t uid)
{
    unsigned n = 0;

    for (struct conn *c = d->conns; c; c = c->next)
        if (c->uid == uid && !c->sandbox_id[0])
            n++;
    return n;
}

static struct conn *accept_one(struct daemon *d, int listen_fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct conn *c;
    int fd;

    fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_warning("accept failed: %s", strerror(errno));
        return NULL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        log_warning("reading peer credentials failed: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->d = d;
    c->id = ++d->next_conn_id;
    c->uid = cred.uid;
    c->gid = cred.gid;
    c->pid = cred.pid;
    c->watch = (struct watch){.fd = fd, .fn = on_conn_event, .data = c};
    proto_reader_init(&c->reader, d->cfg.max_request_bytes);
    return c;
}

static void link_conn(struct daemon *d, struct conn *c)
{
    c->next = d->conns;
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    d->n_conns++;
    if (loop_add(d, &c->watch, EPOLLIN | EPOLLRDHUP) < 0) {
        log_error("watching connection %llu failed: %s",
                  (unsigned long long)c->id, strerror(errno));
        conn_free(d, c);
    }
}

static void on_accept(struct daemon *d, struct watch *w, uint32_t events)
{
    struct conn *c;

    (void)events;
    while ((c = accept_one(d, w->fd))) {
        bool over = count_conns_of(d, c->uid) >= d->cfg.max_connections_per_uid;

        link_conn(d, c);
        log_debug("connection %llu from uid %u pid %d",
                  (unsigned long long)c->id, c->uid, c->pid);
        if (over) {
            log_warning("uid %u exceeds %u connections; refusing "
                        "connection %llu", c->uid,
                        d->cfg.max_connections_per_uid,
                        (unsigned long long)c->id);
            char message[192];

            snprintf(message, sizeof(message),
                     "too many connections from uid %u (the limit is %u, "
                     "set by max_connections_per_uid): close some and "
                     "retry",
                     c->uid, d->cfg.max_connections_per_uid);
            send_protocol_error(c, PROTO_E_UNAVAILABLE, message);
            conn_close_after_flush(c);
        }
    }
}

void server_on_sandbox_accept(struct daemon *d, struct watch *w,
                              uint32_t events)
{
    const char *sandbox_id = w->data;
    struct conn *c;

    (void)events;
    while ((c = accept_one(d, w->fd))) {
        snprintf(c->sandbox_id, sizeof(c->sandbox_id), "%s", sandbox_id);
        link_conn(d, c);
    }
}

int server_add_sandbox_listener(struct daemon *d, int listen_fd,
                                const char *sandbox_id, struct watch *w)
{
    *w = (struct watch){.fd = listen_fd, .fn = server_on_sandbox_accept,
                        .data = (void *)(uintptr_t)sandbox_id};
    return loop_add(d, w, EPOLLIN);
}

int server_listen(struct daemon *d, struct werr *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    const char *path = d->cfg.socket_path;
    mode_t old_umask;
    int fd, r;

    if (strlen(path) >= sizeof(addr.sun_path))
        return werr_set(err, -ENAMETOOLONG,
                        "socket path %s is longer than %zu bytes", path,
                        sizeof(addr.sun_path) - 1);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "creating the control socket "
                          "failed");
    if (unlink(path) < 0 && errno != ENOENT) {
        close(fd);
        return werr_errno(err, neg_errno(), "removing the stale socket %s "
                          "failed", path);
    }
    /* Everyone may connect; the daemon decides per request from the
     * peer's credentials. */
    old_umask = umask(0111);
    r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old_umask);
    if (r < 0 || listen(fd, 128) < 0) {
        r = neg_errno();
        close(fd);
        return werr_errno(err, r, "binding the control socket %s failed",
                          path);
    }
    d->listen_watch = (struct watch){.fd = fd, .fn = on_accept};
    return loop_add(d, &d->listen_watch, EPOLLIN);
}

void server_close_all(struct daemon *d)
{
    while (d->conns)
        conn_free(d, d->conns);
    if (d->listen_watch.fd >= 0) {
        loop_del(d, &d->listen_watch);
        close(d->listen_watch.fd);
        d->listen_watch.fd = -1;
        unlink(d->cfg.socket_path);
    }
}
