/* Talking to wardend over its control socket. */
#include "cli/cli.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Replies may be large (audit logs); lines up to this size are accepted. */
#define CLI_MAX_REPLY (256u << 20)

static struct proto_reader reader;
static bool reader_ready;

void cli_error(struct cli *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli->program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_connect(struct cli *cli)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd;

    if (cli->fd >= 0)
        return 0;
    if (strlen(cli->socket_path) >= sizeof(addr.sun_path)) {
        cli_error(cli, "socket path %s is too long", cli->socket_path);
        return CLI_EXIT_USAGE;
    }
    strcpy(addr.sun_path, cli->socket_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        cli_error(cli,
                  "cannot connect to wardend at %s: %s (is wardend running? "
                  "set --socket or WARDEN_SOCKET for another path)",
                  cli->socket_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CLI_EXIT_UNAVAILABLE;
    }
    cli->fd = fd;
    if (!reader_ready) {
        proto_reader_init(&reader, CLI_MAX_REPLY);
        reader_ready = true;
    }
    return 0;
}

int cli_read_message(struct cli *cli, json_t **ret_msg, int *ret_fds,
                     size_t *ret_nfds)
{
    char *line = NULL;
    json_error_t jerr;

    for (;;) {
        int r = proto_reader_next(&reader, &line);
        long n;

        if (r == 1)
            break;
        if (r < 0) {
            cli_error(cli, "reply from wardend is too large");
            return CLI_EXIT_UNAVAILABLE;
        }
        n = proto_reader_fill(&reader, cli->fd);
        if (n == -EAGAIN) {
            struct timeval tv = {0};
            fd_set set;
            FD_ZERO(&set);
            FD_SET(cli->fd, &set);
            select(cli->fd + 1, &set, NULL, NULL, NULL);
            (void)tv;
            continue;
        }
        if (n <= 0) {
            cli_error(cli, "wardend closed the connection%s%s",
                      n < 0 ? ": " : "", n < 0 ? strerror((int)-n) : "");
            return CLI_EXIT_UNAVAILABLE;
        }
    }
    *ret_msg = json_loads(line, 0, &jerr);
    free(line);
    if (!*ret_msg) {
        cli_error(cli, "malformed reply from wardend: %s", jerr.text);
        return CLI_EXIT_UNAVAILABLE;
    }
    if (ret_nfds) {
        size_t n = 0;
        int fd;
        while (n < PROTO_MAX_FDS && (fd = proto_reader_take_fd(&reader)) >= 0)
            ret_fds[n++] = fd;
        *ret_nfds = n;
    }
    return 0;
}

static int exit_for_code(const char *code)
{
    if (!strcmp(code, PROTO_E_DENIED))
        return CLI_EXIT_DENIED;
    if (!strcmp(code, PROTO_E_INTERNAL) || !strcmp(code, PROTO_E_UNAVAILABLE))
        return CLI_EXIT_UNAVAILABLE;
    return CLI_EXIT_REJECTED;
}

static int report_error(struct cli *cli, json_t *reply)
{
    json_t *error = json_object_get(reply, "error");
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));

    if (!code)
        code = PROTO_E_INTERNAL;
    if (cli->json) {
        json_t *out = json_pack("{s:O}", "error", error ? error : json_null());
        cli_print_json(out);
        json_decref(out);
    } else {
        char safe[WERR_MSG_MAX * 2];
        cli_error(cli, "%s", cli_safe(message ? message : code, safe,
                                      sizeof(safe)));
    }
    return exit_for_code(code);
}

/* Make every string of a result safe to print (see cli_safe()): text that
 * tenants wrote, such as purposes, file names and previews, reaches
 * reviewers' and auditors' terminals through the human-readable output.
 * --json output is left exact. */
static void sanitize_strings(json_t *value, int depth)
{
    const char *key;
    json_t *item;
    size_t i;

    if (depth > 32)
        return;
    if (json_is_object(value)) {
        json_object_foreach(value, key, item) {
            if (json_is_string(item)) {
                size_t len = json_string_length(item) + 1;
                char *safe = malloc(len);
                if (safe) {
                    json_string_set(item, cli_safe(json_string_value(item),
                                                   safe, len));
                    free(safe);
                }
            } else {
                sanitize_strings(item, depth + 1);
            }
        }
    } else if (json_is_array(value)) {
        json_array_foreach(value, i, item) {
            if (json_is_string(item)) {
                size_t len = json_string_length(item) + 1;
                char *safe = malloc(len);
                if (safe) {
                    json_string_set(item, cli_safe(json_string_value(item),
                                                   safe, len));
                    free(safe);
                }
            } else {
                sanitize_strings(item, depth + 1);
            }
        }
    }
}

int cli_call(struct cli *cli, const char *verb, json_t *args, const int *fds,
             size_t nfds, json_t **ret_result, int *ret_fds,
             size_t *ret_nfds)
{
    json_int_t id = ++cli->next_id;
    json_t *msg, *reply = NULL;
    int r;

    r = cli_connect(cli);
    if (r != 0) {
        json_decref(args);
        return r;
    }
    msg = json_pack("{s:i, s:I, s:s, s:o, s:i}", "v", PROTO_VERSION, "id", id,
                    "verb", verb, "args", args ? args : json_object(), "fds",
                    (int)nfds);
    if (!msg) {
        cli_error(cli, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    r = proto_send(cli->fd, msg, fds, nfds);
    json_decref(msg);
    if (r < 0) {
        cli_error(cli, "sending the request failed: %s", strerror(-r));
        return CLI_EXIT_UNAVAILABLE;
    }
    r = cli_read_message(cli, &reply, ret_fds, ret_nfds);
    if (r != 0)
        return r;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        r = report_error(cli, reply);
        json_decref(reply);
        return r;
    }
    if (ret_result) {
        *ret_result = json_incref(json_object_get(reply, "result"));
        if (!cli->json)
            sanitize_strings(*ret_result, 0);
    }
    json_decref(reply);
    return CLI_EXIT_OK;
}

void cli_print_json(json_t *result)
{
    json_dumpf(result, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
}
