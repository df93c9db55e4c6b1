/* Helpers shared by the files of the audit module. */
#ifndef WARDEN_AUDIT_INTERNAL_H
#define WARDEN_AUDIT_INTERNAL_H

#include "audit/audit.h"

#include <sodium.h>

/* Column list read by audit_event_from_row(), in this order. */
#define AUDIT_EVENT_COLUMNS                                                    \
    "chain, seq, time_ns, actor, uid, tenant, action, object, result, "      \
    "details, recording, recording_sha256, prev, hash"

#define AUDIT_CHECKPOINT_MSG_MAX (32 + 4 + AUDIT_CHAIN_MAX + 8 + 32 + 8)

/* Convert a failed SQLite result code into a negative errno and a message
 * naming what failed. */
int audit_sql_fail(sqlite3 *db, int rc, struct werr *err, const char *what);

/* Fill ev from the AUDIT_EVENT_COLUMNS of the current row of st, starting
 * at column first.  Strings point into st and live until the next step. */
void audit_event_from_row(sqlite3_stmt *st, int first,
                          struct audit_event *ev);

/* Build the signed checkpoint message; returns its length. */
size_t audit_checkpoint_message(const char *chain, int64_t seq,
                                const unsigned char hash[AUDIT_HASH_SIZE],
                                int64_t time_ns,
                                unsigned char ret_msg[AUDIT_CHECKPOINT_MSG_MAX]);

/* Return whether s is valid UTF-8. */
bool audit_utf8_valid(const char *s);

/* Hex string of exactly 2*len digits into bytes. */
int audit_unhex(const char *hex, unsigned char *ret_bytes, size_t len);

/* Statement helpers of struct audit_log, defined in log.c. */
int audit_log_chain_head(struct audit_log *log, const char *chain,
                         int64_t *ret_seq,
                         unsigned char ret_hash[AUDIT_HASH_SIZE],
                         struct werr *err);
int audit_log_last_checkpoint(struct audit_log *log, const char *chain,
                              int64_t *ret_seq, struct werr *err);
int audit_log_event_time(struct audit_log *log, const char *chain,
                         int64_t seq, int64_t *ret_time_ns, struct werr *err);
int audit_log_checkpoint_add(struct audit_log *log, const char *chain,
                             int64_t seq,
                             const unsigned char hash[AUDIT_HASH_SIZE],
                             int64_t time_ns, const unsigned char *public_key,
                             const unsigned char *signature, struct werr *err);
int audit_log_for_each_chain(struct audit_log *log,
                             int (*fn)(const char *chain, void *userdata),
                             void *userdata, struct werr *err);
int audit_log_delete_chain(struct audit_log *log, const char *chain,
                           int64_t *ret_events, struct werr *err);

#endif
