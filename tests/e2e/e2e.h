/* End-to-end suite: the topology under test and what the scenarios use to look at it.
 *
 * Local mode starts the real programs on loopback (nats-server, or a three-node cluster;
 * the Edgegap simulator with two configured deployments; one example game server per
 * deployment; the matchmaker; a second matchmaker replica when a scenario asks). External
 * mode (docker-compose) is handed the service URLs by settings and starts nothing; the
 * scenarios that kill or restart a service ask the script outside the stack to do it, through
 * a folder both see (--control-dir: a request file per action, answered by a reply file), and
 * are skipped only when no such folder is given.
 *
 * A scenario looks at every component: the matchmaker's HTTP answers (e2e_player), the
 * example client's UDP outcome, the store's buckets and queue (e2e_session_get...), the
 * events published (e2e_events_*), and the simulator's sessions (e2e_sim_*). */
#ifndef SG_E2E_H
#define SG_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "proc.h"
#include "nats_server.h"
#include "seatgate/kv.h"
#include "seatgate/records.h"
#include "seatgate/token.h"

#define E2E_DEPLOYMENTS 2
#define E2E_MATCHMAKERS 2

typedef struct e2e_deployment {
    char request_id[16];
    char public_ip[48];
    char fqdn[128]; /* its key in the gameserver bucket (from the simulator) */
    int port;          /* external UDP port: what players dial */
    int internal_port; /* what the game server binds (= port unless E.port_mapping) */
    bool keyless;   /* the server holds no Edgegap key: deletes go through the queue */
    int sdk_port;   /* Agones: its GameServer's SDK sidecar */
    /* The WebTransport certificate digest the server is given (SEATGATE_CERT_DIGEST, "" for
     * none) and the form /connect-me must hand out (64 lower-case hex digits). */
    char cert_digest_given[100], cert_digest_want[65];
    sg_proc proc;  /* local mode */
    bool killed;   /* killed by a scenario: no heartbeat expected from it */
} e2e_deployment;

typedef struct e2e_stack {
    bool external;
    char control_dir[256]; /* external: the controller's mailbox ("" = none) */
    char port_name[32];    /* external: the game port's name at the simulator */
    /* The platform: Edgegap (the simulator of its session API) or Agones (seatgate-agones-sim:
     * sim_url is then its admin API, alloc_url its allocator; deployments are GameServers). */
    bool agones;
    char agones_bin[512];
    char alloc_url[256];
    char dir[256]; /* output folder: logs, configs, tokens, screenshots */
    char app[32];
    char api_key[64];
    char key_hex[80]; /* netcode private key ("" when not known: forged tokens skipped) */
    char protocol_id[32];
    char dialect[32]; /* token-dialect of every program (matchmaker, servers, clients) */
    /* Local: game servers bind another port than players dial, with e2e_relay forwarding
     * between them (the platform's port mapping). */
    bool port_mapping;
    char client_bin[512];
    char mm_bin[512], sim_bin[512], server_bin[512];
    char lb_bin[512]; /* local: seatgate-leaderboard ("" = none) */
    sg_proc lb;
    char lb_url[256];
    int nats_nodes; /* local: 1 or 3 */
    sg_test_nats nats;
    sg_test_nats_cluster cluster;
    char nats_url[512];
    sg_proc sim;
    char sim_url[256];
    e2e_deployment dep[E2E_DEPLOYMENTS];
    sg_proc mm[E2E_MATCHMAKERS];
    char mm_url[E2E_MATCHMAKERS][256];
    int mm_port[E2E_MATCHMAKERS];
    char *player_ips; /* comma-separated pool ("" = the default source address only) */
    char xff_ip[48];  /* an address the driver may claim through X-Forwarded-For */
    int players;      /* players in the concurrency scenario */
    /* The driver's own view of the store. */
    sg_store *store;
    sg_bucket *sessions, *tokens, *gameserver;
} e2e_stack;

extern e2e_stack E;

/* ---- stack (e2e_stack.c) ---- */
bool e2e_stack_start(void);
void e2e_stack_stop(void);
/* Process control: local mode acts on its own children; external mode asks the controller
 * (false when there is none, or it reports a failure). */
bool e2e_can_control(void);
bool e2e_matchmaker_start(int i); /* (re)start replica i (same URL), then wait for /readyz */
bool e2e_matchmaker_kill(int i);  /* SIGKILL */
bool e2e_matchmaker_stop(int i);  /* SIGTERM, waited for */
bool e2e_server_start(int i);
bool e2e_server_kill(int i);
bool e2e_nats_stop(void);                     /* single node: SIGTERM */
bool e2e_nats_start(void);                    /* and again, waited until JetStream answers */
int e2e_nats_kill_leader(const char *stream); /* cluster: SIGKILL the stream's leader */
/* The port mapping (e2e_relay.c): external port -> internal port of every deployment. */
bool e2e_relay_start(void);
void e2e_relay_stop(void);
/* The next player source address from the pool ("" when there is no pool). */
const char *e2e_next_ip(void);

/* ---- players (e2e_player.c) ---- */
typedef struct e2e_player {
    char ip[48]; /* source address ("" = default) */
    /* the matchmaker's answer */
    long status;
    char error[64]; /* error.code */
    char retry_after[16];
    char session_id[128], client_id[32], host[64], token_file[512];
    char cert_digest[100]; /* "" when the answer has none */
    int port;
    /* the example client */
    pid_t pid;
    int out_fd;
    char line[512];
    int exit_code; /* -2: still running */
} e2e_player;

/* POST /connect-me from p->ip, optionally with one extra header; fills the answer fields and
 * writes the token to a file. */
void e2e_connect_me(e2e_player *p, const char *mm_url, const char *header);
/* The same for n players at once (one libcurl multi handle). */
void e2e_connect_me_all(e2e_player *ps, int n, const char *mm_url);
/* Starts seatgate-example-client with the player's token, from `bind` (NULL: p->ip), staying
 * stay_ms once accepted, then leaving (goodbye or silently). */
bool e2e_play(e2e_player *p, const char *bind, long stay_ms, bool goodbye);
/* The same, scoring a kill of each client id in kills (comma-separated) once accepted. */
bool e2e_play_kills(e2e_player *p, long stay_ms, const char *kills);
/* GET url and its JSON answer (NULL when none); *status the HTTP status. */
cJSON *e2e_http_get_json(const char *url, long *status);
/* Waits for the client to exit; its line and exit code into p. */
void e2e_play_wait(e2e_player *p, long timeout_ms);
/* Runs the client to the end with a token file; returns exit code and line. */
int e2e_play_token(const char *token_file, const char *bind, char *line, size_t size);
/* GET url; the HTTP status (0: no answer). */
long e2e_http_get_status(const char *url);
/* The deployment a player's answer points at (by port), or -1. */
int e2e_player_deployment(const e2e_player *p);
/* Mints a token for deployment `dep`'s address with session `sid` and client id `cid` in it,
 * with the shared key (only when E.key_hex is known), in E.dialect. The private list holds
 * the public address and, with bind, the server's bind address (as the matchmaker writes
 * it behind a port mapping). */
bool e2e_forge_token(int dep, uint64_t cid, const char *sid, bool bind, const char *path);
/* Opens a token file with the shared key, in E.dialect; false when it does not open. */
bool e2e_open_token(const char *path, sg_token_opened *out);

/* ---- simulator (e2e_inspect.c) ---- */
cJSON *e2e_sim_state(void); /* GET /_sim/state (cJSON_Delete it) */
/* Status of a session at the simulator: "Ready"..., "terminated", or "" when gone. */
void e2e_sim_session(const char *sid, char *status, size_t size, char *deployment, size_t dsize);
bool e2e_sim_live(const char *sid); /* present and not terminated */
int e2e_sim_live_count(void);
double e2e_sim_counter(const char *name);
int e2e_sim_post(const char *path, const char *json); /* admin call; HTTP status */
int e2e_sim_delete(const char *path);

/* ---- store (e2e_inspect.c) ---- */
/* The session record; false when absent. */
bool e2e_session_get(const char *sid, sg_session_record *r);
/* connect_tokens[client_id]; false when absent. */
bool e2e_token_get(const char *client_id, char *sid, size_t size);
bool e2e_gameserver_get(const char *request_id, sg_gameserver_record *r);
/* Every session record, as ids with their state (caller frees ids). */
size_t e2e_session_ids(char ***ids);
/* Messages waiting in the durable delete queue (NATS stream), -1 when unknown. */
long e2e_delete_queue_depth(void);

/* ---- events (e2e_inspect.c) ---- */
bool e2e_events_start(void);
void e2e_events_stop(void);
size_t e2e_events_mark(void); /* position now; later queries look after it */
/* Events of `kind` after mark whose `field` equals `value` (field NULL: all of the kind). */
int e2e_events_count(size_t mark, const char *kind, const char *field, const char *value);
/* Waits until at least n such events have arrived. */
bool e2e_events_wait(size_t mark, const char *kind, const char *field, const char *value, int n,
                     long timeout_ms);
/* The reason of the first event of kind for a session/client after mark ("" when none). */
void e2e_events_reason(size_t mark, const char *kind, const char *field, const char *value,
                       char *reason, size_t size);

/* Polls cond until true or timeout; returns its last value. */
#define E2E_WAIT_UNTIL(cond, timeout_ms)                                                           \
    ({                                                                                             \
        long long until_ = sg_test_now_ms() + (timeout_ms);                                            \
        bool ok_ = (cond);                                                                         \
        while (!ok_ && sg_test_now_ms() < until_) {                                                    \
            sg_test_sleep_ms(50);                                                                      \
            ok_ = (cond);                                                                          \
        }                                                                                          \
        ok_;                                                                                       \
    })

#endif
