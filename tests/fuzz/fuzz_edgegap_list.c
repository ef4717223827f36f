/* Fuzzes the parsers of the session list and app version answers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "seatgate/edgegap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_edgegap_session_list *l = NULL;
    if (sg_edgegap_parse_session_list((const char *)data, size, &l) == SG_OK) {
        size_t n = 0;
        for (size_t i = 0; i < l->count; i++)
            n += strlen(l->data[i].session_id);
        (void)n;
    }
    sg_edgegap_session_list_free(l);
    sg_edgegap_app_version *v = NULL;
    if (sg_edgegap_parse_app_version((const char *)data, size, &v) == SG_OK) (void)strlen(v->name);
    sg_edgegap_app_version_free(v);
    return 0;
}
