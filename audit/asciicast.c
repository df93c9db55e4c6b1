/* asciicast v2 writer and player. */
#include "audit/asciicast.h"

#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { STREAM_OUTPUT, STREAM_INPUT, STREAM_MAX };

struct buffer {
    char *data;
    size_t len;
    size_t cap;
};

struct asciicast {
    int fd;
    char *name;
    struct timespec start;
    crypto_hash_sha256_state sha;
    /* Leading bytes of a UTF-8 sequence cut off at the end of a write. */
    unsigned char pending[STREAM_MAX][4];
    size_t n_pending[STREAM_MAX];
    struct buffer line;
};

static int buffer_reserve(struct buffer *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    char *grown;

    if (b->len + more <= b->cap)
        return 0;
    while (cap < b->len + more)
        cap *= 2;
    grown = realloc(b->data, cap);
    if (!grown)
        return -ENOMEM;
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int buffer_append(struct buffer *b, const void *data, size_t len)
{
    int r = buffer_reserve(b, len);

    if (r < 0)
        return r;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (1 to 4), 0 when it is invalid
 * and -1 when the n available bytes are a valid but unfinished start. */
static int utf8_sequence(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    int need;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef)
        need = 2;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 3;
    else
        return 0;
    /* The second byte's range excludes overlong forms, surrogates and
     * code points above U+10FFFF. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n)
            return -1;
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
            return 0;
    }
    return need + 1;
}

static int escape_ascii(struct buffer *b, unsigned char c)
{
    char esc[8];

    switch (c) {
    case '"':
        return buffer_append(b, "\\\"", 2);
    case '\\':
        return buffer_append(b, "\\\\", 2);
    case '\n':
        return buffer_append(b, "\\n", 2);
    case '\r':
        return buffer_append(b, "\\r", 2);
    case '\t':
        return buffer_append(b, "\\t", 2);
    default:
        break;
    }
    if (c >= 0x20 && c != 0x7f)
        return buffer_append(b, &c, 1);
    snprintf(esc, sizeof(esc), "\\u%04x", c);
    return buffer_append(b, esc, 6);
}

/* Append data as the body of a JSON string.  With hold_tail, an
 * unfinished sequence at the end is not written; its length is returned
 * through ret_held. */
static int escape_bytes(struct buffer *b, const unsigned char *data,
                        size_t len, bool hold_tail, size_t *ret_held)
{
    static const char replacement[] = "\xef\xbf\xbd";
    size_t i = 0;
    int r = 0;

    *ret_held = 0;
    while (i < len && r == 0) {
        int n = utf8_sequence(data + i, len - i);

        if (n == -1 && hold_tail) {
            *ret_held = len - i;
            break;
        }
        if (n <= 0) {
            r = buffer_append(b, replacement, 3);
            i++;
        } else if (n == 1) {
            r = escape_ascii(b, data[i++]);
        } else {
            r = buffer_append(b, data + i, (size_t)n);
            i += (size_t)n;
        }
    }
    return r;
}

static double elapsed(const struct asciicast *cast)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - cast->start.tv_sec) +
           (double)(now.tv_nsec - cast->start.tv_nsec) / 1e9;
}

static int write_line(struct asciicast *cast, struct werr *err)
{
    int r = fs_write_all(cast->fd, cast->line.data, cast->line.len);

    if (r < 0)
        return werr_errno(err, r, "cannot write recording '%s'", cast->name);
    crypto_hash_sha256_update(&cast->sha, (unsigned char *)cast->line.data,
                              cast->line.len);
    return 0;
}

/* Write one event line; for "o" and "i" the data is joined with the bytes
 * held back from the previous write of the same stream. */
static int write_event(struct asciicast *cast, char type, int stream,
                       const unsigned char *data, size_t len, bool flush,
                       struct werr *err)
{
    _cleanup_free_ unsigned char *joined = NULL;
    size_t held = 0, start;
    char prefix[48];
    int r;

    if (stream >= 0 && cast->n_pending[stream] > 0) {
        size_t n = cast->n_pending[stream];

        joined = malloc(n + len);
        if (!joined)
            return werr_set(err, -ENOMEM, "out of memory");
        memcpy(joined, cast->pending[stream], n);
        if (len > 0)
            memcpy(joined + n, data, len);
        data = joined;
        len += n;
        cast->n_pending[stream] = 0;
    }

    cast->line.len = 0;
    snprintf(prefix, sizeof(prefix), "[%.6f, \"%c\", \"", elapsed(cast), type);
    r = buffer_append(&cast->line, prefix, strlen(prefix));
    start = cast->line.len;
    if (r == 0)
        r = escape_bytes(&cast->line, data, len, stream >= 0 && !flush, &held);
    if (r == 0)
        r = buffer_append(&cast->line, "\"]\n", 3);
    if (r < 0)
        return werr_set(err, -ENOMEM, "out of memory");
    if (held > 0) {
        memcpy(cast->pending[stream], data + len - held, held);
        cast->n_pending[stream] = held;
    }
    /* Everything was held back: wait for the rest of the sequence. */
    if (cast->line.len == start + 3 && held > 0)
        return 0;
    return write_line(cast, err);
}

int asciicast_write_output(struct asciicast *cast, const void *data,
                           size_t len, struct werr *err)
{
    return write_event(cast, 'o', STREAM_OUTPUT, data, len, false, err);
}

int asciicast_write_input(struct asciicast *cast, const void *data,
                          size_t len, struct werr *err)
{
    return write_event(cast, 'i', STREAM_INPUT, data, len, false, err);
}

int asciicast_write_resize(struct asciicast *cast, unsigned cols,
                           unsigned rows, struct werr *err)
{
    char size[32];

    snprintf(size, sizeof(size), "%ux%u", cols, rows);
    return write_event(cast, 'r', -1, (unsigned char *)size, strlen(size),
                       true, err);
}

static json_t *header_json(unsigned width, unsigned height, const char *title,
                           const char *term, const char *shell)
{
    json_t *hdr = json_object();
    json_t *env = json_object();
    int r = 0;

    if (!hdr || !env) {
        json_decref(hdr);
        json_decref(env);
        return NULL;
    }
    if (term)
        r |= json_object_set_new(env, "TERM", json_string(term));
    if (shell)
        r |= json_object_set_new(env, "SHELL", json_string(shell));
    r |= json_object_set_new(hdr, "version", json_integer(2));
    r |= json_object_set_new(hdr, "width", json_integer(width));
    r |= json_object_set_new(hdr, "height", json_integer(height));
    r |= json_object_set_new(hdr, "timestamp", json_integer(time(NULL)));
    r |= json_object_set_new(hdr, "env", env);
    if (title)
        r |= json_object_set_new(hdr, "title", json_string(title));
    if (r != 0) {
        json_decref(hdr);
        return NULL;
    }
    return hdr;
}

static int write_header(struct asciicast *cast, json_t *hdr, struct werr *err)
{
    _cleanup_free_ char *text = json_dumps(hdr, JSON_COMPACT |
                                                    JSON_PRESERVE_ORDER);

    if (!text)
        return werr_set(err, -ENOMEM, "out of memory");
    cast->line.len = 0;
    if (buffer_append(&cast->line, text, strlen(text)) < 0 ||
        buffer_append(&cast->line, "\n", 1) < 0)
        return werr_set(err, -ENOMEM, "out of memory");
    return write_line(cast, err);
}

int asciicast_open(int dirfd, const char *name, unsigned width,
                   unsigned height, const char *title, const char *term,
                   const char *shell, struct asciicast **ret_cast,
                   struct werr *err)
{
    struct asciicast *cast;
    json_t *hdr;
    int r;

    hdr = header_json(width, height, title, term, shell);
    if (!hdr)
        return werr_set(err, -EINVAL, "invalid recording header: title, "
                                      "TERM and SHELL must be valid UTF-8");
    cast = calloc(1, sizeof(*cast));
    if (!cast || !(cast->name = strdup(name))) {
        free(cast);
        json_decref(hdr);
        return werr_set(err, -ENOMEM, "out of memory");
    }
    cast->fd = fs_open_beneath(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
                                                O_NOCTTY, 0600);
    if (cast->fd < 0) {
        r = werr_errno(err, cast->fd, "cannot create recording '%s'", name);
        asciicast_free(cast);
        json_decref(hdr);
        return r;
    }
    clock_gettime(CLOCK_MONOTONIC, &cast->start);
    crypto_hash_sha256_init(&cast->sha);
    r = write_header(cast, hdr, err);
    json_decref(hdr);
    if (r < 0) {
        asciicast_free(cast);
        return r;
    }
    *ret_cast = cast;
    return 0;
}

void asciicast_free(struct asciicast *cast)
{
    if (!cast)
        return;
    if (cast->fd >= 0)
        close(cast->fd);
    free(cast->name);
    free(cast->line.data);
    free(cast);
}

int asciicast_close(struct asciicast *cast, char ret_sha256[AUDIT_HEX_SIZE],
                    struct werr *err)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    int r = 0;

    if (cast->n_pending[STREAM_OUTPUT] > 0)
        r = write_event(cast, 'o', STREAM_OUTPUT, NULL, 0, true, err);
    if (r == 0 && cast->n_pending[STREAM_INPUT] > 0)
        r = write_event(cast, 'i', STREAM_INPUT, NULL, 0, true, err);
    if (r == 0 && fsync(cast->fd) < 0)
        r = werr_errno(err, neg_errno(), "cannot sync recording '%s'",
                       cast->name);
    if (r == 0) {
        crypto_hash_sha256_final(&cast->sha, digest);
        audit_hex(digest, sizeof(digest), ret_sha256);
    }
    asciicast_free(cast);
    return r;
}

/* Sleep until start + at seconds on CLOCK_MONOTONIC. */
static void sleep_until(const struct timespec *start, double at)
{
    struct timespec when = *start;
    time_t whole;

    if (at <= 0)
        return;
    whole = (time_t)at;
    when.tv_sec += whole;
    when.tv_nsec += (long)((at - (double)whole) * 1e9);
    if (when.tv_nsec >= 1000000000) {
        when.tv_sec++;
        when.tv_nsec -= 1000000000;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL) ==
           EINTR)
        ;
}

static int check_header(const char *line, struct werr *err)
{
    json_t *hdr = json_loads(line, 0, NULL);
    json_t *version = json_object_get(hdr, "version");
    int r = 0;

    if (!json_is_object(hdr) || json_integer_value(version) != 2)
        r = werr_set(err, -EINVAL, "invalid recording: the first line must "
                                   "be an asciicast v2 header");
    json_decref(hdr);
    return r;
}

struct player {
    int out_fd;
    double speed;
    double idle_limit;
    struct timespec start;
    double last_time; /* recording time of the previous event */
    double shift;     /* idle time cut so far */
};

static int play_event(struct player *p, const char *line, size_t lineno,
                      struct werr *err)
{
    /* Output may contain NUL bytes, which the writer escapes as \u0000. */
    json_t *ev = json_loads(line, JSON_ALLOW_NUL, NULL);
    json_t *data = json_array_get(ev, 2);
    const char *type = json_string_value(json_array_get(ev, 1));
    double t = json_number_value(json_array_get(ev, 0));
    int r = 0;

    if (!json_is_array(ev) || !type || !json_is_string(data) ||
        !json_is_number(json_array_get(ev, 0))) {
        json_decref(ev);
        return werr_set(err, -EINVAL, "invalid recording line %zu: expected "
                                      "[time, type, data]", lineno);
    }
    if (p->idle_limit > 0 && t - p->last_time > p->idle_limit)
        p->shift += t - p->last_time - p->idle_limit;
    p->last_time = t;
    if (strcmp(type, "o") == 0) {
        if (p->speed > 0)
            sleep_until(&p->start, (t - p->shift) / p->speed);
        r = fs_write_all(p->out_fd, json_string_value(data),
                         json_string_length(data));
        if (r < 0)
            r = werr_errno(err, r, "cannot write playback output");
    }
    json_decref(ev);
    return r;
}

int asciicast_play(int fd, int out_fd, double speed, double idle_limit,
                   struct werr *err)
{
    struct player p = {.out_fd = out_fd, .speed = speed,
                       .idle_limit = idle_limit};
    _cleanup_fclose_ FILE *f = NULL;
    _cleanup_free_ char *line = NULL;
    size_t cap = 0, lineno = 0;
    int copy, r = 0;
    ssize_t n;

    copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0)
        return werr_errno(err, neg_errno(), "cannot duplicate recording fd");
    f = fdopen(copy, "r");
    if (!f) {
        close(copy);
        return werr_errno(err, neg_errno(), "cannot read recording");
    }
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[0] == '\n')
            continue;
        if (lineno == 1)
            r = check_header(line, err);
        else
            r = play_event(&p, line, lineno, err);
    }
    if (r == 0 && lineno == 0)
        r = werr_set(err, -EINVAL, "invalid recording: the file is empty");
    return r;
}
