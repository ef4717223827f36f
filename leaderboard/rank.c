/* The ordered index: a hash table by id and one treap (with subtree sizes) per ranking. */
#include "rank.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry entry;

typedef struct tnode {
    struct tnode *l, *r;
    uint32_t pri;
    size_t size;
    entry *e;
} tnode;

struct entry {
    sg_lb_player p;
    double key[SG_RANK_MAX];
    tnode t[SG_RANK_MAX];
    entry *next; /* hash chain */
};

struct sg_rank {
    pthread_rwlock_t lock;
    size_t nrank; /* 1 + kinds */
    char kinds[SG_RANK_MAX - 1][SG_REC_NAME_MAX];
    tnode *root[SG_RANK_MAX];
    entry **table;
    size_t nbuckets, count;
    uint64_t seed;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static uint32_t next_pri(sg_rank *r)
{
    r->seed ^= r->seed << 13; /* xorshift64 */
    r->seed ^= r->seed >> 7;
    r->seed ^= r->seed << 17;
    return (uint32_t)(r->seed >> 32);
}

static size_t sz(const tnode *n)
{
    return n ? n->size : 0;
}

static void fix(tnode *n)
{
    n->size = 1 + sz(n->l) + sz(n->r);
}

/* a comes before b in ranking k: higher value, then smaller id. */
static bool before(const entry *a, const entry *b, int k)
{
    if (a->key[k] != b->key[k]) return a->key[k] > b->key[k];
    return strcmp(a->p.id, b->p.id) < 0;
}

/* Splits t into the nodes before e (l) and the rest (r). */
static void split(tnode *t, const entry *e, int k, tnode **l, tnode **r)
{
    if (!t) {
        *l = *r = NULL;
    } else if (before(t->e, e, k)) {
        split(t->r, e, k, &t->r, r);
        fix(t);
        *l = t;
    } else {
        split(t->l, e, k, l, &t->l);
        fix(t);
        *r = t;
    }
}

static tnode *merge(tnode *a, tnode *b)
{
    if (!a) return b;
    if (!b) return a;
    if (a->pri > b->pri) {
        a->r = merge(a->r, b);
        fix(a);
        return a;
    }
    b->l = merge(a, b->l);
    fix(b);
    return b;
}

static tnode *insert(tnode *t, tnode *n, int k)
{
    if (!t) return n;
    if (n->pri > t->pri) {
        split(t, n->e, k, &n->l, &n->r);
        fix(n);
        return n;
    }
    if (before(n->e, t->e, k))
        t->l = insert(t->l, n, k);
    else
        t->r = insert(t->r, n, k);
    fix(t);
    return t;
}

static tnode *erase(tnode *t, const entry *e, int k)
{
    if (!t) return NULL;
    if (t->e == e) return merge(t->l, t->r);
    if (before(e, t->e, k))
        t->l = erase(t->l, e, k);
    else
        t->r = erase(t->r, e, k);
    fix(t);
    return t;
}

/* 1-based rank of e in ranking k. */
static size_t rank_of(const tnode *t, const entry *e, int k)
{
    size_t r = 0;
    while (t) {
        if (t->e == e) return r + sz(t->l) + 1;
        if (before(e, t->e, k)) {
            t = t->l;
        } else {
            r += sz(t->l) + 1;
            t = t->r;
        }
    }
    return 0;
}

static const tnode *kth(const tnode *t, size_t i) /* 1-based */
{
    while (t) {
        size_t ls = sz(t->l);
        if (i <= ls) {
            t = t->l;
        } else if (i == ls + 1) {
            return t;
        } else {
            i -= ls + 1;
            t = t->r;
        }
    }
    return NULL;
}

sg_status sg_rank_new(const char (*kinds)[SG_REC_NAME_MAX], size_t nkinds, sg_rank **out)
{
    *out = NULL;
    if (nkinds + 1 > SG_RANK_MAX) return sg_fail(SG_E_INVALID, "rank: at most 15 kinds");
    sg_rank *r = calloc(1, sizeof *r);
    if (!r) return sg_fail(SG_E_NOMEM, "rank: out of memory");
    r->nrank = 1 + nkinds;
    for (size_t i = 0; i < nkinds; i++) memcpy(r->kinds[i], kinds[i], SG_REC_NAME_MAX);
    r->nbuckets = 1024;
    r->table = calloc(r->nbuckets, sizeof *r->table);
    r->seed = 0x9E3779B97F4A7C15ull;
    if (!r->table) {
        free(r);
        return sg_fail(SG_E_NOMEM, "rank: out of memory");
    }
    pthread_rwlock_init(&r->lock, NULL);
    *out = r;
    return SG_OK;
}

void sg_rank_free(sg_rank *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nbuckets; i++) {
        for (entry *e = r->table[i]; e;) {
            entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(r->table);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

int sg_rank_of_kind(const sg_rank *r, const char *kind)
{
    if (strcmp(kind, "elo") == 0) return 0;
    for (size_t i = 0; i + 1 < r->nrank; i++)
        if (strcmp(r->kinds[i], kind) == 0) return (int)i + 1;
    return -1;
}

static entry *lookup(const sg_rank *r, const char *id)
{
    for (entry *e = r->table[hash(id) & (r->nbuckets - 1)]; e; e = e->next)
        if (strcmp(e->p.id, id) == 0) return e;
    return NULL;
}

static void grow(sg_rank *r)
{
    size_t n = r->nbuckets * 2;
    entry **t = calloc(n, sizeof *t);
    if (!t) return; /* longer chains, still correct */
    for (size_t i = 0; i < r->nbuckets; i++) {
        for (entry *e = r->table[i]; e;) {
            entry *next = e->next;
            size_t b = hash(e->p.id) & (n - 1);
            e->next = t[b];
            t[b] = e;
            e = next;
        }
    }
    free(r->table);
    r->table = t;
    r->nbuckets = n;
}

static void set_keys(const sg_rank *r, entry *e)
{
    e->key[0] = e->p.rating;
    for (size_t i = 0; i + 1 < r->nrank; i++)
        e->key[i + 1] = (double)sg_lb_player_total(&e->p, r->kinds[i]);
}

sg_status sg_rank_put(sg_rank *r, const sg_lb_player *p)
{
    pthread_rwlock_wrlock(&r->lock);
    entry *e = lookup(r, p->id);
    if (e) {
        for (size_t k = 0; k < r->nrank; k++) r->root[k] = erase(r->root[k], e, (int)k);
    } else {
        if (!(e = calloc(1, sizeof *e))) {
            pthread_rwlock_unlock(&r->lock);
            return sg_fail(SG_E_NOMEM, "rank: out of memory");
        }
        if (r->count >= r->nbuckets) grow(r);
        size_t b = hash(p->id) & (r->nbuckets - 1);
        e->next = r->table[b];
        r->table[b] = e;
        r->count++;
    }
    e->p = *p;
    set_keys(r, e);
    for (size_t k = 0; k < r->nrank; k++) {
        tnode *n = &e->t[k];
        *n = (tnode){.pri = next_pri(r), .size = 1, .e = e};
        r->root[k] = insert(r->root[k], n, (int)k);
    }
    pthread_rwlock_unlock(&r->lock);
    return SG_OK;
}

size_t sg_rank_count(sg_rank *r)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->count;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t sg_rank_top(sg_rank *r, int ranking, size_t from, size_t limit, sg_rank_row *out)
{
    if (ranking < 0 || (size_t)ranking >= r->nrank || from == 0) return 0;
    pthread_rwlock_rdlock(&r->lock);
    size_t n = 0;
    for (size_t i = from; n < limit; i++) {
        const tnode *t = kth(r->root[ranking], i);
        if (!t) break;
        out[n].player = t->e->p;
        out[n].rank = i;
        n++;
    }
    pthread_rwlock_unlock(&r->lock);
    return n;
}

bool sg_rank_find(sg_rank *r, const char *id, sg_lb_player *out, size_t *ranks)
{
    pthread_rwlock_rdlock(&r->lock);
    entry *e = lookup(r, id);
    if (e) {
        *out = e->p;
        for (size_t k = 0; k < r->nrank; k++) ranks[k] = rank_of(r->root[k], e, (int)k);
    }
    pthread_rwlock_unlock(&r->lock);
    return e != NULL;
}
