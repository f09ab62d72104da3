#ifndef QSSL_CCLI_SHIM_H
#define QSSL_CCLI_SHIM_H
/* The libc surface of the qssl command. Its own module map (not Glibc) so the command also builds as Embedded
 * Swift, like the library with CPosix. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* errno is a macro over a function call; Swift cannot see it directly. */
static inline int cli_errno(void) { return errno; }
/* open with a mode is variadic, which Swift cannot call. */
static inline int cli_open(const char *path, int flags, int mode) { return open(path, flags, (mode_t)mode); }
static inline char **cli_environ(void) { return environ; }
static inline int cli_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int cli_accept(int fd, struct sockaddr_in *peer) {
    socklen_t len = sizeof *peer;
    return accept4(fd, (struct sockaddr *)peer, &len, SOCK_CLOEXEC);
}
static inline int cli_listen_socket(void) { return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }
/* The sockaddr arguments are transparent unions under _GNU_SOURCE, which Swift cannot build. */
static inline int cli_bind(int fd, const struct sockaddr_in *a) { return bind(fd, (const struct sockaddr *)a, sizeof *a); }
static inline int cli_local_port(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    return getsockname(fd, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : -1;
}
static inline void cli_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }
static inline int cli_wexitstatus(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
#endif
