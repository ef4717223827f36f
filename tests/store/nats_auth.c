/* The store's NATS authentication and TLS settings against real nats-server processes:
 * user/password, token, TLS with a CA file, mutual TLS with a client certificate. The
 * settings go through the store's settings table (flags), as the programs load them.
 * Certificates are made at test time with openssl in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nats_server.h"
#include "seatgate/config.h"
#include "seatgate/kv.h"

#define PASSWORD "pw-Secret-4711"
#define WRONG_PASSWORD "pw-Wrong-0815"
#define TOKEN "tok-Secret-9s8d7f"
#define WRONG_TOKEN "tok-Wrong-1a2b3c"

static char g_certs[256]; /* temporary folder with the CA, server and client files */

/* One server per test; stopped by the teardown whatever the test did. */
typedef struct fixture {
    sg_test_nats nats;
    const char *args[16];
} fixture;

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        sg_test_nats_free(&f->nats);
        free(f);
    }
    *state = NULL;
    return 0;
}

static fixture *start_server(void **state, const char *const *args)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    int i = 0;
    for (; args[i]; i++)
        f->args[i] = args[i];
    f->args[i] = NULL;
    f->nats.extra_args = f->args;
    assert_int_equal(sg_test_nats_start(&f->nats), 0);
    return f;
}

/* Opens the store from flags through the store's settings table, as a program would. The
 * URL is given as is (nats:// or tls://). Returns the status; on success *out is set. */
static sg_status open_with(const char *url, const char *const *flags, sg_store **out)
{
    char url_flag[128];
    snprintf(url_flag, sizeof url_flag, "--store-url=%s", url);
    /* A refused connection is reported at once, not retried (store-connect-timeout 0). */
    char *argv[16] = {"nats_auth", url_flag, "--store-timeout=2s", "--nats-max-reconnects=0",
                      "--store-connect-timeout=0"};
    int argc = 5;
    for (int i = 0; flags && flags[i]; i++)
        argv[argc++] = (char *)flags[i];
    sg_config cfg = {.program = "nats_auth", .summary = "test", .env_prefix = "SG_NATS_AUTH_TEST_"};
    assert_int_equal(sg_config_add(&cfg, sg_store_settings, sg_store_settings_count), SG_OK);
    assert_int_equal(sg_config_load(&cfg, argc, argv), SG_OK);
    sg_store_options o;
    sg_store_options_init(&o);
    assert_int_equal(sg_store_options_from_config(&cfg, &o), SG_OK);
    o.app = "authtest";
    *out = NULL;
    sg_status st = sg_store_open(&o, out);
    sg_config_free(&cfg);
    return st;
}

/* A put and a get through a fresh bucket. */
static void put_get(sg_store *s)
{
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    sg_bucket *b = NULL;
    assert_int_equal(sg_bucket_open(s, "auth", &bo, &b), SG_OK);
    uint64_t rev = 0;
    assert_int_equal(sg_kv_put(b, "k1", "hello", 5, &rev), SG_OK);
    assert_true(rev > 0);
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_kv_get(b, "k1", &e), SG_OK);
    assert_int_equal(e->len, 5);
    assert_memory_equal(e->value, "hello", 5);
    assert_int_equal(e->revision, rev);
    sg_kv_entry_free(e);
    sg_bucket_close(b);
}

static void expect_works(const char *url, const char *const *flags)
{
    sg_store *s = NULL;
    sg_status st = open_with(url, flags, &s);
    if (st != SG_OK) fprintf(stderr, "open failed: %s: %s\n", sg_status_name(st), sg_last_error());
    assert_int_equal(st, SG_OK);
    put_get(s);
    sg_store_close(s);
}

/* The open fails with `want`, and the message is there and holds none of the secrets. */
static void expect_fails(const char *url, const char *const *flags, sg_status want)
{
    sg_store *s = NULL;
    sg_status st = open_with(url, flags, &s);
    const char *msg = sg_last_error();
    fprintf(stderr, "expected failure: %s: %s\n", sg_status_name(st), msg);
    assert_int_equal(st, want);
    assert_null(s);
    assert_non_null(msg);
    assert_true(strlen(msg) > 10);
    assert_null(strstr(msg, PASSWORD));
    assert_null(strstr(msg, WRONG_PASSWORD));
    assert_null(strstr(msg, TOKEN));
    assert_null(strstr(msg, WRONG_TOKEN));
}

/* ---- user/password ----------------------------------------------------------------------- */

static void user_password(void **state)
{
    const char *args[] = {"--user", "u", "--pass", PASSWORD, NULL};
    fixture *f = start_server(state, args);
    const char *right[] = {"--nats-user=u", "--nats-password=" PASSWORD, NULL};
    expect_works(f->nats.url, right);

    const char *wrong[] = {"--nats-user=u", "--nats-password=" WRONG_PASSWORD, NULL};
    expect_fails(f->nats.url, wrong, SG_E_UNAUTHORIZED);
    const char *wrong_user[] = {"--nats-user=x", "--nats-password=" PASSWORD, NULL};
    expect_fails(f->nats.url, wrong_user, SG_E_UNAUTHORIZED);
    expect_fails(f->nats.url, NULL, SG_E_UNAUTHORIZED);
}

/* ---- token ------------------------------------------------------------------------------- */

static void token(void **state)
{
    const char *args[] = {"--auth", TOKEN, NULL};
    fixture *f = start_server(state, args);
    const char *right[] = {"--nats-token=" TOKEN, NULL};
    expect_works(f->nats.url, right);

    const char *wrong[] = {"--nats-token=" WRONG_TOKEN, NULL};
    expect_fails(f->nats.url, wrong, SG_E_UNAUTHORIZED);
    expect_fails(f->nats.url, NULL, SG_E_UNAUTHORIZED);
    /* User/password against a token-only server: refused as well. */
    const char *other[] = {"--nats-user=u", "--nats-password=" WRONG_PASSWORD, NULL};
    expect_fails(f->nats.url, other, SG_E_UNAUTHORIZED);
}

/* ---- TLS --------------------------------------------------------------------------------- */

static void cert_path(char *buf, size_t size, const char *file)
{
    snprintf(buf, size, "%s/%s", g_certs, file);
}

static void tls_url(char *buf, size_t size, const sg_test_nats *n)
{
    snprintf(buf, size, "tls://127.0.0.1:%d", n->port);
}

static void tls_server_ca(void **state)
{
    char cert[300], key[300], ca[300], ca_flag[320];
    cert_path(cert, sizeof cert, "server.pem");
    cert_path(key, sizeof key, "server.key");
    cert_path(ca, sizeof ca, "ca.pem");
    const char *args[] = {"--tls", "--tlscert", cert, "--tlskey", key, "--tlscacert", ca, NULL};
    fixture *f = start_server(state, args);
    snprintf(ca_flag, sizeof ca_flag, "--nats-tls-ca=%s", ca);
    const char *with_ca[] = {ca_flag, NULL};
    char url[64];
    tls_url(url, sizeof url, &f->nats);

    /* The CA setting turns TLS on: both URL forms work. */
    expect_works(url, with_ca);
    expect_works(f->nats.url, with_ca);

    /* Without the CA: a plain client is refused by the TLS-only server, and a tls:// client
     * cannot verify the server with the system's CAs. */
    expect_fails(f->nats.url, NULL, SG_E_UNAVAILABLE);
    expect_fails(url, NULL, SG_E_UNAVAILABLE);

    /* A CA that did not sign the server certificate: refused. */
    char other_ca[320];
    snprintf(other_ca, sizeof other_ca, "--nats-tls-ca=%s/other-ca.pem", g_certs);
    const char *wrong_ca[] = {other_ca, NULL};
    expect_fails(url, wrong_ca, SG_E_UNAVAILABLE);

    /* A CA file that does not exist: a configuration error naming the setting. */
    const char *missing[] = {"--nats-tls-ca=/nonexistent/ca.pem", NULL};
    sg_store *s = NULL;
    assert_int_equal(open_with(url, missing, &s), SG_E_INVALID);
    assert_null(s);
    assert_non_null(strstr(sg_last_error(), "nats-tls"));
}

static void tls_client_cert(void **state)
{
    char cert[300], key[300], ca[300];
    cert_path(cert, sizeof cert, "server.pem");
    cert_path(key, sizeof key, "server.key");
    cert_path(ca, sizeof ca, "ca.pem");
    const char *args[] = {"--tls",       "--tlscert", cert,          "--tlskey", key,
                          "--tlscacert", ca,          "--tlsverify", NULL};
    fixture *f = start_server(state, args);
    char ca_flag[320], cert_flag[320], key_flag[320], url[64];
    snprintf(ca_flag, sizeof ca_flag, "--nats-tls-ca=%s", ca);
    snprintf(cert_flag, sizeof cert_flag, "--nats-tls-cert=%s/client.pem", g_certs);
    snprintf(key_flag, sizeof key_flag, "--nats-tls-key=%s/client.key", g_certs);
    tls_url(url, sizeof url, &f->nats);

    const char *full[] = {ca_flag, cert_flag, key_flag, NULL};
    expect_works(url, full);

    /* Without a client certificate the server ends the handshake. */
    const char *no_cert[] = {ca_flag, NULL};
    expect_fails(url, no_cert, SG_E_UNAVAILABLE);

    /* A client certificate from another CA: refused as well. */
    char other_cert[320], other_key[320];
    snprintf(other_cert, sizeof other_cert, "--nats-tls-cert=%s/other-client.pem", g_certs);
    snprintf(other_key, sizeof other_key, "--nats-tls-key=%s/other-client.key", g_certs);
    const char *foreign[] = {ca_flag, other_cert, other_key, NULL};
    expect_fails(url, foreign, SG_E_UNAVAILABLE);
}

/* ---- certificates ------------------------------------------------------------------------ */

static int make_certs(void)
{
    snprintf(g_certs, sizeof g_certs, "%s/sg-tls-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_certs)) {
        g_certs[0] = '\0';
        return -1;
    }
    char cmd[4096];
    /* ca: signs server and client; other-ca: signs other-client and nothing the server
     * trusts. EC P-256 keys: quick to make. */
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; exec > openssl.log 2>&1\n"
             "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext\n"
             "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n"
             "K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
             "for ca in ca other-ca; do\n"
             "  openssl req -x509 $K -keyout $ca.key -out $ca.pem -days 2 -subj /CN=sg-test-$ca\n"
             "done\n"
             "sign() { openssl req $K -keyout $1.key -out $1.csr -subj /CN=$3\n"
             "  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -set_serial $4 -days 2 "
             "-out $1.pem -extfile $5; }\n"
             "sign server ca 127.0.0.1 1 server.ext\n"
             "sign client ca sg-test-client 2 client.ext\n"
             "sign other-client other-ca sg-test-other 3 client.ext\n",
             g_certs);
    FILE *p = popen("sh -s", "w");
    if (!p) return -1;
    fputs(cmd, p);
    int rc = pclose(p);
    if (rc != 0) {
        fprintf(stderr, "openssl failed (status %d); is openssl installed? scripts/deps test\n",
                rc);
        return -1;
    }
    return 0;
}

static void remove_certs(void)
{
    if (!g_certs[0]) return;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_certs);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_certs);
}

static int group_setup(void **state)
{
    (void)state;
    return make_certs();
}

static int group_teardown(void **state)
{
    (void)state;
    remove_certs();
    sg_store_library_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(user_password, teardown),
        cmocka_unit_test_teardown(token, teardown),
        cmocka_unit_test_teardown(tls_server_ca, teardown),
        cmocka_unit_test_teardown(tls_client_cert, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
