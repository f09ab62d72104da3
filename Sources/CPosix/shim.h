#ifndef QSSL_CPOSIX_SHIM_H
#define QSSL_CPOSIX_SHIM_H
/* POSIX surface the library uses. Our own module map (not Glibc) so the same code builds as Embedded Swift. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <pty.h>

/* errno is a macro over a function call; Swift cannot see it directly. */
static inline int cposix_errno(void) { return errno; }
static inline void cposix_set_errno(int e) { errno = e; }
/* ioctl is variadic, which Swift cannot call. */
static inline int cposix_ioctl_noarg(int fd, unsigned long req) { return ioctl(fd, req); }
static inline int cposix_ioctl_int(int fd, unsigned long req, int *arg) { return ioctl(fd, req, arg); }
/* open with a mode is variadic too. */
static inline int cposix_open(const char *path, int flags) { return open(path, flags); }
#endif
