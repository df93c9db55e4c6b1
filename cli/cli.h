/* The warden command: shared client state, the request call and output
 * helpers used by every command group. */
#ifndef WARDEN_CLI_CLI_H
#define WARDEN_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/proto.h"

/* Exit statuses.  `warden run` and `warden shell` exit with the sandboxed
 * program's status instead when the request itself succeeded. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,      /* a local error, such as an unreadable file */
    CLI_EXIT_USAGE = 2,        /* bad command line */
    CLI_EXIT_REJECTED = 3,     /* the daemon rejected the request */
    CLI_EXIT_DENIED = 4,       /* the caller lacks the role or registration */
    CLI_EXIT_UNAVAILABLE = 5,  /* daemon unreachable or internal error */
    CLI_EXIT_TAMPERED = 6,     /* `audit verify` found signs of tampering */
};

struct cli {
    const char *socket_path;
    bool json;
    int fd;
    json_int_t next_id;
    const char *program;
};

struct cli_command {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv);
    const char *summary;
};

/* Connect to the daemon unless already connected. */
int cli_connect(struct cli *cli);

/* Send verb with args (stolen reference, may be NULL) and the given
 * descriptors, wait for the reply and return its "result" in
 * *ret_result (new reference).  Received descriptors go to ret_fds when
 * given.  On a daemon error print it and return the exit status. */
int cli_call(struct cli *cli, const char *verb, json_t *args, const int *fds,
             size_t nfds, json_t **ret_result, int *ret_fds,
             size_t *ret_nfds);

/* Read one message from the daemon (streams). */
int cli_read_message(struct cli *cli, json_t **ret_msg, int *ret_fds,
                     size_t *ret_nfds);

/* Run the subcommand argv[1] of a command group from sub, or print usage
 * for --help and a missing or unknown subcommand. */
int cli_run_subcommand(struct cli *cli, int argc, char **argv,
                       const struct cli_command *sub,
                       void (*usage)(FILE *out));

/* Open the regular file path for reading, to pass its descriptor to the
 * daemon.  O_NONBLOCK keeps a FIFO from hanging the open; anything but a
 * regular file is rejected with a message naming what.  Return the
 * descriptor, or -1 after printing the error. */
int cli_open_regular(struct cli *cli, const char *what, const char *path);

/* Print result as indented JSON. */
void cli_print_json(json_t *result);

/* Print an error in the one shape every command uses. */
void cli_error(struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse the command-line arguments of a subcommand against a table of
 * long options; unknown options are a usage error. */
struct cli_option {
    const char *name;      /* without leading dashes */
    bool has_value;
    const char *value;     /* filled: value, or "" for a flag given */
    const char *values[16]; /* every value of a repeated option */
    size_t nvalues;
};
/* Fill options from argv[1..]; leave positional arguments in
 * ret_positional (argv order).  Return 0 or CLI_EXIT_USAGE after printing
 * why.  "--" ends option parsing. */
int cli_parse(struct cli *cli, int argc, char **argv, struct cli_option *opts,
              size_t nopts, char ***ret_positional, int *ret_npositional);
const char *cli_opt(const struct cli_option *opts, size_t nopts,
                    const char *name);

/* Table output: columns are set once, rows added, then printed with
 * aligned columns. */
struct cli_table;
struct cli_table *cli_table_new(size_t ncols, const char *const *headers);
void cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(struct cli_table *t);
void cli_table_free(struct cli_table *t);

/* Copy s into buf with every character that could rewrite the reader's
 * terminal (C0 controls except tab, DEL, bidirectional overrides)
 * replaced by '?'.  Text from tenants passes through it before printing. */
const char *cli_safe(const char *s, char *buf, size_t size);

/* Text of a JSON value for a table cell ("-" for null), made safe with
 * cli_safe(). */
const char *cli_cell(json_t *value, char *buf, size_t size);

/* Command groups. */
int cli_cmd_status(struct cli *cli, int argc, char **argv);
int cli_cmd_tenant(struct cli *cli, int argc, char **argv);
int cli_cmd_user(struct cli *cli, int argc, char **argv);
int cli_cmd_audit(struct cli *cli, int argc, char **argv);
int cli_cmd_session(struct cli *cli, int argc, char **argv);
int cli_cmd_shell(struct cli *cli, int argc, char **argv);
int cli_cmd_sandbox(struct cli *cli, int argc, char **argv);
int cli_cmd_job(struct cli *cli, int argc, char **argv);
int cli_cmd_tenant_net(struct cli *cli, int argc, char **argv);
int cli_cmd_tenant_allow(struct cli *cli, int argc, char **argv);
int cli_cmd_tenant_deny(struct cli *cli, int argc, char **argv);
/* warden audit purge TENANT, also reachable as warden tenant purge. */
int cli_tenant_purge(struct cli *cli, int argc, char **argv);
int cli_cmd_run(struct cli *cli, int argc, char **argv);
int cli_cmd_dataset(struct cli *cli, int argc, char **argv);
int cli_cmd_grant(struct cli *cli, int argc, char **argv);
int cli_cmd_report(struct cli *cli, int argc, char **argv);
int cli_cmd_export(struct cli *cli, int argc, char **argv);
int cli_cmd_data(struct cli *cli, int argc, char **argv);
int cli_cmd_request(struct cli *cli, int argc, char **argv);
int cli_cmd_import(struct cli *cli, int argc, char **argv);
int cli_cmd_review(struct cli *cli, int argc, char **argv);

#endif
