/* An in-memory backend for the gameserver hook's tests: a world of client ids, sessions and
 * claims that several hooks can share, with switches for failures and a gate that holds
 * the worker to prove the game thread never waits for it. */
#ifndef SG_TEST_FAKE_BACKEND_H
#define SG_TEST_FAKE_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hook_internal.h"

#define FAKE_MAX 64

typedef struct fake_session {
    char id[64];
    char status[32];
    bool ready;
    char ips[4][64];
    int ip_count;
    char public_ip[64];
    char request_id[64];
    bool record; /* a session record exists in the store */
    int claim;   /* 0 unclaimed, 1 claimed, 2 released */
    uint64_t claimed_by;
    bool deleted;      /* Edgegap deleted it */
    bool edgegap_gone; /* Edgegap answers 404 */
} fake_session;

typedef struct fake_world {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint64_t client_ids[FAKE_MAX];
    char client_sessions[FAKE_MAX][64];
    int client_count;
    fake_session sessions[FAKE_MAX];
    int session_count;
    /* failure switches */
    sg_status lookup_status;  /* SG_OK: normal */
    sg_status edgegap_status; /* for get_session */
    sg_status claim_status;
    int delete_failures; /* the next N deletes fail (not queued either) */
    int start_failures;  /* the next N start attempts fail with SG_E_UNAVAILABLE */
    int capacity;        /* the server's capacity, as its start learns it (0: no cap) */
    bool gate_closed;    /* lookup_client waits while closed */
    int gate_waiting;    /* workers waiting at the gate */
    /* observations */
    char events[256][32];
    char event_json[256][512];
    int event_count;
    int deletes;
    int heartbeats;
    int last_players; /* the player count of the latest heartbeat */
    int stops;
} fake_world;

void fake_world_init(fake_world *w);
void fake_world_destroy(fake_world *w);
/* Adds a ready session on the given server for one player IP, with a token for client_id. */
fake_session *fake_add(fake_world *w, uint64_t client_id, const char *session_id,
                       const char *player_ip, const char *server_ip, const char *request_id);
fake_session *fake_find(fake_world *w, const char *session_id);
int fake_count_events(fake_world *w, const char *kind);
void fake_gate(fake_world *w, bool closed);

/* A backend over w for a server with this identity. */
hook_backend fake_backend(fake_world *w, const char *request_id, const char *public_ip);

#endif
