/* Helpers for the C tests that start their own qssl-sim with --log FILE and read back every byte the host
 * wrote to the module: sim_start / sim_stop, simlog_read (the log as a list of writes, unescaped), marker
 * lookup and byte searches. Used by test_strings.c and test_secrets.c. */
#ifndef QSSL_SIMLOG_H
#define QSSL_SIMLOG_H
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sim {
    pid_t pid;
    int out_fd;       /* the sim's stdout (kept open: it may print more) */
    char pty[256];    /* its first line */
};

/* Starts `bin` with `args` (NULL-terminated, after the program name) and reads the pty path it prints
 * first (at most 60 s). 0 on success. */
static inline int sim_start(struct sim *s, const char *bin, const char *const args[]) {
    int p[2];
    if (pipe(p) != 0) return -1;
    const char *argv[32];
    int n = 0;
    argv[n++] = bin;
    for (int i = 0; args && args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        /* A test that crashes must not leave its module running. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    s->pid = pid;
    s->out_fd = p[0];
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (poll(&pfd, 1, 200) == 1) {
            char c;
            ssize_t r = read(p[0], &c, 1);
            if (r <= 0) break;
            if (c == '\n') {
                s->pty[len] = 0;
                return len > 0 ? 0 : -1;
            }
            if (len + 1 < sizeof s->pty) s->pty[len++] = c;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 60) break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(p[0]);
    s->pid = 0;
    return -1;
}

/* Stops the sim and waits for it: its log is complete afterwards. */
static inline void sim_stop(struct sim *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    close(s->out_fd);
    s->pid = 0;
}

/* One read or write the sim logged. */
struct chunk {
    int to_module;   /* 1: host->module, 0: module->host */
    size_t len;
    unsigned char *b;
};

struct simlog {
    struct chunk *c;
    size_t n;
    int bad_lines;   /* lines that did not parse (must stay 0) */
};

static inline void simlog_free(struct simlog *l) {
    for (size_t i = 0; i < l->n; i++) free(l->c[i].b);
    free(l->c);
    l->c = NULL;
    l->n = 0;
}

/* Parses one log line: `<time> host->module|module->host <count> "<escaped bytes>"`. */
static inline int simlog_parse_line(const char *line, struct chunk *out) {
    const char *p = strchr(line, ' ');
    if (!p) return -1;
    p++;
    if (strncmp(p, "host->module ", 13) == 0) out->to_module = 1;
    else if (strncmp(p, "module->host ", 13) == 0) out->to_module = 0;
    else return -1;
    p += 13;
    char *end;
    unsigned long count = strtoul(p, &end, 10);
    if (end == p || end[0] != ' ' || end[1] != '"') return -1;
    p = end + 2;
    unsigned char *b = malloc(count + 1);
    if (!b) return -1;
    size_t n = 0;
    while (*p && *p != '"') {
        unsigned char c = (unsigned char)*p++;
        if (c == '\\') {
            c = (unsigned char)*p++;
            if (c == 'r') c = '\r';
            else if (c == 'n') c = '\n';
            else if (c == 'x') {
                char hex[3] = {p[0], p[1], 0};
                if (!p[0] || !p[1]) { free(b); return -1; }
                c = (unsigned char)strtoul(hex, NULL, 16);
                p += 2;
            } else if (c != '"' && c != '\\') { free(b); return -1; }
        }
        if (n == count) { free(b); return -1; }
        b[n++] = c;
    }
    if (*p != '"' || n != count) { free(b); return -1; }
    out->len = n;
    out->b = b;
    return 0;
}

static inline int simlog_read(const char *path, struct simlog *l) {
    memset(l, 0, sizeof *l);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0, lcap = 0;
    ssize_t r;
    while ((r = getline(&line, &cap, f)) > 0) {
        if (line[r - 1] == '\n') line[r - 1] = 0;
        struct chunk c;
        if (simlog_parse_line(line, &c) != 0) { l->bad_lines++; continue; }
        if (l->n == lcap) {
            lcap = lcap ? lcap * 2 : 256;
            struct chunk *nc = realloc(l->c, lcap * sizeof *nc);
            if (!nc) { free(c.b); break; }
            l->c = nc;
        }
        l->c[l->n++] = c;
    }
    free(line);
    fclose(f);
    return 0;
}

/* Index of the first host->module write at or after `from` that is exactly `text`, or -1. */
static inline long simlog_find(const struct simlog *l, size_t from, const char *text) {
    size_t tl = strlen(text);
    for (size_t i = from; i < l->n; i++)
        if (l->c[i].to_module && l->c[i].len == tl && memcmp(l->c[i].b, text, tl) == 0) return (long)i;
    return -1;
}

/* Host->module writes with index in (a, b). */
static inline size_t simlog_writes_between(const struct simlog *l, long a, long b) {
    size_t n = 0;
    for (long i = a + 1; i < b && i < (long)l->n; i++) if (l->c[i].to_module) n++;
    return n;
}

static inline int mem_has(const void *hay, size_t hn, const void *needle, size_t nn) {
    if (nn == 0) return 1;
    return nn <= hn && memmem(hay, hn, needle, nn) != NULL;
}

/* 1 if a host->module write in [from, to) contains `needle`. */
static inline int simlog_sent(const struct simlog *l, size_t from, size_t to, const void *needle, size_t nn) {
    for (size_t i = from; i < to && i < l->n; i++)
        if (l->c[i].to_module && mem_has(l->c[i].b, l->c[i].len, needle, nn)) return 1;
    return 0;
}

/* All host->module bytes in [from, to) concatenated (a write may be split across reads). */
static inline unsigned char *simlog_host_bytes(const struct simlog *l, size_t from, size_t to, size_t *len) {
    size_t total = 0;
    for (size_t i = from; i < to && i < l->n; i++) if (l->c[i].to_module) total += l->c[i].len;
    unsigned char *b = malloc(total + 1);
    if (!b) { *len = 0; return NULL; }
    size_t n = 0;
    for (size_t i = from; i < to && i < l->n; i++)
        if (l->c[i].to_module) { memcpy(b + n, l->c[i].b, l->c[i].len); n += l->c[i].len; }
    *len = n;
    return b;
}

/* Waits (at most timeout_ms) until the log at `path` holds a host->module write equal to `text` at or after
 * write index `from`; returns its index or -1. Polls the file: the sim appends as it reads. */
static inline long simlog_wait_for(const char *path, size_t from, const char *text, int timeout_ms) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct simlog l;
        long i = -1;
        if (simlog_read(path, &l) == 0) {
            i = simlog_find(&l, from, text);
            simlog_free(&l);
        }
        if (i >= 0) return i;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms) return -1;
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
}

/* The AT trace (qssl_set_log_callback) collected into memory: every line with its direction. */
#include <pthread.h>
struct trace {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **lines;
    int *dirs;
    size_t n, cap;
};

static inline void trace_init(struct trace *t) {
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
}

static inline void trace_add(struct trace *t, int dir, const char *text) {
    pthread_mutex_lock(&t->mu);
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        char **nl = realloc(t->lines, nc * sizeof *nl);
        if (nl) t->lines = nl;
        int *nd = realloc(t->dirs, nc * sizeof *nd);
        if (nd) t->dirs = nd;
        if (nl && nd) t->cap = nc;
    }
    if (t->n < t->cap) {
        t->lines[t->n] = strdup(text ? text : "(null)");
        t->dirs[t->n] = dir;
        t->n++;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Index of the first line at or after `from` in direction `dir` equal to `text` (waits at most timeout_ms),
 * or -1. */
static inline long trace_wait_for(struct trace *t, size_t from, int dir, const char *text, int timeout_ms) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&t->mu);
    long found = -1;
    for (;;) {
        for (size_t i = from; i < t->n; i++)
            if (t->dirs[i] == dir && t->lines[i] && strcmp(t->lines[i], text) == 0) { found = (long)i; break; }
        if (found >= 0) break;
        if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) != 0) break;
    }
    pthread_mutex_unlock(&t->mu);
    return found;
}

static inline void trace_free(struct trace *t) {
    for (size_t i = 0; i < t->n; i++) free(t->lines[i]);
    free(t->lines);
    free(t->dirs);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}
#endif
