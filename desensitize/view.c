/* The development view: profile, check the rules, then sample and mask. */
#include "desensitize/internal.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One row kept by a count sample, already masked and formatted. */
struct reservoir_entry {
    uint64_t index;
    char *data;
    size_t len;
};

struct view {
    const struct dz_view_request *req;
    struct dz_plan plan;
    struct dz_mask_ctx ctx;
    struct csv_writer *out;
    struct csv_writer *row_buf; /* memory writer for the reservoir */
    struct dz_buf scratch;
    struct reservoir_entry *reservoir;
    struct dz_view_stats stats;
};

static void header_list(const struct csv_row *header, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < header->n_fields && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%.*s",
                                 i ? ", " : "", DZ_NAME_MAX,
                                 header->fields[i].data);
}

int dz_plan_bind(const struct dz_rules *rules, const struct csv_row *header,
                 struct dz_plan *ret_plan, struct werr *err)
{
    const struct dz_rule **rule_of = calloc(header->n_fields + 1,
                                            sizeof(*rule_of));
    char list[600];

    if (!rule_of)
        return werr_set(err, -ENOMEM, "out of memory binding rules");
    for (size_t r = 0; r < rules->n_rules; r++) {
        const struct dz_rule *rule = &rules->rules[r];
        bool found = false;

        for (size_t i = 0; i < header->n_fields; i++) {
            if (strcmp(header->fields[i].data, rule->column) != 0)
                continue;
            rule_of[i] = rule;
            found = true;
        }
        if (found)
            continue;
        free(rule_of);
        header_list(header, list, sizeof(list));
        return werr_set(err, -EINVAL,
                        "rules line %u: unknown column '%.*s'; the header "
                        "has: %s", rule->line, DZ_NAME_MAX, rule->column,
                        list);
    }
    *ret_plan = (struct dz_plan){header->n_fields, rule_of};
    return 0;
}

void dz_plan_free(struct dz_plan *plan)
{
    free(plan->rule_of);
    *plan = (struct dz_plan){0};
}

/* Columns to profile: those without a rule and those kept without a
 * reason.  Return how many there are. */
static size_t unruled_columns(const struct dz_plan *plan, bool *want)
{
    size_t n = 0;

    for (size_t i = 0; i < plan->n_columns; i++) {
        const struct dz_rule *rule = plan->rule_of[i];

        want[i] = !rule || (rule->action == DZ_ACTION_KEEP && !rule->reason);
        n += want[i];
    }
    return n;
}

static int open_input(int fd, enum csv_encoding encoding,
                      struct csv_reader **ret_reader,
                      struct csv_row *ret_header, struct werr *err)
{
    int ret = csv_reader_new(fd, encoding, 0, ret_reader, err);

    if (ret < 0)
        return ret;
    ret = csv_reader_next(*ret_reader, ret_header, err);
    if (ret == 0)
        ret = werr_set(err, -EBADMSG,
                       "raw CSV is empty: a header line is required");
    if (ret < 0) {
        csv_reader_free(*ret_reader);
        *ret_reader = NULL;
    }
    return ret < 0 ? ret : 0;
}

/* Profile the columns in want on reader and reject PII columns without a rule. */
static int check_unruled(struct csv_reader *reader,
                         const struct csv_row *header, const bool *want,
                         const struct dz_rules *rules, struct werr *err)
{
    struct dz_profile *profile = NULL;
    int ret = dz_profile_reader(reader, header, want, &profile, err);

    if (ret < 0)
        return werr_prefix(err, "failed to profile the raw CSV");
    ret = dz_profile_check_rules(profile, rules, err);
    dz_profile_free(profile);
    return ret;
}

/* Open the input and bind the rules; when some columns have no rule,
 * profile them first and rewind. */
static int prepare_input(struct view *v, struct csv_reader **ret_reader,
                         struct csv_row *ret_header, struct werr *err)
{
    const struct dz_view_request *req = v->req;
    off_t start = lseek(req->in_fd, 0, SEEK_CUR);
    _cleanup_free_ bool *want = NULL;
    int ret = open_input(req->in_fd, req->encoding, ret_reader, ret_header,
                         err);

    if (ret < 0)
        return ret;
    ret = dz_plan_bind(req->rules, ret_header, &v->plan, err);
    want = calloc(ret_header->n_fields + 1, sizeof(*want));
    if (ret < 0 || !want)
        return ret < 0 ? ret : -ENOMEM;
    if (unruled_columns(&v->plan, want) == 0)
        return 0;
    if (start < 0)
        return werr_set(err, -ESPIPE,
                        "columns without a rule must be profiled, which "
                        "reads the raw CSV twice, but the input cannot be "
                        "rewound; pass a regular file or give every column "
                        "a rule");
    ret = check_unruled(*ret_reader, ret_header, want, req->rules, err);
    csv_reader_free(*ret_reader);
    *ret_reader = NULL;
    if (ret < 0)
        return ret;
    if (lseek(req->in_fd, start, SEEK_SET) < 0)
        return werr_errno(err, neg_errno(), "failed to rewind the raw CSV");
    return open_input(req->in_fd, req->encoding, ret_reader, ret_header, err);
}

static bool dropped(const struct view *v, size_t column)
{
    const struct dz_rule *rule = v->plan.rule_of[column];

    return rule && rule->action == DZ_ACTION_DROP;
}

static int write_header(struct view *v, const struct csv_row *header)
{
    int ret = 0;

    for (size_t i = 0; i < header->n_fields && ret == 0; i++) {
        if (dropped(v, i))
            continue;
        ret = csv_writer_field(v->out, header->fields[i].data,
                               header->fields[i].len);
        v->stats.columns_out++;
    }
    v->stats.columns_in = header->n_fields;
    return ret < 0 ? ret : csv_writer_end_row(v->out);
}

static int write_masked_row(struct view *v, const struct csv_row *row,
                            struct csv_writer *w)
{
    for (size_t i = 0; i < row->n_fields; i++) {
        const struct dz_rule *rule = v->plan.rule_of[i];
        const struct csv_field *f = &row->fields[i];
        int ret;

        if (!rule || rule->action == DZ_ACTION_KEEP) {
            ret = csv_writer_field(w, f->data, f->len);
        } else if (rule->action == DZ_ACTION_DROP) {
            continue;
        } else {
            v->scratch.len = 0;
            ret = dz_mask_value(rule, &v->ctx, f->data, f->len, &v->scratch);
            v->stats.unparsed_values += ret == 1;
            if (ret >= 0)
                ret = csv_writer_field(w, v->scratch.data, v->scratch.len);
        }
        if (ret < 0)
            return ret;
    }
    return csv_writer_end_row(w);
}

static int keep_in_reservoir(struct view *v, const struct csv_row *row,
                             uint64_t index)
{
    int64_t slot = dz_sample_reservoir_slot(&v->req->sample, index);
    struct reservoir_entry *e;
    const char *data;
    size_t len;
    int ret;

    if (slot < 0)
        return 0;
    csv_writer_reset(v->row_buf);
    ret = write_masked_row(v, row, v->row_buf);
    if (ret < 0)
        return ret;
    data = csv_writer_data(v->row_buf, &len);
    e = &v->reservoir[slot];
    free(e->data);
    e->data = malloc(len);
    if (!e->data)
        return -ENOMEM;
    memcpy(e->data, data, len);
    e->len = len;
    e->index = index;
    return 0;
}

static int take_row(struct view *v, const struct csv_row *row, uint64_t index)
{
    const struct dz_sample *s = &v->req->sample;

    switch (s->mode) {
    case DZ_SAMPLE_FRACTION:
        if (!dz_sample_fraction_keeps(s, index))
            return 0;
        break;
    case DZ_SAMPLE_COUNT:
        return keep_in_reservoir(v, row, index);
    default:
        break;
    }
    v->stats.rows_out++;
    return write_masked_row(v, row, v->out);
}

static int compare_entries(const void *a, const void *b)
{
    const struct reservoir_entry *x = a, *y = b;

    return (x->index > y->index) - (x->index < y->index);
}

/* Write the reservoir in input order. */
static int flush_reservoir(struct view *v)
{
    size_t n = v->stats.rows_in < v->req->sample.count
                   ? (size_t)v->stats.rows_in
                   : (size_t)v->req->sample.count;

    qsort(v->reservoir, n, sizeof(*v->reservoir), compare_entries);
    for (size_t i = 0; i < n; i++) {
        int ret = csv_writer_raw(v->out, v->reservoir[i].data,
                                 v->reservoir[i].len);

        if (ret < 0)
            return ret;
    }
    v->stats.rows_out = n;
    return 0;
}

static int copy_rows(struct view *v, struct csv_reader *reader,
                     struct werr *err)
{
    struct csv_row row;
    int ret;

    while ((ret = csv_reader_next(reader, &row, err)) > 0) {
        ret = take_row(v, &row, v->stats.rows_in++);
        if (ret < 0)
            return werr_errno(err, ret, "failed to write the view");
    }
    if (ret < 0)
        return ret;
    if (v->req->sample.mode == DZ_SAMPLE_COUNT)
        ret = flush_reservoir(v);
    if (ret == 0)
        ret = csv_writer_flush(v->out);
    if (ret < 0)
        return werr_errno(err, ret, "failed to write the view");
    return 0;
}

/* Largest count sample; the reservoir keeps that many masked rows in
 * memory. */
#define RESERVOIR_MAX 10000000u

static int check_request(const struct dz_view_request *req, struct werr *err)
{
    const struct dz_sample *s = &req->sample;

    if (!req->rules || !req->secret)
        return werr_set(err, -EINVAL, "rules and tenant secret are required");
    if (s->mode == DZ_SAMPLE_FRACTION && !(s->fraction > 0 && s->fraction <= 1))
        return werr_set(err, -EINVAL,
                        "invalid sample fraction %g: use a value above 0 "
                        "and at most 1", s->fraction);
    if (s->mode == DZ_SAMPLE_COUNT && (s->count == 0 || s->count > RESERVOIR_MAX))
        return werr_set(err, -EINVAL,
                        "invalid sample count %llu: use 1 to %u rows, or a "
                        "fraction for larger samples",
                        (unsigned long long)s->count, RESERVOIR_MAX);
    return 0;
}

static int view_setup(struct view *v, struct werr *err)
{
    const struct dz_view_request *req = v->req;
    int ret = csv_writer_new(req->out_fd, &v->out);

    if (ret == 0 && req->sample.mode == DZ_SAMPLE_COUNT) {
        ret = csv_writer_new(-1, &v->row_buf);
        v->reservoir = calloc((size_t)req->sample.count,
                              sizeof(*v->reservoir));
        if (!v->reservoir)
            ret = -ENOMEM;
    }
    if (ret < 0)
        return werr_set(err, ret, "out of memory for the view");
    dz_mask_ctx_init(&v->ctx, req->secret);
    return 0;
}

static void view_cleanup(struct view *v)
{
    if (v->reservoir)
        for (uint64_t i = 0; i < v->req->sample.count; i++)
            free(v->reservoir[i].data);
    free(v->reservoir);
    csv_writer_close(v->row_buf);
    csv_writer_close(v->out);
    dz_buf_free(&v->scratch);
    dz_plan_free(&v->plan);
    sodium_memzero(&v->ctx, sizeof(v->ctx));
}

int dz_view_make(const struct dz_view_request *request,
                 struct dz_view_stats *ret_stats, struct werr *err)
{
    struct view v = {.req = request};
    struct csv_reader *reader = NULL;
    struct csv_row header;
    int ret = check_request(request, err);

    if (ret == 0)
        ret = prepare_input(&v, &reader, &header, err);
    if (ret == 0)
        ret = view_setup(&v, err);
    if (ret == 0 && write_header(&v, &header) < 0)
        ret = werr_set(err, -ENOMEM, "out of memory writing the header");
    if (ret == 0)
        ret = copy_rows(&v, reader, err);
    if (ret == 0 && ret_stats)
        *ret_stats = v.stats;
    csv_reader_free(reader);
    view_cleanup(&v);
    return ret;
}
