/* seatgate-matchmaker: POST /connect-me. Parses the configuration, starts the app, waits. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "app.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int write_ready_file(const char *path, const char *url)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%s\n", url);
    if (fclose(f) != 0) return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    size_t n = 0;
    sg_setting *settings = sg_app_settings(&n);
    if (!settings) return 1;
    sg_config cfg = {
        .program = "seatgate-matchmaker",
        .summary = "POST /connect-me: reserve an Edgegap seat and hand out a netcode connect token",
        .env_prefix = "SEATGATE_",
        .settings = settings,
        .count = n,
    };
    sg_status st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) {
        sg_config_free(&cfg);
        free(settings);
        return 0;
    }
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-matchmaker: %s\n", sg_last_error());
        sg_config_free(&cfg);
        free(settings);
        return 2;
    }
    sg_config_log(&cfg, "matchmaker");
    raise_fd_limit();
    /* Few threads allocate here; capping glibc's per-thread arenas keeps thousands of
     * waiting requests from spreading over many half-empty heaps. */
    mallopt(M_ARENA_MAX, 2);
    signal(SIGPIPE, SIG_IGN);

    /* Signals are taken by sigwait on this thread; every thread started later inherits the
     * mask, so none of them is interrupted. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    sg_app *app = NULL;
    st = sg_app_start(&cfg, &app);
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-matchmaker: %s\n", sg_last_error());
        sg_config_free(&cfg);
        free(settings);
        sg_store_library_cleanup();
        return st == SG_E_INVALID ? 2 : 1;
    }
    printf("listening url=%s\n", sg_app_url(app));
    fflush(stdout);
    const char *ready = sg_config_str(&cfg, "ready-file");
    if (ready && *ready && write_ready_file(ready, sg_app_url(app)) != 0)
        SG_WARN("matchmaker", "ready_file_failed", "path=%s", ready);

    int sig = 0;
    sigwait(&set, &sig);
    SG_INFO("matchmaker", "stopping", "signal=%d", sig);
    sg_app_stop(app);
    sg_config_free(&cfg);
    free(settings);
    sg_store_library_cleanup();
    SG_INFO("matchmaker", "stopped", "signal=%d", sig);
    return 0;
}
