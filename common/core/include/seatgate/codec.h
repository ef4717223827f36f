/* seatgate: base64 for carrying binary values (connect tokens) in JSON and text.
 *
 * Standard alphabet with '=' padding (RFC 4648 section 4, libsodium's
 * sodium_base64_VARIANT_ORIGINAL), no line breaks, no whitespace. Error messages give
 * positions and lengths only, never the text itself, so they are safe for secrets.
 * Also the one bounded string copy into fixed-size fields (sg_copy_str). Thread-safe.
 */
#ifndef SEATGATE_CODEC_H
#define SEATGATE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the buffer sg_base64_encode needs for bin_len bytes, terminating NUL included. */
#define SG_BASE64_ENCODED_SIZE(bin_len) ((((bin_len) + 2u) / 3u) * 4u + 1u)

/* Largest number of bytes text_len characters of base64 can decode to. */
#define SG_BASE64_DECODED_MAX(text_len) (((text_len) / 4u) * 3u)

/* Writes the base64 text of bin[0..len) and a NUL into out.
 * Errors: SG_E_TOO_LARGE when out_size < SG_BASE64_ENCODED_SIZE(len). */
sg_status sg_base64_encode(const void *bin, size_t len, char *out, size_t out_size);

/* Decodes text[0..text_len) into out (capacity out_cap); *out_len receives the byte count.
 * The whole text must be base64: no whitespace, padding required.
 * Errors: SG_E_MALFORMED ("base64: bad character at position N", counting from 1; "length
 * N is not a multiple of 4"; misplaced padding), SG_E_TOO_LARGE (decodes to more than
 * out_cap bytes). On error *out_len is 0 and out[0..out_cap) is zeroed. */
sg_status sg_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                           size_t *out_len);

/* Copies src (NULL: "") into dst of size bytes (> 0), cut to fit; dst always ends with a NUL.
 * Returns dst. For fixed-size fields of records and messages. */
char *sg_copy_str(char *dst, size_t size, const char *src);

#ifdef __cplusplus
}
#endif
#endif
