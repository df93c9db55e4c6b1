/* warden audit ...: read, export and verify the audit log.  `audit verify
 * --db` works offline on a copy of the database and needs no daemon. */
#include "cli/cli.h"

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Result cells longer than this are cut in the table view. */
#define RESULT_CELL_MAX 60

static void audit_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden audit pubkey [--output FILE]\n"
            "  warden audit log [FILTERS] [--json]\n"
            "  warden audit export [FILTERS]\n"
            "  warden audit verify [--tenant NAME | --chain CHAIN] "
            "[--pubkey FILE]\n"
            "  warden audit verify --db FILE --pubkey FILE [--tenant NAME |"
            " --chain CHAIN]\n"
            "         [--recordings DIR]\n"
            "  warden audit purge TENANT\n"
            "\n"
            "FILTERS:\n"
            "  --tenant NAME   only the chain of tenant NAME (operators "
            "always see only\n"
            "                  their own tenant)\n"
            "  --chain CHAIN   only CHAIN: 'platform' or 'tenant:NAME'\n"
            "  --since TIME    events at or after TIME, in UTC: YYYY-MM-DD "
            "or\n"
            "                  YYYY-MM-DDTHH:MM:SS\n"
            "  --until TIME    events before TIME; a date alone includes "
            "that whole day\n"
            "  --action NAME   that action, or a prefix ending in '*' "
            "(quote it)\n"
            "  --user LOGIN    events whose actor is LOGIN\n"
            "  --limit N       at most N events (log: default 1000, "
            "maximum 100000;\n"
            "                  export: all unless given)\n"
            "\n"
            "'log' prints the first matching events in time order (in "
            "sequence order\n"
            "with --tenant or --chain); 'export' writes every matching "
            "event as JSON\n"
            "Lines to standard output, for a SIEM.\n"
            "\n"
            "'verify' recomputes every hash chain, checks the signed "
            "checkpoints against\n"
            "the public key and re-hashes the session recordings.  "
            "Without --db the\n"
            "daemon verifies its live database, with its own public key "
            "or the one in\n"
            "--pubkey.  With --db, warden opens a copy of the database "
            "read-only and\n"
            "verifies it without the daemon; --pubkey is then required "
            "(a file with the\n"
            "64 hex digits, such as STATE_DIR/audit.pub or the output of "
            "'warden audit\n"
            "pubkey --output FILE'), and --recordings names a copy of "
            "STATE_DIR/recordings.\n"
            "Events after the last signed checkpoint of a chain are "
            "reported as not\n"
            "covered: their deletion cannot be detected, which is a limit "
            "of the proof\n"
            "and not a failure.\n"
            "\n"
            "Exit status of 'verify': 0 the log is intact, %d tampering "
            "found (each\n"
            "finding names its chain and sequence number), otherwise as "
            "for any command.\n",
            CLI_EXIT_TAMPERED);
}

/* Options shared by log and export, in this order. */
#define FILTER_OPTIONS                                                         \
    {"tenant", true}, {"chain", true}, {"since", true}, {"until", true},      \
        {"action", true}, {"user", true}, {"limit", true}

static int filter_args(struct cli *cli, const struct cli_option *opts,
                       size_t n, json_t **ret_args)
{
    static const char *const keys[] = {"tenant", "chain", "since", "until",
                                       "action", "user"};
    const char *limit = cli_opt(opts, n, "limit");
    json_t *args = json_object();

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const char *value = cli_opt(opts, n, keys[i]);
        if (value)
            json_object_set_new(args, keys[i], json_string(value));
    }
    if (limit) {
        char *end;
        long long v = strtoll(limit, &end, 10);
        if (*end || end == limit || v <= 0) {
            cli_error(cli, "invalid --limit '%s': use a positive whole "
                      "number", limit);
            json_decref(args);
            return CLI_EXIT_USAGE;
        }
        json_object_set_new(args, "limit", json_integer(v));
    }
    *ret_args = args;
    return 0;
}

static int audit_pubkey(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"output", true}};
    _cleanup_free_ char **pos = NULL;
    unsigned char key[AUDIT_PUBKEY_SIZE];
    struct werr err = {0};
    json_t *result = NULL;
    const char *hex, *output;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 0) {
        cli_error(cli, "'audit pubkey' takes no arguments besides --output");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "audit.pubkey", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    hex = json_string_value(json_object_get(result, "pubkey"));
    output = cli_opt(opts, 1, "output");
    if (!hex || audit_pubkey_from_hex(hex, key, &err) < 0) {
        cli_error(cli, "wardend sent an invalid public key: %s", err.msg);
        json_decref(result);
        return CLI_EXIT_UNAVAILABLE;
    }
    if (output && audit_pubkey_write(AT_FDCWD, output, key, &err) < 0) {
        cli_error(cli, "%s", err.msg);
        json_decref(result);
        return CLI_EXIT_FAILURE;
    }
    if (cli->json)
        cli_print_json(result);
    else if (!output)
        printf("%s\n", hex);
    json_decref(result);
    return CLI_EXIT_OK;
}

static void add_event_row(struct cli_table *table, json_t *ev)
{
    char seq[24], result[RESULT_CELL_MAX + 4], time_text[32];
    const char *cells[7];
    char bufs[7][64];
    const char *full_result, *time_value;

    time_value = cli_cell(json_object_get(ev, "time"), bufs[0], 64);
    /* "2026-03-01T10:00:00.123Z" reads better as "2026-03-01 10:00:00". */
    snprintf(time_text, sizeof(time_text), "%.19s", time_value);
    if (strlen(time_text) > 10 && time_text[10] == 'T')
        time_text[10] = ' ';
    snprintf(seq, sizeof(seq), "%lld",
             (long long)json_integer_value(json_object_get(ev, "seq")));
    full_result = cli_cell(json_object_get(ev, "result"), bufs[6], 64);
    if (strlen(full_result) > RESULT_CELL_MAX)
        snprintf(result, sizeof(result), "%.*s...", RESULT_CELL_MAX - 3,
                 full_result);
    else
        snprintf(result, sizeof(result), "%s", full_result);
    cells[0] = time_text;
    cells[1] = cli_cell(json_object_get(ev, "chain"), bufs[1], 64);
    cells[2] = seq;
    cells[3] = cli_cell(json_object_get(ev, "actor"), bufs[3], 64);
    cells[4] = cli_cell(json_object_get(ev, "action"), bufs[4], 64);
    cells[5] = cli_cell(json_object_get(ev, "object"), bufs[5], 64);
    cells[6] = result;
    cli_table_add(table, cells);
}

static int audit_log(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"TIME",   "CHAIN",  "SEQ",
                                          "ACTOR",  "ACTION", "OBJECT",
                                          "RESULT"};
    struct cli_option opts[] = {FILTER_OPTIONS, {"json", false}};
    const size_t n = ARRAY_SIZE(opts);
    _cleanup_free_ char **pos = NULL;
    json_t *args = NULL, *result = NULL, *ev;
    struct cli_table *table;
    size_t i;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 0) {
        cli_error(cli, "unexpected argument '%s': 'audit log' takes only "
                  "options", pos[0]);
        return CLI_EXIT_USAGE;
    }
    if (cli_opt(opts, n, "json"))
        cli->json = true;
    r = filter_args(cli, opts, n, &args);
    if (r != 0)
        return r;
    r = cli_call(cli, "audit.log", args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    table = cli_table_new(ARRAY_SIZE(headers), headers);
    json_array_foreach(json_object_get(result, "events"), i, ev)
        add_event_row(table, ev);
    cli_table_print(table);
    cli_table_free(table);
    if (json_is_true(json_object_get(result, "truncated")))
        fprintf(stderr,
                "%s: showing the first %lld matching events: narrow the "
                "filter with --since or raise --limit\n",
                cli->program,
                (long long)json_integer_value(json_object_get(result,
                                                              "count")));
    json_decref(result);
    return CLI_EXIT_OK;
}

/* Copy everything readable from fd to standard output. */
static int copy_to_stdout(struct cli *cli, int fd)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fs_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            cli_error(cli, "%s failed: %s", n < 0 ? "reading" : "writing "
                      "standard output", strerror(errno));
            return CLI_EXIT_FAILURE;
        }
    }
    return CLI_EXIT_OK;
}

static int audit_export(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {FILTER_OPTIONS};
    const size_t n = ARRAY_SIZE(opts);
    _cleanup_free_ char **pos = NULL;
    json_t *args = NULL, *result = NULL;
    int fds[PROTO_MAX_FDS];
    size_t nfds = 0;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 0) {
        cli_error(cli, "unexpected argument '%s': 'audit export' takes "
                  "only options", pos[0]);
        return CLI_EXIT_USAGE;
    }
    r = filter_args(cli, opts, n, &args);
    if (r != 0)
        return r;
    r = cli_call(cli, "audit.export", args, NULL, 0, &result, fds, &nfds);
    json_decref(result);
    if (r != 0)
        return r;
    if (nfds != 1) {
        cli_error(cli, "wardend sent %zu descriptors with the export, "
                  "expected 1", nfds);
        r = CLI_EXIT_UNAVAILABLE;
    } else {
        r = copy_to_stdout(cli, fds[0]);
    }
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    return r;
}

/* ---- verify ----------------------------------------------------------- */

static json_t *report_to_json(const struct audit_verify_report *rep)
{
    json_t *findings = json_array();

    for (size_t i = 0; i < rep->n_findings; i++) {
        const struct audit_finding *f = &rep->findings[i];
        json_array_append_new(
            findings,
            json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind",
                      audit_finding_kind_to_string(f->kind), "chain",
                      f->chain, "seq", (json_int_t)f->seq, "seq_last",
                      (json_int_t)f->seq_last, "message", f->message));
    }
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "ok", rep->ok,
                     "chains", (json_int_t)rep->chains, "events",
                     (json_int_t)rep->events, "checkpoints",
                     (json_int_t)rep->checkpoints, "recordings",
                     (json_int_t)rep->recordings, "findings", findings);
}

static int verify_offline(struct cli *cli, const char *db_path,
                          const char *pubkey_path, const char *recordings,
                          const char *chain, json_t **ret_report)
{
    struct audit_verify_report rep = {0};
    unsigned char key[AUDIT_PUBKEY_SIZE];
    _cleanup_close_ int recdir = -1;
    struct werr err = {0};
    sqlite3 *db = NULL;
    int rc, r;

    if (audit_pubkey_read(AT_FDCWD, pubkey_path, key, &err) < 0) {
        cli_error(cli, "%s", err.msg);
        return CLI_EXIT_FAILURE;
    }
    if (recordings) {
        recdir = open(recordings, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (recdir < 0) {
            cli_error(cli, "cannot open the recordings directory %s: %s",
                      recordings, strerror(errno));
            return CLI_EXIT_FAILURE;
        }
    }
    rc = sqlite3_open_v2(db_path, &db,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cli_error(cli, "cannot open the database %s: %s", db_path,
                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return CLI_EXIT_FAILURE;
    }
    r = audit_verify(db, chain, key, recdir, &rep, &err);
    sqlite3_close(db);
    if (r < 0) {
        cli_error(cli, "verifying %s failed: %s", db_path, err.msg);
        return CLI_EXIT_FAILURE;
    }
    *ret_report = report_to_json(&rep);
    audit_verify_report_free(&rep);
    return *ret_report ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int verify_online(struct cli *cli, const char *pubkey_path,
                         const char *tenant, const char *chain,
                         json_t **ret_report)
{
    unsigned char key[AUDIT_PUBKEY_SIZE];
    char hex[AUDIT_HEX_SIZE];
    struct werr err = {0};
    json_t *args;

    args = json_pack("{s:s?, s:s?}", "tenant", tenant, "chain", chain);
    if (pubkey_path) {
        if (audit_pubkey_read(AT_FDCWD, pubkey_path, key, &err) < 0) {
            cli_error(cli, "%s", err.msg);
            json_decref(args);
            return CLI_EXIT_FAILURE;
        }
        audit_pubkey_to_hex(key, hex);
        json_object_set_new(args, "pubkey", json_string(hex));
    }
    return cli_call(cli, "audit.verify", args, NULL, 0, ret_report, NULL,
                    NULL);
}

static void print_report(json_t *report)
{
    json_t *finding;
    size_t i, uncovered = 0, failures = 0;

    json_array_foreach(json_object_get(report, "findings"), i, finding) {
        const char *kind = json_string_value(json_object_get(finding,
                                                             "kind"));
        const char *message =
            json_string_value(json_object_get(finding, "message"));
        if (kind && !strcmp(kind, "uncovered")) {
            printf("not provable: %s\n", message ? message : "");
            uncovered++;
        } else {
            printf("TAMPERED (%s): %s\n", kind ? kind : "?",
                   message ? message : "");
            failures++;
        }
    }
    printf("%lld chains, %lld events, %lld checkpoints, %lld recordings "
           "checked: ",
           (long long)json_integer_value(json_object_get(report, "chains")),
           (long long)json_integer_value(json_object_get(report, "events")),
           (long long)json_integer_value(
               json_object_get(report, "checkpoints")),
           (long long)json_integer_value(
               json_object_get(report, "recordings")));
    if (json_is_true(json_object_get(report, "ok")))
        printf("the audit log is intact");
    else
        printf("%zu sign%s of tampering", failures, failures == 1 ? "" : "s");
    if (uncovered)
        printf(" (the unsigned tail of %zu chain%s is not covered)",
               uncovered, uncovered == 1 ? "" : "s");
    printf("\n");
}

static int audit_verify_cmd(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"tenant", true},     {"chain", true},
                                {"pubkey", true},     {"db", true},
                                {"recordings", true}, {"json", false}};
    const size_t n = ARRAY_SIZE(opts);
    _cleanup_free_ char **pos = NULL;
    _cleanup_free_ char *tenant_chain = NULL;
    const char *tenant, *chain, *pubkey, *db, *recordings;
    json_t *report = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    tenant = cli_opt(opts, n, "tenant");
    chain = cli_opt(opts, n, "chain");
    pubkey = cli_opt(opts, n, "pubkey");
    db = cli_opt(opts, n, "db");
    recordings = cli_opt(opts, n, "recordings");
    if (cli_opt(opts, n, "json"))
        cli->json = true;
    if (npos != 0) {
        cli_error(cli, "unexpected argument '%s': 'audit verify' takes "
                  "only options", pos[0]);
        return CLI_EXIT_USAGE;
    }
    if (tenant && chain) {
        cli_error(cli, "give either --tenant or --chain, not both");
        return CLI_EXIT_USAGE;
    }
    if (db && !pubkey) {
        cli_error(cli, "verifying with --db needs --pubkey FILE: the public "
                  "key must come from outside the database");
        return CLI_EXIT_USAGE;
    }
    if (recordings && !db) {
        cli_error(cli, "--recordings needs --db: the daemon checks its own "
                  "recordings");
        return CLI_EXIT_USAGE;
    }
    if (db) {
        if (tenant && asprintf(&tenant_chain, "%s%s", AUDIT_TENANT_PREFIX,
                               tenant) < 0)
            return CLI_EXIT_FAILURE;
        r = verify_offline(cli, db, pubkey, recordings,
                           tenant_chain ? tenant_chain : chain, &report);
    } else {
        r = verify_online(cli, pubkey, tenant, chain, &report);
    }
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(report);
    else
        print_report(report);
    r = json_is_true(json_object_get(report, "ok")) ? CLI_EXIT_OK
                                                    : CLI_EXIT_TAMPERED;
    json_decref(report);
    return r;
}

int cli_cmd_audit(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"pubkey", audit_pubkey, NULL},
        {"log", audit_log, NULL},
        {"export", audit_export, NULL},
        {"verify", audit_verify_cmd, NULL},
        {"purge", cli_tenant_purge, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, audit_usage);
}
