/* seatgate-example-server: the reference game server for the gameserver hook.
 *
 * A UDP server that admits players with netcode 1.02 connection requests, verified by the
 * hook (docs/gameserver-hook.md). Its own settings below; the hook reads SEATGATE_* and
 * Edgegap's ARBITRIUM_* from the environment. Stops on SIGINT/SIGTERM: players are told
 * goodbye, their sessions deleted, the server deregistered. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ex_server.h"
#include "example_proto.h"
#include "seatgate/clock.h"
#include "seatgate/config.h"
#include "seatgate/keys.h"
#include "seatgate/log.h"
#include "seatgate/records.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ARBITRIUM_PUBLIC_IP and the external port of the named port in ARBITRIUM_PORTS_MAPPING. */
static bool edgegap_public_addr(const char *port_name, sg_addr *out)
{
    const char *ip = getenv("ARBITRIUM_PUBLIC_IP");
    const char *mapping = getenv("ARBITRIUM_PORTS_MAPPING");
    if (!ip || !mapping || sg_addr_parse(ip, SG_PORT_FORBIDDEN, out) != SG_OK) return false;
    cJSON *root = cJSON_Parse(mapping);
    cJSON *ports = cJSON_GetObjectItemCaseSensitive(root, "ports");
    cJSON *port = cJSON_GetObjectItemCaseSensitive(ports, port_name);
    cJSON *ext = cJSON_GetObjectItemCaseSensitive(port, "external");
    bool ok = cJSON_IsNumber(ext) && ext->valueint > 0 && ext->valueint < 65536;
    if (ok) out->port = (uint16_t)ext->valueint;
    cJSON_Delete(root);
    return ok;
}

/* The health file: written whole under a temporary name, then renamed over the old one, so
 * a healthcheck never reads half of it. Only once the hook's start sequence has succeeded. */
static void write_health(const char *path, sg_hook *hook)
{
    sg_hook_stats st;
    sg_hook_get_stats(hook, &st);
    if (!st.started || st.stopped) return;
    char text[64];
    snprintf(text, sizeof text, "players=%u pending=%u", (unsigned)st.players, (unsigned)st.pending);
    sg_file_write_whole(path, text);
}

int main(int argc, char **argv)
{
    const sg_setting settings[] = {
        {.name = "listen",
         .type = SG_SET_STRING,
         .def = "0.0.0.0:7000",
         .help = "UDP address to listen on"},
        {.name = "public-address",
         .type = SG_SET_STRING,
         .help = "address tokens must list (default: ARBITRIUM_PUBLIC_IP and the external port "
                 "of port-name, else the listen address)"},
        {.name = "port-name",
         .type = SG_SET_STRING,
         .def = SG_DEFAULT_PORT_NAME,
         .env = "SEATGATE_PORT_NAME",
         .help = "name of the game port in ARBITRIUM_PORTS_MAPPING (the hook's port-name)"},
        {.name = "max-players",
         .type = SG_SET_INT,
         .def = "64",
         .min = 1,
         .max = 4096,
         .help = "player slots"},
        {.name = "keepalive",
         .type = SG_SET_DURATION,
         .def = "1s",
         .min = 10,
         .max = 60000,
         .help = "interval of keep-alive packets"},
        {.name = "log-level",
         .type = SG_SET_STRING,
         .def = "info",
         .choices = SG_LOG_LEVEL_CHOICES,
         .help = "lines below this level are not written"},
        {.name = "health-file",
         .type = SG_SET_STRING,
         .help = "rewritten every second while the game loop runs and the hook has started "
                 "(players and pending verifications in it): a container healthcheck tests "
                 "its age (unset: none)"},
    };
    sg_config cfg = {.program = "seatgate-example-server",
                     .summary = "Example UDP game server admitting players through the hook",
                     .env_prefix = "EXAMPLE_"};
    sg_status st = sg_config_add(&cfg, settings, sizeof settings / sizeof *settings);
    if (st == SG_OK) st = sg_config_add(&cfg, sg_token_settings, sg_token_settings_count);
    if (st == SG_OK) st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) {
        sg_config_free(&cfg);
        return 0;
    }
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-example-server: error: %s\n", sg_last_error());
        sg_config_free(&cfg);
        return 2;
    }
    sg_log_level level;
    if (sg_log_level_parse(sg_config_str(&cfg, "log-level"), &level) == SG_OK)
        sg_log_set_level(level);

    int rc = 1;
    sg_key *key = NULL;
    sg_hook_options *ho = NULL;
    sg_hook *hook = NULL;
    ex_server *server = NULL;
    ex_server_config sc = {.listen = sg_config_str(&cfg, "listen"),
                           .max_players = (int)sg_config_num(&cfg, "max-players"),
                           .keepalive_ms = (int)sg_config_num(&cfg, "keepalive")};
    sg_addr pub;
    const char *pub_text = sg_config_str(&cfg, "public-address");
    if (pub_text) {
        if (sg_addr_parse(pub_text, SG_PORT_REQUIRED, &pub) != SG_OK) goto fail;
        sc.public_addr = &pub;
    } else if (edgegap_public_addr(sg_config_str(&cfg, "port-name"), &pub)) {
        sc.public_addr = &pub;
    }
    sg_token_options tko;
    if (sg_token_options_from_config(&cfg, &tko) != SG_OK) goto fail;
    key = tko.key;
    sc.key = key;
    sc.protocol_id = tko.protocol_id;
    sc.dialect = tko.dialect;

    if (sg_hook_options_new(&ho) != SG_OK || sg_hook_options_load_env(ho) != SG_OK ||
        sg_hook_options_set(ho, "port-name", sg_config_str(&cfg, "port-name")) != SG_OK ||
        sg_hook_new(ho, &hook) != SG_OK)
        goto fail;
    if (ex_server_new(&sc, hook, &server) != 0) {
        sg_fail(SG_E_IO, "cannot listen on %s", sc.listen);
        goto fail;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Tell a supervising script (and the tests) where we listen. */
    printf("listening %u\n", (unsigned)ex_server_port(server));
    fflush(stdout);
    const char *health = sg_config_str(&cfg, "health-file");
    long long health_at = 0;
    while (!stop_requested) {
        ex_server_tick(server, 20);
        if (health && sg_clock_mono_ms() - health_at >= 1000) {
            health_at = sg_clock_mono_ms();
            write_health(health, hook);
        }
    }
    if (health) unlink(health);
    ex_server_free(server);
    server = NULL;
    rc = sg_hook_stop(hook, -1 /* the hook's stop-timeout */) == SG_OK ? 0 : 1;
    goto done;
fail:
    fprintf(stderr, "seatgate-example-server: error: %s\n", sg_last_error());
done:
    ex_server_free(server);
    sg_hook_free(hook);
    sg_hook_options_free(ho);
    sg_key_free(key);
    sg_config_free(&cfg);
    return rc;
}
