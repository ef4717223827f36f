/* CORS decisions: exact origin list, preflight checks, the headers to send. */
#include "cors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ORIGINS 64

struct sg_cors {
    bool any;
    bool credentials;
    long long max_age_s;
    size_t norigins;
    char *origins[MAX_ORIGINS];
    char allow_headers[256];
    char allow_methods[128];
};

void sg_cors_free(sg_cors *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->norigins; i++)
        free(c->origins[i]);
    free(c);
}

/* scheme://host[:port] with no path, query, user info or trailing slash. */
static bool origin_well_formed(const char *o)
{
    const char *sep = strstr(o, "://");
    if (!sep || sep == o) return false;
    for (const char *p = o; p < sep; p++)
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.') return false;
    const char *host = sep + 3;
    if (!*host) return false;
    for (const char *p = host; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '@')
            return false;
    }
    return strlen(o) < SG_CORS_MAX_ORIGIN;
}

static void copy_trimmed(char *dst, size_t size, const char *src, const char *def)
{
    snprintf(dst, size, "%s", src && *src ? src : def);
}

sg_status sg_cors_new(const sg_cors_options *o, sg_cors **out)
{
    *out = NULL;
    if (o->max_age_s < 0) return sg_fail(SG_E_INVALID, "CORS: max age must be >= 0");
    sg_cors *c = calloc(1, sizeof *c);
    if (!c) return sg_fail(SG_E_NOMEM, "CORS: out of memory");
    c->credentials = o->allow_credentials;
    c->max_age_s = o->max_age_s;
    copy_trimmed(c->allow_headers, sizeof c->allow_headers, o->allow_headers, "Content-Type");
    copy_trimmed(c->allow_methods, sizeof c->allow_methods, o->allow_methods, "POST, GET, OPTIONS");
    const char *p = o->origins ? o->origins : "";
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        size_t n = (size_t)(e - p);
        if (n) {
            char item[SG_CORS_MAX_ORIGIN + 1];
            if (n > SG_CORS_MAX_ORIGIN) {
                sg_cors_free(c);
                return sg_fail(SG_E_INVALID, "CORS: origin longer than %d characters",
                               SG_CORS_MAX_ORIGIN);
            }
            memcpy(item, p, n);
            item[n] = '\0';
            if (strcmp(item, "*") == 0) {
                c->any = true;
            } else if (!origin_well_formed(item)) {
                sg_cors_free(c);
                return sg_fail(SG_E_INVALID,
                               "CORS: origin '%s' is not scheme://host[:port] (no path, no "
                               "trailing slash)",
                               item);
            } else if (c->norigins == MAX_ORIGINS) {
                sg_cors_free(c);
                return sg_fail(SG_E_INVALID, "CORS: more than %d origins", MAX_ORIGINS);
            } else if (!(c->origins[c->norigins++] = strdup(item))) {
                sg_cors_free(c);
                return sg_fail(SG_E_NOMEM, "CORS: out of memory");
            }
        }
        p = e;
    }
    if (c->any && c->credentials) {
        sg_cors_free(c);
        return sg_fail(SG_E_INVALID,
                       "CORS: origin '*' cannot be combined with credentials; list the origins");
    }
    *out = c;
    return SG_OK;
}

static bool origin_allowed(const sg_cors *c, const char *origin)
{
    if (!origin || strlen(origin) >= SG_CORS_MAX_ORIGIN) return false;
    for (size_t i = 0; i < c->norigins; i++)
        if (strcasecmp(c->origins[i], origin) == 0) return true;
    return c->any;
}

static void add(sg_cors_headers *out, const char *name, const char *value)
{
    if (out->count == SG_CORS_MAX_HEADERS) return;
    out->h[out->count].name = name;
    snprintf(out->h[out->count].value, sizeof out->h[out->count].value, "%s", value);
    out->count++;
}

static void add_common(const sg_cors *c, const char *origin, sg_cors_headers *out)
{
    /* With only "*" and no credentials the answer does not depend on the origin. */
    bool echo = !c->any || c->norigins > 0 || c->credentials;
    add(out, "Access-Control-Allow-Origin", echo ? origin : "*");
    if (c->credentials) add(out, "Access-Control-Allow-Credentials", "true");
}

sg_cors_result sg_cors_request(const sg_cors *c, const char *origin, sg_cors_headers *out)
{
    out->count = 0;
    if (!origin) return SG_CORS_NO_ORIGIN;
    add(out, "Vary", "Origin");
    if (!origin_allowed(c, origin)) return SG_CORS_DENIED;
    add_common(c, origin, out);
    add(out, "Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate");
    return SG_CORS_ALLOWED;
}

/* The next item of a comma-separated list at *p, without surrounding blanks: its start and
 * length (0 for an empty item); *p moves past it. False at the end of the list. */
static bool next_item(const char **p, const char **item, size_t *n)
{
    const char *s = *p;
    while (*s == ',' || *s == ' ' || *s == '\t')
        s++;
    if (!*s) return false;
    const char *e = s;
    while (*e && *e != ',')
        e++;
    const char *t = e;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
        t--;
    *item = s;
    *n = (size_t)(t - s);
    *p = e;
    return true;
}

/* Whether `token` (n bytes) appears in a comma-separated list, ignoring case and spaces. */
static bool list_has(const char *list, const char *token, size_t n)
{
    const char *item;
    size_t len;
    for (const char *p = list; next_item(&p, &item, &len);)
        if (len == n && n && strncasecmp(item, token, n) == 0) return true;
    return false;
}

sg_cors_result sg_cors_preflight(const sg_cors *c, const char *origin, const char *method,
                                 const char *request_headers, sg_cors_headers *out)
{
    out->count = 0;
    if (!origin || !method) return SG_CORS_NO_ORIGIN;
    add(out, "Vary", "Origin");
    if (!origin_allowed(c, origin)) return SG_CORS_DENIED;
    if (!list_has(c->allow_methods, method, strlen(method))) return SG_CORS_DENIED;
    const char *item;
    size_t len;
    for (const char *p = request_headers ? request_headers : ""; next_item(&p, &item, &len);)
        if (len && !list_has(c->allow_headers, item, len)) return SG_CORS_DENIED;
    out->count = 0;
    add(out, "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    add_common(c, origin, out);
    add(out, "Access-Control-Allow-Methods", c->allow_methods);
    add(out, "Access-Control-Allow-Headers", c->allow_headers);
    char age[32];
    snprintf(age, sizeof age, "%lld", c->max_age_s);
    add(out, "Access-Control-Max-Age", age);
    return SG_CORS_ALLOWED;
}
