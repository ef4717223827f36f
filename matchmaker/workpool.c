/* A fixed thread pool with one FIFO queue. */
#include "workpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct job {
    sg_work_fn fn;
    void *arg;
} job;

struct sg_workpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *q;
    size_t head, len, cap;
    bool stopping;
    unsigned nthreads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    sg_workpool *p = arg;
    pthread_setname_np(pthread_self(), "sg-store-call");
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->len == 0 && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->len == 0) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        job j = p->q[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg);
    }
}

sg_status sg_workpool_new(unsigned threads, sg_workpool **out)
{
    *out = NULL;
    if (threads == 0) return sg_fail(SG_E_INVALID, "workpool: at least one thread");
    sg_workpool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc(threads, sizeof *p->threads))) {
        free(p);
        return sg_fail(SG_E_NOMEM, "workpool: out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            sg_workpool_free(p);
            return sg_fail(SG_E_IO, "workpool: cannot start thread %u", i + 1);
        }
        p->nthreads++;
    }
    *out = p;
    return SG_OK;
}

void sg_workpool_free(sg_workpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->q);
    free(p);
}

sg_status sg_workpool_submit(sg_workpool *p, sg_work_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return sg_fail(SG_E_UNAVAILABLE, "workpool: stopping");
    }
    if (p->len == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        job *q = malloc(cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&p->mu);
            return sg_fail(SG_E_NOMEM, "workpool: out of memory");
        }
        for (size_t i = 0; i < p->len; i++)
            q[i] = p->q[(p->head + i) % p->cap];
        free(p->q);
        p->q = q;
        p->head = 0;
        p->cap = cap;
    }
    p->q[(p->head + p->len) % p->cap] = (job){fn, arg};
    p->len++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return SG_OK;
}

size_t sg_workpool_queued(sg_workpool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->len;
    pthread_mutex_unlock(&p->mu);
    return n;
}
