/*
 * Many threads on one handle at once: two echo loops (an SSL and a TCP socket), a thread sending AT and
 * AT+QSSLSTATE, a thread taking events from the queue, the log and event callbacks, and finally
 * qssl_modem_close() from the main thread while all of them still run: every call returns a code (the
 * late ones QSSL_ECLOSED), nothing hangs, every echoed byte is right. Built plain, with ASan/UBSan, and
 * with ThreadSanitizer by scripts/tsan.sh.
 *
 * usage: test_threads DEVICE TLS_PORT TCP_PORT [ROUNDS]
 */
#include "testutil.h"
#include <qssl.h>
#include <pthread.h>
#include <stdint.h>

static qssl_modem *m;
static int tls_port, tcp_port, rounds = 200;
static volatile int stop_flag;
static int log_lines, events_seen;

static void on_log(qssl_modem *mm, int direction, const char *text, void *user) {
    (void)mm; (void)direction; (void)text; (void)user;
    __atomic_add_fetch(&log_lines, 1, __ATOMIC_RELAXED);
}

static void on_event(qssl_modem *mm, const qssl_event *ev, void *user) {
    (void)user;
    __atomic_add_fetch(&events_seen, 1, __ATOMIC_RELAXED);
    /* Callbacks may call back in. */
    if (ev->type == QSSL_EVENT_DATA) (void)qssl_socket_fd(mm, ev->socket);
}

struct echo { int tcp; int id; int done; int bad; };

/* Sends a numbered pattern and reads it back, `rounds` times. */
static void *echo_main(void *arg) {
    struct echo *e = arg;
    unsigned char out[700], in[700];
    for (int r = 0; r < rounds && !__atomic_load_n(&stop_flag, __ATOMIC_RELAXED); r++) {
        size_t n = 1 + (size_t)(r * 37) % sizeof out;
        for (size_t i = 0; i < n; i++) out[i] = (unsigned char)(r + i * (e->tcp ? 3 : 7));
        int rc = e->tcp ? qssl_tcp_send(m, e->id, out, n) : qssl_send(m, e->id, out, n);
        if (rc != (int)n) { e->bad++; break; }
        size_t got = 0;
        while (got < n) {
            rc = e->tcp ? qssl_tcp_recv(m, e->id, in + got, n - got, 10000)
                        : qssl_recv(m, e->id, in + got, n - got, 10000);
            if (rc <= 0) break;
            got += (size_t)rc;
        }
        if (got != n || memcmp(in, out, n) != 0) { e->bad++; break; }
        e->done++;
    }
    return NULL;
}

static int at_calls, at_fail;
static void *at_main(void *arg) {
    (void)arg;
    char buf[256];
    qssl_state_info st;
    while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
        int rc = qssl_at(m, "AT", buf, sizeof buf, 5000);
        memset(&st, 0, sizeof st);
        st.size = sizeof st;
        int rs = qssl_state(m, &st);
        __atomic_add_fetch(&at_calls, 1, __ATOMIC_RELAXED);
        if (rc < 0 || rs != QSSL_OK) __atomic_add_fetch(&at_fail, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void *events_main(void *arg) {
    (void)arg;
    qssl_event ev;
    while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
        memset(&ev, 0, sizeof ev);
        ev.size = sizeof ev;
        (void)qssl_next_event(m, &ev, 50);
    }
    return NULL;
}

/* Calls that race with qssl_modem_close(): each must return a code, the late ones QSSL_ECLOSED. */
static int late_ok, late_closed, late_other;
static void *late_main(void *arg) {
    int id = *(int *)arg;
    char buf[64];
    for (int i = 0; i < 1000000; i++) {
        int rc = (i % 3 == 0) ? qssl_at(m, "AT", buf, sizeof buf, 2000)
               : (i % 3 == 1) ? qssl_recv(m, id, buf, sizeof buf, 0)
                              : qssl_socket_fd(m, id);
        if (rc == QSSL_ECLOSED) { __atomic_add_fetch(&late_closed, 1, __ATOMIC_RELAXED); break; }
        if (rc >= 0 || rc == QSSL_EAGAIN) __atomic_add_fetch(&late_ok, 1, __ATOMIC_RELAXED);
        else __atomic_add_fetch(&late_other, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DEVICE TLS_PORT TCP_PORT [ROUNDS]\n", argv[0]);
        return 2;
    }
    tls_port = atoi(argv[2]);
    tcp_port = atoi(argv[3]);
    if (argc > 4) rounds = atoi(argv[4]);
    REQUIRE(qssl_modem_open(argv[1], NULL, &m) == QSSL_OK);
    CHECK_RC(qssl_set_log_callback(m, on_log, NULL), QSSL_OK);
    CHECK_RC(qssl_set_event_callback(m, on_event, NULL), QSSL_OK);
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_OK);
    struct echo ssl = {0, qssl_open(m, 0, "127.0.0.1", tls_port, 30), 0, 0};
    struct echo tcp = {1, qssl_tcp_open(m, "127.0.0.1", tcp_port, 30), 0, 0};
    REQUIRE(ssl.id >= 0 && tcp.id >= 0);

    pthread_t t[6];
    REQUIRE(pthread_create(&t[0], NULL, echo_main, &ssl) == 0);
    REQUIRE(pthread_create(&t[1], NULL, echo_main, &tcp) == 0);
    REQUIRE(pthread_create(&t[2], NULL, at_main, NULL) == 0);
    REQUIRE(pthread_create(&t[3], NULL, events_main, NULL) == 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    pthread_join(t[2], NULL);
    pthread_join(t[3], NULL);
    CHECK(ssl.bad == 0 && ssl.done == rounds);
    CHECK(tcp.bad == 0 && tcp.done == rounds);
    int logs = __atomic_load_n(&log_lines, __ATOMIC_RELAXED), evs = __atomic_load_n(&events_seen, __ATOMIC_RELAXED);
    CHECK(__atomic_load_n(&at_calls, __ATOMIC_RELAXED) > 0 && __atomic_load_n(&at_fail, __ATOMIC_RELAXED) == 0);
    CHECK(logs > 0 && evs > 0);

    /* Close while two threads keep calling. */
    REQUIRE(pthread_create(&t[4], NULL, late_main, &ssl.id) == 0);
    REQUIRE(pthread_create(&t[5], NULL, late_main, &tcp.id) == 0);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    pthread_join(t[4], NULL);
    pthread_join(t[5], NULL);
    CHECK(__atomic_load_n(&late_closed, __ATOMIC_RELAXED) == 2);
    CHECK(__atomic_load_n(&late_other, __ATOMIC_RELAXED) == 0);
    printf("test_threads: %d+%d echo rounds, %d AT rounds, %d log lines, %d events, %d calls before the close\n",
           ssl.done, tcp.done, __atomic_load_n(&at_calls, __ATOMIC_RELAXED), logs, evs,
           __atomic_load_n(&late_ok, __ATOMIC_RELAXED));
    return TEST_SUMMARY("test_threads");
}
