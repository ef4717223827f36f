/* Applying events to players: batches, ELO, the journal. */
#include "lb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seatgate/log.h"

#define KEY_APPLIED "applied"
#define KEY_JOURNAL "journal"

static bool snake(const char *s, size_t n)
{
    return n > 0 && n < SG_REC_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

sg_status sg_lb_rules_set_kinds(sg_lb_rules *r, const char *list)
{
    r->nkinds = 0;
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && p[0] == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        if (!snake(p, n))
            return sg_fail(SG_E_INVALID, "'%.*s' is not a snake_case score kind",
                           (int)(n > 63 ? 63 : n), p);
        if (r->nkinds == SG_LB_KINDS_CONF_MAX)
            return sg_fail(SG_E_INVALID, "at most %d", SG_LB_KINDS_CONF_MAX);
        memcpy(r->kinds[r->nkinds], p, n);
        r->kinds[r->nkinds][n] = '\0';
        for (size_t i = 0; i < r->nkinds; i++)
            if (strcmp(r->kinds[i], r->kinds[r->nkinds]) == 0)
                return sg_fail(SG_E_INVALID, "'%s' is listed twice", r->kinds[i]);
        r->nkinds++;
        p = end ? end + 1 : p + n;
    }
    if (r->nkinds == 0) return sg_fail(SG_E_INVALID, "at least one score kind");
    return SG_OK;
}

bool sg_lb_rules_has_kind(const sg_lb_rules *r, const char *kind)
{
    for (size_t i = 0; i < r->nkinds; i++)
        if (strcmp(r->kinds[i], kind) == 0) return true;
    return false;
}

void sg_lb_elo(double winner, double loser, double k, double *winner_out, double *loser_out)
{
    double expected = 1.0 / (1.0 + pow(10.0, (loser - winner) / 400.0));
    double delta = k * (1.0 - expected);
    *winner_out = winner + delta;
    *loser_out = loser - delta;
}

void sg_lb_identity(const char *user_id, const char *session_id, char *out, size_t size)
{
    if (user_id && *user_id)
        snprintf(out, size, "%s", user_id);
    else if (session_id && *session_id)
        snprintf(out, size, "anon-%s", session_id);
    else if (size)
        out[0] = '\0';
}

void sg_lb_batch_init(sg_lb_batch *b, const sg_lb_rules *rules, const sg_lb_state *from,
                      sg_lb_load_fn load, void *load_arg)
{
    b->rules = rules;
    b->load = load;
    b->load_arg = load_arg;
    b->from = *from;
    b->state = *from;
    b->count = 0;
}

bool sg_lb_batch_full(const sg_lb_batch *b)
{
    return b->count + 2 > SG_LB_JOURNAL_MAX;
}

/* The batch's record of player id (loaded, or new), or NULL with *st set. */
static sg_lb_player *player(sg_lb_batch *b, const char *id, bool anonymous, sg_status *st)
{
    for (size_t i = 0; i < b->count; i++)
        if (strcmp(b->players[i].id, id) == 0) return &b->players[i];
    sg_lb_player *p = &b->players[b->count];
    *st = b->load(b->load_arg, id, p);
    if (*st == SG_E_NOT_FOUND) {
        memset(p, 0, sizeof *p);
        snprintf(p->id, sizeof p->id, "%s", id);
        p->anonymous = anonymous;
        p->rating = b->rules->initial_rating;
        *st = SG_OK;
    }
    if (*st != SG_OK) return NULL;
    b->count++;
    return p;
}

static bool add_total(sg_lb_player *p, const char *kind, long long v)
{
    for (size_t i = 0; i < p->nkinds; i++) {
        if (strcmp(p->totals[i].kind, kind) == 0) {
            p->totals[i].sum += v;
            return true;
        }
    }
    if (p->nkinds == SG_LB_KINDS_MAX) return false;
    snprintf(p->totals[p->nkinds].kind, sizeof p->totals[p->nkinds].kind, "%s", kind);
    p->totals[p->nkinds++].sum = v;
    return true;
}

static void touch(sg_lb_player *p, uint64_t pos, long long ts, long long now_ms)
{
    p->pos = pos;
    if (ts > p->last_seen) p->last_seen = ts;
    p->updated_at = now_ms;
}

sg_status sg_lb_batch_add(sg_lb_batch *b, uint64_t pos, const char *json, size_t len,
                          long long now_ms)
{
    const sg_lb_rules *r = b->rules;
    if (pos <= b->state.pos) return SG_OK; /* applied already: an event given again is a no-op */
    sg_lb_state next = b->state;
    next.pos = pos;
    next.updated_at = now_ms;
    sg_event e;
    if (len > r->max_event_bytes) {
        next.oversize++;
        b->state = next;
        return SG_OK;
    }
    if (sg_event_from_json(json, len, &e) != SG_OK) {
        next.malformed++;
        b->state = next;
        return SG_OK;
    }
    sg_status st = SG_OK;
    char id[SG_LB_ID_MAX], target[SG_LB_ID_MAX];
    if (e.kind == SG_EV_PLAYER_CONNECT) {
        sg_lb_identity(e.u.player.user_id, e.u.player.session_id, id, sizeof id);
        sg_lb_player *p = player(b, id, !e.u.player.user_id[0], &st);
        if (!p) goto failed;
        p->sessions++;
        touch(p, pos, e.ts, now_ms);
        next.applied++;
    } else if (e.kind == SG_EV_SCORE) {
        const char *kind = e.u.score.score_kind;
        if (!sg_lb_rules_has_kind(r, kind)) {
            next.unknown_kind++;
            b->state = next;
            return SG_OK;
        }
        sg_lb_identity(e.u.score.user_id, e.u.score.session_id, id, sizeof id);
        sg_lb_identity(e.u.score.target_user_id, e.u.score.target_session_id, target,
                       sizeof target);
        sg_lb_player *p = player(b, id, !e.u.score.user_id[0], &st);
        if (!p) goto failed;
        if (!add_total(p, kind, e.u.score.value)) {
            next.unknown_kind++; /* cannot be: fewer kinds are kept than a record holds */
            b->state = next;
            return SG_OK;
        }
        touch(p, pos, e.ts, now_ms);
        if (r->rated_kind[0] && strcmp(kind, r->rated_kind) == 0 && e.u.score.value > 0) {
            if (!target[0] || strcmp(target, id) == 0) {
                next.unrated++;
            } else {
                size_t pi = (size_t)(p - b->players);
                sg_lb_player *t = player(b, target, !e.u.score.target_user_id[0], &st);
                if (!t) goto failed;
                p = &b->players[pi];
                sg_lb_elo(p->rating, t->rating, r->k_factor, &p->rating, &t->rating);
                p->rated++;
                t->rated++;
                touch(t, pos, e.ts, now_ms);
            }
        }
        next.applied++;
    }
    /* other kinds (server up/down, rejections...) only move the position */
    b->state = next;
    return SG_OK;
failed:
    return st; /* a player could not be read: the caller drops the batch */
}

/* ---- writing ---------------------------------------------------------------------------- */

static int fault_kind; /* 0 none, 1 after_journal, 2 after_records, 3 mid_records */
static long fault_at = 1, fault_count;

void sg_lb_fault_init(void)
{
    const char *f = getenv("SEATGATE_LEADERBOARD_FAULT");
    const char *at = getenv("SEATGATE_LEADERBOARD_FAULT_AT");
    fault_kind = !f                                 ? 0
                 : strcmp(f, "after_journal") == 0 ? 1
                 : strcmp(f, "after_records") == 0 ? 2
                 : strcmp(f, "mid_records") == 0   ? 3
                                                   : 0;
    if (at && atol(at) > 0) fault_at = atol(at);
}

static void fault(int kind)
{
    if (fault_kind == kind && fault_count == fault_at) {
        SG_WARN("leaderboard", "fault_exit", "point=%s commit=%ld",
                kind == 1 ? "after_journal" : kind == 2 ? "after_records" : "mid_records",
                fault_count);
        _exit(97);
    }
}

/* The records and the state of a journal, in one sg_kv_write_many. */
static sg_status write_journaled(const sg_lb_store *s, const sg_lb_state *state,
                                 const sg_lb_player *players, size_t n)
{
    sg_kv_write *w = calloc(n + 1, sizeof *w);
    char **texts = calloc(n + 1, sizeof *texts);
    char (*keys)[40] = calloc(n ? n : 1, sizeof *keys);
    sg_status st = w && texts && keys ? SG_OK : sg_fail(SG_E_NOMEM, "leaderboard: out of memory");
    for (size_t i = 0; st == SG_OK && i < n; i++) {
        st = sg_lb_player_to_json(&players[i], &texts[i]);
        if (st != SG_OK) break;
        sg_lb_player_key(players[i].id, keys[i], sizeof keys[i]);
        w[i] = (sg_kv_write){.bucket = s->players, .key = keys[i], .value = texts[i],
                             .len = strlen(texts[i])};
    }
    if (st == SG_OK) st = sg_lb_state_to_json(state, &texts[n]);
    if (st == SG_OK) {
        w[n] = (sg_kv_write){.bucket = s->state, .key = KEY_APPLIED, .value = texts[n],
                             .len = strlen(texts[n])};
        if (fault_kind == 3 && fault_count == fault_at) { /* half the records, then stop */
            sg_kv_write_many(w, n / 2);
            fault(3);
        }
        st = sg_kv_write_many(w, n + 1);
    }
    for (size_t i = 0; texts && i <= n; i++) free(texts[i]);
    free(texts);
    free(keys);
    free(w);
    return st;
}

sg_status sg_lb_commit(const sg_lb_store *s, const sg_lb_batch *b)
{
    fault_count++;
    /* The journal says where the batch starts, so only a journal that continues the stored
     * state is ever written again. */
    sg_lb_journal j = {.from = b->from.pos,
                       .state = b->state,
                       .count = b->count,
                       .players = (sg_lb_player *)b->players};
    char *text = NULL;
    sg_status st = sg_lb_journal_to_json(&j, &text);
    if (st == SG_OK) st = sg_kv_put(s->state, KEY_JOURNAL, text, strlen(text), NULL);
    free(text);
    if (st != SG_OK) return st;
    fault(1);
    st = write_journaled(s, &b->state, b->players, b->count);
    if (st != SG_OK) return st;
    fault(2);
    return sg_kv_delete(s->state, KEY_JOURNAL);
}

static sg_status read_state(const sg_lb_store *s, sg_lb_state *out)
{
    memset(out, 0, sizeof *out);
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(s->state, KEY_APPLIED, &e);
    if (st == SG_E_NOT_FOUND) return SG_OK;
    if (st != SG_OK) return st;
    st = sg_lb_state_from_json(e->value, e->len, out);
    sg_kv_entry_free(e);
    return st;
}

sg_status sg_lb_recover(const sg_lb_store *s, sg_lb_state *out)
{
    sg_status st = read_state(s, out);
    if (st != SG_OK) return st;
    sg_kv_entry *e = NULL;
    st = sg_kv_get(s->state, KEY_JOURNAL, &e);
    if (st == SG_E_NOT_FOUND) return SG_OK;
    if (st != SG_OK) return st;
    sg_lb_journal j;
    st = sg_lb_journal_from_json(e->value, e->len, &j);
    sg_kv_entry_free(e);
    if (st != SG_OK) return st; /* an unreadable journal: refuse to guess */
    if (j.from == out->pos && j.state.pos > out->pos) {
        SG_INFO("leaderboard", "journal_redo", "from=%llu to=%llu players=%zu",
                (unsigned long long)j.from, (unsigned long long)j.state.pos, j.count);
        st = write_journaled(s, &j.state, j.players, j.count);
        if (st == SG_OK) *out = j.state;
    } else {
        SG_INFO("leaderboard", "journal_dropped", "from=%llu to=%llu applied=%llu",
                (unsigned long long)j.from, (unsigned long long)j.state.pos,
                (unsigned long long)out->pos);
    }
    free(j.players);
    if (st == SG_OK) st = sg_kv_delete(s->state, KEY_JOURNAL);
    return st;
}
