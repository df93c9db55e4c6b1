/* Capability and no_new_privs drop for the sandbox child, with proof.
 *
 * Dropping a capability from the bounding set needs CAP_SETPCAP in the
 * effective set.  The sandbox child switches to the sandbox user first,
 * which clears the effective and permitted sets unless PR_SET_KEEPCAPS was
 * set before the switch; so the caller either keeps its capabilities across
 * the uid switch with PR_SET_KEEPCAPS, or calls this before switching. */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <linux/securebits.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Securebits that make uid 0 and uid changes meaningless for capabilities
 * and lock that state for every descendant. */
#define LOCKED_SECUREBITS                                                      \
    (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |           \
     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |                 \
     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

static bool setpcap_permitted(void)
{
    cap_t caps = cap_get_proc();
    cap_flag_value_t v = CAP_CLEAR;

    if (caps) {
        cap_get_flag(caps, CAP_SETPCAP, CAP_PERMITTED, &v);
        cap_free(caps);
    }
    return v == CAP_SET;
}

/* Raise CAP_SETPCAP into the effective set when it is permitted, so the
 * bounding set and the securebits can be changed. */
static int raise_setpcap(struct werr *err)
{
    cap_value_t setpcap = CAP_SETPCAP;
    cap_t caps;
    int r = 0;

    if (!setpcap_permitted())
        return 0;
    caps = cap_get_proc();
    if (!caps)
        return werr_errno(err, neg_errno(), "reading capabilities failed");
    if (cap_set_flag(caps, CAP_EFFECTIVE, 1, &setpcap, CAP_SET) < 0 ||
        cap_set_proc(caps) < 0)
        r = werr_errno(err, neg_errno(), "raising CAP_SETPCAP failed");
    cap_free(caps);
    return r;
}

static int drop_bounding_set(struct werr *err)
{
    cap_value_t max = (cap_value_t)cap_max_bits();

    for (cap_value_t c = 0; c < max; c++) {
        if (cap_get_bound(c) != 1)
            continue;
        if (cap_drop_bound(c) < 0) {
            int r = neg_errno();
            char *name = cap_to_name(c);
            r = werr_errno(err, r,
                           "dropping %s from the bounding set failed; "
                           "keep CAP_SETPCAP across the uid switch with "
                           "PR_SET_KEEPCAPS or drop before switching",
                           name ? name : "a capability");
            cap_free(name);
            return r;
        }
    }
    return 0;
}

/* Lock the securebits when CAP_SETPCAP is still effective; without it the
 * bits cannot be set and the bounding-set check has already failed. */
static int lock_securebits(struct werr *err)
{
    unsigned bits = cap_get_secbits() | LOCKED_SECUREBITS;

    if (!setpcap_permitted())
        return 0;
    if (cap_set_secbits(bits) < 0)
        return werr_errno(err, neg_errno(), "setting securebits 0x%x failed",
                          bits);
    return 0;
}

static int clear_process_sets(struct werr *err)
{
    cap_t empty = cap_init();
    int r = 0;

    if (!empty)
        return werr_errno(err, neg_errno(), "cap_init failed");
    if (cap_set_proc(empty) < 0)
        r = werr_errno(err, neg_errno(), "clearing the effective, permitted "
                                         "and inheritable sets failed");
    cap_free(empty);
    return r;
}

/* Read the state back: every set empty, no_new_privs on. */
static int verify_dropped(struct werr *err)
{
    cap_value_t max = (cap_value_t)cap_max_bits();
    cap_t now = cap_get_proc(), empty = cap_init();
    int cmp = now && empty ? cap_compare(now, empty) : -1;

    cap_free(now);
    cap_free(empty);
    if (cmp != 0)
        return werr_set(err, -EPERM, "capability sets are not empty after "
                                     "the drop");
    for (cap_value_t c = 0; c < max; c++) {
        if (cap_get_bound(c) != 0)
            return werr_set(err, -EPERM, "capability %d is still in the "
                                         "bounding set", c);
        if (cap_get_ambient(c) > 0)
            return werr_set(err, -EPERM, "capability %d is still in the "
                                         "ambient set", c);
    }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return werr_set(err, -EPERM, "no_new_privs reads back as unset");
    return 0;
}

/* Try to get privileges back and expect every attempt to fail. */
static int verify_cannot_regain(struct werr *err)
{
    cap_value_t admin = CAP_SYS_ADMIN;
    cap_t caps = cap_init();
    int raised;

    if (!caps)
        return werr_errno(err, neg_errno(), "cap_init failed");
    cap_set_flag(caps, CAP_PERMITTED, 1, &admin, CAP_SET);
    cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_SET);
    raised = cap_set_proc(caps);
    cap_free(caps);
    if (raised == 0)
        return werr_set(err, -EPERM, "CAP_SYS_ADMIN could be raised again "
                                     "after the drop");

    if (getuid() != 0 && geteuid() != 0 && setuid(0) == 0)
        return werr_set(err, -EPERM, "setuid(0) succeeded after the drop");
    return 0;
}

int sandbox_drop_privileges(struct werr *err)
{
    int r;

    r = raise_setpcap(err);
    if (r < 0)
        return r;
    r = drop_bounding_set(err);
    if (r < 0)
        return r;
    r = lock_securebits(err);
    if (r < 0)
        return r;
    if (cap_reset_ambient() < 0)
        return werr_errno(err, neg_errno(), "clearing the ambient set failed");
    r = clear_process_sets(err);
    if (r < 0)
        return r;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return werr_errno(err, neg_errno(), "setting no_new_privs failed");

    r = verify_dropped(err);
    if (r < 0)
        return r;
    return verify_cannot_regain(err);
}
