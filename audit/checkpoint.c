/* Signed checkpoints of the chain heads. */
#include "audit/audit-internal.h"

#include <string.h>

int audit_checkpoint_now(struct audit_log *log, const char *chain,
                         const struct audit_key *key, int64_t now_ns,
                         struct werr *err)
{
    unsigned char hash[AUDIT_HASH_SIZE];
    unsigned char msg[AUDIT_CHECKPOINT_MSG_MAX];
    unsigned char sig[crypto_sign_BYTES];
    int64_t head, covered;
    size_t len;
    int r;

    if ((r = audit_chain_name_check(chain, err)) < 0)
        return r;
    if (sqlite3_get_autocommit(audit_log_db(log)))
        return werr_set(err, -EINVAL, "audit_checkpoint_now needs an open "
                                      "transaction: call BEGIN IMMEDIATE first");
    if ((r = audit_log_chain_head(log, chain, &head, hash, err)) < 0)
        return r;
    if ((r = audit_log_last_checkpoint(log, chain, &covered, err)) < 0)
        return r;
    if (head == 0 || covered >= head)
        return 0;

    if (now_ns == 0)
        now_ns = audit_now_ns();
    len = audit_checkpoint_message(chain, head, hash, now_ns, msg);
    if (crypto_sign_detached(sig, NULL, msg, len, key->secret_key) != 0)
        return werr_set(err, -EIO, "signing the checkpoint of '%s' failed",
                        chain);
    r = audit_log_checkpoint_add(log, chain, head, hash, now_ns,
                                 key->public_key, sig, err);
    return r < 0 ? r : 1;
}

struct maybe_ctx {
    struct audit_log *log;
    const struct audit_key *key;
    int64_t every_events;
    int64_t every_ns;
    int64_t now_ns;
    int written;
    struct werr *err;
};

/* Decide whether chain needs a checkpoint now. */
static int checkpoint_due(struct maybe_ctx *ctx, const char *chain,
                          bool *ret_due)
{
    unsigned char hash[AUDIT_HASH_SIZE];
    int64_t head, covered, oldest_ns;
    int r;

    *ret_due = false;
    if ((r = audit_log_chain_head(ctx->log, chain, &head, hash, ctx->err)) < 0)
        return r;
    if ((r = audit_log_last_checkpoint(ctx->log, chain, &covered,
                                       ctx->err)) < 0)
        return r;
    if (head <= covered)
        return 0;
    if (ctx->every_events > 0 && head - covered >= ctx->every_events) {
        *ret_due = true;
        return 0;
    }
    if (ctx->every_ns <= 0)
        return 0;
    r = audit_log_event_time(ctx->log, chain, covered + 1, &oldest_ns,
                             ctx->err);
    if (r < 0)
        return r;
    *ret_due = ctx->now_ns - oldest_ns >= ctx->every_ns;
    return 0;
}

static int maybe_one(const char *chain, void *userdata)
{
    struct maybe_ctx *ctx = userdata;
    bool due;
    int r;

    if ((r = checkpoint_due(ctx, chain, &due)) < 0 || !due)
        return r;
    r = audit_checkpoint_now(ctx->log, chain, ctx->key, ctx->now_ns,
                             ctx->err);
    if (r > 0)
        ctx->written++;
    return r < 0 ? r : 0;
}

int audit_checkpoint_maybe(struct audit_log *log, const char *chain,
                           const struct audit_key *key, int64_t every_events,
                           int64_t every_ns, int64_t now_ns,
                           struct werr *err)
{
    struct maybe_ctx ctx = {
        .log = log,
        .key = key,
        .every_events = every_events,
        .every_ns = every_ns,
        .now_ns = now_ns ? now_ns : audit_now_ns(),
        .err = err,
    };
    int r;

    if (chain) {
        if ((r = audit_chain_name_check(chain, err)) < 0)
            return r;
        r = maybe_one(chain, &ctx);
    } else {
        r = audit_log_for_each_chain(log, maybe_one, &ctx, err);
    }
    return r < 0 ? r : ctx.written;
}
