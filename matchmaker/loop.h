/* seatgate matchmaker: a small event loop on its own thread (epoll, timers, posted work).
 *
 * The connect flow lives on one loop thread, so its state needs no locks: other threads
 * (HTTP, orchestrator, store workers) hand it work with sg_loop_post. Timers are a binary
 * heap of caller-owned sg_timer structs (no allocation per timer); fd watches are
 * caller-owned sg_loop_io structs registered with epoll.
 *
 * Thread rules: sg_loop_post and sg_loop_stop from any thread (stop not from the loop
 * thread itself); every other call on the loop thread only, or before sg_loop_start.
 */
#ifndef SEATGATE_MM_LOOP_H
#define SEATGATE_MM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/clock.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_loop sg_loop;
typedef void (*sg_loop_fn)(void *arg);

typedef struct sg_timer {
    sg_heap_node node; /* first; due: monotonic ms; index 0 when not armed */
    sg_loop_fn fn;
    void *arg;
} sg_timer;

typedef struct sg_loop_io sg_loop_io;
typedef void (*sg_loop_io_fn)(sg_loop_io *io, uint32_t events, void *arg);
struct sg_loop_io {
    int fd;
    sg_loop_io_fn fn;
    void *arg;
    bool active;
};

/* Errors: SG_E_NOMEM, SG_E_IO (epoll/eventfd could not be created). */
sg_status sg_loop_new(sg_loop **out);
/* Stops the thread if running; work still posted is dropped (its args leak unless the
 * owner frees them otherwise). */
void sg_loop_free(sg_loop *l);

/* Starts the loop thread. Errors: SG_E_IO. */
sg_status sg_loop_start(sg_loop *l);
/* Asks the loop to stop after the current turn and joins its thread. */
void sg_loop_stop(sg_loop *l);
bool sg_loop_on_thread(const sg_loop *l);

/* Runs fn(arg) on the loop thread soon, in posting order. Any thread.
 * Errors: SG_E_NOMEM (fn will not run). */
sg_status sg_loop_post(sg_loop *l, sg_loop_fn fn, void *arg);


/* Replaces the loop's wait: each turn, instead of blocking in epoll_wait, the loop calls
 * wait(arg, epfd, timeout_ms) (timeout_ms >= 0), which may do work of its own on the loop
 * thread (a libcurl multi handle's, say) and returns within timeout_ms, or sooner once epfd
 * is readable; the loop then collects its events without blocking. Set before sg_loop_start;
 * sg_loop_clear_waiter, from another thread, takes it away again. */
typedef void (*sg_loop_wait_fn)(void *arg, int epfd, int timeout_ms);
void sg_loop_set_waiter(sg_loop *l, sg_loop_wait_fn wait, void *arg);
/* Any thread but the loop's: returns once the loop has stopped calling the waiter. */
void sg_loop_clear_waiter(sg_loop *l);

/* Runs fn(arg) on the loop thread and returns once it has run (at once, on this thread, when
 * the loop is not running). Any thread but the loop's. */
void sg_loop_call(sg_loop *l, sg_loop_fn fn, void *arg);

void sg_timer_init(sg_timer *t, sg_loop_fn fn, void *arg);
/* Arms (or re-arms) t to fire once after delay_ms (<= 0: next turn). */
sg_status sg_loop_timer_start(sg_loop *l, sg_timer *t, long long delay_ms);
void sg_loop_timer_stop(sg_loop *l, sg_timer *t); /* no-op when not armed */
static inline bool sg_timer_armed(const sg_timer *t)
{
    return t->node.index != 0;
}
size_t sg_loop_timer_count(const sg_loop *l);

/* Watches fd for events (EPOLLIN, EPOLLRDHUP...; EPOLLERR and EPOLLHUP always). The fd
 * must stay open until sg_loop_io_remove. Errors: SG_E_IO. */
sg_status sg_loop_io_add(sg_loop *l, sg_loop_io *io, int fd, uint32_t events, sg_loop_io_fn fn,
                         void *arg);
void sg_loop_io_remove(sg_loop *l, sg_loop_io *io); /* no-op when not active */

#ifdef __cplusplus
}
#endif
#endif
