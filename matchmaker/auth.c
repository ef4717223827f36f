/* Player authentication: bearer tokens checked offline (seatgate/jws.h) and, optionally,
 * online. */
#include "auth.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "seatgate/clock.h"
#include "seatgate/jws.h"
#include "seatgate/log.h"

#define CACHE_SLOTS 4096
#define USER_CLAIM_MAX 64

typedef struct cache_slot {
    uint8_t digest[16];
    long long until_ms; /* 0: empty */
    bool ok;
} cache_slot;

struct sg_auth {
    sg_auth_mode mode;
    sg_jws_keyset *keys;
    unsigned allowed;
    char *issuer, *audience;
    char user_claim[USER_CLAIM_MAX];
    long long leeway_s;
    char *check_url;
    long long check_timeout_ms, check_cache_ms;
    bool fail_open;
    pthread_mutex_t mu;
    uint8_t cache_key[crypto_generichash_KEYBYTES];
    cache_slot *cache;
};

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

sg_status sg_auth_new(const sg_auth_options *o, sg_auth **out)
{
    *out = NULL;
    if (o->mode == SG_AUTH_OFF) return SG_OK; /* no object: everybody is anonymous */
    sg_auth *a = calloc(1, sizeof *a);
    if (!a) return sg_fail(SG_E_NOMEM, "out of memory");
    a->mode = o->mode;
    a->leeway_s = o->leeway_s;
    a->check_timeout_ms = o->check_timeout_ms > 0 ? o->check_timeout_ms : 2000;
    a->check_cache_ms = o->check_cache_ms;
    a->fail_open = o->check_fail_open;
    pthread_mutex_init(&a->mu, NULL);
    randombytes_buf(a->cache_key, sizeof a->cache_key);
    sg_status st = SG_OK;
    if (o->mode == SG_AUTH_NAKAMA) {
        if (!o->nakama_key || !*o->nakama_key)
            st = sg_fail(SG_E_INVALID, "auth-nakama-key: needed with auth=nakama (Nakama's "
                                       "session.encryption_key)");
        else
            st = sg_jws_keyset_from_secret("nakama", o->nakama_key, strlen(o->nakama_key),
                                           &a->keys);
        a->allowed = SG_JWS_HS256; /* what Nakama signs with, and nothing else */
        snprintf(a->user_claim, sizeof a->user_claim, "uid");
        if (st == SG_OK && strcmp(o->nakama_key, "defaultencryptionkey") == 0)
            SG_WARN("auth", "default_nakama_key",
                    "hint=\"auth-nakama-key is Nakama's default session.encryption_key: anyone "
                    "can sign tokens with it; set a secret one in Nakama and here\"");
    } else {
        if (!o->keys_path || !*o->keys_path)
            st = sg_fail(SG_E_INVALID, "auth-keys: needed with auth=jwt (a JWK Set file)");
        else if (sg_jws_keyset_load(o->keys_path, &a->keys) != SG_OK)
            st = sg_fail(SG_E_INVALID, "auth-keys: %s", sg_last_error());
        a->allowed = 0; /* each key's own algorithm */
        const char *claim = o->user_claim && *o->user_claim ? o->user_claim : "sub";
        if (st == SG_OK && strlen(claim) >= sizeof a->user_claim)
            st = sg_fail(SG_E_INVALID, "auth-user-claim: at most %zu characters",
                         sizeof a->user_claim - 1);
        snprintf(a->user_claim, sizeof a->user_claim, "%s", claim);
        a->issuer = dup_or_null(o->issuer);
        a->audience = dup_or_null(o->audience);
    }
    if (st == SG_OK && o->check_url && *o->check_url) {
        if (strncmp(o->check_url, "http://", 7) != 0 && strncmp(o->check_url, "https://", 8) != 0)
            st = sg_fail(SG_E_INVALID, "auth-check-url: expected an http:// or https:// URL");
        a->check_url = strdup(o->check_url);
        if (st == SG_OK && o->check_cache_ms > 0 &&
            !(a->cache = calloc(CACHE_SLOTS, sizeof *a->cache)))
            st = sg_fail(SG_E_NOMEM, "out of memory");
    }
    if (st != SG_OK) {
        sg_auth_free(a);
        return st;
    }
    *out = a;
    return SG_OK;
}

void sg_auth_free(sg_auth *a)
{
    if (!a) return;
    sg_jws_keyset_free(a->keys);
    free(a->issuer);
    free(a->audience);
    free(a->check_url);
    free(a->cache);
    pthread_mutex_destroy(&a->mu);
    sodium_memzero(a, sizeof *a);
    free(a);
}

bool sg_auth_online(const sg_auth *a)
{
    return a && a->check_url;
}

const char *sg_auth_challenge(const char *code, char *buf, size_t size)
{
    /* RFC 6750 section 3: no error attribute when the request carried no credentials. */
    if (!code || strcmp(code, "missing_token") == 0)
        snprintf(buf, size, "Bearer realm=\"seatgate\"");
    else
        snprintf(buf, size, "Bearer realm=\"seatgate\", error=\"invalid_token\", "
                            "error_description=\"%s\"",
                 code);
    return buf;
}

static bool refuse(sg_reply_error *err, const char *code, const char *message)
{
    sg_reply_error_set(err, 401, code, "%s", message);
    return false;
}

#define REFUSEF(err, code, ...) (sg_reply_error_set((err), 401, (code), __VA_ARGS__), false)

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool b64token(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/");
    if (n == 0) return false;
    while (s[n] == '=')
        n++;
    return s[n] == '\0';
}

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return true;
}

/* Whether aud (a string or an array of strings) names want. */
static bool audience_has(const cJSON *aud, const char *want)
{
    if (cJSON_IsString(aud)) return strcmp(aud->valuestring, want) == 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, aud) if (cJSON_IsString(v) && strcmp(v->valuestring, want) == 0) return true;
    return false;
}

static bool check_claims(const sg_auth *a, const cJSON *c, char *user_id, sg_reply_error *err)
{
    if (a->issuer) {
        const cJSON *iss = cJSON_GetObjectItemCaseSensitive(c, "iss");
        if (!cJSON_IsString(iss) || strcmp(iss->valuestring, a->issuer) != 0)
            return REFUSEF(err, "wrong_issuer", "the token was not issued by %s", a->issuer);
    }
    if (a->audience && !audience_has(cJSON_GetObjectItemCaseSensitive(c, "aud"), a->audience))
        return REFUSEF(err, "wrong_audience", "the token is not meant for %s", a->audience);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, a->user_claim);
    if (!cJSON_IsString(u))
        return REFUSEF(err, "bad_user_id", "the token has no %s claim", a->user_claim);
    if (a->mode == SG_AUTH_NAKAMA && !is_uuid(u->valuestring))
        return REFUSEF(err, "bad_user_id", "the token's %s claim is not a UUID", a->user_claim);
    if (!sg_user_id_valid(u->valuestring))
        return REFUSEF(err, "bad_user_id",
                       "the token's %s claim is not a usable user id (1..64 of A-Z a-z 0-9 . _ "
                       ": @ | + -)",
                       a->user_claim);
    snprintf(user_id, SG_REC_USER_MAX, "%s", u->valuestring);
    return true;
}

bool sg_auth_verify(sg_auth *a, const char *authorization, long long now_s, char *user_id,
                    const char **token_start, sg_reply_error *err)
{
    user_id[0] = '\0';
    if (token_start) *token_start = NULL;
    if (!authorization || !*authorization)
        return refuse(err, "missing_token", "this game needs a signed-in player: send "
                                            "Authorization: Bearer <session token>");
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return refuse(err, "malformed_token", "the Authorization header is not Bearer <token>");
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    if (strlen(tok) > SG_JWS_MAX_TOKEN)
        return refuse(err, "malformed_token", "the token is too long");
    if (!b64token(tok))
        return refuse(err, "malformed_token", "the token has characters a bearer token cannot");
    sg_jws_verify_options vo = {.allowed = a->allowed, .now_s = now_s, .leeway_s = a->leeway_s};
    sg_jws_reason why = SG_JWS_OK;
    char *claims = NULL;
    sg_status st = sg_jws_verify(a->keys, tok, strlen(tok), &vo, &why, &claims);
    if (st == SG_E_NOMEM) {
        sg_reply_error_set(err, 503, "overloaded", "out of memory; try again");
        return false;
    }
    if (st != SG_OK) {
        switch (why) {
        case SG_JWS_MALFORMED:
        case SG_JWS_TOO_LARGE:
        case SG_JWS_BAD_HEADER:
            return refuse(err, "malformed_token", "the token is not a well-formed JWT");
        case SG_JWS_EXPIRED:
            return refuse(err, "expired", "the token has expired: refresh the session and try "
                                          "again");
        default:
            return REFUSEF(err, sg_jws_reason_name(why), "the token was refused (%s)",
                           sg_jws_reason_name(why));
        }
    }
    cJSON *c = cJSON_Parse(claims);
    free(claims);
    bool ok = c ? check_claims(a, c, user_id, err)
                : refuse(err, "malformed_token", "the token's claims are not JSON");
    cJSON_Delete(c);
    if (ok && token_start) *token_start = tok;
    return ok;
}

/* ---- the online check ---- */

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    size_t *seen = u;
    *seen += size * n;
    return *seen > (1u << 20) ? 0 : size * n; /* an answer over 1 MiB is cut off */
}

/* One GET with the token: 2xx accepted, 401/403 refused, anything else unreachable. */
static int ask(const sg_auth *a, const char *token, char *why, size_t why_size)
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    size_t hlen = strlen(token) + 32;
    char *hdr = malloc(hlen);
    struct curl_slist *headers = NULL;
    if (hdr) {
        snprintf(hdr, hlen, "Authorization: Bearer %s", token);
        headers = curl_slist_append(NULL, hdr);
        sodium_memzero(hdr, hlen);
        free(hdr);
    }
    struct curl_slist *h2 = headers ? curl_slist_append(headers, "Accept: application/json") : NULL;
    if (h2) headers = h2;
    size_t seen = 0;
    curl_easy_setopt(h, CURLOPT_URL, a->check_url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->check_timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &seen);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers); /* the list held the token: libcurl frees it, not wiped */
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        snprintf(why, why_size, "%s", curl_easy_strerror(rc));
        return -1;
    }
    if (status >= 200 && status < 300) return 1;
    if (status == 401 || status == 403) return 0;
    snprintf(why, why_size, "HTTP %ld", status);
    return -1;
}

static cache_slot *slot_of(sg_auth *a, const uint8_t d[16])
{
    uint32_t i;
    memcpy(&i, d, sizeof i);
    return &a->cache[i % CACHE_SLOTS];
}

bool sg_auth_check_online(sg_auth *a, const char *token, sg_reply_error *err)
{
    if (!sg_auth_online(a)) return true;
    uint8_t d[16];
    crypto_generichash(d, sizeof d, (const unsigned char *)token, strlen(token), a->cache_key,
                       sizeof a->cache_key);
    long long now = sg_clock_mono_ms();
    int verdict = -2;
    if (a->cache) {
        pthread_mutex_lock(&a->mu);
        cache_slot *s = slot_of(a, d);
        if (s->until_ms > now && sodium_memcmp(s->digest, d, sizeof d) == 0) verdict = s->ok;
        pthread_mutex_unlock(&a->mu);
    }
    char why[160] = "";
    if (verdict == -2) {
        verdict = ask(a, token, why, sizeof why);
        if (verdict >= 0 && a->cache) {
            pthread_mutex_lock(&a->mu);
            cache_slot *s = slot_of(a, d);
            memcpy(s->digest, d, sizeof d);
            s->until_ms = now + a->check_cache_ms;
            s->ok = verdict == 1;
            pthread_mutex_unlock(&a->mu);
        }
    }
    if (verdict == 1) return true;
    if (verdict == 0) {
        sg_reply_error_set(err, 401, "token_revoked",
                           "the session was ended (logged out or banned): sign in again");
        return false;
    }
    if (a->fail_open) {
        SG_WARN("auth", "check_unreachable", "error=\"%s\" hint=\"auth-check-failure=open: the "
                "player passes on the offline check alone\"", why);
        return true;
    }
    SG_WARN("auth", "check_unreachable", "error=\"%s\" hint=\"players are refused while the "
            "check (auth-check-url) cannot answer; auth-check-failure=open lets them in\"", why);
    sg_reply_error_set(err, 503, "auth_unavailable",
                       "the sign-in service cannot be reached; try again");
    err->retry_after_ms = 2000;
    return false;
}
