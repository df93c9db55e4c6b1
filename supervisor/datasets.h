/* Internals shared by datasets.c (registration and rules), datagrants.c
 * (grants to tenants) and dataviews.c (the files mounted at /data).
 *
 * Layout below state_dir, every directory and file owned by root:
 *
 *     datasets/<name>/raw.csv       the registered bytes, 0600
 *     datasets/<name>/rawset.bin    raw set for the export review, 0600
 *     keys/tenant-<tenant>.key      pseudonym secret, 32 bytes, 0600
 *     views/<tenant>/               0750, group uid_base + 1000
 *     views/<tenant>/dev/<name>.csv sampled, desensitized view, 0440
 *     views/<tenant>/prod/<name>.csv copy of raw.csv, 0440 */
#ifndef WARDEN_SUPERVISOR_DATASETS_H
#define WARDEN_SUPERVISOR_DATASETS_H

#include "desensitize/desensitize.h"
#include "supervisor/daemon.h"

#define DATASETS_DIR "datasets"
#define VIEWS_DIR "views"
/* Sandboxes run as uid and gid 1000 inside, uid_base + 1000 on the host. */
#define SANDBOX_ID_OFFSET 1000

/* record_event() that takes over details, which record_event() borrows. */
static inline int record_event_owned(struct daemon *d,
                                     const struct caller *who,
                                     const char *tenant, const char *action,
                                     const char *object, const char *result,
                                     json_t *details, struct werr *err)
{
    int r = record_event(d, who, tenant, action, object, result, details,
                         err);

    json_decref(details);
    return r;
}

/* A registered dataset as stored. */
struct dataset {
    int64_t id;
    char name[64];
    enum csv_encoding encoding;
    int64_t rows;
    json_t *header;  /* array of column names */
    json_t *profile; /* array of column profiles */
    char *rules;     /* rules text, NULL when none */
    int64_t rules_version;
};

int dataset_load(struct daemon *d, const char *name, struct dataset *ret,
                 struct werr *err);
void dataset_clear(struct dataset *ds);

/* Parse rules text (may be NULL: no rules). */
int dataset_parse_rules(const char *text, struct dz_rules **ret_rules,
                        struct werr *err);

/* Fail with -EPERM and the reason the development view of ds is blocked:
 * a column that looks like PII and has no rule, or a keep without a
 * reason. */
int dataset_check_blocking(const struct dataset *ds,
                           const struct dz_rules *rules, struct werr *err);

/* Describe rule as in a rules file, without the column ("mask 1 0"). */
void dataset_describe_rule(const struct dz_rule *rule, char *buf,
                           size_t size);

/* Whether the caller may see a dataset: operators only those granted to
 * their tenant. */
int dataset_visible(struct daemon *d, const struct caller *caller,
                    int64_t dataset_id, struct werr *err);

/* Views of many grants built for one request, whose reply waits for the
 * last of them. */
struct view_batch {
    struct deferred_request request;
    unsigned pending;
    bool cancelled; /* the request failed: send no reply */
    json_t *views;  /* one object per finished or blocked view */
};

/* Start (re)building the views of grant grant_id inside the caller's
 * transaction: the development view unless its rules block it, which is
 * then recorded, and with production also the raw copy.  When batch is
 * given, each started or blocked view is counted in it. */
int dataviews_schedule(struct daemon *d, int64_t grant_id, bool production,
                       const struct caller *by, struct view_batch *batch,
                       struct werr *err);

/* Once nothing is pending, reply to the batch's request unless it was
 * cancelled, and free the batch. */
void dataviews_batch_maybe_reply(struct daemon *d, struct view_batch *batch);

/* Remove the tenant's view files of dataset. */
int dataviews_remove(struct daemon *d, const char *tenant,
                     const char *dataset, struct werr *err);

/* Grants, in datagrants.c.  tenant_id 0 lists every tenant's. */
int grant_list_json(struct daemon *d, const char *dataset, int64_t tenant_id,
                    json_t **ret, struct werr *err);
int grant_verb_create(struct request *req, json_t **ret_result,
                      struct werr *err);
int grant_verb_revoke(struct request *req, json_t **ret_result,
                      struct werr *err);
int grant_verb_list(struct request *req, json_t **ret_result,
                    struct werr *err);

#endif
