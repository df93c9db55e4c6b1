/* The byte relay between a sandbox's pty or pipes and its client.  Output
 * goes to the client as stream messages and to the session recording.
 * Input from the client goes to the sandbox through a small buffer, so a
 * sandbox that stops reading never blocks the daemon. */
#include "supervisor/sbx.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Input waiting for a sandbox beyond this is refused: the client is
 * typing or piping faster than the program reads. */
#define RELAY_MAX_INPUT (1u << 20)

static void send_bytes(struct sbx *s, const char *stream, const char *data,
                       size_t len)
{
    _cleanup_free_ char *text = NULL;
    json_t *msg;

    if (!s->conn)
        return;
    text = proto_b64_encode(data, len);
    if (!text)
        return;
    msg = json_pack("{s:s, s:s}", "stream", stream, "data", text);
    if (msg) {
        conn_reply(s->conn, msg);
        json_decref(msg);
    }
}

void relay_send_message(struct sbx *s, const char *text)
{
    json_t *msg;

    if (!s->conn)
        return;
    msg = json_pack("{s:s, s:s}", "stream", "message", "text", text);
    if (msg) {
        conn_reply(s->conn, msg);
        json_decref(msg);
    }
}

static void update_watch(struct sbx *s, struct watch *w, uint32_t events)
{
    if (w->fd >= 0)
        loop_mod(s->d, w, events);
}

static uint32_t output_events(const struct sbx *s)
{
    return s->output_paused ? 0 : EPOLLIN;
}

static void update_events(struct sbx *s)
{
    if (s->tty) {
        update_watch(s, &s->pty_watch,
                     output_events(s) | (s->in_len ? EPOLLOUT : 0));
        return;
    }
    update_watch(s, &s->out_watch, output_events(s));
    update_watch(s, &s->err_watch, output_events(s));
    update_watch(s, &s->in_watch, s->in_len ? EPOLLOUT : 0);
}

static void deliver(struct sbx *s, const char *stream, int log_fd,
                    const char *buf, size_t len)
{
    struct werr err = {0};

    if (log_fd >= 0) {
        if (write(log_fd, buf, len) < 0)
            log_warning("sandbox %s: writing its %s log failed: %s", s->id,
                        stream, strerror(errno));
        return;
    }
    if (s->cast && asciicast_write_output(s->cast, buf, len, &err) < 0)
        log_warning("sandbox %s: recording failed: %s", s->id, err.msg);
    send_bytes(s, stream, buf, len);
    if (s->conn && s->conn->out_bytes > SBX_OUT_HIGH_WATER) {
        s->output_paused = true;
        update_events(s);
    }
}

/* Read one chunk from fd; return false at end of file. */
static bool read_chunk(struct sbx *s, int fd, const char *stream, int log_fd)
{
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n > 0) {
        deliver(s, stream, log_fd, buf, (size_t)n);
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    /* EIO on a pty master means every slave descriptor is closed. */
    return false;
}

bool relay_drain(struct sbx *s)
{
    bool open = false;

    for (int i = 0; i < 64; i++) {
        bool more = false;
        if (s->tty && s->sb.pty_master >= 0)
            more |= read_chunk(s, s->sb.pty_master, "stdout", -1) &&
                    !s->exiting;
        if (!s->tty && s->sb.stdout_fd >= 0)
            more |= read_chunk(s, s->sb.stdout_fd, "stdout", s->log_fds[0]) &&
                    !s->exiting;
        if (!s->tty && s->sb.stderr_fd >= 0)
            more |= read_chunk(s, s->sb.stderr_fd, "stderr", s->log_fds[1]) &&
                    !s->exiting;
        open |= more;
        if (!more)
            break;
    }
    return open;
}

static void flush_input(struct sbx *s)
{
    int fd = s->tty ? s->sb.pty_master : s->sb.stdin_fd;
    ssize_t n;

    if (fd < 0 || s->in_len == 0)
        goto eof;
    n = write(fd, s->in_buf, s->in_len);
    if (n > 0) {
        memmove(s->in_buf, s->in_buf + n, s->in_len - (size_t)n);
        s->in_len -= (size_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        s->in_len = 0;
    }
eof:
    if (s->in_len == 0 && s->in_eof && !s->tty && s->sb.stdin_fd >= 0) {
        loop_del(s->d, &s->in_watch);
        close(s->sb.stdin_fd);
        s->sb.stdin_fd = -1;
        s->in_watch.fd = -1;
    }
    update_events(s);
}

static void on_output(struct daemon *d, struct watch *w, uint32_t events)
{
    struct sbx *s = w->data;
    bool open;

    (void)d;
    if (events & EPOLLOUT)
        flush_input(s);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    if (w == &s->pty_watch)
        open = read_chunk(s, w->fd, "stdout", -1);
    else if (w == &s->out_watch)
        open = read_chunk(s, w->fd, "stdout", s->log_fds[0]);
    else
        open = read_chunk(s, w->fd, "stderr", s->log_fds[1]);
    if (!open) {
        /* Stop watching; the exit arrives through the pidfd. */
        loop_del(d, w);
        w->fd = -1;
    }
}

static void on_input_ready(struct daemon *d, struct watch *w, uint32_t events)
{
    (void)d;
    (void)events;
    flush_input(w->data);
}

static void queue_input(struct sbx *s, const char *b64)
{
    unsigned char *data = NULL;
    size_t len = 0;
    struct werr err = {0};
    char *grown;

    if (proto_b64_decode(b64, &data, &len) < 0)
        return;
    if (s->in_len + len > RELAY_MAX_INPUT) {
        free(data);
        relay_send_message(s, "input dropped: the program is not reading "
                              "its input");
        return;
    }
    grown = realloc(s->in_buf, s->in_len + len);
    if (!grown) {
        free(data);
        return;
    }
    s->in_buf = grown;
    memcpy(s->in_buf + s->in_len, data, len);
    s->in_len += len;
    if (s->cast && asciicast_write_input(s->cast, data, len, &err) < 0)
        log_warning("sandbox %s: recording input failed: %s", s->id,
                    err.msg);
    free(data);
    flush_input(s);
}

static void apply_resize(struct sbx *s, json_t *msg)
{
    json_int_t rows = json_integer_value(json_object_get(msg, "rows"));
    json_int_t cols = json_integer_value(json_object_get(msg, "cols"));
    struct winsize ws;
    struct werr err = {0};

    if (!s->tty || rows < 1 || cols < 1 || rows > 1000 || cols > 1000)
        return;
    ws = (struct winsize){.ws_row = (unsigned short)rows,
                          .ws_col = (unsigned short)cols};
    ioctl(s->sb.pty_master, TIOCSWINSZ, &ws);
    if (s->cast)
        asciicast_write_resize(s->cast, (unsigned)cols, (unsigned)rows, &err);
}

static void forward_signal(struct sbx *s, json_t *msg)
{
    int sig = (int)json_integer_value(json_object_get(msg, "signal"));

    /* Only signals a user could send from a terminal are passed on. */
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
        sandbox_kill(&s->sb, sig);
}

static void on_client_line(struct conn *c, json_t *msg, void *data)
{
    struct sbx *s = data;
    const char *stream = json_string_value(json_object_get(msg, "stream"));

    (void)c;
    if (!stream || s->exiting)
        return;
    if (!strcmp(stream, "stdin")) {
        const char *text = json_string_value(json_object_get(msg, "data"));
        if (text)
            queue_input(s, text);
    } else if (!strcmp(stream, "stdin_eof")) {
        s->in_eof = true;
        if (s->tty) {
            /* End of input on a terminal is the EOF character (^D). */
            if (s->in_len + 1 <= RELAY_MAX_INPUT) {
                char *grown = realloc(s->in_buf, s->in_len + 1);
                if (grown) {
                    s->in_buf = grown;
                    s->in_buf[s->in_len++] = 4;
                }
            }
            flush_input(s);
        } else {
            flush_input(s);
        }
    } else if (!strcmp(stream, "resize")) {
        apply_resize(s, msg);
    } else if (!strcmp(stream, "signal")) {
        forward_signal(s, msg);
    }
}

static void on_client_drain(struct conn *c, void *data)
{
    struct sbx *s = data;

    (void)c;
    if (s->output_paused) {
        s->output_paused = false;
        update_events(s);
    }
}

static void on_client_close(struct conn *c, void *data)
{
    struct sbx *s = data;

    (void)c;
    s->conn = NULL;
    if (!s->exiting && s->log_fds[0] < 0) {
        log_info("sandbox %s: client left, ending the sandbox", s->id);
        sandbox_kill(&s->sb, SIGKILL);
    }
}

const struct conn_stream_ops relay_stream_ops = {
    .on_line = on_client_line,
    .on_drain = on_client_drain,
    .on_close = on_client_close,
};

static void add_watch(struct sbx *s, struct watch *w, int fd, watch_fn fn,
                      uint32_t events)
{
    *w = (struct watch){.fd = fd, .fn = fn, .data = s};
    if (fd >= 0 && loop_add(s->d, w, events) < 0) {
        log_error("sandbox %s: watching descriptor %d failed", s->id, fd);
        w->fd = -1;
    }
}

void relay_attach(struct sbx *s)
{
    if (s->tty) {
        add_watch(s, &s->pty_watch, s->sb.pty_master, on_output, EPOLLIN);
    } else {
        add_watch(s, &s->out_watch, s->sb.stdout_fd, on_output, EPOLLIN);
        add_watch(s, &s->err_watch, s->sb.stderr_fd, on_output, EPOLLIN);
        add_watch(s, &s->in_watch, s->sb.stdin_fd, on_input_ready, 0);
    }
    if (s->conn)
        conn_set_stream(s->conn, &relay_stream_ops, s);
}

void relay_detach(struct sbx *s)
{
    struct watch *watches[] = {&s->pty_watch, &s->out_watch, &s->err_watch,
                               &s->in_watch};

    for (size_t i = 0; i < ARRAY_SIZE(watches); i++) {
        if (watches[i]->fd >= 0)
            loop_del(s->d, watches[i]);
        watches[i]->fd = -1;
    }
    if (s->conn)
        conn_set_stream(s->conn, NULL, NULL);
}
