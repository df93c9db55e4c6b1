/* warden: the command-line client of wardend. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_command commands[] = {
    {"status", cli_cmd_status, "show the daemon's state and who you are"},
    {"tenant", cli_cmd_tenant, "create, list and show tenants"},
    {"user", cli_cmd_user, "register users and their prerequisites"},
    {"audit", cli_cmd_audit, "read, export and verify the audit log"},
    {"session", cli_cmd_session, "list and play back recorded sessions"},
    {"shell", cli_cmd_shell, "open a shell in your tenant's sandbox"},
    {"run", cli_cmd_run, "run a program in your tenant's sandbox"},
    {"sandbox", cli_cmd_sandbox, "list and end running sandboxes"},
    {"job", cli_cmd_job, "submit and follow production jobs"},
    {"dataset", cli_cmd_dataset, "register datasets and their masking rules"},
    {"grant", cli_cmd_grant, "grant datasets to tenants, revoke, list"},
    {"report", cli_cmd_report, "annual tenant reports and the platform overview"},
    {"export", cli_cmd_export, "submit, fetch and verify exports"},
    {"data", cli_cmd_data, "request a dataset for a scenario"},
    {"request", cli_cmd_request, "list or withdraw your tenant's requests"},
    {"import", cli_cmd_import, "submit a file for import into a tenant"},
    {"review", cli_cmd_review, "review data, import and export requests"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warden [--socket PATH] [--json] COMMAND [ARGS...]\n"
            "\n"
            "Commands:\n");
    for (const struct cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out,
            "\n"
            "Options:\n"
            "  --socket PATH  control socket (default $WARDEN_SOCKET or\n"
            "                 /run/warden/warden.sock)\n"
            "  --json         print results as JSON\n"
            "  --help         show this help; 'warden COMMAND --help' "
            "shows a command's\n"
            "  --version      print the version\n"
            "\n"
            "Exit status: 0 success, 1 local failure, 2 usage error, 3 "
            "request rejected,\n"
            "4 permission denied, 5 daemon unavailable or internal error.\n");
}

/* LeakSanitizer stops the process at exit when ptrace is unavailable, as
 * it is under the sandbox's seccomp filter.  This hook, read only by
 * sanitizer builds, turns leak checking off inside a sandbox. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return getenv("WARDEN_SANDBOX") != NULL;
}

int main(int argc, char **argv)
{
    struct cli cli = {.fd = -1, .program = "warden"};
    const char *env = getenv("WARDEN_SOCKET");
    int i;

    cli.socket_path = env && env[0] ? env : "/run/warden/warden.sock";
    /* As a login shell, sshd and login start "-warden" or "warden -c
     * COMMAND": both mean a sandboxed shell. */
    if (argv[0][0] == '-' || (argc >= 2 && !strcmp(argv[1], "-c")))
        return cli_cmd_shell(&cli, argc, argv);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--json")) {
            cli.json = true;
        } else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            cli.socket_path = argv[++i];
        } else if (!strncmp(argv[i], "--socket=", 9)) {
            cli.socket_path = argv[i] + 9;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(argv[i], "--version")) {
            printf("warden %s\n", WARDEN_VERSION);
            return CLI_EXIT_OK;
        } else {
            cli_error(&cli, "unknown option '%s': see 'warden --help'",
                      argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (const struct cli_command *c = commands; c->name; c++)
        if (!strcmp(argv[i], c->name))
            return c->run(&cli, argc - i, argv + i);
    cli_error(&cli, "unknown command '%s': see 'warden --help'", argv[i]);
    return CLI_EXIT_USAGE;
}
