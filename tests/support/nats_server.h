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
    /* More nats-server arguments (NULL-terminated, at most 16; "--user", "u", ...), or NULL.
     * The array and strings are not copied: keep them alive while the server may restart. */
    const char *const *extra_args;
    char dir[256]; /* temporary folder: JetStream store and the server's log */
    char url[64];  /* "nats://127.0.0.1:PORT" */
    /* Cluster nodes only (set by sg_test_nats_cluster_start; 0/"" for a single server). */
    int cluster_port;      /* route listener */
    char name[32];         /* server name (JetStream clustering needs one per node) */
    char cluster_name[32]; /* shared by the nodes */
    char routes[256];      /* "nats://127.0.0.1:P1,nats://127.0.0.1:P2" (the other nodes) */
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

/* sg_test_free_tcp_port and the launcher are in proc.h. */
#include "proc.h"

/* ---- A JetStream cluster of several nodes on loopback ---------------------------------- */

#define SG_TEST_NATS_NODES_MAX 5

typedef struct sg_test_nats_cluster {
    sg_test_nats node[SG_TEST_NATS_NODES_MAX];
    int count;
    char urls[SG_TEST_NATS_NODES_MAX * 32]; /* every node's client URL, comma-separated */
} sg_test_nats_cluster;

/* Starts `count` (1..5) nodes on free loopback ports, each with its own folder, routed to
 * each other, and waits (at most 30 s) until JetStream has elected a meta leader, so buckets
 * with up to `count` replicas can be created at once. Every node dies with the test process.
 * Returns 0, or -1 with a message on stderr (the nodes started so far are stopped). */
int sg_test_nats_cluster_start(sg_test_nats_cluster *c, int count);

/* Index of the node whose server name is `name` (a JetStream leader, say), or -1. */
int sg_test_nats_cluster_find(const sg_test_nats_cluster *c, const char *name);

/* SIGKILL to node i, as a crash would (its folder stays). */
void sg_test_nats_cluster_kill(sg_test_nats_cluster *c, int i);

/* Starts node i again on its ports and folder; waits until it accepts connections. */
int sg_test_nats_cluster_restart(sg_test_nats_cluster *c, int i);

/* Waits (at most timeout_ms) until JetStream answers through `url` (a meta leader exists and
 * the account is reachable). 0 or -1. */
int sg_test_nats_wait_jetstream(const char *url, long long timeout_ms);

/* Stops every node and removes their folders. */
void sg_test_nats_cluster_free(sg_test_nats_cluster *c);

#endif
