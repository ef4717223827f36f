/* Small helpers shared by the simulator's modules. */
#include <math.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sim.h"

long long sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_random_hex(char *out, size_t hex_chars)
{
    unsigned char raw[32];
    size_t n = (hex_chars + 1) / 2;
    if (n > sizeof raw) n = sizeof raw;
    randombytes_buf(raw, n);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, raw, n);
    memcpy(out, hex, hex_chars);
    out[hex_chars] = '\0';
}

cJSON *sim_error_body(const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", message);
    return o;
}

const char *sim_kind_name(sim_kind k)
{
    switch (k) {
    case SIM_KIND_SEAT:
        return "Seat";
    case SIM_KIND_MATCH:
        return "Match";
    default:
        return "Default";
    }
}

void sim_secret_digest(const char *secret, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)secret, strlen(secret), NULL, 0);
}

bool sim_secret_equal(const char *given, const char *expected)
{
    if (!given || !expected) return false;
    unsigned char a[32], b[32];
    sim_secret_digest(given, a);
    sim_secret_digest(expected, b);
    return sodium_memcmp(a, b, sizeof a) == 0;
}

double sim_rtt_ms(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    double km = 2 * 6371.0 * asin(sqrt(h < 1 ? h : 1));
    return 5.0 + 2.0 * km * 1.6 / 200.0;
}
