/* The reaper's facts of each session record: kept by id across growth of the table, replaced
 * when a record is read again at another revision, forgotten when a pass no longer lists it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reap_index.h"

enum { N = 5000 }; /* past the first 1024 chains, so the table grows several times */

static void record_of(int i, sg_session_record *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->session_id, sizeof r->session_id, "s%05d-S", i);
    r->state = i % 3 == 0 ? SG_SESSION_CLAIMED : SG_SESSION_UNCLAIMED;
    r->claim_deadline = 1000000 + i;
    if (r->state == SG_SESSION_CLAIMED) {
        snprintf(r->claimed_by_fqdn, sizeof r->claimed_by_fqdn, "gs%d.example", i % 7);
        r->claimed_at = 2000000 + i;
    }
}

static void facts_are_kept_by_id_as_the_table_grows(void **state)
{
    (void)state;
    sg_reap_index *x = sg_reap_index_new();
    assert_non_null(x);
    sg_session_record r;
    for (int i = 0; i < N; i++) {
        record_of(i, &r);
        assert_non_null(sg_reap_index_set(x, r.session_id, 10 + (uint64_t)i, &r, 1));
    }
    assert_int_equal(sg_reap_index_count(x), N);
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "s%05d-S", i);
        sg_reap_fact *f = sg_reap_index_find(x, id);
        assert_non_null(f);
        assert_string_equal(f->id, id);
        assert_int_equal(f->rev, 10 + i);
        assert_true(f->readable);
        assert_int_equal(f->claim_deadline, 1000000 + i);
        if (i % 3 == 0) {
            char gs[32];
            snprintf(gs, sizeof gs, "gs%d.example", i % 7);
            assert_int_equal(f->state, SG_SESSION_CLAIMED);
            assert_string_equal(f->server, gs);
            assert_int_equal(f->claimed_at, 2000000 + i);
        } else {
            assert_int_equal(f->state, SG_SESSION_UNCLAIMED);
            assert_null(f->server);
        }
    }
    assert_null(sg_reap_index_find(x, "s99999-S"));
    assert_null(sg_reap_index_find(x, "s0000-S")); /* a prefix of a known id */
    sg_reap_index_free(x);
}

static void reading_again_replaces_and_unreadable_clears(void **state)
{
    (void)state;
    sg_reap_index *x = sg_reap_index_new();
    sg_session_record r;
    record_of(3, &r); /* claimed */
    assert_non_null(sg_reap_index_set(x, r.session_id, 5, &r, 1));
    r.state = SG_SESSION_RELEASED;
    r.released_at = 777;
    r.claimed_by_fqdn[0] = '\0';
    sg_reap_fact *f = sg_reap_index_set(x, r.session_id, 9, &r, 2);
    assert_non_null(f);
    assert_int_equal(sg_reap_index_count(x), 1);
    assert_int_equal(f->rev, 9);
    assert_int_equal(f->pass, 2);
    assert_int_equal(f->state, SG_SESSION_RELEASED);
    assert_int_equal(f->released_at, 777);
    assert_null(f->server);
    /* the record at revision 12 does not parse: nothing of the old facts remains */
    f = sg_reap_index_set(x, r.session_id, 12, NULL, 3);
    assert_non_null(f);
    assert_int_equal(sg_reap_index_count(x), 1);
    assert_false(f->readable);
    assert_int_equal(f->rev, 12);
    assert_int_equal(f->released_at, 0);
    assert_int_equal(f->claim_deadline, 0);
    sg_reap_index_free(x);
}

typedef struct visit {
    unsigned char *seen;
    int calls, stop_after;
} visit;

static bool visit_one(void *arg, sg_reap_fact *f)
{
    visit *v = arg;
    int i = atoi(f->id + 1);
    assert_true(i >= 0 && i < N);
    v->seen[i]++;
    v->calls++;
    return v->stop_after == 0 || v->calls < v->stop_after;
}

static void a_pass_forgets_what_it_did_not_list(void **state)
{
    (void)state;
    sg_reap_index *x = sg_reap_index_new();
    sg_session_record r;
    for (int i = 0; i < N; i++) {
        record_of(i, &r);
        assert_non_null(sg_reap_index_set(x, r.session_id, 1, &r, 1));
    }
    /* pass 2 lists every id but those divisible by 5 */
    int kept = 0;
    for (int i = 0; i < N; i++) {
        if (i % 5 == 0) continue;
        char id[32];
        snprintf(id, sizeof id, "s%05d-S", i);
        sg_reap_index_find(x, id)->pass = 2;
        kept++;
    }
    sg_reap_index_prune(x, 2);
    assert_int_equal(sg_reap_index_count(x), kept);
    visit v = {.seen = calloc(N, 1)};
    sg_reap_index_each(x, visit_one, &v);
    assert_int_equal(v.calls, kept);
    for (int i = 0; i < N; i++)
        assert_int_equal(v.seen[i], i % 5 == 0 ? 0 : 1);
    /* fn's false stops the walk */
    memset(v.seen, 0, N);
    v.calls = 0;
    v.stop_after = 10;
    sg_reap_index_each(x, visit_one, &v);
    assert_int_equal(v.calls, 10);
    free(v.seen);
    sg_reap_index_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(facts_are_kept_by_id_as_the_table_grows),
        cmocka_unit_test(reading_again_replaces_and_unreadable_clears),
        cmocka_unit_test(a_pass_forgets_what_it_did_not_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
