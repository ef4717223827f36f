/* Publishes a deterministic game's events into a store, and writes each published JSON text
 * as one line of OUT, so a test can compute what the leaderboard must show from the same
 * bytes, independently.
 *
 * Usage: lb_feed STORE_URL APP COUNT SEED OUT [BAD [PLAYERS]]
 *   COUNT events: player connects, kills of another connected player (some players signed
 *   in, the others anonymous), deaths, scores; with BAD, also malformed (JSON, but a score
 *   event without its session and with a text value: the store takes only JSON), unknown-kind,
 *   oversize and target-less kill events among them ("nobad" for none). PLAYERS players
 *   (default 40) connect first. Written with event history on (NATS: into the "<app>_events"
 *   stream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/kv.h"
#include "seatgate/records.h"

static unsigned long long rng;

static unsigned next(unsigned n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((rng >> 33) % n);
}

static int PLAYERS = 40;

static void player_ids(int i, char *sid, size_t ss, char *uid, size_t us)
{
    snprintf(sid, ss, "sess-%02d", i);
    if (i % 3 == 0)
        snprintf(uid, us, "user:%02d@example.com", i % 1000000); /* signed in */
    else
        uid[0] = '\0';
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: lb_feed STORE_URL APP COUNT SEED OUT [BAD]\n");
        return 2;
    }
    long count = atol(argv[3]);
    rng = strtoull(argv[4], NULL, 10);
    bool bad = argc > 6 && strcmp(argv[6], "nobad") != 0;
    if (argc > 7) PLAYERS = atoi(argv[7]);
    if (PLAYERS < 2) PLAYERS = 2;
    sg_store_options so;
    sg_store_options_init(&so);
    so.url = argv[1];
    so.app = argv[2];
    so.event_history = true;
    sg_store *s = NULL;
    if (sg_store_open(&so, &s) != SG_OK) {
        fprintf(stderr, "lb_feed: %s\n", sg_last_error());
        return 1;
    }
    FILE *out = fopen(argv[5], "w");
    if (!out) return 1;
    int connected = 0;
    for (long n = 0; n < count; n++) {
        sg_event e;
        memset(&e, 0, sizeof e);
        e.ts = 1700000000000LL + n;
        snprintf(e.app, sizeof e.app, "%s", argv[2]);
        snprintf(e.source, sizeof e.source, "server-%u.example", (unsigned)(n % 3));
        char raw[8192];
        const char *kind = NULL;
        unsigned pick = connected < PLAYERS ? 0 : 1 + next(bad ? 14 : 10);
        if (pick == 0) { /* the next player connects */
            e.kind = SG_EV_PLAYER_CONNECT;
            player_ids(connected, e.u.player.session_id, sizeof e.u.player.session_id,
                       e.u.player.user_id, sizeof e.u.player.user_id);
            e.u.player.client_id = 1000 + (uint64_t)connected;
            snprintf(e.u.player.player_ip, sizeof e.u.player.player_ip, "127.0.0.1");
            snprintf(e.u.player.fqdn, sizeof e.u.player.fqdn, "%s", e.source);
            connected++;
        } else if (pick <= 10) {
            e.kind = SG_EV_SCORE;
            int a = (int)next(PLAYERS), t = (int)next(PLAYERS - 1);
            if (t >= a) t++;
            player_ids(a, e.u.score.session_id, sizeof e.u.score.session_id, e.u.score.user_id,
                       sizeof e.u.score.user_id);
            e.u.score.client_id = 1000 + (uint64_t)a;
            if (pick <= 6) { /* a kill of another player */
                snprintf(e.u.score.score_kind, sizeof e.u.score.score_kind, "kill");
                e.u.score.value = 1;
                e.u.score.target_client_id = 1000 + (uint64_t)t;
                player_ids(t, e.u.score.target_session_id, sizeof e.u.score.target_session_id,
                           e.u.score.target_user_id, sizeof e.u.score.target_user_id);
            } else if (pick <= 8) {
                snprintf(e.u.score.score_kind, sizeof e.u.score.score_kind, "death");
                e.u.score.value = 1;
            } else {
                snprintf(e.u.score.score_kind, sizeof e.u.score.score_kind, "score");
                e.u.score.value = (long long)next(500) - 100;
            }
        } else if (pick == 11) { /* JSON, but not a score event: no session, a text value */
            snprintf(raw, sizeof raw,
                     "{\"kind\":\"score\",\"ts\":1,\"app\":\"%s\",\"source\":\"x\","
                     "\"client_id\":\"7\",\"score_kind\":\"kill\",\"value\":\"many\"}",
                     argv[2]);
            kind = "score";
        } else if (pick == 12) { /* a kind nobody ranks */
            e.kind = SG_EV_SCORE;
            player_ids((int)next(PLAYERS), e.u.score.session_id, sizeof e.u.score.session_id,
                       e.u.score.user_id, sizeof e.u.score.user_id);
            e.u.score.client_id = 7;
            snprintf(e.u.score.score_kind, sizeof e.u.score.score_kind, "flag_capture");
            e.u.score.value = 1;
        } else if (pick == 13) { /* oversize: 5,000 bytes of padding in a field */
            int k = snprintf(raw, sizeof raw,
                             "{\"kind\":\"score\",\"ts\":1,\"app\":\"%s\",\"source\":\"x\","
                             "\"session_id\":\"sess-01\",\"client_id\":\"7\","
                             "\"score_kind\":\"kill\",\"value\":1,\"pad\":\"",
                             argv[2]);
            memset(raw + k, 'x', 5000);
            snprintf(raw + k + 5000, sizeof raw - (size_t)k - 5000, "\"}");
            kind = "score";
        } else { /* a kill whose target is not known here: counted, not rated */
            e.kind = SG_EV_SCORE;
            int a = (int)next(PLAYERS);
            player_ids(a, e.u.score.session_id, sizeof e.u.score.session_id, e.u.score.user_id,
                       sizeof e.u.score.user_id);
            e.u.score.client_id = 1000 + (uint64_t)a;
            snprintf(e.u.score.score_kind, sizeof e.u.score.score_kind, "kill");
            e.u.score.value = 1;
            e.u.score.target_client_id = 99999;
        }
        char *json = NULL;
        if (!kind) {
            if (sg_event_to_json(&e, &json) != SG_OK) {
                fprintf(stderr, "lb_feed: %s\n", sg_last_error());
                return 1;
            }
            kind = sg_event_kind_name(e.kind);
        }
        const char *text = json ? json : raw;
        if (sg_event_publish_json(s, kind, text, strlen(text)) != SG_OK) {
            fprintf(stderr, "lb_feed: publish: %s\n", sg_last_error());
            return 1;
        }
        fprintf(out, "%s\n", text);
        free(json);
    }
    fclose(out);
    sg_store_close(s);
    sg_store_library_cleanup();
    return 0;
}
