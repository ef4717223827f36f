/* The hook's settings: a fixed table of named values, set from the environment (SEATGATE_*
 * and Edgegap's ARBITRIUM_*) or by the game, validated when set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hook_internal.h"
#include "seatgate/config.h"

/* clang-format off */
const hook_setting_def hook_settings[HOOK_SET_COUNT] = {
    [HOOK_SET_STORE_URL] = {"store-url", "SEATGATE_STORE_URL", HOOK_STR, "sqlite://./seatgate.db",
        0, "state store: nats://host:4222[,nats://host2:4222] or sqlite:///path/file.db"},
    [HOOK_SET_STORE_TIMEOUT] = {"store-timeout", "SEATGATE_STORE_TIMEOUT", HOOK_DURATION, "2s", 0,
        "deadline of every store call"},
    [HOOK_SET_STORE_USER] = {"nats-user", "SEATGATE_NATS_USER", HOOK_STR, NULL, 0,
        "NATS user name"},
    [HOOK_SET_STORE_PASSWORD] = {"nats-password", "SEATGATE_NATS_PASSWORD", HOOK_STR, NULL,
        HOOK_SECRET, "NATS password"},
    [HOOK_SET_STORE_TOKEN] = {"nats-token", "SEATGATE_NATS_TOKEN", HOOK_STR, NULL, HOOK_SECRET,
        "NATS authentication token"},
    [HOOK_SET_STORE_CREDS] = {"nats-creds-file", "SEATGATE_NATS_CREDS_FILE", HOOK_STR, NULL, 0,
        "NATS credentials file (user JWT and NKey seed)"},
    [HOOK_SET_STORE_TLS_CA] = {"nats-tls-ca", "SEATGATE_NATS_TLS_CA", HOOK_STR, NULL, 0,
        "CA file to verify the NATS server with (enables TLS)"},
    [HOOK_SET_STORE_TLS_CERT] = {"nats-tls-cert", "SEATGATE_NATS_TLS_CERT", HOOK_STR, NULL, 0,
        "client certificate file for NATS mutual TLS"},
    [HOOK_SET_STORE_TLS_KEY] = {"nats-tls-key", "SEATGATE_NATS_TLS_KEY", HOOK_STR, NULL, 0,
        "client private key file for NATS mutual TLS"},
    [HOOK_SET_STORE_NAME] = {"nats-name", "SEATGATE_NATS_NAME", HOOK_STR, NULL, 0,
        "connection name shown in NATS monitoring"},
    [HOOK_SET_STORE_MAX_RECONNECTS] = {"nats-max-reconnects", "SEATGATE_NATS_MAX_RECONNECTS",
        HOOK_INT, "-1", 0, "reconnect attempts before giving up (-1 = forever)", -1, 1000000},
    [HOOK_SET_STORE_RECONNECT_WAIT] = {"nats-reconnect-wait", "SEATGATE_NATS_RECONNECT_WAIT",
        HOOK_DURATION, "2s", 0, "pause between reconnect attempts", 10, 600000},
    [HOOK_SET_STORE_REPLICAS] = {"kv-replicas", "SEATGATE_KV_REPLICAS", HOOK_INT, "1", 0,
        "replicas of the NATS buckets and queue the hook creates (as the matchmaker's)", 1, 5},
    [HOOK_SET_APP_PREFIX] = {"app", "SEATGATE_APP", HOOK_STR, "seatgate", 0,
        "namespace prefix of buckets, queues and event subjects (as the matchmaker's)"},
    [HOOK_SET_EDGEGAP_URL] = {"edgegap-url", "SEATGATE_EDGEGAP_URL", HOOK_STR,
        "https://api.edgegap.com", 0, "Edgegap API base URL"},
    [HOOK_SET_EDGEGAP_API_KEY] = {"edgegap-api-key", "SEATGATE_EDGEGAP_API_KEY", HOOK_STR, NULL,
        HOOK_SECRET, "Edgegap API key; unset: session deletes go through the matchmaker"},
    [HOOK_SET_EDGEGAP_TIMEOUT] = {"edgegap-timeout", "SEATGATE_EDGEGAP_TIMEOUT", HOOK_DURATION,
        "3s", 0, "timeout of one Edgegap request attempt"},
    [HOOK_SET_PORT_NAME] = {"port-name", "SEATGATE_PORT_NAME", HOOK_STR, "gameport", 0,
        "name of the game's port in the deployment's ports"},
    [HOOK_SET_CERT_DIGEST] = {"cert-digest", "SEATGATE_CERT_DIGEST", HOOK_STR, NULL, 0,
        "SHA-256 digest of the WebTransport certificate, published for the matchmaker"},
    [HOOK_SET_CAPACITY] = {"capacity", "SEATGATE_CAPACITY", HOOK_INT, "0", 0,
        "players this server takes (0: the deployment's sockets, else unlimited)"},
    [HOOK_SET_FQDN] = {"fqdn", "SEATGATE_FQDN", HOOK_STR, NULL, 0,
        "this server's name in the store (default: the context's fqdn, else the request id)"},
    [HOOK_SET_HEARTBEAT] = {"heartbeat", "SEATGATE_HEARTBEAT", HOOK_DURATION, "5s", 0,
        "interval of gameserver record refreshes"},
    [HOOK_SET_QUEUE_SIZE] = {"queue-size", "SEATGATE_QUEUE_SIZE", HOOK_INT, "1024", 0,
        "requests the game may have unfinished before enqueues return SG_E_FULL"},
    [HOOK_SET_VERIFY_TIMEOUT] = {"verify-timeout", "SEATGATE_VERIFY_TIMEOUT", HOOK_DURATION, "8s",
        0, "a verification not answered by then is rejected as unavailable"},
    [HOOK_SET_START_TIMEOUT] = {"start-timeout", "SEATGATE_START_TIMEOUT", HOOK_DURATION, "60s",
        0, "how long the start sequence retries the context and the store"},
    [HOOK_SET_STOP_TIMEOUT] = {"stop-timeout", "SEATGATE_STOP_TIMEOUT", HOOK_DURATION, "5s", 0,
        "bound on finishing pending deletes at stop"},
    [HOOK_SET_DELETE_RETRY] = {"delete-retry", "SEATGATE_DELETE_RETRY", HOOK_DURATION, "2s", 0,
        "first delay before retrying a failed session delete (doubles, up to 1m)"},
    [HOOK_SET_REGISTER] = {"register", "SEATGATE_REGISTER", HOOK_INT, "1", 0,
        "1: write contexts/gameserver and publish server up/down; 0: tools that only look"},
    [HOOK_SET_CLAIM] = {"claim", "SEATGATE_CLAIM", HOOK_INT, "1", 0,
        "1: an accepted verification claims the session; 0: dry run (tools), nothing written"},
    [HOOK_SET_REQUEST_ID] = {"arbitrium-request-id", "ARBITRIUM_REQUEST_ID", HOOK_STR, NULL, 0,
        "this deployment's request id (set by Edgegap)"},
    [HOOK_SET_PUBLIC_IP] = {"arbitrium-public-ip", "ARBITRIUM_PUBLIC_IP", HOOK_STR, NULL, 0,
        "this deployment's public IP (set by Edgegap)"},
    [HOOK_SET_PORTS_MAPPING] = {"arbitrium-ports-mapping", "ARBITRIUM_PORTS_MAPPING", HOOK_STR,
        NULL, 0, "JSON ports of the deployment (set by Edgegap)"},
    [HOOK_SET_LOCATION] = {"arbitrium-deployment-location", "ARBITRIUM_DEPLOYMENT_LOCATION",
        HOOK_STR, NULL, 0, "JSON location of the deployment (set by Edgegap)"},
    [HOOK_SET_CONTEXT_URL] = {"arbitrium-context-url", "ARBITRIUM_CONTEXT_URL", HOOK_STR, NULL, 0,
        "URL of the deployment's context (set by Edgegap)"},
    [HOOK_SET_CONTEXT_TOKEN] = {"arbitrium-context-token", "ARBITRIUM_CONTEXT_TOKEN", HOOK_STR,
        NULL, HOOK_SECRET, "authorization for the context URL (set by Edgegap)"},
    [HOOK_SET_DELETE_URL] = {"arbitrium-delete-url", "ARBITRIUM_DELETE_URL", HOOK_STR, NULL, 0,
        "URL that stops this deployment (set by Edgegap; unused by the hook)"},
    [HOOK_SET_DELETE_TOKEN] = {"arbitrium-delete-token", "ARBITRIUM_DELETE_TOKEN", HOOK_STR, NULL,
        HOOK_SECRET, "authorization for the delete URL (set by Edgegap; unused by the hook)"},
};
/* clang-format on */

struct sg_hook_options {
    char *value[HOOK_SET_COUNT]; /* NULL when unset; secrets in sodium-wiped memory on free */
};

static int find(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < HOOK_SET_COUNT; i++)
        if (strcmp(hook_settings[i].name, name) == 0) return i;
    return -1;
}

static void clear_value(sg_hook_options *o, int i)
{
    if (!o->value[i]) return;
    sodium_memzero(o->value[i], strlen(o->value[i]));
    free(o->value[i]);
    o->value[i] = NULL;
}

sg_hook_options *sg_hook_options_new(void)
{
    sg_hook_options *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    for (int i = 0; i < HOOK_SET_COUNT; i++) {
        if (!hook_settings[i].def) continue;
        o->value[i] = strdup(hook_settings[i].def);
        if (!o->value[i]) {
            sg_hook_options_free(o);
            return NULL;
        }
    }
    return o;
}

void sg_hook_options_free(sg_hook_options *o)
{
    if (!o) return;
    for (int i = 0; i < HOOK_SET_COUNT; i++)
        clear_value(o, i);
    free(o);
}

static sg_status validate(int i, const char *value)
{
    const hook_setting_def *d = &hook_settings[i];
    long long n = 0;
    switch (d->type) {
    case HOOK_STR:
        if (strlen(value) > 4096)
            return sg_fail(SG_E_INVALID, "%s (%s): longer than 4096 bytes", d->name, d->env);
        return SG_OK;
    case HOOK_INT: {
        long long lo = d->min || d->max ? d->min : 0, hi = d->min || d->max ? d->max : 1000000;
        if (sg_parse_int(value, &n) != SG_OK || n < lo || n > hi)
            return sg_fail(SG_E_INVALID, "%s (%s): expected an integer %lld..%lld, got '%s'",
                           d->name, d->env, lo, hi, value);
        return SG_OK;
    }
    case HOOK_DURATION: {
        long long lo = d->min || d->max ? d->min : 0;
        long long hi = d->min || d->max ? d->max : 24LL * 3600 * 1000;
        if (sg_parse_duration_ms(value, &n) != SG_OK || n < lo || n > hi)
            return sg_fail(SG_E_INVALID,
                           "%s (%s): expected a duration like 250ms, 5s or 1m "
                           "(%lld ms..%lld ms), got '%s'",
                           d->name, d->env, lo, hi, value);
        return SG_OK;
    }
    }
    return SG_OK;
}

sg_status sg_hook_options_set(sg_hook_options *o, const char *name, const char *value)
{
    if (!o) return sg_fail(SG_E_INVALID, "hook options: NULL");
    int i = find(name);
    if (i < 0) return sg_fail(SG_E_INVALID, "hook options: unknown setting '%s'", name ? name : "");
    if (!value) {
        clear_value(o, i);
        return SG_OK;
    }
    if (hook_settings[i].flags & HOOK_SECRET) {
        if (strlen(value) > 4096)
            return sg_fail(SG_E_INVALID, "%s (%s): longer than 4096 bytes", hook_settings[i].name,
                           hook_settings[i].env);
    } else {
        sg_status st = validate(i, value);
        if (st != SG_OK) return st;
    }
    char *copy = strdup(value);
    if (!copy) return sg_fail(SG_E_NOMEM, "hook options: out of memory");
    clear_value(o, i);
    o->value[i] = copy;
    return SG_OK;
}

static sg_status read_secret_file(const hook_setting_def *d, const char *var, const char *path,
                                  char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return sg_fail(SG_E_IO, "%s: cannot open '%s': %s", var, path, strerror(errno));
    char buf[4098];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) return sg_fail(SG_E_IO, "%s: cannot read '%s'", var, path);
    if (n > 4096) {
        sodium_memzero(buf, sizeof buf);
        return sg_fail(SG_E_INVALID, "%s (%s): file longer than 4096 bytes", d->name, var);
    }
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    buf[n] = '\0';
    *out = strdup(buf);
    sodium_memzero(buf, sizeof buf);
    return *out ? SG_OK : sg_fail(SG_E_NOMEM, "hook options: out of memory");
}

sg_status sg_hook_options_load_env(sg_hook_options *o)
{
    if (!o) return sg_fail(SG_E_INVALID, "hook options: NULL");
    for (int i = 0; i < HOOK_SET_COUNT; i++) {
        const hook_setting_def *d = &hook_settings[i];
        const char *v = getenv(d->env);
        if (v) {
            sg_status st = sg_hook_options_set(o, d->name, v);
            if (st != SG_OK) return st;
            continue;
        }
        if (!(d->flags & HOOK_SECRET)) continue;
        char var[128];
        snprintf(var, sizeof var, "%s_FILE", d->env);
        const char *path = getenv(var);
        if (!path) continue;
        char *secret = NULL;
        sg_status st = read_secret_file(d, var, path, &secret);
        if (st != SG_OK) return st;
        st = sg_hook_options_set(o, d->name, secret);
        sodium_memzero(secret, strlen(secret));
        free(secret);
        if (st != SG_OK) return st;
    }
    return SG_OK;
}

const char *sg_hook_options_get(const sg_hook_options *o, const char *name)
{
    int i = find(name);
    if (!o || i < 0) return NULL;
    if (!o->value[i]) return "";
    return (hook_settings[i].flags & HOOK_SECRET) ? "(set)" : o->value[i];
}

const char *hook_options_value(const sg_hook_options *o, hook_setting_id id)
{
    return o->value[id];
}

size_t sg_hook_options_count(void)
{
    return HOOK_SET_COUNT;
}

const char *sg_hook_options_name(size_t index)
{
    return index < HOOK_SET_COUNT ? hook_settings[index].name : NULL;
}

bool sg_hook_options_describe(size_t index, const char **env, const char **def, const char **help,
                              bool *secret)
{
    if (index >= HOOK_SET_COUNT) return false;
    const hook_setting_def *d = &hook_settings[index];
    bool is_secret = d->flags & HOOK_SECRET;
    if (env) *env = d->env;
    if (def) *def = is_secret ? NULL : d->def;
    if (help) *help = d->help;
    if (secret) *secret = is_secret;
    return true;
}

/* ---- store options ---------------------------------------------------------------------- */

static sg_status dup_into(const sg_hook_options *o, hook_setting_id id, const char **dst)
{
    const char *v = o->value[id];
    *dst = NULL;
    if (!v) return SG_OK;
    char *c = strdup(v);
    if (!c) return sg_fail(SG_E_NOMEM, "hook options: out of memory");
    *dst = c;
    return SG_OK;
}

static long long num_value(const sg_hook_options *o, hook_setting_id id, long long fallback)
{
    const char *v = o->value[id];
    long long n = 0;
    if (!v) return fallback;
    sg_status st =
        hook_settings[id].type == HOOK_DURATION ? sg_parse_duration_ms(v, &n) : sg_parse_int(v, &n);
    return st == SG_OK ? n : fallback;
}

sg_status hook_store_options(const sg_hook_options *o, sg_store_options *out)
{
    sg_store_options_init(out);
    static const struct {
        hook_setting_id id;
        size_t offset;
    } strings[] = {
        {HOOK_SET_STORE_URL, offsetof(sg_store_options, url)},
        {HOOK_SET_APP_PREFIX, offsetof(sg_store_options, app)},
        {HOOK_SET_STORE_USER, offsetof(sg_store_options, user)},
        {HOOK_SET_STORE_PASSWORD, offsetof(sg_store_options, password)},
        {HOOK_SET_STORE_TOKEN, offsetof(sg_store_options, token)},
        {HOOK_SET_STORE_CREDS, offsetof(sg_store_options, creds_file)},
        {HOOK_SET_STORE_TLS_CA, offsetof(sg_store_options, tls_ca)},
        {HOOK_SET_STORE_TLS_CERT, offsetof(sg_store_options, tls_cert)},
        {HOOK_SET_STORE_TLS_KEY, offsetof(sg_store_options, tls_key)},
        {HOOK_SET_STORE_NAME, offsetof(sg_store_options, name)},
    };
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        sg_status st = dup_into(o, strings[i].id, (const char **)((char *)out + strings[i].offset));
        if (st != SG_OK) {
            hook_store_options_clear(out);
            return st;
        }
    }
    out->timeout_ms = num_value(o, HOOK_SET_STORE_TIMEOUT, 2000);
    if (out->timeout_ms <= 0) out->timeout_ms = 2000;
    out->max_reconnects = (int)num_value(o, HOOK_SET_STORE_MAX_RECONNECTS, -1);
    out->reconnect_wait_ms = num_value(o, HOOK_SET_STORE_RECONNECT_WAIT, 2000);
    out->replicas = (int)num_value(o, HOOK_SET_STORE_REPLICAS, 1);
    return SG_OK;
}

static void wipe_str(const char **s)
{
    if (!*s) return;
    char *p = (char *)*s;
    sodium_memzero(p, strlen(p));
    free(p);
    *s = NULL;
}

void hook_store_options_clear(sg_store_options *so)
{
    wipe_str(&so->url);
    wipe_str(&so->app);
    wipe_str(&so->user);
    wipe_str(&so->password);
    wipe_str(&so->token);
    wipe_str(&so->creds_file);
    wipe_str(&so->tls_ca);
    wipe_str(&so->tls_cert);
    wipe_str(&so->tls_key);
    wipe_str(&so->name);
}
