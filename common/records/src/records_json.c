#include "records_json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/addr.h"
#include "seatgate/kv.h"

bool jr_fail(jr *r, const char *field, const char *why)
{
    if (r->st == SG_OK) r->st = sg_fail(SG_E_MALFORMED, "%s: field %s %s", r->what, field, why);
    return false;
}

cJSON *jr_parse(jr *r, const char *json, size_t len)
{
    r->st = SG_OK;
    if (!json) {
        r->st = sg_fail(SG_E_MALFORMED, "%s: no JSON text", r->what);
        return NULL;
    }
    if (len > 256 * 1024) {
        r->st = sg_fail(SG_E_TOO_LARGE, "%s: JSON text above 256 KiB", r->what);
        return NULL;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!o) {
        r->st = sg_fail(SG_E_MALFORMED, "%s: not valid JSON", r->what);
        return NULL;
    }
    for (; end && end < json + len; end++) {
        if (!isspace((unsigned char)*end)) {
            cJSON_Delete(o);
            r->st = sg_fail(SG_E_MALFORMED, "%s: trailing data after the JSON object", r->what);
            return NULL;
        }
    }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        r->st = sg_fail(SG_E_MALFORMED, "%s: JSON is not an object", r->what);
        return NULL;
    }
    return o;
}

static const cJSON *field_of(const cJSON *o, const char *field)
{
    return cJSON_GetObjectItemCaseSensitive(o, field);
}

bool jr_str(jr *r, const cJSON *o, const char *field, bool required, jr_check check, char *dst,
            size_t size)
{
    dst[0] = '\0';
    const cJSON *v = field_of(o, field);
    if (!v || cJSON_IsNull(v)) return required ? jr_fail(r, field, "is missing") : true;
    if (!cJSON_IsString(v)) return jr_fail(r, field, "is not a string");
    size_t n = strlen(v->valuestring);
    if (n >= size) return jr_fail(r, field, "is too long");
    if (n == 0) return required ? jr_fail(r, field, "is empty") : true;
    const char *s = v->valuestring;
    switch (check) {
    case JR_TEXT:
        for (const char *p = s; *p; p++)
            if ((unsigned char)*p < 0x20) return jr_fail(r, field, "has control characters");
        break;
    case JR_KEY:
        if (!sg_kv_key_valid(s)) return jr_fail(r, field, "is not a valid key");
        break;
    case JR_IP: {
        sg_addr a;
        if (sg_addr_parse(s, SG_PORT_FORBIDDEN, &a) != SG_OK)
            return jr_fail(r, field, "is not an IP address");
        break;
    }
    case JR_CODE:
        if (!islower((unsigned char)s[0])) return jr_fail(r, field, "is not a snake_case code");
        for (const char *p = s; *p; p++)
            if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
                return jr_fail(r, field, "is not a snake_case code");
        break;
    case JR_HEX64:
        if (n != 64) return jr_fail(r, field, "is not 64 hex digits");
        for (const char *p = s; *p; p++)
            if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
                return jr_fail(r, field, "is not lower-case hex");
        break;
    case JR_USER:
        if (!sg_user_id_valid(s)) return jr_fail(r, field, "is not a user id");
        break;
    }
    memcpy(dst, s, n + 1);
    return true;
}

bool jr_int(jr *r, const cJSON *o, const char *field, bool required, long long min, long long max,
            long long *dst)
{
    const cJSON *v = field_of(o, field);
    if (!v || cJSON_IsNull(v)) return required ? jr_fail(r, field, "is missing") : true;
    if (!cJSON_IsNumber(v)) return jr_fail(r, field, "is not a number");
    double d = v->valuedouble;
    if (!isfinite(d) || d > 9.2e18 || d < -9.2e18 || d != (double)(long long)d)
        return jr_fail(r, field, "is not an integer");
    if (d < (double)min || d > (double)max) return jr_fail(r, field, "is out of range");
    *dst = (long long)d;
    return true;
}

bool jr_ms(jr *r, const cJSON *o, const char *field, bool required, long long *dst)
{
    return jr_int(r, o, field, required, 0, JR_MAX_SAFE_INT, dst);
}

bool jr_double(jr *r, const cJSON *o, const char *field, double min, double max, double *dst,
               bool *present)
{
    const cJSON *v = field_of(o, field);
    *present = false;
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsNumber(v)) return jr_fail(r, field, "is not a number");
    if (!isfinite(v->valuedouble) || v->valuedouble < min || v->valuedouble > max)
        return jr_fail(r, field, "is out of range");
    *dst = v->valuedouble;
    *present = true;
    return true;
}

bool jr_client_id(jr *r, const cJSON *o, const char *field, bool required, uint64_t *dst)
{
    *dst = 0;
    const cJSON *v = field_of(o, field);
    if (!v || cJSON_IsNull(v)) return required ? jr_fail(r, field, "is missing") : true;
    if (!cJSON_IsString(v)) return jr_fail(r, field, "is not a decimal string");
    if (sg_client_id_parse(v->valuestring, dst) != SG_OK)
        return jr_fail(r, field, "is not a client id (decimal 1..18446744073709551615)");
    return true;
}

int jr_enum(jr *r, const cJSON *o, const char *field, const char *const *names, int n)
{
    const cJSON *v = field_of(o, field);
    if (!v) return jr_fail(r, field, "is missing"), -1;
    if (!cJSON_IsString(v)) return jr_fail(r, field, "is not a string"), -1;
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], v->valuestring) == 0) return i;
    return jr_fail(r, field, "has an unknown value"), -1;
}

const cJSON *jr_obj(jr *r, const cJSON *o, const char *field, bool required)
{
    const cJSON *v = field_of(o, field);
    if (!v || cJSON_IsNull(v)) return required ? (jr_fail(r, field, "is missing"), NULL) : NULL;
    if (!cJSON_IsObject(v)) return jr_fail(r, field, "is not an object"), NULL;
    return v;
}

void jr_location(jr *r, const cJSON *o, sg_location *loc)
{
    memset(loc, 0, sizeof *loc);
    jr_str(r, o, "city", false, JR_TEXT, loc->city, sizeof loc->city);
    jr_str(r, o, "country", false, JR_TEXT, loc->country, sizeof loc->country);
    jr_str(r, o, "continent", false, JR_TEXT, loc->continent, sizeof loc->continent);
    bool lat = false, lon = false;
    jr_double(r, o, "latitude", -90, 90, &loc->latitude, &lat);
    jr_double(r, o, "longitude", -180, 180, &loc->longitude, &lon);
    if (lat != lon) jr_fail(r, "latitude/longitude", "must come together");
    loc->has_coords = lat && lon;
}

void jw_str(cJSON *o, const char *field, const char *v, size_t size, bool *ok)
{
    if (!v || !v[0]) return;
    if (strnlen(v, size) == size || !cJSON_AddStringToObject(o, field, v)) *ok = false;
}

/* Whole numbers (times in ms, counts, ports) are written as integers here: cJSON prints a
 * double beyond int's range with "%1.15g" and reads it back with sscanf to check it, which
 * made number printing the larger part of writing a record. Readers get the same value
 * (10^15 and up are written out in full rather than as 1e+15). */
void jw_num(cJSON *o, const char *field, double v, bool *ok)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* 2^53: every integer exact */
        char buf[24], *p = buf + sizeof buf;
        unsigned long long u = v < 0 ? (unsigned long long)-v : (unsigned long long)v;
        *--p = '\0';
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v < 0) *--p = '-';
        if (!cJSON_AddRawToObject(o, field, p)) *ok = false;
        return;
    }
    if (!cJSON_AddNumberToObject(o, field, v)) *ok = false;
}

void jw_client_id(cJSON *o, const char *field, uint64_t v, bool *ok)
{
    if (v == 0) return;
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    if (!cJSON_AddStringToObject(o, field, buf)) *ok = false;
}

cJSON *jw_obj(cJSON *o, const char *field, bool *ok)
{
    cJSON *c = cJSON_AddObjectToObject(o, field);
    if (!c) *ok = false;
    return c;
}

void jw_location(cJSON *o, const char *field, const sg_location *loc, bool *ok)
{
    cJSON *l = jw_obj(o, field, ok);
    if (!l) return;
    JW_STR(l, "city", loc->city, ok);
    JW_STR(l, "country", loc->country, ok);
    JW_STR(l, "continent", loc->continent, ok);
    if (loc->has_coords) {
        jw_num(l, "latitude", loc->latitude, ok);
        jw_num(l, "longitude", loc->longitude, ok);
    }
}

sg_status jw_finish(cJSON *o, bool ok, const char *what,
                    sg_status (*check)(const char *json, size_t len, void *scratch), void *scratch,
                    char **out)
{
    *out = NULL;
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return sg_fail(SG_E_INVALID,
                       "%s: cannot be written (a string is not terminated "
                       "within its field, or memory ran out)",
                       what);
    sg_status st = check(text, strlen(text), scratch);
    if (st != SG_OK) {
        free(text);
        char why[400];
        snprintf(why, sizeof why, "%s", sg_last_error());
        return sg_fail(SG_E_INVALID, "refusing to write %s", why);
    }
    *out = text;
    return SG_OK;
}

sg_status sg_client_id_parse(const char *text, uint64_t *out)
{
    *out = 0;
    if (!text || !*text || strlen(text) > 20 || text[0] == '0')
        return sg_fail(SG_E_INVALID, "client id must be a decimal number from 1 to 2^64-1");
    for (const char *p = text; *p; p++)
        if (!isdigit((unsigned char)*p))
            return sg_fail(SG_E_INVALID, "client id must be a decimal number from 1 to 2^64-1");
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno == ERANGE || v == 0)
        return sg_fail(SG_E_INVALID, "client id must be a decimal number from 1 to 2^64-1");
    *out = v;
    return SG_OK;
}

const char *sg_connect_token_key(uint64_t client_id, char *buf, size_t size)
{
    snprintf(buf, size, "%llu", (unsigned long long)client_id);
    return buf;
}

sg_status sg_connect_token_value_parse(const char *v, size_t len, char *session_id, size_t size)
{
    if (!v || len == 0 || len >= size || len > SG_KV_KEY_MAX)
        return sg_fail(SG_E_MALFORMED, "connect_tokens value: empty or too long");
    char tmp[SG_KV_KEY_MAX + 1];
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    if (!sg_kv_key_valid(tmp))
        return sg_fail(SG_E_MALFORMED, "connect_tokens value: not a session id");
    memcpy(session_id, tmp, len + 1);
    return SG_OK;
}
