/* The kernel keyring is not namespaced: keys of a uid are shared across
 * containers that map to it, and keyctl has had privilege escalations.
 * Stopped by the seccomp filter (EPERM); without it these calls succeed
 * for any user, so the probe proves the filter. */
#define _GNU_SOURCE
#include <linux/keyctl.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    probe_name = "keyring";
    EXPECT_ERRNO(EPERM, syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING,
                                NULL));
    EXPECT_ERRNO(EPERM, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
                                KEY_SPEC_USER_KEYRING, 0));
    EXPECT_ERRNO(EPERM, syscall(SYS_add_key, "user", "warden-probe", "x", 1,
                                KEY_SPEC_SESSION_KEYRING));
    EXPECT_ERRNO(EPERM, syscall(SYS_request_key, "user", "warden-probe",
                                NULL, KEY_SPEC_SESSION_KEYRING));
    return probe_finish("keyctl, add_key and request_key return EPERM");
}
