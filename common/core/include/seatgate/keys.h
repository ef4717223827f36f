/* seatgate: the 32-byte netcode private key shared by the matchmaker and every game server.
 *
 * Accepted text forms (detected automatically, surrounding whitespace ignored):
 *   hex      64 hex digits, either case            "4f1a...c9"
 *   base64   standard alphabet with '=' padding    "TxqM...yQ="  (44 characters)
 *   decimal  32 comma-separated byte values 0..255, spaces allowed around the commas
 *            "1,2,3,...,32"  (the form bevygap passed on the command line)
 * A text containing a comma is read as decimal; one made only of hex digits, or exactly 64
 * characters long, as hex; anything else as base64.
 *
 * The key lives in an opaque sg_key held in libsodium's guarded memory and wiped when freed.
 * Error messages say what is wrong (lengths, positions counted from 1) and never contain
 * the key text. An sg_key is immutable after creation: share it freely between threads.
 */
#ifndef SEATGATE_KEYS_H
#define SEATGATE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_KEY_BYTES 32
#define SG_KEY_HEX_SIZE 65      /* 64 digits + NUL */
#define SG_KEY_BASE64_SIZE 45   /* 44 characters + NUL */
#define SG_KEY_DECIMAL_SIZE 128 /* "255," x 32 without the last comma, + NUL */

typedef struct sg_key sg_key;

/* Parses text in any accepted form into a new key (*out; free with sg_key_free).
 * Errors: SG_E_INVALID with a message starting "private key: ", for example
 * "private key: expected 32 bytes, got 31" or "private key: bad character at position 17";
 * SG_E_NOMEM. On error *out is NULL. */
sg_status sg_key_parse(const char *text, sg_key **out);

/* A new key from 32 raw bytes. Errors: SG_E_INVALID (NULL bytes), SG_E_NOMEM. */
sg_status sg_key_from_bytes(const uint8_t bytes[SG_KEY_BYTES], sg_key **out);

/* A new random key (libsodium randombytes_buf). Errors: SG_E_NOMEM. */
sg_status sg_key_generate(sg_key **out);

/* Wipes and frees the key; NULL is fine. */
void sg_key_free(sg_key *key);

/* The 32 raw bytes, valid until sg_key_free. Never log them. */
const uint8_t *sg_key_bytes(const sg_key *key);

/* Constant-time comparison. */
bool sg_key_equal(const sg_key *a, const sg_key *b);

/* Formats the key as lower-case hex, base64, or comma-separated decimal bytes (no spaces).
 * Each returns out, or NULL (out set to "" when size > 0) when size is below the *_SIZE
 * constant above. Callers should sodium_memzero() the buffer when done. */
const char *sg_key_format_hex(const sg_key *key, char *out, size_t size);
const char *sg_key_format_base64(const sg_key *key, char *out, size_t size);
const char *sg_key_format_decimal(const sg_key *key, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
