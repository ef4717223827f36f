#include "seatgate/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

static _Atomic int current_level = SG_LOG_INFO;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_log_sink sink_fn;
static void *sink_user;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void sg_log_set_level(sg_log_level level)
{
    atomic_store(&current_level, (int)level);
}

sg_log_level sg_log_get_level(void)
{
    return (sg_log_level)atomic_load(&current_level);
}

sg_status sg_log_level_parse(const char *text, sg_log_level *out)
{
    for (int i = 0; i <= SG_LOG_OFF; i++) {
        if (text && strcmp(text, level_names[i]) == 0) {
            *out = (sg_log_level)i;
            return SG_OK;
        }
    }
    return sg_fail(SG_E_INVALID, "expected one of debug, info, warn, error, off");
}

void sg_log_set_sink(sg_log_sink sink, void *user)
{
    pthread_mutex_lock(&sink_lock);
    sink_fn = sink;
    sink_user = user;
    pthread_mutex_unlock(&sink_lock);
}

const char *sg_log_quote(const char *s, char *buf, size_t size)
{
    if (size == 0) return buf;
    if (!s) s = "";
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
            plain = 0;
    if (plain) {
        snprintf(buf, size, "%s", s);
        return buf;
    }
    size_t o = 0;
    if (o + 1 < size) buf[o++] = '"';
    for (const char *p = s; *p && o + 3 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c < 0x20) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)c;
        }
    }
    if (o + 1 < size) buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

bool sg_log_limit(sg_log_limiter *l, long long interval_ms, unsigned long long *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    long long next = atomic_load(&l->next_ms);
    if (now < next || !atomic_compare_exchange_strong(&l->next_ms, &next, now + interval_ms)) {
        atomic_fetch_add(&l->held, 1);
        return false;
    }
    unsigned long long held = atomic_exchange(&l->held, 0);
    if (suppressed) *suppressed = held;
    return true;
}

const char *sg_log_redact_url(const char *s, char *buf, size_t size)
{
    static const char mark[] = "[redacted]";
    if (size == 0) return buf;
    if (!s) s = "";
    size_t o = 0;
    const char *p = s;
    while (*p && o + 1 < size) {
        const char *sep = strstr(p, "://");
        if (!sep) break;
        /* copy up to and including "://" */
        const char *host = sep + 3;
        while (p < host && o + 1 < size) buf[o++] = *p++;
        /* this URL ends at a comma, a space or the end */
        size_t len = strcspn(host, ", \t");
        const char *end = host + len;
        const char *slash = memchr(host, '/', len);
        const char *auth_end = slash ? slash : end;
        const char *at = NULL;
        for (const char *q = host; q < auth_end; q++)
            if (*q == '@') at = q;
        if (at) {
            for (size_t i = 0; mark[i] && o + 1 < size; i++) buf[o++] = mark[i];
            p = at;
        }
        const char *query = memchr(p, '?', (size_t)(end - p));
        const char *stop = query ? query + 1 : end;
        while (p < stop && o + 1 < size) buf[o++] = *p++;
        if (query) {
            for (size_t i = 0; mark[i] && o + 1 < size; i++) buf[o++] = mark[i];
            const char *frag = memchr(p, '#', (size_t)(end - p));
            p = frag ? frag : end;
        }
    }
    while (*p && o + 1 < size) buf[o++] = *p++;
    buf[o] = '\0';
    return buf;
}

void sg_log(sg_log_level level, const char *comp, const char *event, const char *fields, ...)
{
    if (level < sg_log_get_level() || level >= SG_LOG_OFF) return;

    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s comp=%s event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L, level_names[level], comp, event);
    if (n < 0) return;
    if (fields && *fields && (size_t)n + 1 < sizeof line) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fields);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fields, ap);
        va_end(ap);
        if (m > 0) n += m;
    }
    if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;
    line[n] = '\0';

    pthread_mutex_lock(&sink_lock);
    sg_log_sink fn = sink_fn;
    void *user = sink_user;
    if (fn) {
        fn(level, line, user);
    } else {
        line[n] = '\n';
        ssize_t w = write(STDERR_FILENO, line, (size_t)n + 1);
        (void)w;
    }
    pthread_mutex_unlock(&sink_lock);
}
