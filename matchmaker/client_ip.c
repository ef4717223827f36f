/* The player's IP: socket peer, or the right-most untrusted hop of a trusted proxy's header. */
#include "client_ip.h"

#include <string.h>
#include <strings.h>

#define HOP_TEXT_MAX 80 /* longest hop text considered ("[v6]:port" fits easily) */

sg_status sg_forward_header_parse(const char *text, sg_forward_header *out)
{
    if (text && strcasecmp(text, "x-forwarded-for") == 0)
        *out = SG_FORWARD_X_FORWARDED_FOR;
    else if (text && strcasecmp(text, "forwarded") == 0)
        *out = SG_FORWARD_FORWARDED;
    else if (text && strcasecmp(text, "none") == 0)
        *out = SG_FORWARD_NONE;
    else
        return sg_fail(SG_E_INVALID, "expected x-forwarded-for, forwarded or none");
    return SG_OK;
}

const char *sg_forward_header_name(sg_forward_header h)
{
    switch (h) {
    case SG_FORWARD_X_FORWARDED_FOR:
        return "X-Forwarded-For";
    case SG_FORWARD_FORWARDED:
        return "Forwarded";
    case SG_FORWARD_NONE:
        break;
    }
    return NULL;
}

const char *sg_client_ip_source_name(sg_client_ip_source s)
{
    switch (s) {
    case SG_CLIENT_IP_SOCKET:
        return "socket";
    case SG_CLIENT_IP_HEADER:
        return "header";
    case SG_CLIENT_IP_FAKE:
        return "fake";
    }
    return "unknown";
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_ows(**s))
        (*s)++, (*n)--;
    while (*n && is_ows((*s)[*n - 1]))
        (*n)--;
}

/* Parses an address text (not NUL-terminated) with an optional port; port cleared. */
static sg_forward_hop hop_from_text(const char *s, size_t n)
{
    sg_forward_hop h = {0};
    char tmp[HOP_TEXT_MAX];
    if (n == 0 || n >= sizeof tmp || memchr(s, '\0', n)) return h;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (strcasecmp(tmp, "unknown") == 0 || tmp[0] == '_') return h;
    if (sg_addr_parse(tmp, SG_PORT_OPTIONAL, &h.addr) != SG_OK) return h;
    h.addr.port = 0;
    h.valid = true;
    return h;
}

/* Reads a quoted-string starting at s[0] == '"' into out; returns bytes consumed or 0 when
 * unterminated. Content longer than out is marked by *too_long. */
static size_t read_quoted(const char *s, size_t n, char *out, size_t outsz, size_t *outlen,
                          bool *too_long)
{
    size_t i = 1, o = 0;
    *too_long = false;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            *outlen = o;
            return i + 1;
        }
        if (c == '\\') {
            if (i + 1 >= n) return 0;
            c = s[i + 1];
            i++;
        }
        if (o + 1 < outsz)
            out[o++] = c;
        else
            *too_long = true;
        i++;
    }
    return 0;
}

/* One Forwarded element: pairs separated by ';'. Finds the single "for" value. */
static sg_forward_hop forwarded_element(const char *s, size_t n)
{
    sg_forward_hop none = {0};
    sg_forward_hop found = {0};
    bool seen_for = false;
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ows(s[i]) || s[i] == ';'))
            i++;
        if (i >= n) break;
        size_t name_start = i;
        while (i < n && s[i] != '=' && s[i] != ';' && !is_ows(s[i]))
            i++;
        size_t name_len = i - name_start;
        if (i >= n || s[i] != '=') return none; /* a pair without a value */
        i++;
        char val[HOP_TEXT_MAX];
        size_t val_len = 0;
        bool too_long = false;
        if (i < n && s[i] == '"') {
            size_t used = read_quoted(s + i, n - i, val, sizeof val, &val_len, &too_long);
            if (!used) return none;
            i += used;
        } else {
            size_t vs = i;
            while (i < n && s[i] != ';' && !is_ows(s[i]))
                i++;
            val_len = i - vs;
            if (val_len >= sizeof val)
                too_long = true;
            else
                memcpy(val, s + vs, val_len);
        }
        if (name_len == 3 && strncasecmp(s + name_start, "for", 3) == 0) {
            if (seen_for) return none; /* a parameter must not repeat */
            seen_for = true;
            if (!too_long) found = hop_from_text(val, val_len);
        }
    }
    return seen_for ? found : none;
}

sg_status sg_forward_parse(sg_forward_header h, const char *value, size_t len, sg_forward_hop *hops,
                           size_t max, size_t *count, size_t *dropped)
{
    if (!value || !hops || !count || max == 0 || max > SG_CLIENT_IP_MAX_HOPS ||
        h == SG_FORWARD_NONE)
        return sg_fail(SG_E_INVALID, "forward parse: bad arguments");
    /* Element boundaries, right-most `max` kept in a ring. */
    size_t starts[SG_CLIENT_IP_MAX_HOPS], lens[SG_CLIENT_IP_MAX_HOPS];
    size_t total = 0;
    size_t i = 0;
    bool quoted = false;
    size_t elem_start = 0;
    for (i = 0; i <= len; i++) {
        bool end = i == len;
        char c = end ? ',' : value[i];
        if (!end && h == SG_FORWARD_FORWARDED) {
            if (quoted && c == '\\') {
                if (i + 1 >= len)
                    return sg_fail(SG_E_MALFORMED, "Forwarded: unterminated quoted string");
                i++;
                continue;
            }
            if (c == '"') {
                quoted = !quoted;
                continue;
            }
        }
        if (c != ',' || (quoted && !end)) continue;
        if (end && quoted)
            return sg_fail(SG_E_MALFORMED, "%s: unterminated quoted string",
                           sg_forward_header_name(h));
        const char *es = value + elem_start;
        size_t en = (i > len ? len : i) - elem_start;
        trim(&es, &en);
        if (en) {
            starts[total % max] = (size_t)(es - value);
            lens[total % max] = en;
            total++;
        }
        elem_start = i + 1;
    }
    size_t kept = total < max ? total : max;
    size_t first = total - kept;
    for (size_t k = 0; k < kept; k++) {
        size_t slot = (first + k) % max;
        const char *es = value + starts[slot];
        hops[k] = h == SG_FORWARD_FORWARDED ? forwarded_element(es, lens[slot])
                                            : hop_from_text(es, lens[slot]);
    }
    *count = kept;
    if (dropped) *dropped = first;
    return SG_OK;
}

bool sg_addr_is_nonpublic(const sg_addr *a)
{
    sg_addr n = *a;
    sg_addr_normalize(&n);
    const uint8_t *b = n.ip;
    if (n.family == AF_INET) {
        return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 169 && b[1] == 254) ||
               (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
               (b[0] == 100 && (b[1] & 0xc0) == 64);
    }
    static const uint8_t zero[15] = {0};
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true; /* :: and ::1 */
    if ((b[0] & 0xfe) == 0xfc) return true;                                  /* fc00::/7 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;                  /* fe80::/10 */
    return false;
}

sg_status sg_client_ip_resolve(const sg_client_ip_options *o, const sg_addr *peer,
                               const char *header_value, size_t header_len, sg_addr *out,
                               sg_client_ip_source *source)
{
    sg_addr client = *peer;
    sg_addr_normalize(&client);
    client.port = 0;
    sg_client_ip_source src = SG_CLIENT_IP_SOCKET;

    if (o->header != SG_FORWARD_NONE && header_value && header_len > 0 &&
        sg_cidr_list_contains(o->trusted, o->trusted_count, &client)) {
        sg_forward_hop hops[SG_CLIENT_IP_MAX_HOPS];
        size_t count = 0, dropped = 0;
        sg_status st = sg_forward_parse(o->header, header_value, header_len, hops,
                                        SG_CLIENT_IP_MAX_HOPS, &count, &dropped);
        if (st != SG_OK) return st;
        bool decided = false;
        for (size_t k = count; k-- > 0;) {
            if (!hops[k].valid)
                return sg_fail(SG_E_MALFORMED,
                               "%s: hop %zu from the right is unknown or not an IP address",
                               sg_forward_header_name(o->header), count - k);
            client = hops[k].addr;
            src = SG_CLIENT_IP_HEADER;
            if (!sg_cidr_list_contains(o->trusted, o->trusted_count, &client)) {
                decided = true;
                break;
            }
        }
        if (!decided && dropped > 0)
            return sg_fail(SG_E_MALFORMED, "%s: more than %d trusted hops",
                           sg_forward_header_name(o->header), SG_CLIENT_IP_MAX_HOPS);
    }
    if (o->use_fake_ip && sg_addr_is_nonpublic(&client)) {
        client = o->fake_ip;
        client.port = 0;
        src = SG_CLIENT_IP_FAKE;
    }
    *out = client;
    if (source) *source = src;
    return SG_OK;
}
