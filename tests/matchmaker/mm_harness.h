/* Test helpers: run seatgate-matchmaker as a child process and talk real HTTP to it. */
#ifndef SG_TEST_MM_HARNESS_H
#define SG_TEST_MM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "proc.h" /* the launcher, sg_test_sleep_ms, sg_test_free_tcp_port */

typedef struct mm_proc {
    pid_t pid;
    char dir[64];  /* private temp dir: ready file, log, SQLite store */
    char url[128]; /* http://127.0.0.1:PORT */
    char log[640];
    int port;
} mm_proc;

/* Starts bin with args (NULL-terminated; "{dir}" inside an argument stands for the private
 * dir) plus --listen-port/--ready-file, waits for the ready file (10 s). dir: reuse a dir
 * (restart) or NULL for a new one. Prints the log and returns false on failure. */
bool mm_start(mm_proc *m, const char *bin, const char *const *args, const char *dir, int port);
/* SIGTERM and wait (SIGKILL after 10 s). Returns the exit status, -1 when killed. */
int mm_stop(mm_proc *m);
/* kill -9, as a crash would. */
void mm_kill9(mm_proc *m);
/* kill -9 of every matchmaker this process started and has not stopped. */
void mm_kill_all(void);
/* Removes the private dir. */
void mm_cleanup(mm_proc *m);
void mm_print_log(const mm_proc *m);

typedef struct http_resp {
    long status; /* 0: no answer (timeout, refused) */
    char *body;
    cJSON *json;
    char retry_after[32];
    char acao[256]; /* Access-Control-Allow-Origin */
    char allow[64];
    char content_type[128];
} http_resp;

/* One request. headers: NULL-terminated "Name: value" strings or NULL. body may be NULL.
 * insecure: accept any TLS certificate. */
void http_req(http_resp *r, const char *method, const char *url, const char *const *headers,
              const char *body, long timeout_ms);
void http_free(http_resp *r);

const char *jstr(const cJSON *o, const char *key);

#endif
