/* The reaper's facts of each session record (reap_index.h). */
#include "reap_index.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FIRST_BUCKETS 1024

struct sg_reap_index {
    sg_reap_fact **slot;
    size_t nslots; /* a power of two */
    size_t count;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

static size_t hash_of(const sg_reap_index *x, const char *id)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)id, strlen(id), x->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v;
}

sg_reap_index *sg_reap_index_new(void)
{
    sg_reap_index *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->slot = calloc(FIRST_BUCKETS, sizeof *x->slot);
    if (!x->slot) {
        free(x);
        return NULL;
    }
    x->nslots = FIRST_BUCKETS;
    randombytes_buf(x->hash_key, sizeof x->hash_key);
    return x;
}

static void fact_free(sg_reap_fact *f)
{
    free(f->server);
    free(f);
}

void sg_reap_index_free(sg_reap_index *x)
{
    if (!x) return;
    for (size_t i = 0; i < x->nslots; i++)
        for (sg_reap_fact *f = x->slot[i], *next; f; f = next) {
            next = f->next;
            fact_free(f);
        }
    free(x->slot);
    free(x);
}

size_t sg_reap_index_count(const sg_reap_index *x)
{
    return x->count;
}

static sg_reap_fact **chain_of(sg_reap_index *x, const char *id)
{
    return &x->slot[hash_of(x, id) & (x->nslots - 1)];
}

sg_reap_fact *sg_reap_index_find(sg_reap_index *x, const char *id)
{
    for (sg_reap_fact *f = *chain_of(x, id); f; f = f->next)
        if (strcmp(f->id, id) == 0) return f;
    return NULL;
}

/* Twice the chains once there are more records than chains (a failed grow keeps the old). */
static void grow(sg_reap_index *x)
{
    if (x->count < x->nslots) return;
    size_t n = x->nslots * 2;
    sg_reap_fact **slot = calloc(n, sizeof *slot);
    if (!slot) return;
    for (size_t i = 0; i < x->nslots; i++)
        for (sg_reap_fact *f = x->slot[i], *next; f; f = next) {
            next = f->next;
            sg_reap_fact **to = &slot[hash_of(x, f->id) & (n - 1)];
            f->next = *to;
            *to = f;
        }
    free(x->slot);
    x->slot = slot;
    x->nslots = n;
}

static void unlink_fact(sg_reap_index *x, sg_reap_fact **pp)
{
    sg_reap_fact *f = *pp;
    *pp = f->next;
    fact_free(f);
    x->count--;
}

sg_reap_fact *sg_reap_index_set(sg_reap_index *x, const char *id, uint64_t rev,
                                const sg_session_record *r, unsigned long pass)
{
    sg_reap_fact **pp = chain_of(x, id);
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    sg_reap_fact *f = *pp;
    if (!f) {
        size_t n = strlen(id) + 1;
        if (!(f = calloc(1, sizeof *f + n))) return NULL;
        memcpy(f->id, id, n);
        f->next = *pp;
        *pp = f;
        x->count++;
    }
    free(f->server);
    f->server = NULL;
    f->rev = rev;
    f->pass = pass;
    f->readable = r != NULL;
    f->state = r ? r->state : 0;
    f->claim_deadline = r ? r->claim_deadline : 0;
    f->claimed_at = r ? r->claimed_at : 0;
    f->released_at = r ? r->released_at : 0;
    if (r && r->claimed_by_fqdn[0] && !(f->server = strdup(r->claimed_by_fqdn))) {
        unlink_fact(x, pp);
        return NULL;
    }
    grow(x);
    return f;
}

void sg_reap_index_prune(sg_reap_index *x, unsigned long pass)
{
    for (size_t i = 0; i < x->nslots; i++)
        for (sg_reap_fact **pp = &x->slot[i]; *pp;) {
            if ((*pp)->pass != pass)
                unlink_fact(x, pp);
            else
                pp = &(*pp)->next;
        }
}

void sg_reap_index_each(sg_reap_index *x, bool (*fn)(void *arg, sg_reap_fact *f), void *arg)
{
    for (size_t i = 0; i < x->nslots; i++)
        for (sg_reap_fact *f = x->slot[i]; f; f = f->next)
            if (!fn(arg, f)) return;
}
