/* Control protocol framing: lines split across reads, oversized lines,
 * descriptors passed with a line, and base64 stream data. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/proto.h"

static void make_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
}

static void proto_line_split_across_reads(void **state)
{
    struct proto_reader r;
    char *line = NULL;
    int sv[2];

    (void)state;
    make_pair(sv);
    proto_reader_init(&r, 1024);
    assert_int_equal(write(sv[0], "{\"a\":", 5), 5);
    assert_true(proto_reader_fill(&r, sv[1]) > 0);
    assert_int_equal(proto_reader_next(&r, &line), 0);
    assert_int_equal(write(sv[0], "1}\n{\"b\":2}\n", 11), 11);
    assert_true(proto_reader_fill(&r, sv[1]) > 0);
    assert_int_equal(proto_reader_next(&r, &line), 1);
    assert_string_equal(line, "{\"a\":1}");
    free(line);
    assert_int_equal(proto_reader_next(&r, &line), 1);
    assert_string_equal(line, "{\"b\":2}");
    free(line);
    assert_int_equal(proto_reader_next(&r, &line), 0);
    proto_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void proto_oversized_line_dropped_once(void **state)
{
    struct proto_reader r;
    char *line = NULL;
    char big[3000];
    int sv[2];

    (void)state;
    make_pair(sv);
    proto_reader_init(&r, 1024);
    memset(big, 'x', sizeof(big));
    assert_int_equal(write(sv[0], big, sizeof(big)), (ssize_t)sizeof(big));
    assert_int_equal(write(sv[0], "\n{}\n", 4), 4);
    while (proto_reader_fill(&r, sv[1]) > 0) {
        int rc = proto_reader_next(&r, &line);
        if (rc != 0) {
            assert_int_equal(rc, -EMSGSIZE);
            break;
        }
    }
    /* The rest of the long line is skipped; the next line is intact. */
    for (;;) {
        int rc = proto_reader_next(&r, &line);
        if (rc == 1)
            break;
        assert_int_equal(rc, 0);
        assert_true(proto_reader_fill(&r, sv[1]) > 0);
    }
    assert_string_equal(line, "{}");
    free(line);
    proto_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void proto_descriptor_travels_with_line(void **state)
{
    struct proto_reader r;
    struct stat a, b;
    char *line = NULL;
    json_t *msg = json_pack("{s:i}", "fds", 1);
    int sv[2], fd, received;

    (void)state;
    make_pair(sv);
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(proto_send(sv[0], msg, &fd, 1), 0);
    proto_reader_init(&r, 1024);
    assert_true(proto_reader_fill(&r, sv[1]) > 0);
    assert_int_equal(proto_reader_next(&r, &line), 1);
    received = proto_reader_take_fd(&r);
    assert_true(received >= 0);
    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(fstat(received, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_true(fcntl(received, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(proto_reader_take_fd(&r), -1);
    free(line);
    close(received);
    close(fd);
    json_decref(msg);
    proto_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void proto_base64_round_trip(void **state)
{
    const unsigned char data[] = {0, 1, 2, 0xff, '\n', 'a'};
    unsigned char *decoded = NULL;
    size_t len = 0;
    char *text;

    (void)state;
    text = proto_b64_encode(data, sizeof(data));
    assert_non_null(text);
    assert_int_equal(proto_b64_decode(text, &decoded, &len), 0);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(decoded, data, sizeof(data));
    assert_int_equal(proto_b64_decode("not base64!", &decoded, &len),
                     -EINVAL);
    free(text);
    free(decoded);
}

static void proto_error_codes(void **state)
{
    (void)state;
    assert_string_equal(proto_error_code(-EINVAL), PROTO_E_INVALID);
    assert_string_equal(proto_error_code(-ENOENT), PROTO_E_NOT_FOUND);
    assert_string_equal(proto_error_code(-EEXIST), PROTO_E_EXISTS);
    assert_string_equal(proto_error_code(-EACCES), PROTO_E_DENIED);
    assert_string_equal(proto_error_code(-EMSGSIZE), PROTO_E_TOO_LARGE);
    assert_string_equal(proto_error_code(-EIO), PROTO_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proto_line_split_across_reads),
        cmocka_unit_test(proto_oversized_line_dropped_once),
        cmocka_unit_test(proto_descriptor_travels_with_line),
        cmocka_unit_test(proto_base64_round_trip),
        cmocka_unit_test(proto_error_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
