/* Cost per call of minting and opening connect tokens and of their base64 transport form.
 * Prints the median ns/op of several runs for each operation, minting and opening in the
 * netcode-1.02 dialect and in lightyear's (big-endian), with the ratio of the two; then
 * seat tokens (JWS: signing and verifying, EdDSA and HS256) and the matchmaker's offline
 * check of a player's Nakama session token (what --auth nakama adds to each /connect-me).
 * Usage: bench_token [RUNS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "seatgate/codec.h"
#include "seatgate/jws.h"
#include "seatgate/token.h"

enum { ITERS = 2000, MAX_RUNS = 31 };

static sg_key *key;
static sg_token_params params;
static uint8_t token[SG_TOKEN_BYTES], packet[SG_CONNECTION_REQUEST_BYTES];
static char text[SG_BASE64_ENCODED_SIZE(SG_TOKEN_BYTES)];
static volatile uint64_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void must(sg_status st, const char *what)
{
    if (st != SG_OK) {
        fprintf(stderr, "bench_token: %s: %s\n", what, sg_last_error());
        exit(1);
    }
}

static void op_mint(void)
{
    uint64_t expire;
    must(sg_token_mint(key, &params, token, &expire), "mint");
    sink += expire;
}

static void op_open(void)
{
    sg_token_opener o = {key, params.protocol_id, params.dialect};
    sg_token_opened t;
    must(sg_token_open(&o, token, sizeof token, 0, &t), "open");
    sink += t.client_id;
}

static void op_open_request(void)
{
    sg_token_opener o = {key, params.protocol_id, params.dialect};
    sg_connection_request req;
    sg_token_opened t;
    must(sg_connection_request_parse(packet, sizeof packet, params.dialect, &req), "parse");
    must(sg_token_open_request(&o, &req, 0, &t), "open request");
    sink += t.client_id;
}

static void op_encode(void)
{
    must(sg_base64_encode(token, sizeof token, text, sizeof text), "encode");
    sink += (uint8_t)text[7];
}

static void op_decode(void)
{
    uint8_t out[SG_TOKEN_BYTES];
    size_t n;
    must(sg_base64_decode(text, strlen(text), out, sizeof out, &n), "decode");
    sink += n;
}

static void op_client_id(void)
{
    sink += sg_token_random_client_id();
}

/* ---- seat tokens and players' tokens ---- */

static sg_jws_keyset *ed_keys, *hs_keys;
static char *ed_token, *hs_token, nakama_header[1024];
static sg_auth *nakama;
static const char claims[] = "{\"userId\":\"0d3c6f2a-9b1e-4c7d-8a2f-5e6b7c8d9e0f\",\"instanceId\":"
                             "\"game-2skwn-lqkmt\",\"sid\":\"s-a27cb44e5c17260b29eecbfcc21d1844\","
                             "\"ip\":\"203.0.113.7\",\"aud\":\"demo\",\"iat\":1796276334,"
                             "\"exp\":4102444800,\"jti\":\"12722569818211446604\"}";

static void sign_with(const sg_jws_keyset *ks, char **out)
{
    free(*out);
    *out = NULL;
    must(sg_jws_sign(ks, NULL, claims, out), "jws sign");
}

static void verify_with(const sg_jws_keyset *ks, const char *tok)
{
    sg_jws_verify_options vo = {.leeway_s = 5};
    sg_jws_reason why;
    must(sg_jws_verify(ks, tok, strlen(tok), &vo, &why, NULL), "jws verify");
    sink += (unsigned)why;
}

static void op_sign_ed(void) { sign_with(ed_keys, &ed_token); }
static void op_verify_ed(void) { verify_with(ed_keys, ed_token); }
static void op_sign_hs(void) { sign_with(hs_keys, &hs_token); }
static void op_verify_hs(void) { verify_with(hs_keys, hs_token); }

static void op_auth_nakama(void)
{
    char user[SG_REC_USER_MAX];
    sg_reply_error err;
    if (!sg_auth_verify(nakama, nakama_header, 0, user, NULL, &err)) {
        fprintf(stderr, "bench_token: auth: %s\n", err.message);
        exit(1);
    }
    sink += (uint8_t)user[0];
}

static void jws_setup(void)
{
    char *json = NULL;
    must(sg_jws_keygen(SG_JWS_EDDSA, "seat-1", &json), "keygen");
    must(sg_jws_keyset_parse(json, strlen(json), &ed_keys), "key set");
    free(json);
    const char secret[] = "a-shared-secret-of-32-bytes-long";
    must(sg_jws_keyset_from_secret("hs", secret, sizeof secret - 1, &hs_keys), "secret");
    op_sign_ed();
    op_sign_hs();
    /* A Nakama session token: HS256 over the raw session.encryption_key string. */
    const char nk[] = "a-nakama-session-encryption-key";
    sg_auth_options ao = {.mode = SG_AUTH_NAKAMA, .nakama_key = nk, .leeway_s = 5};
    must(sg_auth_new(&ao, &nakama), "auth");
    sg_jws_keyset *nks = NULL;
    must(sg_jws_keyset_from_secret("nakama", nk, sizeof nk - 1, &nks), "nakama key");
    char *tok = NULL;
    must(sg_jws_sign(nks, NULL,
                     "{\"tid\":\"6a1f2b3c-4d5e-4f60-8172-839405a6b7c8\",\"uid\":"
                     "\"0d3c6f2a-9b1e-4c7d-8a2f-5e6b7c8d9e0f\",\"usn\":\"player1\",\"vrs\":"
                     "{\"region\":\"eu\"},\"exp\":4102444800,\"iat\":1796276334}",
                     &tok),
         "nakama token");
    snprintf(nakama_header, sizeof nakama_header, "Bearer %s", tok);
    free(tok);
    sg_jws_keyset_free(nks);
}

static void jws_teardown(void)
{
    free(ed_token);
    free(hs_token);
    sg_jws_keyset_free(ed_keys);
    sg_jws_keyset_free(hs_keys);
    sg_auth_free(nakama);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bench(const char *name, void (*op)(void), int runs)
{
    double per[MAX_RUNS];
    for (int i = 0; i < ITERS / 10; i++) /* warm up */
        op();
    for (int r = 0; r < runs; r++) {
        double t0 = now_ns();
        for (int i = 0; i < ITERS; i++)
            op();
        per[r] = (now_ns() - t0) / ITERS;
    }
    qsort(per, (size_t)runs, sizeof per[0], cmp);
    printf("%-22s %9.0f ns/op   (median of %d runs x %d; min %.0f, max %.0f)\n", name,
           per[runs / 2], runs, ITERS, per[0], per[runs - 1]);
    return per[runs / 2];
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    if (runs < 1 || runs > MAX_RUNS) runs = 7;
    must(sg_key_generate(&key), "key");
    static sg_addr server;
    must(sg_addr_parse("203.0.113.7:7000", SG_PORT_REQUIRED, &server), "address");
    static uint8_t ud[SG_TOKEN_USER_DATA_BYTES];
    must(sg_token_user_data_set_session(ud, "5a0d7c4b2e91-S"), "session");
    params = (sg_token_params){.protocol_id = 42,
                               .client_id = sg_token_random_client_id(),
                               .servers = &server,
                               .server_count = 1,
                               .expire_seconds = 30,
                               .timeout_seconds = 15,
                               .user_data = ud,
                               .user_data_len = sizeof ud};
    static const sg_token_dialect dialects[2] = {SG_TOKEN_NETCODE_1_02, SG_TOKEN_LIGHTYEAR};
    static const char *const names[3] = {"mint", "open (whole token)", "open (request packet)"};
    void (*const ops[3])(void) = {op_mint, op_open, op_open_request};
    double median[2][3];
    for (int d = 0; d < 2; d++) {
        params.dialect = dialects[d];
        op_mint();
        must(sg_connection_request_write(token, sizeof token, packet), "request");
        printf("-- dialect %s\n", sg_token_dialect_name(dialects[d]));
        for (int k = 0; k < 3; k++) {
            char label[64];
            snprintf(label, sizeof label, "%s", names[k]);
            median[d][k] = bench(label, ops[k], runs);
        }
    }
    for (int k = 0; k < 3; k++)
        printf("lightyear / netcode-1.02, %-22s %.2f\n", names[k], median[1][k] / median[0][k]);
    printf("--\n");
    op_encode();
    bench("base64 encode 2048 B", op_encode, runs);
    bench("base64 decode 2048 B", op_decode, runs);
    bench("random client id", op_client_id, runs);
    printf("-- seat tokens (JWS) and players' tokens\n");
    jws_setup();
    double sign_ed = bench("jws sign EdDSA", op_sign_ed, runs);
    double verify_ed = bench("jws verify EdDSA", op_verify_ed, runs);
    double sign_hs = bench("jws sign HS256", op_sign_hs, runs);
    double verify_hs = bench("jws verify HS256", op_verify_hs, runs);
    double auth = bench("auth nakama (offline)", op_auth_nakama, runs);
    printf("EdDSA / HS256: sign %.2f, verify %.2f; the offline Nakama check / jws verify HS256 "
           "%.2f\n",
           sign_ed / sign_hs, verify_ed / verify_hs, auth / verify_hs);
    jws_teardown();
    sg_key_free(key);
    return 0;
}
