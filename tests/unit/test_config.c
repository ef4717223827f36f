/* Configuration convention: flag > environment > file (secrets) > default, --help, and
 * errors that name the setting without echoing secrets. Also the log line format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seatgate/config.h"
#include "seatgate/log.h"

static sg_setting *fresh_table(size_t *n)
{
    static const sg_setting proto[] = {
        {.name = "listen-port", .type = SG_SET_INT, .def = "8000", .help = "TCP port",
         .min = 1, .max = 65535},
        {.name = "store-url", .type = SG_SET_STRING, .def = "sqlite://seatgate.db",
         .help = "state store"},
        {.name = "wait", .type = SG_SET_DURATION, .def = "20s", .help = "deadline"},
        {.name = "max-body", .type = SG_SET_SIZE, .def = "4KiB", .help = "body limit"},
        {.name = "trust-proxy", .type = SG_SET_BOOL, .def = "false", .help = "trust headers"},
        {.name = "api-key", .type = SG_SET_STRING, .help = "upstream key",
         .flags = SG_SET_SECRET},
    };
    *n = sizeof proto / sizeof proto[0];
    sg_setting *t = malloc(sizeof proto);
    memcpy(t, proto, sizeof proto);
    return t;
}

static void clear_env(void)
{
    const char *vars[] = {"SGT_LISTEN_PORT", "SGT_STORE_URL", "SGT_WAIT", "SGT_MAX_BODY",
                          "SGT_TRUST_PROXY", "SGT_API_KEY", "SGT_API_KEY_FILE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
}

static sg_status load(sg_config *cfg, int argc, char **argv)
{
    size_t n;
    *cfg = (sg_config){.program = "t", .summary = "test", .env_prefix = "SGT_"};
    cfg->settings = fresh_table(&n);
    cfg->count = n;
    return sg_config_load(cfg, argc, argv);
}

static void done(sg_config *cfg)
{
    sg_config_free(cfg);
    free(cfg->settings);
    clear_env();
}

static void defaults_apply_when_nothing_is_set(void **state)
{
    (void)state;
    sg_config cfg;
    char *argv[] = {"t"};
    assert_int_equal(load(&cfg, 1, argv), SG_OK);
    assert_int_equal(sg_config_num(&cfg, "listen-port"), 8000);
    assert_string_equal(sg_config_str(&cfg, "store-url"), "sqlite://seatgate.db");
    assert_int_equal(sg_config_num(&cfg, "wait"), 20000);
    assert_int_equal(sg_config_num(&cfg, "max-body"), 4096);
    assert_false(sg_config_bool(&cfg, "trust-proxy"));
    assert_null(sg_config_str(&cfg, "api-key"));
    assert_string_equal(sg_config_get(&cfg, "api-key")->source, "unset");
    assert_string_equal(sg_config_get(&cfg, "wait")->source, "default");
    done(&cfg);
}

static void flag_beats_environment(void **state)
{
    (void)state;
    setenv("SGT_LISTEN_PORT", "9000", 1);
    setenv("SGT_WAIT", "1m", 1);
    sg_config cfg;
    char *argv[] = {"t", "--listen-port", "9100", "--max-body=2MiB", "--trust-proxy"};
    assert_int_equal(load(&cfg, 5, argv), SG_OK);
    assert_int_equal(sg_config_num(&cfg, "listen-port"), 9100);
    assert_string_equal(sg_config_get(&cfg, "listen-port")->source, "flag");
    assert_int_equal(sg_config_num(&cfg, "wait"), 60000);
    assert_string_equal(sg_config_get(&cfg, "wait")->source, "env");
    assert_int_equal(sg_config_num(&cfg, "max-body"), 2 * 1024 * 1024);
    assert_true(sg_config_bool(&cfg, "trust-proxy"));
    done(&cfg);

    setenv("SGT_TRUST_PROXY", "yes", 1);
    char *argv2[] = {"t", "--no-trust-proxy"};
    assert_int_equal(load(&cfg, 2, argv2), SG_OK);
    assert_false(sg_config_bool(&cfg, "trust-proxy"));
    done(&cfg);
}

static void secrets_come_from_files(void **state)
{
    (void)state;
    char path[] = "/tmp/sg-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cr3t-value\n\n", 14), 14);
    close(fd);

    sg_config cfg;
    setenv("SGT_API_KEY_FILE", path, 1);
    char *argv[] = {"t"};
    assert_int_equal(load(&cfg, 1, argv), SG_OK);
    assert_string_equal(sg_config_str(&cfg, "api-key"), "s3cr3t-value");
    assert_string_equal(sg_config_get(&cfg, "api-key")->source, "file");
    done(&cfg);

    char *argv2[] = {"t", "--api-key-file", path};
    assert_int_equal(load(&cfg, 3, argv2), SG_OK);
    assert_string_equal(sg_config_str(&cfg, "api-key"), "s3cr3t-value");
    done(&cfg);

    /* only secrets have a -file form */
    char *argv3[] = {"t", "--store-url-file", path};
    assert_int_equal(load(&cfg, 3, argv3), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "unknown option --store-url-file"));
    done(&cfg);

    unlink(path);
    char *argv4[] = {"t", "--api-key-file", path};
    assert_int_equal(load(&cfg, 3, argv4), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "--api-key-file"));
    assert_non_null(strstr(sg_last_error(), "No such file"));
    done(&cfg);
}

static void invalid_values_name_the_setting(void **state)
{
    (void)state;
    struct {
        char *flag, *value;
        const char *expect;
    } cases[] = {
        {"--listen-port", "70000", "--listen-port (SGT_LISTEN_PORT) must be between 1 and 65535"},
        {"--listen-port", "80x", "invalid value 80x for --listen-port (SGT_LISTEN_PORT, from flag)"},
        {"--wait", "20", "expected a duration"},
        {"--wait", "5 s", "expected a duration"},
        {"--max-body", "4XB", "expected a size"},
        {"--trust-proxy=maybe", NULL, "expected true or false"},
        {"--bogus", "1", "unknown option --bogus"},
        {"stray", NULL, "unexpected argument 'stray'"},
        {"--store-url", NULL, "--store-url needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_config cfg;
        char *argv[] = {"t", cases[i].flag, cases[i].value};
        assert_int_equal(load(&cfg, cases[i].value ? 3 : 2, argv), SG_E_INVALID);
        if (!strstr(sg_last_error(), cases[i].expect))
            fail_msg("case %zu: '%s' lacks '%s'", i, sg_last_error(), cases[i].expect);
        done(&cfg);
    }

    /* environment values are named by their variable */
    setenv("SGT_WAIT", "soon", 1);
    sg_config cfg;
    char *argv[] = {"t"};
    assert_int_equal(load(&cfg, 1, argv), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "--wait (SGT_WAIT, from env)"));
    done(&cfg);
}

static void secret_values_are_never_echoed(void **state)
{
    (void)state;
    sg_setting t[] = {{.name = "port-key", .type = SG_SET_INT, .flags = SG_SET_SECRET}};
    sg_config cfg = {.program = "t", .env_prefix = "SGT_", .settings = t, .count = 1};
    char *argv[] = {"t", "--port-key", "hunter2-very-secret"};
    assert_int_equal(sg_config_load(&cfg, 3, argv), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "--port-key"));
    assert_null(strstr(sg_last_error(), "hunter2"));
    sg_config_free(&cfg);
}

static void required_settings_must_be_given(void **state)
{
    (void)state;
    sg_setting t[] = {{.name = "app", .type = SG_SET_STRING, .flags = SG_SET_REQUIRED}};
    sg_config cfg = {.program = "t", .env_prefix = "SGT_", .settings = t, .count = 1};
    char *argv[] = {"t"};
    assert_int_equal(sg_config_load(&cfg, 1, argv), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "--app (SGT_APP) is required");
    char *argv2[] = {"t", "--app", "demo"};
    assert_int_equal(sg_config_load(&cfg, 3, argv2), SG_OK);
    assert_string_equal(sg_config_str(&cfg, "app"), "demo");
    sg_config_free(&cfg);
}

static void help_lists_flags_variables_and_defaults(void **state)
{
    (void)state;
    size_t n;
    setenv("SGT_API_KEY", "do-not-print-me", 1);
    sg_config cfg = {.program = "seatgate-t", .summary = "A test program.", .env_prefix = "SGT_"};
    cfg.settings = fresh_table(&n);
    cfg.count = n;
    cfg.settings[5].def = "default-secret"; /* even a secret default stays hidden */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    sg_config_print_help(&cfg, out);
    fclose(out);
    assert_non_null(strstr(buf, "Usage: seatgate-t"));
    assert_non_null(strstr(buf, "--listen-port N\n      env SGT_LISTEN_PORT, default 8000"));
    assert_non_null(strstr(buf, "--wait DURATION\n      env SGT_WAIT, default 20s"));
    assert_non_null(strstr(buf, "env SGT_API_KEY (secret; or SGT_API_KEY_FILE), default unset"));
    assert_null(strstr(buf, "default-secret"));
    assert_null(strstr(buf, "do-not-print-me"));
    free(buf);
    sg_config_free(&cfg);
    free(cfg.settings);
    clear_env();
}

static char captured[4096];
static void capture(sg_log_level level, const char *line, void *user)
{
    (void)level;
    (void)user;
    size_t used = strlen(captured);
    snprintf(captured + used, sizeof captured - used, "%s\n", line);
}

static void effective_config_is_logged_without_secrets(void **state)
{
    (void)state;
    setenv("SGT_API_KEY", "do-not-log-me", 1);
    sg_config cfg;
    char *argv[] = {"t"};
    assert_int_equal(load(&cfg, 1, argv), SG_OK);
    captured[0] = '\0';
    sg_log_set_sink(capture, NULL);
    sg_log_set_level(SG_LOG_DEBUG);
    sg_config_log(&cfg, "test");
    assert_non_null(strstr(captured, "event=setting name=api-key value=(set) source=env"));
    assert_non_null(strstr(captured, "name=listen-port value=8000 source=default"));
    assert_null(strstr(captured, "do-not-log-me"));
    done(&cfg);

    /* At info level: one line, naming only what is not at its default; URLs redacted. */
    setenv("SGT_API_KEY", "do-not-log-me", 1);
    setenv("SGT_STORE_URL", "nats://mm:hunter2@127.0.0.1:4222,nats://n2:4222?token=t0ps3cret",
           1);
    char *argv2[] = {"t", "--wait=5s"};
    assert_int_equal(load(&cfg, 2, argv2), SG_OK);
    captured[0] = '\0';
    sg_log_set_level(SG_LOG_INFO);
    sg_config_log(&cfg, "test");
    sg_log_set_sink(NULL, NULL);
    assert_null(strchr(strchr(captured, '\n') + 1, '\n')); /* exactly one line */
    char want[300];
    snprintf(want, sizeof want,
             "level=info comp=test event=config version=%s settings=6 changed=3 "
             "values=\"store-url=nats://[redacted]@127.0.0.1:4222,nats://n2:4222?[redacted] "
             "wait=5s api-key=(set)\"\n",
             sg_version());
    if (!strstr(captured, want)) fail_msg("'%s' lacks '%s'", captured, want);
    assert_null(strstr(captured, "hunter2"));
    assert_null(strstr(captured, "t0ps3cret"));
    done(&cfg);
}

static void urls_are_redacted_and_other_text_kept(void **state)
{
    (void)state;
    char b[256];
    struct {
        const char *in, *out;
    } cases[] = {
        {"sqlite://./seatgate.db", "sqlite://./seatgate.db"},
        {"nats://u:p@h:4222", "nats://[redacted]@h:4222"},
        {"https://api.example.com/v1?key=abc#frag", "https://api.example.com/v1?[redacted]#frag"},
        {"tls://a@b@h:1/x@y", "tls://[redacted]@h:1/x@y"},
        {"plain text, no url", "plain text, no url"},
        {"token k", "token k"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(sg_log_redact_url(cases[i].in, b, sizeof b), cases[i].out);
    char tiny[8];
    assert_string_equal(sg_log_redact_url("nats://u:p@h", tiny, sizeof tiny), "nats://");
}

/* sg_fail may be given the thread's own message (adding context to it): the result is the
 * whole new text, not a garbled overlap. */
static void errors_can_wrap_the_last_error(void **state)
{
    (void)state;
    sg_fail(SG_E_INVALID, "private key: expected 32 bytes (64 hex digits), got 4 hex digits");
    assert_int_equal(sg_fail(SG_E_INVALID, "--netcode-key: %s", sg_last_error()), SG_E_INVALID);
    assert_string_equal(sg_last_error(),
                        "--netcode-key: private key: expected 32 bytes (64 hex digits), got 4 "
                        "hex digits");
    sg_fail(SG_E_IO, "cannot open /a/rather/long/path/to/the/netcode.key: No such file");
    sg_fail(SG_E_INVALID, "%s: %s", "SGT_API_KEY_FILE", sg_last_error());
    assert_string_equal(sg_last_error(), "SGT_API_KEY_FILE: cannot open "
                                         "/a/rather/long/path/to/the/netcode.key: No such file");
    /* the message file path is not cut either when read through the config */
    setenv("SGT_API_KEY_FILE", "/nonexistent/a/rather/long/path/to/the/netcode.key", 1);
    sg_config cfg;
    char *argv[] = {"t"};
    assert_int_equal(load(&cfg, 1, argv), SG_E_INVALID);
    assert_string_equal(sg_last_error(),
                        "SGT_API_KEY_FILE: cannot open "
                        "/nonexistent/a/rather/long/path/to/the/netcode.key: No such file or "
                        "directory");
    done(&cfg);
}

/* Older names keep working; --version and --help go to stdout as SG_E_HELP; --name=value and
 * operands after the settings for programs that take them. */
static void aliases_version_and_operands(void **state)
{
    (void)state;
    sg_setting t[] = {{.name = "netcode-key", .type = SG_SET_STRING, .flags = SG_SET_SECRET,
                       .alias = "private-key"},
                      {.name = "public-ip", .type = SG_SET_STRING, .env = "ARBITRIUM_PUBLIC_IP"}};
    sg_config cfg = {.program = "t", .env_prefix = "SGT_", .settings = t, .count = 2};
    char *a1[] = {"t", "--private-key=abc"};
    assert_int_equal(sg_config_load(&cfg, 2, a1), SG_OK);
    assert_string_equal(sg_config_str(&cfg, "netcode-key"), "abc");
    sg_config_free(&cfg);
    setenv("SGT_PRIVATE_KEY", "from-old-variable", 1);
    setenv("ARBITRIUM_PUBLIC_IP", "203.0.113.9", 1);
    char *a2[] = {"t"};
    assert_int_equal(sg_config_load(&cfg, 1, a2), SG_OK);
    assert_string_equal(sg_config_str(&cfg, "netcode-key"), "from-old-variable");
    assert_string_equal(sg_config_str(&cfg, "public-ip"), "203.0.113.9");
    setenv("SGT_NETCODE_KEY", "new-name-wins", 1);
    assert_int_equal(sg_config_load(&cfg, 1, a2), SG_OK);
    assert_string_equal(sg_config_str(&cfg, "netcode-key"), "new-name-wins");
    unsetenv("SGT_PRIVATE_KEY");
    unsetenv("SGT_NETCODE_KEY");
    unsetenv("ARBITRIUM_PUBLIC_IP");
    sg_config_free(&cfg);

    fflush(stdout);
    char *a3[] = {"t", "--version"};
    assert_int_equal(sg_config_load(&cfg, 2, a3), SG_E_HELP);
    sg_config_free(&cfg);

    cfg.usage = "COMMAND [ARG]...";
    char *a4[] = {"t", "--public-ip", "1.2.3.4", "verify", "--not-a-setting"};
    assert_int_equal(sg_config_load(&cfg, 5, a4), SG_OK);
    assert_int_equal(cfg.operands, 3);
    char *a5[] = {"t", "--public-ip=1.2.3.4"};
    assert_int_equal(sg_config_load(&cfg, 2, a5), SG_OK);
    assert_int_equal(cfg.operands, 2);
    sg_config_free(&cfg);
}

/* Settings set one by one (a library's options): each value is checked as it is set, a bad
 * one leaves the old value, NULL restores the default. */
static void settings_are_set_one_by_one(void **state)
{
    (void)state;
    sg_config cfg;
    size_t n;
    cfg = (sg_config){.program = "t", .env_prefix = "SGT_"};
    cfg.settings = fresh_table(&n);
    cfg.count = n;
    sg_config_reset(&cfg);
    assert_int_equal(sg_config_num(&cfg, "listen-port"), 8000);
    assert_int_equal(sg_config_set(&cfg, "listen-port", "9001"), SG_OK);
    assert_int_equal(sg_config_num(&cfg, "listen-port"), 9001);
    assert_string_equal(sg_config_get(&cfg, "listen-port")->source, "set");
    assert_int_equal(sg_config_set(&cfg, "listen-port", "99999"), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "--listen-port (SGT_LISTEN_PORT) must be between 1 and "
                                         "65535");
    assert_int_equal(sg_config_num(&cfg, "listen-port"), 9001);
    assert_int_equal(sg_config_set(&cfg, "nope", "1"), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "unknown setting 'nope'");
    setenv("SGT_WAIT", "3s", 1);
    assert_int_equal(sg_config_load_env(&cfg), SG_OK);
    assert_int_equal(sg_config_num(&cfg, "wait"), 3000);
    assert_int_equal(sg_config_num(&cfg, "listen-port"), 9001); /* not in the environment */
    setenv("SGT_WAIT", "later", 1);
    assert_int_equal(sg_config_load_env(&cfg), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "--wait (SGT_WAIT, from env)"));
    assert_int_equal(sg_config_num(&cfg, "wait"), 3000);
    assert_int_equal(sg_config_set(&cfg, "listen-port", NULL), SG_OK);
    assert_int_equal(sg_config_num(&cfg, "listen-port"), 8000);
    assert_int_equal(sg_config_set_default(&cfg, "wait", "9s"), SG_OK);
    sg_config_reset(&cfg);
    assert_int_equal(sg_config_num(&cfg, "wait"), 9000);
    assert_int_equal(sg_config_check(&cfg), SG_OK);
    done(&cfg);
}

static void log_lines_are_structured_and_filtered(void **state)
{
    (void)state;
    captured[0] = '\0';
    sg_log_set_sink(capture, NULL);
    sg_log_set_level(SG_LOG_INFO);
    SG_DEBUG("comp", "hidden", "x=%d", 1);
    char q[64];
    SG_WARN("store", "slow_call", "bucket=%s note=%s", "sessions",
            sg_log_quote("took \"long\"", q, sizeof q));
    sg_log_set_sink(NULL, NULL);
    assert_null(strstr(captured, "hidden"));
    assert_non_null(strstr(captured, " level=warn comp=store event=slow_call bucket=sessions "
                                     "note=\"took \\\"long\\\"\"\n"));
    assert_memory_equal(captured, "ts=", 3);

    sg_log_level lvl;
    assert_int_equal(sg_log_level_parse("debug", &lvl), SG_OK);
    assert_int_equal(lvl, SG_LOG_DEBUG);
    assert_int_equal(sg_log_level_parse("loud", &lvl), SG_E_INVALID);
    assert_string_equal(sg_log_quote("", q, sizeof q), "\"\"");
    assert_string_equal(sg_log_quote("plain", q, sizeof q), "plain");
    assert_string_equal(sg_log_quote("a=b", q, sizeof q), "\"a=b\"");
}

static void value_parsers(void **state)
{
    (void)state;
    long long v;
    assert_int_equal(sg_duration_parse_ms("250ms", &v), SG_OK);
    assert_int_equal(v, 250);
    assert_int_equal(sg_duration_parse_ms("2h", &v), SG_OK);
    assert_int_equal(v, 7200000);
    assert_int_equal(sg_duration_parse_ms("0", &v), SG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(sg_duration_parse_ms("-1s", &v), SG_E_INVALID);
    assert_int_equal(sg_duration_parse_ms("99999999999999999999h", &v), SG_E_INVALID);
    assert_int_equal(sg_size_parse("1GiB", &v), SG_OK);
    assert_int_equal(v, 1073741824LL);
    assert_int_equal(sg_size_parse("512", &v), SG_OK);
    assert_int_equal(v, 512);
    assert_int_equal(sg_int_parse(" 5", &v), SG_E_INVALID);
    assert_int_equal(sg_int_parse("-5", &v), SG_OK);
    assert_int_equal(v, -5);
    bool b;
    assert_int_equal(sg_bool_parse("OFF", &b), SG_OK);
    assert_false(b);
}

int main(void)
{
    clear_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply_when_nothing_is_set),
        cmocka_unit_test(flag_beats_environment),
        cmocka_unit_test(secrets_come_from_files),
        cmocka_unit_test(invalid_values_name_the_setting),
        cmocka_unit_test(secret_values_are_never_echoed),
        cmocka_unit_test(required_settings_must_be_given),
        cmocka_unit_test(help_lists_flags_variables_and_defaults),
        cmocka_unit_test(effective_config_is_logged_without_secrets),
        cmocka_unit_test(log_lines_are_structured_and_filtered),
        cmocka_unit_test(value_parsers),
        cmocka_unit_test(urls_are_redacted_and_other_text_kept),
        cmocka_unit_test(errors_can_wrap_the_last_error),
        cmocka_unit_test(aliases_version_and_operands),
        cmocka_unit_test(settings_are_set_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
