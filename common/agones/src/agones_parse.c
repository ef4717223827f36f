/* Bodies of the Agones allocator and SDK REST APIs (see seatgate/agones.h). Answers are
 * untrusted input: every field is type-checked and bounded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "seatgate/agones.h"

/* ---- reading ------------------------------------------------------------------------------ */

static cJSON *parse_object(const char *body, size_t len)
{
    if (!body || len == 0) return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) return NULL;
    while (end && end < body + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (!cJSON_IsObject(root) || (end && end != body + len)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* A string field into dst: absent or null gives "". false for another type or a value that
 * does not fit. */
static bool get_str(const cJSON *obj, const char *name, char *dst, size_t size)
{
    dst[0] = '\0';
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsString(v) || !v->valuestring) return false;
    size_t n = strlen(v->valuestring);
    if (n >= size) return false;
    memcpy(dst, v->valuestring, n + 1);
    return true;
}

/* An int64 written as a JSON number or a decimal string (protojson accepts both). Absent or
 * null gives def. */
static bool get_int(const cJSON *obj, const char *name, long long def, long long *out)
{
    *out = def;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return true;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != d || d < -9.2e18 || d > 9.2e18 || d != (double)(long long)d) return false;
        *out = (long long)d;
        return true;
    }
    if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring) return false;
    errno = 0;
    char *end = NULL;
    long long n = strtoll(v->valuestring, &end, 10);
    if (errno || !end || *end) return false;
    *out = n;
    return true;
}

static bool get_bool(const cJSON *obj, const char *name, bool *out)
{
    *out = false;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsBool(v)) return false;
    *out = cJSON_IsTrue(v);
    return true;
}

/* An optional object field: NULL when absent or null; *ok false when of another type. */
static const cJSON *get_obj(const cJSON *obj, const char *name, bool *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsObject(v)) *ok = false;
    return cJSON_IsObject(v) ? v : NULL;
}

static const cJSON *get_array(const cJSON *obj, const char *name, bool *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsArray(v)) *ok = false;
    return cJSON_IsArray(v) ? v : NULL;
}

static bool read_ports(const cJSON *arr, sg_agones_port *ports, size_t *count)
{
    *count = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        if (!cJSON_IsObject(p) || *count == SG_AGONES_MAX_PORTS) return false;
        sg_agones_port *o = &ports[(*count)++];
        long long port;
        if (!get_str(p, "name", o->name, sizeof o->name) || !get_int(p, "port", -1, &port) ||
            port < 0 || port > 65535)
            return false;
        o->port = (int)port;
    }
    return true;
}

static bool read_addresses(const cJSON *arr, sg_agones_address *addrs, size_t *count)
{
    *count = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        if (!cJSON_IsObject(a) || *count == SG_AGONES_MAX_ADDRESSES) return false;
        sg_agones_address *o = &addrs[(*count)++];
        if (!get_str(a, "type", o->type, sizeof o->type) ||
            !get_str(a, "address", o->address, sizeof o->address))
            return false;
    }
    return true;
}

/* The entry `name` of a map of lists ({name: {capacity, values}}); NULL when absent. */
static const cJSON *list_entry(const cJSON *lists, const char *name, bool *ok)
{
    if (!lists || !name || !*name) return NULL;
    return get_obj(lists, name, ok);
}

/* ---- allocation ------------------------------------------------------------------------ */

sg_status sg_agones_parse_allocation(const char *body, size_t len, const char *list,
                                     const char *value, sg_agones_allocation *out)
{
    memset(out, 0, sizeof *out);
    out->list_capacity = out->list_count = -1;
    cJSON *root = parse_object(body, len);
    if (!root) return sg_fail(SG_E_MALFORMED, "allocation answer: not a JSON object");
    bool ok = get_str(root, "gameServerName", out->game_server_name, sizeof out->game_server_name) &&
              get_str(root, "address", out->address, sizeof out->address) &&
              get_str(root, "nodeName", out->node_name, sizeof out->node_name) &&
              get_str(root, "source", out->source, sizeof out->source);
    const cJSON *ports = get_array(root, "ports", &ok);
    const cJSON *addrs = get_array(root, "addresses", &ok);
    const cJSON *lists = get_obj(root, "lists", &ok);
    const cJSON *entry = list_entry(lists, list, &ok);
    if (ok && ports) ok = read_ports(ports, out->ports, &out->port_count);
    if (ok && addrs) ok = read_addresses(addrs, out->addresses, &out->address_count);
    if (ok && entry) {
        ok = get_int(entry, "capacity", -1, &out->list_capacity);
        const cJSON *values = get_array(entry, "values", &ok);
        out->list_count = values ? cJSON_GetArraySize(values) : 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, values)
        {
            if (!cJSON_IsString(v)) ok = false;
            else if (value && strcmp(v->valuestring, value) == 0) out->list_has_value = true;
        }
    }
    cJSON_Delete(root);
    if (!ok) return sg_fail(SG_E_MALFORMED, "allocation answer: a field has the wrong type or size");
    if (!out->game_server_name[0])
        return sg_fail(SG_E_MALFORMED, "allocation answer: no gameServerName");
    return SG_OK;
}

void sg_agones_parse_error(const char *body, size_t len, int *code, char *message, size_t size)
{
    *code = -1;
    if (size) message[0] = '\0';
    cJSON *root = parse_object(body, len);
    if (!root) return;
    long long c;
    if (get_int(root, "code", -1, &c) && c >= 0 && c < 100) *code = (int)c;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (size && cJSON_IsString(m) && m->valuestring) {
        /* Printable ASCII only: the text ends up in logs and answers. */
        size_t j = 0;
        for (const char *p = m->valuestring; *p && j + 1 < size; p++)
            message[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        message[j] = '\0';
    }
    cJSON_Delete(root);
}

const char *sg_agones_pick_address(const sg_agones_address *addrs, size_t count,
                                   const char *primary, const char *type)
{
    if (!type || !*type) return primary && *primary ? primary : NULL;
    for (size_t i = 0; i < count; i++)
        if (strcmp(addrs[i].type, type) == 0 && addrs[i].address[0]) return addrs[i].address;
    return NULL;
}

/* ---- the GameServer --------------------------------------------------------------------- */

void sg_agones_gameserver_free(sg_agones_gameserver *gs)
{
    if (!gs) return;
    for (size_t i = 0; i < gs->list_count; i++)
        free(gs->list_values[i]);
    free(gs->list_values);
    free(gs);
}

bool sg_agones_gameserver_has_value(const sg_agones_gameserver *gs, const char *value)
{
    for (size_t i = 0; gs && value && i < gs->list_count; i++)
        if (strcmp(gs->list_values[i], value) == 0) return true;
    return false;
}

static bool read_list_values(const cJSON *values, sg_agones_gameserver *gs)
{
    int n = cJSON_GetArraySize(values);
    if (n < 0 || n > SG_AGONES_MAX_VALUES) return false;
    gs->list_values = calloc(n ? (size_t)n : 1, sizeof *gs->list_values);
    if (!gs->list_values) return false;
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= SG_AGONES_NAME_MAX) return false;
        if (!(gs->list_values[gs->list_count] = strdup(v->valuestring))) return false;
        gs->list_count++;
    }
    return true;
}

/* The location annotations, leniently: an unreadable one is ignored. */
static void read_location(const cJSON *meta, sg_agones_gameserver *gs)
{
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    if (!cJSON_IsObject(ann)) return;
    bool ok = true;
    if (!get_str(ann, SG_AGONES_CITY_ANNOTATION, gs->city, sizeof gs->city)) gs->city[0] = '\0';
    if (!get_str(ann, SG_AGONES_COUNTRY_ANNOTATION, gs->country, sizeof gs->country))
        gs->country[0] = '\0';
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(ann, SG_AGONES_LATITUDE_ANNOTATION);
    const cJSON *lon = cJSON_GetObjectItemCaseSensitive(ann, SG_AGONES_LONGITUDE_ANNOTATION);
    if (!cJSON_IsString(lat) || !cJSON_IsString(lon)) return;
    char *end1, *end2;
    double la = strtod(lat->valuestring, &end1), lo = strtod(lon->valuestring, &end2);
    ok = end1 != lat->valuestring && !*end1 && end2 != lon->valuestring && !*end2 &&
         la >= -90 && la <= 90 && lo >= -180 && lo <= 180;
    if (!ok) return;
    gs->has_coords = true;
    gs->latitude = la;
    gs->longitude = lo;
}

sg_status sg_agones_parse_gameserver(const char *body, size_t len, const char *list,
                                     sg_agones_gameserver **out)
{
    *out = NULL;
    cJSON *root = parse_object(body, len);
    if (!root) return sg_fail(SG_E_MALFORMED, "GameServer: not a JSON object");
    sg_agones_gameserver *gs = calloc(1, sizeof *gs);
    if (!gs) {
        cJSON_Delete(root);
        return sg_fail(SG_E_NOMEM, "GameServer: out of memory");
    }
    bool ok = true;
    const cJSON *top = root;
    const cJSON *wrapped = get_obj(root, "result", &ok); /* a /watch/gameserver line */
    if (wrapped) top = wrapped;
    const cJSON *meta = get_obj(top, "object_meta", &ok);
    const cJSON *spec = get_obj(top, "spec", &ok);
    const cJSON *status = get_obj(top, "status", &ok);
    const cJSON *health = spec ? get_obj(spec, "health", &ok) : NULL;
    gs->list_capacity = gs->health_period_s = gs->health_failure_threshold =
        gs->health_initial_delay_s = -1;
    if (ok && meta)
        ok = get_str(meta, "name", gs->name, sizeof gs->name) &&
             get_str(meta, "namespace", gs->namespace_, sizeof gs->namespace_) &&
             get_str(meta, "uid", gs->uid, sizeof gs->uid);
    if (ok && meta) read_location(meta, gs);
    if (ok && health)
        ok = get_bool(health, "disabled", &gs->health_disabled) &&
             get_int(health, "period_seconds", -1, &gs->health_period_s) &&
             get_int(health, "failure_threshold", -1, &gs->health_failure_threshold) &&
             get_int(health, "initial_delay_seconds", -1, &gs->health_initial_delay_s);
    if (ok && status) {
        ok = get_str(status, "state", gs->state, sizeof gs->state) &&
             get_str(status, "address", gs->address, sizeof gs->address);
        const cJSON *ports = get_array(status, "ports", &ok);
        const cJSON *addrs = get_array(status, "addresses", &ok);
        const cJSON *lists = get_obj(status, "lists", &ok);
        const cJSON *entry = list_entry(lists, list, &ok);
        if (ok && ports) ok = read_ports(ports, gs->ports, &gs->port_count);
        if (ok && addrs) ok = read_addresses(addrs, gs->addresses, &gs->address_count);
        if (ok && entry) {
            ok = get_int(entry, "capacity", -1, &gs->list_capacity);
            const cJSON *values = get_array(entry, "values", &ok);
            if (ok && values) ok = read_list_values(values, gs);
        }
    }
    cJSON_Delete(root);
    if (!ok) {
        sg_agones_gameserver_free(gs);
        return sg_fail(SG_E_MALFORMED, "GameServer: a field has the wrong type or size");
    }
    if (!gs->name[0]) {
        sg_agones_gameserver_free(gs);
        return sg_fail(SG_E_MALFORMED, "GameServer: no object_meta.name");
    }
    *out = gs;
    return SG_OK;
}

sg_status sg_agones_parse_list(const char *body, size_t len, const char *value,
                               long long *capacity, size_t *count, bool *has_value)
{
    *capacity = -1;
    *count = 0;
    *has_value = false;
    cJSON *root = parse_object(body, len);
    if (!root) return sg_fail(SG_E_MALFORMED, "List: not a JSON object");
    bool ok = get_int(root, "capacity", -1, capacity);
    const cJSON *values = get_array(root, "values", &ok);
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        if (!cJSON_IsString(v)) ok = false;
        else if (value && strcmp(v->valuestring, value) == 0) *has_value = true;
        (*count)++;
    }
    cJSON_Delete(root);
    if (!ok || *count > SG_AGONES_MAX_VALUES) {
        *has_value = false;
        return sg_fail(SG_E_MALFORMED, "List: a field has the wrong type or size");
    }
    return SG_OK;
}

/* ---- writing ---------------------------------------------------------------------------- */

static bool add_pairs(cJSON *obj, const sg_agones_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!pairs[i].key || !pairs[i].value ||
            !cJSON_AddStringToObject(obj, pairs[i].key, pairs[i].value))
            return false;
    return true;
}

/* One gameServerSelector: the fleet and match labels, a state, and for Allocated servers
 * room in the list. */
static cJSON *selector(const sg_agones_alloc_params *p, const char *state, bool need_room)
{
    cJSON *s = cJSON_CreateObject();
    cJSON *labels = s ? cJSON_AddObjectToObject(s, "matchLabels") : NULL;
    bool ok = labels && (!p->fleet || cJSON_AddStringToObject(labels, "agones.dev/fleet", p->fleet)) &&
              add_pairs(labels, p->match_labels, p->match_label_count) &&
              cJSON_AddStringToObject(s, "gameServerState", state);
    if (ok && need_room) {
        cJSON *lists = cJSON_AddObjectToObject(s, "lists");
        cJSON *l = lists ? cJSON_AddObjectToObject(lists, p->list) : NULL;
        ok = l && cJSON_AddStringToObject(l, "minAvailable", "1");
    }
    if (!ok) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

sg_status sg_agones_allocation_body(const sg_agones_alloc_params *p, char **out)
{
    *out = NULL;
    if (!p->namespace_ || !*p->namespace_)
        return sg_fail(SG_E_INVALID, "allocation: namespace is required");
    if (!p->list || !*p->list || !p->value || !*p->value)
        return sg_fail(SG_E_INVALID, "allocation: the list and the seat value are required");
    const char *sched = p->scheduling && *p->scheduling ? p->scheduling : "Packed";
    if (strcmp(sched, "Packed") != 0 && strcmp(sched, "Distributed") != 0)
        return sg_fail(SG_E_INVALID, "allocation: scheduling must be Packed or Distributed");
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "namespace", p->namespace_);
    cJSON *sels = ok ? cJSON_AddArrayToObject(root, "gameServerSelectors") : NULL;
    ok = sels != NULL;
    if (ok && !p->ready_only) {
        cJSON *s = selector(p, "ALLOCATED", true);
        ok = s && cJSON_AddItemToArray(sels, s);
    }
    if (ok) {
        cJSON *s = selector(p, "READY", false);
        ok = s && cJSON_AddItemToArray(sels, s);
    }
    ok = ok && cJSON_AddStringToObject(root, "scheduling", sched);
    cJSON *meta = ok ? cJSON_AddObjectToObject(root, "metadata") : NULL;
    cJSON *ml = meta ? cJSON_AddObjectToObject(meta, "labels") : NULL;
    cJSON *ma = meta ? cJSON_AddObjectToObject(meta, "annotations") : NULL;
    ok = ml && ma && add_pairs(ml, p->labels, p->label_count) &&
         add_pairs(ma, p->annotations, p->annotation_count);
    /* Among the servers that match, the least room left in the list first ("Ascending"
     * available capacity): players join the servers that have players on. */
    cJSON *prios = ok ? cJSON_AddArrayToObject(root, "priorities") : NULL;
    cJSON *prio = prios ? cJSON_CreateObject() : NULL;
    ok = prio && cJSON_AddItemToArray(prios, prio) && cJSON_AddStringToObject(prio, "type", "List") &&
         cJSON_AddStringToObject(prio, "key", p->list) &&
         cJSON_AddStringToObject(prio, "order", "Ascending");
    cJSON *lists = ok ? cJSON_AddObjectToObject(root, "lists") : NULL;
    cJSON *l = lists ? cJSON_AddObjectToObject(lists, p->list) : NULL;
    cJSON *add = l ? cJSON_AddArrayToObject(l, "addValues") : NULL;
    ok = add && cJSON_AddItemToArray(add, cJSON_CreateString(p->value));
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return sg_fail(SG_E_NOMEM, "allocation: out of memory");
    *out = text;
    return SG_OK;
}

sg_status sg_agones_release_body(const char *namespace_, const char *fleet, const char *list,
                                 const char *value, char **out)
{
    *out = NULL;
    if (!namespace_ || !*namespace_ || !list || !*list || !value || !*value)
        return sg_fail(SG_E_INVALID, "release: namespace, list and value are required");
    cJSON *root = cJSON_CreateObject();
    cJSON *sels = root ? cJSON_AddArrayToObject(root, "gameServerSelectors") : NULL;
    cJSON *s = sels ? cJSON_CreateObject() : NULL;
    bool ok = s && cJSON_AddItemToArray(sels, s) &&
              cJSON_AddStringToObject(root, "namespace", namespace_);
    cJSON *ml = ok ? cJSON_AddObjectToObject(s, "matchLabels") : NULL;
    ok = ml && (!fleet || cJSON_AddStringToObject(ml, "agones.dev/fleet", fleet)) &&
         cJSON_AddStringToObject(s, "gameServerState", "ALLOCATED");
    cJSON *sl = ok ? cJSON_AddObjectToObject(s, "lists") : NULL;
    cJSON *sle = sl ? cJSON_AddObjectToObject(sl, list) : NULL;
    ok = sle && cJSON_AddStringToObject(sle, "containsValue", value);
    cJSON *la = ok ? cJSON_AddObjectToObject(root, "lists") : NULL;
    cJSON *lae = la ? cJSON_AddObjectToObject(la, list) : NULL;
    cJSON *del = lae ? cJSON_AddArrayToObject(lae, "deleteValues") : NULL;
    ok = del && cJSON_AddItemToArray(del, cJSON_CreateString(value));
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return sg_fail(SG_E_NOMEM, "release: out of memory");
    *out = text;
    return SG_OK;
}
