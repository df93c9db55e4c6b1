/* Desensitized development views of tabular data, and the data checks of
 * the export review.
 *
 * A development view is a sampled copy of a raw CSV file in which every
 * column went through its rule.  dz_view_make() first profiles the columns
 * that have no rule, which reads the input twice, so that input must be
 * seekable.  It fails when one of them looks like PII, and otherwise
 * streams the sampled rows through the rules into the output.
 *
 * Rules file grammar (UTF-8 text, one rule per line):
 *
 *     # a comment: '#' as the first non-blank character of a line
 *     COLUMN ACTION [ARGUMENT...]
 *
 * COLUMN is a header name, written bare when it has no white space, '"' or
 * '#', and otherwise in double quotes with "" for a quote inside
 * ("Cost Total $").  Names must match the header exactly; an unknown name
 * is an error that lists the header.  A column may have one rule; a column
 * without a rule is kept unchanged (an implicit keep).  ACTION is one of:
 *
 *     keep [REASON...]   copy the value.  The reason runs to the end of
 *                        the line; keeping a column that looks like PII
 *                        requires one, and it is the audited exception.
 *     drop               leave the column out of the output.
 *     mask HEAD TAIL     keep HEAD leading and TAIL trailing characters
 *                        (UTF-8 characters, not bytes) and replace each
 *                        other character with '*'.  A value of at most
 *                        HEAD + TAIL characters is masked completely.
 *     pseudonym [PREFIX] PREFIX (1 to 8 ASCII letters, default "p") and
 *                        the first 16 hex digits of HMAC-SHA-256 of the
 *                        value under the tenant secret: equal values give
 *                        equal pseudonyms within a tenant, different ones
 *                        across tenants.
 *     generalize WIDTH   replace a number by its bucket of positive
 *                        integer width WIDTH: 2612.98 with 1000 gives
 *                        "2000-2999", with 1 gives "2612".
 *     date year|month    cut a date YYYY-MM-DD (or YYYY/MM/DD, optionally
 *                        followed by a time) to "YYYY" or "YYYY-MM".
 *     redact             replace the value with "[REDACTED]".
 *
 * An empty value stays empty under every action except redact.  A value
 * that a generalize or date rule cannot parse becomes "[REDACTED]" and is
 * counted in dz_view_stats.unparsed_values. */
#ifndef WARDEN_DESENSITIZE_DESENSITIZE_H
#define WARDEN_DESENSITIZE_DESENSITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "common/err.h"
#include "desensitize/csv.h"
#include "desensitize/pii.h"

#define DZ_SECRET_SIZE 32
#define DZ_REDACTED "[REDACTED]"

/* ---- rules ---- */

enum dz_action {
    DZ_ACTION_KEEP,
    DZ_ACTION_DROP,
    DZ_ACTION_MASK,
    DZ_ACTION_PSEUDONYM,
    DZ_ACTION_GENERALIZE,
    DZ_ACTION_DATE,
    DZ_ACTION_REDACT,
    DZ_ACTION_MAX
};

enum dz_date_precision {
    DZ_DATE_YEAR,
    DZ_DATE_MONTH,
};

#define DZ_PREFIX_MAX 8

struct dz_rule {
    char *column;
    enum dz_action action;
    unsigned line;       /* line in the rules file */
    char *reason;        /* keep: the stated reason, NULL when none */
    size_t head, tail;   /* mask */
    uint64_t width;      /* generalize */
    enum dz_date_precision precision;  /* date */
    char prefix[DZ_PREFIX_MAX + 1];    /* pseudonym */
};

struct dz_rules {
    struct dz_rule *rules;
    size_t n_rules;
};

const char *dz_action_to_string(enum dz_action action);

/* Parse rules text; file_name only appears in error messages, which name
 * the line and the fix.  Return 0, -EINVAL or -ENOMEM. */
int dz_rules_parse(const char *text, size_t len, const char *file_name,
                   struct dz_rules **ret_rules, struct werr *err);

/* Read a rules file from fd (at most 1 MiB) and parse it. */
int dz_rules_read_fd(int fd, const char *file_name, struct dz_rules **ret_rules,
                     struct werr *err);

/* Rule for column, or NULL. */
const struct dz_rule *dz_rules_find(const struct dz_rules *rules,
                                    const char *column);
void dz_rules_free(struct dz_rules *rules);

/* ---- column profile ---- */

/* A column looks like PII when at least DZ_PII_PERCENT percent of its
 * non-empty values are identifiers by themselves, or when any value
 * contains a valid identifier inside longer text.  20 % sits well above
 * the 10 % of random 13-19 digit numbers that pass the Luhn check. */
#define DZ_PII_PERCENT 20

struct dz_column_profile {
    char *name;
    uint64_t non_empty;
    uint64_t matches[PII_KIND_MAX]; /* values with a hit of that kind */
    uint64_t pii_values;            /* values with any hit */
    uint64_t in_text;               /* values with a hit inside longer text */
    bool profiled;                  /* false for columns that were skipped */
    bool pii;
};

struct dz_profile {
    struct dz_column_profile *columns;
    size_t n_columns;
    uint64_t rows;
};

/* Profile every column of the CSV on fd from its current offset. */
int dz_profile_fd(int fd, enum csv_encoding encoding,
                  struct dz_profile **ret_profile, struct werr *err);
void dz_profile_free(struct dz_profile *profile);

/* Fail with -EPERM and a message listing every column that looks like PII
 * and has no rule or a keep without a reason. */
int dz_profile_check_rules(const struct dz_profile *profile,
                           const struct dz_rules *rules, struct werr *err);

/* ---- sampling ---- */

enum dz_sample_mode {
    DZ_SAMPLE_ALL,
    DZ_SAMPLE_FRACTION, /* each row independently, reproducible from seed */
    DZ_SAMPLE_COUNT,    /* reservoir of count rows, output in input order */
};

struct dz_sample {
    enum dz_sample_mode mode;
    double fraction; /* 0 < fraction <= 1 */
    uint64_t count;
    uint64_t seed;
};

/* Parse "all", a fraction ("0.05" or "5%") or a row count ("1000"). */
int dz_sample_parse(const char *text, uint64_t seed,
                    struct dz_sample *ret_sample, struct werr *err);

/* Whether row index (from 0) is in a fraction sample.  The decision
 * depends only on seed and index. */
bool dz_sample_fraction_keeps(const struct dz_sample *sample, uint64_t index);

/* Reservoir slot for row index (from 0) of a count sample: a slot below
 * sample->count to store the row in, or -1 to skip it (Algorithm R with
 * the random draw taken from a keyed hash of seed and index). */
int64_t dz_sample_reservoir_slot(const struct dz_sample *sample,
                                 uint64_t index);

/* ---- development view ---- */

struct dz_view_request {
    int in_fd;  /* raw CSV; must be seekable when a column has no rule */
    enum csv_encoding encoding;
    const struct dz_rules *rules;
    const uint8_t *secret; /* DZ_SECRET_SIZE bytes, per tenant */
    struct dz_sample sample;
    int out_fd; /* receives UTF-8 CSV with header and LF line endings */
};

struct dz_view_stats {
    uint64_t rows_in;
    uint64_t rows_out;
    uint64_t unparsed_values;
    size_t columns_in;
    size_t columns_out;
};

/* Write the desensitized, sampled view of the raw CSV.  Return 0, -EPERM
 * when an unruled column looks like PII, -EINVAL for rules that name
 * unknown columns, -EBADMSG/-EILSEQ for bad input, -ESPIPE when the input
 * must be profiled but cannot be rewound, or another negative errno.
 * Output may be partial on failure. */
int dz_view_make(const struct dz_view_request *request,
                 struct dz_view_stats *ret_stats, struct werr *err);

/* ---- export checks ---- */

enum dz_format {
    DZ_FORMAT_CSV,
    DZ_FORMAT_TEXT, /* any bytes; scanned line by line */
};

#define DZ_FINDINGS_MAX 32
#define DZ_NAME_MAX 64

enum dz_finding_kind {
    DZ_FINDING_PII,        /* detector hit: see pii */
    DZ_FINDING_RAW_ROW,    /* a row equal to a raw row */
    DZ_FINDING_RAW_VALUE,  /* a raw identifier or its plain hash */
    DZ_FINDING_SMALL_COUNT,
    DZ_FINDING_DOMINANCE,
    DZ_FINDING_RAW_SUBSET,  /* distinctive values of one raw row */
    DZ_FINDING_RAW_ENCODED, /* a raw row inside base64 or hex */
    DZ_FINDING_KIND_MAX
};

struct dz_finding {
    enum dz_finding_kind kind;
    enum pii_kind pii;      /* DZ_FINDING_PII only */
    uint64_t line;          /* line where the record starts, from 1 */
    size_t column;          /* from 1; 0 when not in a column */
    char column_name[DZ_NAME_MAX];
    char example[PII_VALUE_MAX]; /* masked; never the raw value */
};

/* Findings of one check: totals, and the first DZ_FINDINGS_MAX. */
struct dz_report {
    uint64_t rows;
    uint64_t total;                   /* all findings, kept or not */
    uint64_t pii[PII_KIND_MAX];       /* per detector */
    uint64_t raw_rows;                /* raw rows by any overlap rule */
    uint64_t raw_subset_rows;         /* of those, by the subset rule */
    uint64_t raw_encoded_rows;        /* of those, inside base64 or hex */
    uint64_t raw_value_rows;          /* rows holding a raw identifier */
    size_t n_findings;
    struct dz_finding findings[DZ_FINDINGS_MAX];
};

const char *dz_finding_kind_to_string(enum dz_finding_kind kind);

/* (a) Scan a CSV (every field) or text file (every line) for identifiers. */
int dz_scan_fd(int fd, enum dz_format format, enum csv_encoding encoding,
               struct dz_report *ret_report, struct werr *err);

/* (b) Raw-record overlap.  A raw set stores hashes of one raw dataset.
 * Every comparison uses normalized text: fields trimmed and ASCII letters
 * folded to lower case.  An export row counts in raw_rows when one of
 * these rules matches it:
 *
 *   - its fields, in order, are the fields of a raw row;
 *   - its fields, in any order, are the fields of a raw row (a multiset
 *     comparison, so reordered columns match);
 *   - the subset rule: of the m distinctive values of one raw row, it
 *     contains at least min(DZ_SUBSET_VALUES_MIN, m) as whole fields,
 *     in any order and among any other fields.  A value is distinctive
 *     when it is not empty and occurs in at most DZ_RARE_ROWS_MAX rows of
 *     the raw data.  Raw rows with fewer than DZ_SUBSET_ROW_VALUES_MIN
 *     distinctive values are left to the other rules, because two rare
 *     values side by side (an aircraft model and its speed) are common in
 *     legitimate tables.
 *
 * Rows are split into fields as follows.  A CSV export is read as RFC 4180
 * CSV unless its first lines show that ';', '|' or tab separates the
 * fields, in which case its lines are split at that character (quotes are
 * honoured within a line).  Each line of a text export is split at every
 * one of ',', ';', '|' and tab that occurs in it, one split at a time, and
 * matches when any split matches.
 *
 * Base64 (standard or URL-safe) and hex are decoded before they are
 * checked: tokens of at least DZ_ENCODED_MIN characters inside a line or
 * field, runs of whole lines of encoded text (as base64(1) and xxd -p
 * wrap them), and hex dumps in the layouts of xxd(1) and hexdump -C.
 * Decoding skips damaged characters.  When at most one decoded byte in
 * ten is a control character or invalid UTF-8, the decoded text is
 * checked line by line with the text rules, with those bytes as line
 * breaks.  Its raw rows count in raw_rows and raw_encoded_rows.  They are
 * reported as DZ_FINDING_RAW_ENCODED at the line where the encoded text
 * starts.  Decoding nests DZ_ENCODED_DEPTH_MAX levels deep.
 *
 * Value hashes cover the raw identifier values, which are the values that
 * a detector validates in any column and every value of the columns named
 * in id_columns.  They also cover the lower-case hex SHA-256 of each such
 * value, because a plain hash of an identifier is reversed by hashing
 * candidates.  A row holding one of them counts in raw_value_rows. */
#define DZ_SUBSET_VALUES_MIN 4
#define DZ_SUBSET_ROW_VALUES_MIN 3
#define DZ_RARE_ROWS_MAX 8
#define DZ_ENCODED_MIN 24
#define DZ_ENCODED_DEPTH_MAX 2

struct dz_rawset;

/* Build the raw set of the CSV on raw_fd and write it to out_fd.  Memory
 * use is about 16 bytes per non-empty raw field plus 32 bytes per row. */
int dz_rawset_build(int raw_fd, enum csv_encoding encoding,
                    const char *const *id_columns, size_t n_id_columns,
                    int out_fd, struct werr *err);

/* Map a raw set file written by dz_rawset_build().  Fails with -EBADMSG
 * for a damaged file or one of another format version, which must be
 * rebuilt from the raw data. */
int dz_rawset_open(int fd, struct dz_rawset **ret_set, struct werr *err);
void dz_rawset_close(struct dz_rawset *set);
/* Number of distinct raw rows and of identifier value hashes. */
size_t dz_rawset_rows(const struct dz_rawset *set);
size_t dz_rawset_values(const struct dz_rawset *set);

/* Count rows of the export that are raw rows or contain a raw value. */
int dz_overlap_check(const struct dz_rawset *set, int export_fd,
                     enum dz_format format, enum csv_encoding encoding,
                     struct dz_report *ret_report, struct werr *err);

/* (c) Small counts in an aggregate CSV.  A count column is one whose name
 * contains the word count, n, cnt, total or num (any case, words split at
 * spaces and "_-.$#/()"), or one whose non-empty values are all integers
 * without leading zeros and whose name has no word such as id, no, code,
 * year, zip or date.  Values from 1 to threshold - 1 are small counts.
 * A count column of three or more values fails the dominance rule when its
 * two largest values make at least 90 % of its total.  A threshold of 0
 * selects DZ_SMALL_COUNT_DEFAULT. */
#define DZ_SMALL_COUNT_DEFAULT 10

int dz_small_count_check(int fd, enum csv_encoding encoding,
                         uint64_t threshold, struct dz_report *ret_report,
                         struct werr *err);

#endif
