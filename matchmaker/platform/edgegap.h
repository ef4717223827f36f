/* seatgate matchmaker: the Edgegap platform (sessions as seats).
 *
 * Seats are Edgegap sessions for one app version: create is POST /v1/session with
 * ip_list [player IP] (plus selectors and webhook_url), poll is GET /v1/session/{id}, release
 * is DELETE /v1/session/{id} (404 and 410 count as released), check is
 * GET /v1/app/{app}/version/{version} (must be is_active). It owns an Edgegap client and the
 * thread that drives its libcurl multi handle; completion callbacks run on that thread.
 */
#ifndef SEATGATE_MM_PLATFORM_EDGEGAP_H
#define SEATGATE_MM_PLATFORM_EDGEGAP_H

#include "orchestrator.h"
#include "seatgate/edgegap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_edgegap_orch_options {
    sg_edgegap_options client; /* copied by the client */
    const char *app;           /* copied */
    const char *version;       /* copied */
    const char *port_name;     /* checked against the app version's ports ("": not checked) */
} sg_edgegap_orch_options;

/* Creates the client and starts its thread. Errors: SG_E_INVALID (options; names the bad
 * one), SG_E_NOMEM, SG_E_IO (thread). */
sg_status sg_orchestrator_edgegap_new(const sg_edgegap_orch_options *o, sg_orchestrator *out);

/* Copies what a seat needs from a parsed Edgegap session. */
void sg_seat_from_edgegap(const sg_edgegap_session *s, sg_seat *out);

#ifdef __cplusplus
}
#endif
#endif
