/* Parsing of Edgegap answer bodies: real-shaped bodies, missing and odd fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "seatgate/edgegap.h"

#define LEN(s) (sizeof(s) - 1)

static const char READY[] =
    "{\"session_id\":\"950dd2eaff09-S\",\"custom_id\":null,\"status\":\"Ready\",\"ready\":true,"
    "\"linked\":true,\"kind\":\"Seat\",\"user_count\":1,\"app_version\":1234,"
    "\"create_time\":\"2024-03-21 15:04:05.123456\",\"elapsed\":12,\"error\":null,"
    "\"session_users\":[{\"ip\":\"203.0.113.7\",\"latitude\":45.5017,\"longitude\":-73.5673}],"
    "\"session_ips\":[{\"ip\":\"203.0.113.7\",\"latitude\":45.5017,\"longitude\":-73.5673},"
    "{\"ip\":\"2001:db8::7\"}],"
    "\"deployment\":{\"request_id\":\"9f511e17a2b3\",\"public_ip\":\"198.51.100.20\","
    "\"status\":\"Status.READY\",\"ready\":true,\"whitelisting_active\":false,"
    "\"fqdn\":\"9f511e17a2b3.pr.edgegap.net\",\"ports\":{"
    "\"gameport\":{\"external\":31504,\"internal\":7777,\"protocol\":\"UDP\",\"name\":"
    "\"gameport\",\"tls_upgrade\":false,\"link\":\"9f511e17a2b3.pr.edgegap.net:31504\","
    "\"proxy\":null},"
    "\"wt\":{\"external\":31505,\"internal\":7778,\"protocol\":\"UDP\",\"name\":\"webtransport\"}},"
    "\"location\":{\"city\":\"Montreal\",\"country\":\"Canada\",\"continent\":\"North America\","
    "\"administrative_division\":\"Quebec\",\"timezone\":\"America/Toronto\","
    "\"latitude\":45.5088,\"longitude\":-73.5878},\"tags\":[\"seatgate\",\"eu\"],"
    "\"sockets\":10,\"sockets_usage\":1,\"is_joinable_by_session\":true,"
    "\"future_field\":{\"nested\":[1,2,{\"x\":null}]}},"
    "\"webhook_url\":\"https://mm.example.com/hooks/edgegap\",\"something_new\":42}";

static void parses_a_ready_session(void **state)
{
    (void)state;
    sg_edgegap_session *s = NULL;
    assert_int_equal(sg_edgegap_parse_session(READY, LEN(READY), &s), SG_OK);
    assert_string_equal(s->session_id, "950dd2eaff09-S");
    assert_string_equal(s->status, "Ready");
    assert_int_equal(s->state, SG_EDGEGAP_STATE_READY);
    assert_true(s->ready);
    assert_true(s->linked);
    assert_string_equal(s->kind, "Seat");
    assert_string_equal(s->custom_id, "");
    assert_string_equal(s->error, "");
    assert_int_equal(s->user_count, 1);
    assert_int_equal(s->elapsed, 12);
    assert_int_equal(s->app_version, 1234);
    assert_int_equal(s->session_ip_count, 2);
    assert_string_equal(s->session_ips[0].ip, "203.0.113.7");
    assert_true(s->session_ips[0].has_coordinates);
    assert_false(s->session_ips[1].has_coordinates);
    assert_int_equal(s->session_user_count, 1);

    const sg_edgegap_deployment *d = &s->deployment;
    assert_true(d->present);
    assert_string_equal(d->request_id, "9f511e17a2b3");
    assert_string_equal(d->public_ip, "198.51.100.20");
    assert_string_equal(d->fqdn, "9f511e17a2b3.pr.edgegap.net");
    assert_true(d->ready);
    assert_true(d->is_joinable_by_session);
    assert_int_equal(d->sockets, 10);
    assert_int_equal(d->sockets_usage, 1);
    assert_string_equal(d->location.city, "Montreal");
    assert_string_equal(d->location.country, "Canada");
    assert_string_equal(d->location.continent, "North America");
    assert_true(d->location.has_coordinates);
    assert_true(d->location.latitude > 45.50 && d->location.latitude < 45.51);
    assert_int_equal(d->tag_count, 2);
    assert_string_equal(d->tags[1], "eu");

    assert_int_equal(d->port_count, 2);
    const sg_edgegap_port *p = sg_edgegap_find_port(d->ports, d->port_count, "gameport");
    assert_non_null(p);
    assert_int_equal(p->external, 31504);
    assert_int_equal(p->internal, 7777);
    assert_string_equal(p->protocol, "UDP");
    /* by key, then by the name field */
    p = sg_edgegap_find_port(d->ports, d->port_count, "webtransport");
    assert_non_null(p);
    assert_string_equal(p->key, "wt");
    assert_int_equal(p->external, 31505);
    assert_null(sg_edgegap_find_port(d->ports, d->port_count, "nope"));

    assert_true(sg_edgegap_session_has_ip(s, "203.0.113.7"));
    assert_true(sg_edgegap_session_has_ip(s, "::ffff:203.0.113.7"));
    assert_true(sg_edgegap_session_has_ip(s, "2001:db8:0::7"));
    assert_false(sg_edgegap_session_has_ip(s, "203.0.113.8"));
    assert_false(sg_edgegap_session_has_ip(s, "not an ip"));
    sg_edgegap_session_free(s);
}

static void parses_a_pending_session_without_deployment(void **state)
{
    (void)state;
    static const char body[] =
        "{\"session_id\":\"0724828881e2-S\",\"status\":\"Seeking\",\"ready\":false,"
        "\"linked\":false,\"deployment\":null,\"session_ips\":[],\"webhook_url\":null}";
    sg_edgegap_session *s = NULL;
    assert_int_equal(sg_edgegap_parse_session(body, LEN(body), &s), SG_OK);
    assert_int_equal(s->state, SG_EDGEGAP_STATE_SEEKING);
    assert_false(sg_edgegap_state_is_final(s->state));
    assert_false(s->deployment.present);
    assert_string_equal(s->deployment.public_ip, "");
    assert_string_equal(s->deployment.location.city, "");
    assert_int_equal(s->deployment.port_count, 0);
    assert_int_equal(s->deployment.sockets, -1);
    assert_int_equal(s->user_count, -1);
    assert_int_equal(s->elapsed, -1);
    assert_int_equal(s->app_version, -1);
    assert_string_equal(s->webhook_url, "");
    assert_null(sg_edgegap_find_port(s->deployment.ports, s->deployment.port_count, "gameport"));
    sg_edgegap_session_free(s);
}

static void keeps_the_error_of_a_failed_session(void **state)
{
    (void)state;
    static const char body[] = "{\"session_id\":\"1b2c3d4e5f60-S\",\"status\":\"Unprocessable\","
                               "\"error\":\"No deployment available\"}";
    sg_edgegap_session *s = NULL;
    assert_int_equal(sg_edgegap_parse_session(body, LEN(body), &s), SG_OK);
    assert_int_equal(s->state, SG_EDGEGAP_STATE_UNPROCESSABLE);
    assert_true(sg_edgegap_state_is_final(s->state));
    assert_string_equal(s->error, "No deployment available");
    sg_edgegap_session_free(s);
}

static void expect_malformed(const char *body, const char *word)
{
    sg_edgegap_session *s = (sg_edgegap_session *)1;
    sg_status st = sg_edgegap_parse_session(body, strlen(body), &s);
    if (st != SG_E_MALFORMED)
        fail_msg("expected malformed for %s, got %s", body, sg_status_name(st));
    assert_null(s);
    if (word && !strstr(sg_last_error(), word))
        fail_msg("message '%s' does not name '%s'", sg_last_error(), word);
}

static void rejects_missing_required_fields(void **state)
{
    (void)state;
    expect_malformed("{\"status\":\"Ready\"}", "session_id");
    expect_malformed("{\"session_id\":\"a-S\"}", "status");
    expect_malformed("{\"session_id\":null,\"status\":\"Ready\"}", "session_id");
    expect_malformed("{\"session_id\":\"\",\"status\":\"Ready\"}", "session_id");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"session_ips\":[{}]}", "ip");
}

static void rejects_wrong_types(void **state)
{
    (void)state;
    expect_malformed("{\"session_id\":\"a-S\",\"status\":3}", "status");
    expect_malformed("{\"session_id\":7,\"status\":\"Ready\"}", "session_id");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"ready\":\"true\"}", "ready");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"session_ips\":{}}",
                     "session_ips");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"session_ips\":[\"1.2.3.4\"]}",
                     "session_ips");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":\"x\"}",
                     "deployment");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":{\"ports\":"
                     "{\"g\":{\"external\":\"31504\"}}}}",
                     "external");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":{\"ports\":"
                     "{\"g\":{\"external\":70000}}}}",
                     "external");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":{\"ports\":"
                     "{\"g\":{\"external\":1.5}}}}",
                     "external");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":{\"ports\":"
                     "{\"g\":7777}}}",
                     "ports");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":{\"ports\":[]}}",
                     "ports");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":{\"location\":"
                     "{\"latitude\":\"north\"}}}",
                     "latitude");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"deployment\":{\"tags\":[1]}}",
                     "tags");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"error\":true}", "error");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\",\"user_count\":-1}",
                     "user_count");
}

static void rejects_bodies_that_are_not_one_object(void **state)
{
    (void)state;
    expect_malformed("", "empty");
    expect_malformed("not json", "JSON");
    expect_malformed("[{\"session_id\":\"a-S\",\"status\":\"Ready\"}]", "object");
    expect_malformed("\"Ready\"", "object");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Ready\"} trailing", "trailing");
    expect_malformed("{\"session_id\":\"a-S\",\"status\":\"Rea", "JSON");
    /* whitespace after the object is fine */
    sg_edgegap_session *s = NULL;
    static const char ok[] = "{\"session_id\":\"a-S\",\"status\":\"Ready\"}\n  ";
    assert_int_equal(sg_edgegap_parse_session(ok, LEN(ok), &s), SG_OK);
    sg_edgegap_session_free(s);
    /* a NUL inside the given length is not silently accepted as the end */
    static const char nul[] = "{\"session_id\":\"a-S\",\"status\":\"Ready\"}\0garbage";
    assert_int_equal(sg_edgegap_parse_session(nul, LEN(nul), &s), SG_E_MALFORMED);
    assert_null(s);
    assert_int_equal(sg_edgegap_parse_session(NULL, 0, &s), SG_E_MALFORMED);
}

static void maps_status_strings(void **state)
{
    (void)state;
    assert_int_equal(sg_edgegap_state_parse("Initializing"), SG_EDGEGAP_STATE_INITIALIZING);
    assert_int_equal(sg_edgegap_state_parse("seeking"), SG_EDGEGAP_STATE_SEEKING);
    assert_int_equal(sg_edgegap_state_parse("Seeked"), SG_EDGEGAP_STATE_SEEKING);
    assert_int_equal(sg_edgegap_state_parse("Waiting"), SG_EDGEGAP_STATE_WAITING);
    assert_int_equal(sg_edgegap_state_parse("Status.READY"), SG_EDGEGAP_STATE_READY);
    assert_int_equal(sg_edgegap_state_parse("Error"), SG_EDGEGAP_STATE_ERROR);
    assert_int_equal(sg_edgegap_state_parse("UNPROCESSABLE"), SG_EDGEGAP_STATE_UNPROCESSABLE);
    assert_int_equal(sg_edgegap_state_parse("Linking"), SG_EDGEGAP_STATE_UNKNOWN);
    assert_int_equal(sg_edgegap_state_parse(""), SG_EDGEGAP_STATE_UNKNOWN);
    assert_int_equal(sg_edgegap_state_parse(NULL), SG_EDGEGAP_STATE_UNKNOWN);
    assert_false(sg_edgegap_state_is_final(SG_EDGEGAP_STATE_UNKNOWN));
    assert_string_equal(sg_edgegap_state_name(SG_EDGEGAP_STATE_READY), "ready");
}

static void parses_the_create_answer(void **state)
{
    (void)state;
    static const char body[] =
        "{\"session_id\":\"950dd2eaff09-S\",\"custom_id\":null,\"app\":\"my-game\",\"version\":"
        "\"v1\",\"deployment_request_id\":null,\"selectors\":[{\"tag\":\"eu\",\"tag_only\":false,"
        "\"env\":null}],\"webhook_url\":\"https://mm.example.com/hooks/edgegap\"}";
    sg_edgegap_created *c = NULL;
    assert_int_equal(sg_edgegap_parse_created(body, LEN(body), &c), SG_OK);
    assert_string_equal(c->session_id, "950dd2eaff09-S");
    assert_string_equal(c->app, "my-game");
    assert_string_equal(c->version, "v1");
    assert_string_equal(c->deployment_request_id, "");
    assert_string_equal(c->webhook_url, "https://mm.example.com/hooks/edgegap");
    sg_edgegap_created_free(c);

    static const char missing[] = "{\"app\":\"my-game\",\"version\":\"v1\"}";
    c = (sg_edgegap_created *)1;
    assert_int_equal(sg_edgegap_parse_created(missing, LEN(missing), &c), SG_E_MALFORMED);
    assert_null(c);
    assert_non_null(strstr(sg_last_error(), "session_id"));
}

static void parses_the_session_list(void **state)
{
    (void)state;
    static const char body[] =
        "{\"data\":[{\"session_id\":\"950dd2eaff09-S\",\"custom_id\":null,\"status\":\"Ready\","
        "\"ready\":true,\"linked\":true,\"kind\":\"Seat\",\"user_count\":1,"
        "\"deployment_request_id\":\"9f511e17a2b3\",\"webhook_url\":null},"
        "{\"session_id\":\"0724828881e2-S\",\"status\":\"Seeking\",\"ready\":false,\"linked\":"
        "false}],"
        "\"total_count\":42,\"pagination\":{\"number\":2,\"next_page_number\":3,"
        "\"previous_page_number\":1,\"paginator\":{\"num_pages\":5},\"has_next\":true,"
        "\"has_previous\":true}}";
    sg_edgegap_session_list *l = NULL;
    assert_int_equal(sg_edgegap_parse_session_list(body, LEN(body), &l), SG_OK);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->data[0].session_id, "950dd2eaff09-S");
    assert_int_equal(l->data[0].state, SG_EDGEGAP_STATE_READY);
    assert_string_equal(l->data[0].deployment_request_id, "9f511e17a2b3");
    assert_int_equal(l->data[1].user_count, -1);
    assert_int_equal(l->total_count, 42);
    assert_int_equal(l->page, 2);
    assert_int_equal(l->next_page, 3);
    assert_int_equal(l->num_pages, 5);
    assert_true(l->has_next);
    assert_true(l->has_previous);
    sg_edgegap_session_list_free(l);

    static const char last[] = "{\"data\":[],\"total_count\":0,\"pagination\":{\"number\":1,"
                               "\"next_page_number\":null,\"has_next\":false}}";
    assert_int_equal(sg_edgegap_parse_session_list(last, LEN(last), &l), SG_OK);
    assert_int_equal(l->count, 0);
    assert_int_equal(l->next_page, -1);
    assert_false(l->has_next);
    sg_edgegap_session_list_free(l);

    static const char bad_entry[] = "{\"data\":[{\"session_id\":\"x-S\"}]}";
    assert_int_equal(sg_edgegap_parse_session_list(bad_entry, LEN(bad_entry), &l), SG_E_MALFORMED);
    assert_null(l);
    static const char bad_data[] = "{\"data\":{}}";
    assert_int_equal(sg_edgegap_parse_session_list(bad_data, LEN(bad_data), &l), SG_E_MALFORMED);
}

static void parses_the_app_version(void **state)
{
    (void)state;
    sg_edgegap_app_version *v = NULL;
    static const char active[] = "{\"name\":\"v1\",\"is_active\":true,\"docker_image\":\"x\","
                                 "\"ports\":[{\"port\":7777,\"protocol\":\"UDP\"}]}";
    assert_int_equal(sg_edgegap_parse_app_version(active, LEN(active), &v), SG_OK);
    assert_string_equal(v->name, "v1");
    assert_true(v->is_active);
    sg_edgegap_app_version_free(v);

    static const char inactive[] = "{\"name\":\"v2\",\"is_active\":false}";
    assert_int_equal(sg_edgegap_parse_app_version(inactive, LEN(inactive), &v), SG_OK);
    assert_false(v->is_active);
    sg_edgegap_app_version_free(v);

    static const char dflt[] = "{\"name\":\"v3\"}";
    assert_int_equal(sg_edgegap_parse_app_version(dflt, LEN(dflt), &v), SG_OK);
    assert_true(v->is_active);
    sg_edgegap_app_version_free(v);

    static const char wrapped[] =
        "{\"success\":true,\"version\":{\"name\":\"v4\",\"is_active\":false}}";
    assert_int_equal(sg_edgegap_parse_app_version(wrapped, LEN(wrapped), &v), SG_OK);
    assert_string_equal(v->name, "v4");
    assert_false(v->is_active);
    sg_edgegap_app_version_free(v);

    static const char noname[] = "{\"is_active\":true}";
    assert_int_equal(sg_edgegap_parse_app_version(noname, LEN(noname), &v), SG_E_MALFORMED);
    static const char badtype[] = "{\"name\":\"v1\",\"is_active\":\"yes\"}";
    assert_int_equal(sg_edgegap_parse_app_version(badtype, LEN(badtype), &v), SG_E_MALFORMED);
    assert_null(v);
}

static void parses_the_context_and_keeps_it_raw(void **state)
{
    (void)state;
    static const char body[] =
        "{\"request_id\":\"9f511e17a2b3\",\"public_ip\":\"198.51.100.20\",\"fqdn\":"
        "\"9f511e17a2b3.pr.edgegap.net\",\"status\":\"Status.READY\",\"ports\":{\"7777\":"
        "{\"external\":31504,\"internal\":7777,\"protocol\":\"UDP\"}},\"location\":{\"city\":"
        "\"Montreal\",\"latitude\":45.5,\"longitude\":-73.5},\"sockets\":10,\"tags\":[\"a\"],"
        "\"unknown\":[true]}";
    sg_edgegap_context *c = NULL;
    assert_int_equal(sg_edgegap_parse_context(body, LEN(body), &c), SG_OK);
    assert_string_equal(c->request_id, "9f511e17a2b3");
    assert_string_equal(c->public_ip, "198.51.100.20");
    assert_string_equal(c->fqdn, "9f511e17a2b3.pr.edgegap.net");
    assert_int_equal(c->sockets, 10);
    assert_int_equal(c->port_count, 1);
    const sg_edgegap_port *p = sg_edgegap_find_port(c->ports, c->port_count, "7777");
    assert_non_null(p);
    assert_string_equal(p->name, "7777"); /* no name field: the key */
    assert_int_equal(p->external, 31504);
    assert_string_equal(c->location.city, "Montreal");
    assert_true(c->location.has_coordinates);
    assert_int_equal(c->tag_count, 1);
    assert_int_equal(c->raw_len, LEN(body));
    assert_memory_equal(c->raw_json, body, LEN(body));
    assert_int_equal(c->raw_json[c->raw_len], '\0');
    sg_edgegap_context_free(c);

    static const char missing[] = "{\"public_ip\":\"198.51.100.20\"}";
    assert_int_equal(sg_edgegap_parse_context(missing, LEN(missing), &c), SG_E_MALFORMED);
    assert_null(c);
    assert_non_null(strstr(sg_last_error(), "request_id"));
}

static void extracts_sanitised_error_messages(void **state)
{
    (void)state;
    char buf[64];
    static const char json[] = "{\"message\":\"App version is not active\"}";
    sg_edgegap_error_message(json, LEN(json), buf, sizeof buf);
    assert_string_equal(buf, "App version is not active");

    static const char ctrl[] = "{\"message\":\"line1\\nline2\\u0007\\t end\"}";
    sg_edgegap_error_message(ctrl, LEN(ctrl), buf, sizeof buf);
    assert_string_equal(buf, "line1 line2 end");

    static const char html[] = "<html><body>502 Bad Gateway</body></html>";
    sg_edgegap_error_message(html, LEN(html), buf, sizeof buf);
    assert_string_equal(buf, "<html><body>502 Bad Gateway</body></html>");

    char small[8];
    sg_edgegap_error_message(json, LEN(json), small, sizeof small);
    assert_string_equal(small, "App ver");

    static const char utf8[] = "{\"message\":\"caf\xc3\xa9 ferm\xc3\xa9\"}";
    sg_edgegap_error_message(utf8, LEN(utf8), buf, sizeof buf);
    for (const char *p = buf; *p; p++)
        assert_true(*p >= 0x20 && *p <= 0x7e);

    static const char other[] = "{\"message\":42}";
    sg_edgegap_error_message(other, LEN(other), buf, sizeof buf);
    assert_string_equal(buf, "");
    sg_edgegap_error_message(NULL, 0, buf, sizeof buf);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_ready_session),
        cmocka_unit_test(parses_a_pending_session_without_deployment),
        cmocka_unit_test(keeps_the_error_of_a_failed_session),
        cmocka_unit_test(rejects_missing_required_fields),
        cmocka_unit_test(rejects_wrong_types),
        cmocka_unit_test(rejects_bodies_that_are_not_one_object),
        cmocka_unit_test(maps_status_strings),
        cmocka_unit_test(parses_the_create_answer),
        cmocka_unit_test(parses_the_session_list),
        cmocka_unit_test(parses_the_app_version),
        cmocka_unit_test(parses_the_context_and_keeps_it_raw),
        cmocka_unit_test(extracts_sanitised_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
