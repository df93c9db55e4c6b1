/* Mounting from inside the sandbox, with mount(2) and the new mount API.
 *
 * Stopped by the seccomp filter (EPERM through the supervisor).  Without
 * the filter an unprivileged user still gets EPERM from mount(2), but the
 * new-mount-API calls on invalid descriptors would fail with EBADF, so
 * those attempts prove the filter itself. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    char dir[] = "/tmp/escape-mount-XXXXXX";
    int have_dir = mkdtemp(dir) != NULL;
    const char *target = have_dir ? dir : "/tmp";
    struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY};

    probe_name = "mount";
    EXPECT_ERRNO(EPERM, mount("none", target, "tmpfs", 0, NULL));
    EXPECT_ERRNO(EPERM, mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
    EXPECT_ERRNO(EPERM, mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL));
    EXPECT_ERRNO(EPERM, mount("/", target, NULL, MS_BIND | MS_REC, NULL));
    EXPECT_ERRNO(EPERM, umount2("/proc", MNT_DETACH));
    EXPECT_ERRNO(EPERM, syscall(SYS_pivot_root, ".", "."));
    EXPECT_ERRNO(EPERM, syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
    EXPECT_ERRNO(EPERM, syscall(SYS_fspick, AT_FDCWD, "/", FSPICK_CLOEXEC));
    EXPECT_ERRNO(EPERM, syscall(SYS_fsconfig, 3, FSCONFIG_CMD_CREATE, NULL,
                                NULL, 0));
    EXPECT_ERRNO(EPERM, syscall(SYS_fsmount, 3, FSMOUNT_CLOEXEC, 0));
    EXPECT_ERRNO(EPERM, syscall(SYS_open_tree, AT_FDCWD, "/",
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    EXPECT_ERRNO(EPERM, syscall(SYS_move_mount, AT_FDCWD, "/", AT_FDCWD,
                                target, 0));
    EXPECT_ERRNO(EPERM, syscall(SYS_mount_setattr, AT_FDCWD, "/",
                                AT_RECURSIVE, &attr, sizeof(attr)));
    if (have_dir)
        rmdir(dir);
    return probe_finish("mount, umount2, pivot_root and the new mount API "
                        "return EPERM");
}
