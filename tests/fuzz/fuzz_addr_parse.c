/* Fuzzes address and CIDR parsing (untrusted: forwarded headers, session IPs, config). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256) return 0;
    char text[257];
    memcpy(text, data, size);
    text[size] = '\0';

    sg_addr a;
    for (int rule = SG_PORT_OPTIONAL; rule <= SG_PORT_FORBIDDEN; rule++) {
        if (sg_addr_parse(text, (sg_port_rule)rule, &a) == SG_OK) {
            char buf[SG_ADDR_STRLEN], again[SG_ADDR_STRLEN];
            sg_addr_format(&a, true, buf, sizeof buf);
            sg_addr b;
            /* whatever we format must parse back to the same address */
            if (sg_addr_parse(buf, SG_PORT_OPTIONAL, &b) != SG_OK) abort();
            if (!sg_addr_equal(&a, &b, true)) abort();
            sg_addr_format(&b, true, again, sizeof again);
            if (strcmp(buf, again) != 0) abort();
        }
    }
    sg_cidr c;
    if (sg_cidr_parse(text, &c) == SG_OK) {
        if (!sg_cidr_contains(&c, &c.base)) abort();
    }
    sg_cidr *list = NULL;
    size_t n = 0;
    if (sg_cidr_list_parse(text, &list, &n) == SG_OK) {
        if (n > 0 && !sg_cidr_list_contains(list, n, &list[0].base)) abort();
        free(list);
    }
    return 0;
}
