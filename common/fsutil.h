/* Descriptor-based file system helpers.
 *
 * Paths inside a workspace or a sandbox root are always resolved relative
 * to a directory descriptor with openat2(2), so that a symbolic link or a
 * ".." planted by a tenant can never lead outside that directory. */
#ifndef WARDEN_COMMON_FSUTIL_H
#define WARDEN_COMMON_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/openat2.h>

/* openat2(2) with O_CLOEXEC always added.  resolve is a mask of RESOLVE_*
 * flags.  Return the descriptor or a negative errno. */
int fs_openat2(int dirfd, const char *path, int flags, mode_t mode,
               uint64_t resolve);

/* Open path below dirfd, treating dirfd as the root (RESOLVE_IN_ROOT) and
 * refusing every symbolic link and crossing into another mount. */
int fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/* Create every missing directory of path below dirfd (RESOLVE_IN_ROOT and
 * no symbolic links) with the given mode, and return an O_PATH-free
 * O_DIRECTORY descriptor of the last one. */
int fs_mkdir_p_beneath(int dirfd, const char *path, mode_t mode);

/* Write all of buf to fd, retrying on short writes and EINTR. */
int fs_write_all(int fd, const void *buf, size_t len);

/* Read the whole regular file at path (absolute or relative to dirfd) into
 * a NUL-terminated heap buffer; fail with -EFBIG above max bytes. */
int fs_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf,
                    size_t *ret_len);

/* Write data to path below dirfd through a temporary file, fsync and rename,
 * so readers see either the old or the new content. */
int fs_write_file_atomic(int dirfd, const char *path, const void *data,
                         size_t len, mode_t mode);

/* Remove the directory tree at name below dirfd without following any
 * symbolic link: links are unlinked, never traversed.  Count the removed
 * files and bytes into the optional counters.  Return 0 or -errno. */
int fs_remove_tree_at(int dirfd, const char *name, uint64_t *files,
                      uint64_t *bytes);

#endif
