/* Purging a tenant chain after its retention period. */
#include "audit/audit-internal.h"

#include <string.h>

static json_t *purge_details(const char *chain,
                             const struct audit_purge_result *res)
{
    char hex[AUDIT_HEX_SIZE];

    audit_hex(res->final_hash, AUDIT_HASH_SIZE, hex);
    return json_pack("{s:s, s:I, s:I, s:s}", "chain", chain, "events",
                     (json_int_t)res->events, "final_seq",
                     (json_int_t)res->final_seq, "final_hash", hex);
}

int audit_purge_chain(struct audit_log *log, const char *chain,
                      const char *actor, int64_t uid,
                      struct audit_purge_result *ret, struct werr *err)
{
    struct audit_purge_result res = {0};
    struct audit_event ev = {
        .chain = AUDIT_PLATFORM_CHAIN,
        .actor = actor,
        .uid = uid,
        .action = "audit.purge",
        .object = chain,
        .result = "ok",
    };
    int r;

    if ((r = audit_chain_name_check(chain, err)) < 0)
        return r;
    if (strcmp(chain, AUDIT_PLATFORM_CHAIN) == 0)
        return werr_set(err, -EPERM, "the platform audit chain cannot be "
                                     "purged");
    if (sqlite3_get_autocommit(audit_log_db(log)))
        return werr_set(err, -EINVAL, "audit_purge_chain needs an open "
                                      "transaction: call BEGIN IMMEDIATE first");
    r = audit_log_chain_head(log, chain, &res.final_seq, res.final_hash, err);
    if (r < 0)
        return r;
    if (res.final_seq == 0)
        return werr_set(err, -ENOENT, "audit chain '%s' has no events", chain);
    if ((r = audit_log_delete_chain(log, chain, &res.events, err)) < 0)
        return r;

    ev.tenant = chain + strlen(AUDIT_TENANT_PREFIX);
    ev.details = purge_details(chain, &res);
    if (!ev.details)
        return werr_set(err, -ENOMEM, "out of memory");
    r = audit_append(log, &ev, &res.platform_seq, NULL, err);
    json_decref(ev.details);
    if (r < 0)
        return r;
    if (ret)
        *ret = res;
    return 0;
}
