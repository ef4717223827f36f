/* Signed seat tokens: JWS compact serialization over libsodium (see seatgate/jws.h). Tokens
 * and key sets are untrusted input: every part is bounded and type-checked, base64url must be
 * canonical, and the signature is checked before any claim is read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "seatgate/jws.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define MAX_KEYS 32
#define HS_MAX 256 /* longest HS256 secret */

typedef struct jws_key {
    char kid[SG_JWS_KID_MAX];
    sg_jws_alg alg;
    bool can_sign;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    unsigned char secret[HS_MAX];
    size_t secret_len;
} jws_key;

struct sg_jws_keyset {
    jws_key keys[MAX_KEYS];
    size_t n;
};

const char *sg_jws_alg_name(sg_jws_alg alg)
{
    return alg == SG_JWS_EDDSA ? "EdDSA" : alg == SG_JWS_HS256 ? "HS256" : "?";
}

const char *sg_jws_reason_name(sg_jws_reason r)
{
    static const char *const names[SG_JWS_REASON_COUNT] = {
        [SG_JWS_OK] = "ok",
        [SG_JWS_MALFORMED] = "malformed",
        [SG_JWS_TOO_LARGE] = "too_large",
        [SG_JWS_BAD_HEADER] = "bad_header",
        [SG_JWS_ALG_NOT_ALLOWED] = "alg_not_allowed",
        [SG_JWS_UNKNOWN_KID] = "unknown_kid",
        [SG_JWS_BAD_SIGNATURE] = "bad_signature",
        [SG_JWS_MISSING_EXP] = "missing_exp",
        [SG_JWS_EXPIRED] = "expired",
        [SG_JWS_NOT_YET_VALID] = "not_yet_valid",
        [SG_JWS_ISSUED_IN_FUTURE] = "issued_in_future",
    };
    return (unsigned)r < SG_JWS_REASON_COUNT ? names[r] : "unknown";
}

/* ---- base64url --------------------------------------------------------------------------- */

/* Decodes canonical base64url (no padding, zero unused bits: re-encoding gives the same
 * text). Returns the byte count, or -1. */
static long b64_decode(const char *text, size_t len, unsigned char *out, size_t cap)
{
    size_t n = 0;
    const char *end = NULL;
    if (len == 0) return 0;
    if (sodium_base642bin(out, cap, text, len, NULL, &n, &end, B64) != 0 || end != text + len)
        return -1;
    size_t elen = sodium_base64_ENCODED_LEN(n, B64);
    char *again = malloc(elen);
    if (!again) return -1;
    sodium_bin2base64(again, elen, out, n, B64);
    bool same = strlen(again) == len && memcmp(again, text, len) == 0;
    free(again);
    return same ? (long)n : -1;
}

/* base64url of bin (malloc()ed). */
static char *b64_encode(const void *bin, size_t len)
{
    size_t elen = sodium_base64_ENCODED_LEN(len, B64);
    char *out = malloc(elen);
    if (out) sodium_bin2base64(out, elen, bin, len, B64);
    return out;
}

/* ---- key sets ---------------------------------------------------------------------------- */

void sg_jws_keyset_free(sg_jws_keyset *ks)
{
    if (!ks) return;
    sodium_memzero(ks, sizeof *ks);
    free(ks);
}

size_t sg_jws_keyset_count(const sg_jws_keyset *ks)
{
    return ks ? ks->n : 0;
}

static bool field_b64(const cJSON *o, const char *name, unsigned char *out, size_t want,
                      size_t *got)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v) || !v->valuestring) return false;
    long n = b64_decode(v->valuestring, strlen(v->valuestring), out, want);
    if (n < 0 || (got == NULL && (size_t)n != want)) return false;
    if (got) *got = (size_t)n;
    return n > 0;
}

static sg_status parse_key(const cJSON *j, size_t index, jws_key *k)
{
    memset(k, 0, sizeof *k);
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(j, "kty");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(j, "kid");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(j, "alg");
    if (!cJSON_IsObject(j) || !cJSON_IsString(kty))
        return sg_fail(SG_E_INVALID, "key set: key %zu: an object with kty is expected", index);
    if (!cJSON_IsString(kid) || !kid->valuestring[0] ||
        strlen(kid->valuestring) >= sizeof k->kid)
        return sg_fail(SG_E_INVALID, "key set: key %zu: kid (1..%d characters) is required",
                       index, SG_JWS_KID_MAX - 1);
    snprintf(k->kid, sizeof k->kid, "%s", kid->valuestring);
    if (strcmp(kty->valuestring, "OKP") == 0) {
        const cJSON *crv = cJSON_GetObjectItemCaseSensitive(j, "crv");
        if (!cJSON_IsString(crv) || strcmp(crv->valuestring, "Ed25519") != 0)
            return sg_fail(SG_E_INVALID, "key set: key %s: an OKP key must be crv Ed25519", k->kid);
        if (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "EdDSA") != 0))
            return sg_fail(SG_E_INVALID, "key set: key %s: alg must be EdDSA", k->kid);
        k->alg = SG_JWS_EDDSA;
        if (!field_b64(j, "x", k->pk, sizeof k->pk, NULL))
            return sg_fail(SG_E_INVALID, "key set: key %s: x (32 bytes, base64url) is required",
                           k->kid);
        if (cJSON_GetObjectItemCaseSensitive(j, "d")) {
            unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
            bool ok = field_b64(j, "d", seed, sizeof seed, NULL) &&
                      crypto_sign_seed_keypair(pk, k->sk, seed) == 0 &&
                      sodium_memcmp(pk, k->pk, sizeof pk) == 0;
            sodium_memzero(seed, sizeof seed);
            if (!ok)
                return sg_fail(SG_E_INVALID,
                               "key set: key %s: d must be the 32-byte seed of x (base64url)",
                               k->kid);
            k->can_sign = true;
        }
        return SG_OK;
    }
    if (strcmp(kty->valuestring, "oct") == 0) {
        if (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0))
            return sg_fail(SG_E_INVALID, "key set: key %s: alg must be HS256", k->kid);
        k->alg = SG_JWS_HS256;
        if (!field_b64(j, "k", k->secret, sizeof k->secret, &k->secret_len) || k->secret_len < 16)
            return sg_fail(SG_E_INVALID,
                           "key set: key %s: k (16..%d bytes, base64url) is required", k->kid,
                           HS_MAX);
        k->can_sign = true;
        return SG_OK;
    }
    return sg_fail(SG_E_INVALID, "key set: key %s: kty must be OKP (Ed25519) or oct (HS256)",
                   k->kid);
}

sg_status sg_jws_keyset_parse(const char *json, size_t len, sg_jws_keyset **out)
{
    *out = NULL;
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "libsodium failed to initialise");
    cJSON *root = json ? cJSON_ParseWithLength(json, len) : NULL;
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(keys) || cJSON_GetArraySize(keys) == 0) {
        cJSON_Delete(root);
        return sg_fail(SG_E_INVALID, "key set: a JSON object {\"keys\": [...]} with keys");
    }
    sg_jws_keyset *ks = calloc(1, sizeof *ks);
    if (!ks) {
        cJSON_Delete(root);
        return sg_fail(SG_E_NOMEM, "key set: out of memory");
    }
    sg_status st = SG_OK;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        if (ks->n == MAX_KEYS) {
            st = sg_fail(SG_E_INVALID, "key set: at most %d keys", MAX_KEYS);
            break;
        }
        if ((st = parse_key(k, ks->n, &ks->keys[ks->n])) != SG_OK) break;
        for (size_t i = 0; i < ks->n; i++)
            if (strcmp(ks->keys[i].kid, ks->keys[ks->n].kid) == 0)
                st = sg_fail(SG_E_INVALID, "key set: kid %s appears twice", ks->keys[i].kid);
        if (st != SG_OK) break;
        ks->n++;
    }
    /* cJSON's copies of the key text are freed here; wipe them first. */
    for (cJSON *e = keys ? keys->child : NULL; e; e = e->next)
        for (cJSON *f = e->child; f; f = f->next)
            if (cJSON_IsString(f) && f->valuestring) sodium_memzero(f->valuestring, strlen(f->valuestring));
    cJSON_Delete(root);
    if (st != SG_OK) {
        sg_jws_keyset_free(ks);
        return st;
    }
    *out = ks;
    return SG_OK;
}

sg_status sg_jws_keyset_load(const char *path, sg_jws_keyset **out)
{
    *out = NULL;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return sg_fail(SG_E_IO, "key set %s: %s", path ? path : "(none)", strerror(errno));
    char *buf = malloc((1 << 20) + 1);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    bool more = buf && fgetc(f) != EOF;
    fclose(f);
    if (!buf) return sg_fail(SG_E_NOMEM, "key set: out of memory");
    sg_status st = more ? sg_fail(SG_E_INVALID, "key set %s: larger than 1 MiB", path)
                        : sg_jws_keyset_parse(buf, n, out);
    sodium_memzero(buf, n);
    free(buf);
    return st;
}

sg_status sg_jws_keyset_from_secret(const char *kid, const void *secret, size_t len,
                                    sg_jws_keyset **out)
{
    *out = NULL;
    if (!kid || !*kid || strlen(kid) >= SG_JWS_KID_MAX || !secret || len == 0 || len > HS_MAX)
        return sg_fail(SG_E_INVALID, "HS256 key: a kid and a secret of 1..%d bytes", HS_MAX);
    sg_jws_keyset *ks = calloc(1, sizeof *ks);
    if (!ks) return sg_fail(SG_E_NOMEM, "key set: out of memory");
    jws_key *k = &ks->keys[0];
    snprintf(k->kid, sizeof k->kid, "%s", kid);
    k->alg = SG_JWS_HS256;
    k->can_sign = true;
    memcpy(k->secret, secret, len);
    k->secret_len = len;
    ks->n = 1;
    *out = ks;
    return SG_OK;
}

static cJSON *key_json(const jws_key *k, bool with_private)
{
    cJSON *o = cJSON_CreateObject();
    char *x = NULL, *d = NULL;
    bool ok = o != NULL;
    if (ok && k->alg == SG_JWS_EDDSA) {
        x = b64_encode(k->pk, sizeof k->pk);
        if (with_private && k->can_sign) d = b64_encode(k->sk, crypto_sign_SEEDBYTES); /* sk = seed||pk */
        ok = x && cJSON_AddStringToObject(o, "kty", "OKP") && cJSON_AddStringToObject(o, "crv", "Ed25519") &&
             cJSON_AddStringToObject(o, "alg", "EdDSA") && cJSON_AddStringToObject(o, "use", "sig") &&
             cJSON_AddStringToObject(o, "kid", k->kid) && cJSON_AddStringToObject(o, "x", x) &&
             (!d || cJSON_AddStringToObject(o, "d", d));
    } else if (ok) {
        d = b64_encode(k->secret, k->secret_len);
        ok = d && cJSON_AddStringToObject(o, "kty", "oct") && cJSON_AddStringToObject(o, "alg", "HS256") &&
             cJSON_AddStringToObject(o, "use", "sig") && cJSON_AddStringToObject(o, "kid", k->kid) &&
             cJSON_AddStringToObject(o, "k", d);
    }
    if (d) {
        sodium_memzero(d, strlen(d));
        free(d);
    }
    free(x);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static sg_status keyset_json(const jws_key *keys, size_t n, bool with_private, char **json)
{
    *json = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "keys") : NULL;
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *k = key_json(&keys[i], with_private);
        ok = k && cJSON_AddItemToArray(arr, k);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    for (cJSON *e = arr ? arr->child : NULL; e; e = e->next)
        for (cJSON *f = e->child; f; f = f->next)
            if (cJSON_IsString(f) && f->valuestring) sodium_memzero(f->valuestring, strlen(f->valuestring));
    cJSON_Delete(root);
    if (!text) return sg_fail(SG_E_NOMEM, "key set: out of memory");
    *json = text;
    return SG_OK;
}

sg_status sg_jws_keygen(sg_jws_alg alg, const char *kid, char **json)
{
    *json = NULL;
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "libsodium failed to initialise");
    if (!kid || !*kid || strlen(kid) >= SG_JWS_KID_MAX)
        return sg_fail(SG_E_INVALID, "keygen: kid must be 1..%d characters", SG_JWS_KID_MAX - 1);
    jws_key k;
    memset(&k, 0, sizeof k);
    snprintf(k.kid, sizeof k.kid, "%s", kid);
    k.alg = alg;
    k.can_sign = true;
    if (alg == SG_JWS_EDDSA) {
        crypto_sign_keypair(k.pk, k.sk);
    } else if (alg == SG_JWS_HS256) {
        k.secret_len = 32;
        randombytes_buf(k.secret, k.secret_len);
    } else {
        return sg_fail(SG_E_INVALID, "keygen: alg must be EdDSA or HS256");
    }
    sg_status st = keyset_json(&k, 1, true, json);
    sodium_memzero(&k, sizeof k);
    return st;
}

sg_status sg_jws_keyset_public(const sg_jws_keyset *ks, char **json)
{
    *json = NULL;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->keys[i].alg != SG_JWS_EDDSA)
            return sg_fail(SG_E_INVALID, "key set: key %s is HS256: a shared secret has no "
                                         "public part", ks->keys[i].kid);
    return keyset_json(ks->keys, ks->n, false, json);
}

/* ---- signing ------------------------------------------------------------------------------ */

static bool mac(const jws_key *k, const char *msg, size_t len, unsigned char out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, k->secret, k->secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
    return true;
}

sg_status sg_jws_sign(const sg_jws_keyset *ks, const char *kid, const char *claims_json,
                      char **token)
{
    *token = NULL;
    const jws_key *k = NULL;
    for (size_t i = 0; ks && i < ks->n && !k; i++)
        if (kid ? strcmp(ks->keys[i].kid, kid) == 0 : ks->keys[i].can_sign) k = &ks->keys[i];
    if (!k) return sg_fail(SG_E_INVALID, "sign: no key %s in the set", kid ? kid : "that can sign");
    if (!k->can_sign) return sg_fail(SG_E_INVALID, "sign: key %s has no private part", k->kid);
    cJSON *claims = claims_json ? cJSON_Parse(claims_json) : NULL;
    bool object = cJSON_IsObject(claims);
    cJSON_Delete(claims);
    if (!object) return sg_fail(SG_E_INVALID, "sign: the claims must be a JSON object");
    cJSON *h = cJSON_CreateObject();
    char *htext = h && cJSON_AddStringToObject(h, "alg", sg_jws_alg_name(k->alg)) &&
                          cJSON_AddStringToObject(h, "typ", "JWT") &&
                          cJSON_AddStringToObject(h, "kid", k->kid)
                      ? cJSON_PrintUnformatted(h)
                      : NULL;
    cJSON_Delete(h);
    char *h64 = htext ? b64_encode(htext, strlen(htext)) : NULL;
    char *p64 = b64_encode(claims_json, strlen(claims_json));
    free(htext);
    size_t hl = h64 ? strlen(h64) : 0, pl = p64 ? strlen(p64) : 0;
    char *input = h64 && p64 ? malloc(hl + pl + 2) : NULL;
    sg_status st = SG_OK;
    if (!input) {
        st = sg_fail(SG_E_NOMEM, "sign: out of memory");
    } else {
        memcpy(input, h64, hl);
        input[hl] = '.';
        memcpy(input + hl + 1, p64, pl + 1);
        unsigned char sig[crypto_sign_BYTES];
        size_t siglen = 32;
        if (k->alg == SG_JWS_EDDSA) {
            crypto_sign_detached(sig, NULL, (const unsigned char *)input, hl + 1 + pl, k->sk);
            siglen = crypto_sign_BYTES;
        } else {
            mac(k, input, hl + 1 + pl, sig);
        }
        char *s64 = b64_encode(sig, siglen);
        char *out = s64 ? malloc(hl + pl + strlen(s64) + 3) : NULL;
        if (out) {
            sprintf(out, "%s.%s", input, s64);
            *token = out;
        } else {
            st = sg_fail(SG_E_NOMEM, "sign: out of memory");
        }
        free(s64);
        sodium_memzero(sig, sizeof sig);
    }
    free(input);
    free(h64);
    free(p64);
    return st;
}

/* ---- verifying ------------------------------------------------------------------------------ */

static sg_status refuse(sg_jws_reason *reason, sg_jws_reason r, const char *why)
{
    *reason = r;
    return sg_fail(SG_E_INVALID, "seat token refused (%s): %s", sg_jws_reason_name(r), why);
}

/* A JSON object decoded from one base64url part (malloc()ed text in *text when wanted). */
static cJSON *part_json(const char *p, size_t len, char **text)
{
    unsigned char *buf = malloc(len + 1);
    if (!buf) return NULL;
    long n = b64_decode(p, len, buf, len);
    cJSON *j = NULL;
    if (n > 0) {
        buf[n] = '\0';
        const char *end = NULL;
        j = cJSON_ParseWithLengthOpts((const char *)buf, (size_t)n, &end, false);
        while (j && end && end < (const char *)buf + n && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
            end++;
        if (j && (!cJSON_IsObject(j) || end != (const char *)buf + n)) {
            cJSON_Delete(j);
            j = NULL;
        }
        if (j && text) {
            *text = (char *)buf;
            buf = NULL;
        }
    }
    free(buf);
    return j;
}

/* A numeric date claim: absent (false, *present false), a number (true), or another type
 * (false, *present true). */
static bool date_claim(const cJSON *claims, const char *name, long long *v, bool *present)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(claims, name);
    *present = c != NULL;
    if (!c || !cJSON_IsNumber(c) || c->valuedouble != c->valuedouble || c->valuedouble > 9e15 ||
        c->valuedouble < -9e15)
        return false;
    *v = (long long)c->valuedouble;
    return true;
}

sg_status sg_jws_verify(const sg_jws_keyset *ks, const char *token, size_t len,
                        const sg_jws_verify_options *o, sg_jws_reason *reason, char **claims_out)
{
    if (claims_out) *claims_out = NULL;
    *reason = SG_JWS_MALFORMED;
    sg_jws_verify_options def = {0};
    if (!o) o = &def;
    size_t max = o->max_len ? o->max_len : SG_JWS_MAX_TOKEN;
    if (!ks || ks->n == 0) return refuse(reason, SG_JWS_UNKNOWN_KID, "no key set");
    if (!token || len == 0) return refuse(reason, SG_JWS_MALFORMED, "empty");
    if (len > max) return refuse(reason, SG_JWS_TOO_LARGE, "longer than the limit");
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return refuse(reason, SG_JWS_MALFORMED, "not three dot-separated parts");
    size_t hl = (size_t)(d1 - token), pl = (size_t)(d2 - d1 - 1), sl = len - (size_t)(d2 + 1 - token);
    if (hl == 0 || pl == 0) return refuse(reason, SG_JWS_MALFORMED, "an empty part");
    cJSON *h = part_json(token, hl, NULL);
    if (!h) return refuse(reason, SG_JWS_MALFORMED, "the header is not base64url JSON");
    sg_status st = SG_OK;
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(h, "kid");
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(h, "typ");
    static const char *const forbidden[] = {"crit", "jku", "x5u", "jwk", "x5c", "x5t", "b64"};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0] && st == SG_OK; i++)
        if (cJSON_GetObjectItemCaseSensitive(h, forbidden[i]))
            st = refuse(reason, SG_JWS_BAD_HEADER, "the header names keys or extensions");
    if (st == SG_OK && (!cJSON_IsString(alg) || (typ && (!cJSON_IsString(typ) ||
                                                          strcmp(typ->valuestring, "JWT") != 0))))
        st = refuse(reason, SG_JWS_BAD_HEADER, "the header needs alg (and typ JWT if any)");
    if (st == SG_OK && kid && (!cJSON_IsString(kid) || strlen(kid->valuestring) >= SG_JWS_KID_MAX))
        st = refuse(reason, SG_JWS_BAD_HEADER, "kid is not a short string");
    /* The key: by kid, or the only key of the set when the token names none. */
    const jws_key *k = NULL;
    if (st == SG_OK) {
        if (cJSON_IsString(kid)) {
            for (size_t i = 0; i < ks->n && !k; i++)
                if (strcmp(ks->keys[i].kid, kid->valuestring) == 0) k = &ks->keys[i];
        } else if (!o->require_kid && ks->n == 1) {
            k = &ks->keys[0];
        }
        if (!k) st = refuse(reason, SG_JWS_UNKNOWN_KID, kid ? "no key with that kid" : "no kid");
    }
    if (st == SG_OK) {
        unsigned allowed = o->allowed ? o->allowed : (SG_JWS_EDDSA | SG_JWS_HS256);
        const char *a = alg->valuestring;
        sg_jws_alg want = k->alg;
        /* Exactly the key's algorithm: never "none", never HS256 with an Ed25519 key. */
        if (strcmp(a, sg_jws_alg_name(want)) != 0 || !(allowed & want))
            st = refuse(reason, SG_JWS_ALG_NOT_ALLOWED, "alg is not the key's or not allowed");
    }
    cJSON_Delete(h);
    if (st != SG_OK) return st;
    /* The signature, over the header and payload as sent. */
    unsigned char sig[crypto_sign_BYTES + 1];
    long sn = b64_decode(d2 + 1, sl, sig, sizeof sig);
    size_t want_len = k->alg == SG_JWS_EDDSA ? crypto_sign_BYTES : crypto_auth_hmacsha256_BYTES;
    bool good = sn == (long)want_len;
    if (good && k->alg == SG_JWS_EDDSA) {
        good = crypto_sign_verify_detached(sig, (const unsigned char *)token, hl + 1 + pl, k->pk) == 0;
    } else if (good) {
        unsigned char m[crypto_auth_hmacsha256_BYTES];
        mac(k, token, hl + 1 + pl, m);
        good = sodium_memcmp(m, sig, sizeof m) == 0; /* constant time */
        sodium_memzero(m, sizeof m);
    }
    if (!good) return refuse(reason, SG_JWS_BAD_SIGNATURE, "the signature does not match");
    char *ptext = NULL;
    cJSON *claims = part_json(d1 + 1, pl, &ptext);
    if (!claims) return refuse(reason, SG_JWS_MALFORMED, "the payload is not base64url JSON");
    long long now = o->now_s ? o->now_s : (long long)time(NULL), lee = o->leeway_s > 0 ? o->leeway_s : 0;
    long long exp = 0, nbf = 0, iat = 0;
    bool present = false;
    if (!date_claim(claims, "exp", &exp, &present))
        st = refuse(reason, SG_JWS_MISSING_EXP, present ? "exp is not a number" : "no exp");
    else if (exp <= now - lee)
        st = refuse(reason, SG_JWS_EXPIRED, "exp has passed");
    if (st == SG_OK && !date_claim(claims, "nbf", &nbf, &present) && present)
        st = refuse(reason, SG_JWS_MALFORMED, "nbf is not a number");
    else if (st == SG_OK && present && nbf > now + lee)
        st = refuse(reason, SG_JWS_NOT_YET_VALID, "nbf is in the future");
    if (st == SG_OK && !date_claim(claims, "iat", &iat, &present) && present)
        st = refuse(reason, SG_JWS_MALFORMED, "iat is not a number");
    else if (st == SG_OK && present && iat > now + lee)
        st = refuse(reason, SG_JWS_ISSUED_IN_FUTURE, "iat is in the future");
    cJSON_Delete(claims);
    if (st == SG_OK) {
        *reason = SG_JWS_OK;
        if (claims_out) {
            *claims_out = ptext;
            ptext = NULL;
        }
    }
    free(ptext);
    return st;
}
