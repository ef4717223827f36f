/* The hook's settings: the store's and the Edgegap client's fragments (the same names,
 * variables, ranges and checks as the matchmaker's) plus the hook's own, over the common
 * settings machinery (seatgate/config.h). Set from the environment (SEATGATE_*, Edgegap's
 * ARBITRIUM_*, Agones' AGONES_SDK_HTTP_PORT) or by the game, each value checked when set. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hook_internal.h"
#include "seatgate/edgegap.h"
#include "seatgate/log.h"
#include "seatgate/records.h"

#define DAY_MS (24LL * 3600 * 1000)

/* clang-format off */
static const sg_setting hook_own_settings[] = {
    {.name = "port-name", .type = SG_SET_STRING, .def = SG_DEFAULT_PORT_NAME,
     .help = "name of the game's port in the deployment's ports"},
    {.name = "cert-digest", .type = SG_SET_STRING,
     .help = "SHA-256 digest of the WebTransport certificate (hex, colons allowed, any case), "
             "published as 64 lower-case hex digits for the matchmaker to hand to players"},
    {.name = "capacity", .type = SG_SET_INT, .def = "0", .min = 0, .max = 1000000,
     .help = "players this server takes (0: the deployment's sockets, else unlimited)"},
    {.name = "fqdn", .type = SG_SET_STRING,
     .help = "this server's name in the store (default: the context's fqdn, else the request id)"},
    {.name = "heartbeat", .type = SG_SET_DURATION, .def = "5s", .min = 1, .max = DAY_MS,
     .help = "interval of gameserver record refreshes"},
    {.name = "queue-size", .type = SG_SET_INT, .def = "1024", .min = 1, .max = 1000000,
     .help = "requests the game may have unfinished before enqueues return SG_E_FULL"},
    {.name = "verify-timeout", .type = SG_SET_DURATION, .def = "8s", .min = 1, .max = DAY_MS,
     .help = "a verification not answered by then is rejected as unavailable"},
    {.name = "start-timeout", .type = SG_SET_DURATION, .def = "60s", .min = 0, .max = DAY_MS,
     .help = "how long the start sequence retries the context and the store"},
    {.name = "stop-timeout", .type = SG_SET_DURATION, .def = "5s", .min = 0, .max = DAY_MS,
     .help = "bound on finishing pending deletes at stop"},
    {.name = "delete-retry", .type = SG_SET_DURATION, .def = "2s", .min = 1, .max = DAY_MS,
     .help = "first delay before retrying a failed session delete (doubles, up to 1m)"},
    {.name = "verify-rate", .type = SG_SET_INT, .def = "4", .min = 0, .max = 100000,
     .help = "verifications per second one source address may ask for (burst: twice that; "
             "more are refused rate_limited without any store or Edgegap call; 0: no limit)"},
    {.name = "reject-memory", .type = SG_SET_DURATION, .def = "30s", .min = 0, .max = DAY_MS,
     .help = "a refused client id from one address is refused again without any call for this "
             "long (replays cost nothing; 0: not remembered)"},
    {.name = "claims-per-ip", .type = SG_SET_INT, .def = "4", .min = 0, .max = 100000,
     .help = "connections one address may hold on this server (players behind one NAT share "
             "it; more are refused ip_limit; 0: no cap)"},
    {.name = "register", .type = SG_SET_BOOL, .def = "true",
     .help = "write contexts/gameserver and publish server up/down (false: tools that only look)"},
    {.name = "claim", .type = SG_SET_BOOL, .def = "true",
     .help = "an accepted verification claims the session (false: dry run, nothing written)"},
    {.name = "log-level", .type = SG_SET_STRING, .def = "info", .choices = SG_LOG_LEVEL_CHOICES,
     .help = "debug, info, warn, error or off (applied by sg_hook_new when set; see "
             "sg_hook_log_set_level)"},
    {.name = "platform", .type = SG_SET_STRING, .def = "auto", .choices = "auto|edgegap|agones",
     .help = "the platform this server runs on; auto: agones when AGONES_SDK_HTTP_PORT is set, "
             "edgegap when ARBITRIUM_CONTEXT_URL is"},
    {.name = "seat-token-keys", .type = SG_SET_STRING,
     .help = "JWK Set file seat tokens are verified with (seatgate-token jwt-public; unset: "
             "sg_hook_verify_seat_token refuses every token)"},
    {.name = "seat-token-audience", .type = SG_SET_STRING, .def = "",
     .help = "the aud a seat token must name (the matchmaker's seat-token-audience; empty: "
             "not checked)"},
    {.name = "seat-token-leeway", .type = SG_SET_DURATION, .def = "5s", .min = 0,
     .max = 300000, .help = "clock skew allowed on a seat token's exp, nbf and iat"},
    {.name = "exposure-mode", .type = SG_SET_STRING, .def = "hostport",
     .choices = "hostport|nodeport|gateway|containerport",
     .help = "how players reach this server (as the matchmaker hands it out): in every "
             "verify_rejected event and refusal log line, so failed connects count by it"},
    {.name = "agones-sdk-http-port", .type = SG_SET_INT, .env = "AGONES_SDK_HTTP_PORT",
     .def = "9358", .min = 1, .max = 65535,
     .help = "port of the Agones SDK sidecar's REST API on 127.0.0.1 (set by Agones; its "
             "presence makes platform=auto pick agones)"},
    {.name = "agones-sdk-timeout", .type = SG_SET_DURATION, .def = "1s", .min = 10,
     .max = 60000, .help = "one call to the SDK sidecar, at most"},
    {.name = "agones-list", .type = SG_SET_STRING, .def = "players",
     .help = "the GameServer's List that holds seats (as the matchmaker's agones-list)"},
    {.name = "agones-address-type", .type = SG_SET_STRING, .def = "",
     .help = "this server's address by type (ExternalIP, InternalIP...), as the matchmaker's "
             "agones-address-type; empty: the GameServer's primary address"},
    {.name = "agones-health-interval", .type = SG_SET_DURATION, .def = "0", .min = 0,
     .max = 600000,
     .help = "time between Health pings (0: half the GameServer's spec.health.periodSeconds)"},
    {.name = "agones-seat-sweep", .type = SG_SET_DURATION, .def = "2s", .min = 0, .max = DAY_MS,
     .help = "how often the list is checked for seats nobody will claim (0: never)"},
    {.name = "agones-orphan-grace", .type = SG_SET_DURATION, .def = "30s", .min = 0,
     .max = DAY_MS,
     .help = "a seat in the list without a session record this long is removed (the "
             "matchmaker adds the seat before it writes the record)"},
    {.name = "agones-shutdown-empty", .type = SG_SET_DURATION, .def = "0", .min = 0,
     .max = DAY_MS,
     .help = "an Allocated server with no seat and no player this long calls Shutdown "
             "(0: never)"},
    {.name = "agones-shutdown-on-stop", .type = SG_SET_BOOL, .def = "true",
     .help = "the hook's stop calls the SDK's Shutdown (the GameServer is done)"},
    {.name = "arbitrium-request-id", .type = SG_SET_STRING, .env = "ARBITRIUM_REQUEST_ID",
     .help = "this deployment's request id (set by Edgegap)"},
    {.name = "arbitrium-public-ip", .type = SG_SET_STRING, .env = "ARBITRIUM_PUBLIC_IP",
     .help = "this deployment's public IP (set by Edgegap)"},
    {.name = "arbitrium-ports-mapping", .type = SG_SET_STRING, .env = "ARBITRIUM_PORTS_MAPPING",
     .help = "JSON ports of the deployment (set by Edgegap)"},
    {.name = "arbitrium-deployment-location", .type = SG_SET_STRING,
     .env = "ARBITRIUM_DEPLOYMENT_LOCATION", .help = "JSON location of the deployment (set by Edgegap)"},
    {.name = "arbitrium-context-url", .type = SG_SET_STRING, .env = "ARBITRIUM_CONTEXT_URL",
     .help = "URL of the deployment's context (set by Edgegap)"},
    {.name = "arbitrium-context-token", .type = SG_SET_STRING, .flags = SG_SET_SECRET,
     .env = "ARBITRIUM_CONTEXT_TOKEN", .help = "authorization for the context URL (set by Edgegap)"},
    {.name = "arbitrium-delete-url", .type = SG_SET_STRING, .env = "ARBITRIUM_DELETE_URL",
     .help = "URL that stops this deployment (set by Edgegap; unused by the hook)"},
    {.name = "arbitrium-delete-token", .type = SG_SET_STRING, .flags = SG_SET_SECRET,
     .env = "ARBITRIUM_DELETE_TOKEN",
     .help = "authorization for the delete URL (set by Edgegap; unused by the hook)"},
};
/* clang-format on */

/* A game server makes few Edgegap calls, each inside a verification's time budget: shorter
 * attempts, one retry, an unpaced client (Edgegap's 429 still backs off). */
static const struct {
    const char *name, *def;
} hook_defaults[] = {
    {"edgegap-timeout", "3s"},
    {"edgegap-retries", "1"},
    {"edgegap-retry-budget", "4s"},
    {"edgegap-rate", "0"},
    /* The hook's start sequence retries the store itself (start-timeout), off the game's
     * thread: each attempt at opening it is a single one. */
    {"store-connect-timeout", "0"},
};

struct sg_hook_options {
    sg_config cfg;
};

static sg_status declare(sg_config *cfg)
{
    *cfg = (sg_config){.program = "gameserver hook", .env_prefix = "SEATGATE_"};
    sg_status st = sg_config_add(cfg, sg_store_settings, sg_store_settings_count);
    if (st == SG_OK) st = sg_config_add(cfg, sg_edgegap_settings, sg_edgegap_settings_count);
    if (st == SG_OK)
        st = sg_config_add(cfg, hook_own_settings,
                           sizeof hook_own_settings / sizeof hook_own_settings[0]);
    for (size_t i = 0; st == SG_OK && i < sizeof hook_defaults / sizeof hook_defaults[0]; i++)
        st = sg_config_set_default(cfg, hook_defaults[i].name, hook_defaults[i].def);
    if (st == SG_OK) sg_config_reset(cfg);
    return st;
}

sg_status sg_hook_options_new(sg_hook_options **out)
{
    if (!out) return sg_fail(SG_E_INVALID, "hook options: NULL");
    *out = NULL;
    sg_hook_options *o = calloc(1, sizeof *o);
    if (!o) return sg_fail(SG_E_NOMEM, "hook options: out of memory");
    sg_status st = declare(&o->cfg);
    if (st != SG_OK) {
        sg_hook_options_free(o);
        return st;
    }
    *out = o;
    return SG_OK;
}

void sg_hook_options_free(sg_hook_options *o)
{
    if (!o) return;
    sg_config_free(&o->cfg);
    free(o);
}

sg_status sg_hook_options_set(sg_hook_options *o, const char *name, const char *value)
{
    if (!o) return sg_fail(SG_E_INVALID, "hook options: NULL");
    if (!sg_config_find(&o->cfg, name))
        return sg_fail(SG_E_INVALID, "hook options: unknown setting '%.64s'", name ? name : "");
    return sg_config_set(&o->cfg, name, value);
}

sg_status sg_hook_options_load_env(sg_hook_options *o)
{
    if (!o) return sg_fail(SG_E_INVALID, "hook options: NULL");
    return sg_config_load_env(&o->cfg);
}

const char *sg_hook_options_get(const sg_hook_options *o, const char *name)
{
    const sg_setting *s = o ? sg_config_find(&o->cfg, name) : NULL;
    if (!s) return NULL;
    if (!s->str) return "";
    return (s->flags & SG_SET_SECRET) ? "(set)" : s->str;
}

/* The table without an options object, for help texts: built once. */
static sg_config described;
static pthread_once_t described_once = PTHREAD_ONCE_INIT;
static char (*described_env)[64];

static void describe_init(void)
{
    if (declare(&described) != SG_OK) return;
    described_env = calloc(described.count, sizeof *described_env);
    for (size_t i = 0; described_env && i < described.count; i++)
        sg_setting_env_name(&described, &described.settings[i], described_env[i],
                            sizeof described_env[i]);
}

static const sg_setting *described_at(size_t index)
{
    pthread_once(&described_once, describe_init);
    return described_env && index < described.count ? &described.settings[index] : NULL;
}

size_t sg_hook_options_count(void)
{
    pthread_once(&described_once, describe_init);
    return described_env ? described.count : 0;
}

const char *sg_hook_options_name(size_t index)
{
    const sg_setting *s = described_at(index);
    return s ? s->name : NULL;
}

bool sg_hook_options_describe(size_t index, const char **env, const char **def, const char **help,
                              bool *secret)
{
    const sg_setting *s = described_at(index);
    if (!s) return false;
    bool is_secret = s->flags & SG_SET_SECRET;
    if (env) *env = described_env[index];
    if (def) *def = is_secret ? NULL : s->def;
    if (help) *help = s->help;
    if (secret) *secret = is_secret;
    return true;
}

bool sg_hook_options_type(size_t index, const char **type)
{
    const sg_setting *s = described_at(index);
    if (!s) return false;
    static const char *const names[] = {"VALUE", "N", "BOOL", "DURATION", "SIZE"};
    if (type) *type = (unsigned)s->type < 5 ? names[s->type] : "VALUE";
    return true;
}

/* ---- for the hook itself ------------------------------------------------------------------ */

const sg_config *hook_options_config(const sg_hook_options *o)
{
    return &o->cfg;
}

const char *hook_options_value(const sg_hook_options *o, const char *name)
{
    return sg_config_str(&o->cfg, name);
}

long long hook_options_num(const sg_hook_options *o, const char *name)
{
    return sg_config_num(&o->cfg, name);
}

bool hook_options_is_set(const sg_hook_options *o, const char *name)
{
    const char *src = sg_config_get(&o->cfg, name)->source;
    return strcmp(src, "default") != 0 && strcmp(src, "unset") != 0;
}

sg_status hook_options_check(const sg_hook_options *o)
{
    sg_config *cfg = (sg_config *)&o->cfg;
    sg_status st = sg_config_check(cfg);
    if (st != SG_OK) return st;
    sg_store_options so;
    if ((st = sg_store_options_from_config(cfg, &so)) != SG_OK) return st;
    sg_edgegap_options eo;
    if ((st = sg_edgegap_options_from_config(cfg, &eo)) != SG_OK) return st;
    const char *digest = sg_config_str(cfg, "cert-digest");
    char normal[SG_REC_DIGEST_LEN + 1];
    if (digest && *digest && sg_cert_digest_normalize(digest, normal) != SG_OK)
        return sg_fail(SG_E_INVALID, "--cert-digest (SEATGATE_CERT_DIGEST): %s", sg_last_error());
    sg_log_level level;
    if (sg_log_level_parse(sg_config_str(cfg, "log-level"), &level) != SG_OK)
        return sg_fail(SG_E_INVALID,
                       "--log-level (SEATGATE_LOG_LEVEL): expected debug, info, warn, error or off");
    return SG_OK;
}

void hook_options_apply_logging(const sg_hook_options *o)
{
    sg_log_level level;
    if (hook_options_is_set(o, "log-level") &&
        sg_log_level_parse(hook_options_value(o, "log-level"), &level) == SG_OK)
        sg_log_set_level(level);
}

static sg_status dup_str(const char *v, const char **dst)
{
    *dst = NULL;
    if (!v) return SG_OK;
    char *c = strdup(v);
    if (!c) return sg_fail(SG_E_NOMEM, "hook options: out of memory");
    *dst = c;
    return SG_OK;
}

sg_status hook_store_options(const sg_hook_options *o, sg_store_options *out)
{
    sg_store_options borrowed;
    sg_status st = sg_store_options_from_config(&o->cfg, &borrowed);
    if (st != SG_OK) return st;
    *out = borrowed;
    const char **strs[] = {&out->url,      &out->app,    &out->user,     &out->password,
                           &out->token,    &out->creds_file, &out->tls_ca, &out->tls_cert,
                           &out->tls_key,  &out->name};
    const char *src[] = {borrowed.url,      borrowed.app,    borrowed.user,     borrowed.password,
                         borrowed.token,    borrowed.creds_file, borrowed.tls_ca, borrowed.tls_cert,
                         borrowed.tls_key,  borrowed.name};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) *strs[i] = NULL;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        st = dup_str(src[i], strs[i]);
        if (st != SG_OK) {
            hook_store_options_clear(out);
            return st;
        }
    }
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
