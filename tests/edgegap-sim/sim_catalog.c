/* Apps, versions and deployment specs: the built-in defaults or a JSON config file.
 * The format is documented in docs/edgegap-sim.md; unknown keys are errors so that a typo
 * does not silently fall back to a default. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/addr.h"
#include "sim.h"

#define CONFIG_MAX (1u << 20)

static void default_location(sim_location *l)
{
    snprintf(l->city, sizeof l->city, "Montreal");
    snprintf(l->country, sizeof l->country, "Canada");
    snprintf(l->continent, sizeof l->continent, "North America");
    snprintf(l->division, sizeof l->division, "Quebec");
    snprintf(l->timezone, sizeof l->timezone, "America/Toronto");
    l->latitude = 45.5088;
    l->longitude = -73.5617;
}

static void default_template(sim_deploy_spec *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->public_ip, sizeof t->public_ip, "127.0.0.1");
    snprintf(t->fqdn, sizeof t->fqdn, "{request_id}.pr.edgegap.net");
    t->n_ports = 1;
    snprintf(t->ports[0].name, sizeof t->ports[0].name, "game");
    t->ports[0].internal = 7777;
    snprintf(t->ports[0].protocol, sizeof t->ports[0].protocol, "UDP");
    default_location(&t->location);
}

static void default_version(sim_version *v, const char *app, const char *name)
{
    memset(v, 0, sizeof *v);
    snprintf(v->app, sizeof v->app, "%s", app);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->app_active = v->active = true;
    v->kind = SIM_KIND_SEAT;
    v->sockets = 32;
    v->empty_ttl = 60;
    default_template(&v->tmpl);
}

sg_status sim_catalog_default(sim_catalog *out)
{
    memset(out, 0, sizeof *out);
    out->versions = calloc(1, sizeof *out->versions);
    if (!out->versions) return SG_E_NOMEM;
    sim_version *v = &out->versions[0];
    default_version(v, "demo", "v1");
    v->id = 1;
    v->statics = calloc(1, sizeof *v->statics);
    if (!v->statics) {
        sim_catalog_free(out);
        return SG_E_NOMEM;
    }
    v->n_statics = 1;
    v->statics[0] = v->tmpl;
    snprintf(v->statics[0].request_id, sizeof v->statics[0].request_id, "5a1d0c0ffee1");
    v->statics[0].ports[0].external = 7777;
    out->n = 1;
    return SG_OK;
}

void sim_catalog_free(sim_catalog *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->versions[i].statics);
        free(c->versions[i].regions);
    }
    free(c->ip_locations);
    free(c->versions);
    memset(c, 0, sizeof *c);
}

const sim_version *sim_catalog_find(const sim_catalog *c, const char *app, const char *name)
{
    const sim_version *last = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const sim_version *v = &c->versions[i];
        if (strcmp(v->app, app) != 0) continue;
        if (name && strcmp(v->name, name) == 0) return v;
        last = v;
    }
    return name ? NULL : last;
}

/* ---- JSON config ------------------------------------------------------------------------ */

/* Builds a field path for error messages ("apps[0].versions[2].ports"); long ones are cut. */
static void path_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void path_fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

static sg_status only_keys(const cJSON *obj, const char *path, const char *const *keys)
{
    if (!cJSON_IsObject(obj)) return sg_fail(SG_E_INVALID, "%s must be an object", path);
    const cJSON *e;
    cJSON_ArrayForEach(e, obj)
    {
        bool known = false;
        for (const char *const *k = keys; *k; k++)
            if (e->string && strcmp(e->string, *k) == 0) known = true;
        if (!known)
            return sg_fail(SG_E_INVALID, "%s: unknown key \"%.40s\"", path,
                           e->string ? e->string : "");
    }
    return SG_OK;
}

static sg_status get_str(const cJSON *obj, const char *path, const char *key, char *dst,
                         size_t size, bool required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return required ? sg_fail(SG_E_INVALID, "%s.%s is required", path, key) : SG_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= size)
        return sg_fail(SG_E_INVALID, "%s.%s must be a string of 1 to %zu characters", path, key,
                       size - 1);
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return SG_OK;
}

static sg_status get_int(const cJSON *obj, const char *path, const char *key, long long min,
                         long long max, long long *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return SG_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble < (double)min || v->valuedouble > (double)max)
        return sg_fail(SG_E_INVALID, "%s.%s must be an integer from %lld to %lld", path, key, min,
                       max);
    *dst = (long long)v->valuedouble;
    return SG_OK;
}

static sg_status get_bool(const cJSON *obj, const char *path, const char *key, bool *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return SG_OK;
    if (!cJSON_IsBool(v)) return sg_fail(SG_E_INVALID, "%s.%s must be true or false", path, key);
    *dst = cJSON_IsTrue(v);
    return SG_OK;
}

static sg_status get_double(const cJSON *obj, const char *path, const char *key, double limit,
                            double *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return SG_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < -limit || v->valuedouble > limit)
        return sg_fail(SG_E_INVALID, "%s.%s must be a number within +-%g", path, key, limit);
    *dst = v->valuedouble;
    return SG_OK;
}

static sg_status parse_location(const cJSON *obj, const char *path, sim_location *l)
{
    static const char *const keys[] = {
        "city",     "country",  "continent", "administrative_division",
        "timezone", "latitude", "longitude", NULL};
    sg_status st = only_keys(obj, path, keys);
    if (!st) st = get_str(obj, path, "city", l->city, sizeof l->city, false);
    if (!st) st = get_str(obj, path, "country", l->country, sizeof l->country, false);
    if (!st) st = get_str(obj, path, "continent", l->continent, sizeof l->continent, false);
    if (!st)
        st = get_str(obj, path, "administrative_division", l->division, sizeof l->division, false);
    if (!st) st = get_str(obj, path, "timezone", l->timezone, sizeof l->timezone, false);
    if (!st) st = get_double(obj, path, "latitude", 90, &l->latitude);
    if (!st) st = get_double(obj, path, "longitude", 180, &l->longitude);
    return st;
}

static sg_status parse_ports(const cJSON *arr, const char *path, sim_deploy_spec *d)
{
    static const char *const keys[] = {"name",     "internal",    "external",
                                       "protocol", "tls_upgrade", NULL};
    static const char *const protocols[] = {"UDP", "TCP", "TCP/UDP", "HTTP", "HTTPS", "WS", "WSS"};
    if (!cJSON_IsArray(arr)) return sg_fail(SG_E_INVALID, "%s must be an array", path);
    int n = cJSON_GetArraySize(arr);
    if (n < 1 || n > SIM_MAX_PORTS)
        return sg_fail(SG_E_INVALID, "%s must hold 1 to %d ports", path, SIM_MAX_PORTS);
    d->n_ports = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetArrayItem(arr, i);
        char ppath[160];
        path_fmt(ppath, sizeof ppath, "%s[%d]", path, i);
        sim_port *port = &d->ports[d->n_ports];
        memset(port, 0, sizeof *port);
        long long internal = 0, external = 0;
        sg_status st = only_keys(p, ppath, keys);
        if (!st) st = get_str(p, ppath, "name", port->name, sizeof port->name, true);
        if (!st) st = get_int(p, ppath, "internal", 1, 65535, &internal);
        if (!st) st = get_int(p, ppath, "external", 0, 65535, &external);
        if (!st) st = get_str(p, ppath, "protocol", port->protocol, sizeof port->protocol, false);
        if (!st) st = get_bool(p, ppath, "tls_upgrade", &port->tls_upgrade);
        if (st) return st;
        if (!internal) return sg_fail(SG_E_INVALID, "%s.internal is required", ppath);
        if (!port->protocol[0]) snprintf(port->protocol, sizeof port->protocol, "UDP");
        bool known = false;
        for (size_t k = 0; k < sizeof protocols / sizeof *protocols; k++)
            if (strcmp(port->protocol, protocols[k]) == 0) known = true;
        if (!known) return sg_fail(SG_E_INVALID, "%s.protocol is not a known protocol", ppath);
        for (size_t k = 0; k < d->n_ports; k++)
            if (strcmp(d->ports[k].name, port->name) == 0)
                return sg_fail(SG_E_INVALID, "%s.name repeats \"%s\"", ppath, port->name);
        port->internal = (int)internal;
        port->external = (int)external;
        d->n_ports++;
    }
    return SG_OK;
}

static bool valid_rid(const char *s)
{
    if (strlen(s) != SIM_RID_LEN) return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f')) return false;
    return true;
}

static sg_status parse_spec(const cJSON *obj, const char *path, bool is_static, sim_deploy_spec *d)
{
    static const char *const tkeys[] = {"public_ip", "fqdn", "ports", "location", "tags", NULL};
    static const char *const skeys[] = {
        "request_id",     "public_ip",     "fqdn",         "ports",           "location", "tags",
        "start_delay_ms", "context_token", "delete_token", "security_number", NULL};
    sg_status st = only_keys(obj, path, is_static ? skeys : tkeys);
    if (!st) st = get_str(obj, path, "public_ip", d->public_ip, sizeof d->public_ip, false);
    if (!st) st = get_str(obj, path, "fqdn", d->fqdn, sizeof d->fqdn, false);
    if (st) return st;
    sg_addr a;
    if (sg_addr_parse(d->public_ip, SG_PORT_FORBIDDEN, &a) != SG_OK)
        return sg_fail(SG_E_INVALID, "%s.public_ip must be an IP address", path);
    char sub[160];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "ports");
    if (v) {
        path_fmt(sub, sizeof sub, "%s.ports", path);
        if ((st = parse_ports(v, sub, d))) return st;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "location"))) {
        path_fmt(sub, sizeof sub, "%s.location", path);
        if ((st = parse_location(v, sub, &d->location))) return st;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "tags"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SIM_MAX_TAGS)
            return sg_fail(SG_E_INVALID, "%s.tags must be an array of at most %d strings", path,
                           SIM_MAX_TAGS);
        d->n_tags = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, v)
        {
            if (!cJSON_IsString(t) || strlen(t->valuestring) >= sizeof d->tags[0])
                return sg_fail(SG_E_INVALID, "%s.tags entries must be short strings", path);
            snprintf(d->tags[d->n_tags++], sizeof d->tags[0], "%s", t->valuestring);
        }
    }
    if (!is_static) return SG_OK;
    if ((st = get_str(obj, path, "request_id", d->request_id, sizeof d->request_id, false)))
        return st;
    if (d->request_id[0] && !valid_rid(d->request_id))
        return sg_fail(SG_E_INVALID, "%s.request_id must be 12 lower-case hex characters", path);
    long long num = d->start_delay_ms;
    if ((st = get_int(obj, path, "start_delay_ms", -1, 86400000, &num))) return st;
    d->start_delay_ms = num;
    num = 0;
    if ((st = get_int(obj, path, "security_number", 1, 99999, &num))) return st;
    d->security_number = (int)num;
    if (!st)
        st = get_str(obj, path, "context_token", d->context_token, sizeof d->context_token, false);
    if (!st)
        st = get_str(obj, path, "delete_token", d->delete_token, sizeof d->delete_token, false);
    if (!st) {
        for (size_t i = 0; i < d->n_ports; i++)
            if (!d->ports[i].external)
                return sg_fail(SG_E_INVALID, "%s.ports[%zu].external is required", path, i);
    }
    return st;
}

static sg_status parse_session_config(const cJSON *obj, const char *path, sim_version *v)
{
    static const char *const keys[] = {
        "kind", "sockets", "autodeploy", "empty_ttl", "session_max_duration", NULL};
    sg_status st = only_keys(obj, path, keys);
    if (st) return st;
    char kind[16] = "";
    if ((st = get_str(obj, path, "kind", kind, sizeof kind, false))) return st;
    if (kind[0]) {
        if (strcmp(kind, "Seat") == 0)
            v->kind = SIM_KIND_SEAT;
        else if (strcmp(kind, "Match") == 0)
            v->kind = SIM_KIND_MATCH;
        else if (strcmp(kind, "Default") == 0)
            v->kind = SIM_KIND_DEFAULT;
        else
            return sg_fail(SG_E_INVALID, "%s.kind must be Default, Seat or Match", path);
    }
    long long n = v->sockets;
    if ((st = get_int(obj, path, "sockets", 1, 100000, &n))) return st;
    v->sockets = (int)n;
    n = v->empty_ttl;
    if ((st = get_int(obj, path, "empty_ttl", 0, 100000, &n))) return st;
    v->empty_ttl = (int)n;
    n = 0;
    if ((st = get_int(obj, path, "session_max_duration", 0, 100000, &n))) return st;
    return get_bool(obj, path, "autodeploy", &v->autodeploy);
}

static sg_status parse_version(const cJSON *obj, const char *path, const char *app, bool app_active,
                               int id, sim_version *v)
{
    static const char *const keys[] = {"name",
                                       "is_active",
                                       "session_config",
                                       "deployment_start_delay_ms",
                                       "session_link_delay_ms",
                                       "template",
                                       "deployments",
                                       "regions",
                                       "link_within_ms",
                                       NULL};
    default_version(v, app, "");
    v->id = id;
    v->app_active = app_active;
    sg_status st = only_keys(obj, path, keys);
    if (!st) st = get_str(obj, path, "name", v->name, sizeof v->name, true);
    if (!st) st = get_bool(obj, path, "is_active", &v->active);
    if (st) return st;
    char sub[160];
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(obj, "session_config");
    if (sc) {
        path_fmt(sub, sizeof sub, "%s.session_config", path);
        if ((st = parse_session_config(sc, sub, v))) return st;
    }
    long long n = 0;
    if ((st = get_int(obj, path, "deployment_start_delay_ms", -1, 86400000, &n))) return st;
    v->tmpl.start_delay_ms = n;
    n = 0;
    if ((st = get_int(obj, path, "session_link_delay_ms", 0, 86400000, &n))) return st;
    v->link_delay_ms = n;
    n = 0;
    if ((st = get_int(obj, path, "link_within_ms", 0, 100000, &n))) return st;
    v->link_within_ms = (double)n;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "template");
    if (t) {
        path_fmt(sub, sizeof sub, "%s.template", path);
        if ((st = parse_spec(t, sub, false, &v->tmpl))) return st;
    }
    const cJSON *regions = cJSON_GetObjectItemCaseSensitive(obj, "regions");
    if (regions) {
        /* [{"location": {...}, ...template fields}]: the template, moved there */
        if (!cJSON_IsArray(regions) || cJSON_GetArraySize(regions) > 64)
            return sg_fail(SG_E_INVALID, "%s.regions must be an array (at most 64)", path);
        int nr = cJSON_GetArraySize(regions);
        if (!(v->regions = calloc((size_t)nr + 1, sizeof *v->regions))) return SG_E_NOMEM;
        for (int i = 0; i < nr; i++) {
            path_fmt(sub, sizeof sub, "%s.regions[%d]", path, i);
            const cJSON *r = cJSON_GetArrayItem(regions, i);
            if (!cJSON_GetObjectItemCaseSensitive(r, "location"))
                return sg_fail(SG_E_INVALID, "%s.location is required", sub);
            sim_deploy_spec *d = &v->regions[i];
            *d = v->tmpl;
            v->n_regions++;
            if ((st = parse_spec(r, sub, false, d))) return st;
        }
    }
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(obj, "deployments");
    if (!deps) return SG_OK;
    if (!cJSON_IsArray(deps) || cJSON_GetArraySize(deps) > 1000)
        return sg_fail(SG_E_INVALID, "%s.deployments must be an array (at most 1000)", path);
    int nd = cJSON_GetArraySize(deps);
    v->statics = calloc((size_t)nd + 1, sizeof *v->statics);
    if (!v->statics) return SG_E_NOMEM;
    for (int i = 0; i < nd; i++) {
        path_fmt(sub, sizeof sub, "%s.deployments[%d]", path, i);
        sim_deploy_spec *d = &v->statics[i];
        *d = v->tmpl;
        d->start_delay_ms = 0;
        v->n_statics++;
        if ((st = parse_spec(cJSON_GetArrayItem(deps, i), sub, true, d))) return st;
    }
    return SG_OK;
}

sg_status sim_catalog_parse(const char *text, size_t len, sim_catalog *out)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) return sg_fail(SG_E_MALFORMED, "the config is not valid JSON");
    static const char *const rkeys[] = {"apps", "ip_locations", NULL};
    static const char *const akeys[] = {"name", "is_active", "versions", NULL};
    sg_status st = only_keys(root, "config", rkeys);
    const cJSON *apps = cJSON_GetObjectItemCaseSensitive(root, "apps");
    if (!st && (!cJSON_IsArray(apps) || cJSON_GetArraySize(apps) < 1))
        st = sg_fail(SG_E_INVALID, "config.apps must be a non-empty array");
    size_t total = 0;
    const cJSON *a;
    if (!st) {
        cJSON_ArrayForEach(a, apps)
        {
            const cJSON *vs = cJSON_GetObjectItemCaseSensitive(a, "versions");
            total += cJSON_IsArray(vs) ? (size_t)cJSON_GetArraySize(vs) : 0;
        }
        if (total > 1000) st = sg_fail(SG_E_INVALID, "config: at most 1000 versions");
    }
    if (!st && !(out->versions = calloc(total + 1, sizeof *out->versions))) st = SG_E_NOMEM;
    int ai = 0;
    if (!st) {
        cJSON_ArrayForEach(a, apps)
        {
            char path[160], app[SIM_NAME_MAX] = "";
            bool active = true;
            path_fmt(path, sizeof path, "apps[%d]", ai++);
            if ((st = only_keys(a, path, akeys))) break;
            if ((st = get_str(a, path, "name", app, sizeof app, true))) break;
            if ((st = get_bool(a, path, "is_active", &active))) break;
            const cJSON *vs = cJSON_GetObjectItemCaseSensitive(a, "versions");
            if (!cJSON_IsArray(vs) || cJSON_GetArraySize(vs) < 1) {
                st = sg_fail(SG_E_INVALID, "%s.versions must be a non-empty array", path);
                break;
            }
            int vi = 0;
            const cJSON *vj;
            cJSON_ArrayForEach(vj, vs)
            {
                char vpath[200];
                path_fmt(vpath, sizeof vpath, "%s.versions[%d]", path, vi++);
                sim_version *v = &out->versions[out->n++];
                if ((st = parse_version(vj, vpath, app, active, (int)out->n, v))) break;
                for (size_t k = 0; k + 1 < out->n; k++)
                    if (!strcmp(out->versions[k].app, v->app) &&
                        !strcmp(out->versions[k].name, v->name))
                        st = sg_fail(SG_E_INVALID, "%s: version %s of %s is listed twice", vpath,
                                     v->name, v->app);
                if (st) break;
            }
            if (st) break;
        }
    }
    const cJSON *ipl = st ? NULL : cJSON_GetObjectItemCaseSensitive(root, "ip_locations");
    if (ipl) {
        /* [{"cidr": "203.0.113.0/24", "name": "Montreal", "latitude": .., "longitude": ..}] */
        if (!cJSON_IsArray(ipl) || cJSON_GetArraySize(ipl) > 1000)
            st = sg_fail(SG_E_INVALID, "config.ip_locations must be an array (at most 1000)");
        else if (!(out->ip_locations = calloc((size_t)cJSON_GetArraySize(ipl) + 1,
                                              sizeof *out->ip_locations)))
            st = SG_E_NOMEM;
        static const char *const lkeys[] = {"cidr", "name", "latitude", "longitude", NULL};
        int li = 0;
        const cJSON *l;
        const cJSON *list = st ? NULL : ipl;
        cJSON_ArrayForEach(l, list)
        {
            char path[96], cidr[64] = "";
            path_fmt(path, sizeof path, "ip_locations[%d]", li++);
            sim_ip_location *e = &out->ip_locations[out->n_ip_locations];
            if ((st = only_keys(l, path, lkeys))) break;
            if ((st = get_str(l, path, "cidr", cidr, sizeof cidr, true))) break;
            if (sg_cidr_parse(cidr, &e->cidr) != SG_OK) {
                st = sg_fail(SG_E_INVALID, "%s.cidr: %s", path, sg_last_error());
                break;
            }
            if ((st = get_str(l, path, "name", e->name, sizeof e->name, false))) break;
            if ((st = get_double(l, path, "latitude", 90, &e->latitude))) break;
            if ((st = get_double(l, path, "longitude", 180, &e->longitude))) break;
            if (!cJSON_GetObjectItemCaseSensitive(l, "latitude") ||
                !cJSON_GetObjectItemCaseSensitive(l, "longitude")) {
                st = sg_fail(SG_E_INVALID, "%s: latitude and longitude are required", path);
                break;
            }
            out->n_ip_locations++;
        }
    }
    /* Static request ids must be unique across the catalog. */
    for (size_t i = 0; !st && i < out->n; i++)
        for (size_t j = 0; !st && j < out->versions[i].n_statics; j++) {
            const char *rid = out->versions[i].statics[j].request_id;
            if (!rid[0]) continue;
            for (size_t k = 0; !st && k < out->n; k++)
                for (size_t m = 0; !st && m < out->versions[k].n_statics; m++)
                    if ((k != i || m != j) && !strcmp(rid, out->versions[k].statics[m].request_id))
                        st = sg_fail(SG_E_INVALID, "deployment request_id %s is used twice", rid);
        }
    cJSON_Delete(root);
    if (st) sim_catalog_free(out);
    return st;
}

sg_status sim_catalog_load(const char *path, sim_catalog *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return sg_fail(SG_E_IO, "cannot open %s: %s", path, strerror(errno));
    char *buf = malloc(CONFIG_MAX + 1);
    if (!buf) {
        fclose(f);
        return SG_E_NOMEM;
    }
    size_t n = fread(buf, 1, CONFIG_MAX + 1, f);
    bool err = ferror(f);
    fclose(f);
    sg_status st;
    if (err)
        st = sg_fail(SG_E_IO, "cannot read %s", path);
    else if (n > CONFIG_MAX)
        st = sg_fail(SG_E_TOO_LARGE, "%s is larger than 1 MiB", path);
    else {
        st = sim_catalog_parse(buf, n, out);
        if (st) {
            char why[256];
            snprintf(why, sizeof why, "%s", sg_last_error());
            st = sg_fail(st, "%s: %s", path, why);
        }
    }
    free(buf);
    return st;
}
