/* The outgoing pace for Edgegap calls: a token bucket in its GCRA form, one object per
 * pace, shared by the clients given the same one (sg_edgegap_options.pace).
 *
 * Each request reserves a send time. With T = 1/rate and tau = (burst - 1) * T, a request
 * reserved at `now` may leave at s = max(now, tat - tau), and the theoretical arrival time
 * moves to tat = max(tat, s) + T. So `burst` requests may leave at once, then one every T.
 * Reservations never block: the caller waits (a timer in the non-blocking client, a sleep in
 * the blocking one) until its send time. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "edgegap_internal.h"
#include "seatgate/clock.h"

/* Two lanes, so that a burst of departures never delays arriving players: deletes take
 * their own share of the rate (delete_share), everything else the rest. Together they never
 * exceed the configured rate. */
typedef struct lane {
    double rate;
    int burst;
    double tat; /* us, monotonic */
} lane;

struct sg_edgegap_pace {
    pthread_mutex_t mu;
    atomic_int refs;
    double rate; /* 0: unpaced */
    int burst;
    double delete_share; /* 0: one lane for all */
    lane lanes[SG_EG_LANES];
    long long hold_until; /* us, for the unpaced case */
};

long long sg_edgegap_clock_us(void)
{
    return sg_clock_mono_us();
}

/* Splits rate and burst between the lanes (under the lock). */
static void split(sg_edgegap_pace *p)
{
    double share = p->delete_share;
    if (share <= 0 || p->rate <= 0) {
        p->lanes[SG_EG_LANE_PLAYERS] = (lane){p->rate, p->burst, 0};
        p->lanes[SG_EG_LANE_DELETES] = (lane){p->rate, p->burst, 0}; /* shares the first */
        return;
    }
    int del_burst = (int)(p->burst * share + 0.5);
    if (del_burst < 1) del_burst = 1;
    int play_burst = p->burst - del_burst > 0 ? p->burst - del_burst : 1;
    p->lanes[SG_EG_LANE_PLAYERS] = (lane){p->rate * (1 - share), play_burst, 0};
    p->lanes[SG_EG_LANE_DELETES] = (lane){p->rate * share, del_burst, 0};
}

sg_status sg_edgegap_pace_new(double rate, int burst, double delete_share, sg_edgegap_pace **out)
{
    *out = NULL;
    sg_edgegap_pace *p = calloc(1, sizeof *p);
    if (!p) return sg_fail(SG_E_NOMEM, "out of memory creating the Edgegap pace");
    pthread_mutex_init(&p->mu, NULL);
    atomic_init(&p->refs, 1);
    p->rate = rate > 0 ? rate : 0;
    p->burst = burst > 0 ? burst : 1;
    p->delete_share = delete_share < 0 ? 0 : delete_share > 0.9 ? 0.9 : delete_share;
    split(p);
    *out = p;
    return SG_OK;
}

sg_edgegap_pace *sg_edgegap_pace_ref(sg_edgegap_pace *p)
{
    if (p) atomic_fetch_add(&p->refs, 1);
    return p;
}

void sg_edgegap_pace_free(sg_edgegap_pace *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void sg_eg_pace_get_rate(sg_edgegap_pace *p, double *rate, int *burst)
{
    pthread_mutex_lock(&p->mu);
    *rate = p->rate;
    *burst = p->burst;
    pthread_mutex_unlock(&p->mu);
}

void sg_eg_pace_get_lane(sg_edgegap_pace *p, sg_eg_lane which, double *rate, int *burst)
{
    pthread_mutex_lock(&p->mu);
    *rate = p->lanes[which].rate;
    *burst = p->lanes[which].burst;
    pthread_mutex_unlock(&p->mu);
}

long long sg_eg_pace_reserve_lane(sg_edgegap_pace *p, sg_eg_lane which, long long now_us)
{
    double s;
    pthread_mutex_lock(&p->mu);
    /* Without a share, deletes wait in the players' lane as everything else does. */
    lane *l = &p->lanes[p->delete_share > 0 ? which : SG_EG_LANE_PLAYERS];
    if (p->rate <= 0) {
        s = (double)(now_us > p->hold_until ? now_us : p->hold_until);
    } else {
        double t = 1e6 / l->rate;
        double tau = (l->burst - 1) * t;
        s = l->tat - tau;
        if (s < (double)now_us) s = (double)now_us;
        l->tat = (l->tat > s ? l->tat : s) + t;
    }
    pthread_mutex_unlock(&p->mu);
    long long r = (long long)s;
    return (double)r < s ? r + 1 : r;
}

long long sg_eg_pace_peek_lane(sg_edgegap_pace *p, sg_eg_lane which, long long now_us,
                               double *rate)
{
    double s;
    pthread_mutex_lock(&p->mu);
    const lane *l = &p->lanes[p->delete_share > 0 ? which : SG_EG_LANE_PLAYERS];
    *rate = p->rate > 0 ? l->rate : 0;
    if (p->rate <= 0) {
        s = (double)(now_us > p->hold_until ? now_us : p->hold_until);
    } else {
        s = l->tat - (l->burst - 1) * (1e6 / l->rate);
        if (s < (double)now_us) s = (double)now_us;
    }
    pthread_mutex_unlock(&p->mu);
    return (long long)s;
}

long long sg_eg_pace_reserve(sg_edgegap_pace *p, long long now_us)
{
    return sg_eg_pace_reserve_lane(p, SG_EG_LANE_PLAYERS, now_us);
}

/* Edgegap said to wait (429 with Retry-After): both lanes hold, as the limit is Edgegap's. */
void sg_eg_pace_hold(sg_edgegap_pace *p, long long until_us)
{
    pthread_mutex_lock(&p->mu);
    if (until_us > p->hold_until) p->hold_until = until_us;
    if (p->rate > 0) {
        for (int i = 0; i < SG_EG_LANES; i++) {
            double tau = (p->lanes[i].burst - 1) * (1e6 / p->lanes[i].rate);
            if (p->lanes[i].tat < (double)until_us + tau)
                p->lanes[i].tat = (double)until_us + tau;
        }
    }
    pthread_mutex_unlock(&p->mu);
}
