/* The example client's core: sends a token's connection request over UDP and reports the
 * example server's answer (see example_proto.h). */
#ifndef SG_EX_CLIENT_H
#define SG_EX_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "seatgate/token.h"

typedef enum ex_outcome {
    EX_ACCEPTED = 0,
    EX_DENIED = 1,
    EX_NO_ANSWER = 2,
    EX_ERROR = 3
} ex_outcome;

typedef struct ex_client_options {
    const char *bind_ip; /* source address ("127.0.0.2"); NULL: any */
    int timeout_ms;      /* for an answer; default 5000 */
    int stay_ms;         /* once accepted, stay connected this long (keep-alives); 0: leave */
    bool goodbye;        /* say goodbye when leaving (else just go silent) */
    sg_token_dialect dialect; /* as the matchmaker writes tokens */
    const char *kills;        /* once accepted: a kill of each of these client ids (comma-
                               * separated), one SCORE packet each; NULL: none */
} ex_client_options;

typedef struct ex_client_result {
    ex_outcome outcome;
    uint64_t client_id;
    uint8_t code; /* DENY code */
    char reason[64];
    char message[256];
    char server[64]; /* the address the request went to */
} ex_client_result;

/* Connects with a 2048-byte token to its first server address. */
ex_outcome ex_client_connect(const uint8_t *token, size_t len, const ex_client_options *o,
                             ex_client_result *out);

#endif
