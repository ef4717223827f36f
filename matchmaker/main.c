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


/* The last line a failed start prints: the reason, on its own, plainly. */
static void fatal(const char *why)
{
    fprintf(stderr, "seatgate-matchmaker: error: %s\n", why);
}

int main(int argc, char **argv)
{
    sg_config cfg = {0};
    sg_status st = sg_app_config(&cfg);
    if (st == SG_OK) st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) {
        sg_config_free(&cfg);
        return 0;
    }
    if (st != SG_OK) {
        fatal(sg_last_error());
        sg_config_free(&cfg);
        return 2;
    }
    sg_log_level level = SG_LOG_INFO;
    sg_log_level_parse(sg_config_str(&cfg, "log-level"), &level); /* checked by the load */
    sg_log_set_level(level);
    sg_config_log(&cfg, "matchmaker");
    raise_fd_limit();
    /* Few threads allocate here; capping glibc's per-thread arenas keeps thousands of
     * waiting requests from spreading over many half-empty heaps. */
    mallopt(M_ARENA_MAX, 2);
    /* Requests allocate and free in waves: keep freed heap instead of giving it back to the
     * kernel (and asking again) after every wave. */
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TOP_PAD, 4 * 1024 * 1024);
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
        fatal(sg_last_error());
        sg_config_free(&cfg);
        sg_store_library_cleanup();
        return st == SG_E_INVALID ? 2 : 1;
    }
    printf("listening url=%s\n", sg_app_url(app));
    fflush(stdout);
    const char *ready = sg_config_str(&cfg, "ready-file");
    if (ready && *ready && sg_file_write_whole(ready, sg_app_url(app)) != 0)
        SG_WARN("matchmaker", "ready_file_failed", "path=%s", ready);

    int sig = 0;
    sigwait(&set, &sig);
    SG_INFO("matchmaker", "stopping", "signal=%d", sig);
    sg_app_stop(app);
    sg_config_free(&cfg);
    sg_store_library_cleanup();
    SG_INFO("matchmaker", "stopped", "signal=%d", sig);
    return 0;
}
