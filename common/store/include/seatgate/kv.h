/* seatgate: the state store. Buckets of keys, a durable work queue and events, with one
 * meaning on two backends:
 *
 *   nats://host:4222[,nats://host2:4222...]   NATS JetStream (production; shared by every
 *                                             matchmaker replica and game server)
 *   sqlite:///abs/path.db, sqlite://./rel.db  SQLite file (one machine, no server; several
 *                                             processes may share the file)
 *
 * The backend is picked from the URL in sg_store_open and nothing else in seatgate knows
 * which one is in use. Bucket names, queue names and event subjects are prefixed with the
 * store's app name ("<app>_<bucket>", "<app>.events.<kind>"), so several games can share one
 * NATS or one SQLite file.
 *
 * Keys follow NATS's rules on both backends: letters, digits and "-_=./", not starting or
 * ending with ".", no ".." (no empty tokens), at most SG_KV_KEY_MAX bytes. Bucket and queue
 * names: letters, digits, "-" and "_", at most SG_KV_NAME_MAX bytes.
 *
 * Errors (sg_last_error() says more, never with a secret in it):
 *   SG_E_INVALID      bad key, name, URL, option or argument
 *   SG_E_TOO_LARGE    value larger than the bucket's max value size
 *   SG_E_NOT_FOUND    no such key (absent, deleted or expired) or bucket
 *   SG_E_EXISTS       create found the key present
 *   SG_E_CONFLICT     update's expected revision is not the key's latest
 *   SG_E_UNAVAILABLE  the store cannot be reached now (NATS disconnected or reconnecting)
 *   SG_E_TIMEOUT      the call did not finish within the store timeout
 *   SG_E_IO           the backend failed otherwise (SQLite error, unexpected NATS answer)
 *
 * Threads: an sg_store and its buckets and queues may be used from several threads at once.
 * A watcher, an event subscription and a job belong to one thread at a time (create, use and
 * free them on one thread, or hand them over with your own synchronisation). Close every
 * bucket, queue, watcher and subscription before closing the store.
 */
#ifndef SEATGATE_KV_H
#define SEATGATE_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/config.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_KV_KEY_MAX 255    /* bytes in a key */
#define SG_KV_NAME_MAX 64    /* bytes in a bucket or queue name (before the app prefix) */
#define SG_KV_APP_MAX 32     /* bytes in the app prefix */
#define SG_KV_HISTORY_MAX 64 /* values kept per key, NATS's limit */
#define SG_KV_DEFAULT_URL "sqlite://./seatgate.db"
#define SG_KV_DEFAULT_APP "seatgate"
#define SG_KV_DEFAULT_MAX_VALUE (64 * 1024)

typedef struct sg_store sg_store;
typedef struct sg_bucket sg_bucket;
typedef struct sg_watch sg_watch;
typedef struct sg_queue sg_queue;
typedef struct sg_job sg_job;
typedef struct sg_event_sub sg_event_sub;

typedef enum sg_store_state {
    SG_STORE_CONNECTED = 0, /* calls go through */
    SG_STORE_RECONNECTING,  /* NATS lost its server and is trying again: calls fail fast */
    SG_STORE_CLOSED         /* NATS gave up (max reconnects reached): calls fail */
} sg_store_state;

/* ---- Store ---------------------------------------------------------------------------- */

typedef struct sg_store_options {
    const char *url;            /* see above; NULL means SG_KV_DEFAULT_URL */
    const char *app;            /* namespace prefix; NULL means SG_KV_DEFAULT_APP */
    long long timeout_ms;       /* deadline of every call (NATS request wait, SQLite busy wait) */
    long long connect_retry_ms; /* sg_store_open retries an unreachable store this long (0: once) */

    /* NATS only; NULL/0 leaves the nats.c default. */
    const char *user, *password; /* user/password authentication */
    const char *token;           /* token authentication */
    const char *creds_file;      /* JWT + NKey seed credentials file */
    const char *tls_ca;          /* CA file: enables TLS and verifies the server with it */
    const char *tls_cert;        /* client certificate (with tls_key) for mutual TLS */
    const char *tls_key;
    const char *name;                   /* connection name shown in the server's monitoring */
    int max_reconnects;                 /* -1 = forever (default), 0 = never */
    long long reconnect_wait_ms;        /* pause between reconnect attempts to one server */
    /* NATS: how often the client pings its server; two pings unanswered and the connection
     * is dropped and another server tried (a server whose host vanished sends no reset). */
    long long ping_interval_ms;
    int replicas;                       /* default replicas of new buckets, queues and streams */
    bool event_history;                 /* keep events in a JetStream stream "<app>_events" */
    long long event_history_max_age_ms; /* age limit of that stream (0 = 7 days) */

    /* SQLite only. */
    long long sweep_interval_ms;  /* how often writers sweep expired rows (0 = 30 s) */
    long long event_retention_ms; /* events table keeps rows this long (0 = 7 days) */
    long long event_max_rows;     /* ... and at most this many, the newest (0 = no cap) */
} sg_store_options;

/* Fills o with defaults (URL and app NULL = defaults, timeout 2 s, reconnect forever every
 * 2 s, 1 replica). */
void sg_store_options_init(sg_store_options *o);

/* Opens the store named by o->url. Connects to NATS (bounded by timeout_ms) or opens and
 * prepares the SQLite file (WAL mode, busy timeout). The options' strings are copied.
 * Errors: SG_E_INVALID (malformed URL, app or option), SG_E_UNAVAILABLE (no NATS server
 * reachable, JetStream not enabled), SG_E_IO (SQLite file cannot be opened). */
sg_status sg_store_open(const sg_store_options *o, sg_store **out);

/* Closes the store (NULL is fine). Everything opened from it must be closed first. */
void sg_store_close(sg_store *s);

/* "nats" or "sqlite", for logs. */
const char *sg_store_backend(const sg_store *s);
const char *sg_store_app(const sg_store *s);

/* Current connection state (SQLite is always connected). For /readyz. Never blocks. */
sg_store_state sg_store_get_state(sg_store *s);
const char *sg_store_state_name(sg_store_state st);

/* Batches (SQLite only; sg_store_batches says whether the store has them). Between
 * sg_store_batch_begin and sg_store_batch_commit, every call this thread makes on the store
 * is part of one transaction: each call's writes still succeed or fail on their own (a
 * savepoint), but none is durable, or seen by others, before the commit, and a failed commit
 * loses them all. Other threads' writes wait until the commit; their reads (gets, listings,
 * watches) do not, and see the last commit, without the batch's writes. sg_store_batch_step, after
 * each call, says whether the batch is still open (SQLite undoes the whole transaction on an I/O
 * error or a full disk: the calls left must then not be made).
 * Errors: SG_E_INVALID (no batches here, begin inside a batch, commit outside one), SG_E_IO
 * and the store's own on begin and commit. */
bool sg_store_batches(const sg_store *s);
sg_status sg_store_batch_begin(sg_store *s);
sg_status sg_store_batch_step(sg_store *s, bool *still_open);
sg_status sg_store_batch_commit(sg_store *s);

/* SQLite: removes expired keys, old delete markers and old events now (writers also do it
 * every sweep interval). NATS: nothing to do (the server expires by itself). */
sg_status sg_store_sweep(sg_store *s);

/* Releases process-wide library state (nats.c's threads). Call once at exit, after every
 * store is closed; optional, keeps leak checkers quiet. */
void sg_store_library_cleanup(void);

/* ---- Buckets -------------------------------------------------------------------------- */

typedef struct sg_bucket_options {
    long long ttl_ms;      /* age after which a value reads as absent; 0 = forever */
    int history;           /* values kept per key on NATS, 1..64 (0 = 1) */
    int replicas;          /* NATS replicas (0 = the store's default) */
    size_t max_value_size; /* bytes (0 = SG_KV_DEFAULT_MAX_VALUE) */
    bool create;           /* create the bucket when it does not exist */
} sg_bucket_options;

void sg_bucket_options_init(sg_bucket_options *o);

/* Opens bucket `name` (without the app prefix). When it exists, its stored configuration
 * wins over o (a warning is logged when they differ) and sg_bucket_config tells what is in
 * force. Errors: SG_E_INVALID (name or options), SG_E_NOT_FOUND (absent and !o->create),
 * SG_E_UNAVAILABLE, SG_E_TIMEOUT, SG_E_IO. *out is freed with sg_bucket_close. */
sg_status sg_bucket_open(sg_store *s, const char *name, const sg_bucket_options *o,
                         sg_bucket **out);
void sg_bucket_close(sg_bucket *b);

/* The bucket's configuration in force (create is false). */
void sg_bucket_config(const sg_bucket *b, sg_bucket_options *out);
const char *sg_bucket_name(const sg_bucket *b);

typedef enum sg_kv_op { SG_KV_PUT = 1, SG_KV_DELETE } sg_kv_op;

/* One value (or, from a watch, a deletion). Allocated as one block: free with
 * sg_kv_entry_free. value is NUL-terminated for convenience (len excludes the NUL) and never
 * NULL, even when empty. */
typedef struct sg_kv_entry {
    char *key;
    char *value;
    size_t len;
    uint64_t revision; /* per bucket, increases with every change */
    sg_kv_op op;
    long long created_ms; /* unix ms when this revision was written */
} sg_kv_entry;

void sg_kv_entry_free(sg_kv_entry *e);

/* Latest value of key. SG_E_NOT_FOUND when absent, deleted or expired. */
sg_status sg_kv_get(sg_bucket *b, const char *key, sg_kv_entry **out);

/* Writes a value whatever is there. *rev (may be NULL) gets the new revision. */
sg_status sg_kv_put(sg_bucket *b, const char *key, const void *value, size_t len, uint64_t *rev);

/* Writes only when the key is absent, deleted or expired; SG_E_EXISTS otherwise. */
sg_status sg_kv_create(sg_bucket *b, const char *key, const void *value, size_t len, uint64_t *rev);

/* Compare-and-set: writes only when the key's latest revision is `last` (non-zero);
 * SG_E_CONFLICT otherwise (including when the key was deleted or expired since). */
sg_status sg_kv_update(sg_bucket *b, const char *key, const void *value, size_t len, uint64_t last,
                       uint64_t *rev);

/* Deletes the key (idempotent: deleting an absent key is SG_OK). Watchers see SG_KV_DELETE. */
sg_status sg_kv_delete(sg_bucket *b, const char *key);

/* How one write of sg_kv_write_many applies. */
typedef enum sg_kv_write_mode {
    SG_KV_WRITE_PUT = 0, /* a put (value non-NULL) or a delete (value NULL) */
    SG_KV_WRITE_CREATE,  /* as sg_kv_create: only when the key holds no value */
    SG_KV_WRITE_UPDATE   /* as sg_kv_update: only when the key is at revision `last` */
} sg_kv_write_mode;

/* One write of sg_kv_write_many. */
typedef struct sg_kv_write {
    sg_bucket *bucket;
    const char *key;
    const void *value;
    size_t len;
    sg_kv_write_mode mode;
    uint64_t last;    /* SG_KV_WRITE_UPDATE: the revision the key must be at */
    sg_status result; /* out: this write's own outcome */
    uint64_t rev;     /* out: the revision it wrote (0 when it failed, or for a delete) */
} sg_kv_write;

/* Applies n writes in order, in buckets of one store, sets each one's result and returns the
 * first failure. A refused create (SG_E_EXISTS) or update (SG_E_CONFLICT) writes nothing and
 * does not stop the others. SQLite: committed together, in one transaction (one commit
 * instead of n). NATS: published together and acknowledged together (one round trip instead
 * of n), each on its own (no atomicity: a failure leaves the other writes applied).
 * SG_E_INVALID when a key, value or mode is bad or the buckets belong to different stores
 * (nothing is written then). */
sg_status sg_kv_write_many(sg_kv_write *w, size_t n);

/* Keys that currently hold a value, in no particular order. *keys is one allocation (array
 * and strings): free() it. An empty bucket gives *count 0 and *keys NULL. */
sg_status sg_kv_keys(sg_bucket *b, char ***keys, size_t *count);

/* Called by sg_kv_each for one key; e is valid during the call only. Anything but SG_OK
 * stops the scan and is its result. */
typedef sg_status (*sg_kv_each_fn)(void *arg, const sg_kv_entry *e);

/* Calls fn with the value (and revision) of every key that holds one, in one pass: one query
 * per page of keys on SQLite, one ordered stream on NATS, instead of a read per key. fn may
 * use the store (no lock is held while it runs). Keys written while the scan runs may or may
 * not be seen. */
sg_status sg_kv_each(sg_bucket *b, sg_kv_each_fn fn, void *arg);

/* As sg_kv_each, for the keys whose newest value was written after revision `since` alone,
 * with that value: a reader that remembers the highest revision it has read comes back for
 * what changed since. A key written while the scan runs may be seen again, with its newer
 * value. On SQLite it reads only the rows written since (older values of a key
 * rewritten since included, then skipped), in revision order (sg_store_reads_changes says
 * so); on NATS it walks every key, as sg_kv_each does, and passes on the newer ones. */
sg_status sg_kv_each_since(sg_bucket *b, uint64_t since, sg_kv_each_fn fn, void *arg);
/* True when sg_kv_each_since reads only what changed (SQLite), false when it walks the whole
 * bucket (NATS). */
bool sg_store_reads_changes(const sg_store *s);

/* As sg_kv_each without the values: fn sees every key that holds one with its revision and
 * created_ms (e->value is empty, e->len 0). Far cheaper: SQLite reads its key index alone,
 * NATS sends no values. On NATS the listing is whole or refused, as sg_kv_keys. */
sg_status sg_kv_revisions(sg_bucket *b, sg_kv_each_fn fn, void *arg);

/* Watches one key (key non-NULL) or the whole bucket (NULL). The watcher first delivers the
 * current value of every matching key, then one "caught up" signal, then later puts and
 * deletes in revision order, each once. A change the bucket no longer holds when the watcher
 * gets to it is skipped: on NATS a value replaced by more than `history` newer ones of its
 * key, on SQLite one older than the 60 s watch window. The newest change of every key is
 * always delivered. Expiry by TTL is not announced (on either backend). */
sg_status sg_kv_watch(sg_bucket *b, const char *key, sg_watch **out);

/* Waits up to timeout_ms for the next change. SG_OK with *out set; SG_OK with *out NULL
 * once, when the initial values have all been delivered; SG_E_TIMEOUT when nothing came. */
sg_status sg_watch_next(sg_watch *w, long long timeout_ms, sg_kv_entry **out);
void sg_watch_free(sg_watch *w);

/* ---- Durable work queue --------------------------------------------------------------- */

/* Each job is handed to one taker at a time. A taker acknowledges it (done, removed), asks
 * for a retry after a delay, or lets its lease expire (crash): then the job is handed out
 * again. Nothing is lost when a process dies. On NATS: a work-queue stream "<app>_<name>"
 * (subject "<app>.queue.<name>") with a durable pull consumer "<name>" whose AckWait is the
 * lease; on SQLite: a table with the same rules. */
typedef struct sg_queue_options {
    long long lease_ms; /* how long a taken job stays invisible to others (0 = 30 s) */
    int replicas;       /* NATS (0 = the store's default) */
} sg_queue_options;

void sg_queue_options_init(sg_queue_options *o);

/* Opens (creating when needed) queue `name`. Give every process using the queue the same
 * lease; on NATS an existing queue's lease and replicas win (a warning is logged when they
 * differ from o). Errors as sg_bucket_open. */
sg_status sg_queue_open(sg_store *s, const char *name, const sg_queue_options *o, sg_queue **out);
void sg_queue_close(sg_queue *q);

/* Adds a job. payload is JSON text (checked). */
sg_status sg_queue_enqueue(sg_queue *q, const char *payload, size_t len);

/* Takes the next ready job, waiting up to wait_ms. SG_OK with *out NULL when none was ready.
 * The job must be finished with sg_job_ack or sg_job_retry, or freed (its lease then runs
 * out and the job comes back). */
sg_status sg_queue_take(sg_queue *q, long long wait_ms, sg_job **out);

const char *sg_job_payload(const sg_job *j, size_t *len); /* NUL-terminated */
int sg_job_attempts(const sg_job *j);                     /* deliveries so far, from 1 */

/* Done: the job is removed. SG_E_CONFLICT (SQLite) when the lease had run out and another
 * taker holds the job now; work done on a job must therefore be idempotent. */
sg_status sg_job_ack(sg_job *j);

/* Not done: hand the job out again after delay_ms (the attempt count keeps growing). */
sg_status sg_job_retry(sg_job *j, long long delay_ms);

/* Still working: extends the lease by the queue's lease time. */
sg_status sg_job_touch(sg_job *j);

/* Frees the handle (NULL is fine). An unfinished job comes back when its lease runs out. */
void sg_job_free(sg_job *j);

/* ---- Events --------------------------------------------------------------------------- */

/* Publishes JSON text on "<app>.events.<kind>" (kind: lower-case letters, digits, "_").
 * NATS: a plain publish (or a JetStream publish into "<app>_events" with event_history);
 * SQLite: a row in the events table, so a single machine keeps a record. */
sg_status sg_event_publish_json(sg_store *s, const char *kind, const char *json, size_t len);

/* Receives events published after this call, of one kind or of all kinds (kind NULL).
 * NATS: a subscription; SQLite: polls the events table. */
sg_status sg_event_subscribe(sg_store *s, const char *kind, sg_event_sub **out);

/* Waits up to timeout_ms for the next event. *kind_out (may be NULL) and *json_out are
 * malloc()ed: free() them. SG_E_TIMEOUT when nothing came. */
sg_status sg_event_next(sg_event_sub *sub, long long timeout_ms, char **kind_out, char **json_out);
void sg_event_sub_free(sg_event_sub *sub);

/* Reads the kept history of events of every kind, in order, from the one after position
 * `after` (0: from the oldest kept), then what comes next. Each event comes with its
 * position (sg_event_next_at), which only grows, so a reader that stores the position of
 * the last event it handled resumes right after it with a new subscription.
 * NATS: an ordered consumer on the "<app>_events" stream (made by a store opened with
 * event_history; SG_E_NOT_FOUND when there is none); positions are its sequence numbers.
 * SQLite: the events table; positions are its row ids. Events past the retention are gone:
 * the next kept one comes (positions have gaps). */
sg_status sg_event_subscribe_from(sg_store *s, uint64_t after, sg_event_sub **out);
/* sg_event_next, and the event's position (*pos; 0 on a subscription not made with
 * sg_event_subscribe_from). */
sg_status sg_event_next_at(sg_event_sub *sub, long long timeout_ms, uint64_t *pos,
                           char **kind_out, char **json_out);

/* ---- Configuration -------------------------------------------------------------------- */

/* The store's settings (store-url, app, store-timeout, nats-*, kv-replicas, ...), a fragment
 * a program adds to its configuration with sg_config_add before sg_config_load. */
extern const sg_setting sg_store_settings[];
extern const size_t sg_store_settings_count;

/* Fills o from a loaded configuration holding the store settings. The strings point into
 * cfg (keep cfg alive until sg_store_open returns). SG_E_INVALID naming the setting for a
 * store URL that does not parse or a bad combination (a user without a password...). */
sg_status sg_store_options_from_config(const sg_config *cfg, sg_store_options *o);

/* Name checks shared by both backends (also used by tests and tools). */
bool sg_kv_key_valid(const char *key);
bool sg_kv_name_valid(const char *name);

#ifdef __cplusplus
}
#endif
#endif
