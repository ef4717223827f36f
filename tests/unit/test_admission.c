/* Admission control: per-IP (and per-user) token buckets, IPv6 prefix grouping, the global cap, bounded memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "admission.h"

static sg_addr ip(const char *text)
{
    sg_addr a;
    assert_int_equal(sg_addr_parse(text, SG_PORT_FORBIDDEN, &a), SG_OK);
    return a;
}

static sg_admission *make(double per_s, double burst, size_t tracked, long long in_flight)
{
    sg_admission_options o = {.rate = per_s,
                              .burst = burst,
                              .max_tracked = tracked,
                              .ipv6_prefix = 64,
                              .max_in_flight = in_flight,
                              .overload_retry_ms = 2000};
    sg_admission *a = NULL;
    assert_int_equal(sg_admission_new(&o, &a), SG_OK);
    return a;
}

static void burst_then_rate_limited_with_retry_after(void **state)
{
    (void)state;
    sg_admission *a = make(1.0, 3, 100, 0);
    sg_addr p = ip("203.0.113.7");
    long long retry = -1;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sg_admission_enter(a, &p, 1000, &retry), SG_ADMIT_OK);
        sg_admission_leave(a);
    }
    assert_int_equal(sg_admission_enter(a, &p, 1000, &retry), SG_ADMIT_RATE_LIMITED);
    assert_int_equal(retry, 1000); /* one token per second */
    /* Half a second later, half a token: still limited, 500 ms to go. */
    assert_int_equal(sg_admission_enter(a, &p, 1500, &retry), SG_ADMIT_RATE_LIMITED);
    assert_int_equal(retry, 500);
    assert_int_equal(sg_admission_enter(a, &p, 2000, &retry), SG_ADMIT_OK);
    sg_admission_leave(a);
    /* Another address has its own bucket. */
    sg_addr q = ip("198.51.100.1");
    assert_int_equal(sg_admission_enter(a, &q, 2000, NULL), SG_ADMIT_OK);
    sg_admission_leave(a);
    sg_admission_free(a);
}

static void ipv6_addresses_share_a_bucket_per_prefix(void **state)
{
    (void)state;
    sg_admission *a = make(1.0, 1, 100, 0);
    sg_addr x = ip("2001:db8:1:2::1"), y = ip("2001:db8:1:2:ffff::9"), z = ip("2001:db8:1:3::1");
    assert_int_equal(sg_admission_enter(a, &x, 0, NULL), SG_ADMIT_OK);
    assert_int_equal(sg_admission_enter(a, &y, 0, NULL), SG_ADMIT_RATE_LIMITED);
    assert_int_equal(sg_admission_enter(a, &z, 0, NULL), SG_ADMIT_OK);
    /* IPv4-mapped IPv6 is the IPv4 address. */
    sg_addr v4 = ip("192.0.2.1"), mapped = ip("::ffff:192.0.2.1");
    assert_int_equal(sg_admission_enter(a, &v4, 0, NULL), SG_ADMIT_OK);
    assert_int_equal(sg_admission_enter(a, &mapped, 0, NULL), SG_ADMIT_RATE_LIMITED);
    sg_admission_free(a);
}

static void global_cap_refuses_as_overloaded_until_a_request_leaves(void **state)
{
    (void)state;
    sg_admission *a = make(0, 0, 0, 2); /* no per-IP limit */
    sg_addr p = ip("203.0.113.7");
    long long retry = 0;
    assert_int_equal(sg_admission_enter(a, &p, 0, &retry), SG_ADMIT_OK);
    assert_int_equal(sg_admission_enter(a, &p, 0, &retry), SG_ADMIT_OK);
    assert_int_equal(sg_admission_in_flight(a), 2);
    assert_int_equal(sg_admission_enter(a, &p, 0, &retry), SG_ADMIT_OVERLOADED);
    assert_int_equal(retry, 2000);
    sg_admission_leave(a);
    assert_int_equal(sg_admission_enter(a, &p, 0, &retry), SG_ADMIT_OK);
    assert_int_equal(sg_admission_in_flight(a), 2);
    sg_admission_free(a);
}

static void overload_does_not_spend_tokens(void **state)
{
    (void)state;
    sg_admission *a = make(1.0, 1, 10, 1);
    sg_addr p = ip("203.0.113.7"), q = ip("203.0.113.8");
    assert_int_equal(sg_admission_enter(a, &p, 0, NULL), SG_ADMIT_OK);
    assert_int_equal(sg_admission_enter(a, &q, 0, NULL), SG_ADMIT_OVERLOADED);
    sg_admission_leave(a);
    assert_int_equal(sg_admission_enter(a, &q, 0, NULL), SG_ADMIT_OK);
    sg_admission_free(a);
}

static void memory_is_bounded_and_idle_entries_forgotten(void **state)
{
    (void)state;
    sg_admission *a = make(1.0, 1, 4, 0);
    char text[32];
    for (int i = 0; i < 50; i++) {
        snprintf(text, sizeof text, "10.0.0.%d", i);
        sg_addr p = ip(text);
        assert_int_equal(sg_admission_enter(a, &p, 0, NULL), SG_ADMIT_OK);
        sg_admission_leave(a);
        assert_true(sg_admission_tracked(a) <= 4);
    }
    assert_int_equal(sg_admission_tracked(a), 4);
    /* The most recent IP is still remembered (and limited)... */
    sg_addr last = ip("10.0.0.49");
    assert_int_equal(sg_admission_enter(a, &last, 0, NULL), SG_ADMIT_RATE_LIMITED);
    /* ...and once every bucket has refilled, entries are forgotten. */
    sg_addr other = ip("10.0.1.1");
    assert_int_equal(sg_admission_enter(a, &other, 5000, NULL), SG_ADMIT_OK);
    assert_int_equal(sg_admission_tracked(a), 1);
    sg_admission_free(a);
}

/* A signed-in player's bucket is their own: not their address's, not another player's. */
static void a_user_has_a_bucket_of_their_own(void **state)
{
    (void)state;
    sg_admission *a = make(1.0, 2, 100, 0);
    sg_addr p = ip("203.0.113.7");
    long long retry = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sg_admission_enter_user(a, "user-1", 1000, &retry), SG_ADMIT_OK);
        sg_admission_leave(a);
    }
    assert_int_equal(sg_admission_enter_user(a, "user-1", 1000, &retry), SG_ADMIT_RATE_LIMITED);
    assert_int_equal(retry, 1000);
    assert_int_equal(sg_admission_enter_user(a, "user-2", 1000, &retry), SG_ADMIT_OK);
    sg_admission_leave(a);
    assert_int_equal(sg_admission_enter(a, &p, 1000, &retry), SG_ADMIT_OK); /* the address's */
    sg_admission_leave(a);
    assert_int_equal(sg_admission_enter_user(a, "user-1", 2000, &retry), SG_ADMIT_OK);
    sg_admission_leave(a);
    sg_admission_free(a);
}

static void rejects_bad_options(void **state)
{
    (void)state;
    sg_admission *a = NULL;
    sg_admission_options o = {.rate = 1, .burst = 0, .max_tracked = 10, .ipv6_prefix = 64};
    assert_int_equal(sg_admission_new(&o, &a), SG_E_INVALID);
    o.burst = 1;
    o.ipv6_prefix = 0;
    assert_int_equal(sg_admission_new(&o, &a), SG_E_INVALID);
    o.ipv6_prefix = 64;
    o.rate = -1;
    assert_int_equal(sg_admission_new(&o, &a), SG_E_INVALID);
    assert_null(a);
    assert_string_equal(sg_admit_name(SG_ADMIT_OVERLOADED), "overloaded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_rate_limited_with_retry_after),
        cmocka_unit_test(ipv6_addresses_share_a_bucket_per_prefix),
        cmocka_unit_test(global_cap_refuses_as_overloaded_until_a_request_leaves),
        cmocka_unit_test(overload_does_not_spend_tokens),
        cmocka_unit_test(memory_is_bounded_and_idle_entries_forgotten),
        cmocka_unit_test(a_user_has_a_bucket_of_their_own),
        cmocka_unit_test(rejects_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
