/* End-to-end suite: the programs under test as child processes.
 *
 * A process is described once (program, arguments, extra environment, how to tell it is
 * ready) and can then be started, killed (SIGKILL, as a crash) or stopped (SIGTERM), and
 * started again with the same description. Its stdout and stderr go to <dir>/<name>.log,
 * appended across restarts. Every child gets PR_SET_PDEATHSIG, so nothing outlives the
 * suite, whatever way it ends. */
#ifndef SG_E2E_PROC_H
#define SG_E2E_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#define E2E_ARGS_MAX 64
#define E2E_ENV_MAX 48

typedef struct e2e_proc {
    char name[32];
    char log[640];
    char ready_file[640]; /* "": readiness by a line in the log instead */
    char ready_line[32];  /* a log line starting with this means ready ("listening ") */
    char *argv[E2E_ARGS_MAX];
    char *env[E2E_ENV_MAX]; /* "NAME=value", added to the suite's environment */
    int argc, envc;
    pid_t pid; /* 0: not running */
} e2e_proc;

/* Describes a process (copies everything). The log goes to dir/name.log. */
void e2e_proc_init(e2e_proc *p, const char *name, const char *dir, const char *program);
void e2e_proc_arg(e2e_proc *p, const char *arg);
void e2e_proc_args(e2e_proc *p, const char *flag, const char *value); /* two arguments */
void e2e_proc_env(e2e_proc *p, const char *name, const char *value);
/* Adds every KEY=VALUE line of a file (the simulator's --env-dir output). */
bool e2e_proc_env_file(e2e_proc *p, const char *path);

/* Starts it and waits (timeout_ms) for the ready file or ready line. On failure the end of
 * its log is printed, the process is killed, and false returned. */
bool e2e_proc_start(e2e_proc *p, long timeout_ms);
/* SIGKILL and reap. */
void e2e_proc_kill(e2e_proc *p);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the exit status (-1 if killed). */
int e2e_proc_stop(e2e_proc *p, long timeout_ms);
bool e2e_proc_running(e2e_proc *p);
void e2e_proc_free(e2e_proc *p); /* stops it (SIGKILL) and frees the description */
void e2e_proc_print_log(const e2e_proc *p, int max_lines);

/* Runs a program to completion with a timeout; its first stdout line into line (may be
 * NULL). Returns the exit code (-1: killed or timed out). */
int e2e_run(const char *const *argv, long timeout_ms, char *line, size_t size);

long long e2e_now_ms(void);
void e2e_sleep_ms(long ms);

#endif
