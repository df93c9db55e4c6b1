/* Configuration parsing: defaults, valid files, and errors that name the
 * file, line and key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/warden-config-test.XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int load_text(const char *text, struct warden_config *cfg,
                     struct werr *err, char **ret_path)
{
    char *path = write_temp(text);
    int r;

    assert_int_equal(config_init_defaults(cfg), 0);
    r = config_load(cfg, path, err);
    if (r == 0)
        r = config_validate(cfg, err);
    if (ret_path)
        *ret_path = path;
    else {
        unlink(path);
        free(path);
    }
    return r;
}

static void config_defaults_are_valid(void **state)
{
    struct warden_config cfg;
    struct werr err = {0};

    (void)state;
    assert_int_equal(config_init_defaults(&cfg), 0);
    assert_int_equal(config_validate(&cfg, &err), 0);
    assert_string_equal(cfg.socket_path, "/run/warden/warden.sock");
    assert_int_equal(cfg.retention_days, CONFIG_MIN_RETENTION_DAYS);
    config_free(&cfg);
}

static void config_reads_every_section(void **state)
{
    struct warden_config cfg;
    struct werr err = {0};

    (void)state;
    assert_int_equal(load_text("[daemon]\n"
                               "state_dir = /srv/warden\n"
                               "log_level = debug\n"
                               "log_syslog = yes\n"
                               "[audit]\n"
                               "retention_days = 400\n"
                               "[sandbox]\n"
                               "tmp_size = 64M\n"
                               "memory_limit = 2G\n"
                               "[network]\n"
                               "address_pool = 10.9.0.0/16\n"
                               "[data]\n"
                               "sample_rows = 50\n",
                               &cfg, &err, NULL),
                     0);
    assert_string_equal(cfg.state_dir, "/srv/warden");
    assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
    assert_true(cfg.log_syslog);
    assert_int_equal(cfg.retention_days, 400);
    assert_int_equal(cfg.tmp_size_bytes, 64ull << 20);
    assert_int_equal(cfg.default_memory_bytes, 2ull << 30);
    assert_string_equal(cfg.address_pool, "10.9.0.0/16");
    assert_int_equal(cfg.sample_rows, 50);
    config_free(&cfg);
}

static void config_rejects_short_retention(void **state)
{
    struct warden_config cfg;
    struct werr err = {0};

    (void)state;
    assert_int_equal(load_text("[audit]\nretention_days = 182\n", &cfg, &err,
                               NULL),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "below the minimum of 183"));
    config_free(&cfg);
}

static void config_unknown_key_names_line(void **state)
{
    struct warden_config cfg;
    struct werr err = {0};
    char *path = NULL;
    char expected[256];

    (void)state;
    assert_int_equal(load_text("[daemon]\n\nstate_dir = /x\nfrobnicate = 2\n",
                               &cfg, &err, &path),
                     -EINVAL);
    snprintf(expected, sizeof(expected), "%s:4: unknown key 'frobnicate'",
             path);
    assert_non_null(strstr(err.msg, expected));
    unlink(path);
    free(path);
    config_free(&cfg);
}

static void config_unknown_section_rejected(void **state)
{
    struct warden_config cfg;
    struct werr err = {0};

    (void)state;
    assert_int_equal(load_text("[sandbx]\nrootfs = /x\n", &cfg, &err, NULL),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "unknown section [sandbx]"));
    config_free(&cfg);
}

static void config_malformed_values_rejected(void **state)
{
    static const char *const cases[] = {
        "[sandbox]\npids_limit = -5\n",
        "[sandbox]\ntmp_size = 12Q\n",
        "[daemon]\nlog_level = chatty\n",
        "[daemon]\nlog_syslog = perhaps\n",
        "[daemon]\nstate_dir = relative/path\n",
        "[sandbox]\nuid_base = 99999999999\n",
        "no section line\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct warden_config cfg;
        struct werr err = {0};

        assert_int_equal(load_text(cases[i], &cfg, &err, NULL), -EINVAL);
        assert_true(strlen(err.msg) > 0);
        config_free(&cfg);
    }
}

static void config_size_suffixes(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_int_equal(config_parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(config_parse_size("3K", &v), 0);
    assert_int_equal(v, 3072);
    assert_int_equal(config_parse_size("1g", &v), 0);
    assert_int_equal(v, 1ull << 30);
    assert_int_equal(config_parse_size("", &v), -EINVAL);
    assert_int_equal(config_parse_size("M", &v), -EINVAL);
    assert_int_equal(config_parse_size("99999999999999999999G", &v), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults_are_valid),
        cmocka_unit_test(config_reads_every_section),
        cmocka_unit_test(config_rejects_short_retention),
        cmocka_unit_test(config_unknown_key_names_line),
        cmocka_unit_test(config_unknown_section_rejected),
        cmocka_unit_test(config_malformed_values_rejected),
        cmocka_unit_test(config_size_suffixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
