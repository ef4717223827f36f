/* A simulated evening of players arriving and leaving across regions, placed by the
 * matchmaker's policy (placement.c) with placement=fill, and by the platform alone
 * (placement=platform), over the same arrivals. Prints for each: the round trip players got
 * (mean, p95), players per occupied server and the share of players alone on theirs
 * (sampled each simulated minute), and servers started; then fill / platform ratios.
 *
 * The model, in simulated time (nothing waits):
 *   - cities where servers can run (Edgegap-like locations), players from around them
 *     (weights per city, positions scattered up to ~400 km), arriving as a Poisson process
 *     whose rate rises to a peak mid-evening and falls, each staying an exponential time;
 *   - a server holds CAPACITY players and stops after EMPTY_TTL minutes with nobody on it;
 *   - a player's true round trip to a server is sg_place_rtt_from_km of the distance; what
 *     the client measures to each city (the rtts it sends) is that with +-10% noise;
 *   - the platform, asked for a seat near a player, links the nearest server with a free
 *     seat within the link radius, else starts one in the nearest city (as the Edgegap
 *     simulator's link_within_ms and regions model it); a second platform row links the
 *     nearest with a free seat at any distance (the simulator's default);
 *   - fill: the policy decides over the live servers with the client's measurements; a
 *     new_server is asked of the platform as above.
 * Usage: bench_placement [PLAYERS] [HOURS] [SEED] [FILL_SLACK_MS]   (default 20000 4 1 15) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

#define CAPACITY 16
#define EMPTY_TTL_MIN 5.0
#define BUDGET_MS 80.0
#define LINK_RADIUS_MS 80.0
#define MEAN_STAY_MIN 25.0
#define MAX_SERVERS 8192

static double fill_slack = 15; /* the policy's fill_slack_ms (the placement-fill-slack default) */

typedef struct city {
    const char *name;
    double lat, lon, weight;
} city;

static const city cities[] = {
    {"Montreal", 45.50, -73.57, 6},  {"Virginia", 38.90, -77.04, 10}, {"Chicago", 41.88, -87.63, 6},
    {"Dallas", 32.78, -96.80, 5},    {"Seattle", 47.61, -122.33, 4}, {"Frankfurt", 50.11, 8.68, 9},
    {"London", 51.51, -0.13, 8},     {"Paris", 48.86, 2.35, 6},      {"Warsaw", 52.23, 21.01, 4},
    {"Sao Paulo", -23.55, -46.63, 5}, {"Tokyo", 35.68, 139.69, 6},   {"Singapore", 1.35, 103.82, 4},
    {"Sydney", -33.87, 151.21, 3},
};
#define NCITIES (sizeof cities / sizeof cities[0])

typedef struct player {
    double lat, lon;
    int home;               /* index into cities */
    double arrive, leave;   /* minutes */
    float rtt_to[NCITIES];  /* what the client measures to each city */
} player;

typedef struct server {
    int city;
    int players;
    double empty_since; /* minutes; < 0: has players */
    bool live;
} server;

typedef struct world {
    server s[MAX_SERVERS];
    int n;
    int started;
} world;

/* ---- a small deterministic generator (xorshift64*) ---- */
static uint64_t rng = 1;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static double expo(double mean)
{
    return -mean * log(1.0 - uniform());
}

static double true_rtt(const player *p, int c)
{
    return sg_place_rtt_from_km(
        sg_place_distance_km(p->lat, p->lon, cities[c].lat, cities[c].lon));
}

/* The evening's players, in arrival order: the rate follows half a sine over the hours. */
static player *make_players(int n, double hours)
{
    player *ps = calloc((size_t)n, sizeof *ps);
    double total = 0;
    for (size_t c = 0; c < NCITIES; c++)
        total += cities[c].weight;
    double span = hours * 60.0;
    for (int i = 0; i < n; i++) {
        player *p = &ps[i];
        /* arrival time with density proportional to sin(pi * t / span) (inverse CDF) */
        double u = uniform();
        p->arrive = span * acos(1.0 - 2.0 * u) / M_PI;
        double pick = uniform() * total;
        size_t c = 0;
        while (c + 1 < NCITIES && pick >= cities[c].weight) {
            pick -= cities[c].weight;
            c++;
        }
        p->home = (int)c;
        double r = 400.0 * sqrt(uniform()), a = 2 * M_PI * uniform(); /* km, around the city */
        p->lat = cities[c].lat + r * cos(a) / 111.2;
        p->lon = cities[c].lon + r * sin(a) / (111.2 * cos(cities[c].lat * M_PI / 180));
        p->leave = p->arrive + expo(MEAN_STAY_MIN);
        for (size_t k = 0; k < NCITIES; k++)
            p->rtt_to[k] = (float)(true_rtt(p, (int)k) * (0.9 + 0.2 * uniform()));
    }
    /* sort by arrival */
    for (int i = 1; i < n; i++) {
        player t = ps[i];
        int j = i - 1;
        while (j >= 0 && ps[j].arrive > t.arrive) {
            ps[j + 1] = ps[j];
            j--;
        }
        ps[j + 1] = t;
    }
    return ps;
}

/* The platform's choice near a player: the nearest live server with room within the link
 * radius (any distance: radius <= 0), else a new one in the nearest city. */
static int platform_place_within(world *w, const player *p, double radius_ms)
{
    int best = -1;
    double best_ms = 0;
    for (int i = 0; i < w->n; i++) {
        const server *s = &w->s[i];
        if (!s->live || s->players >= CAPACITY) continue;
        double ms = true_rtt(p, s->city);
        if (radius_ms > 0 && ms > radius_ms) continue;
        if (best < 0 || ms < best_ms) {
            best = i;
            best_ms = ms;
        }
    }
    if (best >= 0) return best;
    int c = 0;
    for (size_t k = 1; k < NCITIES; k++)
        if (true_rtt(p, (int)k) < true_rtt(p, c)) c = (int)k;
    if (w->n == MAX_SERVERS) return -1;
    w->s[w->n] = (server){.city = c, .players = 0, .empty_since = -1, .live = true};
    w->started++;
    return w->n++;
}

static int platform_place(world *w, const player *p)
{
    return platform_place_within(w, p, LINK_RADIUS_MS);
}

static int fill_place(world *w, const player *p, sg_place_server *views, int *map)
{
    size_t n = 0;
    for (int i = 0; i < w->n; i++) {
        const server *s = &w->s[i];
        if (!s->live) continue;
        views[n] = (sg_place_server){.id = "", .city = cities[s->city].name, .has_coords = true,
                                     .latitude = cities[s->city].lat,
                                     .longitude = cities[s->city].lon, .players = s->players,
                                     .capacity = CAPACITY, .heartbeat_at = 0};
        map[n++] = i;
    }
    sg_place_rtt rtts[NCITIES];
    for (size_t k = 0; k < NCITIES; k++)
        rtts[k] = (sg_place_rtt){cities[k].name, p->rtt_to[k]};
    sg_place_player pl = {.rtts = rtts, .rtt_count = NCITIES};
    sg_place_options o = {.mode = SG_PLACE_FILL, .budget_ms = BUDGET_MS, .fill_slack_ms = fill_slack, .stale_ms = 1,
                          .now_ms = 0};
    sg_place_decision d;
    sg_place_decide(&o, &pl, views, n, &d);
    if (d.kind == SG_PLACE_JOIN) return map[d.server];
    return platform_place(w, p);
}

typedef struct result {
    double rtt_mean, rtt_p95, per_server, alone_share;
    int started;
    int placed;
} result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct departure {
    double at;
    int server;
} departure;

typedef enum how { PLATFORM, PLATFORM_ANY, FILL } how;

static result run(const player *ps, int n, double hours, how mode)
{
    world *w = calloc(1, sizeof *w);
    sg_place_server *views = calloc(MAX_SERVERS, sizeof *views);
    int *map = calloc(MAX_SERVERS, sizeof *map);
    double *rtts = calloc((size_t)n, sizeof *rtts);
    departure *dep = calloc((size_t)n, sizeof *dep); /* a min-heap by time */
    int ndep = 0, next = 0, placed = 0;
    double sample_players = 0, sample_servers = 0, sample_alone = 0;
    double end = hours * 60.0 + 120.0;
    for (double minute = 0; minute < end; minute += 1.0) {
        /* the minute's events, in time order */
        for (;;) {
            double t_arr = next < n ? ps[next].arrive : 1e300;
            double t_dep = ndep ? dep[0].at : 1e300;
            double t = t_arr < t_dep ? t_arr : t_dep;
            if (t >= minute + 1.0) break;
            if (t_dep <= t_arr) {
                server *s = &w->s[dep[0].server];
                if (--s->players == 0) s->empty_since = t_dep;
                dep[0] = dep[--ndep]; /* sift down */
                for (int i = 0;;) {
                    int l = 2 * i + 1, r = l + 1, m = i;
                    if (l < ndep && dep[l].at < dep[m].at) m = l;
                    if (r < ndep && dep[r].at < dep[m].at) m = r;
                    if (m == i) break;
                    departure tmp = dep[i];
                    dep[i] = dep[m];
                    dep[m] = tmp;
                    i = m;
                }
            } else {
                const player *p = &ps[next++];
                int si = mode == FILL           ? fill_place(w, p, views, map)
                         : mode == PLATFORM_ANY ? platform_place_within(w, p, 0)
                                                : platform_place(w, p);
                if (si < 0) continue;
                server *s = &w->s[si];
                s->players++;
                s->empty_since = -1;
                rtts[placed++] = true_rtt(p, s->city);
                int i = ndep++; /* sift up */
                dep[i] = (departure){p->leave, si};
                while (i > 0 && dep[(i - 1) / 2].at > dep[i].at) {
                    departure tmp = dep[i];
                    dep[i] = dep[(i - 1) / 2];
                    dep[(i - 1) / 2] = tmp;
                    i = (i - 1) / 2;
                }
            }
        }
        /* servers empty for EMPTY_TTL stop; the minute's sample */
        for (int i = 0; i < w->n; i++) {
            server *s = &w->s[i];
            if (!s->live) continue;
            if (s->players == 0 && s->empty_since >= 0 && minute + 1.0 - s->empty_since >= EMPTY_TTL_MIN)
                s->live = false;
            if (s->players > 0) {
                sample_players += s->players;
                sample_servers += 1;
                if (s->players == 1) sample_alone += 1;
            }
        }
    }
    result r = {.started = w->started, .placed = placed};
    double sum = 0;
    for (int i = 0; i < placed; i++)
        sum += rtts[i];
    qsort(rtts, (size_t)placed, sizeof *rtts, cmp_double);
    r.rtt_mean = placed ? sum / placed : 0;
    r.rtt_p95 = placed ? rtts[(size_t)(0.95 * (placed - 1))] : 0;
    r.per_server = sample_servers ? sample_players / sample_servers : 0;
    r.alone_share = sample_players ? sample_alone / sample_players : 0;
    free(w);
    free(views);
    free(map);
    free(rtts);
    free(dep);
    return r;
}

static void row(const char *name, const result *r)
{
    printf("%-10s %8d %10.1f %9.1f %16.2f %14.1f%% %9d\n", name, r->placed, r->rtt_mean, r->rtt_p95,
           r->per_server, 100.0 * r->alone_share, r->started);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    double hours = argc > 2 ? atof(argv[2]) : 4;
    rng = argc > 3 ? (uint64_t)strtoull(argv[3], NULL, 10) : 1;
    if (argc > 4) fill_slack = atof(argv[4]);
    if (n < 1 || n > 2000000 || !(hours > 0 && hours <= 48) || rng == 0) {
        fprintf(stderr, "usage: bench_placement [PLAYERS 1..2000000] [HOURS] [SEED > 0]\n");
        return 2;
    }
    player *ps = make_players(n, hours);
    printf("== a simulated evening: %d players over %.1f h from %zu cities; servers of %d seats "
           "stop after %.0f min empty; budget %.0f ms, fill slack %.0f ms\n",
           n, hours, NCITIES, CAPACITY, EMPTY_TTL_MIN, BUDGET_MS, fill_slack);
    printf("%-10s %8s %10s %9s %16s %15s %9s\n", "placement", "players", "rtt mean", "rtt p95",
           "players/server", "alone", "started");
    result plat = run(ps, n, hours, PLATFORM);
    result any = run(ps, n, hours, PLATFORM_ANY);
    result fill = run(ps, n, hours, FILL);
    row("platform", &plat);
    row("platform*", &any);
    row("fill", &fill);
    printf("(platform: links within %.0f ms, else starts a server near the player; platform*: "
           "links at any distance)\n",
           LINK_RADIUS_MS);
    printf("fill / platform: rtt mean %.2f, rtt p95 %.2f, players per server %.2f, alone %.2f, "
           "servers started %.2f\n",
           fill.rtt_mean / plat.rtt_mean, fill.rtt_p95 / plat.rtt_p95,
           fill.per_server / plat.per_server,
           plat.alone_share > 0 ? fill.alone_share / plat.alone_share : 0,
           (double)fill.started / plat.started);
    free(ps);
    return 0;
}
