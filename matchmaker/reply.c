/* JSON error bodies. */
#include "reply.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_reply_error_set(sg_reply_error *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    e->retry_after_ms = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

char *sg_reply_error_json(const sg_reply_error *e, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    char *out = NULL;
    if (err && cJSON_AddStringToObject(err, "code", e->code ? e->code : "internal") &&
        cJSON_AddStringToObject(err, "message", e->message))
        out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (out && len) *len = strlen(out);
    return out;
}

const char *const sg_reply_connect_outcomes[] = {
    "ok",           "bad_request",         "bad_content_type",    "malformed_json",      "bad_field",
    "selector_not_allowed", "map_not_allowed", "bad_forwarded_header", "body_too_large",
    "origin_not_allowed",
    "missing_token", "malformed_token",    "alg_not_allowed",     "unknown_kid",         "bad_signature",
    "missing_exp",  "expired",             "not_yet_valid",       "issued_in_future",    "wrong_issuer",
    "wrong_audience", "bad_user_id",       "token_revoked",       "auth_unavailable",
    "rate_limited", "seat_limit",          "overloaded",          "store_unavailable",   "not_ready",
    "edgegap_refused", "edgegap_unavailable", "edgegap_busy",     "platform_refused",
    "platform_unavailable", "platform_busy", "no_capacity",       "no_server",
    "server_timeout", "shutting_down",     "internal",            NULL};

long long sg_reply_retry_after_s(long long ms)
{
    if (ms <= 0) return 1;
    return (ms + 999) / 1000;
}
