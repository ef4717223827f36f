/* seatgate: signed seat tokens (JWS compact serialization, RFC 7515; JWT claims, RFC 7519).
 *
 * Two algorithms, both libsodium: EdDSA over Ed25519 (RFC 8037; the default: game servers
 * hold only the public key, so a compromised server cannot mint) and HS256 (HMAC-SHA256, for
 * those who want a shared secret, and for Nakama's session tokens). Keys come in a key set,
 * the JWK Set format of RFC 7517 (`{"keys": [...]}`: `{"kty":"OKP","crv":"Ed25519","kid",
 * "x","d"}` and `{"kty":"oct","kid","k"}`, base64url without padding), so keys rotate by
 * adding one and later removing the old one; a token's header names its `kid`.
 *
 * Verification is strict: the header must be a JSON object with `alg` exactly the named
 * key's algorithm and among the allowed ones (so no `none`, and no HS256 token checked
 * with an Ed25519 key's bytes), a known `kid` (when the set has more than one key, or always
 * with require_kid), no `crit`, `jku`, `x5u`, `jwk` or `x5c`; the signature is checked
 * before any claim is read; then `exp` (required), `nbf` and `iat` against the clock with a
 * leeway. Every refusal has its own reason. Claims beyond the times are the caller's.
 * Thread-safe; key material is wiped when freed and never printed.
 */
#ifndef SEATGATE_JWS_H
#define SEATGATE_JWS_H

#include <stdbool.h>
#include <stddef.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_JWS_MAX_TOKEN 8192 /* longest token accepted (bytes) */
#define SG_JWS_KID_MAX 64

typedef enum sg_jws_alg {
    SG_JWS_EDDSA = 1, /* "EdDSA" (Ed25519) */
    SG_JWS_HS256 = 2  /* "HS256" */
} sg_jws_alg;

const char *sg_jws_alg_name(sg_jws_alg alg);

/* Why a token was refused (SG_JWS_OK: it was not). */
typedef enum sg_jws_reason {
    SG_JWS_OK = 0,
    SG_JWS_MALFORMED,        /* not three base64url parts, or a part not JSON */
    SG_JWS_TOO_LARGE,        /* longer than max_len */
    SG_JWS_BAD_HEADER,       /* header without alg, with crit/jku/x5u/jwk/x5c, typ not JWT */
    SG_JWS_ALG_NOT_ALLOWED,  /* alg not allowed, "none", or not the key's algorithm */
    SG_JWS_UNKNOWN_KID,      /* no such key (or no kid where one is needed) */
    SG_JWS_BAD_SIGNATURE,    /* the signature does not match (or has the wrong length) */
    SG_JWS_MISSING_EXP,      /* no numeric exp */
    SG_JWS_EXPIRED,          /* exp <= now - leeway */
    SG_JWS_NOT_YET_VALID,    /* nbf > now + leeway */
    SG_JWS_ISSUED_IN_FUTURE, /* iat > now + leeway */
    SG_JWS_REASON_COUNT
} sg_jws_reason;

/* Stable snake_case names ("bad_signature", "expired"...). */
const char *sg_jws_reason_name(sg_jws_reason r);

typedef struct sg_jws_keyset sg_jws_keyset;

/* Parses a JWK Set. SG_E_INVALID (the message names the key and field, never a value),
 * SG_E_NOMEM. An Ed25519 key without "d" verifies only; an "oct" key's "k" is its secret. */
sg_status sg_jws_keyset_parse(const char *json, size_t len, sg_jws_keyset **out);
/* Reads a JWK Set file (at most 1 MiB). SG_E_IO, then as sg_jws_keyset_parse. */
sg_status sg_jws_keyset_load(const char *path, sg_jws_keyset **out);
/* An HS256 key set of one key whose secret is the raw bytes given (Nakama's
 * session.encryption_key string). */
sg_status sg_jws_keyset_from_secret(const char *kid, const void *secret, size_t len,
                                    sg_jws_keyset **out);
void sg_jws_keyset_free(sg_jws_keyset *ks);
size_t sg_jws_keyset_count(const sg_jws_keyset *ks);

/* A new key set of one key (malloc()ed JSON): Ed25519 (with "d") or a 32-byte HS256 secret. */
sg_status sg_jws_keygen(sg_jws_alg alg, const char *kid, char **json);
/* The key set without private parts (Ed25519 keys only: HS256 secrets cannot be public).
 * SG_E_INVALID when it holds an HS256 key. */
sg_status sg_jws_keyset_public(const sg_jws_keyset *ks, char **json);

/* Signs claims (a JSON object, copied as given) with the key named kid (NULL: the first key
 * that can sign). The header is {"alg","typ":"JWT","kid"}. *token malloc()ed. SG_E_INVALID
 * (no such key, a verify-only key, claims not an object), SG_E_NOMEM. */
sg_status sg_jws_sign(const sg_jws_keyset *ks, const char *kid, const char *claims_json,
                      char **token);

typedef struct sg_jws_verify_options {
    unsigned allowed;    /* bit mask of sg_jws_alg; 0: the keys' own algorithms */
    long long now_s;     /* unix seconds (0: the clock) */
    long long leeway_s;  /* on exp, nbf and iat */
    size_t max_len;      /* 0: SG_JWS_MAX_TOKEN */
    bool require_kid;    /* refuse a token without kid even with a single key */
} sg_jws_verify_options;

/* Verifies a compact token. SG_OK with *reason SG_JWS_OK and *claims (the payload JSON,
 * malloc()ed; may be NULL to skip); SG_E_INVALID with the reason otherwise (sg_last_error()
 * says why, without the token); SG_E_NOMEM. */
sg_status sg_jws_verify(const sg_jws_keyset *ks, const char *token, size_t len,
                        const sg_jws_verify_options *o, sg_jws_reason *reason, char **claims);

#ifdef __cplusplus
}
#endif
#endif
