/* Child-process and HTTP helpers for the matchmaker's tests. */
#include "mm_harness.h"

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

static pid_t running[64];

static void track(pid_t pid, bool add)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
        if (add && running[i] == 0) {
            running[i] = pid;
            return;
        }
        if (!add && running[i] == pid) {
            running[i] = 0;
            return;
        }
    }
}

void mm_kill_all(void)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
        if (running[i]) {
            kill(running[i], SIGKILL);
            waitpid(running[i], NULL, 0);
            running[i] = 0;
        }
    }
}

void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

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
    char ready[128], portbuf[16];
    snprintf(ready, sizeof ready, "%s/ready", m->dir);
    unlink(ready);
    snprintf(m->log, sizeof m->log, "%s/matchmaker.log", m->dir);
    snprintf(portbuf, sizeof portbuf, "%d", port);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args && args[i] && n < 56; i++)
        argv[n++] = expand(args[i], m->dir);
    argv[n++] = "--listen-port";
    argv[n++] = portbuf;
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    argv[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        if (getppid() != parent) _exit(127);
        int out = open("/dev/null", O_WRONLY);
        int log = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (out >= 0) dup2(out, STDOUT_FILENO);
        if (log >= 0) dup2(log, STDERR_FILENO);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (size_t i = 1; i < n; i++)
        if (argv[i] != portbuf && argv[i] != ready && strcmp(argv[i], "--listen-port") != 0 &&
            strcmp(argv[i], "--ready-file") != 0)
            free((char *)argv[i]);
    m->pid = pid;
    track(pid, true);
    for (int i = 0; i < 1000; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            m->pid = 0;
            track(pid, false);
            fprintf(stderr, "matchmaker exited early (status %d)\n", status);
            mm_print_log(m);
            return false;
        }
        FILE *f = fopen(ready, "r");
        if (f) {
            bool ok = fgets(m->url, sizeof m->url, f) != NULL;
            fclose(f);
            m->url[strcspn(m->url, "\r\n")] = '\0';
            if (ok && m->url[0]) {
                const char *colon = strrchr(m->url, ':');
                m->port = colon ? atoi(colon + 1) : 0;
                return true;
            }
        }
        sleep_ms(10);
    }
    fprintf(stderr, "matchmaker did not become ready\n");
    mm_print_log(m);
    mm_kill9(m);
    return false;
}

int mm_stop(mm_proc *m)
{
    if (!m->pid) return -1;
    kill(m->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            track(m->pid, false);
            m->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        sleep_ms(10);
    }
    mm_kill9(m);
    return -1;
}

void mm_kill9(mm_proc *m)
{
    if (!m->pid) return;
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    track(m->pid, false);
    m->pid = 0;
}

void mm_cleanup(mm_proc *m)
{
    if (!m->dir[0]) return;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", m->dir);
    m->dir[0] = '\0';
}

typedef struct grow {
    char *p;
    size_t len;
} grow;

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    grow *g = user;
    size_t add = size * n;
    char *p = realloc(g->p, g->len + add + 1);
    if (!p) return 0;
    memcpy(p + g->len, data, add);
    g->p = p;
    g->len += add;
    g->p[g->len] = '\0';
    return add;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':') return;
    const char *v = line + k + 1;
    while (*v == ' ')
        v++;
    size_t vn = n - (size_t)(v - line);
    while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n'))
        vn--;
    snprintf(out, size, "%.*s", (int)vn, v);
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_resp *r = user;
    size_t len = size * n;
    header_value(data, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    header_value(data, len, "Access-Control-Allow-Origin", r->acao, sizeof r->acao);
    header_value(data, len, "Allow", r->allow, sizeof r->allow);
    header_value(data, len, "Content-Type", r->content_type, sizeof r->content_type);
    return len;
}

void http_req(http_resp *r, const char *method, const char *url, const char *const *headers,
              const char *body, long timeout_ms)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    grow g = {0};
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
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
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
