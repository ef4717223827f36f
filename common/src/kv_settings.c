/* The store's settings fragment and the mapping from a loaded configuration to options. */
#include "kv_backend.h"

#include <string.h>

#define MS(x) (x)
#define DAY (24LL * 3600 * 1000)

const sg_setting sg_store_settings[] = {
    {"store-url", SG_SET_STRING, SG_KV_DEFAULT_URL,
     "state store: nats://host:4222[,nats://host2:4222] or sqlite:///path/file.db", 0, 0, 0, NULL,
     0, NULL},
    {"app", SG_SET_STRING, SG_KV_DEFAULT_APP,
     "namespace prefix of buckets, queues and event subjects (letters, digits, - and _)", 0, 0, 0,
     NULL, 0, NULL},
    {"store-timeout", SG_SET_DURATION, "2s", "deadline of every store call", 0, MS(1), MS(600000),
     NULL, 0, NULL},
    {"nats-user", SG_SET_STRING, NULL, "NATS user name", 0, 0, 0, NULL, 0, NULL},
    {"nats-password", SG_SET_STRING, NULL, "NATS password", SG_SET_SECRET, 0, 0, NULL, 0, NULL},
    {"nats-token", SG_SET_STRING, NULL, "NATS authentication token", SG_SET_SECRET, 0, 0, NULL, 0,
     NULL},
    {"nats-creds-file", SG_SET_STRING, NULL, "NATS credentials file (user JWT and NKey seed)", 0, 0,
     0, NULL, 0, NULL},
    {"nats-tls-ca", SG_SET_STRING, NULL, "CA file to verify the NATS server with (enables TLS)", 0,
     0, 0, NULL, 0, NULL},
    {"nats-tls-cert", SG_SET_STRING, NULL, "client certificate file for NATS mutual TLS", 0, 0, 0,
     NULL, 0, NULL},
    {"nats-tls-key", SG_SET_STRING, NULL, "client private key file for NATS mutual TLS", 0, 0, 0,
     NULL, 0, NULL},
    {"nats-name", SG_SET_STRING, NULL, "connection name shown in NATS monitoring", 0, 0, 0, NULL, 0,
     NULL},
    {"nats-max-reconnects", SG_SET_INT, "-1", "reconnect attempts before giving up (-1 = forever)",
     0, -1, 1000000, NULL, 0, NULL},
    {"nats-reconnect-wait", SG_SET_DURATION, "2s", "pause between reconnect attempts", 0, MS(10),
     MS(600000), NULL, 0, NULL},
    {"kv-replicas", SG_SET_INT, "1", "replicas of new NATS buckets, queues and streams", 0, 1, 5,
     NULL, 0, NULL},
    {"nats-event-history", SG_SET_BOOL, "false",
     "also keep events in the JetStream stream <app>_events", 0, 0, 0, NULL, 0, NULL},
    {"nats-event-max-age", SG_SET_DURATION, "168h", "age limit of the <app>_events stream", 0,
     MS(1000), 365 * DAY, NULL, 0, NULL},
    {"store-sweep-interval", SG_SET_DURATION, "30s", "SQLite: how often expired rows are removed",
     0, MS(100), DAY, NULL, 0, NULL},
    {"store-event-retention", SG_SET_DURATION, "168h",
     "SQLite: how long the events table keeps rows", 0, MS(1000), 365 * DAY, NULL, 0, NULL},
};

const size_t sg_store_settings_count = sizeof sg_store_settings / sizeof sg_store_settings[0];

size_t sg_store_settings_copy(sg_setting *dst, size_t cap)
{
    if (cap < sg_store_settings_count) return 0;
    memcpy(dst, sg_store_settings, sizeof sg_store_settings);
    return sg_store_settings_count;
}

sg_status sg_store_options_from_config(const sg_config *cfg, sg_store_options *o)
{
    sg_store_options_init(o);
    o->url = sg_config_str(cfg, "store-url");
    o->app = sg_config_str(cfg, "app");
    o->timeout_ms = sg_config_num(cfg, "store-timeout");
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
    o->replicas = (int)sg_config_num(cfg, "kv-replicas");
    o->event_history = sg_config_bool(cfg, "nats-event-history");
    o->event_history_max_age_ms = sg_config_num(cfg, "nats-event-max-age");
    o->sweep_interval_ms = sg_config_num(cfg, "store-sweep-interval");
    o->event_retention_ms = sg_config_num(cfg, "store-event-retention");

    if (o->timeout_ms < 1) return sg_fail(SG_E_INVALID, "store-timeout: must be above 0");
    if ((o->tls_cert != NULL) != (o->tls_key != NULL))
        return sg_fail(SG_E_INVALID, "nats-tls-cert and nats-tls-key must be given together");
    if (o->user && !o->password)
        return sg_fail(SG_E_INVALID, "nats-user is set but nats-password is not");
    if (o->password && !o->user)
        return sg_fail(SG_E_INVALID, "nats-password is set but nats-user is not");
    int auth = (o->user != NULL) + (o->token != NULL) + (o->creds_file != NULL);
    if (auth > 1)
        return sg_fail(SG_E_INVALID,
                       "use one NATS authentication: nats-user/nats-password, nats-token or "
                       "nats-creds-file");
    return SG_OK;
}
