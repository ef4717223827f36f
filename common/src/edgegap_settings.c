/* Edgegap client options from a program's loaded configuration (SG_EDGEGAP_SETTINGS). */
#include "seatgate/edgegap.h"

void sg_edgegap_options_from_config(const sg_config *cfg, sg_edgegap_options *o)
{
    sg_edgegap_options_default(o);
    const char *url = sg_config_str(cfg, "edgegap-url");
    if (url && *url) o->base_url = url;
    o->api_key = sg_config_str(cfg, "edgegap-api-key");
    o->connect_timeout_ms = sg_config_num(cfg, "edgegap-connect-timeout");
    o->timeout_ms = sg_config_num(cfg, "edgegap-timeout");
    o->max_retries = (int)sg_config_num(cfg, "edgegap-retries");
    o->retry_budget_ms = sg_config_num(cfg, "edgegap-retry-budget");
    o->rate = (double)sg_config_num(cfg, "edgegap-rate");
    o->burst = (int)sg_config_num(cfg, "edgegap-burst");
    o->max_connections = (int)sg_config_num(cfg, "edgegap-max-connections");
    if (o->backoff_max_ms > o->retry_budget_ms && o->retry_budget_ms > 0)
        o->backoff_max_ms = o->retry_budget_ms;
    if (o->backoff_base_ms > o->backoff_max_ms) o->backoff_base_ms = o->backoff_max_ms;
}
