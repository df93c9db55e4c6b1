/* warden report ...: the annual operation report of a tenant and the
 * platform overview.  The daemon returns JSON; this file renders it as
 * Markdown unless --json is given. */
#include "cli/cli.h"

#include "common/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void report_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden report annual TENANT --year YYYY [--json]\n"
            "  warden report platform [--json]\n"
            "\n"
            "annual: storage, datasets, sessions and jobs, requests, "
            "security events and\n"
            "the audit chain's verification for one tenant and calendar "
            "year (UTC).\n"
            "Admins and auditors may read every tenant's report, operators "
            "their own.\n"
            "platform: every tenant's state, term, days left, pending "
            "reviews and the\n"
            "date from which its audit records may be purged.\n");
}

static const char *str(json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));

    return s ? s : "-";
}

static long long num(json_t *object, const char *key)
{
    return (long long)json_integer_value(json_object_get(object, key));
}

/* Print a size in bytes below 1 KiB, else in KiB, MiB, GiB or TiB. */
static void print_size(json_t *value)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v;
    size_t u = 0;

    if (!json_is_integer(value)) {
        printf("-");
        return;
    }
    v = (double)json_integer_value(value);
    if (v < 1024) {
        printf("%.0f bytes", v);
        return;
    }
    v /= 1024;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    printf("%.1f %s", v, units[u]);
}

static void print_date(json_t *value)
{
    char text[11];
    time_t t;

    if (!json_is_integer(value)) {
        printf("-");
        return;
    }
    t = (time_t)json_integer_value(value);
    strftime(text, sizeof(text), "%Y-%m-%d", gmtime(&t));
    printf("%s", text);
}

/* A section that the daemon could not fill prints its note and returns
 * true. */
static bool print_unavailable(json_t *section)
{
    if (json_is_false(json_object_get(section, "available"))) {
        printf("Not available: %s.\n\n", str(section, "note"));
        return true;
    }
    return false;
}

static void print_storage(json_t *storage)
{
    static const char *const parts[] = {"workspace", "views"};

    printf("## Storage\n\n| Area | Files | Size |\n|---|---:|---:|\n");
    for (size_t i = 0; i < 2; i++) {
        json_t *part = json_object_get(storage, parts[i]);

        printf("| %s | %lld | ", parts[i], num(part, "files"));
        print_size(json_object_get(part, "bytes"));
        printf(" |\n");
    }
    printf("\n%s.\n\n", str(storage, "note"));
}

static void print_datasets(json_t *datasets)
{
    json_t *grant;
    size_t i;

    printf("## Data use\n\n");
    if (print_unavailable(datasets))
        return;
    if (json_array_size(json_object_get(datasets, "grants")) == 0) {
        printf("No dataset was granted during the year.\n\n");
        return;
    }
    printf("| Dataset | Owner | Level | Scenario | Granted | Revoked |\n"
           "|---|---|---:|---|---|---|\n");
    json_array_foreach(json_object_get(datasets, "grants"), i, grant) {
        printf("| %s | %s | %lld | %s | ", str(grant, "dataset"),
               str(grant, "owner"), num(grant, "level"),
               str(grant, "scenario"));
        print_date(json_object_get(grant, "granted_at"));
        printf(" | ");
        print_date(json_object_get(grant, "revoked_at"));
        printf(" |\n");
    }
    printf("\n");
}

static void print_processing(json_t *processing)
{
    const char *kind;
    json_t *row;

    printf("## Processing\n\n");
    if (print_unavailable(processing))
        return;
    printf("| Kind | Count | Hours |\n|---|---:|---:|\n");
    json_object_foreach(json_object_get(processing, "by_kind"), kind, row)
        printf("| %s | %lld | %.2f |\n", kind, num(row, "count"),
               json_number_value(json_object_get(row, "hours")));
    printf("| total | %lld | %.2f |\n\n", num(processing, "total"),
           json_number_value(json_object_get(processing, "hours")));
}

static void print_jobs(json_t *jobs)
{
    const char *state;
    json_t *count;

    printf("## Production jobs\n\n");
    if (print_unavailable(jobs))
        return;
    if (json_object_size(json_object_get(jobs, "by_state")) == 0) {
        printf("No production job was submitted during the year.\n\n");
        return;
    }
    printf("| State | Count |\n|---|---:|\n");
    json_object_foreach(json_object_get(jobs, "by_state"), state, count)
        printf("| %s | %lld |\n", state, (long long)json_integer_value(count));
    printf("\n");
}

static void print_requests(json_t *requests)
{
    json_t *row;
    size_t i;

    printf("## Requests, imports and exports\n\n");
    if (print_unavailable(requests))
        return;
    printf("| Kind | Outcome | Count |\n|---|---|---:|\n");
    json_array_foreach(json_object_get(requests, "by_kind_and_outcome"), i,
                       row)
        printf("| %s | %s | %lld |\n", str(row, "kind"), str(row, "outcome"),
               num(row, "count"));
    printf("\n");
}

static void print_security(json_t *security)
{
    const char *action;
    json_t *count;

    printf("## Security events\n\n| Action | Count |\n|---|---:|\n");
    json_object_foreach(json_object_get(security, "by_action"), action, count)
        printf("| %s | %lld |\n", action, (long long)json_integer_value(count));
    printf("| total | %lld |\n\nRequests refused for lack of permission: "
           "%lld.\n\n",
           num(security, "total"), num(security, "denied_requests"));
}

static void print_audit(json_t *audit)
{
    json_t *finding;
    size_t i;

    printf("## Audit chain\n\nChain `%s`: %s (%lld events, %lld signed "
           "checkpoints, %lld recordings checked).\n",
           str(audit, "chain"),
           json_is_true(json_object_get(audit, "ok")) ? "verified"
                                                       : "VERIFICATION FAILED",
           num(audit, "events"), num(audit, "checkpoints"),
           num(audit, "recordings"));
    json_array_foreach(json_object_get(audit, "findings"), i, finding)
        printf("\n- %s: %s", str(finding, "kind"), str(finding, "message"));
    printf("\n");
}

static void print_annual(json_t *report)
{
    json_t *info = json_object_get(report, "tenant_info");

    printf("# Annual operation report: %s, %lld\n\n", str(report, "tenant"),
           num(report, "year"));
    printf("- Legal entity: %s\n- State: %s\n- Term: %s to %s\n"
           "- Generated: %s\n\n",
           str(info, "legal_entity"), str(info, "state"),
           str(info, "term_start"), str(info, "term_end"),
           str(report, "generated_at"));
    print_storage(json_object_get(report, "storage"));
    print_datasets(json_object_get(report, "datasets"));
    print_processing(json_object_get(report, "processing"));
    print_jobs(json_object_get(report, "jobs"));
    print_requests(json_object_get(report, "requests"));
    print_security(json_object_get(report, "security_events"));
    print_audit(json_object_get(report, "audit"));
}

static int report_annual(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"year", true}, {"json", false}};
    _cleanup_free_ char **pos = NULL;
    json_t *result = NULL;
    const char *year;
    char *end;
    long value;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 2, &pos, &npos);
    if (r != 0)
        return r;
    year = cli_opt(opts, 2, "year");
    if (npos != 1 || !year) {
        cli_error(cli, "'report annual' needs a TENANT and --year YYYY");
        return CLI_EXIT_USAGE;
    }
    value = strtol(year, &end, 10);
    if (*end || end == year) {
        cli_error(cli, "invalid --year '%s': use a year such as 2026", year);
        return CLI_EXIT_USAGE;
    }
    if (cli_opt(opts, 2, "json"))
        cli->json = true;
    r = cli_call(cli, "report.annual",
                 json_pack("{s:s, s:i}", "name", pos[0], "year", (int)value),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_annual(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

static void print_platform(json_t *report)
{
    json_t *tenant;
    size_t i;

    printf("# Platform report\n\nGenerated %s.  Audit records are kept %lld "
           "days after termination.\n\n",
           str(report, "generated_at"), num(report, "retention_days"));
    printf("| Tenant | State | Term end | Days left | Deadline | Pending "
           "reviews | Purge allowed from |\n"
           "|---|---|---|---:|---|---:|---|\n");
    json_array_foreach(json_object_get(report, "tenants"), i, tenant) {
        char days[32], reviews[32];

        printf("| %s | %s | %s | %s | %s | %s | %s |\n", str(tenant, "name"),
               str(tenant, "state"), str(tenant, "term_end"),
               cli_cell(json_object_get(tenant, "days_left"), days,
                        sizeof(days)),
               str(tenant, "suspension_deadline"),
               cli_cell(json_object_get(tenant, "pending_reviews"), reviews,
                        sizeof(reviews)),
               str(tenant, "retention_until"));
    }
    if (!json_is_true(json_object_get(report, "review_queue")))
        printf("\nPending reviews: not available, this wardend has no review "
               "queue.\n");
}

static int report_platform(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"json", false}};
    _cleanup_free_ char **pos = NULL;
    json_t *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 0) {
        cli_error(cli, "'report platform' takes no arguments");
        return CLI_EXIT_USAGE;
    }
    if (cli_opt(opts, 1, "json"))
        cli->json = true;
    r = cli_call(cli, "report.platform", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_platform(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_report(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"annual", report_annual, NULL},
        {"platform", report_platform, NULL},
        {NULL, NULL, NULL},
    };

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        report_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (const struct cli_command *c = sub; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->run(cli, argc - 1, argv + 1);
    cli_error(cli, "unknown report '%s': see 'warden report --help'",
              argv[1]);
    return CLI_EXIT_USAGE;
}
