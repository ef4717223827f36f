/* Fuzzes the parser of the deployment context body (ARBITRIUM_CONTEXT_URL answer). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "seatgate/edgegap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_edgegap_context *c = NULL;
    if (sg_edgegap_parse_context((const char *)data, size, &c) == SG_OK) {
        size_t n = strlen(c->request_id) + strlen(c->public_ip) + c->raw_len;
        for (size_t i = 0; i < c->port_count; i++)
            n += strlen(c->ports[i].name);
        for (size_t i = 0; i < c->tag_count; i++)
            n += strlen(c->tags[i]);
        (void)n;
    }
    sg_edgegap_context_free(c);
    return 0;
}
