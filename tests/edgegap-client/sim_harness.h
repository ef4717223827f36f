/* Starts and stops seatgate-edgegap-sim for a test, and talks to its /_sim admin API. */
#ifndef SG_TEST_SIM_HARNESS_H
#define SG_TEST_SIM_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct sim_proc {
    pid_t pid;
    char url[128];
    char dir[64];
} sim_proc;

/* Starts the simulator on a free loopback port with the given config and API key and waits
 * (up to 15 s) for its ready file. The process dies with the test process. */
bool sim_start(sim_proc *s, const char *bin, const char *config, const char *api_key);
/* SIGTERM, then SIGKILL after 5 s. Idempotent. */
void sim_stop(sim_proc *s);

/* One admin or API call with libcurl; returns the HTTP status (0 on failure). *body (when
 * given) receives the answer (malloc()ed). */
int sim_http(const sim_proc *s, const char *method, const char *path, const char *json,
             char **body);

/* Count of requests the simulator saw for a key like "GET /v1/session/{session_id} 200". */
long long sim_count(const sim_proc *s, const char *key);
/* A counter from /_sim/state "counters" (sessions_created...). */
long long sim_counter(const sim_proc *s, const char *name);

/* Reads ARBITRIUM_<name> of a configured deployment into buf. */
bool sim_env(const sim_proc *s, const char *request_id, const char *name, char *buf, size_t size);

#endif
