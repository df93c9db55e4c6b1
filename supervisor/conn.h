/* One client connection of wardend: buffered, non-blocking, so that a slow
 * or stuck client never holds up another. */
#ifndef WARDEN_SUPERVISOR_CONN_H
#define WARDEN_SUPERVISOR_CONN_H

#include "supervisor/daemon.h"

struct out_chunk {
    char *data;
    size_t len;
    size_t off;
    int fds[PROTO_MAX_FDS];
    size_t nfds;
    struct out_chunk *next;
};

/* A connection that a streaming verb (shell, run) has taken over.  The
 * owner's callbacks receive the client's lines and the close. */
struct conn_stream_ops {
    void (*on_line)(struct conn *c, json_t *msg, void *data);
    void (*on_drain)(struct conn *c, void *data);
    void (*on_close)(struct conn *c, void *data);
};

struct conn {
    struct watch watch;
    struct daemon *d;
    struct conn *next;
    struct conn *prev;
    uint64_t id;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    char sandbox_id[32];     /* accepted on a sandbox's request socket */
    struct proto_reader reader;
    struct out_chunk *out_head;
    struct out_chunk *out_tail;
    size_t out_bytes;
    bool closing;            /* close once the output queue is empty */
    const struct conn_stream_ops *stream_ops;
    void *stream_data;
};

/* Stop reading client input and close after the queued output is sent. */
void conn_close_after_flush(struct conn *c);
/* Queue msg with descriptors (duplicated by the call). */
int conn_reply_fds(struct conn *c, json_t *msg, const int *fds, size_t nfds);
/* Hand the connection to a streaming verb. */
void conn_set_stream(struct conn *c, const struct conn_stream_ops *ops,
                     void *data);
/* Accept connections on an extra listening socket whose callers are the
 * user of sandbox_id (a sandbox's request socket). */
int server_add_sandbox_listener(struct daemon *d, int listen_fd,
                                const char *sandbox_id, struct watch *w);
void server_on_sandbox_accept(struct daemon *d, struct watch *w,
                              uint32_t events);

#endif
