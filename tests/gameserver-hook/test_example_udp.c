/* The example server and client over real UDP on loopback, with the hook over the
 * in-memory backend: a fresh token gets in; replayed, stolen, foreign, expired and
 * wrongly keyed tokens are refused with their reasons; goodbye and silence disconnect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ex_client.h"
#include "ex_server.h"
#include "example_proto.h"
#include "fake_backend.h"
#include "seatgate/log.h"

#define SERVER_ID "0123456789ab"

typedef struct env {
    fake_world w;
    sg_hook *hook;
    sg_key *key;
    ex_server *server;
    pthread_t thread;
    volatile int quit;
    sg_addr server_addr;
} env;

static void *serve(void *arg)
{
    env *e = arg;
    while (!e->quit)
        ex_server_tick(e->server, 10);
    return NULL;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    fake_world_init(&e->w);
    sg_hook_options *o = NULL;
    assert_int_equal(sg_hook_options_new(&o), SG_OK);
    sg_hook_options_set(o, "delete-retry", "20ms");
    assert_int_equal(
        hook_new_with_backend(o, fake_backend(&e->w, SERVER_ID, "127.0.0.1"), &e->hook), SG_OK);
    sg_hook_options_free(o);
    assert_int_equal(sg_hook_wait_started(e->hook, 5000), SG_OK);
    assert_int_equal(sg_key_generate(&e->key), SG_OK);
    ex_server_config sc = {.listen = "127.0.0.1", .key = e->key, .protocol_id = 0x5ea7};
    assert_int_equal(ex_server_new(&sc, e->hook, &e->server), 0);
    assert_int_equal(sg_addr_parse("127.0.0.1", SG_PORT_OPTIONAL, &e->server_addr), SG_OK);
    e->server_addr.port = ex_server_port(e->server);
    assert_int_equal(pthread_create(&e->thread, NULL, serve, e), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    e->quit = 1;
    pthread_join(e->thread, NULL);
    ex_server_free(e->server);
    sg_hook_free(e->hook);
    sg_key_free(e->key);
    fake_world_destroy(&e->w);
    free(e);
    return 0;
}

/* Mints a token for client_id listing `server` with the session id in its user data. */
static void mint(env *e, const sg_key *key, uint64_t client_id, const char *session_id,
                 const sg_addr *server, int64_t expire_s, int32_t timeout_s,
                 uint8_t token[SG_TOKEN_BYTES])
{
    uint8_t ud[SG_TOKEN_USER_DATA_BYTES];
    assert_int_equal(sg_token_user_data_set_session(ud, session_id), SG_OK);
    sg_token_params p = {.protocol_id = 0x5ea7,
                         .client_id = client_id,
                         .servers = server ? server : &e->server_addr,
                         .server_count = 1,
                         .expire_seconds = expire_s,
                         .timeout_seconds = timeout_s,
                         .user_data = ud,
                         .user_data_len = sizeof ud};
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_OK);
}

static ex_outcome connect_from(const uint8_t *token, const char *bind, bool goodbye, int stay_ms,
                               ex_client_result *r)
{
    ex_client_options o = {
        .bind_ip = bind, .timeout_ms = 5000, .stay_ms = stay_ms, .goodbye = goodbye};
    return ex_client_connect(token, SG_TOKEN_BYTES, &o, r);
}

static void expect_denied(ex_outcome out, const ex_client_result *r, const char *reason)
{
    if (out != EX_DENIED || strcmp(r->reason, reason) != 0)
        fail_msg("outcome %d reason %s (%s), expected denied %s", out, r->reason, r->message,
                 reason);
}

static void wait_events(fake_world *w, const char *kind, int n)
{
    for (int i = 0; i < 5000 && fake_count_events(w, kind) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(fake_count_events(w, kind), n);
}

static void fresh_token_gets_in_and_goodbye_frees_the_seat(void **state)
{
    env *e = *state;
    fake_add(&e->w, 101, "s101-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    uint8_t t[SG_TOKEN_BYTES];
    mint(e, e->key, 101, "s101-S", NULL, 30, 5, t);
    ex_client_result r;
    assert_int_equal(connect_from(t, "127.0.0.1", true, 300, &r), EX_ACCEPTED);
    assert_int_equal(r.client_id, 101);
    wait_events(&e->w, "player_disconnect", 1);
    pthread_mutex_lock(&e->w.mu);
    assert_true(fake_find(&e->w, "s101-S")->deleted);
    bool goodbye = false;
    for (int i = 0; i < e->w.event_count; i++)
        goodbye |= strstr(e->w.event_json[i], "reason=goodbye") != NULL;
    pthread_mutex_unlock(&e->w.mu);
    assert_true(goodbye);
}

static void replayed_token_is_refused(void **state)
{
    env *e = *state;
    fake_add(&e->w, 102, "s102-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    uint8_t t[SG_TOKEN_BYTES];
    mint(e, e->key, 102, "s102-S", NULL, 30, 5, t);
    ex_client_result r;
    assert_int_equal(connect_from(t, "127.0.0.1", false, 0, &r), EX_ACCEPTED);
    /* the same token from another address: refused by the server's own memory */
    expect_denied(connect_from(t, "127.0.0.2", false, 0, &r), &r, "token_reused");
    /* the same token from the same IP on another socket (port): still another address, and
     * the message says so */
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "token_reused");
    assert_non_null(strstr(r.message, "from this IP on another port"));
    /* a second token for the same client and session while it is connected: the hook
     * refuses it (the session is held) */
    mint(e, e->key, 102, "s102-S", NULL, 30, 5, t);
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "already_connected");
}

static void stolen_token_from_another_ip_is_refused(void **state)
{
    env *e = *state;
    fake_add(&e->w, 103, "s103-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    uint8_t t[SG_TOKEN_BYTES];
    mint(e, e->key, 103, "s103-S", NULL, 30, 5, t);
    ex_client_result r;
    expect_denied(connect_from(t, "127.0.0.2", false, 0, &r), &r, "ip_mismatch");
    wait_events(&e->w, "verify_rejected", 1);
}

/* Tokens for this server's address whose session belongs to another server: the hook
 * refuses them by request id and by public IP. */
/* A thief who uses the token first is refused; the owner, right after, still gets in (the
 * server remembers a token only once the hook accepted it). */
static void a_thief_trying_first_does_not_lock_the_owner_out(void **state)
{
    env *e = *state;
    fake_add(&e->w, 110, "s110-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    uint8_t t[SG_TOKEN_BYTES];
    mint(e, e->key, 110, "s110-S", NULL, 30, 5, t);
    ex_client_result r;
    expect_denied(connect_from(t, "127.0.0.2", false, 0, &r), &r, "ip_mismatch");
    assert_int_equal(connect_from(t, "127.0.0.1", false, 0, &r), EX_ACCEPTED);
    assert_int_equal(r.client_id, 110);
}

/* The test's own writer and reader of the example's control packets (example_proto.h):
 * type, client id, sequence, then a ChaCha20-Poly1305 (IETF) tag over those bytes with the
 * direction's key, nonce 0000 || sequence (little-endian). */
static size_t my_control(uint8_t type, uint64_t cid, uint64_t seq, const uint8_t *key,
                         uint8_t out[33])
{
    out[0] = type;
    for (int i = 0; i < 8; i++) {
        out[1 + i] = (uint8_t)(cid >> (8 * i));
        out[9 + i] = (uint8_t)(seq >> (8 * i));
    }
    uint8_t nonce[12] = {0};
    memcpy(nonce + 4, out + 9, 8);
    unsigned long long tl = 0;
    uint8_t none[1] = {0};
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(none, out + 17, &tl, none, 0, out, 17, NULL,
                                                       nonce, key);
    return 33;
}

static int players_now(env *e)
{
    sg_hook_stats st;
    sg_hook_get_stats(e->hook, &st);
    return (int)st.players;
}

/* Someone who can send from the player's address (on the path) can neither kick the player
 * with a GOODBYE nor replay one: only a GOODBYE tagged with the player's key and a new
 * sequence disconnects. The server's ACCEPT is checked with the test's own tag code. */
static void control_packets_are_authenticated(void **state)
{
    env *e = *state;
    fake_add(&e->w, 111, "s111-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    uint8_t t[SG_TOKEN_BYTES];
    mint(e, e->key, 111, "s111-S", NULL, 30, 5, t);
    sg_token_public pub;
    assert_int_equal(sg_token_read_public(t, sizeof t, SG_TOKEN_NETCODE_1_02, &pub), SG_OK);
    uint8_t req[SG_CONNECTION_REQUEST_BYTES];
    assert_int_equal(sg_connection_request_write(t, sizeof t, req), SG_OK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sg_addr_to_sockaddr(&e->server_addr, &ss);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t buf[256];
    ssize_t n = -1;
    for (int i = 0; i < 25 && n != 33; i++) {
        assert_int_equal(send(fd, req, sizeof req, 0), (ssize_t)sizeof req);
        n = recv(fd, buf, sizeof buf, 0);
    }
    assert_int_equal(n, 33);
    assert_int_equal(buf[0], EX_ACCEPT);
    uint8_t want[33];
    uint64_t seq = 0;
    for (int i = 7; i >= 0; i--) seq = seq << 8 | buf[9 + i];
    my_control(EX_ACCEPT, 111, seq, pub.server_to_client_key, want);
    assert_memory_equal(buf, want, 33); /* the server's tag is the one the format says */
    assert_int_equal(players_now(e), 1);
    /* Forged: the right fields and a tag under a key that is not the player's. */
    uint8_t wrong_key[32] = {1, 2, 3};
    uint8_t pkt[33];
    send(fd, pkt, my_control(EX_GOODBYE, 111, 5, wrong_key, pkt), 0);
    /* Tampered: a real tag, one bit changed. */
    my_control(EX_GOODBYE, 111, 6, pub.client_to_server_key, pkt);
    pkt[20] ^= 1;
    send(fd, pkt, 33, 0);
    /* Tagged with the server's direction key instead of the client's. */
    send(fd, pkt, my_control(EX_GOODBYE, 111, 7, pub.server_to_client_key, pkt), 0);
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
    assert_int_equal(players_now(e), 1); /* still connected */
    /* A genuine keep-alive at sequence 9, then a replayed GOODBYE at an older sequence. */
    send(fd, pkt, my_control(EX_KEEPALIVE, 111, 9, pub.client_to_server_key, pkt), 0);
    send(fd, pkt, my_control(EX_GOODBYE, 111, 8, pub.client_to_server_key, pkt), 0);
    nanosleep(&ts, NULL);
    assert_int_equal(players_now(e), 1);
    /* The player's own GOODBYE, with a new sequence, disconnects. */
    send(fd, pkt, my_control(EX_GOODBYE, 111, 10, pub.client_to_server_key, pkt), 0);
    wait_events(&e->w, "player_disconnect", 1);
    assert_int_equal(players_now(e), 0);
    close(fd);
    sodium_memzero(&pub, sizeof pub);
}

static void foreign_tokens_are_refused(void **state)
{
    env *e = *state;
    uint8_t t[SG_TOKEN_BYTES];
    ex_client_result r;
    fake_add(&e->w, 105, "s105-S", "127.0.0.1", "127.0.0.1", "ffffffffffff");
    mint(e, e->key, 105, "s105-S", NULL, 30, 5, t);
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "wrong_server_id");
    fake_add(&e->w, 106, "s106-S", "127.0.0.1", "192.0.2.1", SERVER_ID);
    mint(e, e->key, 106, "s106-S", NULL, 30, 5, t);
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "wrong_server_ip");
}

/* A token listing another address, delivered to this server (as a relay would): the
 * server's own address check refuses it. */
static void token_for_another_address_is_refused_by_the_server(void **state)
{
    env *e = *state;
    fake_add(&e->w, 107, "s107-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    sg_addr servers[2] = {e->server_addr, e->server_addr};
    servers[0].port = (uint16_t)(e->server_addr.port ^ 0x4000);
    /* first address: this server (so the client sends here); the private part lists only
     * the other address */
    uint8_t ud[SG_TOKEN_USER_DATA_BYTES];
    assert_int_equal(sg_token_user_data_set_session(ud, "s107-S"), SG_OK);
    sg_token_params p = {.protocol_id = 0x5ea7,
                         .client_id = 107,
                         .servers = &servers[0],
                         .server_count = 1,
                         .expire_seconds = 30,
                         .timeout_seconds = 5,
                         .user_data = ud,
                         .user_data_len = sizeof ud};
    uint8_t t[SG_TOKEN_BYTES];
    assert_int_equal(sg_token_mint(e->key, &p, t, NULL), SG_OK);
    /* patch the public address list (not authenticated) to point at this server */
    uint8_t other[SG_TOKEN_BYTES];
    p.servers = &servers[1];
    assert_int_equal(sg_token_mint(e->key, &p, other, NULL), SG_OK);
    /* (the address list only: timeout 4 bytes, count 4, one IPv4 address 7, then the keys,
     * which stay the token's own so the client can check the server's answer) */
    memcpy(t + 1085, other + 1085, 4 + 4 + 7);
    ex_client_result r;
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "not_this_server");
}

static void expired_and_wrong_key_tokens_are_refused(void **state)
{
    env *e = *state;
    fake_add(&e->w, 108, "s108-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    uint8_t t[SG_TOKEN_BYTES];
    mint(e, e->key, 108, "s108-S", NULL, 0, 5, t); /* expires at creation */
    ex_client_result r;
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "token_expired");
    sg_key *other = NULL;
    assert_int_equal(sg_key_generate(&other), SG_OK);
    mint(e, other, 108, "s108-S", NULL, 30, 5, t);
    sg_key_free(other);
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "bad_token");
    /* unknown client id */
    mint(e, e->key, 999999, "s108-S", NULL, 30, 5, t);
    expect_denied(connect_from(t, "127.0.0.1", false, 0, &r), &r, "unknown_client");
}

static void a_silent_player_times_out(void **state)
{
    env *e = *state;
    fake_add(&e->w, 109, "s109-S", "127.0.0.1", "127.0.0.1", SERVER_ID);
    uint8_t t[SG_TOKEN_BYTES];
    mint(e, e->key, 109, "s109-S", NULL, 30, 1, t); /* 1 s timeout */
    ex_client_result r;
    assert_int_equal(connect_from(t, "127.0.0.1", false, 0, &r), EX_ACCEPTED);
    for (int i = 0; i < 5000 && fake_count_events(&e->w, "player_disconnect") < 1; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(fake_count_events(&e->w, "player_disconnect"), 1);
    pthread_mutex_lock(&e->w.mu);
    bool timeout = false;
    for (int i = 0; i < e->w.event_count; i++)
        timeout |= strstr(e->w.event_json[i], "reason=timeout") != NULL;
    pthread_mutex_unlock(&e->w.mu);
    assert_true(timeout);
}

static void packets_round_trip_and_junk_is_ignored(void **state)
{
    (void)state;
    uint8_t key[32] = {9, 8, 7}, other[32] = {1};
    uint8_t buf[EX_MAX_PACKET];
    ex_packet p = {.type = EX_DENY, .client_id = 5, .sequence = 1, .code = SG_HOOK_REJECT_IP_MISMATCH}, q;
    snprintf(p.message, sizeof p.message, "not yours");
    size_t n = ex_packet_write(&p, key, buf);
    assert_true(ex_packet_parse(buf, n, key, &q));
    assert_int_equal(q.code, SG_HOOK_REJECT_IP_MISMATCH);
    assert_string_equal(q.message, "not yours");
    assert_false(ex_packet_parse(buf, n, other, &q)); /* another key */
    assert_false(ex_packet_parse(buf, n, NULL, &q));
    assert_false(ex_packet_parse(buf, n - 1, key, &q));
    p = (ex_packet){.type = EX_KEEPALIVE, .client_id = 0x0102030405060708ULL, .sequence = 3};
    n = ex_packet_write(&p, key, buf);
    assert_int_equal(n, 33);
    uint8_t mine[33];
    my_control(EX_KEEPALIVE, 0x0102030405060708ULL, 3, key, mine);
    assert_memory_equal(buf, mine, 33); /* the same bytes as the test's own writer */
    assert_true(ex_packet_parse(buf, n, key, &q));
    assert_int_equal(q.client_id, 0x0102030405060708ULL);
    assert_int_equal(q.sequence, 3);
    assert_false(ex_packet_parse(buf, 8, key, &q));
    assert_int_equal(ex_packet_write(&p, NULL, buf), 0); /* no key, no packet */
    p = (ex_packet){.type = EX_PLAIN_DENY, .code = EX_DENY_BAD_TOKEN};
    snprintf(p.message, sizeof p.message, "decrypt_failed");
    n = ex_packet_write(&p, NULL, buf);
    assert_true(ex_packet_parse(buf, n, NULL, &q));
    assert_int_equal(q.code, EX_DENY_BAD_TOKEN);
    buf[0] = 0x7f;
    assert_false(ex_packet_parse(buf, 9, key, &q));
    assert_string_equal(ex_deny_name(EX_DENY_TOKEN_REUSED), "token_reused");
    assert_string_equal(ex_deny_name(SG_HOOK_REJECT_WRONG_SERVER_IP), "wrong_server_ip");
}

int main(void)
{
    sg_log_set_level(SG_LOG_OFF);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(fresh_token_gets_in_and_goodbye_frees_the_seat),
        T(replayed_token_is_refused),
        T(stolen_token_from_another_ip_is_refused),
        T(a_thief_trying_first_does_not_lock_the_owner_out),
        T(control_packets_are_authenticated),
        T(foreign_tokens_are_refused),
        T(token_for_another_address_is_refused_by_the_server),
        T(expired_and_wrong_key_tokens_are_refused),
        T(a_silent_player_times_out),
        cmocka_unit_test(packets_round_trip_and_junk_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
