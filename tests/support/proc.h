/* Test support: the programs under test as child processes, described once.
 *
 * A process is described (program, arguments, extra environment, how to tell it is ready:
 * a ready file, a line in its log, or a function) and can then be started, killed
 * (SIGKILL, as a crash) or stopped (SIGTERM), and started again with the same description.
 * Its stdout and stderr go to <dir>/<name>.log, appended across restarts. Every child gets
 * PR_SET_PDEATHSIG, so nothing outlives the test, whatever way it ends; sg_proc_kill_all
 * ends every one still running (for a test's teardown after a failed assertion).
 * Also the suites' shared small helpers: one clock, free ports, a libcurl body collector. */
#ifndef SG_TEST_PROC_H
#define SG_TEST_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SG_PROC_ARGS_MAX 64
#define SG_PROC_ENV_MAX 48

typedef struct sg_proc sg_proc;
/* Readiness by a check of the caller's (a connection that works, say). */
typedef bool (*sg_proc_ready_fn)(sg_proc *p, void *user);

struct sg_proc {
    char name[32];
    char log[640];
    char ready_file[640];  /* ready once it exists; its first line lands in ready_text */
    char ready_line[32];   /* else: a log line starting with this means ready ("listening ") */
    sg_proc_ready_fn ready_fn; /* else: this returns true */
    void *ready_user;
    char ready_text[256];  /* the ready file's first line (a URL), "" when none */
    bool quiet_stdout;     /* stdout to /dev/null (the log gets stderr only) */
    char *argv[SG_PROC_ARGS_MAX];
    char *env[SG_PROC_ENV_MAX]; /* "NAME=value", added to the test's environment */
    int argc, envc;
    pid_t pid; /* 0: not running */
};

/* Describes a process (copies everything). The log goes to dir/name.log. */
void sg_proc_init(sg_proc *p, const char *name, const char *dir, const char *program);
void sg_proc_arg(sg_proc *p, const char *arg);
void sg_proc_args(sg_proc *p, const char *flag, const char *value); /* two arguments */
void sg_proc_env(sg_proc *p, const char *name, const char *value);
/* Adds every KEY=VALUE line of a file (the simulator's --env-dir output). */
bool sg_proc_env_file(sg_proc *p, const char *path);

/* Starts it and waits (timeout_ms) until it is ready. On failure the end of its log is
 * printed, the process is killed, and false returned. */
bool sg_proc_start(sg_proc *p, long timeout_ms);
/* SIGKILL and reap. */
void sg_proc_kill(sg_proc *p);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the exit status (-1 if killed). */
int sg_proc_stop(sg_proc *p, long timeout_ms);
bool sg_proc_running(sg_proc *p);
void sg_proc_free(sg_proc *p); /* stops it (SIGKILL) and frees the description */
void sg_proc_print_log(const sg_proc *p, int max_lines);
/* Frees the description only: a running process keeps running, its pid the caller's (to end
 * with sg_pid_stop or sg_pid_kill). */
void sg_proc_release(sg_proc *p);
/* The same as sg_proc_kill / sg_proc_stop, for such a pid. */
void sg_pid_kill(pid_t pid);
int sg_pid_stop(pid_t pid, long timeout_ms);
/* SIGKILL to every process started here (sg_proc_start) and not yet reaped whose name is
 * `name` (NULL: every one). */
void sg_proc_kill_all(const char *name);

/* Runs a program to completion with a timeout; its first stdout line into line (may be
 * NULL). Returns the exit code (-1: killed or timed out). */
int sg_run(const char *const *argv, long timeout_ms, char *line, size_t size);
/* The two halves: start it with stdout on a pipe (*fd), then read its first line and reap it
 * (a timeout kills it; line is then what it wrote, or "(timed out)"). */
bool sg_run_start(const char *const *argv, pid_t *pid, int *fd);
int sg_run_wait(pid_t pid, int fd, long timeout_ms, char *line, size_t size);

/* ---- small helpers ---------------------------------------------------------------------- */

long long sg_test_now_ms(void); /* monotonic */
void sg_test_sleep_ms(long ms);

/* A free port on 127.0.0.1 right now (bound, then released), or -1. */
int sg_test_free_tcp_port(void);
int sg_test_free_udp_port(void);

/* A growing, NUL-terminated buffer for libcurl's write and header callbacks:
 * CURLOPT_WRITEFUNCTION sg_test_buf_write with CURLOPT_WRITEDATA &buf (free buf.p). */
typedef struct sg_test_buf {
    char *p;
    size_t len;
} sg_test_buf;
size_t sg_test_buf_write(char *data, size_t size, size_t n, void *buf);
size_t sg_test_discard(char *data, size_t size, size_t n, void *user);
/* A header line ("Retry-After: 3\r\n", n bytes, from CURLOPT_HEADERFUNCTION) named `name`
 * (any case): its value, trimmed, into out. False when the line is another header. */
bool sg_test_header_value(const char *line, size_t n, const char *name, char *out, size_t size);

#endif
