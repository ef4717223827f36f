/* Edgegap request descriptions (paths, bodies, validation), error mapping and retry rules. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "edgegap_internal.h"
#include "seatgate/clock.h"
#include "seatgate/addr.h"

static const char *const call_names[SG_EDGEGAP_CALL_COUNT] = {
    [SG_EDGEGAP_CREATE_SESSION] = "create_session",   [SG_EDGEGAP_GET_SESSION] = "get_session",
    [SG_EDGEGAP_DELETE_SESSION] = "delete_session",   [SG_EDGEGAP_LIST_SESSIONS] = "list_sessions",
    [SG_EDGEGAP_GET_APP_VERSION] = "get_app_version", [SG_EDGEGAP_GET_CONTEXT] = "get_context",
};

const char *sg_edgegap_call_name(sg_edgegap_call call)
{
    if ((unsigned)call >= SG_EDGEGAP_CALL_COUNT) return "unknown";
    return call_names[call];
}

/* Text that may travel in a JSON body or a URL: printable ASCII, bounded. */
static sg_status check_text(const char *what, const char *s, size_t max, bool required)
{
    if (!s || !*s) {
        if (required) return sg_fail(SG_E_INVALID, "%s is required", what);
        return SG_OK;
    }
    size_t n = strlen(s);
    if (n > max) return sg_fail(SG_E_INVALID, "%s is longer than %zu bytes", what, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return sg_fail(SG_E_INVALID, "%s contains a control character", what);
    return SG_OK;
}

static sg_status check_url(const char *what, const char *s, bool required)
{
    sg_status st = check_text(what, s, 2048, required);
    if (st != SG_OK || !s || !*s) return st;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return sg_fail(SG_E_INVALID, "%s must be an http:// or https:// URL", what);
    for (const char *p = s; *p; p++)
        if (*p == ' ') return sg_fail(SG_E_INVALID, "%s contains a space", what);
    return SG_OK;
}

static sg_edgegap_request *request_new(sg_edgegap_call call, sg_eg_method m)
{
    sg_edgegap_request *r = calloc(1, sizeof *r);
    if (r) {
        r->call = call;
        r->method = m;
    }
    return r;
}

void sg_edgegap_request_free(sg_edgegap_request *r)
{
    if (!r) return;
    free(r->target);
    free(r->body);
    if (r->context_auth) {
        sodium_memzero(r->context_auth, strlen(r->context_auth));
        free(r->context_auth);
    }
    free(r);
}

sg_edgegap_request *sg_eg_request_dup(const sg_edgegap_request *r)
{
    sg_edgegap_request *d = request_new(r->call, r->method);
    if (!d) return NULL;
    d->target = r->target ? strdup(r->target) : NULL;
    d->body = r->body ? strdup(r->body) : NULL;
    d->context_auth = r->context_auth ? strdup(r->context_auth) : NULL;
    if ((r->target && !d->target) || (r->body && !d->body) ||
        (r->context_auth && !d->context_auth)) {
        sg_edgegap_request_free(d);
        return NULL;
    }
    return d;
}

/* Builds "<prefix><escaped segment><suffix>..." from alternating literal/segment parts. */
static char *build_path(const char *const *parts, size_t n)
{
    size_t cap = 1;
    char *esc[4] = {0};
    for (size_t i = 0; i < n; i++) {
        if (i % 2 == 1) {
            esc[i / 2] = curl_easy_escape(NULL, parts[i], 0);
            if (!esc[i / 2]) goto fail;
            cap += strlen(esc[i / 2]);
        } else {
            cap += strlen(parts[i]);
        }
    }
    char *out = malloc(cap);
    if (!out) goto fail;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        strcat(out, i % 2 ? esc[i / 2] : parts[i]);
    for (size_t i = 0; i < 4; i++)
        curl_free(esc[i]);
    return out;
fail:
    for (size_t i = 0; i < 4; i++)
        curl_free(esc[i]);
    return NULL;
}

static sg_status finish(sg_edgegap_request *r, sg_edgegap_request **out)
{
    if (!r || !r->target) {
        sg_edgegap_request_free(r);
        return sg_fail(SG_E_NOMEM, "out of memory building an Edgegap request");
    }
    *out = r;
    return SG_OK;
}

sg_status sg_edgegap_request_get_session(const char *session_id, sg_edgegap_request **out)
{
    *out = NULL;
    sg_status st = check_text("session id", session_id, 128, true);
    if (st != SG_OK) return st;
    sg_edgegap_request *r = request_new(SG_EDGEGAP_GET_SESSION, SG_EG_GET);
    if (r) r->target = build_path((const char *const[]){"/v1/session/", session_id}, 2);
    return finish(r, out);
}

sg_status sg_edgegap_request_delete_session(const char *session_id, sg_edgegap_request **out)
{
    *out = NULL;
    sg_status st = check_text("session id", session_id, 128, true);
    if (st != SG_OK) return st;
    sg_edgegap_request *r = request_new(SG_EDGEGAP_DELETE_SESSION, SG_EG_DELETE);
    if (r) r->target = build_path((const char *const[]){"/v1/session/", session_id}, 2);
    return finish(r, out);
}

sg_status sg_edgegap_request_list_sessions(int page, int limit, sg_edgegap_request **out)
{
    *out = NULL;
    if (page < 0 || limit < 0) return sg_fail(SG_E_INVALID, "page and limit must be >= 0");
    char buf[96];
    size_t o = (size_t)snprintf(buf, sizeof buf, "/v1/sessions");
    char sep = '?';
    if (page > 0) {
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%cpage=%d", sep, page);
        sep = '&';
    }
    if (limit > 0) snprintf(buf + o, sizeof buf - o, "%climit=%d", sep, limit);
    sg_edgegap_request *r = request_new(SG_EDGEGAP_LIST_SESSIONS, SG_EG_GET);
    if (r) r->target = strdup(buf);
    return finish(r, out);
}

sg_status sg_edgegap_request_get_app_version(const char *app, const char *version,
                                             sg_edgegap_request **out)
{
    *out = NULL;
    sg_status st = check_text("app name", app, 128, true);
    if (st == SG_OK) st = check_text("version name", version, 128, true);
    if (st != SG_OK) return st;
    sg_edgegap_request *r = request_new(SG_EDGEGAP_GET_APP_VERSION, SG_EG_GET);
    if (r) r->target = build_path((const char *const[]){"/v1/app/", app, "/version/", version}, 4);
    return finish(r, out);
}

sg_status sg_edgegap_request_get_context(const char *context_url, const char *token,
                                         sg_edgegap_request **out)
{
    *out = NULL;
    sg_status st = check_url("context URL", context_url, true);
    if (st != SG_OK) return st;
    /* Never echo the token: the checks only name it. */
    if (!token || !*token) return sg_fail(SG_E_INVALID, "context token is required");
    size_t n = strlen(token);
    if (n > 4096) return sg_fail(SG_E_INVALID, "context token is too long");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)token[i] < 0x20 || (unsigned char)token[i] == 0x7f)
            return sg_fail(SG_E_INVALID, "context token contains a control character");
    sg_edgegap_request *r = request_new(SG_EDGEGAP_GET_CONTEXT, SG_EG_GET);
    if (!r) return sg_fail(SG_E_NOMEM, "out of memory building an Edgegap request");
    r->target = strdup(context_url);
    r->context_auth = malloc(n + sizeof "authorization: ");
    if (r->context_auth) {
        memcpy(r->context_auth, "authorization: ", 15);
        memcpy(r->context_auth + 15, token, n + 1);
    } else {
        free(r->target);
        r->target = NULL;
    }
    return finish(r, out);
}

static sg_status build_create_body(const sg_edgegap_create_params *p, char **out)
{
    cJSON *o = cJSON_CreateObject(), *ips = NULL;
    if (!o) goto nomem;
    if (!cJSON_AddStringToObject(o, "app_name", p->app_name) ||
        !cJSON_AddStringToObject(o, "version_name", p->version_name))
        goto nomem;
    /* With a position, every IP goes into geo_ip_list with it (Edgegap then places the
     * session by those coordinates rather than by its own lookup of the IPs). */
    if (!(ips = cJSON_AddArrayToObject(o, p->has_position ? "geo_ip_list" : "ip_list"))) goto nomem;
    for (size_t i = 0; i < p->ip_count; i++) {
        sg_addr a;
        char buf[64];
        if (sg_addr_parse(p->ip_list[i], SG_PORT_FORBIDDEN, &a) != SG_OK) {
            cJSON_Delete(o);
            return sg_fail(SG_E_INVALID, "ip_list[%zu] is not an IP address", i);
        }
        cJSON *s = NULL;
        if (p->has_position) {
            s = cJSON_CreateObject();
            if (s && (!cJSON_AddStringToObject(s, "ip", sg_addr_format(&a, false, buf, sizeof buf)) ||
                      !cJSON_AddNumberToObject(s, "latitude", p->latitude) ||
                      !cJSON_AddNumberToObject(s, "longitude", p->longitude))) {
                cJSON_Delete(s);
                s = NULL;
            }
        } else {
            s = cJSON_CreateString(sg_addr_format(&a, false, buf, sizeof buf));
        }
        if (!s || !cJSON_AddItemToArray(ips, s)) goto nomem;
    }
    if (p->webhook_url && *p->webhook_url &&
        !cJSON_AddStringToObject(o, "webhook_url", p->webhook_url))
        goto nomem;
    if (p->deployment_request_id && *p->deployment_request_id &&
        !cJSON_AddStringToObject(o, "deployment_request_id", p->deployment_request_id))
        goto nomem;
    if (p->selector_count) {
        cJSON *sels = cJSON_AddArrayToObject(o, "selectors");
        if (!sels) goto nomem;
        for (size_t i = 0; i < p->selector_count; i++) {
            cJSON *s = cJSON_CreateObject();
            if (!s || !cJSON_AddItemToArray(sels, s)) goto nomem;
            if (!cJSON_AddStringToObject(s, "tag", p->selectors[i].tag) ||
                !cJSON_AddBoolToObject(s, "tag_only", p->selectors[i].tag_only))
                goto nomem;
        }
    }
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*out) return sg_fail(SG_E_NOMEM, "out of memory building an Edgegap request");
    return SG_OK;
nomem:
    cJSON_Delete(o);
    return sg_fail(SG_E_NOMEM, "out of memory building an Edgegap request");
}

sg_status sg_edgegap_request_create_session(const sg_edgegap_create_params *p,
                                            sg_edgegap_request **out)
{
    *out = NULL;
    if (!p) return sg_fail(SG_E_INVALID, "create parameters are required");
    sg_status st = check_text("app name", p->app_name, 128, true);
    if (st == SG_OK) st = check_text("version name", p->version_name, 128, true);
    if (st == SG_OK) st = check_url("webhook URL", p->webhook_url, false);
    if (st == SG_OK) st = check_text("deployment request id", p->deployment_request_id, 64, false);
    if (st != SG_OK) return st;
    if (p->ip_count == 0 || !p->ip_list)
        return sg_fail(SG_E_INVALID, "ip_list needs at least one player IP");
    if (p->ip_count > 256) return sg_fail(SG_E_INVALID, "ip_list has more than 256 entries");
    if (p->selector_count && !p->selectors)
        return sg_fail(SG_E_INVALID, "selectors is NULL with a non-zero count");
    for (size_t i = 0; i < p->selector_count; i++)
        if ((st = check_text("selector tag", p->selectors[i].tag, 128, true)) != SG_OK) return st;
    for (size_t i = 0; i < p->ip_count; i++)
        if (!p->ip_list[i]) return sg_fail(SG_E_INVALID, "ip_list[%zu] is NULL", i);
    if (p->has_position && !(p->latitude >= -90 && p->latitude <= 90 && p->longitude >= -180 &&
                             p->longitude <= 180))
        return sg_fail(SG_E_INVALID, "the players' position is not a latitude and longitude");

    sg_edgegap_request *r = request_new(SG_EDGEGAP_CREATE_SESSION, SG_EG_POST);
    if (!r) return sg_fail(SG_E_NOMEM, "out of memory building an Edgegap request");
    if ((st = build_create_body(p, &r->body)) != SG_OK) {
        sg_edgegap_request_free(r);
        return st;
    }
    r->target = strdup("/v1/session");
    return finish(r, out);
}

sg_edgegap_call sg_edgegap_request_call(const sg_edgegap_request *r)
{
    return r->call;
}

const char *sg_edgegap_request_method(const sg_edgegap_request *r)
{
    switch (r->method) {
    case SG_EG_POST:
        return "POST";
    case SG_EG_DELETE:
        return "DELETE";
    default:
        return "GET";
    }
}

const char *sg_edgegap_request_target(const sg_edgegap_request *r)
{
    return r->target;
}

const char *sg_edgegap_request_body(const sg_edgegap_request *r)
{
    return r->body ? r->body : "";
}

bool sg_edgegap_request_idempotent(const sg_edgegap_request *r)
{
    return r->method == SG_EG_GET || r->method == SG_EG_DELETE;
}

/* ---- outcomes ---- */

sg_status sg_eg_http_status_map(int s)
{
    if (s >= 200 && s < 300) return SG_OK;
    switch (s) {
    case 401:
    case 403:
        return SG_E_UNAUTHORIZED;
    case 404:
        return SG_E_NOT_FOUND;
    case 409:
        return SG_E_CONFLICT;
    case 410:
        return SG_E_GONE;
    case 429:
        return SG_E_RATE_LIMITED;
    default:
        break;
    }
    if (s >= 400 && s < 500) return SG_E_BAD_REQUEST;
    return SG_E_SERVER; /* 5xx, and 1xx/3xx this client never asks for */
}

sg_status sg_eg_curl_map(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return SG_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return SG_E_TIMEOUT;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return SG_E_TOO_LARGE;
    case CURLE_OUT_OF_MEMORY:
        return SG_E_NOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return SG_E_INVALID;
    default:
        return SG_E_NETWORK;
    }
}

bool sg_eg_retryable(const sg_edgegap_request *r, sg_status st, int http_status, bool sent)
{
    if (st == SG_E_RATE_LIMITED) return true; /* refused: nothing was created */
    if (sg_edgegap_request_idempotent(r)) {
        if (st == SG_E_SERVER) return http_status >= 500;
        return st == SG_E_TIMEOUT || st == SG_E_NETWORK;
    }
    /* Create: only when the request provably never left (connection refused, DNS...). */
    return (st == SG_E_TIMEOUT || st == SG_E_NETWORK) && !sent;
}

bool sg_eg_create_ambiguous(sg_status st, int http_status, bool sent)
{
    if (st == SG_E_TIMEOUT || st == SG_E_NETWORK) return sent;
    if (st == SG_E_SERVER) return true;
    if (st == SG_E_MALFORMED || st == SG_E_TOO_LARGE)
        return http_status >= 200 && http_status < 300;
    return false;
}

long long sg_eg_backoff_us(long long base_ms, long long max_ms, int retry)
{
    if (base_ms <= 0) return 0;
    /* Full jitter: anywhere between 0 and the schedule's delay. */
    long long cap_us = sg_backoff_ms(base_ms, max_ms, retry) * 1000;
    if (cap_us <= 0) return 0;
    if (cap_us >= (long long)UINT32_MAX) cap_us = (long long)UINT32_MAX - 1;
    return (long long)randombytes_uniform((uint32_t)cap_us + 1);
}

long long sg_eg_retry_after_ms(const char *v, long long now_epoch_s)
{
    if (!v) return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (!*v) return -1;
    if (isdigit((unsigned char)*v)) {
        long long secs = 0;
        const char *p = v;
        for (; isdigit((unsigned char)*p); p++) {
            secs = secs * 10 + (*p - '0');
            if (secs > 86400) secs = 86400;
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        return *p ? -1 : secs * 1000;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1) return -1;
    long long d = (long long)t - now_epoch_s;
    if (d < 0) d = 0;
    if (d > 86400) d = 86400;
    return d * 1000;
}

/* A secret this short could be part of ordinary words ("k" in "token"): it is only redacted
 * where it stands alone. Longer ones are redacted wherever they appear. */
#define REDACT_ANYWHERE_LEN 8

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

void sg_eg_redact(char *buf, size_t size, const char *secret)
{
    static const char mark[] = "[redacted]";
    size_t sl = secret ? strlen(secret) : 0;
    if (!buf || sl == 0) return;
    char *from = buf, *p;
    while ((p = strstr(from, secret)) != NULL) {
        if (sl < REDACT_ANYWHERE_LEN &&
            ((p > buf && word_char(p[-1])) || word_char(p[sl]))) {
            from = p + 1; /* inside a longer word: not the secret */
            continue;
        }
        size_t tail = strlen(p + sl);
        size_t ml = sizeof mark - 1;
        if ((size_t)(p - buf) + ml + tail + 1 > size) {
            *p = '\0'; /* no room: cut the message here */
            return;
        }
        memmove(p + ml, p + sl, tail + 1);
        memcpy(p, mark, ml);
        from = p + ml;
    }
}
