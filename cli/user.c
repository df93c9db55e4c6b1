/* warden user ... */
#include "cli/cli.h"

#include "common/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void user_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden user add LOGIN --uid UID --name REAL_NAME "
            "--id-number ID\n"
            "         --role admin|operator|reviewer|auditor [--tenant "
            "TENANT]\n"
            "  warden user agree LOGIN [--date YYYY-MM-DD]   record the "
            "signed agreement\n"
            "  warden user train LOGIN [--date YYYY-MM-DD]   record "
            "completed training\n"
            "  warden user approve LOGIN                     record the "
            "filing approval\n"
            "  warden user list\n"
            "  warden user show [LOGIN]\n"
            "\n"
            "ID is the 18-character resident identity number; only a masked "
            "form is stored.\n");
}

static void print_user(json_t *user)
{
    json_t *missing = json_object_get(user, "missing");
    static const char *const keys[] = {
        "login", "uid", "real_name", "id_masked", "role", "tenant",
        "agreement_date", "training_date", "approved_by",
    };
    char buf[256];
    size_t i;
    json_t *item;

    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        printf("%-16s %s\n", keys[k],
               cli_cell(json_object_get(user, keys[k]), buf, sizeof(buf)));
    if (json_array_size(missing) == 0) {
        printf("%-16s %s\n", "missing", "nothing");
        return;
    }
    printf("missing:\n");
    json_array_foreach(missing, i, item)
        printf("  - %s\n", json_string_value(item));
}

static int user_add(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"uid", true},  {"name", true},
                                {"id-number", true}, {"role", true},
                                {"tenant", true}};
    const size_t n = 5;
    _cleanup_free_ char **pos = NULL;
    json_t *args, *result = NULL;
    const char *uid_text;
    char *end = NULL;
    long long uid = -1;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, n, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'user add' needs exactly one LOGIN");
        return CLI_EXIT_USAGE;
    }
    uid_text = cli_opt(opts, n, "uid");
    if (uid_text) {
        uid = strtoll(uid_text, &end, 10);
        if (*end || end == uid_text) {
            cli_error(cli, "invalid --uid '%s': use a number", uid_text);
            return CLI_EXIT_USAGE;
        }
    }
    args = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?}", "login", pos[0],
                     "real_name", cli_opt(opts, n, "name"), "id_number",
                     cli_opt(opts, n, "id-number"), "role",
                     cli_opt(opts, n, "role"), "tenant",
                     cli_opt(opts, n, "tenant"));
    if (uid_text)
        json_object_set_new(args, "uid", json_integer(uid));
    r = cli_call(cli, "user.add", args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("registered %s %s (uid %lld, identity %s)\n",
               json_string_value(json_object_get(result, "role")),
               json_string_value(json_object_get(result, "login")),
               (long long)json_integer_value(json_object_get(result, "uid")),
               json_string_value(json_object_get(result, "id_masked")));
    json_decref(result);
    return CLI_EXIT_OK;
}

static int user_update(struct cli *cli, int argc, char **argv,
                       const char *verb, bool takes_date)
{
    struct cli_option opts[] = {{"date", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *args, *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, takes_date ? 1 : 0, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1) {
        cli_error(cli, "'user %s' needs exactly one LOGIN", argv[0]);
        return CLI_EXIT_USAGE;
    }
    args = json_pack("{s:s, s:s?}", "login", pos[0], "date",
                     takes_date ? opts[0].value : NULL);
    r = cli_call(cli, verb, args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_user(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

static int user_agree(struct cli *cli, int argc, char **argv)
{
    return user_update(cli, argc, argv, "user.agree", true);
}

static int user_train(struct cli *cli, int argc, char **argv)
{
    return user_update(cli, argc, argv, "user.train", true);
}

static int user_approve(struct cli *cli, int argc, char **argv)
{
    return user_update(cli, argc, argv, "user.approve", false);
}

static int user_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"LOGIN", "UID", "ROLE", "TENANT",
                                          "REAL NAME", "READY"};
    json_t *result = NULL, *user;
    struct cli_table *table;
    size_t i;
    int r;

    (void)argv;
    if (argc > 1) {
        cli_error(cli, "'user list' takes no arguments");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "user.list", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    table = cli_table_new(6, headers);
    json_array_foreach(json_object_get(result, "users"), i, user) {
        char b[5][64];
        size_t nmissing = json_array_size(json_object_get(user, "missing"));
        char ready[32];
        const char *cells[6];

        snprintf(ready, sizeof(ready), nmissing ? "%zu missing" : "yes",
                 nmissing);
        cells[0] = cli_cell(json_object_get(user, "login"), b[0], 64);
        cells[1] = cli_cell(json_object_get(user, "uid"), b[1], 64);
        cells[2] = cli_cell(json_object_get(user, "role"), b[2], 64);
        cells[3] = cli_cell(json_object_get(user, "tenant"), b[3], 64);
        cells[4] = cli_cell(json_object_get(user, "real_name"), b[4], 64);
        cells[5] = ready;
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
    json_decref(result);
    return CLI_EXIT_OK;
}

static int user_show(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        cli_error(cli, "'user show' takes at most one LOGIN");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "user.show",
                 json_pack("{s:s?}", "login", argc == 2 ? argv[1] : NULL),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        print_user(result);
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_user(struct cli *cli, int argc, char **argv)
{
    static const struct cli_command sub[] = {
        {"add", user_add, NULL},         {"agree", user_agree, NULL},
        {"train", user_train, NULL},     {"approve", user_approve, NULL},
        {"list", user_list, NULL},       {"show", user_show, NULL},
        {NULL, NULL, NULL},
    };

    return cli_run_subcommand(cli, argc, argv, sub, user_usage);
}
