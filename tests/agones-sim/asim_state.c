/* The simulated fleet (see asim.h and docs/agones-sim.md). Bodies follow Agones' REST
 * gateways: proto field names (camelCase on the allocator, snake_case on the SDK), every
 * field emitted, int64 values as strings, enums by name. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "asim.h"

#define MAX_GS 128
#define MAX_NODES 16
#define MAX_PORTS 8
#define MAX_KV 32
#define MAX_ADDRS 8
#define MAX_VALUES 1000
#define VALUE_MAX 128
#define REMOVE_AFTER_MS 1000 /* Shutdown/Unhealthy GameServers are deleted after this */

typedef struct kv {
    char k[128], v[256];
} kv;

typedef struct kvset {
    kv e[MAX_KV];
    int n;
} kvset;

typedef struct node {
    char name[64];
    char types[MAX_ADDRS][16], addrs[MAX_ADDRS][64];
    int naddr;
    kvset annotations; /* given to the GameServers scheduled here (a Fleet per location) */
} node;

typedef struct port_spec {
    char name[64], policy[16], protocol[8];
    int container, host;
} port_spec;

typedef struct gs {
    bool used;
    char name[64], uid[40], state[24];
    int node;
    int ports[MAX_PORTS];
    int sdk_port;
    bool sidecar_dead;
    long long sidecar_delay_ms; /* the slow-sidecar fault: every SDK answer waits this long */
    kvset labels, annotations;
    char (*values)[VALUE_MAX];
    int nvalues;
    long long capacity;
    long long created_ms, state_ms, ready_at_ms;
    long long last_ping_ms, next_check_ms, pings;
    int failures;
    bool checking;
    long long generation;
} gs;

struct asim {
    pthread_mutex_t mu;
    char ns[64], fleet[64];
    int replicas;
    node nodes[MAX_NODES];
    int nnodes;
    port_spec ports[MAX_PORTS];
    int nports;
    int port_min, port_max, port_next;
    bool health_disabled;
    long long period_s, threshold, initial_s;
    char list[64];
    long long list_capacity;
    kvset tmpl_labels, tmpl_annotations;
    bool auto_ready;
    long long ready_delay_ms;
    int unallocated_status;
    int sdk_port_base;
    gs gss[MAX_GS];
    asim_sidecars sc;
    /* faults: the next fault_count allocations (-1: all) answer fault_status */
    int fault_status, fault_count;
    long long fault_delay_ms;
    long long alloc_total, alloc_ok, alloc_unallocated, alloc_contention, alloc_bad, mtls_refused;
    long long name_seq;
    cJSON *calls; /* "METHOD route" -> count */
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long long wall_s(void)
{
    return (long long)time(NULL);
}

static void count_call(asim *s, const char *what)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(s->calls, what);
    if (c)
        cJSON_SetNumberValue(c, c->valuedouble + 1);
    else
        cJSON_AddNumberToObject(s->calls, what, 1);
}

static cJSON *status_body(int code, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "code", code);
    cJSON_AddStringToObject(j, "message", message);
    cJSON_AddArrayToObject(j, "details");
    return j;
}

/* grpc-gateway's HTTP status for a gRPC code, and the code for the allocator's configured
 * "unallocated" status (cmd/allocator: grpcCodeFromHTTPStatus). */
static int grpc_code_for_http(int http)
{
    switch (http) {
    case 400:
        return 3;
    case 404:
        return 5;
    case 409:
        return 6;
    case 412:
        return 9;
    case 500:
        return 13;
    case 503:
        return 14;
    case 504:
        return 4;
    default:
        return 8; /* ResourceExhausted (429) */
    }
}

static void answer(asim_answer *a, int status, cJSON *json)
{
    a->status = status;
    a->json = json;
}

static void fail(asim_answer *a, int http, int code, const char *msg)
{
    answer(a, http, status_body(code, msg));
}

/* ---- key/value sets --------------------------------------------------------------------- */

static void kv_set(kvset *s, const char *k, const char *v)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->e[i].k, k) == 0) {
            snprintf(s->e[i].v, sizeof s->e[i].v, "%s", v);
            return;
        }
    if (s->n == MAX_KV) return;
    snprintf(s->e[s->n].k, sizeof s->e[s->n].k, "%s", k);
    snprintf(s->e[s->n].v, sizeof s->e[s->n].v, "%s", v);
    s->n++;
}

static const char *kv_get(const kvset *s, const char *k)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->e[i].k, k) == 0) return s->e[i].v;
    return NULL;
}

static cJSON *kv_json(const kvset *s)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < s->n; i++)
        cJSON_AddStringToObject(o, s->e[i].k, s->e[i].v);
    return o;
}

/* ---- GameServers ------------------------------------------------------------------------ */

static void set_state(gs *g, const char *st)
{
    snprintf(g->state, sizeof g->state, "%s", st);
    g->state_ms = now_ms();
    g->generation++;
}

static bool port_free(int port)
{
    int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    for (int i = 0; i < 2; i++) {
        int fd = socket(AF_INET, types[i], 0);
        if (fd < 0) return false;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (!ok) return false;
    }
    return true;
}

static bool port_taken(const asim *s, int port)
{
    for (int i = 0; i < MAX_GS; i++)
        for (int p = 0; s->gss[i].used && p < s->nports; p++)
            if (s->gss[i].ports[p] == port) return true;
    return false;
}

/* A host port from the range, free on this machine (the game binds it: Passthrough). */
static int pick_port(asim *s)
{
    int span = s->port_max - s->port_min + 1;
    for (int tries = 0; tries < span; tries++) {
        int p = s->port_min + (s->port_next++ % span);
        if (!port_taken(s, p) && port_free(p)) return p;
    }
    return 0;
}

static void random_name(char *out, size_t size, const char *fleet)
{
    static const char az[] = "bcdfghjklmnpqrstvwxz2456789";
    char a[6], b[6];
    for (int i = 0; i < 5; i++) {
        a[i] = az[randombytes_uniform(sizeof az - 1)];
        b[i] = az[randombytes_uniform(sizeof az - 1)];
    }
    a[5] = b[5] = '\0';
    /* Fleet names are at most 50 characters here (checked at load): the name fits. */
    snprintf(out, size, "%.50s-%s-%s", fleet, a, b);
}

static int node_load(const asim *s, int n, bool allocated_only)
{
    int c = 0;
    for (int i = 0; i < MAX_GS; i++)
        if (s->gss[i].used && s->gss[i].node == n &&
            (!allocated_only || strcmp(s->gss[i].state, "Allocated") == 0))
            c++;
    return c;
}

static gs *make_gs(asim *s)
{
    gs *g = NULL;
    for (int i = 0; i < MAX_GS && !g; i++)
        if (!s->gss[i].used) g = &s->gss[i];
    if (!g) return NULL;
    memset(g, 0, sizeof *g);
    g->values = calloc(MAX_VALUES, VALUE_MAX);
    if (!g->values) return NULL;
    g->used = true;
    random_name(g->name, sizeof g->name, s->fleet);
    unsigned char u[16];
    randombytes_buf(u, sizeof u);
    snprintf(g->uid, sizeof g->uid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
    int best = 0; /* spread over nodes: the least loaded one */
    for (int n = 1; n < s->nnodes; n++)
        if (node_load(s, n, false) < node_load(s, best, false)) best = n;
    g->node = best;
    for (int p = 0; p < s->nports; p++) {
        const port_spec *ps = &s->ports[p];
        if (strcmp(ps->policy, "Static") == 0)
            g->ports[p] = ps->host;
        else if (strcmp(ps->policy, "None") == 0)
            g->ports[p] = ps->container;
        else
            g->ports[p] = pick_port(s);
    }
    g->labels = s->tmpl_labels;
    kv_set(&g->labels, "agones.dev/fleet", s->fleet);
    g->annotations = s->tmpl_annotations;
    const kvset *na = &s->nodes[best].annotations;
    for (int i = 0; i < na->n; i++)
        kv_set(&g->annotations, na->e[i].k, na->e[i].v);
    g->capacity = s->list_capacity;
    g->created_ms = g->last_ping_ms = now_ms();
    g->generation = 0;
    set_state(g, "Scheduled");
    int want = s->sdk_port_base ? s->sdk_port_base + (int)(g - s->gss) : 0;
    g->sdk_port = s->sc.start ? s->sc.start(s->sc.ctx, g->name, want) : 0;
    return g;
}

static void remove_gs(asim *s, gs *g)
{
    if (s->sc.stop && !g->sidecar_dead) s->sc.stop(s->sc.ctx, g->name);
    free(g->values);
    memset(g, 0, sizeof *g);
}

static int fleet_size(const asim *s)
{
    int c = 0;
    for (int i = 0; i < MAX_GS; i++)
        if (s->gss[i].used && strcmp(s->gss[i].state, "Shutdown") != 0 &&
            strcmp(s->gss[i].state, "Unhealthy") != 0)
            c++;
    return c;
}

static void scale(asim *s)
{
    while (fleet_size(s) < s->replicas && make_gs(s))
        ;
}

static gs *find_gs(asim *s, const char *name)
{
    for (int i = 0; i < MAX_GS; i++)
        if (s->gss[i].used && strcmp(s->gss[i].name, name) == 0) return &s->gss[i];
    return NULL;
}

static int find_value(const gs *g, const char *v)
{
    for (int i = 0; i < g->nvalues; i++)
        if (strcmp(g->values[i], v) == 0) return i;
    return -1;
}

static void remove_value_at(gs *g, int i)
{
    memmove(g->values[i], g->values[i + 1], (size_t)(g->nvalues - i - 1) * VALUE_MAX);
    g->nvalues--;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static cJSON *int64_str(long long v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", v);
    return cJSON_CreateString(b);
}

static const char *primary_address(const node *n)
{
    static const char *order[] = {"ExternalDNS", "ExternalIP", "InternalDNS", "InternalIP"};
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < n->naddr; i++)
            if (strcmp(n->types[i], order[o]) == 0) return n->addrs[i];
    return "";
}

static cJSON *addresses_json(const asim *s, const gs *g)
{
    const node *n = &s->nodes[g->node];
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n->naddr; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "type", n->types[i]);
        cJSON_AddStringToObject(a, "address", n->addrs[i]);
        cJSON_AddItemToArray(arr, a);
    }
    /* The pod's own address, as Agones adds it (never chosen as the primary one). */
    char pod[32];
    snprintf(pod, sizeof pod, "10.244.%d.%d", g->node, (int)(g - s->gss) + 2);
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "PodIP");
    cJSON_AddStringToObject(a, "address", pod);
    cJSON_AddItemToArray(arr, a);
    return arr;
}

static cJSON *ports_json(const asim *s, const gs *g)
{
    cJSON *arr = cJSON_CreateArray();
    for (int p = 0; p < s->nports; p++) {
        const port_spec *ps = &s->ports[p];
        bool both = strcmp(ps->protocol, "TCPUDP") == 0;
        for (int k = 0; k < (both ? 2 : 1); k++) {
            cJSON *o = cJSON_CreateObject();
            char name[80];
            snprintf(name, sizeof name, "%s%s", ps->name, both ? (k ? "-udp" : "-tcp") : "");
            cJSON_AddStringToObject(o, "name", name);
            cJSON_AddNumberToObject(o, "port", g->ports[p]);
            cJSON_AddItemToArray(arr, o);
        }
    }
    return arr;
}

static cJSON *list_json(const asim *s, const gs *g, bool with_name)
{
    cJSON *l = cJSON_CreateObject();
    if (with_name) cJSON_AddStringToObject(l, "name", s->list);
    cJSON_AddItemToObject(l, "capacity", int64_str(g->capacity));
    cJSON *v = cJSON_AddArrayToObject(l, "values");
    for (int i = 0; i < g->nvalues; i++)
        cJSON_AddItemToArray(v, cJSON_CreateString(g->values[i]));
    return l;
}

static cJSON *lists_json(const asim *s, const gs *g)
{
    cJSON *o = cJSON_CreateObject();
    if (s->list[0]) cJSON_AddItemToObject(o, s->list, list_json(s, g, false));
    return o;
}

/* The GameServer as the SDK's GET /gameserver answers it. */
static cJSON *sdk_gameserver_json(const asim *s, const gs *g)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(root, "object_meta");
    cJSON_AddStringToObject(m, "name", g->name);
    cJSON_AddStringToObject(m, "namespace", s->ns);
    cJSON_AddStringToObject(m, "uid", g->uid);
    char rv[24];
    snprintf(rv, sizeof rv, "%lld", 1000 + g->generation);
    cJSON_AddStringToObject(m, "resource_version", rv);
    cJSON_AddItemToObject(m, "generation", int64_str(g->generation));
    cJSON_AddItemToObject(m, "creation_timestamp",
                          int64_str(wall_s() - (now_ms() - g->created_ms) / 1000));
    cJSON_AddItemToObject(m, "deletion_timestamp", int64_str(0));
    cJSON_AddItemToObject(m, "annotations", kv_json(&g->annotations));
    cJSON_AddItemToObject(m, "labels", kv_json(&g->labels));
    cJSON *sp = cJSON_AddObjectToObject(root, "spec");
    cJSON *h = cJSON_AddObjectToObject(sp, "health");
    cJSON_AddBoolToObject(h, "disabled", s->health_disabled);
    cJSON_AddNumberToObject(h, "period_seconds", (double)s->period_s);
    cJSON_AddNumberToObject(h, "failure_threshold", (double)s->threshold);
    cJSON_AddNumberToObject(h, "initial_delay_seconds", (double)s->initial_s);
    cJSON *st = cJSON_AddObjectToObject(root, "status");
    cJSON_AddStringToObject(st, "state", g->state);
    cJSON_AddStringToObject(st, "address", primary_address(&s->nodes[g->node]));
    cJSON_AddItemToObject(st, "addresses", addresses_json(s, g));
    cJSON_AddItemToObject(st, "ports", ports_json(s, g));
    cJSON_AddNullToObject(st, "players"); /* player tracking (alpha) is off */
    cJSON_AddObjectToObject(st, "counters");
    cJSON_AddItemToObject(st, "lists", lists_json(s, g));
    return root;
}

/* ---- config ----------------------------------------------------------------------------- */

static const char default_config[] =
    "{\"namespace\":\"default\",\"fleet\":\"seatgate-example\",\"replicas\":2,"
    "\"nodes\":[{\"name\":\"node-a\",\"addresses\":[{\"type\":\"Hostname\",\"address\":\"node-a\"},"
    "{\"type\":\"ExternalIP\",\"address\":\"127.0.0.1\"},{\"type\":\"InternalIP\",\"address\":\"10.0.0.11\"}]}],"
    "\"ports\":[{\"name\":\"game\",\"portPolicy\":\"Passthrough\",\"protocol\":\"UDP\"}],"
    "\"lists\":{\"players\":{\"capacity\":4}}}";

static const char *jstr(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : def;
}

static long long jnum(const cJSON *o, const char *k, long long def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : def;
}

static sg_status load_config(asim *s, const char *text)
{
    cJSON *c = cJSON_Parse(text);
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        return sg_fail(SG_E_INVALID, "config: not a JSON object");
    }
    sg_status st = SG_OK;
    snprintf(s->ns, sizeof s->ns, "%s", jstr(c, "namespace", "default"));
    snprintf(s->fleet, sizeof s->fleet, "%s", jstr(c, "fleet", "seatgate-example"));
    s->replicas = (int)jnum(c, "replicas", 2);
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(c, "portRange");
    s->port_min = (int)jnum(range, "min", 7000);
    s->port_max = (int)jnum(range, "max", 8000);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "health");
    s->health_disabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "disabled"));
    s->period_s = jnum(h, "periodSeconds", 5);
    s->threshold = jnum(h, "failureThreshold", 3);
    s->initial_s = jnum(h, "initialDelaySeconds", 5);
    s->auto_ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "autoReady"));
    s->ready_delay_ms = jnum(c, "readyDelayMs", 0);
    s->unallocated_status = (int)jnum(c, "unallocatedStatusCode", 429);
    s->sdk_port_base = (int)jnum(c, "sdkPortBase", 0);
    if (strlen(jstr(c, "fleet", "")) > 50)
        st = sg_fail(SG_E_INVALID, "config: fleet names are at most 50 characters here");
    if (s->replicas < 0 || s->replicas > MAX_GS / 2 || s->port_min < 1024 ||
        s->port_max > 65535 || s->port_min > s->port_max || s->period_s < 1 || s->threshold < 1 ||
        s->initial_s < 0 || s->sdk_port_base < 0 || s->sdk_port_base > 65535 - MAX_GS)
        st = sg_fail(SG_E_INVALID, "config: replicas 0..%d, portRange within 1024..65535, "
                                   "health periodSeconds and failureThreshold >= 1",
                     MAX_GS / 2);
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(c, "nodes"))
    {
        if (s->nnodes == MAX_NODES) break;
        node *nd = &s->nodes[s->nnodes++];
        snprintf(nd->name, sizeof nd->name, "%s", jstr(n, "name", "node"));
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(n, "addresses"))
        {
            if (nd->naddr == MAX_ADDRS) break;
            snprintf(nd->types[nd->naddr], sizeof nd->types[0], "%s", jstr(a, "type", "InternalIP"));
            snprintf(nd->addrs[nd->naddr], sizeof nd->addrs[0], "%s", jstr(a, "address", ""));
            nd->naddr++;
        }
        const cJSON *na;
        cJSON_ArrayForEach(na, cJSON_GetObjectItemCaseSensitive(n, "annotations"))
        {
            if (cJSON_IsString(na)) kv_set(&nd->annotations, na->string, na->valuestring);
        }
    }
    if (st == SG_OK && s->nnodes == 0) st = sg_fail(SG_E_INVALID, "config: no nodes");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "ports"))
    {
        if (s->nports == MAX_PORTS) break;
        port_spec *ps = &s->ports[s->nports++];
        snprintf(ps->name, sizeof ps->name, "%s", jstr(p, "name", "default"));
        snprintf(ps->policy, sizeof ps->policy, "%s", jstr(p, "portPolicy", "Dynamic"));
        snprintf(ps->protocol, sizeof ps->protocol, "%s", jstr(p, "protocol", "UDP"));
        ps->container = (int)jnum(p, "containerPort", 0);
        ps->host = (int)jnum(p, "hostPort", 0);
        bool known = strcmp(ps->policy, "Dynamic") == 0 || strcmp(ps->policy, "Static") == 0 ||
                     strcmp(ps->policy, "Passthrough") == 0 || strcmp(ps->policy, "None") == 0;
        if (st == SG_OK && !known)
            st = sg_fail(SG_E_INVALID, "config: portPolicy %s is not Dynamic, Static, "
                                       "Passthrough or None", ps->policy);
        if (st == SG_OK && strcmp(ps->policy, "Static") == 0 && ps->host <= 0)
            st = sg_fail(SG_E_INVALID, "config: a Static port needs hostPort");
    }
    if (st == SG_OK && s->nports == 0) st = sg_fail(SG_E_INVALID, "config: no ports");
    const cJSON *lists = cJSON_GetObjectItemCaseSensitive(c, "lists");
    if (cJSON_IsObject(lists) && lists->child) {
        snprintf(s->list, sizeof s->list, "%s", lists->child->string);
        s->list_capacity = jnum(lists->child, "capacity", 1000);
        if (st == SG_OK && (s->list_capacity < 0 || s->list_capacity > MAX_VALUES))
            st = sg_fail(SG_E_INVALID, "config: a list capacity is 0..1000");
    }
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(c, "labels"))
    {
        if (cJSON_IsString(l)) kv_set(&s->tmpl_labels, l->string, l->valuestring);
    }
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(c, "annotations"))
    {
        if (cJSON_IsString(l)) kv_set(&s->tmpl_annotations, l->string, l->valuestring);
    }
    cJSON_Delete(c);
    return st;
}

sg_status asim_new(const char *config_path, const asim_sidecars *sc, asim **out)
{
    *out = NULL;
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "libsodium failed to initialise");
    char *text = NULL;
    if (config_path) {
        FILE *f = fopen(config_path, "rb");
        if (!f) return sg_fail(SG_E_INVALID, "config %s: cannot open", config_path);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = n >= 0 && n < (1 << 20) ? calloc(1, (size_t)n + 1) : NULL;
        if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
            fclose(f);
            free(text);
            return sg_fail(SG_E_INVALID, "config %s: cannot read", config_path);
        }
        fclose(f);
    }
    asim *s = calloc(1, sizeof *s);
    if (!s) {
        free(text);
        return sg_fail(SG_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    s->calls = cJSON_CreateObject();
    if (sc) s->sc = *sc;
    sg_status st = load_config(s, text ? text : default_config);
    free(text);
    if (st != SG_OK) {
        asim_free(s);
        return st;
    }
    pthread_mutex_lock(&s->mu);
    scale(s);
    pthread_mutex_unlock(&s->mu);
    *out = s;
    return SG_OK;
}

void asim_free(asim *s)
{
    if (!s) return;
    for (int i = 0; i < MAX_GS; i++)
        if (s->gss[i].used) remove_gs(s, &s->gss[i]);
    cJSON_Delete(s->calls);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- time ------------------------------------------------------------------------------- */

static bool is(const gs *g, const char *st)
{
    return strcmp(g->state, st) == 0;
}

void asim_tick(asim *s)
{
    pthread_mutex_lock(&s->mu);
    long long now = now_ms();
    for (int i = 0; i < MAX_GS; i++) {
        gs *g = &s->gss[i];
        if (!g->used) continue;
        if (is(g, "Shutdown") || is(g, "Unhealthy")) {
            if (now - g->state_ms >= REMOVE_AFTER_MS) remove_gs(s, g);
            continue;
        }
        if (s->auto_ready && !g->sidecar_dead) {
            g->last_ping_ms = now; /* the simulated game process pings */
            g->failures = 0;
            if (is(g, "Scheduled")) {
                set_state(g, "RequestReady");
                g->ready_at_ms = now + s->ready_delay_ms;
            }
        }
        if (is(g, "RequestReady") && now >= g->ready_at_ms) set_state(g, "Ready");
        if (s->health_disabled) continue;
        /* The sidecar's check: every period, a period without a ping is one failure. */
        if (!g->checking && now >= g->created_ms + s->initial_s * 1000) {
            g->checking = true;
            g->next_check_ms = now + s->period_s * 1000;
        }
        if (g->checking && now >= g->next_check_ms) {
            if (now - g->last_ping_ms > s->period_s * 1000) g->failures++;
            g->next_check_ms += s->period_s * 1000;
            if (g->failures >= s->threshold) set_state(g, "Unhealthy");
        }
    }
    scale(s);
    pthread_mutex_unlock(&s->mu);
}

/* ---- allocation ------------------------------------------------------------------------- */

typedef struct selector {
    const cJSON *labels;
    char state[16];
    bool has_list;
    char list[64], contains[VALUE_MAX];
    long long min_av, max_av;
    bool counters; /* a counter filter: no counters exist here, so never matches */
} selector;

static bool read_selector(const cJSON *j, selector *sel, char *err, size_t esize)
{
    memset(sel, 0, sizeof *sel);
    if (!cJSON_IsObject(j)) {
        snprintf(err, esize, "gameServerSelectors: each entry must be an object");
        return false;
    }
    sel->labels = cJSON_GetObjectItemCaseSensitive(j, "matchLabels");
    const char *state = jstr(j, "gameServerState", "READY");
    if (strcmp(state, "READY") == 0 || strcmp(state, "0") == 0)
        snprintf(sel->state, sizeof sel->state, "Ready");
    else if (strcmp(state, "ALLOCATED") == 0 || strcmp(state, "1") == 0)
        snprintf(sel->state, sizeof sel->state, "Allocated");
    else {
        snprintf(err, esize, "invalid value for enum type: \"%.40s\"", state);
        return false;
    }
    const cJSON *lists = cJSON_GetObjectItemCaseSensitive(j, "lists");
    if (cJSON_IsObject(lists) && lists->child) {
        sel->has_list = true;
        snprintf(sel->list, sizeof sel->list, "%s", lists->child->string);
        snprintf(sel->contains, sizeof sel->contains, "%s", jstr(lists->child, "containsValue", ""));
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(lists->child, "minAvailable");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(lists->child, "maxAvailable");
        sel->min_av = cJSON_IsString(mn) ? atoll(mn->valuestring) : cJSON_IsNumber(mn) ? (long long)mn->valuedouble : 0;
        sel->max_av = cJSON_IsString(mx) ? atoll(mx->valuestring) : cJSON_IsNumber(mx) ? (long long)mx->valuedouble : 0;
    }
    const cJSON *counters = cJSON_GetObjectItemCaseSensitive(j, "counters");
    sel->counters = cJSON_IsObject(counters) && counters->child;
    return true;
}

static bool matches(const asim *s, const gs *g, const selector *sel)
{
    if (!is(g, sel->state) || sel->counters) return false;
    const cJSON *l;
    cJSON_ArrayForEach(l, sel->labels)
    {
        const char *have = kv_get(&g->labels, l->string);
        if (!cJSON_IsString(l) || !have || strcmp(have, l->valuestring) != 0) return false;
    }
    if (sel->has_list) {
        if (strcmp(sel->list, s->list) != 0) return false; /* no such list on the server */
        long long avail = g->capacity - g->nvalues;
        if (avail < sel->min_av) return false;
        if (sel->max_av > 0 && avail > sel->max_av) return false;
        if (sel->contains[0] && find_value(g, sel->contains) < 0) return false;
    }
    return true;
}

typedef struct prio {
    bool list;
    bool descending;
    bool mine; /* names this simulator's list */
} prio;

/* -1 when a should be allocated before b. */
static int compare(const asim *s, const gs *a, const gs *b, bool packed, const prio *pr, int npr)
{
    if (packed) { /* the most used node first */
        int la = node_load(s, a->node, true), lb = node_load(s, b->node, true);
        if (la != lb) return la > lb ? -1 : 1;
    }
    for (int i = 0; i < npr; i++) {
        if (!pr[i].list || !pr[i].mine) continue;
        long long aa = a->capacity - a->nvalues, ab = b->capacity - b->nvalues;
        if (aa != ab) return (aa < ab) != pr[i].descending ? -1 : 1;
    }
    return 0;
}

void asim_count_refused(asim *s)
{
    pthread_mutex_lock(&s->mu);
    s->mtls_refused++;
    pthread_mutex_unlock(&s->mu);
}

void asim_not_routed(bool method_only, asim_answer *a)
{
    if (method_only)
        fail(a, 405, 12, "Method Not Allowed");
    else
        fail(a, 404, 5, "Not Found");
}

static void allocate_locked(asim *s, const cJSON *req, asim_answer *a)
{
    char err[160];
    if (!cJSON_IsObject(req)) {
        s->alloc_bad++;
        return fail(a, 400, 3, "invalid request body: not a JSON object");
    }
    if (s->fault_count != 0 && s->fault_status) {
        if (s->fault_count > 0) s->fault_count--;
        if (s->fault_status == 409) {
            s->alloc_contention++;
            return fail(a, 409, 10, "too many concurrent requests have overwhelmed the system");
        }
        if (s->fault_status == 429) {
            s->alloc_unallocated++;
            return fail(a, 429, 8, "there is no available GameServer to allocate");
        }
        return fail(a, s->fault_status, grpc_code_for_http(s->fault_status), "injected fault");
    }
    const char *ns = jstr(req, "namespace", "");
    selector sels[8];
    int nsel = 0;
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(req, "gameServerSelectors");
    const cJSON *j;
    cJSON_ArrayForEach(j, js)
    {
        if (nsel == 8) break;
        if (!read_selector(j, &sels[nsel++], err, sizeof err)) {
            s->alloc_bad++;
            return fail(a, 400, 3, err);
        }
    }
    if (nsel == 0) { /* the deprecated fields, or none: any Ready server */
        static cJSON any = {.type = cJSON_Object};
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(req, "requiredGameServerSelector");
        if (!read_selector(cJSON_IsObject(rq) ? rq : &any, &sels[nsel++], err, sizeof err)) {
            s->alloc_bad++;
            return fail(a, 400, 3, err);
        }
    }
    const char *sched = jstr(req, "scheduling", "Packed");
    if (strcmp(sched, "Packed") != 0 && strcmp(sched, "Distributed") != 0) {
        s->alloc_bad++;
        snprintf(err, sizeof err, "invalid value for enum type: \"%.40s\"", sched);
        return fail(a, 400, 3, err);
    }
    prio pr[8];
    int npr = 0;
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(req, "priorities"))
    {
        if (npr == 8) break;
        pr[npr].list = strcmp(jstr(j, "type", "Counter"), "List") == 0;
        pr[npr].descending = strcmp(jstr(j, "order", "Ascending"), "Descending") == 0;
        pr[npr].mine = strcmp(jstr(j, "key", ""), s->list) == 0;
        npr++;
    }
    gs *chosen = NULL;
    bool packed = strcmp(sched, "Packed") == 0;
    for (int k = 0; k < nsel && !chosen && strcmp(ns, s->ns) == 0; k++) {
        gs *cand[MAX_GS];
        int nc = 0;
        for (int i = 0; i < MAX_GS; i++)
            if (s->gss[i].used && matches(s, &s->gss[i], &sels[k])) cand[nc++] = &s->gss[i];
        if (nc == 0) continue;
        if (!packed) { /* Distributed: a random order before the priorities */
            for (int i = nc - 1; i > 0; i--) {
                int r = (int)randombytes_uniform((uint32_t)i + 1);
                gs *t = cand[i];
                cand[i] = cand[r];
                cand[r] = t;
            }
        }
        chosen = cand[0];
        for (int i = 1; i < nc; i++)
            if (compare(s, cand[i], chosen, packed, pr, npr) < 0) chosen = cand[i];
    }
    if (!chosen) {
        s->alloc_unallocated++;
        int http = s->unallocated_status;
        return fail(a, http, grpc_code_for_http(http), "there is no available GameServer to allocate");
    }
    /* Apply: state, metadata, list actions. */
    if (!is(chosen, "Allocated")) set_state(chosen, "Allocated");
    chosen->generation++;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(req, "metadata");
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(meta, "labels"))
    {
        if (cJSON_IsString(j)) kv_set(&chosen->labels, j->string, j->valuestring);
    }
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(meta, "annotations"))
    {
        if (cJSON_IsString(j)) kv_set(&chosen->annotations, j->string, j->valuestring);
    }
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "lists"), s->list);
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(la, "deleteValues"))
    {
        int at = cJSON_IsString(j) ? find_value(chosen, j->valuestring) : -1;
        if (at >= 0) remove_value_at(chosen, at);
    }
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(la, "addValues"))
    {
        /* Duplicates are ignored; values past the capacity are dropped. */
        if (!cJSON_IsString(j) || strlen(j->valuestring) >= VALUE_MAX) continue;
        if (find_value(chosen, j->valuestring) >= 0 || chosen->nvalues >= chosen->capacity) continue;
        snprintf(chosen->values[chosen->nvalues++], VALUE_MAX, "%s", j->valuestring);
    }
    s->alloc_ok++;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "gameServerName", chosen->name);
    cJSON_AddItemToObject(r, "ports", ports_json(s, chosen));
    cJSON_AddStringToObject(r, "address", primary_address(&s->nodes[chosen->node]));
    cJSON_AddItemToObject(r, "addresses", addresses_json(s, chosen));
    cJSON_AddStringToObject(r, "nodeName", s->nodes[chosen->node].name);
    cJSON_AddStringToObject(r, "source", "local");
    cJSON *m = cJSON_AddObjectToObject(r, "metadata");
    cJSON_AddItemToObject(m, "labels", kv_json(&chosen->labels));
    cJSON_AddItemToObject(m, "annotations", kv_json(&chosen->annotations));
    cJSON_AddObjectToObject(r, "counters");
    cJSON_AddItemToObject(r, "lists", lists_json(s, chosen));
    answer(a, 200, r);
}

void asim_allocate(asim *s, const char *body, size_t len, asim_answer *a)
{
    cJSON *req = cJSON_ParseWithLength(body ? body : "", len);
    pthread_mutex_lock(&s->mu);
    s->alloc_total++;
    count_call(s, "POST /gameserverallocation");
    allocate_locked(s, req, a);
    a->delay_ms = s->fault_delay_ms;
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(req);
}

/* ---- the SDK sidecar --------------------------------------------------------------------- */

/* Counts the JSON objects in a /health body (a client stream: one object is one ping). */
static int count_objects(const char *body, size_t len)
{
    int n = 0;
    const char *p = body, *end = body + len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
        if (p >= end) break;
        const char *stop = NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, false);
        bool obj = cJSON_IsObject(o);
        cJSON_Delete(o);
        if (!obj || !stop || stop <= p) return -1;
        n++;
        p = stop;
    }
    return n;
}

static bool valid_label(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n == 0 || n > 63) return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
              (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_' || t[i] == '.'))
            return false;
    return true;
}

static void sdk_locked(asim *s, gs *g, const char *method, const char *url, const cJSON *req,
                       bool has_body, const char *body, size_t len, asim_answer *a)
{
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    if (post && strcmp(url, "/health") == 0) {
        int n = has_body ? count_objects(body, len) : 0;
        if (n <= 0) return fail(a, 400, 3, "health: an empty body is no ping");
        g->pings += n;
        g->last_ping_ms = now_ms();
        g->failures = 0;
        return answer(a, 200, cJSON_CreateObject());
    }
    if (post && strcmp(url, "/ready") == 0) {
        if (is(g, "Scheduled") || is(g, "Reserved")) {
            set_state(g, "RequestReady");
            g->ready_at_ms = now_ms() + s->ready_delay_ms;
        }
        return answer(a, 200, cJSON_CreateObject());
    }
    if (post && strcmp(url, "/allocate") == 0) {
        if (!is(g, "Shutdown") && !is(g, "Unhealthy")) set_state(g, "Allocated");
        return answer(a, 200, cJSON_CreateObject());
    }
    if (post && strcmp(url, "/shutdown") == 0) {
        if (!is(g, "Shutdown")) set_state(g, "Shutdown");
        return answer(a, 200, cJSON_CreateObject());
    }
    if (post && strcmp(url, "/reserve") == 0) {
        if (!is(g, "Shutdown") && !is(g, "Unhealthy") && !is(g, "Allocated")) set_state(g, "Reserved");
        return answer(a, 200, cJSON_CreateObject());
    }
    if (get && strcmp(url, "/gameserver") == 0) return answer(a, 200, sdk_gameserver_json(s, g));
    if (strcmp(method, "PUT") == 0 &&
        (strcmp(url, "/metadata/label") == 0 || strcmp(url, "/metadata/annotation") == 0)) {
        const char *k = jstr(req, "key", NULL), *v = jstr(req, "value", NULL);
        if (!valid_label(k) || !v || (url[10] == 'l' && *v && !valid_label(v)))
            return fail(a, 400, 3, "invalid key or value");
        char full[160];
        snprintf(full, sizeof full, "agones.dev/sdk-%s", k);
        kv_set(url[10] == 'l' ? &g->labels : &g->annotations, full, v);
        g->generation++;
        return answer(a, 200, cJSON_CreateObject());
    }
    if (strncmp(url, "/alpha/player/", 14) == 0)
        return fail(a, 500, 2, "alpha.PlayerTracking feature gate is not enabled");
    if (strncmp(url, "/v1beta1/counters/", 18) == 0)
        return fail(a, 404, 5, "counter not found");
    if (strncmp(url, "/v1beta1/lists/", 15) == 0) {
        const char *name = url + 15;
        const char *colon = strchr(name, ':');
        size_t nlen = colon ? (size_t)(colon - name) : strlen(name);
        if (!s->list[0] || strlen(s->list) != nlen || strncmp(name, s->list, nlen) != 0)
            return fail(a, 404, 5, "list not found");
        if (get && !colon) return answer(a, 200, list_json(s, g, true));
        if (strcmp(method, "PATCH") == 0 && !colon) {
            const cJSON *cap = cJSON_GetObjectItemCaseSensitive(req, "capacity");
            long long c = cJSON_IsString(cap) ? atoll(cap->valuestring)
                          : cJSON_IsNumber(cap) ? (long long)cap->valuedouble
                                                : g->capacity;
            if (c < 0 || c > MAX_VALUES) return fail(a, 400, 3, "capacity out of range 0..1000");
            g->capacity = c;
            while (g->nvalues > g->capacity)
                g->nvalues--;
            return answer(a, 200, list_json(s, g, true));
        }
        const char *v = jstr(req, "value", NULL);
        if (post && colon && (strcmp(colon, ":addValue") == 0 || strcmp(colon, ":removeValue") == 0)) {
            if (!v || !*v || strlen(v) >= VALUE_MAX) return fail(a, 400, 3, "value is required");
            int at = find_value(g, v);
            if (colon[1] == 'a') {
                if (at >= 0) return fail(a, 409, 6, "already exists in the list");
                if (g->nvalues >= g->capacity) return fail(a, 400, 11, "the list is at capacity");
                snprintf(g->values[g->nvalues++], VALUE_MAX, "%s", v);
            } else {
                if (at < 0) return fail(a, 404, 5, "not found in the list");
                remove_value_at(g, at);
            }
            g->generation++;
            return answer(a, 200, list_json(s, g, true));
        }
    }
    bool known = strcmp(url, "/health") == 0 || strcmp(url, "/ready") == 0 ||
                 strcmp(url, "/gameserver") == 0 || strcmp(url, "/shutdown") == 0;
    asim_not_routed(known, a);
}

void asim_sdk(asim *s, const char *gsname, const char *method, const char *url, const char *body,
              size_t len, bool has_body, asim_answer *a)
{
    cJSON *req = has_body ? cJSON_ParseWithLength(body, len) : NULL;
    pthread_mutex_lock(&s->mu);
    gs *g = find_gs(s, gsname);
    char what[96];
    snprintf(what, sizeof what, "SDK %s %.60s", method,
             strncmp(url, "/v1beta1/lists/", 15) == 0 ? "/v1beta1/lists" : url);
    count_call(s, what);
    long long delay = g ? g->sidecar_delay_ms : 0;
    if (!g || g->sidecar_dead)
        fail(a, 503, 14, "game server is gone");
    else if (has_body && strcmp(url, "/health") != 0 && !cJSON_IsObject(req))
        fail(a, 400, 3, "invalid request body");
    else
        sdk_locked(s, g, method, url, req, has_body, body, len, a);
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(req);
    a->delay_ms = delay;
}

/* ---- admin ------------------------------------------------------------------------------ */

static cJSON *state_json(asim *s)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "namespace", s->ns);
    cJSON_AddStringToObject(r, "fleet", s->fleet);
    cJSON_AddNumberToObject(r, "replicas", s->replicas);
    cJSON *arr = cJSON_AddArrayToObject(r, "gameservers");
    for (int i = 0; i < MAX_GS; i++) {
        gs *g = &s->gss[i];
        if (!g->used) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", g->name);
        cJSON_AddStringToObject(o, "state", g->state);
        cJSON_AddStringToObject(o, "node", s->nodes[g->node].name);
        cJSON_AddStringToObject(o, "address", primary_address(&s->nodes[g->node]));
        cJSON_AddItemToObject(o, "ports", ports_json(s, g));
        cJSON_AddNumberToObject(o, "sdkPort", g->sdk_port);
        cJSON_AddBoolToObject(o, "sidecarUp", !g->sidecar_dead);
        cJSON_AddNumberToObject(o, "sidecarDelayMs", (double)g->sidecar_delay_ms);
        cJSON_AddNumberToObject(o, "healthPings", (double)g->pings);
        cJSON_AddNumberToObject(o, "healthFailures", g->failures);
        cJSON_AddItemToObject(o, "labels", kv_json(&g->labels));
        cJSON_AddItemToObject(o, "annotations", kv_json(&g->annotations));
        cJSON_AddItemToObject(o, "lists", lists_json(s, g));
        cJSON_AddItemToArray(arr, o);
    }
    cJSON *al = cJSON_AddObjectToObject(r, "allocations");
    cJSON_AddNumberToObject(al, "total", (double)s->alloc_total);
    cJSON_AddNumberToObject(al, "allocated", (double)s->alloc_ok);
    cJSON_AddNumberToObject(al, "unallocated", (double)s->alloc_unallocated);
    cJSON_AddNumberToObject(al, "contention", (double)s->alloc_contention);
    cJSON_AddNumberToObject(al, "badRequests", (double)s->alloc_bad);
    cJSON_AddNumberToObject(al, "refusedClientCertificates", (double)s->mtls_refused);
    cJSON_AddItemToObject(r, "calls", cJSON_Duplicate(s->calls, true));
    return r;
}

void asim_admin(asim *s, const char *method, const char *url, const char *body, size_t len,
                asim_answer *a)
{
    cJSON *req = len ? cJSON_ParseWithLength(body, len) : cJSON_CreateObject();
    pthread_mutex_lock(&s->mu);
    bool post = strcmp(method, "POST") == 0;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/_sim/state") == 0) {
        answer(a, 200, state_json(s));
    } else if (post && !cJSON_IsObject(req)) {
        fail(a, 400, 3, "body: a JSON object");
    } else if (post && strcmp(url, "/_sim/faults") == 0) {
        /* {"allocate": {"status": 429|409|5xx, "count": N (-1: until cleared)}, "delayMs": n};
         * {} clears every fault. */
        const cJSON *al = cJSON_GetObjectItemCaseSensitive(req, "allocate");
        s->fault_status = (int)jnum(al, "status", 0);
        s->fault_count = (int)jnum(al, "count", -1);
        s->fault_delay_ms = jnum(req, "delayMs", 0);
        answer(a, 200, state_json(s));
    } else if (post && strcmp(url, "/_sim/fleet") == 0) {
        long long r = jnum(req, "replicas", s->replicas);
        if (r < 0 || r > MAX_GS / 2) {
            fail(a, 400, 3, "replicas: 0..64");
        } else {
            s->replicas = (int)r;
            scale(s);
            answer(a, 200, state_json(s));
        }
    } else if (post && strncmp(url, "/_sim/gameservers/", 18) == 0) {
        /* /_sim/gameservers/{name}/sidecar {"dead": bool} | /{name}/delete */
        char name[64];
        const char *rest = url + 18, *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : 0;
        gs *g = NULL;
        if (n > 0 && n < sizeof name) {
            memcpy(name, rest, n);
            name[n] = '\0';
            g = find_gs(s, name);
        }
        if (!g) {
            fail(a, 404, 5, "no such GameServer");
        } else if (strcmp(slash, "/sidecar") == 0) {
            /* {"dead": bool} and/or {"delayMs": n}: a field left out stays as it is. */
            const cJSON *jd = cJSON_GetObjectItemCaseSensitive(req, "dead");
            bool dead = jd ? cJSON_IsTrue(jd) : g->sidecar_dead;
            g->sidecar_delay_ms = jnum(req, "delayMs", g->sidecar_delay_ms);
            if (dead && !g->sidecar_dead && s->sc.stop) s->sc.stop(s->sc.ctx, g->name);
            if (!dead && g->sidecar_dead && s->sc.start)
                g->sdk_port = s->sc.start(s->sc.ctx, g->name, g->sdk_port);
            g->sidecar_dead = dead;
            answer(a, 200, state_json(s));
        } else if (strcmp(slash, "/delete") == 0) {
            remove_gs(s, g); /* the pod is gone: its seats with it */
            scale(s);
            answer(a, 200, state_json(s));
        } else {
            asim_not_routed(false, a);
        }
    } else {
        asim_not_routed(false, a);
    }
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(req);
}

sg_status asim_write_servers(asim *s, const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return sg_fail(SG_E_IO, "cannot write %s", tmp);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < MAX_GS; i++)
        if (s->gss[i].used)
            fprintf(f, "%s %d %d %s\n", s->gss[i].name, s->gss[i].sdk_port, s->gss[i].ports[0],
                    s->gss[i].state);
    pthread_mutex_unlock(&s->mu);
    bool ok = fclose(f) == 0 && rename(tmp, path) == 0;
    return ok ? SG_OK : sg_fail(SG_E_IO, "cannot write %s", path);
}
