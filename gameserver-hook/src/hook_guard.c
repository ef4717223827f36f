/* What keeps one replayed token from costing the game server unbounded work: a token bucket
 * of verifications per source address, and a short memory of refused (client id, address)
 * pairs so the same refusal is repeated without any store or Edgegap call. Worker thread
 * only: no locks. Both tables are fixed in size (an attacker cycling addresses evicts old
 * entries, never grows memory). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "hook_internal.h"

#define RATE_SLOTS 4096
#define MEMORY_SLOTS 8192
#define WAYS 4 /* entries probed per lookup; the oldest of them is replaced */

typedef struct rate_entry {
    uint8_t key[SG_ADDR_KEY_BYTES];
    bool used;
    double tokens;
    long long last_ms;
} rate_entry;

typedef struct memory_entry {
    uint8_t key[SG_ADDR_KEY_BYTES];
    uint64_t client_id;
    bool used;
    int reason;
    long long until_ms;
} memory_entry;

struct hook_guard {
    hook_guard_options o;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    rate_entry rate[RATE_SLOTS];
    memory_entry memory[MEMORY_SLOTS];
};

hook_guard *hook_guard_new(const hook_guard_options *o)
{
    if (sodium_init() < 0) return NULL;
    hook_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->o = *o;
    randombytes_buf(g->hash_key, sizeof g->hash_key);
    return g;
}

void hook_guard_free(hook_guard *g)
{
    free(g);
}

static size_t slot_of(const hook_guard *g, const void *data, size_t len, size_t slots)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, data, len, g->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)(v % (slots / WAYS)) * WAYS;
}

bool hook_guard_admit(hook_guard *g, const sg_addr *source, long long now_ms)
{
    if (!g || g->o.rate_per_s <= 0) return true;
    uint8_t key[SG_ADDR_KEY_BYTES];
    sg_addr_key(source, 128, key);
    size_t base = slot_of(g, key, sizeof key, RATE_SLOTS);
    rate_entry *e = NULL, *oldest = &g->rate[base];
    for (size_t i = 0; i < WAYS; i++) {
        rate_entry *c = &g->rate[base + i];
        if (c->used && memcmp(c->key, key, sizeof key) == 0) {
            e = c;
            break;
        }
        if (!c->used || c->last_ms < oldest->last_ms) oldest = c;
    }
    if (!e) {
        e = oldest;
        memcpy(e->key, key, sizeof key);
        e->used = true;
        e->tokens = g->o.burst;
        e->last_ms = now_ms;
    }
    if (now_ms > e->last_ms) {
        e->tokens += (double)(now_ms - e->last_ms) * g->o.rate_per_s / 1000.0;
        if (e->tokens > g->o.burst) e->tokens = g->o.burst;
        e->last_ms = now_ms;
    }
    if (e->tokens < 1.0) return false;
    e->tokens -= 1.0;
    return true;
}

static memory_entry *memory_find(hook_guard *g, uint64_t client_id, const uint8_t key[SG_ADDR_KEY_BYTES],
                                 size_t *base)
{
    uint8_t buf[8 + SG_ADDR_KEY_BYTES];
    memcpy(buf, &client_id, 8);
    memcpy(buf + 8, key, SG_ADDR_KEY_BYTES);
    *base = slot_of(g, buf, sizeof buf, MEMORY_SLOTS);
    for (size_t i = 0; i < WAYS; i++) {
        memory_entry *c = &g->memory[*base + i];
        if (c->used && c->client_id == client_id && memcmp(c->key, key, SG_ADDR_KEY_BYTES) == 0) return c;
    }
    return NULL;
}

bool hook_guard_remembered(hook_guard *g, uint64_t client_id, const sg_addr *source,
                           long long now_ms, int *reason)
{
    if (!g || g->o.memory_ms <= 0) return false;
    uint8_t key[SG_ADDR_KEY_BYTES];
    sg_addr_key(source, 128, key);
    size_t base;
    memory_entry *e = memory_find(g, client_id, key, &base);
    if (!e) return false;
    if (now_ms >= e->until_ms) {
        e->used = false;
        return false;
    }
    *reason = e->reason;
    return true;
}

void hook_guard_remember(hook_guard *g, uint64_t client_id, const sg_addr *source, int reason,
                         long long now_ms)
{
    if (!g || g->o.memory_ms <= 0) return;
    uint8_t key[SG_ADDR_KEY_BYTES];
    sg_addr_key(source, 128, key);
    size_t base;
    memory_entry *e = memory_find(g, client_id, key, &base);
    if (!e) {
        e = &g->memory[base];
        for (size_t i = 0; i < WAYS; i++) {
            memory_entry *c = &g->memory[base + i];
            if (!c->used || c->until_ms <= now_ms) {
                e = c;
                break;
            }
            if (c->until_ms < e->until_ms) e = c;
        }
    }
    memcpy(e->key, key, sizeof key);
    e->client_id = client_id;
    e->used = true;
    e->reason = reason;
    e->until_ms = now_ms + g->o.memory_ms;
}

bool hook_guard_memorable(int reason)
{
    /* Refusals that cannot turn into an acceptance for the same (client id, address): the
     * token is unknown or spent, the session is gone or elsewhere, the address is not the
     * player's. A dependency failure (unavailable) or a limit that frees up is not kept. */
    switch (reason) {
    case SG_HOOK_REJECT_INVALID:
    case SG_HOOK_REJECT_UNKNOWN_CLIENT:
    case SG_HOOK_REJECT_SESSION_MISMATCH:
    case SG_HOOK_REJECT_SESSION_GONE:
    case SG_HOOK_REJECT_IP_MISMATCH:
    case SG_HOOK_REJECT_WRONG_SERVER_IP:
    case SG_HOOK_REJECT_WRONG_SERVER_ID:
    case SG_HOOK_REJECT_ALREADY_CONNECTED:
        return true;
    default:
        return false;
    }
}
