/* Helpers shared by the review queue commands (cli/review.c, cli/export.c). */
#ifndef WARDEN_CLI_REVIEW_H
#define WARDEN_CLI_REVIEW_H

#include "cli/cli.h"

#include <stdio.h>

/* Run the subcommand argv[1] of a command group from sub, or print usage
 * for --help and a missing or unknown subcommand. */
int cli_review_subcommand(struct cli *cli, int argc, char **argv,
                          const struct cli_command *sub,
                          void (*usage)(FILE *out));

/* Print a table of requests as returned by request.list and review.list. */
void cli_review_print_requests(json_t *requests);

#endif
