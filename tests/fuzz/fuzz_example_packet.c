/* The example server's reply/keep-alive packet parser (untrusted UDP input). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "example_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ex_packet p;
    if (ex_packet_parse(data, size, &p)) {
        uint8_t buf[EX_MAX_PACKET];
        size_t n = ex_packet_write(&p, buf);
        ex_packet q;
        if (!ex_packet_parse(buf, n, &q) || q.type != p.type || q.client_id != p.client_id ||
            q.code != p.code || strcmp(q.message, p.message) != 0)
            __builtin_trap();
    }
    return 0;
}
