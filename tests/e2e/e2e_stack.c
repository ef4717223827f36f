/* The topology: started here on loopback (local mode), or found at the URLs given
 * (external mode, docker-compose). */
#include <arpa/inet.h>
#include <nats/nats.h>
#include <sodium.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"
#include "seatgate/keys.h"

e2e_stack E;

static const char *const REQUEST_IDS[E2E_DEPLOYMENTS] = {"aaaa0000e2e1", "bbbb0000e2e2"};

static bool read_line(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool ok = fgets(out, (int)size, f) != NULL;
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return ok;
}

const char *e2e_next_ip(void)
{
    static char ip[48];
    static int next = -1;
    /* Pool "A.B.C.D-E": last octet D..E. */
    const char *pool = E.player_ips ? E.player_ips : "";
    const char *dash = strchr(pool, '-');
    const char *dot = strrchr(pool, '.');
    if (!dash || !dot || dot > dash) return "";
    int first = atoi(dot + 1), last = atoi(dash + 1);
    if (next < first || next > last) next = first;
    snprintf(ip, sizeof ip, "%.*s%d", (int)(dot + 1 - pool), pool, next++);
    return ip;
}

/* ---- local mode ---- */

static bool write_sim_config(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    fprintf(f,
            "{\"apps\": [{\"name\": \"demo\", \"versions\": [{\"name\": \"v1\",\n"
            "  \"session_config\": {\"kind\": \"Seat\", \"sockets\": 16, \"autodeploy\": false},\n"
            "  \"template\": {\"public_ip\": \"127.0.0.1\", \"tags\": [\"e2e\"],\n"
            "    \"location\": {\"city\": \"Montreal\", \"country\": \"Canada\", "
            "\"continent\": \"North America\", \"latitude\": 45.5, \"longitude\": -73.6},\n"
            "    \"ports\": [{\"name\": \"gameport\", \"internal\": 7000, \"protocol\": "
            "\"UDP\"}]},\n"
            "  \"deployments\": [\n");
    for (int i = 0; i < E2E_DEPLOYMENTS; i++)
        fprintf(f,
                "    {\"request_id\": \"%s\", \"public_ip\": \"127.0.0.1\", \"ports\": [{\"name\": "
                "\"gameport\", \"internal\": %d, \"external\": %d, \"protocol\": \"UDP\"}]}%s\n",
                E.dep[i].request_id, E.dep[i].internal_port, E.dep[i].port,
                i + 1 < E2E_DEPLOYMENTS ? "," : "");
    fprintf(f, "  ]}]}]}\n");
    return fclose(f) == 0;
}

static bool start_sim(void)
{
    char config[600], envdir[600], ready[600];
    snprintf(config, sizeof config, "%s/sim-config.json", E.dir);
    snprintf(envdir, sizeof envdir, "%s/env", E.dir);
    snprintf(ready, sizeof ready, "%s/sim.url", E.dir);
    if (!write_sim_config(config)) return false;
    sg_proc *p = &E.sim;
    sg_proc_init(p, "edgegap-sim", E.dir, E.sim_bin);
    sg_proc_args(p, "--listen-address", "127.0.0.1");
    sg_proc_args(p, "--listen-port", "0");
    sg_proc_args(p, "--ready-file", ready);
    sg_proc_args(p, "--config", config);
    sg_proc_args(p, "--env-dir", envdir);
    sg_proc_env(p, "SEATGATE_SIM_API_KEY", E.api_key);
    snprintf(p->ready_file, sizeof p->ready_file, "%s", ready);
    return sg_proc_start(p, 15000) && read_line(ready, E.sim_url, sizeof E.sim_url);
}

/* The leaderboard on the stack's store, started before the game servers: it keeps the
 * events stream their score events go into. */
static bool start_leaderboard(void)
{
    char ready[600];
    snprintf(ready, sizeof ready, "%s/leaderboard.url", E.dir);
    sg_proc *p = &E.lb;
    sg_proc_init(p, "leaderboard", E.dir, E.lb_bin);
    sg_proc_args(p, "--listen-address", "127.0.0.1");
    sg_proc_args(p, "--listen-port", "0");
    sg_proc_args(p, "--ready-file", ready);
    sg_proc_args(p, "--store-url", E.nats_url);
    sg_proc_args(p, "--app", E.app);
    if (E.nats_nodes > 1) sg_proc_args(p, "--kv-replicas", "3");
    snprintf(p->ready_file, sizeof p->ready_file, "%s", ready);
    return sg_proc_start(p, 15000) && read_line(ready, E.lb_url, sizeof E.lb_url);
}

/* Agones: a fleet of two GameServers on one node at 127.0.0.1, Passthrough port "gameport",
 * a players List smaller than the crowd (so it spreads over both), health checked every
 * second (a killed game server goes Unhealthy within seconds). */
static bool start_agones_sim(void)
{
    char config[600], ready[600], servers[600];
    snprintf(config, sizeof config, "%s/agones-fleet.json", E.dir);
    snprintf(ready, sizeof ready, "%s/agones-sim.urls", E.dir);
    snprintf(servers, sizeof servers, "%s/agones-servers", E.dir);
    int capacity = E.players * 3 / 4 > 4 ? E.players * 3 / 4 : 4;
    FILE *f = fopen(config, "w");
    if (!f) return false;
    fprintf(f,
            "{\"namespace\": \"default\", \"fleet\": \"e2e\", \"replicas\": %d,\n"
            " \"nodes\": [{\"name\": \"node-a\", \"addresses\": [{\"type\": \"ExternalIP\", "
            "\"address\": \"127.0.0.1\"}]}],\n"
            " \"ports\": [{\"name\": \"gameport\", \"portPolicy\": \"Passthrough\", \"protocol\": "
            "\"UDP\"}],\n"
            " \"portRange\": {\"min\": 20000, \"max\": 29999},\n"
            " \"health\": {\"periodSeconds\": 1, \"failureThreshold\": 3, "
            "\"initialDelaySeconds\": 2},\n"
            " \"lists\": {\"players\": {\"capacity\": %d}}}\n",
            E2E_DEPLOYMENTS, capacity);
    if (fclose(f) != 0) return false;
    sg_proc *p = &E.sim;
    sg_proc_init(p, "agones-sim", E.dir, E.agones_bin);
    sg_proc_args(p, "--config", config);
    sg_proc_args(p, "--ready-file", ready);
    sg_proc_args(p, "--servers-file", servers);
    snprintf(p->ready_file, sizeof p->ready_file, "%s", ready);
    char urls[600];
    if (!sg_proc_start(p, 15000) || !read_line(ready, urls, sizeof urls)) return false;
    if (sscanf(urls, "%255s %255s", E.alloc_url, E.sim_url) != 2) return false;
    /* The GameServers, in slot order: name, sidecar port, game port. */
    f = fopen(servers, "r");
    int n = 0;
    /* Fleet "e2e": a name is "e2e-", five characters, "-" and five more (15 in all). */
    char name[16], state[32];
    int sdk, game;
    while (f && n < E2E_DEPLOYMENTS && fscanf(f, "%15s %d %d %31s", name, &sdk, &game, state) == 4) {
        e2e_deployment *d = &E.dep[n++];
        snprintf(d->request_id, sizeof d->request_id, "%s", name);
        snprintf(d->fqdn, sizeof d->fqdn, "%s", name); /* the hook's name in the store */
        snprintf(d->public_ip, sizeof d->public_ip, "127.0.0.1");
        d->sdk_port = sdk;
        d->port = d->internal_port = game;
    }
    if (f) fclose(f);
    if (n != E2E_DEPLOYMENTS) fprintf(stderr, "the Agones simulator lists %d GameServers\n", n);
    return n == E2E_DEPLOYMENTS;
}

static void describe_matchmaker(int i)
{
    sg_proc *p = &E.mm[i];
    char name[32], ready[600], port[16], instance[32];
    snprintf(name, sizeof name, "matchmaker%d", i + 1);
    snprintf(ready, sizeof ready, "%s/%s.url", E.dir, name);
    snprintf(instance, sizeof instance, "mm%d", i + 1);
    if (E.mm_port[i] <= 0) E.mm_port[i] = sg_test_free_tcp_port();
    snprintf(port, sizeof port, "%d", E.mm_port[i]);
    sg_proc_init(p, name, E.dir, E.mm_bin);
    sg_proc_args(p, "--listen-address", "127.0.0.1");
    sg_proc_args(p, "--listen-port", port);
    sg_proc_args(p, "--ready-file", ready);
    sg_proc_args(p, "--store-url", E.nats_url);
    sg_proc_args(p, "--app", E.app);
    if (E.agones) {
        sg_proc_args(p, "--platform", "agones");
        sg_proc_args(p, "--agones-allocator-url", E.alloc_url);
        sg_proc_args(p, "--agones-fleet", "e2e");
    } else {
        sg_proc_args(p, "--edgegap-url", E.sim_url);
        sg_proc_args(p, "--edgegap-app", "demo");
        sg_proc_args(p, "--edgegap-version", "v1");
        sg_proc_args(p, "--edgegap-rate", "0");
    }
    sg_proc_args(p, "--port-name", "gameport");
    sg_proc_args(p, "--protocol-id", E.protocol_id);
    sg_proc_args(p, "--token-dialect", E.dialect);
    /* Short deadlines so the reaper's work fits in the suite's time. */
    sg_proc_args(p, "--wait-timeout", "4s");
    sg_proc_args(p, "--token-expire", "10");
    sg_proc_args(p, "--claim-grace", "1s");
    sg_proc_args(p, "--reap-interval", "1s");
    sg_proc_args(p, "--server-stale", "4s"); /* game servers heartbeat every second */
    sg_proc_args(p, "--nats-reconnect-wait", "250ms");
    sg_proc_args(p, "--trusted-proxies", "127.0.0.1/32");
    sg_proc_args(p, "--instance-id", instance);
    if (E.nats_nodes > 1) sg_proc_args(p, "--kv-replicas", "3");
    if (!E.agones) sg_proc_env(p, "SEATGATE_EDGEGAP_API_KEY", E.api_key);
    sg_proc_env(p, "SEATGATE_NETCODE_KEY", E.key_hex);
    snprintf(p->ready_file, sizeof p->ready_file, "%s", ready);
    snprintf(E.mm_url[i], sizeof E.mm_url[i], "http://127.0.0.1:%d", E.mm_port[i]);
}

/* ---- process control ---- */

/* External mode: one action asked of the controller. The request is written whole under a
 * temporary name and renamed to request.N; the controller answers in reply.N with "ok" or
 * "error <why>". Waits up to 3 minutes (a container restart waits for its healthcheck). */
static bool control(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool control(const char *fmt, ...)
{
    static int seq;
    if (!E.control_dir[0]) return false;
    char action[256], tmp[400], req[400], rep[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(action, sizeof action, fmt, ap);
    va_end(ap);
    seq++;
    snprintf(tmp, sizeof tmp, "%s/.request.%d", E.control_dir, seq);
    snprintf(req, sizeof req, "%s/request.%d", E.control_dir, seq);
    snprintf(rep, sizeof rep, "%s/reply.%d", E.control_dir, seq);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", action) < 0 || fclose(f) != 0 || rename(tmp, req) != 0) {
        fprintf(stderr, "   control: cannot write %s\n", req);
        return false;
    }
    fprintf(stderr, "   control: %s\n", action);
    char line[256] = "";
    long long deadline = sg_test_now_ms() + 180000;
    while (!read_line(rep, line, sizeof line) && sg_test_now_ms() < deadline)
        sg_test_sleep_ms(100);
    if (strcmp(line, "ok") != 0) {
        fprintf(stderr, "   control: '%s' failed: %s\n", action, line[0] ? line : "no reply");
        return false;
    }
    return true;
}

bool e2e_can_control(void)
{
    return !E.external || E.control_dir[0];
}

static bool matchmaker_ready(int i, long timeout_ms)
{
    char url[300];
    snprintf(url, sizeof url, "%s/readyz", E.mm_url[i]);
    return E2E_WAIT_UNTIL(e2e_http_get_status(url) == 200, timeout_ms);
}

bool e2e_matchmaker_start(int i)
{
    if (E.external) return E.mm_url[i][0] && control("start matchmaker %d", i) && matchmaker_ready(i, 60000);
    if (E.mm[i].argc == 0) describe_matchmaker(i);
    return sg_proc_start(&E.mm[i], 15000);
}

bool e2e_matchmaker_kill(int i)
{
    if (E.external) return control("kill matchmaker %d", i);
    sg_proc_kill(&E.mm[i]);
    return true;
}

bool e2e_matchmaker_stop(int i)
{
    if (E.external) return control("stop matchmaker %d", i);
    return sg_proc_stop(&E.mm[i], 10000) == 0;
}

static void describe_server(int i)
{
    e2e_deployment *d = &E.dep[i];
    sg_proc *p = &d->proc;
    char name[32], env[600], listen[64];
    snprintf(name, sizeof name, "gameserver-%s", d->request_id);
    snprintf(env, sizeof env, "%s/env/%s.env", E.dir, d->request_id);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", d->internal_port);
    sg_proc_init(p, name, E.dir, E.server_bin);
    sg_proc_args(p, "--listen", listen);
    sg_proc_args(p, "--protocol-id", E.protocol_id);
    if (E.agones) {
        /* As Agones runs it: the sidecar's port in the environment; seats nobody will claim
         * are swept soon (a matchmaker killed mid-allocation leaves one without a record). */
        char sdk[16];
        snprintf(sdk, sizeof sdk, "%d", d->sdk_port);
        sg_proc_env(p, "AGONES_SDK_HTTP_PORT", sdk);
        sg_proc_env(p, "SEATGATE_AGONES_SEAT_SWEEP", "500ms");
        sg_proc_env(p, "SEATGATE_AGONES_ORPHAN_GRACE", "3s");
    } else {
        sg_proc_env_file(p, env); /* ARBITRIUM_* as Edgegap injects them */
        sg_proc_env(p, "SEATGATE_EDGEGAP_URL", E.sim_url);
    }
    sg_proc_env(p, "SEATGATE_STORE_URL", E.nats_url);
    sg_proc_env(p, "SEATGATE_APP", E.app);
    sg_proc_env(p, "SEATGATE_HEARTBEAT", "1s");
    sg_proc_env(p, "SEATGATE_NETCODE_KEY", E.key_hex);
    sg_proc_env(p, "SEATGATE_TOKEN_DIALECT", E.dialect);
    sg_proc_env(p, "SEATGATE_PORT_NAME", "gameport"); /* the simulator's port, as --port-name */
    if (d->cert_digest_given[0]) sg_proc_env(p, "SEATGATE_CERT_DIGEST", d->cert_digest_given);
    if (!d->keyless && !E.agones) sg_proc_env(p, "SEATGATE_EDGEGAP_API_KEY", E.api_key);
    snprintf(p->ready_line, sizeof p->ready_line, "listening ");
}

bool e2e_server_start(int i)
{
    if (E.external) return false; /* the stack's own servers are started with it */
    if (E.dep[i].proc.argc == 0) describe_server(i);
    return sg_proc_start(&E.dep[i].proc, 15000);
}

bool e2e_server_kill(int i)
{
    bool ok = true;
    if (E.external)
        ok = control("kill server %s", E.dep[i].request_id);
    else
        sg_proc_kill(&E.dep[i].proc);
    if (ok) E.dep[i].killed = true;
    return ok;
}

bool e2e_nats_stop(void)
{
    if (E.nats_nodes != 1) return false;
    if (E.external) return control("stop nats");
    sg_test_nats_stop(&E.nats);
    return true;
}

bool e2e_nats_start(void)
{
    if (E.nats_nodes != 1) return false;
    if (E.external ? !control("start nats") : sg_test_nats_restart(&E.nats) != 0) return false;
    return sg_test_nats_wait_jetstream(E.external ? E.nats_url : E.nats.url, 30000) == 0;
}

int e2e_nats_kill_leader(const char *stream)
{
    if (E.nats_nodes < 2) return -1;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    int victim = -1;
    char leader[128] = "";
    if (natsConnection_ConnectTo(&nc, E.external ? E.nats_url : E.cluster.urls) == NATS_OK &&
        natsConnection_JetStream(&js, nc, NULL) == NATS_OK &&
        js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK && si->Cluster &&
        si->Cluster->Leader)
        snprintf(leader, sizeof leader, "%s", si->Cluster->Leader);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    if (!leader[0]) return -1;
    if (E.external) {
        /* The controller knows the node by its server name. */
        if (!control("kill nats-node %s", leader)) return -1;
        const char *digit = leader + strcspn(leader, "0123456789");
        return *digit ? atoi(digit) - 1 : 0;
    }
    victim = sg_test_nats_cluster_find(&E.cluster, leader);
    if (victim >= 0) sg_test_nats_cluster_kill(&E.cluster, victim);
    return victim;
}

static bool agones_all_ready(void)
{
    cJSON *s = e2e_sim_state();
    int ready = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(s, "gameservers"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(g, "name");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(g, "state");
        for (int i = 0; i < E2E_DEPLOYMENTS; i++)
            if (cJSON_IsString(name) && cJSON_IsString(st) &&
                strcmp(name->valuestring, E.dep[i].request_id) == 0 &&
                strcmp(st->valuestring, "Ready") == 0)
                ready++;
    }
    cJSON_Delete(s);
    return ready == E2E_DEPLOYMENTS;
}

static bool start_local(void)
{
    snprintf(E.api_key, sizeof E.api_key, "e2e-api-key-0123456");
    snprintf(E.protocol_id, sizeof E.protocol_id, "4242");
    sg_key *key = NULL;
    if (sg_key_generate(&key) != SG_OK) return false;
    sg_key_format_hex(key, E.key_hex, sizeof E.key_hex);
    sg_key_free(key);
    if (E.nats_nodes > 1) {
        if (sg_test_nats_cluster_start(&E.cluster, E.nats_nodes) != 0) return false;
        snprintf(E.nats_url, sizeof E.nats_url, "%s", E.cluster.urls);
    } else {
        if (sg_test_nats_start(&E.nats) != 0) return false;
        snprintf(E.nats_url, sizeof E.nats_url, "%s", E.nats.url);
    }
    for (int i = 0; i < E2E_DEPLOYMENTS; i++) {
        snprintf(E.dep[i].request_id, sizeof E.dep[i].request_id, "%s", REQUEST_IDS[i]);
        snprintf(E.dep[i].public_ip, sizeof E.dep[i].public_ip, "127.0.0.1");
        /* The second server holds no Edgegap key: its deletes go through the queue. */
        E.dep[i].keyless = i == 1;
        do {
            E.dep[i].port = sg_test_free_udp_port();
        } while (i > 0 && E.dep[i].port == E.dep[0].port);
        E.dep[i].internal_port = E.dep[i].port;
        while (E.port_mapping &&
               (E.dep[i].internal_port == E.dep[i].port ||
                (i > 0 && (E.dep[i].internal_port == E.dep[0].port ||
                           E.dep[i].internal_port == E.dep[0].internal_port))))
            E.dep[i].internal_port = sg_test_free_udp_port();
        if (E.dep[i].port <= 0 || E.dep[i].internal_port <= 0) return false;
    }
    if (E.port_mapping) {
        /* lightyear's WebTransport servers print the digest as wtransport does (colons); the
         * first server is given it that way, in upper case, the second none. */
        uint8_t digest[32];
        randombytes_buf(digest, sizeof digest);
        char *g = E.dep[0].cert_digest_given, *w = E.dep[0].cert_digest_want;
        for (int b = 0; b < 32; b++) {
            sprintf(g + 3 * b, "%02X%s", digest[b], b < 31 ? ":" : "");
            sprintf(w + 2 * b, "%02x", digest[b]);
        }
    }
    if (E.port_mapping && !e2e_relay_start()) return false;
    if (E.agones ? !start_agones_sim() : !start_sim()) return false;
    /* The matchmaker first: it creates the buckets with its settings. */
    if (!e2e_matchmaker_start(0)) return false;
    if (E.lb_bin[0] && !start_leaderboard()) return false;
    for (int i = 0; i < E2E_DEPLOYMENTS; i++)
        if (!e2e_server_start(i)) return false;
    /* Agones allocates only Ready GameServers: each becomes Ready once its hook started. */
    if (E.agones && !E2E_WAIT_UNTIL(agones_all_ready(), 15000)) {
        fprintf(stderr, "the GameServers did not become Ready (their hooks call Ready)\n");
        return false;
    }
    return true;
}

/* ---- external mode: the deployments are the simulator's configured ones ---- */

static bool discover_deployments(void)
{
    cJSON *s = e2e_sim_state();
    int n = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(s, "deployments"))
    {
        if (n >= E2E_DEPLOYMENTS) break;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "autodeployed"))) continue;
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(d, "request_id");
        const cJSON *fqdn = cJSON_GetObjectItemCaseSensitive(d, "fqdn");
        if (!E.external) {
            /* Local: the deployments are ours; only their FQDNs are learnt. */
            for (int i = 0; i < E2E_DEPLOYMENTS; i++)
                if (cJSON_IsString(rid) && cJSON_IsString(fqdn) &&
                    strcmp(E.dep[i].request_id, rid->valuestring) == 0 && !E.dep[i].fqdn[0]) {
                    snprintf(E.dep[i].fqdn, sizeof E.dep[i].fqdn, "%s", fqdn->valuestring);
                    n++;
                }
            continue;
        }
        if (cJSON_IsString(fqdn))
            snprintf(E.dep[n].fqdn, sizeof E.dep[n].fqdn, "%s", fqdn->valuestring);
        const cJSON *ip = cJSON_GetObjectItemCaseSensitive(d, "public_ip");
        const cJSON *ports = cJSON_GetObjectItemCaseSensitive(d, "ports");
        const cJSON *game = cJSON_GetObjectItemCaseSensitive(ports, E.port_name);
        const cJSON *ext = cJSON_GetObjectItemCaseSensitive(game, "external");
        if (!cJSON_IsString(rid) || !cJSON_IsString(ip) || !cJSON_IsNumber(ext)) continue;
        snprintf(E.dep[n].request_id, sizeof E.dep[n].request_id, "%s", rid->valuestring);
        snprintf(E.dep[n].public_ip, sizeof E.dep[n].public_ip, "%s", ip->valuestring);
        E.dep[n].port = ext->valueint;
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(game, "internal");
        E.dep[n].internal_port = cJSON_IsNumber(in) ? in->valueint : ext->valueint;
        n++;
    }
    cJSON_Delete(s);
    if (n != E2E_DEPLOYMENTS)
        fprintf(stderr, "the simulator at %s lists %d configured deployments, not %d\n", E.sim_url,
                n, E2E_DEPLOYMENTS);
    return n == E2E_DEPLOYMENTS;
}

/* ---- both ---- */

static bool open_store(void)
{
    sg_store_options o;
    sg_store_options_init(&o);
    o.url = E.nats_url;
    o.app = E.app;
    o.reconnect_wait_ms = 250;
    if (E.nats_nodes > 1) o.replicas = 3;
    long long deadline = sg_test_now_ms() + 30000;
    sg_status st;
    while ((st = sg_store_open(&o, &E.store)) != SG_OK && sg_test_now_ms() < deadline)
        sg_test_sleep_ms(500);
    if (st != SG_OK) {
        fprintf(stderr, "store %s: %s\n", E.nats_url, sg_last_error());
        return false;
    }
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    /* Opened as the matchmaker and the hook open them: created if the suite comes first. */
    if (sg_bucket_open(E.store, SG_BUCKET_SESSIONS, &bo, &E.sessions) != SG_OK) return false;
    if (sg_bucket_open(E.store, SG_BUCKET_GAMESERVER, &bo, &E.gameserver) != SG_OK) return false;
    bo.ttl_ms = 40000;
    if (sg_bucket_open(E.store, SG_BUCKET_CONNECT_TOKENS, &bo, &E.tokens) != SG_OK) return false;
    return true;
}

bool e2e_stack_start(void)
{
    if (!E.external && !start_local()) return false;
    /* Local mode too: the simulator says each deployment's FQDN (the gameserver key); on
     * Agones the GameServers' names are their keys. */
    if (!E.agones && !discover_deployments()) return false;
    if (!open_store()) return false;
    if (!e2e_events_start()) return false;
    return true;
}

void e2e_stack_stop(void)
{
    e2e_events_stop();
    sg_bucket_close(E.sessions);
    sg_bucket_close(E.tokens);
    sg_bucket_close(E.gameserver);
    sg_store_close(E.store);
    E.sessions = E.tokens = E.gameserver = NULL;
    E.store = NULL;
    if (E.external) return;
    for (int i = 0; i < E2E_DEPLOYMENTS; i++) {
        if (E.dep[i].proc.pid > 0) sg_proc_stop(&E.dep[i].proc, 5000);
        sg_proc_free(&E.dep[i].proc);
    }
    for (int i = 0; i < E2E_MATCHMAKERS; i++) {
        if (E.mm[i].pid > 0) sg_proc_stop(&E.mm[i], 10000);
        sg_proc_free(&E.mm[i]);
    }
    if (E.sim.pid > 0) sg_proc_stop(&E.sim, 5000);
    sg_proc_free(&E.sim);
    if (E.lb.pid > 0) sg_proc_stop(&E.lb, 5000);
    sg_proc_free(&E.lb);
    e2e_relay_stop();
    if (E.nats_nodes > 1)
        sg_test_nats_cluster_free(&E.cluster);
    else
        sg_test_nats_free(&E.nats);
}
