/* Parsing of POST /v1/session bodies: untrusted input, so every field is type-checked and
 * bounded, and a failure leaves nothing allocated. Fuzzed by tests/fuzz/fuzz_sim_body.c. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/addr.h"
#include "sim.h"

#define WEBHOOK_URL_MAX 2048

void sim_session_req_clear(sim_session_req *r)
{
    free(r->webhook_url);
    free(r->selectors_json);
    memset(r, 0, sizeof *r);
}

static sg_status opt_string(const cJSON *root, const char *key, size_t min, size_t max,
                            const char **out)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return SG_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return sg_fail(SG_E_INVALID, "%s must be a string", key);
    size_t n = strlen(v->valuestring);
    if (n < min || n > max)
        return sg_fail(SG_E_INVALID, "%s must be %zu to %zu characters long", key, min, max);
    *out = v->valuestring;
    return SG_OK;
}

static sg_status add_ip(sim_session_req *r, const char *field, const cJSON *ipv, bool has_geo,
                        double lat, double lon)
{
    if (!cJSON_IsString(ipv) || !ipv->valuestring)
        return sg_fail(SG_E_INVALID, "%s entries must be IP address strings", field);
    if (r->n_ips >= SIM_MAX_IPS)
        return sg_fail(SG_E_INVALID, "too many IP addresses (at most %d)", SIM_MAX_IPS);
    sg_addr a;
    if (strlen(ipv->valuestring) > 45 ||
        sg_addr_parse(ipv->valuestring, SG_PORT_FORBIDDEN, &a) != SG_OK)
        return sg_fail(SG_E_INVALID, "%s holds an entry that is not an IP address", field);
    sim_ip *ip = &r->ips[r->n_ips++];
    sg_addr_format(&a, false, ip->ip, sizeof ip->ip);
    ip->has_geo = has_geo;
    ip->latitude = lat;
    ip->longitude = lon;
    return SG_OK;
}

static bool coord_ok(const cJSON *v, double limit)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && fabs(v->valuedouble) <= limit;
}

static sg_status parse_ips(const cJSON *root, sim_session_req *r)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "ip_list");
    if (list && !cJSON_IsNull(list)) {
        if (!cJSON_IsArray(list)) return sg_fail(SG_E_INVALID, "ip_list must be an array");
        const cJSON *e;
        cJSON_ArrayForEach(e, list)
        {
            sg_status st = add_ip(r, "ip_list", e, false, 0, 0);
            if (st != SG_OK) return st;
        }
    }
    const cJSON *geo = cJSON_GetObjectItemCaseSensitive(root, "geo_ip_list");
    if (geo && !cJSON_IsNull(geo)) {
        if (!cJSON_IsArray(geo)) return sg_fail(SG_E_INVALID, "geo_ip_list must be an array");
        const cJSON *e;
        cJSON_ArrayForEach(e, geo)
        {
            if (!cJSON_IsObject(e))
                return sg_fail(SG_E_INVALID, "geo_ip_list entries must be objects");
            const cJSON *lat = cJSON_GetObjectItemCaseSensitive(e, "latitude");
            const cJSON *lon = cJSON_GetObjectItemCaseSensitive(e, "longitude");
            if (!coord_ok(lat, 90) || !coord_ok(lon, 180))
                return sg_fail(SG_E_INVALID,
                               "geo_ip_list entries need numeric latitude and longitude");
            sg_status st = add_ip(r, "geo_ip_list", cJSON_GetObjectItemCaseSensitive(e, "ip"), true,
                                  lat->valuedouble, lon->valuedouble);
            if (st != SG_OK) return st;
        }
    }
    return SG_OK;
}

static sg_status check_optional_types(const cJSON *root)
{
    static const char *const strings[] = {"city", "country", "continent", "administrative_division",
                                          "region"};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        const char *s;
        sg_status st = opt_string(root, strings[i], 0, 256, &s);
        if (st != SG_OK) return st;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "skip_telemetry");
    if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v))
        return sg_fail(SG_E_INVALID, "skip_telemetry must be a boolean");
    v = cJSON_GetObjectItemCaseSensitive(root, "filters");
    if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v))
        return sg_fail(SG_E_INVALID, "filters must be an array");
    v = cJSON_GetObjectItemCaseSensitive(root, "location");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v) || !coord_ok(cJSON_GetObjectItemCaseSensitive(v, "latitude"), 90) ||
            !coord_ok(cJSON_GetObjectItemCaseSensitive(v, "longitude"), 180))
            return sg_fail(SG_E_INVALID, "location must be an object with latitude and longitude");
    }
    return SG_OK;
}

static sg_status parse_fields(const cJSON *root, sim_session_req *r)
{
    if (!cJSON_IsObject(root)) return sg_fail(SG_E_INVALID, "the body must be a JSON object");
    const char *s;
    sg_status st = opt_string(root, "app_name", 1, SIM_NAME_MAX - 1, &s);
    if (st != SG_OK) return st;
    if (!s) return sg_fail(SG_E_INVALID, "app_name is required");
    memcpy(r->app, s, strlen(s) + 1);
    if ((st = opt_string(root, "version_name", 1, SIM_NAME_MAX - 1, &s)) != SG_OK) return st;
    if (s) memcpy(r->version, s, strlen(s) + 1);
    if ((st = opt_string(root, "deployment_request_id", 1, SIM_RID_LEN, &s)) != SG_OK) return st;
    if (s) {
        for (const char *p = s; *p; p++)
            if (!isalnum((unsigned char)*p))
                return sg_fail(SG_E_INVALID, "deployment_request_id must be alphanumeric");
        memcpy(r->deployment_request_id, s, strlen(s) + 1);
    }
    if ((st = opt_string(root, "webhook_url", 1, WEBHOOK_URL_MAX, &s)) != SG_OK) return st;
    if (s) {
        if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
            return sg_fail(SG_E_INVALID, "webhook_url must be an http:// or https:// URL");
        for (const char *p = s; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == 0x7f)
                return sg_fail(SG_E_INVALID, "webhook_url must not contain spaces or controls");
        if (!(r->webhook_url = strdup(s))) return SG_E_NOMEM;
    }
    const cJSON *sel = cJSON_GetObjectItemCaseSensitive(root, "selectors");
    if (sel && !cJSON_IsNull(sel)) {
        if (!cJSON_IsArray(sel)) return sg_fail(SG_E_INVALID, "selectors must be an array");
        if (!(r->selectors_json = cJSON_PrintUnformatted(sel))) return SG_E_NOMEM;
    }
    if ((st = check_optional_types(root)) != SG_OK) return st;
    if ((st = parse_ips(root, r)) != SG_OK) return st;
    if (r->n_ips == 0 && !r->deployment_request_id[0])
        return sg_fail(SG_E_INVALID, "ip_list or geo_ip_list needs at least one IP address");
    return SG_OK;
}

sg_status sim_session_req_parse(const char *body, size_t len, sim_session_req *out)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0) return sg_fail(SG_E_MALFORMED, "the request body is empty");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) return sg_fail(SG_E_MALFORMED, "the request body is not valid JSON");
    /* Only whitespace may follow the JSON value. */
    for (const char *p = end; p && p < body + len; p++) {
        if (!isspace((unsigned char)*p)) {
            cJSON_Delete(root);
            return sg_fail(SG_E_MALFORMED, "the request body has data after the JSON value");
        }
    }
    sg_status st = parse_fields(root, out);
    cJSON_Delete(root);
    if (st != SG_OK) sim_session_req_clear(out);
    return st;
}
