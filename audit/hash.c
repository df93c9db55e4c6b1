/* Canonical event encoding, event hash, checkpoint message, hex and time
 * formatting.  The encoding is documented in audit/audit.h; an auditor can
 * reimplement it from that description alone. */
#include "audit/audit-internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char event_magic[] = "warden-audit-event-v1";
static const char checkpoint_magic[] = "warden-audit-checkpoint-v1";

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static void hash_text(crypto_hash_sha256_state *st, const char *s)
{
    unsigned char len[4];

    if (!s) {
        put_be32(len, UINT32_MAX);
        crypto_hash_sha256_update(st, len, sizeof(len));
        return;
    }
    size_t n = strlen(s);
    put_be32(len, (uint32_t)n);
    crypto_hash_sha256_update(st, len, sizeof(len));
    crypto_hash_sha256_update(st, (const unsigned char *)s, n);
}

/* Decimal ASCII of v.  snprintf() took about 5 % of verification time. */
static void hash_int(crypto_hash_sha256_state *st, int64_t v)
{
    char buf[24];
    char *p = buf + sizeof(buf) - 1;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    *p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        *--p = '-';
    hash_text(st, p);
}

void audit_event_hash(const struct audit_event *ev,
                      const unsigned char prev[AUDIT_HASH_SIZE],
                      unsigned char ret_hash[AUDIT_HASH_SIZE])
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, AUDIT_HASH_SIZE);
    crypto_hash_sha256_update(&st, (const unsigned char *)event_magic,
                              sizeof(event_magic));
    hash_text(&st, ev->chain);
    hash_int(&st, ev->seq);
    hash_int(&st, ev->time_ns);
    hash_text(&st, ev->actor);
    hash_int(&st, ev->uid);
    hash_text(&st, ev->tenant);
    hash_text(&st, ev->action);
    hash_text(&st, ev->object);
    hash_text(&st, ev->result);
    hash_text(&st, ev->details_json);
    hash_text(&st, ev->recording);
    hash_text(&st, ev->recording_sha256);
    crypto_hash_sha256_final(&st, ret_hash);
}

size_t audit_checkpoint_message(const char *chain, int64_t seq,
                                const unsigned char hash[AUDIT_HASH_SIZE],
                                int64_t time_ns,
                                unsigned char ret_msg[AUDIT_CHECKPOINT_MSG_MAX])
{
    size_t chain_len = strnlen(chain, AUDIT_CHAIN_MAX);
    unsigned char *p = ret_msg;

    memcpy(p, checkpoint_magic, sizeof(checkpoint_magic));
    p += sizeof(checkpoint_magic);
    put_be32(p, (uint32_t)chain_len);
    p += 4;
    memcpy(p, chain, chain_len);
    p += chain_len;
    put_be64(p, (uint64_t)seq);
    p += 8;
    memcpy(p, hash, AUDIT_HASH_SIZE);
    p += AUDIT_HASH_SIZE;
    put_be64(p, (uint64_t)time_ns);
    p += 8;
    return (size_t)(p - ret_msg);
}

void audit_hex(const unsigned char *bytes, size_t len, char *ret_hex)
{
    sodium_bin2hex(ret_hex, 2 * len + 1, bytes, len);
}

int audit_unhex(const char *hex, unsigned char *ret_bytes, size_t len)
{
    size_t got = 0;
    const char *end = NULL;

    if (strlen(hex) != 2 * len)
        return -EINVAL;
    if (sodium_hex2bin(ret_bytes, len, hex, 2 * len, NULL, &got, &end) != 0 ||
        got != len || *end != '\0')
        return -EINVAL;
    return 0;
}

int64_t audit_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void audit_time_format(int64_t time_ns, char ret_buf[32])
{
    time_t sec = (time_t)(time_ns / 1000000000);
    long ms = (long)((time_ns % 1000000000) / 1000000);
    struct tm tm;
    size_t len;

    if (ms < 0) {
        sec -= 1;
        ms += 1000;
    }
    gmtime_r(&sec, &tm);
    len = strftime(ret_buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ret_buf + len, 32 - len, ".%03uZ", (unsigned)(ms % 1000));
}

/* Strict UTF-8 check: no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
bool audit_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned char c = *p;
        uint32_t cp;
        int n;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}
