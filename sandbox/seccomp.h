/* Seccomp filter and privilege drop for sandboxed processes.
 *
 * The filter is built from a readable profile (config/seccomp.profile,
 * embedded in the binary as config_seccomp_profile).  Syscalls on the
 * allowlist run; known-dangerous ones are reported to the supervisor
 * through a user-notification descriptor and fail with EPERM; every
 * other syscall fails with ENOSYS so that libc falls back; foreign
 * architectures and x32 numbers kill the process. */
#ifndef WARDEN_SANDBOX_SECCOMP_H
#define WARDEN_SANDBOX_SECCOMP_H

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* The shipped profile, config/seccomp.profile, embedded at build time. */
extern const char config_seccomp_profile[];

/* Parse and compile profile_text to check it; used at daemon start so a
 * broken profile is reported before any sandbox starts. */
int sandbox_seccomp_check_profile(const char *profile_text, struct werr *err);

/* Empty every capability set (effective, permitted, inheritable, bounding,
 * ambient) of the calling thread, lock the securebits, set no_new_privs,
 * and read the state back to prove the drop (setuid(0) and raising
 * CAP_SYS_ADMIN must fail).  Call after switching to the sandbox user.
 * Clearing the bounding set needs CAP_SETPCAP, so set PR_SET_KEEPCAPS
 * before the uid switch.  This function then raises CAP_SETPCAP from the
 * permitted set and clears everything afterwards. */
int sandbox_drop_privileges(struct werr *err);

/* Load the filter compiled from profile_text into the calling process.
 * On success *ret_notify_fd is the user-notification listener for the
 * denied set (the caller passes it to the supervisor and closes it).
 * Requires no_new_privs already set.  Must be the last step before
 * execve(2). */
int sandbox_seccomp_install(const char *profile_text, int *ret_notify_fd,
                            struct werr *err);

/* One denied syscall, as reported by the notification descriptor. */
struct sandbox_seccomp_denial {
    pid_t pid;           /* in the supervisor's pid namespace */
    int syscall_nr;
    char syscall_name[64];
    uint64_t args[6];
};

/* Receive one notification from notify_fd, respond to it with EPERM and fill
 * ret.  Return 0, -EAGAIN when nothing is pending (the fd may be polled),
 * -ENOENT when the target died before the response (ret is filled when the
 * request could still be read, so the denial can be recorded), or -EPIPE
 * when no process uses the filter any more (the descriptor reports
 * POLLHUP and can be closed). */
int sandbox_seccomp_handle_notification(int notify_fd,
                                        struct sandbox_seccomp_denial *ret,
                                        struct werr *err);

#endif
