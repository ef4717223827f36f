/* Test helpers for the simulator tests (see sim_test_util.h). */
#include "sim_test_util.h"

#include "proc.h"

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

    sg_proc sp;
    sg_proc_init(&sp, "sim", p->dir, bin);
    snprintf(sp.ready_file, sizeof sp.ready_file, "%s", ready);
    sg_proc_args(&sp, "--listen-port", "0");
    sg_proc_args(&sp, "--ready-file", ready);
    sg_proc_args(&sp, "--log-level", "warn");
    if (config_json) sg_proc_args(&sp, "--config", cfg);
    /* "{dir}" in an extra argument stands for the private temp dir. */
    for (int i = 0; extra && extra[i]; i++) {
        const char *at = strstr(extra[i], "{dir}");
        char arg[400];
        if (at)
            strfmt(arg, sizeof arg, "%.*s%s%s", (int)(at - extra[i]), extra[i], p->dir, at + 5);
        else
            strfmt(arg, sizeof arg, "%s", extra[i]);
        sg_proc_arg(&sp, arg);
    }
    sg_proc_env(&sp, "SEATGATE_SIM_API_KEY", TEST_KEY);
    sp.quiet_stdout = true;
    bool ok = sg_proc_start(&sp, 10000);
    p->pid = ok ? sp.pid : -1;
    if (ok) strfmt(p->url, sizeof p->url, "%.127s", sp.ready_text);
    sg_proc_release(&sp);
    if (!ok) sim_proc_stop(p); /* removes the temp dir (the log was printed) */
    return ok;
}

int sim_proc_stop(sim_proc *p)
{
    int result = -1;
    if (p->pid > 0) result = sg_pid_stop(p->pid, 10000);
    p->pid = -1;
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

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_resp *r = user;
    size_t len = size * n;
    char v[32];
    if (sg_test_header_value(data, len, "Retry-After", v, sizeof v)) r->retry_after = atol(v);
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
    sg_test_buf b = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sg_test_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    r->curl = curl_easy_perform(c);
    r->body = b.p;
    r->len = b.len;
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
