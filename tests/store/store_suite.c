/* One behaviour suite for the state store, run against each backend:
 *
 *   store_suite sqlite   (a temporary SQLite file)
 *   store_suite nats     (a real nats-server -js on a free loopback port, started here)
 *
 * Every test uses buckets of its own, so tests do not see each other's keys. Waits for
 * time-based behaviour (TTL, leases) poll with a bound and never assert durations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include <ftw.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nats_server.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"

extern char **environ;

static char g_backend[16];
static char g_url[512];
static char g_dir[256];
static sg_test_nats g_nats;
static int g_seq;

static bool is_nats(void)
{
    return strcmp(g_backend, "nats") == 0;
}

static sg_store *open_store_app(const char *app)
{
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = g_url;
    o.app = app;
    o.timeout_ms = 2000;
    o.reconnect_wait_ms = 100;
    sg_store *s = NULL;
    sg_status st = sg_store_open(&o, &s);
    if (st) fprintf(stderr, "open %s: %s\n", g_url, sg_last_error());
    assert_int_equal(st, SG_OK);
    return s;
}

static sg_store *open_store(void)
{
    return open_store_app("t");
}

/* A bucket no other test uses, keeping `history` values per key on NATS (0 = 1). */
static sg_bucket *new_bucket_history(sg_store *s, long long ttl_ms, int history, char *name_out)
{
    char name[64];
    snprintf(name, sizeof name, "b%d_%d", (int)getpid(), ++g_seq);
    if (name_out) strcpy(name_out, name);
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    bo.ttl_ms = ttl_ms;
    bo.max_value_size = 1024;
    bo.history = history;
    sg_bucket *b = NULL;
    sg_status st = sg_bucket_open(s, name, &bo, &b);
    if (st) fprintf(stderr, "bucket %s: %s\n", name, sg_last_error());
    assert_int_equal(st, SG_OK);
    return b;
}

static sg_bucket *new_bucket(sg_store *s, long long ttl_ms, char *name_out)
{
    return new_bucket_history(s, ttl_ms, 0, name_out);
}

static void expect_kv(sg_bucket *b, const char *key, const char *value, uint64_t rev)
{
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(b, key, &e);
    if (st) fprintf(stderr, "get %s: %s\n", key, sg_last_error());
    assert_int_equal(st, SG_OK);
    assert_string_equal(e->key, key);
    assert_int_equal(e->len, strlen(value));
    assert_memory_equal(e->value, value, e->len);
    if (rev) assert_int_equal(e->revision, rev);
    assert_int_equal(e->op, SG_KV_PUT);
    sg_kv_entry_free(e);
}

static void expect_absent(sg_bucket *b, const char *key)
{
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_kv_get(b, key, &e), SG_E_NOT_FOUND);
    assert_null(e);
}

/* ---- key/value -------------------------------------------------------------------------- */

static void put_then_get_returns_value_and_revision(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    uint64_t r1 = 0, r2 = 0, r3 = 0;
    assert_int_equal(sg_kv_put(b, "alpha", "one", 3, &r1), SG_OK);
    assert_true(r1 > 0);
    expect_kv(b, "alpha", "one", r1);
    assert_int_equal(sg_kv_put(b, "alpha", "two", 3, &r2), SG_OK);
    assert_true(r2 > r1);
    expect_kv(b, "alpha", "two", r2);
    assert_int_equal(sg_kv_put(b, "beta.x/y=z_-", "", 0, &r3), SG_OK);
    assert_true(r3 > r2);
    expect_kv(b, "beta.x/y=z_-", "", r3);
    expect_absent(b, "gamma");
    sg_bucket_close(b);
    sg_store_close(s);
}

static void create_only_when_absent(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    uint64_t r = 0;
    assert_int_equal(sg_kv_create(b, "k", "v1", 2, &r), SG_OK);
    assert_true(r > 0);
    assert_int_equal(sg_kv_create(b, "k", "v2", 2, &r), SG_E_EXISTS);
    assert_int_equal(r, 0);
    expect_kv(b, "k", "v1", 0);
    /* A deleted key (a delete marker on NATS) can be created again. */
    assert_int_equal(sg_kv_delete(b, "k"), SG_OK);
    expect_absent(b, "k");
    assert_int_equal(sg_kv_create(b, "k", "v3", 2, &r), SG_OK);
    expect_kv(b, "k", "v3", r);
    sg_bucket_close(b);
    sg_store_close(s);
}

static void update_is_compare_and_set(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    uint64_t r1 = 0, r2 = 0, r3 = 0;
    assert_int_equal(sg_kv_put(b, "k", "a", 1, &r1), SG_OK);
    assert_int_equal(sg_kv_update(b, "k", "b", 1, r1, &r2), SG_OK);
    assert_true(r2 > r1);
    /* The old revision lost. */
    assert_int_equal(sg_kv_update(b, "k", "c", 1, r1, &r3), SG_E_CONFLICT);
    assert_true(strlen(sg_last_error()) > 0);
    expect_kv(b, "k", "b", r2);
    /* Updating a key that does not exist, or was deleted, conflicts too. */
    assert_int_equal(sg_kv_update(b, "nope", "x", 1, r2, NULL), SG_E_CONFLICT);
    assert_int_equal(sg_kv_delete(b, "k"), SG_OK);
    assert_int_equal(sg_kv_update(b, "k", "d", 1, r2, NULL), SG_E_CONFLICT);
    /* Revision 0 is not a revision. */
    assert_int_equal(sg_kv_update(b, "k", "d", 1, 0, NULL), SG_E_INVALID);
    sg_bucket_close(b);
    sg_store_close(s);
}

static void write_many_applies_puts_and_deletes_in_order(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *a = new_bucket(s, 0, NULL), *b = new_bucket(s, 0, NULL);
    assert_int_equal(sg_kv_put(a, "gone", "x", 1, NULL), SG_OK);
#define W(bk, k, v) {.bucket = (bk), .key = (k), .value = (v), .len = sizeof(v) - 1}
    sg_kv_write w[] = {
        W(a, "k1", "one"), W(b, "k2", "two"), {.bucket = a, .key = "gone"}, W(a, "k1", "uno")};
    assert_int_equal(sg_kv_write_many(w, 4), SG_OK);
    expect_kv(a, "k1", "uno", 0);
    expect_kv(b, "k2", "two", 0);
    expect_absent(a, "gone");
    /* Bad input anywhere: nothing is written. */
    sg_kv_write bad[] = {W(a, "k3", "three"), W(b, "..bad", "v")};
    assert_int_equal(sg_kv_write_many(bad, 2), SG_E_INVALID);
    expect_absent(a, "k3");
    sg_store *other = open_store_app("t2");
    sg_bucket *c = new_bucket(other, 0, NULL);
    sg_kv_write mixed[] = {W(a, "k4", "four"), W(c, "k4", "four")};
    assert_int_equal(sg_kv_write_many(mixed, 2), SG_E_INVALID);
    expect_absent(a, "k4");
    assert_int_equal(sg_kv_write_many(NULL, 0), SG_OK);
    /* A create or update without a value, an update without a revision, an unknown mode. */
    sg_kv_write cnull[] = {W(a, "k5", "five"),
                           {.bucket = a, .key = "k6", .mode = SG_KV_WRITE_CREATE}};
    assert_int_equal(sg_kv_write_many(cnull, 2), SG_E_INVALID);
    sg_kv_write norev[] = {
        {.bucket = a, .key = "k6", .value = "v", .len = 1, .mode = SG_KV_WRITE_UPDATE}};
    assert_int_equal(sg_kv_write_many(norev, 1), SG_E_INVALID);
    sg_kv_write mode[] = {{.bucket = a, .key = "k6", .value = "v", .len = 1, .mode = 7}};
    assert_int_equal(sg_kv_write_many(mode, 1), SG_E_INVALID);
    expect_absent(a, "k5");
    expect_absent(a, "k6");
    sg_bucket_close(c);
    sg_store_close(other);
    sg_bucket_close(b);
    sg_bucket_close(a);
    sg_store_close(s);
}

/* Creates and updates in a batch: each has its own outcome, a refused one writes nothing and
 * the others still apply. */
static void write_many_creates_and_updates_each_on_their_own(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *a = new_bucket(s, 0, NULL);
    uint64_t r_held = 0, r_moved = 0, r_gone = 0;
    assert_int_equal(sg_kv_put(a, "held", "h1", 2, &r_held), SG_OK);
    assert_int_equal(sg_kv_put(a, "moved", "m1", 2, &r_moved), SG_OK);
    assert_int_equal(sg_kv_put(a, "moved", "m2", 2, NULL), SG_OK);
    assert_int_equal(sg_kv_put(a, "deleted", "d1", 2, &r_gone), SG_OK);
    assert_int_equal(sg_kv_delete(a, "deleted"), SG_OK);
    sg_kv_write w[] = {
        {.bucket = a, .key = "new", .value = "n1", .len = 2, .mode = SG_KV_WRITE_CREATE},
        {.bucket = a, .key = "held", .value = "h2", .len = 2, .mode = SG_KV_WRITE_CREATE},
        {.bucket = a,
         .key = "held",
         .value = "h3",
         .len = 2,
         .mode = SG_KV_WRITE_UPDATE,
         .last = r_held},
        {.bucket = a,
         .key = "moved",
         .value = "m3",
         .len = 2,
         .mode = SG_KV_WRITE_UPDATE,
         .last = r_moved},
        {.bucket = a, .key = "deleted", .value = "d2", .len = 2, .mode = SG_KV_WRITE_CREATE},
        W(a, "plain", "p1"),
    };
    /* The first failure is the batch's answer, with its own message. */
    assert_int_equal(sg_kv_write_many(w, 6), SG_E_EXISTS);
    assert_non_null(strstr(sg_last_error(), "held"));
    assert_int_equal(w[0].result, SG_OK);
    assert_int_equal(w[1].result, SG_E_EXISTS);
    assert_int_equal(w[2].result, SG_OK);
    assert_int_equal(w[3].result, SG_E_CONFLICT);
    assert_int_equal(w[4].result, SG_OK); /* a deleted key can be created again */
    assert_int_equal(w[5].result, SG_OK);
    /* Each write that went in says the revision it wrote, as a read of the key shows it; a
     * refused one says none. */
    const int wrote[] = {0, 2, 4, 5};
    for (size_t i = 0; i < sizeof wrote / sizeof wrote[0]; i++) {
        sg_kv_entry *e = NULL;
        assert_int_equal(sg_kv_get(a, w[wrote[i]].key, &e), SG_OK);
        assert_true(w[wrote[i]].rev > 0);
        assert_int_equal(w[wrote[i]].rev, e->revision);
        sg_kv_entry_free(e);
    }
    assert_int_equal(w[1].rev, 0);
    assert_int_equal(w[3].rev, 0);
    expect_kv(a, "new", "n1", 0);
    expect_kv(a, "held", "h3", 0);
    expect_kv(a, "moved", "m2", 0);
    expect_kv(a, "deleted", "d2", 0);
    expect_kv(a, "plain", "p1", 0);
    /* All accepted: SG_OK, every result SG_OK. */
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_kv_get(a, "held", &e), SG_OK);
    sg_kv_write ok[] = {
        {.bucket = a,
         .key = "held",
         .value = "h4",
         .len = 2,
         .mode = SG_KV_WRITE_UPDATE,
         .last = e->revision},
        {.bucket = a, .key = "fresh", .value = "f1", .len = 2, .mode = SG_KV_WRITE_CREATE}};
    sg_kv_entry_free(e);
    assert_int_equal(sg_kv_write_many(ok, 2), SG_OK);
    assert_int_equal(ok[0].result, SG_OK);
    assert_int_equal(ok[1].result, SG_OK);
    expect_kv(a, "held", "h4", 0);
    expect_kv(a, "fresh", "f1", 0);
#undef W
    sg_bucket_close(a);
    sg_store_close(s);
}

static void delete_is_idempotent(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    assert_int_equal(sg_kv_delete(b, "never-there"), SG_OK);
    assert_int_equal(sg_kv_put(b, "k", "v", 1, NULL), SG_OK);
    assert_int_equal(sg_kv_delete(b, "k"), SG_OK);
    assert_int_equal(sg_kv_delete(b, "k"), SG_OK);
    expect_absent(b, "k");
    sg_bucket_close(b);
    sg_store_close(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void keys_lists_live_keys(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    char **keys = NULL;
    size_t n = 99;
    assert_int_equal(sg_kv_keys(b, &keys, &n), SG_OK);
    assert_int_equal(n, 0);
    assert_null(keys);
    assert_int_equal(sg_kv_put(b, "c", "1", 1, NULL), SG_OK);
    assert_int_equal(sg_kv_put(b, "a", "1", 1, NULL), SG_OK);
    assert_int_equal(sg_kv_put(b, "b", "1", 1, NULL), SG_OK);
    assert_int_equal(sg_kv_put(b, "a", "2", 1, NULL), SG_OK);
    assert_int_equal(sg_kv_delete(b, "b"), SG_OK);
    assert_int_equal(sg_kv_keys(b, &keys, &n), SG_OK);
    assert_int_equal(n, 2);
    qsort(keys, n, sizeof *keys, cmp_str);
    assert_string_equal(keys[0], "a");
    assert_string_equal(keys[1], "c");
    free(keys);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* The n of a key "k<n>" the test wrote, checked to be below `below`. */
static int key_number(const sg_kv_entry *e, int below)
{
    int i = -1;
    assert_int_equal(sscanf(e->key, "k%d", &i), 1);
    assert_true(i >= 0 && i < below);
    return i;
}

/* What sg_kv_each saw, checked against what the test wrote. */
typedef struct each_seen {
    sg_bucket *b;
    int count, seen[700];
    uint64_t rev[700];
    int stop_after; /* 0: never */
} each_seen;

static sg_status each_note(void *arg, const sg_kv_entry *e)
{
    each_seen *x = arg;
    int i = key_number(e, 700);
    char want[32];
    snprintf(want, sizeof want, "%s-%d", i % 3 == 0 ? "second" : "first", i);
    assert_int_equal(e->len, strlen(want));
    assert_memory_equal(e->value, want, e->len);
    x->seen[i]++;
    x->rev[i] = e->revision;
    /* The store can be used while the scan runs (nothing is locked around fn). */
    assert_int_equal(sg_kv_put(x->b, "during", "x", 1, NULL), SG_OK);
    if (x->stop_after && ++x->count == x->stop_after) return sg_fail(SG_E_CONFLICT, "enough");
    return SG_OK;
}

/* sg_kv_revisions: the key and revision, never the value. */
static sg_status revision_note(void *arg, const sg_kv_entry *e)
{
    each_seen *x = arg;
    int i = key_number(e, 700);
    assert_int_equal(e->len, 0);
    assert_string_equal(e->value, "");
    x->seen[i]++;
    x->rev[i] = e->revision;
    return SG_OK;
}

/* More keys than one page: every live key once, with its latest value and revision; deleted
 * keys never; fn's failure stops the scan and is its answer. The same keys and revisions
 * without the values from sg_kv_revisions. */
static void each_visits_every_live_key_once(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL), *other = new_bucket(s, 0, NULL);
    uint64_t latest[700] = {0};
    for (int i = 0; i < 700; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "first-%d", i);
        assert_int_equal(sg_kv_put(b, k, v, strlen(v), &latest[i]), SG_OK);
        if (i % 3 == 0) {
            snprintf(v, sizeof v, "second-%d", i);
            assert_int_equal(sg_kv_put(b, k, v, strlen(v), &latest[i]), SG_OK);
        }
        if (i % 7 == 0) assert_int_equal(sg_kv_delete(b, k), SG_OK);
    }
    assert_int_equal(sg_kv_put(other, "k1", "not this bucket", 15, NULL), SG_OK);
    each_seen x = {.b = other};
    assert_int_equal(sg_kv_each(b, each_note, &x), SG_OK);
    for (int i = 0; i < 700; i++) {
        assert_int_equal(x.seen[i], i % 7 == 0 ? 0 : 1);
        if (i % 7) assert_int_equal(x.rev[i], latest[i]);
    }
    each_seen y = {.b = other, .stop_after = 300};
    assert_int_equal(sg_kv_each(b, each_note, &y), SG_E_CONFLICT);
    assert_string_equal(sg_last_error(), "enough");
    assert_int_equal(y.count, 300);
    assert_int_equal(sg_kv_each(b, NULL, NULL), SG_E_INVALID);
    each_seen z = {.b = other};
    assert_int_equal(sg_kv_revisions(b, revision_note, &z), SG_OK);
    for (int i = 0; i < 700; i++) {
        assert_int_equal(z.seen[i], i % 7 == 0 ? 0 : 1);
        if (i % 7) assert_int_equal(z.rev[i], latest[i]);
    }
    assert_int_equal(sg_kv_revisions(b, NULL, NULL), SG_E_INVALID);
    sg_bucket_close(other);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* What sg_kv_each_since saw. */
typedef struct since_seen {
    int count, seen[900], stop_after;
    uint64_t rev[900], last_rev;
    bool in_order;
} since_seen;

static sg_status since_note(void *arg, const sg_kv_entry *e)
{
    since_seen *x = arg;
    int i = key_number(e, 900);
    char want[32];
    snprintf(want, sizeof want, "new-%d", i);
    assert_int_equal(e->len, strlen(want));
    assert_memory_equal(e->value, want, e->len);
    x->seen[i]++;
    x->rev[i] = e->revision;
    if (e->revision <= x->last_rev) x->in_order = false;
    x->last_rev = e->revision;
    if (x->stop_after && ++x->count == x->stop_after) return sg_fail(SG_E_CONFLICT, "enough");
    return SG_OK;
}

/* More keys than one page: every live key whose newest value was written after the mark,
 * once, with that value and revision; keys written only before it, and keys deleted after
 * it, never. On SQLite only those are read, in revision order. fn's failure stops the scan. */
static void each_since_visits_the_keys_written_after_a_revision(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL), *other = new_bucket(s, 0, NULL);
    uint64_t mark = 0, latest[900] = {0};
    char k[16], v[32];
    for (int i = 0; i < 600; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "old-%d", i);
        assert_int_equal(sg_kv_put(b, k, v, strlen(v), &mark), SG_OK);
    }
    assert_int_equal(sg_kv_put(other, "k1", "new-1 elsewhere", 15, NULL), SG_OK);
    for (int i = 0; i < 900; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "new-%d", i);
        if (i >= 600 || i % 3 == 0)
            assert_int_equal(sg_kv_put(b, k, v, strlen(v), &latest[i]), SG_OK);
        if (i < 600 && i % 5 == 0) assert_int_equal(sg_kv_delete(b, k), SG_OK);
    }
    since_seen x = {.in_order = true};
    assert_int_equal(sg_kv_each_since(b, mark, since_note, &x), SG_OK);
    int seen = 0;
    for (int i = 0; i < 900; i++) {
        bool want = i >= 600 || (i % 3 == 0 && i % 5 != 0);
        assert_int_equal(x.seen[i], want ? 1 : 0);
        if (want) assert_int_equal(x.rev[i], latest[i]);
        seen += x.seen[i];
    }
    assert_int_equal(seen, 460);
    assert_int_equal(sg_store_reads_changes(s), !is_nats());
    if (sg_store_reads_changes(s)) assert_true(x.in_order);
    since_seen none = {.in_order = true};
    assert_int_equal(sg_kv_each_since(b, latest[899], since_note, &none), SG_OK);
    for (int i = 0; i < 900; i++)
        assert_int_equal(none.seen[i], 0);
    since_seen y = {.in_order = true, .stop_after = 300};
    assert_int_equal(sg_kv_each_since(b, mark, since_note, &y), SG_E_CONFLICT);
    assert_string_equal(sg_last_error(), "enough");
    assert_int_equal(y.count, 300);
    assert_int_equal(sg_kv_each_since(b, mark, NULL, NULL), SG_E_INVALID);
    sg_bucket_close(other);
    sg_bucket_close(b);
    sg_store_close(s);
}

static void ttl_expired_keys_read_as_absent(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 1000, NULL);
    sg_bucket_options cfg;
    sg_bucket_config(b, &cfg);
    assert_int_equal(cfg.ttl_ms, 1000);
    uint64_t r = 0;
    assert_int_equal(sg_kv_create(b, "tok", "sess", 4, &r), SG_OK);
    expect_kv(b, "tok", "sess", r);
    long long deadline = sg_test_now_ms() + 10000;
    sg_kv_entry *e = NULL;
    sg_status st;
    while ((st = sg_kv_get(b, "tok", &e)) == SG_OK && sg_test_now_ms() < deadline) {
        sg_kv_entry_free(e);
        e = NULL;
        sg_test_sleep_ms(50);
    }
    assert_int_equal(st, SG_E_NOT_FOUND);
    char **keys = NULL;
    size_t n = 0;
    assert_int_equal(sg_kv_keys(b, &keys, &n), SG_OK);
    assert_int_equal(n, 0);
    /* An expired key can be created again, and CAS on its old revision fails. */
    assert_int_equal(sg_kv_update(b, "tok", "x", 1, r, NULL), SG_E_CONFLICT);
    assert_int_equal(sg_kv_create(b, "tok", "again", 5, NULL), SG_OK);
    expect_kv(b, "tok", "again", 0);
    assert_int_equal(sg_store_sweep(s), SG_OK);
    expect_kv(b, "tok", "again", 0);
    sg_bucket_close(b);
    sg_store_close(s);
}

static sg_kv_entry *next_change(sg_watch *w)
{
    sg_kv_entry *e = NULL;
    sg_status st = sg_watch_next(w, 5000, &e);
    if (st) fprintf(stderr, "watch: %s\n", sg_last_error());
    assert_int_equal(st, SG_OK);
    assert_non_null(e);
    return e;
}

/* Every change is delivered while the bucket still holds it: on NATS the bucket keeps
 * `history` values per key, so this bucket keeps enough for the four changes below (a value
 * replaced before the watcher received it is covered by the test after this one). */
static void watch_delivers_current_values_then_changes_in_order(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket_history(s, 0, 8, NULL);
    uint64_t ra = 0, rgone = 0;
    assert_int_equal(sg_kv_put(b, "a", "a1", 2, &ra), SG_OK);
    assert_int_equal(sg_kv_put(b, "gone", "x", 1, &rgone), SG_OK);
    assert_int_equal(sg_kv_delete(b, "gone"), SG_OK);

    sg_watch *w = NULL, *wk = NULL;
    assert_int_equal(sg_kv_watch(b, NULL, &w), SG_OK);
    assert_int_equal(sg_kv_watch(b, "b", &wk), SG_OK);

    sg_kv_entry *e = next_change(w);
    assert_string_equal(e->key, "a");
    assert_string_equal(e->value, "a1");
    assert_int_equal(e->revision, ra);
    sg_kv_entry_free(e);
    e = NULL;
    assert_int_equal(sg_watch_next(w, 5000, &e), SG_OK); /* caught up */
    assert_null(e);
    assert_int_equal(sg_watch_next(wk, 5000, &e), SG_OK); /* nothing current for "b" */
    assert_null(e);
    assert_int_equal(sg_watch_next(w, 50, &e), SG_E_TIMEOUT);

    uint64_t r[4];
    assert_int_equal(sg_kv_put(b, "b", "b1", 2, &r[0]), SG_OK);
    assert_int_equal(sg_kv_put(b, "a", "a2", 2, &r[1]), SG_OK);
    assert_int_equal(sg_kv_delete(b, "b"), SG_OK);
    assert_int_equal(sg_kv_put(b, "b", "b2", 2, &r[3]), SG_OK);

    const char *keys[] = {"b", "a", "b", "b"};
    const char *vals[] = {"b1", "a2", "", "b2"};
    sg_kv_op ops[] = {SG_KV_PUT, SG_KV_PUT, SG_KV_DELETE, SG_KV_PUT};
    uint64_t last = ra;
    for (int i = 0; i < 4; i++) {
        e = next_change(w);
        assert_string_equal(e->key, keys[i]);
        assert_int_equal(e->op, ops[i]);
        if (ops[i] == SG_KV_PUT) assert_string_equal(e->value, vals[i]);
        assert_true(e->revision > last);
        if (i != 2) assert_int_equal(e->revision, r[i]);
        last = e->revision;
        sg_kv_entry_free(e);
    }
    /* The single-key watcher saw only "b". */
    for (int i = 0; i < 3; i++) {
        e = next_change(wk);
        assert_string_equal(e->key, "b");
        assert_int_equal(e->op, i == 1 ? SG_KV_DELETE : SG_KV_PUT);
        sg_kv_entry_free(e);
    }
    e = NULL;
    assert_int_equal(sg_watch_next(wk, 50, &e), SG_E_TIMEOUT);
    sg_watch_free(wk);
    sg_watch_free(w);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* A bucket keeping one value per key may replace a value before a watcher received it; the
 * watcher then skips it but still delivers changes in revision order, each once, with the
 * value written at that revision, and ends with the newest change of every key. */
static void watch_converges_to_the_latest_change_of_every_key(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket_history(s, 0, 1, NULL);
    sg_watch *w = NULL;
    assert_int_equal(sg_kv_watch(b, NULL, &w), SG_OK);
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_watch_next(w, 5000, &e), SG_OK); /* empty bucket: caught up */
    assert_null(e);

    enum { N = 40 };
    uint64_t rev[N];
    char val[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(val[i], sizeof val[i], "v%d", i);
        assert_int_equal(sg_kv_put(b, i % 2 ? "y" : "x", val[i], strlen(val[i]), &rev[i]), SG_OK);
    }
    assert_int_equal(sg_kv_delete(b, "y"), SG_OK);

    uint64_t last = 0;
    bool x_done = false, y_done = false;
    while (!(x_done && y_done)) {
        e = next_change(w);
        assert_true(e->revision > last);
        last = e->revision;
        if (e->op == SG_KV_DELETE) {
            assert_string_equal(e->key, "y");
            assert_true(e->revision > rev[N - 1]);
            y_done = true;
        } else {
            int i = 0;
            while (i < N && rev[i] != e->revision)
                i++;
            assert_true(i < N);
            assert_string_equal(e->key, i % 2 ? "y" : "x");
            assert_string_equal(e->value, val[i]);
            if (i == N - 2) x_done = true;
        }
        sg_kv_entry_free(e);
    }
    e = NULL;
    assert_int_equal(sg_watch_next(w, 50, &e), SG_E_TIMEOUT);
    sg_watch_free(w);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* ---- buckets and names ------------------------------------------------------------------ */

static void existing_bucket_configuration_wins(void **state)
{
    (void)state;
    sg_store *s = open_store();
    char name[64];
    sg_bucket *b = new_bucket(s, 5000, name);
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    bo.ttl_ms = 60000;
    sg_bucket *b2 = NULL;
    assert_int_equal(sg_bucket_open(s, name, &bo, &b2), SG_OK);
    sg_bucket_options cfg;
    sg_bucket_config(b2, &cfg);
    assert_int_equal(cfg.ttl_ms, 5000);
    assert_int_equal(cfg.max_value_size, 1024);
    /* Without create, an existing bucket opens and a missing one is an error. */
    sg_bucket *b3 = NULL;
    assert_int_equal(sg_bucket_open(s, name, NULL, &b3), SG_OK);
    sg_bucket_close(b3);
    b3 = NULL;
    assert_int_equal(sg_bucket_open(s, "no_such_bucket", NULL, &b3), SG_E_NOT_FOUND);
    assert_null(b3);
    assert_non_null(strstr(sg_last_error(), "no_such_bucket"));
    sg_bucket_close(b2);
    sg_bucket_close(b);
    sg_store_close(s);
}

static void apps_do_not_see_each_other(void **state)
{
    (void)state;
    sg_store *s1 = open_store_app("game1");
    sg_store *s2 = open_store_app("game2");
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    char name[32];
    snprintf(name, sizeof name, "shared%d", (int)getpid());
    sg_bucket *b1 = NULL, *b2 = NULL;
    assert_int_equal(sg_bucket_open(s1, name, &bo, &b1), SG_OK);
    assert_int_equal(sg_bucket_open(s2, name, &bo, &b2), SG_OK);
    assert_int_equal(sg_kv_put(b1, "k", "one", 3, NULL), SG_OK);
    expect_absent(b2, "k");
    assert_int_equal(sg_kv_put(b2, "k", "two", 3, NULL), SG_OK);
    expect_kv(b1, "k", "one", 0);
    expect_kv(b2, "k", "two", 0);
    sg_bucket_close(b1);
    sg_bucket_close(b2);
    sg_store_close(s1);
    sg_store_close(s2);
}

static void bad_input_is_refused_with_a_message(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    char big[1025];
    memset(big, 'x', sizeof big);
    assert_int_equal(sg_kv_put(b, "k", big, sizeof big, NULL), SG_E_TOO_LARGE);
    assert_non_null(strstr(sg_last_error(), "1025"));
    assert_int_equal(sg_kv_create(b, "k", big, sizeof big, NULL), SG_E_TOO_LARGE);
    assert_int_equal(sg_kv_put(b, "k", big, 1024, NULL), SG_OK); /* exactly the limit */
    expect_absent(b, "nothing-half-written");

    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    const char *bad[] = {"", ".a", "a.", "a..b", "a b", "a*", "a>", "x\n", "é", longkey};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_kv_entry *e = NULL;
        assert_int_equal(sg_kv_put(b, bad[i], "v", 1, NULL), SG_E_INVALID);
        assert_non_null(strstr(sg_last_error(), "invalid key"));
        assert_int_equal(sg_kv_get(b, bad[i], &e), SG_E_INVALID);
        assert_int_equal(sg_kv_create(b, bad[i], "v", 1, NULL), SG_E_INVALID);
        assert_int_equal(sg_kv_delete(b, bad[i]), SG_E_INVALID);
    }
    assert_int_equal(sg_kv_put(b, NULL, "v", 1, NULL), SG_E_INVALID);

    const char *bad_names[] = {"", "a.b", "x y", "a*",
                               "0123456789012345678901234567890123456789"
                               "01234567890123456789012345"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        sg_bucket *x = NULL;
        sg_bucket_options bo;
        sg_bucket_options_init(&bo);
        bo.create = true;
        assert_int_equal(sg_bucket_open(s, bad_names[i], &bo, &x), SG_E_INVALID);
        assert_null(x);
        assert_non_null(strstr(sg_last_error(), "invalid bucket name"));
    }
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    bo.history = 65;
    sg_bucket *x = NULL;
    assert_int_equal(sg_bucket_open(s, "hist", &bo, &x), SG_E_INVALID);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* ---- concurrency ------------------------------------------------------------------------ */

typedef struct counter_ctx {
    sg_bucket *b;
    int rounds;
    int failures;
} counter_ctx;

static void *counter_thread(void *arg)
{
    counter_ctx *c = arg;
    for (int i = 0; i < c->rounds; i++) {
        for (int tries = 0;; tries++) {
            sg_kv_entry *e = NULL;
            if (sg_kv_get(c->b, "counter", &e) != SG_OK) {
                c->failures++;
                break;
            }
            char next[32];
            int len = snprintf(next, sizeof next, "%d", atoi(e->value) + 1);
            sg_status st = sg_kv_update(c->b, "counter", next, (size_t)len, e->revision, NULL);
            sg_kv_entry_free(e);
            if (st == SG_OK) break;
            if (st != SG_E_CONFLICT || tries > 10000) {
                c->failures++;
                break;
            }
        }
    }
    return NULL;
}

static void concurrent_cas_increments_lose_nothing(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    assert_int_equal(sg_kv_create(b, "counter", "0", 1, NULL), SG_OK);
    enum { THREADS = 4, ROUNDS = 25 };
    pthread_t th[THREADS];
    counter_ctx ctx[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ctx[i] = (counter_ctx){b, ROUNDS, 0};
        assert_int_equal(pthread_create(&th[i], NULL, counter_thread, &ctx[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ctx[i].failures, 0);
    }
    expect_kv(b, "counter", "100", 0);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* Child mode: `store_suite --race-child URL BUCKET KEY START_MS` creates KEY at START_MS.
 * Exit 0: created; 3: it existed; 1: anything else. */
static int race_child(char **argv)
{
    snprintf(g_url, sizeof g_url, "%s", argv[2]);
    sg_log_set_level(SG_LOG_WARN);
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = g_url;
    o.app = "t";
    o.timeout_ms = 5000;
    sg_store *s = NULL;
    sg_bucket *b = NULL;
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    bo.max_value_size = 1024;
    if (sg_store_open(&o, &s) != SG_OK || sg_bucket_open(s, argv[3], &bo, &b) != SG_OK) {
        fprintf(stderr, "race child: %s\n", sg_last_error());
        sg_store_close(s);
        return 1;
    }
    struct timespec ts;
    long long start = atoll(argv[5]);
    do {
        clock_gettime(CLOCK_REALTIME, &ts);
    } while ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < start);
    char me[32];
    int len = snprintf(me, sizeof me, "%d", (int)getpid());
    sg_status st = sg_kv_create(b, argv[4], me, (size_t)len, NULL);
    if (st != SG_OK && st != SG_E_EXISTS) fprintf(stderr, "race child: %s\n", sg_last_error());
    sg_bucket_close(b);
    sg_store_close(s);
    sg_store_library_cleanup();
    return st == SG_OK ? 0 : st == SG_E_EXISTS ? 3 : 1;
}

static void processes_racing_to_create_one_key_have_one_winner(void **state)
{
    (void)state;
    sg_store *s = open_store();
    char name[64];
    sg_bucket *b = new_bucket(s, 0, name);
    enum { N = 5 };
    for (int round = 0; round < 3; round++) {
        char key[16], start[32];
        snprintf(key, sizeof key, "seat%d", round);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(start, sizeof start, "%lld",
                 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 700);
        pid_t pids[N];
        char *args[] = {"store_suite", "--race-child", g_url, name, key, start, NULL};
        for (int i = 0; i < N; i++)
            assert_int_equal(posix_spawn(&pids[i], "/proc/self/exe", NULL, NULL, args, environ), 0);
        int won = 0, lost = 0;
        for (int i = 0; i < N; i++) {
            int status = 0;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status));
            if (WEXITSTATUS(status) == 0) won++;
            if (WEXITSTATUS(status) == 3) lost++;
        }
        assert_int_equal(won, 1);
        assert_int_equal(lost, N - 1);
        sg_kv_entry *e = NULL;
        assert_int_equal(sg_kv_get(b, key, &e), SG_OK);
        assert_true(atoi(e->value) > 0);
        sg_kv_entry_free(e);
    }
    sg_bucket_close(b);
    sg_store_close(s);
}

/* ---- work queue ------------------------------------------------------------------------- */

static sg_queue *new_queue(sg_store *s, long long lease_ms)
{
    char name[64];
    snprintf(name, sizeof name, "q%d_%d", (int)getpid(), ++g_seq);
    sg_queue_options qo;
    sg_queue_options_init(&qo);
    qo.lease_ms = lease_ms;
    sg_queue *q = NULL;
    sg_status st = sg_queue_open(s, name, &qo, &q);
    if (st) fprintf(stderr, "queue: %s\n", sg_last_error());
    assert_int_equal(st, SG_OK);
    return q;
}

static sg_job *take(sg_queue *q, long long wait_ms)
{
    sg_job *j = NULL;
    sg_status st = sg_queue_take(q, wait_ms, &j);
    if (st) fprintf(stderr, "take: %s\n", sg_last_error());
    assert_int_equal(st, SG_OK);
    return j;
}

static void queue_hands_out_acks_and_retries(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_queue *q = new_queue(s, 1000);
    assert_null(take(q, 0));
    assert_int_equal(sg_queue_enqueue(q, "{\"n\":1}", 7), SG_OK);
    assert_int_equal(sg_queue_enqueue(q, "{\"n\":2}", 7), SG_OK);

    sg_job *j1 = take(q, 2000);
    assert_non_null(j1);
    assert_string_equal(sg_job_payload(j1, NULL), "{\"n\":1}");
    assert_int_equal(sg_job_attempts(j1), 1);
    assert_int_equal(sg_job_ack(j1), SG_OK);
    sg_job_free(j1);

    /* Retry later: the job comes back after the delay, not before, with a higher count. */
    sg_job *j2 = take(q, 2000);
    assert_non_null(j2);
    assert_string_equal(sg_job_payload(j2, NULL), "{\"n\":2}");
    assert_int_equal(sg_job_retry(j2, 300), SG_OK);
    sg_job_free(j2);
    j2 = take(q, 5000);
    assert_non_null(j2);
    assert_string_equal(sg_job_payload(j2, NULL), "{\"n\":2}");
    assert_int_equal(sg_job_attempts(j2), 2);
    assert_int_equal(sg_job_touch(j2), SG_OK);
    assert_int_equal(sg_job_ack(j2), SG_OK);
    sg_job_free(j2);
    assert_null(take(q, 300));

    assert_int_equal(sg_queue_enqueue(q, "not json", 8), SG_E_MALFORMED);
    assert_int_equal(sg_queue_enqueue(q, "{} x", 4), SG_E_MALFORMED);
    assert_null(take(q, 100));
    sg_queue_close(q);
    sg_store_close(s);
}

static void queue_lease_expiry_hands_the_job_out_again(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_queue *q = new_queue(s, 1000);
    assert_int_equal(sg_queue_enqueue(q, "{\"session_id\":\"abc\"}", 20), SG_OK);
    sg_job *j = take(q, 2000);
    assert_non_null(j);
    assert_int_equal(sg_job_attempts(j), 1);
    /* Held under lease: no one else gets it now. */
    assert_null(take(q, 0));
    sg_job_free(j); /* the taker "dies" without finishing */
    j = take(q, 10000);
    assert_non_null(j);
    assert_string_equal(sg_job_payload(j, NULL), "{\"session_id\":\"abc\"}");
    assert_int_equal(sg_job_attempts(j), 2);
    assert_int_equal(sg_job_ack(j), SG_OK);
    assert_int_equal(sg_job_ack(j), SG_E_INVALID); /* already finished */
    sg_job_free(j);
    assert_null(take(q, 1500));
    sg_queue_close(q);
    sg_store_close(s);
}

static void queue_is_shared_by_two_handles(void **state)
{
    (void)state;
    sg_store *s1 = open_store();
    sg_store *s2 = open_store();
    sg_queue *q1 = new_queue(s1, 5000);
    sg_queue *q2 = NULL;
    sg_queue_options qo;
    sg_queue_options_init(&qo);
    qo.lease_ms = 5000;
    char name[64];
    snprintf(name, sizeof name, "q%d_%d", (int)getpid(), g_seq);
    assert_int_equal(sg_queue_open(s2, name, &qo, &q2), SG_OK);
    for (int i = 0; i < 4; i++) {
        char p[16];
        int n = snprintf(p, sizeof p, "{\"n\":%d}", i);
        assert_int_equal(sg_queue_enqueue(i % 2 ? q1 : q2, p, (size_t)n), SG_OK);
    }
    int seen[4] = {0};
    for (int i = 0; i < 4; i++) {
        sg_job *j = take(i % 2 ? q2 : q1, 2000);
        assert_non_null(j);
        int n = atoi(strchr(sg_job_payload(j, NULL), ':') + 1);
        assert_true(n >= 0 && n < 4);
        seen[n]++;
        assert_int_equal(sg_job_ack(j), SG_OK);
        sg_job_free(j);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(seen[i], 1);
    assert_null(take(q1, 200));
    assert_null(take(q2, 0));
    sg_queue_close(q1);
    sg_queue_close(q2);
    sg_store_close(s1);
    sg_store_close(s2);
}

/* Several threads taking from one queue handle at once (the matchmaker's delete workers):
 * every take succeeds or finds nothing, and every job is handed out once. */
typedef struct taker {
    sg_queue *q;
    int got, failed;
    int seen[12];
} taker;

static void *take_loop(void *arg)
{
    taker *t = arg;
    for (int i = 0; i < 12; i++) {
        sg_job *j = NULL;
        sg_status st = sg_queue_take(t->q, 300, &j);
        if (st != SG_OK) {
            t->failed++;
            continue;
        }
        if (!j) continue;
        int n = atoi(strchr(sg_job_payload(j, NULL), ':') + 1);
        if (n >= 0 && n < 12) t->seen[n]++;
        t->got++;
        sg_job_ack(j);
        sg_job_free(j);
    }
    return NULL;
}

static void queue_takes_from_threads_at_once(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_queue *q = new_queue(s, 5000);
    for (int i = 0; i < 12; i++) {
        char p[16];
        int n = snprintf(p, sizeof p, "{\"n\":%d}", i);
        assert_int_equal(sg_queue_enqueue(q, p, (size_t)n), SG_OK);
    }
    taker t[3];
    pthread_t th[3];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 3; i++) {
        t[i].q = q;
        assert_int_equal(pthread_create(&th[i], NULL, take_loop, &t[i]), 0);
    }
    int got = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].failed, 0);
        got += t[i].got;
    }
    assert_int_equal(got, 12);
    for (int n = 0; n < 12; n++)
        assert_int_equal(t[0].seen[n] + t[1].seen[n] + t[2].seen[n], 1);
    sg_queue_close(q);
    sg_store_close(s);
}

/* NATS: a process opening an existing queue with another lease binds to it as it is. */
static void nats_queue_opened_with_another_lease_binds(void **state)
{
    (void)state;
    sg_store *s1 = open_store();
    sg_store *s2 = open_store();
    sg_queue *q1 = new_queue(s1, 30000);
    sg_queue *q2 = NULL;
    sg_queue_options qo;
    sg_queue_options_init(&qo);
    qo.lease_ms = 3000;
    char name[64];
    snprintf(name, sizeof name, "q%d_%d", (int)getpid(), g_seq);
    assert_int_equal(sg_queue_open(s2, name, &qo, &q2), SG_OK);
    assert_int_equal(sg_queue_enqueue(q2, "{\"n\":1}", 7), SG_OK);
    sg_job *j = take(q1, 2000);
    assert_non_null(j);
    assert_int_equal(sg_job_ack(j), SG_OK);
    sg_job_free(j);
    sg_queue_close(q1);
    sg_queue_close(q2);
    sg_store_close(s1);
    sg_store_close(s2);
}

/* ---- events ----------------------------------------------------------------------------- */

static void events_are_read_back_in_order(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_store *other = open_store_app("elsewhere");
    sg_event_sub *all = NULL, *ups = NULL;
    assert_int_equal(sg_event_subscribe(s, NULL, &all), SG_OK);
    assert_int_equal(sg_event_subscribe(s, "server_up", &ups), SG_OK);
    assert_int_equal(sg_event_publish_json(other, "server_up", "{\"x\":0}", 7), SG_OK);
    assert_int_equal(sg_event_publish_json(s, "server_up", "{\"n\":1}", 7), SG_OK);
    assert_int_equal(sg_event_publish_json(s, "player_connect", "{\"n\":2}", 7), SG_OK);
    assert_int_equal(sg_event_publish_json(s, "server_up", "{\"n\":3}", 7), SG_OK);

    const char *kinds[] = {"server_up", "player_connect", "server_up"};
    const char *bodies[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    for (int i = 0; i < 3; i++) {
        char *kind = NULL, *json = NULL;
        assert_int_equal(sg_event_next(all, 5000, &kind, &json), SG_OK);
        assert_string_equal(kind, kinds[i]);
        assert_string_equal(json, bodies[i]);
        free(kind);
        free(json);
    }
    char *json = NULL;
    assert_int_equal(sg_event_next(ups, 5000, NULL, &json), SG_OK);
    assert_string_equal(json, "{\"n\":1}");
    free(json);
    assert_int_equal(sg_event_next(ups, 5000, NULL, &json), SG_OK);
    assert_string_equal(json, "{\"n\":3}");
    free(json);
    assert_int_equal(sg_event_next(ups, 50, NULL, &json), SG_E_TIMEOUT);
    assert_null(json);

    assert_int_equal(sg_event_publish_json(s, "Bad.Kind", "{}", 2), SG_E_INVALID);
    assert_int_equal(sg_event_publish_json(s, "ok", "{", 1), SG_E_MALFORMED);
    sg_event_sub *x = NULL;
    assert_int_equal(sg_event_subscribe(s, "a>", &x), SG_E_INVALID);
    sg_event_sub_free(ups);
    sg_event_sub_free(all);
    sg_store_close(other);
    sg_store_close(s);
}

/* The kept history, from a position: every event in order with a growing position, and a
 * second reader from a position it was given resumes right after it. */
static void event_history_is_read_from_a_position(void **state)
{
    (void)state;
    char app[32];
    snprintf(app, sizeof app, "hist%d_%d", (int)getpid(), ++g_seq);
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = g_url;
    o.app = app;
    sg_store *plain = NULL;
    assert_int_equal(sg_store_open(&o, &plain), SG_OK);
    sg_event_sub *sub = NULL;
    if (is_nats()) { /* no stream yet: nothing to read from */
        assert_int_equal(sg_event_subscribe_from(plain, 0, &sub), SG_E_NOT_FOUND);
        assert_non_null(strstr(sg_last_error(), "events stream"));
        assert_null(sub);
    }
    o.event_history = true;
    sg_store *s = NULL;
    assert_int_equal(sg_store_open(&o, &s), SG_OK);
    const char *bodies[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}", "{\"n\":5}"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(sg_event_publish_json(s, i == 2 ? "score" : "server_up", bodies[i], 7),
                         SG_OK);
    assert_int_equal(sg_event_subscribe_from(s, 0, &sub), SG_OK);
    uint64_t pos[5] = {0};
    for (int i = 0; i < 5; i++) {
        char *kind = NULL, *json = NULL;
        assert_int_equal(sg_event_next_at(sub, 5000, &pos[i], &kind, &json), SG_OK);
        assert_string_equal(json, bodies[i]);
        assert_string_equal(kind, i == 2 ? "score" : "server_up");
        assert_true(pos[i] > (i ? pos[i - 1] : 0));
        free(kind);
        free(json);
    }
    sg_event_sub *resumed = NULL;
    assert_int_equal(sg_event_subscribe_from(s, pos[2], &resumed), SG_OK);
    for (int i = 3; i < 5; i++) {
        char *json = NULL;
        uint64_t p = 0;
        assert_int_equal(sg_event_next_at(resumed, 5000, &p, NULL, &json), SG_OK);
        assert_string_equal(json, bodies[i]);
        assert_int_equal(p, pos[i]);
        free(json);
    }
    char *json = NULL;
    uint64_t p = 0;
    assert_int_equal(sg_event_next_at(resumed, 100, &p, NULL, &json), SG_E_TIMEOUT);
    /* a publisher without event history (a plain NATS publish) is kept in the stream too */
    assert_int_equal(sg_event_publish_json(plain, "score", "{\"n\":6}", 7), SG_OK);
    assert_int_equal(sg_event_next_at(resumed, 5000, &p, NULL, &json), SG_OK);
    assert_string_equal(json, "{\"n\":6}");
    assert_true(p > pos[4]);
    free(json);
    sg_event_sub_free(resumed);
    sg_event_sub_free(sub);
    sg_store_close(s);
    sg_store_close(plain);
}

/* ---- backend specific ------------------------------------------------------------------- */

static void nats_restart_fails_fast_then_resumes(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    assert_int_equal(sg_kv_put(b, "k", "before", 6, NULL), SG_OK);
    assert_int_equal(sg_store_get_state(s), SG_STORE_CONNECTED);

    sg_test_nats_stop(&g_nats);
    long long deadline = sg_test_now_ms() + 5000;
    while (sg_store_get_state(s) == SG_STORE_CONNECTED && sg_test_now_ms() < deadline)
        sg_test_sleep_ms(10);
    assert_int_equal(sg_store_get_state(s), SG_STORE_RECONNECTING);
    sg_status st = sg_kv_put(b, "k", "during", 6, NULL);
    assert_true(st == SG_E_UNAVAILABLE || st == SG_E_TIMEOUT);
    assert_non_null(strstr(sg_last_error(), "NATS"));
    sg_kv_entry *e = NULL;
    st = sg_kv_get(b, "k", &e);
    assert_true(st == SG_E_UNAVAILABLE || st == SG_E_TIMEOUT);
    st = sg_event_publish_json(s, "server_down", "{}", 2);
    assert_true(st == SG_E_UNAVAILABLE || st == SG_E_TIMEOUT);

    assert_int_equal(sg_test_nats_restart(&g_nats), 0);
    deadline = sg_test_now_ms() + 15000;
    while (sg_store_get_state(s) != SG_STORE_CONNECTED && sg_test_now_ms() < deadline)
        sg_test_sleep_ms(20);
    assert_int_equal(sg_store_get_state(s), SG_STORE_CONNECTED);
    /* JetStream may need a moment after the listener is back: retry briefly. */
    deadline = sg_test_now_ms() + 10000;
    while ((st = sg_kv_get(b, "k", &e)) != SG_OK && sg_test_now_ms() < deadline)
        sg_test_sleep_ms(50);
    assert_int_equal(st, SG_OK);
    assert_string_equal(e->value, "before");
    sg_kv_entry_free(e);
    assert_int_equal(sg_kv_put(b, "k", "after", 5, NULL), SG_OK);
    expect_kv(b, "k", "after", 0);
    sg_bucket_close(b);
    sg_store_close(s);
}

static void nats_unreachable_server_is_a_clear_error(void **state)
{
    (void)state;
    sg_test_nats dead = {0};
    assert_int_equal(sg_test_nats_start(&dead), 0);
    char url[64];
    snprintf(url, sizeof url, "%s", dead.url);
    sg_test_nats_free(&dead); /* nothing listens there now */
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = url;
    o.timeout_ms = 500;
    sg_store *s = NULL;
    assert_int_equal(sg_store_open(&o, &s), SG_E_UNAVAILABLE);
    assert_null(s);
    assert_non_null(strstr(sg_last_error(), "no NATS server reachable"));
}

static void nats_without_jetstream_is_a_clear_error(void **state)
{
    (void)state;
    sg_test_nats plain = {.no_jetstream = true};
    assert_int_equal(sg_test_nats_start(&plain), 0);
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = plain.url;
    o.timeout_ms = 1000;
    sg_store *s = NULL;
    sg_status st = sg_store_open(&o, &s);
    sg_test_nats_free(&plain);
    assert_int_equal(st, SG_E_UNAVAILABLE);
    assert_non_null(strstr(sg_last_error(), "JetStream"));
}

static void nats_event_history_keeps_events_in_a_stream(void **state)
{
    (void)state;
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = g_url;
    o.app = "hist";
    o.event_history = true;
    sg_store *s = NULL;
    assert_int_equal(sg_store_open(&o, &s), SG_OK);
    sg_event_sub *sub = NULL;
    assert_int_equal(sg_event_subscribe(s, NULL, &sub), SG_OK);
    assert_int_equal(sg_event_publish_json(s, "score", "{\"v\":1}", 7), SG_OK);
    char *json = NULL;
    assert_int_equal(sg_event_next(sub, 5000, NULL, &json), SG_OK);
    assert_string_equal(json, "{\"v\":1}");
    free(json);
    sg_event_sub_free(sub);
    sg_store_close(s);
}

static void sqlite_unusable_path_is_a_clear_error(void **state)
{
    (void)state;
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = "sqlite:///nonexistent-dir-for-seatgate/x/state.db";
    sg_store *s = NULL;
    assert_int_equal(sg_store_open(&o, &s), SG_E_IO);
    assert_null(s);
    assert_non_null(strstr(sg_last_error(), "nonexistent-dir-for-seatgate"));
}

static void sqlite_sweep_removes_expired_rows(void **state)
{
    (void)state;
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 1000, NULL);
    assert_int_equal(sg_kv_put(b, "old", "v", 1, NULL), SG_OK);
    sg_test_sleep_ms(1100);
    assert_int_equal(sg_store_sweep(s), SG_OK);
    /* After the sweep the row is gone, so a watcher has nothing current to show either. */
    sg_watch *w = NULL;
    assert_int_equal(sg_kv_watch(b, NULL, &w), SG_OK);
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_watch_next(w, 1000, &e), SG_OK);
    assert_null(e);
    sg_watch_free(w);
    expect_absent(b, "old");
    sg_bucket_close(b);
    sg_store_close(s);
}

/* The rows of sg_kv for bucket `full`, counted by the test's own connection; with
 * `key`, only that key's. */
static int raw_rows(sqlite3 *db, const char *full, const char *key)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM sg_kv WHERE bucket = ?1 AND "
                                        "(?2 IS NULL OR key = ?2)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, full, -1, SQLITE_STATIC);
    if (key) sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Rows of `sql`, asked of SQLite by the test's own connection; with `needle`, only those
 * whose column `col` contains it. */
static int rows_matching(sqlite3 *db, const char *sql, int col, const char *needle)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, col);
        if (!needle || (text && strstr(text, needle))) n++;
    }
    sqlite3_finalize(st);
    return n;
}

/* A file whose key index predates op and created_ms in it (three columns) gets the five-column
 * index when it is opened, with every value in place, so a listing of keys is answered from
 * the index alone. */
static void sqlite_narrow_key_index_is_widened_on_open(void **state)
{
    (void)state;
    char db_path[300];
    snprintf(db_path, sizeof db_path, "%s/state.db", g_dir);
    char name[64], full[128];
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, name);
    snprintf(full, sizeof full, "t_%s", name);
    assert_int_equal(sg_kv_put(b, "a", "a1", 2, NULL), SG_OK);
    assert_int_equal(sg_kv_put(b, "b", "b1", 2, NULL), SG_OK);
    assert_int_equal(sg_kv_put(b, "c", "c1", 2, NULL), SG_OK);
    assert_int_equal(sg_kv_delete(b, "b"), SG_OK);
    sg_bucket_close(b);
    sg_store_close(s);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP INDEX sg_kv_by_key;"
                                  "CREATE INDEX sg_kv_by_key ON sg_kv(bucket, key, rev);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    /* the index's columns, and whether SQLite plans a listing of keys from it alone */
    const char *columns = "PRAGMA index_info(sg_kv_by_key)";
    const char *plan = "EXPLAIN QUERY PLAN SELECT key, op, created_ms, MAX(rev) FROM sg_kv "
                       "INDEXED BY sg_kv_by_key WHERE bucket = 'x' AND key > '' GROUP BY key";
    const char *covering = "COVERING INDEX sg_kv_by_key";
    assert_int_equal(rows_matching(db, columns, 0, NULL), 3);
    assert_int_equal(rows_matching(db, plan, 3, covering), 0);

    s = open_store();
    assert_int_equal(rows_matching(db, columns, 0, NULL), 5);
    assert_int_equal(rows_matching(db, plan, 3, covering), 1);
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    assert_int_equal(sg_bucket_open(s, name, &bo, &b), SG_OK);
    char **keys = NULL;
    size_t n = 0;
    assert_int_equal(sg_kv_keys(b, &keys, &n), SG_OK);
    assert_int_equal(n, 2);
    bool a = false, c = false;
    for (size_t i = 0; i < n; i++) {
        a = a || strcmp(keys[i], "a") == 0;
        c = c || strcmp(keys[i], "c") == 0;
    }
    assert_true(a && c);
    free(keys);
    expect_kv(b, "a", "a1", 0);
    expect_kv(b, "c", "c1", 0);
    expect_absent(b, "b");
    assert_int_equal(raw_rows(db, full, NULL), 4);
    sqlite3_close(db);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* The sweep, checked in the file itself: rows past the bucket TTL go (more than one step's
 * worth), and so do rows older than the 60 s watch window that a later row of their key
 * supersedes, and old delete markers; a key's latest value and young history stay. The old
 * rows are written by the test's own connection with old timestamps. */
static void sqlite_sweep_removes_old_rows_in_steps(void **state)
{
    (void)state;
    char db_path[300];
    snprintf(db_path, sizeof db_path, "%s/state.db", g_dir);
    sg_store *s = open_store();
    char tname[64], kname[64], full_t[128], full_k[128];
    sg_bucket *t = new_bucket(s, 1000, tname), *k = new_bucket(s, 0, kname);
    snprintf(full_t, sizeof full_t, "t_%s", tname);
    snprintf(full_k, sizeof full_k, "t_%s", kname);
    for (int i = 0; i < 600; i++) {
        char key[16];
        snprintf(key, sizeof key, "x%d", i);
        assert_int_equal(sg_kv_put(t, key, "v", 1, NULL), SG_OK);
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    /* In bucket k, two minutes ago: "a" written three times, "b" put then deleted, "c" once. */
    char sql[2048];
    long long old = sg_test_now_ms() - 120000;
    snprintf(sql, sizeof sql,
             "BEGIN IMMEDIATE;"
             "INSERT INTO sg_kv VALUES ('%s', 1, 'a', 1, 'a1', %lld);"
             "INSERT INTO sg_kv VALUES ('%s', 2, 'a', 1, 'a2', %lld);"
             "INSERT INTO sg_kv VALUES ('%s', 3, 'b', 1, 'b1', %lld);"
             "INSERT INTO sg_kv VALUES ('%s', 4, 'b', 2, NULL, %lld);"
             "INSERT INTO sg_kv VALUES ('%s', 5, 'c', 1, 'c1', %lld);"
             "INSERT INTO sg_kv VALUES ('%s', 6, 'a', 1, 'a3', %lld);"
             "UPDATE sg_buckets SET seq = 6 WHERE name = '%s'; COMMIT;",
             full_k, old, full_k, old, full_k, old, full_k, old, full_k, old, full_k, old, full_k);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    /* and now: "c" again (its old value is superseded), "d" twice (young history stays) */
    assert_int_equal(sg_kv_put(k, "c", "c2", 2, NULL), SG_OK);
    assert_int_equal(sg_kv_put(k, "d", "d1", 2, NULL), SG_OK);
    assert_int_equal(sg_kv_put(k, "d", "d2", 2, NULL), SG_OK);
    sg_test_sleep_ms(1100);
    assert_int_equal(sg_kv_put(t, "young", "v", 1, NULL), SG_OK);
    assert_int_equal(raw_rows(db, full_t, NULL), 601);
    assert_int_equal(raw_rows(db, full_k, NULL), 9);

    assert_int_equal(sg_store_sweep(s), SG_OK);
    assert_int_equal(raw_rows(db, full_t, NULL), 1); /* only "young" */
    assert_int_equal(raw_rows(db, full_t, "young"), 1);
    assert_int_equal(raw_rows(db, full_k, "a"), 1); /* a3 */
    assert_int_equal(raw_rows(db, full_k, "b"), 0); /* the marker too, once old */
    assert_int_equal(raw_rows(db, full_k, "c"), 1); /* c2 */
    assert_int_equal(raw_rows(db, full_k, "d"), 2); /* young: both stay */
    expect_kv(k, "a", "a3", 6);
    expect_kv(k, "c", "c2", 0);
    expect_kv(k, "d", "d2", 0);
    expect_absent(k, "b");
    expect_kv(t, "young", "v", 0);
    sqlite3_close(db);
    sg_bucket_close(t);
    sg_bucket_close(k);
    sg_store_close(s);
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static bool thread_named(const char *name)
{
    bool found = false;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && !found && (e = readdir(d))) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        found = strcmp(comm, name) == 0;
    }
    if (d) closedir(d);
    return found;
}

/* Commits only append to the WAL; copying pages back into the database file (a checkpoint)
 * is the job of the store's own thread (sg-checkpoint, started when the WAL first holds
 * 8000 frames), long before the committing thread would do it itself (32000). So the
 * thread appears and the file grows while writes go on, without the WAL reaching 32000. */
static void sqlite_wal_is_checkpointed_in_the_background(void **state)
{
    (void)state;
    /* the store's thresholds (kv_sqlite.c); each put here appends at least one frame */
    enum { CHECKPOINT_FRAMES = 8000, INLINE_FRAMES = 4 * CHECKPOINT_FRAMES };
    enum { PUTS = CHECKPOINT_FRAMES + CHECKPOINT_FRAMES / 2 };
    char db[300], wal[310];
    snprintf(db, sizeof db, "%s/state.db", g_dir);
    snprintf(wal, sizeof wal, "%s-wal", db);
    sg_store *s = open_store();
    sg_bucket *b = new_bucket(s, 0, NULL);
    assert_false(thread_named("sg-checkpoint")); /* each earlier test closed its store */
    long long before = file_size(db);
    assert_true(before > 0);
    char v[900];
    memset(v, 'x', sizeof v);
    char key[32];
    long long grown = -1;
    for (int i = 0; i < PUTS && grown < 0; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(sg_kv_put(b, key, v, sizeof v, NULL), SG_OK);
        if (i % 100 == 0 && file_size(db) > before) grown = i;
    }
    for (int t = 0; t < 100 && grown < 0; t++) {
        if (file_size(db) > before) grown = PUTS;
        sg_test_sleep_ms(50);
    }
    assert_true(grown >= 0);
    assert_true(thread_named("sg-checkpoint"));
    /* the WAL never got near the committing thread's own threshold */
    assert_true(file_size(wal) < INLINE_FRAMES * (4096LL + 24));
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_kv_get(b, "k0", &e), SG_OK);
    assert_int_equal(e->len, sizeof v);
    assert_memory_equal(e->value, v, sizeof v);
    sg_kv_entry_free(e);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* ---- batches (SQLite) --------------------------------------------------------------------- */

/* The key's rows in the file, counted on a connection of the test's own (raw_rows), as
 * another process would see them. */
static int rows_in_file(const char *bucket, const char *key)
{
    char db[300], full[128];
    snprintf(db, sizeof db, "%s/state.db", g_dir);
    snprintf(full, sizeof full, "t_%s", bucket);
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int n = raw_rows(c, full, key);
    sqlite3_close(c);
    return n;
}

typedef struct batch_writer {
    sg_bucket *b;
    sg_status st;
    uint64_t rev;
    _Atomic bool done;
} batch_writer;

static void *put_from_thread(void *arg)
{
    batch_writer *w = arg;
    w->st = sg_kv_put(w->b, "other", "o", 1, &w->rev);
    w->done = true;
    return NULL;
}

static void sqlite_batch_commits_its_calls_together(void **state)
{
    (void)state;
    sg_store *s = open_store();
    char name[64];
    sg_bucket *b = new_bucket(s, 0, name);
    uint64_t r3 = 0;
    assert_int_equal(sg_kv_put(b, "k3", "v3", 2, &r3), SG_OK);
    assert_true(sg_store_batches(s));

    assert_int_equal(sg_store_batch_begin(s), SG_OK);
    uint64_t r1 = 0, r2 = 0, r4 = 0, bad = 0;
    bool open = false;
    assert_int_equal(sg_kv_put(b, "k1", "v1", 2, &r1), SG_OK);
    assert_int_equal(sg_store_batch_step(s, &open), SG_OK);
    assert_true(open);
    assert_int_equal(sg_kv_create(b, "k2", "v2", 2, &r2), SG_OK);
    /* a call that fails on its own (a stale revision) changes nothing, and the batch goes on */
    assert_int_equal(sg_kv_update(b, "k3", "no", 2, r3 + 100, &bad), SG_E_CONFLICT);
    assert_int_equal(sg_store_batch_step(s, &open), SG_OK);
    assert_true(open);
    assert_int_equal(sg_kv_create(b, "k1", "again", 5, &bad), SG_E_EXISTS); /* sees k1 */
    assert_int_equal(sg_kv_put(b, "k4", "v4", 2, &r4), SG_OK);
    assert_true(r1 < r2 && r2 < r4);

    /* another thread's call waits for the commit; another connection sees nothing yet */
    batch_writer w = {.b = b};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, put_from_thread, &w), 0);
    assert_int_equal(rows_in_file(name, "k1"), 0);
    assert_int_equal(rows_in_file(name, "k4"), 0);
    assert_false(w.done);

    assert_int_equal(sg_store_batch_commit(s), SG_OK);
    pthread_join(t, NULL);
    assert_int_equal(w.st, SG_OK);
    assert_true(w.rev > r4); /* it ran after the batch */
    assert_int_equal(rows_in_file(name, "k1"), 1);
    assert_int_equal(rows_in_file(name, "k2"), 1);
    assert_int_equal(rows_in_file(name, "k4"), 1);
    expect_kv(b, "k3", "v3", r3); /* the refused update left it as it was */
    sg_bucket_close(b);
    sg_store_close(s);
}

/* What another thread read while a batch was open. */
typedef struct batch_reader {
    sg_bucket *b;
    sg_status old_st, new_st, list_st;
    char old_value[8];
    uint64_t old_rev;
    int listed;
    _Atomic bool done;
} batch_reader;

static sg_status count_listed(void *arg, const sg_kv_entry *e)
{
    (void)e;
    (*(int *)arg)++;
    return SG_OK;
}

static void *read_from_thread(void *arg)
{
    batch_reader *r = arg;
    sg_kv_entry *e = NULL;
    r->old_st = sg_kv_get(r->b, "old", &e);
    if (!r->old_st) {
        snprintf(r->old_value, sizeof r->old_value, "%.*s", (int)e->len, (const char *)e->value);
        r->old_rev = e->revision;
        sg_kv_entry_free(e);
    }
    e = NULL;
    r->new_st = sg_kv_get(r->b, "new", &e);
    sg_kv_entry_free(e);
    r->list_st = sg_kv_revisions(r->b, count_listed, &r->listed);
    r->done = true;
    return NULL;
}

/* Starts read_from_thread and says whether it ended within 10 s (a read that waited for the
 * batch would never end while the batch is open). The caller joins *t. */
static bool read_while(batch_reader *r, pthread_t *t)
{
    assert_int_equal(pthread_create(t, NULL, read_from_thread, r), 0);
    for (int i = 0; i < 1000 && !r->done; i++)
        sg_test_sleep_ms(10);
    return r->done;
}

/* What the other thread read: "old" at its value and revision, "new" with new_st, and a
 * listing of `listed` keys. */
static void expect_reader(const batch_reader *r, const char *old_value, uint64_t old_rev,
                          sg_status new_st, int listed)
{
    assert_int_equal(r->old_st, SG_OK);
    assert_string_equal(r->old_value, old_value);
    assert_int_equal(r->old_rev, old_rev);
    assert_int_equal(r->new_st, new_st);
    assert_int_equal(r->list_st, SG_OK);
    assert_int_equal(r->listed, listed);
}

/* Reads from other threads do not wait for an open batch: they see the last commit, never
 * the batch's writes, and the batch's own thread sees its writes. */
static void sqlite_reads_beside_a_batch_see_the_last_commit(void **state)
{
    (void)state;
    sg_store *s = open_store();
    char name[64];
    sg_bucket *b = new_bucket(s, 0, name);
    uint64_t r1 = 0, r2 = 0, r3 = 0;
    assert_int_equal(sg_kv_put(b, "old", "v1", 2, &r1), SG_OK);

    assert_int_equal(sg_store_batch_begin(s), SG_OK);
    assert_int_equal(sg_kv_put(b, "old", "v2", 2, &r2), SG_OK);
    assert_int_equal(sg_kv_create(b, "new", "n", 1, &r3), SG_OK);
    expect_kv(b, "old", "v2", r2);
    expect_kv(b, "new", "n", r3);
    int listed = 0;
    assert_int_equal(sg_kv_revisions(b, count_listed, &listed), SG_OK);
    assert_int_equal(listed, 2);

    batch_reader during = {.b = b};
    pthread_t t;
    bool ended = read_while(&during, &t);
    if (!ended) (void)sg_store_batch_commit(s); /* lets a blocked read end before failing */
    pthread_join(t, NULL);
    assert_true(ended);
    expect_reader(&during, "v1", r1, SG_E_NOT_FOUND, 1);
    assert_int_equal(sg_store_batch_commit(s), SG_OK);

    batch_reader after = {.b = b};
    ended = read_while(&after, &t);
    pthread_join(t, NULL);
    assert_true(ended);
    expect_reader(&after, "v2", r2, SG_OK, 2);
    sg_bucket_close(b);
    sg_store_close(s);
}

/* The revision counter of sg_buckets, read by the test's own connection. */
static long long raw_seq(sqlite3 *db, const char *full)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq FROM sg_buckets WHERE name = ?1", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, full, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return seq;
}

/* One transaction writing to more buckets than it keeps counters for: every bucket's
 * revisions go on from where they were, the counters in the file end at the last revision
 * written, and a second connection (another process) goes on from there. */
static void sqlite_revisions_go_on_across_transactions(void **state)
{
    (void)state;
    enum { N = 11 };
    sg_store *s = open_store();
    sg_bucket *b[N];
    char names[N][64];
    uint64_t first[N], ra[N], rb[N];
    for (int i = 0; i < N; i++) {
        b[i] = new_bucket(s, 0, names[i]);
        for (int k = 0; k <= i % 3; k++)
            assert_int_equal(sg_kv_put(b[i], "before", "x", 1, &first[i]), SG_OK);
    }
    assert_int_equal(sg_store_batch_begin(s), SG_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(sg_kv_put(b[i], "a", "1", 1, &ra[i]), SG_OK);
        sg_kv_write w[2] = {{.bucket = b[i], .key = "b", .value = "2", .len = 1},
                            {.bucket = b[(i + 1) % N], .key = "c", .value = "3", .len = 1}};
        assert_int_equal(sg_kv_write_many(w, 2), SG_OK);
        rb[i] = w[0].rev;
        assert_int_equal(ra[i], first[i] + (i > 0 ? 2 : 1)); /* after the c of bucket i-1 */
        assert_true(rb[i] > ra[i]);
    }
    assert_int_equal(sg_store_batch_commit(s), SG_OK);

    char db[300];
    snprintf(db, sizeof db, "%s/state.db", g_dir);
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (int i = 0; i < N; i++) {
        char full[128];
        snprintf(full, sizeof full, "t_%.63s", names[i]);
        /* "before" written 1 to 3 times, then a, b, and the c another bucket's call wrote */
        assert_int_equal(raw_seq(c, full), (long long)(i % 3 + 1) + 3);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(c,
                                            "SELECT count(*), count(DISTINCT rev), max(rev) "
                                            "FROM sg_kv WHERE bucket = ?1",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, full, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        assert_int_equal(sqlite3_column_int64(st, 2), raw_seq(c, full));
        sqlite3_finalize(st);
    }
    sqlite3_close(c);

    /* a second connection's write (outside any batch) takes the next revision */
    sg_store *s2 = open_store();
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.max_value_size = 1024;
    sg_bucket *other = NULL;
    assert_int_equal(sg_bucket_open(s2, names[0], &bo, &other), SG_OK);
    uint64_t next = 0;
    assert_int_equal(sg_kv_put(other, "d", "4", 1, &next), SG_OK);
    assert_int_equal(next, (uint64_t)(0 % 3 + 1) + 4);
    expect_kv(b[0], "d", "4", next);
    sg_bucket_close(other);
    sg_store_close(s2);
    for (int i = 0; i < N; i++)
        sg_bucket_close(b[i]);
    sg_store_close(s);
}

static void sqlite_batch_misuse_is_refused(void **state)
{
    (void)state;
    sg_store *s = open_store();
    assert_int_equal(sg_store_batch_commit(s), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "no batch"));
    assert_int_equal(sg_store_batch_begin(s), SG_OK);
    assert_int_equal(sg_store_batch_begin(s), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "already open"));
    assert_int_equal(sg_store_batch_commit(s), SG_OK); /* the first one is still whole */
    sg_store_close(s);
}

static void nats_has_no_batches(void **state)
{
    (void)state;
    sg_store *s = open_store();
    assert_false(sg_store_batches(s));
    assert_int_equal(sg_store_batch_begin(s), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "no batches"));
    bool open = true;
    assert_int_equal(sg_store_batch_step(s, &open), SG_E_INVALID);
    assert_false(open);
    sg_store_close(s);
}

/* ---- setup ------------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "--race-child") == 0) return race_child(argv);
    if (argc < 2 || (strcmp(argv[1], "sqlite") != 0 && strcmp(argv[1], "nats") != 0)) {
        fprintf(stderr, "usage: %s sqlite|nats\n", argv[0]);
        return 2;
    }
    snprintf(g_backend, sizeof g_backend, "%s", argv[1]);
    sg_log_set_level(SG_LOG_WARN);
    /* SG_TEST_FILTER=pattern runs only the matching tests (for repeating one under load). */
    if (getenv("SG_TEST_FILTER")) cmocka_set_test_filter(getenv("SG_TEST_FILTER"));
    if (is_nats()) {
        if (sg_test_nats_start(&g_nats) != 0) return 1;
        snprintf(g_url, sizeof g_url, "%s", g_nats.url);
    } else {
        snprintf(g_dir, sizeof g_dir, "%s/sg-sqlite-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(g_dir)) return 1;
        snprintf(g_url, sizeof g_url, "sqlite://%s/state.db", g_dir);
    }

    const struct CMUnitTest common[] = {
        cmocka_unit_test(put_then_get_returns_value_and_revision),
        cmocka_unit_test(create_only_when_absent),
        cmocka_unit_test(update_is_compare_and_set),
        cmocka_unit_test(delete_is_idempotent),
        cmocka_unit_test(write_many_applies_puts_and_deletes_in_order),
        cmocka_unit_test(write_many_creates_and_updates_each_on_their_own),
        cmocka_unit_test(each_visits_every_live_key_once),
        cmocka_unit_test(each_since_visits_the_keys_written_after_a_revision),
        cmocka_unit_test(keys_lists_live_keys),
        cmocka_unit_test(ttl_expired_keys_read_as_absent),
        cmocka_unit_test(watch_delivers_current_values_then_changes_in_order),
        cmocka_unit_test(watch_converges_to_the_latest_change_of_every_key),
        cmocka_unit_test(existing_bucket_configuration_wins),
        cmocka_unit_test(apps_do_not_see_each_other),
        cmocka_unit_test(bad_input_is_refused_with_a_message),
        cmocka_unit_test(concurrent_cas_increments_lose_nothing),
        cmocka_unit_test(processes_racing_to_create_one_key_have_one_winner),
        cmocka_unit_test(queue_hands_out_acks_and_retries),
        cmocka_unit_test(queue_lease_expiry_hands_the_job_out_again),
        cmocka_unit_test(queue_is_shared_by_two_handles),
        cmocka_unit_test(queue_takes_from_threads_at_once),
        cmocka_unit_test(events_are_read_back_in_order),
        cmocka_unit_test(event_history_is_read_from_a_position),
    };
    const struct CMUnitTest nats_only[] = {
        cmocka_unit_test(nats_unreachable_server_is_a_clear_error),
        cmocka_unit_test(nats_without_jetstream_is_a_clear_error),
        cmocka_unit_test(nats_event_history_keeps_events_in_a_stream),
        cmocka_unit_test(nats_restart_fails_fast_then_resumes),
        cmocka_unit_test(nats_queue_opened_with_another_lease_binds),
        cmocka_unit_test(nats_has_no_batches),
    };
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test(sqlite_unusable_path_is_a_clear_error),
        cmocka_unit_test(sqlite_sweep_removes_expired_rows),
        cmocka_unit_test(sqlite_sweep_removes_old_rows_in_steps),
        cmocka_unit_test(sqlite_narrow_key_index_is_widened_on_open),
        cmocka_unit_test(sqlite_wal_is_checkpointed_in_the_background),
        cmocka_unit_test(sqlite_batch_commits_its_calls_together),
        cmocka_unit_test(sqlite_reads_beside_a_batch_see_the_last_commit),
        cmocka_unit_test(sqlite_revisions_go_on_across_transactions),
        cmocka_unit_test(sqlite_batch_misuse_is_refused),
    };
    char name[64];
    snprintf(name, sizeof name, "store (%s)", g_backend);
    int failed =
        _cmocka_run_group_tests(name, common, sizeof common / sizeof common[0], NULL, NULL);
    if (is_nats())
        failed += cmocka_run_group_tests_name("store (nats only)", nats_only, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name("store (sqlite only)", sqlite_only, NULL, NULL);

    if (is_nats())
        sg_test_nats_free(&g_nats);
    else
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    sg_store_library_cleanup();
    return failed ? 1 : 0;
}
