/* The one retry schedule of failed seat deletes (the janitor's queued jobs and the flow's
 * direct deletes): values written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "seat_delete.h"

static void doubles_from_one_second_to_the_cap(void **state)
{
    (void)state;
    const long long want[] = {1000, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    for (int attempts = 0; attempts < 10; attempts++)
        assert_int_equal(sg_seat_delete_retry_ms(attempts, 60000, NULL), want[attempts]);
    /* the flow's direct deletes stop at 16 s */
    assert_int_equal(sg_seat_delete_retry_ms(6, SG_SEAT_DELETE_DIRECT_MAX_MS, NULL), 16000);
    /* no cap: 64 s at most (the shift stops at 6) */
    assert_int_equal(sg_seat_delete_retry_ms(40, 0, NULL), 64000);
}

static void a_rate_limited_answer_waits_as_asked(void **state)
{
    (void)state;
    sg_orch_result r = {.status = SG_E_RATE_LIMITED, .retry_after_ms = 45000};
    assert_int_equal(sg_seat_delete_retry_ms(1, 60000, &r), 45000);
    r.retry_after_ms = 500; /* asked for less than the schedule: the schedule wins */
    assert_int_equal(sg_seat_delete_retry_ms(3, 60000, &r), 4000);
    r.status = SG_E_UNAVAILABLE; /* only a rate limit's hint counts */
    r.retry_after_ms = 45000;
    assert_int_equal(sg_seat_delete_retry_ms(1, 60000, &r), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_from_one_second_to_the_cap),
        cmocka_unit_test(a_rate_limited_answer_waits_as_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
