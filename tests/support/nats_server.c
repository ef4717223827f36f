#include "nats_server.h"

#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static bool listening(sg_proc *p, void *user)
{
    (void)p;
    return can_connect(((sg_test_nats *)user)->port);
}

/* Starts the server described by n (its log: <dir>/nats-server.log). */
static int spawn(sg_test_nats *n)
{
    char port[16], log[300], cluster[64], name[80];
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(log, sizeof log, "%s/nats-server.log", n->dir);
    snprintf(cluster, sizeof cluster, "nats://127.0.0.1:%d", n->cluster_port);
    snprintf(name, sizeof name, "%s", n->name[0] ? n->name : "sg-test");
    /* argv: the common part, then the cluster part when this node is one of several. */
    const char *argv[48];
    int a = 0;
    argv[a++] = "nats-server";
    if (!n->no_jetstream) {
        argv[a++] = "-js";
        argv[a++] = "-sd";
        argv[a++] = n->dir;
    }
    argv[a++] = "-a";
    argv[a++] = "127.0.0.1";
    argv[a++] = "-p";
    argv[a++] = port;
    if (n->cluster_port > 0) {
        argv[a++] = "-n";
        argv[a++] = name;
        argv[a++] = "--cluster_name";
        argv[a++] = n->cluster_name[0] ? n->cluster_name : "sg-test";
        argv[a++] = "--cluster";
        argv[a++] = cluster;
        if (n->routes[0]) {
            argv[a++] = "--routes";
            argv[a++] = n->routes;
        }
    }
    for (int i = 0; n->extra_args && n->extra_args[i] && i < 16; i++)
        argv[a++] = n->extra_args[i];
    sg_proc p;
    sg_proc_init(&p, "nats-server", n->dir, argv[0]);
    for (int i = 1; i < a; i++)
        sg_proc_arg(&p, argv[i]);
    p.ready_fn = listening;
    p.ready_user = n;
    bool ok = sg_proc_start(&p, 10000);
    n->pid = ok ? p.pid : 0;
    sg_proc_release(&p);
    if (!ok) {
        fprintf(stderr, "nats-server did not start (is it installed? scripts/deps test); log: %s\n",
                log);
        return -1;
    }
    return 0;
}

int sg_test_nats_start(sg_test_nats *n)
{
    bool no_js = n->no_jetstream;
    const char *const *extra = n->extra_args;
    memset(n, 0, sizeof *n);
    n->no_jetstream = no_js;
    n->extra_args = extra;
    snprintf(n->dir, sizeof n->dir, "%s/sg-nats-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(n->dir)) {
        perror("mkdtemp");
        n->dir[0] = '\0';
        return -1;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        n->port = sg_test_free_tcp_port();
        if (n->port <= 0) return -1;
        snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", n->port);
        if (spawn(n) == 0) return 0;
    }
    return -1;
}

int sg_test_nats_restart(sg_test_nats *n)
{
    if (n->pid) sg_test_nats_stop(n);
    /* The port was ours a moment ago; retry while the kernel lets go of it. */
    for (int attempt = 0; attempt < 5; attempt++) {
        if (spawn(n) == 0) return 0;
        sg_test_sleep_ms(200);
    }
    return -1;
}

void sg_test_nats_stop(sg_test_nats *n)
{
    sg_pid_stop(n->pid, 3000);
    n->pid = 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void sg_test_nats_free(sg_test_nats *n)
{
    sg_test_nats_stop(n);
    if (n->dir[0]) nftw(n->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    n->dir[0] = '\0';
}
