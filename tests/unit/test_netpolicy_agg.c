/* The NFLOG drop aggregator: counting per key, windows and the key cap. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "netpolicy/netpolicy.h"

struct emitted {
    struct nflog_agg_record records[64];
    size_t n;
};

static void collect(const struct nflog_agg_record *record, void *data)
{
    struct emitted *out = data;

    if (out->n < 64)
        out->records[out->n++] = *record;
}

static struct nflog_agg_key key_for(unsigned tenant, const char *dst,
                                    uint16_t port)
{
    struct nflog_agg_key key;

    memset(&key, 0, sizeof(key));
    key.tenant = tenant;
    key.family = AF_INET;
    inet_pton(AF_INET, "10.201.3.2", &key.src.v4);
    inet_pton(AF_INET, dst, &key.dst.v4);
    key.protocol = IPPROTO_TCP;
    key.dport = port;
    return key;
}

static const struct nflog_agg_record *find(const struct emitted *out,
                                           uint16_t port, bool overflow)
{
    for (size_t i = 0; i < out->n; i++)
        if (out->records[i].overflow == overflow &&
            (overflow || out->records[i].key.dport == port))
            return &out->records[i];
    return NULL;
}

static uint64_t count_of(const struct emitted *out, uint16_t port)
{
    const struct nflog_agg_record *r = find(out, port, false);

    return r ? r->count : 0;
}

static void agg_counts_same_key_once(void **state)
{
    struct nflog_agg *agg = nflog_agg_new(1000, 16);
    struct nflog_agg_key k = key_for(3, "10.250.0.1", 443);
    struct emitted out = {0};

    (void)state;
    for (uint64_t t = 0; t < 5; t++)
        assert_int_equal(nflog_agg_add(agg, &k, 100 + t * 10), 0);
    assert_int_equal(nflog_agg_flush(agg, 1100, false, collect, &out), 1);
    assert_int_equal(out.records[0].count, 5);
    assert_int_equal(out.records[0].first_ms, 100);
    assert_int_equal(out.records[0].last_ms, 140);
    assert_int_equal(out.records[0].key.tenant, 3);
    assert_false(out.records[0].overflow);
    nflog_agg_free(agg);
}

static void agg_separates_keys(void **state)
{
    struct nflog_agg *agg = nflog_agg_new(1000, 16);
    struct nflog_agg_key a = key_for(3, "10.250.0.1", 443);
    struct nflog_agg_key b = key_for(3, "10.250.0.1", 80);
    struct nflog_agg_key c = key_for(4, "10.250.0.1", 443);
    struct emitted out = {0};

    (void)state;
    nflog_agg_add(agg, &a, 0);
    nflog_agg_add(agg, &b, 1);
    nflog_agg_add(agg, &b, 2);
    nflog_agg_add(agg, &c, 3);
    assert_int_equal(nflog_agg_flush(agg, 0, true, collect, &out), 3);
    assert_int_equal(count_of(&out, 80), 2);
    assert_null(find(&out, 0, true));
    nflog_agg_free(agg);
}

static void agg_waits_for_window_end(void **state)
{
    struct nflog_agg *agg = nflog_agg_new(1000, 16);
    struct nflog_agg_key k = key_for(3, "10.250.0.1", 443);
    struct emitted out = {0};

    (void)state;
    assert_int_equal(nflog_agg_next_deadline(agg, 0), -1);
    nflog_agg_add(agg, &k, 500);
    assert_int_equal(nflog_agg_next_deadline(agg, 700), 800);
    assert_int_equal(nflog_agg_flush(agg, 1499, false, collect, &out), 0);
    assert_int_equal(nflog_agg_flush(agg, 1500, false, collect, &out), 1);
    /* The next window starts empty. */
    assert_int_equal(nflog_agg_next_deadline(agg, 1500), -1);
    assert_int_equal(nflog_agg_flush(agg, 9000, true, collect, &out), 0);
    nflog_agg_free(agg);
}

static void agg_caps_keys_per_window(void **state)
{
    struct nflog_agg *agg = nflog_agg_new(1000, 4);
    struct emitted out = {0};
    const struct nflog_agg_record *overflow;

    (void)state;
    for (uint16_t port = 1; port <= 10; port++) {
        struct nflog_agg_key k = key_for(3, "10.250.0.1", port);

        assert_int_equal(nflog_agg_add(agg, &k, port), port <= 4 ? 0 : 1);
    }
    /* A key already counted still counts once the cap is reached. */
    struct nflog_agg_key first = key_for(3, "10.250.0.1", 1);
    assert_int_equal(nflog_agg_add(agg, &first, 20), 0);

    assert_int_equal(nflog_agg_flush(agg, 2000, false, collect, &out), 5);
    overflow = find(&out, 0, true);
    if (!overflow)
        fail_msg("no overflow record emitted");
    else {
        assert_int_equal(overflow->count, 6);
        assert_int_equal(overflow->first_ms, 5);
    }
    assert_int_equal(count_of(&out, 1), 2);
    nflog_agg_free(agg);
}

static void agg_key_from_event_reads_prefix(void **state)
{
    struct nflog_event ev;
    struct nflog_agg_key key;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    strcpy(ev.prefix, "wd:17");
    ev.family = AF_INET;
    ev.protocol = IPPROTO_UDP;
    ev.dport = 53;
    nflog_agg_key_from_event(&ev, &key);
    assert_int_equal(key.tenant, 17);
    assert_int_equal(key.dport, 53);
    strcpy(ev.prefix, "wd:?");
    nflog_agg_key_from_event(&ev, &key);
    assert_int_equal(key.tenant, NFLOG_AGG_NO_TENANT);
}

static void agg_rejects_zero_sizes(void **state)
{
    (void)state;
    assert_null(nflog_agg_new(0, 4));
    assert_null(nflog_agg_new(1000, 0));
}

static void agg_many_keys_rehash_free(void **state)
{
    struct nflog_agg *agg = nflog_agg_new(1000, 1000);
    struct emitted out = {0};
    char dst[32];

    (void)state;
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(dst, sizeof(dst), "10.%u.%u.1", i / 250, i % 250);
        struct nflog_agg_key k = key_for(i % 7, dst, 443);

        assert_int_equal(nflog_agg_add(agg, &k, i), 0);
        assert_int_equal(nflog_agg_add(agg, &k, i), 0);
    }
    assert_int_equal(nflog_agg_flush(agg, 5000, false, collect, &out), 1000);
    nflog_agg_free(agg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agg_counts_same_key_once),
        cmocka_unit_test(agg_separates_keys),
        cmocka_unit_test(agg_waits_for_window_end),
        cmocka_unit_test(agg_caps_keys_per_window),
        cmocka_unit_test(agg_key_from_event_reads_prefix),
        cmocka_unit_test(agg_rejects_zero_sizes),
        cmocka_unit_test(agg_many_keys_rehash_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
