/* wardend configuration: an INI file parsed with inih.
 *
 * Every key has a default, so an empty file is valid.  Unknown sections or
 * keys and malformed values are errors naming the file, line and key.  The
 * shipped config/warden.conf documents every key. */
#ifndef WARDEN_CONFIG_CONFIG_H
#define WARDEN_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define CONFIG_DEFAULT_PATH WARDEN_SYSCONFDIR "/warden/warden.conf"
/* Regulations require audit records to outlive a terminated authorization
 * by at least six months; 183 days covers any six calendar months. */
#define CONFIG_MIN_RETENTION_DAYS 183

struct warden_config {
    /* [daemon] */
    char *state_dir;          /* SQLite database, keys, stores */
    char *run_dir;            /* per-sandbox sockets and mount points */
    char *socket_path;        /* control socket */
    int log_level;            /* enum log_level */
    bool log_syslog;          /* syslog instead of stderr */
    uint32_t max_request_bytes;
    uint32_t max_connections_per_uid;
    char *clock_file;         /* test clock: file holding UNIX seconds */
    uint32_t expiry_check_seconds;

    /* [audit] */
    uint32_t retention_days;
    uint32_t checkpoint_events;
    uint32_t checkpoint_seconds;

    /* [sandbox] */
    char *rootfs;             /* NULL: the host's /usr tree */
    char *cgroup_name;        /* below the daemon's own cgroup */
    uint32_t uid_base;        /* first host uid handed to tenants */
    uint64_t tmp_size_bytes;
    uint64_t default_memory_bytes;
    uint32_t default_pids;
    uint32_t default_cpu_percent;
    char *seccomp_profile;    /* NULL: the profile built into wardend */

    /* [network] */
    char *address_pool;       /* IPv4 prefix split into per-tenant /24s */
    uint32_t nflog_group;

    /* [data] */
    uint32_t sample_rows;     /* development view size */
    uint64_t max_export_bytes;
    uint32_t small_count_threshold;
};

/* Fill cfg with the built-in defaults. */
int config_init_defaults(struct warden_config *cfg);

/* Read path over the values already in cfg.  Return 0 or a negative
 * errno with err naming the file, line and key. */
int config_load(struct warden_config *cfg, const char *path,
                struct werr *err);

/* Check cross-key rules (retention minimum, sizes) after loading. */
int config_validate(const struct warden_config *cfg, struct werr *err);

void config_free(struct warden_config *cfg);

/* Parse "512M", "2G", "1T", "65536" style sizes (K, M, G and T are
 * powers of 1024); return 0 or -EINVAL. */
int config_parse_size(const char *text, uint64_t *ret_bytes);

#endif
