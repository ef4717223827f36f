/* libFuzzer target: X-Forwarded-For and RFC 7239 Forwarded parsing and the client IP
 * decision. The first byte picks the header kind; the peer is a trusted proxy. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client_ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 16384) return 0;
    sg_forward_header h = (data[0] & 1) ? SG_FORWARD_FORWARDED : SG_FORWARD_X_FORWARDED_FOR;
    const char *value = (const char *)data + 1;
    size_t len = size - 1;
    sg_forward_hop hops[SG_CLIENT_IP_MAX_HOPS];
    size_t n = 0, dropped = 0;
    size_t max = 1 + (data[0] >> 1) % SG_CLIENT_IP_MAX_HOPS;
    if (sg_forward_parse(h, value, len, hops, max, &n, &dropped) == SG_OK && n > max)
        __builtin_trap();

    static sg_cidr trusted[2];
    static bool ready = false;
    if (!ready) {
        sg_cidr_parse("10.0.0.0/8", &trusted[0]);
        sg_cidr_parse("fd00::/8", &trusted[1]);
        ready = true;
    }
    sg_client_ip_options o = {.trusted = trusted, .trusted_count = 2, .header = h};
    sg_addr peer, out;
    sg_addr_parse("10.1.2.3", SG_PORT_FORBIDDEN, &peer);
    sg_client_ip_source src;
    if (sg_client_ip_resolve(&o, &peer, value, len, &out, &src) == SG_OK) {
        if (out.port != 0) __builtin_trap();
        if (out.family != AF_INET && out.family != AF_INET6) __builtin_trap();
    }
    return 0;
}
