/* warden shell and warden run: a sandboxed program whose terminal or
 * standard streams the daemon relays over the control connection.  The
 * client's own terminal descriptor never leaves this process: the daemon
 * owns the sandbox's pty and only bytes travel. */
#include "cli/cli.h"

#include "common/cleanup.h"
#include "common/fsutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

struct relay {
    struct cli *cli;
    bool tty;
    bool stdin_open;
    struct termios saved;
    bool raw;
    int sigfd;
    unsigned interrupts;   /* terminating signals received so far */
};

static void restore_terminal(struct relay *r)
{
    if (r->raw) {
        tcsetattr(STDIN_FILENO, TCSADRAIN, &r->saved);
        r->raw = false;
    }
}

static int enter_raw_mode(struct relay *r)
{
    struct termios raw;

    if (tcgetattr(STDIN_FILENO, &r->saved) < 0)
        return neg_errno();
    raw = r->saved;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
        return neg_errno();
    r->raw = true;
    return 0;
}

static int send_stream(struct relay *r, json_t *msg)
{
    int rc = proto_send(r->cli->fd, msg, NULL, 0);

    json_decref(msg);
    return rc;
}

static int send_resize(struct relay *r)
{
    struct winsize ws;

    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 ||
        ws.ws_col == 0)
        return 0;
    return send_stream(r, json_pack("{s:s, s:i, s:i}", "stream", "resize",
                                    "rows", ws.ws_row, "cols", ws.ws_col));
}

static int forward_stdin(struct relay *r)
{
    char buf[16384];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    _cleanup_free_ char *text = NULL;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        r->stdin_open = false;
        return send_stream(r, json_pack("{s:s}", "stream", "stdin_eof"));
    }
    text = proto_b64_encode(buf, (size_t)n);
    if (!text)
        return -ENOMEM;
    return send_stream(r, json_pack("{s:s, s:s}", "stream", "stdin", "data",
                                    text));
}

/* Forward a signal the user sent to this client (not typed on a
 * terminal in raw mode) to the sandboxed program. */
static int forward_signal(struct relay *r)
{
    struct signalfd_siginfo si;

    if (read(r->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return 0;
    if (si.ssi_signo == SIGWINCH)
        return r->tty ? send_resize(r) : 0;
    /* The first signal goes to the program; a second one ends the client
     * even if the program or the daemon does not react. */
    if (++r->interrupts > 1) {
        restore_terminal(r);
        fprintf(stderr, "warden: interrupted\n");
        exit(128 + (int)si.ssi_signo);
    }
    return send_stream(r, json_pack("{s:s, s:i}", "stream", "signal",
                                    "signal", (int)si.ssi_signo));
}

/* Handle one message from the daemon.  Return 1 when the program ended,
 * with its exit status in *ret_status. */
static int handle_message(struct relay *r, json_t *msg, int *ret_status)
{
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    unsigned char *data = NULL;
    size_t len = 0;

    if (!stream)
        return 0;
    if (!strcmp(stream, "stdout") || !strcmp(stream, "stderr")) {
        const char *text = json_string_value(json_object_get(msg, "data"));
        int fd = !strcmp(stream, "stdout") ? STDOUT_FILENO : STDERR_FILENO;

        if (text && proto_b64_decode(text, &data, &len) == 0)
            fs_write_all(fd, data, len);
        free(data);
        return 0;
    }
    if (!strcmp(stream, "message")) {
        restore_terminal(r);
        fprintf(stderr, "\r\nwarden: %s\r\n",
                json_string_value(json_object_get(msg, "text")));
        return 0;
    }
    if (!strcmp(stream, "exit")) {
        json_t *sig = json_object_get(msg, "signal");
        if (json_is_integer(sig))
            *ret_status = 128 + (int)json_integer_value(sig);
        else
            *ret_status =
                (int)json_integer_value(json_object_get(msg, "code"));
        return 1;
    }
    return 0;
}

static int setup_signals(struct relay *r)
{
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return neg_errno();
    r->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
    return r->sigfd < 0 ? neg_errno() : 0;
}

static int relay_loop(struct relay *r)
{
    int status = CLI_EXIT_UNAVAILABLE;

    for (;;) {
        struct pollfd fds[3] = {
            {.fd = r->cli->fd, .events = POLLIN},
            {.fd = r->sigfd, .events = POLLIN},
            {.fd = r->stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
        };
        json_t *msg = NULL;
        int done;

        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return CLI_EXIT_FAILURE;
        }
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
            if (forward_stdin(r) < 0)
                return CLI_EXIT_UNAVAILABLE;
        if (fds[1].revents & POLLIN)
            forward_signal(r);
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (cli_read_message(r->cli, &msg, NULL, NULL) != 0)
            return CLI_EXIT_UNAVAILABLE;
        done = handle_message(r, msg, &status);
        json_decref(msg);
        if (done)
            return status;
    }
}

static int start_stream(struct cli *cli, const char *verb, json_t *args,
                        bool tty)
{
    struct relay r = {.cli = cli, .tty = tty, .stdin_open = true,
                      .sigfd = -1};
    json_t *result = NULL;
    int status;

    if (tty) {
        struct winsize ws = {.ws_row = 24, .ws_col = 80};
        const char *term = getenv("TERM");

        /* A new pty reports 0x0 until someone sets its size. */
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 ||
            ws.ws_col == 0)
            ws = (struct winsize){.ws_row = 24, .ws_col = 80};
        json_object_set_new(args, "rows", json_integer(ws.ws_row));
        json_object_set_new(args, "cols", json_integer(ws.ws_col));
        json_object_set_new(args, "term",
                            json_string(term && term[0] ? term : "xterm"));
    }
    json_object_set_new(args, "tty", json_boolean(tty));
    status = cli_call(cli, verb, args, NULL, 0, &result, NULL, NULL);
    if (status != 0)
        return status;
    json_decref(result);
    if (setup_signals(&r) < 0) {
        cli_error(cli, "setting up signal handling failed");
        return CLI_EXIT_FAILURE;
    }
    if (tty && enter_raw_mode(&r) < 0) {
        cli_error(cli, "cannot put the terminal into raw mode");
        return CLI_EXIT_FAILURE;
    }
    status = relay_loop(&r);
    restore_terminal(&r);
    close(r.sigfd);
    return status;
}

int cli_cmd_shell(struct cli *cli, int argc, char **argv)
{
    json_t *args = json_object();
    bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        printf("Usage: warden shell [-c COMMAND]\n\n"
               "Open a shell in your tenant's development sandbox, or run "
               "COMMAND there\nwith /bin/sh -c.  Suitable as a login shell.\n");
        json_decref(args);
        return CLI_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "-c") != 0) {
        cli_error(cli, "unknown argument '%s': use 'warden shell -c COMMAND'",
                  argv[1]);
        json_decref(args);
        return CLI_EXIT_USAGE;
    }
    if (argc == 2) {
        cli_error(cli, "'-c' needs a COMMAND");
        json_decref(args);
        return CLI_EXIT_USAGE;
    }
    if (argc >= 3)
        json_object_set_new(args, "command", json_string(argv[2]));
    return start_stream(cli, "sandbox.shell", args, tty);
}

int cli_cmd_run(struct cli *cli, int argc, char **argv)
{
    json_t *argv_json = json_array();
    int first = 1;

    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        printf("Usage: warden run [--] PROGRAM [ARGS...]\n\n"
               "Run PROGRAM in your tenant's development sandbox without a "
               "terminal;\nits output streams back and its exit status "
               "(128+N for signal N) is warden's.\n");
        json_decref(argv_json);
        return CLI_EXIT_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--"))
        first = 2;
    if (first >= argc) {
        cli_error(cli, "'run' needs a PROGRAM: warden run -- PROGRAM "
                  "[ARGS...]");
        json_decref(argv_json);
        return CLI_EXIT_USAGE;
    }
    for (int i = first; i < argc; i++)
        json_array_append_new(argv_json, json_string(argv[i]));
    return start_stream(cli, "sandbox.run",
                        json_pack("{s:o}", "argv", argv_json), false);
}
