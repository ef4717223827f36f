/* Edgegap's JSON bodies for sessions, deployments, contexts and app versions, and the
 * ARBITRIUM_* environment of a deployment. Shapes follow Edgegap's published v1 API. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_model.h"

const char *sim_ses_status_name(ses_status s)
{
    switch (s) {
    case SES_READY:
        return "Ready";
    case SES_UNPROCESSABLE:
        return "Unprocessable";
    case SES_ERROR:
        return "Error";
    default:
        return "Seeking";
    }
}

static const char *dep_status_name(dep_state s)
{
    switch (s) {
    case DEP_READY:
        return "Status.READY";
    case DEP_STOPPED:
        return "Status.TERMINATED";
    default:
        return "Status.DEPLOYING";
    }
}

static void format_wall(const struct timespec *ts, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, size, "%s.%06ld", day, ts->tv_nsec / 1000);
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *sim_render_location(const sim_location *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "city", l->city);
    cJSON_AddStringToObject(o, "country", l->country);
    cJSON_AddStringToObject(o, "continent", l->continent);
    cJSON_AddStringToObject(o, "administrative_division", l->division);
    cJSON_AddStringToObject(o, "timezone", l->timezone);
    cJSON_AddNumberToObject(o, "latitude", l->latitude);
    cJSON_AddNumberToObject(o, "longitude", l->longitude);
    return o;
}

cJSON *sim_render_ports(const sim_deployment *d, bool full)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < d->n_ports; i++) {
        const sim_port *p = &d->ports[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "external", p->external);
        cJSON_AddNumberToObject(e, "internal", p->internal);
        cJSON_AddStringToObject(e, "protocol", p->protocol);
        cJSON_AddStringToObject(e, "name", p->name);
        if (full) {
            cJSON_AddBoolToObject(e, "tls_upgrade", p->tls_upgrade);
            char link[256], scheme[8] = "";
            if (!strncmp(p->protocol, "HTTP", 4) || !strncmp(p->protocol, "WS", 2)) {
                size_t n = 0;
                for (; p->protocol[n] && n + 1 < sizeof scheme; n++)
                    scheme[n] = (char)tolower((unsigned char)p->protocol[n]);
                scheme[n] = '\0';
            }
            snprintf(link, sizeof link, "%s%s%s:%d", scheme, scheme[0] ? "://" : "", d->fqdn,
                     p->external);
            cJSON_AddStringToObject(e, "link", link);
            cJSON_AddNullToObject(e, "proxy");
        }
        cJSON_AddItemToObject(o, p->name, e);
    }
    return o;
}

static cJSON *tags_array(const sim_deployment *d)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < d->n_tags; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(d->tags[i]));
    return a;
}

cJSON *sim_render_deployment(const sim_deployment *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "request_id", d->request_id);
    cJSON_AddStringToObject(o, "public_ip", d->public_ip);
    cJSON_AddStringToObject(o, "status", dep_status_name(d->state));
    cJSON_AddBoolToObject(o, "ready", d->state == DEP_READY);
    cJSON_AddBoolToObject(o, "whitelisting_active", false);
    cJSON_AddStringToObject(o, "fqdn", d->fqdn);
    cJSON_AddItemToObject(o, "ports", sim_render_ports(d, true));
    cJSON_AddItemToObject(o, "location", sim_render_location(&d->location));
    cJSON_AddItemToObject(o, "tags", tags_array(d));
    cJSON_AddNumberToObject(o, "sockets", d->sockets);
    cJSON_AddNumberToObject(o, "sockets_usage", d->used);
    cJSON_AddBoolToObject(o, "is_joinable_by_session", d->state != DEP_STOPPED);
    return o;
}

static cJSON *ips_array(const sim_session *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < s->n_ips; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "ip", s->ips[i].ip);
        if (s->ips[i].has_geo) {
            cJSON_AddNumberToObject(e, "latitude", s->ips[i].latitude);
            cJSON_AddNumberToObject(e, "longitude", s->ips[i].longitude);
        } else {
            cJSON_AddNullToObject(e, "latitude");
            cJSON_AddNullToObject(e, "longitude");
        }
        cJSON_AddItemToArray(a, e);
    }
    return a;
}

cJSON *sim_render_session(const sim_session *s, long long now_ms)
{
    cJSON *o = cJSON_CreateObject();
    char when[64];
    format_wall(&s->created_wall, when, sizeof when);
    cJSON_AddStringToObject(o, "session_id", s->id);
    cJSON_AddNullToObject(o, "custom_id");
    cJSON_AddStringToObject(o, "status", sim_ses_status_name(s->status));
    cJSON_AddBoolToObject(o, "ready", s->status == SES_READY);
    cJSON_AddBoolToObject(o, "linked", s->dep != NULL);
    cJSON_AddStringToObject(o, "kind", sim_kind_name(s->ver->kind));
    cJSON_AddNumberToObject(o, "user_count", (double)s->n_ips);
    cJSON_AddNumberToObject(o, "app_version", s->ver->id);
    cJSON_AddStringToObject(o, "create_time", when);
    cJSON_AddNumberToObject(o, "elapsed", (double)((now_ms - s->created_ms) / 1000));
    add_str_or_null(o, "error", s->error);
    cJSON_AddItemToObject(o, "session_users", ips_array(s));
    cJSON_AddItemToObject(o, "session_ips", ips_array(s));
    if (s->dep)
        cJSON_AddItemToObject(o, "deployment", sim_render_deployment(s->dep));
    else
        cJSON_AddNullToObject(o, "deployment");
    add_str_or_null(o, "webhook_url", s->webhook_url);
    return o;
}

cJSON *sim_render_session_created(const sim_session *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "session_id", s->id);
    cJSON_AddNullToObject(o, "custom_id");
    cJSON_AddStringToObject(o, "app", s->ver->app);
    cJSON_AddStringToObject(o, "version", s->ver->name);
    add_str_or_null(o, "deployment_request_id", s->requested_rid);
    cJSON *sel = s->selectors_json ? cJSON_Parse(s->selectors_json) : NULL;
    cJSON_AddItemToObject(o, "selectors", sel ? sel : cJSON_CreateArray());
    add_str_or_null(o, "webhook_url", s->webhook_url);
    return o;
}

cJSON *sim_render_session_context(const sim_session *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "session_id", s->id);
    cJSON_AddNullToObject(o, "custom_id");
    cJSON_AddStringToObject(o, "status", sim_ses_status_name(s->status));
    cJSON_AddBoolToObject(o, "ready", s->status == SES_READY);
    cJSON_AddBoolToObject(o, "linked", s->dep != NULL);
    cJSON_AddStringToObject(o, "kind", sim_kind_name(s->ver->kind));
    cJSON_AddNumberToObject(o, "user_count", (double)s->n_ips);
    add_str_or_null(o, "deployment_request_id", s->dep ? s->dep->request_id : NULL);
    add_str_or_null(o, "webhook_url", s->webhook_url);
    return o;
}

cJSON *sim_render_context(const sim_deployment *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "request_id", d->request_id);
    cJSON_AddStringToObject(o, "public_ip", d->public_ip);
    cJSON_AddStringToObject(o, "fqdn", d->fqdn);
    cJSON_AddStringToObject(o, "status", dep_status_name(d->state));
    cJSON_AddBoolToObject(o, "ready", d->state == DEP_READY);
    cJSON_AddStringToObject(o, "app_name", d->ver->app);
    cJSON_AddStringToObject(o, "app_version", d->ver->name);
    cJSON_AddItemToObject(o, "ports", sim_render_ports(d, true));
    cJSON_AddItemToObject(o, "location", sim_render_location(&d->location));
    cJSON_AddItemToObject(o, "tags", tags_array(d));
    cJSON_AddNumberToObject(o, "sockets", d->sockets);
    cJSON_AddNumberToObject(o, "sockets_usage", d->used);
    cJSON_AddBoolToObject(o, "whitelisting_active", false);
    return o;
}

cJSON *sim_render_status(const sim_deployment *d, long long now_ms)
{
    (void)now_ms;
    cJSON *o = cJSON_CreateObject();
    char when[64];
    struct timespec ts = {.tv_sec = d->start_wall, .tv_nsec = 0};
    format_wall(&ts, when, sizeof when);
    cJSON_AddStringToObject(o, "request_id", d->request_id);
    cJSON_AddStringToObject(o, "fqdn", d->fqdn);
    cJSON_AddStringToObject(o, "app_name", d->ver->app);
    cJSON_AddStringToObject(o, "app_version", d->ver->name);
    cJSON_AddStringToObject(o, "current_status", dep_status_name(d->state));
    cJSON_AddBoolToObject(o, "running", d->state == DEP_READY);
    cJSON_AddBoolToObject(o, "whitelisting_active", false);
    cJSON_AddStringToObject(o, "start_time", when);
    cJSON_AddNullToObject(o, "removal_time");
    long long elapsed = d->state == DEP_READY ? (long long)(time(NULL) - d->start_wall) : 0;
    cJSON_AddNumberToObject(o, "elapsed_time", (double)(elapsed < 0 ? 0 : elapsed));
    cJSON_AddNullToObject(o, "last_status");
    cJSON_AddBoolToObject(o, "error", false);
    cJSON_AddNullToObject(o, "error_detail");
    cJSON_AddItemToObject(o, "ports", sim_render_ports(d, true));
    cJSON_AddStringToObject(o, "public_ip", d->public_ip);
    cJSON_AddItemToObject(o, "location", sim_render_location(&d->location));
    cJSON_AddItemToObject(o, "tags", tags_array(d));
    cJSON_AddNumberToObject(o, "sockets", d->sockets);
    cJSON_AddNumberToObject(o, "sockets_usage", d->used);
    cJSON_AddNullToObject(o, "command");
    cJSON_AddNullToObject(o, "arguments");
    return o;
}

cJSON *sim_render_app_version(const sim_version *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddBoolToObject(o, "is_active", v->active);
    cJSON_AddStringToObject(o, "docker_repository", "registry.edgegap.com");
    cJSON_AddStringToObject(o, "docker_image", v->app);
    cJSON_AddStringToObject(o, "docker_tag", v->name);
    cJSON_AddNumberToObject(o, "req_cpu", 256);
    cJSON_AddNumberToObject(o, "req_memory", 256);
    cJSON_AddNumberToObject(o, "req_video", 0);
    cJSON_AddNumberToObject(o, "max_duration", 60);
    cJSON_AddBoolToObject(o, "use_telemetry", false);
    cJSON_AddBoolToObject(o, "inject_context_env", true);
    cJSON_AddBoolToObject(o, "whitelisting_active", false);
    cJSON_AddBoolToObject(o, "force_cache", false);
    cJSON_AddNumberToObject(o, "time_to_deploy", 15);
    cJSON *sc = cJSON_AddObjectToObject(o, "session_config");
    cJSON_AddStringToObject(sc, "kind", sim_kind_name(v->kind));
    cJSON_AddNumberToObject(sc, "sockets", v->sockets);
    cJSON_AddBoolToObject(sc, "autodeploy", v->autodeploy);
    cJSON_AddNumberToObject(sc, "empty_ttl", v->empty_ttl);
    cJSON_AddNumberToObject(sc, "session_max_duration", 60);
    cJSON *ports = cJSON_AddArrayToObject(o, "ports");
    for (size_t i = 0; i < v->tmpl.n_ports; i++) {
        const sim_port *p = &v->tmpl.ports[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "port", p->internal);
        cJSON_AddStringToObject(e, "protocol", p->protocol);
        cJSON_AddBoolToObject(e, "to_check", false);
        cJSON_AddBoolToObject(e, "tls_upgrade", p->tls_upgrade);
        cJSON_AddStringToObject(e, "name", p->name);
        cJSON_AddItemToArray(ports, e);
    }
    cJSON_AddArrayToObject(o, "envs");
    cJSON_AddStringToObject(o, "create_time", "2024-01-01 00:00:00.000000");
    cJSON_AddStringToObject(o, "last_updated", "2024-01-01 00:00:00.000000");
    return o;
}

/* ---- ARBITRIUM_* environment --------------------------------------------------------- */

typedef struct strbuf {
    char *p;
    size_t len, cap;
    bool failed;
} strbuf;

static void sb_add(strbuf *b, const char *key, const char *value)
{
    size_t need = strlen(key) + strlen(value) + 2;
    if (b->failed) return;
    if (b->len + need + 1 > b->cap) {
        size_t cap = (b->cap + need + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    b->len += (size_t)sprintf(b->p + b->len, "%s=%s\n", key, value);
}

static void sb_add_json(strbuf *b, const char *key, cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) {
        b->failed = true;
        return;
    }
    sb_add(b, key, s);
    free(s);
}

char *sim_render_env(const sim_deployment *d, const char *public_url)
{
    strbuf b = {0};
    char v[512];
    sb_add(&b, "ARBITRIUM_REQUEST_ID", d->request_id);
    sb_add(&b, "ARBITRIUM_PUBLIC_IP", d->public_ip);
    cJSON *pm = cJSON_CreateObject();
    cJSON_AddItemToObject(pm, "ports", sim_render_ports(d, false));
    sb_add_json(&b, "ARBITRIUM_PORTS_MAPPING", pm);
    for (size_t i = 0; i < d->n_ports; i++) {
        char up[40], key[80];
        size_t n = 0;
        for (const char *c = d->ports[i].name; *c && n + 1 < sizeof up; c++)
            up[n++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
        up[n] = '\0';
        snprintf(key, sizeof key, "ARBITRIUM_PORT_%s_INTERNAL", up);
        snprintf(v, sizeof v, "%d", d->ports[i].internal);
        sb_add(&b, key, v);
        snprintf(key, sizeof key, "ARBITRIUM_PORT_%s_EXTERNAL", up);
        snprintf(v, sizeof v, "%d", d->ports[i].external);
        sb_add(&b, key, v);
        snprintf(key, sizeof key, "ARBITRIUM_PORT_%s_PROTOCOL", up);
        sb_add(&b, key, d->ports[i].protocol);
    }
    sb_add_json(&b, "ARBITRIUM_DEPLOYMENT_LOCATION", sim_render_location(&d->location));
    snprintf(v, sizeof v, "%s/v1/context/%s/%d", public_url, d->request_id, d->security_number);
    sb_add(&b, "ARBITRIUM_CONTEXT_URL", v);
    sb_add(&b, "ARBITRIUM_CONTEXT_TOKEN", d->context_token);
    snprintf(v, sizeof v, "%s/v1/self/stop/%s/%d", public_url, d->request_id, d->access_point);
    sb_add(&b, "ARBITRIUM_DELETE_URL", v);
    sb_add(&b, "ARBITRIUM_DELETE_TOKEN", d->delete_token);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
