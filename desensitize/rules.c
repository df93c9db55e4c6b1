/* Parser for the rules file (grammar in desensitize.h). */
#include "desensitize/desensitize.h"

#include "common/cleanup.h"
#include "desensitize/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RULES_FILE_MAX (1u << 20)

static const char *const action_names[DZ_ACTION_MAX] = {
    [DZ_ACTION_KEEP] = "keep",         [DZ_ACTION_DROP] = "drop",
    [DZ_ACTION_MASK] = "mask",         [DZ_ACTION_PSEUDONYM] = "pseudonym",
    [DZ_ACTION_GENERALIZE] = "generalize", [DZ_ACTION_DATE] = "date",
    [DZ_ACTION_REDACT] = "redact",
};

/* Position in the rules text while parsing one line. */
struct cursor {
    const char *p, *end;
    const char *file;
    unsigned line;
};

const char *dz_action_to_string(enum dz_action action)
{
    if ((unsigned)action >= DZ_ACTION_MAX)
        return "unknown";
    return action_names[action];
}

static void skip_blanks(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* Read the next blank-separated word into a new string. */
static char *next_word(struct cursor *c)
{
    const char *start;

    skip_blanks(c);
    start = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        c->p++;
    return c->p > start ? strndup(start, (size_t)(c->p - start)) : NULL;
}

static int parse_quoted_column(struct cursor *c, char **ret,
                               struct werr *err)
{
    struct dz_buf name = {0};

    for (c->p++; c->p < c->end; c->p++) {
        if (*c->p == '"' && (c->p + 1 == c->end || c->p[1] != '"'))
            break;
        if (*c->p == '"')
            c->p++;
        if (dz_buf_putc(&name, *c->p) < 0) {
            dz_buf_free(&name);
            return -ENOMEM;
        }
    }
    if (c->p == c->end) {
        dz_buf_free(&name);
        return werr_set(err, -EINVAL,
                        "%s:%u: column name has no closing quote; write "
                        "it as \"NAME\" with \"\" for a quote inside",
                        c->file, c->line);
    }
    c->p++;
    *ret = name.data ? name.data : strdup("");
    return *ret ? 0 : -ENOMEM;
}

static int parse_column(struct cursor *c, char **ret, struct werr *err)
{
    skip_blanks(c);
    if (*c->p == '"')
        return parse_quoted_column(c, ret, err);
    *ret = next_word(c);
    return *ret ? 0 : -ENOMEM;
}

/* Parse a decimal count of at most max. */
static int parse_count(struct cursor *c, const char *what, uint64_t min,
                       uint64_t max, uint64_t *ret, struct werr *err)
{
    _cleanup_free_ char *word = next_word(c);
    char *end = NULL;
    unsigned long long v;

    if (!word)
        return werr_set(err, -EINVAL, "%s:%u: missing %s; %s", c->file,
                        c->line, what,
                        "e.g. 'name mask 1 0', 'amount generalize 1000'");
    errno = 0;
    v = strtoull(word, &end, 10);
    if (errno || *end || word[0] == '-' || v < min || v > max)
        return werr_set(err, -EINVAL,
                        "%s:%u: invalid %s '%s': use a whole number from "
                        "%llu to %llu", c->file, c->line, what, word,
                        (unsigned long long)min, (unsigned long long)max);
    *ret = v;
    return 0;
}

static int parse_mask(struct cursor *c, struct dz_rule *rule,
                      struct werr *err)
{
    uint64_t head, tail;
    int ret = parse_count(c, "HEAD count of mask", 0, 1000, &head, err);

    if (ret == 0)
        ret = parse_count(c, "TAIL count of mask", 0, 1000, &tail, err);
    if (ret < 0)
        return ret;
    rule->head = (size_t)head;
    rule->tail = (size_t)tail;
    return 0;
}

static bool letters_only(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

static int parse_pseudonym(struct cursor *c, struct dz_rule *rule,
                           struct werr *err)
{
    _cleanup_free_ char *prefix = next_word(c);

    if (!prefix) {
        strcpy(rule->prefix, "p");
        return 0;
    }
    /* Letters only, so that the hex digits after the prefix never form a
     * digit run of their own that a detector could mistake for a number. */
    if (strlen(prefix) > DZ_PREFIX_MAX || !letters_only(prefix))
        return werr_set(err, -EINVAL,
                        "%s:%u: invalid pseudonym prefix '%s': use 1 to %d "
                        "ASCII letters", c->file, c->line, prefix,
                        DZ_PREFIX_MAX);
    strcpy(rule->prefix, prefix);
    return 0;
}

static int parse_date(struct cursor *c, struct dz_rule *rule,
                      struct werr *err)
{
    _cleanup_free_ char *word = next_word(c);

    if (word && strcmp(word, "year") == 0)
        rule->precision = DZ_DATE_YEAR;
    else if (word && strcmp(word, "month") == 0)
        rule->precision = DZ_DATE_MONTH;
    else
        return werr_set(err, -EINVAL,
                        "%s:%u: date needs 'year' or 'month', e.g. "
                        "'birth_date date year'", c->file, c->line);
    return 0;
}

static int parse_keep(struct cursor *c, struct dz_rule *rule)
{
    const char *end = c->end;

    skip_blanks(c);
    while (end > c->p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end > c->p) {
        rule->reason = strndup(c->p, (size_t)(end - c->p));
        if (!rule->reason)
            return -ENOMEM;
    }
    c->p = c->end;
    return 0;
}

static int action_from_word(const char *word)
{
    for (int i = 0; i < DZ_ACTION_MAX; i++)
        if (strcmp(word, action_names[i]) == 0)
            return i;
    return -EINVAL;
}

static int parse_action_args(struct cursor *c, struct dz_rule *rule,
                             struct werr *err)
{
    switch (rule->action) {
    case DZ_ACTION_KEEP:
        return parse_keep(c, rule);
    case DZ_ACTION_MASK:
        return parse_mask(c, rule, err);
    case DZ_ACTION_PSEUDONYM:
        return parse_pseudonym(c, rule, err);
    case DZ_ACTION_GENERALIZE:
        return parse_count(c, "WIDTH of generalize", 1,
                           UINT64_C(1000000000000000), &rule->width, err);
    case DZ_ACTION_DATE:
        return parse_date(c, rule, err);
    default:
        return 0;
    }
}

static int parse_action(struct cursor *c, struct dz_rule *rule,
                        struct werr *err)
{
    _cleanup_free_ char *word = next_word(c);
    _cleanup_free_ char *extra = NULL;
    int action, ret;

    if (!word)
        return werr_set(err, -EINVAL,
                        "%s:%u: missing action for column '%s'; use keep, "
                        "drop, mask, pseudonym, generalize, date or redact",
                        c->file, c->line, rule->column);
    action = action_from_word(word);
    if (action < 0)
        return werr_set(err, -EINVAL,
                        "%s:%u: unknown action '%s'; use keep, drop, mask, "
                        "pseudonym, generalize, date or redact", c->file,
                        c->line, word);
    rule->action = (enum dz_action)action;
    ret = parse_action_args(c, rule, err);
    if (ret < 0)
        return ret;
    extra = next_word(c);
    if (extra)
        return werr_set(err, -EINVAL,
                        "%s:%u: unexpected '%s' after the %s rule; remove "
                        "it", c->file, c->line, extra, word);
    return 0;
}

static int check_duplicate(const struct dz_rules *rules,
                           const struct dz_rule *rule, const char *file,
                           struct werr *err)
{
    const struct dz_rule *old = dz_rules_find(rules, rule->column);

    if (!old)
        return 0;
    return werr_set(err, -EINVAL,
                    "%s:%u: second rule for column '%s' (the first is on "
                    "line %u); keep one of them", file, rule->line,
                    rule->column, old->line);
}

static int add_rule(struct dz_rules *rules, struct dz_rule *rule)
{
    struct dz_rule *grown = realloc(rules->rules,
                                    (rules->n_rules + 1) * sizeof(*grown));

    if (!grown)
        return -ENOMEM;
    rules->rules = grown;
    rules->rules[rules->n_rules++] = *rule;
    *rule = (struct dz_rule){0};
    return 0;
}

static void rule_clear(struct dz_rule *rule)
{
    free(rule->column);
    free(rule->reason);
    *rule = (struct dz_rule){0};
}

static int parse_line(struct cursor *c, struct dz_rules *rules,
                      struct werr *err)
{
    struct dz_rule rule = {.line = c->line};
    int ret;

    skip_blanks(c);
    if (c->p == c->end || *c->p == '#')
        return 0;
    ret = parse_column(c, &rule.column, err);
    if (ret == 0 && rule.column[0] == '\0')
        ret = werr_set(err, -EINVAL, "%s:%u: empty column name", c->file,
                       c->line);
    if (ret == 0)
        ret = parse_action(c, &rule, err);
    if (ret == 0)
        ret = check_duplicate(rules, &rule, c->file, err);
    if (ret == 0)
        ret = add_rule(rules, &rule);
    rule_clear(&rule);
    if (ret == -ENOMEM)
        return werr_set(err, ret, "out of memory parsing rules");
    return ret;
}

int dz_rules_parse(const char *text, size_t len, const char *file_name,
                   struct dz_rules **ret_rules, struct werr *err)
{
    struct dz_rules *rules = calloc(1, sizeof(*rules));
    const char *p = text, *end = text + len;
    struct cursor c = {.file = file_name ? file_name : "rules"};
    int ret = 0;

    if (!rules)
        return werr_set(err, -ENOMEM, "out of memory parsing rules");
    while (ret == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;

        c.line++;
        c.p = p;
        c.end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        ret = parse_line(&c, rules, err);
        p = nl ? nl + 1 : end;
    }
    if (ret < 0) {
        dz_rules_free(rules);
        return ret;
    }
    *ret_rules = rules;
    return 0;
}

static int read_all(int fd, struct dz_buf *text)
{
    for (;;) {
        ssize_t n;

        if (dz_buf_reserve(text, 4096) < 0)
            return -ENOMEM;
        n = read(fd, text->data + text->len, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return neg_errno();
        if (n == 0)
            return 0;
        text->len += (size_t)n;
        if (text->len > RULES_FILE_MAX)
            return -EFBIG;
    }
}

int dz_rules_read_fd(int fd, const char *file_name, struct dz_rules **ret_rules,
                     struct werr *err)
{
    struct dz_buf text = {0};
    int ret = read_all(fd, &text);

    if (ret < 0) {
        dz_buf_free(&text);
        return werr_errno(err, ret, "failed to read rules file %s",
                          file_name);
    }
    ret = dz_rules_parse(text.data ? text.data : "", text.len, file_name,
                         ret_rules, err);
    dz_buf_free(&text);
    return ret;
}

const struct dz_rule *dz_rules_find(const struct dz_rules *rules,
                                    const char *column)
{
    for (size_t i = 0; i < rules->n_rules; i++)
        if (strcmp(rules->rules[i].column, column) == 0)
            return &rules->rules[i];
    return NULL;
}

void dz_rules_free(struct dz_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; i < rules->n_rules; i++)
        rule_clear(&rules->rules[i]);
    free(rules->rules);
    free(rules);
}
