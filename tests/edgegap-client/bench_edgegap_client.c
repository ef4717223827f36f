/* Figures for the Edgegap client against the local simulator (not a test: prints numbers).
 * Usage: bench_edgegap_client SIMULATOR CONFIG [N]
 * Measures N non-blocking session gets in flight at once, then N/10 blocking gets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/edgegap.h"
#include "seatgate/log.h"
#include "sim_harness.h"

#define API_KEY "bench-key-0123456789"

static long long *lat;
static int done_n, ok_n;

static void on_done(sg_edgegap_result *res, void *user)
{
    (void)user;
    lat[done_n++] = res->latency_us;
    if (res->status == SG_OK) ok_n++;
}

static int cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, int n, long long took_us)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    printf("%-34s n=%d ok=%d %.0f req/s p50=%.2fms p99=%.2fms max=%.2fms\n", what, n, ok_n,
           n / (took_us / 1e6), lat[n / 2] / 1e3, lat[(n * 99) / 100] / 1e3, lat[n - 1] / 1e3);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SIMULATOR CONFIG [N]\n", argv[0]);
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 5000;
    if (n < 10) n = 10;
    sg_log_set_level(SG_LOG_WARN);
    sim_proc sim;
    if (!sim_start(&sim, argv[1], argv[2], API_KEY)) {
        fprintf(stderr, "cannot start the simulator\n");
        return 1;
    }
    lat = calloc((size_t)n, sizeof *lat);
    sg_edgegap_options o;
    sg_edgegap_options_default(&o);
    o.base_url = sim.url;
    o.api_key = API_KEY;
    o.rate = 0;
    sg_edgegap_client *c = NULL;
    if (!lat || sg_edgegap_client_new(&o, &c) != SG_OK) return 1;

    const char *ips[] = {"203.0.113.7"};
    sg_edgegap_create_params p = {
        .app_name = "demo", .version_name = "v1", .ip_list = ips, .ip_count = 1};
    sg_edgegap_request *r = NULL;
    sg_edgegap_result res;
    sg_edgegap_request_create_session(&p, &r);
    if (sg_edgegap_perform(c, r, &res) != SG_OK) return 1;
    char id[64];
    snprintf(id, sizeof id, "%s", res.created->session_id);
    sg_edgegap_result_clear(&res);
    sg_edgegap_request_free(r);

    long long t0 = sg_edgegap_clock_us();
    for (int i = 0; i < n; i++) {
        sg_edgegap_request_get_session(id, &r);
        sg_edgegap_submit(c, r, on_done, NULL);
    }
    while (done_n < n)
        sg_edgegap_run(c, 100, NULL, 0, NULL);
    report("non-blocking get_session (all at once)", n, sg_edgegap_clock_us() - t0);

    int m = n / 10;
    done_n = ok_n = 0;
    sg_edgegap_request_get_session(id, &r);
    t0 = sg_edgegap_clock_us();
    for (int i = 0; i < m; i++) {
        sg_edgegap_perform(c, r, &res);
        lat[done_n++] = res.latency_us;
        if (res.status == SG_OK) ok_n++;
        sg_edgegap_result_clear(&res);
    }
    report("blocking get_session (sequential)", m, sg_edgegap_clock_us() - t0);
    sg_edgegap_request_free(r);
    sg_edgegap_client_free(c);
    sim_stop(&sim);
    free(lat);
    return 0;
}
