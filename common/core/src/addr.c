#include "seatgate/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/log.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void sg_addr_normalize(sg_addr *a)
{
    if (a->family == AF_INET6 && memcmp(a->ip, v4_mapped_prefix, 12) == 0) {
        uint8_t v4[4];
        memcpy(v4, a->ip + 12, 4);
        memset(a->ip, 0, sizeof a->ip);
        memcpy(a->ip, v4, 4);
        a->family = AF_INET;
    }
}

void sg_addr_cut(sg_addr *a, int ipv6_prefix)
{
    sg_addr_normalize(a);
    if (a->family != AF_INET6) return;
    for (int i = 0; i < 16; i++) {
        int keep = ipv6_prefix - 8 * i;
        a->ip[i] = keep >= 8 ? a->ip[i] : keep <= 0 ? 0 : (uint8_t)(a->ip[i] & (0xff << (8 - keep)));
    }
}

void sg_addr_key(const sg_addr *a, int ipv6_prefix, uint8_t key[SG_ADDR_KEY_BYTES])
{
    sg_addr n = *a;
    sg_addr_cut(&n, ipv6_prefix);
    memset(key, 0, SG_ADDR_KEY_BYTES);
    key[0] = n.family == AF_INET ? 4 : 6;
    memcpy(key + 1, n.ip, n.family == AF_INET ? 4 : 16);
}

static sg_status bad(const char *text, const char *why)
{
    char q[96];
    return sg_fail(SG_E_INVALID, "invalid address %s: %s", sg_log_quote(text, q, sizeof q), why);
}

static bool parse_port(const char *s, uint16_t *out)
{
    if (!*s || strlen(s) > 5) return false;
    unsigned v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p)) return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v == 0 || v > 65535) return false;
    *out = (uint16_t)v;
    return true;
}

sg_status sg_addr_parse(const char *text, sg_port_rule rule, sg_addr *out)
{
    if (!text || !*text) return sg_fail(SG_E_INVALID, "invalid address: empty");
    size_t len = strlen(text);
    if (len >= 64) return bad(text, "too long");

    char host[64];
    const char *port = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close) return bad(text, "missing ']'");
        size_t hl = (size_t)(close - text - 1);
        memcpy(host, text + 1, hl);
        host[hl] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            return bad(text, "unexpected text after ']'");
        if (!strchr(host, ':')) return bad(text, "brackets are only for IPv6");
    } else {
        memcpy(host, text, len + 1);
        const char *first = strchr(host, ':');
        if (first && !strchr(first + 1, ':')) { /* exactly one colon: IPv4 with a port */
            host[first - host] = '\0';
            port = text + (first - host) + 1;
        }
    }

    sg_addr a = {0};
    if (inet_pton(AF_INET, host, a.ip) == 1) {
        a.family = AF_INET;
    } else if (inet_pton(AF_INET6, host, a.ip) == 1) {
        a.family = AF_INET6;
    } else {
        return bad(text, "not an IPv4 or IPv6 address");
    }
    if (port) {
        if (rule == SG_PORT_FORBIDDEN) return bad(text, "a port is not allowed here");
        if (!parse_port(port, &a.port)) return bad(text, "port must be 1..65535");
    } else if (rule == SG_PORT_REQUIRED) {
        return bad(text, "a port is required (host:port or [v6]:port)");
    }
    sg_addr_normalize(&a);
    *out = a;
    return SG_OK;
}

const char *sg_addr_format(const sg_addr *a, bool with_port, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->ip, ip, sizeof ip);
    if (with_port && a->port) {
        if (a->family == AF_INET6)
            snprintf(buf, size, "[%s]:%u", ip, a->port);
        else
            snprintf(buf, size, "%s:%u", ip, a->port);
    } else {
        snprintf(buf, size, "%s", ip);
    }
    return buf;
}

bool sg_addr_equal(const sg_addr *x, const sg_addr *y, bool compare_port)
{
    sg_addr a = *x, b = *y;
    sg_addr_normalize(&a);
    sg_addr_normalize(&b);
    if (a.family != b.family) return false;
    size_t n = a.family == AF_INET ? 4 : 16;
    if (memcmp(a.ip, b.ip, n) != 0) return false;
    return !compare_port || a.port == b.port;
}

bool sg_addr_is_loopback(const sg_addr *x)
{
    sg_addr a = *x;
    sg_addr_normalize(&a);
    if (a.family == AF_INET) return a.ip[0] == 127;
    static const uint8_t v6_loop[16] = {[15] = 1};
    return memcmp(a.ip, v6_loop, 16) == 0;
}

sg_status sg_addr_from_sockaddr(const struct sockaddr *sa, sg_addr *out)
{
    sg_addr a = {0};
    if (!sa) return sg_fail(SG_E_INVALID, "no socket address");
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        a.family = AF_INET;
        memcpy(a.ip, &in->sin_addr, 4);
        a.port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        a.family = AF_INET6;
        memcpy(a.ip, &in6->sin6_addr, 16);
        a.port = ntohs(in6->sin6_port);
        sg_addr_normalize(&a);
    } else {
        return sg_fail(SG_E_INVALID, "socket address family %d is not IP", sa->sa_family);
    }
    *out = a;
    return SG_OK;
}

socklen_t sg_addr_to_sockaddr(const sg_addr *a, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, a->ip, 4);
        in->sin_port = htons(a->port);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, a->ip, 16);
    in6->sin6_port = htons(a->port);
    return sizeof *in6;
}

static bool prefix_match(const uint8_t *x, const uint8_t *y, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(x, y, (size_t)full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (x[full] & mask) == (y[full] & mask);
}

sg_status sg_cidr_parse(const char *text, sg_cidr *out)
{
    char q[96];
    if (!text || !*text) return sg_fail(SG_E_INVALID, "invalid CIDR range: empty");
    if (strlen(text) >= 64) return sg_fail(SG_E_INVALID, "invalid CIDR range: too long");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    char *slash = strchr(buf, '/');
    int prefix = -1;
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3) goto bad_prefix;
        prefix = 0;
        for (; *p; p++) {
            if (!isdigit((unsigned char)*p)) goto bad_prefix;
            prefix = prefix * 10 + (*p - '0');
        }
    }
    sg_cidr c = {0};
    if (inet_pton(AF_INET, buf, c.base.ip) == 1) {
        c.base.family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, c.base.ip) == 1) {
        c.base.family = AF_INET6;
    } else {
        return sg_fail(SG_E_INVALID, "invalid CIDR range %s: not an IP address",
                       sg_log_quote(text, q, sizeof q));
    }
    int maxbits = c.base.family == AF_INET ? 32 : 128;
    if (prefix < 0) prefix = maxbits;
    if (prefix > maxbits) goto bad_prefix;
    /* reject host bits outside the prefix */
    for (int bit = prefix; bit < maxbits; bit++) {
        if (c.base.ip[bit / 8] & (0x80 >> (bit % 8)))
            return sg_fail(SG_E_INVALID, "invalid CIDR range %s: address has bits set past /%d",
                           sg_log_quote(text, q, sizeof q), prefix);
    }
    c.prefix = prefix;
    if (c.base.family == AF_INET6 && prefix >= 96 && memcmp(c.base.ip, v4_mapped_prefix, 12) == 0) {
        sg_addr_normalize(&c.base);
        c.prefix = prefix - 96;
    }
    *out = c;
    return SG_OK;
bad_prefix:
    return sg_fail(SG_E_INVALID, "invalid CIDR range %s: prefix length must be 0..32 (IPv4) or 0..128 (IPv6)",
                   sg_log_quote(text, q, sizeof q));
}

bool sg_cidr_contains(const sg_cidr *c, const sg_addr *x)
{
    sg_addr a = *x;
    sg_addr_normalize(&a);
    if (a.family != c->base.family) return false;
    return prefix_match(a.ip, c->base.ip, c->prefix);
}

sg_status sg_cidr_list_parse(const char *text, sg_cidr **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!text) return SG_OK;
    size_t cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',' || *p == ' ';
    sg_cidr *list = calloc(cap, sizeof *list);
    if (!list) return SG_E_NOMEM;
    size_t n = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ') end++;
        char item[64];
        size_t len = (size_t)(end - p);
        if (len >= sizeof item) {
            free(list);
            return sg_fail(SG_E_INVALID, "invalid CIDR range: too long");
        }
        memcpy(item, p, len);
        item[len] = '\0';
        sg_status st = sg_cidr_parse(item, &list[n]);
        if (st != SG_OK) {
            free(list);
            return st;
        }
        n++;
        p = end;
    }
    if (n == 0) {
        free(list);
        return SG_OK;
    }
    *out = list;
    *count = n;
    return SG_OK;
}

bool sg_cidr_list_contains(const sg_cidr *list, size_t count, const sg_addr *a)
{
    for (size_t i = 0; i < count; i++)
        if (sg_cidr_contains(&list[i], a)) return true;
    return false;
}
