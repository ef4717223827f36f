/* Fuzzes the Edgegap simulator's config parser (apps, versions, deployment specs): no
 * crash, no leak, and an accepted config is internally consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_catalog cat;
    if (sim_catalog_parse((const char *)data, size, &cat) == SG_OK) {
        if (cat.n == 0) abort();
        for (size_t i = 0; i < cat.n; i++) {
            const sim_version *v = &cat.versions[i];
            if (!v->app[0] || !v->name[0] || v->sockets < 1) abort();
            if (v->tmpl.n_ports > SIM_MAX_PORTS) abort();
            for (size_t j = 0; j < v->n_statics; j++)
                for (size_t k = 0; k < v->statics[j].n_ports; k++)
                    if (v->statics[j].ports[k].external <= 0) abort();
            if (sim_catalog_find(&cat, v->app, v->name) == NULL) abort();
        }
        sim_catalog_free(&cat);
    }
    return 0;
}
