/* warden tenant net|allow|deny: network mode and allowlist of a tenant. */
#include "cli/cli.h"

#include "common/cleanup.h"

#include <stdio.h>
#include <string.h>

static void net_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden tenant net TENANT --mode none|internal\n"
            "  warden tenant net show TENANT\n"
            "  warden tenant allow TENANT ADDR[/PREFIX] tcp|udp|icmp "
            "[PORT]\n"
            "  warden tenant deny TENANT ADDR[/PREFIX] tcp|udp|icmp [PORT]\n"
            "\n"
            "Mode none leaves sandboxes with loopback only.  Mode internal "
            "gives each\nsandbox a link on which only the allowlisted "
            "endpoints are reachable.\nChanges apply to running sandboxes at "
            "once.  ICMP takes no port; a\nmissing port allows every port.\n");
}

static int net_show(struct cli *cli, const char *tenant)
{
    json_t *result = NULL, *item;
    size_t i;
    int r;

    r = cli_call(cli, "tenant.net.show", json_pack("{s:s}", "name", tenant),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json) {
        cli_print_json(result);
    } else {
        printf("tenant %s: network mode %s%s\n", tenant,
               json_string_value(json_object_get(result, "mode")),
               json_is_true(json_object_get(result, "cut"))
                   ? " (cut off while suspended)"
                   : "");
        if (json_array_size(json_object_get(result, "allow")) == 0)
            printf("allowlist: empty (everything is dropped)\n");
        json_array_foreach(json_object_get(result, "allow"), i, item) {
            json_int_t port = json_integer_value(json_object_get(item, "port"));
            char port_text[16];

            snprintf(port_text, sizeof(port_text), "%lld", (long long)port);
            printf("allow %s %s port %s (added by %s)\n",
                   json_string_value(json_object_get(item, "address")),
                   json_string_value(json_object_get(item, "proto")),
                   port ? port_text : "any",
                   json_string_value(json_object_get(item, "added_by")));
        }
    }
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_tenant_net(struct cli *cli, int argc, char **argv)
{
    struct cli_option opts[] = {{"mode", true}};
    _cleanup_free_ char **pos = NULL;
    json_t *result = NULL;
    int npos, r;

    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        net_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc == 3 && !strcmp(argv[1], "show"))
        return net_show(cli, argv[2]);
    r = cli_parse(cli, argc, argv, opts, 1, &pos, &npos);
    if (r != 0)
        return r;
    if (npos != 1 || !opts[0].value) {
        net_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, "tenant.net",
                 json_pack("{s:s, s:s}", "name", pos[0], "mode",
                           opts[0].value),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("tenant %s: network mode %s\n", pos[0], opts[0].value);
    json_decref(result);
    return CLI_EXIT_OK;
}

static int change(struct cli *cli, int argc, char **argv, const char *verb)
{
    json_t *result = NULL;
    int r;

    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        net_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 4 || argc > 5) {
        net_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    r = cli_call(cli, verb,
                 json_pack("{s:s, s:s, s:s, s:s?}", "name", argv[1],
                           "address", argv[2], "proto", argv[3], "port",
                           argc == 5 ? argv[4] : NULL),
                 NULL, 0, &result, NULL, NULL);
    if (r != 0)
        return r;
    if (cli->json)
        cli_print_json(result);
    else
        printf("%s %s %s %s for tenant %s\n",
               !strcmp(verb, "tenant.allow") ? "allowed" : "removed",
               argv[2], argv[3], argc == 5 ? argv[4] : "(any port)",
               argv[1]);
    json_decref(result);
    return CLI_EXIT_OK;
}

int cli_cmd_tenant_allow(struct cli *cli, int argc, char **argv)
{
    return change(cli, argc, argv, "tenant.allow");
}

int cli_cmd_tenant_deny(struct cli *cli, int argc, char **argv)
{
    return change(cli, argc, argv, "tenant.deny");
}
