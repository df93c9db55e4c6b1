/* warden export ..., warden data request, warden request ..., warden
 * import submit: what tenants send to the review queue, and fetching and
 * verifying released exports. */
#include "cli/cli.h"

#include "cli/review.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_AUDIT_PUB "/var/lib/warden/audit.pub"

static void export_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden export submit FILE... --scenario S --purpose TEXT\n"
            "  warden export resubmit ID FILE...\n"
            "  warden export fetch ID [--output DIR]\n"
            "  warden export verify-manifest DIR [--key AUDIT_PUB]\n"
            "\n"
            "FILE is a file in your home as the sandbox sees it (/home/LOGIN/"
            "...);\n"
            "relative names are taken from the current directory.  At most "
            "14 files.\n"
            "fetch writes the released files, manifest.json and manifest.sig "
            "to DIR\n"
            "(default ./export-ID), which must not exist yet.  "
            "verify-manifest checks the\n"
            "signature with the audit public key (default %s)\n"
            "and every file's SHA-256.\n",
            DEFAULT_AUDIT_PUB);
}

static json_t *absolute_paths(struct cli *cli, char **paths, int n)
{
    char cwd[PATH_MAX];
    json_t *list = json_array();

    if (!getcwd(cwd, sizeof(cwd))) {
        cli_error(cli, "reading the current directory failed: %s",
                  strerror(errno));
        json_decref(list);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (paths[i][0] == '/')
            json_array_append_new(list, json_string(paths[i]));
        else
            json_array_append_new(list,
                                  json_sprintf("%s/%s",
                                               strcmp(cwd, "/") ? cwd : "",
                                               paths[i]));
    }
    return list;
}

static int print_submitted(struct cli *cli, json_t *result)
{
    json_t *summary = json_object_get(result, "summary"), *line;
    size_t i;

    if (cli->json) {
        cli_print_json(result);
        return CLI_EXIT_OK;
    }
    printf("request %lld (%s): %s, checks %s\n",
           (long long)json_integer_value(json_object_get(result, "id")),
           json_string_value(json_object_get(result, "kind")),
           json_string_value(json_object_get(result, "state")),
           json_is_true(json_object_get(result, "checks_passed"))
               ? "passed"
               : json_is_false(json_object_get(result, "checks_passed"))
                     ? "FAILED"
                     : "pending");
    json_array_foreach(summary, i, line)
        printf("  - %s\n", json_string_value(line));
    return CLI_EXIT_OK;
}

static int export_submit(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"scenario", true}, {"purpose", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *paths, *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 2, &pos, &npos);
    if (r != 0)
        return r;
    if (npos < 1 || !opts[0].value || !opts[1].value) {
        cli_error(cli, "'export submit' needs FILE... --scenario S --purpose "
                       "TEXT");
        return CLI_EXIT_USAGE;
    }
    paths = absolute_paths(cli, pos, npos);
    if (!paths)
        return CLI_EXIT_FAILURE;
    r = cli_call(cli, "export.submit",
                 json_pack("{s:o, s:s, s:s}", "paths", paths, "scenario",
                           opts[0].value, "purpose", opts[1].value),
                 NULL, 0, &result, NULL, NULL);
    if (r == 0)
        r = print_submitted(cli, result);
    json_decref(result);
    return r;
}

static int parse_id(struct cli *cli, const char *text, long long *ret)
{
    char *end = NULL;

    errno = 0;
    *ret = strtoll(text, &end, 10);
    if (errno || end == text || *end || *ret <= 0) {
        cli_error(cli, "invalid request ID '%s': use the number from "
                       "'warden request list'", text);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int export_resubmit(struct cli *cli, int argc, char **argv)
{
    _cleanup_free_ char **pos = NULL;
    json_t *paths, *result = NULL;
    long long id;
    int npos, r;

    r = cli_parse(cli, argc, argv, NULL, 0, &pos, &npos);
    if (r != 0)
        return r;
    if (npos < 2) {
        cli_error(cli, "'export resubmit' needs ID FILE...");
        return CLI_EXIT_USAGE;
    }
    r = parse_id(cli, pos[0], &id);
    if (r != 0)
        return r;
    paths = absolute_paths(cli, pos + 1, npos - 1);
    if (!paths)
        return CLI_EXIT_FAILURE;
    r = cli_call(cli, "export.resubmit",
                 json_pack("{s:I, s:o}", "id", (json_int_t)id, "paths", paths),
                 NULL, 0, &result, NULL, NULL);
    if (r == 0)
        r = print_submitted(cli, result);
    json_decref(result);
    return r;
}

/* Copy fd to name below dir, creating it; never replace a file. */
static int write_from_fd(struct cli *cli, int dir, const char *name, int fd,
                         unsigned char ret_hash[crypto_hash_sha256_BYTES])
{
    crypto_hash_sha256_state state;
    _cleanup_close_ int out = -1;
    char buf[65536];

    if (!name[0] || name[0] == '.' || strchr(name, '/')) {
        cli_error(cli, "the daemon sent an invalid file name '%s'", name);
        return CLI_EXIT_FAILURE;
    }
    out = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                O_CLOEXEC, 0644);
    if (out < 0) {
        cli_error(cli, "creating '%s' failed: %s", name, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    crypto_hash_sha256_init(&state);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && fs_write_all(out, buf, (size_t)n) < 0)) {
            cli_error(cli, "writing '%s' failed: %s", name, strerror(errno));
            return CLI_EXIT_FAILURE;
        }
        if (n == 0)
            break;
        crypto_hash_sha256_update(&state, (unsigned char *)buf, (size_t)n);
    }
    crypto_hash_sha256_final(&state, ret_hash);
    if (fsync(out) < 0) {
        cli_error(cli, "writing '%s' failed: %s", name, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

static int write_fetched(struct cli *cli, int dir, json_t *result,
                         const int *fds, size_t nfds, bool first)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    json_t *files = json_object_get(result, "files"), *file;
    size_t i;
    int r;

    if (nfds != 2 + json_array_size(files)) {
        cli_error(cli, "the daemon sent %zu descriptors for %zu files", nfds,
                  json_array_size(files));
        return CLI_EXIT_FAILURE;
    }
    if (first) {
        r = write_from_fd(cli, dir, "manifest.json", fds[0], hash);
        if (r == 0)
            r = write_from_fd(cli, dir, "manifest.sig", fds[1], hash);
        if (r != 0)
            return r;
    }
    json_array_foreach(files, i, file) {
        const char *name = json_string_value(json_object_get(file, "name"));
        const char *sha = json_string_value(json_object_get(file, "sha256"));

        r = write_from_fd(cli, dir, name ? name : "", fds[2 + i], hash);
        if (r != 0)
            return r;
        sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
        if (!sha || strcmp(hex, sha) != 0) {
            cli_error(cli, "'%s' does not match its SHA-256 %s", name,
                      sha ? sha : "(none)");
            return CLI_EXIT_TAMPERED;
        }
        if (!cli->json)
            printf("%s  %s\n", hex, name);
    }
    return 0;
}

static int open_output(struct cli *cli, const char *out)
{
    int dir;

    if (mkdir(out, 0777) < 0) {
        cli_error(cli, "creating the output directory '%s' failed: %s (it "
                       "must not exist yet)", out, strerror(errno));
        return -1;
    }
    dir = open(out, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0)
        cli_error(cli, "opening '%s' failed: %s", out, strerror(errno));
    return dir;
}

static int export_fetch(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"output", true}};
    _cleanup_free_ char **pos = NULL;
    _cleanup_close_ int dir = -1;
    char default_dir[64];
    const char *out;
    json_int_t start = 0;
    long long id;
    size_t total = 0;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'export fetch' needs exactly one ID");
        return CLI_EXIT_USAGE;
    }
    r = parse_id(cli, pos[0], &id);
    if (r != 0)
        return r;
    snprintf(default_dir, sizeof(default_dir), "export-%lld", id);
    out = opts[0].value ? opts[0].value : default_dir;
    for (bool first = true;; first = false) {
        int fds[PROTO_MAX_FDS];
        size_t nfds = 0;
        json_t *result = NULL, *next;
        bool more;

        r = cli_call(cli, "export.fetch",
                     json_pack("{s:I, s:I}", "id", (json_int_t)id, "start",
                               start),
                     NULL, 0, &result, fds, &nfds);
        if (r != 0)
            return r;
        /* The directory appears only once the daemon agreed to send. */
        if (first)
            dir = open_output(cli, out);
        r = dir < 0 ? CLI_EXIT_FAILURE
                    : write_fetched(cli, dir, result, fds, nfds, first);
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        total = (size_t)json_integer_value(json_object_get(result, "total"));
        next = json_object_get(result, "next");
        more = json_is_integer(next);
        start = json_integer_value(next);
        json_decref(result);
        if (r != 0)
            return r;
        if (!more)
            break;
    }
    if (!cli->json)
        printf("fetched export %lld: %zu files and its signed manifest in "
               "%s\n", id, total, out);
    return CLI_EXIT_OK;
}

static int read_key(struct cli *cli, const char *path,
                    unsigned char key[crypto_sign_PUBLICKEYBYTES])
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0, bin_len = 0;
    int r;

    r = fs_read_file_at(AT_FDCWD, path, 4096, &text, &len);
    if (r < 0) {
        cli_error(cli, "reading the public key %s failed: %s (give --key "
                       "FILE)", path, strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    if (sodium_hex2bin(key, crypto_sign_PUBLICKEYBYTES, text, len, " \n",
                       &bin_len, NULL) < 0 ||
        bin_len != crypto_sign_PUBLICKEYBYTES) {
        cli_error(cli, "%s does not hold a hex Ed25519 public key", path);
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

static int hash_file(int dir, const char *name, char ret_hex[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state state;
    _cleanup_close_ int fd = -1;
    char buf[65536];
    ssize_t n;

    fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    crypto_hash_sha256_init(&state);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        crypto_hash_sha256_update(&state, (unsigned char *)buf, (size_t)n);
    if (n < 0)
        return -errno;
    crypto_hash_sha256_final(&state, hash);
    sodium_bin2hex(ret_hex, 65, hash, sizeof(hash));
    return 0;
}

static int verify_files(struct cli *cli, int dir, json_t *manifest)
{
    json_t *file;
    size_t i, bad = 0;

    json_array_foreach(json_object_get(manifest, "files"), i, file) {
        const char *name = json_string_value(json_object_get(file, "name"));
        const char *sha = json_string_value(json_object_get(file, "sha256"));
        char hex[65];
        int r;

        if (!name || !sha || strchr(name, '/')) {
            cli_error(cli, "the manifest lists an invalid file entry");
            return CLI_EXIT_TAMPERED;
        }
        r = hash_file(dir, name, hex);
        if (r < 0) {
            printf("MISSING  %s: %s\n", name, strerror(-r));
            bad++;
        } else if (strcmp(hex, sha) != 0) {
            printf("ALTERED  %s: SHA-256 %s, manifest says %s\n", name, hex,
                   sha);
            bad++;
        } else {
            printf("ok       %s\n", name);
        }
    }
    return bad ? CLI_EXIT_TAMPERED : CLI_EXIT_OK;
}

static int export_verify(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"key", true}};
    unsigned char key[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    _cleanup_free_ char **pos = NULL;
    _cleanup_free_ char *text = NULL, *sig_text = NULL;
    _cleanup_close_ int dir = -1;
    size_t len = 0, sig_len = 0, bin_len = 0;
    json_t *manifest;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'export verify-manifest' needs exactly one DIR");
        return CLI_EXIT_USAGE;
    }
    r = read_key(cli, opts[0].value ? opts[0].value : DEFAULT_AUDIT_PUB, key);
    if (r != 0)
        return r;
    dir = open(pos[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 ||
        fs_read_file_at(dir, "manifest.json", 16u << 20, &text, &len) < 0 ||
        fs_read_file_at(dir, "manifest.sig", 4096, &sig_text, &sig_len) < 0) {
        cli_error(cli, "reading %s/manifest.json and manifest.sig failed: %s",
                  pos[0], strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (sodium_hex2bin(sig, sizeof(sig), sig_text, sig_len, " \n", &bin_len,
                       NULL) < 0 ||
        bin_len != sizeof(sig) ||
        crypto_sign_verify_detached(sig, (unsigned char *)text, len, key) !=
            0) {
        printf("BAD SIGNATURE  manifest.json is not signed by this key\n");
        return CLI_EXIT_TAMPERED;
    }
    printf("signature ok   manifest.json\n");
    manifest = json_loadb(text, len, 0, NULL);
    if (!manifest) {
        cli_error(cli, "manifest.json is not valid JSON");
        return CLI_EXIT_TAMPERED;
    }
    r = verify_files(cli, dir, manifest);
    json_decref(manifest);
    return r;
}

int cli_cmd_export(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"submit", export_submit, NULL},
        {"resubmit", export_resubmit, NULL},
        {"fetch", export_fetch, NULL},
        {"verify-manifest", export_verify, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, export_usage);
}

/* ---- data, request, import ---- */

static void data_usage(FILE *out)
{
    fprintf(out, "Usage:\n"
                 "  warden data request DATASET --scenario S --purpose TEXT\n"
                 "\n"
                 "Asks a reviewer to grant DATASET to your tenant for "
                 "scenario S.\n");
}

static int data_request(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"scenario", true}, {"purpose", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 2, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1 || !opts[0].value || !opts[1].value) {
        cli_error(cli, "'data request' needs DATASET --scenario S --purpose "
                       "TEXT");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "data.request",
                 json_pack("{s:s, s:s, s:s}", "dataset", pos[0], "scenario",
                           opts[0].value, "purpose", opts[1].value),
                 NULL, 0, &result, NULL, NULL);
    if (r == 0)
        r = print_submitted(cli, result);
    json_decref(result);
    return r;
}

int cli_cmd_data(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"request", data_request, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, data_usage);
}

static void request_usage(FILE *out)
{
    fprintf(out, "Usage:\n"
                 "  warden request list          your tenant's data, import "
                 "and export requests\n"
                 "  warden request withdraw ID   withdraw your request "
                 "before a decision\n");
}

static int request_list(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    (void)argv;
    if (argc > 1) {
        cli_error(cli, "'request list' takes no arguments");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "request.list", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        cli_review_print_requests(json_object_get(result, "requests"));
    json_decref(result);
    return CLI_EXIT_OK;
}

static int request_withdraw(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    long long id;
    int r;

    if (argc != 2) {
        cli_error(cli, "'request withdraw' needs exactly one ID");
        return CLI_EXIT_USAGE;
    }
    r = parse_id(cli, argv[1], &id);
    if (r == 0)
        r = cli_call(cli, "request.withdraw",
                     json_pack("{s:I}", "id", (json_int_t)id), NULL, 0,
                     &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("request %lld withdrawn\n", id);
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_request(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"list", request_list, NULL},
        {"withdraw", request_withdraw, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, request_usage);
}

static void import_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden import submit FILE --purpose TEXT [--tenant T] "
            "[--scenario S]\n"
            "                [--name NAME]\n"
            "\n"
            "Sends FILE, opened with your own rights, to review.  Once "
            "approved it appears\n"
            "read-only as /inbox/NAME in the tenant's sandboxes.  Admins "
            "import into any\n"
            "tenant, operators into their own (the default).\n");
}

static int import_submit(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"purpose", true}, {"tenant", true},
                                {"scenario", true}, {"name", true}};
    _cleanup_free_ char **pos = NULL;
    _cleanup_close_ int fd = -1;
    json_t *result = NULL;
    const char *name;
    struct stat st;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 4, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1 || !opts[0].value) {
        cli_error(cli, "'import submit' needs FILE --purpose TEXT");
        return CLI_EXIT_USAGE;
    }
    fd = open(pos[0], O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        cli_error(cli, "opening '%s' failed: %s", pos[0], strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (!S_ISREG(st.st_mode)) {
        cli_error(cli, "'%s' is not a regular file", pos[0]);
        return CLI_EXIT_FAILURE;
    }
    if (opts[3].value) {
        name = opts[3].value;
    } else {
        const char *slash = strrchr(pos[0], '/');
        name = slash ? slash + 1 : pos[0];
    }
    r = cli_call(cli, "import.submit",
                 json_pack("{s:s, s:s?, s:s?, s:s}", "purpose", opts[0].value,
                           "tenant", opts[1].value, "scenario", opts[2].value,
                           "name", name),
                 &fd, 1, &result, NULL, NULL);
    if (r == 0)
        r = print_submitted(cli, result);
    json_decref(result);
    return r;
}

int cli_cmd_import(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"submit", import_submit, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, import_usage);
}
