/* Players: the matchmaker's /connect-me over HTTP (libcurl, from a chosen source address),
 * then the real seatgate-example-client over UDP with the token received. */
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "seatgate/codec.h"
#include "seatgate/keys.h"
#include "seatgate/token.h"

typedef struct call {
    e2e_player *p;
    CURL *c;
    struct curl_slist *hdr;
    sg_test_buf body;
} call;

static size_t on_header(char *d, size_t size, size_t n, void *user)
{
    call *c = user;
    size_t len = size * n;
    sg_test_header_value(d, len, "Retry-After", c->p->retry_after, sizeof c->p->retry_after);
    return len;
}

static void call_init(call *c, e2e_player *p, const char *mm_url, const char *header)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    p->status = 0;
    p->error[0] = p->retry_after[0] = p->session_id[0] = p->client_id[0] = p->host[0] = '\0';
    p->cert_digest[0] = '\0';
    p->port = 0;
    p->pid = 0;
    p->exit_code = -2;
    char url[512];
    snprintf(url, sizeof url, "%s/connect-me", mm_url);
    c->c = curl_easy_init();
    c->hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (header) c->hdr = curl_slist_append(c->hdr, header);
    curl_easy_setopt(c->c, CURLOPT_URL, url);
    curl_easy_setopt(c->c, CURLOPT_POSTFIELDS, "{\"client_version\":\"e2e\"}");
    curl_easy_setopt(c->c, CURLOPT_HTTPHEADER, c->hdr);
    curl_easy_setopt(c->c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c->c, CURLOPT_WRITEFUNCTION, sg_test_buf_write);
    curl_easy_setopt(c->c, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(c->c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->c, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->c, CURLOPT_NOSIGNAL, 1L);
    if (p->ip[0]) curl_easy_setopt(c->c, CURLOPT_INTERFACE, p->ip);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void call_finish(call *c)
{
    e2e_player *p = c->p;
    curl_easy_getinfo(c->c, CURLINFO_RESPONSE_CODE, &p->status);
    cJSON *j = c->body.p ? cJSON_Parse(c->body.p) : NULL;
    if (p->status == 200 && j) {
        snprintf(p->session_id, sizeof p->session_id, "%s", jstr(j, "session_id"));
        snprintf(p->client_id, sizeof p->client_id, "%s", jstr(j, "client_id"));
        snprintf(p->host, sizeof p->host, "%s", jstr(j, "host"));
        snprintf(p->cert_digest, sizeof p->cert_digest, "%s", jstr(j, "cert_digest"));
        const cJSON *port = cJSON_GetObjectItemCaseSensitive(j, "port");
        p->port = cJSON_IsNumber(port) ? port->valueint : 0;
        snprintf(p->token_file, sizeof p->token_file, "%s/token-%s.b64", E.dir, p->client_id);
        FILE *f = fopen(p->token_file, "w");
        if (f) {
            fprintf(f, "%s\n", jstr(j, "token"));
            fclose(f);
        }
    } else if (j) {
        snprintf(p->error, sizeof p->error, "%s",
                 jstr(cJSON_GetObjectItemCaseSensitive(j, "error"), "code"));
    }
    cJSON_Delete(j);
    free(c->body.p);
    curl_slist_free_all(c->hdr);
    curl_easy_cleanup(c->c);
}

void e2e_connect_me(e2e_player *p, const char *mm_url, const char *header)
{
    call c;
    call_init(&c, p, mm_url, header);
    curl_easy_perform(c.c);
    call_finish(&c);
}

void e2e_connect_me_all(e2e_player *ps, int n, const char *mm_url)
{
    CURLM *m = curl_multi_init();
    call *calls = calloc((size_t)n, sizeof *calls);
    for (int i = 0; i < n; i++) {
        call_init(&calls[i], &ps[i], mm_url, NULL);
        curl_multi_add_handle(m, calls[i].c);
    }
    int running = n;
    while (running > 0) {
        curl_multi_perform(m, &running);
        if (running > 0) curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    for (int i = 0; i < n; i++) {
        curl_multi_remove_handle(m, calls[i].c);
        call_finish(&calls[i]);
    }
    free(calls);
    curl_multi_cleanup(m);
}

/* The example client's arguments for a saved token; stay (NULL: none) and goodbye only when
 * staying. argv needs 16 places. */
static void client_argv(const char **argv, const char *token_file, const char *bind,
                        const char *stay, bool goodbye, const char *kills)
{
    int a = 0;
    argv[a++] = E.client_bin;
    argv[a++] = "--token-file";
    argv[a++] = token_file;
    argv[a++] = "--timeout";
    argv[a++] = "5s";
    if (stay) {
        argv[a++] = "--stay";
        argv[a++] = stay;
        argv[a++] = goodbye ? "--goodbye=true" : "--goodbye=false";
    }
    argv[a++] = "--token-dialect";
    argv[a++] = E.dialect;
    if (bind && bind[0]) {
        argv[a++] = "--bind";
        argv[a++] = bind;
    }
    if (kills) {
        argv[a++] = "--kill";
        argv[a++] = kills;
    }
    argv[a] = NULL;
}

bool e2e_play(e2e_player *p, const char *bind, long stay_ms, bool goodbye)
{
    char stay[32];
    snprintf(stay, sizeof stay, "%ldms", stay_ms);
    const char *argv[16];
    client_argv(argv, p->token_file, bind ? bind : p->ip, stay, goodbye, NULL);
    if (!sg_run_start(argv, &p->pid, &p->out_fd)) return false;
    p->line[0] = '\0';
    p->exit_code = -2;
    return true;
}

bool e2e_play_kills(e2e_player *p, long stay_ms, const char *kills)
{
    char stay[32];
    snprintf(stay, sizeof stay, "%ldms", stay_ms);
    const char *argv[20];
    client_argv(argv, p->token_file, p->ip, stay, true, kills);
    if (!sg_run_start(argv, &p->pid, &p->out_fd)) return false;
    p->line[0] = '\0';
    p->exit_code = -2;
    return true;
}

void e2e_play_wait(e2e_player *p, long timeout_ms)
{
    if (p->pid <= 0) return;
    p->exit_code = sg_run_wait(p->pid, p->out_fd, timeout_ms, p->line, sizeof p->line);
    p->pid = 0;
}

int e2e_play_token(const char *token_file, const char *bind, char *line, size_t size)
{
    const char *argv[16];
    client_argv(argv, token_file, bind, NULL, false, NULL);
    return sg_run(argv, 15000, line, size);
}

int e2e_player_deployment(const e2e_player *p)
{
    for (int i = 0; i < E2E_DEPLOYMENTS; i++)
        if (E.dep[i].port == p->port && strcmp(E.dep[i].public_ip, p->host) == 0) return i;
    return -1;
}

static bool dep_addr(int dep, bool internal, sg_addr *out)
{
    char text[80];
    if (internal)
        snprintf(text, sizeof text, "0.0.0.0:%d", E.dep[dep].internal_port);
    else
        snprintf(text, sizeof text, "%s:%d", E.dep[dep].public_ip, E.dep[dep].port);
    return sg_addr_parse(text, SG_PORT_REQUIRED, out) == SG_OK;
}

static bool token_opener(sg_key **key, sg_token_opener *op)
{
    *key = NULL;
    memset(op, 0, sizeof *op);
    return E.key_hex[0] && sg_key_parse(E.key_hex, key) == SG_OK &&
           sg_token_protocol_id_parse(E.protocol_id, &op->protocol_id) == SG_OK &&
           sg_token_dialect_parse(E.dialect, &op->dialect) == SG_OK;
}

bool e2e_forge_token(int dep, uint64_t cid, const char *sid, bool bind, const char *path)
{
    sg_key *key = NULL;
    sg_token_opener op;
    sg_addr addrs[2];
    uint8_t ud[SG_TOKEN_USER_DATA_BYTES], token[SG_TOKEN_BYTES];
    bool ok = token_opener(&key, &op) && dep_addr(dep, false, &addrs[0]) &&
              dep_addr(dep, true, &addrs[1]) && sg_token_user_data_set_session(ud, sid) == SG_OK;
    sg_token_params tp = {.protocol_id = op.protocol_id,
                          .client_id = cid,
                          .servers = addrs,
                          .server_count = 1,
                          .private_servers = addrs,
                          .private_server_count = bind ? 2 : 1,
                          .expire_seconds = 30,
                          .timeout_seconds = 5,
                          .user_data = ud,
                          .user_data_len = sizeof ud,
                          .dialect = op.dialect};
    ok = ok && sg_token_mint(key, &tp, token, NULL) == SG_OK;
    sg_key_free(key);
    char b64[SG_BASE64_ENCODED_SIZE(SG_TOKEN_BYTES)];
    ok = ok && sg_base64_encode(token, sizeof token, b64, sizeof b64) == SG_OK;
    FILE *f = ok ? fopen(path, "w") : NULL;
    if (!f) return false;
    fprintf(f, "%s\n", b64);
    fclose(f);
    return true;
}

bool e2e_open_token(const char *path, sg_token_opened *out)
{
    char b64[4096];
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool ok = fgets(b64, sizeof b64, f) != NULL;
    fclose(f);
    b64[strcspn(b64, "\r\n")] = '\0';
    uint8_t token[SG_TOKEN_BYTES];
    size_t len = 0;
    sg_key *key = NULL;
    sg_token_opener op;
    ok = ok && sg_base64_decode(b64, strlen(b64), token, sizeof token, &len) == SG_OK &&
         token_opener(&key, &op);
    op.key = key;
    ok = ok && sg_token_open(&op, token, len, (uint64_t)time(NULL), out) == SG_OK;
    sg_key_free(key);
    return ok;
}

cJSON *e2e_http_get_json(const char *url, long *status)
{
    CURL *c = curl_easy_init();
    sg_test_buf b = {0};
    *status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sg_test_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    cJSON *j = b.p ? cJSON_Parse(b.p) : NULL;
    free(b.p);
    return j;
}

long e2e_http_get_status(const char *url)
{
    CURL *c = curl_easy_init();
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sg_test_discard);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}
