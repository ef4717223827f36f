/* The player's IP: socket peer, trusted proxies' X-Forwarded-For / Forwarded, fake IP. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client_ip.h"

static sg_addr ip(const char *text)
{
    sg_addr a;
    assert_int_equal(sg_addr_parse(text, SG_PORT_OPTIONAL, &a), SG_OK);
    return a;
}

static const char *resolve(sg_client_ip_options *o, const char *peer, const char *header,
                           sg_status *st_out)
{
    static char buf[SG_ADDR_STRLEN];
    sg_addr p = ip(peer), out;
    sg_status st = sg_client_ip_resolve(o, &p, header, header ? strlen(header) : 0, &out, NULL);
    if (st_out) *st_out = st;
    if (st != SG_OK) return "error";
    return sg_addr_format(&out, true, buf, sizeof buf);
}

static sg_cidr trusted[2];

static sg_client_ip_options opts(sg_forward_header h)
{
    sg_cidr *list = NULL;
    size_t n = 0;
    assert_int_equal(sg_cidr_list_parse("10.0.0.0/8, fd00::/8", &list, &n), SG_OK);
    memcpy(trusted, list, sizeof trusted);
    free(list);
    return (sg_client_ip_options){.trusted = trusted, .trusted_count = 2, .header = h};
}

static void untrusted_peer_is_the_player_whatever_it_sends(void **state)
{
    (void)state;
    sg_client_ip_options o = opts(SG_FORWARD_X_FORWARDED_FOR);
    assert_string_equal(resolve(&o, "203.0.113.9:5555", "1.2.3.4", NULL), "203.0.113.9");
    assert_string_equal(resolve(&o, "203.0.113.9", "garbage, ,", NULL), "203.0.113.9");
    assert_string_equal(resolve(&o, "::ffff:203.0.113.9", NULL, NULL), "203.0.113.9");
}

static void trusted_proxy_gives_the_rightmost_untrusted_hop(void **state)
{
    (void)state;
    sg_client_ip_options o = opts(SG_FORWARD_X_FORWARDED_FOR);
    /* The client spoofed 1.2.3.4; the proxy appended the real address. */
    assert_string_equal(resolve(&o, "10.0.0.2", "1.2.3.4, 198.51.100.7", NULL), "198.51.100.7");
    /* Two trusted proxies in a row are skipped. */
    assert_string_equal(resolve(&o, "10.0.0.2", "1.2.3.4, 198.51.100.7, 10.1.1.1", NULL),
                        "198.51.100.7");
    /* Ports and IPv6 forms are accepted. */
    assert_string_equal(resolve(&o, "10.0.0.2", "[2001:db8::5]:443", NULL), "2001:db8::5");
    assert_string_equal(resolve(&o, "10.0.0.2", "198.51.100.7:1234", NULL), "198.51.100.7");
    /* Garbage left of the player is never read. */
    assert_string_equal(resolve(&o, "10.0.0.2", "not-an-ip, 198.51.100.7", NULL), "198.51.100.7");
    /* No header from a trusted proxy: the proxy itself. */
    assert_string_equal(resolve(&o, "10.0.0.2", NULL, NULL), "10.0.0.2");
    /* Every hop trusted: the left-most. */
    assert_string_equal(resolve(&o, "10.0.0.2", "10.9.9.9, 10.1.1.1", NULL), "10.9.9.9");
}

static void unreadable_hop_that_must_be_read_is_an_error(void **state)
{
    (void)state;
    sg_client_ip_options o = opts(SG_FORWARD_X_FORWARDED_FOR);
    sg_status st;
    assert_string_equal(resolve(&o, "10.0.0.2", "198.51.100.7, unknown", &st), "error");
    assert_int_equal(st, SG_E_MALFORMED);
    assert_string_equal(resolve(&o, "10.0.0.2", "nonsense", &st), "error");
    assert_int_equal(st, SG_E_MALFORMED);
}

static void forwarded_header_rfc7239(void **state)
{
    (void)state;
    sg_client_ip_options o = opts(SG_FORWARD_FORWARDED);
    assert_string_equal(resolve(&o, "10.0.0.2", "for=192.0.2.60;proto=http;by=203.0.113.43", NULL),
                        "192.0.2.60");
    assert_string_equal(
        resolve(&o, "10.0.0.2", "for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\"", NULL),
        "2001:db8:cafe::17");
    assert_string_equal(resolve(&o, "10.0.0.2", "For=\"198.51.100.3\" ; Proto=https", NULL),
                        "198.51.100.3");
    /* A comma inside a quoted value does not split elements. */
    assert_string_equal(resolve(&o, "10.0.0.2", "for=198.51.100.3;x=\"a,b\"", NULL),
                        "198.51.100.3");
    sg_status st;
    assert_string_equal(resolve(&o, "10.0.0.2", "for=_hidden", &st), "error");
    assert_string_equal(resolve(&o, "10.0.0.2", "proto=https", &st), "error");
    assert_string_equal(resolve(&o, "10.0.0.2", "for=1.2.3.4;for=5.6.7.8", &st), "error");
    assert_string_equal(resolve(&o, "10.0.0.2", "for=\"1.2.3.4", &st), "error");
    assert_int_equal(st, SG_E_MALFORMED);
    /* X-Forwarded-For is not read when Forwarded is configured (the peer is the player). */
    o.header = SG_FORWARD_NONE;
    assert_string_equal(resolve(&o, "10.0.0.2", "for=192.0.2.60", NULL), "10.0.0.2");
}

static void keeps_only_the_rightmost_hops(void **state)
{
    (void)state;
    char big[4096] = "";
    for (int i = 0; i < 100; i++)
        strcat(big, "10.0.0.1, ");
    strcat(big, "10.0.0.3");
    sg_forward_hop hops[SG_CLIENT_IP_MAX_HOPS];
    size_t n = 0, dropped = 0;
    assert_int_equal(sg_forward_parse(SG_FORWARD_X_FORWARDED_FOR, big, strlen(big), hops,
                                      SG_CLIENT_IP_MAX_HOPS, &n, &dropped),
                     SG_OK);
    assert_int_equal(n, SG_CLIENT_IP_MAX_HOPS);
    assert_int_equal(dropped, 101 - SG_CLIENT_IP_MAX_HOPS);
    assert_true(hops[n - 1].valid);
    /* More trusted hops than are kept: refused rather than guessed. */
    sg_client_ip_options o = opts(SG_FORWARD_X_FORWARDED_FOR);
    sg_status st;
    assert_string_equal(resolve(&o, "10.0.0.2", big, &st), "error");
}

static void fake_ip_replaces_loopback_and_private_players(void **state)
{
    (void)state;
    sg_client_ip_options o = opts(SG_FORWARD_NONE);
    o.use_fake_ip = true;
    o.fake_ip = ip("203.0.113.50");
    assert_string_equal(resolve(&o, "127.0.0.1", NULL, NULL), "203.0.113.50");
    assert_string_equal(resolve(&o, "::1", NULL, NULL), "203.0.113.50");
    assert_string_equal(resolve(&o, "172.17.0.1", NULL, NULL), "203.0.113.50");
    assert_string_equal(resolve(&o, "198.51.100.7", NULL, NULL), "198.51.100.7");
    sg_addr a = ip("fe80::1");
    assert_true(sg_addr_is_nonpublic(&a));
    a = ip("2001:db8::1");
    assert_false(sg_addr_is_nonpublic(&a));
    a = ip("100.64.0.1");
    assert_true(sg_addr_is_nonpublic(&a));
}

static void header_setting_names(void **state)
{
    (void)state;
    sg_forward_header h;
    assert_int_equal(sg_forward_header_parse("X-Forwarded-For", &h), SG_OK);
    assert_int_equal(h, SG_FORWARD_X_FORWARDED_FOR);
    assert_int_equal(sg_forward_header_parse("forwarded", &h), SG_OK);
    assert_int_equal(h, SG_FORWARD_FORWARDED);
    assert_int_equal(sg_forward_header_parse("x-real-ip", &h), SG_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untrusted_peer_is_the_player_whatever_it_sends),
        cmocka_unit_test(trusted_proxy_gives_the_rightmost_untrusted_hop),
        cmocka_unit_test(unreadable_hop_that_must_be_read_is_an_error),
        cmocka_unit_test(forwarded_header_rfc7239),
        cmocka_unit_test(keeps_only_the_rightmost_hops),
        cmocka_unit_test(fake_ip_replaces_loopback_and_private_players),
        cmocka_unit_test(header_setting_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
