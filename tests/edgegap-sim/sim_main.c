/* seatgate-edgegap-sim: a local stand-in for Edgegap's session API (see
 * docs/edgegap-sim.md). main() reads the settings, wires the modules and waits for
 * SIGTERM/SIGINT. */
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "seatgate/addr.h"
#include "seatgate/config.h"
#include "seatgate/log.h"
#include "sim.h"

#define DEFAULT_KEY "sim-api-key"

#define SET(n, t, d, h, f, lo, hi)                                                                 \
    {                                                                                              \
        .name = n, .type = t, .def = d, .help = h, .flags = f, .min = lo, .max = hi                \
    }

static sg_setting settings[] = {
    SET("listen-address", SG_SET_STRING, "127.0.0.1",
        "address to listen on (loopback by default: the /_sim admin endpoints have no auth)", 0, 0,
        0),
    SET("listen-port", SG_SET_INT, "0", "port to listen on; 0 picks a free one", 0, 0, 65535),
    SET("public-url", SG_SET_STRING, NULL,
        "base URL deployments use in ARBITRIUM_CONTEXT_URL/DELETE_URL (default: the listen URL)", 0,
        0, 0),
    SET("api-key", SG_SET_STRING, NULL,
        "organisation API key clients must send (Authorization: token KEY); default sim-api-key",
        SG_SET_SECRET, 0, 0),
    SET("config", SG_SET_STRING, NULL,
        "JSON file with apps, versions and deployments (default: "
        "app demo, version v1, one ready deployment on 127.0.0.1)",
        0, 0, 0),
    SET("ready-file", SG_SET_STRING, NULL, "write the listening URL to this file once ready", 0, 0,
        0),
    SET("env-dir", SG_SET_STRING, NULL,
        "write <request_id>.env (ARBITRIUM_* lines) here for every deployment from the config", 0,
        0, 0),
    SET("print-env", SG_SET_STRING, NULL,
        "print the ARBITRIUM_* environment of this configured deployment and exit", 0, 0, 0),
    SET("token-seed", SG_SET_STRING, "seatgate-edgegap-sim",
        "derives the context/delete tokens of configured deployments (so --print-env matches)", 0,
        0, 0),
    SET("external-port-base", SG_SET_INT, "30000",
        "first external port given to autodeployed ports", 0, 1024, 59999),
    SET("rate-limit-rps", SG_SET_STRING, "0", "organisation requests per second (0 = unlimited)", 0,
        0, 0),
    SET("rate-limit-burst", SG_SET_STRING, "0", "token bucket size (0 = max(1, rps))", 0, 0, 0),
    SET("fault-error-rate", SG_SET_STRING, "0", "fraction (0..1) of API calls answered 500/503", 0,
        0, 0),
    SET("fault-error-status", SG_SET_INT, "0", "status for injected errors (0 = 500 or 503)", 0, 0,
        599),
    SET("fault-latency", SG_SET_DURATION, "0", "latency added to every API call", 0, 0, 600000),
    SET("fault-hang", SG_SET_BOOL, "false", "hold every API call unanswered until cleared", 0, 0,
        0),
    SET("fault-burst", SG_SET_INT, "0", "the next N API calls fail with 503", 0, 0, 1000000000),
    SET("fault-force-429", SG_SET_INT, "0", "the next N API calls get 429", 0, 0, 1000000000),
    SET("fault-lose-create-answers", SG_SET_INT, "0",
        "the next N session creates are carried out but their answer is lost", 0, 0, 1000000000),
    SET("fault-create-answer-delay", SG_SET_DURATION, "0",
        "session creates are carried out at once and answered this much later", 0, 0, 600000),
    SET("max-body", SG_SET_SIZE, "64KiB", "largest request body accepted (413 beyond)", 0, 64,
        16777216),
    SET("threads", SG_SET_INT, "4", "HTTP worker threads", 0, 1, 256),
    SET("connection-limit", SG_SET_INT, "20000", "concurrent connections accepted", 0, 16, 1000000),
    SET("webhook-threads", SG_SET_INT, "2", "webhook delivery threads", 0, 1, 64),
    SET("webhook-timeout", SG_SET_DURATION, "2s", "timeout of one webhook POST", 0, 1, 60000),
    SET("log-level", SG_SET_STRING, "info", "debug, info, warn, error or off", 0, 0, 0),
};

static bool parse_fraction(const char *text, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int write_text_file(const char *path, const char *text)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp) return -1;
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    bool ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int write_env_dir(const char *dir, const sim_catalog *cat, sim_state *st)
{
    mkdir(dir, 0755);
    for (size_t i = 0; i < cat->n; i++) {
        for (size_t j = 0; j < cat->versions[i].n_statics; j++) {
            const char *rid = cat->versions[i].statics[j].request_id;
            if (!rid[0]) continue;
            char *text = NULL, path[4096];
            if (sim_state_env(st, rid, &text) != 200) return -1;
            snprintf(path, sizeof path, "%s/%s.env", dir, rid);
            int rc = write_text_file(path, text);
            free(text);
            if (rc != 0) {
                SG_ERROR("sim", "env_write_failed", "path=%s", path);
                return -1;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    sg_config cfg = {.program = "seatgate-edgegap-sim",
                     .summary = "A local simulator of Edgegap's session API for tests and local "
                                "stacks (never talks to Edgegap).",
                     .env_prefix = "SEATGATE_SIM_",
                     .settings = settings,
                     .count = sizeof settings / sizeof *settings};
    sg_status st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) return 0;
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-edgegap-sim: error: %s\n", sg_last_error());
        return 2;
    }
    sg_log_level level;
    if (sg_log_level_parse(sg_config_str(&cfg, "log-level"), &level) != SG_OK) {
        fprintf(stderr,
                "seatgate-edgegap-sim: error: --log-level must be debug, info, warn, error or off\n");
        return 2;
    }
    sg_log_set_level(level);
    double rps = 0, rburst = 0, err_rate = 0;
    if (!parse_fraction(sg_config_str(&cfg, "rate-limit-rps"), 0, 1e6, &rps) ||
        !parse_fraction(sg_config_str(&cfg, "rate-limit-burst"), 0, 1e6, &rburst) ||
        !parse_fraction(sg_config_str(&cfg, "fault-error-rate"), 0, 1, &err_rate)) {
        fprintf(stderr, "seatgate-edgegap-sim: error: --rate-limit-rps and --rate-limit-burst must be "
                        "numbers >= 0, --fault-error-rate a number from 0 to 1\n");
        return 2;
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "seatgate-edgegap-sim: error: cannot initialise libsodium or libcurl\n");
        return 1;
    }

    sim_catalog cat;
    const char *cfg_path = sg_config_str(&cfg, "config");
    st = cfg_path ? sim_catalog_load(cfg_path, &cat) : sim_catalog_default(&cat);
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-edgegap-sim: error: config: %s\n", sg_last_error());
        return 2;
    }

    const char *addr = sg_config_str(&cfg, "listen-address");
    int port = (int)sg_config_num(&cfg, "listen-port");
    const char *public_url = sg_config_str(&cfg, "public-url");
    sim_state_opts so = {.token_seed = sg_config_str(&cfg, "token-seed"),
                         .external_port_base = (int)sg_config_num(&cfg, "external-port-base")};

    const char *print_rid = sg_config_str(&cfg, "print-env");
    if (print_rid) {
        char url[300];
        if (!public_url && port == 0) {
            fprintf(stderr, "seatgate-edgegap-sim: error: --print-env needs --public-url or a fixed "
                            "--listen-port to build ARBITRIUM_CONTEXT_URL\n");
            sim_catalog_free(&cat);
            return 2;
        }
        sg_addr a;
        char host[SG_ADDR_STRLEN] = "127.0.0.1";
        if (sg_addr_parse(addr, SG_PORT_FORBIDDEN, &a) == SG_OK) {
            a.port = (uint16_t)port;
            sg_addr_format(&a, true, host, sizeof host);
        }
        snprintf(url, sizeof url, "http://%s", host);
        so.public_url = public_url ? public_url : url;
        char *text = NULL;
        st = sim_static_env(&cat, &so, print_rid, &text);
        sim_catalog_free(&cat);
        if (st != SG_OK) {
            fprintf(stderr, "seatgate-edgegap-sim: error: %s\n", sg_last_error());
            return 2;
        }
        fputs(text, stdout);
        free(text);
        sg_config_free(&cfg);
        return 0;
    }

    const char *api_key = sg_config_str(&cfg, "api-key");
    if (!api_key) {
        api_key = DEFAULT_KEY;
        SG_WARN("sim", "default_api_key", "hint=%s", "no_api_key_given_using_documented_default");
    }
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    /* SIGTERM/SIGINT are blocked in every thread and taken with sigwait() below. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    sim_fault_settings fs = {
        .error_rate = err_rate,
        .error_status = (int)sg_config_num(&cfg, "fault-error-status"),
        .latency_ms = sg_config_num(&cfg, "fault-latency"),
        .hang = sg_config_bool(&cfg, "fault-hang"),
        .burst = sg_config_num(&cfg, "fault-burst"),
        .force_429 = sg_config_num(&cfg, "fault-force-429"),
        .lose_create_answers = sg_config_num(&cfg, "fault-lose-create-answers"),
        .create_answer_delay_ms = sg_config_num(&cfg, "fault-create-answer-delay")};
    if (fs.error_status && fs.error_status < 500) {
        fprintf(stderr, "seatgate-edgegap-sim: error: --fault-error-status must be 0 or 500..599\n");
        return 2;
    }
    sim_faults *faults = sim_faults_new(&fs, rps, rburst);
    sim_webhooks *wh = sim_webhooks_new((int)sg_config_num(&cfg, "webhook-threads"),
                                        (long)sg_config_num(&cfg, "webhook-timeout"));
    if (!faults || !wh) {
        fprintf(stderr, "seatgate-edgegap-sim: error: out of memory\n");
        return 1;
    }
    so.webhooks = wh;

    sim_server_opts o = {.listen_address = addr,
                         .port = port,
                         .threads = (int)sg_config_num(&cfg, "threads"),
                         .connection_limit = (unsigned)sg_config_num(&cfg, "connection-limit"),
                         .max_body = (size_t)sg_config_num(&cfg, "max-body"),
                         .api_key = api_key};
    sim_state *state = NULL;
    sim_server *srv = NULL;
    char url[300];
    sg_addr a;
    if (sg_addr_parse(addr, SG_PORT_FORBIDDEN, &a) != SG_OK) {
        fprintf(stderr, "seatgate-edgegap-sim: error: --listen-address must be an IP address\n");
        return 2;
    }
    /* The state is built first; its public URL is set once the port is known. */
    st = sim_state_new(&cat, &so, &state);
    if (st == SG_OK) st = sim_server_start(&o, state, faults, wh, &srv);
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-edgegap-sim: error: %s\n", sg_last_error());
        return 1;
    }
    char host[SG_ADDR_STRLEN];
    a.port = (uint16_t)sim_server_port(srv);
    sg_addr_format(&a, true, host, sizeof host);
    snprintf(url, sizeof url, "http://%s", host);
    sim_state_set_public_url(state, public_url ? public_url : url);

    int exit_code = 0;
    const char *env_dir = sg_config_str(&cfg, "env-dir");
    if (env_dir && write_env_dir(env_dir, &cat, state) != 0) {
        fprintf(stderr, "seatgate-edgegap-sim: error: cannot write env files to %s\n", env_dir);
        exit_code = 1;
    }

    printf("listening url=%s\n", url);
    fflush(stdout);
    SG_INFO("sim", "listening", "url=%s versions=%zu", url, cat.n);
    const char *ready_file = sg_config_str(&cfg, "ready-file");
    if (ready_file) {
        char line[320];
        snprintf(line, sizeof line, "%s\n", url);
        if (write_text_file(ready_file, line) != 0) {
            fprintf(stderr, "seatgate-edgegap-sim: error: cannot write %s\n", ready_file);
            exit_code = 1;
        }
    }
    if (exit_code == 0) {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        SG_INFO("sim", "stopping", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    sim_server_stop(srv);
    sim_webhooks_free(wh);
    sim_state_free(state);
    sim_faults_free(faults);
    sim_catalog_free(&cat);
    sg_config_free(&cfg);
    curl_global_cleanup();
    return exit_code;
}
