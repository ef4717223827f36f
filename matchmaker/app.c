/* The matchmaker's settings and wiring. */
#include "app.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admission.h"
#include "auth.h"
#include "fleet.h"
#include "client_ip.h"
#include "cors.h"
#include "flow.h"
#include "janitor.h"
#include "seatgate/ledger.h"
#include "loop.h"
#include "metrics.h"
#include "platform/agones.h"
#include "platform/edgegap.h"
#include "seatgate/edgegap.h"
#include "seatgate/keys.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"
#include "seatgate/records.h"
#include "seatgate/token.h"
#include "server.h"
#include "workpool.h"

#define MS(x) (x)
#define HOUR (3600LL * 1000)

/* clang-format off */
static const sg_setting app_settings[] = {
    /* HTTP */
    {.name = "listen-address", .type = SG_SET_STRING, .def = "::",
     .help = "address to listen on (:: = every IPv6 and IPv4 address)"},
    {.name = "listen-port", .type = SG_SET_INT, .def = "8080", .min = 0, .max = 65535,
     .help = "TCP port (0 picks a free one)"},
    {.name = "ready-file", .type = SG_SET_STRING,
     .help = "write the service URL to this file once listening"},
    {.name = "tls-cert-file", .type = SG_SET_STRING,
     .help = "PEM certificate chain: serve HTTPS (with tls-key-file)"},
    {.name = "tls-key-file", .type = SG_SET_STRING, .help = "PEM private key for HTTPS"},
    {.name = "http-threads", .type = SG_SET_INT, .def = "1", .min = 1, .max = 64,
     .help = "HTTP event-loop threads"},
    {.name = "max-connections", .type = SG_SET_INT, .def = "16384", .min = 16, .max = 1000000,
     .help = "concurrent HTTP connections (the fd limit is raised to fit)"},
    {.name = "connection-memory", .type = SG_SET_SIZE, .def = "8KiB", .min = 4096,
     .max = 1048576, .help = "buffer per HTTP connection (request line and headers, the answer when it "
                             "fits; 8 KiB as nginx's header buffers: most of what a waiting player "
                             "costs; 4 KiB holds the most waiting players per GiB)"},
    {.name = "connection-timeout", .type = SG_SET_DURATION, .def = "30s", .min = MS(1000),
     .max = HOUR, .help = "idle HTTP connections close after this (waiting requests do not)"},
    {.name = "max-connections-per-ip", .type = SG_SET_INT, .def = "64", .min = 0, .max = 1000000,
     .help = "concurrent HTTP connections from one client address (IPv6: per ipv6-prefix; "
             "trusted proxies are not capped; 0: no cap)"},
    {.name = "request-head-timeout", .type = SG_SET_DURATION, .def = "10s", .min = 0,
     .max = HOUR, .help = "a request's head must be complete this long after it began, "
                          "however slowly bytes come (0: no deadline)"},
    {.name = "request-body-timeout", .type = SG_SET_DURATION, .def = "10s", .min = 0,
     .max = HOUR, .help = "a request's body must be complete this long after its head (0: no "
                          "deadline)"},
    {.name = "max-body", .type = SG_SET_SIZE, .def = "4KiB", .min = 64, .max = 65536,
     .help = "largest /connect-me request body"},
    {.name = "trusted-proxies", .type = SG_SET_STRING, .def = "",
     .help = "CIDRs of proxies whose forwarding header is believed (comma-separated)"},
    {.name = "forwarded-header", .type = SG_SET_STRING, .def = "x-forwarded-for",
     .choices = "x-forwarded-for|forwarded|none",
     .help = "header trusted proxies set: x-forwarded-for, forwarded (RFC 7239) or none"},
    {.name = "fake-ip", .type = SG_SET_STRING,
     .help = "development: public IP used for loopback/private players (Edgegap needs one)"},
    {.name = "cors-origins", .type = SG_SET_STRING, .def = "",
     .help = "origins allowed to call /connect-me from a browser (comma-separated, or *)"},
    {.name = "cors-credentials", .type = SG_SET_BOOL, .def = "false",
     .help = "send Access-Control-Allow-Credentials: true"},
    {.name = "cors-max-age", .type = SG_SET_DURATION, .def = "10m", .min = 0, .max = 24 * HOUR,
     .help = "how long browsers may cache a preflight answer"},
    /* Admission */
    {.name = "ip-rate", .type = SG_SET_INT, .def = "30", .min = 0, .max = 1000000,
     .help = "/connect-me requests per minute per player IP, or per signed-in user (0: no limit)"},
    {.name = "ip-burst", .type = SG_SET_INT, .def = "5", .min = 1, .max = 1000000,
     .help = "requests a player IP may send at once before ip-rate applies"},
    {.name = "ip-table-size", .type = SG_SET_INT, .def = "100000", .min = 1, .max = 100000000,
     .help = "player IPs remembered by the rate limiter (bounded memory)"},
    {.name = "ipv6-prefix", .type = SG_SET_INT, .def = "64", .min = 1, .max = 128,
     .help = "IPv6 players sharing this prefix share a rate limit"},
    {.name = "max-in-flight", .type = SG_SET_INT, .def = "15000", .min = 1, .max = 10000000,
     .help = "/connect-me requests waiting at once; more get 503"},
    {.name = "seats-per-player", .type = SG_SET_INT, .def = "2", .min = 0, .max = 8,
     .help = "live seats one player (IP, IPv6 prefix, or signed-in user) may hold across replicas; a request "
             "from a player who holds an unused one gets it again (0: no cap)"},
    {.name = "single-flight", .type = SG_SET_BOOL, .def = "true",
     .help = "a second request from a waiting player IP joins the first"},
    {.name = "client-selectors", .type = SG_SET_STRING, .def = "",
     .help = "deployment tags a client may ask for in \"selectors\" (comma-separated)"},
    {.name = "map-keys", .type = SG_SET_STRING, .def = "",
     .help = "maps a client may ask for in \"mapKey\" (comma-separated; carried in the seat "
             "token's mapKey claim; empty: the field is refused)"},
    /* Players */
    {.name = "auth", .type = SG_SET_STRING, .def = "off", .choices = "off|nakama|jwt",
     .help = "who may ask for a seat: anyone (off), players with a Nakama session token, or "
             "players with a token of another issuer (jwt); Authorization: Bearer <token>"},
    {.name = "auth-nakama-key", .type = SG_SET_STRING, .flags = SG_SET_SECRET,
     .help = "Nakama's session.encryption_key (the raw string; with auth=nakama)"},
    {.name = "auth-keys", .type = SG_SET_STRING,
     .help = "JWK Set file of the issuer's keys (Ed25519 public keys or HS256 secrets; with "
             "auth=jwt)"},
    {.name = "auth-issuer", .type = SG_SET_STRING, .def = "",
     .help = "the iss a player's token must carry (auth=jwt; empty: not checked)"},
    {.name = "auth-audience", .type = SG_SET_STRING, .def = "",
     .help = "an aud a player's token must carry (auth=jwt; empty: not checked)"},
    {.name = "auth-user-claim", .type = SG_SET_STRING, .def = "sub",
     .help = "the claim of a player's token that names them (auth=jwt; Nakama's is uid)"},
    {.name = "auth-leeway", .type = SG_SET_DURATION, .def = "5s", .min = 0, .max = MS(300000),
     .help = "clock skew allowed on a player's token exp, nbf and iat"},
    {.name = "auth-check-url", .type = SG_SET_STRING, .def = "",
     .help = "also show each token to this URL (Nakama: http://nakama:7350/v2/account): 2xx "
             "accepts, 401/403 refuses as revoked (empty: offline check only)"},
    {.name = "auth-check-timeout", .type = SG_SET_DURATION, .def = "2s", .min = MS(50),
     .max = MS(30000), .help = "longest wait for the online check"},
    {.name = "auth-check-cache", .type = SG_SET_DURATION, .def = "10s", .min = 0,
     .max = MS(600000), .help = "how long an answer of the online check is reused (0: ask "
                                "every time)"},
    {.name = "auth-check-failure", .type = SG_SET_STRING, .def = "closed", .choices = "closed|open",
     .help = "when the online check cannot be reached: refuse the player (closed, 503 "
             "auth_unavailable) or accept on the offline check alone (open)"},
    {.name = "auth-check-workers", .type = SG_SET_INT, .def = "4", .min = 1, .max = 256,
     .help = "threads that wait for the online check (each holds one check at a time)"},
    /* Placement */
    {.name = "placement", .type = SG_SET_STRING, .def = "platform",
     .choices = "platform|fill|nearest",
     .help = "how a server is chosen: by the platform from the player's IP (platform), the "
             "fullest live server within placement-budget (fill), or the closest (nearest)"},
    {.name = "placement-budget", .type = SG_SET_DURATION, .def = "80ms", .min = MS(1),
     .max = MS(10000), .help = "the round trip a server may be from the player to be joined"},
    {.name = "placement-fill-slack", .type = SG_SET_DURATION, .def = "15ms", .min = 0,
     .max = MS(10000),
     .help = "fill: how much farther than the closest server with room a fuller one may be "
             "(0: any within the budget)"},
    {.name = "placement-stale", .type = SG_SET_DURATION, .def = "15s", .min = MS(1000),
     .max = MS(600000),
     .help = "a server whose heartbeat is older is never chosen (keep above 2x the hooks' "
             "heartbeat)"},
    {.name = "geoip-db", .type = SG_SET_STRING, .def = "",
     .help = "a MaxMind DB file (GeoLite2-City, DB-IP City Lite...) placement estimates "
             "players' positions from, reopened when it changes (empty: none)"},
    {.name = "geoip-check", .type = SG_SET_DURATION, .def = "10s", .min = MS(100),
     .max = MS(3600000), .help = "how often geoip-db is looked at for a new file"},
    {.name = "placement-refresh", .type = SG_SET_DURATION, .def = "1s", .min = MS(100),
     .max = MS(60000), .help = "how often the live servers are read from the gameserver bucket"},
    /* The platform */
    {.name = "platform", .type = SG_SET_STRING, .def = "edgegap", .choices = "edgegap|agones",
     .help = "where seats come from: Edgegap sessions, or Agones GameServers' player lists"},
    {.name = "edgegap-app", .type = SG_SET_STRING,
     .help = "Edgegap application name (required with platform=edgegap)"},
    {.name = "edgegap-version", .type = SG_SET_STRING,
     .help = "Edgegap application version (required with platform=edgegap)"},
    {.name = "agones-allocator-url", .type = SG_SET_STRING,
     .help = "agones-allocator's REST endpoint, https://host[:port] (http:// only for local "
             "use; required with platform=agones)"},
    {.name = "agones-client-cert", .type = SG_SET_STRING,
     .help = "PEM client certificate for the allocator's mTLS (with agones-client-key)"},
    {.name = "agones-client-key", .type = SG_SET_STRING,
     .help = "PEM key of agones-client-cert"},
    {.name = "agones-ca-cert", .type = SG_SET_STRING,
     .help = "PEM CA the allocator's server certificate chains to (default: the system's)"},
    {.name = "agones-namespace", .type = SG_SET_STRING, .def = "default",
     .help = "namespace of the fleet"},
    {.name = "agones-fleet", .type = SG_SET_STRING,
     .help = "fleet to allocate from (matchLabels agones.dev/fleet); empty: any GameServer"},
    {.name = "agones-match-labels", .type = SG_SET_STRING, .def = "",
     .help = "further labels a GameServer must have, k=v,k2=v2"},
    {.name = "agones-scheduling", .type = SG_SET_STRING, .def = "Packed",
     .choices = "Packed|Distributed", .help = "the allocator's scheduling strategy"},
    {.name = "agones-list", .type = SG_SET_STRING, .def = "players",
     .help = "the GameServers' List that holds seats (Counters & Lists)"},
    {.name = "agones-join", .type = SG_SET_BOOL, .def = "true",
     .help = "seat players on Allocated servers with room before taking a Ready one"},
    {.name = "agones-timeout", .type = SG_SET_DURATION, .def = "5s", .min = MS(100),
     .max = MS(120000), .help = "one allocator call, at most"},
    {.name = "agones-contention-retries", .type = SG_SET_INT, .def = "3", .min = 0, .max = 10,
     .help = "an allocation refused for contention (409) is retried this many times"},
    {.name = "agones-unallocated-status", .type = SG_SET_INT, .def = "429", .min = 400,
     .max = 599, .help = "the allocator's HTTP status for \"no GameServer available\""},
    {.name = "agones-no-capacity-retry", .type = SG_SET_DURATION, .def = "5s", .min = MS(1000),
     .max = HOUR, .help = "Retry-After sent with 503 no_capacity"},
    {.name = "agones-exposure", .type = SG_SET_STRING, .def = "hostport",
     .choices = "hostport|nodeport|containerport|gateway",
     .help = "how players reach the server: node address + host port, node address + "
             "agones-node-port, pod address + agones-container-port (internal only), or "
             "agones-gateway-url in front of them all"},
    {.name = "agones-gateway-url", .type = SG_SET_STRING,
     .help = "agones-exposure=gateway: the URL players dial, wss://host/path with {server} "
             "(the GameServer's name, the route) and {port} replaced"},
    {.name = "agones-address-type", .type = SG_SET_STRING, .def = "",
     .help = "node address to hand out by type (ExternalIP, InternalIP, ExternalDNS...); "
             "empty: the GameServer's primary address"},
    {.name = "agones-node-port", .type = SG_SET_INT, .def = "0", .min = 0, .max = 65535,
     .help = "the NodePort in front of the game port (agones-exposure=nodeport)"},
    {.name = "agones-container-port", .type = SG_SET_INT, .def = "0", .min = 0, .max = 65535,
     .help = "the game's container port (agones-exposure=containerport)"},
    {.name = "agones-allow-containerport", .type = SG_SET_BOOL, .def = "false",
     .help = "allow agones-exposure=containerport (pod addresses: players inside the "
             "cluster network only)"},
    /* The flow */
    {.name = "port-name", .type = SG_SET_STRING, .def = SG_DEFAULT_PORT_NAME,
     .help = "game port to hand out, by name (empty: the deployment's first port)"},
    {.name = "wait-timeout", .type = SG_SET_DURATION, .def = "60s", .min = MS(100),
     .max = HOUR, .help = "longest wait for a ready server before answering 504"},
    {.name = "poll-first", .type = SG_SET_DURATION, .def = "250ms", .min = MS(10),
     .max = MS(60000), .help = "delay before the second poll (the first is immediate)"},
    {.name = "poll-max", .type = SG_SET_DURATION, .def = "2s", .min = MS(10), .max = MS(600000),
     .help = "longest delay between polls (the delay doubles up to it; with the webhook, "
             "the only delay)"},
    {.name = "webhook-public-url", .type = SG_SET_STRING,
     .help = "base URL Edgegap can reach this service at (enables the webhook)"},
    {.name = "webhook-secret", .type = SG_SET_STRING, .flags = SG_SET_SECRET,
     .help = "secret path segment of the webhook (at least 16 characters)"},
    {.name = "claim-grace", .type = SG_SET_DURATION, .def = "60s", .min = 0, .max = 24 * HOUR,
     .help = "unclaimed this long after its token expired, a session is reaped"},
    /* Tokens */
    {.name = "token-kind", .type = SG_SET_STRING, .def = "netcode", .choices = "netcode|jwt|both",
     .help = "what the answer hands out: the netcode connect token, a signed seat token (JWS, "
             "seat_token), or both"},
    {.name = "seat-token-keys", .type = SG_SET_STRING,
     .help = "JWK Set file the seat tokens are signed with (seatgate-token jwt-keygen; needed "
             "with token-kind jwt or both)"},
    {.name = "seat-token-kid", .type = SG_SET_STRING,
     .help = "the key of seat-token-keys that signs (default: the first that can)"},
    {.name = "seat-token-audience", .type = SG_SET_STRING, .def = "",
     .help = "the seat tokens' aud claim (the game; empty: none)"},
    {.name = "token-expire", .type = SG_SET_INT, .def = "30", .min = 1, .max = SG_TOKEN_EXPIRE_MAX_S,
     .help = "connect token lifetime in seconds"},
    {.name = "token-timeout", .type = SG_SET_INT, .def = "15", .min = -1, .max = 3600,
     .help = "netcode connection timeout in seconds written into tokens (-1: none)"},
    {.name = "token-private-addresses", .type = SG_SET_STRING, .def = "auto",
     .choices = "auto|public|public+bind",
     .help = "what the token's encrypted address list holds: the public address only, or also "
             "the server's bind address (0.0.0.0:<internal port>, which lightyear 0.29 checks); "
             "auto: both when the internal port differs from the external one"},
    /* Background work */
    {.name = "store-calls", .type = SG_SET_STRING, .def = "auto", .choices = "auto|loop|pool",
     .help = "where the connect flow's store calls run: on its loop thread (no hand-off; for a "
             "local store), or on the store-workers threads (a store across the network); "
             "auto: loop on SQLite, pool on NATS"},
    {.name = "store-workers", .type = SG_SET_INT, .def = "32", .min = 1, .max = 256,
     .help = "threads running store calls for the connect flow (store-calls=pool) and the "
             "delete queue's writes: the store calls in flight at once, each waiting its "
             "round trip"},
    {.name = "delete-workers", .type = SG_SET_INT, .def = "2", .min = 0, .max = 64,
     .help = "threads deleting sessions from the durable queue (0: none here)"},
    {.name = "reap-interval", .type = SG_SET_DURATION, .def = "5s", .min = 0, .max = HOUR,
     .help = "how often unclaimed sessions are looked for (0: no reaper here)"},
    {.name = "server-stale", .type = SG_SET_DURATION, .def = "30s", .min = 0,
     .max = SG_SERVER_STALE_MAX_MS,
     .help = "a game server silent this long (no heartbeat) is gone: its claimed sessions are "
             "released and deleted (0: never)"},
    {.name = "orphan-sweep", .type = SG_SET_DURATION, .def = "0", .min = 0, .max = 24 * HOUR,
     .help = "how often Edgegap's sessions are listed to delete those without a record (0: off)"},
    {.name = "reconcile-interval", .type = SG_SET_DURATION, .def = "10s", .min = 0, .max = HOUR,
     .help = "how often create intents left behind are reconciled (0: not here)"},
    {.name = "reconcile-grace", .type = SG_SET_DURATION, .def = "30s", .min = MS(1000),
     .max = HOUR,
     .help = "a create intent is reconciled this long after its create call's deadline"},
    {.name = "delete-lease", .type = SG_SET_DURATION, .def = "30s", .min = MS(1000), .max = HOUR,
     .help = "a taken delete job returns to the queue after this if not finished"},
    {.name = "shutdown-timeout", .type = SG_SET_DURATION, .def = "30s", .min = 100,
     .max = 10 * 60 * 1000,
     .help = "a stop waits this long for creates in flight; the rest are cut, their intents "
             "kept for the reconciler"},
    {.name = "instance-id", .type = SG_SET_STRING,
     .help = "this replica's name in records and logs (default: host name and pid)"},
    {.name = "log-level", .type = SG_SET_STRING, .def = "info", .choices = SG_LOG_LEVEL_CHOICES,
     .help = "lines below this level are not written"},
};
/* clang-format on */

sg_status sg_app_config(sg_config *cfg)
{
    cfg->program = "seatgate-matchmaker";
    cfg->summary = "POST /connect-me: reserve a seat and hand out a connect token";
    cfg->env_prefix = "SEATGATE_";
    sg_status st = sg_config_add(cfg, app_settings, sizeof app_settings / sizeof app_settings[0]);
    if (st == SG_OK) st = sg_config_add(cfg, sg_token_settings, sg_token_settings_count);
    if (st == SG_OK)
        st = sg_config_set_text(cfg, "protocol-id",
                                "netcode protocol id (decimal or 0x hex), as the game server "
                                "expects",
                                NULL);
    if (st == SG_OK) st = sg_config_add(cfg, sg_edgegap_settings, sg_edgegap_settings_count);
    if (st == SG_OK) st = sg_config_add(cfg, sg_store_settings, sg_store_settings_count);
    return st;
}

/* ---- the running app ---- */

struct sg_app {
    sg_metrics *metrics;
    sg_loop *loop;
    sg_workpool *pool;
    sg_store *store;
    sg_ledger *ledger;
    sg_orchestrator orch;
    bool orch_ok;
    bool orch_attached; /* the flow loop drives the platform's transfers */
    sg_flow *flow;
    sg_janitor *janitor;
    sg_admission *admission;
    sg_cors *cors;
    sg_server *server;
    sg_key *key;
    sg_jws_keyset *seat_keys;
    sg_auth *auth;
    sg_workpool *auth_pool; /* online checks; NULL without one */
    sg_fleet *fleet;        /* the live servers, for placement; NULL when it is off */
    sg_geoip *geoip;        /* players' positions; NULL without geoip-db */
    sg_cidr *trusted;
    char **selectors;
    size_t selector_count;
    char *selector_text;
    char **maps;
    size_t map_count;
    char *map_text;
    char *label_text; /* agones-match-labels, split in place */
    char url[128];
    char instance[128];
    atomic_bool version_ok;
    char version_why[256];
    sg_timer check_timer;
    sg_histogram *upstream[SG_EDGEGAP_CALL_COUNT];
    sg_gauge *store_up;
    sg_gauge *version_up;
};

static void observe_attempt(const sg_edgegap_attempt *a, void *user)
{
    sg_app *app = user;
    if (a->call >= 0 && a->call < SG_EDGEGAP_CALL_COUNT)
        sg_histogram_observe(app->upstream[a->call], (double)a->duration_us / 1e6);
    char code[16];
    snprintf(code, sizeof code, "%d", a->http_status);
    const char *labels[] = {"call", sg_edgegap_call_name(a->call), "code", code, NULL};
    sg_counter_inc(sg_metrics_counter(app->metrics, "seatgate_upstream_requests_total",
                                      "Edgegap HTTP attempts, by call and status (0: no answer)",
                                      labels));
}

/* ---- readiness: the store is connected and the app version was found active ---- */

static void check_version(void *arg);

typedef struct check_ev {
    sg_app *app;
    sg_orch_result r;
} check_ev;

static void checked_on_loop(void *arg)
{
    check_ev *e = arg;
    sg_app *app = e->app;
    if (e->r.status == SG_OK) {
        if (!atomic_load(&app->version_ok))
            SG_INFO("matchmaker", "app_version_active", "backend=%s", app->orch.ops->name);
        atomic_store(&app->version_ok, true);
    } else {
        bool agones = strcmp(app->orch.ops->name, "agones") == 0;
        snprintf(app->version_why, sizeof app->version_why, "%s is not usable (%s: %.180s)",
                 agones ? "the Agones allocator" : "the Edgegap app version",
                 sg_status_name(e->r.status), e->r.message);
        char q[300];
        SG_WARN("matchmaker", "app_version_check_failed", "status=%s message=%s",
                sg_status_name(e->r.status), sg_log_quote(e->r.message, q, sizeof q));
        sg_loop_timer_start(app->loop, &app->check_timer, 10000);
    }
    free(e);
}

static void checked(const sg_orch_result *r, void *user)
{
    check_ev *e = calloc(1, sizeof *e);
    if (!e) return;
    e->app = user;
    e->r = *r;
    if (sg_loop_post(e->app->loop, checked_on_loop, e) != SG_OK) free(e);
}

static void orch_step(void *arg, int epfd, int timeout_ms)
{
    const sg_orchestrator *o = arg;
    o->ops->step(o->self, epfd, timeout_ms);
}

static void check_version(void *arg)
{
    sg_app *app = arg;
    app->orch.ops->check(app->orch.self, checked, app);
}

/* Gauges that must be true whenever /metrics is read, not only after a /readyz. */
static void scrape(sg_metrics *m, void *user)
{
    (void)m;
    sg_app *app = user;
    if (app->ledger) sg_gauge_set(app->store_up, sg_ledger_connected(app->ledger) ? 1 : 0);
    sg_gauge_set(app->version_up, atomic_load(&app->version_ok) ? 1 : 0);
}

static int app_ready(void *user, char *why, size_t size)
{
    sg_app *app = user;
    bool store = sg_ledger_connected(app->ledger);
    if (!store) {
        snprintf(why, size, "the state store is %s",
                 sg_store_state_name(sg_store_get_state(app->store)));
        return 0;
    }
    if (!atomic_load(&app->version_ok)) {
        snprintf(why, size, "%s",
                 app->version_why[0] ? app->version_why
                 : strcmp(app->orch.ops->name, "agones") == 0
                     ? "the Agones allocator is being checked"
                     : "the Edgegap app version is being checked");
        return 0;
    }
    return 1;
}

static void app_connect(void *user, sg_connect_call *call)
{
    sg_app *app = user;
    sg_flow_start(app->flow, call);
}

static int app_notify(void *user, const char *body, size_t len)
{
    sg_app *app = user;
    return sg_flow_notify(app->flow, body, len);
}

/* ---- building ---- */

static char *read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    return buf;
}

static sg_status split_list(const char *text, char **storage, char ***items, size_t *count)
{
    *items = NULL;
    *count = 0;
    *storage = strdup(text ? text : "");
    if (!*storage) return sg_fail(SG_E_NOMEM, "out of memory");
    size_t cap = 0;
    for (char *save = NULL, *tok = strtok_r(*storage, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 8;
            char **n = realloc(*items, cap * sizeof *n);
            if (!n) return sg_fail(SG_E_NOMEM, "out of memory");
            *items = n;
        }
        (*items)[(*count)++] = tok;
    }
    return SG_OK;
}

static sg_status bad(const char *setting, const char *why)
{
    return sg_fail(SG_E_INVALID, "--%s: %s", setting, why);
}

/* Connections beyond the open-file limit fail at accept (each is a descriptor, and the
 * Edgegap client, the store and the log need some too): say so at start, not under load. */
static void warn_if_fds_short(unsigned connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    unsigned long long need = (unsigned long long)connections + 256;
    if (need <= (unsigned long long)rl.rlim_cur) return;
    SG_WARN("app", "open_file_limit_low",
            "max_connections=%u open_file_limit=%llu hint=\"about %llu connections fit; raise "
            "the hard limit (ulimit -Hn, systemd LimitNOFILE=, docker --ulimit nofile=) or "
            "lower --max-connections\"",
            connections, (unsigned long long)rl.rlim_cur,
            rl.rlim_cur > 256 ? (unsigned long long)rl.rlim_cur - 256 : 0ULL);
}

/* The Agones platform from its settings; *create_window_ms gets the longest life of one
 * allocation (its attempts and contention backoffs). */
static sg_status start_agones(sg_app *app, const sg_config *cfg, long long *create_window_ms)
{
    const char *exp = sg_config_str(cfg, "agones-exposure");
    sg_agones_exposure e = strcmp(exp, "nodeport") == 0        ? SG_AGONES_NODEPORT
                           : strcmp(exp, "containerport") == 0 ? SG_AGONES_CONTAINERPORT
                           : strcmp(exp, "gateway") == 0       ? SG_AGONES_GATEWAY
                                                               : SG_AGONES_HOSTPORT;
    if (e == SG_AGONES_CONTAINERPORT && !sg_config_bool(cfg, "agones-allow-containerport"))
        return bad("agones-exposure", "containerport hands out pod addresses, which players "
                                      "outside the cluster cannot reach; set "
                                      "--agones-allow-containerport to use it");
    const char *url = sg_config_str(cfg, "agones-allocator-url");
    if (!url || !*url) return bad("agones-allocator-url", "required with platform=agones");
    /* k=v,k2=v2 */
    sg_agones_pair pairs[16];
    size_t n = 0;
    char **items = NULL;
    size_t count = 0;
    sg_status st = split_list(sg_config_str(cfg, "agones-match-labels"), &app->label_text,
                              &items, &count);
    for (size_t i = 0; st == SG_OK && i < count; i++) {
        char *eq = strchr(items[i], '=');
        if (!eq || eq == items[i] || n == 16) {
            st = bad("agones-match-labels", "expected up to 16 k=v pairs, comma-separated");
            break;
        }
        *eq = '\0';
        pairs[n++] = (sg_agones_pair){items[i], eq + 1};
    }
    free(items);
    if (st != SG_OK) return st;
    sg_agones_orch_options ao = {
        .allocator_url = url,
        .client_cert = sg_config_str(cfg, "agones-client-cert"),
        .client_key = sg_config_str(cfg, "agones-client-key"),
        .ca_cert = sg_config_str(cfg, "agones-ca-cert"),
        .namespace_ = sg_config_str(cfg, "agones-namespace"),
        .fleet = sg_config_str(cfg, "agones-fleet"),
        .match_labels = pairs,
        .match_label_count = n,
        .scheduling = sg_config_str(cfg, "agones-scheduling"),
        .list = sg_config_str(cfg, "agones-list"),
        .one_per_server = !sg_config_bool(cfg, "agones-join"),
        .timeout_ms = sg_config_num(cfg, "agones-timeout"),
        .contention_retries = (int)sg_config_num(cfg, "agones-contention-retries"),
        .unallocated_status = (int)sg_config_num(cfg, "agones-unallocated-status"),
        .no_capacity_retry_ms = sg_config_num(cfg, "agones-no-capacity-retry"),
        .exposure = e,
        .address_type = sg_config_str(cfg, "agones-address-type"),
        .port_name = sg_config_str(cfg, "port-name"),
        .node_port = (int)sg_config_num(cfg, "agones-node-port"),
        .container_port = (int)sg_config_num(cfg, "agones-container-port"),
        .gateway_url = sg_config_str(cfg, "agones-gateway-url"),
    };
    /* Each file is read by libcurl at the first call: say now which one is missing. */
    const char *files[][2] = {{"agones-client-cert", ao.client_cert},
                              {"agones-client-key", ao.client_key},
                              {"agones-ca-cert", ao.ca_cert}};
    for (int i = 0; i < 3; i++)
        if (files[i][1] && *files[i][1] && access(files[i][1], R_OK) != 0)
            return bad(files[i][0], "the file cannot be read");
    *create_window_ms = ao.timeout_ms * (ao.contention_retries + 1) + (100LL << ao.contention_retries);
    SG_INFO("matchmaker", "platform", "platform=agones allocator=%s mtls=%s namespace=%s fleet=%s "
            "exposure=%s", url, ao.client_cert && *ao.client_cert ? "yes" : "no", ao.namespace_,
            ao.fleet ? ao.fleet : "", sg_agones_exposure_name(e));
    return sg_orchestrator_agones_new(&ao, &app->orch);
}

sg_status sg_app_start(const sg_config *cfg, sg_app **out)
{
    *out = NULL;
    sg_log_level lvl;
    if (sg_log_level_parse(sg_config_str(cfg, "log-level"), &lvl) != SG_OK)
        return bad("log-level", "expected debug, info, warn, error or off");
    sg_log_set_level(lvl);
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "libsodium init failed");

    sg_app *app = calloc(1, sizeof *app);
    if (!app) return sg_fail(SG_E_NOMEM, "out of memory");
    sg_status st = SG_OK;
    char *tls_cert = NULL, *tls_key = NULL;

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if ((st = (expr)) != SG_OK) goto fail;                                                     \
    } while (0)

    /* Identity and secrets. */
    const char *inst = sg_config_str(cfg, "instance-id");
    if (inst && *inst) {
        snprintf(app->instance, sizeof app->instance, "%.100s", inst);
    } else {
        char host[64] = "matchmaker";
        gethostname(host, sizeof host - 1);
        snprintf(app->instance, sizeof app->instance, "%.63s-%ld", host, (long)getpid());
    }
    sg_token_options tko;
    if ((st = sg_token_options_from_config(cfg, &tko)) != SG_OK) goto fail;
    app->key = tko.key; /* the app owns it from here */
    uint64_t protocol_id = tko.protocol_id;
    sg_token_dialect dialect = tko.dialect;
    const char *pa = sg_config_str(cfg, "token-private-addresses");
    sg_flow_private_addrs private_addrs = strcmp(pa, "public") == 0        ? SG_FLOW_PRIVATE_PUBLIC
                                          : strcmp(pa, "public+bind") == 0 ? SG_FLOW_PRIVATE_BIND
                                                                           : SG_FLOW_PRIVATE_AUTO;

    /* HTTP-side modules. */
    TRY(sg_metrics_new(&app->metrics));
    app->store_up = sg_metrics_gauge(app->metrics, "seatgate_store_connected",
                                     "1 when the state store is connected", NULL);
    app->version_up =
        sg_metrics_gauge(app->metrics, "seatgate_platform_ready",
                         "1 when the platform accepted the configured app version", NULL);
    TRY(sg_metrics_add_process(app->metrics));
    TRY(sg_metrics_on_scrape(app->metrics, scrape, app));
    size_t ntrusted = 0;
    if (sg_cidr_list_parse(sg_config_str(cfg, "trusted-proxies"), &app->trusted, &ntrusted) !=
        SG_OK) {
        st = bad("trusted-proxies", sg_last_error());
        goto fail;
    }
    sg_forward_header fh;
    if (sg_forward_header_parse(sg_config_str(cfg, "forwarded-header"), &fh) != SG_OK) {
        st = bad("forwarded-header", "expected x-forwarded-for, forwarded or none");
        goto fail;
    }
    sg_client_ip_options ipo = {.trusted = app->trusted, .trusted_count = ntrusted, .header = fh};
    const char *fake = sg_config_str(cfg, "fake-ip");
    if (fake && *fake) {
        if (sg_addr_parse(fake, SG_PORT_FORBIDDEN, &ipo.fake_ip) != SG_OK) {
            st = bad("fake-ip", "expected an IP address");
            goto fail;
        }
        ipo.use_fake_ip = true;
    }
    /* Players: authenticated or not (the page then needs to send Authorization). */
    const char *auth_mode = sg_config_str(cfg, "auth");
    sg_auth_options au = {
        .mode = strcmp(auth_mode, "nakama") == 0 ? SG_AUTH_NAKAMA
                : strcmp(auth_mode, "jwt") == 0  ? SG_AUTH_JWT
                                                 : SG_AUTH_OFF,
        .nakama_key = sg_config_str(cfg, "auth-nakama-key"),
        .keys_path = sg_config_str(cfg, "auth-keys"),
        .issuer = sg_config_str(cfg, "auth-issuer"),
        .audience = sg_config_str(cfg, "auth-audience"),
        .user_claim = sg_config_str(cfg, "auth-user-claim"),
        .leeway_s = sg_config_num(cfg, "auth-leeway") / 1000,
        .check_url = sg_config_str(cfg, "auth-check-url"),
        .check_timeout_ms = sg_config_num(cfg, "auth-check-timeout"),
        .check_cache_ms = sg_config_num(cfg, "auth-check-cache"),
        .check_fail_open = strcmp(sg_config_str(cfg, "auth-check-failure"), "open") == 0,
    };
    if (au.mode == SG_AUTH_OFF && au.check_url && *au.check_url) {
        st = bad("auth-check-url", "needs auth=nakama or auth=jwt");
        goto fail;
    }
    if (sg_auth_new(&au, &app->auth) != SG_OK) {
        st = sg_fail(SG_E_INVALID, "--%s", sg_last_error());
        goto fail;
    }
    sg_cors_options co = {
        .allow_headers = app->auth ? "Content-Type, Authorization" : NULL,
        .origins = sg_config_str(cfg, "cors-origins"),
        .allow_credentials = sg_config_bool(cfg, "cors-credentials"),
        .max_age_s = sg_config_num(cfg, "cors-max-age") / 1000,
    };
    if (sg_cors_new(&co, &app->cors) != SG_OK) {
        st = bad("cors-origins", sg_last_error());
        goto fail;
    }
    long long ip_rate = sg_config_num(cfg, "ip-rate");
    sg_admission_options ao = {
        .rate = (double)ip_rate / 60.0,
        .burst = (double)sg_config_num(cfg, "ip-burst"),
        .max_tracked = (size_t)sg_config_num(cfg, "ip-table-size"),
        .ipv6_prefix = (int)sg_config_num(cfg, "ipv6-prefix"),
        .max_in_flight = sg_config_num(cfg, "max-in-flight"),
        .overload_retry_ms = 2000,
    };
    TRY(sg_admission_new(&ao, &app->admission));
    TRY(split_list(sg_config_str(cfg, "client-selectors"), &app->selector_text, &app->selectors,
                   &app->selector_count));
    TRY(split_list(sg_config_str(cfg, "map-keys"), &app->map_text, &app->maps, &app->map_count));

    /* Webhook. */
    const char *wh_url = sg_config_str(cfg, "webhook-public-url");
    const char *wh_secret = sg_config_str(cfg, "webhook-secret");
    char wh_path[200] = "", wh_full[512] = "";
    if ((wh_url && *wh_url) != (wh_secret && *wh_secret)) {
        st = bad("webhook-public-url", "the webhook needs both webhook-public-url and "
                                       "webhook-secret");
        goto fail;
    }
    if (wh_url && *wh_url) {
        size_t n = strlen(wh_secret);
        if (n < 16 || n > 128 ||
            strspn(wh_secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                              "VWXYZ0123456789-_") != n) {
            st = bad("webhook-secret", "expected 16..128 characters of A-Z a-z 0-9 - _");
            goto fail;
        }
        snprintf(wh_path, sizeof wh_path, "/edgegap/webhook/%s", wh_secret);
        size_t ul = strlen(wh_url);
        while (ul && wh_url[ul - 1] == '/')
            ul--;
        snprintf(wh_full, sizeof wh_full, "%.*s%s", (int)ul, wh_url, wh_path);
    }

    /* Store. */
    sg_store_options so;
    TRY(sg_store_options_from_config(cfg, &so));
    TRY(sg_store_open(&so, &app->store));
    sg_ledger_options lo = {
        .delete_lease_ms = sg_config_num(cfg, "delete-lease"),
    };
    TRY(sg_ledger_open(app->store, &lo, &app->ledger));
    {
        const char *labels[] = {"version", sg_version(), "platform",
                                sg_config_str(cfg, "platform"), "store",
                                sg_store_backend(app->store), NULL};
        sg_gauge_set(sg_metrics_gauge(app->metrics, "seatgate_build_info",
                                      "Always 1: the version and what this matchmaker runs on",
                                      labels),
                     1);
    }

    /* The platform. */
    const char *platform = sg_config_str(cfg, "platform");
    bool on_agones = strcmp(platform, "agones") == 0;
    for (int c = 0; c < SG_EDGEGAP_CALL_COUNT && !on_agones; c++) {
        const char *labels[] = {"call", sg_edgegap_call_name((sg_edgegap_call)c), NULL};
        app->upstream[c] = sg_metrics_histogram(app->metrics, "seatgate_upstream_latency_seconds",
                                                "Latency of Edgegap HTTP attempts, by call",
                                                sg_metrics_latency_buckets,
                                                sg_metrics_latency_bucket_count, labels);
    }
    sg_edgegap_orch_options eo = {.app = sg_config_str(cfg, "edgegap-app"),
                                  .version = sg_config_str(cfg, "edgegap-version"),
                                  .port_name = sg_config_str(cfg, "port-name")};
    TRY(sg_edgegap_options_from_config(cfg, &eo.client));
    long long create_window_ms = eo.client.retry_budget_ms + eo.client.timeout_ms;
    if (on_agones) {
        if (wh_full[0]) {
            st = bad("webhook-public-url", "the webhook is Edgegap's; Agones answers an "
                                           "allocation at once");
            goto fail;
        }
        TRY(start_agones(app, cfg, &create_window_ms));
        eo.app = sg_config_str(cfg, "agones-fleet");
        eo.version = sg_config_str(cfg, "agones-namespace");
        if (!eo.app || !*eo.app) eo.app = "agones";
    } else {
        if (!eo.app || !*eo.app || !eo.version || !*eo.version) {
            st = bad(!eo.app || !*eo.app ? "edgegap-app" : "edgegap-version",
                     "required with platform=edgegap");
            goto fail;
        }
        eo.client.observe = observe_attempt;
        eo.client.observe_user = app;
        TRY(sg_orchestrator_edgegap_new(&eo, &app->orch));
    }
    app->orch_ok = true;

    /* Seat tokens: the key set must sign (checked now, not at the first player). */
    const char *kind = sg_config_str(cfg, "token-kind");
    bool want_jwt = strcmp(kind, "netcode") != 0;
    const char *seat_kid = sg_config_str(cfg, "seat-token-kid");
    const char *seat_aud = sg_config_str(cfg, "seat-token-audience");
    if (want_jwt) {
        const char *path = sg_config_str(cfg, "seat-token-keys");
        if (!path || !*path) {
            st = bad("seat-token-keys", "needed with token-kind jwt or both");
            goto fail;
        }
        if (sg_jws_keyset_load(path, &app->seat_keys) != SG_OK) {
            st = bad("seat-token-keys", sg_last_error());
            goto fail;
        }
        char *probe = NULL;
        if (sg_jws_sign(app->seat_keys, seat_kid && *seat_kid ? seat_kid : NULL, "{\"exp\":0}",
                        &probe) != SG_OK) {
            st = bad(seat_kid && *seat_kid ? "seat-token-kid" : "seat-token-keys", sg_last_error());
            goto fail;
        }
        free(probe);
    }

    /* Loop, pool, flow, janitor. */
    TRY(sg_loop_new(&app->loop));
    TRY(sg_workpool_new((unsigned)sg_config_num(cfg, "store-workers"), &app->pool));
    if (sg_auth_online(app->auth))
        TRY(sg_workpool_new((unsigned)sg_config_num(cfg, "auth-check-workers"), &app->auth_pool));
    const char *store_calls = sg_config_str(cfg, "store-calls");
    bool store_on_loop = strcmp(store_calls, "pool") != 0 && sg_store_batches(app->store);
    if (strcmp(store_calls, "loop") == 0 && !store_on_loop) {
        st = bad("store-calls", "loop needs a store with batches (SQLite); NATS calls use the pool");
        goto fail;
    }
    sg_place_mode placement = SG_PLACE_PLATFORM;
    sg_place_mode_parse(sg_config_str(cfg, "placement"), &placement);
    if (placement != SG_PLACE_PLATFORM) {
        sg_fleet_options flo = {.ledger = app->ledger,
                                .refresh_ms = sg_config_num(cfg, "placement-refresh"),
                                .hold_ms = sg_config_num(cfg, "token-expire") * 1000};
        TRY(sg_fleet_start(&flo, &app->fleet));
    }
    const char *geoip_db = sg_config_str(cfg, "geoip-db");
    if (geoip_db && *geoip_db) {
        if (placement == SG_PLACE_PLATFORM) {
            st = bad("geoip-db", "is read by placement=fill or nearest only");
            goto fail;
        }
        if (sg_geoip_open(geoip_db, sg_config_num(cfg, "geoip-check"), &app->geoip) != SG_OK) {
            st = sg_fail(SG_E_INVALID, "--%s", sg_last_error());
            goto fail;
        }
    }
    sg_flow_options fo = {
        .loop = app->loop,
        .orch = &app->orch,
        .pool = app->pool,
        .store_on_loop = store_on_loop,
        .ledger = app->ledger,
        .metrics = app->metrics,
        .key = app->key,
        .protocol_id = protocol_id,
        .token_expire_s = sg_config_num(cfg, "token-expire"),
        .token_timeout_s = (int32_t)sg_config_num(cfg, "token-timeout"),
        .dialect = dialect,
        .private_addrs = private_addrs,
        .port_name = sg_config_str(cfg, "port-name"),
        .wait_timeout_ms = sg_config_num(cfg, "wait-timeout"),
        .poll_first_ms = sg_config_num(cfg, "poll-first"),
        .poll_max_ms = sg_config_num(cfg, "poll-max"),
        .claim_grace_ms = sg_config_num(cfg, "claim-grace"),
        /* The create call's longest life: its retries, its last attempt, and the time it may
         * wait for the outgoing pace (bounded here by the player's own wait). */
        .intent_window_ms = create_window_ms + sg_config_num(cfg, "wait-timeout"),
        .reconcile_grace_ms = sg_config_num(cfg, "reconcile-grace"),
        .webhook_url = wh_full[0] ? wh_full : NULL,
        .platform_title = on_agones ? "Agones" : "Edgegap",
        .netcode_token = strcmp(kind, "jwt") != 0,
        .seat_keys = app->seat_keys,
        .auth = app->auth,
        .auth_pool = app->auth_pool,
        .fleet = app->fleet,
        .geoip = app->geoip,
        .placement = placement,
        .placement_budget_ms = (double)sg_config_num(cfg, "placement-budget"),
        .placement_fill_slack_ms = (double)sg_config_num(cfg, "placement-fill-slack"),
        .placement_stale_ms = sg_config_num(cfg, "placement-stale"),
        .seat_kid = seat_kid && *seat_kid ? seat_kid : NULL,
        .seat_audience = seat_aud && *seat_aud ? seat_aud : NULL,
        .exposure = on_agones ? sg_config_str(cfg, "agones-exposure") : "hostport",
        .legacy_error_codes = !on_agones,
        .single_flight = sg_config_bool(cfg, "single-flight"),
        .shutdown_wait_ms = sg_config_num(cfg, "shutdown-timeout"),
        .seats_per_player = (int)sg_config_num(cfg, "seats-per-player"),
        .ipv6_prefix = (int)sg_config_num(cfg, "ipv6-prefix"),
        .instance = app->instance,
        .app = eo.app,
        .version = eo.version,
    };
    if (fo.poll_max_ms < fo.poll_first_ms) {
        st = bad("poll-max", "must not be below poll-first");
        goto fail;
    }
    TRY(sg_flow_new(&fo, &app->flow));
    /* The platform's transfers move on the flow loop's own thread: no hand-off to a thread of
     * the platform's and back for each create and poll. */
    if (app->orch.ops->version >= 4 && app->orch.ops->attach &&
        app->orch.ops->attach(app->orch.self) == SG_OK) {
        sg_loop_set_waiter(app->loop, orch_step, &app->orch);
        app->orch_attached = true;
    }
    TRY(sg_loop_start(app->loop));
    sg_timer_init(&app->check_timer, check_version, app);
    check_version(app);
    sg_janitor_options jo = {
        .ledger = app->ledger,
        .orch = &app->orch,
        .metrics = app->metrics,
        .delete_workers = (unsigned)sg_config_num(cfg, "delete-workers"),
        .reap_interval_ms = sg_config_num(cfg, "reap-interval"),
        .orphan_interval_ms = sg_config_num(cfg, "orphan-sweep"),
        .reconcile_interval_ms = sg_config_num(cfg, "reconcile-interval"),
        .server_stale_ms = sg_config_num(cfg, "server-stale"),
        .instance = app->instance,
    };
    TRY(sg_janitor_start(&jo, &app->janitor));

    /* HTTP. */
    const char *cert_path = sg_config_str(cfg, "tls-cert-file");
    const char *key_path = sg_config_str(cfg, "tls-key-file");
    if ((cert_path && *cert_path) != (key_path && *key_path)) {
        st = bad("tls-cert-file", "HTTPS needs both tls-cert-file and tls-key-file");
        goto fail;
    }
    if (cert_path && *cert_path) {
        if (!(tls_cert = read_file(cert_path, 256 * 1024))) {
            st =
                sg_fail(SG_E_IO, "--tls-cert-file: cannot read %s: %s", cert_path, strerror(errno));
            goto fail;
        }
        if (!(tls_key = read_file(key_path, 64 * 1024))) {
            st = sg_fail(SG_E_IO, "--tls-key-file: cannot read %s: %s", key_path, strerror(errno));
            goto fail;
        }
    }
    sg_server_options svo = {
        .listen_address = sg_config_str(cfg, "listen-address"),
        .port = (int)sg_config_num(cfg, "listen-port"),
        .tls_cert_pem = tls_cert,
        .tls_key_pem = tls_key,
        .connection_limit = (unsigned)sg_config_num(cfg, "max-connections"),
        .connection_memory = (size_t)sg_config_num(cfg, "connection-memory"),
        .connection_timeout_s = (unsigned)(sg_config_num(cfg, "connection-timeout") / 1000),
        .threads = (unsigned)sg_config_num(cfg, "http-threads"),
        .per_ip_connections = (unsigned)sg_config_num(cfg, "max-connections-per-ip"),
        .head_timeout_ms = sg_config_num(cfg, "request-head-timeout"),
        .body_timeout_ms = sg_config_num(cfg, "request-body-timeout"),
        .ipv6_prefix = (int)sg_config_num(cfg, "ipv6-prefix"),
        .webhook_path = wh_path[0] ? wh_path : NULL,
        .body = {.max_bytes = (size_t)sg_config_num(cfg, "max-body"),
                 .allowed_selectors = (const char *const *)app->selectors,
                 .allowed_selector_count = app->selector_count,
                 .allowed_maps = (const char *const *)app->maps,
                 .allowed_map_count = app->map_count},
        .client_ip = ipo,
        .cors = app->cors,
        .admission = app->admission,
        .auth = app->auth,
        .metrics = app->metrics,
        .handler = {.start = app_connect, .notify = app_notify, .ready = app_ready, .user = app},
    };
    warn_if_fds_short(svo.connection_limit);
    TRY(sg_server_start(&svo, &app->server));
    if (tls_key) sodium_memzero(tls_key, strlen(tls_key));
    free(tls_key);
    free(tls_cert);
    tls_key = tls_cert = NULL;
    sodium_memzero(wh_path, sizeof wh_path);
    sodium_memzero(wh_full, sizeof wh_full);

    const char *la = svo.listen_address ? svo.listen_address : "::";
    bool v6 = strchr(la, ':') != NULL;
    const char *host = strcmp(la, "::") == 0 || strcmp(la, "0.0.0.0") == 0 ? "127.0.0.1" : la;
    snprintf(app->url, sizeof app->url, "%s://%s%s%s:%d",
             sg_server_tls(app->server) ? "https" : "http",
             v6 && strcmp(host, "127.0.0.1") != 0 ? "[" : "", host,
             v6 && strcmp(host, "127.0.0.1") != 0 ? "]" : "", sg_server_port(app->server));
    SG_INFO("matchmaker", "listening", "url=%s instance=%s store=%s store_calls=%s webhook=%s",
            app->url, app->instance, sg_store_backend(app->store),
            fo.store_on_loop ? "loop" : "pool", fo.webhook_url ? "on" : "off");
    *out = app;
    return SG_OK;

fail:
    if (tls_key) sodium_memzero(tls_key, strlen(tls_key));
    free(tls_key);
    free(tls_cert);
    sodium_memzero(wh_path, sizeof wh_path);
    sodium_memzero(wh_full, sizeof wh_full);
    {
        /* Keep the message across the cleanup below. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", sg_last_error());
        sg_app_stop(app);
        sg_fail(st, "%s", msg);
    }
    return st;
#undef TRY
}

const char *sg_app_url(const sg_app *a)
{
    return a->url;
}

void sg_app_stop(sg_app *app)
{
    if (!app) return;
    if (app->server) sg_server_quiesce(app->server);
    if (app->flow) sg_flow_shutdown(app->flow);
    /* Checks still queued finish and meet a flow that is shutting down (answered 503). */
    sg_workpool_free(app->auth_pool);
    app->auth_pool = NULL;
    sg_server_stop(app->server);
    sg_janitor_stop(app->janitor);
    if (app->loop && sg_loop_on_thread(app->loop)) abort();
    if (app->orch_attached) {
        sg_loop_clear_waiter(app->loop);
        app->orch.ops->detach(app->orch.self);
        app->orch_attached = false;
    }
    /* The orchestrator's last callbacks post to the loop: destroy it while the loop runs. */
    if (app->orch_ok) app->orch.ops->destroy(app->orch.self);
    if (app->loop) sg_loop_stop(app->loop);
    sg_workpool_free(app->pool);
    sg_flow_free(app->flow);
    sg_loop_free(app->loop);
    sg_fleet_stop(app->fleet);
    sg_geoip_close(app->geoip);
    sg_ledger_close(app->ledger);
    sg_store_close(app->store);
    sg_admission_free(app->admission);
    sg_cors_free(app->cors);
    sg_metrics_free(app->metrics);
    sg_key_free(app->key);
    sg_jws_keyset_free(app->seat_keys);
    sg_auth_free(app->auth);
    free(app->trusted);
    free(app->selectors);
    free(app->selector_text);
    free(app->maps);
    free(app->map_text);
    free(app->label_text);
    free(app);
}
