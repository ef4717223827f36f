/* seatgate-leaderboard: score events into totals, ELO ratings and a ranked HTTP API. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "seatgate/kv.h"
#include "seatgate/log.h"
#include "service.h"


int main(int argc, char **argv)
{
    sg_config cfg = {0};
    sg_status st = sg_lb_config(&cfg);
    if (st == SG_OK) st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) {
        sg_config_free(&cfg);
        return 0;
    }
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-leaderboard: error: %s\n", sg_last_error());
        sg_config_free(&cfg);
        return 2;
    }
    sg_log_level level = SG_LOG_INFO;
    sg_log_level_parse(sg_config_str(&cfg, "log-level"), &level); /* checked by the load */
    sg_log_set_level(level);
    sg_config_log(&cfg, "leaderboard");
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    sg_lb_service *s = NULL;
    st = sg_lb_start(&cfg, &s);
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-leaderboard: error: %s\n", sg_last_error());
        sg_config_free(&cfg);
        sg_store_library_cleanup();
        return st == SG_E_INVALID ? 2 : 1;
    }
    printf("listening url=%s\n", sg_lb_url(s));
    fflush(stdout);
    const char *ready = sg_config_str(&cfg, "ready-file");
    if (ready && *ready && sg_file_write_whole(ready, sg_lb_url(s)) != 0)
        SG_WARN("leaderboard", "ready_file_failed", "path=%s", ready);
    int sig = 0;
    sigwait(&set, &sig);
    SG_INFO("leaderboard", "stopping", "signal=%d", sig);
    sg_lb_stop(s);
    sg_config_free(&cfg);
    sg_store_library_cleanup();
    SG_INFO("leaderboard", "stopped", "signal=%d", sig);
    return 0;
}
