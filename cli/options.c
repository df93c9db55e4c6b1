/* Subcommand option parsing and table output. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct cli_option *find_option(struct cli_option *opts, size_t nopts,
                                      const char *name, size_t len)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
            return &opts[i];
    return NULL;
}

int cli_parse(struct cli *cli, int argc, char **argv, struct cli_option *opts,
              size_t nopts, char ***ret_positional, int *ret_npositional)
{
    char **positional = calloc((size_t)argc + 1, sizeof(char *));
    int npos = 0;
    bool options_done = false;

    if (!positional)
        return CLI_EXIT_FAILURE;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq;
        struct cli_option *o;

        if (options_done || arg[0] != '-' || arg[1] != '-' || !arg[2]) {
            if (!options_done && !strcmp(arg, "--")) {
                options_done = true;
                continue;
            }
            positional[npos++] = argv[i];
            continue;
        }
        eq = strchr(arg + 2, '=');
        o = find_option(opts, nopts, arg + 2,
                        eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
        if (!o) {
            cli_error(cli, "unknown option '%s' for '%s': see '%s %s --help'",
                      arg, argv[0], cli->program, argv[0]);
            free(positional);
            return CLI_EXIT_USAGE;
        }
        if (!o->has_value) {
            o->value = "";
            continue;
        }
        if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            cli_error(cli, "option '--%s' needs a value", o->name);
            free(positional);
            return CLI_EXIT_USAGE;
        }
        if (o->nvalues < sizeof(o->values) / sizeof(o->values[0]))
            o->values[o->nvalues++] = o->value;
    }
    *ret_positional = positional;
    *ret_npositional = npos;
    return 0;
}

int cli_open_regular(struct cli *cli, const char *what, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        cli_error(cli, "cannot open the %s %s: %s", what, path,
                  strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        cli_error(cli, "the %s %s is not a regular file: give a file", what,
                  path);
        close(fd);
        return -1;
    }
    /* Readers in the daemon expect blocking reads on a regular file. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

int cli_run_subcommand(struct cli *cli, int argc, char **argv,
                       const struct cli_command *sub,
                       void (*usage)(FILE *out))
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (const struct cli_command *c = sub; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->run(cli, argc - 1, argv + 1);
    cli_error(cli, "unknown %s command '%s': see 'warden %s --help'",
              argv[0], argv[1], argv[0]);
    return CLI_EXIT_USAGE;
}

const char *cli_opt(const struct cli_option *opts, size_t nopts,
                    const char *name)
{
    for (size_t i = 0; i < nopts; i++)
        if (!strcmp(opts[i].name, name))
            return opts[i].value;
    return NULL;
}

struct cli_table {
    size_t ncols;
    size_t nrows;
    char **cells;   /* (nrows + 1) * ncols, row 0 the headers */
};

struct cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
    struct cli_table *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->ncols = ncols;
    cli_table_add(t, headers);
    return t;
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
    char **grown;

    if (!t)
        return;
    grown = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
    if (!grown)
        return;
    t->cells = grown;
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = strdup(cells[c] ? cells[c] : "");
    t->nrows++;
}

/* Width in terminal columns, counting each UTF-8 character as one column
 * except CJK ideographs, which take two. */
static size_t display_width(const char *s)
{
    size_t width = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) == 0x80)
            continue;
        width += (*p >= 0xe3 && *p <= 0xe9) ? 2 : 1;
    }
    return width;
}

void cli_table_print(struct cli_table *t)
{
    size_t *widths;

    if (!t)
        return;
    widths = calloc(t->ncols, sizeof(size_t));
    if (!widths)
        return;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = display_width(t->cells[r * t->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            bool last = c + 1 == t->ncols;
            fputs(cell, stdout);
            if (!last)
                for (size_t w = display_width(cell); w < widths[c] + 2; w++)
                    fputc(' ', stdout);
        }
        fputc('\n', stdout);
    }
    free(widths);
}

void cli_table_free(struct cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

const char *cli_safe(const char *s, char *buf, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;

    if (size == 0)
        return "";
    for (size_t i = 0; p[i] && o + 1 < size; i++) {
        bool bidi = p[i] == 0xe2 &&
                    ((p[i + 1] == 0x80 && p[i + 2] >= 0xaa &&
                      p[i + 2] <= 0xae) ||
                     (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 &&
                      p[i + 2] <= 0xa9));
        if (bidi) {
            buf[o++] = '?';
            i += 2;
        } else if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)p[i];
        }
    }
    buf[o] = '\0';
    return buf;
}

const char *cli_cell(json_t *value, char *buf, size_t size)
{
    if (!value || json_is_null(value))
        return "-";
    if (json_is_string(value))
        return cli_safe(json_string_value(value), buf, size);
    if (json_is_integer(value)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(value));
        return buf;
    }
    if (json_is_boolean(value))
        return json_is_true(value) ? "yes" : "no";
    if (json_is_real(value)) {
        snprintf(buf, size, "%.2f", json_real_value(value));
        return buf;
    }
    {
        char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, size, "%s", text ? text : "?");
        free(text);
        return buf;
    }
}
