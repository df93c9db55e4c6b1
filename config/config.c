#include "config/config.h"

#include "common/cleanup.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum value_kind { KIND_STRING, KIND_U32, KIND_SIZE, KIND_BOOL, KIND_LOGLEVEL };

struct key_spec {
    const char *section;
    const char *name;
    enum value_kind kind;
    size_t offset;
    const char *hint;   /* what a valid value looks like */
};

#define KEY(sec, key, kind, field, hint)                                      \
    {sec, key, kind, offsetof(struct warden_config, field), hint}

static const struct key_spec keys[] = {
    KEY("daemon", "state_dir", KIND_STRING, state_dir, "an absolute path"),
    KEY("daemon", "run_dir", KIND_STRING, run_dir, "an absolute path"),
    KEY("daemon", "socket", KIND_STRING, socket_path, "an absolute path"),
    KEY("daemon", "log_level", KIND_LOGLEVEL, log_level,
        "error, warning, info or debug"),
    KEY("daemon", "log_syslog", KIND_BOOL, log_syslog, "yes or no"),
    KEY("daemon", "max_request_bytes", KIND_U32, max_request_bytes,
        "a byte count such as 1048576"),
    KEY("daemon", "max_connections_per_uid", KIND_U32,
        max_connections_per_uid, "a positive integer"),
    KEY("daemon", "clock_file", KIND_STRING, clock_file, "an absolute path"),
    KEY("daemon", "expiry_check_seconds", KIND_U32, expiry_check_seconds,
        "a positive integer"),
    KEY("audit", "retention_days", KIND_U32, retention_days,
        "a day count of at least 183"),
    KEY("audit", "checkpoint_events", KIND_U32, checkpoint_events,
        "a positive integer"),
    KEY("audit", "checkpoint_seconds", KIND_U32, checkpoint_seconds,
        "a positive integer"),
    KEY("sandbox", "rootfs", KIND_STRING, rootfs, "an absolute path"),
    KEY("sandbox", "cgroup_name", KIND_STRING, cgroup_name,
        "a name of letters, digits, '-' and '_'"),
    KEY("sandbox", "uid_base", KIND_U32, uid_base, "a uid above 65535"),
    KEY("sandbox", "tmp_size", KIND_SIZE, tmp_size_bytes, "a size such as 256M"),
    KEY("sandbox", "memory_limit", KIND_SIZE, default_memory_bytes,
        "a size such as 1G"),
    KEY("sandbox", "pids_limit", KIND_U32, default_pids, "a positive integer"),
    KEY("sandbox", "cpu_percent", KIND_U32, default_cpu_percent,
        "a percentage of one core, such as 100"),
    KEY("sandbox", "seccomp_profile", KIND_STRING, seccomp_profile,
        "an absolute path"),
    KEY("network", "address_pool", KIND_STRING, address_pool,
        "an IPv4 prefix such as 10.201.0.0/16"),
    KEY("network", "nflog_group", KIND_U32, nflog_group,
        "an NFLOG group number below 65536"),
    KEY("data", "sample_rows", KIND_U32, sample_rows, "a positive integer"),
    KEY("data", "max_export_size", KIND_SIZE, max_export_bytes,
        "a size such as 64M"),
    KEY("data", "small_count_threshold", KIND_U32, small_count_threshold,
        "a positive integer"),
};

struct parse_ctx {
    struct warden_config *cfg;
    char message[512];
};

static int dup_default(char **field, const char *value)
{
    *field = strdup(value);
    return *field ? 0 : -ENOMEM;
}

int config_init_defaults(struct warden_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->max_request_bytes = 1024 * 1024;
    cfg->max_connections_per_uid = 16;
    cfg->expiry_check_seconds = 60;
    cfg->retention_days = CONFIG_MIN_RETENTION_DAYS;
    cfg->checkpoint_events = 1000;
    cfg->checkpoint_seconds = 60;
    cfg->uid_base = 1000000;
    cfg->tmp_size_bytes = 256ull << 20;
    cfg->default_memory_bytes = 1ull << 30;
    cfg->default_pids = 512;
    cfg->default_cpu_percent = 100;
    cfg->nflog_group = 7140;
    cfg->sample_rows = 1000;
    cfg->max_export_bytes = 64ull << 20;
    cfg->small_count_threshold = 10;
    if (dup_default(&cfg->state_dir, "/var/lib/warden") < 0 ||
        dup_default(&cfg->run_dir, "/run/warden") < 0 ||
        dup_default(&cfg->socket_path, "/run/warden/warden.sock") < 0 ||
        dup_default(&cfg->cgroup_name, "warden") < 0 ||
        dup_default(&cfg->address_pool, "10.201.0.0/16") < 0) {
        config_free(cfg);
        return -ENOMEM;
    }
    return 0;
}

int config_parse_size(const char *text, uint64_t *ret_bytes)
{
    char *end = NULL;
    unsigned long long value;
    unsigned shift = 0;

    if (!isdigit((unsigned char)text[0]))
        return -EINVAL;
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0)
        return -EINVAL;
    switch (*end) {
    case '\0':
        break;
    case 'K': case 'k':
        shift = 10;
        end++;
        break;
    case 'M': case 'm':
        shift = 20;
        end++;
        break;
    case 'G': case 'g':
        shift = 30;
        end++;
        break;
    case 'T': case 't':
        shift = 40;
        end++;
        break;
    default:
        return -EINVAL;
    }
    if (*end != '\0' || value > (ULLONG_MAX >> shift))
        return -EINVAL;
    *ret_bytes = (uint64_t)value << shift;
    return 0;
}

static int parse_u32(const char *text, uint32_t *ret)
{
    char *end = NULL;
    unsigned long value;

    if (!isdigit((unsigned char)text[0]))
        return -EINVAL;
    errno = 0;
    value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > UINT32_MAX)
        return -EINVAL;
    *ret = (uint32_t)value;
    return 0;
}

static int parse_bool(const char *text, bool *ret)
{
    if (!strcmp(text, "yes") || !strcmp(text, "true") || !strcmp(text, "1")) {
        *ret = true;
        return 0;
    }
    if (!strcmp(text, "no") || !strcmp(text, "false") || !strcmp(text, "0")) {
        *ret = false;
        return 0;
    }
    return -EINVAL;
}

static int store_value(struct warden_config *cfg, const struct key_spec *key,
                       const char *value)
{
    char *field = (char *)cfg + key->offset;
    int r;

    switch (key->kind) {
    case KIND_STRING: {
        char **slot = (char **)(void *)field;
        char *copy;

        if (value[0] != '/' && strcmp(key->name, "cgroup_name") != 0 &&
            strcmp(key->name, "address_pool") != 0)
            return -EINVAL;
        copy = strdup(value);
        if (!copy)
            return -ENOMEM;
        free(*slot);
        *slot = copy;
        return 0;
    }
    case KIND_U32:
        return parse_u32(value, (uint32_t *)(void *)field);
    case KIND_SIZE:
        return config_parse_size(value, (uint64_t *)(void *)field);
    case KIND_BOOL:
        return parse_bool(value, (bool *)(void *)field);
    case KIND_LOGLEVEL:
        r = log_level_from_string(value);
        if (r < 0)
            return r;
        *(int *)(void *)field = r;
        return 0;
    }
    return -EINVAL;
}

static int handle_entry(void *user, const char *section, const char *name,
                        const char *value)
{
    struct parse_ctx *ctx = user;
    bool section_known = false;

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (strcmp(keys[i].section, section) != 0)
            continue;
        section_known = true;
        if (strcmp(keys[i].name, name) != 0)
            continue;
        if (store_value(ctx->cfg, &keys[i], value) < 0) {
            snprintf(ctx->message, sizeof(ctx->message),
                     "invalid value '%.100s' for key '%s' in [%s]: use %s",
                     value, name, section, keys[i].hint);
            return 0;
        }
        return 1;
    }
    if (!section_known)
        snprintf(ctx->message, sizeof(ctx->message),
                 "unknown section [%.60s] (key '%.60s'): valid sections "
                 "are daemon, audit, sandbox, network and data",
                 section, name);
    else
        snprintf(ctx->message, sizeof(ctx->message),
                 "unknown key '%.60s' in [%.60s]: see the shipped "
                 "warden.conf for the valid keys",
                 name, section);
    return 0;
}

int config_load(struct warden_config *cfg, const char *path,
                struct werr *err)
{
    struct parse_ctx ctx = {.cfg = cfg};
    _cleanup_fclose_ FILE *f = NULL;
    int line;

    f = fopen(path, "re");
    if (!f)
        return werr_errno(err, neg_errno(), "cannot open config file %s",
                          path);
    line = ini_parse_file(f, handle_entry, &ctx);
    if (line < 0)
        return werr_set(err, -ENOMEM, "%s: out of memory while parsing",
                        path);
    if (line > 0) {
        if (ctx.message[0] == '\0')
            snprintf(ctx.message, sizeof(ctx.message),
                     "malformed line: expected 'key = value' or '[section]'");
        return werr_set(err, -EINVAL, "%s:%d: %s", path, line, ctx.message);
    }
    return 0;
}

static bool valid_cgroup_name(const char *name)
{
    if (!name[0] || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

int config_validate(const struct warden_config *cfg, struct werr *err)
{
    if (cfg->retention_days < CONFIG_MIN_RETENTION_DAYS)
        return werr_set(err, -EINVAL,
                        "audit retention_days = %u is below the minimum of "
                        "%d days (six months): set retention_days to %d or "
                        "more",
                        cfg->retention_days, CONFIG_MIN_RETENTION_DAYS,
                        CONFIG_MIN_RETENTION_DAYS);
    if (cfg->max_request_bytes < 4096 || cfg->max_request_bytes > 64u << 20)
        return werr_set(err, -EINVAL,
                        "daemon max_request_bytes = %u is out of range: use "
                        "a value between 4096 and 67108864",
                        cfg->max_request_bytes);
    if (cfg->max_connections_per_uid == 0)
        return werr_set(err, -EINVAL,
                        "daemon max_connections_per_uid must be at least 1");
    if (cfg->uid_base < 65536)
        return werr_set(err, -EINVAL,
                        "sandbox uid_base = %u overlaps the host's own "
                        "users: use 65536 or more",
                        cfg->uid_base);
    if (!valid_cgroup_name(cfg->cgroup_name))
        return werr_set(err, -EINVAL,
                        "sandbox cgroup_name '%s' is invalid: use letters, "
                        "digits, '-' and '_' only",
                        cfg->cgroup_name);
    if (cfg->nflog_group > 65535)
        return werr_set(err, -EINVAL,
                        "network nflog_group = %u is out of range: use a "
                        "value below 65536",
                        cfg->nflog_group);
    if (cfg->expiry_check_seconds == 0 || cfg->checkpoint_events == 0 ||
        cfg->checkpoint_seconds == 0 || cfg->sample_rows == 0)
        return werr_set(err, -EINVAL,
                        "expiry_check_seconds, checkpoint_events, "
                        "checkpoint_seconds and sample_rows must be at "
                        "least 1");
    return 0;
}

void config_free(struct warden_config *cfg)
{
    free(cfg->state_dir);
    free(cfg->run_dir);
    free(cfg->socket_path);
    free(cfg->clock_file);
    free(cfg->rootfs);
    free(cfg->cgroup_name);
    free(cfg->seccomp_profile);
    free(cfg->address_pool);
    memset(cfg, 0, sizeof(*cfg));
}
