/* Repeated attach and detach, startup reconciliation and tenant removal,
 * all in a private network namespace (testns_enter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "netpolicy/netpolicy.h"
#include "test_netpolicy_ns.h"

#define CHURN_ROUNDS 300
#define RULESET_MAX 65536

static const char *skip_reason;
static struct netpolicy_pool pool;
static struct netpolicy_endpoint allow;

static void skip_unless_ready(void)
{
    if (skip_reason) {
        fprintf(stderr, "SKIP: %s\n", skip_reason);
        skip();
    }
}

static struct netpolicy *context_new(void)
{
    struct netpolicy_config config = {&pool, 1, 9};
    struct netpolicy *np = NULL;
    struct werr err = {0};

    if (netpolicy_new(&config, &np, &err) < 0)
        fail_msg("netpolicy_new: %s", err.msg);
    return np;
}

static void reconcile(struct netpolicy *np,
                      const struct netpolicy_attachment *live, size_t n_live,
                      struct netpolicy_reconcile_stats *stats)
{
    struct netpolicy_tenant_spec specs[2] = {{1, &allow, 1}, {2, &allow, 1}};
    struct werr err = {0};

    if (netpolicy_reconcile(np, specs, 2, live, n_live, stats, &err) < 0)
        fail_msg("netpolicy_reconcile: %s", err.msg);
}

static char *ruleset(void)
{
    char *buf = malloc(RULESET_MAX);

    assert_non_null(buf);
    assert_true(command_output("nft list ruleset", buf, RULESET_MAX) > 0);
    return buf;
}

static void attach(struct netpolicy *np, unsigned tenant,
                   struct test_sandbox *s, struct netpolicy_attachment *att)
{
    struct werr err = {0};

    assert_int_equal(sandbox_start(s), 0);
    if (netpolicy_attach(np, tenant, s->netns_fd, att, &err) < 0)
        fail_msg("netpolicy_attach: %s", err.msg);
}

static void churn_leaves_no_links_or_rules(void **state)
{
    struct netpolicy *np;
    struct netpolicy_attachment att;
    struct test_sandbox s = {0};
    char *before, *after;
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    np = context_new();
    reconcile(np, NULL, 0, NULL);
    before = ruleset();

    for (int i = 0; i < CHURN_ROUNDS; i++) {
        attach(np, (unsigned)(1 + i % 2), &s, &att);
        assert_int_equal(netpolicy_detach(np, &att, &err), 0);
        sandbox_stop(&s);
    }

    assert_int_equal(count_links(NETPOLICY_LINK_PREFIX), 0);
    after = ruleset();
    assert_string_equal(before, after);
    /* Addresses were released: the last attach reused the first one. */
    assert_int_equal(ntohl(att.addr.s_addr) & 0xff, 2);
    free(before);
    free(after);
    netpolicy_free(np);
}

static void reconcile_adopts_live_removes_stale(void **state)
{
    struct netpolicy *np;
    struct netpolicy_attachment att[3], live[2], fresh;
    struct netpolicy_reconcile_stats stats = {0};
    struct test_sandbox s[4] = {0};
    char *rules;

    (void)state;
    skip_unless_ready();
    np = context_new();
    reconcile(np, NULL, 0, NULL);
    for (int i = 0; i < 3; i++)
        attach(np, 1, &s[i], &att[i]);
    /* The daemon dies: its links stay, and someone adds a stray chain. */
    netpolicy_free(np);
    assert_int_equal(system("nft add chain inet warden stray"), 0);

    np = context_new();
    live[0] = att[0];
    live[1] = att[2];
    reconcile(np, live, 2, &stats);
    assert_int_equal(stats.links_adopted, 2);
    assert_int_equal(stats.links_removed, 1);
    assert_int_equal(count_links(att[0].host_ifname), 1);
    assert_int_equal(count_links(att[1].host_ifname), 0);
    rules = ruleset();
    assert_null(strstr(rules, "stray"));
    assert_non_null(strstr(rules, "chain t1"));
    free(rules);

    /* A new sandbox gets the freed address and a name not used before. */
    attach(np, 1, &s[3], &fresh);
    assert_int_equal(fresh.addr.s_addr, att[1].addr.s_addr);
    for (int i = 0; i < 3; i++)
        assert_string_not_equal(fresh.host_ifname, att[i].host_ifname);

    assert_int_equal(netpolicy_detach(np, &att[0], NULL), 0);
    assert_int_equal(netpolicy_detach(np, &att[2], NULL), 0);
    assert_int_equal(netpolicy_detach(np, &fresh, NULL), 0);
    /* Detaching twice is harmless. */
    assert_int_equal(netpolicy_detach(np, &fresh, NULL), 0);
    for (int i = 0; i < 4; i++)
        sandbox_stop(&s[i]);
    assert_int_equal(count_links(NETPOLICY_LINK_PREFIX), 0);
    netpolicy_free(np);
}

static void tenant_remove_waits_for_detach(void **state)
{
    struct netpolicy *np;
    struct netpolicy_attachment att;
    struct test_sandbox s = {0};
    struct werr err = {0};
    char *rules;

    (void)state;
    skip_unless_ready();
    np = context_new();
    reconcile(np, NULL, 0, NULL);
    attach(np, 2, &s, &att);
    assert_int_equal(netpolicy_tenant_remove(np, 2, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "tenant 2"));

    assert_int_equal(netpolicy_detach(np, &att, &err), 0);
    assert_int_equal(netpolicy_tenant_remove(np, 2, &err), 0);
    rules = ruleset();
    assert_null(strstr(rules, "chain t2"));
    assert_null(strstr(rules, "\"wd2s*\""));
    assert_non_null(strstr(rules, "chain t1"));
    free(rules);
    sandbox_stop(&s);
    netpolicy_free(np);
}

static void calls_before_reconcile_rejected(void **state)
{
    struct netpolicy *np;
    struct werr err = {0};

    (void)state;
    skip_unless_ready();
    np = context_new();
    assert_int_equal(netpolicy_tenant_set(np, 1, &allow, 1, &err), -ESTALE);
    assert_non_null(strstr(err.msg, "netpolicy_reconcile"));
    netpolicy_free(np);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_before_reconcile_rejected),
        cmocka_unit_test(churn_leaves_no_links_or_rules),
        cmocka_unit_test(reconcile_adopts_live_removes_stale),
        cmocka_unit_test(tenant_remove_waits_for_detach),
    };

    skip_reason = testns_enter();
    if (skip_reason && geteuid() == 0) {
        fprintf(stderr, "cannot isolate the test: %s\n", skip_reason);
        return 1;
    }
    if (netpolicy_pool_parse("10.201.0.0/16", &pool, NULL) < 0 ||
        netpolicy_parse_endpoint("10.250.0.1", "tcp", "443", &allow, NULL) <
            0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
