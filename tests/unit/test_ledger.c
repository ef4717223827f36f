/* The ledger, the one owner of session records, claims, releases and delete jobs, over a
 * real SQLite file. Records are written and read back as JSON text by the test itself, so
 * the ledger is checked against bytes it did not produce. */
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

#include "seatgate/ledger.h"

typedef struct fixture {
    char dir[64];
    sg_store *store;
    sg_ledger *ledger;
    sg_bucket *sessions, *tokens;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sg-ledger-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    char url[128];
    snprintf(url, sizeof url, "sqlite://%s/state.db", f->dir);
    sg_store_options so;
    sg_store_options_init(&so);
    so.url = url;
    if (sg_store_open(&so, &f->store) != SG_OK) return -1;
    sg_ledger_options lo = {.role = SG_LEDGER_GAME_SERVER};
    if (sg_ledger_open(f->store, &lo, &f->ledger) != SG_OK) return -1;
    sg_bucket_options bo;
    sg_bucket_default_options(SG_BUCKET_SESSIONS, &bo);
    if (sg_bucket_open(f->store, SG_BUCKET_SESSIONS, &bo, &f->sessions) != SG_OK) return -1;
    sg_bucket_default_options(SG_BUCKET_CONNECT_TOKENS, &bo);
    if (sg_bucket_open(f->store, SG_BUCKET_CONNECT_TOKENS, &bo, &f->tokens) != SG_OK) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sg_bucket_close(f->sessions);
    sg_bucket_close(f->tokens);
    sg_ledger_close(f->ledger);
    sg_store_close(f->store);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

/* The test's own writer of a session record. */
/* A ledger as the matchmaker opens it, on the fixture's store. */
static sg_ledger *open_matchmaker(fixture *f)
{
    sg_ledger *mm = NULL;
    sg_ledger_options lo = {.role = SG_LEDGER_MATCHMAKER};
    assert_int_equal(sg_ledger_open(f->store, &lo, &mm), SG_OK);
    return mm;
}

static void put_raw(fixture *f, const char *id, const char *json)
{
    assert_int_equal(sg_kv_put(f->sessions, id, json, strlen(json), NULL), SG_OK);
}

static void put_unclaimed(fixture *f, const char *id, const char *client_id)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"session_id\":\"%s\",\"state\":\"unclaimed\",\"created_at\":1000,"
             "\"claim_deadline\":99999999999999%s%s%s}",
             id, client_id ? ",\"client_id\":\"" : "", client_id ? client_id : "",
             client_id ? "\"" : "");
    put_raw(f, id, json);
}

/* The stored record, parsed by cJSON (not by the code under test). */
static cJSON *get_raw(fixture *f, const char *id)
{
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_kv_get(f->sessions, id, &e), SG_OK);
    cJSON *j = cJSON_ParseWithLength(e->value, e->len);
    sg_kv_entry_free(e);
    assert_non_null(j);
    return j;
}

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void one_claim_wins(void **state)
{
    fixture *f = *state;
    put_unclaimed(f, "s-1", "42");
    sg_claim a = {"s-1", 42, "gs-a", "req-a", 5000, NULL};
    sg_claim b = {"s-1", 42, "gs-b", "req-b", 5001, NULL};
    assert_int_equal(sg_ledger_claim(f->ledger, &a), SG_OK);
    assert_int_equal(sg_ledger_claim(f->ledger, &b), SG_E_CONFLICT);
    assert_string_equal(sg_last_error(), "session s-1 is claimed");
    cJSON *j = get_raw(f, "s-1");
    assert_string_equal(str_at(j, "state", NULL), "claimed");
    assert_string_equal(str_at(j, "claimed_by", "fqdn"), "gs-a");
    assert_string_equal(str_at(j, "claimed_by", "request_id"), "req-a");
    assert_string_equal(str_at(j, "client_id", NULL), "42");
    cJSON_Delete(j);

    /* issued to another client; no record at all */
    put_unclaimed(f, "s-2", "7");
    sg_claim c = {"s-2", 8, "gs-a", "req-a", 5000, NULL};
    assert_int_equal(sg_ledger_claim(f->ledger, &c), SG_E_CONFLICT);
    assert_string_equal(sg_last_error(), "session s-2 was issued to another client");
    sg_claim d = {"s-none", 8, "gs-a", "req-a", 5000, NULL};
    assert_int_equal(sg_ledger_claim(f->ledger, &d), SG_E_NOT_FOUND);
}

/* The claim hands back the record's authenticated player ("" for an anonymous one). */
static void claim_reads_the_user_id(void **state)
{
    fixture *f = *state;
    put_raw(f, "s-u", "{\"session_id\":\"s-u\",\"state\":\"unclaimed\",\"created_at\":1000,"
                      "\"claim_deadline\":99999999999999,\"client_id\":\"5\","
                      "\"user_id\":\"auth0|5f7c.a@b\"}");
    char user[SG_REC_USER_MAX] = "stale";
    sg_claim a = {"s-u", 5, "gs-a", "req-a", 5000, user};
    assert_int_equal(sg_ledger_claim(f->ledger, &a), SG_OK);
    assert_string_equal(user, "auth0|5f7c.a@b");
    cJSON *j = get_raw(f, "s-u");
    assert_string_equal(str_at(j, "user_id", NULL), "auth0|5f7c.a@b"); /* kept by the claim */
    cJSON_Delete(j);
    put_unclaimed(f, "s-anon", "6");
    sg_claim b = {"s-anon", 6, "gs-a", "req-a", 5000, user};
    assert_int_equal(sg_ledger_claim(f->ledger, &b), SG_OK);
    assert_string_equal(user, "");
    /* a record whose user id holds a character no id may: unreadable, nothing claimed */
    put_raw(f, "s-bad", "{\"session_id\":\"s-bad\",\"state\":\"unclaimed\",\"created_at\":1000,"
                        "\"claim_deadline\":99999999999999,\"user_id\":\"a b\"}");
    sg_claim c = {"s-bad", 7, "gs-a", "req-a", 5000, user};
    assert_int_equal(sg_ledger_claim(f->ledger, &c), SG_E_MALFORMED);
    j = get_raw(f, "s-bad");
    assert_string_equal(str_at(j, "state", NULL), "unclaimed");
    cJSON_Delete(j);
}

static void release_only_what_one_holds(void **state)
{
    fixture *f = *state;
    put_unclaimed(f, "s-3", NULL);
    sg_claim a = {"s-3", 9, "gs-a", "req-a", 5000, NULL};
    assert_int_equal(sg_ledger_claim(f->ledger, &a), SG_OK);
    bool released = true;
    /* another server, another client: nothing changes */
    assert_int_equal(sg_ledger_release(f->ledger, "s-3", 9, "gs-b", "player_left", 6000, &released),
                     SG_OK);
    assert_false(released);
    assert_int_equal(
        sg_ledger_release(f->ledger, "s-3", 10, "gs-a", "player_left", 6000, &released), SG_OK);
    assert_false(released);
    cJSON *j = get_raw(f, "s-3");
    assert_string_equal(str_at(j, "state", NULL), "claimed");
    cJSON_Delete(j);
    /* the holder: released with the record's name of the reason */
    const char *why = sg_disconnect_release_name(SG_DISCONNECT_TIMEOUT);
    assert_string_equal(why, "player_timeout");
    assert_int_equal(sg_ledger_release(f->ledger, "s-3", 9, "gs-a", why, 6000, &released), SG_OK);
    assert_true(released);
    j = get_raw(f, "s-3");
    assert_string_equal(str_at(j, "state", NULL), "released");
    assert_string_equal(str_at(j, "release_reason", NULL), "player_timeout");
    cJSON_Delete(j);
    /* again: no longer theirs */
    assert_int_equal(sg_ledger_release(f->ledger, "s-3", 9, "gs-a", why, 7000, &released), SG_OK);
    assert_false(released);
}

/* One list of disconnect reasons, two names each; past the list, safe names. */
static void disconnect_reasons_have_both_names(void **state)
{
    (void)state;
    const char *event[] = {"goodbye", "timeout", "kicked", "server_stop", "error"};
    const char *record[] = {"player_left", "player_timeout", "player_kicked", "server_stop",
                            "player_error"};
    for (int i = 0; i < SG_DISCONNECT_REASON_COUNT; i++) {
        assert_string_equal(sg_disconnect_reason_name((sg_disconnect_reason)i), event[i]);
        assert_string_equal(sg_disconnect_release_name((sg_disconnect_reason)i), record[i]);
    }
    assert_string_equal(sg_disconnect_reason_name(SG_DISCONNECT_REASON_COUNT), "unknown");
    assert_string_equal(sg_disconnect_release_name(SG_DISCONNECT_REASON_COUNT), "player_left");
}

/* A bad record gets one error, whoever reads it; nothing is written over it. */
static void bad_records_get_one_error(void **state)
{
    fixture *f = *state;
    put_raw(f, "s-bad", "{\"session_id\":\"s-bad\",\"state\":\"sideways\"}");
    sg_session_record r;
    assert_int_equal(sg_ledger_get_session(f->ledger, "s-bad", &r, NULL), SG_E_MALFORMED);
    assert_non_null(strstr(sg_last_error(), "sessions: unreadable record s-bad: "));
    sg_claim c = {"s-bad", 1, "gs-a", "req-a", 5000, NULL};
    assert_int_equal(sg_ledger_claim(f->ledger, &c), SG_E_MALFORMED);
    assert_int_equal(sg_ledger_release(f->ledger, "s-bad", 1, "gs-a", "player_left", 1, NULL),
                     SG_E_MALFORMED);
    cJSON *j = get_raw(f, "s-bad");
    assert_string_equal(str_at(j, "state", NULL), "sideways");
    cJSON_Delete(j);

    /* connect_tokens: a value that is not a session id */
    char key[32];
    sg_connect_token_key(77, key, sizeof key);
    assert_int_equal(sg_kv_put(f->tokens, key, "not a key!", 10, NULL), SG_OK);
    char sid[SG_REC_ID_MAX];
    assert_int_equal(sg_ledger_lookup_client(f->ledger, 77, sid, sizeof sid), SG_E_MALFORMED);
    assert_string_equal(sg_last_error(), "connect_tokens: bad value for 77");
    assert_int_equal(sg_kv_put(f->tokens, key, "s-1", 3, NULL), SG_OK);
    assert_int_equal(sg_ledger_lookup_client(f->ledger, 77, sid, sizeof sid), SG_OK);
    assert_string_equal(sid, "s-1");
    assert_int_equal(sg_ledger_lookup_client(f->ledger, 78, sid, sizeof sid), SG_E_NOT_FOUND);
}

/* A game server's ledger does not open the matchmaker's buckets, and says so. */
static void roles_open_their_buckets(void **state)
{
    fixture *f = *state;
    sg_create_intent in;
    memset(&in, 0, sizeof in);
    snprintf(in.marker, sizeof in.marker, "m-1");
    assert_int_equal(sg_ledger_put_intent(f->ledger, &in), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "ledger: session_intents is not opened by this role");
    assert_int_equal(sg_ledger_put_context(f->ledger, "gs-a", "{}", 2), SG_OK);
    assert_int_equal(sg_ledger_enqueue_delete(f->ledger, "s-1", "player_left", "gs-a"), SG_OK);

    sg_ledger *mm = open_matchmaker(f);
    assert_int_equal(sg_ledger_put_context(mm, "gs-a", "{}", 2), SG_E_INVALID);
    /* the job the game server queued is the one the matchmaker takes */
    sg_job *job = NULL;
    sg_delete_job dj;
    assert_int_equal(sg_ledger_take_delete(mm, 1000, &job, &dj), SG_OK);
    assert_non_null(job);
    assert_string_equal(dj.session_id, "s-1");
    assert_string_equal(dj.reason, "player_left");
    assert_string_equal(dj.requested_by, "gs-a");
    sg_job_ack(job);
    sg_job_free(job);
    sg_ledger_close(mm);
}

/* The raw value of key in bucket name (NULL when absent), parsed by cJSON. */
static cJSON *get_raw_in(fixture *f, const char *name, const char *key)
{
    sg_bucket *b = NULL;
    sg_bucket_options bo;
    sg_bucket_default_options(name, &bo);
    assert_int_equal(sg_bucket_open(f->store, name, &bo, &b), SG_OK);
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(b, key, &e);
    cJSON *j = st == SG_OK ? cJSON_ParseWithLength(e->value, e->len) : NULL;
    if (st == SG_OK)
        assert_non_null(j);
    else
        assert_int_equal(st, SG_E_NOT_FOUND);
    sg_kv_entry_free(e);
    sg_bucket_close(b);
    return j;
}

static void make_intent(sg_create_intent *in, char fill)
{
    memset(in, 0, sizeof *in);
    memset(in->marker, fill, SG_INTENT_MARKER_LEN);
    snprintf(in->player_ip, sizeof in->player_ip, "203.0.113.7");
    snprintf(in->app, sizeof in->app, "game");
    snprintf(in->version, sizeof in->version, "v1");
    in->created_at = 1000;
    in->window_ms = 5000;
    in->reconcile_after = 7000;
    snprintf(in->matchmaker, sizeof in->matchmaker, "mm-a");
}

/* A seat is reserved together with its create intent; a player at the cap gets neither; the
 * session record, the intent's removal and the seat's session land together. */
static void seat_and_intent_are_written_together(void **state)
{
    fixture *f = *state;
    sg_ledger *mm = open_matchmaker(f);
    sg_create_intent in1, in2;
    make_intent(&in1, 'a');
    make_intent(&in2, 'b');
    sg_seats_request rq = {.player = "203.0.113.7",
                           .marker = in1.marker,
                           .until = 99999999999999,
                           .cap = 1,
                           .reuse_margin_ms = 1000,
                           .intent = &in1};
    sg_seats_result res = SG_SEATS_FULL;
    sg_session_record held;
    uint64_t held_rev = 0;
    long long retry = 0;
    assert_int_equal(sg_ledger_reserve_seat(mm, &rq, &res, &held, &held_rev, &retry), SG_OK);
    assert_int_equal(res, SG_SEATS_RESERVED);
    cJSON *j = get_raw_in(f, SG_BUCKET_SESSION_INTENTS, in1.marker);
    assert_non_null(j);
    assert_string_equal(str_at(j, "player_ip", NULL), "203.0.113.7");
    cJSON_Delete(j);
    char key[128];
    sg_player_seats_key("203.0.113.7", key, sizeof key);
    j = get_raw_in(f, SG_BUCKET_PLAYER_SEATS, key);
    assert_non_null(j);
    const cJSON *seats = cJSON_GetObjectItemCaseSensitive(j, "seats");
    assert_int_equal(cJSON_GetArraySize(seats), 1);
    assert_string_equal(str_at(cJSON_GetArrayItem(seats, 0), "marker", NULL), in1.marker);
    cJSON_Delete(j);

    /* At the cap: FULL, and the second create's intent is not written. */
    rq.marker = in2.marker;
    rq.intent = &in2;
    assert_int_equal(sg_ledger_reserve_seat(mm, &rq, &res, &held, &held_rev, &retry), SG_OK);
    assert_int_equal(res, SG_SEATS_FULL);
    assert_null(get_raw_in(f, SG_BUCKET_SESSION_INTENTS, in2.marker));

    /* The record, the intent's removal and the seat naming its session: one batch. */
    put_unclaimed(f, "s-1", NULL);
    sg_session_record r;
    assert_int_equal(sg_ledger_get_session(mm, "s-1", &r, NULL), SG_OK);
    sg_seat_update su = {.player = "203.0.113.7", .marker = in1.marker, .until = 99999999999998};
    assert_int_equal(sg_ledger_record_session(mm, &r, in1.marker, &su), SG_OK);
    assert_int_equal(su.result, SG_OK);
    assert_null(get_raw_in(f, SG_BUCKET_SESSION_INTENTS, in1.marker));
    j = get_raw_in(f, SG_BUCKET_PLAYER_SEATS, key);
    const cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "seats"), 0);
    assert_string_equal(str_at(s0, "session_id", NULL), "s-1");
    assert_true(cJSON_GetObjectItemCaseSensitive(s0, "until")->valuedouble == 99999999999998.0);
    cJSON_Delete(j);

    /* A reservation the player does not have: the record is written, the seat is not found. */
    sg_seat_update none = {.player = "203.0.113.7", .marker = in2.marker, .until = 1};
    put_unclaimed(f, "s-2", NULL);
    assert_int_equal(sg_ledger_get_session(mm, "s-2", &r, NULL), SG_OK);
    assert_int_equal(sg_ledger_record_session(mm, &r, NULL, &none), SG_OK);
    assert_int_equal(none.result, SG_E_NOT_FOUND);
    j = get_raw(f, "s-2");
    assert_string_equal(str_at(j, "session_id", NULL), "s-2");
    cJSON_Delete(j);
    sg_ledger_close(mm);
}

/* The record's seat update made over the player's record as the reservation wrote it: right
 * when nothing changed since, and still right (read again) when something did. */
static void seat_update_over_the_record_as_written(void **state)
{
    fixture *f = *state;
    sg_ledger *mm = open_matchmaker(f);
    sg_create_intent in1, in2;
    make_intent(&in1, 'c');
    make_intent(&in2, 'd');
    sg_player_seats written, written2;
    uint64_t rev = 0, rev2 = 0;
    sg_seats_request rq = {.player = "198.51.100.9",
                           .marker = in1.marker,
                           .until = 99999999999999,
                           .cap = 2,
                           .reuse_margin_ms = 1000,
                           .intent = &in1,
                           .written = &written,
                           .written_rev = &rev};
    sg_seats_result res = SG_SEATS_FULL;
    sg_session_record held;
    uint64_t held_rev = 0;
    long long retry = 0;
    assert_int_equal(sg_ledger_reserve_seat(mm, &rq, &res, &held, &held_rev, &retry), SG_OK);
    assert_int_equal(res, SG_SEATS_RESERVED);
    assert_true(rev > 0);
    assert_int_equal(written.count, 1);
    assert_string_equal(written.seats[0].marker, in1.marker);
    char key[128];
    sg_player_seats_key("198.51.100.9", key, sizeof key);

    /* nothing changed since: the update over the known record lands */
    put_unclaimed(f, "s-k1", NULL);
    sg_session_record r;
    assert_int_equal(sg_ledger_get_session(mm, "s-k1", &r, NULL), SG_OK);
    sg_seat_update su = {.player = "198.51.100.9",
                         .marker = in1.marker,
                         .until = 99999999999990,
                         .known = &written,
                         .known_rev = rev};
    assert_int_equal(sg_ledger_record_session(mm, &r, in1.marker, &su), SG_OK);
    assert_int_equal(su.result, SG_OK);
    cJSON *j = get_raw_in(f, SG_BUCKET_PLAYER_SEATS, key);
    const cJSON *seats = cJSON_GetObjectItemCaseSensitive(j, "seats");
    assert_int_equal(cJSON_GetArraySize(seats), 1);
    assert_string_equal(str_at(cJSON_GetArrayItem(seats, 0), "session_id", NULL), "s-k1");
    cJSON_Delete(j);

    /* a second reservation, then a stale known record (from before the first update): the
     * update is refused by revision, read again and made over what is there, keeping both */
    rq.marker = in2.marker;
    rq.intent = &in2;
    rq.written = &written2;
    rq.written_rev = &rev2;
    assert_int_equal(sg_ledger_reserve_seat(mm, &rq, &res, &held, &held_rev, &retry), SG_OK);
    assert_int_equal(res, SG_SEATS_RESERVED);
    assert_int_equal(written2.count, 2);
    sg_ledger_seat_session(mm, "198.51.100.9", in1.marker, "s-k1", 99999999999991); /* moves it */
    put_unclaimed(f, "s-k2", NULL);
    assert_int_equal(sg_ledger_get_session(mm, "s-k2", &r, NULL), SG_OK);
    sg_seat_update su2 = {.player = "198.51.100.9",
                          .marker = in2.marker,
                          .until = 99999999999992,
                          .known = &written2,
                          .known_rev = rev2};
    assert_int_equal(sg_ledger_record_session(mm, &r, in2.marker, &su2), SG_OK);
    assert_int_equal(su2.result, SG_OK);
    j = get_raw_in(f, SG_BUCKET_PLAYER_SEATS, key);
    seats = cJSON_GetObjectItemCaseSensitive(j, "seats");
    assert_int_equal(cJSON_GetArraySize(seats), 2);
    const cJSON *a = cJSON_GetArrayItem(seats, 0), *b = cJSON_GetArrayItem(seats, 1);
    assert_string_equal(str_at(a, "session_id", NULL), "s-k1");
    assert_true(cJSON_GetObjectItemCaseSensitive(a, "until")->valuedouble == 99999999999991.0);
    assert_string_equal(str_at(b, "session_id", NULL), "s-k2");
    assert_true(cJSON_GetObjectItemCaseSensitive(b, "until")->valuedouble == 99999999999992.0);
    cJSON_Delete(j);
    sg_ledger_close(mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_claim_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(claim_reads_the_user_id, setup, teardown),
        cmocka_unit_test_setup_teardown(release_only_what_one_holds, setup, teardown),
        cmocka_unit_test(disconnect_reasons_have_both_names),
        cmocka_unit_test_setup_teardown(bad_records_get_one_error, setup, teardown),
        cmocka_unit_test_setup_teardown(roles_open_their_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(seat_and_intent_are_written_together, setup, teardown),
        cmocka_unit_test_setup_teardown(seat_update_over_the_record_as_written, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
