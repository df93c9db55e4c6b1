/* Internals of the review queue, shared by review.c (rows, transitions and
 * the reviewer verbs), reviewsubmit.c (submissions by tenants),
 * reviewfiles.c (quarantine, release and fetch) and reviewchecks.c (the
 * automatic checks, run in a worker process).
 *
 * A request is one of three kinds: data (grant a dataset to the tenant),
 * import (a file brought into the tenant's sandboxes) or export (files
 * leaving the tenant's workspace).  Its states:
 *
 *     submitted -> checked -> in_review -> approved -> released | granted
 *                         \            \-> rejected (final)
 *                          \-> returned -> (resubmit) submitted
 *     submitted, checked, in_review, returned -> withdrawn (final)
 *     released export, not yet fetched -> revoked (final)
 *
 * Layout below state_dir, every directory and file owned by root:
 *
 *     quarantine/<sha256 hex>           submitted bytes, 0600
 *     outgoing/<tenant>/<id>/           released export, 0700: the files,
 *                                       manifest.json and manifest.sig
 *     inbox/<tenant>/<name>             released import, 0440, group
 *                                       uid_base + 1000; directory 0750 */
#ifndef WARDEN_SUPERVISOR_REVIEW_H
#define WARDEN_SUPERVISOR_REVIEW_H

#include "supervisor/daemon.h"

#include "desensitize/desensitize.h"

#define QUARANTINE_DIR "quarantine"
#define OUTGOING_DIR "outgoing"
#define INBOX_DIR "inbox"

/* Files of one export or import request.  The checks worker keeps one
 * descriptor per file and may keep at most 15. */
#define REVIEW_MAX_FILES 14
/* Descriptors of one fetch reply: the manifest, its signature and the
 * files, within PROTO_MAX_FDS. */
#define REVIEW_FETCH_FILES (PROTO_MAX_FDS - 2)
#define REVIEW_NAME_MAX 128
#define REVIEW_PURPOSE_MAX 1000
#define REVIEW_SCENARIO_MAX 200
#define REVIEW_REASON_MAX 1000
/* Lines of each text file shown by 'review show'. */
#define REVIEW_PREVIEW_LINES 20
#define REVIEW_PREVIEW_LINE_MAX 200
/* Sandboxes run as uid 1000 inside, uid_base + 1000 on the host. */
#define REVIEW_SANDBOX_ID 1000

/* A request as stored. */
struct review_row {
    int64_t id;
    char kind[8];
    char tenant[64];
    int64_t tenant_id;
    int64_t uid_base;
    char submitter[64];
    char state[16];
    char scenario[REVIEW_SCENARIO_MAX + 8];
    char purpose[REVIEW_PURPOSE_MAX + 8];
    char dataset[64];
    char job_id[64];
    int64_t revision;
    int approvals_needed;
    int checks_passed;   /* 1, 0, or -1 while the checks run */
    bool overridden;
    int64_t created_at;
    int64_t fetched_at;  /* 0 when not fetched */
};

/* A file taken into quarantine. */
struct review_file {
    char name[REVIEW_NAME_MAX + 1];
    char source[4096];   /* where it came from, for the record */
    char sha256[65];
    uint64_t size;
};

/* review.c */
int review_load(struct daemon *d, int64_t id, struct review_row *ret,
                struct werr *err);
/* Set state (and updated_at) of request id inside the open transaction and
 * record the audit event action with actor who. */
int review_set_state(struct daemon *d, const struct review_row *row,
                     const char *state, const struct caller *who,
                     const char *action, json_t *details, struct werr *err);
int review_record(struct daemon *d, const struct review_row *row,
                  const struct caller *who, const char *action,
                  json_t *details, struct werr *err);
/* Tenant id and uid base of tenant. */
int review_tenant(struct daemon *d, const char *tenant, int64_t *ret_id,
                  int64_t *ret_uid_base, struct werr *err);
/* Fail unless scenario is one of tenant's approved scenarios. */
int review_check_scenario(struct daemon *d, const char *tenant,
                          const char *scenario, struct werr *err);
/* A file name as stored and released: 1 to REVIEW_NAME_MAX bytes, no '/',
 * no control character, not starting with '.'. */
int review_check_file_name(const char *name, struct werr *err);
/* Files of the current revision, in order, as a JSON array of {"name",
 * "sha256", "size", "type"}. */
int review_files_json(struct daemon *d, int64_t id, int64_t revision,
                      json_t **ret, struct werr *err);
int review_store_files(struct daemon *d, int64_t id, int64_t revision,
                       const struct review_file *files, size_t n,
                       struct werr *err);

/* reviewfiles.c */
/* Open path, a path as the sandbox of login sees it (/home/<login>/...),
 * below login's home in the tenant's workspace without following any link,
 * and return a read-only descriptor of a regular file with one link owned
 * by the tenant's sandbox user. */
int review_open_home_file(struct daemon *d, const char *tenant,
                          int64_t uid_base, const char *login,
                          const char *path, int *ret_fd, struct werr *err);
/* Copy the regular file on fd (at most max bytes) into the quarantine,
 * filling sha256 and size of file. */
int review_quarantine(struct daemon *d, int fd, uint64_t max,
                      struct review_file *file, struct werr *err);
/* Open quarantine/<sha256> read-only. */
int review_quarantine_open(struct daemon *d, const char *sha256,
                           struct werr *err);
/* Place an approved export in outgoing/ with a signed manifest. */
int review_release_export(struct daemon *d, const struct review_row *row,
                          json_t *approvers, struct werr *err);
/* Copy an approved import into the tenant's inbox; ret_name receives the
 * file name there. */
int review_release_import(struct daemon *d, const struct review_row *row,
                          char *ret_name, size_t size, struct werr *err);
/* Remove outgoing/<tenant>/<id>. */
int review_remove_outgoing(struct daemon *d, const struct review_row *row,
                           struct werr *err);
/* Open the manifest, its signature and files [start, start + count) of a
 * released export into fds; return how many were opened. */
int review_open_release(struct daemon *d, const struct review_row *row,
                        json_t *files, size_t start, size_t count, int *fds,
                        struct werr *err);
/* Up to REVIEW_PREVIEW_LINES lines of a text file in quarantine. */
json_t *review_preview(struct daemon *d, const char *sha256);

/* reviewchecks.c */
/* Run the automatic checks of the current revision of row in a worker and
 * store their result, recorded as done by who.  When def is given, reply
 * to that deferred request once they end.  skipped (may be NULL, borrowed)
 * lists files left out of the request, which fail the checks. */
int review_checks_start(struct daemon *d, const struct review_row *row,
                        const struct review_file *files, size_t n_files,
                        json_t *skipped, const struct deferred_request *def,
                        const struct caller *who, struct werr *err);
/* Run the checks of a data request, which has no files, and store them
 * inside the open transaction. */
int review_checks_data(struct daemon *d, const struct review_row *row,
                       const struct caller *who, struct werr *err);

/* reviewsubmit.c: the verbs of submitters. */
int review_verb_export_submit(struct request *req, json_t **ret_result,
                              struct werr *err);
int review_verb_export_resubmit(struct request *req, json_t **ret_result,
                                struct werr *err);
int review_verb_data_request(struct request *req, json_t **ret_result,
                             struct werr *err);
int review_verb_import_submit(struct request *req, json_t **ret_result,
                              struct werr *err);
int review_verb_request_list(struct request *req, json_t **ret_result,
                             struct werr *err);
int review_verb_request_withdraw(struct request *req, json_t **ret_result,
                                 struct werr *err);
int review_verb_export_fetch(struct request *req, json_t **ret_result,
                             struct werr *err);
/* Summary of a row for lists. */
json_t *review_row_json(const struct review_row *row);
/* Rows matching the filters (NULL: any); pending selects the states
 * before a decision. */
int review_list_json(struct daemon *d, const char *kind, const char *tenant,
                     bool pending, json_t **ret, struct werr *err);

#endif
