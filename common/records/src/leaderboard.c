/* Leaderboard records: players, how far events are applied, the journal, the lease. */
#include "records_json.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_LB_RATING_MIN -100000.0
#define SG_LB_RATING_MAX 100000.0

/* ---- players ------------------------------------------------------------------------------ */

static void player_read(jr *r, const cJSON *o, sg_lb_player *p)
{
    memset(p, 0, sizeof *p);
    jr_str(r, o, "id", true, JR_TEXT, p->id, sizeof p->id);
    const cJSON *anon = cJSON_GetObjectItemCaseSensitive(o, "anonymous");
    if (anon && !cJSON_IsBool(anon)) jr_fail(r, "anonymous", "is not a boolean");
    p->anonymous = cJSON_IsTrue(anon);
    const cJSON *totals = jr_obj(r, o, "totals", false);
    const cJSON *t;
    cJSON_ArrayForEach(t, totals)
    {
        if (r->st != SG_OK) break;
        if (p->nkinds >= SG_LB_KINDS_MAX) {
            jr_fail(r, "totals", "has more than 16 kinds");
            break;
        }
        sg_lb_total *k = &p->totals[p->nkinds];
        size_t n = strlen(t->string);
        if (n == 0 || n >= sizeof k->kind ||
            strspn(t->string, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
            jr_fail(r, "totals", "has a kind that is not snake_case");
            break;
        }
        memcpy(k->kind, t->string, n + 1);
        if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) ||
            fabs(t->valuedouble) > (double)JR_MAX_SAFE_INT ||
            t->valuedouble != (double)(long long)t->valuedouble) {
            jr_fail(r, "totals", "has a value that is not an integer");
            break;
        }
        k->sum = (long long)t->valuedouble;
        p->nkinds++;
    }
    jr_int(r, o, "sessions", false, 0, JR_MAX_SAFE_INT, &p->sessions);
    jr_ms(r, o, "last_seen", false, &p->last_seen);
    bool has = false;
    jr_double(r, o, "rating", SG_LB_RATING_MIN, SG_LB_RATING_MAX, &p->rating, &has);
    if (!has && r->st == SG_OK) jr_fail(r, "rating", "is missing");
    jr_int(r, o, "rated", false, 0, JR_MAX_SAFE_INT, &p->rated);
    long long pos = 0;
    jr_int(r, o, "pos", true, 0, JR_MAX_SAFE_INT, &pos);
    p->pos = (uint64_t)pos;
    jr_ms(r, o, "updated_at", true, &p->updated_at);
}

static bool player_write(cJSON *o, const sg_lb_player *p)
{
    bool ok = true;
    JW_STR(o, "id", p->id, &ok);
    if (!cJSON_AddBoolToObject(o, "anonymous", p->anonymous)) ok = false;
    cJSON *totals = cJSON_AddObjectToObject(o, "totals");
    if (!totals) ok = false;
    for (size_t i = 0; ok && i < p->nkinds && i < SG_LB_KINDS_MAX; i++)
        jw_num(totals, p->totals[i].kind, (double)p->totals[i].sum, &ok);
    jw_num(o, "sessions", (double)p->sessions, &ok);
    jw_num(o, "last_seen", (double)p->last_seen, &ok);
    jw_num(o, "rating", p->rating, &ok);
    jw_num(o, "rated", (double)p->rated, &ok);
    jw_num(o, "pos", (double)p->pos, &ok);
    jw_num(o, "updated_at", (double)p->updated_at, &ok);
    return ok;
}

static sg_status check_player(const char *json, size_t len, void *scratch)
{
    return sg_lb_player_from_json(json, len, scratch);
}

sg_status sg_lb_player_from_json(const char *json, size_t len, sg_lb_player *out)
{
    jr r = {.what = "leaderboard player"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    player_read(&r, o, out);
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_lb_player_to_json(const sg_lb_player *p, char **out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "leaderboard player: out of memory");
    bool ok = player_write(o, p);
    sg_lb_player scratch;
    return jw_finish(o, ok, "leaderboard player", check_player, &scratch, out);
}

const char *sg_lb_player_key(const char *id, char *buf, size_t size)
{
    unsigned char d[16];
    crypto_generichash(d, sizeof d, (const unsigned char *)id, strlen(id), NULL, 0);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, d, sizeof d);
    snprintf(buf, size, "p_%s", hex);
    return buf;
}

long long sg_lb_player_total(const sg_lb_player *p, const char *kind)
{
    for (size_t i = 0; i < p->nkinds; i++)
        if (strcmp(p->totals[i].kind, kind) == 0) return p->totals[i].sum;
    return 0;
}

/* ---- how far events are applied ---------------------------------------------------------- */

static void state_read(jr *r, const cJSON *o, sg_lb_state *s)
{
    memset(s, 0, sizeof *s);
    long long pos = 0;
    jr_int(r, o, "pos", true, 0, JR_MAX_SAFE_INT, &pos);
    s->pos = (uint64_t)pos;
    jr_int(r, o, "applied", false, 0, JR_MAX_SAFE_INT, &s->applied);
    const cJSON *sk = jr_obj(r, o, "skipped", false);
    if (sk) {
        jr_int(r, sk, "malformed", false, 0, JR_MAX_SAFE_INT, &s->malformed);
        jr_int(r, sk, "unknown_kind", false, 0, JR_MAX_SAFE_INT, &s->unknown_kind);
        jr_int(r, sk, "oversize", false, 0, JR_MAX_SAFE_INT, &s->oversize);
        jr_int(r, sk, "unrated", false, 0, JR_MAX_SAFE_INT, &s->unrated);
    }
    jr_ms(r, o, "updated_at", true, &s->updated_at);
}

static bool state_write(cJSON *o, const sg_lb_state *s)
{
    bool ok = true;
    jw_num(o, "pos", (double)s->pos, &ok);
    jw_num(o, "applied", (double)s->applied, &ok);
    cJSON *sk = jw_obj(o, "skipped", &ok);
    if (sk) {
        jw_num(sk, "malformed", (double)s->malformed, &ok);
        jw_num(sk, "unknown_kind", (double)s->unknown_kind, &ok);
        jw_num(sk, "oversize", (double)s->oversize, &ok);
        jw_num(sk, "unrated", (double)s->unrated, &ok);
    }
    jw_num(o, "updated_at", (double)s->updated_at, &ok);
    return ok;
}

static sg_status check_state(const char *json, size_t len, void *scratch)
{
    return sg_lb_state_from_json(json, len, scratch);
}

sg_status sg_lb_state_from_json(const char *json, size_t len, sg_lb_state *out)
{
    jr r = {.what = "leaderboard state"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    state_read(&r, o, out);
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_lb_state_to_json(const sg_lb_state *s, char **out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "leaderboard state: out of memory");
    bool ok = state_write(o, s);
    sg_lb_state scratch;
    return jw_finish(o, ok, "leaderboard state", check_state, &scratch, out);
}

/* ---- the journal --------------------------------------------------------------------------- */

static sg_status check_journal(const char *json, size_t len, void *scratch)
{
    sg_lb_journal *j = scratch;
    sg_status st = sg_lb_journal_from_json(json, len, j);
    free(j->players);
    j->players = NULL;
    return st;
}

sg_status sg_lb_journal_from_json(const char *json, size_t len, sg_lb_journal *out)
{
    jr r = {.what = "leaderboard journal"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    long long from = 0;
    jr_int(&r, o, "from", true, 0, JR_MAX_SAFE_INT, &from);
    out->from = (uint64_t)from;
    const cJSON *st = jr_obj(&r, o, "state", true);
    if (st) state_read(&r, st, &out->state);
    const cJSON *players = cJSON_GetObjectItemCaseSensitive(o, "players");
    if (r.st == SG_OK && !cJSON_IsArray(players)) jr_fail(&r, "players", "must be an array");
    int n = r.st == SG_OK ? cJSON_GetArraySize(players) : 0;
    if (r.st == SG_OK && n > SG_LB_JOURNAL_MAX) jr_fail(&r, "players", "has more than 256 entries");
    if (r.st == SG_OK && n > 0 && !(out->players = calloc((size_t)n, sizeof *out->players)))
        r.st = sg_fail(SG_E_NOMEM, "leaderboard journal: out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, players)
    {
        if (r.st != SG_OK) break;
        if (!cJSON_IsObject(it)) {
            jr_fail(&r, "players", "entries must be objects");
            break;
        }
        jr pr = {.what = "leaderboard journal player"};
        player_read(&pr, it, &out->players[out->count]);
        if (pr.st != SG_OK) r.st = pr.st;
        out->count++;
    }
    cJSON_Delete(o);
    if (r.st != SG_OK) {
        free(out->players);
        out->players = NULL;
        out->count = 0;
    }
    return r.st;
}

sg_status sg_lb_journal_to_json(const sg_lb_journal *j, char **out)
{
    *out = NULL;
    if (j->count > SG_LB_JOURNAL_MAX)
        return sg_fail(SG_E_INVALID, "leaderboard journal: more than 256 players");
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "leaderboard journal: out of memory");
    bool ok = true;
    jw_num(o, "from", (double)j->from, &ok);
    cJSON *st = jw_obj(o, "state", &ok);
    if (st && !state_write(st, &j->state)) ok = false;
    cJSON *players = cJSON_AddArrayToObject(o, "players");
    if (!players) ok = false;
    for (size_t i = 0; ok && i < j->count; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(players, e)) {
            cJSON_Delete(e);
            ok = false;
            break;
        }
        if (!player_write(e, &j->players[i])) ok = false;
    }
    sg_lb_journal scratch;
    return jw_finish(o, ok, "leaderboard journal", check_journal, &scratch, out);
}

/* ---- the lease ------------------------------------------------------------------------------ */

static sg_status check_lease(const char *json, size_t len, void *scratch)
{
    return sg_lb_lease_from_json(json, len, scratch);
}

sg_status sg_lb_lease_from_json(const char *json, size_t len, sg_lb_lease *out)
{
    jr r = {.what = "leaderboard lease"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    jr_str(&r, o, "holder", true, JR_TEXT, out->holder, sizeof out->holder);
    jr_ms(&r, o, "until", true, &out->until);
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_lb_lease_to_json(const sg_lb_lease *l, char **out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "leaderboard lease: out of memory");
    bool ok = true;
    JW_STR(o, "holder", l->holder, &ok);
    jw_num(o, "until", (double)l->until, &ok);
    sg_lb_lease scratch;
    return jw_finish(o, ok, "leaderboard lease", check_lease, &scratch, out);
}
