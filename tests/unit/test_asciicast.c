/* asciicast v2 writer and player: escaping, digest, permissions, timing
 * and acceptance by the asciinema tool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "audit/asciicast.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    int dirfd;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_asciicast.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    fx->dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *state = fx;
    return fx->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    close(fx->dirfd);
    fs_remove_tree_at(tmp, fx->dir + strlen("/tmp/"), NULL, NULL);
    close(tmp);
    free(fx);
    return 0;
}

/* Output chunks chosen to hit every escaping rule: control characters,
 * quotes, a NUL, an invalid byte, a two-byte and a four-byte character
 * each split between writes, and a lone continuation byte. */
#define CHUNK(s) {s, sizeof(s) - 1}
static const struct {
    const char *data;
    size_t len;
} chunks[] = {
    CHUNK("\x1b[1mbold\x1b[0m \"q\" \\ \r\n"),
    CHUNK("nul:\0:"),
    CHUNK("bad:\xff:"),
    CHUNK("caf\xc3"),
    CHUNK("\xa9 ok \xf0\x9f"),
    CHUNK("\x98\x80 end\x80."),
    CHUNK("tail\xe2\x82"),
};

/* What a player must print for chunks: invalid bytes become U+FFFD and the
 * unfinished sequence at the close becomes one U+FFFD per byte. */
static const char expected_output[] =
    "\x1b[1mbold\x1b[0m \"q\" \\ \r\n"
    "nul:\0:"
    "bad:\xef\xbf\xbd:"
    "caf\xc3\xa9 ok \xf0\x9f\x98\x80 end\xef\xbf\xbd."
    "tail\xef\xbf\xbd\xef\xbf\xbd";

static void write_sample(struct fixture *fx, const char *name,
                         char sha[AUDIT_HEX_SIZE])
{
    struct asciicast *cast;
    struct werr err = {0};

    assert_int_equal(asciicast_open(fx->dirfd, name, 80, 24, "demo \"t\"",
                                    "xterm-256color", "/bin/bash", &cast,
                                    &err), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(asciicast_write_output(cast, chunks[i].data,
                                                chunks[i].len, &err), 0);
    assert_int_equal(asciicast_write_input(cast, "ls\r", 3, &err), 0);
    assert_int_equal(asciicast_write_resize(cast, 100, 40, &err), 0);
    for (size_t i = 3; i < 7; i++)
        assert_int_equal(asciicast_write_output(cast, chunks[i].data,
                                                chunks[i].len, &err), 0);
    assert_int_equal(asciicast_close(cast, sha, &err), 0);
}

static char *read_all(int dirfd, const char *name, size_t *ret_len)
{
    char *buf = NULL;

    assert_int_equal(fs_read_file_at(dirfd, name, 1 << 20, &buf, ret_len), 0);
    return buf;
}

static void asciicast_header_fields(void **state)
{
    struct fixture *fx = *state;
    char sha[AUDIT_HEX_SIZE];
    _cleanup_free_ char *text = NULL;
    json_t *hdr;
    size_t len;

    write_sample(fx, "a.cast", sha);
    text = read_all(fx->dirfd, "a.cast", &len);
    hdr = json_loadb(text, strcspn(text, "\n"), 0, NULL);
    assert_non_null(hdr);
    assert_int_equal(json_integer_value(json_object_get(hdr, "version")), 2);
    assert_int_equal(json_integer_value(json_object_get(hdr, "width")), 80);
    assert_int_equal(json_integer_value(json_object_get(hdr, "height")), 24);
    assert_true(json_integer_value(json_object_get(hdr, "timestamp")) >
                1600000000);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(hdr, "env"), "TERM")),
                        "xterm-256color");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(hdr, "env"), "SHELL")),
                        "/bin/bash");
    assert_string_equal(json_string_value(json_object_get(hdr, "title")),
                        "demo \"t\"");
    json_decref(hdr);
}

/* Every line is valid JSON and the output events carry expected_output. */
static void asciicast_escapes_any_bytes(void **state)
{
    struct fixture *fx = *state;
    char sha[AUDIT_HEX_SIZE], output[256];
    _cleanup_free_ char *text = NULL;
    size_t len, out_len = 0, lines = 0;
    bool saw_input = false, saw_resize = false;

    write_sample(fx, "b.cast", sha);
    text = read_all(fx->dirfd, "b.cast", &len);
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        json_t *ev = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL,
                                NULL);
        const char *type;

        if (!ev)
            fail_msg("invalid JSON line: %.*s", (int)(nl - line), line);
        if (lines++ == 0) {
            json_decref(ev);
            continue;
        }
        type = json_string_value(json_array_get(ev, 1));
        if (strcmp(type, "o") == 0) {
            size_t n = json_string_length(json_array_get(ev, 2));
            assert_true(out_len + n <= sizeof(output));
            memcpy(output + out_len, json_string_value(json_array_get(ev, 2)),
                   n);
            out_len += n;
        } else if (strcmp(type, "i") == 0) {
            assert_string_equal(json_string_value(json_array_get(ev, 2)),
                                "ls\r");
            saw_input = true;
        } else if (strcmp(type, "r") == 0) {
            assert_string_equal(json_string_value(json_array_get(ev, 2)),
                                "100x40");
            saw_resize = true;
        }
        json_decref(ev);
    }
    assert_true(saw_input);
    assert_true(saw_resize);
    assert_int_equal(out_len, sizeof(expected_output) - 1);
    assert_memory_equal(output, expected_output, out_len);
}

static void asciicast_digest_matches_file(void **state)
{
    struct fixture *fx = *state;
    unsigned char digest[crypto_hash_sha256_BYTES];
    char sha[AUDIT_HEX_SIZE], hex[AUDIT_HEX_SIZE];
    _cleanup_free_ char *text = NULL;
    size_t len;

    write_sample(fx, "c.cast", sha);
    text = read_all(fx->dirfd, "c.cast", &len);
    crypto_hash_sha256(digest, (unsigned char *)text, len);
    audit_hex(digest, sizeof(digest), hex);
    assert_string_equal(sha, hex);
}

static void asciicast_file_private_and_exclusive(void **state)
{
    struct fixture *fx = *state;
    struct asciicast *cast;
    char sha[AUDIT_HEX_SIZE];
    struct werr err = {0};
    struct stat st;

    write_sample(fx, "d.cast", sha);
    assert_int_equal(fstatat(fx->dirfd, "d.cast", &st, 0), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(asciicast_open(fx->dirfd, "d.cast", 80, 24, NULL, NULL,
                                    NULL, &cast, &err), -EEXIST);
    assert_int_equal(symlinkat("/etc/passwd", fx->dirfd, "link.cast"), 0);
    assert_int_equal(asciicast_open(fx->dirfd, "link.cast", 80, 24, NULL,
                                    NULL, NULL, &cast, &err), -EEXIST);
    assert_int_equal(asciicast_open(fx->dirfd, "sub/x.cast", 80, 24, NULL,
                                    NULL, NULL, &cast, &err), -ENOENT);
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Play name at speed and idle_limit into a file and return the seconds
 * it took; the played bytes go to ret_out. */
static double play(struct fixture *fx, const char *name, double speed,
                   double idle_limit, char *ret_out, size_t size)
{
    int fd = openat(fx->dirfd, name, O_RDONLY | O_CLOEXEC);
    int out = openat(fx->dirfd, "played", O_RDWR | O_CREAT | O_TRUNC |
                                              O_CLOEXEC, 0600);
    struct werr err = {0};
    double start = now_seconds(), took;
    ssize_t n;

    assert_true(fd >= 0);
    assert_true(out >= 0);
    if (asciicast_play(fd, out, speed, idle_limit, &err) < 0)
        fail_msg("play: %s", err.msg);
    took = now_seconds() - start;
    n = pread(out, ret_out, size - 1, 0);
    assert_true(n >= 0);
    ret_out[n] = '\0';
    close(fd);
    close(out);
    return took;
}

static void asciicast_play_writes_output(void **state)
{
    struct fixture *fx = *state;
    char sha[AUDIT_HEX_SIZE], out[256];

    write_sample(fx, "e.cast", sha);
    play(fx, "e.cast", 0, 0, out, sizeof(out));
    assert_memory_equal(out, expected_output, sizeof(expected_output) - 1);
}

static void asciicast_play_keeps_timing(void **state)
{
    struct fixture *fx = *state;
    static const char text[] =
        "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
        "[0.0, \"o\", \"a\"]\n"
        "[0.1, \"i\", \"x\"]\n"
        "[0.3, \"o\", \"b\"]\n"
        "[5.3, \"o\", \"c\"]\n";
    char out[64];
    double took;

    assert_int_equal(fs_write_file_atomic(fx->dirfd, "t.cast", text,
                                          sizeof(text) - 1, 0600), 0);
    took = play(fx, "t.cast", 1.0, 0.2, out, sizeof(out));
    assert_string_equal(out, "abc");
    /* 0.3 s of pauses up to the limit, plus 0.2 s for the 5 s pause. */
    assert_true(took >= 0.45);
    assert_true(took < 1.5);
    took = play(fx, "t.cast", 10.0, 0.2, out, sizeof(out));
    assert_true(took < 0.2);
}

static void asciicast_play_rejects_garbage(void **state)
{
    struct fixture *fx = *state;
    int fd, out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct werr err = {0};

    assert_int_equal(fs_write_file_atomic(fx->dirfd, "g.cast",
                                          "{\"version\": 1}\n", 15, 0600), 0);
    fd = openat(fx->dirfd, "g.cast", O_RDONLY | O_CLOEXEC);
    assert_int_equal(asciicast_play(fd, out, 0, 0, &err), -EINVAL);
    close(fd);
    close(out);
}

/* Child of the asciinema test: asciinema 2.2 `cat` opens /dev/tty, so
 * give it a new session with a pty as controlling terminal, and send its
 * standard output to out_fd so no terminal translates the bytes. */
static void run_asciinema_cat(const char *home, const char *path, int out_fd)
{
    /* The master stays open across exec: closing it would hang up the
     * terminal and kill asciinema with SIGHUP. */
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    int slave;

    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
        setsid() < 0)
        _exit(126);
    slave = open(ptsname(master), O_RDWR);
    if (slave < 0)
        _exit(126);
    dup2(slave, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    setenv("HOME", home, 1);
    setenv("LC_ALL", "C.UTF-8", 1);
    execl("/usr/bin/asciinema", "asciinema", "cat", path, (char *)NULL);
    _exit(127);
}

/* Run `asciinema cat` on a written recording and compare its output. */
static void asciicast_accepted_by_asciinema(void **state)
{
    struct fixture *fx = *state;
    char sha[AUDIT_HEX_SIZE], path[128], out[512];
    int pipefd[2], status;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    if (access("/usr/bin/asciinema", X_OK) != 0) {
        fprintf(stderr, "SKIP: /usr/bin/asciinema is not installed, so the "
                        "recording was not checked by a standard player\n");
        skip();
    }
    write_sample(fx, "f.cast", sha);
    snprintf(path, sizeof(path), "%s/f.cast", fx->dir);
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        run_asciinema_cat(fx->dir, path, pipefd[1]);
    close(pipefd[1]);
    while ((n = read(pipefd[0], out + len, sizeof(out) - len)) > 0)
        len += (size_t)n;
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(len, sizeof(expected_output) - 1);
    assert_memory_equal(out, expected_output, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(asciicast_header_fields),
        T(asciicast_escapes_any_bytes),
        T(asciicast_digest_matches_file),
        T(asciicast_file_private_and_exclusive),
        T(asciicast_play_writes_output),
        T(asciicast_play_keeps_timing),
        T(asciicast_play_rejects_garbage),
        T(asciicast_accepted_by_asciinema),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
