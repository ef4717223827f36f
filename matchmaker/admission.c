/* Admission control: global in-flight cap and per-IP token buckets in a bounded table. */
#include "admission.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/records.h"

_Static_assert(SG_USER_KEY_BYTES == SG_ADDR_KEY_BYTES, "users and addresses share the table");

typedef struct entry {
    uint8_t key[SG_ADDR_KEY_BYTES];        /* family byte + 16 address bytes (masked) */
    struct entry *chain;    /* next in the hash bucket */
    struct entry *lru_prev; /* towards the most recently seen */
    struct entry *lru_next; /* towards the least recently seen */
    double tokens;
    long long last_ms;
    bool used;
} entry;

struct sg_admission {
    pthread_mutex_t mu;
    sg_admission_options o;
    entry *pool;      /* max_tracked entries, allocated once */
    entry *free_list; /* unused entries, linked through chain */
    entry **table;    /* hash buckets */
    size_t table_mask;
    entry *lru_head, *lru_tail;
    size_t tracked;
    long long in_flight;
    long long full_after_ms; /* an idle entry is surely refilled after this long */
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

const char *sg_admit_name(sg_admit d)
{
    switch (d) {
    case SG_ADMIT_OK:
        return "ok";
    case SG_ADMIT_RATE_LIMITED:
        return "rate_limited";
    case SG_ADMIT_OVERLOADED:
        return "overloaded";
    }
    return "unknown";
}

sg_status sg_admission_new(const sg_admission_options *o, sg_admission **out)
{
    *out = NULL;
    if (!o || o->rate < 0 || isnan(o->rate) || o->max_in_flight < 0)
        return sg_fail(SG_E_INVALID, "admission: rate and max in flight must be >= 0");
    if (o->rate > 0 && (o->burst < 1 || o->max_tracked < 1))
        return sg_fail(SG_E_INVALID, "admission: burst and max tracked must be >= 1");
    if (o->ipv6_prefix < 1 || o->ipv6_prefix > 128)
        return sg_fail(SG_E_INVALID, "admission: IPv6 prefix must be 1..128");
    if (o->max_tracked > (SIZE_MAX / 4) / sizeof(entry))
        return sg_fail(SG_E_INVALID, "admission: max tracked too large");
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "admission: libsodium init failed");

    sg_admission *a = calloc(1, sizeof *a);
    if (!a) return sg_fail(SG_E_NOMEM, "admission: out of memory");
    a->o = *o;
    if (a->o.overload_retry_ms < 1) a->o.overload_retry_ms = 1000;
    pthread_mutex_init(&a->mu, NULL);
    randombytes_buf(a->hash_key, sizeof a->hash_key);
    if (o->rate > 0) {
        size_t n = 1;
        while (n < o->max_tracked)
            n <<= 1;
        a->table = calloc(n, sizeof *a->table);
        a->pool = calloc(o->max_tracked, sizeof *a->pool);
        if (!a->table || !a->pool) {
            sg_admission_free(a);
            return sg_fail(SG_E_NOMEM, "admission: out of memory for %zu IPs", o->max_tracked);
        }
        a->table_mask = n - 1;
        for (size_t i = o->max_tracked; i-- > 0;) {
            a->pool[i].chain = a->free_list;
            a->free_list = &a->pool[i];
        }
        a->full_after_ms = (long long)ceil(o->burst / o->rate * 1000.0);
    }
    *out = a;
    return SG_OK;
}

void sg_admission_free(sg_admission *a)
{
    if (!a) return;
    pthread_mutex_destroy(&a->mu);
    free(a->table);
    free(a->pool);
    free(a);
}

static size_t slot_of(const sg_admission *a, const uint8_t key[SG_ADDR_KEY_BYTES])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, SG_ADDR_KEY_BYTES, a->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & a->table_mask;
}

static void lru_unlink(sg_admission *a, entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        a->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        a->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(sg_admission *a, entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = a->lru_head;
    if (a->lru_head) a->lru_head->lru_prev = e;
    a->lru_head = e;
    if (!a->lru_tail) a->lru_tail = e;
}

static void forget(sg_admission *a, entry *e)
{
    entry **pp = &a->table[slot_of(a, e->key)];
    while (*pp && *pp != e)
        pp = &(*pp)->chain;
    if (*pp) *pp = e->chain;
    lru_unlink(a, e);
    e->used = false;
    e->chain = a->free_list;
    a->free_list = e;
    a->tracked--;
}

/* Forgets the least recently seen entries whose buckets have surely refilled. */
static void forget_idle(sg_admission *a, long long now_ms)
{
    while (a->lru_tail && now_ms - a->lru_tail->last_ms >= a->full_after_ms)
        forget(a, a->lru_tail);
}

static sg_admit enter(sg_admission *a, const uint8_t key[SG_ADDR_KEY_BYTES], long long now_ms,
                      long long *retry_after_ms);

sg_admit sg_admission_enter(sg_admission *a, const sg_addr *ip, long long now_ms,
                            long long *retry_after_ms)
{
    uint8_t key[SG_ADDR_KEY_BYTES];
    sg_addr_key(ip, a->o.ipv6_prefix, key);
    return enter(a, key, now_ms, retry_after_ms);
}

sg_admit sg_admission_enter_user(sg_admission *a, const char *user_id, long long now_ms,
                                 long long *retry_after_ms)
{
    uint8_t key[SG_ADDR_KEY_BYTES];
    sg_user_key(user_id, key);
    return enter(a, key, now_ms, retry_after_ms);
}

static sg_admit enter(sg_admission *a, const uint8_t key[SG_ADDR_KEY_BYTES], long long now_ms,
                      long long *retry_after_ms)
{
    pthread_mutex_lock(&a->mu);
    if (a->o.max_in_flight > 0 && a->in_flight >= a->o.max_in_flight) {
        pthread_mutex_unlock(&a->mu);
        if (retry_after_ms) *retry_after_ms = a->o.overload_retry_ms;
        return SG_ADMIT_OVERLOADED;
    }
    if (a->o.rate > 0) {
        forget_idle(a, now_ms);
        size_t slot = slot_of(a, key);
        entry *e = a->table[slot];
        while (e && memcmp(e->key, key, SG_ADDR_KEY_BYTES) != 0)
            e = e->chain;
        if (e) {
            lru_unlink(a, e);
            if (now_ms > e->last_ms) {
                e->tokens += (double)(now_ms - e->last_ms) * a->o.rate / 1000.0;
                if (e->tokens > a->o.burst) e->tokens = a->o.burst;
                e->last_ms = now_ms;
            }
        } else {
            if (!a->free_list) forget(a, a->lru_tail); /* table full: least recent goes */
            e = a->free_list;
            a->free_list = e->chain;
            memcpy(e->key, key, SG_ADDR_KEY_BYTES);
            e->tokens = a->o.burst;
            e->last_ms = now_ms;
            e->used = true;
            e->chain = a->table[slot];
            a->table[slot] = e;
            a->tracked++;
        }
        lru_push_front(a, e);
        if (e->tokens < 1.0) {
            double wait = (1.0 - e->tokens) / a->o.rate * 1000.0;
            pthread_mutex_unlock(&a->mu);
            if (retry_after_ms) *retry_after_ms = wait < 1 ? 1 : (long long)ceil(wait);
            return SG_ADMIT_RATE_LIMITED;
        }
        e->tokens -= 1.0;
    }
    a->in_flight++;
    pthread_mutex_unlock(&a->mu);
    if (retry_after_ms) *retry_after_ms = 0;
    return SG_ADMIT_OK;
}

void sg_admission_leave(sg_admission *a)
{
    pthread_mutex_lock(&a->mu);
    if (a->in_flight > 0) a->in_flight--;
    pthread_mutex_unlock(&a->mu);
}

long long sg_admission_in_flight(sg_admission *a)
{
    pthread_mutex_lock(&a->mu);
    long long n = a->in_flight;
    pthread_mutex_unlock(&a->mu);
    return n;
}

size_t sg_admission_tracked(sg_admission *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->tracked;
    pthread_mutex_unlock(&a->mu);
    return n;
}
