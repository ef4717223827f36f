/* libFuzzer target: the POST /connect-me body parser (content type, size, JSON, fields).
 * The first byte picks the content type and whether selectors are allowed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connect_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    static const char *const allowed[] = {"eu", "beta", "gpu"};
    static const char *const types[] = {"application/json", "application/json; charset=utf-8",
                                        "text/plain", NULL};
    uint8_t mode = data[0];
    sg_connect_body_options o = {.max_bytes = 4096,
                                 .allowed_selectors = allowed,
                                 .allowed_selector_count = (mode & 4) ? 3 : 0};
    sg_connect_request r;
    sg_reply_error err;
    memset(&err, 0, sizeof err);
    sg_status st =
        sg_connect_request_parse(&o, types[mode & 3], (const char *)data + 1, size - 1, &r, &err);
    if (st == SG_OK) {
        /* Whatever was accepted is bounded and printable. */
        if (strlen(r.client_version) > SG_CONNECT_TEXT_MAX) __builtin_trap();
        if (r.selector_count > SG_CONNECT_MAX_SELECTORS) __builtin_trap();
        for (size_t i = 0; i < r.selector_count; i++)
            if (strlen(r.selectors[i]) == 0) __builtin_trap();
    } else {
        if (!err.code || err.status < 400 || err.status > 499) __builtin_trap();
        char *json = sg_reply_error_json(&err, NULL);
        if (!json) __builtin_trap();
        free(json);
    }
    return 0;
}
