/* warden job submit|list|show */
#include "cli/cli.h"

#include "common/cleanup.h"

#include <stdio.h>
#include <string.h>

static void job_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden job submit [--code DIR] [--dataset NAME...] "
            "[--scenario TEXT] -- PROGRAM [ARGS...]\n"
            "  warden job list\n"
            "  warden job show ID\n"
            "\n"
            "A production job runs PROGRAM on the raw datasets granted to "
            "your tenant\n(read-only under /data), from a read-only snapshot "
            "of DIR in your home\n(default 'code', mounted at /code and the "
            "working directory), with no\nnetwork and no terminal.  It may "
            "write only to /output; its files become\nan export request for "
            "review.  Its output and errors are kept for the\nreviewers and "
            "not shown to you.  --dataset checks that the named datasets\nare "
            "granted and records them.\n");
}

static int job_submit(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"code", true}, {"dataset", true},
                                {"scenario", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *args, *list, *datasets, *result = NULL;
    int npos, r;

    r = cli_parse(cli, argc, argv, opts, 3, &pos, &npos);
    if (r != 0)
        return r;
    if (npos < 1) {
        cli_error(cli, "'job submit' needs a PROGRAM after '--'");
        return CLI_EXIT_USAGE;
    }
    list = json_array();
    for (int i = 0; i < npos; i++)
        json_array_append_new(list, json_string(pos[i]));
    datasets = json_array();
    for (size_t i = 0; i < opts[1].nvalues; i++)
        json_array_append_new(datasets, json_string(opts[1].values[i]));
    args = json_pack("{s:o, s:o, s:s?, s:s?}", "argv", list, "datasets",
                     datasets, "code", opts[0].value, "scenario",
                     opts[2].value);
    r = cli_call(cli, "job.submit", args, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("submitted %s (code %s); see 'warden job show %s'\n",
               json_string_value(json_object_get(result, "job")),
               json_string_value(json_object_get(result, "code_sha256")),
               json_string_value(json_object_get(result, "job")));
    json_decref(result);
    return CLI_EXIT_OK;
}

static int job_list(struct cli *cli)
{
    static const char *const headers[] = {"ID", "TENANT", "USER", "STATE",
                                          "EXIT", "OUTPUTS", "CODE"};
    json_t *result = NULL, *job;
    struct cli_table *table;
    size_t i;
    int r;

    r = cli_call(cli, "job.list", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    table = cli_table_new(7, headers);
    json_array_foreach(json_object_get(result, "jobs"), i, job) {
        char b[7][80];
        const char *cells[7];

        cells[0] = cli_cell(json_object_get(job, "id"), b[0], 80);
        cells[1] = cli_cell(json_object_get(job, "tenant"), b[1], 80);
        cells[2] = cli_cell(json_object_get(job, "user"), b[2], 80);
        cells[3] = cli_cell(json_object_get(job, "state"), b[3], 80);
        cells[4] = cli_cell(json_object_get(job, "exit_code"), b[4], 80);
        cells[5] = cli_cell(json_object_get(job, "outputs"), b[5], 80);
        snprintf(b[6], 17, "%s",
                 cli_cell(json_object_get(job, "code_sha256"), b[6], 80));
        cells[6] = b[6];
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
    json_decref(result);
    return CLI_EXIT_OK;
}

static int job_show(struct cli *cli, const char *id)
{
    json_t *result = NULL, *value;
    const char *key;
    char buf[512];
    int r;

    r = cli_call(cli, "job.list", json_pack("{s:s}", "id", id), NULL, 0,
                 &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
    } else {
        json_object_foreach(result, key, value)
            printf("%-14s %s\n", key, cli_cell(value, buf, sizeof(buf)));
    }
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_job(struct cli *cli, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        job_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "submit"))
        return job_submit(cli, argc - 1, argv + 1);
    if (!strcmp(argv[1], "list") && argc == 2)
        return job_list(cli);
    if (!strcmp(argv[1], "show") && argc == 3)
        return job_show(cli, argv[2]);
    cli_error(cli, "unknown job command: see 'warden job --help'");
    return CLI_EXIT_USAGE;
}
