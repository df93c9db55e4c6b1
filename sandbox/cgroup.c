/* Tenant and sandbox cgroups on v2 or v1; see cgroup.h for the layout. */
#include "sandbox/cgroup.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fsutil.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_NAME_MAX 64
#define CPU_PERIOD_US 100000u
/* Polling step and limits for states the kernel reaches asynchronously. */
#define POLL_STEP_NS 5000000L
#define FREEZE_TIMEOUT_STEPS 400  /* 2 s */
#define EMPTY_TIMEOUT_STEPS 200   /* 1 s */
#define KILL_ROUNDS 100

static const char *const controller_names[CGROUP_CONTROLLER_MAX] = {
    [CGROUP_CONTROLLER_MEMORY] = "memory",
    [CGROUP_CONTROLLER_PIDS] = "pids",
    [CGROUP_CONTROLLER_CPU] = "cpu",
    [CGROUP_CONTROLLER_FREEZER] = "freezer",
};

struct cgroup_setup {
    enum cgroup_version version;
    /* Base directories: v2 uses dirs[0] only, v1 one per controller. */
    char *dirs[CGROUP_CONTROLLER_MAX];
    bool v2_cpu;  /* the cpu controller is enabled below the base on v2 */
};

static size_t n_dirs(const struct cgroup_setup *cg)
{
    return cg->version == CGROUP_VERSION_2 ? 1 : CGROUP_CONTROLLER_MAX;
}

static void poll_sleep(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = POLL_STEP_NS};

    nanosleep(&ts, NULL);
}

bool cgroup_name_valid(const char *name)
{
    size_t len;

    if (!name)
        return false;
    len = strlen(name);
    if (len == 0 || len > CGROUP_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return false;
    }
    return true;
}

/* Read a small file into buf (NUL-terminated). */
static int read_text(const char *path, char *buf, size_t size)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;

    if (fd < 0)
        return neg_errno();
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return neg_errno();
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return (int)len;
}

/* Write value to an existing control file in one write(2), as cgroupfs
 * parses each write on its own. */
static int write_text(const char *path, const char *value)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    size_t len = strlen(value);
    ssize_t n;

    if (fd < 0)
        return neg_errno();
    n = write(fd, value, len);
    if (n < 0)
        return neg_errno();
    return (size_t)n == len ? 0 : -EIO;
}

/* Find "key value" in a flat keyed file such as memory.events. */
static int read_key(const char *path, const char *key, uint64_t *ret)
{
    char buf[4096];
    size_t klen = strlen(key);
    int r = read_text(path, buf, sizeof(buf));

    if (r < 0)
        return r;
    for (char *line = buf; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            *ret = strtoull(line + klen + 1, NULL, 10);
            return 0;
        }
        line = next;
    }
    return -ENOENT;
}

static int read_u64(const char *path, uint64_t *ret)
{
    char buf[64];
    int r = read_text(path, buf, sizeof(buf));

    if (r < 0)
        return r;
    *ret = strtoull(buf, NULL, 10);
    return 0;
}

static bool path_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Whether the space-separated word list contains word. */
static bool word_in_list(const char *list, const char *word)
{
    size_t wlen = strlen(word);

    for (const char *p = list; (p = strstr(p, word)); p += wlen) {
        bool start = p == list || isspace((unsigned char)p[-1]);
        bool end = p[wlen] == '\0' || isspace((unsigned char)p[wlen]);
        if (start && end)
            return true;
    }
    return false;
}

/* Find the caller's cgroup in the membership file: the "0::" line for v2,
 * else the line whose controller list names controller. */
static int self_cgroup_path(const char *file, const char *controller,
                            char *buf, size_t size)
{
    _cleanup_fclose_ FILE *f = fopen(file, "re");
    char line[4096];

    if (!f)
        return neg_errno();
    while (fgets(line, sizeof(line), f)) {
        char *ctrls = strchr(line, ':');
        char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
        char *save = NULL;
        bool match = false;

        if (!path)
            continue;
        *ctrls++ = '\0';
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        if (!controller) {
            match = strcmp(line, "0") == 0 && *ctrls == '\0';
        } else {
            for (char *c = strtok_r(ctrls, ",", &save); c && !match;
                 c = strtok_r(NULL, ",", &save))
                match = strcmp(c, controller) == 0;
        }
        if (match) {
            if ((size_t)snprintf(buf, size, "%s", path) >= size)
                return -ENAMETOOLONG;
            return 0;
        }
    }
    return -ENOENT;
}

/* Join a, b and the optional c with slashes into buf; an overlong result
 * leaves buf empty, so no later open can hit a truncated path. */
static int join_path(char *buf, size_t size, const char *a, const char *b,
                     const char *c)
{
    const char *parts[] = {a, b, c};
    size_t len = 0;

    for (size_t i = 0; i < ARRAY_SIZE(parts) && parts[i]; i++) {
        size_t n = strlen(parts[i]);

        if (len + n + 2 > size) {
            buf[0] = '\0';
            return -ENAMETOOLONG;
        }
        if (i > 0)
            buf[len++] = '/';
        memcpy(buf + len, parts[i], n);
        len += n;
    }
    buf[len] = '\0';
    return 0;
}

/* Parent cgroup path inside one hierarchy: the configured one or the
 * caller's own.  controller is NULL for the unified hierarchy. */
static int parent_path(const struct cgroup_options *opts,
                       const char *controller, char *buf, size_t size,
                       struct werr *err)
{
    int r;

    if (opts->parent) {
        if ((size_t)snprintf(buf, size, "%s", opts->parent) >= size)
            return werr_set(err, -ENAMETOOLONG, "cgroup parent too long");
        return 0;
    }
    r = self_cgroup_path(opts->self_cgroup, controller, buf, size);
    if (r < 0)
        return werr_errno(err, r, "finding the %s cgroup of this process in '%s' failed",
                          controller ? controller : "unified",
                          opts->self_cgroup);
    return 0;
}

/* Build dir = root + parent + name, with no doubled slash. */
static int base_dir(const char *root, const char *parent, const char *name,
                    char **ret)
{
    const char *sep = parent[0] == '/' ? "" : "/";
    const char *rest = strcmp(parent, "/") == 0 ? "" : parent;

    if (asprintf(ret, "%s%s%s/%s", root, sep, rest, name) < 0)
        return -ENOMEM;
    return 0;
}

static int make_dir(const char *path, struct werr *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return werr_errno(err, neg_errno(), "creating cgroup '%s' failed",
                          path);
    return 0;
}

/* Enable the wanted controllers that dir offers in its subtree_control. */
static int v2_enable_controllers(const char *dir, bool *ret_cpu,
                                 struct werr *err)
{
    static const char *const wanted[] = {"memory", "pids", "cpu"};
    char path[PATH_MAX], avail[1024], enabled[1024], request[64] = "";
    int r;

    if (join_path(path, sizeof(path), dir, "cgroup.controllers", NULL) < 0 ||
        read_text(path, avail, sizeof(avail)) < 0)
        return werr_errno(err, neg_errno(), "reading '%s' failed", path);
    join_path(path, sizeof(path), dir, "cgroup.subtree_control", NULL);
    r = read_text(path, enabled, sizeof(enabled));
    if (r < 0)
        return werr_errno(err, r, "reading '%s' failed", path);
    for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
        if (!word_in_list(avail, wanted[i]) ||
            word_in_list(enabled, wanted[i]))
            continue;
        strcat(request, request[0] ? " +" : "+");
        strcat(request, wanted[i]);
    }
    if (ret_cpu)
        *ret_cpu = word_in_list(avail, "cpu");
    if (!request[0])
        return 0;
    r = write_text(path, request);
    if (r == -EBUSY)
        return werr_errno(err, r, "enabling '%s' in '%s' failed: the cgroup contains processes; run the supervisor in a leaf cgroup below a delegated one or configure a parent cgroup without processes",
                          request, path);
    if (r < 0)
        return werr_errno(err, r, "enabling '%s' in '%s' failed", request,
                          path);
    return 0;
}

/* Return the unified root whose parent cgroup offers memory and pids, or
 * NULL.  *pure is set when fs_root itself is the unified hierarchy. */
static const char *v2_usable_root(const struct cgroup_options *opts,
                                  char *rootbuf, size_t size, bool *pure)
{
    char path[PATH_MAX], parent[PATH_MAX], avail[1024];

    *pure = false;
    join_path(path, sizeof(path), opts->fs_root, "cgroup.controllers", NULL);
    if (path_exists(path)) {
        *pure = true;
        snprintf(rootbuf, size, "%s", opts->fs_root);
    } else {
        join_path(rootbuf, size, opts->fs_root, "unified", NULL);
        join_path(path, sizeof(path), rootbuf, "cgroup.controllers", NULL);
        if (!path_exists(path))
            return NULL;
    }
    if (parent_path(opts, NULL, parent, sizeof(parent), NULL) < 0)
        return NULL;
    if (join_path(path, sizeof(path), rootbuf, parent, "cgroup.controllers") < 0 ||
        read_text(path, avail, sizeof(avail)) < 0)
        return NULL;
    if (!word_in_list(avail, "memory") || !word_in_list(avail, "pids"))
        return NULL;
    return rootbuf;
}

static int setup_v2(struct cgroup_setup *cg, const struct cgroup_options *opts,
                    const char *root, struct werr *err)
{
    char parent[PATH_MAX], pdir[PATH_MAX];
    int r;

    r = parent_path(opts, NULL, parent, sizeof(parent), err);
    if (r < 0)
        return r;
    if (join_path(pdir, sizeof(pdir), root, parent, NULL) < 0 ||
        base_dir(root, parent, opts->name, &cg->dirs[0]) < 0)
        return werr_set(err, -ENAMETOOLONG, "cgroup path too long");
    r = v2_enable_controllers(pdir, NULL, err);
    if (r < 0)
        return r;
    r = make_dir(cg->dirs[0], err);
    if (r < 0)
        return r;
    return v2_enable_controllers(cg->dirs[0], &cg->v2_cpu, err);
}

static int setup_v1(struct cgroup_setup *cg, const struct cgroup_options *opts,
                    struct werr *err)
{
    for (int i = 0; i < CGROUP_CONTROLLER_MAX; i++) {
        const char *name = controller_names[i];
        char root[PATH_MAX], parent[PATH_MAX];
        int r;

        join_path(root, sizeof(root), opts->fs_root, name, NULL);
        if (!path_exists(root))
            return werr_set(err, -ENOENT, "cgroup v1 hierarchy '%s' is missing: mount the %s controller there or use a host with cgroup v2 controllers",
                            root, name);
        r = parent_path(opts, name, parent, sizeof(parent), err);
        if (r < 0)
            return r;
        if (base_dir(root, parent, opts->name, &cg->dirs[i]) < 0)
            return -ENOMEM;
        r = make_dir(cg->dirs[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

int cgroup_setup_open(const struct cgroup_options *in,
                      struct cgroup_setup **ret, struct werr *err)
{
    struct cgroup_options opts = *in;
    struct cgroup_setup *cg;
    char rootbuf[PATH_MAX];
    const char *v2root;
    bool pure;
    int r;

    if (!opts.fs_root)
        opts.fs_root = "/sys/fs/cgroup";
    if (!opts.self_cgroup)
        opts.self_cgroup = "/proc/self/cgroup";
    if (!cgroup_name_valid(opts.name))
        return werr_set(err, -EINVAL, "invalid cgroup name '%s': use 1 to 64 letters, digits, '_', '-' or '.'",
                        opts.name ? opts.name : "(null)");
    if (opts.parent && (opts.parent[0] != '/' || strstr(opts.parent, "..")))
        return werr_set(err, -EINVAL, "invalid cgroup parent '%s': use an absolute path without '..'",
                        opts.parent);

    v2root = v2_usable_root(&opts, rootbuf, sizeof(rootbuf), &pure);
    if (opts.version == CGROUP_VERSION_AUTO)
        opts.version = v2root ? CGROUP_VERSION_2 : CGROUP_VERSION_1;
    if (opts.version == CGROUP_VERSION_2 && !v2root)
        return werr_set(err, -ENOTSUP, "cgroup v2 below '%s' offers no memory and pids controllers",
                        opts.fs_root);
    if (opts.version == CGROUP_VERSION_1 && pure)
        return werr_set(err, -ENOTSUP, "'%s' is a cgroup v2 hierarchy; cgroup v1 is not available",
                        opts.fs_root);

    cg = calloc(1, sizeof(*cg));
    if (!cg)
        return -ENOMEM;
    cg->version = opts.version;
    if (cg->version == CGROUP_VERSION_2)
        r = setup_v2(cg, &opts, v2root, err);
    else
        r = setup_v1(cg, &opts, err);
    if (r < 0) {
        cgroup_setup_free(cg);
        return r;
    }
    *ret = cg;
    return 0;
}

void cgroup_setup_free(struct cgroup_setup *cg)
{
    if (!cg)
        return;
    for (int i = 0; i < CGROUP_CONTROLLER_MAX; i++)
        free(cg->dirs[i]);
    free(cg);
}

enum cgroup_version cgroup_setup_version(const struct cgroup_setup *cg)
{
    return cg->version;
}

int cgroup_setup_remove(struct cgroup_setup *cg, struct werr *err)
{
    for (size_t i = 0; i < n_dirs(cg); i++)
        if (rmdir(cg->dirs[i]) < 0 && errno != ENOENT)
            return werr_errno(err, neg_errno(), "removing cgroup '%s' failed",
                              cg->dirs[i]);
    return 0;
}

static size_t ctrl_index(const struct cgroup_setup *cg,
                         enum cgroup_controller ctrl)
{
    return cg->version == CGROUP_VERSION_2 ? 0 : (size_t)ctrl;
}

/* Directory of a tenant or sandbox in hierarchy i, optionally with a file
 * name appended. */
static int cg_file(const struct cgroup_setup *cg, size_t i, const char *tenant,
                   const char *sandbox_id, const char *file, char *buf,
                   size_t size)
{
    int n = snprintf(buf, size, "%s/%s%s%s%s%s", cg->dirs[i], tenant,
                     sandbox_id ? "/" : "", sandbox_id ? sandbox_id : "",
                     file ? "/" : "", file ? file : "");

    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return -ENAMETOOLONG;
    }
    return 0;
}

int cgroup_path(const struct cgroup_setup *cg, const char *tenant,
                const char *sandbox_id, char *buf, size_t size)
{
    return cg_file(cg, ctrl_index(cg, CGROUP_CONTROLLER_MEMORY), tenant,
                   sandbox_id, NULL, buf, size);
}

static int check_names(const char *tenant, const char *sandbox_id,
                       struct werr *err)
{
    if (!cgroup_name_valid(tenant))
        return werr_set(err, -EINVAL, "invalid tenant cgroup name '%s'",
                        tenant ? tenant : "(null)");
    if (sandbox_id && !cgroup_name_valid(sandbox_id))
        return werr_set(err, -EINVAL, "invalid sandbox cgroup name '%s'",
                        sandbox_id);
    return 0;
}

/* Write value to file of the tenant or sandbox in the hierarchy of ctrl.
 * With optional set, a missing file is not an error. */
static int set_value(const struct cgroup_setup *cg, enum cgroup_controller ctrl,
                     const char *tenant, const char *sandbox_id,
                     const char *file, const char *value, bool optional,
                     struct werr *err)
{
    char path[PATH_MAX];
    int r;

    cg_file(cg, ctrl_index(cg, ctrl), tenant, sandbox_id, file, path,
            sizeof(path));
    r = write_text(path, value);
    if (r == -ENOENT && optional)
        return 0;
    if (r < 0)
        return werr_errno(err, r, "writing '%s' to '%s' failed", value, path);
    return 0;
}

static int set_memory_v1(const struct cgroup_setup *cg, const char *tenant,
                         const char *sandbox_id, uint64_t max,
                         struct werr *err)
{
    enum cgroup_controller m = CGROUP_CONTROLLER_MEMORY;
    char value[32];
    int r;

    /* memory+swap must stay >= memory: lift it first, then lower both. */
    snprintf(value, sizeof(value), "%" PRIu64, max);
    r = set_value(cg, m, tenant, sandbox_id, "memory.memsw.limit_in_bytes",
                  "-1", true, err);
    if (r >= 0)
        r = set_value(cg, m, tenant, sandbox_id, "memory.limit_in_bytes",
                      max ? value : "-1", false, err);
    if (r >= 0 && max)
        r = set_value(cg, m, tenant, sandbox_id,
                      "memory.memsw.limit_in_bytes", value, true, err);
    return r;
}

static int set_memory_v2(const struct cgroup_setup *cg, const char *tenant,
                         const char *sandbox_id, uint64_t max,
                         struct werr *err)
{
    enum cgroup_controller m = CGROUP_CONTROLLER_MEMORY;
    char value[32];
    int r;

    snprintf(value, sizeof(value), "%" PRIu64, max);
    r = set_value(cg, m, tenant, sandbox_id, "memory.max",
                  max ? value : "max", false, err);
    /* Without this, swap would let a tenant exceed memory.max. */
    if (r >= 0)
        r = set_value(cg, m, tenant, sandbox_id, "memory.swap.max",
                      max ? "0" : "max", true, err);
    return r;
}

static int set_cpu(const struct cgroup_setup *cg, const char *tenant,
                   const char *sandbox_id, uint32_t percent,
                   struct werr *err)
{
    enum cgroup_controller c = CGROUP_CONTROLLER_CPU;
    uint64_t quota = (uint64_t)percent * CPU_PERIOD_US / 100;
    char value[64];
    int r;

    if (cg->version == CGROUP_VERSION_2) {
        if (!cg->v2_cpu)
            return percent ? werr_set(err, -ENOTSUP, "the cpu controller is not available; remove the CPU limit")
                           : 0;
        if (percent)
            snprintf(value, sizeof(value), "%" PRIu64 " %u", quota,
                     CPU_PERIOD_US);
        else
            snprintf(value, sizeof(value), "max %u", CPU_PERIOD_US);
        return set_value(cg, c, tenant, sandbox_id, "cpu.max", value, false,
                         err);
    }
    snprintf(value, sizeof(value), "%u", CPU_PERIOD_US);
    r = set_value(cg, c, tenant, sandbox_id, "cpu.cfs_period_us", value,
                  false, err);
    snprintf(value, sizeof(value), "%" PRIu64, quota);
    if (r >= 0)
        r = set_value(cg, c, tenant, sandbox_id, "cpu.cfs_quota_us",
                      percent ? value : "-1", false, err);
    return r;
}

static int apply_limits(const struct cgroup_setup *cg, const char *tenant,
                        const char *sandbox_id,
                        const struct cgroup_limits *limits, struct werr *err)
{
    char value[32];
    int r;

    if (cg->version == CGROUP_VERSION_2)
        r = set_memory_v2(cg, tenant, sandbox_id, limits->memory_max, err);
    else
        r = set_memory_v1(cg, tenant, sandbox_id, limits->memory_max, err);
    if (r < 0)
        return r;

    snprintf(value, sizeof(value), "%" PRIu64, limits->pids_max);
    r = set_value(cg, CGROUP_CONTROLLER_PIDS, tenant, sandbox_id, "pids.max",
                  limits->pids_max ? value : "max", false, err);
    if (r < 0)
        return r;

    return set_cpu(cg, tenant, sandbox_id, limits->cpu_percent, err);
}

static int make_dirs(const struct cgroup_setup *cg, const char *tenant,
                     const char *sandbox_id, struct werr *err)
{
    for (size_t i = 0; i < n_dirs(cg); i++) {
        char path[PATH_MAX];
        int r;

        cg_file(cg, i, tenant, sandbox_id, NULL, path, sizeof(path));
        r = make_dir(path, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int cgroup_tenant_ensure(struct cgroup_setup *cg, const char *tenant,
                         const struct cgroup_limits *limits,
                         struct werr *err)
{
    char path[PATH_MAX];
    int r;

    r = check_names(tenant, NULL, err);
    if (r < 0)
        return r;
    r = make_dirs(cg, tenant, NULL, err);
    if (r < 0)
        return r;
    if (cg->version == CGROUP_VERSION_2) {
        cg_file(cg, 0, tenant, NULL, NULL, path, sizeof(path));
        r = v2_enable_controllers(path, NULL, err);
        if (r < 0)
            return r;
    }
    return limits ? apply_limits(cg, tenant, NULL, limits, err) : 0;
}

int cgroup_tenant_set_limits(struct cgroup_setup *cg, const char *tenant,
                             const struct cgroup_limits *limits,
                             struct werr *err)
{
    int r = check_names(tenant, NULL, err);

    return r < 0 ? r : apply_limits(cg, tenant, NULL, limits, err);
}

int cgroup_sandbox_create(struct cgroup_setup *cg, const char *tenant,
                          const char *sandbox_id,
                          const struct cgroup_limits *limits,
                          struct werr *err)
{
    int r;

    r = check_names(tenant, sandbox_id, err);
    if (r < 0)
        return r;
    r = make_dirs(cg, tenant, sandbox_id, err);
    if (r < 0)
        return r;
    return limits ? apply_limits(cg, tenant, sandbox_id, limits, err) : 0;
}

int cgroup_sandbox_attach(struct cgroup_setup *cg, const char *tenant,
                          const char *sandbox_id, pid_t pid,
                          struct werr *err)
{
    char value[32];
    int r;

    r = check_names(tenant, sandbox_id, err);
    if (r < 0)
        return r;
    snprintf(value, sizeof(value), "%d", (int)pid);
    for (size_t i = 0; i < n_dirs(cg); i++) {
        char path[PATH_MAX];

        cg_file(cg, i, tenant, sandbox_id, "cgroup.procs", path,
                sizeof(path));
        r = write_text(path, value);
        if (r < 0)
            return werr_errno(err, r, "moving pid %d into cgroup '%s' failed",
                              (int)pid, path);
    }
    return 0;
}

/* Whether the tenant's freezer reports the requested state. */
static int frozen_state(const struct cgroup_setup *cg, const char *tenant,
                        const char *sandbox_id, bool *ret)
{
    char path[PATH_MAX], buf[64];
    uint64_t v = 0;
    int r;

    if (cg->version == CGROUP_VERSION_2) {
        cg_file(cg, 0, tenant, sandbox_id, "cgroup.events", path,
                sizeof(path));
        r = read_key(path, "frozen", &v);
        *ret = v == 1;
        return r == -ENOENT ? 0 : r;
    }
    cg_file(cg, CGROUP_CONTROLLER_FREEZER, tenant, sandbox_id, "freezer.state",
            path, sizeof(path));
    r = read_text(path, buf, sizeof(buf));
    if (r < 0)
        return r;
    *ret = strncmp(buf, "FROZEN", 6) == 0;
    return 0;
}

static int set_frozen(struct cgroup_setup *cg, const char *tenant, bool frozen,
                      struct werr *err)
{
    bool v2 = cg->version == CGROUP_VERSION_2;
    const char *file = v2 ? "cgroup.freeze" : "freezer.state";
    const char *value = v2 ? (frozen ? "1" : "0")
                           : (frozen ? "FROZEN" : "THAWED");
    int r;

    r = check_names(tenant, NULL, err);
    if (r < 0)
        return r;
    r = set_value(cg, CGROUP_CONTROLLER_FREEZER, tenant, NULL, file, value,
                  false, err);
    if (r < 0)
        return r;
    for (int step = 0; step < FREEZE_TIMEOUT_STEPS; step++) {
        bool state = false;

        r = frozen_state(cg, tenant, NULL, &state);
        if (r < 0)
            return werr_errno(err, r, "reading the freezer state of tenant '%s' failed",
                              tenant);
        if (state == frozen)
            return 0;
        poll_sleep();
    }
    return werr_set(err, -ETIMEDOUT, "tenant '%s' did not become %s within 2 seconds",
                    tenant, frozen ? "frozen" : "thawed");
}

int cgroup_tenant_freeze(struct cgroup_setup *cg, const char *tenant,
                         struct werr *err)
{
    return set_frozen(cg, tenant, true, err);
}

int cgroup_tenant_thaw(struct cgroup_setup *cg, const char *tenant,
                       struct werr *err)
{
    return set_frozen(cg, tenant, false, err);
}

/* Send SIGKILL to every process listed in dir's cgroup.procs and its
 * subdirectories.  Count them into *count. */
static int kill_listed(const char *dir, int depth, unsigned *count)
{
    char path[PATH_MAX];
    _cleanup_fclose_ FILE *f = NULL;
    DIR *d;
    struct dirent *de;
    long pid;

    if (depth > 8)
        return -ELOOP;
    join_path(path, sizeof(path), dir, "cgroup.procs", NULL);
    f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : neg_errno();
    while (fscanf(f, "%ld", &pid) == 1) {
        if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
            (*count)++;
    }
    d = opendir(dir);
    if (!d)
        return neg_errno();
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        join_path(path, sizeof(path), dir, de->d_name, NULL);
        kill_listed(path, depth + 1, count);
    }
    closedir(d);
    return 0;
}

/* v1 (and v2 without cgroup.kill): frozen tasks cannot fork or exit, so
 * the list read while frozen is complete and its pids cannot be reused
 * before the kill lands. */
static int kill_by_freezing(struct cgroup_setup *cg, const char *tenant,
                            struct werr *err)
{
    char dir[PATH_MAX];
    size_t fi = ctrl_index(cg, CGROUP_CONTROLLER_FREEZER);

    cg_file(cg, fi, tenant, NULL, NULL, dir, sizeof(dir));
    for (int round = 0; round < KILL_ROUNDS; round++) {
        unsigned count = 0;
        int r = cgroup_tenant_freeze(cg, tenant, err);

        if (r < 0)
            return r;
        r = kill_listed(dir, 0, &count);
        int t = cgroup_tenant_thaw(cg, tenant, err);
        if (r < 0)
            return werr_errno(err, r, "killing the processes of tenant '%s' failed",
                              tenant);
        if (t < 0)
            return t;
        if (count == 0)
            return 0;
        poll_sleep();
    }
    return werr_set(err, -ETIMEDOUT, "tenant '%s' still has processes after %d kill rounds",
                    tenant, KILL_ROUNDS);
}

static int wait_unpopulated_v2(const char *dir, struct werr *err)
{
    char path[PATH_MAX];

    join_path(path, sizeof(path), dir, "cgroup.events", NULL);
    for (int step = 0; step < EMPTY_TIMEOUT_STEPS * 5; step++) {
        uint64_t populated = 1;
        int r = read_key(path, "populated", &populated);

        if (r < 0)
            return werr_errno(err, r, "reading '%s' failed", path);
        if (!populated)
            return 0;
        poll_sleep();
    }
    return werr_set(err, -ETIMEDOUT, "cgroup '%s' is still populated 5 seconds after cgroup.kill",
                    dir);
}

int cgroup_tenant_kill(struct cgroup_setup *cg, const char *tenant,
                       struct werr *err)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int r;

    r = check_names(tenant, NULL, err);
    if (r < 0)
        return r;
    if (cg->version == CGROUP_VERSION_1)
        return kill_by_freezing(cg, tenant, err);

    cg_file(cg, 0, tenant, NULL, NULL, dir, sizeof(dir));
    join_path(path, sizeof(path), dir, "cgroup.kill", NULL);
    r = write_text(path, "1");
    if (r == -ENOENT) /* kernels before 5.14 */
        return kill_by_freezing(cg, tenant, err);
    if (r < 0)
        return werr_errno(err, r, "writing '%s' failed", path);
    return wait_unpopulated_v2(dir, err);
}

/* rmdir, retrying while the kernel still releases exiting tasks. */
static int remove_dir(const char *path, struct werr *err)
{
    for (int step = 0; step < EMPTY_TIMEOUT_STEPS; step++) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            break;
        poll_sleep();
    }
    return werr_errno(err, neg_errno(), "removing cgroup '%s' failed", path);
}

int cgroup_sandbox_remove(struct cgroup_setup *cg, const char *tenant,
                          const char *sandbox_id, struct werr *err)
{
    int r;

    r = check_names(tenant, sandbox_id, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n_dirs(cg); i++) {
        char path[PATH_MAX];

        cg_file(cg, i, tenant, sandbox_id, NULL, path, sizeof(path));
        r = remove_dir(path, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Remove every child directory of dir, then dir. */
static int remove_with_children(const char *dir, struct werr *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int r = 0;

    if (!d)
        return errno == ENOENT ? 0 : werr_errno(err, neg_errno(), "opening cgroup '%s' failed", dir);
    while ((de = readdir(d)) && r >= 0) {
        char path[PATH_MAX];

        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        join_path(path, sizeof(path), dir, de->d_name, NULL);
        r = remove_dir(path, err);
    }
    closedir(d);
    return r < 0 ? r : remove_dir(dir, err);
}

int cgroup_tenant_remove(struct cgroup_setup *cg, const char *tenant,
                         struct werr *err)
{
    int r;

    r = check_names(tenant, NULL, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n_dirs(cg); i++) {
        char dir[PATH_MAX];

        cg_file(cg, i, tenant, NULL, NULL, dir, sizeof(dir));
        r = remove_with_children(dir, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Read a counter; a file or key the kernel does not provide counts as 0. */
static int stat_value(const struct cgroup_setup *cg, enum cgroup_controller c,
                      const char *tenant, const char *sandbox_id,
                      const char *file, const char *key, uint64_t *ret)
{
    char path[PATH_MAX];
    int r;

    cg_file(cg, ctrl_index(cg, c), tenant, sandbox_id, file, path,
            sizeof(path));
    r = key ? read_key(path, key, ret) : read_u64(path, ret);
    if (r == -ENOENT) {
        *ret = 0;
        return 0;
    }
    return r;
}

/* v1 counts oom_kill in the victim's cgroup and does not propagate it,
 * so a tenant's count adds its sandboxes' counts. */
static void add_children_v1(const struct cgroup_setup *cg,
                            enum cgroup_controller c, const char *tenant,
                            const char *file, const char *key, uint64_t *sum)
{
    char dir[PATH_MAX];
    struct dirent *de;
    DIR *d;

    cg_file(cg, ctrl_index(cg, c), tenant, NULL, NULL, dir, sizeof(dir));
    d = opendir(dir);
    if (!d)
        return;
    while ((de = readdir(d))) {
        uint64_t v = 0;

        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        if (stat_value(cg, c, tenant, de->d_name, file, key, &v) >= 0)
            *sum += v;
    }
    closedir(d);
}

static int read_stats(const struct cgroup_setup *cg, const char *tenant,
                      const char *sb, struct cgroup_stats *st)
{
    enum cgroup_controller m = CGROUP_CONTROLLER_MEMORY;
    enum cgroup_controller p = CGROUP_CONTROLLER_PIDS;
    bool v2 = cg->version == CGROUP_VERSION_2;
    int r;

    r = stat_value(cg, m, tenant, sb,
                   v2 ? "memory.current" : "memory.usage_in_bytes", NULL,
                   &st->memory_current);
    if (r >= 0)
        r = stat_value(cg, m, tenant, sb,
                       v2 ? "memory.events" : "memory.oom_control",
                       "oom_kill", &st->oom_kills);
    if (r >= 0)
        r = stat_value(cg, m, tenant, sb,
                       v2 ? "memory.events" : "memory.failcnt",
                       v2 ? "max" : NULL, &st->memory_max_hits);
    if (r >= 0)
        r = stat_value(cg, p, tenant, sb, "pids.current", NULL,
                       &st->pids_current);
    if (r >= 0)
        r = stat_value(cg, p, tenant, sb, "pids.events", "max",
                       &st->pids_max_hits);
    if (r >= 0)
        r = frozen_state(cg, tenant, sb, &st->frozen);
    if (r >= 0 && !v2) {
        uint64_t memsw = 0;

        /* With memory+swap limited too, the memsw counter fails first. */
        r = stat_value(cg, m, tenant, sb, "memory.memsw.failcnt", NULL,
                       &memsw);
        st->memory_max_hits += memsw;
    }
    if (r >= 0 && !v2 && !sb) {
        add_children_v1(cg, m, tenant, "memory.oom_control", "oom_kill",
                        &st->oom_kills);
        add_children_v1(cg, p, tenant, "pids.events", "max",
                        &st->pids_max_hits);
    }
    return r;
}

int cgroup_tenant_stats(const struct cgroup_setup *cg, const char *tenant,
                        struct cgroup_stats *ret, struct werr *err)
{
    struct cgroup_stats st = {0};
    int r;

    r = check_names(tenant, NULL, err);
    if (r < 0)
        return r;
    r = read_stats(cg, tenant, NULL, &st);
    if (r < 0)
        return werr_errno(err, r, "reading the cgroup statistics of tenant '%s' failed",
                          tenant);
    *ret = st;
    return 0;
}

int cgroup_sandbox_stats(const struct cgroup_setup *cg, const char *tenant,
                         const char *sandbox_id, struct cgroup_stats *ret,
                         struct werr *err)
{
    struct cgroup_stats st = {0};
    int r;

    r = check_names(tenant, sandbox_id, err);
    if (r < 0)
        return r;
    r = read_stats(cg, tenant, sandbox_id, &st);
    if (r < 0)
        return werr_errno(err, r, "reading the cgroup statistics of sandbox '%s' failed",
                          sandbox_id);
    *ret = st;
    return 0;
}
