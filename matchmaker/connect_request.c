/* The /connect-me request body: content type, size, JSON shape, fields. */
#include "connect_request.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool sg_content_type_is_json(const char *ct)
{
    if (!ct) return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    static const char want[] = "application/json";
    if (strncasecmp(ct, want, sizeof want - 1) != 0) return false;
    const char *rest = ct + sizeof want - 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

static bool printable_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return false;
    return true;
}

static sg_status field_error(sg_reply_error *err, const char *fmt, const char *field)
{
    sg_reply_error_set(err, 400, "bad_field", fmt, field);
    return sg_fail(SG_E_INVALID, "connect-me body: %s", err->message);
}

/* A map key: a short name, and one the operator lists. */
static sg_status parse_map(const sg_connect_body_options *o, const cJSON *v,
                           sg_connect_request *out, sg_reply_error *err)
{
    size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    bool name = n > 0 && n <= SG_CONNECT_TEXT_MAX &&
                strspn(v->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789._-") == n;
    if (!name) return field_error(err, "%s must be 1..64 characters of A-Z a-z 0-9 . _ -", "mapKey");
    bool allowed = false;
    for (size_t i = 0; i < o->allowed_map_count && !allowed; i++)
        allowed = strcmp(o->allowed_maps[i], v->valuestring) == 0;
    if (!allowed) {
        sg_reply_error_set(err, 400, "map_not_allowed",
                           o->allowed_map_count ? "this map is not one the matchmaker offers"
                                                : "this matchmaker does not take a mapKey");
        return sg_fail(SG_E_INVALID, "connect-me body: %s", err->message);
    }
    memcpy(out->map_key, v->valuestring, n + 1);
    return SG_OK;
}

/* The round trips the client measured: {"<location>": ms, ...}. */
static sg_status parse_rtts(const cJSON *v, sg_connect_request *out, sg_reply_error *err)
{
    if (!cJSON_IsObject(v))
        return field_error(err, "%s must be an object of location names to milliseconds", "rtts");
    if (cJSON_GetArraySize(v) > SG_CONNECT_MAX_RTTS) {
        sg_reply_error_set(err, 400, "bad_field", "rtts: at most %d locations", SG_CONNECT_MAX_RTTS);
        return sg_fail(SG_E_INVALID, "connect-me body: %s", err->message);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, v)
    {
        if (!item->string || !printable_text(item->string, SG_CONNECT_RTT_NAME_MAX))
            return field_error(err, "%s names must be 1..32 printable characters", "rtts");
        if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble <= 10000))
            return field_error(err, "%s values must be milliseconds from 0 to 10000", "rtts");
        for (size_t i = 0; i < out->rtt_count; i++)
            if (strcmp(out->rtts[i].name, item->string) == 0)
                return field_error(err, "%s names a location twice", "rtts");
        strcpy(out->rtts[out->rtt_count].name, item->string);
        out->rtts[out->rtt_count++].ms = (float)item->valuedouble;
    }
    return SG_OK;
}

static sg_status parse_selectors(const sg_connect_body_options *o, const cJSON *v,
                                 sg_connect_request *out, sg_reply_error *err)
{
    if (!cJSON_IsArray(v)) return field_error(err, "%s must be an array of strings", "selectors");
    int n = cJSON_GetArraySize(v);
    if (n > SG_CONNECT_MAX_SELECTORS) {
        sg_reply_error_set(err, 400, "bad_field", "selectors: at most %d entries",
                           SG_CONNECT_MAX_SELECTORS);
        return sg_fail(SG_E_INVALID, "connect-me body: %s", err->message);
    }
    if (n > 0 && o->allowed_selector_count == 0) {
        sg_reply_error_set(err, 400, "selector_not_allowed",
                           "this matchmaker does not accept selectors from clients");
        return sg_fail(SG_E_INVALID, "connect-me body: %s", err->message);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, v)
    {
        if (!cJSON_IsString(item) || !printable_text(item->valuestring, SG_CONNECT_TEXT_MAX))
            return field_error(err, "%s entries must be strings of 1..64 printable characters",
                               "selectors");
        bool allowed = false;
        for (size_t i = 0; i < o->allowed_selector_count && !allowed; i++)
            allowed = strcmp(o->allowed_selectors[i], item->valuestring) == 0;
        if (!allowed) {
            /* The value is printable and short: safe to echo. */
            sg_reply_error_set(err, 400, "selector_not_allowed", "selector '%s' is not allowed",
                               item->valuestring);
            return sg_fail(SG_E_INVALID, "connect-me body: %s", err->message);
        }
        for (size_t i = 0; i < out->selector_count; i++)
            if (strcmp(out->selectors[i], item->valuestring) == 0) goto next; /* dedupe */
        strcpy(out->selectors[out->selector_count++], item->valuestring);
    next:;
    }
    return SG_OK;
}

sg_status sg_connect_request_parse(const sg_connect_body_options *o, const char *content_type,
                                   const char *body, size_t len, sg_connect_request *out,
                                   sg_reply_error *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0) return SG_OK;
    if (len > o->max_bytes) {
        sg_reply_error_set(err, 413, "body_too_large", "the request body is over %zu bytes",
                           o->max_bytes);
        return sg_fail(SG_E_TOO_LARGE, "connect-me body: %s", err->message);
    }
    if (!sg_content_type_is_json(content_type)) {
        sg_reply_error_set(err, 400, "bad_content_type",
                           "a request body must be sent as application/json");
        return sg_fail(SG_E_INVALID, "connect-me body: %s", err->message);
    }
    if (memchr(body, '\0', len)) {
        sg_reply_error_set(err, 400, "malformed_json", "the body holds a NUL byte");
        return sg_fail(SG_E_MALFORMED, "connect-me body: %s", err->message);
    }
    /* cJSON wants the terminating NUL inside the length to reject trailing bytes. */
    char *copy = malloc(len + 1);
    if (!copy) {
        sg_reply_error_set(err, 500, "internal", "out of memory");
        return sg_fail(SG_E_NOMEM, "connect-me body: out of memory");
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    cJSON *root = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, true);
    free(copy);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        sg_reply_error_set(err, 400, "malformed_json",
                           root ? "the body must be a JSON object" : "the body is not valid JSON");
        return sg_fail(SG_E_MALFORMED, "connect-me body: %s", err->message);
    }
    sg_status st = SG_OK;
    bool seen_version = false, seen_selectors = false, seen_map = false, seen_rtts = false;
    const cJSON *f;
    cJSON_ArrayForEach(f, root)
    {
        if (!f->string) continue;
        bool is_version = strcmp(f->string, "client_version") == 0;
        bool is_selectors = strcmp(f->string, "selectors") == 0;
        bool is_map = strcmp(f->string, "mapKey") == 0;
        bool is_rtts = strcmp(f->string, "rtts") == 0;
        if (!is_version && !is_selectors && !is_map && !is_rtts) continue;
        if ((is_version && seen_version) || (is_selectors && seen_selectors) ||
            (is_map && seen_map) || (is_rtts && seen_rtts)) {
            st = field_error(err, "%s appears twice", f->string);
            break;
        }
        seen_version |= is_version;
        seen_selectors |= is_selectors;
        seen_map |= is_map;
        seen_rtts |= is_rtts;
        if (cJSON_IsNull(f)) continue;
        if (is_rtts) {
            if ((st = parse_rtts(f, out, err)) != SG_OK) break;
        } else if (is_map) {
            if ((st = parse_map(o, f, out, err)) != SG_OK) break;
        } else if (is_version) {
            if (!cJSON_IsString(f) || !printable_text(f->valuestring, SG_CONNECT_TEXT_MAX)) {
                st = field_error(err, "%s must be a string of 1..64 printable characters",
                                 "client_version");
                break;
            }
            strcpy(out->client_version, f->valuestring);
        } else if ((st = parse_selectors(o, f, out, err)) != SG_OK) {
            break;
        }
    }
    cJSON_Delete(root);
    if (st != SG_OK) memset(out, 0, sizeof *out);
    return st;
}
