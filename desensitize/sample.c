/* Reproducible row sampling: every decision is a keyed hash (SipHash-2-4
 * via crypto_shorthash) of the seed and the row index, so the same seed
 * selects the same rows on every run and machine. */
#include "desensitize/desensitize.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t row_hash(uint64_t seed, uint64_t index)
{
    uint8_t key[crypto_shorthash_KEYBYTES] = "........dzsample";
    uint8_t msg[8], out[crypto_shorthash_BYTES];
    uint64_t h = 0;

    for (int i = 0; i < 8; i++) {
        key[i] = (uint8_t)(seed >> (8 * i));
        msg[i] = (uint8_t)(index >> (8 * i));
    }
    crypto_shorthash(out, msg, sizeof(msg), key);
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | out[i];
    return h;
}

bool dz_sample_fraction_keeps(const struct dz_sample *sample, uint64_t index)
{
    /* 2^64 as a double; the product is below it whenever fraction < 1. */
    const double two_64 = 18446744073709551616.0;

    if (sample->fraction >= 1.0)
        return true;
    return row_hash(sample->seed, index) <
           (uint64_t)(sample->fraction * two_64);
}

int64_t dz_sample_reservoir_slot(const struct dz_sample *sample,
                                 uint64_t index)
{
    uint64_t j;

    if (index < sample->count)
        return (int64_t)index;
    /* The modulo bias is below index / 2^64, far under any row count. */
    j = row_hash(sample->seed, index) % (index + 1);
    return j < sample->count ? (int64_t)j : -1;
}

static int parse_fraction(const char *text, bool percent, double *ret)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || (percent ? *end != '%' || end[1] : *end != 0))
        return -EINVAL;
    if (percent)
        v /= 100.0;
    if (!isfinite(v) || v <= 0.0 || v > 1.0)
        return -EINVAL;
    *ret = v;
    return 0;
}

int dz_sample_parse(const char *text, uint64_t seed,
                    struct dz_sample *ret_sample, struct werr *err)
{
    struct dz_sample s = {.mode = DZ_SAMPLE_ALL, .fraction = 1.0,
                          .seed = seed};
    size_t len = strlen(text);
    char *end = NULL;
    int ret = 0;

    if (strcmp(text, "all") == 0) {
        *ret_sample = s;
        return 0;
    }
    if (len > 0 && (text[len - 1] == '%' || strchr(text, '.'))) {
        s.mode = DZ_SAMPLE_FRACTION;
        ret = parse_fraction(text, text[len - 1] == '%', &s.fraction);
    } else {
        s.mode = DZ_SAMPLE_COUNT;
        errno = 0;
        s.count = strtoull(text, &end, 10);
        if (errno || end == text || *end || text[0] == '-' || s.count == 0)
            ret = -EINVAL;
    }
    if (ret < 0)
        return werr_set(err, -EINVAL,
                        "invalid sample '%s': use 'all', a fraction such as "
                        "0.05 or 5%%, or a row count such as 1000", text);
    *ret_sample = s;
    return 0;
}
