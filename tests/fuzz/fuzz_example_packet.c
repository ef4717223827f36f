/* The example's packet parser (untrusted UDP input): every input either fails to parse or
 * parses as a packet that writes back to the same bytes (for the authenticated ones, under
 * a fixed key, so the tag check is reached). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "example_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[EX_KEY_BYTES] = {7, 7, 7};
    ex_packet p;
    if (ex_packet_parse(data, size, key, &p)) {
        uint8_t buf[EX_MAX_PACKET];
        size_t n = ex_packet_write(&p, p.type == EX_PLAIN_DENY ? NULL : key, buf);
        ex_packet q;
        if (n == 0 || !ex_packet_parse(buf, n, key, &q) || q.type != p.type ||
            q.client_id != p.client_id || q.sequence != p.sequence || q.code != p.code ||
            strcmp(q.message, p.message) != 0)
            __builtin_trap();
    }
    return 0;
}
