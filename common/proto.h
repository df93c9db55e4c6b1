/* The control protocol's framing, shared by wardend and the warden CLI.
 *
 * Each message is one JSON object on one line (newline-delimited JSON).
 * Descriptors travel as SCM_RIGHTS ancillary data attached to the first
 * byte of the line that refers to them.  docs/PROTOCOL.md describes the
 * messages themselves. */
#ifndef WARDEN_COMMON_PROTO_H
#define WARDEN_COMMON_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define PROTO_VERSION 1
#define PROTO_MAX_FDS 8

/* Wire error codes.  The CLI maps them to exit statuses. */
#define PROTO_E_INVALID "invalid_argument"
#define PROTO_E_NOT_FOUND "not_found"
#define PROTO_E_EXISTS "already_exists"
#define PROTO_E_DENIED "permission_denied"
#define PROTO_E_PRECONDITION "failed_precondition"
#define PROTO_E_UNAVAILABLE "unavailable"
#define PROTO_E_PROTOCOL "protocol_error"
#define PROTO_E_TOO_LARGE "request_too_large"
#define PROTO_E_INTERNAL "internal"

/* Map a negative errno from the daemon's code to a wire error code. */
const char *proto_error_code(int negative_errno);

/* Incoming byte stream split into lines, with received descriptors queued
 * in arrival order. */
struct proto_reader {
    char *buf;
    size_t len;
    size_t cap;
    size_t max_line;
    bool discarding;        /* dropping the rest of an oversized line */
    int fds[PROTO_MAX_FDS];
    size_t nfds;
};

void proto_reader_init(struct proto_reader *r, size_t max_line);
void proto_reader_free(struct proto_reader *r);

/* recvmsg() once from fd into r.  Return bytes read, 0 at end of stream,
 * -EAGAIN when nothing is available, or another negative errno. */
long proto_reader_fill(struct proto_reader *r, int fd);

/* Take the next complete line out of r as a heap string without the
 * newline.  Return 1 with *ret_line set, 0 when no line is complete, or
 * -EMSGSIZE once for a line longer than max_line (its bytes are dropped up
 * to the next newline). */
int proto_reader_next(struct proto_reader *r, char **ret_line);

/* Take the oldest received descriptor, or -1 when none is queued. */
int proto_reader_take_fd(struct proto_reader *r);

/* Serialize msg compactly, append a newline and send it on a blocking
 * socket with the given descriptors attached. */
int proto_send(int fd, json_t *msg, const int *fds, size_t nfds);

/* Encode and decode binary stream data as base64 (libsodium's original
 * variant). */
char *proto_b64_encode(const void *data, size_t len);
int proto_b64_decode(const char *text, unsigned char **ret_data,
                     size_t *ret_len);

#endif
