/* Child processes of the end-to-end suite. */
#include "e2e_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

long long e2e_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void e2e_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void e2e_proc_init(e2e_proc *p, const char *name, const char *dir, const char *program)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log, sizeof p->log, "%s/%s.log", dir, name);
    e2e_proc_arg(p, program);
}

void e2e_proc_arg(e2e_proc *p, const char *arg)
{
    if (p->argc < E2E_ARGS_MAX - 1) p->argv[p->argc++] = strdup(arg);
}

void e2e_proc_args(e2e_proc *p, const char *flag, const char *value)
{
    e2e_proc_arg(p, flag);
    e2e_proc_arg(p, value);
}

void e2e_proc_env(e2e_proc *p, const char *name, const char *value)
{
    if (p->envc >= E2E_ENV_MAX - 1) return;
    size_t n = strlen(name) + strlen(value) + 2;
    char *kv = malloc(n);
    if (!kv) return;
    snprintf(kv, n, "%s=%s", name, value);
    p->env[p->envc++] = kv;
}

bool e2e_proc_env_file(e2e_proc *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#') continue;
        *eq = '\0';
        e2e_proc_env(p, line, eq + 1);
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

void e2e_proc_print_log(const e2e_proc *p, int max_lines)
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

bool e2e_proc_start(e2e_proc *p, long timeout_ms)
{
    if (p->pid > 0) return true;
    if (p->ready_file[0]) unlink(p->ready_file);
    long from = file_size(p->log);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        for (int i = 0; i < p->envc; i++)
            putenv(p->env[i]);
        setvbuf(stdout, NULL, _IOLBF, 0);
        execv(p->argv[0], p->argv);
        fprintf(stderr, "exec %s: %s\n", p->argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    long long deadline = e2e_now_ms() + timeout_ms;
    while (e2e_now_ms() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            p->pid = 0;
            fprintf(stderr, "%s exited at start (status %d)\n", p->name, status);
            e2e_proc_print_log(p, 40);
            return false;
        }
        bool ready = p->ready_file[0] ? access(p->ready_file, R_OK) == 0
                                      : log_has_line(p->log, p->ready_line, from);
        if (ready) return true;
        e2e_sleep_ms(20);
    }
    fprintf(stderr, "%s not ready within %ld ms\n", p->name, timeout_ms);
    e2e_proc_print_log(p, 40);
    e2e_proc_kill(p);
    return false;
}

void e2e_proc_kill(e2e_proc *p)
{
    if (p->pid <= 0) return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

int e2e_proc_stop(e2e_proc *p, long timeout_ms)
{
    if (p->pid <= 0) return -1;
    kill(p->pid, SIGTERM);
    long long deadline = e2e_now_ms() + timeout_ms;
    int status = 0;
    while (waitpid(p->pid, &status, WNOHANG) == 0) {
        if (e2e_now_ms() > deadline) {
            e2e_proc_kill(p);
            return -1;
        }
        e2e_sleep_ms(10);
    }
    p->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool e2e_proc_running(e2e_proc *p)
{
    if (p->pid <= 0) return false;
    if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
        p->pid = 0;
        return false;
    }
    return true;
}

void e2e_proc_free(e2e_proc *p)
{
    e2e_proc_kill(p);
    for (int i = 0; i < p->argc; i++)
        free(p->argv[i]);
    for (int i = 0; i < p->envc; i++)
        free(p->env[i]);
    p->argc = p->envc = 0;
}

int e2e_run(const char *const *argv, long timeout_ms, char *line, size_t size)
{
    int out[2];
    if (pipe(out) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
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
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    char buf[2048];
    size_t used = 0;
    long long deadline = e2e_now_ms() + timeout_ms;
    int status = 0;
    bool exited = false;
    for (;;) {
        ssize_t n = read(out[0], buf + used, sizeof buf - 1 - used);
        if (n > 0) used += (size_t)n;
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
        if (exited && n <= 0) break;
        if (e2e_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            close(out[0]);
            if (line) snprintf(line, size, "(timed out)");
            return -1;
        }
        if (n <= 0) e2e_sleep_ms(5);
    }
    close(out[0]);
    buf[used] = '\0';
    if (line) {
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(line, size, "%s", buf);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
