/* Parsers of Edgegap answer bodies. Untrusted input: every field is type-checked, numbers are
 * range-checked, and strings point into the cJSON tree kept alive by the parsed object. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "seatgate/addr.h"
#include "seatgate/edgegap.h"

static const char empty[] = "";

/* Owns the cJSON tree and the arrays of one parsed object. */
typedef struct holder {
    cJSON *root;
    void *allocs[8];
    int nalloc;
} holder;

static void holder_free(holder *h)
{
    if (!h) return;
    for (int i = 0; i < h->nalloc; i++)
        free(h->allocs[i]);
    cJSON_Delete(h->root);
    free(h);
}

static void *holder_calloc(holder *h, size_t n, size_t size)
{
    if (h->nalloc == (int)(sizeof h->allocs / sizeof h->allocs[0])) return NULL;
    void *p = calloc(n ? n : 1, size);
    if (p) h->allocs[h->nalloc++] = p;
    return p;
}

/* Parses a whole body that must be one JSON object (trailing whitespace allowed). */
static sg_status parse_root(const char *body, size_t len, const char *what, holder **out)
{
    *out = NULL;
    if (!body || len == 0) return sg_fail(SG_E_MALFORMED, "%s: empty body", what);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) return sg_fail(SG_E_MALFORMED, "%s: body is not valid JSON", what);
    for (const char *p = end; p && p < body + len; p++) {
        if (!isspace((unsigned char)*p)) {
            cJSON_Delete(root);
            return sg_fail(SG_E_MALFORMED, "%s: trailing data after the JSON value", what);
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sg_fail(SG_E_MALFORMED, "%s: body is not a JSON object", what);
    }
    holder *h = calloc(1, sizeof *h);
    if (!h) {
        cJSON_Delete(root);
        return sg_fail(SG_E_NOMEM, "%s: out of memory", what);
    }
    h->root = root;
    *out = h;
    return SG_OK;
}

/* Field readers. A null value counts as absent. `where` names the enclosing object. */
static const cJSON *field(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(it) ? NULL : it;
}

static sg_status get_str(const cJSON *obj, const char *where, const char *key, bool required,
                         const char **out)
{
    const cJSON *it = field(obj, key);
    *out = empty;
    if (!it) {
        if (required) return sg_fail(SG_E_MALFORMED, "%s: missing required field %s", where, key);
        return SG_OK;
    }
    if (!cJSON_IsString(it) || !it->valuestring)
        return sg_fail(SG_E_MALFORMED, "%s: field %s is not a string", where, key);
    if (required && !it->valuestring[0])
        return sg_fail(SG_E_MALFORMED, "%s: field %s is empty", where, key);
    *out = it->valuestring;
    return SG_OK;
}

static sg_status get_bool(const cJSON *obj, const char *where, const char *key, bool def, bool *out)
{
    const cJSON *it = field(obj, key);
    *out = def;
    if (!it) return SG_OK;
    if (!cJSON_IsBool(it))
        return sg_fail(SG_E_MALFORMED, "%s: field %s is not a boolean", where, key);
    *out = cJSON_IsTrue(it);
    return SG_OK;
}

static sg_status get_ll(const cJSON *obj, const char *where, const char *key, long long lo,
                        long long hi, long long def, long long *out)
{
    const cJSON *it = field(obj, key);
    *out = def;
    if (!it) return SG_OK;
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it) || !isfinite(d))
        return sg_fail(SG_E_MALFORMED, "%s: field %s is not an integer", where, key);
    if (d < (double)lo || d > (double)hi)
        return sg_fail(SG_E_MALFORMED, "%s: field %s is out of range", where, key);
    if ((double)(long long)d != d)
        return sg_fail(SG_E_MALFORMED, "%s: field %s is not an integer", where, key);
    *out = (long long)d;
    return SG_OK;
}

static sg_status get_int(const cJSON *obj, const char *where, const char *key, long long lo,
                         long long hi, int *out)
{
    long long v;
    sg_status st = get_ll(obj, where, key, lo, hi, -1, &v);
    *out = (int)v;
    return st;
}

static sg_status get_double(const cJSON *obj, const char *where, const char *key, double *out,
                            bool *present)
{
    const cJSON *it = field(obj, key);
    *out = 0;
    *present = false;
    if (!it) return SG_OK;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return sg_fail(SG_E_MALFORMED, "%s: field %s is not a number", where, key);
    *out = it->valuedouble;
    *present = true;
    return SG_OK;
}

/* Returns the child object `key` (NULL when absent or null); fails on another type. */
static sg_status get_obj(const cJSON *obj, const char *where, const char *key, const cJSON **out)
{
    const cJSON *it = field(obj, key);
    *out = NULL;
    if (!it) return SG_OK;
    if (!cJSON_IsObject(it))
        return sg_fail(SG_E_MALFORMED, "%s: field %s is not an object", where, key);
    *out = it;
    return SG_OK;
}

static sg_status get_array(const cJSON *obj, const char *where, const char *key, const cJSON **out)
{
    const cJSON *it = field(obj, key);
    *out = NULL;
    if (!it) return SG_OK;
    if (!cJSON_IsArray(it))
        return sg_fail(SG_E_MALFORMED, "%s: field %s is not an array", where, key);
    *out = it;
    return SG_OK;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        sg_status st_ = (expr);                                                                    \
        if (st_ != SG_OK) return st_;                                                              \
    } while (0)

static sg_status parse_location(const cJSON *parent, const char *where, sg_edgegap_location *loc)
{
    const cJSON *o;
    memset(loc, 0, sizeof *loc);
    loc->city = loc->country = loc->continent = loc->administrative_division = loc->timezone =
        empty;
    TRY(get_obj(parent, where, "location", &o));
    if (!o) return SG_OK;
    const char *w = "location";
    bool has_lat, has_lon;
    TRY(get_str(o, w, "city", false, &loc->city));
    TRY(get_str(o, w, "country", false, &loc->country));
    TRY(get_str(o, w, "continent", false, &loc->continent));
    TRY(get_str(o, w, "administrative_division", false, &loc->administrative_division));
    TRY(get_str(o, w, "timezone", false, &loc->timezone));
    TRY(get_double(o, w, "latitude", &loc->latitude, &has_lat));
    TRY(get_double(o, w, "longitude", &loc->longitude, &has_lon));
    loc->has_coordinates = has_lat && has_lon;
    return SG_OK;
}

static sg_status parse_ports(holder *h, const cJSON *parent, sg_edgegap_port **out, size_t *count)
{
    const cJSON *o;
    *out = NULL;
    *count = 0;
    TRY(get_obj(parent, "deployment", "ports", &o));
    if (!o) return SG_OK;
    size_t n = (size_t)cJSON_GetArraySize(o);
    sg_edgegap_port *ports = holder_calloc(h, n, sizeof *ports);
    if (!ports) return sg_fail(SG_E_NOMEM, "ports: out of memory");
    size_t i = 0;
    for (const cJSON *p = o->child; p; p = p->next, i++) {
        sg_edgegap_port *pt = &ports[i];
        pt->key = p->string ? p->string : empty;
        if (!cJSON_IsObject(p)) return sg_fail(SG_E_MALFORMED, "ports: entry is not an object");
        TRY(get_str(p, "ports", "name", false, &pt->name));
        if (!pt->name[0]) pt->name = pt->key;
        TRY(get_int(p, "ports", "external", 0, 65535, &pt->external));
        TRY(get_int(p, "ports", "internal", 0, 65535, &pt->internal));
        TRY(get_str(p, "ports", "protocol", false, &pt->protocol));
        TRY(get_str(p, "ports", "link", false, &pt->link));
        TRY(get_bool(p, "ports", "tls_upgrade", false, &pt->tls_upgrade));
    }
    *out = ports;
    *count = n;
    return SG_OK;
}

static sg_status parse_tags(holder *h, const cJSON *parent, const char ***out, size_t *count)
{
    const cJSON *a;
    *out = NULL;
    *count = 0;
    TRY(get_array(parent, "deployment", "tags", &a));
    if (!a) return SG_OK;
    size_t n = (size_t)cJSON_GetArraySize(a);
    const char **tags = holder_calloc(h, n, sizeof *tags);
    if (!tags) return sg_fail(SG_E_NOMEM, "tags: out of memory");
    size_t i = 0;
    for (const cJSON *t = a->child; t; t = t->next, i++) {
        if (!cJSON_IsString(t) || !t->valuestring)
            return sg_fail(SG_E_MALFORMED, "tags: entry is not a string");
        tags[i] = t->valuestring;
    }
    *out = tags;
    *count = n;
    return SG_OK;
}

static sg_status parse_ips(holder *h, const cJSON *parent, const char *key,
                           sg_edgegap_session_ip **out, size_t *count)
{
    const cJSON *a;
    *out = NULL;
    *count = 0;
    TRY(get_array(parent, "session", key, &a));
    if (!a) return SG_OK;
    size_t n = (size_t)cJSON_GetArraySize(a);
    sg_edgegap_session_ip *ips = holder_calloc(h, n, sizeof *ips);
    if (!ips) return sg_fail(SG_E_NOMEM, "%s: out of memory", key);
    size_t i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsObject(e)) return sg_fail(SG_E_MALFORMED, "%s: entry is not an object", key);
        bool has_lat, has_lon;
        TRY(get_str(e, key, "ip", true, &ips[i].ip));
        TRY(get_double(e, key, "latitude", &ips[i].latitude, &has_lat));
        TRY(get_double(e, key, "longitude", &ips[i].longitude, &has_lon));
        ips[i].has_coordinates = has_lat && has_lon;
    }
    *out = ips;
    *count = n;
    return SG_OK;
}

static sg_status parse_deployment(holder *h, const cJSON *session, sg_edgegap_deployment *d)
{
    const cJSON *o;
    const char *w = "deployment";
    memset(d, 0, sizeof *d);
    d->request_id = d->public_ip = d->fqdn = d->status = empty;
    d->sockets = d->sockets_usage = -1;
    TRY(parse_location(NULL, w, &d->location)); /* fills the empty defaults */
    TRY(get_obj(session, "session", "deployment", &o));
    if (!o) return SG_OK;
    d->present = true;
    TRY(get_str(o, w, "request_id", false, &d->request_id));
    TRY(get_str(o, w, "public_ip", false, &d->public_ip));
    TRY(get_str(o, w, "fqdn", false, &d->fqdn));
    TRY(get_str(o, w, "status", false, &d->status));
    TRY(get_bool(o, w, "ready", false, &d->ready));
    TRY(get_bool(o, w, "whitelisting_active", false, &d->whitelisting_active));
    TRY(get_bool(o, w, "is_joinable_by_session", false, &d->is_joinable_by_session));
    TRY(get_int(o, w, "sockets", 0, INT32_MAX, &d->sockets));
    TRY(get_int(o, w, "sockets_usage", 0, INT32_MAX, &d->sockets_usage));
    TRY(parse_location(o, w, &d->location));
    TRY(parse_ports(h, o, &d->ports, &d->port_count));
    TRY(parse_tags(h, o, &d->tags, &d->tag_count));
    return SG_OK;
}

/* ---- states ---- */

sg_edgegap_state sg_edgegap_state_parse(const char *status)
{
    static const struct {
        const char *name;
        sg_edgegap_state st;
    } map[] = {
        {"initializing", SG_EDGEGAP_STATE_INITIALIZING},
        {"seeking", SG_EDGEGAP_STATE_SEEKING},
        {"seeked", SG_EDGEGAP_STATE_SEEKING},
        {"waiting", SG_EDGEGAP_STATE_WAITING},
        {"ready", SG_EDGEGAP_STATE_READY},
        {"error", SG_EDGEGAP_STATE_ERROR},
        {"unprocessable", SG_EDGEGAP_STATE_UNPROCESSABLE},
    };
    if (!status) return SG_EDGEGAP_STATE_UNKNOWN;
    if (strncasecmp(status, "Status.", 7) == 0) status += 7;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(status, map[i].name) == 0) return map[i].st;
    return SG_EDGEGAP_STATE_UNKNOWN;
}

const char *sg_edgegap_state_name(sg_edgegap_state st)
{
    switch (st) {
    case SG_EDGEGAP_STATE_INITIALIZING:
        return "initializing";
    case SG_EDGEGAP_STATE_SEEKING:
        return "seeking";
    case SG_EDGEGAP_STATE_WAITING:
        return "waiting";
    case SG_EDGEGAP_STATE_READY:
        return "ready";
    case SG_EDGEGAP_STATE_ERROR:
        return "error";
    case SG_EDGEGAP_STATE_UNPROCESSABLE:
        return "unprocessable";
    default:
        return "unknown";
    }
}

bool sg_edgegap_state_is_final(sg_edgegap_state st)
{
    return st == SG_EDGEGAP_STATE_READY || st == SG_EDGEGAP_STATE_ERROR ||
           st == SG_EDGEGAP_STATE_UNPROCESSABLE;
}

const sg_edgegap_port *sg_edgegap_find_port(const sg_edgegap_port *ports, size_t count,
                                            const char *name)
{
    if (!ports || !name) return NULL;
    for (size_t i = 0; i < count; i++)
        if (strcmp(ports[i].key, name) == 0) return &ports[i];
    for (size_t i = 0; i < count; i++)
        if (strcmp(ports[i].name, name) == 0) return &ports[i];
    return NULL;
}

/* ---- session ---- */

static sg_status fill_session(holder *h, sg_edgegap_session *s)
{
    const cJSON *o = h->root;
    const char *w = "session";
    TRY(get_str(o, w, "session_id", true, &s->session_id));
    TRY(get_str(o, w, "status", true, &s->status));
    s->state = sg_edgegap_state_parse(s->status);
    TRY(get_str(o, w, "custom_id", false, &s->custom_id));
    TRY(get_bool(o, w, "ready", false, &s->ready));
    TRY(get_bool(o, w, "linked", false, &s->linked));
    TRY(get_str(o, w, "kind", false, &s->kind));
    TRY(get_str(o, w, "error", false, &s->error));
    TRY(get_str(o, w, "create_time", false, &s->create_time));
    TRY(get_str(o, w, "webhook_url", false, &s->webhook_url));
    TRY(get_int(o, w, "user_count", 0, INT32_MAX, &s->user_count));
    TRY(get_ll(o, w, "elapsed", 0, (long long)1 << 52, -1, &s->elapsed));
    /* Informational: anything but a plain integer reads as absent rather than failing. */
    if (get_ll(o, w, "app_version", 0, (long long)1 << 52, -1, &s->app_version) != SG_OK)
        s->app_version = -1;
    TRY(parse_ips(h, o, "session_ips", &s->session_ips, &s->session_ip_count));
    TRY(parse_ips(h, o, "session_users", &s->session_users, &s->session_user_count));
    TRY(parse_deployment(h, o, &s->deployment));
    return SG_OK;
}

sg_status sg_edgegap_parse_session(const char *body, size_t len, sg_edgegap_session **out)
{
    holder *h;
    *out = NULL;
    TRY(parse_root(body, len, "session", &h));
    sg_edgegap_session *s = calloc(1, sizeof *s);
    if (!s) {
        holder_free(h);
        return sg_fail(SG_E_NOMEM, "session: out of memory");
    }
    s->priv_ = h;
    sg_status st = fill_session(h, s);
    if (st != SG_OK) {
        sg_edgegap_session_free(s);
        return st;
    }
    *out = s;
    return SG_OK;
}

void sg_edgegap_session_free(sg_edgegap_session *s)
{
    if (!s) return;
    holder_free(s->priv_);
    free(s);
}

bool sg_edgegap_session_has_ip(const sg_edgegap_session *s, const char *ip)
{
    sg_addr want, have;
    if (!s || !ip || sg_addr_parse(ip, SG_PORT_OPTIONAL, &want) != SG_OK) return false;
    for (size_t i = 0; i < s->session_ip_count; i++) {
        if (sg_addr_parse(s->session_ips[i].ip, SG_PORT_OPTIONAL, &have) != SG_OK) continue;
        if (sg_addr_equal(&want, &have, false)) return true;
    }
    return false;
}

/* ---- create answer ---- */

sg_status sg_edgegap_parse_created(const char *body, size_t len, sg_edgegap_created **out)
{
    holder *h;
    *out = NULL;
    TRY(parse_root(body, len, "session create answer", &h));
    sg_edgegap_created *c = calloc(1, sizeof *c);
    if (!c) {
        holder_free(h);
        return sg_fail(SG_E_NOMEM, "session create answer: out of memory");
    }
    c->priv_ = h;
    const char *w = "session create answer";
    const cJSON *o = h->root;
    sg_status st;
    if ((st = get_str(o, w, "session_id", true, &c->session_id)) != SG_OK ||
        (st = get_str(o, w, "custom_id", false, &c->custom_id)) != SG_OK ||
        (st = get_str(o, w, "app", false, &c->app)) != SG_OK ||
        (st = get_str(o, w, "version", false, &c->version)) != SG_OK ||
        (st = get_str(o, w, "deployment_request_id", false, &c->deployment_request_id)) != SG_OK ||
        (st = get_str(o, w, "webhook_url", false, &c->webhook_url)) != SG_OK) {
        sg_edgegap_created_free(c);
        return st;
    }
    *out = c;
    return SG_OK;
}

void sg_edgegap_created_free(sg_edgegap_created *c)
{
    if (!c) return;
    holder_free(c->priv_);
    free(c);
}

/* ---- session list ---- */

static sg_status fill_list(holder *h, sg_edgegap_session_list *l)
{
    const cJSON *o = h->root, *data, *pag, *pgr;
    const char *w = "session list";
    TRY(get_array(o, w, "data", &data));
    TRY(get_ll(o, w, "total_count", 0, (long long)1 << 52, -1, &l->total_count));
    l->page = l->next_page = l->num_pages = -1;
    TRY(get_obj(o, w, "pagination", &pag));
    if (pag) {
        TRY(get_int(pag, "pagination", "number", 0, INT32_MAX, &l->page));
        TRY(get_int(pag, "pagination", "next_page_number", 0, INT32_MAX, &l->next_page));
        TRY(get_bool(pag, "pagination", "has_next", false, &l->has_next));
        TRY(get_bool(pag, "pagination", "has_previous", false, &l->has_previous));
        TRY(get_obj(pag, "pagination", "paginator", &pgr));
        if (pgr) TRY(get_int(pgr, "paginator", "num_pages", 0, INT32_MAX, &l->num_pages));
    }
    if (!data) return SG_OK;
    size_t n = (size_t)cJSON_GetArraySize(data);
    l->data = holder_calloc(h, n, sizeof *l->data);
    if (!l->data) return sg_fail(SG_E_NOMEM, "session list: out of memory");
    size_t i = 0;
    for (const cJSON *e = data->child; e; e = e->next, i++) {
        sg_edgegap_session_summary *s = &l->data[i];
        const char *we = "session list entry";
        if (!cJSON_IsObject(e)) return sg_fail(SG_E_MALFORMED, "%s is not an object", we);
        TRY(get_str(e, we, "session_id", true, &s->session_id));
        TRY(get_str(e, we, "status", true, &s->status));
        s->state = sg_edgegap_state_parse(s->status);
        TRY(get_str(e, we, "custom_id", false, &s->custom_id));
        TRY(get_bool(e, we, "ready", false, &s->ready));
        TRY(get_bool(e, we, "linked", false, &s->linked));
        TRY(get_str(e, we, "kind", false, &s->kind));
        TRY(get_int(e, we, "user_count", 0, INT32_MAX, &s->user_count));
        TRY(get_str(e, we, "deployment_request_id", false, &s->deployment_request_id));
        TRY(get_str(e, we, "webhook_url", false, &s->webhook_url));
    }
    l->count = n;
    return SG_OK;
}

sg_status sg_edgegap_parse_session_list(const char *body, size_t len, sg_edgegap_session_list **out)
{
    holder *h;
    *out = NULL;
    TRY(parse_root(body, len, "session list", &h));
    sg_edgegap_session_list *l = calloc(1, sizeof *l);
    if (!l) {
        holder_free(h);
        return sg_fail(SG_E_NOMEM, "session list: out of memory");
    }
    l->priv_ = h;
    sg_status st = fill_list(h, l);
    if (st != SG_OK) {
        sg_edgegap_session_list_free(l);
        return st;
    }
    *out = l;
    return SG_OK;
}

void sg_edgegap_session_list_free(sg_edgegap_session_list *l)
{
    if (!l) return;
    holder_free(l->priv_);
    free(l);
}

/* ---- app version ---- */

sg_status sg_edgegap_parse_app_version(const char *body, size_t len, sg_edgegap_app_version **out)
{
    holder *h;
    *out = NULL;
    TRY(parse_root(body, len, "app version", &h));
    sg_edgegap_app_version *v = calloc(1, sizeof *v);
    if (!v) {
        holder_free(h);
        return sg_fail(SG_E_NOMEM, "app version: out of memory");
    }
    v->priv_ = h;
    const cJSON *o = h->root, *inner = NULL;
    /* The create/update answers wrap the version as {"version": {...}}; accept both. */
    sg_status st = SG_OK;
    if (!field(o, "name")) st = get_obj(o, "app version", "version", &inner);
    if (st == SG_OK && inner) o = inner;
    if (st == SG_OK) st = get_str(o, "app version", "name", true, &v->name);
    if (st == SG_OK) st = get_bool(o, "app version", "is_active", true, &v->is_active);
    const cJSON *ports = NULL;
    if (st == SG_OK) st = get_array(o, "app version", "ports", &ports);
    const cJSON *p;
    cJSON_ArrayForEach(p, ports)
    {
        if (st != SG_OK || v->port_count == SG_EDGEGAP_MAX_VERSION_PORTS) break;
        const char *pname = empty;
        if (!cJSON_IsObject(p)) {
            st = sg_fail(SG_E_MALFORMED, "app version: an entry of ports is not an object");
            break;
        }
        st = get_str(p, "app version port", "name", false, &pname);
        if (st == SG_OK && *pname) v->port_names[v->port_count++] = pname;
    }
    if (st != SG_OK) {
        sg_edgegap_app_version_free(v);
        return st;
    }
    *out = v;
    return SG_OK;
}

void sg_edgegap_app_version_free(sg_edgegap_app_version *v)
{
    if (!v) return;
    holder_free(v->priv_);
    free(v);
}

/* ---- context ---- */

static sg_status fill_context(holder *h, sg_edgegap_context *c, const char *body, size_t len)
{
    const cJSON *o = h->root;
    const char *w = "context";
    TRY(get_str(o, w, "request_id", true, &c->request_id));
    TRY(get_str(o, w, "public_ip", false, &c->public_ip));
    TRY(get_str(o, w, "fqdn", false, &c->fqdn));
    TRY(get_str(o, w, "status", false, &c->status));
    TRY(get_int(o, w, "sockets", 0, INT32_MAX, &c->sockets));
    TRY(parse_location(o, w, &c->location));
    TRY(parse_ports(h, o, &c->ports, &c->port_count));
    TRY(parse_tags(h, o, &c->tags, &c->tag_count));
    char *raw = holder_calloc(h, len + 1, 1);
    if (!raw) return sg_fail(SG_E_NOMEM, "context: out of memory");
    memcpy(raw, body, len);
    c->raw_json = raw;
    c->raw_len = len;
    return SG_OK;
}

sg_status sg_edgegap_parse_context(const char *body, size_t len, sg_edgegap_context **out)
{
    holder *h;
    *out = NULL;
    TRY(parse_root(body, len, "context", &h));
    sg_edgegap_context *c = calloc(1, sizeof *c);
    if (!c) {
        holder_free(h);
        return sg_fail(SG_E_NOMEM, "context: out of memory");
    }
    c->priv_ = h;
    sg_status st = fill_context(h, c, body, len);
    if (st != SG_OK) {
        sg_edgegap_context_free(c);
        return st;
    }
    *out = c;
    return SG_OK;
}

void sg_edgegap_context_free(sg_edgegap_context *c)
{
    if (!c) return;
    holder_free(c->priv_);
    free(c);
}

/* ---- error bodies ---- */

static void sanitize_into(const char *src, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch == '\0') break;
        if (ch < 0x20 || ch > 0x7e) ch = ' ';
        if (ch == ' ') {
            if (space || o == 0) continue; /* collapse runs, trim the start */
            space = true;
        } else {
            space = false;
        }
        buf[o++] = (char)ch;
    }
    while (o > 0 && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
}

void sg_edgegap_error_message(const char *body, size_t len, char *buf, size_t size)
{
    if (!buf || size == 0) return;
    buf[0] = '\0';
    if (!body || len == 0) return;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (root) {
        const cJSON *m = NULL;
        if (cJSON_IsObject(root)) {
            m = cJSON_GetObjectItemCaseSensitive(root, "message");
            if (!cJSON_IsString(m)) m = cJSON_GetObjectItemCaseSensitive(root, "error");
            if (!cJSON_IsString(m)) m = cJSON_GetObjectItemCaseSensitive(root, "detail");
        } else if (cJSON_IsString(root)) {
            m = root;
        }
        if (cJSON_IsString(m) && m->valuestring)
            sanitize_into(m->valuestring, strlen(m->valuestring), buf, size);
        cJSON_Delete(root);
        return;
    }
    sanitize_into(body, len, buf, size);
}
