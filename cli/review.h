/* Helpers shared by the review queue commands (cli/review.c, cli/export.c). */
#ifndef WARDEN_CLI_REVIEW_H
#define WARDEN_CLI_REVIEW_H

#include "cli/cli.h"

#include <stdio.h>

/* Print a table of requests as returned by request.list and review.list. */
void cli_review_print_requests(json_t *requests);

#endif
