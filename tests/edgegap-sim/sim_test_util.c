/* Test helpers for the simulator tests (see sim_test_util.h). */
#include "sim_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void strfmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return (fclose(f) == 0) && ok;
}

bool sim_proc_start(sim_proc *p, const char *bin, const char *config_json, const char *const *extra)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    strfmt(p->dir, sizeof p->dir, "/tmp/sg-sim-test-XXXXXX");
    if (!mkdtemp(p->dir)) {
        p->dir[0] = '\0';
        return false;
    }
    char cfg[300], ready[300];
    strfmt(cfg, sizeof cfg, "%s/config.json", p->dir);
    strfmt(ready, sizeof ready, "%s/url", p->dir);
    strfmt(p->log, sizeof p->log, "%s/sim.log", p->dir);
    if (config_json && !write_file(cfg, config_json)) {
        sim_proc_stop(p);
        return false;
    }

    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--listen-port";
    argv[n++] = "0";
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    if (config_json) {
        argv[n++] = "--config";
        argv[n++] = cfg;
    }
    /* "{dir}" in an extra argument stands for the private temp dir. */
    static char expanded[8][400];
    for (int i = 0; extra && extra[i] && n < 62; i++) {
        const char *at = strstr(extra[i], "{dir}");
        if (at && i < 8) {
            strfmt(expanded[i], sizeof expanded[i], "%.*s%s%s", (int)(at - extra[i]), extra[i],
                   p->dir, at + 5);
            argv[n++] = expanded[i];
        } else {
            argv[n++] = extra[i];
        }
    }
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        int out = open("/dev/null", O_WRONLY);
        int err = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out >= 0) dup2(out, 1);
        if (err >= 0) dup2(err, 2);
        setenv("SEATGATE_SIM_API_KEY", TEST_KEY, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    p->pid = pid;
    for (int i = 0; i < 1000; i++) { /* up to 10 s */
        FILE *f = fopen(ready, "r");
        if (f) {
            bool ok = fgets(p->url, sizeof p->url, f) != NULL;
            fclose(f);
            if (ok) {
                p->url[strcspn(p->url, "\n")] = '\0';
                return true;
            }
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            p->pid = -1;
            fprintf(stderr, "simulator exited early (status %d); its log:\n", status);
            sim_proc_stop(p); /* prints the log, removes the temp dir */
            return false;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "simulator did not become ready; log %s\n", p->log);
    sim_proc_stop(p);
    return false;
}

int sim_proc_stop(sim_proc *p)
{
    int result = -1;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        int status = 0;
        for (int i = 0; i < 1000; i++) {
            if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
                result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                p->pid = -1;
                break;
            }
            sleep_ms(10);
        }
        if (p->pid > 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->pid = -1;
        }
    }
    if (p->dir[0]) {
        char cmd[400];
        if (result != 0) { /* keep the log visible on failure */
            strfmt(cmd, sizeof cmd, "cat %s/sim.log >&2 2>/dev/null", p->dir);
            if (system(cmd) != 0) {
            }
        }
        strfmt(cmd, sizeof cmd, "rm -rf %s", p->dir);
        if (system(cmd) != 0) {
        }
        p->dir[0] = '\0';
    }
    return result;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    http_resp *r = user;
    size_t add = size * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (!nb) return 0;
    r->body = nb;
    memcpy(r->body + r->len, data, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_resp *r = user;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) r->retry_after = atol(data + 12);
    return len;
}

void http_do(http_resp *r, const char *method, const char *url, const char *auth, const char *body,
             size_t body_len, long timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char hdr[512];
    if (auth) {
        strfmt(hdr, sizeof hdr, "Authorization: %s", auth);
        h = curl_slist_append(h, hdr);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    r->curl = curl_easy_perform(c);
    if (r->curl == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (!r->body) r->body = calloc(1, 1);
    r->json = r->len ? cJSON_ParseWithLength(r->body, r->len) : NULL;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

void http_free(http_resp *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

void api(http_resp *r, const sim_proc *p, const char *method, const char *path, const char *body)
{
    char url[512];
    strfmt(url, sizeof url, "%s%s", p->url, path);
    http_do(r, method, url, "token " TEST_KEY, body, body ? strlen(body) : 0, 10000);
}

void admin(http_resp *r, const sim_proc *p, const char *method, const char *path, const char *body)
{
    char url[512];
    strfmt(url, sizeof url, "%s%s", p->url, path);
    http_do(r, method, url, NULL, body, body ? strlen(body) : 0, 10000);
}

static const cJSON *walk(const cJSON *o, const char *path)
{
    char buf[256];
    strfmt(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && cur;
         t = strtok_r(NULL, ".", &save)) {
        char *end;
        long idx = strtol(t, &end, 10);
        cur = (*end == '\0' && cJSON_IsArray(cur)) ? cJSON_GetArrayItem(cur, (int)idx)
                                                   : cJSON_GetObjectItemCaseSensitive(cur, t);
    }
    return cur;
}

const char *jstr(const cJSON *o, const char *path)
{
    const cJSON *v = walk(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double jnum(const cJSON *o, const char *path)
{
    const cJSON *v = walk(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

bool jbool(const cJSON *o, const char *path, bool *out)
{
    const cJSON *v = walk(o, path);
    if (!cJSON_IsBool(v)) return false;
    *out = cJSON_IsTrue(v);
    return true;
}
