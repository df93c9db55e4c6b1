/* Validators for personal identifiers. */
#include "desensitize/pii.h"

#include "desensitize/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[PII_KIND_MAX] = {
    [PII_RESIDENT_ID] = "resident_id",
    [PII_MOBILE] = "mobile",
    [PII_BANK_CARD] = "bank_card",
    [PII_USCC] = "uscc",
    [PII_EMAIL] = "email",
};

const char *pii_kind_to_string(enum pii_kind kind)
{
    if ((unsigned)kind >= PII_KIND_MAX)
        return "unknown";
    return kind_names[kind];
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned parse_digits(const char *s, size_t len)
{
    unsigned v = 0;

    for (size_t i = 0; i < len; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

static bool leap_year(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool date_valid(unsigned y, unsigned m, unsigned d)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};

    if (m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && leap_year(y));
}

/* Today as YYYYMMDD in UTC, the latest plausible birth date. */
static unsigned today_yyyymmdd(void)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    return (unsigned)(tm.tm_year + 1900) * 10000 +
           (unsigned)(tm.tm_mon + 1) * 100 + (unsigned)tm.tm_mday;
}

/* Check eight digits YYYYMMDD as a birth date from 1900 to today. */
static bool birth_date_valid(const char *s)
{
    unsigned y = parse_digits(s, 4), m = parse_digits(s + 4, 2),
             d = parse_digits(s + 6, 2);

    if (y < 1900 || !date_valid(y, m, d))
        return false;
    return y * 10000 + m * 100 + d <= today_yyyymmdd();
}

/* ISO 7064 MOD 11-2 check character over the first 17 digits. */
static char resident_id_check_char(const char *s)
{
    static const unsigned weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6,
                                         3, 7, 9, 10, 5, 8, 4, 2};
    unsigned sum = 0;

    for (size_t i = 0; i < 17; i++)
        sum += (unsigned)(s[i] - '0') * weights[i];
    return "10X98765432"[sum % 11];
}

static bool resident_id_check_matches(const char *s)
{
    char c = s[17] == 'x' ? 'X' : s[17];

    return resident_id_check_char(s) == c;
}

bool pii_resident_id18_valid(const char *s, size_t len)
{
    if (len != 18 || !all_digits(s, 17))
        return false;
    return resident_id_check_matches(s) && birth_date_valid(s + 6);
}

bool pii_resident_id15_valid(const char *s, size_t len)
{
    char date[8] = {'1', '9'};

    /* Legacy numbers (issued until 1999) carry a two-digit birth year of
     * the 1900s and no check character. */
    if (len != 15 || !all_digits(s, len))
        return false;
    memcpy(date + 2, s + 6, 6);
    return birth_date_valid(date);
}

bool pii_mobile_valid(const char *s, size_t len)
{
    return len == 11 && all_digits(s, len) && s[0] == '1' && s[1] >= '3';
}

bool pii_luhn_valid(const char *s, size_t len)
{
    unsigned sum = 0;

    if (len < 2 || !all_digits(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[len - 1 - i] - '0');

        if (i % 2 == 1)
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    return sum % 10 == 0;
}

bool pii_bank_card_valid(const char *s, size_t len)
{
    return len >= 13 && len <= 19 && pii_luhn_valid(s, len);
}

static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_index(char c)
{
    const char *p = c ? strchr(uscc_alphabet, c) : NULL;

    return p ? (int)(p - uscc_alphabet) : -1;
}

/* GB 32100-2015: registration authority code (1-9, A, N, Y), entity type,
 * six-digit administrative division code, nine-character organization
 * code, and a check character with weights 3^i mod 31. */
bool pii_uscc_valid(const char *s, size_t len)
{
    static const unsigned weights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                         29, 25, 13, 8,  24, 10, 30, 28};
    unsigned sum = 0;
    int check;

    if (len != 18 || !strchr("123456789ANY", s[0]) || s[0] == '\0')
        return false;
    if (!all_digits(s + 2, 6))
        return false;
    for (size_t i = 0; i < 17; i++) {
        int v = uscc_index(s[i]);

        if (v < 0)
            return false;
        sum += (unsigned)v * weights[i];
    }
    check = uscc_index(s[17]);
    return check >= 0 && (unsigned)check == (31 - sum % 31) % 31;
}

static bool local_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("._%+-", c));
}

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

static bool alphabetic(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

/* At least two labels of letters, digits and inner hyphens; the top-level
 * label is two or more letters. */
static bool email_domain_valid(const char *s, size_t len)
{
    size_t start = 0, labels = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!label_char(s[i]))
                return false;
            continue;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-')
            return false;
        labels++;
        if (i == len)
            return labels >= 2 && i - start >= 2 &&
                   alphabetic(s + start, i - start);
        start = i + 1;
    }
    return false;
}

bool pii_email_valid(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    size_t local;

    if (!at || len > 254)
        return false;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; i++) {
        if (!local_char(s[i]) || (s[i] == '.' && s[i + 1] == '.'))
            return false;
    }
    return email_domain_valid(at + 1, len - local - 1);
}

int pii_resident_id_check(const char *id, struct werr *err)
{
    size_t len = strlen(id);

    if (len != 18)
        return werr_set(err, -EINVAL,
                        "invalid resident identity number: it has %zu "
                        "characters, expected 18", len);
    if (!all_digits(id, 17) || !strchr("0123456789Xx", id[17]))
        return werr_set(err, -EINVAL,
                        "invalid resident identity number: the first 17 "
                        "characters must be digits and the last a digit "
                        "or X");
    if (!resident_id_check_matches(id))
        return werr_set(err, -EINVAL,
                        "invalid resident identity number: the check "
                        "character does not match (ISO 7064 MOD 11-2); "
                        "check for a mistyped digit");
    if (!birth_date_valid(id + 6))
        return werr_set(err, -EINVAL,
                        "invalid resident identity number: characters 7 to "
                        "14 are not a birth date between 1900-01-01 and "
                        "today");
    return 0;
}

int pii_resident_id_mask(const char *id,
                         char ret_masked[PII_RESIDENT_ID_MASKED_SIZE],
                         struct werr *err)
{
    int ret = pii_resident_id_check(id, err);

    if (ret < 0)
        return ret;
    memcpy(ret_masked, id, 6);
    memset(ret_masked + 6, '*', 8);
    memcpy(ret_masked + 14, id + 14, 4);
    if (ret_masked[17] == 'x')
        ret_masked[17] = 'X';
    ret_masked[18] = '\0';
    return 0;
}

/* Copy value with all but head leading and tail trailing bytes masked. */
static void mask_ascii(const char *value, size_t head, size_t tail, char *ret,
                       size_t size)
{
    size_t len = strnlen(value, size - 1);

    if (head + tail >= len)
        head = tail = 0;
    for (size_t i = 0; i < len; i++)
        ret[i] = (i < head || i >= len - tail) ? value[i] : '*';
    ret[len] = '\0';
}

void pii_mask_example(enum pii_kind kind, const char *value, char *ret,
                      size_t size)
{
    const char *at;

    if (size == 0)
        return;
    switch (kind) {
    case PII_RESIDENT_ID:
        mask_ascii(value, 6, 4, ret, size);
        break;
    case PII_MOBILE:
        mask_ascii(value, 3, 4, ret, size);
        break;
    case PII_BANK_CARD:
        mask_ascii(value, 0, 4, ret, size);
        break;
    case PII_USCC:
        mask_ascii(value, 2, 4, ret, size);
        break;
    default:
        at = strchr(value, '@');
        if (at && size > 4)
            snprintf(ret, size, "%c***%s", value[0], at);
        else
            mask_ascii(value, 1, 0, ret, size);
        break;
    }
}
