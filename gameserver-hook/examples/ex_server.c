/* The example game server: how a game integrates the gameserver hook.
 *
 * For every UDP datagram:
 *   - a netcode connection request (1078 bytes, prefix 0): open the private token with the
 *     shared key (sg_token_open_request), check this server is in its address list, refuse a
 *     token already accepted from another address (its MAC is remembered once the hook
 *     accepted it, never before: a thief who tries first cannot lock the owner out), then ask
 *     the hook to verify the client id and source IP (with the session id from the token's
 *     user data). The answer comes back in a later tick (sg_hook_poll): ACCEPT or DENY with
 *     the reason, authenticated with the connection's keys (example_proto.h).
 *   - KEEPALIVE from a connected player: it is alive. GOODBYE: it left (hook disconnect).
 *     Both count only when their tag verifies under the player's client-to-server key and
 *     their sequence is new: nobody on the path can keep a player alive or kick them.
 * Each tick also sends keep-alives and drops players silent for longer than their timeout.
 * Denials are logged at debug level; at info, one line per second at most, with a count.
 */
#include "ex_server.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "example_proto.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"

#define COMP "example_server"
#define MAX_MACS 1024

typedef enum slot_state { SLOT_FREE = 0, SLOT_PENDING, SLOT_CONNECTED } slot_state;

typedef struct slot {
    slot_state state;
    uint32_t generation; /* guards verify callbacks against a reused slot */
    sg_addr addr;
    uint64_t client_id;
    long long last_recv_ms, last_send_ms;
    int timeout_ms; /* < 0: never */
    uint8_t to_client[EX_KEY_BYTES], to_server[EX_KEY_BYTES]; /* the token's packet keys */
    uint64_t send_seq, recv_seq;
    uint8_t mac[SG_TOKEN_MAC_BYTES]; /* the token's, remembered once accepted */
    uint64_t expire;
} slot;

typedef struct seen_mac {
    uint8_t mac[SG_TOKEN_MAC_BYTES];
    sg_addr addr;
    uint64_t expire; /* unix seconds */
} seen_mac;

typedef struct verify_ref {
    ex_server *server;
    int index;
    uint32_t generation;
} verify_ref;

struct ex_server {
    ex_server_config cfg;
    sg_log_limiter deny_log;
    unsigned long long denied_since_log;
    sg_hook *hook;
    int fd;
    sg_addr bound;
    sg_addr public_addr;
    sg_token_opener opener;
    slot *slots;
    verify_ref *refs;
    seen_mac macs[MAX_MACS];
    size_t mac_count;
};

static void send_packet(ex_server *s, const sg_addr *to, const ex_packet *p, const uint8_t *key)
{
    uint8_t buf[EX_MAX_PACKET];
    size_t n = ex_packet_write(p, key, buf);
    if (n == 0) return;
    struct sockaddr_storage ss;
    socklen_t sl = sg_addr_to_sockaddr(to, &ss);
    if (sendto(s->fd, buf, n, 0, (struct sockaddr *)&ss, sl) < 0)
        SG_WARN(COMP, "send_failed", "errno=%d", errno);
}

/* Refuses a connection request. With the token's keys (t not NULL) the DENY is
 * authenticated; without them (the token did not open) it is a PLAIN DENY. */
static void deny(ex_server *s, const sg_addr *to, const sg_token_opened *t, uint8_t code,
                 const char *msg)
{
    ex_packet p = {.type = t ? EX_DENY : EX_PLAIN_DENY, .code = code};
    if (t) {
        p.client_id = t->client_id;
        p.sequence = 1;
    }
    snprintf(p.message, sizeof p.message, "%s", msg);
    send_packet(s, to, &p, t ? t->server_to_client_key : NULL);
    char a[SG_ADDR_STRLEN], q[256];
    SG_DEBUG(COMP, "denied", "addr=%s reason=%s msg=%s", sg_addr_format(to, true, a, sizeof a),
             ex_deny_name(code), sg_log_quote(msg, q, sizeof q));
    s->denied_since_log++;
    unsigned long long held = 0;
    if (sg_log_limit(&s->deny_log, 1000, &held)) {
        SG_INFO(COMP, "denied", "count=%llu last_addr=%s last_reason=%s msg=%s",
                s->denied_since_log, a, ex_deny_name(code), q);
        s->denied_since_log = 0;
    }
}

/* A request dropped without an answer (what lightyear does when its address check fails):
 * logged as a denial is, with no packet sent. */
static void ignore(ex_server *s, const sg_addr *from, const char *msg)
{
    char a[SG_ADDR_STRLEN], q[256];
    SG_DEBUG(COMP, "ignored", "addr=%s msg=%s", sg_addr_format(from, true, a, sizeof a),
             sg_log_quote(msg, q, sizeof q));
    s->denied_since_log++;
    unsigned long long held = 0;
    if (sg_log_limit(&s->deny_log, 1000, &held)) {
        SG_INFO(COMP, "ignored", "count=%llu last_addr=%s msg=%s", s->denied_since_log, a, q);
        s->denied_since_log = 0;
    }
}

/* Sends an authenticated packet to a player of slot sl. */
static void send_to_slot(ex_server *s, slot *sl, uint8_t type)
{
    ex_packet p = {.type = type, .client_id = sl->client_id, .sequence = ++sl->send_seq};
    send_packet(s, &sl->addr, &p, sl->to_client);
}

int ex_server_new(const ex_server_config *cfg, sg_hook *hook, ex_server **out)
{
    *out = NULL;
    ex_server *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->cfg = *cfg;
    if (s->cfg.max_players <= 0) s->cfg.max_players = 64;
    if (s->cfg.keepalive_ms <= 0) s->cfg.keepalive_ms = 1000;
    if (s->cfg.default_timeout_s <= 0) s->cfg.default_timeout_s = 5;
    s->hook = hook;
    s->opener = (sg_token_opener){
        .key = cfg->key, .protocol_id = cfg->protocol_id, .dialect = cfg->dialect};
    s->slots = calloc((size_t)s->cfg.max_players, sizeof *s->slots);
    s->refs = calloc((size_t)s->cfg.max_players, sizeof *s->refs);
    s->fd = -1;
    if (!s->slots || !s->refs || sg_addr_parse(cfg->listen, SG_PORT_OPTIONAL, &s->bound) != SG_OK)
        goto fail;
    s->fd = socket(s->bound.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sg_addr_to_sockaddr(&s->bound, &ss);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&ss, sl) < 0) goto fail;
    sl = sizeof ss;
    getsockname(s->fd, (struct sockaddr *)&ss, &sl);
    sg_addr_from_sockaddr((struct sockaddr *)&ss, &s->bound);
    s->public_addr = cfg->public_addr ? *cfg->public_addr : s->bound;
    char a[SG_ADDR_STRLEN], b[SG_ADDR_STRLEN];
    SG_INFO(COMP, "listening", "addr=%s public_addr=%s",
            sg_addr_format(&s->bound, true, a, sizeof a),
            sg_addr_format(&s->public_addr, true, b, sizeof b));
    *out = s;
    return 0;
fail:
    if (s->fd >= 0) close(s->fd);
    free(s->slots);
    free(s->refs);
    free(s);
    return -1;
}

uint16_t ex_server_port(const ex_server *s)
{
    return s->bound.port;
}

int ex_server_players(const ex_server *s)
{
    int n = 0;
    for (int i = 0; i < s->cfg.max_players; i++)
        n += s->slots[i].state == SLOT_CONNECTED;
    return n;
}

static int slot_by_addr(ex_server *s, const sg_addr *a)
{
    for (int i = 0; i < s->cfg.max_players; i++)
        if (s->slots[i].state != SLOT_FREE && sg_addr_equal(&s->slots[i].addr, a, true)) return i;
    return -1;
}

static void slot_free(ex_server *s, int i)
{
    slot *sl = &s->slots[i];
    sl->state = SLOT_FREE;
    sl->generation++;
    sodium_memzero(sl->to_client, sizeof sl->to_client);
    sodium_memzero(sl->to_server, sizeof sl->to_server);
}

/* Where a token was accepted before, if anywhere (expired ones forgotten). */
static const seen_mac *accepted_before(ex_server *s, const uint8_t mac[SG_TOKEN_MAC_BYTES],
                                       uint64_t now)
{
    size_t w = 0;
    for (size_t i = 0; i < s->mac_count; i++) /* forget expired tokens */
        if (s->macs[i].expire > now) s->macs[w++] = s->macs[i];
    s->mac_count = w;
    for (size_t i = 0; i < s->mac_count; i++)
        if (sodium_memcmp(s->macs[i].mac, mac, SG_TOKEN_MAC_BYTES) == 0) return &s->macs[i];
    return NULL;
}

/* Remembers an accepted token's MAC and the address it was accepted from. */
static void remember_accepted(ex_server *s, const slot *sl)
{
    if (s->mac_count == MAX_MACS)
        memmove(s->macs, s->macs + 1, (MAX_MACS - 1) * sizeof *s->macs);
    else
        s->mac_count++;
    seen_mac *m = &s->macs[s->mac_count - 1];
    memcpy(m->mac, sl->mac, SG_TOKEN_MAC_BYTES);
    m->addr = sl->addr;
    m->expire = sl->expire;
}

static void on_verdict(const sg_hook_verdict *v, void *user)
{
    verify_ref *ref = user;
    ex_server *s = ref->server;
    slot *sl = &s->slots[ref->index];
    if (sl->state != SLOT_PENDING || sl->generation != ref->generation) {
        /* The slot moved on (the player vanished): do not keep an unused claim. */
        if (v->accepted)
            sg_hook_disconnect(s->hook, v->client_id, SG_HOOK_DISCONNECT_ERROR, NULL, NULL);
        return;
    }
    if (!v->accepted) {
        ex_packet p = {.type = EX_DENY,
                       .client_id = sl->client_id,
                       .sequence = ++sl->send_seq,
                       .code = (uint8_t)v->reason};
        snprintf(p.message, sizeof p.message, "%.200s", v->message);
        send_packet(s, &sl->addr, &p, sl->to_client);
        s->denied_since_log++;
        char a[SG_ADDR_STRLEN], q[256];
        SG_DEBUG(COMP, "denied", "addr=%s reason=%s msg=%s",
                 sg_addr_format(&sl->addr, true, a, sizeof a), ex_deny_name((uint8_t)v->reason),
                 sg_log_quote(v->message, q, sizeof q));
        slot_free(s, ref->index);
        return;
    }
    sl->state = SLOT_CONNECTED;
    sl->last_recv_ms = sl->last_send_ms = sg_clock_mono_ms();
    remember_accepted(s, sl);
    send_to_slot(s, sl, EX_ACCEPT);
    char a[SG_ADDR_STRLEN];
    SG_INFO(COMP, "accepted", "client_id=%" PRIu64 " addr=%s session_id=%s", v->client_id,
            sg_addr_format(&sl->addr, true, a, sizeof a), v->session_id);
}

static void on_request(ex_server *s, const uint8_t *buf, size_t len, const sg_addr *from)
{
    sg_connection_request req;
    if (sg_connection_request_parse(buf, len, s->cfg.dialect, &req) != SG_OK) return;
    uint64_t now = (uint64_t)time(NULL);
    sg_token_opened t;
    sg_status st = sg_token_open_request(&s->opener, &req, now, &t);
    if (st != SG_OK) {
        deny(s, from, NULL, st == SG_E_EXPIRED ? EX_DENY_TOKEN_EXPIRED : EX_DENY_BAD_TOKEN,
             sg_status_name(st));
        return;
    }
    /* The address check. lightyear (0.29 and later) looks for its own bind address only,
     * with a wildcard or loopback bind counting as equal, and ignores a request that fails
     * it without an answer: a server behind a port mapping knows only its bind address.
     * Otherwise, as netcode.c: the public address (or the bind address), with a denial. */
    if (s->cfg.dialect == SG_TOKEN_LIGHTYEAR) {
        if (!sg_token_lists_bind(&t, &s->bound)) {
            ignore(s, from, "the token's private addresses do not hold the bind address");
            goto out;
        }
    } else if (!sg_token_lists_server(&t, &s->public_addr) &&
               !sg_token_lists_bind(&t, &s->bound)) {
        deny(s, from, &t, EX_DENY_NOT_THIS_SERVER, "the token does not list this server");
        goto out;
    }
    int i = slot_by_addr(s, from);
    if (i >= 0 && s->slots[i].client_id == t.client_id) {
        /* A resend from the same address: answer again, or keep waiting for the hook. */
        if (s->slots[i].state == SLOT_CONNECTED) send_to_slot(s, &s->slots[i], EX_ACCEPT);
        goto out;
    }
    const seen_mac *before = accepted_before(s, t.mac, now);
    if (before) {
        bool same_ip = sg_addr_equal(&before->addr, from, false);
        deny(s, from, &t, EX_DENY_TOKEN_REUSED,
             same_ip ? "token already used from this IP on another port (a client that "
                       "restarted needs a new token)"
                     : "token already used from another address");
        goto out;
    }
    if (i >= 0) goto out; /* this address is busy with another token's connection */
    for (i = 0; i < s->cfg.max_players && s->slots[i].state != SLOT_FREE; i++) {
    }
    if (i == s->cfg.max_players) {
        deny(s, from, &t, EX_DENY_SERVER_FULL, "no free player slot");
        goto out;
    }
    char session[SG_TOKEN_SESSION_ID_MAX + 1];
    const char *session_id = NULL;
    if (sg_token_user_data_get_session(t.user_data, session, sizeof session) == SG_OK)
        session_id = session;
    char ip[SG_ADDR_STRLEN];
    sg_addr_format(from, false, ip, sizeof ip);
    slot *sl = &s->slots[i];
    sl->state = SLOT_PENDING;
    sl->addr = *from;
    sl->client_id = t.client_id;
    sl->timeout_ms = t.timeout_seconds < 0    ? -1
                     : t.timeout_seconds == 0 ? s->cfg.default_timeout_s * 1000
                                              : t.timeout_seconds * 1000;
    memcpy(sl->to_client, t.server_to_client_key, EX_KEY_BYTES);
    memcpy(sl->to_server, t.client_to_server_key, EX_KEY_BYTES);
    memcpy(sl->mac, t.mac, SG_TOKEN_MAC_BYTES);
    sl->expire = t.expire_timestamp;
    sl->send_seq = sl->recv_seq = 0;
    s->refs[i] = (verify_ref){.server = s, .index = i, .generation = sl->generation};
    st = sg_hook_verify(s->hook, t.client_id, ip, session_id, on_verdict, &s->refs[i]);
    if (st != SG_OK) {
        deny(s, from, &t, st == SG_E_FULL ? EX_DENY_BUSY : SG_HOOK_REJECT_UNAVAILABLE,
             sg_last_error());
        slot_free(s, i);
    }
out:
    sg_token_opened_wipe(&t);
}

static void on_packet(ex_server *s, const uint8_t *buf, size_t len, const sg_addr *from)
{
    if (len > 0 && buf[0] == 0) {
        on_request(s, buf, len, from);
        return;
    }
    int i = slot_by_addr(s, from);
    if (i < 0 || s->slots[i].state != SLOT_CONNECTED) return;
    ex_packet p;
    /* Only the player's own packets count: tagged with its key, with a new sequence. */
    if (!ex_packet_parse(buf, len, s->slots[i].to_server, &p)) return;
    if (s->slots[i].client_id != p.client_id || p.sequence <= s->slots[i].recv_seq) return;
    s->slots[i].recv_seq = p.sequence;
    if (p.type == EX_KEEPALIVE) {
        s->slots[i].last_recv_ms = sg_clock_mono_ms();
    } else if (p.type == EX_SCORE && p.code == EX_SCORE_KILL) {
        char *end = NULL;
        unsigned long long target = strtoull(p.message, &end, 10);
        if (!p.message[0] || *end) return;
        sg_status st = sg_hook_publish_score(s->hook, p.client_id, "kill", 1, target, NULL, NULL);
        SG_INFO(COMP, "kill", "client_id=%" PRIu64 " target=%llu status=%s", p.client_id, target,
                sg_status_name(st));
    } else if (p.type == EX_GOODBYE) {
        SG_INFO(COMP, "goodbye", "client_id=%" PRIu64, p.client_id);
        sg_hook_disconnect(s->hook, p.client_id, SG_HOOK_DISCONNECT_GOODBYE, NULL, NULL);
        slot_free(s, i);
    }
}

void ex_server_tick(ex_server *s, int wait_ms)
{
    struct pollfd pfd[2] = {{.fd = s->fd, .events = POLLIN},
                            {.fd = sg_hook_poll_fd(s->hook), .events = POLLIN}};
    poll(pfd, 2, wait_ms);
    for (int n = 0; n < 256; n++) {
        uint8_t buf[2048];
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ssize_t len = recvfrom(s->fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl);
        if (len < 0) break;
        sg_addr from;
        if (sg_addr_from_sockaddr((struct sockaddr *)&ss, &from) != SG_OK) continue;
        on_packet(s, buf, (size_t)len, &from);
    }
    sg_hook_poll(s->hook, 0);
    long long now = sg_clock_mono_ms();
    for (int i = 0; i < s->cfg.max_players; i++) {
        slot *sl = &s->slots[i];
        if (sl->state != SLOT_CONNECTED) continue;
        if (sl->timeout_ms >= 0 && now - sl->last_recv_ms > sl->timeout_ms) {
            SG_INFO(COMP, "timeout", "client_id=%" PRIu64, sl->client_id);
            sg_hook_disconnect(s->hook, sl->client_id, SG_HOOK_DISCONNECT_TIMEOUT, NULL, NULL);
            slot_free(s, i);
            continue;
        }
        if (now - sl->last_send_ms >= s->cfg.keepalive_ms) {
            send_to_slot(s, sl, EX_KEEPALIVE);
            sl->last_send_ms = now;
        }
    }
}

void ex_server_free(ex_server *s)
{
    if (!s) return;
    for (int i = 0; i < s->cfg.max_players; i++) {
        if (s->slots[i].state != SLOT_CONNECTED) continue;
        send_to_slot(s, &s->slots[i], EX_GOODBYE);
        sg_hook_disconnect(s->hook, s->slots[i].client_id, SG_HOOK_DISCONNECT_SERVER_STOP, NULL,
                           NULL);
    }
    /* Verdicts still on their way must not reach freed memory: wait for every request of
     * this server to come back (bounded), with the slots marked free so they are ignored. */
    for (int i = 0; i < s->cfg.max_players; i++)
        slot_free(s, i);
    for (int n = 0; n < 5000; n++) {
        sg_hook_poll(s->hook, 0);
        sg_hook_stats st;
        sg_hook_get_stats(s->hook, &st);
        if (st.pending == 0) break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    close(s->fd);
    free(s->slots);
    free(s->refs);
    free(s);
}
