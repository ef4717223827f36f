/* The store's front: argument checks, names, and dispatch to the backend picked by the URL. */
#include "kv_backend.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "seatgate/log.h"

/* ---- helpers ------------------------------------------------------------------------------ */

long long sg_kv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sg_kv_sleep_ms(long long ms)
{
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

sg_kv_entry *sg_kv_entry_make(const char *key, const void *v, size_t n, uint64_t rev, sg_kv_op op,
                              long long created_ms)
{
    size_t klen = strlen(key);
    sg_kv_entry *e = malloc(sizeof *e + klen + 1 + n + 1);
    if (!e) return NULL;
    e->key = (char *)(e + 1);
    memcpy(e->key, key, klen + 1);
    e->value = e->key + klen + 1;
    if (n) memcpy(e->value, v, n);
    e->value[n] = '\0';
    e->len = n;
    e->revision = rev;
    e->op = op;
    e->created_ms = created_ms;
    return e;
}

void sg_kv_entry_free(sg_kv_entry *e)
{
    free(e);
}

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool sg_kv_key_valid(const char *key)
{
    if (!key || !*key) return false;
    size_t n = strlen(key);
    if (n > SG_KV_KEY_MAX || key[0] == '.' || key[n - 1] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '.' && key[i + 1] == '.') return false;
        if (!isalnum(c) && !strchr("-_=./", c)) return false;
    }
    return true;
}

bool sg_kv_name_valid(const char *name)
{
    if (!name || !*name || strlen(name) > SG_KV_NAME_MAX) return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') return false;
    return true;
}

static bool app_valid(const char *app)
{
    return app && *app && strlen(app) <= SG_KV_APP_MAX && sg_kv_name_valid(app);
}

static bool kind_valid(const char *kind)
{
    if (!kind || !*kind || strlen(kind) > SG_KV_NAME_MAX) return false;
    for (const char *p = kind; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_') return false;
    return true;
}

static sg_status check_key(const char *key)
{
    if (sg_kv_key_valid(key)) return SG_OK;
    if (!key) return sg_fail(SG_E_INVALID, "store: key is missing");
    char q[96];
    return sg_fail(SG_E_INVALID,
                   "store: invalid key %s (allowed: letters, digits and -_=./, at most %d "
                   "bytes, no leading, trailing or doubled '.')",
                   sg_log_quote(key, q, sizeof q), SG_KV_KEY_MAX);
}

static sg_status check_name(const char *what, const char *name)
{
    if (sg_kv_name_valid(name)) return SG_OK;
    char q[96];
    return sg_fail(SG_E_INVALID,
                   "store: invalid %s name %s (allowed: letters, digits, '-' and '_', 1 to %d "
                   "bytes)",
                   what, name ? sg_log_quote(name, q, sizeof q) : "(none)", SG_KV_NAME_MAX);
}

static sg_status check_value(sg_bucket *b, const void *v, size_t n)
{
    if (!v && n) return sg_fail(SG_E_INVALID, "store: value is missing");
    if (n > b->opts.max_value_size)
        return sg_fail(SG_E_TOO_LARGE,
                       "store: value of %zu bytes is larger than bucket %s allows (%zu bytes)", n,
                       b->name, b->opts.max_value_size);
    return SG_OK;
}

static char *join3(const char *a, const char *sep, const char *b)
{
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", a, sep, b);
    return s;
}

/* ---- URL ---------------------------------------------------------------------------------- */

static sg_status check_nats_server(const char *u, size_t n)
{
    size_t skip;
    if (n > 7 && strncmp(u, "nats://", 7) == 0)
        skip = 7;
    else if (n > 6 && strncmp(u, "tls://", 6) == 0)
        skip = 6;
    else {
        char entry[80], shown[96];
        snprintf(entry, sizeof entry, "%.*s", (int)(n > 64 ? 64 : n), u);
        return sg_fail(SG_E_INVALID,
                       "store-url: each NATS server must start with nats:// or tls:// (got '%s')",
                       sg_log_redact_url(entry, shown, sizeof shown));
    }
    const char *h = u + skip, *end = u + n;
    if (memchr(h, '@', (size_t)(end - h)))
        return sg_fail(SG_E_INVALID, "store-url: credentials in the URL are not accepted; use "
                                     "nats-user/nats-password, nats-token or nats-creds-file");
    const char *port = NULL;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb || rb == h + 1) return sg_fail(SG_E_INVALID, "store-url: bad IPv6 host");
        if (rb + 1 < end) {
            if (rb[1] != ':') return sg_fail(SG_E_INVALID, "store-url: junk after IPv6 host");
            port = rb + 2;
        }
    } else {
        const char *c = memchr(h, ':', (size_t)(end - h));
        const char *hend = c ? c : end;
        if (hend == h) return sg_fail(SG_E_INVALID, "store-url: a NATS server has no host");
        for (const char *p = h; p < hend; p++)
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
                return sg_fail(SG_E_INVALID, "store-url: bad character in host '%.*s'",
                               (int)(hend - h > 64 ? 64 : hend - h), h);
        if (c) port = c + 1;
    }
    if (port) {
        long v = 0;
        if (port == end) return sg_fail(SG_E_INVALID, "store-url: empty port");
        for (const char *p = port; p < end; p++) {
            if (!isdigit((unsigned char)*p) || v > 65535)
                return sg_fail(SG_E_INVALID, "store-url: bad port '%.*s'",
                               (int)(end - port > 16 ? 16 : end - port), port);
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535) return sg_fail(SG_E_INVALID, "store-url: port out of range");
    }
    return SG_OK;
}

sg_status sg_kv_parse_url(const char *url, const sg_kv_backend **be, char **target)
{
    *target = NULL;
    if (!url || !*url) url = SG_KV_DEFAULT_URL;
    if (strncmp(url, "sqlite://", 9) == 0) {
        const char *path = url + 9;
        if (!*path)
            return sg_fail(SG_E_INVALID, "store-url: sqlite:// needs a file path, e.g. "
                                         "sqlite:///var/lib/seatgate/state.db or "
                                         "sqlite://./seatgate.db");
        if (strchr(path, '?') || strchr(path, '#'))
            return sg_fail(SG_E_INVALID, "store-url: sqlite URLs take no query or fragment");
        *be = &sg_kv_sqlite_backend;
        *target = strdup(path);
    } else if (strncmp(url, "nats://", 7) == 0 || strncmp(url, "tls://", 6) == 0) {
        const char *p = url;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            while (n && *p == ' ')
                p++, n--;
            while (n && p[n - 1] == ' ')
                n--;
            sg_status st = check_nats_server(p, n);
            if (st) return st;
            if (!comma) break;
            p = comma + 1;
        }
        *be = &sg_kv_nats_backend;
        *target = strdup(url);
    } else {
        const char *colon = strstr(url, "://");
        int n = colon ? (int)(colon - url) : 0;
        return sg_fail(SG_E_INVALID,
                       "store-url: unknown scheme '%.*s' (use nats://host:4222[,nats://...] or "
                       "sqlite:///path/file.db)",
                       n > 16 ? 16 : n, url);
    }
    return *target ? SG_OK : sg_fail(SG_E_NOMEM, "store: out of memory");
}

/* ---- store -------------------------------------------------------------------------------- */

void sg_store_options_init(sg_store_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = 2000;
    o->max_reconnects = -1;
    o->reconnect_wait_ms = 2000;
    o->ping_interval_ms = 5000;
    o->replicas = 1;
}

static void free_opts(sg_store_options *o)
{
    char **strs[] = {(char **)&o->url,      (char **)&o->app,      (char **)&o->user,
                     (char **)&o->password, (char **)&o->token,    (char **)&o->creds_file,
                     (char **)&o->tls_ca,   (char **)&o->tls_cert, (char **)&o->tls_key,
                     (char **)&o->name};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (*strs[i]) {
            /* passwords and tokens are wiped before the memory goes back */
            memset(*strs[i], 0, strlen(*strs[i]));
            free(*strs[i]);
        }
        *strs[i] = NULL;
    }
}

static sg_status copy_opts(sg_store_options *dst, const sg_store_options *src)
{
    *dst = *src;
    dst->url = dupstr(src->url ? src->url : SG_KV_DEFAULT_URL);
    dst->app = dupstr(src->app ? src->app : SG_KV_DEFAULT_APP);
    dst->user = dupstr(src->user);
    dst->password = dupstr(src->password);
    dst->token = dupstr(src->token);
    dst->creds_file = dupstr(src->creds_file);
    dst->tls_ca = dupstr(src->tls_ca);
    dst->tls_cert = dupstr(src->tls_cert);
    dst->tls_key = dupstr(src->tls_key);
    dst->name = dupstr(src->name);
    if (!dst->url || !dst->app || (src->user && !dst->user) || (src->password && !dst->password) ||
        (src->token && !dst->token) || (src->creds_file && !dst->creds_file) ||
        (src->tls_ca && !dst->tls_ca) || (src->tls_cert && !dst->tls_cert) ||
        (src->tls_key && !dst->tls_key) || (src->name && !dst->name)) {
        free_opts(dst);
        return sg_fail(SG_E_NOMEM, "store: out of memory");
    }
    return SG_OK;
}

/* The backend's open, retried with backoff while the store cannot be reached, for at most
 * connect_retry_ms (a matchmaker started before its NATS server waits for it). */
static sg_status open_retrying(sg_store *s)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long pause_ms = 250;
    for (int attempt = 1;; attempt++) {
        sg_status st = s->be->open(s);
        if (st != SG_E_UNAVAILABLE) return st;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long elapsed =
            (now.tv_sec - t0.tv_sec) * 1000LL + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (elapsed + pause_ms > s->opts.connect_retry_ms) {
            if (attempt > 1)
                return sg_fail(st, "%s (gave up after %lld ms, store-connect-timeout)",
                               sg_last_error(), elapsed);
            return st;
        }
        char q[300];
        SG_WARN("store", "store_connect_retry", "backend=%s attempt=%d retry_in_ms=%lld error=%s",
                s->be->name, attempt, pause_ms, sg_log_quote(sg_last_error(), q, sizeof q));
        struct timespec d = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
        pause_ms = pause_ms * 2 > 2000 ? 2000 : pause_ms * 2;
    }
}

sg_status sg_kv_options_check(const sg_store_options *o)
{
    const char *app = o->app ? o->app : SG_KV_DEFAULT_APP;
    if (!app_valid(app))
        return sg_fail(SG_E_INVALID,
                       "app: invalid namespace '%.40s' (letters, digits, '-' and '_', 1 to %d "
                       "bytes)",
                       app, SG_KV_APP_MAX);
    if (o->timeout_ms < 1 || o->timeout_ms > 600000)
        return sg_fail(SG_E_INVALID, "store-timeout: must be between 1 ms and 10 min");
    if (o->replicas < 0 || o->replicas > 5)
        return sg_fail(SG_E_INVALID, "kv-replicas: must be between 1 and 5");
    if ((o->tls_cert != NULL) != (o->tls_key != NULL))
        return sg_fail(SG_E_INVALID, "nats-tls-cert and nats-tls-key must be given together");
    if (o->user && !o->password)
        return sg_fail(SG_E_INVALID, "nats-user is set but nats-password is not");
    if (o->password && !o->user)
        return sg_fail(SG_E_INVALID, "nats-password is set but nats-user is not");
    int auth = (o->user != NULL) + (o->token != NULL) + (o->creds_file != NULL);
    if (auth > 1)
        return sg_fail(SG_E_INVALID,
                       "use one NATS authentication: nats-user/nats-password, nats-token or "
                       "nats-creds-file");
    return SG_OK;
}

sg_status sg_store_open(const sg_store_options *o, sg_store **out)
{
    *out = NULL;
    sg_store_options defaults;
    if (!o) {
        sg_store_options_init(&defaults);
        o = &defaults;
    }
    sg_status st = sg_kv_options_check(o);
    if (st != SG_OK) return st;

    sg_store *s = calloc(1, sizeof *s);
    if (!s) return sg_fail(SG_E_NOMEM, "store: out of memory");
    st = sg_kv_parse_url(o->url, &s->be, &s->target);
    if (st) {
        free(s);
        return st;
    }
    if (s->be->version != SG_KV_BACKEND_VERSION) {
        free(s->target);
        free(s);
        return sg_fail(SG_E_INTERNAL, "store: backend table version mismatch");
    }
    st = copy_opts(&s->opts, o);
    if (st == SG_OK) {
        if (s->opts.replicas == 0) s->opts.replicas = 1;
        if (s->opts.sweep_interval_ms <= 0) s->opts.sweep_interval_ms = 30000;
        if (s->opts.event_retention_ms <= 0) s->opts.event_retention_ms = 7LL * 24 * 3600000;
        if (s->opts.event_history_max_age_ms <= 0)
            s->opts.event_history_max_age_ms = 7LL * 24 * 3600000;
        st = open_retrying(s);
    }
    if (st) {
        free_opts(&s->opts);
        free(s->target);
        free(s);
        return st;
    }
    SG_INFO("store", "store_opened", "backend=%s app=%s", s->be->name, s->opts.app);
    *out = s;
    return SG_OK;
}

void sg_store_close(sg_store *s)
{
    if (!s) return;
    s->be->close(s);
    free_opts(&s->opts);
    free(s->target);
    free(s);
}

const char *sg_store_backend(const sg_store *s)
{
    return s->be->name;
}

const char *sg_store_app(const sg_store *s)
{
    return s->opts.app;
}

sg_store_state sg_store_get_state(sg_store *s)
{
    return s->be->state(s);
}

const char *sg_store_state_name(sg_store_state st)
{
    switch (st) {
    case SG_STORE_CONNECTED:
        return "connected";
    case SG_STORE_RECONNECTING:
        return "reconnecting";
    case SG_STORE_CLOSED:
        return "closed";
    }
    return "unknown";
}

sg_status sg_store_sweep(sg_store *s)
{
    return s->be->sweep(s);
}

bool sg_store_batches(const sg_store *s)
{
    return s->be->batch_begin != NULL;
}

sg_status sg_store_batch_begin(sg_store *s)
{
    if (!s->be->batch_begin) return sg_fail(SG_E_INVALID, "store: %s has no batches", s->be->name);
    return s->be->batch_begin(s);
}

sg_status sg_store_batch_step(sg_store *s, bool *still_open)
{
    *still_open = false;
    if (!s->be->batch_step) return sg_fail(SG_E_INVALID, "store: %s has no batches", s->be->name);
    return s->be->batch_step(s, still_open);
}

sg_status sg_store_batch_commit(sg_store *s)
{
    if (!s->be->batch_commit) return sg_fail(SG_E_INVALID, "store: %s has no batches", s->be->name);
    return s->be->batch_commit(s);
}

/* ---- buckets ------------------------------------------------------------------------------ */

void sg_bucket_options_init(sg_bucket_options *o)
{
    memset(o, 0, sizeof *o);
    o->history = 1;
    o->max_value_size = SG_KV_DEFAULT_MAX_VALUE;
}

sg_status sg_bucket_open(sg_store *s, const char *name, const sg_bucket_options *o, sg_bucket **out)
{
    *out = NULL;
    sg_status st = check_name("bucket", name);
    if (st) return st;
    if (strlen(s->opts.app) + 1 + strlen(name) > 2 * SG_KV_NAME_MAX)
        return sg_fail(SG_E_INVALID, "store: bucket name too long with its app prefix");
    sg_bucket_options want;
    if (o)
        want = *o;
    else
        sg_bucket_options_init(&want);
    if (want.history == 0) want.history = 1;
    if (want.max_value_size == 0) want.max_value_size = SG_KV_DEFAULT_MAX_VALUE;
    if (want.replicas == 0) want.replicas = s->opts.replicas;
    if (want.ttl_ms < 0) return sg_fail(SG_E_INVALID, "bucket %s: negative TTL", name);
    if (want.history < 1 || want.history > SG_KV_HISTORY_MAX)
        return sg_fail(SG_E_INVALID, "bucket %s: history must be 1..%d", name, SG_KV_HISTORY_MAX);
    if (want.replicas < 1 || want.replicas > 5)
        return sg_fail(SG_E_INVALID, "bucket %s: replicas must be 1..5", name);
    if (want.max_value_size > 8 * 1024 * 1024)
        return sg_fail(SG_E_INVALID, "bucket %s: max value size above 8 MiB", name);

    sg_bucket *b = calloc(1, sizeof *b);
    if (!b) return sg_fail(SG_E_NOMEM, "store: out of memory");
    b->store = s;
    b->name = strdup(name);
    b->full = join3(s->opts.app, "_", name);
    if (!b->name || !b->full) {
        st = sg_fail(SG_E_NOMEM, "store: out of memory");
    } else {
        b->opts = want;
        st = s->be->bucket_open(b, &want);
    }
    if (st) {
        free(b->name);
        free(b->full);
        free(b);
        return st;
    }
    b->opts.create = false;
    if (want.ttl_ms != b->opts.ttl_ms || want.max_value_size != b->opts.max_value_size ||
        want.history != b->opts.history)
        SG_WARN("store", "bucket_config_differs",
                "bucket=%s ttl_ms=%lld wanted_ttl_ms=%lld max_value=%zu wanted_max_value=%zu "
                "history=%d wanted_history=%d",
                b->full, b->opts.ttl_ms, want.ttl_ms, b->opts.max_value_size, want.max_value_size,
                b->opts.history, want.history);
    *out = b;
    return SG_OK;
}

void sg_bucket_close(sg_bucket *b)
{
    if (!b) return;
    b->store->be->bucket_close(b);
    free(b->name);
    free(b->full);
    free(b);
}

void sg_bucket_config(const sg_bucket *b, sg_bucket_options *out)
{
    *out = b->opts;
}

const char *sg_bucket_name(const sg_bucket *b)
{
    return b->name;
}

sg_status sg_kv_get(sg_bucket *b, const char *key, sg_kv_entry **out)
{
    *out = NULL;
    sg_status st = check_key(key);
    return st ? st : b->store->be->get(b, key, out);
}

sg_status sg_kv_put(sg_bucket *b, const char *key, const void *value, size_t len, uint64_t *rev)
{
    if (rev) *rev = 0;
    sg_status st = check_key(key);
    if (!st) st = check_value(b, value, len);
    return st ? st : b->store->be->put(b, key, value, len, rev);
}

sg_status sg_kv_create(sg_bucket *b, const char *key, const void *value, size_t len, uint64_t *rev)
{
    if (rev) *rev = 0;
    sg_status st = check_key(key);
    if (!st) st = check_value(b, value, len);
    return st ? st : b->store->be->create(b, key, value, len, rev);
}

sg_status sg_kv_update(sg_bucket *b, const char *key, const void *value, size_t len, uint64_t last,
                       uint64_t *rev)
{
    if (rev) *rev = 0;
    sg_status st = check_key(key);
    if (!st) st = check_value(b, value, len);
    if (!st && last == 0)
        st = sg_fail(SG_E_INVALID, "store: update needs the revision it replaces (use create "
                                   "for a new key)");
    return st ? st : b->store->be->update(b, key, value, len, last, rev);
}

sg_status sg_kv_delete(sg_bucket *b, const char *key)
{
    sg_status st = check_key(key);
    return st ? st : b->store->be->del(b, key);
}

sg_status sg_kv_write_many(sg_kv_write *w, size_t n)
{
    if (n == 0) return SG_OK;
    for (size_t i = 0; i < n; i++) {
        if (!w[i].bucket || w[i].bucket->store != w[0].bucket->store)
            return sg_fail(SG_E_INVALID, "store: write_many needs buckets of one store");
        sg_status st = check_key(w[i].key);
        if (!st && w[i].value) st = check_value(w[i].bucket, w[i].value, w[i].len);
        if (!st && w[i].mode != SG_KV_WRITE_PUT && !w[i].value)
            st = sg_fail(SG_E_INVALID, "store: a create or update needs a value");
        if (!st && w[i].mode == SG_KV_WRITE_UPDATE && w[i].last == 0)
            st = sg_fail(SG_E_INVALID, "store: an update needs the revision it expects");
        if (!st && w[i].mode > SG_KV_WRITE_UPDATE)
            st = sg_fail(SG_E_INVALID, "store: unknown write mode %d", (int)w[i].mode);
        if (st) return st;
    }
    for (size_t i = 0; i < n; i++) {
        w[i].result = SG_OK;
        w[i].rev = 0;
    }
    return w[0].bucket->store->be->write_many(w, n);
}

typedef struct key_list {
    char **keys;
    size_t count, cap, bytes;
} key_list;

static sg_status collect_key(void *arg, const sg_kv_entry *e)
{
    key_list *l = arg;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **k = realloc(l->keys, cap * sizeof *k);
        if (!k) return sg_fail(SG_E_NOMEM, "store: out of memory");
        l->keys = k;
        l->cap = cap;
    }
    if (!(l->keys[l->count] = strdup(e->key))) return sg_fail(SG_E_NOMEM, "store: out of memory");
    l->bytes += strlen(e->key) + 1;
    l->count++;
    return SG_OK;
}

sg_status sg_kv_keys(sg_bucket *b, char ***keys, size_t *count)
{
    *keys = NULL;
    *count = 0;
    key_list l = {0};
    sg_status st = b->store->be->each(b, true, collect_key, &l);
    char **out = NULL;
    if (!st && l.count && !(out = malloc(l.count * sizeof *out + l.bytes)))
        st = sg_fail(SG_E_NOMEM, "store: out of memory");
    if (!st && out) {
        char *p = (char *)(out + l.count);
        for (size_t i = 0; i < l.count; i++) {
            size_t n = strlen(l.keys[i]) + 1;
            memcpy(p, l.keys[i], n);
            out[i] = p;
            p += n;
        }
    }
    for (size_t i = 0; i < l.count; i++)
        free(l.keys[i]);
    free(l.keys);
    if (st) return st;
    *keys = out;
    *count = out ? l.count : 0;
    return SG_OK;
}

sg_status sg_kv_each(sg_bucket *b, sg_kv_each_fn fn, void *arg)
{
    if (!fn) return sg_fail(SG_E_INVALID, "store: each needs a function");
    return b->store->be->each(b, false, fn, arg);
}

typedef struct newer_than {
    uint64_t since;
    sg_kv_each_fn fn;
    void *arg;
} newer_than;

static sg_status pass_newer(void *arg, const sg_kv_entry *e)
{
    const newer_than *x = arg;
    return e->revision > x->since ? x->fn(x->arg, e) : SG_OK;
}

sg_status sg_kv_each_since(sg_bucket *b, uint64_t since, sg_kv_each_fn fn, void *arg)
{
    if (!fn) return sg_fail(SG_E_INVALID, "store: each_since needs a function");
    if (b->store->be->each_since) return b->store->be->each_since(b, since, fn, arg);
    newer_than x = {since, fn, arg};
    return b->store->be->each(b, false, pass_newer, &x);
}

bool sg_store_reads_changes(const sg_store *s)
{
    return s->be->each_since != NULL;
}

sg_status sg_kv_revisions(sg_bucket *b, sg_kv_each_fn fn, void *arg)
{
    if (!fn) return sg_fail(SG_E_INVALID, "store: revisions needs a function");
    return b->store->be->each(b, true, fn, arg);
}

sg_status sg_kv_watch(sg_bucket *b, const char *key, sg_watch **out)
{
    *out = NULL;
    if (key) {
        sg_status st = check_key(key);
        if (st) return st;
    }
    sg_watch *w = calloc(1, sizeof *w);
    if (!w) return sg_fail(SG_E_NOMEM, "store: out of memory");
    w->bucket = b;
    w->key = dupstr(key);
    if (key && !w->key) {
        free(w);
        return sg_fail(SG_E_NOMEM, "store: out of memory");
    }
    sg_status st = b->store->be->watch(w);
    if (st) {
        free(w->key);
        free(w);
        return st;
    }
    *out = w;
    return SG_OK;
}

sg_status sg_watch_next(sg_watch *w, long long timeout_ms, sg_kv_entry **out)
{
    *out = NULL;
    if (timeout_ms < 0) timeout_ms = 0;
    return w->bucket->store->be->watch_next(w, timeout_ms, out);
}

void sg_watch_free(sg_watch *w)
{
    if (!w) return;
    w->bucket->store->be->watch_free(w);
    free(w->key);
    free(w);
}

/* ---- queues ------------------------------------------------------------------------------- */

void sg_queue_options_init(sg_queue_options *o)
{
    memset(o, 0, sizeof *o);
    o->lease_ms = 30000;
}

sg_status sg_queue_open(sg_store *s, const char *name, const sg_queue_options *o, sg_queue **out)
{
    *out = NULL;
    sg_status st = check_name("queue", name);
    if (st) return st;
    sg_queue_options want;
    if (o)
        want = *o;
    else
        sg_queue_options_init(&want);
    if (want.lease_ms == 0) want.lease_ms = 30000;
    if (want.replicas == 0) want.replicas = s->opts.replicas;
    if (want.lease_ms < 100 || want.lease_ms > 24LL * 3600000)
        return sg_fail(SG_E_INVALID, "queue %s: lease must be between 100 ms and 24 h", name);
    if (want.replicas < 1 || want.replicas > 5)
        return sg_fail(SG_E_INVALID, "queue %s: replicas must be 1..5", name);

    sg_queue *q = calloc(1, sizeof *q);
    if (!q) return sg_fail(SG_E_NOMEM, "store: out of memory");
    q->store = s;
    q->opts = want;
    q->name = strdup(name);
    q->full = join3(s->opts.app, "_", name);
    char *pre = join3(s->opts.app, ".queue.", "");
    q->subject = pre ? join3(pre, "", name) : NULL;
    free(pre);
    if (!q->name || !q->full || !q->subject)
        st = sg_fail(SG_E_NOMEM, "store: out of memory");
    else
        st = s->be->queue_open(q);
    if (st) {
        free(q->name);
        free(q->full);
        free(q->subject);
        free(q);
        return st;
    }
    *out = q;
    return SG_OK;
}

void sg_queue_close(sg_queue *q)
{
    if (!q) return;
    q->store->be->queue_close(q);
    free(q->name);
    free(q->full);
    free(q->subject);
    free(q);
}

static sg_status check_json(const char *what, const char *json, size_t len)
{
    if (!json) return sg_fail(SG_E_INVALID, "%s: JSON text is missing", what);
    if (len > 1024 * 1024) return sg_fail(SG_E_TOO_LARGE, "%s: JSON text above 1 MiB", what);
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!doc) return sg_fail(SG_E_MALFORMED, "%s: payload is not valid JSON", what);
    cJSON_Delete(doc);
    for (; end && end < json + len; end++)
        if (!isspace((unsigned char)*end))
            return sg_fail(SG_E_MALFORMED, "%s: trailing data after the JSON value", what);
    return SG_OK;
}

sg_status sg_queue_enqueue(sg_queue *q, const char *payload, size_t len)
{
    sg_status st = check_json("queue", payload, len);
    return st ? st : q->store->be->enqueue(q, payload, len);
}

sg_status sg_queue_take(sg_queue *q, long long wait_ms, sg_job **out)
{
    *out = NULL;
    sg_job *j = calloc(1, sizeof *j);
    if (!j) return sg_fail(SG_E_NOMEM, "store: out of memory");
    j->queue = q;
    sg_status st = q->store->be->take(q, wait_ms < 0 ? 0 : wait_ms, j);
    if (st == SG_OK) {
        *out = j;
        return SG_OK;
    }
    free(j);
    return st == SG_E_NOT_FOUND ? SG_OK : st;
}

const char *sg_job_payload(const sg_job *j, size_t *len)
{
    if (len) *len = j->len;
    return j->payload;
}

int sg_job_attempts(const sg_job *j)
{
    return j->attempts;
}

sg_status sg_job_ack(sg_job *j)
{
    return j->queue->store->be->ack(j);
}

sg_status sg_job_retry(sg_job *j, long long delay_ms)
{
    if (delay_ms < 0) delay_ms = 0;
    return j->queue->store->be->retry(j, delay_ms);
}

sg_status sg_job_touch(sg_job *j)
{
    return j->queue->store->be->touch(j);
}

void sg_job_free(sg_job *j)
{
    if (!j) return;
    j->queue->store->be->job_free(j);
    free(j->payload);
    free(j);
}

/* ---- events ------------------------------------------------------------------------------- */

sg_status sg_event_publish_json(sg_store *s, const char *kind, const char *json, size_t len)
{
    if (!kind_valid(kind))
        return sg_fail(SG_E_INVALID,
                       "events: invalid kind '%.40s' (lower-case letters, digits "
                       "and '_')",
                       kind ? kind : "(none)");
    sg_status st = check_json("events", json, len);
    return st ? st : s->be->publish(s, kind, json, len);
}

sg_status sg_event_subscribe(sg_store *s, const char *kind, sg_event_sub **out)
{
    *out = NULL;
    if (kind && !kind_valid(kind))
        return sg_fail(SG_E_INVALID, "events: invalid kind '%.40s'", kind);
    sg_event_sub *sub = calloc(1, sizeof *sub);
    if (!sub) return sg_fail(SG_E_NOMEM, "store: out of memory");
    sub->store = s;
    sub->kind = dupstr(kind);
    sg_status st =
        (kind && !sub->kind) ? sg_fail(SG_E_NOMEM, "store: out of memory") : s->be->subscribe(sub);
    if (st) {
        free(sub->kind);
        free(sub);
        return st;
    }
    *out = sub;
    return SG_OK;
}

sg_status sg_event_subscribe_from(sg_store *s, uint64_t after, sg_event_sub **out)
{
    *out = NULL;
    sg_event_sub *sub = calloc(1, sizeof *sub);
    if (!sub) return sg_fail(SG_E_NOMEM, "store: out of memory");
    sub->store = s;
    sub->from = true;
    sub->after = after;
    sg_status st = s->be->subscribe(sub);
    if (st) {
        free(sub);
        return st;
    }
    *out = sub;
    return SG_OK;
}

sg_status sg_event_next_at(sg_event_sub *sub, long long timeout_ms, uint64_t *pos,
                           char **kind_out, char **json_out)
{
    if (kind_out) *kind_out = NULL;
    if (pos) *pos = 0;
    *json_out = NULL;
    char *kind = NULL;
    sub->pos = 0;
    sg_status st =
        sub->store->be->event_next(sub, timeout_ms < 0 ? 0 : timeout_ms, &kind, json_out);
    if (st == SG_OK && pos) *pos = sub->pos;
    if (kind_out)
        *kind_out = kind;
    else
        free(kind);
    return st;
}

sg_status sg_event_next(sg_event_sub *sub, long long timeout_ms, char **kind_out, char **json_out)
{
    return sg_event_next_at(sub, timeout_ms, NULL, kind_out, json_out);
}

void sg_event_sub_free(sg_event_sub *sub)
{
    if (!sub) return;
    sub->store->be->sub_free(sub);
    free(sub->kind);
    free(sub);
}
