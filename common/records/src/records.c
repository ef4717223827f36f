/* Bucket and queue records: sessions, game servers, contexts, delete jobs. */
#include "records_json.h"

#include "seatgate/addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

static const char *const session_states[] = {"unclaimed", "claimed", "released"};

const char *sg_session_state_name(sg_session_state st)
{
    return (unsigned)st < 3 ? session_states[st] : "unknown";
}

/* ---- sessions ----------------------------------------------------------------------------- */

static void read_deployment(jr *r, const cJSON *o, sg_deployment_ref *d)
{
    memset(d, 0, sizeof *d);
    jr_str(r, o, "request_id", true, JR_TEXT, d->request_id, sizeof d->request_id);
    jr_str(r, o, "public_ip", true, JR_IP, d->public_ip, sizeof d->public_ip);
    jr_str(r, o, "fqdn", false, JR_KEY, d->fqdn, sizeof d->fqdn);
    long long port = 0;
    jr_int(r, o, "port", true, 1, 65535, &port);
    d->port = (uint16_t)port;
    jr_str(r, o, "protocol", false, JR_TEXT, d->protocol, sizeof d->protocol);
    const cJSON *loc = jr_obj(r, o, "location", false);
    if (loc) {
        d->has_location = true;
        jr_location(r, loc, &d->location);
    }
}

static sg_status check_session(const char *json, size_t len, void *scratch)
{
    return sg_session_from_json(json, len, scratch);
}

sg_status sg_session_from_json(const char *json, size_t len, sg_session_record *out)
{
    jr r = {.what = "session record"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    jr_str(&r, o, "session_id", true, JR_KEY, out->session_id, sizeof out->session_id);
    int st = jr_enum(&r, o, "state", session_states, 3);
    out->state = st < 0 ? SG_SESSION_UNCLAIMED : (sg_session_state)st;
    jr_ms(&r, o, "created_at", true, &out->created_at);
    jr_ms(&r, o, "claim_deadline", true, &out->claim_deadline);
    jr_client_id(&r, o, "client_id", false, &out->client_id);
    jr_str(&r, o, "player_ip", false, JR_IP, out->player_ip, sizeof out->player_ip);
    jr_str(&r, o, "app", false, JR_TEXT, out->app, sizeof out->app);
    jr_str(&r, o, "version", false, JR_TEXT, out->version, sizeof out->version);
    const cJSON *cb = jr_obj(&r, o, "claimed_by", false);
    if (cb) {
        jr_str(&r, cb, "fqdn", true, JR_KEY, out->claimed_by_fqdn, sizeof out->claimed_by_fqdn);
        jr_str(&r, cb, "request_id", false, JR_TEXT, out->claimed_by_request_id,
               sizeof out->claimed_by_request_id);
    }
    jr_ms(&r, o, "claimed_at", false, &out->claimed_at);
    jr_ms(&r, o, "released_at", false, &out->released_at);
    jr_str(&r, o, "release_reason", false, JR_CODE, out->release_reason,
           sizeof out->release_reason);
    const cJSON *dep = jr_obj(&r, o, "deployment", false);
    if (dep) {
        out->has_deployment = true;
        read_deployment(&r, dep, &out->deployment);
    }
    jr_str(&r, o, "matchmaker", false, JR_TEXT, out->matchmaker, sizeof out->matchmaker);
    jr_str(&r, o, "user_id", false, JR_USER, out->user_id, sizeof out->user_id);
    const cJSON *pl = jr_obj(&r, o, "placement", false);
    if (pl) {
        static const char *const decisions[] = {"joined", "new_server", "platform"};
        int k = jr_enum(&r, pl, "decision", decisions, 3);
        if (k >= 0) snprintf(out->placement, sizeof out->placement, "%s", decisions[k]);
        jr_str(&r, pl, "location", false, JR_TEXT, out->placement_location,
               sizeof out->placement_location);
        jr_double(&r, pl, "rtt_ms", 0, 100000, &out->placement_rtt_ms, &out->has_placement_rtt);
        jr_str(&r, pl, "source", false, JR_CODE, out->placement_source,
               sizeof out->placement_source);
    }
    if (r.st == SG_OK && out->state == SG_SESSION_CLAIMED && (!cb || !out->claimed_at))
        jr_fail(&r, "claimed_by/claimed_at", "are required when state is claimed");
    if (r.st == SG_OK && out->state == SG_SESSION_RELEASED && !out->released_at)
        jr_fail(&r, "released_at", "is required when state is released");
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_session_to_json(const sg_session_record *s, char **out)
{
    bool ok = true;
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "session record: out of memory");
    JW_STR(o, "session_id", s->session_id, &ok);
    jw_str(o, "state", sg_session_state_name(s->state), 16, &ok);
    jw_num(o, "created_at", (double)s->created_at, &ok);
    jw_num(o, "claim_deadline", (double)s->claim_deadline, &ok);
    jw_client_id(o, "client_id", s->client_id, &ok);
    JW_STR(o, "player_ip", s->player_ip, &ok);
    JW_STR(o, "app", s->app, &ok);
    JW_STR(o, "version", s->version, &ok);
    if (s->claimed_by_fqdn[0]) {
        cJSON *cb = jw_obj(o, "claimed_by", &ok);
        if (cb) {
            JW_STR(cb, "fqdn", s->claimed_by_fqdn, &ok);
            JW_STR(cb, "request_id", s->claimed_by_request_id, &ok);
        }
    }
    if (s->claimed_at) jw_num(o, "claimed_at", (double)s->claimed_at, &ok);
    if (s->released_at) jw_num(o, "released_at", (double)s->released_at, &ok);
    JW_STR(o, "release_reason", s->release_reason, &ok);
    if (s->has_deployment) {
        const sg_deployment_ref *d = &s->deployment;
        cJSON *dj = jw_obj(o, "deployment", &ok);
        if (dj) {
            JW_STR(dj, "request_id", d->request_id, &ok);
            JW_STR(dj, "public_ip", d->public_ip, &ok);
            JW_STR(dj, "fqdn", d->fqdn, &ok);
            jw_num(dj, "port", d->port, &ok);
            JW_STR(dj, "protocol", d->protocol, &ok);
            if (d->has_location) jw_location(dj, "location", &d->location, &ok);
        }
    }
    JW_STR(o, "matchmaker", s->matchmaker, &ok);
    JW_STR(o, "user_id", s->user_id, &ok);
    if (s->placement[0]) {
        cJSON *pl = jw_obj(o, "placement", &ok);
        if (pl) {
            JW_STR(pl, "decision", s->placement, &ok);
            JW_STR(pl, "location", s->placement_location, &ok);
            if (s->has_placement_rtt) jw_num(pl, "rtt_ms", s->placement_rtt_ms, &ok);
            JW_STR(pl, "source", s->placement_source, &ok);
        }
    }
    sg_session_record scratch;
    return jw_finish(o, ok, "session record", check_session, &scratch, out);
}

/* ---- game servers ------------------------------------------------------------------------- */

static sg_status check_gameserver(const char *json, size_t len, void *scratch)
{
    return sg_gameserver_from_json(json, len, scratch);
}

sg_status sg_gameserver_from_json(const char *json, size_t len, sg_gameserver_record *out)
{
    jr r = {.what = "gameserver record"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    jr_str(&r, o, "request_id", true, JR_TEXT, out->request_id, sizeof out->request_id);
    jr_str(&r, o, "fqdn", true, JR_KEY, out->fqdn, sizeof out->fqdn);
    jr_str(&r, o, "public_ip", true, JR_IP, out->public_ip, sizeof out->public_ip);
    const cJSON *ports = jr_obj(&r, o, "ports", true);
    const cJSON *p = NULL;
    if (ports) {
        cJSON_ArrayForEach(p, ports)
        {
            if (out->port_count == SG_REC_PORTS_MAX) {
                jr_fail(&r, "ports", "has too many entries");
                break;
            }
            sg_port *sp = &out->ports[out->port_count++];
            if (!cJSON_IsObject(p) || !p->string || !p->string[0] ||
                strlen(p->string) >= sizeof sp->name) {
                jr_fail(&r, "ports", "entries must be objects keyed by a short name");
                break;
            }
            memcpy(sp->name, p->string, strlen(p->string) + 1);
            long long ext = 0, in = 0;
            jr_int(&r, p, "external", true, 1, 65535, &ext);
            jr_int(&r, p, "internal", true, 1, 65535, &in);
            sp->external = (uint16_t)ext;
            sp->internal = (uint16_t)in;
            jr_str(&r, p, "protocol", true, JR_TEXT, sp->protocol, sizeof sp->protocol);
        }
        if (r.st == SG_OK && out->port_count == 0) jr_fail(&r, "ports", "is empty");
    }
    const cJSON *loc = jr_obj(&r, o, "location", false);
    if (loc) {
        out->has_location = true;
        jr_location(&r, loc, &out->location);
    }
    long long cap = 0, players = 0;
    jr_int(&r, o, "capacity", true, 0, 1000000, &cap);
    jr_int(&r, o, "players", true, 0, 1000000, &players);
    out->capacity = (int)cap;
    out->players = (int)players;
    jr_str(&r, o, "cert_digest", false, JR_HEX64, out->cert_digest, sizeof out->cert_digest);
    jr_ms(&r, o, "started_at", true, &out->started_at);
    jr_ms(&r, o, "heartbeat_at", true, &out->heartbeat_at);
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_gameserver_to_json(const sg_gameserver_record *g, char **out)
{
    bool ok = true;
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "gameserver record: out of memory");
    JW_STR(o, "request_id", g->request_id, &ok);
    JW_STR(o, "fqdn", g->fqdn, &ok);
    JW_STR(o, "public_ip", g->public_ip, &ok);
    cJSON *ports = jw_obj(o, "ports", &ok);
    for (size_t i = 0; ports && i < g->port_count && i < SG_REC_PORTS_MAX; i++) {
        const sg_port *p = &g->ports[i];
        if (strnlen(p->name, sizeof p->name) == sizeof p->name || !p->name[0]) {
            ok = false;
            break;
        }
        cJSON *pj = jw_obj(ports, p->name, &ok);
        if (!pj) break;
        jw_num(pj, "external", p->external, &ok);
        jw_num(pj, "internal", p->internal, &ok);
        JW_STR(pj, "protocol", p->protocol, &ok);
    }
    if (g->has_location) jw_location(o, "location", &g->location, &ok);
    jw_num(o, "capacity", g->capacity, &ok);
    jw_num(o, "players", g->players, &ok);
    JW_STR(o, "cert_digest", g->cert_digest, &ok);
    jw_num(o, "started_at", (double)g->started_at, &ok);
    jw_num(o, "heartbeat_at", (double)g->heartbeat_at, &ok);
    sg_gameserver_record *scratch = malloc(sizeof *scratch);
    if (!scratch) {
        cJSON_Delete(o);
        return sg_fail(SG_E_NOMEM, "gameserver record: out of memory");
    }
    sg_status st = jw_finish(o, ok, "gameserver record", check_gameserver, scratch, out);
    free(scratch);
    return st;
}

/* ---- contexts ----------------------------------------------------------------------------- */

sg_status sg_context_check(const char *json, size_t len, sg_context_info *out)
{
    sg_context_info tmp;
    if (!out) out = &tmp;
    memset(out, 0, sizeof *out);
    jr r = {.what = "context"};
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    jr_str(&r, o, "request_id", true, JR_TEXT, out->request_id, sizeof out->request_id);
    jr_str(&r, o, "public_ip", true, JR_IP, out->public_ip, sizeof out->public_ip);
    jr_str(&r, o, "fqdn", true, JR_KEY, out->fqdn, sizeof out->fqdn);
    const cJSON *ports = jr_obj(&r, o, "ports", true);
    const cJSON *p = NULL;
    if (ports) {
        cJSON_ArrayForEach(p, ports)
        {
            long long ext = 0;
            if (!cJSON_IsObject(p)) {
                jr_fail(&r, "ports", "entries must be objects");
                break;
            }
            jr_int(&r, p, "external", true, 1, 65535, &ext);
            out->port_count++;
        }
    }
    cJSON_Delete(o);
    return r.st;
}

/* ---- delete jobs -------------------------------------------------------------------------- */

static sg_status check_delete_job(const char *json, size_t len, void *scratch)
{
    return sg_delete_job_from_json(json, len, scratch);
}

sg_status sg_delete_job_from_json(const char *json, size_t len, sg_delete_job *out)
{
    jr r = {.what = "delete job"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    jr_str(&r, o, "session_id", true, JR_KEY, out->session_id, sizeof out->session_id);
    jr_str(&r, o, "reason", true, JR_CODE, out->reason, sizeof out->reason);
    jr_ms(&r, o, "enqueued_at", true, &out->enqueued_at);
    jr_str(&r, o, "requested_by", true, JR_TEXT, out->requested_by, sizeof out->requested_by);
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_delete_job_to_json(const sg_delete_job *j, char **out)
{
    bool ok = true;
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "delete job: out of memory");
    JW_STR(o, "session_id", j->session_id, &ok);
    JW_STR(o, "reason", j->reason, &ok);
    jw_num(o, "enqueued_at", (double)j->enqueued_at, &ok);
    JW_STR(o, "requested_by", j->requested_by, &ok);
    sg_delete_job scratch;
    return jw_finish(o, ok, "delete job", check_delete_job, &scratch, out);
}

/* ---- session create intents --------------------------------------------------------------- */

static sg_status check_intent(const char *json, size_t len, void *scratch)
{
    return sg_create_intent_from_json(json, len, scratch);
}

sg_status sg_create_intent_from_json(const char *json, size_t len, sg_create_intent *out)
{
    jr r = {.what = "create intent"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    if (jr_str(&r, o, "marker", true, JR_KEY, out->marker, sizeof out->marker) &&
        strlen(out->marker) != SG_INTENT_MARKER_LEN)
        jr_fail(&r, "marker", "must be 32 hex digits");
    for (const char *p = out->marker; r.st == SG_OK && *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            jr_fail(&r, "marker", "must be 32 hex digits");
    jr_str(&r, o, "player_ip", true, JR_IP, out->player_ip, sizeof out->player_ip);
    jr_str(&r, o, "app", true, JR_TEXT, out->app, sizeof out->app);
    jr_str(&r, o, "version", true, JR_TEXT, out->version, sizeof out->version);
    jr_ms(&r, o, "created_at", true, &out->created_at);
    jr_int(&r, o, "window_ms", true, 0, 86400000LL, &out->window_ms);
    jr_ms(&r, o, "reconcile_after", true, &out->reconcile_after);
    jr_str(&r, o, "marker_via", false, JR_CODE, out->marker_via, sizeof out->marker_via);
    jr_str(&r, o, "matchmaker", true, JR_TEXT, out->matchmaker, sizeof out->matchmaker);
    jr_str(&r, o, "reconciling_by", false, JR_TEXT, out->reconciling_by,
           sizeof out->reconciling_by);
    jr_ms(&r, o, "reconciling_at", false, &out->reconciling_at);
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_create_intent_to_json(const sg_create_intent *i, char **out)
{
    bool ok = true;
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "create intent: out of memory");
    JW_STR(o, "marker", i->marker, &ok);
    JW_STR(o, "player_ip", i->player_ip, &ok);
    JW_STR(o, "app", i->app, &ok);
    JW_STR(o, "version", i->version, &ok);
    jw_num(o, "created_at", (double)i->created_at, &ok);
    jw_num(o, "window_ms", (double)i->window_ms, &ok);
    jw_num(o, "reconcile_after", (double)i->reconcile_after, &ok);
    JW_STR(o, "marker_via", i->marker_via, &ok);
    JW_STR(o, "matchmaker", i->matchmaker, &ok);
    JW_STR(o, "reconciling_by", i->reconciling_by, &ok);
    if (i->reconciling_at) jw_num(o, "reconciling_at", (double)i->reconciling_at, &ok);
    sg_create_intent scratch;
    return jw_finish(o, ok, "create intent", check_intent, &scratch, out);
}

/* ---- certificate digests ---- */

sg_status sg_cert_digest_normalize(const char *in, char out[SG_REC_DIGEST_LEN + 1])
{
    out[0] = '\0';
    if (!in) return sg_fail(SG_E_INVALID, "certificate digest: missing");
    size_t n = 0, pos = 0;
    for (const char *p = in; *p; p++, pos++) {
        char c = *p;
        if (c == ':') continue;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex)
            return sg_fail(SG_E_INVALID,
                           "certificate digest: character %zu is not a hex digit or ':'", pos + 1);
        if (n == SG_REC_DIGEST_LEN) {
            n++;
            break;
        }
        out[n++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    if (n != SG_REC_DIGEST_LEN) {
        out[0] = '\0';
        if (n > SG_REC_DIGEST_LEN)
            return sg_fail(SG_E_INVALID, "certificate digest: expected the 32-byte SHA-256 of the "
                                         "certificate (64 hex digits, colons allowed), got more");
        return sg_fail(SG_E_INVALID,
                       "certificate digest: expected the 32-byte SHA-256 of the certificate (64 hex "
                       "digits, colons allowed), got %zu digits",
                       n);
    }
    out[n] = '\0';
    return SG_OK;
}

/* ---- player seats --------------------------------------------------------------------------- */

static bool hex32(const char *m)
{
    if (strlen(m) != SG_INTENT_MARKER_LEN) return false;
    for (const char *p = m; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}

static sg_status check_player_seats(const char *json, size_t len, void *scratch)
{
    return sg_player_seats_from_json(json, len, scratch);
}

sg_status sg_player_seats_from_json(const char *json, size_t len, sg_player_seats *out)
{
    jr r = {.what = "player seats"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    jr_str(&r, o, "player", true, JR_TEXT, out->player, sizeof out->player);
    jr_ms(&r, o, "updated_at", true, &out->updated_at);
    const cJSON *seats = cJSON_GetObjectItemCaseSensitive(o, "seats");
    if (r.st == SG_OK && !cJSON_IsArray(seats)) jr_fail(&r, "seats", "must be an array");
    if (r.st == SG_OK && cJSON_GetArraySize(seats) > SG_PLAYER_SEATS_MAX)
        jr_fail(&r, "seats", "has more than 8 entries");
    const cJSON *it;
    cJSON_ArrayForEach(it, seats)
    {
        if (r.st != SG_OK) break;
        if (!cJSON_IsObject(it)) {
            jr_fail(&r, "seats", "entries must be objects");
            break;
        }
        sg_player_seat *s = &out->seats[out->count++];
        if (jr_str(&r, it, "marker", true, JR_TEXT, s->marker, sizeof s->marker) &&
            !hex32(s->marker))
            jr_fail(&r, "seats.marker", "must be 32 hex digits");
        jr_str(&r, it, "session_id", false, JR_KEY, s->session_id, sizeof s->session_id);
        jr_ms(&r, it, "until", true, &s->until);
    }
    cJSON_Delete(o);
    return r.st;
}

sg_status sg_player_seats_to_json(const sg_player_seats *p, char **out)
{
    bool ok = true;
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "player seats: out of memory");
    JW_STR(o, "player", p->player, &ok);
    cJSON *seats = cJSON_AddArrayToObject(o, "seats");
    if (!seats) ok = false;
    for (size_t i = 0; ok && i < p->count && i < SG_PLAYER_SEATS_MAX; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(seats, e)) {
            cJSON_Delete(e);
            ok = false;
            break;
        }
        JW_STR(e, "marker", p->seats[i].marker, &ok);
        JW_STR(e, "session_id", p->seats[i].session_id, &ok);
        jw_num(e, "until", (double)p->seats[i].until, &ok);
    }
    jw_num(o, "updated_at", (double)p->updated_at, &ok);
    sg_player_seats scratch;
    return jw_finish(o, ok, "player seats", check_player_seats, &scratch, out);
}

bool sg_user_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= SG_REC_USER_MAX) return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@|+-") == n;
}

void sg_user_key(const char *user_id, uint8_t key[SG_USER_KEY_BYTES])
{
    key[0] = 'u'; /* an address key starts with 4 or 6 */
    crypto_generichash(key + 1, SG_USER_KEY_BYTES - 1, (const unsigned char *)user_id,
                       strlen(user_id), NULL, 0);
}

const char *sg_player_seats_key(const char *player, char *buf, size_t size)
{
    if (player && strncmp(player, "user:", 5) == 0) {
        /* An authenticated player: the key is a digest of the id (ids hold characters a
         * store key cannot, such as '|' and '@'). */
        unsigned char d[16];
        crypto_generichash(d, sizeof d, (const unsigned char *)player + 5, strlen(player + 5),
                           NULL, 0);
        char hex[33];
        sodium_bin2hex(hex, sizeof hex, d, sizeof d);
        snprintf(buf, size, "usr_%s", hex);
        return buf;
    }
    sg_addr a;
    int prefix = 128;
    char ipart[SG_PLAYER_KEY_MAX];
    snprintf(ipart, sizeof ipart, "%s", player ? player : "");
    char *slash = strchr(ipart, '/');
    if (slash) {
        *slash = '\0';
        prefix = atoi(slash + 1);
    }
    if (sg_addr_parse(ipart, SG_PORT_FORBIDDEN, &a) != SG_OK) {
        snprintf(buf, size, "other");
        return buf;
    }
    sg_addr_normalize(&a);
    if (a.family == AF_INET) {
        snprintf(buf, size, "ip4_%u.%u.%u.%u", a.ip[0], a.ip[1], a.ip[2], a.ip[3]);
        return buf;
    }
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", a.ip[i]);
    snprintf(buf, size, "ip6_%s_%d", hex, prefix);
    return buf;
}

/* ---- canonical bucket and queue options ---------------------------------------------------- */

sg_status sg_bucket_default_options(const char *name, sg_bucket_options *out)
{
    static const struct {
        const char *name;
        long long ttl_ms;
    } table[] = {
        {SG_BUCKET_CONNECT_TOKENS, SG_CONNECT_TOKENS_TTL_MS},
        {SG_BUCKET_SESSIONS, 0},
        {SG_BUCKET_CONTEXTS, 0},
        {SG_BUCKET_GAMESERVER, SG_GAMESERVER_TTL_MS},
        {SG_BUCKET_SESSION_INTENTS, SG_SESSION_INTENTS_TTL_MS},
        {SG_BUCKET_PLAYER_SEATS, SG_PLAYER_SEATS_TTL_MS},
    };
    sg_bucket_options_init(out);
    for (size_t i = 0; name && i < sizeof table / sizeof *table; i++) {
        if (strcmp(name, table[i].name) == 0) {
            out->ttl_ms = table[i].ttl_ms;
            out->create = true;
            return SG_OK;
        }
    }
    return sg_fail(SG_E_INVALID, "records: %s is not a shared bucket", name ? name : "(null)");
}

sg_status sg_queue_default_options(const char *name, sg_queue_options *out)
{
    sg_queue_options_init(out);
    if (name && strcmp(name, SG_QUEUE_SESSION_DELETES) == 0) {
        out->lease_ms = SG_DELETE_LEASE_DEFAULT_MS;
        return SG_OK;
    }
    return sg_fail(SG_E_INVALID, "records: %s is not a shared queue", name ? name : "(null)");
}
