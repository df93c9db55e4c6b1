/* Write a synthetic resident-services table as CSV on standard output.
 *
 * Usage: gen_residents [ROWS [SEED]]   (defaults 1000000 and 1)
 *
 * Every person and number is invented, but each identifier has its real
 * format and check character: resident identity numbers (ISO 7064
 * MOD 11-2), mainland mobile numbers, UnionPay card numbers (Luhn) and
 * unified social credit codes (GB 32100-2015).  Some addresses contain a
 * comma, some notes contain quotes and a line break, and some notes carry
 * a mobile number in free text, so the output exercises CSV quoting and
 * the detectors.  The same ROWS and SEED give the same bytes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

/* splitmix64 */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n)
{
    return (unsigned)(rng_next() % n);
}

static const char *const surnames[] = {"李", "王", "张", "刘", "陈", "杨",
                                       "赵", "黄", "周", "吴", "徐", "孙",
                                       "胡", "朱", "高", "林", "何", "郭"};
static const char *const given[] = {"晓", "建", "海", "雨", "文", "思",
                                    "佳", "子", "明", "丽", "春", "雪",
                                    "立", "成", "安", "宁", "博", "琪"};
static const char *const districts[][2] = {
    {"330102", "上城区"}, {"330105", "拱墅区"}, {"330106", "西湖区"},
    {"330108", "滨江区"}, {"330109", "萧山区"}, {"330110", "余杭区"},
};
static const char *const roads[] = {"文三路", "庆春路", "解放路", "延安路",
                                    "凤起路", "体育场路", "莫干山路"};
static const char *const services[] = {"居住证办理", "养老金领取", "医保登记",
                                       "公租房申请", "出生登记", "就业登记"};
static const char *const mobile_prefixes[] = {"133", "135", "138", "139",
                                              "150", "158", "177", "186",
                                              "189", "199"};

#define PICK(a) (a[rng_below(sizeof(a) / sizeof(a[0]))])

/* Civil date of day number n counted from 1970-01-01. */
static void civil_from_days(long n, int *y, int *m, int *d)
{
    long era, doe, yoe, doy, mp;

    n += 719468;
    era = (n >= 0 ? n : n - 146096) / 146097;
    doe = n - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void resident_id(const char *district, int y, int m, int d, int male,
                        char out[19])
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6,
                                    3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;

    snprintf(out, 19, "%s%04d%02d%02d%02u%u", district, y, m, d,
             rng_below(100), rng_below(5) * 2 + (unsigned)male);
    for (int i = 0; i < 17; i++)
        sum += (out[i] - '0') * weights[i];
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

static void bank_card(char *out)
{
    int len = rng_below(2) ? 16 : 19, sum = 0;

    out[0] = '6';
    out[1] = '2';
    for (int i = 2; i < len - 1; i++)
        out[i] = (char)('0' + rng_below(10));
    for (int i = len - 2, k = 0; i >= 0; i--, k++) {
        int v = out[i] - '0';

        if (k % 2 == 0)
            v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
    }
    out[len - 1] = (char)('0' + (10 - sum % 10) % 10);
    out[len] = '\0';
}

static void credit_code(char out[19])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int org_weights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0, org = 0, weight = 1;

    memcpy(out, "91330100", 8);
    for (int i = 0; i < 8; i++) {
        out[8 + i] = (char)('0' + rng_below(10));
        org += (out[8 + i] - '0') * org_weights[i];
    }
    org = 11 - org % 11;
    if (org == 10)
        out[16] = 'X';
    else if (org == 11)
        out[16] = '0';
    else
        out[16] = (char)('0' + org);
    for (int i = 0; i < 17; i++) {
        sum += (int)(strchr(alphabet, out[i]) - alphabet) * weight;
        weight = weight * 3 % 31;
    }
    out[17] = alphabet[(31 - sum % 31) % 31];
    out[18] = '\0';
}

static void write_note(FILE *out)
{
    unsigned roll = rng_below(100);

    if (roll < 3)
        fprintf(out, "请回电 %s%08u", PICK(mobile_prefixes),
                rng_below(100000000));
    else if (roll < 5)
        fputs("\"note \"\"follow up\"\"\nnext visit\"", out);
}

static void write_row(FILE *out, uint64_t n)
{
    const char *const *district = districts[rng_below(6)];
    int male = (int)rng_below(2), y, m, d, vy, vm, vd;
    char id[19], card[20], uscc[19];

    civil_from_days(-10957 + (long)rng_below(365 * 65), &y, &m, &d);
    civil_from_days(19358 + (long)rng_below(365), &vy, &vm, &vd);
    resident_id(district[0], y, m, d, male, id);
    bank_card(card);
    credit_code(uscc);
    fprintf(out, "%" PRIu64 ",%s%s%s,%s,%s,%04d-%02d-%02d,%s%08u,%s,%s,",
            n, PICK(surnames), PICK(given), rng_below(2) ? PICK(given) : "",
            male ? "男" : "女", id, y, m, d, PICK(mobile_prefixes),
            rng_below(100000000), card, district[1]);
    if (rng_below(100) < 5)
        fprintf(out, "\"浙江省杭州市%s%s%u号,%u幢\",", district[1],
                PICK(roads), 1 + rng_below(998), 1 + rng_below(29));
    else
        fprintf(out, "浙江省杭州市%s%s%u号,", district[1], PICK(roads),
                1 + rng_below(998));
    fprintf(out, "%s,%s,%04d-%02d-%02d,%u.%02u,", uscc, PICK(services), vy,
            vm, vd, rng_below(5000), rng_below(100));
    write_note(out);
    fputc('\n', out);
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;

    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    fputs("record_no,name,gender,resident_id,birth_date,phone,bank_card,"
          "county,address,employer_uscc,service,visit_date,amount_yuan,note\n",
          stdout);
    for (uint64_t n = 1; n <= rows; n++)
        write_row(stdout, n);
    return fflush(stdout) == 0 ? 0 : 1;
}
