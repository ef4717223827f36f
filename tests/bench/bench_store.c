/* Measures what the store costs per operation on each backend: put, get, create and CAS
 * update, sequential from one thread (the latency one connect-me request pays), then 20
 * listings of the whole bucket (2N + 1 keys), keys only (sg_kv_keys) and with values
 * (sg_kv_each): the walk the reaper and the reconciler make. Prints one line per backend and
 * operation (for the listings, ops_per_s is listings per second):
 *   backend op ops_per_s p50_us p99_us
 * Usage: bench_store [N]   (N operations per measurement, default 2000) */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nats_server.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void report(const char *backend, const char *op, long long *lat, int n, long long total)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp_ll);
    printf("%-7s %-7s %10.0f %9.1f %9.1f\n", backend, op, n / (total / 1e9), lat[n / 2] / 1e3,
           lat[(int)(n * 0.99)] / 1e3);
    fflush(stdout);
}

enum op { PUT, GET, CREATE, UPDATE };

static sg_status count_entry(void *arg, const sg_kv_entry *e)
{
    (void)e;
    (*(size_t *)arg)++;
    return SG_OK;
}

static int run(const char *backend, const char *url, int n)
{
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = url;
    o.app = "bench";
    sg_store *s = NULL;
    if (sg_store_open(&o, &s) != SG_OK) {
        fprintf(stderr, "%s: %s\n", backend, sg_last_error());
        return 1;
    }
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    bo.ttl_ms = 600000;
    sg_bucket *b = NULL;
    char name[32];
    snprintf(name, sizeof name, "b%d", (int)getpid());
    if (sg_bucket_open(s, name, &bo, &b) != SG_OK) {
        fprintf(stderr, "%s: %s\n", backend, sg_last_error());
        sg_store_close(s);
        return 1;
    }
    /* A value the size of a session record. */
    char value[600];
    memset(value, 'v', sizeof value);
    long long *lat = malloc(sizeof *lat * (size_t)(n > 20 ? n : 20));
    const char *names[] = {"put", "get", "create", "update"};
    uint64_t rev = 0;
    sg_kv_put(b, "cas", value, sizeof value, &rev);
    for (int op = PUT; op <= UPDATE; op++) {
        long long start = now_ns();
        for (int i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, "%s%d", op == CREATE ? "c" : "k", i);
            long long t0 = now_ns();
            sg_status st = SG_OK;
            sg_kv_entry *e = NULL;
            switch (op) {
            case PUT:
                st = sg_kv_put(b, key, value, sizeof value, NULL);
                break;
            case GET:
                st = sg_kv_get(b, key, &e);
                sg_kv_entry_free(e);
                break;
            case CREATE:
                st = sg_kv_create(b, key, value, sizeof value, NULL);
                break;
            case UPDATE:
                st = sg_kv_update(b, "cas", value, sizeof value, rev, &rev);
                break;
            }
            lat[i] = now_ns() - t0;
            if (st != SG_OK) {
                fprintf(stderr, "%s %s: %s\n", backend, names[op], sg_last_error());
                free(lat);
                sg_bucket_close(b);
                sg_store_close(s);
                return 1;
            }
        }
        report(backend, names[op], lat, n, now_ns() - start);
    }
    /* Listings of the whole bucket (2N + 1 keys by now): keys only, then with values. */
    for (int kind = 0; kind < 2; kind++) {
        enum { LISTINGS = 20 };
        size_t want = 2 * (size_t)n + 1;
        long long start = now_ns();
        for (int i = 0; i < LISTINGS; i++) {
            long long t0 = now_ns();
            char **keys = NULL;
            size_t got = 0;
            sg_status st = kind ? sg_kv_each(b, count_entry, &got) : sg_kv_keys(b, &keys, &got);
            free(keys);
            lat[i] = now_ns() - t0;
            if (st != SG_OK || got != want) {
                fprintf(stderr, "%s %s: %zu of %zu keys: %s\n", backend, kind ? "each" : "keys",
                        got, want, st ? sg_last_error() : "short listing");
                free(lat);
                sg_bucket_close(b);
                sg_store_close(s);
                return 1;
            }
        }
        report(backend, kind ? "each" : "keys", lat, LISTINGS, now_ns() - start);
    }
    free(lat);
    sg_bucket_close(b);
    sg_store_close(s);
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    if (n < 10) n = 10;
    sg_log_set_level(SG_LOG_WARN);
    int rc = 0;
    char dir[256], url[300];
    /* On disk, not tmpfs, when TMPDIR points at a disk (scripts/bench-store sees to it). */
    snprintf(dir, sizeof dir, "%s/sg-bench-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    snprintf(url, sizeof url, "sqlite://%s/bench.db", dir);
    printf("backend op       ops_per_s    p50_us    p99_us\n");
    rc |= run("sqlite", url, n);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);

    sg_test_nats nats = {0};
    if (sg_test_nats_start(&nats) != 0) return 1;
    rc |= run("nats", nats.url, n);
    sg_test_nats_free(&nats);
    sg_store_library_cleanup();
    return rc;
}
