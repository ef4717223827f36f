/* Fuzzes the seat-token (JWS) verifier over a fixed key set of one Ed25519 and one HS256 key,
 * and the key-set parser (first byte odd). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "seatgate/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char keys[] =
    "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
    "\"x\":\"acVHV2YQcVAI6H8b43CioPtE8a_f1COugv0FnnnwCVo\"},"
    "{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"c2VhdGdhdGUtZnV6ei1zZWNyZXQtMzItYnl0ZXMhIQ\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sg_jws_keyset *ks;
    if (!ks && sg_jws_keyset_parse(keys, sizeof keys - 1, &ks) != SG_OK) abort();
    if (size > 0 && (data[0] & 1)) {
        sg_jws_keyset *other = NULL;
        if (sg_jws_keyset_parse((const char *)data + 1, size - 1, &other) == SG_OK)
            (void)sg_jws_keyset_count(other);
        sg_jws_keyset_free(other);
        return 0;
    }
    sg_jws_reason why;
    char *claims = NULL;
    sg_jws_verify_options o = {.now_s = 1700000000, .leeway_s = 5};
    sg_jws_verify(ks, (const char *)data, size, &o, &why, &claims);
    free(claims);
    return 0;
}
