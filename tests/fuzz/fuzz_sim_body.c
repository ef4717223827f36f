/* Fuzzes the Edgegap simulator's parser of POST /v1/session bodies (untrusted input):
 * no crash, no leak, and on success every field is within its documented bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_session_req req;
    if (sim_session_req_parse((const char *)data, size, &req) == SG_OK) {
        if (!req.app[0] || strlen(req.app) >= SIM_NAME_MAX) abort();
        if (req.n_ips > SIM_MAX_IPS) abort();
        if (req.n_ips == 0 && !req.deployment_request_id[0]) abort();
        for (size_t i = 0; i < req.n_ips; i++)
            if (!req.ips[i].ip[0] || strlen(req.ips[i].ip) >= sizeof req.ips[i].ip) abort();
        if (req.webhook_url && strncmp(req.webhook_url, "http", 4) != 0) abort();
        sim_session_req_clear(&req);
    }
    return 0;
}
