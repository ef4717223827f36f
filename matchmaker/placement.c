/* The placement policy: estimates, candidates, choice (pure; see placement.h). */
#include "placement.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#define EARTH_RADIUS_KM 6371.0
#define FIBRE_KM_PER_MS 200.0

bool sg_place_mode_parse(const char *text, sg_place_mode *out)
{
    static const struct {
        const char *name;
        sg_place_mode mode;
    } names[] = {{"platform", SG_PLACE_PLATFORM}, {"fill", SG_PLACE_FILL}, {"nearest", SG_PLACE_NEAREST}};
    for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i].name) == 0) {
            *out = names[i].mode;
            return true;
        }
    return false;
}

const char *sg_place_mode_name(sg_place_mode m)
{
    return m == SG_PLACE_FILL ? "fill" : m == SG_PLACE_NEAREST ? "nearest" : "platform";
}

const char *sg_place_source_name(sg_place_source s)
{
    return s == SG_PLACE_MEASURED ? "measured" : s == SG_PLACE_GEOIP ? "geoip" : "none";
}

const char *sg_place_kind_name(sg_place_kind k)
{
    return k == SG_PLACE_JOIN ? "joined" : k == SG_PLACE_NEW_SERVER ? "new_server" : "platform";
}

static double radians(double deg)
{
    return deg * (M_PI / 180.0);
}

double sg_place_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    double dlat = radians(lat2 - lat1), dlon = radians(lon2 - lon1);
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) * sin(dlon / 2);
    if (a > 1) a = 1;
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a));
}

double sg_place_rtt_from_km(double km)
{
    return SG_PLACE_RTT_BASE_MS + 2.0 * km * SG_PLACE_RTT_ROUTE_FACTOR / FIBRE_KM_PER_MS;
}

bool sg_place_estimate(const sg_place_player *p, const sg_place_server *s, double *ms,
                       sg_place_source *source)
{
    if (s->city && s->city[0])
        for (size_t i = 0; i < p->rtt_count; i++)
            if (p->rtts[i].name && strcasecmp(p->rtts[i].name, s->city) == 0 &&
                p->rtts[i].ms >= 0) {
                *ms = p->rtts[i].ms;
                *source = SG_PLACE_MEASURED;
                return true;
            }
    if (p->has_coords && s->has_coords) {
        *ms = sg_place_rtt_from_km(
            sg_place_distance_km(p->latitude, p->longitude, s->latitude, s->longitude));
        *source = SG_PLACE_GEOIP;
        return true;
    }
    return false;
}

/* Whether candidate a is a better choice than b (both within the budget). */
static bool better(sg_place_mode mode, const sg_place_server *a, double a_ms,
                   const sg_place_server *b, double b_ms)
{
    if (mode == SG_PLACE_FILL && a->players != b->players) return a->players > b->players;
    return a_ms < b_ms;
}

void sg_place_decide(const sg_place_options *o, const sg_place_player *p,
                     const sg_place_server *servers, size_t n, sg_place_decision *out)
{
    memset(out, 0, sizeof *out);
    out->kind = SG_PLACE_ASK_PLATFORM;
    if (o->mode == SG_PLACE_PLATFORM) return;
    bool any_estimate = false, found = false;
    /* fill: first the closest candidate, which bounds how far a fuller one may be */
    double limit_ms = o->budget_ms;
    if (o->mode == SG_PLACE_FILL && o->fill_slack_ms > 0) {
        bool any = false;
        double best = 0;
        for (size_t i = 0; i < n; i++) {
            const sg_place_server *s = &servers[i];
            double ms;
            sg_place_source src;
            if (o->now_ms - s->heartbeat_at > o->stale_ms || s->capacity <= 0 ||
                s->players >= s->capacity || !sg_place_estimate(p, s, &ms, &src) ||
                ms > o->budget_ms)
                continue;
            if (!any || ms < best) best = ms;
            any = true;
        }
        if (any && best + o->fill_slack_ms < limit_ms) limit_ms = best + o->fill_slack_ms;
    }
    for (size_t i = 0; i < n; i++) {
        const sg_place_server *s = &servers[i];
        out->considered++;
        if (o->now_ms - s->heartbeat_at > o->stale_ms) {
            out->stale++;
            continue;
        }
        double ms;
        sg_place_source src;
        if (!sg_place_estimate(p, s, &ms, &src)) {
            out->unknown++;
            continue;
        }
        any_estimate = true;
        if (s->capacity <= 0 || s->players >= s->capacity) {
            out->full++;
            continue;
        }
        if (ms > o->budget_ms) {
            out->far++;
            continue;
        }
        if (ms > limit_ms) continue; /* fill: a closer candidate is not much emptier */
        if (!found || better(o->mode, s, ms, &servers[out->server], out->rtt_ms)) {
            found = true;
            out->server = i;
            out->rtt_ms = ms;
            out->source = src;
        }
    }
    if (found)
        out->kind = SG_PLACE_JOIN;
    else if (any_estimate || p->has_coords)
        out->kind = SG_PLACE_NEW_SERVER;
}
