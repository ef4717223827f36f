/* Metrics registry: series identity, label escaping, Prometheus text, concurrent updates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(sg_metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(sg_metrics_render(m, &text, &len), SG_OK);
    assert_int_equal(strlen(text), len);
    return text;
}

static void renders_counters_gauges_and_histograms(void **state)
{
    (void)state;
    sg_metrics *m = NULL;
    assert_int_equal(sg_metrics_new(&m), SG_OK);
    const char *l200[] = {"route", "connect_me", "code", "200", NULL};
    sg_counter *c = sg_metrics_counter(m, "seatgate_http_requests_total", "HTTP requests", l200);
    sg_counter_add(c, 3);
    /* The same name and labels give the same series. */
    assert_ptr_equal(sg_metrics_counter(m, "seatgate_http_requests_total", "x", l200), c);
    sg_gauge *g = sg_metrics_gauge(m, "seatgate_in_flight", "In flight", NULL);
    sg_gauge_add(g, 5);
    sg_gauge_add(g, -2);
    const double b[] = {0.1, 1};
    sg_histogram *h = sg_metrics_histogram(m, "seatgate_latency_seconds", "Latency", b, 2, NULL);
    sg_histogram_observe(h, 0.05);
    sg_histogram_observe(h, 0.5);
    sg_histogram_observe(h, 5);
    char *t = render(m);
    assert_non_null(strstr(t,
                           "# HELP seatgate_http_requests_total HTTP requests\n"
                           "# TYPE seatgate_http_requests_total counter\n"
                           "seatgate_http_requests_total{route=\"connect_me\",code=\"200\"} 3\n"));
    assert_non_null(strstr(t, "# TYPE seatgate_in_flight gauge\nseatgate_in_flight 3\n"));
    assert_non_null(strstr(t, "seatgate_latency_seconds_bucket{le=\"0.1\"} 1\n"
                              "seatgate_latency_seconds_bucket{le=\"1\"} 2\n"
                              "seatgate_latency_seconds_bucket{le=\"+Inf\"} 3\n"
                              "seatgate_latency_seconds_sum 5.55\n"
                              "seatgate_latency_seconds_count 3\n"));
    free(t);
    sg_metrics_free(m);
}

static void escapes_label_values_and_rejects_bad_names(void **state)
{
    (void)state;
    sg_metrics *m = NULL;
    assert_int_equal(sg_metrics_new(&m), SG_OK);
    const char *l[] = {"reason", "a\"b\\c\nd", NULL};
    sg_counter_inc(sg_metrics_counter(m, "x_total", "help with \\ and\nnewline", l));
    char *t = render(m);
    assert_non_null(strstr(t, "x_total{reason=\"a\\\"b\\\\c\\nd\"} 1\n"));
    assert_non_null(strstr(t, "# HELP x_total help with \\\\ and\\nnewline\n"));
    free(t);
    assert_null(sg_metrics_counter(m, "1bad", "", NULL));
    assert_null(sg_metrics_counter(m, "bad-name", "", NULL));
    const char *badl[] = {"le", "1", NULL};
    assert_null(sg_metrics_counter(m, "ok_total", "", badl));
    assert_null(sg_metrics_gauge(m, "x_total", "", l)); /* another type */
    const double nb[] = {1, 0.5};
    assert_null(sg_metrics_histogram(m, "h", "", nb, 2, NULL));
    /* NULL series are ignored by updates. */
    sg_counter_inc(NULL);
    sg_gauge_set(NULL, 1);
    sg_histogram_observe(NULL, 1);
    sg_metrics_free(m);
}

static sg_counter *shared_counter;
static sg_histogram *shared_hist;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        sg_counter_inc(shared_counter);
        sg_histogram_observe(shared_hist, 0.25);
    }
    return NULL;
}

static void concurrent_updates_are_not_lost(void **state)
{
    (void)state;
    sg_metrics *m = NULL;
    assert_int_equal(sg_metrics_new(&m), SG_OK);
    shared_counter = sg_metrics_counter(m, "c_total", "", NULL);
    const double b[] = {1};
    shared_hist = sg_metrics_histogram(m, "h_seconds", "", b, 1, NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(sg_counter_value(shared_counter), 400000);
    assert_int_equal(sg_histogram_count(shared_hist), 400000);
    char *text = render(m);
    assert_non_null(strstr(text, "h_seconds_sum 100000\n"));
    free(text);
    sg_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_counters_gauges_and_histograms),
        cmocka_unit_test(escapes_label_values_and_rejects_bad_names),
        cmocka_unit_test(concurrent_updates_are_not_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
