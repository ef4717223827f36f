/* Fuzzes the parsers of Edgegap session bodies (GET answer and webhook), the create answer
 * and error bodies. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "seatgate/edgegap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    sg_edgegap_session *s = NULL;
    if (sg_edgegap_parse_session(body, size, &s) == SG_OK) {
        /* touch what callers read */
        size_t n = strlen(s->session_id) + strlen(s->status) + strlen(s->deployment.public_ip);
        for (size_t i = 0; i < s->deployment.port_count; i++)
            n += strlen(s->deployment.ports[i].key) + (size_t)s->deployment.ports[i].external;
        for (size_t i = 0; i < s->session_ip_count; i++)
            n += strlen(s->session_ips[i].ip);
        (void)sg_edgegap_find_port(s->deployment.ports, s->deployment.port_count, "gameport");
        (void)sg_edgegap_session_has_ip(s, "203.0.113.7");
        (void)sg_edgegap_state_is_final(s->state);
        (void)n;
    }
    sg_edgegap_session_free(s);

    sg_edgegap_created *c = NULL;
    if (sg_edgegap_parse_created(body, size, &c) == SG_OK) (void)strlen(c->session_id);
    sg_edgegap_created_free(c);

    char msg[64];
    sg_edgegap_error_message(body, size, msg, sizeof msg);
    return 0;
}
