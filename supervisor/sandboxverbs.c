/* The sandbox verbs: shell, run, list and kill. */
#include "supervisor/sbx.h"

#include "common/cleanup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_MAX_ARGS 256

/* Refuse a sandbox to anyone who lacks a prerequisite, listing them all. */
int sandbox_check_prerequisites(struct request *req, struct werr *err)
{
    json_t *user = NULL, *missing, *item;
    char list[768] = "";
    size_t i, len = 0;
    int r;

    if (!req->d->cgroup)
        return werr_set(err, -ENOTSUP,
                        "sandboxes are unavailable: wardend could not set "
                        "up cgroups (see its log)");
    r = user_load_json(req->d, req->caller.login, &user, err);
    if (r < 0)
        return r;
    missing = json_object_get(user, "missing");
    json_array_foreach(missing, i, item) {
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
                                i ? "; " : "", json_string_value(item));
        if (len >= sizeof(list))
            break;
    }
    r = json_array_size(missing) > 0
            ? werr_set(err, -EACCES,
                       "%s cannot open a sandbox yet; missing: %s",
                       req->caller.login, list)
            : 0;
    json_decref(user);
    return r;
}

static int winsize_args(struct request *req, struct winsize *ws,
                        const char **term, struct werr *err)
{
    json_int_t rows = 24, cols = 80;
    int r;

    r = arg_int(req->args, "rows", false, 1, 1000, &rows, err);
    if (r == 0)
        r = arg_int(req->args, "cols", false, 1, 1000, &cols, err);
    if (r == 0)
        r = arg_string(req->args, "term", false, 64, term, err);
    if (r < 0)
        return r;
    *ws = (struct winsize){.ws_row = (unsigned short)rows,
                           .ws_col = (unsigned short)cols};
    return 0;
}

static int launch_for_request(struct request *req, struct launch *l,
                              json_t **ret_result, struct werr *err)
{
    struct sbx *s = NULL;
    int r;

    snprintf(req->tenant, sizeof(req->tenant), "%s", req->caller.tenant);
    l->who = &req->caller;
    l->conn = req->conn;
    l->log_fds[0] = l->log_fds[1] = -1;
    r = sandbox_launch(req->d, l, &s, err);
    if (r == -EAGAIN)
        return werr_set(err, -EBUSY,
                        "starting the sandbox failed because tenant '%s' "
                        "has reached its process limit: end some of its "
                        "processes, or ask an admin to raise it with "
                        "'warden tenant limits'",
                        req->caller.tenant);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "%s", s->id);
    req->details = json_pack("{s:s, s:s, s:i}", "sandbox", s->id, "kind",
                             l->kind, "pid", (int)s->sb.pid);
    *ret_result = json_pack("{s:s, s:b}", "sandbox", s->id, "stream", 1);
    return 0;
}

static int verb_shell(struct request *req, json_t **ret_result,
                      struct werr *err)
{
    struct launch l = {.kind = "shell"};
    const char *command = NULL, *term = NULL;
    char bash[] = "/bin/bash", login_flag[] = "-l", command_flag[] = "-c";
    _cleanup_free_ char *command_copy = NULL;
    char *argv[4];
    bool tty = true;
    int r;

    r = sandbox_check_prerequisites(req, err);
    if (r == 0)
        r = arg_string(req->args, "command", false, 64 * 1024, &command, err);
    if (r == 0)
        r = arg_bool(req->args, "tty", &tty, err);
    if (r == 0)
        r = winsize_args(req, &l.winsize, &term, err);
    if (r < 0)
        return r;
    argv[0] = bash;
    if (command) {
        command_copy = strdup(command);
        if (!command_copy)
            return werr_set(err, -ENOMEM, "out of memory");
        argv[1] = command_flag;
        argv[2] = command_copy;
        argv[3] = NULL;
    } else {
        argv[1] = login_flag;
        argv[2] = NULL;
    }
    l.argv = argv;
    l.tty = tty;
    l.term = term ? term : "xterm";
    return launch_for_request(req, &l, ret_result, err);
}

static int verb_run(struct request *req, json_t **ret_result,
                    struct werr *err)
{
    struct launch l = {.kind = "run"};
    json_t *list = json_object_get(req->args, "argv"), *item;
    char *argv[RUN_MAX_ARGS + 1] = {NULL};
    size_t i;
    int r;

    r = sandbox_check_prerequisites(req, err);
    if (r < 0)
        return r;
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > RUN_MAX_ARGS)
        return werr_set(err, -EINVAL,
                        "argument 'argv' must be a list of 1 to %d strings",
                        RUN_MAX_ARGS);
    json_array_foreach(list, i, item) {
        if (!json_is_string(item) ||
            strlen(json_string_value(item)) != json_string_length(item))
            return werr_set(err, -EINVAL,
                            "argv[%zu] must be a string without NUL bytes",
                            i);
    }
    json_array_foreach(list, i, item) {
        argv[i] = strdup(json_string_value(item));
        if (!argv[i])
            break;
    }
    l.argv = argv;
    r = i == json_array_size(list)
            ? launch_for_request(req, &l, ret_result, err)
            : werr_set(err, -ENOMEM, "out of memory");
    for (i = 0; argv[i]; i++)
        free(argv[i]);
    return r;
}

static bool may_manage(const struct request *req, const struct sbx *s)
{
    if (req->caller.role == ROLE_ADMIN)
        return true;
    return req->caller.role == ROLE_OPERATOR &&
           strcmp(req->caller.tenant, s->tenant) == 0;
}

static int verb_list(struct request *req, json_t **ret_result,
                     struct werr *err)
{
    json_t *list = json_array();

    (void)err;
    for (struct sbx *s = req->d->sandboxes; s; s = s->next) {
        struct cgroup_stats stats = {0};
        struct werr ignored = {0};

        if (req->caller.role == ROLE_OPERATOR &&
            strcmp(req->caller.tenant, s->tenant) != 0)
            continue;
        if (req->d->cgroup)
            cgroup_sandbox_stats(req->d->cgroup, s->tenant, s->id, &stats,
                                 &ignored);
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:b}",
                            "id", s->id, "tenant", s->tenant, "user",
                            s->login, "kind", s->kind, "pid", (int)s->sb.pid,
                            "started_at", (json_int_t)s->started_at,
                            "memory_bytes",
                            (json_int_t)stats.memory_current, "frozen",
                            stats.frozen));
    }
    *ret_result = json_pack("{s:o}", "sandboxes", list);
    return 0;
}

static int verb_kill(struct request *req, json_t **ret_result,
                     struct werr *err)
{
    const char *id;
    struct sbx *s;
    int r;

    r = arg_string(req->args, "id", true, 31, &id, err);
    if (r < 0)
        return r;
    snprintf(req->object, sizeof(req->object), "%s", id);
    s = sbx_find(req->d, id);
    if (!s || !may_manage(req, s))
        return werr_set(err, -ENOENT,
                        "sandbox '%s' is not running: see 'warden sandbox "
                        "list'", id);
    snprintf(req->tenant, sizeof(req->tenant), "%s", s->tenant);
    relay_send_message(s, "this sandbox was ended by an administrator");
    sandbox_kill(&s->sb, SIGKILL);
    if (req->d->cgroup) {
        struct cgroup_stats stats = {0};
        struct werr ignored = {0};

        /* A frozen process receives SIGKILL only once it is thawed. */
        cgroup_sandbox_stats(req->d->cgroup, s->tenant, s->id, &stats,
                             &ignored);
        if (stats.frozen) {
            *ret_result = json_pack("{s:s, s:s}", "id", id, "state",
                                    "killed when its tenant is resumed or "
                                    "terminated (frozen now)");
            return 0;
        }
    }
    *ret_result = json_pack("{s:s, s:s}", "id", id, "state", "killed");
    return 0;
}

const struct verb sandbox_verbs[] = {
    {"sandbox.shell", ROLE_OPERATOR, 0, verb_shell},
    {"sandbox.run", ROLE_OPERATOR, 0, verb_run},
    {"sandbox.list", ROLE_ADMIN | ROLE_OPERATOR | ROLE_AUDITOR,
     VERB_READ_ONLY | VERB_IN_SANDBOX, verb_list},
    {"sandbox.kill", ROLE_ADMIN | ROLE_OPERATOR, 0, verb_kill},
    {NULL, 0, 0, NULL},
};
