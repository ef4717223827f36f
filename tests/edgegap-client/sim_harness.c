/* Starts and stops seatgate-edgegap-sim for a test, and talks to its /_sim admin API. */
#include "sim_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

static void nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool sim_start(sim_proc *s, const char *bin, const char *config, const char *api_key)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/sg-eg-client-XXXXXX");
    if (!mkdtemp(s->dir)) return false;
    char ready[128];
    snprintf(ready, sizeof ready, "%s/ready", s->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        if (getppid() != parent) _exit(127);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
        char *argv[] = {(char *)bin,
                        "--listen-address",
                        "127.0.0.1",
                        "--listen-port",
                        "0",
                        "--ready-file",
                        ready,
                        "--api-key",
                        (char *)api_key,
                        "--config",
                        (char *)config,
                        "--log-level",
                        "warn",
                        NULL};
        execv(bin, argv);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 1500; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            return false;
        }
        FILE *f = fopen(ready, "r");
        if (f) {
            bool ok = fgets(s->url, sizeof s->url, f) != NULL;
            fclose(f);
            s->url[strcspn(s->url, "\r\n")] = '\0';
            if (ok && s->url[0]) return true;
        }
        nap_ms(10);
    }
    sim_stop(s);
    return false;
}

void sim_stop(sim_proc *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int status;
        bool gone = false;
        for (int i = 0; i < 500 && !gone; i++) {
            if (waitpid(s->pid, &status, WNOHANG) == s->pid)
                gone = true;
            else
                nap_ms(10);
        }
        if (!gone) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
        }
        s->pid = 0;
    }
    if (s->dir[0]) {
        char ready[128];
        snprintf(ready, sizeof ready, "%s/ready", s->dir);
        unlink(ready);
        rmdir(s->dir);
        s->dir[0] = '\0';
    }
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    buf *b = user;
    char *p = realloc(b->p, b->n + size * n + 1);
    if (!p) return 0;
    memcpy(p + b->n, data, size * n);
    b->p = p;
    b->n += size * n;
    b->p[b->n] = '\0';
    return size * n;
}

int sim_http(const sim_proc *s, const char *method, const char *path, const char *json, char **body)
{
    CURL *e = curl_easy_init();
    if (!e) return 0;
    char url[512];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    buf b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (json) curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
    long code = 0;
    if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (body)
        *body = b.p;
    else
        free(b.p);
    return (int)code;
}

static long long state_number(const sim_proc *s, const char *group, const char *key)
{
    char *body = NULL;
    long long v = -1;
    if (sim_http(s, "GET", "/_sim/state", NULL, &body) == 200) {
        cJSON *j = cJSON_Parse(body);
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, group);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(g, key);
        v = cJSON_IsNumber(n) ? (long long)n->valuedouble : 0;
        cJSON_Delete(j);
    }
    free(body);
    return v;
}

long long sim_count(const sim_proc *s, const char *key)
{
    return state_number(s, "requests", key);
}

long long sim_counter(const sim_proc *s, const char *name)
{
    return state_number(s, "counters", name);
}

bool sim_env(const sim_proc *s, const char *request_id, const char *name, char *out, size_t size)
{
    char path[128], *body = NULL, want[64];
    snprintf(path, sizeof path, "/_sim/deployments/%s/env", request_id);
    snprintf(want, sizeof want, "ARBITRIUM_%s=", name);
    bool found = false;
    if (sim_http(s, "GET", path, NULL, &body) == 200) {
        for (char *line = strtok(body, "\n"); line && !found; line = strtok(NULL, "\n")) {
            if (strncmp(line, want, strlen(want)) == 0) {
                snprintf(out, size, "%s", line + strlen(want));
                found = true;
            }
        }
    }
    free(body);
    return found;
}
