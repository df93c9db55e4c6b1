#include "common/fsutil.h"

#include "common/cleanup.h"
#include "common/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int fs_openat2(int dirfd, const char *path, int flags, mode_t mode,
               uint64_t resolve)
{
    struct open_how how = {
        .flags = (uint64_t)flags | O_CLOEXEC,
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = resolve,
    };
    long fd;

    do {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    if (fd < 0)
        return neg_errno();
    return (int)fd;
}

int fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    return fs_openat2(dirfd, path, flags, mode,
                      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
                          RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
}

int fs_mkdir_p_beneath(int dirfd, const char *path, mode_t mode)
{
    _cleanup_close_ int cur = -1;
    _cleanup_free_ char *copy = strdup(path);
    char *save = NULL;

    if (!copy)
        return -ENOMEM;
    cur = fs_open_beneath(dirfd, ".", O_DIRECTORY | O_RDONLY, 0);
    if (cur < 0)
        return cur;
    for (char *part = strtok_r(copy, "/", &save); part;
         part = strtok_r(NULL, "/", &save)) {
        int next;

        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0)
            return -EINVAL;
        if (mkdirat(cur, part, mode) < 0 && errno != EEXIST)
            return neg_errno();
        next = fs_open_beneath(cur, part, O_DIRECTORY | O_RDONLY, 0);
        if (next < 0)
            return next;
        close(cur);
        cur = next;
    }
    return TAKE_FD(cur);
}

int fs_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return neg_errno();
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fs_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf,
                    size_t *ret_len)
{
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, cap = 0;
    struct stat st;

    fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return neg_errno();
    if (fstat(fd, &st) < 0)
        return neg_errno();
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    for (;;) {
        ssize_t n;

        if (len + 1 >= cap) {
            char *grown;

            cap = cap ? cap * 2 : 4096;
            if (cap > max + 2)
                cap = max + 2;
            if (len + 1 >= cap)
                return -EFBIG;
            grown = realloc(buf, cap);
            if (!grown)
                return -ENOMEM;
            buf = grown;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return neg_errno();
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max)
            return -EFBIG;
    }
    if (!buf) {
        buf = malloc(1);
        if (!buf)
            return -ENOMEM;
    }
    buf[len] = '\0';
    *ret_buf = TAKE_PTR(buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

int fs_write_file_atomic(int dirfd, const char *path, const void *data,
                         size_t len, mode_t mode)
{
    char tmp[4096];
    _cleanup_close_ int fd = -1;
    int r;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
        (int)sizeof(tmp))
        return -ENAMETOOLONG;
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return neg_errno();
    r = fs_write_all(fd, data, len);
    if (r == 0 && fchmod(fd, mode) < 0)
        r = neg_errno();
    if (r == 0 && fsync(fd) < 0)
        r = neg_errno();
    if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
        r = neg_errno();
    if (r < 0)
        unlinkat(dirfd, tmp, 0);
    return r;
}

static int remove_children(int dfd, uint64_t *files, uint64_t *bytes)
{
    _cleanup_close_ int iter_fd = -1;
    DIR *dir;
    struct dirent *de;
    int r = 0;

    iter_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    if (iter_fd < 0)
        return neg_errno();
    dir = fdopendir(iter_fd);
    if (!dir)
        return neg_errno();
    iter_fd = -1;
    while ((errno = 0, de = readdir(dir))) {
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            r = neg_errno();
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            r = fs_remove_tree_at(dfd, de->d_name, files, bytes);
            if (r < 0)
                break;
            continue;
        }
        if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT) {
            r = neg_errno();
            break;
        }
        if (files)
            (*files)++;
        if (bytes && S_ISREG(st.st_mode))
            *bytes += (uint64_t)st.st_size;
    }
    if (r == 0 && errno != 0)
        r = neg_errno();
    closedir(dir);
    return r;
}

int fs_remove_tree_at(int dirfd, const char *name, uint64_t *files,
                      uint64_t *bytes)
{
    _cleanup_close_ int dfd = -1;
    int r;

    dfd = openat(dirfd, name,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP) {
            if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                return neg_errno();
            if (files)
                (*files)++;
            return 0;
        }
        return neg_errno();
    }
    r = remove_children(dfd, files, bytes);
    if (r < 0)
        return r;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return neg_errno();
    return 0;
}
