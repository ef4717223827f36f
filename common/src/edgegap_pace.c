/* The process-wide outgoing pace for Edgegap calls: a token bucket in its GCRA form.
 *
 * Each request reserves a send time. With T = 1/rate and tau = (burst - 1) * T, a request
 * reserved at `now` may leave at s = max(now, tat - tau), and the theoretical arrival time
 * moves to tat = max(tat, s) + T. So `burst` requests may leave at once, then one every T.
 * Reservations never block: the caller waits (a timer in the non-blocking client, a sleep in
 * the blocking one) until its send time. */
#include <pthread.h>
#include <time.h>

#include "edgegap_internal.h"

/* Two lanes, so that a burst of departures never delays arriving players: deletes take
 * their own share of the rate (delete_share), everything else the rest. Together they never
 * exceed the configured rate. */
typedef struct lane {
    double rate;
    int burst;
    double tat; /* us, monotonic */
} lane;

static pthread_mutex_t pace_mu = PTHREAD_MUTEX_INITIALIZER;
static double pace_rate = 10.0;
static int pace_burst = 20;
static double pace_delete_share = SG_EDGEGAP_DELETE_SHARE_DEFAULT;
static lane lanes[SG_EG_LANES] = {{7.0, 14, 0}, {3.0, 6, 0}};
static long long pace_hold_until = 0; /* us, for the unpaced case */

long long sg_edgegap_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Splits rate and burst between the lanes (under the lock). */
static void split(void)
{
    double share = pace_delete_share;
    if (share <= 0 || pace_rate <= 0) {
        lanes[SG_EG_LANE_PLAYERS] = (lane){pace_rate, pace_burst, 0};
        lanes[SG_EG_LANE_DELETES] = (lane){pace_rate, pace_burst, 0}; /* shares the first */
        return;
    }
    int del_burst = (int)(pace_burst * share + 0.5);
    if (del_burst < 1) del_burst = 1;
    int play_burst = pace_burst - del_burst > 0 ? pace_burst - del_burst : 1;
    lanes[SG_EG_LANE_PLAYERS] = (lane){pace_rate * (1 - share), play_burst, 0};
    lanes[SG_EG_LANE_DELETES] = (lane){pace_rate * share, del_burst, 0};
}

void sg_edgegap_pace_configure(double rate, int burst)
{
    pthread_mutex_lock(&pace_mu);
    pace_rate = rate > 0 ? rate : 0;
    pace_burst = burst > 0 ? burst : 1;
    split();
    pace_hold_until = 0;
    pthread_mutex_unlock(&pace_mu);
}

void sg_edgegap_pace_delete_share(double share)
{
    pthread_mutex_lock(&pace_mu);
    pace_delete_share = share < 0 ? 0 : share > 0.9 ? 0.9 : share;
    split();
    pthread_mutex_unlock(&pace_mu);
}

void sg_eg_pace_get(double *rate, int *burst)
{
    pthread_mutex_lock(&pace_mu);
    *rate = pace_rate;
    *burst = pace_burst;
    pthread_mutex_unlock(&pace_mu);
}

void sg_eg_pace_lane_get(sg_eg_lane which, double *rate, int *burst)
{
    pthread_mutex_lock(&pace_mu);
    *rate = lanes[which].rate;
    *burst = lanes[which].burst;
    pthread_mutex_unlock(&pace_mu);
}

long long sg_eg_pace_reserve_lane(sg_eg_lane which, long long now_us)
{
    double s;
    pthread_mutex_lock(&pace_mu);
    /* Without a share, deletes wait in the players' lane as everything else does. */
    lane *l = &lanes[pace_delete_share > 0 ? which : SG_EG_LANE_PLAYERS];
    if (pace_rate <= 0) {
        s = (double)(now_us > pace_hold_until ? now_us : pace_hold_until);
    } else {
        double t = 1e6 / l->rate;
        double tau = (l->burst - 1) * t;
        s = l->tat - tau;
        if (s < (double)now_us) s = (double)now_us;
        l->tat = (l->tat > s ? l->tat : s) + t;
    }
    pthread_mutex_unlock(&pace_mu);
    long long r = (long long)s;
    return (double)r < s ? r + 1 : r;
}

long long sg_eg_pace_reserve(long long now_us)
{
    return sg_eg_pace_reserve_lane(SG_EG_LANE_PLAYERS, now_us);
}

/* Edgegap said to wait (429 with Retry-After): both lanes hold, as the limit is Edgegap's. */
void sg_eg_pace_hold(long long until_us)
{
    pthread_mutex_lock(&pace_mu);
    if (until_us > pace_hold_until) pace_hold_until = until_us;
    if (pace_rate > 0) {
        for (int i = 0; i < SG_EG_LANES; i++) {
            double tau = (lanes[i].burst - 1) * (1e6 / lanes[i].rate);
            if (lanes[i].tat < (double)until_us + tau) lanes[i].tat = (double)until_us + tau;
        }
    }
    pthread_mutex_unlock(&pace_mu);
}
