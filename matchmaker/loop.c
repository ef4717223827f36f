/* Event loop: epoll for fds, an eventfd for posted work, a binary heap for timers. */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "seatgate/log.h"
#include "seatgate/clock.h"

#define BATCH 256

typedef struct posted {
    sg_loop_fn fn;
    void *arg;
} posted;

struct sg_loop {
    int epfd, evfd;
    pthread_t thread;
    bool running;
    _Atomic bool stop;
    pthread_t owner; /* the loop thread while running */

    pthread_mutex_t mu; /* guards the posted queue */
    posted *queue;
    size_t qlen, qcap;
    bool woken; /* an eventfd write is pending */

    sg_heap timers;

    struct epoll_event batch[BATCH];
    int batch_len;

    sg_loop_wait_fn waiter; /* loop thread, or before start */
    void *waiter_arg;
    pthread_cond_t called; /* under mu: a sg_loop_call has run */
};

static sg_loop_io wake_marker; /* epoll data for the eventfd */

sg_status sg_loop_new(sg_loop **out)
{
    *out = NULL;
    sg_loop *l = calloc(1, sizeof *l);
    if (!l) return sg_fail(SG_E_NOMEM, "loop: out of memory");
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->epfd < 0 || l->evfd < 0) {
        int e = errno;
        if (l->epfd >= 0) close(l->epfd);
        if (l->evfd >= 0) close(l->evfd);
        free(l);
        return sg_fail(SG_E_IO, "loop: epoll/eventfd: %s", strerror(e));
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &wake_marker};
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->called, NULL);
    *out = l;
    return SG_OK;
}

void sg_loop_free(sg_loop *l)
{
    if (!l) return;
    sg_loop_stop(l);
    close(l->epfd);
    close(l->evfd);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->called);
    free(l->queue);
    sg_heap_free(&l->timers);
    free(l);
}

bool sg_loop_on_thread(const sg_loop *l)
{
    return l->running && pthread_equal(l->owner, pthread_self());
}

static void wake(sg_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->evfd, &one, sizeof one);
    (void)r; /* EAGAIN means the counter is already non-zero: the loop will wake */
}

sg_status sg_loop_post(sg_loop *l, sg_loop_fn fn, void *arg)
{
    pthread_mutex_lock(&l->mu);
    if (l->qlen == l->qcap) {
        size_t cap = l->qcap ? l->qcap * 2 : 256;
        posted *q = realloc(l->queue, cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&l->mu);
            return sg_fail(SG_E_NOMEM, "loop: out of memory posting work");
        }
        l->queue = q;
        l->qcap = cap;
    }
    l->queue[l->qlen++] = (posted){fn, arg};
    /* The loop thread itself looks at the queue before it waits again: no wake-up needed. */
    bool need_wake = !l->woken && !sg_loop_on_thread(l);
    l->woken = true;
    pthread_mutex_unlock(&l->mu);
    if (need_wake) wake(l);
    return SG_OK;
}

void sg_loop_set_waiter(sg_loop *l, sg_loop_wait_fn wait, void *arg)
{
    l->waiter = wait;
    l->waiter_arg = arg;
}

typedef struct sync_call {
    sg_loop *l;
    sg_loop_fn fn;
    void *arg;
    bool done;
} sync_call;

static void run_sync(void *arg)
{
    sync_call *c = arg;
    c->fn(c->arg);
    pthread_mutex_lock(&c->l->mu);
    c->done = true;
    pthread_cond_broadcast(&c->l->called);
    pthread_mutex_unlock(&c->l->mu);
}

void sg_loop_call(sg_loop *l, sg_loop_fn fn, void *arg)
{
    if (!l->running) {
        fn(arg);
        return;
    }
    sync_call c = {l, fn, arg, false};
    if (sg_loop_post(l, run_sync, &c) != SG_OK) abort(); /* out of memory: nothing is left */
    pthread_mutex_lock(&l->mu);
    while (!c.done)
        pthread_cond_wait(&l->called, &l->mu);
    pthread_mutex_unlock(&l->mu);
}

static void clear_now(void *arg)
{
    ((sg_loop *)arg)->waiter = NULL;
}

void sg_loop_clear_waiter(sg_loop *l)
{
    sg_loop_call(l, clear_now, l);
}

/* ---- timers (seatgate/clock.h's heap, by due time) ---- */

void sg_timer_init(sg_timer *t, sg_loop_fn fn, void *arg)
{
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->arg = arg;
}

void sg_loop_timer_stop(sg_loop *l, sg_timer *t)
{
    sg_heap_remove(&l->timers, &t->node);
}

sg_status sg_loop_timer_start(sg_loop *l, sg_timer *t, long long delay_ms)
{
    sg_loop_timer_stop(l, t);
    t->node.due = sg_clock_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
    sg_status st = sg_heap_push(&l->timers, &t->node);
    return st == SG_OK ? SG_OK : sg_fail(st, "loop: out of memory for timers");
}

size_t sg_loop_timer_count(const sg_loop *l)
{
    return l->timers.n;
}

/* ---- fd watches ---- */

sg_status sg_loop_io_add(sg_loop *l, sg_loop_io *io, int fd, uint32_t events, sg_loop_io_fn fn,
                         void *arg)
{
    io->fd = fd;
    io->fn = fn;
    io->arg = arg;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return sg_fail(SG_E_IO, "loop: watching fd %d: %s", fd, strerror(errno));
    io->active = true;
    return SG_OK;
}

void sg_loop_io_remove(sg_loop *l, sg_loop_io *io)
{
    if (!io->active) return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->active = false;
    /* Events already fetched for it in this turn must not be delivered. */
    for (int i = 0; i < l->batch_len; i++)
        if (l->batch[i].data.ptr == io) l->batch[i].data.ptr = NULL;
}

/* ---- the thread ---- */

/* Whether work is posted and not yet run (woken stays set from a post until the run). */
static bool posted_waiting(sg_loop *l)
{
    pthread_mutex_lock(&l->mu);
    bool w = l->woken;
    pthread_mutex_unlock(&l->mu);
    return w;
}

static void run_posted(sg_loop *l, bool evfd_ready)
{
    if (evfd_ready) {
        uint64_t v;
        ssize_t r = read(l->evfd, &v, sizeof v);
        (void)r;
    }
    pthread_mutex_lock(&l->mu);
    posted *q = l->queue;
    size_t n = l->qlen;
    l->queue = NULL;
    l->qlen = l->qcap = 0;
    l->woken = false;
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < n; i++)
        q[i].fn(q[i].arg);
    free(q);
}

static void run_timers(sg_loop *l)
{
    long long now = sg_clock_mono_ms();
    sg_heap_node *top;
    while ((top = sg_heap_top(&l->timers)) && top->due <= now) {
        sg_timer *t = (sg_timer *)top; /* the node is its first member */
        sg_loop_timer_stop(l, t);
        t->fn(t->arg);
    }
}

static void *loop_main(void *arg)
{
    sg_loop *l = arg;
    pthread_setname_np(pthread_self(), "sg-flow-loop");
    l->owner = pthread_self();
    while (!l->stop) {
        int timeout = -1;
        bool self_posted = posted_waiting(l);
        if (self_posted) {
            timeout = 0;
        } else if (sg_heap_top(&l->timers)) {
            long long d = sg_heap_top(&l->timers)->due - sg_clock_mono_ms();
            timeout = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
        }
        if (l->waiter) {
            l->waiter(l->waiter_arg, l->epfd, timeout < 0 ? 60000 : timeout);
            timeout = 0;
        }
        int n = epoll_wait(l->epfd, l->batch, BATCH, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            SG_ERROR("loop", "epoll_wait_failed", "error=%d", errno);
            break;
        }
        l->batch_len = n;
        bool posted_ready = false;
        for (int i = 0; i < n; i++) {
            void *p = l->batch[i].data.ptr;
            if (p == &wake_marker) {
                posted_ready = true;
                continue;
            }
            if (!p) continue;
            sg_loop_io *io = p;
            io->fn(io, l->batch[i].events, io->arg);
        }
        l->batch_len = 0;
        if (posted_ready || self_posted) run_posted(l, posted_ready);
        run_timers(l);
    }
    return NULL;
}

sg_status sg_loop_start(sg_loop *l)
{
    if (l->running) return SG_OK;
    l->stop = false;
    l->running = true;
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        l->running = false;
        return sg_fail(SG_E_IO, "loop: cannot start its thread");
    }
    return SG_OK;
}

static void stop_now(void *arg)
{
    sg_loop *l = arg;
    l->stop = true;
}

void sg_loop_stop(sg_loop *l)
{
    if (!l->running) return;
    if (sg_loop_post(l, stop_now, l) != SG_OK) {
        l->stop = true;
        wake(l);
    }
    pthread_join(l->thread, NULL);
    l->running = false;
}
