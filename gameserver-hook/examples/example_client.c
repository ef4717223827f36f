/* seatgate-example-client: a player's side of the flow, for trying a deployment by hand and
 * for the end-to-end tests.
 *
 *   seatgate-example-client --matchmaker-url http://127.0.0.1:8080
 *       calls POST /connect-me, decodes the base64 token, sends the netcode connection
 *       request to the token's first server address and reports the answer.
 *   seatgate-example-client --token-file FILE [--bind 127.0.0.2]
 *       uses a saved token instead (base64 text or the raw 2048 bytes): to test replayed,
 *       stolen (another source address) and foreign (another server) tokens.
 *
 * Prints one line: "accepted client_id=N server=ADDR" or "denied reason=NAME server=ADDR
 * message=...", and exits 0 when accepted, 2 when denied, 3 without an answer, 1 on error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ex_client.h"
#include "example_proto.h"
#include "seatgate/codec.h"
#include "seatgate/config.h"
#include "seatgate/log.h"

typedef struct buffer {
    char *data;
    size_t len;
} buffer;

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    buffer *b = user;
    size_t add = size * n;
    if (b->len + add > 1 << 20) return 0;
    char *d = realloc(b->data, b->len + add + 1);
    if (!d) return 0;
    memcpy(d + b->len, p, add);
    b->data = d;
    b->len += add;
    d[b->len] = '\0';
    return add;
}

/* POST <url>/connect-me; *token_b64 gets the malloc()ed base64 token. */
static int connect_me(const char *base, long timeout_ms, char **token_b64)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/connect-me", base);
    CURL *c = curl_easy_init();
    if (!c) return -1;
    buffer body = {0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    int ret = -1;
    cJSON *j = body.data ? cJSON_Parse(body.data) : NULL;
    if (rc != CURLE_OK) {
        fprintf(stderr, "connect-me: %s\n", curl_easy_strerror(rc));
    } else if (status < 200 || status > 299) {
        cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        fprintf(stderr, "connect-me: HTTP %ld %s %s\n", status,
                cJSON_IsString(e) ? e->valuestring : "", cJSON_IsString(m) ? m->valuestring : "");
    } else {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
        cJSON *sid = cJSON_GetObjectItemCaseSensitive(j, "session_id");
        cJSON *cid = cJSON_GetObjectItemCaseSensitive(j, "client_id");
        if (cJSON_IsString(t) && (*token_b64 = strdup(t->valuestring))) {
            fprintf(stderr, "connect-me: session_id=%s client_id=%s\n",
                    cJSON_IsString(sid) ? sid->valuestring : "?",
                    cJSON_IsString(cid) ? cid->valuestring : "?");
            ret = 0;
        } else {
            fprintf(stderr, "connect-me: the answer has no token\n");
        }
    }
    cJSON_Delete(j);
    free(body.data);
    return ret;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(8192);
    size_t n = buf ? fread(buf, 1, 8191, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    const sg_setting settings[] = {
        {.name = "matchmaker-url",
         .type = SG_SET_STRING,
         .def = "http://127.0.0.1:8080",
         .help = "base URL of the matchmaker (POST /connect-me)"},
        {.name = "token-file",
         .type = SG_SET_STRING,
         .help = "use this saved token (base64 or 2048 raw bytes) instead of /connect-me"},
        {.name = "save-token",
         .type = SG_SET_STRING,
         .help = "write the base64 token received from /connect-me to this file"},
        {.name = "bind", .type = SG_SET_STRING, .help = "source IP to send from (127.0.0.2...)"},
        {.name = "timeout",
         .type = SG_SET_DURATION,
         .def = "5s",
         .min = 1,
         .max = 600000,
         .help = "wait this long for the matchmaker and for the server's answer"},
        {.name = "stay",
         .type = SG_SET_DURATION,
         .def = "0",
         .min = 0,
         .max = 86400000,
         .help = "once accepted, stay connected this long (keep-alives)"},
        {.name = "kill",
         .type = SG_SET_STRING,
         .help = "once accepted, score a kill of each of these client ids (comma-separated)"},
        {.name = "goodbye",
         .type = SG_SET_BOOL,
         .def = "true",
         .help = "say goodbye when leaving (false: go silent and let the server time out)"},
        {.name = "log-level",
         .type = SG_SET_STRING,
         .def = "warn",
         .choices = SG_LOG_LEVEL_CHOICES,
         .help = "lines below this level are not written"},
    };
    sg_config cfg = {.program = "seatgate-example-client",
                     .summary = "Example client: get a token, connect over UDP, report the answer",
                     .env_prefix = "EXAMPLE_"};
    sg_status st = sg_config_add(&cfg, settings, sizeof settings / sizeof *settings);
    if (st == SG_OK)
        st = sg_config_add(&cfg, sg_token_dialect_settings, sg_token_dialect_settings_count);
    if (st == SG_OK) st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) {
        sg_config_free(&cfg);
        return 0;
    }
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-example-client: error: %s\n", sg_last_error());
        sg_config_free(&cfg);
        return 2;
    }
    sg_log_level level = SG_LOG_WARN;
    sg_log_level_parse(sg_config_str(&cfg, "log-level"), &level);
    sg_log_set_level(level);
    ex_client_options o = {.bind_ip = sg_config_str(&cfg, "bind"),
                           .timeout_ms = (int)sg_config_num(&cfg, "timeout"),
                           .stay_ms = (int)sg_config_num(&cfg, "stay"),
                           .goodbye = sg_config_bool(&cfg, "goodbye"),
                           .kills = sg_config_str(&cfg, "kill")};
    int rc = 1;
    char *text = NULL;
    size_t len = 0;
    uint8_t token[SG_TOKEN_BYTES];
    size_t token_len = 0;
    sg_token_options tko;
    if (sg_token_options_from_config(&cfg, &tko) != SG_OK) {
        fprintf(stderr, "seatgate-example-client: error: %s\n", sg_last_error());
        goto done;
    }
    o.dialect = tko.dialect;
    const char *file = sg_config_str(&cfg, "token-file");
    if (file) {
        if (!(text = read_file(file, &len))) {
            fprintf(stderr, "seatgate-example-client: error: cannot read %s\n", file);
            goto done;
        }
    } else {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int r = connect_me(sg_config_str(&cfg, "matchmaker-url"), (long)o.timeout_ms, &text);
        curl_global_cleanup();
        if (r != 0) goto done;
        len = strlen(text);
        const char *save = sg_config_str(&cfg, "save-token");
        FILE *f = save ? fopen(save, "w") : NULL;
        if (f) {
            fprintf(f, "%s\n", text);
            fclose(f);
        } else if (save) {
            fprintf(stderr, "seatgate-example-client: error: cannot write %s\n", save);
            goto done;
        }
    }
    if (len == SG_TOKEN_BYTES) { /* raw bytes */
        memcpy(token, text, SG_TOKEN_BYTES);
        token_len = SG_TOKEN_BYTES;
    } else {
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
            len--;
        if (sg_base64_decode(text, len, token, sizeof token, &token_len) != SG_OK) {
            fprintf(stderr, "seatgate-example-client: error: token: %s\n", sg_last_error());
            goto done;
        }
    }
    ex_client_result res;
    switch (ex_client_connect(token, token_len, &o, &res)) {
    case EX_ACCEPTED:
        printf("accepted client_id=%llu server=%s\n", (unsigned long long)res.client_id,
               res.server);
        rc = 0;
        break;
    case EX_DENIED: {
        char q[300];
        printf("denied reason=%s server=%s message=%s\n", res.reason, res.server,
               sg_log_quote(res.message, q, sizeof q));
        rc = 2;
        break;
    }
    case EX_NO_ANSWER:
        printf("no_answer server=%s\n", res.server);
        rc = 3;
        break;
    case EX_ERROR:
        fprintf(stderr, "seatgate-example-client: error: %s\n", res.message);
        break;
    }
    fflush(stdout);
done:
    free(text);
    sg_config_free(&cfg);
    return rc;
}
