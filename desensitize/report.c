#include "desensitize/internal.h"

#include <stdio.h>
#include <string.h>

static const char *const finding_names[DZ_FINDING_KIND_MAX] = {
    [DZ_FINDING_PII] = "pii",
    [DZ_FINDING_RAW_ROW] = "raw_row",
    [DZ_FINDING_RAW_VALUE] = "raw_value",
    [DZ_FINDING_SMALL_COUNT] = "small_count",
    [DZ_FINDING_DOMINANCE] = "dominance",
    [DZ_FINDING_RAW_SUBSET] = "raw_subset",
    [DZ_FINDING_RAW_ENCODED] = "raw_row_encoded",
};

const char *dz_finding_kind_to_string(enum dz_finding_kind kind)
{
    if ((unsigned)kind >= DZ_FINDING_KIND_MAX)
        return "unknown";
    return finding_names[kind];
}

void dz_report_add(struct dz_report *report, const struct dz_finding *finding)
{
    report->total++;
    if (report->n_findings < DZ_FINDINGS_MAX)
        report->findings[report->n_findings++] = *finding;
}

void dz_mask_generic(const char *value, size_t len, char *ret, size_t size)
{
    size_t first = utf8_prefix_bytes(value, len, 1);
    size_t stars = utf8_count(value, len);
    size_t n = 0;

    if (size == 0)
        return;
    stars = stars > 0 ? stars - 1 : 0;
    if (stars > 16)
        stars = 16;
    if (first + stars + 1 > size)
        first = 0;
    memcpy(ret, value, first);
    n = first;
    while (stars-- > 0 && n + 1 < size)
        ret[n++] = '*';
    ret[n] = '\0';
}

void dz_finding_set_column(struct dz_finding *f, size_t column,
                           const char *name)
{
    size_t len = name ? strlen(name) : 0;

    f->column = column;
    if (len >= sizeof(f->column_name)) {
        /* Cut at a character boundary. */
        len = sizeof(f->column_name) - 1;
        while (len > 0 && ((uint8_t)name[len] & 0xC0) == 0x80)
            len--;
    }
    if (len)
        memcpy(f->column_name, name, len);
    f->column_name[len] = '\0';
}
