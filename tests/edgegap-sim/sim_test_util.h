/* Test helpers: run seatgate-edgegap-sim as a child process on a free loopback port and talk
 * to it over real HTTP with libcurl. */
#ifndef SEATGATE_SIM_TEST_UTIL_H
#define SEATGATE_SIM_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "proc.h" /* sg_test_sleep_ms, the launcher */

#define TEST_KEY "test-org-key-7f3a"

typedef struct sim_proc {
    pid_t pid;
    char dir[256]; /* private temp dir (config, ready file, env dir, log) */
    char url[128]; /* http://127.0.0.1:PORT */
    char log[300]; /* the simulator's stderr */
} sim_proc;

/* Starts the simulator with config_json (NULL: built-in defaults) and extra flags (NULL
 * terminated; "{dir}" in one stands for the private temp dir). Waits for its ready file. Returns
 * false (and prints why) on failure. */
bool sim_proc_start(sim_proc *p, const char *bin, const char *config_json,
                    const char *const *extra);
/* SIGTERM, wait (SIGKILL after 10 s); returns the exit status (-1: killed or not run). */
int sim_proc_stop(sim_proc *p);

typedef struct http_resp {
    long status;   /* 0 when the transfer failed */
    CURLcode curl; /* transfer result */
    char *body;    /* NUL-terminated, malloc()ed */
    size_t len;
    long retry_after; /* -1 when absent */
    cJSON *json;      /* parsed body or NULL */
} http_resp;

/* One request. auth: full Authorization header value or NULL. body: NULL for none. */
void http_do(http_resp *r, const char *method, const char *url, const char *auth, const char *body,
             size_t body_len, long timeout_ms);
void http_free(http_resp *r);

/* Shortcuts against a running simulator, with the organisation key. path starts with '/'. */
void api(http_resp *r, const sim_proc *p, const char *method, const char *path, const char *body);
void admin(http_resp *r, const sim_proc *p, const char *method, const char *path, const char *body);

const char *jstr(const cJSON *o, const char *path); /* "a.b.c" lookups; NULL if absent */
double jnum(const cJSON *o, const char *path);      /* NAN if absent */
bool jbool(const cJSON *o, const char *path, bool *out);

/* snprintf that truncates quietly (test strings are bounded by construction). */
void strfmt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
