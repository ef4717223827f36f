/* seatgate: IP addresses with optional ports, and CIDR ranges.
 *
 * Text forms accepted: "203.0.113.7", "203.0.113.7:7000", "2001:db8::1", "[2001:db8::1]",
 * "[2001:db8::1]:7000". IPv4-mapped IPv6 ("::ffff:203.0.113.7") is normalised to IPv4 on
 * parse, so a player seen over an IPv6 socket compares equal to the same IPv4 address.
 */
#ifndef SEATGATE_ADDR_H
#define SEATGATE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_addr {
    int family;     /* AF_INET or AF_INET6 */
    uint8_t ip[16]; /* network byte order; IPv4 uses the first 4 bytes */
    uint16_t port;  /* host byte order; 0 when none was given */
} sg_addr;

typedef enum sg_port_rule {
    SG_PORT_OPTIONAL = 0,
    SG_PORT_REQUIRED,
    SG_PORT_FORBIDDEN
} sg_port_rule;

/* Longest text sg_addr_format writes, with brackets, port and NUL. */
#define SG_ADDR_STRLEN 56

/* Parses text into out (normalised). Errors: SG_E_INVALID with a message quoting the text. */
sg_status sg_addr_parse(const char *text, sg_port_rule rule, sg_addr *out);

/* Formats "1.2.3.4", "1.2.3.4:7000", "2001:db8::1" or "[2001:db8::1]:7000" (the port only
 * when with_port and port != 0). Returns buf. */
const char *sg_addr_format(const sg_addr *a, bool with_port, char *buf, size_t size);

/* Turns IPv4-mapped IPv6 into IPv4; other addresses are left as they are. */
void sg_addr_normalize(sg_addr *a);

/* Equal IPs (after normalising both); ports compared only when compare_port. */
bool sg_addr_equal(const sg_addr *a, const sg_addr *b, bool compare_port);

/* True for loopback (127/8, ::1). */
bool sg_addr_is_loopback(const sg_addr *a);

/* Who a per-address limit counts: the address normalised (IPv4-mapped IPv6 as IPv4), an IPv6
 * one cut to its first ipv6_prefix bits (the rest zeroed; 128 or more keeps it whole, 0 or
 * less zeroes it all). IPv4 addresses are kept whole. The port is left as it is. */
void sg_addr_cut(sg_addr *a, int ipv6_prefix);

/* The same as a fixed-size hashable key: a family byte (4 or 6), then the 4 or 16 address
 * bytes, zero-padded to SG_ADDR_KEY_BYTES. No port. */
#define SG_ADDR_KEY_BYTES 17
void sg_addr_key(const sg_addr *a, int ipv6_prefix, uint8_t key[SG_ADDR_KEY_BYTES]);

/* Conversions from/to socket addresses. */
sg_status sg_addr_from_sockaddr(const struct sockaddr *sa, sg_addr *out);
socklen_t sg_addr_to_sockaddr(const sg_addr *a, struct sockaddr_storage *out);

typedef struct sg_cidr {
    sg_addr base; /* masked to prefix bits */
    int prefix;   /* 0..32 for IPv4, 0..128 for IPv6 */
} sg_cidr;

/* Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). Host bits set in
 * the base ("10.1.2.3/8") are an error, so a typo does not silently widen a range. */
sg_status sg_cidr_parse(const char *text, sg_cidr *out);

/* Whether a (normalised) lies within c. An IPv4 range matches IPv4-mapped IPv6 too. */
bool sg_cidr_contains(const sg_cidr *c, const sg_addr *a);

/* Parses a comma-separated list of CIDRs (spaces allowed) into a new array.
 * *out is malloc()ed (free() it); an empty text gives *count = 0 and *out = NULL. */
sg_status sg_cidr_list_parse(const char *text, sg_cidr **out, size_t *count);
bool sg_cidr_list_contains(const sg_cidr *list, size_t count, const sg_addr *a);

#ifdef __cplusplus
}
#endif
#endif
