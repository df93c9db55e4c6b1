/* Masking throughput of the development view.
 *
 * Usage: bench_mask FILE [RUNS]
 *
 * Runs dz_view_make() over FILE (a residents table as written by
 * gen_residents) with a rule for every column, writing to /dev/null, and
 * prints the best of RUNS runs (default 3) as MB/s of input (1 MB =
 * 10^6 bytes).  The number covers reading, UTF-8 validation, parsing,
 * masking, pseudonyms and writing.  The "mask" rules give every kept
 * column a reason, so the input is read once.  The "mask+profile" rules
 * keep three columns without a reason, so the view profiles them in a
 * first pass.  The "mask-no-pseudonym" rules mask the two identifier
 * columns instead of pseudonymizing them, which shows the cost of
 * HMAC-SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "desensitize/desensitize.h"

#define RULES_COMMON                                                           \
    "record_no keep sequential number of the extract\n"                        \
    "name mask 1 0\n"                                                          \
    "resident_id pseudonym\n"                                                  \
    "birth_date date year\n"                                                   \
    "phone mask 3 4\n"                                                         \
    "bank_card drop\n"                                                         \
    "address mask 6 0\n"                                                       \
    "employer_uscc pseudonym org\n"                                            \
    "visit_date date month\n"                                                  \
    "amount_yuan generalize 1000\n"                                            \
    "note redact\n"

static const char rules_single_pass[] =
    RULES_COMMON "gender keep needed for breakdowns\n"
                 "county keep needed for breakdowns\n"
                 "service keep needed for breakdowns\n";

/* The same without the two HMAC-SHA-256 pseudonym columns, to show what
 * the rest of the pipeline costs. */
static const char rules_no_pseudonym[] =
    "record_no keep sequential number of the extract\n"
    "name mask 1 0\n"
    "resident_id mask 6 4\n"
    "birth_date date year\n"
    "phone mask 3 4\n"
    "bank_card drop\n"
    "address mask 6 0\n"
    "employer_uscc mask 2 4\n"
    "visit_date date month\n"
    "amount_yuan generalize 1000\n"
    "note redact\n"
    "gender keep needed for breakdowns\n"
    "county keep needed for breakdowns\n"
    "service keep needed for breakdowns\n";

static const char rules_two_pass[] =
    RULES_COMMON "gender keep\ncounty keep\nservice keep\n";

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_once(const char *path, const struct dz_rules *rules,
                    const uint8_t *secret, struct dz_view_stats *stats,
                    double *ret_seconds)
{
    struct dz_view_request req = {.rules = rules, .secret = secret};
    struct werr err = {0};
    double start;
    int ret;

    req.in_fd = open(path, O_RDONLY | O_CLOEXEC);
    req.out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (req.in_fd < 0 || req.out_fd < 0) {
        fprintf(stderr, "bench_mask: cannot open %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    start = now_seconds();
    ret = dz_view_make(&req, stats, &err);
    *ret_seconds = now_seconds() - start;
    close(req.in_fd);
    close(req.out_fd);
    if (ret < 0)
        fprintf(stderr, "bench_mask: %s\n", err.msg);
    return ret < 0;
}

/* Run the view runs times with rules_text; print the best MB/s. */
static int bench(const char *label, const char *path, off_t size,
                 const char *rules_text, const uint8_t *secret, int runs)
{
    struct dz_view_stats stats = {0};
    struct dz_rules *rules = NULL;
    struct werr err = {0};
    double best = 0;

    if (dz_rules_parse(rules_text, strlen(rules_text), "bench", &rules,
                       &err) < 0) {
        fprintf(stderr, "bench_mask: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < runs; i++) {
        double seconds;

        if (run_once(path, rules, secret, &stats, &seconds)) {
            dz_rules_free(rules);
            return 1;
        }
        if (i == 0 || seconds < best)
            best = seconds;
    }
    printf("%s: %llu rows, %.1f MB in %.3f s: %.1f MB/s\n", label,
           (unsigned long long)stats.rows_in, (double)size / 1e6, best,
           (double)size / 1e6 / best);
    dz_rules_free(rules);
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t secret[DZ_SECRET_SIZE];
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    struct stat st;

    if (argc < 2 || stat(argv[1], &st) < 0 || runs < 1 || sodium_init() < 0) {
        fprintf(stderr, "usage: bench_mask FILE [RUNS]\n");
        return 2;
    }
    randombytes_buf(secret, sizeof(secret));
    if (bench("mask", argv[1], st.st_size, rules_single_pass, secret, runs))
        return 1;
    if (bench("mask+profile", argv[1], st.st_size, rules_two_pass, secret,
              runs))
        return 1;
    return bench("mask-no-pseudonym", argv[1], st.st_size, rules_no_pseudonym,
                 secret, runs);
}
