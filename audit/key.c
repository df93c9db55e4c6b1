/* Ed25519 signing key file and public-key files. */
#include "audit/audit-internal.h"

#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_PREFIX "ed25519-seed "
/* Prefix, 64 hex digits and a newline. */
#define KEY_FILE_SIZE (sizeof(KEY_PREFIX) - 1 + 64 + 1)

/* Open the directory of path and check that no other user can replace
 * files in it. */
static int open_key_dir(const char *path, const char **ret_base,
                        struct werr *err)
{
    _cleanup_free_ char *dir = strdup(path);
    _cleanup_close_ int fd = -1;
    struct stat st;
    char *slash;

    if (!dir)
        return werr_set(err, -ENOMEM, "out of memory");
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    *ret_base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (**ret_base == '\0')
        return werr_set(err, -EINVAL, "invalid key path '%s': name a file",
                        path);

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return werr_errno(err, neg_errno(), "cannot open key directory '%s'",
                          dir);
    if (fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "cannot stat '%s'", dir);
    if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
        return werr_set(err, -EPERM,
                        "key directory '%s' is writable by other users "
                        "(mode %04o, owner %u): run chmod go-w on it",
                        dir, st.st_mode & 07777, (unsigned)st.st_uid);
    return TAKE_FD(fd);
}

static int parse_key(const char *text, size_t len, struct audit_key *ret_key,
                     const char *path, struct werr *err)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    char hex[65];

    if (len != KEY_FILE_SIZE ||
        strncmp(text, KEY_PREFIX, sizeof(KEY_PREFIX) - 1) != 0 ||
        text[len - 1] != '\n')
        return werr_set(err, -EINVAL,
                        "invalid key file '%s': expected one line '"
                        KEY_PREFIX "<64 hex digits>'; an empty file left by "
                        "a crash must be removed by hand", path);
    memcpy(hex, text + sizeof(KEY_PREFIX) - 1, 64);
    hex[64] = '\0';
    if (audit_unhex(hex, seed, sizeof(seed)) < 0)
        return werr_set(err, -EINVAL, "invalid key file '%s': bad hex", path);
    crypto_sign_seed_keypair(ret_key->public_key, ret_key->secret_key, seed);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(hex, sizeof(hex));
    return 0;
}

static int load_key(int fd, const char *path, struct audit_key *ret_key,
                    struct werr *err)
{
    char buf[KEY_FILE_SIZE + 1];
    struct stat st;
    ssize_t n;
    int r;

    if (fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "cannot stat '%s'", path);
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077))
        return werr_set(err, -EPERM,
                        "key file '%s' must be a regular file owned by uid "
                        "%u with mode 0600 (it has mode %04o, owner %u)",
                        path, (unsigned)geteuid(), st.st_mode & 07777,
                        (unsigned)st.st_uid);
    n = pread(fd, buf, sizeof(buf), 0);
    if (n < 0)
        return werr_errno(err, neg_errno(), "cannot read '%s'", path);
    r = parse_key(buf, (size_t)n, ret_key, path, err);
    sodium_memzero(buf, sizeof(buf));
    return r;
}

static int create_key(int dirfd, const char *base, const char *path,
                      struct audit_key *ret_key, struct werr *err)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    char text[KEY_FILE_SIZE + 1];
    _cleanup_close_ int fd = -1;
    int r;

    fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                 O_NOFOLLOW, 0600);
    if (fd < 0)
        return neg_errno();
    randombytes_buf(seed, sizeof(seed));
    memcpy(text, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
    audit_hex(seed, sizeof(seed), text + sizeof(KEY_PREFIX) - 1);
    text[KEY_FILE_SIZE - 1] = '\n';
    text[KEY_FILE_SIZE] = '\0';

    r = fs_write_all(fd, text, KEY_FILE_SIZE);
    if (r == 0 && fsync(fd) < 0)
        r = neg_errno();
    if (r == 0 && fsync(dirfd) < 0)
        r = neg_errno();
    if (r == 0)
        r = parse_key(text, KEY_FILE_SIZE, ret_key, path, err);
    else
        unlinkat(dirfd, base, 0);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(text, sizeof(text));
    if (r < 0 && err && err->code != r)
        werr_errno(err, r, "cannot write key file '%s'", path);
    return r;
}

int audit_key_load_or_create(const char *path, struct audit_key *ret_key,
                             struct werr *err)
{
    _cleanup_close_ int dirfd = -1;
    const char *base = NULL;

    if (sodium_init() < 0)
        return werr_set(err, -EIO, "libsodium initialization failed");
    dirfd = open_key_dir(path, &base, err);
    if (dirfd < 0)
        return dirfd;

    /* Two attempts: a concurrent creator may win the O_EXCL race. */
    for (int attempt = 0; attempt < 2; attempt++) {
        _cleanup_close_ int fd = openat(dirfd, base, O_RDONLY | O_CLOEXEC |
                                                         O_NOFOLLOW);
        int r;

        if (fd >= 0)
            return load_key(fd, path, ret_key, err);
        if (errno != ENOENT)
            return werr_errno(err, neg_errno(), "cannot open key file '%s'",
                              path);
        r = create_key(dirfd, base, path, ret_key, err);
        if (r != -EEXIST)
            return r < 0 ? werr_errno(err, r, "cannot create key file '%s'",
                                      path)
                         : 0;
    }
    return werr_set(err, -EAGAIN, "key file '%s' keeps changing", path);
}

void audit_key_clear(struct audit_key *key)
{
    sodium_memzero(key, sizeof(*key));
}

void audit_pubkey_to_hex(const unsigned char key[AUDIT_PUBKEY_SIZE],
                         char ret_hex[AUDIT_HEX_SIZE])
{
    audit_hex(key, AUDIT_PUBKEY_SIZE, ret_hex);
}

int audit_pubkey_from_hex(const char *hex,
                          unsigned char ret_key[AUDIT_PUBKEY_SIZE],
                          struct werr *err)
{
    unsigned char key[AUDIT_PUBKEY_SIZE];

    if (audit_unhex(hex, key, sizeof(key)) < 0)
        return werr_set(err, -EINVAL,
                        "invalid public key '%.80s': use 64 hex digits", hex);
    memcpy(ret_key, key, sizeof(key));
    return 0;
}

int audit_pubkey_write(int dirfd, const char *path,
                       const unsigned char key[AUDIT_PUBKEY_SIZE],
                       struct werr *err)
{
    char text[AUDIT_HEX_SIZE + 1];
    int r;

    audit_pubkey_to_hex(key, text);
    text[AUDIT_HEX_SIZE - 1] = '\n';
    text[AUDIT_HEX_SIZE] = '\0';
    r = fs_write_file_atomic(dirfd, path, text, AUDIT_HEX_SIZE, 0644);
    if (r < 0)
        return werr_errno(err, r, "cannot write public key file '%s'", path);
    return 0;
}

int audit_pubkey_read(int dirfd, const char *path,
                      unsigned char ret_key[AUDIT_PUBKEY_SIZE],
                      struct werr *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r;

    r = fs_read_file_at(dirfd, path, 4096, &text, &len);
    if (r < 0)
        return werr_errno(err, r, "cannot read public key file '%s'", path);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = '\0';
    r = audit_pubkey_from_hex(text, ret_key, err);
    if (r < 0)
        return werr_prefix(err, "public key file '%s'", path);
    return 0;
}
