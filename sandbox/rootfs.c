/* The sandbox's root file system.
 *
 * The supervisor opens every host source as a detached mount
 * (open_tree(2) with OPEN_TREE_CLONE) with its own rights, because the
 * sandbox child, once in its user namespace, can no longer read
 * root-only host directories.  The child then builds a tmpfs root,
 * creates each mount point with openat2(2) refusing symbolic links (so a
 * link planted in a tenant's home cannot redirect a mount), moves the
 * detached mounts onto those descriptors with move_mount(2) and pivots.
 *
 * Mount flags: everything nosuid and nodev except the bound device
 * nodes; the root, /usr, /etc entries and read-only binds are read-only;
 * /dev/shm and /proc are noexec; /tmp allows exec because jobs run
 * scripts from it. */
#include "sandbox/internal.h"

#include "common/cleanup.h"
#include "common/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Host /etc entries that common programs (the dynamic loader, shells,
 * python3, vim.tiny, less, top) read; each is bound read-only when it
 * exists, and symbolic links are copied as links. */
static const char *const etc_entries[] = {
    "alternatives", "bash.bashrc", "inputrc",   "ld.so.cache",
    "ld.so.conf",   "ld.so.conf.d", "localtime", "mime.types",
    "os-release",   "profile",     "profile.d", "protocols",
    "python3",      "services",    "terminfo",  "vim",
};

/* Top-level directories of a root tree: links (merged /usr) are copied,
 * directories bound read-only. */
static const char *const top_entries[] = {
    "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
};

static const char *const device_names[] = {
    "null", "zero", "full", "random", "urandom", "tty",
};

#define ROOT_TMPFS_SIZE "4m"
#define SCRATCH_DIR "/tmp"

static int plan_add(struct rootfs_plan *p, enum rootfs_kind kind,
                    const char *target, int tree_fd, const char *text)
{
    struct rootfs_entry *grown, *e;

    grown = realloc(p->entries, (p->n_entries + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    p->entries = grown;
    e = &p->entries[p->n_entries];
    *e = (struct rootfs_entry){.kind = kind, .tree_fd = tree_fd,
                               .mode = 0644};
    e->target = strdup(target[0] == '/' ? target + 1 : target);
    e->text = text ? strdup(text) : NULL;
    if (!e->target || (text && !e->text)) {
        free(e->target);
        free(e->text);
        return -ENOMEM;
    }
    p->n_entries++;
    return 0;
}

/* Clone the mount tree at path (or at dirfd itself when path is "") and
 * set its flags.  Return the new entry or NULL with err set. */
static struct rootfs_entry *plan_add_tree(struct rootfs_plan *p, int dirfd,
                                          const char *path, const char *target,
                                          bool read_only, bool device,
                                          struct werr *err)
{
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID};
    _cleanup_close_ int fd = -1;
    struct rootfs_entry *e;
    struct stat st;

    if (!path[0])
        flags |= AT_EMPTY_PATH;
    fd = open_tree(dirfd, path, flags);
    if (fd < 0) {
        werr_errno(err, neg_errno(), "opening '%s' for /%s failed",
                   path[0] ? path : "(descriptor)", target);
        return NULL;
    }
    attr.attr_set |= (device ? 0 : MOUNT_ATTR_NODEV) |
                     (read_only ? MOUNT_ATTR_RDONLY : 0);
    if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                      sizeof(attr)) < 0 ||
        fstat(fd, &st) < 0) {
        werr_errno(err, neg_errno(), "setting mount flags for /%s failed",
                   target);
        return NULL;
    }
    if (plan_add(p, ROOTFS_TREE, target, fd, NULL) < 0) {
        werr_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    fd = -1;
    e = &p->entries[p->n_entries - 1];
    e->is_dir = S_ISDIR(st.st_mode);
    e->read_only = read_only;
    e->device = device;
    return e;
}

/* Add dir/name as target: a link is copied, anything else bound.  A
 * missing entry is skipped. */
static int plan_add_host_entry(struct rootfs_plan *p, const char *dir,
                               const char *name, const char *target,
                               struct werr *err)
{
    char path[PATH_MAX], link[PATH_MAX];
    struct stat st;
    ssize_t n;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path))
        return werr_set(err, -ENAMETOOLONG, "path '%s/%s' too long", dir,
                        name);
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : werr_errno(err, neg_errno(), "reading '%s' failed", path);
    if (!S_ISLNK(st.st_mode))
        return plan_add_tree(p, AT_FDCWD, path, target, true, false, err)
                   ? 0
                   : err->code;
    n = readlink(path, link, sizeof(link) - 1);
    if (n < 0)
        return werr_errno(err, neg_errno(), "reading link '%s' failed", path);
    link[n] = '\0';
    if (plan_add(p, ROOTFS_SYMLINK, target, -1, link) < 0)
        return werr_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int plan_add_file(struct rootfs_plan *p, const char *target,
                         const char *text, struct werr *err)
{
    if (plan_add(p, ROOTFS_FILE, target, -1, text) < 0)
        return werr_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int plan_add_etc(struct rootfs_plan *p, const struct sandbox_spec *spec,
                        const char *home, struct werr *err)
{
    const char *host = spec->hostname ? spec->hostname : "sandbox";
    const char *shell = spec->shell ? spec->shell : "/bin/sh";
    char buf[PATH_MAX + 1024];
    int r, n;

    n = snprintf(buf, sizeof(buf),
                 "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                 "%s:x:%u:%u::%s:%s\n"
                 "nobody:x:65534:65534:nobody:/nonexistent:"
                 "/usr/sbin/nologin\n",
                 spec->user_name, spec->uid, spec->gid, home, shell);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return werr_set(err, -ENAMETOOLONG, "home path or shell too long");
    r = plan_add_file(p, "etc/passwd", buf, err);
    snprintf(buf, sizeof(buf),
             "root:x:0:\ntty:x:5:\n%s:x:%u:\nnogroup:x:65534:\n",
             spec->user_name, spec->gid);
    if (r >= 0)
        r = plan_add_file(p, "etc/group", buf, err);
    snprintf(buf, sizeof(buf), "%s\n", host);
    if (r >= 0)
        r = plan_add_file(p, "etc/hostname", buf, err);
    snprintf(buf, sizeof(buf),
             "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t%s\n", host);
    if (r >= 0)
        r = plan_add_file(p, "etc/hosts", buf, err);
    if (r >= 0)
        r = plan_add_file(p, "etc/resolv.conf", "", err);
    if (r >= 0)
        r = plan_add_file(p, "etc/nsswitch.conf",
                          "passwd: files\ngroup: files\nshadow: files\n"
                          "hosts: files\nnetworks: files\n"
                          "protocols: files\nservices: files\n",
                          err);
    return r;
}

static int plan_add_base(struct rootfs_plan *p, const char *rootfs,
                         struct werr *err)
{
    char etc[PATH_MAX], target[PATH_MAX];
    int r = 0;

    for (size_t i = 0; i < ARRAY_SIZE(top_entries) && r >= 0; i++)
        r = plan_add_host_entry(p, rootfs, top_entries[i], top_entries[i],
                                err);
    snprintf(etc, sizeof(etc), "%s/etc", strcmp(rootfs, "/") ? rootfs : "");
    for (size_t i = 0; i < ARRAY_SIZE(etc_entries) && r >= 0; i++) {
        snprintf(target, sizeof(target), "etc/%s", etc_entries[i]);
        r = plan_add_host_entry(p, etc, etc_entries[i], target, err);
    }
    return r;
}

static int plan_add_dev(struct rootfs_plan *p, struct werr *err)
{
    static const char *const links[][2] = {
        {"dev/ptmx", "pts/ptmx"},       {"dev/fd", "/proc/self/fd"},
        {"dev/stdin", "/proc/self/fd/0"}, {"dev/stdout", "/proc/self/fd/1"},
        {"dev/stderr", "/proc/self/fd/2"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(device_names); i++) {
        char src[64], target[64];

        snprintf(src, sizeof(src), "/dev/%s", device_names[i]);
        snprintf(target, sizeof(target), "dev/%s", device_names[i]);
        if (!plan_add_tree(p, AT_FDCWD, src, target, false, true, err))
            return err->code;
    }
    for (size_t i = 0; i < ARRAY_SIZE(links); i++)
        if (plan_add(p, ROOTFS_SYMLINK, links[i][0], -1, links[i][1]) < 0)
            return werr_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* A bind target must be absolute and normalized, and must not shadow a
 * mount that the sandbox sets up itself. */
static bool bind_target_valid(const char *t)
{
    static const char *const reserved[] = {"/proc", "/dev", "/tmp", "/etc",
                                           "/usr", "/run/warden"};

    if (t[0] != '/' || t[1] == '\0' || strstr(t, "//") ||
        t[strlen(t) - 1] == '/' || strlen(t) >= PATH_MAX / 2)
        return false;
    if (strstr(t, "/./") || strstr(t, "/../") ||
        !strcmp(strrchr(t, '/'), "/.") || !strcmp(strrchr(t, '/'), "/.."))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
        size_t n = strlen(reserved[i]);
        if (!strncmp(t, reserved[i], n) && (t[n] == '\0' || t[n] == '/'))
            return false;
    }
    return true;
}

static int plan_add_binds(struct rootfs_plan *p,
                          const struct sandbox_spec *spec, struct werr *err)
{
    for (size_t i = 0; i < spec->n_binds; i++) {
        const struct sandbox_bind *b = &spec->binds[i];
        bool by_fd = b->source_fd >= 0;

        if (!b->target || !bind_target_valid(b->target))
            return werr_set(err, -EINVAL, "invalid bind target '%s': use a normalized absolute path outside /proc, /dev, /tmp, /etc, /usr and /run/warden",
                            b->target ? b->target : "(null)");
        if (!by_fd && (!b->source || b->source[0] != '/'))
            return werr_set(err, -EINVAL, "invalid bind source for '%s': pass a descriptor or an absolute path",
                            b->target);
        if (!plan_add_tree(p, by_fd ? b->source_fd : AT_FDCWD,
                           by_fd ? "" : b->source, b->target, b->read_only,
                           false, err))
            return err->code;
    }
    return 0;
}

int rootfs_plan_prepare(const struct sandbox_spec *spec,
                        struct rootfs_plan *ret, struct werr *err)
{
    struct rootfs_plan p = {.tmp_size = spec->tmp_size, .uid = spec->uid,
                            .gid = spec->gid};
    char home[PATH_MAX];
    int r;

    if (spec->home_path)
        snprintf(home, sizeof(home), "%s", spec->home_path);
    else
        snprintf(home, sizeof(home), "/home/%s", spec->user_name);
    if (!bind_target_valid(home)) {
        return werr_set(err, -EINVAL, "invalid home path '%s': use a normalized absolute path such as /home/NAME",
                        home);
    }

    r = plan_add_base(&p, spec->rootfs ? spec->rootfs : "/", err);
    if (r >= 0)
        r = plan_add_etc(&p, spec, home, err);
    if (r >= 0)
        r = plan_add_dev(&p, err);
    if (r >= 0 && spec->home_fd >= 0 &&
        !plan_add_tree(&p, spec->home_fd, "", home, false, false, err))
        r = err->code;
    if (r >= 0 && spec->home_fd >= 0)
        p.home_target = strdup(home + 1);
    if (r >= 0)
        r = plan_add_binds(&p, spec, err);
    if (r >= 0 && spec->request_socket &&
        !plan_add_tree(&p, AT_FDCWD, spec->request_socket,
                       SANDBOX_REQUEST_SOCKET_PATH, true, false, err))
        r = err->code;
    if (r < 0) {
        rootfs_plan_free(&p);
        return r;
    }
    *ret = p;
    return 0;
}

void rootfs_plan_free(struct rootfs_plan *plan)
{
    for (size_t i = 0; i < plan->n_entries; i++) {
        struct rootfs_entry *e = &plan->entries[i];

        if (e->tree_fd >= 0)
            close(e->tree_fd);
        free(e->target);
        free(e->text);
    }
    free(plan->entries);
    free(plan->home_target);
    *plan = (struct rootfs_plan){0};
}

/* ---- In the sandbox child ---- */

#define NO_LINKS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* Open the directory holding path's last component, creating missing
 * directories one component at a time.  NOTE: directories created inside
 * a tenant's home for a bind target stay there, owned by uid 0 of the
 * sandbox.  No component may be a symbolic
 * link; mounts may be crossed (a bind target may lie in the home).
 * *ret_name points into buf. */
static int open_parent(int root, const char *path, char *buf, size_t size,
                       const char **ret_name)
{
    _cleanup_close_ int cur = -1;
    char *part, *slash;

    if ((size_t)snprintf(buf, size, "%s", path) >= size)
        return -ENAMETOOLONG;
    cur = fs_openat2(root, ".", O_PATH | O_DIRECTORY, 0, NO_LINKS);
    if (cur < 0)
        return cur;
    for (part = buf; (slash = strchr(part, '/')); part = slash + 1) {
        int next;

        *slash = '\0';
        if (mkdirat(cur, part, 0755) < 0 && errno != EEXIST)
            return neg_errno();
        next = fs_openat2(cur, part, O_PATH | O_DIRECTORY, 0, NO_LINKS);
        if (next < 0)
            return next;
        close(cur);
        cur = next;
    }
    *ret_name = part;
    return TAKE_FD(cur);
}

/* Create the mount point path (directory or empty file) unless it exists
 * with that type, and return an O_PATH descriptor of it. */
static int make_target(int root, const char *path, bool is_dir,
                       struct werr *err)
{
    _cleanup_close_ int parent = -1;
    char buf[PATH_MAX];
    const char *name;
    struct stat st;
    int fd;

    parent = open_parent(root, path, buf, sizeof(buf), &name);
    if (parent < 0)
        return werr_errno(err, parent, "creating the parents of /%s failed",
                          path);
    fd = fs_openat2(parent, name, O_PATH, 0, NO_LINKS);
    if (fd == -ENOENT) {
        int r = is_dir ? mkdirat(parent, name, 0755)
                       : openat(parent, name,
                                O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
                                    O_NONBLOCK | O_CLOEXEC,
                                0644);
        if (r < 0)
            return werr_errno(err, neg_errno(), "creating /%s failed", path);
        if (!is_dir)
            close(r);
        fd = fs_openat2(parent, name, O_PATH, 0, NO_LINKS);
    }
    if (fd < 0)
        return werr_errno(err, fd, "opening mount point /%s failed%s", path,
                          fd == -ELOOP ? " (it is a symbolic link)" : "");
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode) != is_dir) {
        close(fd);
        return werr_set(err, -ENOTDIR, "mount point /%s exists and is not a %s",
                        path, is_dir ? "directory" : "file");
    }
    return fd;
}

/* Attach the detached mount mnt at path below root. */
static int attach_at(int root, int mnt, const char *path, bool is_dir,
                     struct werr *err)
{
    _cleanup_close_ int target = make_target(root, path, is_dir, err);

    if (target < 0)
        return target;
    if (move_mount(mnt, "", target, "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return werr_errno(err, neg_errno(), "mounting /%s failed", path);
    return 0;
}

/* A new file system instance, detached; options are key=value pairs. */
static int new_mount(const char *fstype, const char *const *options,
                     unsigned attrs, struct werr *err)
{
    _cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
    int mnt;

    if (fs < 0)
        return werr_errno(err, neg_errno(), "creating a %s instance failed",
                          fstype);
    for (size_t i = 0; options && options[i]; i += 2)
        if (fsconfig(fs, FSCONFIG_SET_STRING, options[i], options[i + 1],
                     0) < 0)
            return werr_errno(err, neg_errno(), "setting %s=%s on %s failed",
                              options[i], options[i + 1], fstype);
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return werr_errno(err, neg_errno(), "creating the %s file system failed",
                          fstype);
    mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
    if (mnt < 0)
        return werr_errno(err, neg_errno(), "mounting %s failed", fstype);
    return mnt;
}

static int mount_new_at(int root, const char *path, const char *fstype,
                        const char *const *options, unsigned attrs,
                        struct werr *err)
{
    _cleanup_close_ int mnt = new_mount(fstype, options, attrs, err);

    if (mnt < 0)
        return werr_prefix(err, "mounting /%s", path);
    return attach_at(root, mnt, path, true, err);
}

static int apply_entry(int root, const struct rootfs_entry *e,
                       struct werr *err)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID};
    _cleanup_close_ int parent = -1, fd = -1;
    char buf[PATH_MAX];
    const char *name;
    int r;

    if (e->kind == ROOTFS_TREE) {
        r = attach_at(root, e->tree_fd, e->target, e->is_dir, err);
        if (r < 0)
            return r;
        /* Set the flags again, now from inside the mount namespace that
         * owns the mount. */
        attr.attr_set |= (e->device ? 0 : MOUNT_ATTR_NODEV) |
                         (e->read_only ? MOUNT_ATTR_RDONLY : 0);
        if (mount_setattr(e->tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                          sizeof(attr)) < 0)
            return werr_errno(err, neg_errno(), "setting flags on /%s failed",
                              e->target);
        return 0;
    }
    parent = open_parent(root, e->target, buf, sizeof(buf), &name);
    if (parent < 0)
        return werr_errno(err, parent, "creating the parents of /%s failed",
                          e->target);
    if (e->kind == ROOTFS_SYMLINK) {
        if (symlinkat(e->text, parent, name) < 0)
            return werr_errno(err, neg_errno(), "creating link /%s failed",
                              e->target);
        return 0;
    }
    fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
                e->mode);
    if (fd < 0 || fs_write_all(fd, e->text, strlen(e->text)) < 0)
        return werr_errno(err, neg_errno(), "writing /%s failed", e->target);
    return 0;
}

int rootfs_build(const struct rootfs_plan *plan, struct werr *err)
{
    static const char *const root_opts[] = {"size", ROOT_TMPFS_SIZE, "mode",
                                            "0755", NULL};
    static const char *const pts_opts[] = {"ptmxmode", "0666", "mode", "0620",
                                           "gid", "5", NULL};
    char size[32];
    const char *tmp_opts[] = {"size", size, "mode", "1777", NULL};
    _cleanup_close_ int root = -1;
    int r = 0;

    snprintf(size, sizeof(size), "%" PRIu64, plan->tmp_size);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return werr_errno(err, neg_errno(), "making mount propagation private failed");
    root = new_mount("tmpfs", root_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                     err);
    if (root < 0)
        return werr_prefix(err, "creating the new root");
    if (move_mount(root, "", AT_FDCWD, SCRATCH_DIR,
                   MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return werr_errno(err, neg_errno(), "attaching the new root at %s failed",
                          SCRATCH_DIR);

    for (size_t i = 0; i < plan->n_entries && r >= 0; i++)
        r = apply_entry(root, &plan->entries[i], err);
    if (r >= 0)
        r = mount_new_at(root, "tmp", "tmpfs", tmp_opts,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);
    if (r >= 0)
        r = mount_new_at(root, "dev/shm", "tmpfs", tmp_opts,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                             MOUNT_ATTR_NOEXEC,
                         err);
    /* devpts clears the nodev flag of user-namespace mounts for its own
     * nodes, and must not get MOUNT_ATTR_NODEV either. */
    if (r >= 0)
        r = mount_new_at(root, "dev/pts", "devpts", pts_opts,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
    if (r < 0)
        return r;
    return TAKE_FD(root);
}

/* Bind /dev/null of the new root over a proc file, if it exists. */
static int proc_mask_file(int root, const char *path, struct werr *err)
{
    _cleanup_close_ int target = -1, null = -1;

    target = fs_openat2(root, path, O_PATH, 0, NO_LINKS);
    if (target == -ENOENT)
        return 0;
    null = open_tree(root, "dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (target < 0 || null < 0)
        return werr_errno(err, target < 0 ? target : neg_errno(), "masking /%s failed",
                          path);
    if (move_mount(null, "", target, "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return werr_errno(err, neg_errno(), "masking /%s failed", path);
    return 0;
}

/* Cover a proc directory with an empty read-only tmpfs, if it exists. */
static int proc_mask_dir(int root, const char *path, struct werr *err)
{
    static const char *const opts[] = {"size", "4k", "mode", "0555", NULL};
    _cleanup_close_ int target = -1, mnt = -1;

    target = fs_openat2(root, path, O_PATH | O_DIRECTORY, 0, NO_LINKS);
    if (target == -ENOENT)
        return 0;
    if (target < 0)
        return werr_errno(err, target, "masking /%s failed", path);
    mnt = new_mount("tmpfs", opts, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                    err);
    if (mnt < 0)
        return werr_prefix(err, "masking /%s", path);
    if (move_mount(mnt, "", target, "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return werr_errno(err, neg_errno(), "masking /%s failed", path);
    return 0;
}

/* Bind a proc entry read-only over itself, if it exists. */
static int proc_read_only(int root, const char *path, struct werr *err)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY |
                                          MOUNT_ATTR_NOSUID |
                                          MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    _cleanup_close_ int target = -1, tree = -1;

    target = fs_openat2(root, path, O_PATH, 0, NO_LINKS);
    if (target == -ENOENT)
        return 0;
    tree = open_tree(root, path,
                     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (target < 0 || tree < 0)
        return werr_errno(err, target < 0 ? target : neg_errno(), "making /%s read-only failed",
                          path);
    if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                      sizeof(attr)) < 0 ||
        move_mount(tree, "", target, "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return werr_errno(err, neg_errno(), "making /%s read-only failed",
                          path);
    return 0;
}

int rootfs_mount_proc(int root, struct werr *err)
{
    static const char *const masked_files[] = {
        "proc/kcore",      "proc/keys",       "proc/timer_list",
        "proc/sched_debug", "proc/kallsyms",  "proc/latency_stats",
        "proc/timer_stats", "proc/kpagecount", "proc/kpageflags",
        "proc/kpagecgroup", "proc/config.gz", "proc/kmsg",
    };
    static const char *const masked_dirs[] = {"proc/acpi", "proc/scsi",
                                              "proc/asound", "proc/driver"};
    static const char *const read_only[] = {"proc/sys", "proc/irq",
                                            "proc/bus", "proc/fs",
                                            "proc/sysrq-trigger"};
    int r;

    r = mount_new_at(root, "proc", "proc", NULL,
                     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                     err);
    for (size_t i = 0; i < ARRAY_SIZE(masked_files) && r >= 0; i++)
        r = proc_mask_file(root, masked_files[i], err);
    for (size_t i = 0; i < ARRAY_SIZE(masked_dirs) && r >= 0; i++)
        r = proc_mask_dir(root, masked_dirs[i], err);
    for (size_t i = 0; i < ARRAY_SIZE(read_only) && r >= 0; i++)
        r = proc_read_only(root, read_only[i], err);
    return r;
}

int rootfs_pivot(int root, struct werr *err)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY |
                                          MOUNT_ATTR_NOSUID |
                                          MOUNT_ATTR_NODEV};

    if (mount_setattr(root, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
        return werr_errno(err, neg_errno(), "making the new root read-only failed");
    /* pivot_root(".", ".") stacks the old root on top of the new one;
     * detaching "." then removes the old root from this namespace. */
    if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        return werr_errno(err, neg_errno(), "pivot_root failed");
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        return werr_errno(err, neg_errno(), "detaching the old root failed");
    return 0;
}
