/* Create intents left behind: find the seats nobody learned about and delete them. */
#include "reconcile.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/addr.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"

struct sg_reconciler {
    sg_reconciler_options o;
    char *instance;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sg_counter *sessions, *intents;
};

typedef struct due_intent {
    sg_create_intent in;
    uint64_t rev;
    bool keep; /* a seat may be its own but is too young to judge: look again later */
} due_intent;

static bool stopping(const sg_reconciler *r)
{
    return r->o.stop && atomic_load(r->o.stop);
}

/* ---- blocking wrappers over the orchestrator (its callbacks run on its own thread) ---- */

typedef struct wait_box {
    sg_reconciler *r;
    bool done;
    sg_orch_result res;
    char **ids;
    size_t count;
    bool has_next;
    sg_seat *seat;
} wait_box;

static void box_done(wait_box *w)
{
    pthread_mutex_lock(&w->r->mu);
    w->done = true;
    pthread_cond_broadcast(&w->r->cv);
    pthread_mutex_unlock(&w->r->mu);
}

static void box_wait(wait_box *w)
{
    /* The orchestrator always calls back (at the latest when it is destroyed, after the
     * janitor has stopped), so no timeout is needed. */
    pthread_mutex_lock(&w->r->mu);
    while (!w->done)
        pthread_cond_wait(&w->r->cv, &w->r->mu);
    pthread_mutex_unlock(&w->r->mu);
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void on_listed(const sg_orch_result *res, const char *const *ids, size_t count,
                      bool has_next, void *user)
{
    wait_box *w = user;
    w->res = *res;
    w->ids = count ? calloc(count, sizeof *w->ids) : NULL;
    for (size_t i = 0; w->ids && i < count; i++)
        if ((w->ids[w->count] = strdup(ids[i]))) w->count++;
    if (count && w->count != count) w->res.status = SG_E_NOMEM;
    w->has_next = has_next;
    box_done(w);
}

/* Every seat id of the backend, all pages. false when the list is incomplete. */
static bool list_all(sg_reconciler *r, char ***out, size_t *nout)
{
    char **all = NULL;
    size_t n = 0, cap = 0;
    bool ok = false;
    for (int page = 1; page <= 10000 && !stopping(r); page++) {
        wait_box w = {.r = r};
        r->o.orch->ops->list_seats(r->o.orch->self, page, on_listed, &w);
        box_wait(&w);
        if (w.res.status != SG_OK) {
            SG_WARN("reconcile", "list_failed", "page=%d status=%s", page,
                    sg_status_name(w.res.status));
            free_ids(w.ids, w.count);
            break;
        }
        if (n + w.count > cap) {
            size_t c = cap ? cap * 2 : 128;
            while (c < n + w.count)
                c *= 2;
            char **g = realloc(all, c * sizeof *g);
            if (!g) {
                free_ids(w.ids, w.count);
                break;
            }
            all = g;
            cap = c;
        }
        if (w.count) memcpy(all + n, w.ids, w.count * sizeof *all); /* an empty page: no ids */
        n += w.count;
        free(w.ids);
        if (!w.has_next || w.count == 0) {
            ok = true;
            break;
        }
    }
    if (!ok) {
        free_ids(all, n);
        return false;
    }
    *out = all;
    *nout = n;
    return true;
}

static void on_inspected(const sg_orch_result *res, const sg_seat *seat, void *user)
{
    wait_box *w = user;
    w->res = *res;
    if (res->status == SG_OK && seat && (w->seat = malloc(sizeof *seat))) *w->seat = *seat;
    if (res->status == SG_OK && !w->seat) w->res.status = SG_E_NOMEM;
    box_done(w);
}

/* ---- matching ---- */

static bool has_player(const sg_seat *s, const char *ip)
{
    sg_addr want;
    if (sg_addr_parse(ip, SG_PORT_FORBIDDEN, &want) != SG_OK) return false;
    sg_addr_normalize(&want);
    for (size_t i = 0; i < s->player_ip_count; i++) {
        sg_addr a;
        if (sg_addr_parse(s->player_ips[i], SG_PORT_FORBIDDEN, &a) != SG_OK) continue;
        sg_addr_normalize(&a);
        if (a.family == want.family && memcmp(a.ip, want.ip, a.family == AF_INET ? 4 : 16) == 0)
            return true;
    }
    return false;
}

typedef enum verdict { NO_MATCH = 0, MATCH, TOO_YOUNG } verdict;

/* Whether seat s is the one intent `in` created (see reconcile.h). */
static verdict judge(const sg_reconciler *r, const sg_create_intent *in, const sg_seat *s,
                     long long now)
{
    if (s->other_game || !has_player(s, in->player_ip)) return NO_MATCH;
    if (s->marker[0]) return strcmp(s->marker, in->marker) == 0 ? MATCH : NO_MATCH; /* exact */
    if (in->marker_via[0]) return NO_MATCH; /* ours would carry the marker */
    long long skew = r->o.clock_skew_ms;
    if (s->created_ms <= 0) return NO_MATCH; /* unknown age: never guess */
    if (s->created_ms < in->created_at - skew) return NO_MATCH;
    if (s->created_ms > in->created_at + in->window_ms + skew) return NO_MATCH;
    /* Its creator, if alive, must have had the whole grace period to record it. */
    long long grace = in->reconcile_after - in->created_at - in->window_ms;
    return s->created_ms + grace <= now ? MATCH : TOO_YOUNG;
}

/* ---- one pass ---- */

/* Claims the intents due now. *due is malloc()ed. */
static size_t claim_due(sg_reconciler *r, due_intent **due)
{
    *due = NULL;
    char **markers = NULL;
    size_t n = 0, nd = 0;
    if (sg_ledger_intent_markers(r->o.ledger, &markers, &n) != SG_OK || n == 0) {
        free(markers);
        return 0;
    }
    due_intent *d = calloc(n, sizeof *d);
    long long now = sg_clock_wall_ms();
    for (size_t i = 0; d && i < n && !stopping(r); i++) {
        due_intent *x = &d[nd];
        sg_status st = sg_ledger_get_intent(r->o.ledger, markers[i], &x->in, &x->rev);
        if (st == SG_E_MALFORMED) {
            SG_WARN("reconcile", "intent_unreadable", "intent=%s error=%s", markers[i],
                    sg_last_error());
            sg_ledger_ack_intent(r->o.ledger, markers[i]); /* it can never be matched */
            continue;
        }
        if (st != SG_OK || now < x->in.reconcile_after) continue;
        if (x->in.reconciling_at && x->in.reconciling_at + r->o.lease_ms > now) continue;
        snprintf(x->in.reconciling_by, sizeof x->in.reconciling_by, "%s", r->instance);
        x->in.reconciling_at = now;
        if (sg_ledger_update_intent(r->o.ledger, &x->in, x->rev) != SG_OK) continue;
        nd++;
    }
    free(markers);
    if (!nd) free(d);
    *due = nd ? d : NULL;
    return nd;
}

size_t sg_reconciler_run_once(sg_reconciler *r)
{
    due_intent *due = NULL;
    size_t ndue = claim_due(r, &due);
    if (!ndue) return 0;
    char **ids = NULL;
    size_t nids = 0, queued = 0;
    bool complete = list_all(r, &ids, &nids);
    for (size_t i = 0; complete && i < nids && !stopping(r); i++) {
        sg_session_record rec;
        sg_status st = sg_ledger_get_session(r->o.ledger, ids[i], &rec, NULL);
        if (st != SG_E_NOT_FOUND) { /* recorded (never touched here), or store trouble */
            if (st != SG_OK && st != SG_E_MALFORMED) complete = false;
            continue;
        }
        wait_box w = {.r = r};
        r->o.orch->ops->inspect_seat(r->o.orch->self, ids[i], on_inspected, &w);
        box_wait(&w);
        if (w.res.status == SG_E_NOT_FOUND) continue; /* gone meanwhile */
        if (w.res.status != SG_OK) {
            complete = false;
            free(w.seat);
            continue;
        }
        long long now = sg_clock_wall_ms();
        for (size_t k = 0; k < ndue; k++) {
            verdict v = judge(r, &due[k].in, w.seat, now);
            if (v == TOO_YOUNG) due[k].keep = true;
            if (v != MATCH) continue;
            /* Last look: a record written since means its creator has it. */
            st = sg_ledger_get_session(r->o.ledger, ids[i], &rec, NULL);
            if (st != SG_E_NOT_FOUND) {
                if (st != SG_OK) complete = false;
                break;
            }
            st = sg_ledger_enqueue_delete(r->o.ledger, ids[i], "reconciled", r->instance);
            if (st != SG_OK) {
                complete = false;
                break;
            }
            queued++;
            sg_counter_inc(r->sessions);
            SG_WARN("reconcile", "session_reconciled",
                    "session_id=%s ip=%s intent=%s matched_by=%s", ids[i], due[k].in.player_ip,
                    due[k].in.marker, w.seat->marker[0] ? "marker" : "time");
            break;
        }
        free(w.seat);
    }
    free_ids(ids, nids);
    for (size_t k = 0; k < ndue; k++) {
        if (!complete) break; /* the claims lapse; a later pass looks again */
        if (due[k].keep) continue;
        if (sg_ledger_ack_intent(r->o.ledger, due[k].in.marker) == SG_OK)
            sg_counter_inc(r->intents);
    }
    if (!complete)
        SG_WARN("reconcile", "pass_incomplete", "intents=%zu queued=%zu", ndue, queued);
    else
        SG_INFO("reconcile", "pass_done", "intents=%zu sessions=%zu queued=%zu", ndue, nids,
                queued);
    free(due);
    return queued;
}

/* ---- lifecycle ---- */

sg_status sg_reconciler_new(const sg_reconciler_options *o, sg_reconciler **out)
{
    *out = NULL;
    if (!o->ledger || !o->orch || !o->metrics || !o->orch->ops->list_seats ||
        !o->orch->ops->inspect_seat)
        return sg_fail(SG_E_INVALID, "reconciler: ledger, metrics and an orchestrator that "
                                     "lists and inspects seats are required");
    sg_reconciler *r = calloc(1, sizeof *r);
    if (!r) return sg_fail(SG_E_NOMEM, "reconciler: out of memory");
    r->o = *o;
    if (r->o.lease_ms <= 0) r->o.lease_ms = 60000;
    if (r->o.clock_skew_ms <= 0) r->o.clock_skew_ms = 5000;
    r->instance = strdup(o->instance ? o->instance : "matchmaker");
    if (!r->instance) {
        free(r);
        return sg_fail(SG_E_NOMEM, "reconciler: out of memory");
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->sessions = sg_metrics_counter(
        o->metrics, "seatgate_sessions_reconciled_total",
        "Sessions created for a create intent whose answer was lost, queued for deletion", NULL);
    r->intents = sg_metrics_counter(o->metrics, "seatgate_create_intents_reconciled_total",
                                    "Create intents left behind and reconciled", NULL);
    *out = r;
    return SG_OK;
}

void sg_reconciler_free(sg_reconciler *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->instance);
    free(r);
}
