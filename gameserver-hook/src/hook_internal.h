/* Internals of the gameserver hook: settings table, requests (jobs), the hook object, and
 * the backend interface through which the worker reaches the store and the orchestrator. */
#ifndef SEATGATE_HOOK_INTERNAL_H
#define SEATGATE_HOOK_INTERNAL_H

#define SG_HOOK_MESSAGE_MAX 256

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/addr.h"
#include "seatgate/config.h"
#include "seatgate/gameserver_hook.h"
#include "seatgate/kv.h"
#include "seatgate/ledger.h"
#include "seatgate/records.h"
#include "seatgate/log.h"

/* ---- settings ---------------------------------------------------------------------------- */

/* The loaded configuration behind the options (for the fragments' from_config calls). */
const sg_config *hook_options_config(const sg_hook_options *o);
/* The raw value of a declared setting (secrets included; never log it), NULL when unset. */
const char *hook_options_value(const sg_hook_options *o, const char *name);
/* The parsed number (INT, milliseconds of a DURATION, 0/1 of a BOOL). */
long long hook_options_num(const sg_hook_options *o, const char *name);
/* Whether the setting was given (environment or sg_hook_options_set), not left at default. */
bool hook_options_is_set(const sg_hook_options *o, const char *name);

/* Checks every setting as sg_hook_new needs them: each parses, the store's (URL and
 * combinations) and the Edgegap client's fragments build their options, log-level is a
 * level. SG_E_INVALID naming the setting. */
sg_status hook_options_check(const sg_hook_options *o);
/* Applies log-level when it was given (the game's sg_hook_log_set_level otherwise stands). */
void hook_options_apply_logging(const sg_hook_options *o);

/* The store options the settings ask for (store-url, app, store-timeout, nats-*, kv-replicas),
 * strings copied: release them with hook_store_options_clear. SG_E_NOMEM. */
sg_status hook_store_options(const sg_hook_options *o, sg_store_options *out);
void hook_store_options_clear(sg_store_options *so);

/* ---- what the backend reports --------------------------------------------------------- */

/* Who this server is, as learnt at start. */
typedef struct hook_identity {
    char request_id[128]; /* sizes as in records.h */
    char public_ip[46];
    char fqdn[254];
    int capacity; /* players this server takes at most (0: no cap) */
} hook_identity;

/* The facts of an Edgegap session the checks need. Strings point into backend memory
 * valid during the callback that receives the view. */
typedef struct hook_session_view {
    const char *status; /* as Edgegap sent it */
    bool ready;
    const char *const *ips; /* session_ips */
    size_t ip_count;
    bool has_deployment;
    const char *public_ip;
    const char *request_id;
} hook_session_view;

/* Decides a verification from the session facts (pure; hook_check.c). Fills reason and
 * message of *v and returns true when every check passed. */
bool hook_check_session(const hook_identity *self, const sg_addr *source,
                        const hook_session_view *s, sg_hook_verdict *v);

/* Writes a verdict's reason and message (printf format). */
void hook_verdict_set(sg_hook_verdict *v, sg_hook_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- events the worker publishes (server up/down are the backend's own) ---------------- */

typedef enum hook_event_kind {
    HOOK_EV_PLAYER_CONNECT,
    HOOK_EV_PLAYER_DISCONNECT,
    HOOK_EV_VERIFY_REJECTED,
    HOOK_EV_SCORE
} hook_event_kind;

typedef struct hook_event {
    hook_event_kind kind;
    uint64_t client_id;
    const char *session_id; /* "" when unknown */
    const char *ip;         /* player IP, "" when unknown */
    const char *user_id;    /* connect, disconnect, score: the authenticated player or "" */
    int reason;             /* sg_hook_reason (rejected) or sg_hook_disconnect_reason */
    const char *message;    /* rejected: the verdict's message */
    long long duration_ms;  /* disconnect: time connected */
    const char *score_kind; /* score */
    int64_t value;
    uint64_t target_client_id;
    const char *target_session_id; /* score: the target's, when connected here ("" else) */
    const char *target_user_id;
} hook_event;

/* ---- the backend interface ------------------------------------------------------------ */

typedef struct hook_job hook_job;

/* Completion of an asynchronous get_session: st SG_OK with s, SG_E_NOT_FOUND/SG_E_GONE for a
 * session Edgegap does not know, anything else a dependency failure. */
typedef void (*hook_session_done)(hook_job *job, sg_status st, const hook_session_view *s);
/* Completion of delete_session: SG_OK when deleted (or already gone) or when the delete was
 * queued durably for later (*queued true); any other status: neither happened. */
typedef void (*hook_delete_done)(hook_job *job, sg_status st, bool queued);

/* Everything below runs on the hook's worker thread only. Blocking calls must be bounded
 * (they delay other requests, never the game). A status other than SG_OK, SG_E_NOT_FOUND and
 * SG_E_CONFLICT means "dependency unavailable"; sg_last_error() says why. */
typedef struct hook_backend_ops {
    /* One attempt at the start sequence: learn the identity and the context JSON (malloc()ed
     * into *context_json), register the server and publish server-up. Retryable failures
     * return SG_E_UNAVAILABLE/SG_E_NOT_FOUND; others (SG_E_UNAUTHORIZED, SG_E_INVALID) end
     * the start. */
    sg_status (*start)(void *ctx, hook_identity *id, char **context_json);
    /* Refreshes the gameserver record. */
    sg_status (*heartbeat)(void *ctx, uint32_t players);
    /* connect_tokens[client_id] -> session id. SG_E_NOT_FOUND: unknown or expired. */
    sg_status (*lookup_client)(void *ctx, uint64_t client_id, char *session_id, size_t size);
    /* Starts fetching the session; done runs later from run() (or at once). */
    void (*get_session)(void *ctx, const char *session_id, hook_job *job, hook_session_done done);
    /* Atomic claim of the session record for (client_id, source ip) by this server; fills
     * user_id (SG_REC_USER_MAX bytes) with the record's authenticated player, "" for none.
     * SG_E_CONFLICT: held by another connection, or released; SG_E_NOT_FOUND: no record. */
    sg_status (*claim)(void *ctx, const char *session_id, uint64_t client_id, const char *ip,
                       char *user_id);
    /* Releases this server's claim (the session record goes to released). */
    sg_status (*release)(void *ctx, const char *session_id, uint64_t client_id, int reason);
    /* Deletes the Edgegap session (directly or by queueing it for the matchmaker); a delete
     * that fails is queued durably when the store allows, else retried by the hook. */
    void (*delete_session)(void *ctx, const char *session_id, hook_job *job, hook_delete_done done);
    /* Publishes an event (the backend adds this server's name and the time). */
    sg_status (*publish)(void *ctx, const hook_event *ev);
    /* Waits up to timeout_ms for backend activity or wake_fd readable, and runs due
     * completions. */
    void (*run)(void *ctx, int timeout_ms, int wake_fd);
    /* Deregisters (removes the gameserver record, publishes server-down) and hands what is
     * still pending to the durable queue, within timeout_ms. */
    sg_status (*stop)(void *ctx, int timeout_ms);
    void (*free)(void *ctx);
} hook_backend_ops;

typedef struct hook_backend {
    const hook_backend_ops *ops;
    void *ctx;
} hook_backend;

/* ---- the production backends: one per platform over a shared store side ---------------- */

/* What every platform's backend shares (hook_store.c): the store through the ledger
 * (connect_tokens, sessions, contexts, gameserver, the durable delete queue), events, the
 * gameserver record and who this server is. */
typedef struct hook_shared {
    sg_store_options store_opts;
    sg_store *store;
    sg_ledger *ledger;
    bool register_server;
    bool started;
    char exposure[16]; /* exposure-mode */
    hook_identity id;
    sg_gameserver_record record;
} hook_shared;

/* Fills the store options and register flag from the settings (warns when store-url is
 * unset). SG_E_NOMEM. */
sg_status hook_shared_init(hook_shared *sh, const sg_hook_options *o);
void hook_shared_clear(hook_shared *sh);
/* Opens the store and the ledger (all or nothing; retried by the start sequence). */
sg_status hook_shared_open(hook_shared *sh);
/* Registers this server once its identity and record are filled: the context JSON, the
 * gameserver record, server-up. A no-op with register=false. */
sg_status hook_shared_register(hook_shared *sh, const char *context_json, size_t len);
/* Removes the gameserver record and publishes server-down (register=true and started). */
sg_status hook_shared_deregister(hook_shared *sh);
/* The backend operations every platform shares. */
sg_status hook_shared_heartbeat(void *ctx, uint32_t players);
sg_status hook_shared_lookup(void *ctx, uint64_t client_id, char *session_id, size_t size);
sg_status hook_shared_claim(void *ctx, const char *session_id, uint64_t client_id, const char *ip,
                            char *user_id);
sg_status hook_shared_release(void *ctx, const char *session_id, uint64_t client_id, int reason);
sg_status hook_shared_publish(void *ctx, const hook_event *ev);
/* Queues a seat's delete on the durable queue (the matchmaker's workers complete it). */
sg_status hook_shared_enqueue_delete(hook_shared *sh, const char *session_id, const char *reason);
/* Frees a string that may hold a secret. */
void hook_wipe_free(char *s);

/* The Edgegap backend (platform/edgegap.c) and the Agones one (platform/agones.c); a
 * backend's context begins with its hook_shared. */
sg_status hook_backend_edgegap_new(const sg_hook_options *o, hook_backend *out);
sg_status hook_backend_agones_new(const sg_hook_options *o, hook_backend *out);
/* Which one the settings ask for: platform=edgegap|agones, or auto from the environment
 * (AGONES_SDK_HTTP_PORT or ARBITRIUM_CONTEXT_URL). SG_E_INVALID when neither can be told. */
sg_status hook_platform_pick(const sg_hook_options *o, const char **name);

/* Creates a hook over a given backend (tests use fakes); the hook owns it from then on, also
 * on failure. */
sg_status hook_new_with_backend(const sg_hook_options *o, hook_backend backend, sg_hook **out);

/* ---- the verification guard (hook_guard.c; worker thread only) ------------------------- */

typedef struct hook_guard_options {
    double rate_per_s; /* verifications per second per source address (<= 0: no limit) */
    double burst;      /* ... that may come at once */
    long long memory_ms; /* a refused (client id, address) is refused again without I/O for
                          * this long (0: not remembered) */
} hook_guard_options;

typedef struct hook_guard hook_guard;

hook_guard *hook_guard_new(const hook_guard_options *o); /* NULL when out of memory */
void hook_guard_free(hook_guard *g);
/* Takes a token from the source address's bucket; false when it has none. */
bool hook_guard_admit(hook_guard *g, const sg_addr *source, long long now_ms);
/* Whether (client id, source) was refused lately; *reason is that refusal's reason. */
bool hook_guard_remembered(hook_guard *g, uint64_t client_id, const sg_addr *source,
                           long long now_ms, int *reason);
void hook_guard_remember(hook_guard *g, uint64_t client_id, const sg_addr *source, int reason,
                         long long now_ms);
/* Whether a refusal with this reason is one to remember (it cannot turn into an acceptance). */
bool hook_guard_memorable(int reason);

/* ---- requests -------------------------------------------------------------------------- */

typedef enum hook_job_kind {
    JOB_VERIFY,
    JOB_DISCONNECT,
    JOB_SCORE,
    JOB_RETRY_DELETE /* internal: a session delete the hook retries itself */
} hook_job_kind;

typedef struct hook_waiter hook_waiter;

struct hook_job {
    hook_job_kind kind;
    hook_job *next;
    sg_hook *hook;
    uint64_t client_id;
    long long deadline_ms; /* verify: rejected as unavailable after this (monotonic ms) */
    sg_addr source;
    char session_hint[256]; /* verify: session id from the token, "" when none */
    char *seat_token;       /* verify: a seat token to check first (malloc()ed), or NULL */
    size_t seat_token_len;
    char name[64];          /* score kind */
    int reason;             /* disconnect: an sg_hook_disconnect_reason */
    int64_t value;          /* score value; retried delete: failed attempts so far */
    uint64_t target;        /* score: the other player, 0 for none */
    bool in_flight;         /* waiting for an asynchronous backend completion */
    /* results */
    char user_id[SG_REC_USER_MAX]; /* verify: the claimed session's player, "" anonymous */
    sg_hook_verdict verdict;
    sg_status status;
    /* delivery */
    sg_hook_verify_fn verify_cb;
    sg_hook_done_fn done_cb;
    void *user;
    hook_waiter *waiter; /* blocking variants: signalled instead of a callback */
};

/* ---- the hook -------------------------------------------------------------------------- */

typedef struct hook_conn {
    uint64_t client_id;
    char session_id[256];
    char ip[64];
    char user_id[SG_REC_USER_MAX]; /* "" for an anonymous player */
    long long since;               /* unix seconds */
} hook_conn;

typedef struct hook_list {
    hook_job *head, *tail;
} hook_list;

struct sg_hook {
    hook_backend backend;
    /* copied settings */
    int queue_size;
    long long verify_timeout_ms, start_timeout_ms, stop_timeout_ms, heartbeat_ms;
    char exposure[16]; /* exposure-mode, in refusal log lines */
    struct sg_jws_keyset *seat_keys; /* seat-token-keys (NULL: seat tokens refused) */
    char seat_audience[128];
    long long seat_leeway_s;
    long long delete_retry_ms;
    bool dry_run; /* claim=0: checks only, nothing claimed or published */
    int claims_per_ip; /* connections one address may hold here (0: no cap) */
    hook_guard *guard;
    sg_log_limiter quiet_log; /* refusals served by the guard: counted, logged rarely */
    unsigned long long quiet_since_log;

    pthread_t worker;
    bool worker_running;
    int wake_fd; /* eventfd: wakes the worker */
    int poll_fd; /* eventfd: readable when results wait for sg_hook_poll */

    pthread_mutex_t mu;
    pthread_cond_t cond;    /* start finished, stop finished */
    hook_list incoming;     /* game -> worker */
    hook_list done;         /* worker -> sg_hook_poll */
    atomic_int outstanding; /* enqueued and not yet delivered */
    atomic_int done_count;
    atomic_int worker_idle; /* 1 while the worker may be waiting: enqueues must wake it */
    bool stopping;          /* no new requests */
    bool quit;              /* worker exits */
    sg_status start_status; /* SG_E_TIMEOUT while starting */
    char start_error[SG_HOOK_MESSAGE_MAX]; /* why the start gave up (under mu) */
    bool started, stopped;
    sg_status stop_status;
    int stop_timeout_req;

    /* state shared with inspection calls (under mu) */
    hook_identity self;
    char *context_json;
    hook_conn *conns;
    size_t conn_count, conn_cap;
    sg_hook_stats stats;

    /* worker-only state */
    hook_list waiting;  /* verifies waiting for the start */
    hook_list retrying; /* disconnects whose delete is retried by the hook */
    long long next_heartbeat_ms;
    long long next_start_ms;
    long long start_deadline_ms;
    int start_tries; /* failed start attempts: the next waits sg_backoff_ms(100, 5000, n) */
    long long next_retry_ms;
    int in_flight;
};


/* Worker side (hook_worker.c). */
void *hook_worker_main(void *arg);
/* Hands a finished job back to the game (sg_hook_poll or its waiter). */
void hook_complete(sg_hook *h, hook_job *job);
void hook_job_free(hook_job *job);

void hook_list_push(hook_list *l, hook_job *j);
hook_job *hook_list_take_all(hook_list *l);

#endif
