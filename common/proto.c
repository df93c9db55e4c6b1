#include "common/proto.h"

#include "common/cleanup.h"
#include "common/fsutil.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *proto_error_code(int negative_errno)
{
    switch (-negative_errno) {
    case EINVAL:
    case ERANGE:
    case ENAMETOOLONG:
        return PROTO_E_INVALID;
    case ENOENT:
    case ESRCH:
        return PROTO_E_NOT_FOUND;
    case EEXIST:
        return PROTO_E_EXISTS;
    case EACCES:
    case EPERM:
        return PROTO_E_DENIED;
    case ENOTCONN:
    case ESTALE:
    case EBUSY:
    case EALREADY:
        return PROTO_E_PRECONDITION;
    case EAGAIN:
    case ECONNREFUSED:
    case EUSERS:
        return PROTO_E_UNAVAILABLE;
    case EMSGSIZE:
    case EFBIG:
        return PROTO_E_TOO_LARGE;
    case EPROTO:
    case EBADMSG:
        return PROTO_E_PROTOCOL;
    default:
        return PROTO_E_INTERNAL;
    }
}

void proto_reader_init(struct proto_reader *r, size_t max_line)
{
    memset(r, 0, sizeof(*r));
    r->max_line = max_line;
}

void proto_reader_free(struct proto_reader *r)
{
    free(r->buf);
    for (size_t i = 0; i < r->nfds; i++)
        close(r->fds[i]);
    memset(r, 0, sizeof(*r));
}

static void queue_fds(struct proto_reader *r, struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        size_t n;
        int *fds;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        fds = (int *)(void *)CMSG_DATA(c);
        for (size_t i = 0; i < n; i++) {
            if (r->nfds < PROTO_MAX_FDS)
                r->fds[r->nfds++] = fds[i];
            else
                close(fds[i]);
        }
    }
}

static int reserve(struct proto_reader *r, size_t extra)
{
    size_t want = r->len + extra;
    char *grown;

    if (want <= r->cap)
        return 0;
    want = want < 8192 ? 8192 : want;
    if (want < r->cap * 2)
        want = r->cap * 2;
    grown = realloc(r->buf, want);
    if (!grown)
        return -ENOMEM;
    r->buf = grown;
    r->cap = want;
    return 0;
}

long proto_reader_fill(struct proto_reader *r, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov;
    struct msghdr msg = {0};
    ssize_t n;
    int rc;

    rc = reserve(r, 65536);
    if (rc < 0)
        return rc;
    iov.iov_base = r->buf + r->len;
    iov.iov_len = r->cap - r->len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : neg_errno();
    queue_fds(r, &msg);
    r->len += (size_t)n;
    return n;
}

static void consume(struct proto_reader *r, size_t count)
{
    memmove(r->buf, r->buf + count, r->len - count);
    r->len -= count;
}

int proto_reader_next(struct proto_reader *r, char **ret_line)
{
    char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
    size_t line_len;
    char *line;

    if (r->discarding) {
        if (!nl) {
            r->len = 0;
            return 0;
        }
        consume(r, (size_t)(nl - r->buf) + 1);
        r->discarding = false;
        nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
    }
    if (!nl) {
        if (r->len > r->max_line) {
            r->len = 0;
            r->discarding = true;
            return -EMSGSIZE;
        }
        return 0;
    }
    line_len = (size_t)(nl - r->buf);
    if (line_len > r->max_line) {
        consume(r, line_len + 1);
        return -EMSGSIZE;
    }
    line = malloc(line_len + 1);
    if (!line)
        return -ENOMEM;
    memcpy(line, r->buf, line_len);
    line[line_len] = '\0';
    consume(r, line_len + 1);
    *ret_line = line;
    return 1;
}

int proto_reader_take_fd(struct proto_reader *r)
{
    int fd;

    if (r->nfds == 0)
        return -1;
    fd = r->fds[0];
    memmove(r->fds, r->fds + 1, (r->nfds - 1) * sizeof(int));
    r->nfds--;
    return fd;
}

static int send_with_fds(int fd, const char *data, size_t len,
                         const int *fds, size_t nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *c;
    ssize_t n;

    if (nfds > PROTO_MAX_FDS)
        return -EINVAL;
    memset(&control, 0, sizeof(control));
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    c = CMSG_FIRSTHDR(&msg);
    if (!c)
        return -EINVAL;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    do {
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return neg_errno();
    if ((size_t)n < len)
        return fs_write_all(fd, data + n, len - (size_t)n);
    return 0;
}

int proto_send(int fd, json_t *msg, const int *fds, size_t nfds)
{
    _cleanup_free_ char *text = NULL;
    size_t len;

    text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    len = strlen(text);
    text[len] = '\n';
    if (nfds > 0)
        return send_with_fds(fd, text, len + 1, fds, nfds);
    for (size_t off = 0; off < len + 1;) {
        ssize_t n = send(fd, text + off, len + 1 - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return neg_errno();
        }
        off += (size_t)n;
    }
    return 0;
}

char *proto_b64_encode(const void *data, size_t len)
{
    size_t out_len = sodium_base64_encoded_len(len,
                                               sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(out_len);

    if (!out)
        return NULL;
    sodium_bin2base64(out, out_len, data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int proto_b64_decode(const char *text, unsigned char **ret_data,
                     size_t *ret_len)
{
    size_t text_len = strlen(text);
    size_t max = text_len / 4 * 3 + 3;
    _cleanup_free_ unsigned char *out = malloc(max + 1);
    size_t out_len = 0;

    if (!out)
        return -ENOMEM;
    if (sodium_base642bin(out, max, text, text_len, NULL, &out_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return -EINVAL;
    *ret_data = TAKE_PTR(out);
    *ret_len = out_len;
    return 0;
}
