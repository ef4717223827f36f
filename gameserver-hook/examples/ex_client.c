#include "ex_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "example_proto.h"
#include "seatgate/clock.h"

static ex_outcome fail(ex_client_result *out, const char *what)
{
    out->outcome = EX_ERROR;
    snprintf(out->message, sizeof out->message, "%s", what);
    return EX_ERROR;
}

static void send_to(int fd, const struct sockaddr_storage *ss, socklen_t sl, const void *buf,
                    size_t n)
{
    if (sendto(fd, buf, n, 0, (const struct sockaddr *)ss, sl) < 0 && errno != EAGAIN) {
        /* reported by the missing answer */
    }
}

ex_outcome ex_client_connect(const uint8_t *token, size_t len, const ex_client_options *o,
                             ex_client_result *out)
{
    memset(out, 0, sizeof *out);
    sg_token_public pub;
    if (sg_token_read_public(token, len, o->dialect, &pub) != SG_OK)
        return fail(out, sg_last_error());
    uint8_t req[SG_CONNECTION_REQUEST_BYTES];
    if (sg_connection_request_write(token, len, req) != SG_OK) return fail(out, sg_last_error());
    const sg_addr *server = &pub.servers[0];
    sg_addr_format(server, true, out->server, sizeof out->server);
    struct sockaddr_storage ss;
    socklen_t sl = sg_addr_to_sockaddr(server, &ss);
    int fd = socket(server->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(out, "socket failed");
    if (o->bind_ip) {
        sg_addr b;
        struct sockaddr_storage bs;
        if (sg_addr_parse(o->bind_ip, SG_PORT_OPTIONAL, &b) != SG_OK) {
            close(fd);
            return fail(out, "bad bind address");
        }
        socklen_t bl = sg_addr_to_sockaddr(&b, &bs);
        if (bind(fd, (struct sockaddr *)&bs, bl) < 0) {
            close(fd);
            return fail(out, "cannot bind the source address");
        }
    }
    int timeout = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    long long start = sg_clock_mono_ms(), last_send = 0, deadline = start + timeout;
    out->outcome = EX_NO_ANSWER;
    snprintf(out->message, sizeof out->message, "no answer within %d ms", timeout);
    bool connected = false;
    long long leave_at = 0;
    uint64_t send_seq = 0, recv_seq = 0; /* the server starts at 1; so do we */
    for (;;) {
        long long now = sg_clock_mono_ms();
        if (!connected && now - last_send >= 250) { /* resend until answered */
            send_to(fd, &ss, sl, req, sizeof req);
            last_send = now;
        }
        if (connected && now - last_send >= 500) {
            ex_packet k = {.type = EX_KEEPALIVE, .client_id = out->client_id, .sequence = ++send_seq};
            uint8_t b[EX_MAX_PACKET];
            send_to(fd, &ss, sl, b, ex_packet_write(&k, pub.client_to_server_key, b));
            last_send = now;
        }
        long long end = connected ? leave_at : deadline;
        if (now >= end) break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long wait = end - now < 100 ? end - now : 100;
        if (poll(&pfd, 1, (int)wait) <= 0) continue;
        uint8_t buf[2048];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        ex_packet p;
        /* The server's packets are tagged with its key for us; a PLAIN DENY (the server
         * could not open the token, so it has no key) only for those two reasons. */
        if (n <= 0 || !ex_packet_parse(buf, (size_t)n, pub.server_to_client_key, &p)) continue;
        if (p.type == EX_PLAIN_DENY) {
            if (p.code != EX_DENY_BAD_TOKEN && p.code != EX_DENY_TOKEN_EXPIRED) continue;
            p.type = EX_DENY;
        } else {
            if ((connected && p.client_id != out->client_id) || p.sequence <= recv_seq) continue;
            recv_seq = p.sequence;
        }
        if (!connected && p.type == EX_ACCEPT) {
            connected = true;
            out->outcome = EX_ACCEPTED;
            out->client_id = p.client_id;
            snprintf(out->reason, sizeof out->reason, "accepted");
            snprintf(out->message, sizeof out->message, "connected");
            leave_at = sg_clock_mono_ms() + o->stay_ms;
            for (const char *k = o->kills; k && *k;) { /* the kills, each a SCORE */
                size_t kl = strcspn(k, ",");
                ex_packet sc = {.type = EX_SCORE, .client_id = out->client_id,
                                .sequence = ++send_seq, .code = EX_SCORE_KILL};
                snprintf(sc.message, sizeof sc.message, "%.*s", (int)(kl < 24 ? kl : 24), k);
                uint8_t b[EX_MAX_PACKET];
                send_to(fd, &ss, sl, b, ex_packet_write(&sc, pub.client_to_server_key, b));
                k += kl + (k[kl] == ',');
            }
        } else if (!connected && p.type == EX_DENY) {
            out->outcome = EX_DENIED;
            out->code = p.code;
            snprintf(out->reason, sizeof out->reason, "%s", ex_deny_name(p.code));
            snprintf(out->message, sizeof out->message, "%s", p.message);
            break;
        } else if (connected && p.type == EX_GOODBYE) {
            snprintf(out->message, sizeof out->message, "the server said goodbye");
            break;
        }
    }
    if (connected && o->goodbye) {
        ex_packet g = {.type = EX_GOODBYE, .client_id = out->client_id, .sequence = ++send_seq};
        uint8_t b[EX_MAX_PACKET];
        send_to(fd, &ss, sl, b, ex_packet_write(&g, pub.client_to_server_key, b));
    }
    close(fd);
    sodium_memzero(&pub, sizeof pub);
    return out->outcome;
}
