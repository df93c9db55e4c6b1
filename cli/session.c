/* warden session ...: list recorded sessions and play them back. */
#include "cli/cli.h"

#include "audit/asciicast.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void session_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden session list [--tenant NAME]\n"
            "  warden session show ID\n"
            "  warden session play ID [--speed X] [--idle-limit SECONDS] "
            "[--raw]\n"
            "\n"
            "Sessions are the shells and programs that ran in sandboxes.  "
            "Operators see\n"
            "only their own tenant's.  'play' replays a session's terminal "
            "output at its\n"
            "recorded pace multiplied by --speed (0 prints it at once), "
            "with pauses cut\n"
            "to --idle-limit seconds.  --raw writes the asciicast v2 file "
            "itself, for\n"
            "'asciinema play -' or to keep a copy.  Before playing, the "
            "recording is\n"
            "checked against the SHA-256 sealed in the audit chain; a "
            "mismatch is\n"
            "reported on standard error.\n");
}

/* Format seconds since the epoch as "YYYY-MM-DD HH:MM:SS" UTC, or "-". */
static const char *format_time(json_t *value, char buf[32])
{
    time_t t;
    struct tm tm;

    if (!json_is_integer(value))
        return "-";
    t = (time_t)json_integer_value(value);
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static const char *format_exit(json_t *session, char buf[32])
{
    json_t *code = json_object_get(session, "exit_code");
    json_t *signal = json_object_get(session, "exit_signal");

    if (json_is_integer(signal) && json_integer_value(signal) > 0)
        snprintf(buf, 32, "signal %lld",
                 (long long)json_integer_value(signal));
    else if (json_is_integer(code))
        snprintf(buf, 32, "%lld", (long long)json_integer_value(code));
    else if (json_is_null(json_object_get(session, "ended_at")))
        return "running";
    else
        return "-";
    return buf;
}

static int session_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID",      "TENANT", "USER",
                                          "KIND",    "STARTED", "ENDED",
                                          "EXIT",    "RECORDING"};
    struct cli_option opts[] = {{"tenant", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *result = NULL, *session;
    struct cli_table *table;
    size_t i;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 0) {
        cli_error(cli, "unexpected argument '%s': 'session list' takes only "
                  "--tenant", pos[0]);
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "session.list",
                 json_pack("{s:s?}", "tenant", cli_opt(opts, 1, "tenant")),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    table = cli_table_new(ARRAY_SIZE(headers), headers);
    json_array_foreach(json_object_get(result, "sessions"), i, session) {
        char bufs[8][64];
        const char *cells[8];

        cells[0] = cli_cell(json_object_get(session, "id"), bufs[0], 64);
        cells[1] = cli_cell(json_object_get(session, "tenant"), bufs[1], 64);
        cells[2] = cli_cell(json_object_get(session, "login"), bufs[2], 64);
        cells[3] = cli_cell(json_object_get(session, "kind"), bufs[3], 64);
        cells[4] = format_time(json_object_get(session, "started_at"),
                               bufs[4]);
        cells[5] = format_time(json_object_get(session, "ended_at"),
                               bufs[5]);
        cells[6] = format_exit(session, bufs[6]);
        cells[7] = json_is_string(json_object_get(session, "recording"))
                       ? "yes"
                       : "no";
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
    json_decref(result);
    return CLI_EXIT_OK;
}

static void print_session(json_t *session)
{
    json_t *chained = json_object_get(session, "recorded_in");
    json_t *intact = json_object_get(session, "recording_intact");
    char buf[512];

    printf("%-18s %s\n", "id", cli_cell(json_object_get(session, "id"), buf,
                                         sizeof(buf)));
    printf("%-18s %s\n", "tenant",
           cli_cell(json_object_get(session, "tenant"), buf, sizeof(buf)));
    printf("%-18s %s (uid %lld)\n", "user",
           cli_cell(json_object_get(session, "login"), buf, sizeof(buf)),
           (long long)json_integer_value(json_object_get(session, "uid")));
    printf("%-18s %s\n", "kind",
           cli_cell(json_object_get(session, "kind"), buf, sizeof(buf)));
    printf("%-18s %s\n", "command",
           cli_cell(json_object_get(session, "command"), buf, sizeof(buf)));
    printf("%-18s %s\n", "started",
           format_time(json_object_get(session, "started_at"), buf));
    printf("%-18s %s\n", "ended",
           format_time(json_object_get(session, "ended_at"), buf));
    printf("%-18s %s\n", "exit", format_exit(session, buf));
    printf("%-18s %s\n", "recording",
           cli_cell(json_object_get(session, "recording"), buf, sizeof(buf)));
    if (!json_is_string(json_object_get(session, "recording")))
        return;
    printf("%-18s %lld bytes%s\n", "recording size",
           (long long)json_integer_value(
               json_object_get(session, "recording_bytes")),
           json_is_true(json_object_get(session, "recording_present"))
               ? ""
               : " (file missing)");
    if (chained)
        printf("%-18s %s seq %lld, sha256 %s\n", "sealed in",
               json_string_value(json_object_get(chained, "chain")),
               (long long)json_integer_value(json_object_get(chained, "seq")),
               json_string_value(
                   json_object_get(chained, "recording_sha256")));
    else
        printf("%-18s no session.end event names this recording (the "
               "session is running,\n%-18s or it ended without an exit "
               "record)\n",
               "sealed in", "");
    if (json_is_true(intact))
        printf("%-18s yes\n", "recording intact");
    else if (json_is_false(intact))
        printf("%-18s NO: it does not match the hash in the audit chain\n",
               "recording intact");
    else
        printf("%-18s unknown until the session.end event seals it\n",
               "recording intact");
}

static int session_show(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    if (argc != 2 || argv[1][0] == '-') {
        cli_error(cli, "'session show' needs exactly one session ID");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "session.show", json_pack("{s:s}", "id", argv[1]),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_session(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

static int parse_seconds(struct cli *cli, const char *option,
                         const char *text, double *ret)
{
    char *end;
    double v;

    if (!text)
        return 0;
    v = strtod(text, &end);
    if (*end || end == text || !(v >= 0) || v > 1e6) {
        cli_error(cli, "invalid --%s '%s': use a number from 0 to 1000000",
                  option, text);
        return CLI_EXIT_USAGE;
    }
    *ret = v;
    return 0;
}

static int play_fd(struct cli *cli, int fd, bool raw, double speed,
                   double idle_limit)
{
    char buf[65536];
    struct werr err = {0};
    ssize_t n;

    if (!raw) {
        if (asciicast_play(fd, STDOUT_FILENO, speed, idle_limit, &err) < 0) {
            cli_error(cli, "playing the recording failed: %s", err.msg);
            return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
    }
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fs_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            cli_error(cli, "copying the recording failed: %s",
                      strerror(errno));
            return CLI_EXIT_FAILURE;
        }
    }
    return CLI_EXIT_OK;
}

static int session_play(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {
        {"speed", true}, {"idle-limit", true}, {"raw", false}};
    const size_t n = ARRAY_SIZE(opts);
    _cleanup_free_ char **pos = NULL;
    double speed = 1.0, idle_limit = 0;
    json_t *result = NULL;
    int fds[PROTO_MAX_FDS];
    size_t nfds = 0;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'session play' needs exactly one session ID");
        return CLI_EXIT_USAGE;
    }
    r = parse_seconds(cli, "speed", cli_opt(opts, n, "speed"), &speed);
    if (r == 0)
        r = parse_seconds(cli, "idle-limit", cli_opt(opts, n, "idle-limit"),
                          &idle_limit);
    if (r != 0)
        return r;
    r = cli_call(cli, "session.play", json_pack("{s:s}", "id", pos[0]), NULL,
                 0, &result, fds, &nfds);
    if (r != 0)
        return r;
    if (json_is_false(json_object_get(result, "recording_intact")))
        cli_error(cli, "warning: the recording of session %s does not match "
                  "the SHA-256 sealed in the audit chain: it was altered",
                  pos[0]);
    else if (!json_is_true(json_object_get(result, "recording_intact")))
        cli_error(cli, "warning: the recording of session %s is not sealed "
                  "in the audit chain yet, so it cannot be checked", pos[0]);
    if (nfds != 1) {
        cli_error(cli, "wardend sent %zu descriptors with the recording, "
                  "expected 1", nfds);
        r = CLI_EXIT_UNAVAILABLE;
    } else {
        r = play_fd(cli, fds[0], cli_opt(opts, n, "raw") != NULL, speed,
                    idle_limit);
    }
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    json_decref(result);
    return r;
}

int cli_cmd_session(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"list", session_list, NULL},
        {"show", session_show, NULL},
        {"play", session_play, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, session_usage);
}
