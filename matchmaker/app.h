/* seatgate matchmaker: the program's settings and the wiring of its modules.
 *
 * sg_app_config() declares the full settings table (HTTP, admission, CORS, the flow, tokens,
 * Edgegap, the store, background work); docs/matchmaker.md lists every entry.
 * sg_app_start() builds everything from a loaded configuration and starts serving;
 * sg_app_stop() answers waiting players, stops the threads and frees everything.
 * main() only loads the configuration, starts the app and waits for a signal.
 */
#ifndef SEATGATE_MM_APP_H
#define SEATGATE_MM_APP_H

#include <stddef.h>

#include "seatgate/config.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_app sg_app;

/* Declares the matchmaker's settings in cfg (its own, then the Edgegap and store fragments);
 * load with sg_config_load, release with sg_config_free. SG_E_NOMEM. */
sg_status sg_app_config(sg_config *cfg);

/* Errors: SG_E_INVALID (a setting, named in the message), SG_E_UNAVAILABLE (the store),
 * SG_E_IO (cannot listen, unreadable TLS files), SG_E_NOMEM. */
sg_status sg_app_start(const sg_config *cfg, sg_app **out);

/* The URL the service answers on locally ("http://127.0.0.1:8080"). */
const char *sg_app_url(const sg_app *a);

void sg_app_stop(sg_app *a);

#ifdef __cplusplus
}
#endif
#endif
