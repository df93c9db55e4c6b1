/* Internal interfaces between the parts of the sandbox module. */
#ifndef WARDEN_SANDBOX_INTERNAL_H
#define WARDEN_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "common/err.h"
#include "sandbox/sandbox.h"

/* Messages on the setup socket (SOCK_SEQPACKET, one message per send). */
enum sync_type {
    SYNC_PID = 1,   /* launcher -> supervisor: pid in code, pidfd attached */
    SYNC_GO,        /* supervisor -> init: maps, cgroup and hook done */
    SYNC_ERROR,     /* sandbox -> supervisor: code and text */
    SYNC_PTY,       /* init -> supervisor: pty master attached */
    SYNC_SECCOMP,   /* workload -> supervisor: notify fd attached */
};

struct sync_msg {
    int type;
    int code;
    char text[WERR_MSG_MAX];
};

/* Send m with fd attached when fd >= 0. */
int sync_send(int sock, int type, int code, const char *text, int fd);
/* Receive one message; *ret_fd is the attached descriptor or -1.  Return
 * 0 on EOF, 1 on a message, or a negative errno. */
int sync_recv(int sock, struct sync_msg *m, int *ret_fd);

/* One mount, symbolic link or generated file of the new root. */
enum rootfs_kind {
    ROOTFS_TREE,    /* move tree_fd onto target */
    ROOTFS_SYMLINK, /* symlink target -> text */
    ROOTFS_FILE,    /* regular file target with contents text */
};

struct rootfs_entry {
    enum rootfs_kind kind;
    char *target;       /* relative to the new root, no leading slash */
    int tree_fd;        /* detached mount from open_tree(2), or -1 */
    bool is_dir;        /* mount point is a directory */
    bool read_only;
    bool device;        /* keep device access: no nodev */
    char *text;
    mode_t mode;
};

/* Everything the sandbox child needs, built by the supervisor before the
 * fork so that the child only runs system calls on it. */
struct rootfs_plan {
    struct rootfs_entry *entries;
    size_t n_entries;
    uint64_t tmp_size;
    uint32_t uid, gid;
    char *home_target;   /* relative, or NULL */
};

/* Open every host source (as detached mounts, in the supervisor's mount
 * namespace and with its rights) and generate /etc. */
int rootfs_plan_prepare(const struct sandbox_spec *spec,
                        struct rootfs_plan *ret, struct werr *err);
void rootfs_plan_free(struct rootfs_plan *plan);

/* In the sandbox child, after its uid maps exist: build the new root on a
 * tmpfs attached at a scratch directory.  Return its O_PATH descriptor. */
int rootfs_build(const struct rootfs_plan *plan, struct werr *err);

/* Mount proc and its masks below the new root, in the new pid namespace. */
int rootfs_mount_proc(int root, struct werr *err);

/* Make the new root the process root and detach the old one. */
int rootfs_pivot(int root, struct werr *err);

/* Open a pty in the new root's devpts: master and slave, slave owned by
 * uid and the tty group. */
int pty_open(int root, const struct winsize *ws, uid_t uid, int *ret_master,
             int *ret_slave, struct werr *err);

/* Sandbox init: everything after the root is built.  Never returns. */
struct sandbox_child_args {
    const struct sandbox_spec *spec;
    const struct rootfs_plan *plan;
    int sync_fd;
    int status_fd;
    int stdio[3];       /* child ends of the pipes, -1 for /dev/null */
    char **envp;
};
_Noreturn void sandbox_child_main(const struct sandbox_child_args *args);

#endif
