/* File handles name an inode by number on a mounted file system, so
 * open_by_handle_at(2) can open files outside the sandbox root (the
 * "shocker" escape guesses the handle of the file system's root inode).
 * Stopped by the seccomp filter (EPERM); open_by_handle_at also needs
 * CAP_DAC_READ_SEARCH, which the sandbox user does not have.
 * name_to_handle_at is denied too, so handles cannot even be learned. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "syscall-probe.h"

int main(void)
{
    struct {
        struct file_handle fh;
        unsigned char bytes[MAX_HANDLE_SZ];
    } handle = {0};
    int mount_id, root;

    probe_name = "open_by_handle_at";
    handle.fh.handle_bytes = MAX_HANDLE_SZ;
    EXPECT_ERRNO(EPERM, name_to_handle_at(AT_FDCWD, "/", &handle.fh,
                                          &mount_id, 0));

    /* An ext4 root directory handle: inode 2, generation 0. */
    handle.fh.handle_bytes = 8;
    handle.fh.handle_type = 1;
    handle.bytes[0] = 2;
    root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_ERRNO(EPERM, open_by_handle_at(root, &handle.fh, O_RDONLY));
    EXPECT_ERRNO(EPERM, open_by_handle_at(AT_FDCWD, &handle.fh, O_PATH));
    if (root >= 0)
        close(root);
    return probe_finish("name_to_handle_at and open_by_handle_at return "
                        "EPERM");
}
