/* The connect flow's indexes of live flights (flight_map.h). */
#include "flight_map.h"

#include <stdio.h>
#include <string.h>

static size_t bucket_of(const sg_flight_map *m, const void *p, size_t n)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, p, n, m->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (SG_FLIGHT_MAP_BUCKETS - 1));
}

void sg_flight_map_init(sg_flight_map *m)
{
    memset(m->by_ip, 0, sizeof m->by_ip);
    memset(m->by_seat, 0, sizeof m->by_seat);
    memset(m->early, 0, sizeof m->early);
    randombytes_buf(m->hash_key, sizeof m->hash_key);
}

void sg_flight_map_add_ip(sg_flight_map *m, sg_flight_link *l)
{
    sg_flight_link **slot = &m->by_ip[bucket_of(m, l->ipkey, sizeof l->ipkey)];
    l->ip_next = *slot;
    *slot = l;
}

void sg_flight_map_add_seat(sg_flight_map *m, sg_flight_link *l)
{
    sg_flight_link **slot = &m->by_seat[bucket_of(m, l->seat_id, strlen(l->seat_id))];
    l->seat_next = *slot;
    *slot = l;
}

void sg_flight_map_remove(sg_flight_map *m, sg_flight_link *l)
{
    for (sg_flight_link **pp = &m->by_ip[bucket_of(m, l->ipkey, sizeof l->ipkey)]; *pp;
         pp = &(*pp)->ip_next) {
        if (*pp == l) {
            *pp = l->ip_next;
            break;
        }
    }
    if (!l->seat_id[0]) return;
    for (sg_flight_link **pp = &m->by_seat[bucket_of(m, l->seat_id, strlen(l->seat_id))]; *pp;
         pp = &(*pp)->seat_next) {
        if (*pp == l) {
            *pp = l->seat_next;
            break;
        }
    }
}

sg_flight_link *sg_flight_map_ip_chain(sg_flight_map *m, const uint8_t key[SG_ADDR_KEY_BYTES])
{
    return m->by_ip[bucket_of(m, key, SG_ADDR_KEY_BYTES)];
}

sg_flight_link *sg_flight_map_find_seat(sg_flight_map *m, const char *id)
{
    sg_flight_link *l = m->by_seat[bucket_of(m, id, strlen(id))];
    while (l && strcmp(l->seat_id, id) != 0)
        l = l->seat_next;
    return l;
}

void sg_flight_map_note_early(sg_flight_map *m, const char *id, long long now_ms)
{
    size_t i = bucket_of(m, id, strlen(id)) & (SG_FLIGHT_MAP_EARLY - 1);
    snprintf(m->early[i].seat_id, sizeof m->early[i].seat_id, "%s", id);
    m->early[i].at_ms = now_ms;
}

bool sg_flight_map_take_early(sg_flight_map *m, const char *id, long long now_ms,
                              long long max_age_ms)
{
    size_t i = bucket_of(m, id, strlen(id)) & (SG_FLIGHT_MAP_EARLY - 1);
    if (!m->early[i].seat_id[0] || strcmp(m->early[i].seat_id, id) != 0) return false;
    m->early[i].seat_id[0] = '\0';
    return now_ms - m->early[i].at_ms <= max_age_ms;
}
