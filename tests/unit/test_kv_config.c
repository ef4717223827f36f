/* Store URLs, names and settings: everything decided before any backend is touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kv_backend.h"
#include "seatgate/config.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"

static void url_picks_the_backend_and_target(void **state)
{
    (void)state;
    const sg_kv_backend *be = NULL;
    char *target = NULL;
    assert_int_equal(sg_kv_parse_url("sqlite:///var/lib/sg/state.db", &be, &target), SG_OK);
    assert_ptr_equal(be, &sg_kv_sqlite_backend);
    assert_string_equal(target, "/var/lib/sg/state.db");
    free(target);
    assert_int_equal(sg_kv_parse_url("sqlite://./seatgate.db", &be, &target), SG_OK);
    assert_string_equal(target, "./seatgate.db");
    free(target);
    assert_int_equal(sg_kv_parse_url(NULL, &be, &target), SG_OK); /* the default */
    assert_ptr_equal(be, &sg_kv_sqlite_backend);
    assert_string_equal(target, "./seatgate.db");
    free(target);
    const char *nats[] = {"nats://127.0.0.1:4222", "nats://nats-1:4222,nats://nats-2:4222",
                          "tls://nats.example.com:4222", "nats://[::1]:4222", "nats://h"};
    for (size_t i = 0; i < sizeof nats / sizeof nats[0]; i++) {
        assert_int_equal(sg_kv_parse_url(nats[i], &be, &target), SG_OK);
        assert_ptr_equal(be, &sg_kv_nats_backend);
        assert_string_equal(target, nats[i]);
        free(target);
    }
}

static void malformed_urls_are_refused_clearly(void **state)
{
    (void)state;
    struct {
        const char *url, *says;
    } bad[] = {
        {"redis://x:6379", "unknown scheme"},
        {"sqlite://", "needs a file path"},
        {"sqlite://x.db?mode=ro", "no query"},
        {"nats://", "must start with"},
        {"nats://:4222", "no host"},
        {"nats://h:0", "out of range"},
        {"nats://h:99999", "out of range"},
        {"nats://h:42a", "bad port"},
        {"nats://h:4222,http://x", "must start with"},
        {"nats://h:4222,http://admin:secret@x:80/?key=secret", "(got 'http://[redacted]@x:80/?[redacted]')"},
        {"nats://user:secret@h:4222", "credentials in the URL"},
        {"nats://h/x", "bad character"},
        {"localhost:4222", "unknown scheme"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const sg_kv_backend *be = NULL;
        char *target = NULL;
        assert_int_equal(sg_kv_parse_url(bad[i].url, &be, &target), SG_E_INVALID);
        assert_null(target);
        if (!strstr(sg_last_error(), bad[i].says))
            fail_msg("%s: message '%s' lacks '%s'", bad[i].url, sg_last_error(), bad[i].says);
        assert_null(strstr(sg_last_error(), "secret"));
    }
}

static void keys_follow_the_nats_rules(void **state)
{
    (void)state;
    const char *good[] = {"a", "950dd2eaff09-S", "9f511e17.pr.edgegap.net", "x/y=z_-", "1"};
    const char *bad[] = {"", ".a", "a.", "a..b", "a b", "a*", "a>", "a\\b", "ü", NULL};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(sg_kv_key_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(sg_kv_key_valid(bad[i]));
    char longest[SG_KV_KEY_MAX + 2];
    memset(longest, 'k', sizeof longest);
    longest[SG_KV_KEY_MAX] = '\0';
    assert_true(sg_kv_key_valid(longest));
    longest[SG_KV_KEY_MAX] = 'k';
    longest[SG_KV_KEY_MAX + 1] = '\0';
    assert_false(sg_kv_key_valid(longest));
    assert_true(sg_kv_name_valid("connect_tokens"));
    assert_true(sg_kv_name_valid("game-1"));
    assert_false(sg_kv_name_valid("a.b"));
    assert_false(sg_kv_name_valid(""));
}

static void store_open_refuses_bad_options_before_connecting(void **state)
{
    (void)state;
    sg_store_options o;
    sg_store *s = NULL;
    sg_store_options_init(&o);
    o.app = "my.game";
    assert_int_equal(sg_store_open(&o, &s), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "app"));
    sg_store_options_init(&o);
    o.url = "nats://127.0.0.1:1";
    o.tls_cert = "c.pem";
    assert_int_equal(sg_store_open(&o, &s), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "nats-tls-key"));
    sg_store_options_init(&o);
    o.url = "bogus";
    assert_int_equal(sg_store_open(&o, &s), SG_E_INVALID);
    assert_null(s);
}

/* A program's configuration: its own setting, then the store's fragment. */
static sg_status load(char **argv, int argc, sg_config *cfg)
{
    static const sg_setting own[] = {
        {.name = "listen-port", .type = SG_SET_INT, .def = "8080", .help = "port", .min = 1,
         .max = 65535}};
    memset(cfg, 0, sizeof *cfg);
    cfg->program = "test";
    cfg->env_prefix = "SGTEST_";
    assert_int_equal(sg_config_add(cfg, own, 1), SG_OK);
    assert_int_equal(sg_config_add(cfg, sg_store_settings, sg_store_settings_count), SG_OK);
    assert_int_equal(cfg->count, sg_store_settings_count + 1);
    /* a fragment added twice is a programming error, reported */
    assert_int_equal(sg_config_add(cfg, sg_store_settings, 1), SG_E_INVALID);
    return sg_config_load(cfg, argc, argv);
}

static void settings_fragment_builds_store_options(void **state)
{
    (void)state;

    char *argv[] = {"test",
                    "--store-url",
                    "nats://127.0.0.1:4222",
                    "--app",
                    "game1",
                    "--nats-user",
                    "mm",
                    "--nats-password",
                    "pw",
                    "--store-timeout",
                    "750ms",
                    "--nats-max-reconnects",
                    "5",
                    "--kv-replicas",
                    "3"};
    sg_config cfg;
    assert_int_equal(load(argv, sizeof argv / sizeof argv[0], &cfg), SG_OK);
    sg_store_options o;
    assert_int_equal(sg_store_options_from_config(&cfg, &o), SG_OK);
    assert_string_equal(o.url, "nats://127.0.0.1:4222");
    assert_string_equal(o.app, "game1");
    assert_string_equal(o.user, "mm");
    assert_string_equal(o.password, "pw");
    assert_int_equal(o.timeout_ms, 750);
    assert_int_equal(o.max_reconnects, 5);
    assert_int_equal(o.replicas, 3);
    assert_int_equal(o.reconnect_wait_ms, 2000);
    assert_null(o.token);
    sg_config_free(&cfg);

    /* Defaults: the embedded SQLite file. */
    char *none[] = {"test"};
    assert_int_equal(load(none, 1, &cfg), SG_OK);
    assert_int_equal(sg_store_options_from_config(&cfg, &o), SG_OK);
    assert_string_equal(o.url, SG_KV_DEFAULT_URL);
    assert_string_equal(o.app, SG_KV_DEFAULT_APP);
    assert_int_equal(o.timeout_ms, 2000);
    assert_int_equal(o.max_reconnects, -1);
    sg_config_free(&cfg);

    /* Two ways to authenticate at once is a mistake. */
    char *both[] = {"test", "--nats-token", "t0k", "--nats-creds-file", "/x.creds"};
    assert_int_equal(load(both, 5, &cfg), SG_OK);
    assert_int_equal(sg_store_options_from_config(&cfg, &o), SG_E_INVALID);
    assert_null(strstr(sg_last_error(), "t0k"));
    sg_config_free(&cfg);
    char *half[] = {"test", "--nats-user", "mm"};
    assert_int_equal(load(half, 3, &cfg), SG_OK);
    assert_int_equal(sg_store_options_from_config(&cfg, &o), SG_E_INVALID);
    sg_config_free(&cfg);

    /* A URL that does not parse is refused by the options, naming the setting, and a
     * password inside it is never echoed. */
    char *url[] = {"test", "--store-url", "http://mm:hunter2pw@127.0.0.1:4222"};
    assert_int_equal(load(url, 3, &cfg), SG_OK);
    assert_int_equal(sg_store_options_from_config(&cfg, &o), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "--store-url: "));
    assert_null(strstr(sg_last_error(), "hunter2pw"));
    sg_config_free(&cfg);
}

int main(void)
{
    sg_log_set_level(SG_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_picks_the_backend_and_target),
        cmocka_unit_test(malformed_urls_are_refused_clearly),
        cmocka_unit_test(keys_follow_the_nats_rules),
        cmocka_unit_test(store_open_refuses_bad_options_before_connecting),
        cmocka_unit_test(settings_fragment_builds_store_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
