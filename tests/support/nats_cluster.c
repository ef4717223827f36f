/* A JetStream cluster of real nats-server processes on loopback, for tests. */
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "nats_server.h"

/* One try: JetStream answers, and a stream with `replicas` replicas can be placed (so every
 * peer has joined the meta group). The probe stream is removed again. */
static bool jetstream_ready(const char *url, int replicas)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    bool ok = false;
    if (natsOptions_Create(&o) != NATS_OK) return false;
    /* natsOptions_SetURL takes one URL; ConnectTo-style lists need SetServers. */
    char copy[SG_TEST_NATS_NODES_MAX * 32];
    snprintf(copy, sizeof copy, "%s", url);
    const char *servers[SG_TEST_NATS_NODES_MAX];
    int count = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && count < SG_TEST_NATS_NODES_MAX;
         t = strtok_r(NULL, ",", &save))
        servers[count++] = t;
    natsOptions_SetServers(o, servers, count);
    natsOptions_SetTimeout(o, 1000);
    natsOptions_SetAllowReconnect(o, false);
    if (natsConnection_Connect(&nc, o) == NATS_OK &&
        natsConnection_JetStream(&js, nc, NULL) == NATS_OK) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        jsAccountInfo *ai = NULL;
        if (js_GetAccountInfo(&ai, js, &jo, NULL) == NATS_OK) {
            jsAccountInfo_Destroy(ai);
            if (replicas <= 1) {
                ok = true;
            } else {
                jsStreamConfig sc;
                jsStreamConfig_Init(&sc);
                sc.Name = "sg_test_cluster_probe";
                const char *subjects[] = {"sg.test.cluster.probe"};
                sc.Subjects = subjects;
                sc.SubjectsLen = 1;
                sc.Storage = js_MemoryStorage;
                sc.Replicas = replicas;
                jsStreamInfo *si = NULL;
                if (js_AddStream(&si, js, &sc, &jo, NULL) == NATS_OK) {
                    jsStreamInfo_Destroy(si);
                    ok = true;
                    js_DeleteStream(js, sc.Name, &jo, NULL);
                }
            }
        }
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(o);
    return ok;
}

int sg_test_nats_wait_jetstream(const char *url, long long timeout_ms)
{
    long long deadline = sg_test_now_ms() + timeout_ms;
    while (sg_test_now_ms() < deadline) {
        if (jetstream_ready(url, 1)) return 0;
        sg_test_sleep_ms(100);
    }
    fprintf(stderr, "JetStream did not answer at %s within %lld ms\n", url, timeout_ms);
    return -1;
}

/* The end of each node's log on stderr, to see why a cluster did not form. */
static void print_logs(const sg_test_nats_cluster *c)
{
    for (int i = 0; i < c->count; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/nats-server.log", c->node[i].dir);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, size > 3000 ? size - 3000 : 0, SEEK_SET);
        char buf[3001];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        fprintf(stderr, "---- %s (%s), end of log:\n%s\n", c->node[i].name, path, buf);
    }
}

int sg_test_nats_cluster_start(sg_test_nats_cluster *c, int count)
{
    memset(c, 0, sizeof *c);
    if (count < 1 || count > SG_TEST_NATS_NODES_MAX) return -1;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    /* Ports first: every node's routes name the others. */
    for (int i = 0; i < count; i++) {
        sg_test_nats *n = &c->node[i];
        snprintf(n->dir, sizeof n->dir, "%s/sg-nats-node%d-XXXXXX", tmp, i + 1);
        if (!mkdtemp(n->dir)) {
            perror("mkdtemp");
            n->dir[0] = '\0';
            sg_test_nats_cluster_free(c);
            return -1;
        }
        c->count = i + 1;
        n->port = sg_test_free_tcp_port();
        n->cluster_port = sg_test_free_tcp_port();
        if (n->port <= 0 || n->cluster_port <= 0 || n->port == n->cluster_port) {
            sg_test_nats_cluster_free(c);
            return -1;
        }
        snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", n->port);
        snprintf(n->name, sizeof n->name, "node%d", i + 1);
        snprintf(n->cluster_name, sizeof n->cluster_name, "sg-test");
        size_t used = strlen(c->urls);
        snprintf(c->urls + used, sizeof c->urls - used, "%s%s", i ? "," : "", n->url);
    }
    for (int i = 0; i < count; i++) {
        sg_test_nats *n = &c->node[i];
        for (int j = 0; j < count; j++) {
            if (j == i) continue;
            size_t used = strlen(n->routes);
            snprintf(n->routes + used, sizeof n->routes - used, "%snats://127.0.0.1:%d",
                     used ? "," : "", c->node[j].cluster_port);
        }
        if (sg_test_nats_restart(n) != 0) {
            fprintf(stderr, "cluster node %d did not start (log: %s/nats-server.log)\n", i + 1,
                    n->dir);
            sg_test_nats_cluster_free(c);
            return -1;
        }
    }
    long long deadline = sg_test_now_ms() + 30000;
    while (sg_test_now_ms() < deadline) {
        if (jetstream_ready(c->urls, count)) return 0;
        sg_test_sleep_ms(200);
    }
    fprintf(stderr, "the %d-node JetStream cluster did not form within 30 s\n", count);
    print_logs(c);
    sg_test_nats_cluster_free(c);
    return -1;
}

int sg_test_nats_cluster_find(const sg_test_nats_cluster *c, const char *name)
{
    for (int i = 0; name && i < c->count; i++)
        if (strcmp(c->node[i].name, name) == 0) return i;
    return -1;
}

void sg_test_nats_cluster_kill(sg_test_nats_cluster *c, int i)
{
    if (i < 0 || i >= c->count || c->node[i].pid <= 0) return;
    sg_pid_kill(c->node[i].pid);
    c->node[i].pid = 0;
}

int sg_test_nats_cluster_restart(sg_test_nats_cluster *c, int i)
{
    if (i < 0 || i >= c->count) return -1;
    return sg_test_nats_restart(&c->node[i]);
}

void sg_test_nats_cluster_free(sg_test_nats_cluster *c)
{
    for (int i = 0; i < c->count; i++)
        sg_test_nats_free(&c->node[i]);
    c->count = 0;
}
