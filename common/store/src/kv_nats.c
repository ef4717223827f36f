/* NATS JetStream backend: buckets are JetStream key-value buckets "KV_<app>_<bucket>".
 *
 * Every call first looks at the connection: while nats.c is reconnecting it would buffer
 * publishes and let requests wait for their full timeout, so calls fail at once with
 * SG_E_UNAVAILABLE instead. Requests already in flight when the connection drops fail too
 * (FailRequestsOnDisconnect); a server that stops answering costs at most the store timeout
 * (the JetStream context's Wait) and gives SG_E_TIMEOUT.
 *
 * Conflicts are told apart from other failures by reading the key back after a refused
 * create or update, so no server error text is parsed.
 */
#include "kv_backend.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "seatgate/log.h"

#define NS_PER_MS 1000000LL

/* One thread's inbox for pipelined writes (nats_write_many): subscribed once, reused. */
typedef struct write_pipe {
    natsSubscription *sub;
    char inbox[96];
    unsigned long long calls; /* replies of an earlier call (timed out) are told apart */
    struct write_pipe *next;
} write_pipe;

typedef struct nats_store {
    natsConnection *nc;
    jsCtx *js;
    jsCtx *js_place; /* watchers' consumer creates: a wait of place_wait_ms (watcher_start) */
    long long place_wait_ms;
    unsigned long long generation; /* tells this store from one opened later at its address */
    pthread_mutex_t pipes_mu;
    write_pipe *pipes;
} nats_store;

static _Atomic unsigned long long store_generations;

/* A bucket's handles: one on the store's JetStream context for reads and writes, one on the
 * placement context for watchers. */
typedef struct nats_bucket {
    kvStore *kv;
    kvStore *watch_kv;
} nats_bucket;

static kvStore *KV(sg_bucket *b)
{
    return ((nats_bucket *)b->impl)->kv;
}

/* nats.c spins up to 2000 times on a busy lock before sleeping on it, by default. Store calls
 * wait on the connection's lock while its reader thread hands over acknowledgements, so each
 * spin burns a core another thread (often that very reader) needs: the matchmaker spent about
 * a tenth more CPU per player on NATS with it. Set before the first connection of the process
 * (a process that opened nats.c itself keeps its own setting). */
static pthread_once_t nats_lib_once = PTHREAD_ONCE_INIT;
static void nats_lib_open(void)
{
    (void)nats_Open(0);
}

static nats_store *NS(sg_store *s)
{
    return s->impl;
}

static const char *nats_err_text(natsStatus s)
{
    const char *t = nats_GetLastError(NULL);
    return (t && *t) ? t : natsStatus_GetText(s);
}

/* Maps a nats.c failure to an sg_status with a message naming the operation. */
static sg_status nfail(sg_store *st, natsStatus s, jsErrCode jerr, const char *what)
{
    switch (s) {
    case NATS_TIMEOUT:
        return sg_fail(SG_E_TIMEOUT, "store: NATS %s got no answer within %lld ms", what,
                       st->opts.timeout_ms);
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_CONNECTION_CLOSED:
    case NATS_NO_SERVER:
    case NATS_NOT_YET_CONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
        return sg_fail(SG_E_UNAVAILABLE, "store: NATS %s failed: connection lost (%s)", what,
                       natsStatus_GetText(s));
    case NATS_NO_RESPONDERS:
        return sg_fail(SG_E_UNAVAILABLE,
                       "store: NATS %s failed: JetStream did not answer (is "
                       "the server started with -js?)",
                       what);
    case NATS_NOT_FOUND:
        return sg_fail(SG_E_NOT_FOUND, "store: NATS %s: not found", what);
    case NATS_MAX_PAYLOAD:
        return sg_fail(SG_E_TOO_LARGE, "store: NATS %s: larger than the server's max payload",
                       what);
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED:
        return sg_fail(SG_E_UNAUTHORIZED, "store: NATS %s: not authorized (%s)", what,
                       natsStatus_GetText(s));
    default:
        break;
    }
    if (jerr == JSStreamMessageExceedsMaximumErr)
        return sg_fail(SG_E_TOO_LARGE, "store: NATS %s: value larger than the bucket allows", what);
    if (jerr == JSStreamWrongLastSequenceErr)
        return sg_fail(SG_E_CONFLICT, "store: NATS %s: revision moved on", what);
    if (jerr == JSStreamNotFoundErr || jerr == JSConsumerNotFoundErr)
        return sg_fail(SG_E_NOT_FOUND, "store: NATS %s: not found", what);
    if (jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr)
        return sg_fail(SG_E_UNAVAILABLE, "store: NATS %s: JetStream is not enabled", what);
    return sg_fail(SG_E_IO, "store: NATS %s failed: %.200s", what, nats_err_text(s));
}

/* Fails fast unless the connection is up. */
static sg_status ready(sg_store *st)
{
    natsConnStatus cs = natsConnection_Status(NS(st)->nc);
    if (cs == NATS_CONN_STATUS_CONNECTED) return SG_OK;
    if (cs == NATS_CONN_STATUS_CLOSED)
        return sg_fail(SG_E_UNAVAILABLE, "store: NATS connection is closed (gave up "
                                         "reconnecting)");
    return sg_fail(SG_E_UNAVAILABLE, "store: NATS connection is down, reconnecting; try again");
}

/* ---- store -------------------------------------------------------------------------------- */

static void nats_close_store(sg_store *s)
{
    nats_store *ns = NS(s);
    if (!ns) return;
    for (write_pipe *p = ns->pipes, *next; p; p = next) {
        next = p->next;
        natsSubscription_Destroy(p->sub);
        free(p);
    }
    pthread_mutex_destroy(&ns->pipes_mu);
    jsCtx_Destroy(ns->js_place);
    jsCtx_Destroy(ns->js);
    natsConnection_Destroy(ns->nc);
    free(ns);
    s->impl = NULL;
}

static sg_status ensure_stream(sg_store *s, jsStreamConfig *cfg, const char *what)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, NS(s)->js, cfg->Name, NULL, &jerr);
    if (ns == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return SG_OK;
    }
    if (ns != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) return nfail(s, ns, jerr, what);
    jerr = 0;
    ns = js_AddStream(&si, NS(s)->js, cfg, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    return ns == NATS_OK ? SG_OK : nfail(s, ns, jerr, what);
}

/* natsOptions_SetURL takes one URL: a list ("nats://a:4222,nats://b:4222", checked by
 * sg_kv_parse_url) goes through natsOptions_SetServers, one entry per server. */
static natsStatus set_servers(natsOptions *no, const char *target)
{
    char *copy = strdup(target);
    const char *servers[64];
    int count = 0;
    if (!copy) return NATS_NO_MEMORY;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && count < 64;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            tok[--len] = '\0';
        if (len) servers[count++] = tok;
    }
    natsStatus n = count == 1 ? natsOptions_SetURL(no, servers[0])
                              : natsOptions_SetServers(no, servers, count);
    free(copy);
    return n;
}

static sg_status nats_open_store(sg_store *s)
{
    nats_store *ns = calloc(1, sizeof *ns);
    if (!ns) return sg_fail(SG_E_NOMEM, "store: out of memory");
    ns->generation = ++store_generations;
    pthread_mutex_init(&ns->pipes_mu, NULL);
    s->impl = ns;
    const sg_store_options *o = &s->opts;
    natsOptions *no = NULL;
    pthread_once(&nats_lib_once, nats_lib_open);
    natsStatus n = natsOptions_Create(&no);
    if (n == NATS_OK) n = set_servers(no, s->target);
    if (n == NATS_OK) n = natsOptions_SetTimeout(no, o->timeout_ms);
    if (n == NATS_OK) n = natsOptions_SetAllowReconnect(no, o->max_reconnects != 0);
    if (n == NATS_OK && o->max_reconnects != 0)
        n = natsOptions_SetMaxReconnect(no, o->max_reconnects < 0 ? -1 : o->max_reconnects);
    if (n == NATS_OK && o->reconnect_wait_ms > 0)
        n = natsOptions_SetReconnectWait(no, o->reconnect_wait_ms);
    if (n == NATS_OK && o->ping_interval_ms > 0) n = natsOptions_SetPingInterval(no, o->ping_interval_ms);
    if (n == NATS_OK) n = natsOptions_SetMaxPingsOut(no, 2);
    if (n == NATS_OK) n = natsOptions_SetFailRequestsOnDisconnect(no, true);
    /* Every call waits for its answer: its publishes go out at once from the calling thread
     * instead of waking the connection's flusher thread to send them. */
    if (n == NATS_OK) n = natsOptions_SetSendAsap(no, true);
    /* Little room for publishes while reconnecting: calls are refused before reaching it. */
    if (n == NATS_OK) n = natsOptions_SetReconnectBufSize(no, 64 * 1024);
    if (n == NATS_OK && o->name) n = natsOptions_SetName(no, o->name);
    if (n == NATS_OK && o->user) n = natsOptions_SetUserInfo(no, o->user, o->password);
    if (n == NATS_OK && o->token) n = natsOptions_SetToken(no, o->token);
    sg_status st = SG_OK;
    if (n != NATS_OK) st = nfail(s, n, 0, "options");
    if (!st && o->creds_file &&
        (n = natsOptions_SetUserCredentialsFromFiles(no, o->creds_file, NULL)) != NATS_OK)
        st = sg_fail(SG_E_INVALID, "nats-creds-file: cannot use %.200s: %s", o->creds_file,
                     natsStatus_GetText(n));
    if (!st && (o->tls_ca || o->tls_cert)) {
        n = natsOptions_SetSecure(no, true);
        if (n == NATS_OK && o->tls_ca) n = natsOptions_LoadCATrustedCertificates(no, o->tls_ca);
        if (n == NATS_OK && o->tls_cert)
            n = natsOptions_LoadCertificatesChain(no, o->tls_cert, o->tls_key);
        if (n != NATS_OK)
            st = sg_fail(SG_E_INVALID, "nats-tls-*: cannot load TLS files: %.200s",
                         nats_err_text(n));
    }
    if (!st) {
        n = natsConnection_Connect(&ns->nc, no);
        if (n == NATS_NO_SERVER || n == NATS_TIMEOUT || n == NATS_IO_ERROR)
            st = sg_fail(SG_E_UNAVAILABLE, "store: no NATS server reachable at %.200s (%s)",
                         s->target, natsStatus_GetText(n));
        else if (n == NATS_CONNECTION_AUTH_FAILED || n == NATS_NOT_PERMITTED)
            st = sg_fail(SG_E_UNAUTHORIZED, "store: NATS refused the credentials");
        else if (n == NATS_SSL_ERROR || n == NATS_SECURE_CONNECTION_REQUIRED ||
                 n == NATS_SECURE_CONNECTION_WANTED)
            st = sg_fail(SG_E_UNAVAILABLE, "store: NATS TLS handshake failed: %.200s",
                         nats_err_text(n));
        else if ((n == NATS_PROTOCOL_ERROR || n == NATS_CONNECTION_CLOSED) &&
                 (o->tls_ca || o->tls_cert || strstr(s->target, "tls://")))
            /* A server with --tlsverify ends the connection right after the TLS handshake
             * when the client certificate is missing or not signed by a CA it trusts. */
            st = sg_fail(SG_E_UNAVAILABLE,
                         "store: NATS closed the TLS connection at connect (a server that "
                         "verifies clients needs nats-tls-cert and nats-tls-key signed by a CA "
                         "it trusts): %.200s",
                         nats_err_text(n));
        else if (n != NATS_OK)
            st = nfail(s, n, 0, "connect");
    }
    natsOptions_Destroy(no);
    if (!st) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = o->timeout_ms;
        n = natsConnection_JetStream(&ns->js, ns->nc, &jo);
        /* a tenth of the store timeout: a consumer placed on a dead replica is placed
         * again up to ten times (watcher_start) */
        ns->place_wait_ms = o->timeout_ms / 10 > 100 ? o->timeout_ms / 10 : 100;
        if (ns->place_wait_ms > o->timeout_ms) ns->place_wait_ms = o->timeout_ms;
        jo.Wait = ns->place_wait_ms;
        if (n == NATS_OK) n = natsConnection_JetStream(&ns->js_place, ns->nc, &jo);
        if (n != NATS_OK) st = nfail(s, n, 0, "JetStream context");
    }
    if (!st) {
        jsAccountInfo *ai = NULL;
        jsErrCode jerr = 0;
        n = js_GetAccountInfo(&ai, ns->js, NULL, &jerr);
        jsAccountInfo_Destroy(ai);
        if (n != NATS_OK) {
            st = nfail(s, n, jerr, "JetStream check");
            if (st == SG_E_IO || st == SG_E_UNAVAILABLE)
                st = sg_fail(SG_E_UNAVAILABLE,
                             "store: JetStream is not available on the NATS "
                             "server (start it with -js): %.200s",
                             sg_last_error());
        }
    }
    if (!st && o->event_history) {
        char name[SG_KV_APP_MAX + 16], subj[SG_KV_APP_MAX + 16];
        snprintf(name, sizeof name, "%s_events", o->app);
        snprintf(subj, sizeof subj, "%s.events.>", o->app);
        const char *subjects[] = {subj};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = name;
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = o->replicas;
        cfg.MaxAge = o->event_history_max_age_ms * NS_PER_MS;
        if (o->event_max_rows > 0) cfg.MaxMsgs = o->event_max_rows; /* the oldest go first */
        st = ensure_stream(s, &cfg, "create events stream");
    }
    if (st) nats_close_store(s);
    return st;
}

static sg_store_state nats_state(sg_store *s)
{
    switch (natsConnection_Status(NS(s)->nc)) {
    case NATS_CONN_STATUS_CONNECTED:
    case NATS_CONN_STATUS_DRAINING_SUBS:
    case NATS_CONN_STATUS_DRAINING_PUBS:
        return SG_STORE_CONNECTED;
    case NATS_CONN_STATUS_CLOSED:
        return SG_STORE_CLOSED;
    default:
        return SG_STORE_RECONNECTING;
    }
}

static sg_status nats_sweep(sg_store *s)
{
    (void)s; /* JetStream expires values by itself */
    return SG_OK;
}

/* ---- buckets ------------------------------------------------------------------------------ */

/* The stream behind a bucket, as its leader describes it. */
static natsStatus bucket_stream(sg_bucket *b, jsStreamInfo **si, jsErrCode *jerr)
{
    char stream[2 * SG_KV_NAME_MAX + 8];
    snprintf(stream, sizeof stream, "KV_%s", b->full);
    *si = NULL;
    *jerr = 0;
    return js_GetStreamInfo(si, NS(b->store)->js, stream, NULL, jerr);
}

static sg_status read_config(sg_bucket *b, bool *found)
{
    jsStreamInfo *si;
    jsErrCode jerr;
    *found = false;
    natsStatus n = bucket_stream(b, &si, &jerr);
    if (n == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) return SG_OK;
    if (n != NATS_OK) return nfail(b->store, n, jerr, "open bucket");
    *found = true;
    b->opts.ttl_ms = si->Config->MaxAge / NS_PER_MS;
    b->opts.history = (int)si->Config->MaxMsgsPerSubject;
    if (si->Config->MaxMsgSize > 0) b->opts.max_value_size = (size_t)si->Config->MaxMsgSize;
    b->opts.replicas = (int)si->Config->Replicas;
    jsStreamInfo_Destroy(si);
    return SG_OK;
}

/* A replicated bucket created with AllowDirect (nats.c's default) answers gets from any
 * replica, so a read right after a write, or after a leader change, can return an older
 * value. seatgate's callers read their own writes (the hook checks the record the matchmaker
 * just wrote), so replicated buckets are switched to leader reads. A server that refuses the
 * change leaves the bucket as it is, with a warning. */
static void use_leader_reads(sg_bucket *b)
{
    jsStreamInfo *si, *updated = NULL;
    jsErrCode jerr;
    if (bucket_stream(b, &si, &jerr) != NATS_OK) return;
    if (si->Config->AllowDirect && si->Config->Replicas > 1) {
        si->Config->AllowDirect = false;
        natsStatus n = js_UpdateStream(&updated, NS(b->store)->js, si->Config, NULL, &jerr);
        if (n != NATS_OK)
            SG_WARN("store", "leader_reads_unavailable", "bucket=%s error=%d", b->full, (int)n);
        jsStreamInfo_Destroy(updated);
    }
    jsStreamInfo_Destroy(si);
}

static void nats_bucket_close(sg_bucket *b)
{
    nats_bucket *nb = b->impl;
    if (!nb) return;
    kvStore_Destroy(nb->watch_kv);
    kvStore_Destroy(nb->kv);
    free(nb);
    b->impl = NULL;
}

static sg_status nats_bucket_open(sg_bucket *b, const sg_bucket_options *want)
{
    sg_store *s = b->store;
    sg_status st = ready(s);
    bool found = false;
    if (!st) st = read_config(b, &found);
    if (st) return st;
    kvStore *kv = NULL;
    natsStatus n;
    if (!found) {
        if (!want->create)
            return sg_fail(SG_E_NOT_FOUND,
                           "store: bucket %s does not exist (open it with "
                           "create)",
                           b->full);
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = b->full;
        kc.History = (uint8_t)want->history;
        kc.TTL = want->ttl_ms * NS_PER_MS;
        kc.MaxValueSize = (int32_t)want->max_value_size;
        kc.StorageType = js_FileStorage;
        kc.Replicas = want->replicas;
        n = js_CreateKeyValue(&kv, NS(s)->js, &kc);
        if (n != NATS_OK) {
            /* Another process may have created it a moment ago: bind to what is there. */
            char why[256];
            snprintf(why, sizeof why, "%s", nats_err_text(n));
            st = read_config(b, &found);
            if (st) return st;
            if (!found)
                return sg_fail(n == NATS_TIMEOUT ? SG_E_TIMEOUT : SG_E_IO,
                               "store: cannot create bucket %s: %.200s", b->full, why);
        }
    }
    if (b->opts.replicas > 1 || want->replicas > 1) {
        /* the handle learns the read mode when it binds: bind after the switch */
        use_leader_reads(b);
        if (kv) kvStore_Destroy(kv);
        kv = NULL;
    }
    nats_bucket *nb = calloc(1, sizeof *nb);
    if (!nb) {
        kvStore_Destroy(kv);
        return sg_fail(SG_E_NOMEM, "store: out of memory");
    }
    nb->kv = kv;
    n = kv ? NATS_OK : js_KeyValue(&nb->kv, NS(s)->js, b->full);
    if (n == NATS_OK) n = js_KeyValue(&nb->watch_kv, NS(s)->js_place, b->full);
    b->impl = nb;
    if (n != NATS_OK) {
        nats_bucket_close(b);
        return nfail(s, n, 0, "open bucket");
    }
    return SG_OK;
}

static bool expired(const sg_bucket *b, long long created_ms)
{
    return b->opts.ttl_ms > 0 && created_ms + b->opts.ttl_ms <= sg_kv_now_ms();
}

static sg_kv_entry *from_entry(kvEntry *e, sg_kv_op op)
{
    return sg_kv_entry_make(kvEntry_Key(e), kvEntry_Value(e), (size_t)kvEntry_ValueLen(e),
                            kvEntry_Revision(e), op, kvEntry_Created(e) / NS_PER_MS);
}

/* The key's latest live entry (NULL when absent, deleted or expired by the clock). */
static sg_status latest(sg_bucket *b, const char *key, kvEntry **out)
{
    *out = NULL;
    sg_status st = ready(b->store);
    if (st) return st;
    kvEntry *e = NULL;
    natsStatus n = kvStore_Get(&e, KV(b), key);
    if (n == NATS_NOT_FOUND) return SG_OK;
    if (n != NATS_OK) return nfail(b->store, n, 0, "get");
    if (expired(b, kvEntry_Created(e) / NS_PER_MS)) {
        kvEntry_Destroy(e);
        return SG_OK;
    }
    *out = e;
    return SG_OK;
}

static sg_status nats_get(sg_bucket *b, const char *key, sg_kv_entry **out)
{
    kvEntry *e = NULL;
    sg_status st = latest(b, key, &e);
    if (st) return st;
    if (!e) return sg_fail(SG_E_NOT_FOUND, "store: no key %s in %s", key, b->name);
    *out = from_entry(e, SG_KV_PUT);
    kvEntry_Destroy(e);
    return *out ? SG_OK : sg_fail(SG_E_NOMEM, "store: out of memory");
}

static sg_status nats_put(sg_bucket *b, const char *key, const void *v, size_t n, uint64_t *rev)
{
    sg_status st = ready(b->store);
    if (st) return st;
    natsStatus ns = kvStore_Put(rev, KV(b), key, v, (int)n);
    return ns == NATS_OK ? SG_OK : nfail(b->store, ns, 0, "put");
}

static sg_status nats_create(sg_bucket *b, const char *key, const void *v, size_t n, uint64_t *rev)
{
    sg_status st = ready(b->store);
    if (st) return st;
    natsStatus ns = kvStore_Create(rev, KV(b), key, v, (int)n);
    if (ns == NATS_OK) return SG_OK;
    sg_status first = nfail(b->store, ns, 0, "create");
    if (first == SG_E_UNAVAILABLE || first == SG_E_TIMEOUT) return first;
    char why[256];
    snprintf(why, sizeof why, "%s", sg_last_error());
    /* Refused: either the key holds a value, or the server still has one our clock says has
     * expired (the server removes expired values a moment late); replace the latter. */
    kvEntry *e = NULL;
    natsStatus g = kvStore_Get(&e, KV(b), key);
    if (g == NATS_OK) {
        bool dead = expired(b, kvEntry_Created(e) / NS_PER_MS);
        uint64_t last = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        if (!dead) return sg_fail(SG_E_EXISTS, "store: key %s already exists in %s", key, b->name);
        ns = kvStore_Update(rev, KV(b), key, v, (int)n, last);
        if (ns == NATS_OK) return SG_OK;
        return sg_fail(SG_E_EXISTS, "store: key %s was created by someone else in %s", key,
                       b->name);
    }
    return sg_fail(first, "%s", why);
}

static sg_status nats_update(sg_bucket *b, const char *key, const void *v, size_t n, uint64_t last,
                             uint64_t *rev)
{
    sg_status st = ready(b->store);
    if (st) return st;
    natsStatus ns = kvStore_Update(rev, KV(b), key, v, (int)n, last);
    if (ns == NATS_OK) return SG_OK;
    sg_status first = nfail(b->store, ns, 0, "update");
    if (first == SG_E_UNAVAILABLE || first == SG_E_TIMEOUT) return first;
    char why[256];
    snprintf(why, sizeof why, "%s", sg_last_error());
    kvEntry *e = NULL;
    natsStatus g = kvStore_Get(&e, KV(b), key);
    uint64_t cur = 0;
    if (g == NATS_OK) {
        cur = kvEntry_Revision(e);
        kvEntry_Destroy(e);
    }
    if (g == NATS_NOT_FOUND || (g == NATS_OK && cur != last))
        return sg_fail(SG_E_CONFLICT, "store: key %s in %s is no longer at revision %llu", key,
                       b->name, (unsigned long long)last);
    return sg_fail(first, "%s", why);
}

static sg_status nats_del(sg_bucket *b, const char *key)
{
    sg_status st = ready(b->store);
    if (st) return st;
    natsStatus ns = kvStore_Delete(KV(b), key);
    return ns == NATS_OK ? SG_OK : nfail(b->store, ns, 0, "delete");
}

/* This thread's write pipe for s, made on first use (a wildcard subscription on a fresh
 * inbox); the store frees them all when it closes. */
static write_pipe *thread_pipe(sg_store *s)
{
    static __thread struct {
        unsigned long long generation;
        write_pipe *pipe;
    } mine;
    nats_store *ns = NS(s);
    if (mine.pipe && mine.generation == ns->generation) return mine.pipe;
    write_pipe *p = calloc(1, sizeof *p);
    natsInbox *inbox = NULL;
    if (!p || natsInbox_Create(&inbox) != NATS_OK) {
        free(p);
        return NULL;
    }
    snprintf(p->inbox, sizeof p->inbox, "%s", (const char *)inbox);
    natsInbox_Destroy(inbox);
    char wildcard[112];
    snprintf(wildcard, sizeof wildcard, "%s.*", p->inbox);
    if (natsConnection_SubscribeSync(&p->sub, ns->nc, wildcard) != NATS_OK) {
        free(p);
        return NULL;
    }
    pthread_mutex_lock(&ns->pipes_mu);
    p->next = ns->pipes;
    ns->pipes = p;
    pthread_mutex_unlock(&ns->pipes_mu);
    mine.generation = ns->generation;
    mine.pipe = p;
    return p;
}

/* The message of the failure just made ("" for SG_OK). */
#define PENDING_ERR 200

static void keep(char *out, size_t size, sg_status st)
{
    snprintf(out, size, "%s", st ? sg_last_error() : "");
}

/* One write's outcome and, for a failure, its message (kept: later calls overwrite the
 * thread's last error). */
/* The stream sequence in a JetStream publish acknowledgement (0 when there is none). */
static uint64_t ack_seq(const char *data, int len)
{
    const char *p = memmem(data, (size_t)len, "\"seq\":", 6);
    if (!p) return 0;
    unsigned long long v = 0;
    for (p += 6; p < data + len && *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (unsigned long long)(*p - '0');
    return v;
}

static void set_result(sg_kv_write *w, char err[PENDING_ERR], sg_status st)
{
    w->result = st;
    keep(err, PENDING_ERR, st);
}

/* Writes pipelined: every write is published at once to its key's subject (what
 * kvStore_Put, kvStore_Delete and, with the expected-revision header, kvStore_Update publish),
 * and the JetStream acknowledgements are awaited together on this thread's inbox: one round
 * trip instead of n, and no subscription made per call. Writes of one connection reach the
 * server in order, so writes to one bucket apply in order. A create or update JetStream
 * refuses for its revision is run again on its own (nats_create / nats_update), which tells a
 * key that holds a value from one that was deleted or has expired, and names the conflict.
 * As with writes one after another (NATS has no transaction), a failure leaves the other
 * writes applied; each write succeeds only once acknowledged, that is stored by JetStream. */
static sg_status nats_write_many(sg_kv_write *w, size_t n)
{
    sg_store *s = w[0].bucket->store;
    sg_status st = ready(s);
    if (st) return st;
    write_pipe *p = thread_pipe(s);
    if (!p) return sg_fail(SG_E_NOMEM, "store: no inbox for pipelined writes");
    unsigned long long call = ++p->calls;
    natsConnection *nc = NS(s)->nc;
    natsStatus ns = NATS_OK;
    size_t sent = 0;
    for (size_t i = 0; ns == NATS_OK && i < n; i++) {
        char subj[SG_KV_APP_MAX + 320], reply[160], last[24];
        snprintf(subj, sizeof subj, "$KV.%s.%s", w[i].bucket->full, w[i].key);
        snprintf(reply, sizeof reply, "%s.%llu_%zu", p->inbox, call, i);
        natsMsg *m = NULL;
        ns = natsMsg_Create(&m, subj, reply, w[i].value ? w[i].value : "",
                            w[i].value ? (int)w[i].len : 0);
        if (ns == NATS_OK && !w[i].value) ns = natsMsgHeader_Set(m, "KV-Operation", "DEL");
        if (ns == NATS_OK && w[i].mode != SG_KV_WRITE_PUT) {
            snprintf(last, sizeof last, "%llu",
                     w[i].mode == SG_KV_WRITE_UPDATE ? (unsigned long long)w[i].last : 0ULL);
            ns = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", last);
        }
        if (ns == NATS_OK) ns = natsConnection_PublishMsg(nc, m);
        natsMsg_Destroy(m);
        if (ns == NATS_OK) sent++;
    }
    struct pending {
        bool acked, again;
        char err[PENDING_ERR];
    } *pd = calloc(n, sizeof *pd);
    if (!pd) return sg_fail(SG_E_NOMEM, "store: out of memory");
    if (ns != NATS_OK)
        for (size_t i = sent; i < n; i++)
            set_result(&w[i], pd[i].err, nfail(s, ns, 0, "write"));
    long long deadline = sg_kv_now_ms() + s->opts.timeout_ms;
    size_t got = 0;
    char want[40];
    int want_len = snprintf(want, sizeof want, ".%llu_", call);
    sg_status wait_st = SG_OK;
    char wait_err[PENDING_ERR] = "";
    while (got < sent) {
        long long left = deadline - sg_kv_now_ms();
        natsMsg *r = NULL;
        ns = natsSubscription_NextMsg(&r, p->sub, left > 0 ? left : 1);
        if (ns != NATS_OK) {
            wait_st = nfail(s, ns, 0, "write");
            keep(wait_err, sizeof wait_err, wait_st);
            break;
        }
        const char *subject = natsMsg_GetSubject(r);
        const char *tail = subject ? strrchr(subject, '.') : NULL;
        char *end = NULL;
        unsigned long long i = 0;
        if (tail && strncmp(tail, want, (size_t)want_len) == 0)
            i = strtoull(tail + want_len, &end, 10);
        if (!end || *end || i >= sent || pd[i].acked) {
            natsMsg_Destroy(r); /* an earlier call's late answer */
            continue;
        }
        pd[i].acked = true;
        got++;
        const char *status = NULL, *data = natsMsg_GetData(r);
        int len = natsMsg_GetDataLength(r);
        if (natsMsgHeader_Get(r, "Status", &status) == NATS_OK && status &&
            strcmp(status, "503") == 0)
            set_result(&w[i], pd[i].err, nfail(s, NATS_NO_RESPONDERS, 0, "write"));
        else if (w[i].mode != SG_KV_WRITE_PUT && len > 0 && data &&
                 memmem(data, (size_t)len, "\"err_code\":10071", 16))
            pd[i].again = true; /* JSStreamWrongLastSequence */
        else if (len <= 0 || !data || memmem(data, (size_t)len, "\"error\"", 7))
            set_result(&w[i], pd[i].err,
                       sg_fail(SG_E_IO, "store: NATS write refused: %.*s",
                               data && len > 0 ? (len > 160 ? 160 : len) : 0, data ? data : ""));
        else if (w[i].value)
            w[i].rev = ack_seq(data, len); /* {"stream":"KV_...","seq":N}: the revision */
        natsMsg_Destroy(r);
    }
    for (size_t i = 0; i < sent; i++) {
        sg_bucket *b = w[i].bucket;
        if (!pd[i].acked)
            set_result(&w[i], pd[i].err, sg_fail(wait_st, "%s", wait_err));
        else if (pd[i].again && w[i].mode == SG_KV_WRITE_CREATE)
            set_result(&w[i], pd[i].err,
                       nats_create(b, w[i].key, w[i].value, w[i].len, &w[i].rev));
        else if (pd[i].again)
            set_result(&w[i], pd[i].err,
                       nats_update(b, w[i].key, w[i].value, w[i].len, w[i].last, &w[i].rev));
        if (w[i].result != SG_OK) w[i].rev = 0;
    }
    /* The first failure, with its message. */
    for (size_t i = 0; i < n; i++) {
        if (!w[i].result) continue;
        st = sg_fail(w[i].result, "%s", pd[i].err);
        break;
    }
    free(pd);
    return st;
}

/* The stream leader's view of a bucket: its last sequence and how many messages it holds. */
static sg_status stream_tail(sg_bucket *b, uint64_t *last, uint64_t *msgs)
{
    jsStreamInfo *si;
    jsErrCode jerr;
    natsStatus n = bucket_stream(b, &si, &jerr);
    if (n != NATS_OK) return nfail(b->store, n, jerr, "list keys");
    *last = si->State.LastSeq;
    *msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return SG_OK;
}

typedef struct listing {
    sg_kv_entry **v; /* kept entries (when fn is NULL) */
    size_t n, cap;
    uint64_t top;     /* highest revision delivered, delete markers included */
    sg_kv_each_fn fn; /* else each entry goes straight to fn */
    void *arg;
} listing;

static void listing_clear(listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        sg_kv_entry_free(l->v[i]);
    l->n = 0;
    l->top = 0;
}

static sg_status listing_add(listing *l, kvEntry *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        sg_kv_entry **v = realloc(l->v, cap * sizeof *v);
        if (!v) return sg_fail(SG_E_NOMEM, "store: out of memory");
        l->v = v;
        l->cap = cap;
    }
    sg_kv_entry *x = from_entry(e, SG_KV_PUT);
    if (!x) return sg_fail(SG_E_NOMEM, "store: out of memory");
    l->v[l->n++] = x;
    return SG_OK;
}

/* Starts a watcher of one key, or of the whole bucket when key is NULL. JetStream places the
 * watcher's consumer on one replica of the stream, and nats-server before 2.12 may pick a
 * replica that is down, which never answers the create. So the create has a short wait of
 * its own (the placement context: a tenth of the store timeout, at least 100 ms), and a
 * create that times out is made again, placed anew each time, until the store timeout. */
static natsStatus watcher_start(sg_bucket *b, const char *key, kvWatchOptions *wo, kvWatcher **w)
{
    nats_store *ns = NS(b->store);
    kvStore *kv = ((nats_bucket *)b->impl)->watch_kv;
    long long deadline = sg_kv_now_ms() + b->store->opts.timeout_ms;
    for (int tries = 1;; tries++) {
        natsStatus n = key ? kvStore_Watch(w, kv, key, wo) : kvStore_WatchAll(w, kv, wo);
        if (n != NATS_TIMEOUT || sg_kv_now_ms() + ns->place_wait_ms > deadline) return n;
        SG_DEBUG("store", "watch_placed_again", "bucket=%s tries=%d", b->full, tries);
    }
}

/* One watcher's initial values: JetStream sends every key's latest entry, then a marker (a
 * NULL entry) once all are delivered. */
static sg_status watch_once(sg_bucket *b, bool meta_only, listing *l)
{
    kvWatchOptions wo;
    kvWatchOptions_Init(&wo);
    wo.MetaOnly = meta_only;
    kvWatcher *w = NULL;
    natsStatus n = watcher_start(b, NULL, &wo, &w);
    if (n != NATS_OK) return nfail(b->store, n, 0, "list keys");
    sg_status st = SG_OK;
    long long deadline = sg_kv_now_ms() + b->store->opts.timeout_ms;
    while (!st) {
        long long left = deadline - sg_kv_now_ms();
        kvEntry *e = NULL;
        n = left > 0 ? kvWatcher_Next(&e, w, left) : NATS_TIMEOUT;
        if (n != NATS_OK) {
            st = nfail(b->store, n, 0, "list keys");
            break;
        }
        if (!e) break; /* all current keys seen */
        if (kvEntry_Revision(e) > l->top) l->top = kvEntry_Revision(e);
        kvOperation op = kvEntry_Operation(e);
        bool live = op == kvOp_Put && !expired(b, kvEntry_Created(e) / NS_PER_MS);
        if (live && !l->fn) st = listing_add(l, e);
        if (live && l->fn) {
            sg_kv_entry *x = from_entry(e, SG_KV_PUT);
            st = x ? l->fn(l->arg, x) : sg_fail(SG_E_NOMEM, "store: out of memory");
            sg_kv_entry_free(x);
            /* a slow fn does not use up the time the server has to send the rest */
            deadline = sg_kv_now_ms() + b->store->opts.timeout_ms;
        }
        kvEntry_Destroy(e);
    }
    kvWatcher_Destroy(w);
    return st;
}

/* Every key holding a value. The watcher's consumer may be placed on any replica, and one
 * that is still catching up (a node just back) sends its own, shorter view and the marker:
 * a listing counts as complete only once it reaches the last sequence the stream leader
 * reported before it began (the newest message is always some key's latest entry; a delete
 * marker counts). Keys only (sg_kv_keys) are kept until the check, and a short listing is
 * taken again within the store timeout; values (sg_kv_each) go to the callback as they
 * arrive, so memory does not grow with the bucket, and a short listing then fails with
 * SG_E_UNAVAILABLE once the callback has seen part of it. */
static sg_status nats_each(sg_bucket *b, bool meta_only, sg_kv_each_fn fn, void *arg)
{
    sg_status st = ready(b->store);
    if (st) return st;
    listing l = {.fn = meta_only ? NULL : fn, .arg = arg};
    long long deadline = sg_kv_now_ms() + b->store->opts.timeout_ms;
    long long pause = 20;
    uint64_t last = 0, msgs = 0;
    for (;;) {
        listing_clear(&l);
        st = stream_tail(b, &last, &msgs);
        if (!st) st = watch_once(b, meta_only, &l);
        if (st || msgs == 0 || l.top >= last) break;
        if (l.fn || sg_kv_now_ms() + pause > deadline) {
            st = sg_fail(SG_E_UNAVAILABLE,
                         "store: listing of bucket %s stopped at revision %llu of %llu: the "
                         "replica serving it is catching up",
                         b->name, (unsigned long long)l.top, (unsigned long long)last);
            break;
        }
        sg_kv_sleep_ms(pause);
        if (pause < 320) pause *= 2;
    }
    for (size_t i = 0; !st && i < l.n; i++)
        st = fn(arg, l.v[i]);
    listing_clear(&l);
    free(l.v);
    return st;
}

/* ---- watch -------------------------------------------------------------------------------- */

typedef struct nats_watch {
    kvWatcher *w;
    bool caught_up;
    uint64_t last_rev; /* highest revision delivered */
} nats_watch;

static sg_status nats_watch_start(sg_watch *w)
{
    sg_bucket *b = w->bucket;
    sg_status st = ready(b->store);
    if (st) return st;
    nats_watch *nw = calloc(1, sizeof *nw);
    if (!nw) return sg_fail(SG_E_NOMEM, "store: out of memory");
    natsStatus n = watcher_start(b, w->key, NULL, &nw->w);
    if (n != NATS_OK) {
        free(nw);
        return nfail(b->store, n, 0, "watch");
    }
    w->impl = nw;
    return SG_OK;
}

static sg_status nats_watch_next(sg_watch *w, long long timeout_ms, sg_kv_entry **out)
{
    nats_watch *nw = w->impl;
    long long deadline = sg_kv_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - sg_kv_now_ms();
        kvEntry *e = NULL;
        natsStatus n = kvWatcher_Next(&e, nw->w, left > 0 ? left : 1);
        if (n == NATS_TIMEOUT)
            return sg_fail(SG_E_TIMEOUT, "store: no change within %lld ms", timeout_ms);
        if (n != NATS_OK) return nfail(w->bucket->store, n, 0, "watch");
        if (!e) {
            if (nw->caught_up) continue;
            nw->caught_up = true;
            return SG_OK; /* initial values delivered */
        }
        /* The watcher is an ordered consumer; when nats.c resets it, entries already seen
         * may come again. Revisions only grow, so anything not newer is a repeat. */
        if (kvEntry_Revision(e) <= nw->last_rev) {
            kvEntry_Destroy(e);
            continue;
        }
        kvOperation op = kvEntry_Operation(e);
        bool del = op == kvOp_Delete || op == kvOp_Purge;
        /* Before catching up, only live values count (deleted keys are not "current"). */
        if (!nw->caught_up && (del || expired(w->bucket, kvEntry_Created(e) / NS_PER_MS))) {
            nw->last_rev = kvEntry_Revision(e);
            kvEntry_Destroy(e);
            continue;
        }
        nw->last_rev = kvEntry_Revision(e);
        *out = from_entry(e, del ? SG_KV_DELETE : SG_KV_PUT);
        kvEntry_Destroy(e);
        return *out ? SG_OK : sg_fail(SG_E_NOMEM, "store: out of memory");
    }
}

static void nats_watch_free(sg_watch *w)
{
    nats_watch *nw = w->impl;
    if (!nw) return;
    kvWatcher_Stop(nw->w);
    kvWatcher_Destroy(nw->w);
    free(nw);
    w->impl = NULL;
}

/* ---- work queue --------------------------------------------------------------------------- */

/* A queue's pull subscription. nats.c refuses a second fetch on one subscription while one is
 * in flight ("concurrent fetch request not allowed"), so takes from several threads (the
 * matchmaker's delete workers) wait their turn for the fetch itself; the work on the job
 * taken runs in parallel. */
typedef struct nats_queue {
    natsSubscription *sub;
    pthread_mutex_t fetch;
} nats_queue;

static sg_status nats_queue_open(sg_queue *q)
{
    sg_store *s = q->store;
    sg_status st = ready(s);
    if (st) return st;
    const char *subjects[] = {q->subject};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = q->full;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Retention = js_WorkQueuePolicy;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = q->opts.replicas;
    st = ensure_stream(s, &cfg, "create queue");
    if (st) return st;

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = q->full;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = q->opts.lease_ms * NS_PER_MS;
    so.Config.MaxDeliver = -1;
    so.Config.Replicas = q->opts.replicas;
    /* Like a bucket's, an existing queue's configuration wins: bind to the consumer as it was
     * created (nats.c refuses a bind whose lease or replicas differ), and say so. */
    jsConsumerInfo *ci = NULL;
    if (js_GetConsumerInfo(&ci, NS(s)->js, q->full, "workers", NULL, NULL) == NATS_OK && ci &&
        ci->Config) {
        if (ci->Config->AckWait != so.Config.AckWait || ci->Config->Replicas != so.Config.Replicas)
            SG_WARN("store", "queue_config_differs",
                    "queue=%s lease_ms=%lld wanted_lease_ms=%lld replicas=%d wanted_replicas=%d",
                    q->full, (long long)(ci->Config->AckWait / NS_PER_MS), q->opts.lease_ms,
                    (int)ci->Config->Replicas, (int)so.Config.Replicas);
        so.Config.AckWait = ci->Config->AckWait;
        so.Config.Replicas = ci->Config->Replicas;
        q->opts.lease_ms = ci->Config->AckWait / NS_PER_MS;
    }
    jsConsumerInfo_Destroy(ci);
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus n = js_PullSubscribe(&sub, NS(s)->js, q->subject, "workers", NULL, &so, &jerr);
    if (n != NATS_OK) return nfail(s, n, jerr, "bind queue consumer");
    nats_queue *nq = calloc(1, sizeof *nq);
    if (!nq) {
        natsSubscription_Destroy(sub);
        return sg_fail(SG_E_NOMEM, "store: out of memory");
    }
    nq->sub = sub;
    pthread_mutex_init(&nq->fetch, NULL);
    q->impl = nq;
    return SG_OK;
}

static void nats_queue_close(sg_queue *q)
{
    /* Destroy, not Unsubscribe: the durable consumer stays for the other takers. */
    nats_queue *nq = q->impl;
    if (nq) {
        natsSubscription_Destroy(nq->sub);
        pthread_mutex_destroy(&nq->fetch);
        free(nq);
    }
    q->impl = NULL;
}

static sg_status nats_enqueue(sg_queue *q, const char *payload, size_t len)
{
    sg_status st = ready(q->store);
    if (st) return st;
    jsErrCode jerr = 0;
    natsStatus n = js_Publish(NULL, NS(q->store)->js, q->subject, payload, (int)len, NULL, &jerr);
    return n == NATS_OK ? SG_OK : nfail(q->store, n, jerr, "enqueue");
}

static sg_status nats_take(sg_queue *q, long long wait_ms, sg_job *j)
{
    sg_status st = ready(q->store);
    if (st) return st;
    natsMsgList list = {0};
    jsErrCode jerr = 0;
    jsFetchRequest fr;
    jsFetchRequest_Init(&fr);
    fr.Batch = 1;
    /* "Do not wait" is a short pull: a NoWait pull makes nats-server 2.9 hand out again a
     * message that is still leased. */
    fr.Expires = (wait_ms > 20 ? wait_ms : 20) * NS_PER_MS;
    nats_queue *nq = q->impl;
    pthread_mutex_lock(&nq->fetch);
    natsStatus n = natsSubscription_FetchRequest(&list, nq->sub, &fr);
    pthread_mutex_unlock(&nq->fetch);
    (void)jerr;
    if (n == NATS_TIMEOUT || n == NATS_NOT_FOUND || (n == NATS_OK && list.Count == 0)) {
        natsMsgList_Destroy(&list);
        return SG_E_NOT_FOUND;
    }
    if (n != NATS_OK) {
        natsMsgList_Destroy(&list);
        return nfail(q->store, n, 0, "take job");
    }
    natsMsg *m = list.Msgs[0];
    list.Msgs[0] = NULL;
    natsMsgList_Destroy(&list);
    jsMsgMetaData *md = NULL;
    if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
        j->attempts = (int)md->NumDelivered;
        jsMsgMetaData_Destroy(md);
    } else {
        j->attempts = 1;
    }
    int len = natsMsg_GetDataLength(m);
    j->payload = malloc((size_t)len + 1);
    if (!j->payload) {
        natsMsg_Destroy(m);
        return sg_fail(SG_E_NOMEM, "store: out of memory");
    }
    memcpy(j->payload, natsMsg_GetData(m), (size_t)len);
    j->payload[len] = '\0';
    j->len = (size_t)len;
    j->impl = m;
    return SG_OK;
}

static sg_status nats_ack(sg_job *j)
{
    if (!j->impl) return sg_fail(SG_E_INVALID, "store: job was already finished");
    sg_status st = ready(j->queue->store);
    if (st) return st;
    jsErrCode jerr = 0;
    natsStatus n = natsMsg_AckSync(j->impl, NULL, &jerr);
    if (n != NATS_OK) return nfail(j->queue->store, n, jerr, "acknowledge job");
    natsMsg_Destroy(j->impl);
    j->impl = NULL;
    return SG_OK;
}

static sg_status nats_retry(sg_job *j, long long delay_ms)
{
    if (!j->impl) return sg_fail(SG_E_INVALID, "store: job was already finished");
    sg_status st = ready(j->queue->store);
    if (st) return st;
    natsStatus n = natsMsg_NakWithDelay(j->impl, delay_ms, NULL);
    if (n != NATS_OK) return nfail(j->queue->store, n, 0, "retry job");
    natsMsg_Destroy(j->impl);
    j->impl = NULL;
    return SG_OK;
}

static sg_status nats_touch(sg_job *j)
{
    if (!j->impl) return sg_fail(SG_E_INVALID, "store: job was already finished");
    sg_status st = ready(j->queue->store);
    if (st) return st;
    natsStatus n = natsMsg_InProgress(j->impl, NULL);
    return n == NATS_OK ? SG_OK : nfail(j->queue->store, n, 0, "extend job");
}

static void nats_job_free(sg_job *j)
{
    natsMsg_Destroy(j->impl);
    j->impl = NULL;
}

/* ---- events ------------------------------------------------------------------------------- */

static sg_status nats_publish(sg_store *s, const char *kind, const char *json, size_t len)
{
    sg_status st = ready(s);
    if (st) return st;
    char subj[SG_KV_APP_MAX + SG_KV_NAME_MAX + 16];
    snprintf(subj, sizeof subj, "%s.events.%s", s->opts.app, kind);
    natsStatus n;
    jsErrCode jerr = 0;
    if (s->opts.event_history)
        n = js_Publish(NULL, NS(s)->js, subj, json, (int)len, NULL, &jerr);
    else
        n = natsConnection_Publish(NS(s)->nc, subj, json, (int)len);
    return n == NATS_OK ? SG_OK : nfail(s, n, jerr, "publish event");
}

/* The "<app>_events" stream in order from after+1: an ordered consumer (nats.c recreates it
 * past a gap, so nothing is skipped or repeated); the stream's sequence is the position. */
static sg_status nats_subscribe_history(sg_event_sub *sub)
{
    sg_store *s = sub->store;
    char stream[SG_KV_APP_MAX + 16], subj[SG_KV_APP_MAX + 16];
    snprintf(stream, sizeof stream, "%s_events", s->opts.app);
    snprintf(subj, sizeof subj, "%s.events.>", s->opts.app);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus n = js_GetStreamInfo(&si, NS(s)->js, stream, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (n == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
        return sg_fail(SG_E_NOT_FOUND,
                       "store: no events stream %s (a store opened with event history makes it)",
                       stream);
    if (n != NATS_OK) return nfail(s, n, jerr, "events stream");
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = sub->after + 1;
    natsSubscription *ns = NULL;
    n = js_SubscribeSync(&ns, NS(s)->js, subj, NULL, &so, &jerr);
    if (n != NATS_OK) {
        natsSubscription_Destroy(ns);
        return nfail(s, n, jerr, "read the events stream");
    }
    sub->impl = ns;
    return SG_OK;
}

static sg_status nats_subscribe(sg_event_sub *sub)
{
    sg_store *s = sub->store;
    sg_status st = ready(s);
    if (st) return st;
    char subj[SG_KV_APP_MAX + SG_KV_NAME_MAX + 16];
    snprintf(subj, sizeof subj, "%s.events.%s", s->opts.app, sub->kind ? sub->kind : "*");
    natsSubscription *ns = NULL;
    if (sub->from) return nats_subscribe_history(sub);
    natsStatus n = natsConnection_SubscribeSync(&ns, NS(s)->nc, subj);
    /* Make sure the server knows the subscription before the caller publishes. */
    if (n == NATS_OK) n = natsConnection_FlushTimeout(NS(s)->nc, s->opts.timeout_ms);
    if (n != NATS_OK) {
        natsSubscription_Destroy(ns);
        return nfail(s, n, 0, "subscribe");
    }
    sub->impl = ns;
    return SG_OK;
}

static sg_status nats_event_next(sg_event_sub *sub, long long timeout_ms, char **kind, char **json)
{
    natsMsg *m = NULL;
    natsStatus n = natsSubscription_NextMsg(&m, sub->impl, timeout_ms > 0 ? timeout_ms : 1);
    if (n == NATS_TIMEOUT)
        return sg_fail(SG_E_TIMEOUT, "store: no event within %lld ms", timeout_ms);
    if (n != NATS_OK) return nfail(sub->store, n, 0, "read event");
    if (sub->from) {
        jsMsgMetaData *md = NULL;
        if (natsMsg_GetMetaData(&md, m) == NATS_OK) sub->pos = md->Sequence.Stream;
        jsMsgMetaData_Destroy(md);
        if (!sub->pos) {
            natsMsg_Destroy(m);
            return sg_fail(SG_E_IO, "store: an event without its stream sequence");
        }
    }
    const char *subj = natsMsg_GetSubject(m);
    const char *dot = strrchr(subj, '.');
    *kind = strdup(dot ? dot + 1 : subj);
    int len = natsMsg_GetDataLength(m);
    *json = malloc((size_t)len + 1);
    if (*json) {
        memcpy(*json, natsMsg_GetData(m), (size_t)len);
        (*json)[len] = '\0';
    }
    natsMsg_Destroy(m);
    if (!*kind || !*json) {
        free(*kind);
        free(*json);
        *kind = *json = NULL;
        return sg_fail(SG_E_NOMEM, "store: out of memory");
    }
    return SG_OK;
}

static void nats_sub_free(sg_event_sub *sub)
{
    natsSubscription_Unsubscribe(sub->impl);
    natsSubscription_Destroy(sub->impl);
    sub->impl = NULL;
}

void sg_store_library_cleanup(void)
{
    nats_CloseAndWait(2000);
}

const sg_kv_backend sg_kv_nats_backend = {
    .version = SG_KV_BACKEND_VERSION,
    .name = "nats",
    .open = nats_open_store,
    .close = nats_close_store,
    .state = nats_state,
    .sweep = nats_sweep,
    .bucket_open = nats_bucket_open,
    .bucket_close = nats_bucket_close,
    .get = nats_get,
    .put = nats_put,
    .create = nats_create,
    .update = nats_update,
    .del = nats_del,
    .write_many = nats_write_many,
    .each = nats_each,
    .watch = nats_watch_start,
    .watch_next = nats_watch_next,
    .watch_free = nats_watch_free,
    .queue_open = nats_queue_open,
    .queue_close = nats_queue_close,
    .enqueue = nats_enqueue,
    .take = nats_take,
    .ack = nats_ack,
    .retry = nats_retry,
    .touch = nats_touch,
    .job_free = nats_job_free,
    .publish = nats_publish,
    .subscribe = nats_subscribe,
    .event_next = nats_event_next,
    .sub_free = nats_sub_free,
};
