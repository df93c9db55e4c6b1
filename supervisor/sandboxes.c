/* Running sandboxes of the daemon. */
#include "supervisor/daemon.h"

int sandbox_caller(struct daemon *d, const char *sandbox_id,
                   struct caller *ret, struct werr *err)
{
    (void)d;
    (void)ret;
    /* TODO: bind sandbox request sockets to their sandbox's user once
     * sandboxes run under the daemon. */
    return werr_set(err, -ENOENT, "sandbox '%s' is not running", sandbox_id);
}

int tenant_apply_limits(struct daemon *d, const char *tenant,
                        struct werr *err)
{
    (void)d;
    (void)tenant;
    (void)err;
    return 0;
}
