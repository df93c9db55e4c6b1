/* Column profiles: how many values of each column the detectors validate,
 * and whether the column looks like PII. */
#include "desensitize/internal.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest list of names quoted in an error message. */
#define NAME_LIST_MAX 600

/* Detector results for one value. */
struct value_hits {
    unsigned kinds; /* bit per enum pii_kind */
    bool in_text;
};

static int note_hit(const struct pii_hit *hit, void *userdata)
{
    struct value_hits *v = userdata;

    v->kinds |= 1u << hit->kind;
    if (!hit->whole)
        v->in_text = true;
    return 0;
}

static int profile_value(struct dz_column_profile *col, const char *data,
                         size_t len)
{
    struct value_hits v = {0};
    int ret;

    dz_trim(&data, &len);
    if (len == 0)
        return 0;
    col->non_empty++;
    ret = pii_scan(data, len, note_hit, &v);
    if (ret <= 0)
        return ret;
    for (int k = 0; k < PII_KIND_MAX; k++)
        col->matches[k] += (v.kinds >> k) & 1;
    col->pii_values++;
    col->in_text += v.in_text;
    return 0;
}

static void decide(struct dz_column_profile *col)
{
    col->pii = col->profiled &&
               (col->in_text > 0 ||
                (col->non_empty > 0 &&
                 col->pii_values * 100 >= col->non_empty * DZ_PII_PERCENT));
}

static int profile_new(const struct csv_row *header, const bool *want,
                       struct dz_profile **ret)
{
    struct dz_profile *p = calloc(1, sizeof(*p));

    if (!p)
        return -ENOMEM;
    *ret = p;
    p->columns = calloc(header->n_fields, sizeof(*p->columns));
    if (!p->columns)
        return -ENOMEM;
    p->n_columns = header->n_fields;
    for (size_t i = 0; i < header->n_fields; i++) {
        p->columns[i].name = strdup(header->fields[i].data);
        if (!p->columns[i].name)
            return -ENOMEM;
        p->columns[i].profiled = !want || want[i];
    }
    return 0;
}

static int profile_rows(struct csv_reader *reader, struct dz_profile *p,
                        struct werr *err)
{
    struct csv_row row;
    int ret;

    while ((ret = csv_reader_next(reader, &row, err)) > 0) {
        p->rows++;
        for (size_t i = 0; i < p->n_columns && i < row.n_fields; i++) {
            if (!p->columns[i].profiled)
                continue;
            ret = profile_value(&p->columns[i], row.fields[i].data,
                                row.fields[i].len);
            if (ret < 0)
                return werr_set(err, ret, "out of memory profiling CSV");
        }
    }
    return ret;
}

int dz_profile_reader(struct csv_reader *reader, const struct csv_row *header,
                      const bool *want, struct dz_profile **ret_profile,
                      struct werr *err)
{
    struct dz_profile *p = NULL;
    int ret = profile_new(header, want, &p);

    if (ret < 0) {
        dz_profile_free(p);
        return werr_set(err, ret, "out of memory profiling CSV");
    }
    ret = profile_rows(reader, p, err);
    if (ret < 0) {
        dz_profile_free(p);
        return ret;
    }
    for (size_t i = 0; i < p->n_columns; i++)
        decide(&p->columns[i]);
    *ret_profile = p;
    return 0;
}

int dz_profile_fd(int fd, enum csv_encoding encoding,
                  struct dz_profile **ret_profile, struct werr *err)
{
    struct csv_reader *reader = NULL;
    struct csv_row header;
    int ret = csv_reader_new(fd, encoding, 0, &reader, err);

    if (ret < 0)
        return ret;
    ret = csv_reader_next(reader, &header, err);
    if (ret == 0)
        ret = werr_set(err, -EBADMSG, "CSV input is empty: a header is "
                                      "required");
    if (ret > 0)
        ret = dz_profile_reader(reader, &header, NULL, ret_profile, err);
    csv_reader_free(reader);
    return ret;
}

void dz_profile_free(struct dz_profile *profile)
{
    if (!profile)
        return;
    for (size_t i = 0; i < profile->n_columns; i++)
        free(profile->columns[i].name);
    free(profile->columns);
    free(profile);
}

/* Describe why col looks like PII, e.g. "mobile in free text". */
static void describe(const struct dz_column_profile *col, char *buf,
                     size_t size)
{
    int best = 0;

    for (int k = 1; k < PII_KIND_MAX; k++)
        if (col->matches[k] > col->matches[best])
            best = k;
    if (col->in_text > 0)
        snprintf(buf, size, "%s in free text", pii_kind_to_string(best));
    else
        snprintf(buf, size, "%s in %llu of %llu values",
                 pii_kind_to_string(best),
                 (unsigned long long)col->matches[best],
                 (unsigned long long)col->non_empty);
}

static bool blocks(const struct dz_column_profile *col,
                   const struct dz_rules *rules)
{
    const struct dz_rule *rule;

    if (!col->pii)
        return false;
    rule = dz_rules_find(rules, col->name);
    return !rule || (rule->action == DZ_ACTION_KEEP && !rule->reason);
}

int dz_profile_check_rules(const struct dz_profile *profile,
                           const struct dz_rules *rules, struct werr *err)
{
    char list[NAME_LIST_MAX] = "";
    size_t used = 0, blocked = 0;

    for (size_t i = 0; i < profile->n_columns; i++) {
        const struct dz_column_profile *col = &profile->columns[i];
        char why[96];

        if (!blocks(col, rules))
            continue;
        describe(col, why, sizeof(why));
        if (used < sizeof(list))
            used += (size_t)snprintf(list + used, sizeof(list) - used,
                                     "%s'%.*s' (%s)", blocked ? ", " : "",
                                     DZ_NAME_MAX, col->name, why);
        blocked++;
    }
    if (blocked == 0)
        return 0;
    return werr_set(err, -EPERM,
                    "%zu column(s) look like PII and have no rule: %s; add "
                    "a rule for each (drop, mask, pseudonym, generalize, "
                    "date or redact), or 'COLUMN keep REASON' to keep one "
                    "with a recorded reason", blocked, list);
}
