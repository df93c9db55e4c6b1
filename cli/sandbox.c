/* warden sandbox list|kill */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int sandbox_list(struct cli *cli)
{
    static const char *const headers[] = {"ID", "TENANT", "USER", "KIND",
                                          "PID", "STARTED", "MEMORY"};
    json_t *result = NULL, *s;
    struct cli_table *table;
    size_t i;
    int r;

    r = cli_call(cli, "sandbox.list", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    table = cli_table_new(7, headers);
    json_array_foreach(json_object_get(result, "sandboxes"), i, s) {
        char b[5][64], started[32], memory[32];
        time_t t = (time_t)json_integer_value(json_object_get(s, "started_at"));
        struct tm tm;
        const char *cells[7];

        gmtime_r(&t, &tm);
        strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%SZ", &tm);
        snprintf(memory, sizeof(memory), "%.1f MiB%s",
                 (double)json_integer_value(json_object_get(s, "memory_bytes")) /
                     (1024.0 * 1024.0),
                 json_is_true(json_object_get(s, "frozen")) ? " frozen" : "");
        cells[0] = cli_cell(json_object_get(s, "id"), b[0], 64);
        cells[1] = cli_cell(json_object_get(s, "tenant"), b[1], 64);
        cells[2] = cli_cell(json_object_get(s, "user"), b[2], 64);
        cells[3] = cli_cell(json_object_get(s, "kind"), b[3], 64);
        cells[4] = cli_cell(json_object_get(s, "pid"), b[4], 64);
        cells[5] = started;
        cells[6] = memory;
        cli_table_add(table, cells);
    }
    cli_table_print(table);
    cli_table_free(table);
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_sandbox(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int r;

    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout,
                "Usage:\n  warden sandbox list\n  warden sandbox kill ID\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "list") && argc == 2)
        return sandbox_list(cli);
    if (!strcmp(argv[1], "kill") && argc == 3) {
        r = cli_call(cli, "sandbox.kill", json_pack("{s:s}", "id", argv[2]),
                     NULL, 0, &result, NULL, NULL);
        if (r != 0)
            return r;
        if (cli->json)
            cli_print_json(result);
        else
            printf("%s: %s\n", argv[2],
                   json_string_value(json_object_get(result, "state")));
        json_decref(result);
        return CLI_EXIT_OK;
    }
    cli_error(cli, "unknown sandbox command: see 'warden sandbox --help'");
    return CLI_EXIT_USAGE;
}
