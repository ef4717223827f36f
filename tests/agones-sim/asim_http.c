/* seatgate-agones-sim: libmicrohttpd for the allocator (plain, TLS or mTLS), one SDK sidecar
 * per GameServer, and the /_sim admin API; main() (see docs/agones-sim.md). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "asim.h"
#include "seatgate/config.h"
#include "seatgate/log.h"

#define MAX_BODY (1u << 20)
#define MAX_SIDECARS 128

/* ---- request bodies --------------------------------------------------------------------- */

typedef struct req_ctx {
    char *body;
    size_t len;
    bool has_body, too_large, refused;
} req_ctx;

typedef enum role { ROLE_ALLOCATOR, ROLE_ADMIN, ROLE_SIDECAR } role;

typedef struct listener {
    role role;
    char gs[64]; /* sidecar: its GameServer */
    struct MHD_Daemon *d;
    int port;
    bool mtls;
} listener;

static asim *g_sim;
static pthread_mutex_t g_sidecar_mu = PTHREAD_MUTEX_INITIALIZER;
static listener *g_sidecars[MAX_SIDECARS];
static listener *g_retired[MAX_SIDECARS * 4]; /* stopped outside the state lock */
static size_t g_nretired;
static volatile sig_atomic_t g_stop;

static enum MHD_Result send_answer(struct MHD_Connection *conn, asim_answer *a)
{
    char *text = a->json ? cJSON_PrintUnformatted(a->json) : strdup("{}");
    cJSON_Delete(a->json);
    a->json = NULL;
    if (!text) return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)a->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* mTLS: the client certificate verified against the trust list given to MHD (the
 * allocator's client CA). Also done in the handshake (see on_connection); this is the
 * second check. */
static bool client_cert_ok(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) return false;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    unsigned status = 0;
    if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509) return false;
    unsigned n = 0;
    if (!gnutls_certificate_get_peers(s, &n) || n == 0) return false;
    return gnutls_certificate_verify_peers2(s, &status) == 0 && status == 0;
}

/* At the start of each TLS connection: require a client certificate and verify it during
 * the handshake, so a missing or unknown one fails there, as with Agones. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    listener *l = cls;
    if (!l->mtls) return;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* A connection that ends without a verified client certificate was refused (in the
         * handshake, or by the second check). */
        bool *verified = *socket_context;
        if (!verified || !*verified) asim_count_refused(g_sim);
        free(verified);
        *socket_context = NULL;
        return;
    }
    *socket_context = calloc(1, sizeof(bool));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) return;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(s, NULL, 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    (void)version;
    listener *l = cls;
    req_ctx *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return MHD_NO;
        *con_cls = c;
        if (l->mtls) {
            if (!client_cert_ok(conn)) {
                c->refused = true;
                return MHD_NO; /* closes the connection: no HTTP answer (counted at close) */
            }
            const union MHD_ConnectionInfo *sc =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
            if (sc && sc->socket_context) *(bool *)sc->socket_context = true;
        }
        return MHD_YES;
    }
    if (*size) {
        c->has_body = true;
        if (c->len + *size > MAX_BODY) {
            c->too_large = true;
        } else {
            char *b = realloc(c->body, c->len + *size + 1);
            if (!b) return MHD_NO;
            memcpy(b + c->len, data, *size);
            c->body = b;
            c->len += *size;
            b[c->len] = '\0';
        }
        *size = 0;
        return MHD_YES;
    }
    asim_answer a = {0};
    if (c->too_large) {
        a.status = 413;
        a.json = cJSON_CreateObject();
        cJSON_AddNumberToObject(a.json, "code", 8);
        cJSON_AddStringToObject(a.json, "message", "request body too large");
        cJSON_AddArrayToObject(a.json, "details");
    } else if (l->role == ROLE_ALLOCATOR) {
        if (strcmp(url, "/gameserverallocation") != 0)
            asim_not_routed(false, &a);
        else if (strcmp(method, "POST") != 0)
            asim_not_routed(true, &a);
        else
            asim_allocate(g_sim, c->body, c->len, &a);
    } else if (l->role == ROLE_ADMIN) {
        asim_admin(g_sim, method, url, c->body, c->len, &a);
    } else {
        asim_sdk(g_sim, l->gs, method, url, c->body, c->len, c->has_body, &a);
    }
    /* The latency faults wait here, on this connection's own thread, not in the state. */
    for (long long left = a.delay_ms < 600000 ? a.delay_ms : 600000; left > 0; left -= 1000)
        usleep((useconds_t)((left < 1000 ? left : 1000) * 1000));
    return send_answer(conn, &a);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_ctx *c = *con_cls;
    if (c) free(c->body);
    free(c);
    *con_cls = NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

typedef struct tls_files {
    char *cert, *key, *ca;
} tls_files;

static listener *start_listener(role r, const char *gs, const char *address, int port,
                                const tls_files *tls)
{
    listener *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->role = r;
    snprintf(l->gs, sizeof l->gs, "%s", gs ? gs : "");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
        free(l);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    /* The allocator answers each connection on its own thread: a delayed answer (the delayMs
     * fault) holds only its own caller, as concurrent allocations do with Agones. */
    if (r == ROLE_ALLOCATOR) flags |= MHD_USE_THREAD_PER_CONNECTION;
    bool use_tls = tls && tls->cert && tls->key;
    l->mtls = use_tls && tls->ca;
    if (use_tls) flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &sa},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, l},
        {MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL},
        {use_tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, use_tls ? tls->cert : NULL},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, use_tls ? tls->key : NULL},
        {l->mtls ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, l->mtls ? tls->ca : NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    l->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
    if (!l->d) {
        free(l);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
    l->port = di ? di->port : port;
    return l;
}

/* ---- sidecars (called by the state with its lock held) ----------------------------------- */

static const char *g_sdk_address = "127.0.0.1";

static int sidecar_start(void *ctx, const char *gs, int want)
{
    (void)ctx;
    listener *l = start_listener(ROLE_SIDECAR, gs, g_sdk_address, want, NULL);
    if (!l && want) l = start_listener(ROLE_SIDECAR, gs, g_sdk_address, 0, NULL);
    if (!l) return 0;
    pthread_mutex_lock(&g_sidecar_mu);
    for (int i = 0; i < MAX_SIDECARS; i++)
        if (!g_sidecars[i]) {
            g_sidecars[i] = l;
            break;
        }
    pthread_mutex_unlock(&g_sidecar_mu);
    return l->port;
}

static void sidecar_stop(void *ctx, const char *gs)
{
    (void)ctx;
    pthread_mutex_lock(&g_sidecar_mu);
    for (int i = 0; i < MAX_SIDECARS; i++) {
        listener *l = g_sidecars[i];
        if (!l || strcmp(l->gs, gs) != 0) continue;
        g_sidecars[i] = NULL;
        /* Stop accepting now; the daemon's thread is joined later, outside the state lock (it
         * may be waiting for that lock in a handler). */
        int fd = MHD_quiesce_daemon(l->d);
        if (fd >= 0) close(fd);
        if (g_nretired < sizeof g_retired / sizeof g_retired[0])
            g_retired[g_nretired++] = l;
    }
    pthread_mutex_unlock(&g_sidecar_mu);
}

static void reap_retired(void)
{
    listener *batch[sizeof g_retired / sizeof g_retired[0]];
    pthread_mutex_lock(&g_sidecar_mu);
    size_t n = g_nretired;
    memcpy(batch, g_retired, n * sizeof batch[0]);
    g_nretired = 0;
    pthread_mutex_unlock(&g_sidecar_mu);
    for (size_t i = 0; i < n; i++) {
        MHD_stop_daemon(batch[i]->d);
        free(batch[i]);
    }
}

/* Stops every sidecar's daemon (joining its threads), before the state they use is freed. */
static void stop_all_sidecars(void)
{
    pthread_mutex_lock(&g_sidecar_mu);
    for (int i = 0; i < MAX_SIDECARS; i++) {
        listener *l = g_sidecars[i];
        if (!l) continue;
        g_sidecars[i] = NULL;
        if (g_nretired < sizeof g_retired / sizeof g_retired[0]) g_retired[g_nretired++] = l;
    }
    pthread_mutex_unlock(&g_sidecar_mu);
    reap_retired();
}

/* ---- main ------------------------------------------------------------------------------- */

#define SET(n, t, d, h)                                                                            \
    {                                                                                              \
        .name = n, .type = t, .def = d, .help = h                                                  \
    }

static sg_setting settings[] = {
    SET("listen-address", SG_SET_STRING, "127.0.0.1",
        "address of the allocator and admin listeners (loopback: /_sim has no auth)"),
    SET("allocator-port", SG_SET_INT, "0", "allocator port (0: a free one)"),
    SET("admin-port", SG_SET_INT, "0", "port of the /_sim admin API (0: a free one)"),
    SET("tls-cert", SG_SET_STRING, NULL, "allocator server certificate (PEM): serve HTTPS"),
    SET("tls-key", SG_SET_STRING, NULL, "allocator server key (PEM)"),
    SET("client-ca", SG_SET_STRING, NULL,
        "CA (PEM) client certificates must chain to: mTLS, as agones-allocator; unset: no "
        "client certificate (DISABLE_MTLS)"),
    SET("config", SG_SET_STRING, NULL, "fleet JSON (default: 2 servers, one node on 127.0.0.1)"),
    SET("ready-file", SG_SET_STRING, NULL,
        "write \"<allocator URL> <admin URL>\" here once listening"),
    SET("servers-file", SG_SET_STRING, NULL,
        "keep \"<name> <sdk port> <game port> <state>\" lines of the GameServers here"),
    };

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    sg_config cfgv = {.program = "seatgate-agones-sim",
                      .summary = "A local stand-in for Agones (allocator, fleet, SDK sidecars) for "
                                 "tests and local stacks (never talks to a cluster).",
                      .env_prefix = "SEATGATE_AGONES_SIM_",
                      .settings = settings,
                      .count = sizeof settings / sizeof *settings};
    sg_config *cfg = &cfgv;
    sg_status st = sg_config_load(cfg, argc, argv);
    if (st == SG_E_HELP) return 0;
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-agones-sim: error: %s\n", sg_last_error());
        return 2;
    }
    const char *addr = sg_config_str(cfg, "listen-address");
    tls_files tls = {0};
    const char *cert = sg_config_str(cfg, "tls-cert"), *key = sg_config_str(cfg, "tls-key"),
               *ca = sg_config_str(cfg, "client-ca");
    if ((cert && !(tls.cert = read_file(cert))) || (key && !(tls.key = read_file(key))) ||
        (ca && !(tls.ca = read_file(ca)))) {
        fprintf(stderr, "seatgate-agones-sim: cannot read a certificate or key file\n");
        return 2;
    }
    if ((cert != NULL) != (key != NULL) || (ca && !cert)) {
        fprintf(stderr, "seatgate-agones-sim: tls-cert and tls-key go together; client-ca "
                        "needs both\n");
        return 2;
    }
    asim_sidecars sc = {.start = sidecar_start, .stop = sidecar_stop};
    st = asim_new(sg_config_str(cfg, "config"), &sc, &g_sim);
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-agones-sim: %s\n", sg_last_error());
        return 2;
    }
    listener *alloc = start_listener(ROLE_ALLOCATOR, NULL, addr,
                                     (int)sg_config_num(cfg, "allocator-port"), &tls);
    listener *admin =
        start_listener(ROLE_ADMIN, NULL, addr, (int)sg_config_num(cfg, "admin-port"), NULL);
    if (!alloc || !admin) {
        fprintf(stderr, "seatgate-agones-sim: cannot listen on %s: %s\n", addr, strerror(errno));
        return 1;
    }
    char urls[256];
    snprintf(urls, sizeof urls, "%s://%s:%d http://%s:%d", tls.cert ? "https" : "http", addr,
             alloc->port, addr, admin->port);
    fprintf(stderr, "seatgate-agones-sim: allocator %s://%s:%d (%s), admin http://%s:%d\n",
            tls.cert ? "https" : "http", addr, alloc->port,
            alloc->mtls ? "mTLS" : tls.cert ? "TLS" : "plain", addr, admin->port);
    const char *ready = sg_config_str(cfg, "ready-file");
    const char *servers = sg_config_str(cfg, "servers-file");
    if (servers) asim_write_servers(g_sim, servers);
    if (ready) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", urls) < 0 || fclose(f) != 0 || rename(tmp, ready) != 0) {
            fprintf(stderr, "seatgate-agones-sim: cannot write %s\n", ready);
            return 1;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!g_stop) {
        usleep(100 * 1000);
        asim_tick(g_sim);
        reap_retired();
        if (servers) asim_write_servers(g_sim, servers);
    }
    MHD_stop_daemon(alloc->d);
    MHD_stop_daemon(admin->d);
    stop_all_sidecars();
    asim_free(g_sim);
    free(alloc);
    free(admin);
    free(tls.cert);
    free(tls.key);
    free(tls.ca);
    sg_config_free(cfg);
    return 0;
}
