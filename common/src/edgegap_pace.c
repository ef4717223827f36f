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

static pthread_mutex_t pace_mu = PTHREAD_MUTEX_INITIALIZER;
static double pace_rate = 10.0;
static int pace_burst = 20;
static double pace_tat = 0;           /* us, monotonic */
static long long pace_hold_until = 0; /* us, for the unpaced case */

long long sg_edgegap_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void sg_edgegap_pace_configure(double rate, int burst)
{
    pthread_mutex_lock(&pace_mu);
    pace_rate = rate > 0 ? rate : 0;
    pace_burst = burst > 0 ? burst : 1;
    pace_tat = 0;
    pace_hold_until = 0;
    pthread_mutex_unlock(&pace_mu);
}

void sg_eg_pace_get(double *rate, int *burst)
{
    pthread_mutex_lock(&pace_mu);
    *rate = pace_rate;
    *burst = pace_burst;
    pthread_mutex_unlock(&pace_mu);
}

long long sg_eg_pace_reserve(long long now_us)
{
    double s;
    pthread_mutex_lock(&pace_mu);
    if (pace_rate <= 0) {
        s = (double)(now_us > pace_hold_until ? now_us : pace_hold_until);
    } else {
        double t = 1e6 / pace_rate;
        double tau = (pace_burst - 1) * t;
        s = pace_tat - tau;
        if (s < (double)now_us) s = (double)now_us;
        pace_tat = (pace_tat > s ? pace_tat : s) + t;
    }
    pthread_mutex_unlock(&pace_mu);
    long long r = (long long)s;
    return (double)r < s ? r + 1 : r;
}

void sg_eg_pace_hold(long long until_us)
{
    pthread_mutex_lock(&pace_mu);
    if (until_us > pace_hold_until) pace_hold_until = until_us;
    if (pace_rate > 0) {
        double tau = (pace_burst - 1) * (1e6 / pace_rate);
        if (pace_tat < (double)until_us + tau) pace_tat = (double)until_us + tau;
    }
    pthread_mutex_unlock(&pace_mu);
}
