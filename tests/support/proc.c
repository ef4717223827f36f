/* Test support: child processes and small helpers (proc.h). */
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Every child started and not yet reaped, with its name, for sg_proc_kill_all. */
static struct {
    pid_t pid;
    char name[32];
} running[128];

static void track_named(pid_t pid, const char *name)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
        if (running[i].pid == 0) {
            running[i].pid = pid;
            snprintf(running[i].name, sizeof running[i].name, "%s", name);
            return;
        }
    }
}

static void track(pid_t pid, bool add)
{
    if (add) {
        track_named(pid, "");
        return;
    }
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
        if (running[i].pid == pid) running[i].pid = 0;
}

void sg_proc_kill_all(const char *name)
{
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
        if (running[i].pid && (!name || strcmp(running[i].name, name) == 0)) {
            kill(running[i].pid, SIGKILL);
            waitpid(running[i].pid, NULL, 0);
            running[i].pid = 0;
        }
    }
}

long long sg_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sg_test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void sg_proc_init(sg_proc *p, const char *name, const char *dir, const char *program)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log, sizeof p->log, "%s/%s.log", dir, name);
    sg_proc_arg(p, program);
}

void sg_proc_arg(sg_proc *p, const char *arg)
{
    if (p->argc < SG_PROC_ARGS_MAX - 1) p->argv[p->argc++] = strdup(arg);
}

void sg_proc_args(sg_proc *p, const char *flag, const char *value)
{
    sg_proc_arg(p, flag);
    sg_proc_arg(p, value);
}

void sg_proc_env(sg_proc *p, const char *name, const char *value)
{
    if (p->envc >= SG_PROC_ENV_MAX - 1) return;
    size_t n = strlen(name) + strlen(value) + 2;
    char *kv = malloc(n);
    if (!kv) return;
    snprintf(kv, n, "%s=%s", name, value);
    p->env[p->envc++] = kv;
}

bool sg_proc_env_file(sg_proc *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#') continue;
        *eq = '\0';
        sg_proc_env(p, line, eq + 1);
    }
    fclose(f);
    return true;
}

static bool log_has_line(const char *path, const char *prefix, long from)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    fseek(f, from, SEEK_SET);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(f);
    return found;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

void sg_proc_print_log(const sg_proc *p, int max_lines)
{
    FILE *f = fopen(p->log, "r");
    if (!f) return;
    /* Count lines, then print the last max_lines. */
    int total = 0;
    char line[2048];
    while (fgets(line, sizeof line, f))
        total++;
    rewind(f);
    int skip = total > max_lines ? total - max_lines : 0;
    fprintf(stderr, "---- %s: last %d lines of %s\n", p->name, total - skip, p->log);
    for (int i = 0; fgets(line, sizeof line, f); i++)
        if (i >= skip) fputs(line, stderr);
    fclose(f);
}

/* The ready file's first line, once it exists (written atomically by the programs). */
static bool ready_file_seen(sg_proc *p)
{
    FILE *f = fopen(p->ready_file, "r");
    if (!f) return false;
    if (!fgets(p->ready_text, sizeof p->ready_text, f)) p->ready_text[0] = '\0';
    p->ready_text[strcspn(p->ready_text, "\r\n")] = '\0';
    fclose(f);
    return true;
}

bool sg_proc_start(sg_proc *p, long timeout_ms)
{
    if (p->pid > 0) return true;
    if (p->ready_file[0]) unlink(p->ready_file);
    p->ready_text[0] = '\0';
    long from = file_size(p->log);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            if (!p->quiet_stdout) dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            if (p->quiet_stdout) dup2(devnull, STDOUT_FILENO);
        }
        for (int i = 0; i < p->envc; i++)
            putenv(p->env[i]);
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (strchr(p->argv[0], '/'))
            execv(p->argv[0], p->argv);
        else
            execvp(p->argv[0], p->argv); /* a program on PATH (nats-server) */
        fprintf(stderr, "exec %s: %s\n", p->argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    track_named(pid, p->name);
    long long deadline = sg_test_now_ms() + timeout_ms;
    while (sg_test_now_ms() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            track(pid, false);
            p->pid = 0;
            fprintf(stderr, "%s exited at start (status %d)\n", p->name, status);
            sg_proc_print_log(p, 40);
            return false;
        }
        bool ready = p->ready_file[0] ? ready_file_seen(p)
                     : p->ready_fn    ? p->ready_fn(p, p->ready_user)
                                      : log_has_line(p->log, p->ready_line, from);
        if (ready) return true;
        sg_test_sleep_ms(20);
    }
    fprintf(stderr, "%s not ready within %ld ms\n", p->name, timeout_ms);
    sg_proc_print_log(p, 40);
    sg_proc_kill(p);
    return false;
}

void sg_pid_kill(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    track(pid, false);
}

int sg_pid_stop(pid_t pid, long timeout_ms)
{
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    long long deadline = sg_test_now_ms() + timeout_ms;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (sg_test_now_ms() > deadline) {
            sg_pid_kill(pid);
            return -1;
        }
        sg_test_sleep_ms(5);
    }
    track(pid, false);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void sg_proc_kill(sg_proc *p)
{
    sg_pid_kill(p->pid);
    p->pid = 0;
}

int sg_proc_stop(sg_proc *p, long timeout_ms)
{
    int rc = sg_pid_stop(p->pid, timeout_ms);
    p->pid = 0;
    return rc;
}

bool sg_proc_running(sg_proc *p)
{
    if (p->pid <= 0) return false;
    if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
        track(p->pid, false);
        p->pid = 0;
        return false;
    }
    return true;
}

void sg_proc_release(sg_proc *p)
{
    for (int i = 0; i < p->argc; i++)
        free(p->argv[i]);
    for (int i = 0; i < p->envc; i++)
        free(p->env[i]);
    p->argc = p->envc = 0;
}

void sg_proc_free(sg_proc *p)
{
    sg_proc_kill(p);
    sg_proc_release(p);
}

bool sg_run_start(const char *const *argv, pid_t *pid_out, int *fd_out)
{
    int out[2];
    if (pipe(out) != 0) return false;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return false;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    track(pid, true);
    *pid_out = pid;
    *fd_out = out[0];
    return true;
}

int sg_run_wait(pid_t pid, int fd, long timeout_ms, char *line, size_t size)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
    char buf[2048];
    size_t used = 0;
    long long deadline = sg_test_now_ms() + timeout_ms;
    int status = 0;
    bool exited = false, timed_out = false;
    for (;;) {
        ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
        if (n > 0) used += (size_t)n;
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
        if (exited && n <= 0) break;
        if (sg_test_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            timed_out = true;
            break;
        }
        if (n <= 0) sg_test_sleep_ms(5);
    }
    track(pid, false);
    close(fd);
    buf[used] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (line) snprintf(line, size, "%s", buf[0] || !timed_out ? buf : "(timed out)");
    if (timed_out) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int sg_run(const char *const *argv, long timeout_ms, char *line, size_t size)
{
    pid_t pid;
    int fd;
    if (!sg_run_start(argv, &pid, &fd)) return -1;
    return sg_run_wait(pid, fd, timeout_ms, line, size);
}

/* ---- small helpers ---- */

static int free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int sg_test_free_tcp_port(void)
{
    return free_port(SOCK_STREAM);
}

int sg_test_free_udp_port(void)
{
    return free_port(SOCK_DGRAM);
}

size_t sg_test_buf_write(char *data, size_t size, size_t n, void *buf)
{
    sg_test_buf *b = buf;
    size_t add = size * n;
    char *p = realloc(b->p, b->len + add + 1);
    if (!p) return 0;
    memcpy(p + b->len, data, add);
    b->p = p;
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

bool sg_test_header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':') return false;
    const char *v = line + k + 1;
    while (*v == ' ')
        v++;
    size_t vn = n - (size_t)(v - line);
    while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n'))
        vn--;
    snprintf(out, size, "%.*s", (int)vn, v);
    return true;
}

size_t sg_test_discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}
