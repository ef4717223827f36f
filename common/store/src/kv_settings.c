/* The store's settings fragment and the mapping from a loaded configuration to options. */
#include "kv_backend.h"

#include <stdlib.h>
#include <string.h>

#define MS(x) (x)
#define DAY (24LL * 3600 * 1000)

/* clang-format off */
const sg_setting sg_store_settings[] = {
    {.name = "store-url", .type = SG_SET_STRING, .def = SG_KV_DEFAULT_URL, .help = "state store: nats://host:4222[,nats://host2:4222] or sqlite:///path/file.db"},
    {.name = "app", .type = SG_SET_STRING, .def = SG_KV_DEFAULT_APP, .help = "namespace prefix of buckets, queues and event subjects (letters, digits, - and _)"},
    {.name = "store-timeout", .type = SG_SET_DURATION, .def = "2s", .min = MS(1), .max = MS(600000), .help = "deadline of every store call (NATS request and connect, SQLite busy wait)"},
    {.name = "store-connect-timeout", .type = SG_SET_DURATION, .def = "30s", .min = 0, .max = MS(3600000), .help = "at start, how long an unreachable store is retried before giving up (0: fail at once)"},
    {.name = "nats-user", .type = SG_SET_STRING, .help = "NATS user name"},
    {.name = "nats-password", .type = SG_SET_STRING, .flags = SG_SET_SECRET, .help = "NATS password"},
    {.name = "nats-token", .type = SG_SET_STRING, .flags = SG_SET_SECRET, .help = "NATS authentication token"},
    {.name = "nats-creds-file", .type = SG_SET_STRING, .help = "NATS credentials file (user JWT and NKey seed)"},
    {.name = "nats-tls-ca", .type = SG_SET_STRING, .help = "CA file to verify the NATS server with (enables TLS)"},
    {.name = "nats-tls-cert", .type = SG_SET_STRING, .help = "client certificate file for NATS mutual TLS"},
    {.name = "nats-tls-key", .type = SG_SET_STRING, .help = "client private key file for NATS mutual TLS"},
    {.name = "nats-name", .type = SG_SET_STRING, .help = "connection name shown in NATS monitoring"},
    {.name = "nats-max-reconnects", .type = SG_SET_INT, .def = "-1", .min = -1, .max = 1000000, .help = "reconnect attempts before giving up (-1 = forever)"},
    {.name = "nats-reconnect-wait", .type = SG_SET_DURATION, .def = "2s", .min = MS(10), .max = MS(600000), .help = "pause between reconnect attempts"},
    {.name = "nats-ping-interval", .type = SG_SET_DURATION, .def = "5s", .min = MS(100), .max = MS(600000), .help = "how often the connection to NATS is pinged; two pings unanswered and another server is tried"},
    {.name = "kv-replicas", .type = SG_SET_INT, .def = "1", .min = 1, .max = 5, .help = "replicas of new NATS buckets, queues and streams"},
    {.name = "nats-event-history", .type = SG_SET_BOOL, .def = "false", .help = "also keep events in the JetStream stream <app>_events"},
    {.name = "nats-event-max-age", .type = SG_SET_DURATION, .def = "168h", .min = MS(1000), .max = 365 * DAY, .help = "age limit of the <app>_events stream"},
    {.name = "store-sweep-interval", .type = SG_SET_DURATION, .def = "30s", .min = MS(100), .max = DAY, .help = "SQLite: how often expired rows are removed"},
    {.name = "store-event-max-rows", .type = SG_SET_INT, .def = "1000000", .min = 0, .max = 1000000000, .help = "the events table (SQLite) or stream (nats-event-history) keeps at most this many, the newest (0: no cap)"},
    {.name = "store-event-retention", .type = SG_SET_DURATION, .def = "168h", .min = MS(1000), .max = 365 * DAY, .help = "SQLite: how long the events table keeps rows"},
};
/* clang-format on */

const size_t sg_store_settings_count = sizeof sg_store_settings / sizeof sg_store_settings[0];

sg_status sg_store_options_from_config(const sg_config *cfg, sg_store_options *o)
{
    sg_store_options_init(o);
    o->url = sg_config_str(cfg, "store-url");
    o->app = sg_config_str(cfg, "app");
    o->timeout_ms = sg_config_num(cfg, "store-timeout");
    o->connect_retry_ms = sg_config_num(cfg, "store-connect-timeout");
    o->user = sg_config_str(cfg, "nats-user");
    o->password = sg_config_str(cfg, "nats-password");
    o->token = sg_config_str(cfg, "nats-token");
    o->creds_file = sg_config_str(cfg, "nats-creds-file");
    o->tls_ca = sg_config_str(cfg, "nats-tls-ca");
    o->tls_cert = sg_config_str(cfg, "nats-tls-cert");
    o->tls_key = sg_config_str(cfg, "nats-tls-key");
    o->name = sg_config_str(cfg, "nats-name");
    o->max_reconnects = (int)sg_config_num(cfg, "nats-max-reconnects");
    o->reconnect_wait_ms = sg_config_num(cfg, "nats-reconnect-wait");
    o->ping_interval_ms = sg_config_num(cfg, "nats-ping-interval");
    o->replicas = (int)sg_config_num(cfg, "kv-replicas");
    o->event_history = sg_config_bool(cfg, "nats-event-history");
    o->event_history_max_age_ms = sg_config_num(cfg, "nats-event-max-age");
    o->sweep_interval_ms = sg_config_num(cfg, "store-sweep-interval");
    o->event_retention_ms = sg_config_num(cfg, "store-event-retention");
    o->event_max_rows = sg_config_num(cfg, "store-event-max-rows");

    const sg_kv_backend *be = NULL;
    char *target = NULL;
    if (sg_kv_parse_url(o->url, &be, &target) != SG_OK)
        return sg_fail(SG_E_INVALID, "--%s", sg_last_error()); /* "--store-url: ..." */
    free(target);
    return sg_kv_options_check(o);
}
