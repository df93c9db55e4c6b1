/* warden tenant ... */
#include "cli/cli.h"

#include "common/cleanup.h"
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void tenant_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden tenant create NAME --legal-entity TEXT --contact TEXT\n"
            "         --scenario TEXT [--scenario TEXT...] --start "
            "YYYY-MM-DD\n"
            "         --end YYYY-MM-DD [--memory SIZE] [--pids N] "
            "[--cpu PERCENT]\n"
            "  warden tenant list\n"
            "  warden tenant show NAME\n"
            "  warden tenant limits NAME [--memory SIZE] [--pids N] "
            "[--cpu PERCENT]\n"
            "  warden tenant plan NAME FILE\n"
            "  warden tenant activate NAME\n"
            "  warden tenant suspend NAME --reason TEXT --deadline "
            "YYYY-MM-DD\n"
            "  warden tenant freeze NAME --reason TEXT\n"
            "  warden tenant resume NAME\n"
            "  warden tenant terminate NAME --reason TEXT\n"
            "  warden tenant purge NAME\n"
            "  warden tenant lifecycle NAME\n"
            "  warden tenant net NAME --mode none|internal\n"
            "  warden tenant net show NAME\n"
            "  warden tenant allow|deny NAME ADDR[/PREFIX] tcp|udp|icmp "
            "[PORT]\n"
            "\n"
            "A term lasts at most one calendar year.  SIZE takes K, M or G "
            "suffixes;\n"
            "--cpu is a percentage of one core (200 is two cores).\n"
            "\n"
            "Activation needs an emergency response plan (UTF-8 text, at "
            "most 1 MiB)\n"
            "and a term that has started.  A term ends at the end of its "
            "last day (UTC);\n"
            "the tenant is then terminated, as is a suspended tenant at the "
            "end of its\n"
            "deadline day.  Termination destroys the workspace and data "
            "views; purge\n"
            "deletes the audit records once the retention period has "
            "passed.\n");
}

/* Add --memory, --pids and --cpu to args; return 0 or a usage error. */
static int add_limits(struct cli *cli, json_t *args,
                      const struct cli_option *opts, size_t n)
{
    const char *memory = cli_opt(opts, n, "memory");
    const char *pids = cli_opt(opts, n, "pids");
    const char *cpu = cli_opt(opts, n, "cpu");
    uint64_t bytes;
    char *end;

    if (memory) {
        if (config_parse_size(memory, &bytes) < 0) {
            cli_error(cli, "invalid --memory '%s': use a size such as 512M "
                      "or 2G", memory);
            return CLI_EXIT_USAGE;
        }
        json_object_set_new(args, "memory_bytes", json_integer((json_int_t)bytes));
    }
    if (pids) {
        long v = strtol(pids, &end, 10);
        if (*end || end == pids) {
            cli_error(cli, "invalid --pids '%s': use a whole number", pids);
            return CLI_EXIT_USAGE;
        }
        json_object_set_new(args, "pids", json_integer(v));
    }
    if (cpu) {
        long v = strtol(cpu, &end, 10);
        if (*end || end == cpu) {
            cli_error(cli, "invalid --cpu '%s': use a whole percentage", cpu);
            return CLI_EXIT_USAGE;
        }
        json_object_set_new(args, "cpu_percent", json_integer(v));
    }
    return 0;
}

static int tenant_create(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {
        {"legal-entity", true}, {"contact", true}, {"scenario", true},
        {"start", true},        {"end", true},     {"memory", true},
        {"pids", true},         {"cpu", true},
    };
    const size_t n = sizeof(opts) / sizeof(opts[0]);
    _cleanup_free_ char **pos = NULL;
    json_t *args, *scenarios, *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'tenant create' needs exactly one NAME");
        return CLI_EXIT_USAGE;
    }
    scenarios = json_array();
    for (size_t i = 0; i < opts[2].nvalues; i++)
        json_array_append_new(scenarios, json_string(opts[2].values[i]));
    args = json_pack("{s:s, s:s?, s:s?, s:o, s:s?, s:s?}", "name", pos[0],
                     "legal_entity", cli_opt(opts, n, "legal-entity"),
                     "contact", cli_opt(opts, n, "contact"), "scenarios",
                     scenarios, "start", cli_opt(opts, n, "start"), "end",
                     cli_opt(opts, n, "end"));
    r = add_limits(cli, args, opts, n);
    if (r != 0) {
        json_decref(args);
        return r;
    }
    r = cli_call(cli, "tenant.create", args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("created tenant %s (term %s to %s, state %s, host uids "
               "from %lld)\n",
               json_string_value(json_object_get(result, "name")),
               json_string_value(json_object_get(result, "term_start")),
               json_string_value(json_object_get(result, "term_end")),
               json_string_value(json_object_get(result, "state")),
               (long long)json_integer_value(
                   json_object_get(result, "uid_base")));
    json_decref(result);
    return CLI_EXIT_OK;
}

static int tenant_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"NAME", "STATE", "TERM START",
                                          "TERM END", "NETWORK",
                                          "LEGAL ENTITY"};
    static const char *const keys[] = {"name", "state", "term_start",
                                       "term_end", "net_mode",
                                       "legal_entity"};
    json_t *result = NULL, *tenant;
    struct cli_table *table;
    size_t i;
    int r;

    (void)argv;
    if (argc > 1) {
        cli_error(cli, "'tenant list' takes no arguments");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "tenant.list", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    table = cli_table_new(6, headers);
    json_array_foreach(json_object_get(result, "tenants"), i, tenant) {
        char bufs[6][64];
        const char *cells[6];
        for (size_t c = 0; c < 6; c++)
            cells[c] = cli_cell(json_object_get(tenant, keys[c]), bufs[c], 64);
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
    json_decref(result);
    return CLI_EXIT_OK;
}

static void print_fields(json_t *object)
{
    const char *key;
    json_t *value;
    char buf[512];

    json_object_foreach(object, key, value)
        printf("%-16s %s\n", key, cli_cell(value, buf, sizeof(buf)));
}

static int tenant_show(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    if (argc != 2 || argv[1][0] == '-') {
        cli_error(cli, "'tenant show' needs exactly one NAME");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "tenant.show", json_pack("{s:s}", "name", argv[1]),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_fields(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

static int tenant_limits(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"memory", true}, {"pids", true},
                                {"cpu", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *args, *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 3, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'tenant limits' needs exactly one NAME");
        return CLI_EXIT_USAGE;
    }
    args = json_pack("{s:s}", "name", pos[0]);
    r = add_limits(cli, args, opts, 3);
    if (r != 0) {
        json_decref(args);
        return r;
    }
    r = cli_call(cli, "tenant.limits", args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_fields(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

/* ---- Lifecycle: plan, activate, suspend, freeze, resume, terminate ---- */

/* Parse NAME and opts, every one of which is required, into args
 * {"name": NAME, OPTION: VALUE, ...}. */
static int lifecycle_args(struct cli *cli, int argc, char **argv,
                          struct cli_option *opts, size_t n,
                          json_t **ret_args)
{
    _cleanup_free_ char **pos = NULL;
    json_t *args;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'tenant %s' needs exactly one NAME", argv[0]);
        return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < n; i++)
        if (!opts[i].value) {
            cli_error(cli, "'tenant %s' needs --%s", argv[0], opts[i].name);
            return CLI_EXIT_USAGE;
        }
    args = json_pack("{s:s}", "name", pos[0]);
    for (size_t i = 0; i < n; i++)
        json_object_set_new(args, opts[i].name, json_string(opts[i].value));
    *ret_args = args;
    return 0;
}

/* Send verb and print the tenant's new state. */
static int lifecycle_call(struct cli *cli, const char *verb, json_t *args,
                          const char *done)
{
    json_t *result = NULL;
    int r;

    r = cli_call(cli, verb, args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else if (json_is_true(json_object_get(result, "already")))
        printf("tenant %s is already %s\n",
               json_string_value(json_object_get(result, "name")),
               json_string_value(json_object_get(result, "state")));
    else
        printf("%s tenant %s (state %s)\n", done,
               json_string_value(json_object_get(result, "name")),
               json_string_value(json_object_get(result, "state")));
    json_decref(result);
    return CLI_EXIT_OK;
}

static int tenant_plan(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int fd, r;

    if (argc != 3 || argv[1][0] == '-') {
        cli_error(cli, "'tenant plan' needs a tenant NAME and a FILE");
        return CLI_EXIT_USAGE;
    }
    /* The file is opened here, with the caller's own rights, and only its
     * descriptor travels to the daemon. */
    fd = cli_open_regular(cli, "plan", argv[2]);
    if (fd < 0)
        return CLI_EXIT_FAILURE;
    r = cli_call(cli, "tenant.plan", json_pack("{s:s}", "name", argv[1]),
                 &fd, 1, &result, NULL, NULL);
    close(fd);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("filed the emergency response plan of tenant %s (%lld bytes, "
               "SHA-256 %s)\n",
               json_string_value(json_object_get(result, "name")),
               (long long)json_integer_value(json_object_get(result, "bytes")),
               json_string_value(json_object_get(result, "plan_sha256")));
    json_decref(result);
    return CLI_EXIT_OK;
}

static int tenant_activate(struct cli *cli, int argc, char **argv)
{
    json_t *args = NULL;
    int r = lifecycle_args(cli, argc, argv, NULL, 0, &args);

    return r != 0 ? r : lifecycle_call(cli, "tenant.activate", args,
                                       "activated");
}

static int tenant_suspend(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"reason", true}, {"deadline", true}};
    json_t *args = NULL;
    int r = lifecycle_args(cli, argc, argv, opts, 2, &args);

    return r != 0 ? r : lifecycle_call(cli, "tenant.suspend", args,
                                       "suspended");
}

static int tenant_freeze(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"reason", true}};
    json_t *args = NULL;
    int r = lifecycle_args(cli, argc, argv, opts, 1, &args);

    return r != 0 ? r : lifecycle_call(cli, "tenant.freeze", args, "froze");
}

static int tenant_resume(struct cli *cli, int argc, char **argv)
{
    json_t *args = NULL;
    int r = lifecycle_args(cli, argc, argv, NULL, 0, &args);

    return r != 0 ? r : lifecycle_call(cli, "tenant.resume", args,
                                       "resumed");
}

static int tenant_terminate(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"reason", true}};
    json_t *args = NULL;
    int r = lifecycle_args(cli, argc, argv, opts, 1, &args);

    return r != 0 ? r : lifecycle_call(cli, "tenant.terminate", args,
                                       "terminated");
}

int cli_tenant_purge(struct cli *cli, int argc, char **argv)
{
    json_t *args = NULL, *result = NULL;
    int r = lifecycle_args(cli, argc, argv, NULL, 0, &args);

    if (r != 0)
        return r;
    r = cli_call(cli, "audit.purge", args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("purged the audit chain %s: %lld events deleted, final hash "
               "%s kept in the platform chain\n",
               json_string_value(json_object_get(result, "chain")),
               (long long)json_integer_value(json_object_get(result, "events")),
               json_string_value(json_object_get(result, "final_hash")));
    json_decref(result);
    return CLI_EXIT_OK;
}

static void print_time_field(const char *label, json_t *value)
{
    char text[32];
    time_t t;

    if (!json_is_integer(value)) {
        printf("%-20s -\n", label);
        return;
    }
    t = (time_t)json_integer_value(value);
    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
    printf("%-20s %s\n", label, text);
}

static void print_text_field(const char *label, json_t *value)
{
    char buf[512];

    printf("%-20s %s\n", label, cli_cell(value, buf, sizeof(buf)));
}

static int tenant_lifecycle(struct cli *cli, int argc, char **argv)
{
    json_t *args = NULL, *result = NULL, *plan, *x;
    size_t i;
    int r = lifecycle_args(cli, argc, argv, NULL, 0, &args);

    if (r != 0)
        return r;
    r = cli_call(cli, "tenant.lifecycle", args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    plan = json_object_get(result, "plan");
    print_text_field("name", json_object_get(result, "name"));
    print_text_field("state", json_object_get(result, "state"));
    print_time_field("since", json_object_get(result, "state_changed_at"));
    print_text_field("term start", json_object_get(result, "term_start"));
    print_text_field("term end", json_object_get(result, "term_end"));
    print_text_field("plan sha256", json_object_get(plan, "sha256"));
    print_text_field("plan filed by", json_object_get(plan, "filed_by"));
    print_time_field("plan filed at", json_object_get(plan, "filed_at"));
    x = json_object_get(result, "suspension");
    print_text_field("suspension reason", json_object_get(x, "reason"));
    print_text_field("deadline", json_object_get(x, "deadline"));
    x = json_object_get(result, "termination");
    print_text_field("termination reason", json_object_get(x, "reason"));
    print_time_field("terminated at", json_object_get(x, "terminated_at"));
    print_time_field("retention until",
                     json_object_get(result, "retention_until"));
    print_time_field("purged at", json_object_get(result, "purged_at"));
    json_array_foreach(json_object_get(result, "destructions"), i, x) {
        char datasets[512];

        printf("destruction %lld: %s, %s files, %s bytes, datasets %s\n",
               (long long)json_integer_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "status")),
               cli_cell(json_object_get(x, "files"), (char[32]){0}, 32),
               cli_cell(json_object_get(x, "bytes"), (char[32]){0}, 32),
               cli_cell(json_object_get(x, "datasets"), datasets,
                        sizeof(datasets)));
    }
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_tenant(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"create", tenant_create, NULL},
        {"list", tenant_list, NULL},
        {"show", tenant_show, NULL},
        {"limits", tenant_limits, NULL},
        {"plan", tenant_plan, NULL},
        {"activate", tenant_activate, NULL},
        {"suspend", tenant_suspend, NULL},
        {"freeze", tenant_freeze, NULL},
        {"resume", tenant_resume, NULL},
        {"terminate", tenant_terminate, NULL},
        {"purge", cli_tenant_purge, NULL},
        {"lifecycle", tenant_lifecycle, NULL},
        {"net", cli_cmd_tenant_net, NULL},
        {"allow", cli_cmd_tenant_allow, NULL},
        {"deny", cli_cmd_tenant_deny, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, tenant_usage);
}
