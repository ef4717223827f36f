/* seatgate-example-tcp-server: a TCP game server that admits players by seat token.
 *
 * For games that do not speak netcode. A player connects and sends one line,
 * "SEAT <seat token>\n" (the seat_token /connect-me answered with). The server asks the
 * hook (sg_hook_verify_seat_token, with the connection's peer address) and answers one line:
 * "ACCEPTED client_id=<id> session_id=<seat>" (then the connection is the player's until it
 * closes), or "DENIED reason=<reason> message=<why>" and closes. A closed connection is a
 * disconnect (goodbye). The hook's settings come from the environment as for every game server
 * (SEATGATE_SEAT_TOKEN_KEYS, SEATGATE_STORE_URL, the platform's variables). One thread: the
 * game loop polls its sockets and the hook's poll fd, and never waits on the network.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "seatgate/addr.h"
#include "seatgate/config.h"
#include "seatgate/gameserver_hook.h"
#include "seatgate/log.h"

#define COMP "example_tcp_server"
#define MAX_CONNS 256
#define LINE_MAX 9000 /* "SEAT " and a seat token of at most 8 KiB */

typedef enum cstate { C_FREE = 0, C_READING, C_VERIFYING, C_PLAYING } cstate;

typedef struct conn {
    cstate state;
    int fd;
    unsigned generation;
    char peer[64];
    char line[LINE_MAX + 1];
    size_t len;
    uint64_t client_id;
} conn;

static conn conns[MAX_CONNS];
static sg_hook *hook;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void say(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(conn *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = send(c->fd, buf, (size_t)n, MSG_NOSIGNAL);
    (void)w;
}

static void close_conn(conn *c)
{
    if (c->state == C_PLAYING && c->client_id)
        sg_hook_disconnect(hook, c->client_id, SG_HOOK_DISCONNECT_GOODBYE, NULL, NULL);
    close(c->fd);
    unsigned g = c->generation + 1;
    memset(c, 0, sizeof *c);
    c->generation = g;
}

typedef struct ref {
    int index;
    unsigned generation;
} ref;

static void on_verdict(const sg_hook_verdict *v, void *user)
{
    ref *r = user;
    conn *c = &conns[r->index];
    bool same = c->generation == r->generation && c->state == C_VERIFYING;
    free(r);
    if (!same) { /* the player left while waiting: let an accepted seat go */
        if (v->accepted) sg_hook_disconnect(hook, v->client_id, SG_HOOK_DISCONNECT_GOODBYE, NULL, NULL);
        return;
    }
    if (v->accepted) {
        c->state = C_PLAYING;
        c->client_id = v->client_id;
        SG_INFO(COMP, "accepted", "client_id=%llu peer=%s session_id=%s",
                (unsigned long long)v->client_id, c->peer, v->session_id);
        say(c, "ACCEPTED client_id=%llu session_id=%s", (unsigned long long)v->client_id,
            v->session_id);
    } else {
        SG_INFO(COMP, "denied", "peer=%s reason=%s", c->peer,
                sg_hook_reason_name((sg_hook_reason)v->reason));
        say(c, "DENIED reason=%s message=%s", sg_hook_reason_name((sg_hook_reason)v->reason),
            v->message);
        close_conn(c);
    }
}

static void on_line(int i)
{
    conn *c = &conns[i];
    if (strncmp(c->line, "SEAT ", 5) != 0) {
        say(c, "DENIED reason=bad_request message=expected SEAT <token>");
        close_conn(c);
        return;
    }
    ref *r = malloc(sizeof *r);
    if (!r) {
        close_conn(c);
        return;
    }
    *r = (ref){i, c->generation};
    c->state = C_VERIFYING;
    if (sg_hook_verify_seat_token(hook, c->line + 5, strlen(c->line + 5), c->peer, on_verdict, r) !=
        SG_OK) {
        free(r);
        say(c, "DENIED reason=unavailable message=%s", sg_last_error());
        close_conn(c);
    }
}

static void on_readable(int i)
{
    conn *c = &conns[i];
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n <= 0) {
        close_conn(c);
        return;
    }
    if (c->state != C_READING) return; /* game traffic: this example has none */
    for (ssize_t k = 0; k < n; k++) {
        if (buf[k] == '\n') {
            c->line[c->len] = '\0';
            if (c->len && c->line[c->len - 1] == '\r') c->line[c->len - 1] = '\0';
            on_line(i);
            return;
        }
        if (c->len == LINE_MAX) {
            say(c, "DENIED reason=bad_request message=line too long");
            close_conn(c);
            return;
        }
        c->line[c->len++] = buf[k];
    }
}

int main(int argc, char **argv)
{
    const sg_setting settings[] = {
        {.name = "listen", .type = SG_SET_STRING, .def = "0.0.0.0:7001",
         .help = "TCP address to listen on"},
        {.name = "log-level", .type = SG_SET_STRING, .def = "info",
         .choices = SG_LOG_LEVEL_CHOICES, .help = "lines below this level are not written"},
    };
    sg_config cfg = {.program = "seatgate-example-tcp-server",
                     .summary = "Example TCP game server admitting players by seat token",
                     .env_prefix = "EXAMPLE_",
                     .settings = (sg_setting *)settings,
                     .count = sizeof settings / sizeof *settings};
    sg_status st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) return 0;
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-example-tcp-server: error: %s\n", sg_last_error());
        return 2;
    }
    sg_log_level level;
    if (sg_log_level_parse(sg_config_str(&cfg, "log-level"), &level) == SG_OK)
        sg_log_set_level(level);
    sg_addr la;
    if (sg_addr_parse(sg_config_str(&cfg, "listen"), SG_PORT_REQUIRED, &la) != SG_OK) {
        fprintf(stderr, "seatgate-example-tcp-server: error: %s\n", sg_last_error());
        return 2;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sg_addr_to_sockaddr(&la, &ss);
    int lfd = socket(la.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&ss, sl) != 0 || listen(lfd, 64) != 0) {
        fprintf(stderr, "seatgate-example-tcp-server: error: cannot listen on %s: %s\n",
                sg_config_str(&cfg, "listen"), strerror(errno));
        return 1;
    }
    sg_hook_options *ho = NULL;
    if (sg_hook_options_new(&ho) != SG_OK || sg_hook_options_load_env(ho) != SG_OK ||
        sg_hook_new(ho, &hook) != SG_OK) {
        fprintf(stderr, "seatgate-example-tcp-server: error: %s\n", sg_last_error());
        return 1;
    }
    sg_hook_options_free(ho);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("listening %s\n", sg_config_str(&cfg, "listen"));
    fflush(stdout);
    while (!stop_requested) {
        struct pollfd p[MAX_CONNS + 2];
        int map[MAX_CONNS + 2];
        int n = 0;
        p[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
        map[n++] = -1;
        int hfd = sg_hook_poll_fd(hook);
        if (hfd >= 0) {
            p[n] = (struct pollfd){.fd = hfd, .events = POLLIN};
            map[n++] = -2;
        }
        for (int i = 0; i < MAX_CONNS; i++)
            if (conns[i].state != C_FREE) {
                p[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
                map[n++] = i;
            }
        if (poll(p, (nfds_t)n, 100) < 0 && errno != EINTR) break;
        sg_hook_poll(hook, 0);
        for (int k = 0; k < n; k++) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (map[k] == -1) {
                struct sockaddr_storage peer;
                socklen_t plen = sizeof peer;
                int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
                int slot = -1;
                for (int i = 0; i < MAX_CONNS && slot < 0; i++)
                    if (conns[i].state == C_FREE) slot = i;
                if (fd < 0) continue;
                sg_addr a;
                if (slot < 0 || sg_addr_from_sockaddr((struct sockaddr *)&peer, &a) != SG_OK) {
                    close(fd);
                    continue;
                }
                conn *c = &conns[slot];
                c->state = C_READING;
                c->fd = fd;
                sg_addr_format(&a, false, c->peer, sizeof c->peer);
            } else if (map[k] >= 0 && conns[map[k]].state != C_FREE) {
                on_readable(map[k]);
            }
        }
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].state != C_FREE) close_conn(&conns[i]);
    close(lfd);
    int rc = sg_hook_stop(hook, -1) == SG_OK ? 0 : 1;
    sg_hook_poll(hook, 0);
    sg_hook_free(hook);
    sg_config_free(&cfg);
    return rc;
}
