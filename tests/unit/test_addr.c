/* Addresses: parse/format with and without ports, v4-mapped normalisation, CIDR matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/addr.h"

static void roundtrip(const char *in, sg_port_rule rule, const char *expect)
{
    sg_addr a;
    assert_int_equal(sg_addr_parse(in, rule, &a), SG_OK);
    char buf[SG_ADDR_STRLEN];
    assert_string_equal(sg_addr_format(&a, true, buf, sizeof buf), expect);
}

static void parses_and_formats_ipv4_and_ipv6(void **state)
{
    (void)state;
    roundtrip("203.0.113.7", SG_PORT_OPTIONAL, "203.0.113.7");
    roundtrip("203.0.113.7:7000", SG_PORT_OPTIONAL, "203.0.113.7:7000");
    roundtrip("2001:db8::1", SG_PORT_OPTIONAL, "2001:db8::1");
    roundtrip("[2001:db8::1]", SG_PORT_OPTIONAL, "2001:db8::1");
    roundtrip("[::1]:7000", SG_PORT_REQUIRED, "[::1]:7000");
    roundtrip("[2001:DB8:0:0:0:0:0:1]:65535", SG_PORT_OPTIONAL, "[2001:db8::1]:65535");

    sg_addr a;
    assert_int_equal(sg_addr_parse("10.1.2.3:1", SG_PORT_OPTIONAL, &a), SG_OK);
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.port, 1);
    assert_memory_equal(a.ip, "\x0a\x01\x02\x03", 4);
    char buf[SG_ADDR_STRLEN];
    assert_string_equal(sg_addr_format(&a, false, buf, sizeof buf), "10.1.2.3");
}

static void normalises_v4_mapped_ipv6(void **state)
{
    (void)state;
    sg_addr a, b;
    assert_int_equal(sg_addr_parse("::ffff:198.51.100.4", SG_PORT_OPTIONAL, &a), SG_OK);
    assert_int_equal(a.family, AF_INET);
    roundtrip("[::ffff:198.51.100.4]:9000", SG_PORT_OPTIONAL, "198.51.100.4:9000");
    assert_int_equal(sg_addr_parse("198.51.100.4", SG_PORT_OPTIONAL, &b), SG_OK);
    assert_true(sg_addr_equal(&a, &b, true));

    /* An un-normalised mapped address built by hand still compares equal. */
    sg_addr raw = {.family = AF_INET6};
    memcpy(raw.ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc6\x33\x64\x04", 16);
    assert_true(sg_addr_equal(&raw, &b, false));

    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(4242)};
    memcpy(&sin6.sin6_addr, raw.ip, 16);
    sg_addr from;
    assert_int_equal(sg_addr_from_sockaddr((struct sockaddr *)&sin6, &from), SG_OK);
    assert_int_equal(from.family, AF_INET);
    assert_int_equal(from.port, 4242);
    assert_true(sg_addr_equal(&from, &b, false));
}

static void compares_ports_only_when_asked(void **state)
{
    (void)state;
    sg_addr a, b, c;
    assert_int_equal(sg_addr_parse("192.0.2.1:1000", SG_PORT_OPTIONAL, &a), SG_OK);
    assert_int_equal(sg_addr_parse("192.0.2.1:2000", SG_PORT_OPTIONAL, &b), SG_OK);
    assert_int_equal(sg_addr_parse("192.0.2.2:1000", SG_PORT_OPTIONAL, &c), SG_OK);
    assert_true(sg_addr_equal(&a, &b, false));
    assert_false(sg_addr_equal(&a, &b, true));
    assert_false(sg_addr_equal(&a, &c, false));
    sg_addr v6;
    assert_int_equal(sg_addr_parse("::1", SG_PORT_OPTIONAL, &v6), SG_OK);
    assert_false(sg_addr_equal(&a, &v6, false));
    assert_true(sg_addr_is_loopback(&v6));
    assert_false(sg_addr_is_loopback(&a));
}

static void sockaddr_roundtrip(void **state)
{
    (void)state;
    const char *cases[] = {"127.0.0.1:80", "[fe80::1:2]:443"};
    for (size_t i = 0; i < 2; i++) {
        sg_addr a, back;
        assert_int_equal(sg_addr_parse(cases[i], SG_PORT_REQUIRED, &a), SG_OK);
        struct sockaddr_storage ss;
        socklen_t len = sg_addr_to_sockaddr(&a, &ss);
        assert_true(len > 0);
        assert_int_equal(sg_addr_from_sockaddr((struct sockaddr *)&ss, &back), SG_OK);
        assert_true(sg_addr_equal(&a, &back, true));
    }
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    sg_addr out;
    assert_int_equal(sg_addr_from_sockaddr(&unix_sa, &out), SG_E_INVALID);
}

static void rejects_bad_addresses_with_clear_errors(void **state)
{
    (void)state;
    struct {
        const char *text;
        sg_port_rule rule;
        const char *why;
    } bad[] = {
        {"", SG_PORT_OPTIONAL, "empty"},
        {"256.1.1.1", SG_PORT_OPTIONAL, "not an IPv4 or IPv6 address"},
        {"example.com", SG_PORT_OPTIONAL, "not an IPv4 or IPv6 address"},
        {"1.2.3.4:0", SG_PORT_OPTIONAL, "port must be 1..65535"},
        {"1.2.3.4:65536", SG_PORT_OPTIONAL, "port must be 1..65535"},
        {"1.2.3.4:", SG_PORT_OPTIONAL, "port must be 1..65535"},
        {"1.2.3.4:7x", SG_PORT_OPTIONAL, "port must be 1..65535"},
        {"1.2.3.4", SG_PORT_REQUIRED, "a port is required"},
        {"1.2.3.4:80", SG_PORT_FORBIDDEN, "a port is not allowed"},
        {"[::1", SG_PORT_OPTIONAL, "missing ']'"},
        {"[::1]x", SG_PORT_OPTIONAL, "unexpected text after ']'"},
        {"[1.2.3.4]:80", SG_PORT_OPTIONAL, "brackets are only for IPv6"},
        {"::1:80:", SG_PORT_OPTIONAL, "not an IPv4 or IPv6 address"},
        {"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25", SG_PORT_OPTIONAL,
         "too long"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_addr a;
        assert_int_equal(sg_addr_parse(bad[i].text, bad[i].rule, &a), SG_E_INVALID);
        if (!strstr(sg_last_error(), bad[i].why)) fail_msg("'%s': %s", bad[i].text, sg_last_error());
    }
    sg_addr a;
    assert_int_equal(sg_addr_parse(NULL, SG_PORT_OPTIONAL, &a), SG_E_INVALID);
}

static void cidr_matching(void **state)
{
    (void)state;
    sg_cidr c;
    sg_addr in, out, mapped;
    assert_int_equal(sg_cidr_parse("10.0.0.0/8", &c), SG_OK);
    assert_int_equal(sg_addr_parse("10.255.1.2", SG_PORT_OPTIONAL, &in), SG_OK);
    assert_int_equal(sg_addr_parse("11.0.0.1", SG_PORT_OPTIONAL, &out), SG_OK);
    assert_true(sg_cidr_contains(&c, &in));
    assert_false(sg_cidr_contains(&c, &out));
    mapped = (sg_addr){.family = AF_INET6};
    memcpy(mapped.ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x00\x00\x01", 16);
    assert_true(sg_cidr_contains(&c, &mapped));

    assert_int_equal(sg_cidr_parse("2001:db8::/32", &c), SG_OK);
    assert_int_equal(sg_addr_parse("2001:db8:ffff::1", SG_PORT_OPTIONAL, &in), SG_OK);
    assert_int_equal(sg_addr_parse("2001:db9::1", SG_PORT_OPTIONAL, &out), SG_OK);
    assert_true(sg_cidr_contains(&c, &in));
    assert_false(sg_cidr_contains(&c, &out));
    assert_false(sg_cidr_contains(&c, &mapped));

    assert_int_equal(sg_cidr_parse("192.0.2.0/25", &c), SG_OK);
    assert_int_equal(sg_addr_parse("192.0.2.127", SG_PORT_OPTIONAL, &in), SG_OK);
    assert_int_equal(sg_addr_parse("192.0.2.128", SG_PORT_OPTIONAL, &out), SG_OK);
    assert_true(sg_cidr_contains(&c, &in));
    assert_false(sg_cidr_contains(&c, &out));

    assert_int_equal(sg_cidr_parse("0.0.0.0/0", &c), SG_OK);
    assert_true(sg_cidr_contains(&c, &out));
    assert_int_equal(sg_cidr_parse("127.0.0.1", &c), SG_OK);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(sg_cidr_parse("::ffff:10.0.0.0/104", &c), SG_OK);
    assert_int_equal(c.base.family, AF_INET);
    assert_int_equal(c.prefix, 8);

    const char *bad[] = {"10.0.0.0/33", "10.1.0.0/8", "10.0.0.0/", "10.0.0.0/x", "::/129",
                         "nope/8", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sg_cidr_parse(bad[i], &c), SG_E_INVALID);
        assert_non_null(strstr(sg_last_error(), "invalid CIDR range"));
    }
}

/* Keys written out byte by byte here: family byte, address bytes cut to the prefix, zeros. */
static void keys_cut_ipv6_to_the_prefix(void **state)
{
    (void)state;
    sg_addr a;
    uint8_t key[SG_ADDR_KEY_BYTES];
    assert_int_equal(sg_addr_parse("203.0.113.7:5000", SG_PORT_OPTIONAL, &a), SG_OK);
    sg_addr_key(&a, 64, key);
    const uint8_t v4[SG_ADDR_KEY_BYTES] = {4, 203, 0, 113, 7};
    assert_memory_equal(key, v4, sizeof key);
    /* IPv4-mapped IPv6 counts as IPv4, whatever the prefix. */
    assert_int_equal(sg_addr_parse("::ffff:203.0.113.7", SG_PORT_OPTIONAL, &a), SG_OK);
    sg_addr_key(&a, 0, key);
    assert_memory_equal(key, v4, sizeof key);
    assert_int_equal(sg_addr_parse("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", SG_PORT_OPTIONAL, &a),
                     SG_OK);
    sg_addr_key(&a, 64, key);
    const uint8_t p64[SG_ADDR_KEY_BYTES] = {6, 0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 0xbb, 0xbb};
    assert_memory_equal(key, p64, sizeof key);
    sg_addr_key(&a, 36, key); /* a prefix inside a byte: 0xaa keeps its top 4 bits */
    const uint8_t p36[SG_ADDR_KEY_BYTES] = {6, 0x20, 0x01, 0x0d, 0xb8, 0xa0};
    assert_memory_equal(key, p36, sizeof key);
    sg_addr_key(&a, 128, key);
    const uint8_t whole[SG_ADDR_KEY_BYTES] = {6,    0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 0xbb, 0xbb,
                                              0xcc, 0xcc, 0xdd, 0xdd, 0xee, 0xee, 0xff, 0xff};
    assert_memory_equal(key, whole, sizeof key);
    sg_addr_key(&a, 0, key);
    const uint8_t none[SG_ADDR_KEY_BYTES] = {6};
    assert_memory_equal(key, none, sizeof key);
    /* sg_addr_cut keeps the port and formats as an address. */
    assert_int_equal(sg_addr_parse("[2001:db8:aaaa:bbbb::1]:7000", SG_PORT_REQUIRED, &a), SG_OK);
    sg_addr_cut(&a, 48);
    char text[SG_ADDR_STRLEN];
    assert_string_equal(sg_addr_format(&a, true, text, sizeof text), "[2001:db8:aaaa::]:7000");
}

static void cidr_lists(void **state)
{
    (void)state;
    sg_cidr *list = NULL;
    size_t n = 0;
    assert_int_equal(sg_cidr_list_parse("127.0.0.1/32, 10.0.0.0/8,::1", &list, &n), SG_OK);
    assert_int_equal(n, 3);
    sg_addr a;
    assert_int_equal(sg_addr_parse("10.9.9.9", SG_PORT_OPTIONAL, &a), SG_OK);
    assert_true(sg_cidr_list_contains(list, n, &a));
    assert_int_equal(sg_addr_parse("::2", SG_PORT_OPTIONAL, &a), SG_OK);
    assert_false(sg_cidr_list_contains(list, n, &a));
    free(list);

    /* spaces alone separate items too */
    assert_int_equal(sg_cidr_list_parse("10.0.0.1 10.0.0.2 10.0.0.3 ::1", &list, &n), SG_OK);
    assert_int_equal(n, 4);
    free(list);

    assert_int_equal(sg_cidr_list_parse("", &list, &n), SG_OK);
    assert_int_equal(n, 0);
    assert_null(list);
    assert_int_equal(sg_cidr_list_parse("10.0.0.0/8,bogus", &list, &n), SG_E_INVALID);
    assert_null(list);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_formats_ipv4_and_ipv6),
        cmocka_unit_test(normalises_v4_mapped_ipv6),
        cmocka_unit_test(compares_ports_only_when_asked),
        cmocka_unit_test(sockaddr_roundtrip),
        cmocka_unit_test(rejects_bad_addresses_with_clear_errors),
        cmocka_unit_test(cidr_matching),
        cmocka_unit_test(cidr_lists),
        cmocka_unit_test(keys_cut_ipv6_to_the_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
