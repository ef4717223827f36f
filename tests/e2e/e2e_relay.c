/* The platform's port mapping, on loopback: players dial a deployment's external port and
 * the game server listens on another (its internal port), as on Edgegap or behind an Agones
 * hostPort. One thread forwards UDP both ways. Each player address gets its own upstream
 * socket bound to the player's IP (any 127.x address can be bound on loopback), so the game
 * server sees the player's IP, as behind a NAT that keeps source addresses; only the port
 * changes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"

#define RELAY_FLOWS 512
#define RELAY_IDLE_MS 60000

typedef struct flow {
    int fd; /* -1: free */
    int dep;
    struct sockaddr_in player;
    long long last_ms;
} flow;

static struct {
    int listen_fd[E2E_DEPLOYMENTS];
    flow flows[RELAY_FLOWS];
    pthread_t thread;
    atomic_bool stop;
    bool running;
    unsigned long forwarded, dropped;
} R;

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static flow *flow_for(int dep, const struct sockaddr_in *player, long long now)
{
    flow *free_slot = NULL;
    for (int i = 0; i < RELAY_FLOWS; i++) {
        flow *f = &R.flows[i];
        if (f->fd >= 0 && now - f->last_ms > RELAY_IDLE_MS) {
            close(f->fd);
            f->fd = -1;
        }
        if (f->fd < 0) {
            if (!free_slot) free_slot = f;
            continue;
        }
        if (f->dep == dep && f->player.sin_port == player->sin_port &&
            f->player.sin_addr.s_addr == player->sin_addr.s_addr)
            return f;
    }
    if (!free_slot) return NULL;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in from = *player;
    from.sin_port = 0;
    struct sockaddr_in to = loopback(E.dep[dep].internal_port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        if (fd >= 0) close(fd);
        return NULL;
    }
    *free_slot = (flow){.fd = fd, .dep = dep, .player = *player};
    return free_slot;
}

static void *relay_main(void *arg)
{
    (void)arg;
    struct pollfd pfd[E2E_DEPLOYMENTS + RELAY_FLOWS];
    int which[E2E_DEPLOYMENTS + RELAY_FLOWS];
    uint8_t buf[2048];
    while (!atomic_load(&R.stop)) {
        int n = 0;
        for (int d = 0; d < E2E_DEPLOYMENTS; d++) {
            pfd[n] = (struct pollfd){.fd = R.listen_fd[d], .events = POLLIN};
            which[n++] = -1 - d;
        }
        for (int i = 0; i < RELAY_FLOWS; i++)
            if (R.flows[i].fd >= 0) {
                pfd[n] = (struct pollfd){.fd = R.flows[i].fd, .events = POLLIN};
                which[n++] = i;
            }
        if (poll(pfd, (nfds_t)n, 100) <= 0) continue;
        long long now = sg_test_now_ms();
        for (int k = 0; k < n; k++) {
            if (!(pfd[k].revents & POLLIN)) continue;
            if (which[k] < 0) {
                /* From a player: to the server, through the player's own flow. */
                int d = -1 - which[k];
                struct sockaddr_in player;
                socklen_t len = sizeof player;
                ssize_t got;
                while ((got = recvfrom(pfd[k].fd, buf, sizeof buf, 0, (struct sockaddr *)&player,
                                       &len)) >= 0) {
                    flow *f = flow_for(d, &player, now);
                    if (f && send(f->fd, buf, (size_t)got, 0) == got) {
                        f->last_ms = now;
                        R.forwarded++;
                    } else {
                        R.dropped++;
                    }
                    len = sizeof player;
                }
            } else {
                /* From the server: back to the player, from the external port. */
                flow *f = &R.flows[which[k]];
                ssize_t got;
                while ((got = recv(f->fd, buf, sizeof buf, 0)) >= 0) {
                    if (sendto(R.listen_fd[f->dep], buf, (size_t)got, 0,
                               (struct sockaddr *)&f->player, sizeof f->player) == got)
                        R.forwarded++;
                    else
                        R.dropped++;
                    f->last_ms = now;
                }
                /* ECONNREFUSED: the server is down (killed in a scenario); the flow stays. */
                if (errno == ECONNREFUSED) R.dropped++;
            }
        }
    }
    return NULL;
}

bool e2e_relay_start(void)
{
    memset(&R, 0, sizeof R);
    for (int i = 0; i < RELAY_FLOWS; i++) R.flows[i].fd = -1;
    for (int d = 0; d < E2E_DEPLOYMENTS; d++) {
        R.listen_fd[d] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = loopback(E.dep[d].port);
        if (R.listen_fd[d] < 0 || bind(R.listen_fd[d], (struct sockaddr *)&a, sizeof a) != 0) {
            fprintf(stderr, "relay: cannot bind 127.0.0.1:%d: %s\n", E.dep[d].port,
                    strerror(errno));
            for (int k = 0; k <= d; k++)
                if (R.listen_fd[k] >= 0) close(R.listen_fd[k]);
            return false;
        }
    }
    atomic_store(&R.stop, false);
    if (pthread_create(&R.thread, NULL, relay_main, NULL) != 0) return false;
    R.running = true;
    return true;
}

void e2e_relay_stop(void)
{
    if (!R.running) return;
    atomic_store(&R.stop, true);
    pthread_join(R.thread, NULL);
    R.running = false;
    for (int d = 0; d < E2E_DEPLOYMENTS; d++) close(R.listen_fd[d]);
    for (int i = 0; i < RELAY_FLOWS; i++)
        if (R.flows[i].fd >= 0) close(R.flows[i].fd);
    fprintf(stderr, "relay: %lu datagrams forwarded, %lu dropped\n", R.forwarded, R.dropped);
}
