/* seatgate-hook: operator CLI over the gameserver hook, for debugging a live deployment.
 *
 *   seatgate-hook [--SETTING VALUE]... context
 *   seatgate-hook [--SETTING VALUE]... verify CLIENT_ID IP [SESSION_ID]
 *   seatgate-hook [--SETTING VALUE]... sessions
 *   seatgate-hook [--SETTING VALUE]... disconnect CLIENT_ID [REASON]
 *
 * Settings are the hook's (docs/gameserver-hook.md), read from SEATGATE_* / ARBITRIUM_* and
 * overridable as flags (--store-url nats://...). The tool never registers as the server
 * (register=0) and its verify is a dry run (claim=0): it runs every check and claims
 * nothing, so it is safe beside the running game server. `sessions` lists the session
 * records claimed by this deployment; `disconnect` releases one (as the game would) and has
 * its Edgegap session deleted (directly with an API key, else through the delete queue). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "hook_internal.h"
#include "seatgate/clock.h"
#include "seatgate/edgegap.h"
#include "seatgate/kv.h"
#include "seatgate/ledger.h"
#include "seatgate/log.h"
#include "seatgate/records.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: seatgate-hook [--SETTING VALUE]... COMMAND\n"
                 "  context                              the deployment context (JSON)\n"
                 "  verify CLIENT_ID IP [SESSION_ID]     dry-run verification (claims nothing)\n"
                 "  verify-seat-token IP                 the same for a seat token read from stdin\n"
                 "  sessions                             sessions claimed by this deployment\n"
                 "  disconnect CLIENT_ID [REASON]        release a player and delete its session\n"
                 "\nSettings: the flag wins over the environment variable.\n");
    for (size_t i = 0; i < sg_hook_options_count(); i++) {
        const char *env = NULL, *def = NULL, *help = NULL, *type = NULL;
        bool secret = false;
        sg_hook_options_describe(i, &env, &def, &help, &secret);
        sg_hook_options_type(i, &type);
        fprintf(out, "  --%s %s\n      env %s", sg_hook_options_name(i), type, env);
        if (secret) fprintf(out, " (secret; or %s_FILE, or --%s-file PATH)", env,
                            sg_hook_options_name(i));
        fprintf(out, ", default %s\n      %s\n", def ? (*def ? def : "\"\"") : "unset", help);
    }
    fprintf(out, "  --help, -h\n      print this help and exit\n"
                 "  --version\n      print the version and exit\n");
}

/* Reads a secret setting's value from a file (trailing whitespace stripped) and sets it. */
static sg_status set_from_file(sg_hook_options *o, const char *name, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return sg_fail(SG_E_IO, "cannot open %s: %s", path, strerror(errno));
    char buf[4097];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (n == sizeof buf - 1) return sg_fail(SG_E_TOO_LARGE, "%s is larger than 4 KiB", path);
    while (n && isspace((unsigned char)buf[n - 1])) n--;
    buf[n] = '\0';
    sg_status st = sg_hook_options_set(o, name, buf);
    sodium_memzero(buf, sizeof buf);
    return st;
}

/* --name VALUE, --name=VALUE, --name-file PATH (secrets); returns how many arguments were
 * used (1 or 2), 0 after printing help or the version, -1 on a usage error. */
static int parse_flag(sg_hook_options *o, int argc, char **argv, int i)
{
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(arg, "--version") == 0) {
        printf("seatgate-hook %s\n", SG_HOOK_VERSION_TEXT);
        return 0;
    }
    char name[128];
    const char *eq = strchr(arg + 2, '=');
    size_t nlen = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    if (nlen == 0 || nlen >= sizeof name) {
        fprintf(stderr, "seatgate-hook: error: unknown option %.64s (see --help)\n", arg);
        return -1;
    }
    memcpy(name, arg + 2, nlen);
    name[nlen] = '\0';
    bool known = false, secret = false;
    for (size_t k = 0; k < sg_hook_options_count(); k++)
        if (strcmp(sg_hook_options_name(k), name) == 0) known = true;
    bool file_form = !known && nlen > 5 && strcmp(name + nlen - 5, "-file") == 0;
    if (!known && !file_form) {
        fprintf(stderr, "seatgate-hook: error: unknown option --%s (see --help)\n", name);
        return -1;
    }
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    int used = eq ? 1 : 2;
    if (!value) {
        fprintf(stderr, "seatgate-hook: error: --%s needs a value\n", name);
        return -1;
    }
    sg_status st;
    if (file_form) {
        name[nlen - 5] = '\0';
        for (size_t k = 0; k < sg_hook_options_count(); k++)
            if (strcmp(sg_hook_options_name(k), name) == 0)
                sg_hook_options_describe(k, NULL, NULL, NULL, &secret);
        if (!secret) {
            fprintf(stderr, "seatgate-hook: error: unknown option --%s-file (see --help)\n", name);
            return -1;
        }
        st = set_from_file(o, name, value);
    } else {
        st = sg_hook_options_set(o, name, value);
    }
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-hook: error: --%s: %s\n", name, sg_last_error());
        return -1;
    }
    return used;
}

static int fail(const char *what)
{
    fprintf(stderr, "seatgate-hook: error: %s: %s\n", what, sg_last_error());
    return 1;
}

typedef struct tool {
    sg_hook_options *o;
    sg_hook *hook;
    char request_id[128];
    char fqdn[254];
    sg_store *store;
    sg_ledger *ledger;
} tool;

static int start(tool *t)
{
    sg_status st = sg_hook_new(t->o, &t->hook);
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-hook: error: %s\n", sg_last_error());
        return st == SG_E_INVALID ? 2 : 1; /* a setting: a usage error */
    }
    if (sg_hook_wait_started(t->hook, 30000) != SG_OK) return fail("start");
    char *ctx = NULL;
    if (sg_hook_context_json(t->hook, &ctx) != SG_OK) return fail("context");
    cJSON *j = cJSON_Parse(ctx);
    cJSON *rid = cJSON_GetObjectItemCaseSensitive(j, "request_id");
    cJSON *fqdn = cJSON_GetObjectItemCaseSensitive(j, "fqdn");
    snprintf(t->request_id, sizeof t->request_id, "%s",
             cJSON_IsString(rid) ? rid->valuestring : "");
    const char *name = hook_options_value(t->o, "fqdn");
    snprintf(t->fqdn, sizeof t->fqdn, "%s",
             name                   ? name
             : cJSON_IsString(fqdn) ? fqdn->valuestring
                                    : t->request_id);
    cJSON_Delete(j);
    free(ctx);
    return 0;
}

static int open_sessions(tool *t)
{
    sg_store_options so;
    if (hook_store_options(t->o, &so) != SG_OK) return fail("store");
    sg_status st = sg_store_open(&so, &t->store);
    hook_store_options_clear(&so);
    if (st != SG_OK) return fail("store");
    sg_ledger_options lo = {.role = SG_LEDGER_GAME_SERVER};
    if (sg_ledger_open(t->store, &lo, &t->ledger) != SG_OK) return fail("ledger");
    return 0;
}

static int cmd_verify(tool *t, int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    uint64_t cid = 0;
    if (sg_client_id_parse(argv[0], &cid) != SG_OK) return fail("client id");
    sg_hook_verdict v;
    if (sg_hook_verify_wait(t->hook, cid, argv[1], argc > 2 ? argv[2] : NULL, 30000, &v) != SG_OK)
        return fail("verify");
    char q[300];
    printf("%s reason=%s session_id=%s ip=%s message=%s\n", v.accepted ? "accepted" : "rejected",
           sg_hook_reason_name((sg_hook_reason)v.reason), *v.session_id ? v.session_id : "-",
           v.source_ip, sg_log_quote(v.message, q, sizeof q));
    return v.accepted ? 0 : 2;
}

typedef struct seat_wait {
    bool done;
    sg_hook_verdict v;
} seat_wait;

static void seat_verified(const sg_hook_verdict *v, void *user)
{
    seat_wait *w = user;
    w->v = *v;
    w->done = true;
}

/* The seat token comes on stdin, never on the command line (other users see argv). */
static int cmd_verify_seat_token(tool *t, int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    char token[16384];
    size_t n = fread(token, 1, sizeof token - 1, stdin);
    while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r'))
        n--;
    token[n] = '\0';
    seat_wait w = {0};
    sg_status st = sg_hook_verify_seat_token(t->hook, token, n, argv[0], seat_verified, &w);
    sodium_memzero(token, sizeof token);
    if (st != SG_OK) return fail("verify-seat-token");
    for (int i = 0; i < 3000 && !w.done; i++) {
        if (sg_hook_poll(t->hook, 0) == 0) usleep(10000);
    }
    if (!w.done) return fail("verify-seat-token (no answer in 30 s)");
    char q[300];
    printf("%s reason=%s client_id=%llu session_id=%s ip=%s message=%s\n",
           w.v.accepted ? "accepted" : "rejected", sg_hook_reason_name((sg_hook_reason)w.v.reason),
           (unsigned long long)w.v.client_id, *w.v.session_id ? w.v.session_id : "-", w.v.source_ip,
           sg_log_quote(w.v.message, q, sizeof q));
    return w.v.accepted ? 0 : 2;
}

/* Calls fn for every session record claimed by this deployment; stops when fn returns 1. */
static int each_claimed(tool *t, int (*fn)(tool *, const sg_session_record *, uint64_t, void *),
                        void *user)
{
    char **keys = NULL;
    size_t n = 0;
    if (sg_ledger_session_ids(t->ledger, &keys, &n) != SG_OK) return fail("sessions");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sg_session_record r;
        uint64_t rev = 0;
        if (sg_ledger_get_session(t->ledger, keys[i], &r, &rev) != SG_OK) continue;
        if (r.state == SG_SESSION_CLAIMED && strcmp(r.claimed_by_request_id, t->request_id) == 0)
            rc = fn(t, &r, rev, user);
    }
    free(keys);
    return rc < 0 ? 1 : 0;
}

static int print_one(tool *t, const sg_session_record *r, uint64_t rev, void *user)
{
    (void)t;
    (void)rev;
    (*(int *)user)++;
    printf("{\"session_id\":\"%s\",\"client_id\":\"%" PRIu64 "\",\"player_ip\":\"%s\","
           "\"claimed_by\":\"%s\",\"claimed_at\":%lld}\n",
           r->session_id, r->client_id, r->player_ip, r->claimed_by_fqdn, r->claimed_at);
    return 0;
}

typedef struct disc {
    uint64_t client_id;
    const char *reason;
    int found;
} disc;

static int release_one(tool *t, const sg_session_record *r, uint64_t rev, void *user)
{
    (void)rev; /* the ledger's release does its own compare-and-set */
    disc *d = user;
    if (r->client_id != d->client_id) return 0;
    d->found = 1;
    bool released = false;
    if (sg_ledger_release(t->ledger, r->session_id, r->client_id, r->claimed_by_fqdn, d->reason,
                          sg_clock_wall_ms(), &released) != SG_OK) {
        fail("release");
        return -1;
    }
    if (!released) {
        fprintf(stderr, "seatgate-hook: error: release: session %s changed meanwhile\n",
                r->session_id);
        return -1;
    }
    const sg_session_record n = *r;
    /* The session delete: with a key directly, else through the matchmaker's queue. */
    const char *key = hook_options_value(t->o, "edgegap-api-key");
    sg_status del = SG_E_UNAVAILABLE;
    if (key) {
        sg_edgegap_options eo;
        sg_edgegap_client *c = NULL;
        sg_edgegap_request *req = NULL;
        if (sg_edgegap_options_from_config(hook_options_config(t->o), &eo) == SG_OK &&
            sg_edgegap_client_new(&eo, &c) == SG_OK &&
            sg_edgegap_request_delete_session(n.session_id, &req) == SG_OK) {
            sg_edgegap_result res;
            del = sg_edgegap_perform(c, req, &res);
            if (del == SG_E_NOT_FOUND || del == SG_E_GONE) del = SG_OK;
            sg_edgegap_result_clear(&res);
        }
        sg_edgegap_request_free(req);
        sg_edgegap_client_free(c);
    }
    if (del != SG_OK) {
        del = sg_ledger_enqueue_delete(t->ledger, n.session_id, "operator", t->fqdn);
        if (del != SG_OK) {
            fail("delete queue");
            return -1;
        }
        printf("released session_id=%s delete=queued\n", n.session_id);
    } else {
        printf("released session_id=%s delete=done\n", n.session_id);
    }
    sg_event e = {.kind = SG_EV_PLAYER_DISCONNECT};
    snprintf(e.source, sizeof e.source, "%s", t->fqdn);
    snprintf(e.u.player.session_id, sizeof e.u.player.session_id, "%s", n.session_id);
    e.u.player.client_id = n.client_id;
    snprintf(e.u.player.player_ip, sizeof e.u.player.player_ip, "%s", n.player_ip);
    snprintf(e.u.player.fqdn, sizeof e.u.player.fqdn, "%s", t->fqdn);
    e.u.player.reason = SG_DISCONNECT_KICKED;
    e.u.player.duration_ms = -1;
    if (sg_event_publish(t->store, &e) != SG_OK) fail("event");
    return 1;
}

int main(int argc, char **argv)
{
    tool t = {0};
    if (sg_hook_options_new(&t.o) != SG_OK || sg_hook_options_load_env(t.o) != SG_OK)
        return fail("settings");
    int i = 1;
    while (i < argc && (strncmp(argv[i], "--", 2) == 0 || strcmp(argv[i], "-h") == 0)) {
        int used = parse_flag(t.o, argc, argv, i);
        if (used == 0) {
            sg_hook_options_free(t.o);
            return 0;
        }
        if (used < 0) {
            sg_hook_options_free(t.o);
            return 2;
        }
        i += used;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    sg_hook_options_set(t.o, "register", "false");
    sg_hook_options_set(t.o, "claim", "false");
    sg_log_set_level(SG_LOG_WARN);
    const char *cmd = argv[i];
    int rc = 2;
    if (strcmp(cmd, "context") && strcmp(cmd, "verify") && strcmp(cmd, "sessions") &&
        strcmp(cmd, "disconnect") && strcmp(cmd, "verify-seat-token")) {
        usage(stderr);
    } else if ((rc = start(&t)) == 0) {
        if (strcmp(cmd, "context") == 0) {
            char *ctx = NULL;
            if (sg_hook_context_json(t.hook, &ctx) == SG_OK) printf("%s\n", ctx);
            free(ctx);
        } else if (strcmp(cmd, "verify") == 0) {
            rc = cmd_verify(&t, argc - i - 1, argv + i + 1);
        } else if (strcmp(cmd, "verify-seat-token") == 0) {
            rc = cmd_verify_seat_token(&t, argc - i - 1, argv + i + 1);
        } else if ((rc = open_sessions(&t)) == 0) {
            if (strcmp(cmd, "sessions") == 0) {
                int count = 0;
                rc = each_claimed(&t, print_one, &count);
                fprintf(stderr, "%d session(s) claimed by %s\n", count, t.request_id);
            } else {
                disc d = {.reason = i + 2 < argc ? argv[i + 2] : "operator"};
                if (i + 1 >= argc || sg_client_id_parse(argv[i + 1], &d.client_id) != SG_OK) {
                    usage(stderr);
                    rc = 2;
                } else {
                    rc = each_claimed(&t, release_one, &d);
                    if (rc == 0 && !d.found) {
                        fprintf(stderr, "seatgate-hook: error: client %s holds no session here\n",
                                argv[i + 1]);
                        rc = 3;
                    }
                }
            }
        }
    }
    sg_ledger_close(t.ledger);
    sg_store_close(t.store);
    sg_hook_free(t.hook);
    sg_hook_options_free(t.o);
    return rc;
}
