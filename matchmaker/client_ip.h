/* seatgate matchmaker: which IP address is the player's.
 *
 * The socket's peer address is the player, unless the peer is a configured trusted proxy.
 * Then the proxy's forwarding header is read (only the one the operator named: a proxy that
 * writes X-Forwarded-For does not strip a client-sent Forwarded header, so reading both
 * would let players choose their IP). Hops are walked from the right: trusted proxies are
 * skipped, and the first untrusted hop is the player (the left-most one when every hop is
 * trusted). Hops left of the player are client-written and never read, so garbage there is
 * harmless; a malformed or "unknown" hop that must be read is an error (fail closed).
 *
 * For development, a fixed public IP may stand in for players whose address is loopback or
 * private (a local browser, a docker bridge), since Edgegap places sessions by public IP.
 *
 * The parsers are pure functions over header text: thread-safe, no allocation.
 */
#ifndef SEATGATE_MM_CLIENT_IP_H
#define SEATGATE_MM_CLIENT_IP_H

#include <stdbool.h>
#include <stddef.h>

#include "seatgate/addr.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hops read at most from the right of a header; older hops are not needed. */
#define SG_CLIENT_IP_MAX_HOPS 64

typedef enum sg_forward_header {
    SG_FORWARD_NONE = 0,        /* trust no header (peers in the list are still proxies) */
    SG_FORWARD_X_FORWARDED_FOR, /* X-Forwarded-For: 203.0.113.7, 10.0.0.2 */
    SG_FORWARD_FORWARDED        /* RFC 7239 Forwarded: for=203.0.113.7;proto=https, for=... */
} sg_forward_header;

/* Parses "x-forwarded-for", "forwarded" or "none". Errors: SG_E_INVALID. */
sg_status sg_forward_header_parse(const char *text, sg_forward_header *out);
/* The HTTP header name ("X-Forwarded-For", "Forwarded"), NULL for NONE. */
const char *sg_forward_header_name(sg_forward_header h);

typedef struct sg_client_ip_options {
    const sg_cidr *trusted; /* trusted proxies (borrowed) */
    size_t trusted_count;
    sg_forward_header header;
    bool use_fake_ip; /* substitute fake_ip for loopback and private players */
    sg_addr fake_ip;
} sg_client_ip_options;

/* One hop as found in a header: its address (port cleared), or invalid when the hop is
 * "unknown", an obfuscated identifier, or unparseable. */
typedef struct sg_forward_hop {
    bool valid;
    sg_addr addr;
} sg_forward_hop;

/* Splits a header value (all header lines joined with ", ") into its right-most hops, in
 * order (hops[0] is the left-most kept). *count is at most max; *dropped (may be NULL)
 * counts hops on the left that did not fit. Empty elements (", ,") are skipped.
 * Errors: SG_E_MALFORMED for an unterminated quoted string (Forwarded), SG_E_INVALID for
 * bad arguments. */
sg_status sg_forward_parse(sg_forward_header h, const char *value, size_t len, sg_forward_hop *hops,
                           size_t max, size_t *count, size_t *dropped);

/* Where the answer came from, for logs. */
typedef enum sg_client_ip_source {
    SG_CLIENT_IP_SOCKET = 0,
    SG_CLIENT_IP_HEADER,
    SG_CLIENT_IP_FAKE
} sg_client_ip_source;
const char *sg_client_ip_source_name(sg_client_ip_source s);

/* Finds the player's IP (port 0). header_value is the configured header's value (all
 * lines joined with ", "), or NULL when absent. Errors: SG_E_MALFORMED when a hop that must
 * be read is unknown or unparseable, with a message fit for a 400 answer. */
sg_status sg_client_ip_resolve(const sg_client_ip_options *o, const sg_addr *peer,
                               const char *header_value, size_t header_len, sg_addr *out,
                               sg_client_ip_source *source);

/* True for loopback, private (RFC 1918, CGNAT 100.64/10), link-local and unique-local
 * addresses, and unspecified ones: addresses Edgegap cannot place. */
bool sg_addr_is_nonpublic(const sg_addr *a);

#ifdef __cplusplus
}
#endif
#endif
