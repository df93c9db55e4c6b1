/* Seccomp profile parser, filter compiler and notification handler.
 *
 * The profile grammar is documented at the top of config/seccomp.profile.
 * Every profile line becomes libseccomp rules in one pass:
 *
 *   [allow]  SCMP_ACT_ALLOW
 *   [deny]   SCMP_ACT_NOTIFY; the supervisor responds with EPERM
 *   [kill]   SCMP_ACT_KILL_PROCESS
 *   [rules]  argument filters, each compiled into a set of rules whose
 *            conditions do not overlap, so the result never depends on
 *            the order in which libseccomp tests them
 *
 * The default action is ERRNO(ENOSYS) and the bad-architecture action is
 * KILL_PROCESS.  libseccomp 2.5 folds a conditional rule into an
 * unconditional one for the same syscall, so a syscall with argument rules
 * must not also appear in a section; the parser rejects that. */
#include "sandbox/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/cleanup.h"

#define PROFILE_LINE_MAX 1024
#define RULE_VALUES_MAX 32
#define LOW32 UINT64_C(0xffffffff)

enum section {
    SECTION_NONE,
    SECTION_ALLOW,
    SECTION_DENY,
    SECTION_KILL,
    SECTION_RULES,
};

struct named_value {
    const char *name;
    uint64_t value;
};

#define NAMED(x) { #x, (uint64_t)(x) }

/* Symbolic names accepted as values in [rules]. */
static const struct named_value profile_constants[] = {
    NAMED(CLONE_NEWNS),     NAMED(CLONE_NEWUSER),  NAMED(CLONE_NEWPID),
    NAMED(CLONE_NEWNET),    NAMED(CLONE_NEWUTS),   NAMED(CLONE_NEWIPC),
    NAMED(CLONE_NEWCGROUP), NAMED(CLONE_NEWTIME),  NAMED(CLONE_FILES),
    NAMED(CLONE_FS),        NAMED(CLONE_SYSVSEM),  NAMED(TIOCSTI),
    NAMED(TIOCLINUX),       NAMED(AF_UNIX),        NAMED(AF_INET),
    NAMED(AF_INET6),        NAMED(AF_NETLINK),     NAMED(AF_PACKET),
    NAMED(NETLINK_ROUTE),   NAMED(PER_LINUX),      NAMED(S_IFMT),
    NAMED(S_IFIFO),         NAMED(S_IFREG),        NAMED(S_IFSOCK),
    NAMED(S_IFCHR),         NAMED(S_IFBLK),
};

struct seen_syscall {
    int nr;
    unsigned line;
    bool has_rules;
};

struct profile_parser {
    scmp_filter_ctx ctx;
    enum section section;
    unsigned line;
    struct seen_syscall *seen;
    size_t n_seen;
    size_t cap_seen;
    struct werr *err;
};

/* One value tuple of an allow-values rule: the first argument's value and,
 * for two-argument rules, the second one (has_second false means any). */
struct value_tuple {
    uint64_t first;
    uint64_t second;
    bool has_second;
};

static int parse_fail(struct profile_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_fail(struct profile_parser *p, const char *fmt, ...)
{
    char msg[WERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return werr_set(p->err, -EINVAL, "seccomp profile line %u: %s", p->line,
                    msg);
}

static int add_rule(struct profile_parser *p, uint32_t action, int nr,
                    unsigned n_cmp, const struct scmp_arg_cmp *cmp)
{
    int r = seccomp_rule_add_array(p->ctx, action, nr, n_cmp, cmp);

    if (r < 0)
        return werr_errno(p->err, r,
                          "seccomp profile line %u: adding a rule for "
                          "syscall %d failed",
                          p->line, nr);
    return 0;
}

/* Record nr as used and reject a second entry, because libseccomp would
 * silently merge or drop one of two entries with different actions. */
static int claim_syscall(struct profile_parser *p, const char *name, int nr,
                         bool has_rules)
{
    for (size_t i = 0; i < p->n_seen; i++) {
        struct seen_syscall *s = &p->seen[i];

        if (s->nr != nr)
            continue;
        if (has_rules && s->has_rules)
            return 0;
        return parse_fail(p,
                          "syscall '%s' is already listed on line %u: keep "
                          "one entry, or only [rules] lines for it",
                          name, s->line);
    }
    if (p->n_seen == p->cap_seen) {
        size_t cap = p->cap_seen ? 2 * p->cap_seen : 128;
        struct seen_syscall *grown = realloc(p->seen, cap * sizeof(*grown));

        if (!grown)
            return werr_set(p->err, -ENOMEM, "out of memory");
        p->seen = grown;
        p->cap_seen = cap;
    }
    p->seen[p->n_seen++] = (struct seen_syscall){nr, p->line, has_rules};
    return 0;
}

static int resolve_syscall(struct profile_parser *p, const char *name,
                           int *ret_nr)
{
    int nr = seccomp_syscall_resolve_name(name);

    if (nr == __NR_SCMP_ERROR)
        return parse_fail(p,
                          "unknown syscall '%s': check the spelling, or "
                          "remove it because this libseccomp (%u.%u.%u) "
                          "does not know it",
                          name, seccomp_version()->major,
                          seccomp_version()->minor, seccomp_version()->micro);
    *ret_nr = nr;
    return 0;
}

static int parse_number(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Parse "NAME", "0x1234" or "A|B|C" into a number. */
static int parse_value(struct profile_parser *p, const char *text,
                       uint64_t *ret)
{
    char buf[PROFILE_LINE_MAX];
    char *save = NULL;
    uint64_t total = 0;

    snprintf(buf, sizeof(buf), "%s", text);
    for (char *tok = strtok_r(buf, "|", &save); tok;
         tok = strtok_r(NULL, "|", &save)) {
        uint64_t v;
        size_t i;

        if (parse_number(tok, &v) == 0) {
            total |= v;
            continue;
        }
        for (i = 0; i < ARRAY_SIZE(profile_constants); i++)
            if (strcmp(profile_constants[i].name, tok) == 0)
                break;
        if (i == ARRAY_SIZE(profile_constants))
            return parse_fail(p,
                              "unknown value '%s': use a number or one of "
                              "the constant names listed at the top of the "
                              "profile",
                              tok);
        total |= profile_constants[i].value;
    }
    *ret = total;
    return 0;
}

/* Parse "argN" or "argN&MASK"; the mask defaults to default_mask. */
static int parse_arg(struct profile_parser *p, const char *text,
                     uint64_t default_mask, unsigned *ret_arg,
                     uint64_t *ret_mask)
{
    const char *amp = strchr(text, '&');
    uint64_t mask = default_mask;

    if (strncmp(text, "arg", 3) != 0 || text[3] < '0' || text[3] > '5' ||
        (text[4] != '\0' && text[4] != '&'))
        return parse_fail(p, "invalid argument '%s': use arg0 to arg5, "
                             "optionally followed by &MASK",
                          text);
    if (amp && parse_value(p, amp + 1, &mask) < 0)
        return -EINVAL;
    if (mask == 0)
        return parse_fail(p, "invalid mask in '%s': the mask must not be 0",
                          text);
    *ret_arg = (unsigned)(text[3] - '0');
    *ret_mask = mask;
    return 0;
}

/* Emit rules with `action` that match every value v of arg with
 * (v & mask) not equal to any values[i], plus the comparisons in prefix.
 * The value space is split bit by bit from the top of mask; a subtree that
 * contains none of the values becomes one MASKED_EQ rule, so the rule count
 * is at most n_values times the number of bits in mask. */
static int emit_outside(struct profile_parser *p, int nr, uint32_t action,
                        unsigned arg, uint64_t mask, const uint64_t *values,
                        size_t n_values, const struct scmp_arg_cmp *prefix,
                        uint64_t fixed_mask, uint64_t fixed_value)
{
    uint64_t rest = mask & ~fixed_mask;
    uint64_t bit;
    bool any = false;
    int r;

    for (size_t i = 0; i < n_values && !any; i++)
        any = (values[i] & fixed_mask) == fixed_value;
    if (!any) {
        struct scmp_arg_cmp cmp[2];
        unsigned n = 0;

        if (prefix)
            cmp[n++] = *prefix;
        cmp[n++] = SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, fixed_mask,
                              fixed_value);
        return add_rule(p, action, nr, n, cmp);
    }
    if (rest == 0)
        return 0;

    bit = UINT64_C(1) << (63 - __builtin_clzll(rest));
    r = emit_outside(p, nr, action, arg, mask, values, n_values, prefix,
                     fixed_mask | bit, fixed_value);
    if (r < 0)
        return r;
    return emit_outside(p, nr, action, arg, mask, values, n_values, prefix,
                        fixed_mask | bit, fixed_value | bit);
}

/* "deny-flags argN FLAGS": notify when any of FLAGS is set in argN, allow
 * when none is. */
static int rule_deny_flags(struct profile_parser *p, int nr, char **tok,
                           size_t n_tok)
{
    unsigned arg;
    uint64_t unused_mask, flags;

    if (n_tok != 2)
        return parse_fail(p, "deny-flags takes one argument and one flag "
                             "set, for example 'deny-flags arg0 "
                             "CLONE_NEWUSER|CLONE_NEWNS'");
    if (parse_arg(p, tok[0], UINT64_MAX, &arg, &unused_mask) < 0 ||
        parse_value(p, tok[1], &flags) < 0)
        return -EINVAL;
    if (flags == 0)
        return parse_fail(p, "deny-flags needs at least one non-zero flag");

    for (uint64_t rest = flags; rest; rest &= rest - 1) {
        uint64_t bit = rest & -rest;
        struct scmp_arg_cmp cmp = SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, bit, bit);
        int r = add_rule(p, SCMP_ACT_NOTIFY, nr, 1, &cmp);

        if (r < 0)
            return r;
    }
    struct scmp_arg_cmp none = SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, flags, 0);
    return add_rule(p, SCMP_ACT_ALLOW, nr, 1, &none);
}

static int parse_value_list(struct profile_parser *p, char **tok,
                            size_t n_tok, uint64_t *values)
{
    if (n_tok == 0 || n_tok > RULE_VALUES_MAX)
        return parse_fail(p, "expected 1 to %d values after the argument",
                          RULE_VALUES_MAX);
    for (size_t i = 0; i < n_tok; i++)
        if (parse_value(p, tok[i], &values[i]) < 0)
            return -EINVAL;
    return 0;
}

/* "deny-values argN[&MASK] V...": notify when argN & MASK equals one of
 * the values, allow otherwise.  MASK defaults to the low 32 bits, because
 * the kernel truncates int and unsigned int arguments such as an ioctl
 * request, so the upper bits must not let a caller slip past. */
static int rule_deny_values(struct profile_parser *p, int nr, char **tok,
                            size_t n_tok)
{
    uint64_t values[RULE_VALUES_MAX];
    uint64_t mask;
    unsigned arg;
    int r;

    if (n_tok < 2)
        return parse_fail(p, "deny-values takes an argument and values, for "
                             "example 'deny-values arg1 TIOCSTI'");
    if (parse_arg(p, tok[0], LOW32, &arg, &mask) < 0 ||
        parse_value_list(p, tok + 1, n_tok - 1, values) < 0)
        return -EINVAL;

    for (size_t i = 0; i < n_tok - 1; i++) {
        struct scmp_arg_cmp cmp =
            SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, mask, values[i] & mask);

        r = add_rule(p, SCMP_ACT_NOTIFY, nr, 1, &cmp);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < n_tok - 1; i++)
        values[i] &= mask;
    return emit_outside(p, nr, SCMP_ACT_ALLOW, arg, mask, values, n_tok - 1,
                        NULL, 0, 0);
}

/* Split "V" or "V,W" or "V,*" into a tuple. */
static int parse_tuple(struct profile_parser *p, const char *text,
                       bool two_args, struct value_tuple *ret)
{
    char buf[PROFILE_LINE_MAX];
    char *comma;

    snprintf(buf, sizeof(buf), "%s", text);
    comma = strchr(buf, ',');
    if (!two_args && comma)
        return parse_fail(p, "value '%s' has two parts but the rule names "
                             "one argument",
                          text);
    if (two_args && !comma)
        return parse_fail(p, "value '%s' needs two parts, for example "
                             "'AF_INET,*' or 'AF_NETLINK,NETLINK_ROUTE'",
                          text);
    if (comma)
        *comma = '\0';
    *ret = (struct value_tuple){0};
    if (parse_value(p, buf, &ret->first) < 0)
        return -EINVAL;
    if (!comma || strcmp(comma + 1, "*") == 0)
        return 0;
    ret->has_second = true;
    return parse_value(p, comma + 1, &ret->second);
}

/* Emit the allow and notify rules for the tuples whose first value is
 * first: allow the listed second values (or everything when one tuple
 * has a wildcard), notify for the rest. */
static int emit_second_arg(struct profile_parser *p, int nr, unsigned arg0,
                           unsigned arg1, uint64_t first,
                           const struct value_tuple *tuples, size_t n)
{
    uint64_t seconds[RULE_VALUES_MAX];
    size_t n_seconds = 0;
    struct scmp_arg_cmp prefix =
        SCMP_CMP64(arg0, SCMP_CMP_MASKED_EQ, LOW32, first);

    for (size_t i = 0; i < n; i++) {
        if (tuples[i].first != first)
            continue;
        if (!tuples[i].has_second)
            return add_rule(p, SCMP_ACT_ALLOW, nr, 1, &prefix);
        seconds[n_seconds++] = tuples[i].second & LOW32;
    }
    for (size_t i = 0; i < n_seconds; i++) {
        struct scmp_arg_cmp cmp[2] = {
            prefix, SCMP_CMP64(arg1, SCMP_CMP_MASKED_EQ, LOW32, seconds[i])};
        int r = add_rule(p, SCMP_ACT_ALLOW, nr, 2, cmp);

        if (r < 0)
            return r;
    }
    return emit_outside(p, nr, SCMP_ACT_NOTIFY, arg1, LOW32, seconds,
                        n_seconds, &prefix, 0, 0);
}

static int parse_arg_pair(struct profile_parser *p, const char *text,
                          unsigned *ret_arg0, unsigned *ret_arg1,
                          uint64_t *ret_mask, bool *ret_two)
{
    char buf[PROFILE_LINE_MAX];
    char *comma;
    uint64_t mask1;

    snprintf(buf, sizeof(buf), "%s", text);
    comma = strchr(buf, ',');
    if (comma)
        *comma = '\0';
    if (parse_arg(p, buf, LOW32, ret_arg0, ret_mask) < 0)
        return -EINVAL;
    *ret_two = comma != NULL;
    if (!comma)
        return 0;
    if (*ret_mask != LOW32)
        return parse_fail(p, "a mask is supported only on one-argument "
                             "allow-values rules");
    if (parse_arg(p, comma + 1, LOW32, ret_arg1, &mask1) < 0)
        return -EINVAL;
    if (mask1 != LOW32 || *ret_arg1 == *ret_arg0)
        return parse_fail(p, "'%s' must name two different arguments "
                             "without masks",
                          text);
    return 0;
}

/* "allow-values argN[&MASK] V..." or "allow-values argN,argM V,W...":
 * allow the listed values (compared on the masked or low 32 bits) and
 * notify for every other value. */
static int rule_allow_values(struct profile_parser *p, int nr, char **tok,
                             size_t n_tok)
{
    struct value_tuple tuples[RULE_VALUES_MAX];
    uint64_t firsts[RULE_VALUES_MAX];
    size_t n = n_tok - 1, n_firsts = 0;
    unsigned arg0, arg1 = 0;
    uint64_t mask;
    bool two;
    int r;

    if (n_tok < 2 || n > RULE_VALUES_MAX)
        return parse_fail(p, "allow-values takes an argument and 1 to %d "
                             "values, for example 'allow-values arg0 "
                             "PER_LINUX 0xffffffff'",
                          RULE_VALUES_MAX);
    if (parse_arg_pair(p, tok[0], &arg0, &arg1, &mask, &two) < 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (parse_tuple(p, tok[i + 1], two, &tuples[i]) < 0)
            return -EINVAL;

    for (size_t i = 0; i < n; i++) {
        uint64_t v = tuples[i].first & mask;
        bool dup = false;

        for (size_t j = 0; j < n_firsts; j++)
            dup = dup || firsts[j] == v;
        if (dup)
            continue;
        firsts[n_firsts++] = v;
        if (two) {
            r = emit_second_arg(p, nr, arg0, arg1, tuples[i].first, tuples, n);
        } else {
            struct scmp_arg_cmp cmp =
                SCMP_CMP64(arg0, SCMP_CMP_MASKED_EQ, mask, v);
            r = add_rule(p, SCMP_ACT_ALLOW, nr, 1, &cmp);
        }
        if (r < 0)
            return r;
    }
    return emit_outside(p, nr, SCMP_ACT_NOTIFY, arg0, mask, firsts, n_firsts,
                        NULL, 0, 0);
}

static size_t split_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;

    for (char *w = strtok_r(line, " \t", &save); w && n < max;
         w = strtok_r(NULL, " \t", &save))
        words[n++] = w;
    return n;
}

/* "NAME: FORM ARG VALUES..." in the [rules] section. */
static int parse_rule_line(struct profile_parser *p, char *line)
{
    char *words[RULE_VALUES_MAX + 4];
    size_t n;
    char *colon = strchr(line, ':');
    int nr = -1, r;

    if (!colon)
        return parse_fail(p, "expected 'SYSCALL: FORM ARGUMENT VALUES', "
                             "for example 'ioctl: deny-values arg1 TIOCSTI'");
    *colon = '\0';
    n = split_words(line, words, 2);
    if (n != 1)
        return parse_fail(p, "expected one syscall name before ':'");
    r = resolve_syscall(p, words[0], &nr);
    if (r < 0)
        return r;
    r = claim_syscall(p, words[0], nr, true);
    if (r < 0)
        return r;

    n = split_words(colon + 1, words, ARRAY_SIZE(words));
    if (n == ARRAY_SIZE(words))
        return parse_fail(p, "too many values: at most %d per rule",
                          RULE_VALUES_MAX);
    if (n == 0)
        return parse_fail(p, "missing rule form after ':': use deny-flags, "
                             "deny-values or allow-values");
    if (strcmp(words[0], "deny-flags") == 0)
        return rule_deny_flags(p, nr, words + 1, n - 1);
    if (strcmp(words[0], "deny-values") == 0)
        return rule_deny_values(p, nr, words + 1, n - 1);
    if (strcmp(words[0], "allow-values") == 0)
        return rule_allow_values(p, nr, words + 1, n - 1);
    return parse_fail(p, "unknown rule form '%s': use deny-flags, "
                         "deny-values or allow-values",
                      words[0]);
}

static uint32_t section_action(enum section s)
{
    switch (s) {
    case SECTION_ALLOW:
        return SCMP_ACT_ALLOW;
    case SECTION_DENY:
        return SCMP_ACT_NOTIFY;
    default:
        return SCMP_ACT_KILL_PROCESS;
    }
}

/* A line of syscall names in [allow], [deny] or [kill]. */
static int parse_name_line(struct profile_parser *p, char *line)
{
    char *save = NULL;

    for (char *w = strtok_r(line, " \t", &save); w;
         w = strtok_r(NULL, " \t", &save)) {
        int nr = -1, r;

        r = resolve_syscall(p, w, &nr);
        if (r < 0)
            return r;
        r = claim_syscall(p, w, nr, false);
        if (r < 0)
            return r;
        r = add_rule(p, section_action(p->section), nr, 0, NULL);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_section(struct profile_parser *p, const char *line)
{
    static const struct {
        const char *name;
        enum section section;
    } sections[] = {
        {"[allow]", SECTION_ALLOW},
        {"[deny]", SECTION_DENY},
        {"[kill]", SECTION_KILL},
        {"[rules]", SECTION_RULES},
    };

    for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
        if (strcmp(line, sections[i].name) == 0) {
            p->section = sections[i].section;
            return 0;
        }
    }
    return parse_fail(p, "unknown section '%s': use [allow], [deny], [kill] "
                         "or [rules]",
                      line);
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int parse_line(struct profile_parser *p, char *raw)
{
    char *hash = strchr(raw, '#');
    char *line;

    if (hash)
        *hash = '\0';
    line = trim(raw);
    if (*line == '\0')
        return 0;
    if (*line == '[')
        return parse_section(p, line);

    switch (p->section) {
    case SECTION_NONE:
        return parse_fail(p, "syscall names before the first section: start "
                             "with [allow], [deny], [kill] or [rules]");
    case SECTION_RULES:
        return parse_rule_line(p, line);
    default:
        return parse_name_line(p, line);
    }
}

static int parse_profile(struct profile_parser *p, const char *text)
{
    const char *pos = text;

    while (*pos) {
        char buf[PROFILE_LINE_MAX];
        size_t len = strcspn(pos, "\n");
        int r;

        p->line++;
        if (len >= sizeof(buf))
            return parse_fail(p, "line longer than %d bytes: split it",
                              PROFILE_LINE_MAX - 1);
        memcpy(buf, pos, len);
        buf[len] = '\0';
        r = parse_line(p, buf);
        if (r < 0)
            return r;
        pos += len;
        if (*pos == '\n')
            pos++;
    }
    if (p->n_seen == 0)
        return werr_set(p->err, -EINVAL,
                        "seccomp profile lists no syscalls: add an [allow] "
                        "section");
    return 0;
}

static int set_filter_attributes(scmp_filter_ctx ctx, struct werr *err)
{
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
                             SCMP_ACT_KILL_PROCESS);

    if (r < 0)
        return werr_errno(err, r, "setting the seccomp bad-architecture "
                                  "action failed");
    /* The caller has set no_new_privs already and proves it; libseccomp
     * must not set it behind our back. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (r < 0)
        return werr_errno(err, r, "clearing SCMP_FLTATR_CTL_NNP failed");
    r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
    if (r < 0)
        return werr_errno(err, r, "setting SCMP_FLTATR_API_SYSRAWRC failed");
    return 0;
}

/* Compile profile_text into a new filter context. */
static int build_filter(const char *profile_text, scmp_filter_ctx *ret_ctx,
                        struct werr *err)
{
    struct profile_parser p = {.err = err};
    int r;

    if (!profile_text)
        return werr_set(err, -EINVAL, "missing seccomp profile text");
    p.ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    if (!p.ctx)
        return werr_set(err, -ENOMEM, "seccomp_init failed");

    r = set_filter_attributes(p.ctx, err);
    if (r >= 0)
        r = parse_profile(&p, profile_text);
    free(p.seen);
    if (r < 0) {
        seccomp_release(p.ctx);
        return r;
    }
    *ret_ctx = p.ctx;
    return 0;
}

int sandbox_seccomp_check_profile(const char *profile_text, struct werr *err)
{
    scmp_filter_ctx ctx;
    int r = build_filter(profile_text, &ctx, err);

    if (r < 0)
        return r;
    seccomp_release(ctx);
    return 0;
}

int sandbox_seccomp_install(const char *profile_text, int *ret_notify_fd,
                            struct werr *err)
{
    scmp_filter_ctx ctx;
    int nnp, fd, r;

    nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (nnp != 1)
        return werr_set(err, -EPERM,
                        "no_new_privs is not set: call "
                        "sandbox_drop_privileges() before installing the "
                        "seccomp filter");
    r = build_filter(profile_text, &ctx, err);
    if (r < 0)
        return r;

    r = seccomp_load(ctx);
    if (r < 0) {
        seccomp_release(ctx);
        return werr_errno(err, r, "loading the seccomp filter failed");
    }
    fd = seccomp_notify_fd(ctx);
    seccomp_release(ctx);
    if (fd < 0)
        return werr_errno(err, fd < 0 ? fd : -EIO,
                          "the seccomp filter has no notification "
                          "descriptor: add at least one syscall to [deny]");
    *ret_notify_fd = fd;
    return 0;
}

static void fill_denial(const struct seccomp_notif *req,
                        struct sandbox_seccomp_denial *ret)
{
    char *name = seccomp_syscall_resolve_num_arch(req->data.arch,
                                                  req->data.nr);

    *ret = (struct sandbox_seccomp_denial){
        .pid = (pid_t)req->pid,
        .syscall_nr = req->data.nr,
    };
    if (name)
        snprintf(ret->syscall_name, sizeof(ret->syscall_name), "%s", name);
    else
        snprintf(ret->syscall_name, sizeof(ret->syscall_name), "syscall-%d",
                 req->data.nr);
    free(name);
    for (size_t i = 0; i < ARRAY_SIZE(ret->args); i++)
        ret->args[i] = req->data.args[i];
}

/* Return 0 when a notification is pending, -EAGAIN when none is and
 * -EPIPE when no process uses the filter any more. */
static int poll_notify_fd(int notify_fd, struct werr *err)
{
    struct pollfd pfd = {.fd = notify_fd, .events = POLLIN};
    int n = poll(&pfd, 1, 0);

    if (n < 0)
        return werr_errno(err, neg_errno(), "polling the seccomp "
                                            "notification descriptor failed");
    if (n == 0)
        return -EAGAIN;
    if (pfd.revents & POLLIN)
        return 0;
    if (pfd.revents & POLLHUP)
        return -EPIPE;
    return werr_set(err, -EIO, "seccomp notification descriptor %d is in an "
                               "unexpected state (revents 0x%x)",
                    notify_fd, (unsigned)pfd.revents);
}

static int respond_eperm(int notify_fd, struct seccomp_notif *req,
                        struct seccomp_notif_resp *resp, struct werr *err)
{
    int r;

    resp->id = req->id;
    resp->val = 0;
    resp->error = -EPERM;
    resp->flags = 0;
    r = seccomp_notify_respond(notify_fd, resp);
    if (r == 0)
        return 0;
    /* The target may have died (or been killed by a signal) between
     * receive and respond. */
    if (seccomp_notify_id_valid(notify_fd, req->id) != 0)
        return -ENOENT;
    return werr_errno(err, r, "responding to seccomp notification %" PRIu64
                              " failed",
                      (uint64_t)req->id);
}

int sandbox_seccomp_handle_notification(int notify_fd,
                                        struct sandbox_seccomp_denial *ret,
                                        struct werr *err)
{
    struct seccomp_notif *req = NULL;
    struct seccomp_notif_resp *resp = NULL;
    int r;

    r = poll_notify_fd(notify_fd, err);
    if (r < 0)
        return r;
    r = seccomp_notify_alloc(&req, &resp);
    if (r < 0)
        return werr_errno(err, r, "allocating seccomp notification buffers "
                                  "failed");

    r = seccomp_notify_receive(notify_fd, req);
    if (r == -ENOENT) {
        /* The target died after the notification was queued. */
        r = -ENOENT;
    } else if (r < 0) {
        r = werr_errno(err, r, "receiving a seccomp notification failed");
    } else {
        struct sandbox_seccomp_denial denial;

        fill_denial(req, &denial);
        r = respond_eperm(notify_fd, req, resp, err);
        if (r == 0 || r == -ENOENT)
            *ret = denial;
    }
    seccomp_notify_free(req, resp);
    return r;
}
