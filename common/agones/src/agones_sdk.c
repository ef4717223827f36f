/* A blocking client of the Agones SDK sidecar's REST gateway on 127.0.0.1 (libcurl easy
 * handle, one connection kept alive, every call bounded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "seatgate/agones.h"

#define SDK_MAX_ANSWER (4u << 20) /* a GameServer with 1,000 list values fits many times */

struct sg_agones_sdk {
    CURL *curl;
    int port;
    long long timeout_ms;
};

typedef struct buf {
    char *data;
    size_t len, cap;
    bool too_large;
} buf;

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    buf *b = user;
    size_t add = size * n;
    if (b->len + add + 1 > SDK_MAX_ANSWER) {
        b->too_large = true;
        return 0;
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

sg_status sg_agones_sdk_new(int port, long long timeout_ms, sg_agones_sdk **out)
{
    *out = NULL;
    if (port <= 0 || port > 65535)
        return sg_fail(SG_E_INVALID, "Agones SDK: port %d is not 1..65535", port);
    sg_agones_sdk *s = calloc(1, sizeof *s);
    if (!s || !(s->curl = curl_easy_init())) {
        free(s);
        return sg_fail(SG_E_NOMEM, "Agones SDK: out of memory");
    }
    s->port = port;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    *out = s;
    return SG_OK;
}

void sg_agones_sdk_free(sg_agones_sdk *s)
{
    if (!s) return;
    curl_easy_cleanup(s->curl);
    free(s);
}

static sg_status from_status(long code)
{
    if (code >= 200 && code < 300) return SG_OK;
    switch (code) {
    case 400:
        return SG_E_BAD_REQUEST;
    case 404:
        return SG_E_NOT_FOUND;
    case 409:
        return SG_E_EXISTS;
    default:
        return SG_E_SERVER;
    }
}

sg_status sg_agones_sdk_call(sg_agones_sdk *s, const char *method, const char *path,
                             const char *body, int *http_status, char **answer)
{
    if (http_status) *http_status = 0;
    if (answer) *answer = NULL;
    char url[512];
    int n = snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    if (n < 0 || (size_t)n >= sizeof url) return sg_fail(SG_E_INVALID, "Agones SDK: path too long");
    CURL *c = s->curl;
    curl_easy_reset(c);
    buf b = {0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* localhost only, never through a proxy */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (http_status) *http_status = (int)code;
    sg_status st;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        st = sg_fail(SG_E_TIMEOUT, "Agones SDK %s %s: no answer within %lld ms", method, path,
                     s->timeout_ms);
    } else if (rc == CURLE_WRITE_ERROR && b.too_large) {
        st = sg_fail(SG_E_TOO_LARGE, "Agones SDK %s %s: answer larger than %u bytes", method, path,
                     SDK_MAX_ANSWER);
    } else if (rc != CURLE_OK) {
        st = sg_fail(SG_E_NETWORK, "Agones SDK %s %s: %s (is the sidecar up on port %d?)", method,
                     path, curl_easy_strerror(rc), s->port);
    } else if ((st = from_status(code)) != SG_OK) {
        int gcode;
        char msg[160];
        sg_agones_parse_error(b.data, b.len, &gcode, msg, sizeof msg);
        st = sg_fail(st, "Agones SDK %s %s: HTTP %ld%s%s", method, path, code, msg[0] ? ": " : "",
                     msg);
    }
    if (st == SG_OK && answer) {
        *answer = b.data ? b.data : strdup("");
        if (!*answer) st = sg_fail(SG_E_NOMEM, "Agones SDK: out of memory");
    } else {
        free(b.data);
    }
    return st;
}

sg_status sg_agones_sdk_ready(sg_agones_sdk *s)
{
    return sg_agones_sdk_call(s, "POST", "/ready", "{}", NULL, NULL);
}

sg_status sg_agones_sdk_health(sg_agones_sdk *s)
{
    /* One JSON object is one ping; an empty body is refused by the sidecar. */
    return sg_agones_sdk_call(s, "POST", "/health", "{}", NULL, NULL);
}

sg_status sg_agones_sdk_shutdown(sg_agones_sdk *s)
{
    return sg_agones_sdk_call(s, "POST", "/shutdown", "{}", NULL, NULL);
}

sg_status sg_agones_sdk_get_gameserver(sg_agones_sdk *s, const char *list,
                                       sg_agones_gameserver **out)
{
    *out = NULL;
    char *body = NULL;
    sg_status st = sg_agones_sdk_call(s, "GET", "/gameserver", NULL, NULL, &body);
    if (st == SG_OK) st = sg_agones_parse_gameserver(body, strlen(body), list, out);
    free(body);
    return st;
}

/* A list name or value as a URL path segment / JSON string: the names Agones allows
 * (letters, digits, '-', '_', '.') and nothing else, so neither needs escaping. */
static bool plain(const char *t)
{
    if (!t || !*t || strlen(t) > 128) return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              *t == '-' || *t == '_' || *t == '.'))
            return false;
    return true;
}

static sg_status list_call(sg_agones_sdk *s, const char *list, const char *value, const char *op)
{
    if (!plain(list) || !plain(value))
        return sg_fail(SG_E_INVALID, "Agones SDK: list and value must be 1..128 of [A-Za-z0-9._-]");
    char path[200], body[200];
    snprintf(path, sizeof path, "/v1beta1/lists/%s:%s", list, op);
    snprintf(body, sizeof body, "{\"value\":\"%s\"}", value);
    int code = 0;
    sg_status st = sg_agones_sdk_call(s, "POST", path, body, &code, NULL);
    if (st == SG_E_BAD_REQUEST && strcmp(op, "addValue") == 0)
        st = SG_E_FULL; /* OutOfRange: the list is at capacity */
    return st;
}

/* A label key and value: the label characters Agones and Kubernetes allow, at most 63
 * each (Agones prefixes the key with "agones.dev/sdk-"). */
sg_status sg_agones_sdk_set_label(sg_agones_sdk *s, const char *key, const char *value)
{
    if (!plain(key) || !plain(value) || strlen(key) > 63 || strlen(value) > 63)
        return sg_fail(SG_E_INVALID, "Agones SDK: label key and value must be 1..63 of [A-Za-z0-9._-]");
    char body[200];
    snprintf(body, sizeof body, "{\"key\":\"%.63s\",\"value\":\"%.63s\"}", key, value);
    return sg_agones_sdk_call(s, "PUT", "/metadata/label", body, NULL, NULL);
}

sg_status sg_agones_sdk_list_add(sg_agones_sdk *s, const char *list, const char *value)
{
    return list_call(s, list, value, "addValue");
}

sg_status sg_agones_sdk_list_remove(sg_agones_sdk *s, const char *list, const char *value)
{
    return list_call(s, list, value, "removeValue");
}
