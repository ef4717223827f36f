/* Fuzzes what the matchmaker reads from a player's Authorization header: the header itself
 * (first byte even), or, so the claim checks are reached past the signature, a claims object
 * that is signed here with the configured key before it is checked (first byte odd). Both
 * the Nakama issuer and a generic one (iss, aud and the user claim checked) see each input. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "auth.h"
#include "seatgate/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sg_auth *nakama, *generic;
static sg_jws_keyset *signer;

static void setup(void)
{
    const char *key = "fuzz-session-key";
    sg_auth_options n = {.mode = SG_AUTH_NAKAMA, .nakama_key = key, .leeway_s = 5};
    if (sg_auth_new(&n, &nakama) != SG_OK) abort();
    /* The key set file, in memory: "fuzz-session-key" in base64url as an HS256 key */
    static const char set[] = "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":"
                              "\"nakama\",\"k\":\"ZnV6ei1zZXNzaW9uLWtleQ\"}]}";
    int fd = memfd_create("sg-fuzz-auth-keys", 0);
    if (fd < 0 || write(fd, set, sizeof set - 1) != (ssize_t)(sizeof set - 1)) abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    sg_auth_options g = {.mode = SG_AUTH_JWT, .keys_path = path, .issuer = "https://id.example",
                         .audience = "game", .user_claim = "sub"};
    if (sg_auth_new(&g, &generic) != SG_OK) abort();
    close(fd);
    if (sg_jws_keyset_from_secret("nakama", key, strlen(key), &signer) != SG_OK) abort();
}

static void check(const char *header)
{
    char user[SG_REC_USER_MAX];
    sg_reply_error err;
    const char *tok = NULL;
    sg_auth *both[] = {nakama, generic};
    for (int i = 0; i < 2; i++)
        if (sg_auth_verify(both[i], header, 1700000000, user, &tok, &err) &&
            (!tok || !sg_user_id_valid(user)))
            abort(); /* accepted: a token and a usable user id */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nakama) setup();
    if (size == 0) return 0;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if ((data[0] & 1) == 0) {
        check(text);
    } else {
        char *tok = NULL;
        if (sg_jws_sign(signer, "nakama", text, &tok) == SG_OK) {
            size_t n = strlen(tok) + 8;
            char *h = malloc(n);
            if (h) {
                snprintf(h, n, "Bearer %s", tok);
                check(h);
                free(h);
            }
            free(tok);
        }
    }
    free(text);
    return 0;
}
