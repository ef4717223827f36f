/* seatgate matchmaker: who the player is (player authentication on POST /connect-me).
 *
 * Off by default: anyone may ask for a seat, and the seat is the address's. When on, the
 * request must carry `Authorization: Bearer <JWT>`, verified offline here:
 *   nakama  Nakama's session token: HS256 keyed with the raw bytes of Nakama's
 *           session.encryption_key, exp required, uid a UUID (the user id).
 *   jwt     any issuer's token: EdDSA or HS256 keys from a JWK Set file, iss and aud checked
 *           when configured, the user id from a claim (sub by default).
 * Optionally the token is also shown to an online check (Nakama: GET /v2/account), so a
 * token revoked by logout or a ban stops working before it expires; answers are cached
 * briefly, and when the check cannot be reached the request fails (or, if configured,
 * passes on the offline check alone).
 *
 * Refusals are 401 with a stable code: missing_token, malformed_token, alg_not_allowed,
 * unknown_kid, bad_signature, missing_exp, expired, not_yet_valid, issued_in_future,
 * wrong_issuer, wrong_audience, bad_user_id, token_revoked; the online check unreachable
 * (failing closed) is 503 auth_unavailable. Messages never hold the token or a key.
 * Thread-safe.
 */
#ifndef SEATGATE_MM_AUTH_H
#define SEATGATE_MM_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "reply.h"
#include "seatgate/records.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sg_auth_mode { SG_AUTH_OFF = 0, SG_AUTH_NAKAMA, SG_AUTH_JWT } sg_auth_mode;

typedef struct sg_auth_options {
    sg_auth_mode mode;
    const char *nakama_key; /* nakama: session.encryption_key, as configured in Nakama */
    const char *keys_path;  /* jwt: JWK Set file (public Ed25519 keys and/or HS256 secrets) */
    const char *issuer;     /* jwt: the iss a token must carry (NULL or "": not checked) */
    const char *audience;   /* jwt: an aud a token must carry (NULL or "": not checked) */
    const char *user_claim; /* jwt: the claim naming the player (NULL: "sub") */
    long long leeway_s;     /* clock skew allowed on exp, nbf and iat */
    const char *check_url;  /* the online check, fetched with the bearer token (NULL: none) */
    long long check_timeout_ms;
    long long check_cache_ms; /* how long an answer of the online check is reused (0: never) */
    bool check_fail_open;     /* the check unreachable: accept on the offline check alone */
} sg_auth_options;

typedef struct sg_auth sg_auth;

/* SG_E_INVALID (the message names the setting, never a key), SG_E_IO (the key file),
 * SG_E_NOMEM. */
sg_status sg_auth_new(const sg_auth_options *o, sg_auth **out);
void sg_auth_free(sg_auth *a); /* NULL is fine */

bool sg_auth_online(const sg_auth *a); /* an online check is configured */

/* The offline check of an Authorization header value (NULL: none was sent) at now_s (0:
 * the clock). true: *user_id (SG_REC_USER_MAX bytes) is the player; false: *err is filled
 * (401 with its code). *token_start (may be NULL) points at the token inside the value. */
bool sg_auth_verify(sg_auth *a, const char *authorization, long long now_s, char *user_id,
                    const char **token_start, sg_reply_error *err);

/* The online check of a token that passed sg_auth_verify. Blocking (at most the check's
 * timeout): call it from a worker thread. true: accepted (also when the check is
 * unreachable and failing open); false: *err filled (401 token_revoked, 503
 * auth_unavailable). */
bool sg_auth_check_online(sg_auth *a, const char *token, sg_reply_error *err);

/* The WWW-Authenticate value of a 401 with this code (RFC 6750), in buf. */
const char *sg_auth_challenge(const char *code, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
