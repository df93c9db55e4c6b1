/* Control groups for tenants and sandboxes, on cgroup v2 or v1.
 *
 * Layout below a base directory (the caller's own cgroup, or a configured
 * parent, plus a configured name such as "warden"):
 *
 *     <base>/<tenant>/<sandbox id>
 *
 * Limits are set on the tenant directory and optionally on a sandbox.  On
 * v2 the base lives in the unified tree.  On v1 the same three levels exist
 * in each of the memory, pids, cpu and freezer hierarchies.  v2 is chosen
 * only when its tree offers the memory and pids controllers to the parent
 * cgroup; a hybrid host whose unified tree holds no usable controller gets
 * v1.  Every path is built from a root directory taken from the options,
 * so tests can point the code at a fake tree. */
#ifndef WARDEN_SANDBOX_CGROUP_H
#define WARDEN_SANDBOX_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

enum cgroup_version {
    CGROUP_VERSION_AUTO = 0,
    CGROUP_VERSION_1 = 1,
    CGROUP_VERSION_2 = 2,
};

/* The v1 hierarchies warden uses, in this order. */
enum cgroup_controller {
    CGROUP_CONTROLLER_MEMORY,
    CGROUP_CONTROLLER_PIDS,
    CGROUP_CONTROLLER_CPU,
    CGROUP_CONTROLLER_FREEZER,
    CGROUP_CONTROLLER_MAX
};

struct cgroup_options {
    const char *fs_root;      /* cgroup mount root; NULL: /sys/fs/cgroup */
    const char *self_cgroup;  /* membership file; NULL: /proc/self/cgroup */
    const char *name;         /* base directory name, e.g. "warden" */
    const char *parent;       /* parent cgroup path inside each hierarchy,
                                 e.g. "/system.slice/wardend.service";
                                 NULL: the caller's own cgroup */
    enum cgroup_version version; /* AUTO detects */
};

/* Limits; 0 in a field means "no limit". */
struct cgroup_limits {
    uint64_t memory_max;   /* bytes, memory.max / memory.limit_in_bytes */
    uint64_t pids_max;     /* tasks, pids.max */
    uint32_t cpu_percent;  /* percent of one CPU per 100 ms period;
                              250 allows two and a half CPUs */
};

struct cgroup_stats {
    uint64_t memory_current; /* bytes charged now */
    uint64_t oom_kills;      /* processes killed by the OOM killer */
    uint64_t memory_max_hits; /* v2 memory.events max, v1 memory.failcnt */
    uint64_t pids_current;
    uint64_t pids_max_hits;  /* forks refused at pids.max */
    bool frozen;
};

struct cgroup_setup;

/* Detect the cgroup version, find the parent cgroup and create the base
 * directory (and, on v2, enable the memory, pids and cpu controllers below
 * the parent and the base). */
int cgroup_setup_open(const struct cgroup_options *opts,
                      struct cgroup_setup **ret, struct werr *err);
void cgroup_setup_free(struct cgroup_setup *cg);
enum cgroup_version cgroup_setup_version(const struct cgroup_setup *cg);

/* Remove the base directory; fails with -EBUSY while a tenant remains. */
int cgroup_setup_remove(struct cgroup_setup *cg, struct werr *err);

/* Directory of a tenant (sandbox_id NULL) or of a sandbox: the unified
 * directory on v2, the memory hierarchy's on v1. */
int cgroup_path(const struct cgroup_setup *cg, const char *tenant,
                const char *sandbox_id, char *buf, size_t size);

/* Tenant and sandbox names: 1 to 64 of [A-Za-z0-9_.-], not starting with
 * a dot. */
bool cgroup_name_valid(const char *name);

/* Create the tenant cgroup if missing and apply limits. */
int cgroup_tenant_ensure(struct cgroup_setup *cg, const char *tenant,
                         const struct cgroup_limits *limits,
                         struct werr *err);
int cgroup_tenant_set_limits(struct cgroup_setup *cg, const char *tenant,
                             const struct cgroup_limits *limits,
                             struct werr *err);

/* Freeze every process of the tenant and wait until the kernel reports
 * the cgroup frozen (at most about two seconds). */
int cgroup_tenant_freeze(struct cgroup_setup *cg, const char *tenant,
                         struct werr *err);
int cgroup_tenant_thaw(struct cgroup_setup *cg, const char *tenant,
                       struct werr *err);

/* SIGKILL every process of the tenant and wait until its cgroups are
 * empty.  v2 uses cgroup.kill; v1 freezes, kills every listed task, thaws
 * and repeats. */
int cgroup_tenant_kill(struct cgroup_setup *cg, const char *tenant,
                       struct werr *err);

/* Remove the empty sandbox cgroups of the tenant, then the tenant's. */
int cgroup_tenant_remove(struct cgroup_setup *cg, const char *tenant,
                         struct werr *err);
/* Counters of the tenant.  v1 counts oom_kill and pids.events in the
 * victim's own cgroup without propagating them, so the tenant's figures add
 * those of its sandboxes that still exist: read them after a sandbox ends
 * and before cgroup_sandbox_remove() (or sandbox_destroy()). */
int cgroup_tenant_stats(const struct cgroup_setup *cg, const char *tenant,
                        struct cgroup_stats *ret, struct werr *err);

/* Create the sandbox cgroup below an existing tenant; limits may be NULL. */
int cgroup_sandbox_create(struct cgroup_setup *cg, const char *tenant,
                          const char *sandbox_id,
                          const struct cgroup_limits *limits,
                          struct werr *err);

/* Move pid (all its threads) into the sandbox cgroup. */
int cgroup_sandbox_attach(struct cgroup_setup *cg, const char *tenant,
                          const char *sandbox_id, pid_t pid,
                          struct werr *err);
int cgroup_sandbox_stats(const struct cgroup_setup *cg, const char *tenant,
                         const char *sandbox_id, struct cgroup_stats *ret,
                         struct werr *err);

/* Remove the sandbox cgroup, waiting up to about a second for its last
 * processes to be released by the kernel. */
int cgroup_sandbox_remove(struct cgroup_setup *cg, const char *tenant,
                          const char *sandbox_id, struct werr *err);

#endif
