/* The one clock, backoff and timer heap (seatgate/clock.h). The heap is checked against
 * qsort over the same random values, and against removals from anywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "seatgate/clock.h"

static void backoff_doubles_up_to_the_cap(void **state)
{
    (void)state;
    const long long want[] = {200, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (int a = 0; a < 8; a++) assert_int_equal(sg_backoff_ms(200, 5000, a), want[a]);
    assert_int_equal(sg_backoff_ms(1000, 0, 3), 4000);          /* no cap */
    assert_int_equal(sg_backoff_ms(1, 0, 1000), 1LL << 20);     /* the doubling stops */
    assert_int_equal(sg_backoff_ms(0, 5000, 9), 0);
}

static void clocks_move_forward(void **state)
{
    (void)state;
    long long m0 = sg_clock_mono_ms(), u0 = sg_clock_mono_us(), w0 = sg_clock_wall_ms();
    sg_sleep_ms(20);
    long long m1 = sg_clock_mono_ms(), u1 = sg_clock_mono_us();
    assert_true(m1 - m0 >= 20);
    assert_true(u1 - u0 >= 20000);
    assert_true(w0 > 1700000000000LL); /* unix ms, after 2023 */
    sg_sleep_ms(0);                    /* returns at once */
    sg_sleep_ms(-5);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

#define N 500

static void heap_pops_in_order(void **state)
{
    (void)state;
    static sg_heap_node nodes[N];
    long long ref[N];
    sg_heap h = {0};
    srand(7);
    for (int i = 0; i < N; i++) {
        nodes[i].due = rand() % 1000; /* duplicates on purpose */
        nodes[i].index = 0;
        ref[i] = nodes[i].due;
        assert_int_equal(sg_heap_push(&h, &nodes[i]), SG_OK);
        assert_int_not_equal(nodes[i].index, 0);
    }
    qsort(ref, N, sizeof ref[0], cmp_ll);
    for (int i = 0; i < N; i++) {
        sg_heap_node *n = sg_heap_pop(&h);
        assert_non_null(n);
        assert_int_equal(n->due, ref[i]);
        assert_int_equal(n->index, 0);
    }
    assert_null(sg_heap_pop(&h));
    assert_null(sg_heap_top(&h));
    sg_heap_free(&h);
}

static void heap_removes_from_anywhere(void **state)
{
    (void)state;
    static sg_heap_node nodes[N];
    sg_heap h = {0};
    srand(11);
    for (int i = 0; i < N; i++) {
        nodes[i].due = rand() % 10000;
        nodes[i].index = 0;
        sg_heap_push(&h, &nodes[i]);
    }
    /* remove every third one, and one twice (the second is a no-op) */
    long long ref[N];
    int left = 0;
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            sg_heap_remove(&h, &nodes[i]);
        else
            ref[left++] = nodes[i].due;
    }
    sg_heap_remove(&h, &nodes[0]);
    assert_int_equal(h.n, (size_t)left);
    qsort(ref, (size_t)left, sizeof ref[0], cmp_ll);
    for (int i = 0; i < left; i++) assert_int_equal(sg_heap_pop(&h)->due, ref[i]);
    assert_int_equal(h.n, 0);
    sg_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_up_to_the_cap),
        cmocka_unit_test(clocks_move_forward),
        cmocka_unit_test(heap_pops_in_order),
        cmocka_unit_test(heap_removes_from_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
