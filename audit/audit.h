/* Hash-chained audit log with signed checkpoints.
 *
 * Storage.  Events live in the SQLite table audit_events, one hash chain
 * per tenant ("tenant:<name>") and one for the platform ("platform").
 * Each chain numbers its events 1, 2, 3, ... and every event stores the
 * hash of its predecessor (32 zero bytes for seq 1).  audit_db_init()
 * creates the tables idempotently.
 *
 * Event hash.  hash = SHA-256(prev || encoding), where prev is the 32-byte
 * hash of the previous event and encoding is the canonical encoding:
 *
 *     "warden-audit-event-v1" 0x00, then for each field in this order:
 *     chain, seq, time_ns, actor, uid, tenant, action, object, result,
 *     details, recording, recording_sha256
 *     a 4-byte big-endian length followed by that many bytes, or the
 *     length 0xffffffff and no bytes for a NULL field.
 *
 * Integers (seq, time_ns, uid) are written as decimal ASCII.  Text is
 * UTF-8 as stored.  details is the canonical JSON text of the details
 * object: jansson's json_dumps() with JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII (so non-ASCII characters become \uXXXX escapes with
 * uppercase hex digits, as jansson 2.14 writes them), stored verbatim and
 * hashed verbatim.  Verification hashes the stored text, so a later
 * jansson that formats differently cannot break old chains.  Time is an
 * integer count of nanoseconds since the Unix epoch in UTC (time_ns);
 * the JSON form adds an ISO 8601 string with milliseconds for reading.
 *
 * Checkpoints.  A checkpoint signs, with Ed25519, the message
 *     "warden-audit-checkpoint-v1" 0x00, 4-byte big-endian length of chain,
 *     chain, 8-byte big-endian seq, the 32-byte hash of event seq,
 *     8-byte big-endian time_ns of the checkpoint.
 * Only root can read the private key; the public key is printed and
 * stored as 64 lowercase hex digits.
 *
 * Transactions.  audit_append(), audit_checkpoint_*() and
 * audit_purge_chain() never BEGIN or COMMIT: they write inside the
 * caller's open transaction, so a state change and its audit event commit
 * together.  Use BEGIN IMMEDIATE, so that two writers cannot both read the
 * same chain head.  The unique index on (chain, seq) rejects a fork even
 * then. */
#ifndef WARDEN_AUDIT_AUDIT_H
#define WARDEN_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/err.h"

#define AUDIT_HASH_SIZE 32
#define AUDIT_HEX_SIZE (2 * AUDIT_HASH_SIZE + 1)
#define AUDIT_PUBKEY_SIZE 32
#define AUDIT_CHAIN_MAX 128
#define AUDIT_PLATFORM_CHAIN "platform"
#define AUDIT_TENANT_PREFIX "tenant:"

struct werr;

/* One audit event.  On append, fields marked "in" are read and the others
 * ignored; the query callback and the verifier receive every field
 * filled in.  Strings must be valid UTF-8 without NUL bytes. */
struct audit_event {
    const char *chain;      /* in: "platform" or "tenant:<name>" */
    int64_t seq;            /* out: 1, 2, ... within the chain */
    int64_t time_ns;        /* in: ns since the epoch (UTC), 0 for now */
    const char *actor;      /* in: login of the registered user */
    int64_t uid;            /* in: Unix uid of the actor, -1 for none */
    const char *tenant;     /* in: tenant name, NULL for the platform */
    const char *action;     /* in: e.g. "sandbox.start", "session.end" */
    const char *object;     /* in: ids acted on, space separated, or NULL */
    const char *result;     /* in: "ok" or "<code>: <message>" */
    json_t *details;        /* in: JSON object (borrowed) or NULL for {} */
    const char *details_json; /* out: canonical JSON text of details */
    const char *recording;  /* in: recording file name or NULL */
    const char *recording_sha256; /* in: its SHA-256, 64 hex digits */
    unsigned char prev[AUDIT_HASH_SIZE]; /* out */
    unsigned char hash[AUDIT_HASH_SIZE]; /* out */
};

/* Statements prepared on one database handle.  One per connection; not
 * for concurrent use from several threads. */
struct audit_log;

struct audit_key {
    unsigned char public_key[AUDIT_PUBKEY_SIZE];
    unsigned char secret_key[64]; /* libsodium layout: seed || public */
};

/* Create the audit tables and indexes if they do not exist.  Safe to call
 * inside the caller's migration transaction; does not BEGIN itself. */
int audit_db_init(sqlite3 *db, struct werr *err);

/* Prepare the statements for db, whose schema audit_db_init() created.
 * The caller keeps db open until audit_log_free(). */
int audit_log_open(sqlite3 *db, struct audit_log **ret_log, struct werr *err);
void audit_log_free(struct audit_log *log);
sqlite3 *audit_log_db(const struct audit_log *log);

/* Append ev to its chain inside the caller's open transaction (-EINVAL
 * when the connection is in autocommit mode).  The first event of a
 * tenant chain also appends "audit.chain.start" to the platform chain, so
 * that deleting a whole tenant chain is detectable.  On success fill the
 * optional ret_seq and ret_hash. */
int audit_append(struct audit_log *log, const struct audit_event *ev,
                 int64_t *ret_seq, unsigned char ret_hash[AUDIT_HASH_SIZE],
                 struct werr *err);

/* Validate a chain name: "platform" or "tenant:" followed by 1 to 64
 * characters from [A-Za-z0-9._-]. */
int audit_chain_name_check(const char *chain, struct werr *err);

/* Compute the event hash described at the top of this file over the
 * fields of ev (details_json, not details) and prev. */
void audit_event_hash(const struct audit_event *ev,
                      const unsigned char prev[AUDIT_HASH_SIZE],
                      unsigned char ret_hash[AUDIT_HASH_SIZE]);

/* Signing key.  Load the key file at path, or create it when missing:
 * mode 0600, O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, fsynced with its
 * directory.  The directory must be owned by the effective uid or root and
 * not writable by group or others; an existing file must be a regular file
 * owned by the effective uid with no group or other permission bits.  The
 * file contains one line "ed25519-seed <64 hex digits>". */
int audit_key_load_or_create(const char *path, struct audit_key *ret_key,
                             struct werr *err);
/* Wipe the secret key. */
void audit_key_clear(struct audit_key *key);

/* Public key as 64 lowercase hex digits and back. */
void audit_pubkey_to_hex(const unsigned char key[AUDIT_PUBKEY_SIZE],
                         char ret_hex[AUDIT_HEX_SIZE]);
int audit_pubkey_from_hex(const char *hex,
                          unsigned char ret_key[AUDIT_PUBKEY_SIZE],
                          struct werr *err);
/* Public-key file for offline verification: the hex digits and a newline,
 * written atomically with mode 0644 at path below dirfd. */
int audit_pubkey_write(int dirfd, const char *path,
                       const unsigned char key[AUDIT_PUBKEY_SIZE],
                       struct werr *err);
int audit_pubkey_read(int dirfd, const char *path,
                      unsigned char ret_key[AUDIT_PUBKEY_SIZE],
                      struct werr *err);

/* Sign a checkpoint of chain at its current head inside the caller's
 * transaction.  Does nothing (returns 0) when the chain is empty or the
 * head already has a checkpoint; returns 1 when it wrote one. */
int audit_checkpoint_now(struct audit_log *log, const char *chain,
                         const struct audit_key *key, int64_t now_ns,
                         struct werr *err);

/* Sign a checkpoint of chain (or of every chain when chain is NULL) when
 * at least every_events events are not covered by a checkpoint, or when
 * the oldest uncovered event is at least every_ns old.  A limit of 0
 * disables that rule.  now_ns 0 means the current time.  Returns the
 * number of checkpoints written.  Call after appends, or from a timer,
 * inside a transaction. */
int audit_checkpoint_maybe(struct audit_log *log, const char *chain,
                           const struct audit_key *key, int64_t every_events,
                           int64_t every_ns, int64_t now_ns,
                           struct werr *err);

enum audit_finding_kind {
    AUDIT_FINDING_EDITED,        /* content does not match stored hash */
    AUDIT_FINDING_PREV_MISMATCH, /* prev differs from the previous hash */
    AUDIT_FINDING_GAP,           /* sequence numbers missing (deleted) */
    AUDIT_FINDING_DUPLICATE,     /* sequence number repeated (inserted) */
    AUDIT_FINDING_CHECKPOINT_MISMATCH, /* chain differs from signed hash */
    AUDIT_FINDING_CHECKPOINT_PAST_END, /* chain truncated below a checkpoint */
    AUDIT_FINDING_BAD_SIGNATURE, /* wrong public key or altered checkpoint */
    AUDIT_FINDING_CHAIN_MISSING, /* started chain has no events, no purge */
    AUDIT_FINDING_RECORDING_ALTERED,
    AUDIT_FINDING_RECORDING_MISSING,
    AUDIT_FINDING_UNCOVERED,     /* not a failure: tail not signed yet */
    AUDIT_FINDING_KIND_MAX
};

struct audit_finding {
    enum audit_finding_kind kind;
    char chain[AUDIT_CHAIN_MAX];
    int64_t seq;       /* first event that does not match (see kind) */
    int64_t seq_last;  /* last event of the suspect range, or seq */
    char message[256]; /* one sentence naming chain and seq */
};

struct audit_verify_report {
    bool ok;              /* no finding other than AUDIT_FINDING_UNCOVERED */
    int64_t chains;
    int64_t events;
    int64_t checkpoints;
    int64_t recordings;   /* recording files re-hashed */
    size_t n_findings;
    struct audit_finding *findings; /* heap, audit_verify_report_free() */
};

/* Recompute chain (or every chain when chain is NULL) and its checkpoints
 * with the given public key, and re-hash the recordings below
 * recordings_dirfd (-1 skips them).  Only reads, so db may be opened with
 * SQLITE_OPEN_READONLY.  Returns 0 when verification ran, whatever it
 * found; ret->ok is true when the log is intact.  Each broken chain gets
 * one finding naming the first event that does not match; an edit whose
 * attacker recomputed every later hash is only visible at the next
 * checkpoint, so that finding names the range back to the checkpoint
 * before it. */
int audit_verify(sqlite3 *db, const char *chain,
                 const unsigned char pubkey[AUDIT_PUBKEY_SIZE],
                 int recordings_dirfd, struct audit_verify_report *ret,
                 struct werr *err);
void audit_verify_report_free(struct audit_verify_report *report);
const char *audit_finding_kind_to_string(enum audit_finding_kind kind);

struct audit_purge_result {
    int64_t events;   /* events deleted */
    int64_t final_seq;
    unsigned char final_hash[AUDIT_HASH_SIZE];
    int64_t platform_seq; /* seq of the "audit.purge" event */
};

/* Delete a tenant chain's events and checkpoints inside the caller's
 * transaction and append "audit.purge" to the platform chain with the
 * chain's final seq, hash and event count.  The caller checks that the
 * tenant is terminated and the retention period has passed, and removes
 * the chain's recording files after the commit.  The platform chain
 * cannot be purged. */
int audit_purge_chain(struct audit_log *log, const char *chain,
                      const char *actor, int64_t uid,
                      struct audit_purge_result *ret, struct werr *err);

struct audit_filter {
    const char *chain;  /* exact chain name or NULL */
    const char *tenant; /* exact tenant or NULL */
    int64_t since_ns;   /* 0 for no lower bound (inclusive) */
    int64_t until_ns;   /* 0 for no upper bound (exclusive) */
    const char *action; /* exact, or a prefix ending in '*'; or NULL */
    const char *actor;  /* exact login or NULL */
    int64_t limit;      /* 0 for no limit */
};

/* Called once per matching event; the event and its strings are valid
 * only during the call.  A negative return stops the query and is
 * returned by audit_query(). */
typedef int (*audit_query_fn)(const struct audit_event *ev, void *userdata);

/* Call fn for every event matching filter, ordered by chain and seq when
 * filter->chain is set and by time otherwise. */
int audit_query(sqlite3 *db, const struct audit_filter *filter,
                audit_query_fn fn, void *userdata, struct werr *err);

/* JSON form of an event, one line of `warden audit export` when dumped
 * with JSON_COMPACT: every field, "time" as ISO 8601 UTC with
 * milliseconds, details as an object, prev and hash as hex.  Returns a new
 * reference or NULL when out of memory or details_json is invalid. */
json_t *audit_event_to_json(const struct audit_event *ev);

/* Current time in ns since the epoch. */
int64_t audit_now_ns(void);

/* Format ns since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void audit_time_format(int64_t time_ns, char ret_buf[32]);

void audit_hex(const unsigned char *bytes, size_t len, char *ret_hex);

#endif
