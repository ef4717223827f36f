/* End to end over real UDP: the seatgate-example-server and seatgate-example-client programs,
 * with a nats-server and the Edgegap simulator started by this test. The test plays the
 * matchmaker (session at the simulator, records in the store, a minted token in a file).
 * A fresh token gets in; replayed, stolen (other IP) and foreign (other server) ones are
 * refused with their reasons. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nats_server.h"
#include "seatgate/codec.h"
#include "seatgate/edgegap.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"
#include "seatgate/records.h"
#include "seatgate/token.h"
#include "issue.h"
#include "proc.h"
#include "sim_harness.h"

#define API_KEY "e2e-test-key-0123"
#define SERVER_A "aaaaaaaaaaa1"
#define PROTOCOL_ID "4242"

static const char *server_bin, *client_bin, *sim_bin, *sim_config, *tool_bin;

static struct {
    sg_test_nats nats;
    sim_proc sim;
    sg_store *store;
    sg_bucket *tokens, *sessions;
    sg_edgegap_client *api;
    sg_key *key;
    pid_t server;
    int port;
    char dir[64];
} E;

static uint64_t next_client = 5000;

/* Starts the example server as deployment SERVER_A on 127.0.0.1:port; waits for its
 * "listening" line. */
static pid_t start_server(int port)
{
    char url[512], token[512], key_hex[SG_KEY_HEX_SIZE], addr[32];
    if (!sim_env(&E.sim, SERVER_A, "CONTEXT_URL", url, sizeof url) ||
        !sim_env(&E.sim, SERVER_A, "CONTEXT_TOKEN", token, sizeof token))
        return -1;
    sg_key_format_hex(E.key, key_hex, sizeof key_hex);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    sg_proc p;
    sg_proc_init(&p, "example-server", E.dir, server_bin);
    sg_proc_env(&p, "SEATGATE_STORE_URL", E.nats.url);
    sg_proc_env(&p, "SEATGATE_APP", "e2e");
    sg_proc_env(&p, "SEATGATE_EDGEGAP_URL", E.sim.url);
    sg_proc_env(&p, "SEATGATE_EDGEGAP_API_KEY", API_KEY);
    sg_proc_env(&p, "ARBITRIUM_CONTEXT_URL", url);
    sg_proc_env(&p, "ARBITRIUM_CONTEXT_TOKEN", token);
    sg_proc_env(&p, "ARBITRIUM_REQUEST_ID", SERVER_A);
    sg_proc_env(&p, "SEATGATE_NETCODE_KEY", key_hex); /* secrets by environment, not argv */
    const char *args[] = {"--listen", addr, "--public-address", addr, "--protocol-id",
                          PROTOCOL_ID, "--log-level", "warn"};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        sg_proc_arg(&p, args[i]);
    snprintf(p.ready_line, sizeof p.ready_line, "listening ");
    pid_t pid = sg_proc_start(&p, 10000) ? p.pid : -1;
    sg_proc_release(&p);
    return pid;
}

static void issue(const char *deployment, const char *player_ip, uint64_t *cid, char *sid,
                  size_t size)
{
    *cid = next_client++;
    hook_test_issue(E.api, E.sessions, E.tokens, deployment, player_ip, *cid, NULL, sid, size);
}

/* Mints a token for this server with the session id in its user data; writes it base64 to
 * path. */
static void mint_to_file(uint64_t cid, const char *sid, const char *path)
{
    sg_addr server;
    char text[32];
    snprintf(text, sizeof text, "127.0.0.1:%d", E.port);
    assert_int_equal(sg_addr_parse(text, SG_PORT_REQUIRED, &server), SG_OK);
    uint8_t ud[SG_TOKEN_USER_DATA_BYTES], token[SG_TOKEN_BYTES];
    assert_int_equal(sg_token_user_data_set_session(ud, sid), SG_OK);
    uint64_t pid = 0;
    assert_int_equal(sg_token_protocol_id_parse(PROTOCOL_ID, &pid), SG_OK);
    sg_token_params p = {.protocol_id = pid,
                         .client_id = cid,
                         .servers = &server,
                         .server_count = 1,
                         .expire_seconds = 30,
                         .timeout_seconds = 5,
                         .user_data = ud,
                         .user_data_len = sizeof ud};
    assert_int_equal(sg_token_mint(E.key, &p, token, NULL), SG_OK);
    char b64[SG_BASE64_ENCODED_SIZE(SG_TOKEN_BYTES)];
    assert_int_equal(sg_base64_encode(token, sizeof token, b64, sizeof b64), SG_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", b64);
    fclose(f);
}

/* Runs the client with a token file and optional source IP; returns its line. */
static int run_client(const char *token_file, const char *bind, char *line, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --token-file %s %s%s --timeout 5s", client_bin, token_file,
             bind ? "--bind " : "", bind ? bind : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    line[0] = '\0';
    if (!fgets(line, (int)size, p)) line[0] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_client(const char *token_file, const char *bind, int code, const char *word)
{
    char line[512];
    int rc = run_client(token_file, bind, line, sizeof line);
    if (rc != code || !strstr(line, word))
        fail_msg("client exited %d with '%s', expected %d and '%s'", rc, line, code, word);
}

static void fresh_replayed_stolen_and_foreign_tokens(void **state)
{
    (void)state;
    char sid[128], fresh[128], stolen[128], foreign[128];
    uint64_t cid;
    snprintf(fresh, sizeof fresh, "%s/fresh.token", E.dir);
    snprintf(stolen, sizeof stolen, "%s/stolen.token", E.dir);
    snprintf(foreign, sizeof foreign, "%s/foreign.token", E.dir);
    /* fresh: accepted */
    issue(SERVER_A, "127.0.0.1", &cid, sid, sizeof sid);
    mint_to_file(cid, sid, fresh);
    expect_client(fresh, "127.0.0.1", 0, "accepted");
    /* replayed from another address: refused by the server */
    expect_client(fresh, "127.0.0.2", 2, "reason=token_reused");
    /* stolen: a fresh token used first from another IP than the player's */
    issue(SERVER_A, "127.0.0.1", &cid, sid, sizeof sid);
    mint_to_file(cid, sid, stolen);
    expect_client(stolen, "127.0.0.2", 2, "reason=ip_mismatch");
    /* foreign: a session on another deployment */
    issue("bbbbbbbbbbb2", "127.0.0.1", &cid, sid, sizeof sid);
    mint_to_file(cid, sid, foreign);
    expect_client(foreign, "127.0.0.1", 2, "reason=wrong_server_id");
}

/* Runs seatgate-hook with the deployment's environment; returns its exit code and first line. */
static int run_tool(const char *args, char *line, size_t size)
{
    char url[512], token[512], cmd[2048];
    assert_true(sim_env(&E.sim, SERVER_A, "CONTEXT_URL", url, sizeof url));
    assert_true(sim_env(&E.sim, SERVER_A, "CONTEXT_TOKEN", token, sizeof token));
    snprintf(cmd, sizeof cmd,
             "SEATGATE_STORE_URL=%s SEATGATE_APP=e2e SEATGATE_EDGEGAP_URL=%s "
             "SEATGATE_EDGEGAP_API_KEY=%s ARBITRIUM_CONTEXT_URL=%s ARBITRIUM_CONTEXT_TOKEN=%s "
             "%s %s",
             E.nats.url, E.sim.url, API_KEY, url, token, tool_bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    line[0] = '\0';
    if (!fgets(line, (int)size, p)) line[0] = '\0';
    char rest[512];
    while (fgets(rest, sizeof rest, p)) {
    }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void operator_tool_inspects_without_side_effects(void **state)
{
    (void)state;
    char line[1024], args[256], sid[128];
    uint64_t cid;
    assert_int_equal(run_tool("context", line, sizeof line), 0);
    assert_non_null(strstr(line, SERVER_A));
    /* a dry-run verify: accepted, nothing claimed */
    issue(SERVER_A, "127.0.0.1", &cid, sid, sizeof sid);
    snprintf(args, sizeof args, "verify %llu 127.0.0.1", (unsigned long long)cid);
    assert_int_equal(run_tool(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "accepted"));
    snprintf(args, sizeof args, "verify %llu 127.0.0.5", (unsigned long long)cid);
    assert_int_equal(run_tool(args, line, sizeof line), 2);
    assert_non_null(strstr(line, "reason=ip_mismatch"));
    sg_kv_entry *e = NULL;
    sg_session_record r;
    assert_int_equal(sg_kv_get(E.sessions, sid, &e), SG_OK);
    assert_int_equal(sg_session_from_json(e->value, e->len, &r), SG_OK);
    sg_kv_entry_free(e);
    assert_int_equal(r.state, SG_SESSION_UNCLAIMED);
    /* a player connected through the example server shows up, and can be disconnected */
    char file[128];
    snprintf(file, sizeof file, "%s/stay.token", E.dir);
    mint_to_file(cid, sid, file);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --token-file %s --stay 10s --goodbye=false >/dev/null &",
             client_bin, file);
    assert_int_equal(system(cmd), 0);
    bool listed = false;
    for (int i = 0; i < 100 && !listed; i++) {
        listed = run_tool("sessions", line, sizeof line) == 0 && strstr(line, sid) != NULL;
        if (!listed) {
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(listed);
    snprintf(args, sizeof args, "disconnect %llu kicked", (unsigned long long)cid);
    assert_int_equal(run_tool(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "delete=done"));
    assert_int_equal(sg_kv_get(E.sessions, sid, &e), SG_OK);
    assert_int_equal(sg_session_from_json(e->value, e->len, &r), SG_OK);
    sg_kv_entry_free(e);
    assert_int_equal(r.state, SG_SESSION_RELEASED);
    assert_int_equal(run_tool(args, line, sizeof line), 3); /* nothing left to release */
    assert_int_equal(run_tool("bogus", line, sizeof line), 2);
}

static int setup(void **state)
{
    (void)state;
    snprintf(E.dir, sizeof E.dir, "/tmp/sg-hook-e2e-XXXXXX");
    if (!mkdtemp(E.dir)) return -1;
    if (sg_test_nats_start(&E.nats) != 0) return -1;
    if (!sim_start(&E.sim, sim_bin, sim_config, API_KEY)) return -1;
    if (sg_key_generate(&E.key) != SG_OK) return -1;
    sg_store_options so;
    sg_store_options_init(&so);
    so.url = E.nats.url;
    so.app = "e2e";
    if (sg_store_open(&so, &E.store) != SG_OK) return -1;
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    bo.ttl_ms = 60000;
    sg_bucket_open(E.store, SG_BUCKET_CONNECT_TOKENS, &bo, &E.tokens);
    bo.ttl_ms = 0;
    sg_bucket_open(E.store, SG_BUCKET_SESSIONS, &bo, &E.sessions);
    sg_edgegap_options eo;
    sg_edgegap_options_default(&eo);
    eo.base_url = E.sim.url;
    eo.api_key = API_KEY;
    eo.rate = 0;
    if (!E.tokens || !E.sessions || sg_edgegap_client_new(&eo, &E.api) != SG_OK) return -1;
    for (int attempt = 0; attempt < 5 && E.server <= 0; attempt++) {
        E.port = sg_test_free_udp_port();
        E.server = E.port > 0 ? start_server(E.port) : -1;
    }
    return E.server > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (E.server > 0) sg_pid_stop(E.server, 10000);
    sg_edgegap_client_free(E.api);
    sg_bucket_close(E.tokens);
    sg_bucket_close(E.sessions);
    sg_store_close(E.store);
    sim_stop(&E.sim);
    sg_test_nats_free(&E.nats);
    sg_key_free(E.key);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", E.dir);
    if (system(cmd) != 0) {
    }
    sg_store_library_cleanup();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s SERVER CLIENT SIMULATOR CONFIG TOOL\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    client_bin = argv[2];
    sim_bin = argv[3];
    sim_config = argv[4];
    tool_bin = argv[5];
    sg_log_set_level(SG_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_replayed_stolen_and_foreign_tokens),
        cmocka_unit_test(operator_tool_inspects_without_side_effects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
