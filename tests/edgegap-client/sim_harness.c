/* Starts and stops seatgate-edgegap-sim for a test, and talks to its /_sim admin API. */
#include "sim_harness.h"

#include "proc.h"

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

bool sim_start(sim_proc *s, const char *bin, const char *config, const char *api_key)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/sg-eg-client-XXXXXX");
    if (!mkdtemp(s->dir)) return false;
    sg_proc p;
    sg_proc_init(&p, "simulator", s->dir, bin);
    snprintf(p.ready_file, sizeof p.ready_file, "%s/ready", s->dir);
    const char *args[] = {"--listen-address", "127.0.0.1", "--listen-port", "0", "--ready-file",
                          p.ready_file,       "--api-key", api_key,          "--config", config,
                          "--log-level",      "warn"};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        sg_proc_arg(&p, args[i]);
    p.quiet_stdout = true;
    bool ok = sg_proc_start(&p, 15000);
    if (ok) {
        s->pid = p.pid;
        snprintf(s->url, sizeof s->url, "%.127s", p.ready_text);
    }
    sg_proc_release(&p);
    if (!ok) sim_stop(s);
    return ok;
}

void sim_stop(sim_proc *s)
{
    sg_pid_stop(s->pid, 5000);
    s->pid = 0;
    if (s->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", s->dir);
        s->dir[0] = '\0';
    }
}

int sim_http(const sim_proc *s, const char *method, const char *path, const char *json, char **body)
{
    CURL *e = curl_easy_init();
    if (!e) return 0;
    char url[512];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    sg_test_buf b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sg_test_buf_write);
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
