/* seatgate store internals: the table of functions each backend provides.
 *
 * kv.c validates every argument (keys, names, sizes, JSON payloads), builds the prefixed
 * names and calls the backend through this table; a backend may therefore assume its
 * arguments are valid. Like sqlite3_io_methods, the table has a version so a backend built
 * for an older table can be refused rather than misused.
 */
#ifndef SEATGATE_KV_BACKEND_H
#define SEATGATE_KV_BACKEND_H

#include "seatgate/kv.h"

#define SG_KV_BACKEND_VERSION 1

struct sg_store {
    const struct sg_kv_backend *be;
    sg_store_options opts; /* strings owned (copied) */
    char *target;          /* URL after the scheme: server list or file path */
    void *impl;
};

struct sg_bucket {
    sg_store *store;
    char *name;             /* as given */
    char *full;             /* "<app>_<name>" */
    sg_bucket_options opts; /* in force */
    void *impl;
};

struct sg_watch {
    sg_bucket *bucket;
    char *key; /* NULL = whole bucket */
    void *impl;
};

struct sg_queue {
    sg_store *store;
    char *name;
    char *full;    /* "<app>_<name>" */
    char *subject; /* "<app>.queue.<name>" */
    sg_queue_options opts;
    void *impl;
};

struct sg_job {
    sg_queue *queue;
    char *payload;
    size_t len;
    int attempts;
    void *impl;
};

struct sg_event_sub {
    sg_store *store;
    char *kind; /* NULL = all kinds */
    bool from;      /* sg_event_subscribe_from: the history after position `after` */
    uint64_t after;
    uint64_t pos; /* event_next: the position of the event it returned (from only) */
    void *impl;
};

typedef struct sg_kv_backend {
    int version;
    const char *name;

    sg_status (*open)(sg_store *s);
    void (*close)(sg_store *s);
    sg_store_state (*state)(sg_store *s);
    sg_status (*sweep)(sg_store *s);

    /* Binds b->impl; fills b->opts with the configuration in force. */
    sg_status (*bucket_open)(sg_bucket *b, const sg_bucket_options *wanted);
    void (*bucket_close)(sg_bucket *b);
    sg_status (*get)(sg_bucket *b, const char *key, sg_kv_entry **out);
    sg_status (*put)(sg_bucket *b, const char *key, const void *v, size_t n, uint64_t *rev);
    sg_status (*create)(sg_bucket *b, const char *key, const void *v, size_t n, uint64_t *rev);
    sg_status (*update)(sg_bucket *b, const char *key, const void *v, size_t n, uint64_t last,
                        uint64_t *rev);
    sg_status (*del)(sg_bucket *b, const char *key);
    /* Every live key's latest value (sg_kv_each; values may be skipped when meta_only). */
    sg_status (*each)(sg_bucket *b, bool meta_only, sg_kv_each_fn fn, void *arg);
    /* The live keys written after revision since, with their values (sg_kv_each_since); NULL:
     * the store walks every key with each and passes on the newer ones. */
    sg_status (*each_since)(sg_bucket *b, uint64_t since, sg_kv_each_fn fn, void *arg);
    sg_status (*watch)(sg_watch *w);
    sg_status (*watch_next)(sg_watch *w, long long timeout_ms, sg_kv_entry **out);
    void (*watch_free)(sg_watch *w);

    sg_status (*queue_open)(sg_queue *q);
    void (*queue_close)(sg_queue *q);
    sg_status (*enqueue)(sg_queue *q, const char *payload, size_t len);
    /* Fills j (payload, len, attempts, impl) and returns SG_OK, or SG_E_NOT_FOUND if none. */
    sg_status (*take)(sg_queue *q, long long wait_ms, sg_job *j);
    sg_status (*ack)(sg_job *j);
    sg_status (*retry)(sg_job *j, long long delay_ms);
    sg_status (*touch)(sg_job *j);
    void (*job_free)(sg_job *j);

    sg_status (*publish)(sg_store *s, const char *kind, const char *json, size_t len);
    sg_status (*subscribe)(sg_event_sub *sub);
    sg_status (*event_next)(sg_event_sub *sub, long long timeout_ms, char **kind, char **json);
    void (*sub_free)(sg_event_sub *sub);

    /* Checked by kv.c (keys, values, modes, one store); results preset to SG_OK. */
    sg_status (*write_many)(sg_kv_write *w, size_t n);

    /* A batch (sg_store_batch_begin): NULL when the backend has none. */
    sg_status (*batch_begin)(sg_store *s);
    sg_status (*batch_step)(sg_store *s, bool *still_open);
    sg_status (*batch_commit)(sg_store *s);
} sg_kv_backend;

extern const sg_kv_backend sg_kv_nats_backend;
extern const sg_kv_backend sg_kv_sqlite_backend;

/* Shared helpers (kv.c). */
sg_kv_entry *sg_kv_entry_make(const char *key, const void *v, size_t n, uint64_t rev, sg_kv_op op,
                              long long created_ms);
long long sg_kv_now_ms(void);
void sg_kv_sleep_ms(long long ms);

/* Splits "sqlite://..." / "nats://..." into a backend and its target. */
sg_status sg_kv_parse_url(const char *url, const sg_kv_backend **be, char **target);
/* The one check of a set of store options (namespace, bounds, the TLS pair, one NATS
 * authentication), made by sg_store_options_from_config and again by sg_store_open for
 * callers that fill the options by hand. */
sg_status sg_kv_options_check(const sg_store_options *o);

#endif
