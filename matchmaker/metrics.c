/* Metrics registry: families of series, updated with atomics, rendered on demand. */
#include "metrics.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

typedef enum family_type { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM } family_type;

typedef struct series {
    struct series *next;
    char *labels; /* rendered: name="value",... ("" for none) */
    struct family *family;
    _Atomic uint64_t counter;
    _Atomic int64_t gauge;
    _Atomic uint64_t count;
    _Atomic uint64_t sum_bits; /* a double, updated with compare-and-swap; also the value of a
                                * counter or gauge set as a double */
    _Atomic bool is_double;
    _Atomic uint64_t buckets[SG_METRICS_MAX_BUCKETS + 1];
} series;

struct sg_counter {
    series s;
};
struct sg_gauge {
    series s;
};
struct sg_histogram {
    series s;
};

typedef struct family {
    struct family *next;
    char *name, *help;
    family_type type;
    double bounds[SG_METRICS_MAX_BUCKETS];
    size_t nbounds;
    series *first, *last;
} family;

#define MAX_COLLECTORS 8

struct sg_metrics {
    pthread_mutex_t mu;
    family *first, *last;
    struct {
        sg_metrics_collect_fn fn;
        void *user;
    } collectors[MAX_COLLECTORS];
    size_t ncollectors;
};

const double sg_metrics_latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                             1,     2.5,  5,     10,   20,  30,   60};
const size_t sg_metrics_latency_bucket_count =
    sizeof sg_metrics_latency_buckets / sizeof sg_metrics_latency_buckets[0];

sg_status sg_metrics_new(sg_metrics **out)
{
    sg_metrics *m = calloc(1, sizeof *m);
    if (!m) return sg_fail(SG_E_NOMEM, "metrics: out of memory");
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return SG_OK;
}

void sg_metrics_free(sg_metrics *m)
{
    if (!m) return;
    for (family *f = m->first, *fn; f; f = fn) {
        fn = f->next;
        for (series *s = f->first, *sn; s; s = sn) {
            sn = s->next;
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool valid_name(const char *n, bool allow_colon)
{
    if (!n || !*n) return false;
    for (const char *p = n; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = isalpha(c) || c == '_' || (allow_colon && c == ':') || (p != n && isdigit(c));
        if (!ok) return false;
    }
    return true;
}

/* Appends s to a growing buffer; returns false on allocation failure. */
typedef struct buf {
    char *p;
    size_t len, cap;
    bool failed;
} buf;

static void buf_reserve(buf *b, size_t more)
{
    if (b->failed || b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void buf_put(buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (b->failed) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void buf_fmt(buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Label values: backslash, double quote and newline are escaped. HELP: backslash, newline. */
static void buf_escaped(buf *b, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            buf_str(b, "\\\\");
        else if (*p == '\n')
            buf_str(b, "\\n");
        else if (quote && *p == '"')
            buf_str(b, "\\\"");
        else
            buf_put(b, p, 1);
    }
}

static char *render_labels(const char *const *labels)
{
    buf b = {0};
    buf_str(&b, "");
    for (size_t i = 0; labels && labels[i]; i += 2) {
        if (!labels[i + 1] || !valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0 ||
            strcmp(labels[i], "le") == 0) {
            free(b.p);
            sg_fail(SG_E_INVALID, "metrics: bad label name or missing value");
            return NULL;
        }
        if (i) buf_str(&b, ",");
        buf_str(&b, labels[i]);
        buf_str(&b, "=\"");
        buf_escaped(&b, labels[i + 1], true);
        buf_str(&b, "\"");
    }
    if (b.failed) {
        free(b.p);
        sg_fail(SG_E_NOMEM, "metrics: out of memory");
        return NULL;
    }
    return b.p;
}

static series *lookup(sg_metrics *m, family_type type, const char *name, const char *help,
                      const double *bounds, size_t nbounds, const char *const *labels)
{
    if (!m || !valid_name(name, true)) {
        sg_fail(SG_E_INVALID, "metrics: bad metric name");
        return NULL;
    }
    if (type == FAMILY_HISTOGRAM) {
        if (!bounds || nbounds == 0 || nbounds > SG_METRICS_MAX_BUCKETS) {
            sg_fail(SG_E_INVALID, "metrics: histogram %s needs 1..%d buckets", name,
                    SG_METRICS_MAX_BUCKETS);
            return NULL;
        }
        for (size_t i = 0; i < nbounds; i++) {
            if (isnan(bounds[i]) || (i && bounds[i] <= bounds[i - 1])) {
                sg_fail(SG_E_INVALID, "metrics: histogram %s bounds must increase", name);
                return NULL;
            }
        }
    }
    char *lt = render_labels(labels);
    if (!lt) return NULL;

    series *found = NULL;
    pthread_mutex_lock(&m->mu);
    family *f = m->first;
    while (f && strcmp(f->name, name) != 0)
        f = f->next;
    if (f && f->type != type) {
        pthread_mutex_unlock(&m->mu);
        free(lt);
        sg_fail(SG_E_INVALID, "metrics: %s is already registered with another type", name);
        return NULL;
    }
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f || !(f->name = strdup(name)) || !(f->help = strdup(help ? help : ""))) {
            if (f) free(f->name);
            free(f);
            pthread_mutex_unlock(&m->mu);
            free(lt);
            sg_fail(SG_E_NOMEM, "metrics: out of memory");
            return NULL;
        }
        f->type = type;
        if (type == FAMILY_HISTOGRAM) {
            memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
            f->nbounds = nbounds;
        }
        if (m->last)
            m->last->next = f;
        else
            m->first = f;
        m->last = f;
    }
    for (series *s = f->first; s; s = s->next) {
        if (strcmp(s->labels, lt) == 0) {
            found = s;
            break;
        }
    }
    if (!found) {
        found = calloc(1, sizeof *found);
        if (found) {
            found->labels = lt;
            lt = NULL;
            found->family = f;
            if (f->last)
                f->last->next = found;
            else
                f->first = found;
            f->last = found;
        } else {
            sg_fail(SG_E_NOMEM, "metrics: out of memory");
        }
    }
    pthread_mutex_unlock(&m->mu);
    free(lt);
    return found;
}

sg_counter *sg_metrics_counter(sg_metrics *m, const char *name, const char *help,
                               const char *const *labels)
{
    return (sg_counter *)lookup(m, FAMILY_COUNTER, name, help, NULL, 0, labels);
}

sg_gauge *sg_metrics_gauge(sg_metrics *m, const char *name, const char *help,
                           const char *const *labels)
{
    return (sg_gauge *)lookup(m, FAMILY_GAUGE, name, help, NULL, 0, labels);
}

sg_histogram *sg_metrics_histogram(sg_metrics *m, const char *name, const char *help,
                                   const double *bounds, size_t nbounds, const char *const *labels)
{
    return (sg_histogram *)lookup(m, FAMILY_HISTOGRAM, name, help, bounds, nbounds, labels);
}

void sg_counter_add(sg_counter *c, uint64_t n)
{
    if (c) atomic_fetch_add_explicit(&c->s.counter, n, memory_order_relaxed);
}

uint64_t sg_counter_value(const sg_counter *c)
{
    return c ? atomic_load_explicit(&((sg_counter *)c)->s.counter, memory_order_relaxed) : 0;
}

void sg_gauge_set(sg_gauge *g, int64_t v)
{
    if (g) atomic_store_explicit(&g->s.gauge, v, memory_order_relaxed);
}

void sg_gauge_add(sg_gauge *g, int64_t delta)
{
    if (g) atomic_fetch_add_explicit(&g->s.gauge, delta, memory_order_relaxed);
}

int64_t sg_gauge_value(const sg_gauge *g)
{
    return g ? atomic_load_explicit(&((sg_gauge *)g)->s.gauge, memory_order_relaxed) : 0;
}

static double bits_to_double(uint64_t u);
static uint64_t double_to_bits(double d);

void sg_gauge_set_double(sg_gauge *g, double v)
{
    if (!g) return;
    atomic_store_explicit(&g->s.sum_bits, double_to_bits(v), memory_order_relaxed);
    atomic_store_explicit(&g->s.is_double, true, memory_order_relaxed);
}

void sg_counter_set_double(sg_counter *c, double v)
{
    if (!c) return;
    atomic_store_explicit(&c->s.sum_bits, double_to_bits(v), memory_order_relaxed);
    atomic_store_explicit(&c->s.is_double, true, memory_order_relaxed);
}

sg_status sg_metrics_on_scrape(sg_metrics *m, sg_metrics_collect_fn fn, void *user)
{
    pthread_mutex_lock(&m->mu);
    if (m->ncollectors == MAX_COLLECTORS) {
        pthread_mutex_unlock(&m->mu);
        return sg_fail(SG_E_FULL, "metrics: too many scrape collectors");
    }
    m->collectors[m->ncollectors].fn = fn;
    m->collectors[m->ncollectors].user = user;
    m->ncollectors++;
    pthread_mutex_unlock(&m->mu);
    return SG_OK;
}

static double bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

void sg_histogram_observe(sg_histogram *h, double v)
{
    if (!h || isnan(v)) return;
    const family *f = h->s.family;
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->s.buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->s.sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->s.sum_bits, &old,
                                                  double_to_bits(bits_to_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    atomic_fetch_add_explicit(&h->s.count, 1, memory_order_relaxed);
}

uint64_t sg_histogram_count(const sg_histogram *h)
{
    return h ? atomic_load_explicit(&((sg_histogram *)h)->s.count, memory_order_relaxed) : 0;
}

/* A short decimal form that reads back as the same double ("0.005", "10"). */
static void format_double(char *out, size_t size, double v)
{
    if (isinf(v)) {
        snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(out, size, "%g", v);
    if (strtod(out, NULL) == v) return;
    snprintf(out, size, "%.17g", v);
}

static void put_number(buf *b, double v)
{
    char tmp[64];
    format_double(tmp, sizeof tmp, v);
    buf_str(b, tmp);
}

static void put_series_name(buf *b, const char *name, const char *suffix, const char *labels,
                            const char *extra)
{
    buf_str(b, name);
    buf_str(b, suffix);
    bool any = labels[0] || extra;
    if (!any) return;
    buf_str(b, "{");
    buf_str(b, labels);
    if (extra) {
        if (labels[0]) buf_str(b, ",");
        buf_str(b, extra);
    }
    buf_str(b, "}");
}

sg_status sg_metrics_render(sg_metrics *m, char **out, size_t *len)
{
    pthread_mutex_lock(&m->mu);
    size_t nc = m->ncollectors;
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < nc; i++) m->collectors[i].fn(m, m->collectors[i].user);
    buf b = {0};
    buf_str(&b, "");
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&m->mu);
    for (const family *f = m->first; f; f = f->next) {
        buf_str(&b, "# HELP ");
        buf_str(&b, f->name);
        buf_str(&b, " ");
        buf_escaped(&b, f->help, false);
        buf_str(&b, "\n# TYPE ");
        buf_str(&b, f->name);
        buf_str(&b, " ");
        buf_str(&b, type_names[f->type]);
        buf_str(&b, "\n");
        for (series *s = f->first; s; s = s->next) {
            if (f->type != FAMILY_HISTOGRAM && atomic_load(&s->is_double)) {
                put_series_name(&b, f->name, "", s->labels, NULL);
                buf_str(&b, " ");
                put_number(&b, bits_to_double(atomic_load(&s->sum_bits)));
                buf_str(&b, "\n");
            } else if (f->type == FAMILY_COUNTER) {
                put_series_name(&b, f->name, "", s->labels, NULL);
                buf_fmt(&b, " %llu\n", (unsigned long long)atomic_load(&s->counter));
            } else if (f->type == FAMILY_GAUGE) {
                put_series_name(&b, f->name, "", s->labels, NULL);
                buf_fmt(&b, " %lld\n", (long long)atomic_load(&s->gauge));
            } else {
                /* Read the count last so it is never below the buckets' total seen here. */
                uint64_t cum = 0;
                for (size_t i = 0; i <= f->nbounds; i++) {
                    cum += atomic_load(&s->buckets[i]);
                    char le[64];
                    char num[40];
                    format_double(num, sizeof num, i < f->nbounds ? f->bounds[i] : INFINITY);
                    snprintf(le, sizeof le, "le=\"%s\"", num);
                    put_series_name(&b, f->name, "_bucket", s->labels, le);
                    buf_fmt(&b, " %llu\n", (unsigned long long)cum);
                }
                put_series_name(&b, f->name, "_sum", s->labels, NULL);
                buf_str(&b, " ");
                put_number(&b, bits_to_double(atomic_load(&s->sum_bits)));
                buf_str(&b, "\n");
                put_series_name(&b, f->name, "_count", s->labels, NULL);
                buf_fmt(&b, " %llu\n", (unsigned long long)cum);
            }
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (b.failed) {
        free(b.p);
        return sg_fail(SG_E_NOMEM, "metrics: out of memory while rendering");
    }
    *out = b.p;
    if (len) *len = b.len;
    return SG_OK;
}

/* ---- process_* ------------------------------------------------------------------------- */

typedef struct process_series {
    sg_counter *cpu;
    sg_gauge *rss, *vsize, *fds, *max_fds, *start;
} process_series;

static process_series proc_series; /* one process, one set */

/* Seconds since the epoch at which the system booted (btime in /proc/stat). */
static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    char line[256];
    long long bt = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &bt) == 1) break;
    fclose(f);
    return bt;
}

static void collect_process(sg_metrics *m, void *user)
{
    (void)m;
    process_series *p = user;
    char stat[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
    if (f) fclose(f);
    stat[n] = '\0';
    /* Fields after the command name, which is in parentheses and may hold spaces. */
    const char *rp = strrchr(stat, ')');
    unsigned long long utime = 0, stime = 0, starttime = 0, vsize = 0;
    long long rss = 0;
    if (rp &&
        sscanf(rp + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld",
               &utime, &stime, &starttime, &vsize, &rss) == 5) {
        double ticks = (double)sysconf(_SC_CLK_TCK);
        sg_counter_set_double(p->cpu, (double)(utime + stime) / ticks);
        sg_gauge_set(p->rss, rss * (long long)sysconf(_SC_PAGESIZE));
        sg_gauge_set(p->vsize, (long long)vsize);
        sg_gauge_set_double(p->start, (double)boot_time() + (double)starttime / ticks);
    }
    long long open_fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.') open_fds++;
        closedir(d);
        open_fds--; /* the directory stream's own descriptor */
    }
    sg_gauge_set(p->fds, open_fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        sg_gauge_set(p->max_fds, rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur);
}

sg_status sg_metrics_add_process(sg_metrics *m)
{
    process_series *p = &proc_series;
    p->cpu = sg_metrics_counter(m, "process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds", NULL);
    p->rss = sg_metrics_gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes",
                              NULL);
    p->vsize = sg_metrics_gauge(m, "process_virtual_memory_bytes", "Virtual memory size in bytes",
                                NULL);
    p->fds = sg_metrics_gauge(m, "process_open_fds", "Number of open file descriptors", NULL);
    p->max_fds = sg_metrics_gauge(m, "process_max_fds", "Maximum number of open file descriptors",
                                  NULL);
    p->start = sg_metrics_gauge(m, "process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds", NULL);
    if (!p->cpu || !p->rss || !p->vsize || !p->fds || !p->max_fds || !p->start)
        return sg_fail(SG_E_NOMEM, "metrics: cannot register the process series");
    return sg_metrics_on_scrape(m, collect_process, p);
}
