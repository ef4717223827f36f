/* Child-process and HTTP helpers for the matchmaker's tests. */
#include "mm_harness.h"

#include "proc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void mm_print_log(const mm_proc *m)
{
    FILE *f = fopen(m->log, "r");
    if (!f) return;
    char line[1024];
    fprintf(stderr, "---- matchmaker log (%s)\n", m->log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static char *expand(const char *arg, const char *dir)
{
    const char *p = strstr(arg, "{dir}");
    if (!p) return strdup(arg);
    size_t n = strlen(arg) - 5 + strlen(dir) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(p - arg), arg, dir, p + 5);
    return out;
}

bool mm_start(mm_proc *m, const char *bin, const char *const *args, const char *dir, int port)
{
    char keep[64] = "";
    if (dir) snprintf(keep, sizeof keep, "%s", dir);
    memset(m, 0, sizeof *m);
    if (keep[0]) {
        snprintf(m->dir, sizeof m->dir, "%s", keep);
    } else {
        snprintf(m->dir, sizeof m->dir, "/tmp/sg-mm-test-XXXXXX");
        if (!mkdtemp(m->dir)) return false;
    }
    sg_proc p;
    sg_proc_init(&p, "matchmaker", m->dir, bin);
    snprintf(m->log, sizeof m->log, "%s", p.log);
    for (size_t i = 0; args && args[i]; i++) {
        char *a = expand(args[i], m->dir);
        sg_proc_arg(&p, a);
        free(a);
    }
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    sg_proc_args(&p, "--listen-port", portbuf);
    snprintf(p.ready_file, sizeof p.ready_file, "%s/ready", m->dir);
    sg_proc_args(&p, "--ready-file", p.ready_file);
    p.quiet_stdout = true;
    bool ok = sg_proc_start(&p, 10000);
    if (ok) {
        m->pid = p.pid;
        snprintf(m->url, sizeof m->url, "%.127s", p.ready_text);
        const char *colon = strrchr(m->url, ':');
        m->port = colon ? atoi(colon + 1) : 0;
    }
    sg_proc_release(&p);
    return ok;
}

int mm_stop(mm_proc *m)
{
    int rc = sg_pid_stop(m->pid, 10000);
    m->pid = 0;
    return rc;
}

void mm_kill9(mm_proc *m)
{
    sg_pid_kill(m->pid);
    m->pid = 0;
}

void mm_kill_all(void)
{
    sg_proc_kill_all("matchmaker");
}

void mm_cleanup(mm_proc *m)
{
    if (!m->dir[0]) return;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", m->dir);
    m->dir[0] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_resp *r = user;
    size_t len = size * n;
    sg_test_header_value(data, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    sg_test_header_value(data, len, "Access-Control-Allow-Origin", r->acao, sizeof r->acao);
    sg_test_header_value(data, len, "Allow", r->allow, sizeof r->allow);
    sg_test_header_value(data, len, "Content-Type", r->content_type, sizeof r->content_type);
    return len;
}

void http_req(http_resp *r, const char *method, const char *url, const char *const *headers,
              const char *body, long timeout_ms)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    sg_test_buf g = {0};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (body) hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sg_test_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    r->body = g.p ? g.p : strdup("");
    r->json = cJSON_Parse(r->body);
}

void http_free(http_resp *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

const char *jstr(const cJSON *o, const char *key)
{
    char path[256];
    snprintf(path, sizeof path, "%s", key);
    const cJSON *cur = o;
    for (char *save = NULL, *tok = strtok_r(path, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}
