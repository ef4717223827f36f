/* The connect flow: create, record, wait, mint, write, answer (see flow.h).
 *
 * A flight is one player's request (and those that joined it) on its way to a seat. Its
 * state says what it is waiting for; every change goes through set_state, which logs it:
 *
 *   RESERVING -> CREATING -> RECORDING -> WAITING -> FINISHING -> DONE
 *        the seat cap and the create intent (pool)
 *                  the platform create (orchestrator)
 *                               the unclaimed record (pool), polled meanwhile
 *                                            polls / webhook until Ready
 *                                                       token minted; store writes (pool)
 *
 * A player holding an unused seat skips to WAITING with that seat (reusing); if it turns
 * out gone, FORGETTING removes its record and the flight goes back to RESERVING. Any state
 * before FINISHING ends in DONE on a failure, the deadline, a hang-up or shutdown. */
#include "flow.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "flight_map.h"
#include "reply.h"
#include "seat_delete.h"
#include "seatgate/clock.h"
#include "seatgate/codec.h"
#include "seatgate/log.h"

typedef enum flight_state {
    F_RESERVING = 0, /* the seat cap and the create intent are being written */
    F_CREATING,      /* create_seat sent */
    F_RECORDING,     /* created; the unclaimed record is being written (polled meanwhile) */
    F_WAITING,       /* recorded (or a held seat): polling / waiting for the webhook */
    F_FORGETTING,    /* a held seat turned out gone: its record is being removed */
    F_FINISHING,     /* token minted, store writes in progress */
    F_DONE,          /* answered; waiting for outstanding callbacks to drain */
    F_STATES
} flight_state;

static const char *const state_names[F_STATES] = {
    "reserving", "creating", "recording", "waiting", "forgetting", "finishing", "done",
};

typedef struct flight {
    sg_flight_link link; /* first: the indexes hand back links */
    struct sg_flow *flow;
    flight_state state;
    char ip_text[SG_ADDR_STRLEN];
    char user_id[SG_REC_USER_MAX]; /* the authenticated player ("" anonymous); single flight
                                    * and the seat cap are theirs */
    char map_key[SG_CONNECT_TEXT_MAX + 1]; /* the first call's; joined calls share it */
    struct {                               /* how the seat is chosen (placement) */
        bool decided;
        sg_place_kind kind;
        sg_place_source source;
        double rtt_ms;
        char server_id[SG_REC_ID_MAX];
        char location[SG_REC_NAME_MAX];
        bool has_pos; /* the player's GeoIP position */
        double latitude, longitude;
        bool refused; /* the joined server refused the seat once: decided again */
    } place;
    sg_connect_call *calls;
    size_t ncalls;
    char marker[SG_INTENT_MARKER_LEN + 1]; /* this create's intent */
    bool intent_open;                      /* written and not yet acknowledged */
    char player[SG_PLAYER_KEY_MAX];        /* who the seat cap counts (IP or IPv6 prefix) */
    bool reserved;                         /* a seat is reserved for the player under marker */
    sg_player_seats *seats_known; /* the player's record as the reservation wrote it, and its */
    uint64_t seats_rev;           /* revision, until the record points it at the session */
    bool reusing;                          /* handing the player's held seat again */
    int reuse_tries;
    long long created_wall_ms;
    int refs; /* outstanding callbacks + 1 while not done */
    bool poll_pending;
    sg_seat *ready_seat;     /* RECORDING: the seat as seen (Ready, or refusing a placement) before
                              * the record was written */
    long long poll_delay_ms; /* before the next poll: sg_backoff_ms over polls_sent */
    int polls_sent;
    sg_timer poll_timer, deadline_timer;
    struct flight *all_prev, *all_next;
    struct finish *fin; /* allocated once the seat is ready (keeps waiting flights small) */
} flight;

/* What a flight needs once its seat is ready. */
typedef struct finish {
    sg_seat seat;
    sg_session_record held; /* reusing: the held seat's record, as read */
    uint64_t held_rev;
    const sg_seat_port *port;
    uint64_t client_id;
    uint64_t expires_at;
    char token_b64[SG_BASE64_ENCODED_SIZE(SG_TOKEN_BYTES)];
    char seat_token[2048]; /* "" when none */
} finish;

struct sg_flow {
    sg_flow_options o;
    char *port_name, *webhook_url, *instance, *app, *version;
    sg_flight_map map;
    flight *all;
    sg_seat_deleter deleter;
    atomic_size_t waiting_calls;
    atomic_bool shutting_down;
    pthread_mutex_t mu; /* shutdown handshake */
    pthread_cond_t cv;
    size_t live; /* flights allocated (loop thread; read under mu at shutdown) */
    struct store_job *batch_head, *batch_tail; /* store calls for the next batch (loop) */
    bool batch_posted;
    sg_counter *created, *create_failed, *create_ambiguous, *polls, *webhooks_matched,
        *webhooks_unmatched, *webhooks_early, *delete_queued, *delete_direct, *handed_out;
};

/* A platform error code: "platform_<what>", or on Edgegap its older name "edgegap_<what>"
 * (kept for one release, docs/matchmaker.md). */
static const char *platform_code(const sg_flow *fl, const char *what)
{
    static const char *const names[][2] = {{"busy", "edgegap_busy"},
                                           {"refused", "edgegap_refused"},
                                           {"unavailable", "edgegap_unavailable"}};
    static const char *const neutral[] = {"platform_busy", "platform_refused",
                                          "platform_unavailable"};
    for (int i = 0; i < 3; i++)
        if (strcmp(what, names[i][0]) == 0) return fl->o.legacy_error_codes ? names[i][1] : neutral[i];
    return "internal";
}

static const char *platform_title(const sg_flow *fl)
{
    return fl->o.platform_title ? fl->o.platform_title : "the platform";
}

/* ---- states ---- */

static void set_state(flight *f, flight_state to)
{
    if (f->state == to) return;
    SG_DEBUG("flow", "flight_state", "ip=%s session_id=%s from=%s to=%s", f->ip_text,
             f->link.seat_id[0] ? f->link.seat_id : "-", state_names[f->state], state_names[to]);
    f->state = to;
}

/* Before FINISHING: the flight is still getting its seat (a hang-up, the deadline or
 * shutdown ends it). */
static bool getting_seat(const flight *f)
{
    return f->state < F_FINISHING;
}

/* Polls and webhooks matter while the seat is created and not yet Ready. */
static bool polling(const flight *f)
{
    return f->state == F_RECORDING || f->state == F_WAITING;
}

static void flight_free(flight *f)
{
    sg_flow *fl = f->flow;
    if (f->all_prev)
        f->all_prev->all_next = f->all_next;
    else
        fl->all = f->all_next;
    if (f->all_next) f->all_next->all_prev = f->all_prev;
    free(f->ready_seat);
    free(f->seats_known);
    if (f->fin) {
        sodium_memzero(f->fin->token_b64, sizeof f->fin->token_b64);
        sodium_memzero(f->fin->seat_token, sizeof f->fin->seat_token);
    }
    free(f->fin);
    free(f);
    pthread_mutex_lock(&fl->mu);
    fl->live--;
    pthread_cond_broadcast(&fl->cv);
    pthread_mutex_unlock(&fl->mu);
}

static void unref(flight *f)
{
    if (--f->refs == 0) flight_free(f);
}

/* ---- answering calls ---- */

static void answer_call(sg_flow *fl, sg_connect_call *c, int status, char *body,
                        const char *outcome, long long retry_after_ms)
{
    sg_loop_io_remove(fl->o.loop, &c->io);
    c->status = status;
    c->body = body;
    c->body_len = body ? strlen(body) : 0;
    c->outcome = outcome;
    c->retry_after_ms = retry_after_ms;
    c->flight = NULL;
    c->next = NULL;
    atomic_fetch_sub(&fl->waiting_calls, 1);
    c->done(c);
}

static void answer_error(sg_flow *fl, sg_connect_call *c, int status, const char *code,
                         const char *message, long long retry_after_ms)
{
    sg_reply_error e;
    sg_reply_error_set(&e, status, code, "%s", message);
    answer_call(fl, c, status, sg_reply_error_json(&e, NULL), code, retry_after_ms);
}

/* ---- deleting sessions ---- */

static void request_delete(sg_flow *fl, const char *seat_id, const char *marker, const char *reason)
{
    sg_seat_delete(&fl->deleter, seat_id, marker, reason);
}

/* ---- create intents ---- */

typedef struct ack_req {
    sg_flow *fl;
    char marker[SG_INTENT_MARKER_LEN + 1];
} ack_req;

/* ---- store calls ----
 *
 * A store call is a job (run: the ledger calls, leaving their status in *st) and what to do
 * with its result on the loop (done; NULL: nothing). On the pool, run happens on a pool
 * thread and done is posted back. On the loop (store_on_loop), calls queue up and run
 * together at the next turn as one store batch: one transaction, one commit for all of them,
 * and no thread hand-off; done runs only once the batch is committed (a failed commit fails
 * every call in it). */

typedef struct store_job {
    sg_flow *fl;
    sg_work_fn run;
    sg_loop_fn done;
    void *arg;
    sg_status *st;
    struct store_job *next;
} store_job;

static void post_done(sg_flow *fl, sg_loop_fn done, void *arg)
{
    /* Posting only fails when out of memory; nothing sensible is left to do. */
    if (done && sg_loop_post(fl->o.loop, done, arg) != SG_OK) {
        SG_ERROR("flow", "post_failed", "error=nomem");
        abort();
    }
}

static void pool_job(void *arg)
{
    store_job *j = arg;
    j->run(j->arg);
    post_done(j->fl, j->done, j->arg);
    free(j);
}

/* The loop's batch: every call queued since the last one, in order. */
static void run_batch(void *arg)
{
    sg_flow *fl = arg;
    store_job *list = fl->batch_head;
    fl->batch_head = fl->batch_tail = NULL;
    fl->batch_posted = false;
    sg_store *store = sg_ledger_store(fl->o.ledger);
    sg_status st = sg_store_batch_begin(store);
    bool began = st == SG_OK, open = began;
    size_t n = 0;
    for (store_job *j = list; j; j = j->next, n++) {
        if (!open) continue; /* failed below, not made */
        j->run(j->arg);
        if (sg_store_batch_step(store, &open) != SG_OK) st = SG_E_IO;
    }
    if (began) {
        sg_status c = sg_store_batch_commit(store); /* also ends a batch SQLite undid */
        if (st == SG_OK) st = c;
    }
    if (st != SG_OK) {
        SG_WARN("flow", "store_batch_failed", "calls=%zu error=%s", n, sg_status_name(st));
        for (store_job *j = list; j; j = j->next)
            if (j->st) *j->st = st;
    }
    while (list) {
        store_job *j = list;
        list = j->next;
        if (j->done) j->done(j->arg);
        free(j);
    }
}

/* Makes a store call (see above). Errors: SG_E_NOMEM; then neither run nor done happens. */
static sg_status store_call(sg_flow *fl, sg_work_fn run, sg_loop_fn done, void *arg, sg_status *st)
{
    store_job *j = malloc(sizeof *j);
    if (!j) return SG_E_NOMEM;
    *j = (store_job){fl, run, done, arg, st, NULL};
    if (!fl->o.store_on_loop) {
        sg_status r = sg_workpool_submit(fl->o.pool, pool_job, j);
        if (r != SG_OK) free(j);
        return r;
    }
    if (!fl->batch_posted) {
        if (sg_loop_post(fl->o.loop, run_batch, fl) != SG_OK) {
            free(j);
            return SG_E_NOMEM;
        }
        fl->batch_posted = true;
    }
    if (fl->batch_tail)
        fl->batch_tail->next = j;
    else
        fl->batch_head = j;
    fl->batch_tail = j;
    return SG_OK;
}

static void ack_job(void *arg)
{
    ack_req *a = arg;
    sg_status st = sg_ledger_ack_intent(a->fl->o.ledger, a->marker);
    if (st != SG_OK) /* harmless: the reconciler finds the session recorded and drops it */
        SG_DEBUG("flow", "intent_ack_failed", "intent=%s error=%s", a->marker, sg_status_name(st));
}

/* Acknowledges the flight's create intent (once), as a store call. */
static void ack_intent(flight *f)
{
    if (!f->intent_open) return;
    f->intent_open = false;
    ack_req *a = malloc(sizeof *a);
    if (!a) return;
    a->fl = f->flow;
    sg_copy_str(a->marker, sizeof a->marker, f->marker);
    if (store_call(f->flow, ack_job, free, a, NULL) != SG_OK) free(a);
}

/* ---- the player's seat reservation ---- */

typedef struct drop_req {
    sg_flow *fl;
    char player[SG_PLAYER_KEY_MAX];
    char marker[SG_INTENT_MARKER_LEN + 1];
} drop_req;

static void drop_job(void *arg)
{
    drop_req *d = arg;
    sg_status st = sg_ledger_seat_drop(d->fl->o.ledger, d->player, d->marker);
    if (st != SG_OK) /* harmless: it stops counting at its `until` */
        SG_DEBUG("flow", "seat_drop_failed", "player=%s error=%s", d->player, sg_status_name(st));
}

/* The reservation is over: no session came of it, or its session is being deleted. */
static void drop_reservation(flight *f)
{
    if (!f->reserved) return;
    f->reserved = false;
    drop_req *d = malloc(sizeof *d);
    if (!d) return;
    d->fl = f->flow;
    sg_copy_str(d->player, sizeof d->player, f->player);
    sg_copy_str(d->marker, sizeof d->marker, f->marker);
    if (store_call(f->flow, drop_job, free, d, NULL) != SG_OK) free(d);
}

/* ---- ending a flight ---- */

static void end_flight(flight *f, const char *delete_reason)
{
    sg_flow *fl = f->flow;
    if (f->state == F_DONE) return;
    set_state(f, F_DONE);
    sg_loop_timer_stop(fl->o.loop, &f->poll_timer);
    sg_loop_timer_stop(fl->o.loop, &f->deadline_timer);
    sg_flight_map_remove(&fl->map, &f->link);
    if (f->link.seat_id[0] && delete_reason) {
        if (!f->reusing)
            request_delete(fl, f->link.seat_id, f->intent_open ? f->marker : NULL, delete_reason);
        f->intent_open = false;
        drop_reservation(f);
    }
    unref(f);
}

static void fail_flight(flight *f, int status, const char *code, long long retry_after_ms,
                        const char *delete_reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void fail_flight(flight *f, int status, const char *code, long long retry_after_ms,
                        const char *delete_reason, const char *fmt, ...)
{
    sg_flow *fl = f->flow;
    sg_reply_error e;
    e.status = status;
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    char q[300];
    SG_INFO("flow", "connect_failed", "ip=%s session_id=%s code=%s waiters=%zu message=%s",
            f->ip_text, f->link.seat_id[0] ? f->link.seat_id : "-", code, f->ncalls,
            sg_log_quote(e.message, q, sizeof q));
    char *json = sg_reply_error_json(&e, NULL);
    while (f->calls) {
        sg_connect_call *c = f->calls;
        f->calls = c->next;
        f->ncalls--;
        answer_call(fl, c, status, json ? strdup(json) : NULL, code, retry_after_ms);
    }
    free(json);
    end_flight(f, delete_reason);
}

/* ---- posted events ---- */

typedef struct flow_ev {
    flight *f;
    sg_orch_result r;
    char seat_id[SG_SEAT_ID_MAX];
    char marker[SG_INTENT_MARKER_LEN + 1]; /* record_job: intent to acknowledge with it */
    sg_seat *seat;
    sg_status st;
    char digest[SG_REC_DIGEST_LEN + 1];
    sg_seats_result seats;   /* intent_job: what the player's seat cap said */
    sg_session_record *held; /* ... SG_SEATS_REUSE: the seat to hand again */
    uint64_t held_rev;
    long long seats_retry_ms; /* ... SG_SEATS_FULL */
    bool reserved;            /* ... a seat was reserved (dropped if nothing comes of it) */
    sg_player_seats *seats_written; /* ... the player's record as written, and its revision */
    uint64_t seats_rev;
} flow_ev;

static flow_ev *ev_new(flight *f)
{
    flow_ev *e = calloc(1, sizeof *e);
    if (e) e->f = f;
    return e;
}

static void post_or_die(sg_flow *fl, sg_loop_fn fn, flow_ev *e)
{
    /* Posting only fails when out of memory; nothing sensible is left to do. */
    if (!e || sg_loop_post(fl->o.loop, fn, e) != SG_OK) {
        SG_ERROR("flow", "post_failed", "error=nomem");
        abort();
    }
}

/* ---- polling ---- */

static void handle_seat(flight *f, const sg_seat *seat);
static void start_finish(flight *f, const sg_seat *seat);
static void forget_seat(flight *f, const char *reason);
static void progress_starting(flight *f, const sg_seat *seat);
static void progress_queued(flight *f);
static void prepare_create(flight *f);
/* A wait in line shorter than this is not worth telling the player about. */
#define SG_FLOW_QUEUED_MIN_MS 250

static void on_polled_loop(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    f->poll_pending = false;
    if (polling(f)) {
        sg_flow *fl = f->flow;
        const sg_orch_result *r = &e->r;
        if (f->reusing && ((r->status == SG_OK && e->seat && e->seat->state == SG_SEAT_FAILED) ||
                           r->status == SG_E_NOT_FOUND || r->status == SG_E_GONE)) {
            forget_seat(f, "vanished"); /* the held seat's server went away: make a new one */
        } else if (r->status == SG_OK && e->seat) {
            handle_seat(f, e->seat);
        } else if (r->status == SG_E_NOT_FOUND || r->status == SG_E_GONE) {
            fail_flight(f, 502, "no_server", 0, "vanished",
                        "the seat disappeared at %s before it was ready", platform_title(fl));
        } else if (r->status == SG_E_UNAUTHORIZED || r->status == SG_E_BAD_REQUEST) {
            fail_flight(f, 502, platform_code(fl, "refused"), 0, "poll_refused",
                        "%s refused to report the seat: %s", platform_title(fl), r->message);
        } else {
            /* Transient (5xx, timeouts, 429): keep waiting until the deadline. */
            long long d = f->poll_delay_ms;
            if (r->status == SG_E_RATE_LIMITED && r->retry_after_ms > d) d = r->retry_after_ms;
            sg_loop_timer_start(fl->o.loop, &f->poll_timer, d);
        }
    }
    free(e->seat);
    free(e);
    unref(f);
}

static void on_polled(const sg_orch_result *r, const sg_seat *seat, void *user)
{
    flight *f = user;
    flow_ev *e = ev_new(f);
    if (e) {
        e->r = *r;
        if (seat && (e->seat = malloc(sizeof *seat))) *e->seat = *seat;
        if (seat && !e->seat) e->r.status = SG_E_NOMEM;
    }
    post_or_die(f->flow, on_polled_loop, e);
}

/* A seat this flight created, with the webhook on: Edgegap says when it is Ready (and the
 * webhook's wake-up poll reads it), so polls wait poll_max_ms in case a webhook is lost. A
 * held seat is already Ready, and no webhook will come for it. */
static bool webhook_waits(const flight *f)
{
    return f->flow->webhook_url[0] && !f->reusing;
}

static void poll_now(void *arg)
{
    flight *f = arg;
    sg_flow *fl = f->flow;
    if (!polling(f) || f->poll_pending) return;
    f->poll_pending = true;
    f->refs++;
    sg_counter_inc(fl->polls);
    /* The next delay doubles up to the cap; with a webhook, polls are only its safety net. */
    f->polls_sent++;
    f->poll_delay_ms = webhook_waits(f)
                           ? fl->o.poll_max_ms
                           : sg_backoff_ms(fl->o.poll_first_ms, fl->o.poll_max_ms, f->polls_sent);
    fl->o.orch->ops->poll_seat(fl->o.orch->self, f->link.seat_id, on_polled, f);
}

static void handle_seat(flight *f, const sg_seat *seat)
{
    sg_flow *fl = f->flow;
    if (!polling(f)) return;
    switch (seat->state) {
    case SG_SEAT_READY:
        sg_loop_timer_stop(fl->o.loop, &f->poll_timer);
        if (f->state == F_RECORDING) {
            /* The unclaimed record is still being written: finish right after it. */
            if (!f->ready_seat && (f->ready_seat = malloc(sizeof *seat))) *f->ready_seat = *seat;
            if (!f->ready_seat)
                fail_flight(f, 500, "internal", 0, "internal_error", "out of memory");
            return;
        }
        start_finish(f, seat);
        return;
    case SG_SEAT_FAILED:
        if (f->place.kind == SG_PLACE_JOIN && !f->place.refused && !f->reusing) {
            /* The server placement chose is full after all (another replica filled it, or
             * players the table does not show yet): once, forget this seat and decide again
             * without that server (after its record is written, if that is under way). */
            if (f->state == F_RECORDING) {
                sg_loop_timer_stop(fl->o.loop, &f->poll_timer);
                if (!f->ready_seat && (f->ready_seat = malloc(sizeof *seat))) *f->ready_seat = *seat;
                if (!f->ready_seat)
                    fail_flight(f, 500, "internal", 0, "internal_error", "out of memory");
                return;
            }
            SG_INFO("flow", "placement_refused", "ip=%s session_id=%s server=%s status=%s",
                    f->ip_text, f->link.seat_id, f->place.server_id, seat->status);
            f->place.refused = true;
            sg_fleet_refused(fl->o.fleet, f->place.server_id);
            uint8_t m[SG_INTENT_MARKER_LEN / 2];
            randombytes_buf(m, sizeof m); /* the next create is another intent */
            sodium_bin2hex(f->marker, sizeof f->marker, m, sizeof m);
            sg_flight_map_remove(&fl->map, &f->link); /* out of the seat index... */
            sg_flight_map_add_ip(&fl->map, &f->link); /* ...still a flight of this player */
            forget_seat(f, "placement_refused");
            return;
        }
        fail_flight(f, 502, "no_server", 0, "session_failed",
                    "%s could not place a server for this player (%s%s%s)",
                    platform_title(f->flow), seat->status,
                    seat->error[0] ? ": " : "", seat->error);
        return;
    case SG_SEAT_PENDING:
        progress_starting(f, seat);
        if (!f->poll_pending && !sg_timer_armed(&f->poll_timer))
            sg_loop_timer_start(fl->o.loop, &f->poll_timer, f->poll_delay_ms);
        return;
    }
}


/* ---- the unclaimed record ---- */

static void fill_record(const flight *f, sg_session_record *r, long long claim_deadline)
{
    const sg_flow *fl = f->flow;
    memset(r, 0, sizeof *r);
    sg_copy_str(r->session_id, sizeof r->session_id, f->link.seat_id);
    r->state = SG_SESSION_UNCLAIMED;
    r->created_at = f->created_wall_ms;
    r->claim_deadline = claim_deadline;
    sg_copy_str(r->player_ip, sizeof r->player_ip, f->ip_text);
    sg_copy_str(r->app, sizeof r->app, fl->app);
    sg_copy_str(r->version, sizeof r->version, fl->version);
    sg_copy_str(r->matchmaker, sizeof r->matchmaker, fl->instance);
    sg_copy_str(r->user_id, sizeof r->user_id, f->user_id);
    if (f->place.decided) {
        sg_copy_str(r->placement, sizeof r->placement, sg_place_kind_name(f->place.kind));
        sg_copy_str(r->placement_location, sizeof r->placement_location, f->place.location);
        r->has_placement_rtt = f->place.kind == SG_PLACE_JOIN;
        r->placement_rtt_ms = r->has_placement_rtt ? f->place.rtt_ms : 0;
        if (r->has_placement_rtt)
            sg_copy_str(r->placement_source, sizeof r->placement_source,
                        sg_place_source_name(f->place.source));
    }
}

static void on_recorded_loop(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    if (e->st == SG_OK && e->marker[0]) f->intent_open = false; /* removed with the record */
    free(f->seats_known); /* written over now: a later change reads it */
    f->seats_known = NULL;
    if (f->state == F_RECORDING) {
        if (e->st != SG_OK) {
            fail_flight(f, 503, "store_unavailable", 1000, "store_unavailable",
                        "the session could not be recorded (%s); try again", sg_status_name(e->st));
        } else {
            set_state(f, F_WAITING);
            sg_seat *seat = f->ready_seat;
            f->ready_seat = NULL;
            if (seat) handle_seat(f, seat); /* it was seen while the record was written */
            free(seat);
        }
    }
    free(e);
    unref(f);
}

/* A store call (store_call): only fields fixed before it was called are read. */
static void record_job(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    const sg_flow *fl = f->flow;
    sg_session_record rec;
    long long deadline = f->created_wall_ms + fl->o.wait_timeout_ms +
                         fl->o.token_expire_s * 1000LL + fl->o.claim_grace_ms;
    fill_record(f, &rec, deadline);
    /* The record protects the session from now on: the intent's removal goes in the same
     * batch, and so does the player's reservation, which now names its session (so it can
     * be handed again). */
    sg_seat_update seat = {.player = f->player,
                           .marker = f->marker,
                           .until = deadline,
                           .known = f->seats_known,
                           .known_rev = f->seats_rev};
    e->st = sg_ledger_record_session(fl->o.ledger, &rec, e->marker[0] ? e->marker : NULL,
                                     f->reserved ? &seat : NULL);
    if (e->st == SG_OK && f->reserved && seat.result != SG_OK)
        SG_DEBUG("flow", "seat_update_failed", "ip=%s session_id=%s error=%s", f->ip_text,
                 f->link.seat_id, sg_status_name(seat.result));
}

/* ---- creating the seat ---- */

static void on_created_loop(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    sg_flow *fl = f->flow;
    const sg_orch_result *r = &e->r;
    if (r->status == SG_OK && e->seat_id[0]) {
        sg_counter_inc(fl->created);
        sg_copy_str(f->link.seat_id, sizeof f->link.seat_id, e->seat_id);
        SG_INFO("flow", "session_created", "ip=%s session_id=%s latency_ms=%lld", f->ip_text,
                f->link.seat_id, r->latency_us / 1000);
        if (f->state == F_DONE) {
            /* Every player left (or shutdown) while it was being created. */
            request_delete(fl, f->link.seat_id, f->intent_open ? f->marker : NULL, "abandoned");
            f->intent_open = false;
        } else {
            sg_flight_map_add_seat(&fl->map, &f->link);
            /* Record it as unclaimed, and look at it at once (in parallel). */
            flow_ev *re = ev_new(f);
            if (re) {
                if (f->intent_open) sg_copy_str(re->marker, sizeof re->marker, f->marker);
                f->refs++;
                if (store_call(fl, record_job, on_recorded_loop, re, &re->st) != SG_OK) {
                    f->refs--;
                    free(re);
                    re = NULL;
                }
            }
            if (!re) {
                fail_flight(f, 503, "store_unavailable", 1000, "store_unavailable",
                            "the session could not be recorded; try again");
            } else {
                set_state(f, F_RECORDING);
                if (webhook_waits(f) &&
                    sg_flight_map_take_early(&fl->map, f->link.seat_id, sg_clock_mono_ms(),
                                             fl->o.intent_window_ms)) {
                    /* Its webhook came before the create's answer did. */
                    poll_now(f);
                } else if (webhook_waits(f)) {
                    f->poll_delay_ms = fl->o.poll_max_ms;
                    sg_loop_timer_start(fl->o.loop, &f->poll_timer, f->poll_delay_ms);
                } else {
                    poll_now(f);
                }
            }
        }
    } else {
        sg_counter_inc(fl->create_failed);
        if (r->ambiguous) {
            /* Edgegap may have created a session we will never hear of: the intent stays,
             * and the reconciler deletes what it finds for it after the grace period. */
            sg_counter_inc(fl->create_ambiguous);
            SG_WARN("flow", "create_ambiguous", "ip=%s status=%s intent=%s", f->ip_text,
                    sg_status_name(r->status), f->marker);
            f->intent_open = false; /* the reservation counts on until its `until` too */
        } else {
            ack_intent(f); /* nothing was created */
            drop_reservation(f);
        }
        if (f->state != F_DONE && r->status == SG_E_FULL && !r->ambiguous &&
            f->place.kind == SG_PLACE_JOIN && !f->place.refused && !f->reusing) {
            /* The server placement named had no room after all (Agones: no GameServer of
             * that name with a free seat): once, decide again without it. */
            SG_INFO("flow", "placement_refused", "ip=%s server=%s status=%s", f->ip_text,
                    f->place.server_id, sg_status_name(r->status));
            f->place.refused = true;
            sg_fleet_refused(fl->o.fleet, f->place.server_id);
            uint8_t m[SG_INTENT_MARKER_LEN / 2];
            randombytes_buf(m, sizeof m); /* the next create is another intent */
            sodium_bin2hex(f->marker, sizeof f->marker, m, sizeof m);
            prepare_create(f);
        } else if (f->state != F_DONE) {
            switch (r->status) {
            case SG_E_RATE_LIMITED:
                fail_flight(f, 503, platform_code(fl, "busy"),
                            r->retry_after_ms > 0 ? r->retry_after_ms : 1000, NULL,
                            "%s is rate limiting this matchmaker; try again shortly",
                            platform_title(fl));
                break;
            case SG_E_FULL:
                fail_flight(f, 503, "no_capacity",
                            r->retry_after_ms > 0 ? r->retry_after_ms : 5000, NULL,
                            "no game server has a free seat now; try again shortly");
                break;
            case SG_E_BAD_REQUEST:
            case SG_E_UNAUTHORIZED:
            case SG_E_CONFLICT:
            case SG_E_NOT_FOUND:
            case SG_E_INVALID:
                fail_flight(f, 502, platform_code(fl, "refused"), 0, NULL,
                            "%s refused the seat: %s", platform_title(fl), r->message);
                break;
            default:
                fail_flight(f, 502, platform_code(fl, "unavailable"), 0, NULL,
                            "%s could not be reached (%s)", platform_title(fl),
                            sg_status_name(r->status));
                break;
            }
        }
    }
    free(e);
    unref(f);
}

static void on_created(const sg_orch_result *r, const char *seat_id, void *user)
{
    flight *f = user;
    flow_ev *e = ev_new(f);
    if (e) {
        e->r = *r;
        if (seat_id) sg_copy_str(e->seat_id, sizeof e->seat_id, seat_id);
    }
    post_or_die(f->flow, on_created_loop, e);
}

/* ---- finishing: token, store writes, answer ---- */

static void on_finished_loop(void *arg);
static void prepare_create(flight *f);

/* A store call (store_call): reads only what start_finish fixed before calling it. */
static void finish_job(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    const sg_flow *fl = f->flow;
    const finish *fin = f->fin;
    sg_status st = SG_OK;
    if (fin->seat.fqdn[0]) st = sg_ledger_cert_digest(fl->o.ledger, fin->seat.fqdn, e->digest);
    if (st == SG_OK && f->reusing) {
        /* The held seat, for a new token: only if nobody claimed it meanwhile (the old
         * token's client id is replaced, so that token stops working). */
        sg_session_record rec = fin->held;
        rec.client_id = fin->client_id;
        rec.claim_deadline =
            sg_clock_wall_ms() + fl->o.token_expire_s * 1000LL + fl->o.claim_grace_ms;
        st = sg_ledger_update_session(fl->o.ledger, &rec, fin->held_rev);
        if (st == SG_OK) st = sg_ledger_put_token(fl->o.ledger, fin->client_id, rec.session_id);
        if (st == SG_OK && fl->o.seats_per_player > 0)
            sg_ledger_seat_session(fl->o.ledger, f->player, NULL, rec.session_id,
                                   rec.claim_deadline);
    } else if (st == SG_OK) {
        sg_session_record rec;
        long long deadline =
            sg_clock_wall_ms() + fl->o.token_expire_s * 1000LL + fl->o.claim_grace_ms;
        fill_record(f, &rec, deadline);
        rec.client_id = fin->client_id;
        rec.has_deployment = true;
        sg_deployment_ref *d = &rec.deployment;
        sg_copy_str(d->request_id, sizeof d->request_id, fin->seat.server_id);
        sg_copy_str(d->public_ip, sizeof d->public_ip, fin->seat.public_ip);
        sg_copy_str(d->fqdn, sizeof d->fqdn, fin->seat.fqdn);
        d->port = (uint16_t)fin->port->external;
        sg_copy_str(d->protocol, sizeof d->protocol, fin->port->protocol);
        const sg_seat_location *l = &fin->seat.location;
        if (l->city[0] || l->country[0] || l->continent[0] || l->has_coordinates) {
            d->has_location = true;
            sg_copy_str(d->location.city, sizeof d->location.city, l->city);
            sg_copy_str(d->location.country, sizeof d->location.country, l->country);
            sg_copy_str(d->location.continent, sizeof d->location.continent, l->continent);
            d->location.has_coords = l->has_coordinates;
            d->location.latitude = l->latitude;
            d->location.longitude = l->longitude;
        }
        st = sg_ledger_put_token_and_session(fl->o.ledger, fin->client_id, &rec);
    }
    e->st = st;
}

/* The seat token (JWS): who (the authenticated player, else an anonymous id), where
 * (instanceId: the game server; ip: the player's address), which seat (sid), for whom (aud),
 * until when (the connect token's expiry), and jti: the client id, so the game server's
 * atomic claim of the seat makes it single use. */
static sg_status mint_seat_token(flight *f, finish *fin)
{
    const sg_flow *fl = f->flow;
    cJSON *c = cJSON_CreateObject();
    char anon[160], jti[24];
    snprintf(anon, sizeof anon, "anon-%s", f->link.seat_id);
    snprintf(jti, sizeof jti, "%llu", (unsigned long long)fin->client_id);
    bool ok = c && cJSON_AddStringToObject(c, "userId", f->user_id[0] ? f->user_id : anon) &&
              (!f->map_key[0] || cJSON_AddStringToObject(c, "mapKey", f->map_key)) &&
              cJSON_AddStringToObject(c, "instanceId", fin->seat.server_id) &&
              cJSON_AddStringToObject(c, "sid", f->link.seat_id) &&
              cJSON_AddStringToObject(c, "ip", f->ip_text) &&
              (!fl->o.seat_audience || cJSON_AddStringToObject(c, "aud", fl->o.seat_audience)) &&
              cJSON_AddNumberToObject(c, "iat", (double)(sg_clock_wall_ms() / 1000)) &&
              cJSON_AddNumberToObject(c, "exp", (double)fin->expires_at) &&
              cJSON_AddStringToObject(c, "jti", jti);
    char *claims = ok ? cJSON_PrintUnformatted(c) : NULL;
    cJSON_Delete(c);
    char *tok = NULL;
    sg_status st = claims ? sg_jws_sign(fl->o.seat_keys, fl->o.seat_kid, claims, &tok)
                          : sg_fail(SG_E_NOMEM, "out of memory");
    free(claims);
    if (st == SG_OK && strlen(tok) >= sizeof fin->seat_token)
        st = sg_fail(SG_E_TOO_LARGE, "seat token too long");
    if (st == SG_OK) sg_copy_str(fin->seat_token, sizeof fin->seat_token, tok);
    if (tok) {
        sodium_memzero(tok, strlen(tok));
        free(tok);
    }
    return st;
}

static void start_finish(flight *f, const sg_seat *seat)
{
    sg_flow *fl = f->flow;
    finish *fin = f->fin ? f->fin : (f->fin = calloc(1, sizeof *f->fin));
    if (!fin) {
        fail_flight(f, 500, "internal", 0, "internal_error", "out of memory");
        return;
    }
    fin->seat = *seat;
    fin->port = sg_seat_find_port(&fin->seat, fl->port_name);
    if (!fin->port || fin->port->external <= 0 || fin->port->external > 65535) {
        fail_flight(f, 502, "no_server", 0, "no_port",
                    "the game server has no usable port named '%s'",
                    fl->port_name[0] ? fl->port_name : "(first)");
        return;
    }
    sg_addr server;
    if (sg_addr_parse(fin->seat.public_ip, SG_PORT_FORBIDDEN, &server) != SG_OK) {
        fail_flight(f, 502, "no_server", 0, "bad_server_address",
                    "the game server's public IP is not an address");
        return;
    }
    server.port = (uint16_t)fin->port->external;
    /* The private list: the public address, and the server's bind address when asked (or,
     * by default, when a port mapping makes them differ). */
    sg_addr privates[2] = {server, server};
    size_t nprivate = 1;
    int internal = fin->port->internal;
    bool bind = fl->o.private_addrs == SG_FLOW_PRIVATE_BIND ||
                (fl->o.private_addrs == SG_FLOW_PRIVATE_AUTO && internal > 0 &&
                 internal != fin->port->external);
    if (bind && internal > 0 && internal <= 65535) {
        sg_addr *b = &privates[1];
        memset(b->ip, 0, sizeof b->ip); /* 0.0.0.0 or :: , as a server binds to listen */
        b->port = (uint16_t)internal;
        nprivate = 2;
    }
    uint8_t user_data[SG_TOKEN_USER_DATA_BYTES];
    uint8_t token[SG_TOKEN_BYTES];
    fin->client_id = sg_token_random_client_id();
    sg_token_params p = {
        .protocol_id = fl->o.protocol_id,
        .client_id = fin->client_id,
        .servers = &server,
        .server_count = 1,
        .expire_seconds = fl->o.token_expire_s,
        .timeout_seconds = fl->o.token_timeout_s,
        .user_data = user_data,
        .user_data_len = sizeof user_data,
        .private_servers = privates,
        .private_server_count = nprivate,
        .dialect = fl->o.dialect,
    };
    sg_status st = sg_token_user_data_set_session(user_data, f->link.seat_id);
    if (st == SG_OK) st = sg_token_mint(fl->o.key, &p, token, &fin->expires_at);
    if (st == SG_OK && fl->o.netcode_token)
        st = sg_base64_encode(token, sizeof token, fin->token_b64, sizeof fin->token_b64);
    else
        fin->token_b64[0] = '\0';
    sodium_memzero(token, sizeof token);
    if (st == SG_OK && fl->o.seat_keys) st = mint_seat_token(f, fin);
    if (st != SG_OK) {
        fail_flight(f, 500, "internal", 0, "internal_error", "the connect token could not be made");
        return;
    }
    flow_ev *e = ev_new(f);
    if (e) {
        f->refs++;
        if (store_call(fl, finish_job, on_finished_loop, e, &e->st) == SG_OK) {
            set_state(f, F_FINISHING);
            sg_loop_timer_stop(fl->o.loop, &f->deadline_timer);
            return;
        }
        f->refs--;
        free(e);
    }
    fail_flight(f, 503, "store_unavailable", 1000, "store_unavailable",
                "the connect token could not be recorded; try again");
}

static void on_finished_loop(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    sg_flow *fl = f->flow;
    if (e->st == SG_E_CONFLICT && f->reusing && f->reuse_tries < 3 && f->ncalls > 0) {
        /* The held seat changed meanwhile (claimed, or handed by another replica): decide
         * again with what the store says now. */
        f->reusing = false;
        f->link.seat_id[0] = '\0';
        sg_loop_timer_start(fl->o.loop, &f->deadline_timer, fl->o.wait_timeout_ms);
        prepare_create(f);
    } else if (e->st != SG_OK) {
        fail_flight(f, 503, "store_unavailable", 1000, "store_unavailable",
                    "the connect token could not be recorded (%s); try again",
                    sg_status_name(e->st));
    } else if (f->ncalls == 0) {
        /* Everybody hung up while the token was being recorded. */
        SG_INFO("flow", "connect_abandoned", "ip=%s session_id=%s", f->ip_text, f->link.seat_id);
        end_flight(f, "abandoned");
    } else {
        const finish *fin = f->fin;
        sg_flow_placement pl = {
            .decision = sg_place_kind_name(f->place.kind),
            .location = f->place.location,
            .has_rtt = f->place.kind == SG_PLACE_JOIN,
            .rtt_ms = f->place.rtt_ms,
            .source = sg_place_source_name(f->place.source),
        };
        char *json = sg_flow_answer_json(&fin->seat, fin->port, fin->token_b64, fin->client_id,
                                         fin->expires_at, e->digest[0] ? e->digest : NULL,
                                         fin->seat_token, f->place.decided ? &pl : NULL);
        SG_INFO("flow", "connect_ready",
                "ip=%s session_id=%s server=%s port=%d waiters=%zu exposure=%s user=%s",
                f->ip_text, f->link.seat_id, fin->seat.public_ip, fin->port->external, f->ncalls,
                fl->o.exposure ? fl->o.exposure : "hostport", f->user_id[0] ? f->user_id : "-");
        sg_counter_inc(fl->handed_out);
        while (f->calls) {
            sg_connect_call *c = f->calls;
            f->calls = c->next;
            f->ncalls--;
            char *body = json ? strdup(json) : NULL;
            if (body)
                answer_call(fl, c, 200, body, "ok", 0);
            else
                answer_error(fl, c, 500, "internal", "out of memory", 0);
        }
        if (json) sodium_memzero(json, strlen(json));
        free(json);
        end_flight(f, NULL);
    }
    free(e);
    unref(f);
}

/* ---- deadline and hang-ups ---- */

static void on_deadline(void *arg)
{
    flight *f = arg;
    if (getting_seat(f))
        fail_flight(f, 504, "server_timeout", 0, "deadline",
                    "no game server was ready within %lld ms; try again",
                    f->flow->o.wait_timeout_ms);
}

static void on_hangup(sg_loop_io *io, uint32_t events, void *arg)
{
    (void)io;
    (void)events;
    sg_connect_call *c = arg;
    flight *f = c->flight;
    sg_flow *fl = f->flow;
    for (sg_connect_call **pp = &f->calls; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            f->ncalls--;
            break;
        }
    }
    answer_error(fl, c, 499, "client_gone", "the client closed the connection", 0);
    if (f->ncalls == 0 && getting_seat(f)) {
        SG_INFO("flow", "connect_abandoned", "ip=%s session_id=%s", f->ip_text,
                f->link.seat_id[0] ? f->link.seat_id : "-");
        end_flight(f, "abandoned");
    }
}

static void attach(flight *f, sg_connect_call *c)
{
    sg_flow *fl = f->flow;
    c->flight = f;
    c->next = f->calls;
    f->calls = c;
    f->ncalls++;
    if (c->fd >= 0 && sg_loop_io_add(fl->o.loop, &c->io, c->fd, EPOLLRDHUP, on_hangup, c) != SG_OK)
        SG_DEBUG("flow", "hangup_watch_failed", "fd=%d", c->fd);
}

/* ---- the create intent, then the create ---- */

/* Tells every call of the flight that streams its answer (Accept: text/event-stream). */
static void progress(flight *f, const char *event, cJSON *data)
{
    char *json = data ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_Delete(data);
    if (!json) return;
    for (sg_connect_call *c = f->calls; c; c = c->next)
        if (c->progress) c->progress(c, event, json);
    free(json);
}

static bool any_stream(const flight *f)
{
    for (const sg_connect_call *c = f->calls; c; c = c->next)
        if (c->progress) return true;
    return false;
}

/* "placing": how the seat is being chosen (and where, when placement joined a server). */
static void progress_placing(flight *f)
{
    if (!any_stream(f)) return;
    cJSON *d = cJSON_CreateObject();
    if (!d) return;
    cJSON_AddStringToObject(d, "decision", f->place.decided ? sg_place_kind_name(f->place.kind)
                                                            : "platform");
    if (f->place.decided && f->place.location[0])
        cJSON_AddStringToObject(d, "location", f->place.location);
    if (f->place.decided && f->place.kind == SG_PLACE_JOIN)
        cJSON_AddNumberToObject(d, "rtt_ms", f->place.rtt_ms);
    progress(f, "placing", d);
}

/* "queued": the create waits in line for the platform's pace (Edgegap's rate limit, as
 * configured, or its Retry-After): the calls ahead of it and the wait, once, before the
 * create is sent. Nothing when it goes at once. */
static void progress_queued(flight *f)
{
    const sg_orchestrator *orch = f->flow->o.orch;
    if (!any_stream(f) || orch->ops->version < 3 || !orch->ops->queue) return;
    long long wait_ms = 0;
    int ahead = 0;
    orch->ops->queue(orch->self, &wait_ms, &ahead);
    if (wait_ms < SG_FLOW_QUEUED_MIN_MS) return;
    cJSON *d = cJSON_CreateObject();
    if (!d) return;
    cJSON_AddNumberToObject(d, "position", ahead + 1);
    cJSON_AddNumberToObject(d, "wait_ms", (double)wait_ms);
    progress(f, "queued", d);
}

/* "starting": the seat is not ready yet (a server booting), with the seconds waited. */
static void progress_starting(flight *f, const sg_seat *seat)
{
    if (!any_stream(f)) return;
    cJSON *d = cJSON_CreateObject();
    if (!d) return;
    cJSON_AddNumberToObject(d, "elapsed_s",
                            (double)((sg_clock_wall_ms() - f->created_wall_ms) / 100) / 10.0);
    if (seat->status[0]) cJSON_AddStringToObject(d, "status", seat->status);
    progress(f, "starting", d);
}

/* Where the player should play, over the fleet view (placement.h): logged with what was
 * considered, recorded with the seat and told to the player. */
static void decide_placement(flight *f, const sg_connect_call *c)
{
    const sg_flow *fl = f->flow;
    sg_place_rtt rtts[SG_CONNECT_MAX_RTTS];
    size_t nr = c ? c->req->rtt_count : 0;
    for (size_t i = 0; i < nr; i++)
        rtts[i] = (sg_place_rtt){c->req->rtts[i].name, c->req->rtts[i].ms};
    sg_place_player p = {.rtts = rtts, .rtt_count = nr};
    if (c && fl->o.geoip)
        p.has_coords = sg_geoip_locate(fl->o.geoip, &c->player_ip, &p.latitude, &p.longitude);
    f->place.has_pos = p.has_coords;
    f->place.latitude = p.latitude;
    f->place.longitude = p.longitude;
    sg_place_options o = {.mode = fl->o.placement,
                          .budget_ms = fl->o.placement_budget_ms,
                          .fill_slack_ms = fl->o.placement_fill_slack_ms,
                          .stale_ms = fl->o.placement_stale_ms};
    sg_fleet_choice ch;
    sg_fleet_place(fl->o.fleet, &o, &p, &ch);
    f->place.decided = true;
    f->place.kind = ch.d.kind;
    f->place.source = ch.d.source;
    f->place.rtt_ms = ch.d.rtt_ms;
    sg_copy_str(f->place.server_id, sizeof f->place.server_id, ch.server_id);
    sg_copy_str(f->place.location, sizeof f->place.location, ch.location);
    char q[2 * SG_REC_NAME_MAX + 4];
    SG_INFO("flow", "placement",
            "ip=%s decision=%s server=%s location=%s rtt_ms=%.1f source=%s servers=%zu stale=%zu "
            "full=%zu far=%zu unknown=%zu budget_ms=%.0f geoip=%s",
            f->ip_text, sg_place_kind_name(ch.d.kind), ch.server_id[0] ? ch.server_id : "-",
            sg_log_quote(ch.location[0] ? ch.location : "-", q, sizeof q),
            ch.d.kind == SG_PLACE_JOIN ? ch.d.rtt_ms : -1.0,
            sg_place_source_name(ch.d.kind == SG_PLACE_JOIN ? ch.d.source : SG_PLACE_NO_ESTIMATE),
            ch.servers, ch.d.stale, ch.d.full, ch.d.far, ch.d.unknown, o.budget_ms,
            !fl->o.geoip ? "off" : p.has_coords ? "found" : "unknown");
}

/* Creates the seat for the flight's first call (the orchestrator copies the request). */
static void create_seat_now(flight *f)
{
    sg_flow *fl = f->flow;
    const sg_connect_call *c = f->calls;
    const char *sels[SG_CONNECT_MAX_SELECTORS];
    size_t nsel = c ? c->req->selector_count : 0;
    for (size_t i = 0; i < nsel; i++)
        sels[i] = c->req->selectors[i];
    sg_seat_request rq = {
        .player_ip = f->ip_text,
        .selectors = sels,
        .selector_count = nsel,
        .webhook_url = fl->webhook_url[0] ? fl->webhook_url : NULL,
        .marker = f->marker,
    };
    if (fl->o.fleet && fl->o.placement != SG_PLACE_PLATFORM) {
        decide_placement(f, c);
        if (f->place.kind == SG_PLACE_JOIN) rq.server_id = f->place.server_id;
        if (f->place.kind == SG_PLACE_NEW_SERVER && f->place.has_pos) {
            rq.has_position = true; /* the platform places by it */
            rq.latitude = f->place.latitude;
            rq.longitude = f->place.longitude;
        }
    }
    progress_placing(f);
    progress_queued(f);
    set_state(f, F_CREATING);
    f->refs++;
    fl->o.orch->ops->create_seat(fl->o.orch->self, &rq, on_created, f);
}

static void start_reuse(flight *f, const sg_session_record *held, uint64_t rev);

static void on_intent_loop(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    sg_flow *fl = f->flow;
    if (e->reserved) f->reserved = true;
    if (e->st == SG_OK && e->seats == SG_SEATS_RESERVED) f->intent_open = true;
    if (e->st == SG_OK && e->reserved && e->seats_rev) { /* for the record's seat update */
        free(f->seats_known);
        f->seats_known = e->seats_written;
        f->seats_rev = e->seats_rev;
        e->seats_written = NULL;
    }
    free(e->seats_written);
    if (f->state == F_DONE) {
        ack_intent(f); /* everybody left before the create: nothing to protect */
        drop_reservation(f);
    } else if (e->st != SG_OK) {
        drop_reservation(f);
        fail_flight(f, 503, "store_unavailable", 1000, NULL,
                    "the session could not be prepared (%s); try again", sg_status_name(e->st));
    } else if (e->seats == SG_SEATS_FULL) {
        fail_flight(f, 429, "seat_limit", e->seats_retry_ms, NULL,
                    "this player already holds %d seat%s in use; try again when one is free",
                    fl->o.seats_per_player, fl->o.seats_per_player == 1 ? "" : "s");
    } else if (e->seats == SG_SEATS_REUSE) {
        start_reuse(f, e->held, e->held_rev);
    } else if (!f->calls) {
        end_flight(f, NULL);
        ack_intent(f);
        drop_reservation(f);
    } else {
        create_seat_now(f);
    }
    free(e->held);
    free(e);
    unref(f);
}

/* A store call (store_call): only fields fixed before it was called are read. The player's seat
 * cap (a seat they hold and have not used comes back instead of a new one) and the durable
 * intent of the create, written in one batch. */
static void intent_job(void *arg)
{
    flow_ev *e = arg;
    flight *f = e->f;
    const sg_flow *fl = f->flow;
    e->seats = SG_SEATS_RESERVED;
    sg_create_intent in;
    memset(&in, 0, sizeof in);
    sg_copy_str(in.marker, sizeof in.marker, f->marker);
    sg_copy_str(in.player_ip, sizeof in.player_ip, f->ip_text);
    sg_copy_str(in.app, sizeof in.app, fl->app);
    sg_copy_str(in.version, sizeof in.version, fl->version);
    in.created_at = sg_clock_wall_ms();
    in.window_ms = fl->o.intent_window_ms;
    in.reconcile_after = in.created_at + in.window_ms + fl->o.reconcile_grace_ms;
    if (fl->webhook_url[0]) sg_copy_str(in.marker_via, sizeof in.marker_via, "webhook_url");
    sg_copy_str(in.matchmaker, sizeof in.matchmaker, fl->instance);
    if (fl->o.seats_per_player <= 0) {
        e->st = sg_ledger_put_intent(fl->o.ledger, &in);
        return;
    }
    sg_seats_request rq = {
        .player = f->player,
        .marker = f->marker,
        /* the longest a seat made now can stay unclaimed: the create, the wait, the token */
        .until = in.created_at + fl->o.intent_window_ms + fl->o.wait_timeout_ms +
                 fl->o.token_expire_s * 1000LL + fl->o.claim_grace_ms,
        .cap = fl->o.seats_per_player,
        /* enough for the hand-over to land before the reaper could take the seat (a reaper
         * that does is seen as a conflict and decided again) */
        .reuse_margin_ms = 1000,
        .player_ip = f->ip_text,
        .intent = &in, /* written with the reservation, in one batch */
        .written = e->seats_written = malloc(sizeof *e->seats_written),
        .written_rev = &e->seats_rev,
    };
    sg_session_record held;
    e->st = sg_ledger_reserve_seat(fl->o.ledger, &rq, &e->seats, &held, &e->held_rev,
                                   &e->seats_retry_ms);
    if (e->st == SG_OK && e->seats == SG_SEATS_REUSE) {
        e->held = malloc(sizeof *e->held);
        if (e->held)
            *e->held = held;
        else
            e->st = SG_E_NOMEM;
    }
    e->reserved = e->st == SG_OK && e->seats == SG_SEATS_RESERVED;
}

/* Submits the intent job (the seat cap, then the intent) for a flight about to create. */
static void prepare_create(flight *f)
{
    sg_flow *fl = f->flow;
    flow_ev *e = ev_new(f);
    if (e) {
        f->refs++;
        if (store_call(fl, intent_job, on_intent_loop, e, &e->st) == SG_OK) {
            set_state(f, F_RESERVING);
            return;
        }
        f->refs--;
        free(e);
    }
    fail_flight(f, 503, "store_unavailable", 1000, NULL,
                "the session could not be prepared; try again");
}

/* The player holds a seat they have not used: hand it to them again, with a new token (the
 * old one stops working: the record's client id changes), instead of reserving another.
 * The seat is polled first, so one whose server went away is never handed out. */
static void start_reuse(flight *f, const sg_session_record *held, uint64_t rev)
{
    if (!f->fin && !(f->fin = calloc(1, sizeof *f->fin))) {
        fail_flight(f, 500, "internal", 0, NULL, "out of memory");
        return;
    }
    f->reusing = true;
    f->reuse_tries++;
    f->fin->held = *held;
    f->fin->held_rev = rev;
    sg_copy_str(f->link.seat_id, sizeof f->link.seat_id, held->session_id);
    SG_INFO("flow", "seat_reused", "ip=%s session_id=%s", f->ip_text, f->link.seat_id);
    set_state(f, F_WAITING);
    f->poll_delay_ms = 0;
    f->polls_sent = 0;
    poll_now(f);
}

typedef struct forget_req {
    flight *f;
    char seat_id[SG_SEAT_ID_MAX];
    const char *reason; /* of the delete queued (static) */
} forget_req;

static void on_forgotten_loop(void *arg)
{
    forget_req *q = arg;
    flight *f = q->f;
    if (f->state != F_DONE) {
        sg_loop_timer_start(f->flow->o.loop, &f->deadline_timer, f->flow->o.wait_timeout_ms);
        prepare_create(f);
    }
    free(q);
    unref(f);
}

/* The seat is gone at the platform (or refused the player): its record is removed (so no
 * request finds it again), a delete is queued in case it is not quite gone, then a new seat
 * is made. */
static void forget_job(void *arg)
{
    forget_req *q = arg;
    sg_flow *fl = q->f->flow;
    sg_ledger_delete_session(fl->o.ledger, q->seat_id);
    sg_ledger_enqueue_delete(fl->o.ledger, q->seat_id, q->reason, fl->instance);
}

static void forget_seat(flight *f, const char *reason)
{
    forget_req *q = calloc(1, sizeof *q);
    if (q) {
        q->f = f;
        sg_copy_str(q->seat_id, sizeof q->seat_id, f->link.seat_id);
        q->reason = reason;
    }
    f->reusing = false;
    f->link.seat_id[0] = '\0';
    sg_loop_timer_stop(f->flow->o.loop, &f->poll_timer);
    f->refs++;
    if (!q || store_call(f->flow, forget_job, on_forgotten_loop, q, NULL) != SG_OK) {
        free(q);
        f->refs--;
        fail_flight(f, 503, "store_unavailable", 1000, NULL, "out of memory; try again");
        return;
    }
    set_state(f, F_FORGETTING);
}

/* ---- entry points ---- */

/* Who the seat cap counts: the authenticated user ("user:<id>"), else an IPv4 address, or
 * an IPv6 address cut to ipv6-prefix. */
static void player_of(const sg_flow *fl, const sg_connect_call *c, char *out, size_t size)
{
    if (c->user_id[0]) {
        snprintf(out, size, "user:%s", c->user_id);
        return;
    }
    const sg_addr *ip = &c->player_ip;
    sg_addr a = *ip;
    int bits = fl->o.ipv6_prefix > 0 ? fl->o.ipv6_prefix : 64;
    sg_addr_cut(&a, bits);
    char text[SG_ADDR_STRLEN];
    sg_addr_format(&a, false, text, sizeof text);
    if (a.family == AF_INET)
        snprintf(out, size, "%s", text);
    else
        snprintf(out, size, "%s/%d", text, bits);
}

static void start_on_loop(void *arg)
{
    sg_connect_call *c = arg;
    sg_flow *fl = c->flight; /* carried in for the hop */
    c->flight = NULL;
    if (atomic_load(&fl->shutting_down)) {
        answer_error(fl, c, 503, "shutting_down", "the matchmaker is restarting; try again", 1000);
        return;
    }
    uint8_t key[SG_ADDR_KEY_BYTES]; /* single flight: per user, else per address */
    if (c->user_id[0])
        sg_user_key(c->user_id, key);
    else
        sg_addr_key(&c->player_ip, 128, key);
    if (fl->o.single_flight) {
        for (sg_flight_link *l = sg_flight_map_ip_chain(&fl->map, key); l; l = l->ip_next) {
            flight *f = (flight *)l;
            if (memcmp(l->ipkey, key, sizeof key) == 0 && f->state != F_DONE) {
                attach(f, c);
                SG_DEBUG("flow", "joined", "ip=%s user=%s waiters=%zu", c->player_ip_text,
                         f->user_id[0] ? f->user_id : "-", f->ncalls);
                return;
            }
        }
    }
    flight *f = calloc(1, sizeof *f);
    if (!f) {
        answer_error(fl, c, 503, "overloaded", "out of memory; try again", 1000);
        return;
    }
    pthread_mutex_lock(&fl->mu);
    fl->live++;
    pthread_mutex_unlock(&fl->mu);
    f->flow = fl;
    f->refs = 1;
    memcpy(f->link.ipkey, key, sizeof key);
    sg_copy_str(f->ip_text, sizeof f->ip_text, c->player_ip_text);
    sg_copy_str(f->user_id, sizeof f->user_id, c->user_id);
    sg_copy_str(f->map_key, sizeof f->map_key, c->req->map_key);
    f->created_wall_ms = sg_clock_wall_ms();
    f->all_next = fl->all;
    if (fl->all) fl->all->all_prev = f;
    fl->all = f;
    sg_flight_map_add_ip(&fl->map, &f->link);
    sg_timer_init(&f->poll_timer, poll_now, f);
    sg_timer_init(&f->deadline_timer, on_deadline, f);
    sg_loop_timer_start(fl->o.loop, &f->deadline_timer, fl->o.wait_timeout_ms);
    attach(f, c);

    if (c->req->client_version[0]) {
        char q[2 * sizeof c->req->client_version + 4]; /* the client's text: always quoted */
        SG_DEBUG("flow", "client_version", "ip=%s version=%s", f->ip_text,
                 sg_log_quote(c->req->client_version, q, sizeof q));
    }
    player_of(fl, c, f->player, sizeof f->player);
    /* First the seat cap and the durable intent, then the create (create_seat_now). */
    uint8_t m[SG_INTENT_MARKER_LEN / 2];
    randombytes_buf(m, sizeof m);
    sodium_bin2hex(f->marker, sizeof f->marker, m, sizeof m);
    prepare_create(f);
}

/* Answers a call that never reached the loop (from any thread). */
static void answer_early(sg_flow *fl, sg_connect_call *c, const sg_reply_error *e)
{
    c->flight = NULL;
    atomic_fetch_sub(&fl->waiting_calls, 1);
    c->status = e->status;
    c->body = sg_reply_error_json(e, &c->body_len);
    c->outcome = e->code;
    c->retry_after_ms = e->retry_after_ms;
    c->done(c);
}

static void answer_overloaded(sg_flow *fl, sg_connect_call *c)
{
    sg_reply_error e;
    sg_reply_error_set(&e, 503, "overloaded", "out of memory; try again");
    e.retry_after_ms = 1000;
    answer_early(fl, c, &e);
}

/* On an auth pool thread: the online check of the player's token, then on to the loop. */
static void auth_job(void *arg)
{
    sg_connect_call *c = arg;
    sg_flow *fl = c->flight;
    sg_reply_error e = {0};
    if (!sg_auth_check_online(fl->o.auth, c->bearer, &e)) {
        SG_INFO("flow", "auth_refused", "ip=%s user=%s error=%s", c->player_ip_text,
                c->user_id, e.code);
        answer_early(fl, c, &e);
    } else if (sg_loop_post(fl->o.loop, start_on_loop, c) != SG_OK) {
        answer_overloaded(fl, c);
    }
}

void sg_flow_start(sg_flow *fl, sg_connect_call *c)
{
    atomic_fetch_add(&fl->waiting_calls, 1);
    c->flight = fl;
    c->next = NULL;
    memset(&c->io, 0, sizeof c->io);
    sg_status st = c->bearer && fl->o.auth && fl->o.auth_pool
                       ? sg_workpool_submit(fl->o.auth_pool, auth_job, c)
                       : sg_loop_post(fl->o.loop, start_on_loop, c);
    if (st != SG_OK) answer_overloaded(fl, c);
}

typedef struct notify_ev {
    sg_flow *fl;
    sg_seat seat;
} notify_ev;

/* A webhook only wakes the wait: what it says is never believed. Anyone who knows the
 * webhook URL (it travels in every session Edgegap holds) could send a forged body, so the
 * session is polled at once and its state comes from Edgegap's own answer. */
static void notify_on_loop(void *arg)
{
    notify_ev *n = arg;
    sg_flow *fl = n->fl;
    flight *f = (flight *)sg_flight_map_find_seat(&fl->map, n->seat.id);
    if (f && polling(f)) {
        sg_counter_inc(fl->webhooks_matched);
        SG_DEBUG("flow", "webhook", "session_id=%s said=%s", n->seat.id,
                 sg_seat_state_name(n->seat.state));
        sg_loop_timer_stop(fl->o.loop, &f->poll_timer);
        poll_now(f);
    } else if (!f) {
        /* Perhaps it came before the create's answer: the flight looks when that arrives. */
        sg_flight_map_note_early(&fl->map, n->seat.id, sg_clock_mono_ms());
        sg_counter_inc(fl->webhooks_early);
    } else {
        sg_counter_inc(fl->webhooks_unmatched);
    }
    free(n);
}

int sg_flow_notify(sg_flow *fl, const char *body, size_t len)
{
    if (!fl->o.orch->ops->parse_notification) return 400;
    notify_ev *n = calloc(1, sizeof *n);
    if (!n) return 503;
    n->fl = fl;
    if (fl->o.orch->ops->parse_notification(fl->o.orch->self, body, len, &n->seat) != SG_OK ||
        !n->seat.id[0]) {
        free(n);
        return 400;
    }
    if (sg_loop_post(fl->o.loop, notify_on_loop, n) != SG_OK) {
        free(n);
        return 503;
    }
    return 204;
}

size_t sg_flow_waiting(sg_flow *fl)
{
    return atomic_load(&fl->waiting_calls);
}

/* ---- lifecycle ---- */

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

sg_status sg_flow_new(const sg_flow_options *o, sg_flow **out)
{
    *out = NULL;
    if (!o->loop || !o->orch || !o->pool || !o->ledger || !o->metrics || !o->key)
        return sg_fail(SG_E_INVALID, "flow: loop, orchestrator, pool, ledger, metrics and key "
                                     "are required");
    if (o->wait_timeout_ms <= 0 || o->poll_first_ms <= 0 || o->poll_max_ms < o->poll_first_ms)
        return sg_fail(SG_E_INVALID, "flow: bad wait or poll timing");
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "flow: libsodium init failed");
    sg_flow *fl = calloc(1, sizeof *fl);
    if (!fl) return sg_fail(SG_E_NOMEM, "flow: out of memory");
    fl->o = *o;
    fl->port_name = dup_or_empty(o->port_name);
    fl->webhook_url = dup_or_empty(o->webhook_url);
    fl->instance = dup_or_empty(o->instance);
    fl->app = dup_or_empty(o->app);
    fl->version = dup_or_empty(o->version);
    if (!fl->port_name || !fl->webhook_url || !fl->instance || !fl->app || !fl->version) {
        sg_flow_free(fl);
        return sg_fail(SG_E_NOMEM, "flow: out of memory");
    }
    sg_flight_map_init(&fl->map);
    pthread_mutex_init(&fl->mu, NULL);
    pthread_cond_init(&fl->cv, NULL);
    sg_metrics *m = o->metrics;
    {
        const char *labels[] = {"exposure", o->exposure ? o->exposure : "hostport", NULL};
        fl->handed_out = sg_metrics_counter(
            m, "seatgate_seats_handed_out_total",
            "seats answered with a token, by exposure mode (the denominator of failed "
            "connects, which game servers publish as verify_rejected events with exposure)",
            labels);
    }
    fl->created =
        sg_metrics_counter(m, "seatgate_sessions_created_total", "Edgegap sessions created", NULL);
    fl->create_failed = sg_metrics_counter(m, "seatgate_session_create_failures_total",
                                           "Edgegap session creations that failed", NULL);
    fl->create_ambiguous = sg_metrics_counter(
        m, "seatgate_session_creates_ambiguous_total",
        "Edgegap creates that failed in a way that may have created a session (left to the "
        "reconciler)",
        NULL);
    fl->polls =
        sg_metrics_counter(m, "seatgate_session_polls_total", "Edgegap session polls sent", NULL);
    const char *matched[] = {"matched", "true", NULL};
    const char *unmatched[] = {"matched", "false", NULL};
    fl->webhooks_matched =
        sg_metrics_counter(m, "seatgate_webhooks_total", "Edgegap webhooks received", matched);
    fl->webhooks_unmatched =
        sg_metrics_counter(m, "seatgate_webhooks_total", "Edgegap webhooks received", unmatched);
    const char *early[] = {"matched", "early", NULL};
    fl->webhooks_early =
        sg_metrics_counter(m, "seatgate_webhooks_total", "Edgegap webhooks received", early);
    const char *queued[] = {"via", "queue", NULL};
    const char *direct[] = {"via", "direct", NULL};
    fl->delete_queued = sg_metrics_counter(m, "seatgate_session_delete_requests_total",
                                           "Session deletions requested by the flow", queued);
    fl->delete_direct = sg_metrics_counter(m, "seatgate_session_delete_requests_total",
                                           "Session deletions requested by the flow", direct);
    fl->deleter = (sg_seat_deleter){.loop = o->loop,
                                    .pool = o->pool,
                                    .ledger = o->ledger,
                                    .orch = o->orch,
                                    .instance = fl->instance,
                                    .queued = fl->delete_queued,
                                    .direct = fl->delete_direct};
    *out = fl;
    return SG_OK;
}

static void shutdown_on_loop(void *arg)
{
    sg_flow *fl = arg;
    for (flight *f = fl->all; f;) {
        flight *next = f->all_next;
        f->refs++; /* keep it alive across fail_flight */
        if (f->state != F_DONE && f->state != F_FINISHING)
            fail_flight(f, 503, "shutting_down", 1000, "shutdown",
                        "the matchmaker is restarting; try again");
        next = f->all_next;
        unref(f);
        f = next;
    }
}

void sg_flow_shutdown(sg_flow *fl)
{
    atomic_store(&fl->shutting_down, true);
    if (sg_loop_post(fl->o.loop, shutdown_on_loop, fl) != SG_OK) return;
    /* Flights still creating or finishing end when their callbacks come back. */
    long long wait_ms = fl->o.shutdown_wait_ms > 0 ? fl->o.shutdown_wait_ms : 30000;
    struct timespec until = sg_clock_deadline(wait_ms);
    pthread_mutex_lock(&fl->mu);
    while (fl->live > 0) {
        if (pthread_cond_timedwait(&fl->cv, &fl->mu, &until) != 0) break;
    }
    size_t left = fl->live;
    pthread_mutex_unlock(&fl->mu);
    if (left) SG_WARN("flow", "shutdown_incomplete", "flights=%zu", left);
}

void sg_flow_free(sg_flow *fl)
{
    if (!fl) return;
    while (fl->all) {
        flight *f = fl->all;
        fl->all = f->all_next;
        free(f->ready_seat);
        free(f->seats_known);
        free(f->fin);
        free(f);
    }
    while (fl->batch_head) { /* a batch the stopped loop never ran: its events went with it */
        store_job *j = fl->batch_head;
        fl->batch_head = j->next;
        if (j->done == free) free(j->arg);
        free(j);
    }
    pthread_mutex_destroy(&fl->mu);
    pthread_cond_destroy(&fl->cv);
    free(fl->port_name);
    free(fl->webhook_url);
    free(fl->instance);
    free(fl->app);
    free(fl->version);
    free(fl);
}
