/* The leaderboard's pieces: ELO against values worked out by hand, the ordered index
 * against a brute-force ranking, batches over events written by the test as JSON text, and
 * the journal over a real SQLite file (a batch half-written is finished; a journal that does
 * not continue the stored state is dropped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "lb.h"
#include "rank.h"

/* ---- ELO ------------------------------------------------------------------------------- */

static void elo_matches_hand_worked_values(void **state)
{
    (void)state;
    double w, l;
    /* Equal ratings, K 32: expected 0.5, so the winner gains 16. */
    sg_lb_elo(1500, 1500, 32, &w, &l);
    assert_float_equal(w, 1516.0, 1e-9);
    assert_float_equal(l, 1484.0, 1e-9);
    /* 1516 beats 1484 again: E = 1 / (1 + 10^(-32/400)) = 1 / 1.831763771 = 0.545922;
     * 32 * 0.454078 = 14.530 */
    sg_lb_elo(1516, 1484, 32, &w, &l);
    assert_float_equal(w, 1530.530, 1e-3);
    assert_float_equal(l, 1469.470, 1e-3);
    /* An upset: 1400 beats 1800, K 20: E = 1 / (1 + 10^(400/400)) = 1/11; 20 * 10/11 = 18.18 */
    sg_lb_elo(1400, 1800, 20, &w, &l);
    assert_float_equal(w, 1418.182, 1e-3);
    assert_float_equal(l, 1781.818, 1e-3);
}

/* ---- the index ------------------------------------------------------------------------ */

static const char kinds2[2][SG_REC_NAME_MAX] = {"kill", "death"};

static void make_player(sg_lb_player *p, const char *id, double rating, long long kills)
{
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%.150s", id);
    p->rating = rating;
    p->nkinds = 1;
    snprintf(p->totals[0].kind, sizeof p->totals[0].kind, "kill");
    p->totals[0].sum = kills;
    p->updated_at = 1;
}

typedef struct ref {
    char id[16];
    long long kills;
} ref;

static int ref_cmp(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    if (x->kills != y->kills) return x->kills > y->kills ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void index_ranks_like_a_sort(void **state)
{
    (void)state;
    sg_rank *r = NULL;
    assert_int_equal(sg_rank_new(kinds2, 2, &r), SG_OK);
    enum { N = 3000 };
    static ref refs[N];
    unsigned seed = 7;
    for (int round = 0; round < 3; round++) { /* every player written three times */
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            snprintf(refs[i].id, sizeof refs[i].id, "p%04d", i);
            refs[i].kills = (long long)((seed >> 16) % 50); /* many ties */
            sg_lb_player p;
            make_player(&p, refs[i].id, 1000 + (double)i, refs[i].kills);
            assert_int_equal(sg_rank_put(r, &p), SG_OK);
        }
    }
    assert_int_equal(sg_rank_count(r), N);
    static ref sorted[N];
    memcpy(sorted, refs, sizeof sorted);
    qsort(sorted, N, sizeof *sorted, ref_cmp);
    int kill_rank = sg_rank_of_kind(r, "kill");
    assert_int_equal(kill_rank, 1);
    assert_int_equal(sg_rank_of_kind(r, "elo"), 0);
    assert_int_equal(sg_rank_of_kind(r, "assist"), -1);
    static sg_rank_row rows[N];
    assert_int_equal(sg_rank_top(r, kill_rank, 1, N, rows), N);
    for (int i = 0; i < N; i++) {
        assert_string_equal(rows[i].player.id, sorted[i].id);
        assert_int_equal(rows[i].rank, i + 1);
    }
    /* from the middle */
    assert_int_equal(sg_rank_top(r, kill_rank, 2999, 10, rows), 2);
    assert_string_equal(rows[0].player.id, sorted[2998].id);
    /* a player's ranks: by kills as in the sort; by rating (1000 + i) the reverse of i */
    sg_lb_player got;
    size_t ranks[SG_RANK_MAX];
    for (int i = 0; i < N; i += 97) {
        assert_true(sg_rank_find(r, sorted[i].id, &got, ranks));
        assert_int_equal(ranks[1], i + 1);
        int idx = atoi(sorted[i].id + 1);
        assert_int_equal(ranks[0], N - idx);
    }
    assert_false(sg_rank_find(r, "nobody", &got, ranks));
    sg_rank_free(r);
}

/* ---- batches ---------------------------------------------------------------------------- */

typedef struct world {
    sg_lb_player stored[8];
    size_t n;
    int fail_loads; /* loads that fail (the store down) */
} world;

static sg_status load(void *arg, const char *id, sg_lb_player *out)
{
    world *w = arg;
    if (w->fail_loads > 0) {
        w->fail_loads--;
        return sg_fail(SG_E_UNAVAILABLE, "store down");
    }
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->stored[i].id, id) == 0) {
            *out = w->stored[i];
            return SG_OK;
        }
    }
    return SG_E_NOT_FOUND;
}

static sg_lb_rules rules(void)
{
    sg_lb_rules r = {.k_factor = 32, .initial_rating = 1500, .max_event_bytes = 600};
    assert_int_equal(sg_lb_rules_set_kinds(&r, "kill, death,score"), SG_OK);
    snprintf(r.rated_kind, sizeof r.rated_kind, "kill");
    return r;
}

static sg_status add(sg_lb_batch *b, uint64_t pos, const char *json)
{
    return sg_lb_batch_add(b, pos, json, strlen(json), 5000);
}

#define KILL(sid, uid, tsid, tuid)                                                            \
    "{\"kind\":\"score\",\"ts\":1000,\"app\":\"g\",\"source\":\"s1\",\"session_id\":\"" sid    \
    "\",\"client_id\":\"7\",\"score_kind\":\"kill\",\"value\":1" uid tsid tuid "}"

static const sg_lb_player *find(const sg_lb_batch *b, const char *id)
{
    for (size_t i = 0; i < b->count; i++)
        if (strcmp(b->players[i].id, id) == 0) return &b->players[i];
    return NULL;
}

static void batch_applies_and_skips(void **state)
{
    (void)state;
    sg_lb_rules r = rules();
    world w = {0};
    make_player(&w.stored[0], "alice", 1600, 10); /* known from an earlier batch */
    w.n = 1;
    sg_lb_state from = {.pos = 10, .applied = 4};
    sg_lb_batch *b = malloc(sizeof *b);
    sg_lb_batch_init(b, &r, &from, load, &w);
    /* alice (signed in) kills an anonymous player whose session is s-bob */
    assert_int_equal(add(b, 11, KILL("s-a", ",\"user_id\":\"alice\"", ",\"target_session_id\":\"s-bob\"",
                                     "")),
                     SG_OK);
    /* bob's connect, and a death */
    assert_int_equal(
        add(b, 12, "{\"kind\":\"player_connect\",\"ts\":1200,\"app\":\"g\",\"source\":\"s1\","
                   "\"session_id\":\"s-bob\",\"client_id\":\"9\",\"player_ip\":\"127.0.0.1\","
                   "\"fqdn\":\"s1\"}"),
        SG_OK);
    assert_int_equal(add(b, 13, "{\"kind\":\"score\",\"ts\":1300,\"app\":\"g\",\"source\":\"s1\","
                                "\"session_id\":\"s-bob\",\"client_id\":\"9\","
                                "\"score_kind\":\"death\",\"value\":1}"),
                     SG_OK);
    /* skipped: not JSON, a required field missing, an unknown kind, oversize */
    assert_int_equal(add(b, 14, "{not json"), SG_OK);
    assert_int_equal(add(b, 15, "{\"kind\":\"score\",\"ts\":1,\"app\":\"g\",\"source\":\"s\"}"), SG_OK);
    assert_int_equal(add(b, 16, "{\"kind\":\"score\",\"ts\":1,\"app\":\"g\",\"source\":\"s\","
                                "\"session_id\":\"s-a\",\"client_id\":\"7\","
                                "\"score_kind\":\"flag_capture\",\"value\":1}"),
                     SG_OK);
    char big[700];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "{\"kind\":\"score\"}", 16);
    assert_int_equal(add(b, 17, big), SG_OK);
    /* a kill whose target is not known: counted, unrated */
    assert_int_equal(add(b, 18, KILL("s-a", ",\"user_id\":\"alice\"", "", "")), SG_OK);
    /* another kind of event only moves the position */
    assert_int_equal(add(b, 19, "{\"kind\":\"server_up\",\"ts\":1,\"app\":\"g\",\"source\":\"s1\","
                                "\"fqdn\":\"s1\",\"request_id\":\"r1\",\"public_ip\":\"127.0.0.1\"}"),
                     SG_OK);

    assert_int_equal(b->count, 2);
    const sg_lb_player *a = find(b, "alice"), *bob = find(b, "anon-s-bob");
    assert_non_null(a);
    assert_non_null(bob);
    assert_false(a->anonymous);
    assert_true(bob->anonymous);
    assert_int_equal(sg_lb_player_total(a, "kill"), 12); /* 10 before, 2 now */
    assert_int_equal(sg_lb_player_total(bob, "death"), 1);
    assert_int_equal(bob->sessions, 1);
    assert_int_equal(bob->last_seen, 1300);
    /* 1600 beats 1500, K 32: E = 1 / (1 + 10^(-100/400)) = 0.640065; 32 * 0.359935 = 11.518 */
    assert_float_equal(a->rating, 1611.518, 1e-3);
    assert_float_equal(bob->rating, 1488.482, 1e-3);
    assert_int_equal(a->rated, 1);
    assert_int_equal(a->pos, 18);
    assert_int_equal(b->state.pos, 19);
    assert_int_equal(b->state.applied, 4 + 4); /* 11, 12, 13, 18 */
    assert_int_equal(b->state.malformed, 2);
    assert_int_equal(b->state.unknown_kind, 1);
    assert_int_equal(b->state.oversize, 1);
    assert_int_equal(b->state.unrated, 1);
    assert_int_equal(b->from.pos, 10);

    /* The same events given again (a redelivery, a reader started from an older position):
     * nothing changes. */
    sg_lb_batch *again = malloc(sizeof *again);
    memcpy(again, b, sizeof *again);
    assert_int_equal(add(b, 11, KILL("s-a", ",\"user_id\":\"alice\"", ",\"target_session_id\":\"s-bob\"",
                                     "")),
                     SG_OK);
    assert_int_equal(add(b, 18, KILL("s-a", ",\"user_id\":\"alice\"", "", "")), SG_OK);
    assert_int_equal(add(b, 4, "{not json"), SG_OK);
    assert_memory_equal(b, again, sizeof *b);
    free(again);

    /* A player that cannot be read: the event is refused (the caller drops the batch). */
    sg_lb_batch_init(b, &r, &from, load, &w);
    w.fail_loads = 1;
    assert_int_equal(add(b, 11, KILL("s-a", ",\"user_id\":\"alice\"", "", "")), SG_E_UNAVAILABLE);
    free(b);
}

static void kinds_setting_is_checked(void **state)
{
    (void)state;
    sg_lb_rules r = {0};
    assert_int_equal(sg_lb_rules_set_kinds(&r, "kill,Kill"), SG_E_INVALID);
    assert_int_equal(sg_lb_rules_set_kinds(&r, "kill,kill"), SG_E_INVALID);
    assert_int_equal(sg_lb_rules_set_kinds(&r, ""), SG_E_INVALID);
    assert_int_equal(sg_lb_rules_set_kinds(&r, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p"), SG_E_INVALID);
    assert_int_equal(sg_lb_rules_set_kinds(&r, "kill,headshot_kill"), SG_OK);
    assert_int_equal(r.nkinds, 2);
    assert_string_equal(r.kinds[1], "headshot_kill");
}

/* ---- the journal over SQLite ---------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    sg_store *store;
    sg_lb_store s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sg-lb-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    char url[128];
    snprintf(url, sizeof url, "sqlite://%s/lb.db", f->dir);
    sg_store_options so;
    sg_store_options_init(&so);
    so.url = url;
    if (sg_store_open(&so, &f->store) != SG_OK) return -1;
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    if (sg_bucket_open(f->store, SG_BUCKET_LB_PLAYERS, &bo, &f->s.players) != SG_OK) return -1;
    bo.max_value_size = 1024 * 1024;
    if (sg_bucket_open(f->store, SG_BUCKET_LB_STATE, &bo, &f->s.state) != SG_OK) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sg_bucket_close(f->s.players);
    sg_bucket_close(f->s.state);
    sg_store_close(f->store);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static void put(sg_bucket *b, const char *key, const char *json)
{
    assert_int_equal(sg_kv_put(b, key, json, strlen(json), NULL), SG_OK);
}

static cJSON *get(sg_bucket *b, const char *key)
{
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(b, key, &e);
    if (st == SG_E_NOT_FOUND) return NULL;
    assert_int_equal(st, SG_OK);
    cJSON *j = cJSON_ParseWithLength(e->value, e->len);
    sg_kv_entry_free(e);
    assert_non_null(j);
    return j;
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void journal_left_behind_is_finished(void **state)
{
    fixture *f = *state;
    sg_lb_state st;
    /* nothing stored yet: all zero */
    assert_int_equal(sg_lb_recover(&f->s, &st), SG_OK);
    assert_int_equal(st.pos, 0);
    /* A crash after the journal, before the records: the journal (written here as text by
     * the test) continues the state (from 0) and is written again. */
    put(f->s.state, "journal",
        "{\"from\":0,\"state\":{\"pos\":42,\"applied\":3,\"updated_at\":5},"
        "\"players\":[{\"id\":\"alice\",\"anonymous\":false,\"totals\":{\"kill\":2},"
        "\"rating\":1516,\"pos\":42,\"updated_at\":5},{\"id\":\"anon-s1\",\"anonymous\":true,"
        "\"totals\":{},\"sessions\":1,\"rating\":1484,\"pos\":41,\"updated_at\":5}]}");
    assert_int_equal(sg_lb_recover(&f->s, &st), SG_OK);
    assert_int_equal(st.pos, 42);
    assert_int_equal(st.applied, 3);
    assert_null(get(f->s.state, "journal"));
    cJSON *a = get(f->s.state, "applied");
    assert_int_equal((long long)num(a, "pos", NULL), 42);
    cJSON_Delete(a);
    char key[40];
    sg_lb_player_key("alice", key, sizeof key);
    assert_int_equal(strlen(key), 34);
    cJSON *p = get(f->s.players, key);
    assert_non_null(p);
    assert_int_equal((long long)num(p, "totals", "kill"), 2);
    assert_float_equal(num(p, "rating", NULL), 1516, 1e-9);
    cJSON_Delete(p);
    /* A journal from an older start (the state has moved past its `from`): dropped, and
     * nothing it holds is written. */
    put(f->s.state, "journal",
        "{\"from\":10,\"state\":{\"pos\":99,\"applied\":50,\"updated_at\":5},"
        "\"players\":[{\"id\":\"alice\",\"anonymous\":false,\"totals\":{\"kill\":900},"
        "\"rating\":1,\"pos\":99,\"updated_at\":5}]}");
    assert_int_equal(sg_lb_recover(&f->s, &st), SG_OK);
    assert_int_equal(st.pos, 42);
    assert_null(get(f->s.state, "journal"));
    p = get(f->s.players, key);
    assert_int_equal((long long)num(p, "totals", "kill"), 2);
    cJSON_Delete(p);
    /* An unreadable journal: refused, kept for an operator to look at. */
    put(f->s.state, "journal", "{\"from\":42}");
    assert_int_equal(sg_lb_recover(&f->s, &st), SG_E_MALFORMED);
    cJSON *j = get(f->s.state, "journal");
    assert_non_null(j);
    cJSON_Delete(j);
}

static void commit_writes_everything(void **state)
{
    fixture *f = *state;
    sg_lb_rules r = rules();
    world w = {0};
    sg_lb_state from = {0};
    sg_lb_batch *b = malloc(sizeof *b);
    sg_lb_batch_init(b, &r, &from, load, &w);
    assert_int_equal(add(b, 3, KILL("s-a", "", ",\"target_session_id\":\"s-b\"", "")), SG_OK);
    assert_int_equal(sg_lb_commit(&f->s, b), SG_OK);
    free(b);
    assert_null(get(f->s.state, "journal"));
    char key[40];
    sg_lb_player_key("anon-s-b", key, sizeof key);
    cJSON *p = get(f->s.players, key);
    assert_non_null(p);
    assert_float_equal(num(p, "rating", NULL), 1484, 1e-9);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "anonymous")));
    cJSON_Delete(p);
    cJSON *a = get(f->s.state, "applied");
    assert_int_equal((long long)num(a, "pos", NULL), 3);
    assert_int_equal((long long)num(a, "applied", NULL), 1);
    cJSON_Delete(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elo_matches_hand_worked_values),
        cmocka_unit_test(index_ranks_like_a_sort),
        cmocka_unit_test(batch_applies_and_skips),
        cmocka_unit_test(kinds_setting_is_checked),
        cmocka_unit_test_setup_teardown(journal_left_behind_is_finished, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_writes_everything, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
