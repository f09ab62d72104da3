/*
 * 1000 open/close cycles leak neither file descriptors (/proc/self/fd) nor threads (/proc/self/task).
 * Every tenth cycle also sets a log and an event callback, so the dispatcher thread is started and
 * joined too.
 *
 * usage: test_cycles DEVICE [CYCLES]
 */
#include "testutil.h"
#include <qssl.h>
#include <dirent.h>
#include <time.h>

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;  /* for /proc/self/fd this includes opendir's own fd, the same way every time */
}

/* A thread that pthread_join() already returned for can stay listed in /proc/self/task for a moment: the kernel
 * wakes the joiner before it reaps the task. Count again until the number stops falling. */
static int settled_tasks(void) {
    int n = count_entries("/proc/self/task");
    for (int i = 0; i < 100; i++) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
        int again = count_entries("/proc/self/task");
        if (again >= n) return again;
        n = again;
    }
    return n;
}

static int log_calls;
static void on_log(qssl_modem *m, int direction, const char *text, void *user) {
    (void)m; (void)direction; (void)text; (void)user;
    __atomic_add_fetch(&log_calls, 1, __ATOMIC_RELAXED);
}
static void on_event(qssl_modem *m, const qssl_event *ev, void *user) { (void)m; (void)ev; (void)user; }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DEVICE [CYCLES]\n", argv[0]);
        return 2;
    }
    const char *device = argv[1];
    int cycles = argc > 2 ? atoi(argv[2]) : 1000;

    /* One warm-up cycle: lazily initialised runtime state is not a leak. */
    qssl_modem *m = NULL;
    REQUIRE(qssl_modem_open(device, NULL, &m) == QSSL_OK);
    REQUIRE(qssl_modem_close(m) == QSSL_OK);

    int fds0 = count_entries("/proc/self/fd"), tasks0 = settled_tasks();
    REQUIRE(fds0 > 0 && tasks0 >= 0);
    int failures = 0;
    for (int i = 0; i < cycles; i++) {
        m = NULL;
        int rc = qssl_modem_open(device, NULL, &m);
        if (rc != QSSL_OK) {
            fprintf(stderr, "cycle %d: open: %s\n", i, qssl_strerror(rc));
            failures++;
            continue;
        }
        if (i % 10 == 0) {
            CHECK_RC(qssl_set_log_callback(m, on_log, NULL), QSSL_OK);
            CHECK_RC(qssl_set_event_callback(m, on_event, NULL), QSSL_OK);
            char buf[32];
            CHECK(qssl_at(m, "AT", buf, sizeof buf, 2000) >= 0);
        }
        rc = qssl_modem_close(m);
        if (rc != QSSL_OK) failures++;
        /* The dead handle stays dead. */
        if (qssl_modem_close(m) != QSSL_ECLOSED) failures++;
    }
    CHECK(failures == 0);
    int fds1 = count_entries("/proc/self/fd"), tasks1 = settled_tasks();
    printf("test_cycles: %d cycles; fds %d -> %d; threads %d -> %d; %d log lines\n", cycles, fds0, fds1, tasks0,
           tasks1, log_calls);
    CHECK(fds1 == fds0);
    CHECK(tasks1 == tasks0);
    /* Every tenth cycle traced at least "AT" and "OK"; queued lines are delivered before close returns. */
    CHECK(log_calls >= 2 * ((cycles + 9) / 10));
    return TEST_SUMMARY("test_cycles");
}
