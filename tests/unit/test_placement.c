/* The placement policy over tables of servers and players: estimates (measured first, then
 * GeoIP distance), stale, full and far servers skipped, fill versus nearest, ties, and when
 * the platform is asked instead. Expected values are worked out by hand in the comments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "placement.h"

#define NOW 1800000000000LL
#define FRESH (NOW - 1000)
#define STALE (NOW - 60000)

static const sg_place_server table[] = {
    /* id, city, coords, players, capacity, heartbeat */
    {"mtl", "Montreal", true, 45.5, -73.6, 3, 4, FRESH},
    {"tor", "Toronto", true, 43.65, -79.38, 1, 4, FRESH},
    {"fra", "Frankfurt", true, 50.11, 8.68, 3, 4, FRESH},
    {"chi", "Chicago", true, 41.88, -87.63, 4, 4, FRESH}, /* full */
    {"bos", "Boston", true, 42.36, -71.06, 2, 4, STALE},  /* stale */
    {"nyc", "New York", true, 40.71, -74.0, 0, 0, FRESH}, /* capacity unknown */
};
#define N (sizeof table / sizeof table[0])

static const sg_place_rtt measured[] = {
    {"montreal", 20}, {"TORONTO", 15}, {"Frankfurt", 95}, {"Chicago", 25},
    {"Boston", 10},   {"New York", 12}, {"Tokyo", 160},
};

static sg_place_options opts(sg_place_mode mode)
{
    return (sg_place_options){.mode = mode, .budget_ms = 80, .stale_ms = 15000, .now_ms = NOW};
}

static void distances_and_the_rtt_model(void **state)
{
    (void)state;
    /* a quarter of the equator: pi/2 * 6371 = 10007.54 km; one degree of a meridian:
     * 6371 * pi / 180 = 111.195 km; the same point: 0 */
    assert_true(fabs(sg_place_distance_km(0, 0, 0, 90) - 10007.54) < 0.01);
    assert_true(fabs(sg_place_distance_km(10, 20, 11, 20) - 111.195) < 0.001);
    assert_true(sg_place_distance_km(45.5, -73.6, 45.5, -73.6) < 1e-9);
    /* antipodes: pi * 6371 = 20015.09 km (no NaN when the haversine term rounds past 1) */
    assert_true(fabs(sg_place_distance_km(0, 0, 0, 180) - 20015.09) < 0.01);
    /* 5 ms + 2 * 1000 km * 1.6 / 200 km/ms = 21 ms; at 0 km the base, 5 ms */
    assert_true(fabs(sg_place_rtt_from_km(1000) - 21.0) < 1e-9);
    assert_true(fabs(sg_place_rtt_from_km(0) - 5.0) < 1e-9);
}

static void measured_beats_geoip_and_names_match_without_case(void **state)
{
    (void)state;
    sg_place_player p = {.rtts = measured, .rtt_count = 7, .has_coords = true,
                         .latitude = 50.11, .longitude = 8.68};
    double ms;
    sg_place_source src;
    assert_true(sg_place_estimate(&p, &table[0], &ms, &src));
    assert_int_equal(src, SG_PLACE_MEASURED);
    assert_true(ms == 20);
    /* no measurement for a city: the distance (here 0 km: 5 ms) */
    sg_place_server lyon = {"lyo", "Lyon", true, 50.11, 8.68, 0, 4, FRESH};
    assert_true(sg_place_estimate(&p, &lyon, &ms, &src));
    assert_int_equal(src, SG_PLACE_GEOIP);
    assert_true(fabs(ms - 5.0) < 1e-9);
    /* neither: no estimate */
    sg_place_player none = {0};
    assert_false(sg_place_estimate(&none, &lyon, &ms, &src));
}

static void fill_takes_the_fullest_within_budget_nearest_the_closest(void **state)
{
    (void)state;
    sg_place_player p = {.rtts = measured, .rtt_count = 7};
    sg_place_options o = opts(SG_PLACE_FILL);
    sg_place_decision d;
    sg_place_decide(&o, &p, table, N, &d);
    /* mtl (3 players, 20 ms) over tor (1, 15 ms); fra too far (95 > 80); chi full; bos
     * stale; nyc of unknown capacity */
    assert_int_equal(d.kind, SG_PLACE_JOIN);
    assert_string_equal(table[d.server].id, "mtl");
    assert_true(d.rtt_ms == 20);
    assert_int_equal(d.source, SG_PLACE_MEASURED);
    assert_int_equal(d.considered, 6);
    assert_int_equal(d.stale, 1);
    assert_int_equal(d.full, 2);
    assert_int_equal(d.far, 1);
    assert_string_equal(sg_place_kind_name(d.kind), "joined");

    o = opts(SG_PLACE_NEAREST);
    sg_place_decide(&o, &p, table, N, &d);
    assert_int_equal(d.kind, SG_PLACE_JOIN);
    assert_string_equal(table[d.server].id, "tor");
    assert_true(d.rtt_ms == 15);
}

/* fill trades at most fill_slack_ms of latency for a fuller server */
static void fill_slack_bounds_the_latency_traded(void **state)
{
    (void)state;
    const sg_place_server two[] = {
        {"near", "Paris", true, 48.86, 2.35, 1, 8, FRESH},
        {"full", "Madrid", true, 40.42, -3.70, 5, 8, FRESH},
    };
    const sg_place_rtt r[] = {{"Paris", 10}, {"Madrid", 50}};
    sg_place_player p = {.rtts = r, .rtt_count = 2};
    sg_place_options o = opts(SG_PLACE_FILL);
    sg_place_decision d;
    sg_place_decide(&o, &p, two, 2, &d); /* no slack: the fullest within the budget */
    assert_string_equal(two[d.server].id, "full");
    o.fill_slack_ms = 20; /* 50 > 10 + 20: the nearer one */
    sg_place_decide(&o, &p, two, 2, &d);
    assert_string_equal(two[d.server].id, "near");
    o.fill_slack_ms = 40; /* 50 <= 10 + 40: the fuller one */
    sg_place_decide(&o, &p, two, 2, &d);
    assert_string_equal(two[d.server].id, "full");
    assert_int_equal(d.far, 0);
}

static void ties_break_toward_lower_latency(void **state)
{
    (void)state;
    const sg_place_server two[] = {
        {"a", "Paris", true, 48.86, 2.35, 2, 4, FRESH},
        {"b", "London", true, 51.51, -0.13, 2, 4, FRESH},
    };
    const sg_place_rtt r[] = {{"Paris", 30}, {"London", 18}};
    sg_place_player p = {.rtts = r, .rtt_count = 2};
    sg_place_options o = opts(SG_PLACE_FILL);
    sg_place_decision d;
    sg_place_decide(&o, &p, two, 2, &d);
    assert_string_equal(two[d.server].id, "b");
}

static void geoip_alone_places_by_distance(void **state)
{
    (void)state;
    /* a player in Frankfurt: fra is 0 km away (5 ms); mtl is about 5,860 km away
     * (5 + 0.016 * 5860 = 98.8 ms: past the budget) */
    sg_place_player p = {.has_coords = true, .latitude = 50.11, .longitude = 8.68};
    sg_place_options o = opts(SG_PLACE_FILL);
    sg_place_decision d;
    sg_place_decide(&o, &p, table, N, &d);
    assert_int_equal(d.kind, SG_PLACE_JOIN);
    assert_string_equal(table[d.server].id, "fra");
    assert_int_equal(d.source, SG_PLACE_GEOIP);
    assert_true(fabs(d.rtt_ms - 5.0) < 1e-9);
    double mtl = sg_place_rtt_from_km(sg_place_distance_km(50.11, 8.68, 45.5, -73.6));
    assert_true(mtl > 95 && mtl < 102);
}

static void nothing_fits_a_new_server_no_estimate_the_platform(void **state)
{
    (void)state;
    sg_place_decision d;
    sg_place_options o = opts(SG_PLACE_FILL);
    /* a player in Tokyo: every server far */
    sg_place_player tokyo = {.has_coords = true, .latitude = 35.68, .longitude = 139.69};
    sg_place_decide(&o, &tokyo, table, N, &d);
    assert_int_equal(d.kind, SG_PLACE_NEW_SERVER);
    assert_string_equal(sg_place_kind_name(d.kind), "new_server");
    /* no server at all, but a position: a new one near the player */
    sg_place_decide(&o, &tokyo, NULL, 0, &d);
    assert_int_equal(d.kind, SG_PLACE_NEW_SERVER);
    /* nothing known of the player: the platform decides */
    sg_place_player unknown = {0};
    sg_place_decide(&o, &unknown, table, N, &d);
    assert_int_equal(d.kind, SG_PLACE_ASK_PLATFORM);
    assert_int_equal(d.unknown, 5); /* every fresh server, none estimated */
    /* mode platform: never a decision */
    o = opts(SG_PLACE_PLATFORM);
    sg_place_player p = {.rtts = measured, .rtt_count = 7};
    sg_place_decide(&o, &p, table, N, &d);
    assert_int_equal(d.kind, SG_PLACE_ASK_PLATFORM);
    assert_string_equal(sg_place_kind_name(d.kind), "platform");
}

static void a_full_server_is_never_chosen_even_alone(void **state)
{
    (void)state;
    const sg_place_server one[] = {{"x", "Paris", true, 48.86, 2.35, 8, 8, FRESH}};
    const sg_place_rtt r[] = {{"Paris", 10}};
    sg_place_player p = {.rtts = r, .rtt_count = 1};
    sg_place_options o = opts(SG_PLACE_FILL);
    sg_place_decision d;
    sg_place_decide(&o, &p, one, 1, &d);
    assert_int_equal(d.kind, SG_PLACE_NEW_SERVER);
    assert_int_equal(d.full, 1);
}

static void modes_parse(void **state)
{
    (void)state;
    sg_place_mode m;
    assert_true(sg_place_mode_parse("fill", &m) && m == SG_PLACE_FILL);
    assert_true(sg_place_mode_parse("nearest", &m) && m == SG_PLACE_NEAREST);
    assert_true(sg_place_mode_parse("platform", &m) && m == SG_PLACE_PLATFORM);
    assert_false(sg_place_mode_parse("Fill", &m));
    assert_false(sg_place_mode_parse(NULL, &m));
    assert_string_equal(sg_place_mode_name(SG_PLACE_NEAREST), "nearest");
    assert_string_equal(sg_place_source_name(SG_PLACE_GEOIP), "geoip");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distances_and_the_rtt_model),
        cmocka_unit_test(measured_beats_geoip_and_names_match_without_case),
        cmocka_unit_test(fill_takes_the_fullest_within_budget_nearest_the_closest),
        cmocka_unit_test(fill_slack_bounds_the_latency_traded),
        cmocka_unit_test(ties_break_toward_lower_latency),
        cmocka_unit_test(geoip_alone_places_by_distance),
        cmocka_unit_test(nothing_fits_a_new_server_no_estimate_the_platform),
        cmocka_unit_test(a_full_server_is_never_chosen_even_alone),
        cmocka_unit_test(modes_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
