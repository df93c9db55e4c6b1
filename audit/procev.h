/* Executed programs from the kernel's process events connector.
 *
 * procev_open() subscribes a NETLINK_CONNECTOR socket to the proc
 * connector (CN_IDX_PROC) and waits for the kernel to acknowledge the
 * subscription.  That needs CAP_NET_ADMIN, the initial user and PID
 * namespaces, and the initial network namespace: the connector's kernel
 * socket exists only there, so from another network namespace the
 * subscription fails with -ECONNREFUSED and a message that says so.  The
 * daemon logs that and runs without exec auditing.
 *
 * Events name processes by the kernel's pid (thread id) and tgid
 * (process id) in the initial PID namespace.  procev_info_read() then
 * reads /proc for the details; a short-lived process may already be gone
 * (-ENOENT), and a pid reused in between gives another process's details,
 * a race inherent to the connector. */
#ifndef WARDEN_AUDIT_PROCEV_H
#define WARDEN_AUDIT_PROCEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Bytes of the command line kept; longer ones are cut and flagged. */
#define PROCEV_CMDLINE_MAX 1024
#define PROCEV_CGROUP_MAX 1024

enum procev_kind {
    PROCEV_FORK,
    PROCEV_EXEC,
    PROCEV_EXIT,
    PROCEV_KIND_MAX
};

struct procev_event {
    enum procev_kind kind;
    pid_t pid;           /* thread id */
    pid_t tgid;          /* process id */
    pid_t parent_pid;    /* PROCEV_FORK: parent thread id */
    pid_t parent_tgid;   /* PROCEV_FORK: parent process id */
    uint32_t exit_code;  /* PROCEV_EXIT: wait(2) status */
    uint32_t exit_signal; /* PROCEV_EXIT: signal sent to the parent */
    uint64_t timestamp_ns; /* CLOCK_MONOTONIC of the kernel, ns */
};

/* Called for each event; a negative return stops procev_read() and is
 * returned by it. */
typedef int (*procev_fn)(const struct procev_event *ev, void *userdata);

/* Open and subscribe a non-blocking socket; return its descriptor. */
int procev_open(struct werr *err);

/* Read every datagram queued on fd and call fn for each fork, exec and
 * exit event.  Returns the number of events, or -ENOBUFS when the socket
 * buffer overflowed and events were lost (the socket stays usable). */
int procev_read(int fd, procev_fn fn, void *userdata, struct werr *err);

/* Unsubscribe and close fd. */
void procev_close(int fd);

struct procev_info {
    pid_t pid;
    pid_t ppid;
    uid_t uid;   /* real uid */
    uid_t euid;  /* effective uid */
    char comm[17];
    /* argv joined by spaces, at most PROCEV_CMDLINE_MAX bytes. */
    char cmdline[PROCEV_CMDLINE_MAX + 1];
    bool cmdline_truncated;
    /* cgroup v2 path ("0::" line), or the first v1 hierarchy's path. */
    char cgroup[PROCEV_CGROUP_MAX];
};

/* Read /proc/PID/{cmdline,status,cgroup}.  -ENOENT when pid is gone. */
int procev_info_read(pid_t pid, struct procev_info *ret, struct werr *err);

#endif
