/* warden review ...: the reviewers' side of the review queue. */
#include "cli/review.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *checks_cell(json_t *request)
{
    json_t *passed = json_object_get(request, "checks_passed");

    if (json_is_true(passed))
        return "passed";
    if (json_is_false(passed))
        return json_is_true(json_object_get(request, "overridden"))
                   ? "overridden"
                   : "failed";
    return "running";
}

void cli_review_print_requests(json_t *requests)
{
    static const char *const headers[] = {"ID",    "KIND",   "TENANT",
                                          "STATE", "SUBMITTER", "CHECKS",
                                          "NEEDS", "SUBJECT"};
    struct cli_table *table = cli_table_new(8, headers);
    json_t *request;
    size_t i;

    json_array_foreach(requests, i, request) {
        char b[5][64], needs[16], subject[80];
        const char *cells[8];
        const char *dataset =
            json_string_value(json_object_get(request, "dataset"));

        snprintf(needs, sizeof(needs), "%lld",
                 (long long)json_integer_value(
                     json_object_get(request, "approvals_needed")));
        snprintf(subject, sizeof(subject), "%s%.60s",
                 dataset ? "dataset " : "",
                 dataset ? dataset
                         : json_string_value(
                               json_object_get(request, "purpose")));
        cells[0] = cli_cell(json_object_get(request, "id"), b[0], 64);
        cells[1] = cli_cell(json_object_get(request, "kind"), b[1], 64);
        cells[2] = cli_cell(json_object_get(request, "tenant"), b[2], 64);
        cells[3] = cli_cell(json_object_get(request, "state"), b[3], 64);
        cells[4] = cli_cell(json_object_get(request, "submitter"), b[4], 64);
        cells[5] = checks_cell(request);
        cells[6] = needs;
        cells[7] = subject;
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
}

static void review_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden review list [--kind data|import|export] [--tenant T] "
            "[--all]\n"
            "  warden review show ID\n"
            "  warden review approve ID [--note TEXT] [--override REASON]\n"
            "  warden review override ID --reason TEXT\n"
            "  warden review reject ID --reason TEXT\n"
            "  warden review return ID --reason TEXT\n"
            "  warden review revoke ID --reason TEXT\n"
            "\n"
            "list shows requests waiting for a decision (--all: every "
            "request).  A request\n"
            "that failed its checks is approved only with an override, "
            "which needs a\n"
            "second reviewer's approval; so do data requests for datasets "
            "of level 3 and\n"
            "above.  reject is final; return asks the submitter for new "
            "files; revoke\n"
            "takes back a released export that was not fetched yet.\n");
}

static int parse_request_id(struct cli *cli, const char *text,
                            json_int_t *ret)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v <= 0) {
        cli_error(cli, "invalid request ID '%s': use the number from "
                       "'warden review list'", text);
        return CLI_EXIT_USAGE;
    }
    *ret = (json_int_t)v;
    return 0;
}

static int review_list(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"kind", true}, {"tenant", true},
                                {"all", false}};
    _cleanup_free_ char **pos = NULL;
    json_t *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 3, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 0) {
        cli_error(cli, "'review list' takes no positional arguments");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "review.list",
                 json_pack("{s:s?, s:s?, s:b}", "kind", opts[0].value,
                           "tenant", opts[1].value, "all",
                           opts[2].value != NULL),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        cli_review_print_requests(json_object_get(result, "requests"));
    json_decref(result);
    return CLI_EXIT_OK;
}

static void print_time(const char *label, json_t *value)
{
    char buf[32];
    time_t t = (time_t)json_integer_value(value);
    struct tm tm;

    if (!json_is_integer(value))
        return;
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", gmtime_r(&t, &tm));
    printf("%-16s %s\n", label, buf);
}

static void print_check(json_t *c)
{
    const char *check = json_string_value(json_object_get(c, "check"));
    json_t *examples = json_object_get(c, "examples"), *e;
    bool ok = json_is_true(json_object_get(c, "ok"));
    size_t i;

    printf("    %-4s %s", ok ? "ok" : "FAIL", check);
    if (json_object_get(c, "dataset"))
        printf(" (dataset %s)",
               json_string_value(json_object_get(c, "dataset")));
    if (json_object_get(c, "error"))
        printf(": %s", json_string_value(json_object_get(c, "error")));
    else if (!strcmp(check, "type"))
        printf(": %s", json_string_value(json_object_get(c, "type")));
    else if (!strcmp(check, "pii"))
        printf(": %lld identifiers",
               (long long)json_integer_value(json_object_get(c, "count")));
    else if (!strcmp(check, "overlap"))
        printf(": %lld raw rows (%lld reordered or partial, %lld encoded), "
               "%lld rows with raw identifiers",
               (long long)json_integer_value(json_object_get(c, "raw_rows")),
               (long long)json_integer_value(
                   json_object_get(c, "raw_subset_rows")),
               (long long)json_integer_value(
                   json_object_get(c, "raw_encoded_rows")),
               (long long)json_integer_value(
                   json_object_get(c, "raw_value_rows")));
    else if (!strcmp(check, "small_counts"))
        printf(": %lld findings (threshold %lld)",
               (long long)json_integer_value(json_object_get(c, "findings")),
               (long long)json_integer_value(json_object_get(c, "threshold")));
    else if (json_object_get(c, "note"))
        printf(": %s", json_string_value(json_object_get(c, "note")));
    printf("\n");
    json_array_foreach(examples, i, e)
        printf("         line %lld column %s: %s %s\n",
               (long long)json_integer_value(json_object_get(e, "line")),
               json_object_get(e, "column_name")
                   ? json_string_value(json_object_get(e, "column_name"))
                   : "-",
               json_string_value(json_object_get(e, "kind")),
               json_string_value(json_object_get(e, "example")));
}

static json_t *checks_of_file(json_t *checks, const char *name)
{
    json_t *file;
    size_t i;

    json_array_foreach(json_object_get(checks, "files"), i, file)
        if (!strcmp(json_string_value(json_object_get(file, "name")), name))
            return file;
    return NULL;
}

static void print_files(json_t *result)
{
    json_t *checks = json_object_get(result, "checks");
    json_t *file, *c, *line;
    size_t i, j;

    json_array_foreach(json_object_get(result, "files"), i, file) {
        const char *name = json_string_value(json_object_get(file, "name"));
        json_t *fc = checks_of_file(checks, name);

        printf("\nfile %s (%lld bytes, %s)\n  sha256 %s\n  from %s\n", name,
               (long long)json_integer_value(json_object_get(file, "size")),
               json_object_get(file, "type")
                   ? json_string_value(json_object_get(file, "type"))
                   : "type unknown",
               json_string_value(json_object_get(file, "sha256")),
               json_string_value(json_object_get(file, "source")));
        json_array_foreach(json_object_get(fc, "checks"), j, c)
            print_check(c);
        if (json_array_size(json_object_get(file, "preview")))
            printf("  preview:\n");
        json_array_foreach(json_object_get(file, "preview"), j, line) {
            char safe[1024];
            printf("  | %s\n",
                   cli_safe(json_string_value(line) ? json_string_value(line)
                                                    : "",
                            safe, sizeof(safe)));
        }
    }
}

static void print_show(json_t *result)
{
    static const char *const keys[] = {"id",        "kind",     "tenant",
                                       "submitter", "state",    "scenario",
                                       "purpose",   "dataset",  "job",
                                       "revision",  "override_reason"};
    json_t *checks = json_object_get(result, "checks"), *item;
    char buf[1100];
    size_t i;

    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (json_object_get(result, keys[k]) &&
            !json_is_null(json_object_get(result, keys[k])))
            printf("%-16s %s\n", keys[k],
                   cli_cell(json_object_get(result, keys[k]), buf,
                            sizeof(buf)));
    print_time("created", json_object_get(result, "created_at"));
    printf("%-16s %s\n", "checks", checks_cell(result));
    printf("%-16s %lld\n", "approvals needed",
           (long long)json_integer_value(
               json_object_get(result, "approvals_needed")));
    json_array_foreach(json_object_get(checks, "summary"), i, item)
        printf("  - %s\n", json_string_value(item));
    if (json_object_get(checks, "dataset")) {
        json_t *ds = json_object_get(checks, "dataset");
        printf("%-16s %s, owner %s, level %lld, %lld rows\n", "dataset",
               json_string_value(json_object_get(ds, "name")),
               json_string_value(json_object_get(ds, "owner")),
               (long long)json_integer_value(json_object_get(ds, "level")),
               (long long)json_integer_value(json_object_get(ds, "rows")));
    }
    if (json_is_object(json_object_get(result, "provenance"))) {
        char *text = json_dumps(json_object_get(result, "provenance"),
                                JSON_COMPACT);
        printf("%-16s %s\n", "provenance", text ? text : "?");
        free(text);
    }
    print_files(result);
    if (json_array_size(json_object_get(result, "decisions")))
        printf("\ndecisions:\n");
    json_array_foreach(json_object_get(result, "decisions"), i, item)
        printf("  revision %lld: %s by %s%s%s\n",
               (long long)json_integer_value(json_object_get(item, "revision")),
               json_string_value(json_object_get(item, "decision")),
               json_string_value(json_object_get(item, "reviewer")),
               json_string_value(json_object_get(item, "reason")) ? ": " : "",
               json_string_value(json_object_get(item, "reason"))
                   ? json_string_value(json_object_get(item, "reason"))
                   : "");
    if (json_array_size(json_object_get(result, "earlier")))
        printf("\nearlier requests of the tenant:\n");
    json_array_foreach(json_object_get(result, "earlier"), i, item) {
        json_t *f;
        size_t j;

        printf("  %lld %s %s", (long long)json_integer_value(
                                    json_object_get(item, "id")),
               json_string_value(json_object_get(item, "kind")),
               json_string_value(json_object_get(item, "state")));
        json_array_foreach(json_object_get(item, "files"), j, f)
            printf(" %s(%.12s)",
                   json_string_value(json_object_get(f, "name")),
                   json_string_value(json_object_get(f, "sha256")));
        printf("\n");
    }
}

static int review_show(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    json_int_t id;
    int r;

    if (argc != 2) {
        cli_error(cli, "'review show' needs exactly one ID");
        return CLI_EXIT_USAGE;
    }
    r = parse_request_id(cli, argv[1], &id);
    if (r == 0)
        r = cli_call(cli, "review.show", json_pack("{s:I}", "id", id), NULL,
                     0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_show(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

/* approve, override, reject, return and revoke: ID and one text option. */
static int review_decide(struct cli *cli, int argc, char **argv,
                         const char *verb, const char *option,
                         bool required)
{
    struct cli_option opts[] = {{option, true}, {"override", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *args, *result = NULL;
    json_int_t id;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, !strcmp(option, "note") ? 2 : 1,
                  &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1 || (required && !opts[0].value)) {
        cli_error(cli, "'review %s' needs ID%s%s%s", argv[0],
                  required ? " --" : "", required ? option : "",
                  required ? " TEXT" : "");
        return CLI_EXIT_USAGE;
    }
    r = parse_request_id(cli, pos[0], &id);
    if (r != 0)
        return r;
    args = json_pack("{s:I, s:s?}", "id", id, option, opts[0].value);
    if (opts[1].value)
        json_object_set_new(args, "override", json_string(opts[1].value));
    r = cli_call(cli, verb, args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
    } else {
        printf("request %lld: %s", (long long)id,
               json_string_value(json_object_get(result, "state")));
        if (json_object_get(result, "needed"))
            printf(" (%lld of %lld approvals)",
                   (long long)json_integer_value(
                       json_object_get(result, "approvals")),
                   (long long)json_integer_value(
                       json_object_get(result, "needed")));
        printf("\n");
    }
    json_decref(result);
    return CLI_EXIT_OK;
}

static int review_approve(struct cli *cli, int argc, char **argv)
{
    return review_decide(cli, argc, argv, "review.approve", "note", false);
}

static int review_override(struct cli *cli, int argc, char **argv)
{
    return review_decide(cli, argc, argv, "review.override", "reason", true);
}

static int review_reject(struct cli *cli, int argc, char **argv)
{
    return review_decide(cli, argc, argv, "review.reject", "reason", true);
}

static int review_return(struct cli *cli, int argc, char **argv)
{
    return review_decide(cli, argc, argv, "review.return", "reason", true);
}

static int review_revoke(struct cli *cli, int argc, char **argv)
{
    return review_decide(cli, argc, argv, "review.revoke", "reason", true);
}

int cli_cmd_review(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"list", review_list, NULL},         {"show", review_show, NULL},
        {"approve", review_approve, NULL},   {"override", review_override, NULL},
        {"reject", review_reject, NULL},     {"return", review_return, NULL},
        {"revoke", review_revoke, NULL},     {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, review_usage);
}
