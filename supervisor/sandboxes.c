/* Running sandboxes of the daemon. */
#include "supervisor/daemon.h"

#include <stdio.h>

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

int sandboxes_tenant_action(struct daemon *d, const char *tenant,
                            enum tenant_sandbox_action action,
                            const char *message, struct werr *err)
{
    (void)d;
    (void)tenant;
    (void)action;
    (void)message;
    (void)err;
    return 0;
}

int workspace_path(struct daemon *d, const char *tenant, char *ret_path,
                   size_t size)
{
    if ((size_t)snprintf(ret_path, size, "%s/workspaces/%s", d->cfg.state_dir,
                         tenant) >= size)
        return -ENAMETOOLONG;
    return 0;
}

int network_tenant_cut(struct daemon *d, const char *tenant, bool cut,
                       struct werr *err)
{
    (void)d;
    (void)tenant;
    (void)cut;
    (void)err;
    return 0;
}

int network_tenant_remove(struct daemon *d, const char *tenant,
                          struct werr *err)
{
    (void)d;
    (void)tenant;
    (void)err;
    return 0;
}
