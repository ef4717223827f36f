/* Emits one example of every bucket value, queue payload and event, made by the real code,
 * plus the same values read back through both store backends (SQLite in a temporary file,
 * NATS from a nats-server started here). One JSON object per line:
 *
 *   {"schema":"urn:seatgate:schema:session","origin":"code","value":{...}}
 *
 * validate.mjs checks each value against its schema. Usage: emit_examples OUTPUT_FILE
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "nats_server.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"
#include "seatgate/records.h"

static FILE *out;
static int failures;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        sg_status st_ = (expr);                                                                    \
        if (st_ != SG_OK) {                                                                        \
            fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #expr,                     \
                    sg_status_name(st_), sg_last_error());                                         \
            failures++;                                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Writes one line; `text` is JSON, or plain text when as_string. */
static void emit(const char *schema, const char *origin, const char *text, size_t len,
                 bool as_string)
{
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "schema", schema);
    cJSON_AddStringToObject(line, "origin", origin);
    char *copy = strndup(text, len);
    cJSON *value = as_string ? cJSON_CreateString(copy) : cJSON_Parse(copy);
    free(copy);
    if (!value) {
        fprintf(stderr, "%s from %s is not JSON\n", schema, origin);
        failures++;
        cJSON_Delete(line);
        return;
    }
    cJSON_AddItemToObject(line, "value", value);
    char *s = cJSON_PrintUnformatted(line);
    fprintf(out, "%s\n", s);
    free(s);
    cJSON_Delete(line);
}

/* ---- examples built by the code ----------------------------------------------------------- */

/* The leaderboard's records: a signed-in and an anonymous player, the state, a journal
 * holding both, the lease (texts[5], each malloc()ed). */
static const char *const lb_schemas[5] = {
    "urn:seatgate:schema:leaderboard_player", "urn:seatgate:schema:leaderboard_player",
    "urn:seatgate:schema:leaderboard_state", "urn:seatgate:schema:leaderboard_journal",
    "urn:seatgate:schema:leaderboard_lease"};
static const char *const lb_keys[5] = {"p_00000000000000000000000000000001",
                                       "p_00000000000000000000000000000002", "applied", "journal",
                                       "lease"};

static sg_status lb_examples(char *texts[5])
{
    sg_lb_player lp[2];
    memset(lp, 0, sizeof lp);
    strcpy(lp[0].id, "auth0|5f7c8ec7c33c6c004bbafe82");
    lp[0].nkinds = 2;
    strcpy(lp[0].totals[0].kind, "kill");
    lp[0].totals[0].sum = 12;
    strcpy(lp[0].totals[1].kind, "score");
    lp[0].totals[1].sum = -40;
    lp[0].sessions = 3;
    lp[0].last_seen = 1763700004000LL;
    lp[0].rating = 1531.25;
    lp[0].rated = 12;
    lp[0].pos = 9001;
    lp[0].updated_at = 1763700005000LL;
    strcpy(lp[1].id, "anon-950dd2eaff09-S");
    lp[1].anonymous = true;
    lp[1].rating = 1500;
    lp[1].updated_at = 1763700005000LL;
    sg_lb_state ls = {.pos = 9001, .applied = 8000, .malformed = 3, .unknown_kind = 4,
                      .oversize = 1, .unrated = 7, .updated_at = 1763700005000LL};
    sg_lb_journal lj = {.from = 8900, .state = ls, .count = 2, .players = lp};
    sg_lb_lease ll = {.holder = "leaderboard-7f3a", .until = 1763700015000LL};
    memset(texts, 0, 5 * sizeof *texts);
    sg_status st = sg_lb_player_to_json(&lp[0], &texts[0]);
    if (!st) st = sg_lb_player_to_json(&lp[1], &texts[1]);
    if (!st) st = sg_lb_state_to_json(&ls, &texts[2]);
    if (!st) st = sg_lb_journal_to_json(&lj, &texts[3]);
    if (!st) st = sg_lb_lease_to_json(&ll, &texts[4]);
    if (st)
        for (int k = 0; k < 5; k++) free(texts[k]);
    return st;
}

static const char CONTEXT[] =
    "{\"request_id\":\"9f511e17a1b2\",\"public_ip\":\"198.51.100.4\",\"fqdn\":"
    "\"9f511e17.pr.edgegap.net\",\"ports\":{\"game\":{\"external\":31500,\"internal\":7000,"
    "\"protocol\":\"UDP\",\"name\":\"game\",\"tls_upgrade\":false,\"link\":"
    "\"9f511e17.pr.edgegap.net:31500\",\"proxy\":null}},\"location\":{\"city\":\"Montreal\","
    "\"country\":\"Canada\",\"continent\":\"North America\",\"administrative_division\":"
    "\"Quebec\",\"timezone\":\"America/Toronto\",\"latitude\":45.5,\"longitude\":-73.6},"
    "\"sockets\":\"10\",\"status\":\"Status.READY\",\"tags\":[\"seatgate\"]}";

static void session_examples(sg_session_record s[3])
{
    memset(s, 0, 3 * sizeof *s);
    strcpy(s[0].session_id, "aa11bb22cc33-S");
    s[0].created_at = 1763700000000LL;
    s[0].claim_deadline = 1763700060000LL;

    s[1] = s[0];
    strcpy(s[1].session_id, "950dd2eaff09-S");
    s[1].state = SG_SESSION_CLAIMED;
    s[1].client_id = 18446744073709551615ULL;
    strcpy(s[1].player_ip, "2001:db8::7");
    strcpy(s[1].app, "mygame");
    strcpy(s[1].version, "v1");
    strcpy(s[1].claimed_by_fqdn, "9f511e17.pr.edgegap.net");
    strcpy(s[1].claimed_by_request_id, "9f511e17a1b2");
    s[1].claimed_at = 1763700004000LL;
    s[1].has_deployment = true;
    strcpy(s[1].deployment.request_id, "9f511e17a1b2");
    strcpy(s[1].deployment.public_ip, "198.51.100.4");
    strcpy(s[1].deployment.fqdn, "9f511e17.pr.edgegap.net");
    s[1].deployment.port = 31500;
    strcpy(s[1].deployment.protocol, "UDP");
    s[1].deployment.has_location = true;
    strcpy(s[1].deployment.location.city, "Montreal");
    strcpy(s[1].deployment.location.country, "Canada");
    s[1].deployment.location.has_coords = true;
    s[1].deployment.location.latitude = 45.5;
    s[1].deployment.location.longitude = -73.6;
    strcpy(s[1].matchmaker, "mm-7f3a");
    strcpy(s[1].user_id, "0d3c6f2a-9b1e-4c7d-8a2f-5e6b7c8d9e0f");
    strcpy(s[1].placement, "joined");
    strcpy(s[1].placement_location, "Montreal");
    s[1].has_placement_rtt = true;
    s[1].placement_rtt_ms = 23.5;
    strcpy(s[1].placement_source, "measured");

    s[2] = s[1];
    strcpy(s[2].session_id, "dd44ee55ff66-S");
    s[2].state = SG_SESSION_RELEASED;
    s[2].released_at = 1763703600000LL;
    strcpy(s[2].release_reason, "player_left");
}

static void gameserver_example(sg_gameserver_record *g)
{
    memset(g, 0, sizeof *g);
    strcpy(g->request_id, "9f511e17a1b2");
    strcpy(g->fqdn, "9f511e17.pr.edgegap.net");
    strcpy(g->public_ip, "198.51.100.4");
    g->port_count = 2;
    strcpy(g->ports[0].name, "game");
    g->ports[0].external = 31500;
    g->ports[0].internal = 7000;
    strcpy(g->ports[0].protocol, "UDP");
    strcpy(g->ports[1].name, "http");
    g->ports[1].external = 31501;
    g->ports[1].internal = 8080;
    strcpy(g->ports[1].protocol, "TCP");
    g->has_location = true;
    strcpy(g->location.city, "Montreal");
    strcpy(g->location.country, "Canada");
    g->capacity = 10;
    g->players = 4;
    strcpy(g->cert_digest, "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea");
    g->started_at = 1763700000000LL;
    g->heartbeat_at = 1763700010000LL;
}

static void delete_job_example(sg_delete_job *j)
{
    memset(j, 0, sizeof *j);
    strcpy(j->session_id, "950dd2eaff09-S");
    strcpy(j->reason, "player_left");
    j->enqueued_at = 1763703600000LL;
    strcpy(j->requested_by, "9f511e17.pr.edgegap.net");
}

/* A player with a seat being created and one whose session exists (ipv6: a /64 prefix). */
static void player_seats_example(sg_player_seats *p, bool ipv6)
{
    memset(p, 0, sizeof *p);
    snprintf(p->player, sizeof p->player, "%s", ipv6 ? "2001:db8:1:2::/64" : "203.0.113.7");
    p->count = ipv6 ? 1 : 2;
    snprintf(p->seats[0].marker, sizeof p->seats[0].marker, "0123456789abcdef0123456789abcdef");
    p->seats[0].until = 1711033445123LL;
    if (!ipv6) {
        snprintf(p->seats[1].marker, sizeof p->seats[1].marker, "fedcba9876543210fedcba9876543210");
        snprintf(p->seats[1].session_id, sizeof p->seats[1].session_id, "950dd2eaff09-S");
        p->seats[1].until = 1711033475123LL;
    }
    p->updated_at = 1711033385123LL;
}

static void intent_example(sg_create_intent *i, bool reconciling)
{
    memset(i, 0, sizeof *i);
    strcpy(i->marker, "4f1a9c2b7d3e5f60718293a4b5c6d7e8");
    strcpy(i->player_ip, "203.0.113.7");
    strcpy(i->app, "demo");
    strcpy(i->version, "v1");
    i->created_at = 1763703600000LL;
    i->window_ms = 25000;
    i->reconcile_after = 1763703685000LL;
    strcpy(i->matchmaker, "mm-1");
    if (reconciling) {
        strcpy(i->marker_via, "webhook_url");
        strcpy(i->reconciling_by, "mm-2");
        i->reconciling_at = 1763703690000LL;
    }
}

/* Every kind, fully filled (full) or with only the required fields. */
static void event_example(sg_event *e, sg_event_kind kind, bool full)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->ts = 1763700000123LL;
    strcpy(e->app, "mygame");
    strcpy(e->source, "9f511e17.pr.edgegap.net");
    switch (kind) {
    case SG_EV_SERVER_UP:
    case SG_EV_SERVER_DOWN:
        strcpy(e->u.server.fqdn, "9f511e17.pr.edgegap.net");
        strcpy(e->u.server.request_id, "9f511e17a1b2");
        if (full) strcpy(e->u.server.public_ip, "198.51.100.4");
        if (full && kind == SG_EV_SERVER_DOWN) strcpy(e->u.server.reason, "shutdown");
        break;
    case SG_EV_PLAYER_CONNECT:
    case SG_EV_PLAYER_DISCONNECT:
        strcpy(e->u.player.session_id, "950dd2eaff09-S");
        e->u.player.client_id = 9007199254740993ULL;
        strcpy(e->u.player.player_ip, "203.0.113.7");
        strcpy(e->u.player.fqdn, "9f511e17.pr.edgegap.net");
        e->u.player.reason = SG_DISCONNECT_GOODBYE;
        e->u.player.duration_ms = (full && kind == SG_EV_PLAYER_DISCONNECT) ? 754000 : -1;
        if (full) strcpy(e->u.player.user_id, "0d3c6f2a-9b1e-4c7d-8a2f-5e6b7c8d9e0f");
        break;
    case SG_EV_VERIFY_REJECTED:
        strcpy(e->u.reject.player_ip, "203.0.113.9");
        strcpy(e->u.reject.fqdn, "9f511e17.pr.edgegap.net");
        e->u.reject.reason = full ? SG_REJECT_IP_MISMATCH : SG_REJECT_UNKNOWN_CLIENT;
        if (full) {
            e->u.reject.client_id = 12345;
            strcpy(e->u.reject.session_id, "950dd2eaff09-S");
            strcpy(e->u.reject.message, "source IP is not among the session's IPs");
            strcpy(e->u.reject.exposure, "hostport");
        }
        break;
    case SG_EV_SCORE:
        strcpy(e->u.score.session_id, "950dd2eaff09-S");
        e->u.score.client_id = 12345;
        strcpy(e->u.score.score_kind, "kill");
        e->u.score.value = 1;
        if (full) e->u.score.target_client_id = 67890;
        if (full) strcpy(e->u.score.user_id, "auth0|5f7c8ec7c33c6c004bbafe82");
        if (full) strcpy(e->u.score.target_session_id, "aa11bb22cc33-S");
        if (full) strcpy(e->u.score.target_user_id, "google-oauth2|1043");
        break;
    default:
        break;
    }
}

static void event_schema(sg_event_kind k, char *buf, size_t size)
{
    snprintf(buf, size, "urn:seatgate:schema:events:%s", sg_event_kind_name(k));
}

static void emit_code_examples(void)
{
    char *json = NULL;
    sg_session_record s[3];
    session_examples(s);
    for (int i = 0; i < 3; i++) {
        CHECK(sg_session_to_json(&s[i], &json));
        emit("urn:seatgate:schema:session", "code", json, strlen(json), false);
        free(json);
    }
    sg_gameserver_record g;
    gameserver_example(&g);
    CHECK(sg_gameserver_to_json(&g, &json));
    emit("urn:seatgate:schema:gameserver", "code", json, strlen(json), false);
    free(json);
    CHECK(sg_context_check(CONTEXT, strlen(CONTEXT), NULL));
    emit("urn:seatgate:schema:context", "code", CONTEXT, strlen(CONTEXT), false);
    char sid[SG_REC_ID_MAX];
    CHECK(sg_connect_token_value_parse(s[1].session_id, strlen(s[1].session_id), sid, sizeof sid));
    emit("urn:seatgate:schema:connect_token", "code", sid, strlen(sid), true);
    sg_delete_job j;
    delete_job_example(&j);
    CHECK(sg_delete_job_to_json(&j, &json));
    emit("urn:seatgate:schema:delete_job", "code", json, strlen(json), false);
    free(json);
    for (int k = 0; k < 2; k++) {
        sg_create_intent in;
        intent_example(&in, k == 1);
        CHECK(sg_create_intent_to_json(&in, &json));
        emit("urn:seatgate:schema:create_intent", "code", json, strlen(json), false);
        free(json);
    }
    for (int k = 0; k < 2; k++) {
        sg_player_seats ps;
        player_seats_example(&ps, k == 1);
        CHECK(sg_player_seats_to_json(&ps, &json));
        emit("urn:seatgate:schema:player_seats", "code", json, strlen(json), false);
        free(json);
    }
    char *lb[5];
    CHECK(lb_examples(lb));
    for (int k = 0; k < 5; k++) {
        emit(lb_schemas[k], "code", lb[k], strlen(lb[k]), false);
        free(lb[k]);
    }
    /* Every reason the code knows must be one the schema allows. */
    for (int r = 0; r < SG_DISCONNECT_REASON_COUNT; r++) {
        sg_event e;
        event_example(&e, SG_EV_PLAYER_DISCONNECT, false);
        e.u.player.reason = (sg_disconnect_reason)r;
        CHECK(sg_event_to_json(&e, &json));
        emit("urn:seatgate:schema:events:player_disconnect", "code", json, strlen(json), false);
        free(json);
    }
    for (int r = 0; r < SG_REJECT_REASON_COUNT; r++) {
        sg_event e;
        event_example(&e, SG_EV_VERIFY_REJECTED, false);
        e.u.reject.reason = (sg_reject_reason)r;
        CHECK(sg_event_to_json(&e, &json));
        emit("urn:seatgate:schema:events:verify_rejected", "code", json, strlen(json), false);
        free(json);
    }
    for (int k = 0; k < SG_EV_KIND_COUNT; k++) {
        for (int full = 0; full < 2; full++) {
            sg_event e;
            char schema[96];
            event_example(&e, (sg_event_kind)k, full);
            event_schema(e.kind, schema, sizeof schema);
            CHECK(sg_event_to_json(&e, &json));
            emit(schema, "code", json, strlen(json), false);
            free(json);
        }
    }
}

/* ---- the same values through a store ------------------------------------------------------ */

static sg_status put_and_read(sg_store *st, const char *bucket, long long ttl_ms, const char *key,
                              const char *value, sg_kv_entry **back)
{
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    bo.ttl_ms = ttl_ms;
    sg_bucket *b = NULL;
    sg_status s = sg_bucket_open(st, bucket, &bo, &b);
    if (!s) s = sg_kv_put(b, key, value, strlen(value), NULL);
    if (!s) s = sg_kv_get(b, key, back);
    sg_bucket_close(b);
    return s;
}

static void emit_store_examples(const char *url, const char *origin)
{
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = url;
    o.app = "schematest";
    sg_store *st = NULL;
    CHECK(sg_store_open(&o, &st));
    char *json = NULL;
    sg_kv_entry *e = NULL;
    sg_status r = SG_OK;
    sg_session_record s[3];
    session_examples(s);
    for (int i = 0; i < 3; i++) {
        r = sg_session_to_json(&s[i], &json);
        if (!r) r = put_and_read(st, SG_BUCKET_SESSIONS, 0, s[i].session_id, json, &e);
        free(json);
        if (r) goto fail;
        emit("urn:seatgate:schema:session", origin, e->value, e->len, false);
        sg_kv_entry_free(e);
    }
    sg_gameserver_record g;
    gameserver_example(&g);
    r = sg_gameserver_to_json(&g, &json);
    if (!r) r = put_and_read(st, SG_BUCKET_GAMESERVER, 0, g.fqdn, json, &e);
    free(json);
    if (r) goto fail;
    emit("urn:seatgate:schema:gameserver", origin, e->value, e->len, false);
    sg_kv_entry_free(e);
    if ((r = put_and_read(st, SG_BUCKET_CONTEXTS, 0, g.fqdn, CONTEXT, &e))) goto fail;
    emit("urn:seatgate:schema:context", origin, e->value, e->len, false);
    sg_kv_entry_free(e);
    char key[24];
    sg_connect_token_key(s[1].client_id, key, sizeof key);
    if ((r = put_and_read(st, SG_BUCKET_CONNECT_TOKENS, 60000, key, s[1].session_id, &e)))
        goto fail;
    emit("urn:seatgate:schema:connect_token", origin, e->value, e->len, true);
    sg_kv_entry_free(e);
    sg_create_intent in;
    intent_example(&in, true);
    if ((r = sg_create_intent_to_json(&in, &json))) goto fail;
    r = put_and_read(st, SG_BUCKET_SESSION_INTENTS, 0, in.marker, json, &e);
    free(json);
    if (r) goto fail;
    emit("urn:seatgate:schema:create_intent", origin, e->value, e->len, false);
    sg_kv_entry_free(e);
    sg_player_seats ps;
    player_seats_example(&ps, false);
    if ((r = sg_player_seats_to_json(&ps, &json))) goto fail;
    char pkey[SG_PLAYER_KEY_MAX];
    r = put_and_read(st, SG_BUCKET_PLAYER_SEATS, 0, sg_player_seats_key(ps.player, pkey, sizeof pkey),
                     json, &e);
    free(json);
    if (r) goto fail;
    emit("urn:seatgate:schema:player_seats", origin, e->value, e->len, false);
    sg_kv_entry_free(e);
    char *lb[5];
    if ((r = lb_examples(lb))) goto fail;
    for (int k = 0; k < 5 && !r; k++) {
        r = put_and_read(st, k < 2 ? SG_BUCKET_LB_PLAYERS : SG_BUCKET_LB_STATE, 0, lb_keys[k],
                         lb[k], &e);
        if (!r) {
            emit(lb_schemas[k], origin, e->value, e->len, false);
            sg_kv_entry_free(e);
        }
    }
    for (int k = 0; k < 5; k++) free(lb[k]);
    if (r) goto fail;

    sg_queue *q = NULL;
    sg_delete_job j;
    delete_job_example(&j);
    sg_job *job = NULL;
    if ((r = sg_queue_open(st, SG_QUEUE_SESSION_DELETES, NULL, &q))) goto fail;
    if (!(r = sg_delete_job_to_json(&j, &json))) r = sg_queue_enqueue(q, json, strlen(json));
    free(json);
    if (!r) r = sg_queue_take(q, 5000, &job);
    if (!r && !job) r = sg_fail(SG_E_NOT_FOUND, "delete job did not come back");
    if (!r) {
        size_t len = 0;
        const char *p = sg_job_payload(job, &len);
        emit("urn:seatgate:schema:delete_job", origin, p, len, false);
        r = sg_job_ack(job);
    }
    sg_job_free(job);
    sg_queue_close(q);
    if (r) goto fail;

    sg_event_sub *sub = NULL;
    if ((r = sg_event_subscribe(st, NULL, &sub))) goto fail;
    for (int k = 0; k < SG_EV_KIND_COUNT && !r; k++) {
        sg_event ev;
        event_example(&ev, (sg_event_kind)k, true);
        ev.ts = 0; /* let publish stamp it */
        ev.app[0] = '\0';
        r = sg_event_publish(st, &ev);
        char *kind = NULL, *body = NULL;
        if (!r) r = sg_event_next(sub, 5000, &kind, &body);
        if (!r) {
            char schema[96];
            snprintf(schema, sizeof schema, "urn:seatgate:schema:events:%s", kind);
            emit(schema, origin, body, strlen(body), false);
        }
        free(kind);
        free(body);
    }
    sg_event_sub_free(sub);
    if (r) goto fail;
    sg_store_close(st);
    return;
fail:
    fprintf(stderr, "%s: %s (%s)\n", origin, sg_status_name(r), sg_last_error());
    failures++;
    sg_store_close(st);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT_FILE\n", argv[0]);
        return 2;
    }
    out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    sg_log_set_level(SG_LOG_WARN);
    emit_code_examples();

    char dir[256], url[300];
    snprintf(dir, sizeof dir, "%s/sg-schema-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir)) {
        snprintf(url, sizeof url, "sqlite://%s/state.db", dir);
        emit_store_examples(url, "sqlite");
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    } else {
        failures++;
    }
    sg_test_nats nats = {0};
    if (sg_test_nats_start(&nats) == 0)
        emit_store_examples(nats.url, "nats");
    else
        failures++;
    sg_test_nats_free(&nats);
    sg_store_library_cleanup();
    fclose(out);
    return failures ? 1 : 0;
}
