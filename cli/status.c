/* warden status */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int cli_cmd_status(struct cli *cli, int argc, char **argv)
{
    json_t *result = NULL, *caller, *counts;
    char buf[64];
    int r;

    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("Usage: warden status\n\nShow the daemon's version, uptime, "
               "counts and the caller's identity.\n");
        return CLI_EXIT_OK;
    }
    if (argc > 1) {
        cli_error(cli, "'status' takes no arguments");
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "status", NULL, NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
        json_decref(result);
        return CLI_EXIT_OK;
    }
    caller = json_object_get(result, "caller");
    counts = json_object_get(result, "counts");
    printf("wardend %s, pid %s, up %ss\n",
           json_string_value(json_object_get(result, "version")),
           cli_cell(json_object_get(result, "pid"), buf, sizeof(buf)),
           cli_cell(json_object_get(result, "uptime"), buf + 32, 32));
    printf("you:      %s (uid %lld, role %s, tenant %s)\n",
           json_string_value(json_object_get(caller, "login")),
           (long long)json_integer_value(json_object_get(caller, "uid")),
           json_string_value(json_object_get(caller, "role")),
           cli_cell(json_object_get(caller, "tenant"), buf, sizeof(buf)));
    printf("tenants:  %lld\n",
           (long long)json_integer_value(json_object_get(counts, "tenants")));
    printf("users:    %lld\n",
           (long long)json_integer_value(json_object_get(counts, "users")));
    printf("audit:    %lld events, public key %s\n",
           (long long)json_integer_value(
               json_object_get(counts, "audit_events")),
           json_string_value(json_object_get(counts, "audit_pubkey")));
    json_decref(result);
    return CLI_EXIT_OK;
}
