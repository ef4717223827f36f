/* seatgate: leveled, structured log lines on stderr.
 *
 * One line per record, logfmt style, written with a single write so concurrent threads
 * never interleave within a line:
 *
 *   ts=2026-11-21T09:37:00.123Z level=info comp=store event=bucket_opened bucket=sessions
 *
 * `event` is a short snake_case identifier; the optional fields are printf-formatted
 * `key=value` pairs. Use sg_log_quote() for values that may contain spaces or quotes.
 * Secrets (API keys, private keys, tokens, passwords) must never be passed here.
 * Thread-safe.
 */
#ifndef SEATGATE_LOG_H
#define SEATGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sg_log_level {
    SG_LOG_DEBUG = 0,
    SG_LOG_INFO,
    SG_LOG_WARN,
    SG_LOG_ERROR,
    SG_LOG_OFF
} sg_log_level;

/* Receives each formatted line (without the trailing newline). */
typedef void (*sg_log_sink)(sg_log_level level, const char *line, void *user);

void sg_log_set_level(sg_log_level level);
sg_log_level sg_log_get_level(void);

/* The accepted values of every program's log-level setting (sg_setting.choices). */
#define SG_LOG_LEVEL_CHOICES "debug|info|warn|error|off"

/* Parses "debug", "info", "warn", "error" or "off". */
sg_status sg_log_level_parse(const char *text, sg_log_level *out);

/* Replaces the stderr sink (NULL restores it). Tests use this to capture lines. */
void sg_log_set_sink(sg_log_sink sink, void *user);

void sg_log(sg_log_level level, const char *comp, const char *event, const char *fields, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes `s` to buf as a logfmt value: as is when it has no space, quote, '=' or control
 * character, else double-quoted with escapes. Truncates to fit; returns buf. */
const char *sg_log_quote(const char *s, char *buf, size_t size);

/* Copies s to buf with what URLs may carry in the clear replaced by "[redacted]": the
 * user-info part ("nats://user:pass@host" -> "nats://[redacted]@host") and the query string
 * ("?key=..." -> "?[redacted]"), for every URL in a comma-separated list. Text that is not a
 * URL is copied as is. Truncates to fit; returns buf. */
const char *sg_log_redact_url(const char *s, char *buf, size_t size);

/* Bounds how often one kind of line is written (a flood of refused requests must not become
 * a flood of log lines). sg_log_limit returns true when a line may be written now (at most
 * one per interval_ms) and then sets *suppressed to how many were held back since the last
 * one; false means count it and write nothing. Thread-safe; zero-initialise the limiter. */
typedef struct sg_log_limiter {
    _Atomic long long next_ms;
    _Atomic unsigned long long held;
} sg_log_limiter;

bool sg_log_limit(sg_log_limiter *l, long long interval_ms, unsigned long long *suppressed);

#define SG_DEBUG(comp, event, ...) sg_log(SG_LOG_DEBUG, comp, event, __VA_ARGS__)
#define SG_INFO(comp, event, ...) sg_log(SG_LOG_INFO, comp, event, __VA_ARGS__)
#define SG_WARN(comp, event, ...) sg_log(SG_LOG_WARN, comp, event, __VA_ARGS__)
#define SG_ERROR(comp, event, ...) sg_log(SG_LOG_ERROR, comp, event, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
