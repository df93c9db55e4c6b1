/* A sandbox as the daemon tracks it: the sandbox module's handle plus the
 * relay between its terminal or pipes and the client connection, its
 * recording, request socket and network attachment. */
#ifndef WARDEN_SUPERVISOR_SBX_H
#define WARDEN_SUPERVISOR_SBX_H

#include "supervisor/conn.h"

#include "audit/asciicast.h"
#include "netpolicy/netpolicy.h"
#include "sandbox/sandbox.h"

/* Output is read from the sandbox only while less than this is waiting
 * for the client, so a client that reads slowly slows its own sandbox
 * down instead of growing the daemon's memory. */
#define SBX_OUT_HIGH_WATER (1u << 20)
/* Seccomp denials recorded one by one per sandbox; later ones are
 * counted and summed up in the exit event. */
#define SBX_MAX_DENIAL_EVENTS 50

struct sbx;
typedef void (*sbx_exit_fn)(struct daemon *d, struct sbx *s, int status,
                            json_t *details);

struct sbx {
    struct daemon *d;
    struct sbx *next;
    char id[32];
    char tenant[64];
    int64_t tenant_id;
    int64_t uid_base;
    char login[64];
    uid_t uid;
    char kind[8];               /* shell, run or job */
    bool tty;
    time_t started_at;
    struct sandbox sb;
    struct watch pid_watch;
    struct watch pty_watch;     /* pty master: output and input */
    struct watch out_watch;
    struct watch err_watch;
    struct watch in_watch;
    struct watch seccomp_watch;
    struct watch request_watch; /* the sandbox's request socket */
    char request_dir[512];
    struct conn *conn;          /* the client, NULL once it left */
    struct asciicast *cast;
    char recording[160];        /* <tenant>/<id>.cast */
    char *in_buf;               /* input waiting for the sandbox */
    size_t in_len;
    bool in_eof;
    bool output_paused;
    bool exiting;
    uint64_t denials;
    uint64_t execs;             /* exec events seen by the proc connector */
    ino_t pidns;                /* inode of its pid namespace, 0: unknown */
    bool net_attached;
    struct netpolicy_attachment net;
    int log_fds[2];             /* jobs: files receiving stdout, stderr */
    sbx_exit_fn on_exit;        /* jobs: called after the exit is recorded */
    void *exit_data;
};

/* Parameters of sandbox_launch(): the program, its terminal, its mounts
 * and where its output goes. */
struct launch {
    const char *kind;
    const struct caller *who;
    char *const *argv;
    bool tty;
    struct winsize winsize;
    const char *term;
    bool production;            /* raw data views, no request socket */
    const struct sandbox_bind *binds;
    size_t n_binds;
    int log_fds[2];             /* -1: relay to conn instead */
    struct conn *conn;
    sbx_exit_fn on_exit;
    void *exit_data;
};

/* Start a sandbox for l->who in its tenant.  The request's transaction
 * must be open (the sandbox row is inserted in it). */
int sandbox_launch(struct daemon *d, const struct launch *l,
                   struct sbx **ret, struct werr *err);
struct sbx *sbx_find(struct daemon *d, const char *id);

/* relay.c */
void relay_attach(struct sbx *s);
void relay_detach(struct sbx *s);
/* Read what the sandbox wrote; return false at end of output. */
bool relay_drain(struct sbx *s);
void relay_send_message(struct sbx *s, const char *text);
extern const struct conn_stream_ops relay_stream_ops;

#endif
