/* warden dataset ... and warden grant ...
 *
 * Files are opened here, with the caller's own rights, and passed to the
 * daemon as descriptors; the daemon never opens a path for a client. */
#include "cli/cli.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void dataset_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden dataset add NAME --file PATH --owner AGENCY --level "
            "1..4\n"
            "         [--rules FILE] [--encoding utf-8|gb18030|gbk]\n"
            "  warden dataset list\n"
            "  warden dataset show NAME\n"
            "  warden dataset rules NAME --file RULES\n"
            "\n"
            "--level is the classification level, 1 (lowest) to 4.  The "
            "rules file\n"
            "has one 'COLUMN ACTION [ARGUMENT...]' per line, where ACTION "
            "is keep\n"
            "[REASON], drop, mask HEAD TAIL, pseudonym [PREFIX], generalize "
            "WIDTH,\n"
            "date year|month or redact; the README's \"Data rules\" "
            "section explains each.\n");
}

static void grant_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden grant DATASET TENANT --scenario TEXT\n"
            "  warden grant revoke DATASET TENANT\n"
            "  warden grant list [--tenant TENANT] [--dataset DATASET]\n"
            "\n"
            "The scenario must be one of the tenant's approved scenarios.\n");
}

static int open_input(struct cli *cli, const char *what, const char *path)
{
    return cli_open_regular(cli, what, path);
}

static void print_views(json_t *views)
{
    json_t *v;
    size_t i;

    json_array_foreach(views, i, v) {
        const char *state = json_string_value(json_object_get(v, "state"));
        const char *note = json_string_value(json_object_get(v, "note"));

        printf("view of %s for %s: %s", 
               json_string_value(json_object_get(v, "dataset")),
               json_string_value(json_object_get(v, "tenant")), state);
        if (json_object_get(v, "rows"))
            printf(", %lld rows",
                   (long long)json_integer_value(json_object_get(v, "rows")));
        if (note && strncmp(note, state, strlen(state)) != 0)
            printf(": %s", note);
        else if (note)
            printf(" (%s)", note);
        putchar('\n');
    }
}

static void print_columns(json_t *columns)
{
    static const char *const headers[] = {"COLUMN", "PII", "DETECTED",
                                          "RULE", "STATUS"};
    struct cli_table *table = cli_table_new(5, headers);
    json_t *col;
    size_t i;

    json_array_foreach(columns, i, col) {
        char detected[256] = "", buf[2][64];
        const char *key, *cells[5];
        json_t *count;
        size_t used = 0;

        json_object_foreach(json_object_get(col, "matches"), key, count)
            if (used < sizeof(detected))
                used += (size_t)snprintf(detected + used,
                                         sizeof(detected) - used, "%s%s %lld",
                                         used ? ", " : "", key,
                                         (long long)json_integer_value(count));
        cells[0] = cli_cell(json_object_get(col, "name"), buf[0], 64);
        cells[1] = json_is_true(json_object_get(col, "pii")) ? "yes" : "no";
        cells[2] = used ? detected : "-";
        cells[3] = cli_cell(json_object_get(col, "rule"), buf[1], 64);
        cells[4] = json_string_value(json_object_get(col, "status"));
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
}

static void print_grants(json_t *grants)
{
    static const char *const headers[] = {"DATASET", "TENANT", "SCENARIO",
                                          "VIEW", "ROWS", "NOTE"};
    static const char *const keys[] = {"dataset", "tenant", "scenario",
                                       "view_state", "view_rows",
                                       "view_note"};
    struct cli_table *table = cli_table_new(6, headers);
    json_t *g;
    size_t i;

    json_array_foreach(grants, i, g) {
        char bufs[6][1100];
        const char *cells[6];

        for (size_t c = 0; c < 6; c++)
            cells[c] = cli_cell(json_object_get(g, keys[c]), bufs[c],
                                sizeof(bufs[c]));
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
}

static void print_dataset(json_t *ds)
{
    static const char *const fields[] = {"name", "owner", "level",
                                         "encoding", "rows", "size_bytes",
                                         "sha256", "created_by", "rules_by"};
    char buf[512];

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (json_object_get(ds, fields[i]))
            printf("%-12s %s\n", fields[i],
                   cli_cell(json_object_get(ds, fields[i]), buf,
                            sizeof(buf)));
    printf("%-12s %s\n", "dev view",
           json_string_value(json_object_get(ds, "dev_view")));
    putchar('\n');
    print_columns(json_object_get(ds, "columns"));
    if (json_array_size(json_object_get(ds, "grants")) > 0) {
        putchar('\n');
        print_grants(json_object_get(ds, "grants"));
    }
}

static int print_result(struct cli *cli, json_t *result,
                        void (*print)(json_t *))
{
    if (cli->json)
        cli_print_json(result);
    else
        print(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

static int dataset_add(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {
        {"file", true},  {"owner", true},    {"level", true},
        {"rules", true}, {"encoding", true},
    };
    const size_t n = sizeof(opts) / sizeof(opts[0]);
    _cleanup_free_ char **pos = NULL;
    _cleanup_close_ int data_fd = -1, rules_fd = -1;
    const char *file, *level, *rules;
    json_t *args, *result = NULL;
    int fds[2], npos, r;
    char *end;
    long lv;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    file = cli_opt(opts, n, "file");
    level = cli_opt(opts, n, "level");
    rules = cli_opt(opts, n, "rules");
    if (npos != 1 || !file || !level) {
        cli_error(cli, "'dataset add' needs a NAME, --file PATH, --owner "
                  "AGENCY and --level 1..4");
        return CLI_EXIT_USAGE;
    }
    lv = strtol(level, &end, 10);
    if (*end || end == level) {
        cli_error(cli, "invalid --level '%s': use a whole number from 1 to "
                  "4", level);
        return CLI_EXIT_USAGE;
    }
    data_fd = open_input(cli, "data file", file);
    if (data_fd < 0)
        return CLI_EXIT_FAILURE;
    fds[0] = data_fd;
    if (rules) {
        rules_fd = open_input(cli, "rules file", rules);
        if (rules_fd < 0)
            return CLI_EXIT_FAILURE;
        fds[1] = rules_fd;
    }
    args = json_pack("{s:s, s:s?, s:I, s:s?}", "name", pos[0], "owner",
                     cli_opt(opts, n, "owner"), "level", (json_int_t)lv,
                     "encoding", cli_opt(opts, n, "encoding"));
    r = cli_call(cli, "dataset.add", args, fds, rules ? 2 : 1, &result, NULL,
                 NULL);
    if (r != 0)
        return r;
    if (!cli->json)
        printf("registered dataset %s: %lld rows, %lld bytes, sha256 %s\n",
               json_string_value(json_object_get(result, "name")),
               (long long)json_integer_value(json_object_get(result, "rows")),
               (long long)json_integer_value(
                   json_object_get(result, "size_bytes")),
               json_string_value(json_object_get(result, "sha256")));
    return print_result(cli, result, print_dataset);
}

static void print_dataset_list(json_t *result)
{
    static const char *const headers[] = {"NAME", "OWNER", "LEVEL", "ROWS",
                                          "ENCODING", "PII COLUMNS"};
    static const char *const keys[] = {"name", "owner", "level", "rows",
                                       "encoding", "pii_columns"};
    struct cli_table *table = cli_table_new(6, headers);
    json_t *ds;
    size_t i;

    json_array_foreach(json_object_get(result, "datasets"), i, ds) {
        char bufs[6][512];
        const char *cells[6];

        for (size_t c = 0; c < 6; c++)
            cells[c] = cli_cell(json_object_get(ds, keys[c]), bufs[c],
                                sizeof(bufs[c]));
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
}

static int dataset_list(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    (void)argv;
    if (argc > 1) {
        cli_error(cli, "'dataset list' takes no arguments");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "dataset.list", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    return print_result(cli, result, print_dataset_list);
}

static int dataset_show(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    if (argc != 2 || argv[1][0] == '-') {
        cli_error(cli, "'dataset show' needs exactly one NAME");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "dataset.show", json_pack("{s:s}", "name", argv[1]),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    return print_result(cli, result, print_dataset);
}

static void print_views_result(json_t *result)
{
    print_views(json_object_get(result, "views"));
    if (json_array_size(json_object_get(result, "views")) == 0)
        printf("no views to rebuild\n");
}

static int dataset_rules(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"file", true}};
    _cleanup_free_ char **pos = NULL;
    _cleanup_close_ int fd = -1;
    const char *file;
    json_t *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    file = cli_opt(opts, 1, "file");
    if (npos != 1 || !file) {
        cli_error(cli, "'dataset rules' needs a NAME and --file RULES");
        return CLI_EXIT_USAGE;
    }
    fd = open_input(cli, "rules file", file);
    if (fd < 0)
        return CLI_EXIT_FAILURE;
    r = cli_call(cli, "dataset.rules", json_pack("{s:s}", "name", pos[0]),
                 &fd, 1, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (!cli->json)
        printf("replaced the rules of %s\n", pos[0]);
    return print_result(cli, result, print_views_result);
}

int cli_cmd_dataset(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"add", dataset_add, NULL},
        {"list", dataset_list, NULL},
        {"show", dataset_show, NULL},
        {"rules", dataset_rules, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, dataset_usage);
}

static int grant_create(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"scenario", true}};
    _cleanup_free_ char **pos = NULL;
    const char *scenario;
    json_t *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    scenario = cli_opt(opts, 1, "scenario");
    if (npos != 2 || !scenario) {
        cli_error(cli, "'grant' needs DATASET TENANT --scenario TEXT");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "grant.create",
                 json_pack("{s:s, s:s, s:s}", "dataset", pos[0], "tenant",
                           pos[1], "scenario", scenario),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (!cli->json)
        printf("granted %s to %s for '%s'\n", pos[0], pos[1], scenario);
    return print_result(cli, result, print_views_result);
}

static int grant_revoke(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        cli_error(cli, "'grant revoke' needs DATASET TENANT");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "grant.revoke",
                 json_pack("{s:s, s:s}", "dataset", argv[1], "tenant",
                           argv[2]),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("revoked %s from %s; its views are deleted\n", argv[1],
               argv[2]);
    json_decref(result);
    return CLI_EXIT_OK;
}

static void print_grant_list(json_t *result)
{
    print_grants(json_object_get(result, "grants"));
}

static int grant_list(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"tenant", true}, {"dataset", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 2, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 0) {
        cli_error(cli, "'grant list' takes only --tenant and --dataset");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "grant.list",
                 json_pack("{s:s?, s:s?}", "tenant", cli_opt(opts, 2, "tenant"),
                           "dataset", cli_opt(opts, 2, "dataset")),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    return print_result(cli, result, print_grant_list);
}

int cli_cmd_grant(struct cli *cli, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        grant_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "revoke"))
        return grant_revoke(cli, argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return grant_list(cli, argc - 1, argv + 1);
    return grant_create(cli, argc, argv);
}
