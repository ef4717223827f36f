/* seatgate matchmaker: a small Prometheus metrics registry.
 *
 * Counters, gauges and histograms with fixed buckets, grouped in families (one name, one
 * help line, one type) and told apart by labels. Updating a series is a few atomic
 * operations and takes no lock; registering or looking a series up takes the registry's
 * mutex, so hot paths keep the pointers they need. Series live as long as the registry.
 * sg_metrics_render writes the Prometheus text exposition format (version 0.0.4).
 * Every function is thread-safe.
 */
#ifndef SEATGATE_MM_METRICS_H
#define SEATGATE_MM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_metrics sg_metrics;
typedef struct sg_counter sg_counter;
typedef struct sg_gauge sg_gauge;
typedef struct sg_histogram sg_histogram;

#define SG_METRICS_MAX_BUCKETS 32

sg_status sg_metrics_new(sg_metrics **out);
void sg_metrics_free(sg_metrics *m); /* NULL is fine; every series pointer dies with it */

/* Registers the series name{labels} or returns the one already registered. labels is NULL
 * or a NULL-terminated list of name/value pairs: {"route", "connect_me", "code", "200",
 * NULL}; values are escaped on output. A family keeps the help (and buckets) given first.
 * Returns NULL (and sets sg_last_error) when the name or a label name is not a valid
 * Prometheus identifier, when the name is already a family of another type, or on
 * allocation failure: callers treat NULL as "not counted" (the update functions accept it). */
sg_counter *sg_metrics_counter(sg_metrics *m, const char *name, const char *help,
                               const char *const *labels);
sg_gauge *sg_metrics_gauge(sg_metrics *m, const char *name, const char *help,
                           const char *const *labels);
/* bounds: strictly increasing upper bounds (+Inf is implicit), 1..SG_METRICS_MAX_BUCKETS. */
sg_histogram *sg_metrics_histogram(sg_metrics *m, const char *name, const char *help,
                                   const double *bounds, size_t nbounds, const char *const *labels);

void sg_counter_add(sg_counter *c, uint64_t n);
static inline void sg_counter_inc(sg_counter *c)
{
    sg_counter_add(c, 1);
}
uint64_t sg_counter_value(const sg_counter *c); /* 0 for NULL */

void sg_gauge_set(sg_gauge *g, int64_t v);
void sg_gauge_add(sg_gauge *g, int64_t delta); /* negative to decrease */
int64_t sg_gauge_value(const sg_gauge *g);

/* Fractional values (seconds of CPU, bytes as doubles): the series is then written as a
 * decimal number. */
void sg_gauge_set_double(sg_gauge *g, double v);
void sg_counter_set_double(sg_counter *c, double v); /* only for values that never decrease */

void sg_histogram_observe(sg_histogram *h, double v);
uint64_t sg_histogram_count(const sg_histogram *h);

/* Registers fn to run at the start of every sg_metrics_render (on the scraping thread),
 * so gauges it sets are true at scrape time. At most 8 per registry; SG_E_FULL past that. */
typedef void (*sg_metrics_collect_fn)(sg_metrics *m, void *user);
sg_status sg_metrics_on_scrape(sg_metrics *m, sg_metrics_collect_fn fn, void *user);

/* The standard process_* series (CPU seconds, resident and virtual memory, open and maximum
 * file descriptors, start time), read from /proc at every scrape. */
sg_status sg_metrics_add_process(sg_metrics *m);

/* Renders every family in registration order into a new NUL-terminated text (*out is
 * malloc()ed; free() it). Errors: SG_E_NOMEM. */
sg_status sg_metrics_render(sg_metrics *m, char **out, size_t *len);

/* Latency buckets in seconds suited to HTTP calls: 5 ms .. 60 s. */
extern const double sg_metrics_latency_buckets[];
extern const size_t sg_metrics_latency_bucket_count;

#ifdef __cplusplus
}
#endif
#endif
