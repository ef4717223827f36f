/* The example game server's core: a UDP socket, netcode connection requests, the hook, and
 * player slots. main() (example_server.c) only parses settings and wires this up, so tests
 * can drive the same code over real UDP with their own hook. */
#ifndef SG_EX_SERVER_H
#define SG_EX_SERVER_H

#include <stdint.h>

#include "seatgate/addr.h"
#include "seatgate/gameserver_hook.h"
#include "seatgate/token.h"

typedef struct ex_server ex_server;

typedef struct ex_server_config {
    const char *listen;         /* "127.0.0.1:7000"; without a port: any free port */
    const sg_addr *public_addr; /* the address players dial; NULL: the bound address. A token
                                 * is taken when its (private) list holds it or the bound
                                 * address. In the lightyear dialect only the bound address
                                 * counts, as lightyear 0.29 checks it (sg_token_lists_bind),
                                 * and a request failing it is dropped without an answer. */
    const sg_key *key;          /* netcode private key */
    uint64_t protocol_id;
    sg_token_dialect dialect; /* as the matchmaker writes tokens */
    int max_players;       /* slots; default 64 */
    int keepalive_ms;      /* interval of keep-alive packets; default 1000 */
    int default_timeout_s; /* used when a token's timeout is 0; default 5 */
} ex_server_config;

/* Binds the socket. The hook is borrowed (not freed by the server). */
int ex_server_new(const ex_server_config *cfg, sg_hook *hook, ex_server **out);
/* The bound port (host order). */
uint16_t ex_server_port(const ex_server *s);
/* One tick: waits up to wait_ms for packets, handles them, polls the hook, sends
 * keep-alives, times out silent players. */
void ex_server_tick(ex_server *s, int wait_ms);
/* Disconnects every player (server_stop) and frees the server. */
void ex_server_free(ex_server *s);
int ex_server_players(const ex_server *s);

#endif
