/* One clock, one backoff, one timer heap (seatgate/clock.h). */
#include "seatgate/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static long long read_clock(clockid_t id, long long div)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * (1000000000LL / div) + ts.tv_nsec / div;
}

long long sg_clock_mono_ms(void)
{
    return read_clock(CLOCK_MONOTONIC, 1000000);
}

long long sg_clock_mono_us(void)
{
    return read_clock(CLOCK_MONOTONIC, 1000);
}

long long sg_clock_wall_ms(void)
{
    return read_clock(CLOCK_REALTIME, 1000000);
}

struct timespec sg_clock_deadline(long long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    if (ms > 0) {
        t.tv_sec += (time_t)(ms / 1000);
        t.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
    }
    return t;
}

void sg_sleep_ms(long long ms)
{
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

long long sg_backoff_ms(long long base_ms, long long max_ms, int attempt)
{
    int shift = attempt > 21 ? 20 : (attempt > 1 ? attempt - 1 : 0);
    long long d = base_ms << shift;
    if (max_ms > 0 && d > max_ms) d = max_ms;
    return d;
}

/* ---- timer heap ---- */

static void place(sg_heap *h, size_t i, sg_heap_node *x)
{
    h->v[i] = x;
    x->index = i + 1;
}

static void up(sg_heap *h, size_t i)
{
    sg_heap_node *x = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->due <= x->due) break;
        place(h, i, h->v[p]);
        i = p;
    }
    place(h, i, x);
}

static void down(sg_heap *h, size_t i)
{
    sg_heap_node *x = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1]->due < h->v[c]->due) c++;
        if (x->due <= h->v[c]->due) break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, x);
}

sg_status sg_heap_push(sg_heap *h, sg_heap_node *x)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        sg_heap_node **v = realloc(h->v, cap * sizeof *v);
        if (!v) return sg_fail(SG_E_NOMEM, "out of memory for timers");
        h->v = v;
        h->cap = cap;
    }
    place(h, h->n++, x);
    up(h, h->n - 1);
    return SG_OK;
}

void sg_heap_remove(sg_heap *h, sg_heap_node *x)
{
    if (!x->index) return;
    size_t i = x->index - 1;
    x->index = 0;
    h->n--;
    if (i == h->n) return;
    sg_heap_node *last = h->v[h->n];
    place(h, i, last);
    up(h, i);
    down(h, last->index - 1);
}

sg_heap_node *sg_heap_pop(sg_heap *h)
{
    sg_heap_node *top = sg_heap_top(h);
    if (top) sg_heap_remove(h, top);
    return top;
}

void sg_heap_free(sg_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
