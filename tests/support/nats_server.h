/* Test helper: runs a real `nats-server -js` on a free loopback port with a temporary store
 * directory. The server is started with PR_SET_PDEATHSIG, so it dies with the test process
 * even when the test aborts or crashes; sg_test_nats_free stops it and removes the folder. */
#ifndef SG_TEST_NATS_SERVER_H
#define SG_TEST_NATS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct sg_test_nats {
    pid_t pid;         /* 0 when not running */
    int port;          /* chosen on first start, kept across restarts */
    bool no_jetstream; /* start without -js (to test that error) */
    char dir[256];     /* temporary folder: JetStream store and the server's log */
    char url[64];      /* "nats://127.0.0.1:PORT" */
} sg_test_nats;

/* Creates the folder, picks a port and starts the server; waits until it accepts
 * connections (at most 10 s). Returns 0, or -1 with a message on stderr. */
int sg_test_nats_start(sg_test_nats *n);

/* Starts it again on the same port and folder (after sg_test_nats_stop). */
int sg_test_nats_restart(sg_test_nats *n);

/* Stops the server (SIGTERM, then SIGKILL after 3 s). Keeps the folder. */
void sg_test_nats_stop(sg_test_nats *n);

/* Stops the server and removes the folder. */
void sg_test_nats_free(sg_test_nats *n);

#endif
