/* The connect flow's 200 answer body (schemas/http/connect_response.schema.json). */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "flow.h"

char *sg_flow_answer_json(const sg_seat *seat, const sg_seat_port *port, const char *token_b64,
                          uint64_t client_id, uint64_t expires_at, const char *cert_digest,
                          const char *seat_token, const sg_flow_placement *placement)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char cid[24];
    snprintf(cid, sizeof cid, "%llu", (unsigned long long)client_id);
    cJSON_AddStringToObject(o, "host", seat->public_ip);
    if (seat->fqdn[0]) cJSON_AddStringToObject(o, "fqdn", seat->fqdn);
    cJSON_AddNumberToObject(o, "port", port->external);
    cJSON_AddStringToObject(o, "protocol", port->protocol[0] ? port->protocol : "UDP");
    if (token_b64 && *token_b64) cJSON_AddStringToObject(o, "token", token_b64);
    if (seat_token && *seat_token) cJSON_AddStringToObject(o, "seat_token", seat_token);
    cJSON_AddStringToObject(o, "client_id", cid);
    cJSON_AddStringToObject(o, "session_id", seat->id);
    cJSON_AddNumberToObject(o, "expires_at", (double)expires_at);
    const sg_seat_location *l = &seat->location;
    if (l->city[0] || l->country[0] || l->continent[0] || l->has_coordinates) {
        cJSON *loc = cJSON_AddObjectToObject(o, "location");
        if (l->city[0]) cJSON_AddStringToObject(loc, "city", l->city);
        if (l->country[0]) cJSON_AddStringToObject(loc, "country", l->country);
        if (l->continent[0]) cJSON_AddStringToObject(loc, "continent", l->continent);
        if (l->administrative_division[0])
            cJSON_AddStringToObject(loc, "administrative_division", l->administrative_division);
        if (l->timezone[0]) cJSON_AddStringToObject(loc, "timezone", l->timezone);
        if (l->has_coordinates) {
            cJSON_AddNumberToObject(loc, "latitude", l->latitude);
            cJSON_AddNumberToObject(loc, "longitude", l->longitude);
        }
    }
    if (cert_digest && *cert_digest) cJSON_AddStringToObject(o, "cert_digest", cert_digest);
    if (seat->gateway_url[0]) {
        cJSON_AddStringToObject(o, "gateway_url", seat->gateway_url);
        cJSON_AddStringToObject(o, "route", seat->route);
    }
    if (seat->server_id[0]) cJSON_AddStringToObject(o, "server_id", seat->server_id);
    if (placement) {
        cJSON *p = cJSON_AddObjectToObject(o, "placement");
        cJSON_AddStringToObject(p, "decision", placement->decision);
        if (placement->location && *placement->location)
            cJSON_AddStringToObject(p, "location", placement->location);
        if (placement->has_rtt) {
            cJSON_AddNumberToObject(p, "rtt_ms", placement->rtt_ms);
            cJSON_AddStringToObject(p, "source", placement->source);
        }
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
