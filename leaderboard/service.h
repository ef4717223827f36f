/* seatgate leaderboard: the running service (settings, store, applier, index, HTTP). */
#ifndef SEATGATE_LB_SERVICE_H
#define SEATGATE_LB_SERVICE_H

#include "seatgate/config.h"
#include "seatgate/status.h"

typedef struct sg_lb_service sg_lb_service;

/* Declares the leaderboard's settings (its own and the store's) in cfg. */
sg_status sg_lb_config(sg_config *cfg);
/* Starts it from a loaded configuration; SG_E_INVALID naming the setting at fault. */
sg_status sg_lb_start(const sg_config *cfg, sg_lb_service **out);
const char *sg_lb_url(const sg_lb_service *s);
void sg_lb_stop(sg_lb_service *s);

#endif
