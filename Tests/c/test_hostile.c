/*
 * Hostile calls get a code, never a crash: NULL handles and pointers, pointers that were never
 * handles, out-of-range ids and timeouts, negative (cast) and huge lengths and capacities, bad
 * strings, undersized and oversized (newer header) structs, a socket of the other kind, a socket the
 * peer closed, closed sockets, use after close, a second close, concurrent calls racing with close.
 *
 * usage: test_hostile DEVICE TLS_PORT TCP_PORT BYE_PORT
 *   TLS_PORT: TLS echo server; TCP_PORT: plain TCP echo; BYE_PORT: TLS server that sends "bye" and closes.
 */
#include "testutil.h"
#include <qssl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

static const char *device;
static int tls_port, tcp_port, bye_port;

#define STR_(x) #x
#define STR(x) STR_(x)

/* Lengths and capacities above INT32_MAX, negative ints cast to size_t among them: refused before a byte
 * is read or written (a small buffer passed with one of them would otherwise be overrun). */
/* All above INT_MAX also where size_t has 32 bits (SIZE_MAX / 2 alone would be INT_MAX there, a valid size). */
static const size_t huge[] = {(size_t)-1, (size_t)-5, (size_t)INT_MAX + 1, SIZE_MAX / 2 + 1};
#define N_HUGE (sizeof huge / sizeof huge[0])

/* Every function of the header with handle `m` and otherwise valid-looking arguments. */
static void all_calls_give(qssl_modem *m, int want) {
    char buf[64];
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    qssl_state_info st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    qssl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    CHECK_RC(qssl_modem_close(m), want);
    CHECK_RC(qssl_at(m, "AT", buf, sizeof buf, 1000), want);
    CHECK_RC(qssl_errmsg_copy(m, buf, sizeof buf), want);
    CHECK_RC(qssl_cert_write(m, "RAM:a.pem", "abc", 3), want);
    CHECK_RC(qssl_cert_check(m, "RAM:a.pem"), want);
    CHECK_RC(qssl_cert_delete(m, "RAM:a.pem"), want);
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), want);
    CHECK_RC(qssl_pdp_local_ip(m, buf, sizeof buf), want);
    CHECK_RC(qssl_pdp_deactivate(m), want);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), want);
    CHECK_RC(qssl_ctx_query(m, 0, &cfg), want);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 443, 30), want);
    CHECK_RC(qssl_send(m, 0, "x", 1), want);
    CHECK_RC(qssl_recv(m, 0, buf, sizeof buf, 0), want);
    CHECK_RC(qssl_close(m, 0), want);
    CHECK_RC(qssl_open_transparent(m, 0, "127.0.0.1", 443, 30), want);
    CHECK_RC(qssl_transparent_suspend(m, 0), want);
    CHECK_RC(qssl_transparent_resume(m, 0, 1000), want);
    CHECK_RC(qssl_state(m, &st), want);
    CHECK_RC(qssl_tcp_open(m, "127.0.0.1", 80, 30), want);
    CHECK_RC(qssl_tcp_send(m, 0, "x", 1), want);
    CHECK_RC(qssl_tcp_recv(m, 0, buf, sizeof buf, 0), want);
    CHECK_RC(qssl_tcp_close(m, 0), want);
    CHECK_RC(qssl_event_fd(m), want);
    CHECK_RC(qssl_socket_fd(m, 0), want);
    CHECK_RC(qssl_send_timeout(m, 0, "x", 1, 1000), want);
    CHECK_RC(qssl_tcp_send_timeout(m, 0, "x", 1, 1000), want);
    CHECK_RC(qssl_next_event(m, &ev, 0), want);
    CHECK_RC(qssl_set_event_callback(m, NULL, NULL), want);
    CHECK_RC(qssl_set_log_callback(m, NULL, NULL), want);
    const char *e = qssl_errmsg(m);
    CHECK(e != NULL && strlen(e) > 0);
}

static void test_static(void) {
    for (int c = 1; c >= -30; c--) CHECK(qssl_strerror(c) != NULL && strlen(qssl_strerror(c)) > 0);
    CHECK(qssl_strerror(INT_MIN) != NULL);
    CHECK(qssl_strerror(INT_MAX) != NULL);
    CHECK(strcmp(qssl_strerror(QSSL_OK), qssl_strerror(QSSL_EINVAL)) != 0);
    /* The text the library reports is the header's, not a second copy that can drift. */
    CHECK(qssl_version() != NULL && strcmp(qssl_version(), STR(QSSL_VERSION_MAJOR) "." STR(QSSL_VERSION_MINOR)) == 0);
    CHECK_RC((qssl_modem_options_init)(NULL), QSSL_EINVAL);  /* the function, not the macro */
    CHECK_RC(qssl_ctx_config_init(NULL), QSSL_EINVAL);
}

static void test_open_args(void) {
    qssl_modem *m = (qssl_modem *)&m;
    CHECK_RC(qssl_modem_open(NULL, NULL, &m), QSSL_EINVAL);
    CHECK(m == NULL);
    CHECK_RC(qssl_modem_open(device, NULL, NULL), QSSL_EINVAL);
    m = (qssl_modem *)&m;
    CHECK(qssl_modem_open("/nonexistent/tty", NULL, &m) < 0);
    CHECK(m == NULL);
    CHECK(qssl_modem_open("", NULL, &m) < 0);
    qssl_modem_options o;
    qssl_modem_options_init(&o);
    o.size = 0;
    CHECK_RC(qssl_modem_open(device, &o, &m), QSSL_EINVAL);
    qssl_modem_options_init(&o);
    o.baud = 12345;
    CHECK_RC(qssl_modem_open(device, &o, &m), QSSL_EINVAL);
    o.baud = -1;
    CHECK_RC(qssl_modem_open(device, &o, &m), QSSL_EINVAL);
    qssl_modem_options_init(&o);
    o.open_timeout_ms = -5;
    CHECK_RC(qssl_modem_open(device, &o, &m), QSSL_EINVAL);
    CHECK(m == NULL);
}

static void test_bad_handles(void) {
    all_calls_give(NULL, QSSL_EINVAL);
    /* Pointers that were never handles are recognised without being dereferenced. */
    all_calls_give((qssl_modem *)(uintptr_t)0x1234, QSSL_EINVAL);
    static char junk[64];
    all_calls_give((qssl_modem *)junk, QSSL_EINVAL);
}

static void test_bad_arguments(qssl_modem *m) {
    char buf[64];
    /* qssl_at */
    CHECK_RC(qssl_at(m, NULL, buf, sizeof buf, 1000), QSSL_EINVAL);
    CHECK_RC(qssl_at(m, "AT\r\nAT+CFUN=0", buf, sizeof buf, 1000), QSSL_EINVAL);
    CHECK_RC(qssl_at(m, "", buf, sizeof buf, 1000), QSSL_EINVAL);
    CHECK_RC(qssl_at(m, "AT", NULL, 10, 1000), QSSL_EINVAL);
    CHECK(qssl_at(m, "AT", NULL, 0, 1000) >= 0);
    CHECK(qssl_at(m, "AT", buf, (size_t)-1, 1000) == QSSL_EINVAL);
    CHECK(qssl_at(m, "AT+NOSUCHCOMMAND", buf, sizeof buf, 1000) == QSSL_EMODEM);
    CHECK(strstr(qssl_errmsg(m), "NOSUCHCOMMAND") != NULL);
    char copy[256];
    int n = qssl_errmsg_copy(m, copy, sizeof copy);
    CHECK(n > 0 && strcmp(copy, qssl_errmsg(m)) == 0);
    CHECK_RC(qssl_errmsg_copy(m, NULL, 5), QSSL_EINVAL);
    CHECK(qssl_errmsg_copy(m, NULL, 0) == n);
    for (size_t i = 0; i < N_HUGE; i++) {
        copy[0] = 'Z';
        CHECK_RC(qssl_errmsg_copy(m, copy, huge[i]), QSSL_EINVAL);
        CHECK(copy[0] == 'Z');  /* nothing written */
    }

    /* certificates */
    CHECK_RC(qssl_cert_write(m, NULL, "abc", 3), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:a.pem", NULL, 3), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:a.pem", "abc", 0), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:a.pem", "abc", (size_t)-1), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:a.pem", "abc", (size_t)INT_MAX + 1), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:a.pem", "abc", 32769), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "NVRAM:CA0", "abc", 2026), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "NVRAM:XX9", "abc", 3), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "DISK:a.pem", "abc", 3), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:a\",\"b", "abc", 3), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:a\r\nAT", "abc", 3), QSSL_EINVAL);
    CHECK_RC(qssl_cert_check(m, NULL), QSSL_EINVAL);
    CHECK_RC(qssl_cert_check(m, "nope"), QSSL_EINVAL);
    CHECK_RC(qssl_cert_delete(m, NULL), QSSL_EINVAL);
    CHECK_RC(qssl_cert_delete(m, "RAM:"), QSSL_EINVAL);

    /* packet data */
    CHECK_RC(qssl_pdp_activate(m, NULL, NULL, NULL), QSSL_EINVAL);
    CHECK_RC(qssl_pdp_activate(m, "CM\"NET", NULL, NULL), QSSL_EINVAL);
    CHECK_RC(qssl_pdp_activate(m, "CMNET", "u\r", NULL), QSSL_EINVAL);
    CHECK_RC(qssl_pdp_local_ip(m, NULL, 16), QSSL_EINVAL);
    for (size_t i = 0; i < N_HUGE; i++) CHECK_RC(qssl_pdp_local_ip(m, buf, huge[i]), QSSL_EINVAL);

    /* contexts */
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    CHECK_RC(qssl_ctx_configure(m, -1, &cfg), QSSL_EINVAL);
    CHECK_RC(qssl_ctx_configure(m, QSSL_MAX_CONTEXTS, &cfg), QSSL_EINVAL);
    CHECK_RC(qssl_ctx_configure(m, INT_MIN, &cfg), QSSL_EINVAL);
    CHECK_RC(qssl_ctx_configure(m, 0, NULL), QSSL_EINVAL);
    cfg.size = 3;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.version = 99;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.seclevel = -1;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.n_ciphersuites = 0;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    cfg.n_ciphersuites = 7;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    cfg.n_ciphersuites = UINT32_MAX;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.ciphersuites[0] = 0x1234;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.seclevel = QSSL_SECLEVEL_SERVER;  /* needs a CA name */
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    memset(cfg.cacert, 'A', sizeof cfg.cacert);  /* no NUL inside the field */
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    CHECK_RC(qssl_ctx_query(m, 6, &cfg), QSSL_EINVAL);
    CHECK_RC(qssl_ctx_query(m, 0, NULL), QSSL_EINVAL);
    cfg.size = 0;
    CHECK_RC(qssl_ctx_query(m, 0, &cfg), QSSL_EINVAL);

    /* sockets: bad ids, ports, timeouts, buffers, lengths */
    CHECK_RC(qssl_open(m, -1, "127.0.0.1", 443, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 6, "127.0.0.1", 443, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, NULL, 443, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "", 443, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "a\"b", 443, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 0, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 65536, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", -443, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 443, 5), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 443, 301), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 443, -1), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 443, 9), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 443, INT_MAX), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "127.0.0.1", 443, INT_MIN), QSSL_EINVAL);
    int bad_tcp_timeouts[] = {-1, 301, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad_tcp_timeouts / sizeof bad_tcp_timeouts[0]; i++)
        CHECK_RC(qssl_tcp_open(m, "127.0.0.1", tcp_port, bad_tcp_timeouts[i]), QSSL_EINVAL);
    int ids[] = {-1, QSSL_MAX_SOCKETS, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        CHECK_RC(qssl_send(m, ids[i], "x", 1), QSSL_EINVAL);
        CHECK_RC(qssl_recv(m, ids[i], buf, sizeof buf, 0), QSSL_EINVAL);
        CHECK_RC(qssl_close(m, ids[i]), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_send(m, ids[i], "x", 1), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_recv(m, ids[i], buf, sizeof buf, 0), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_close(m, ids[i]), QSSL_EINVAL);
    }
    /* in range but not open */
    CHECK_RC(qssl_send(m, 3, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_recv(m, 3, buf, sizeof buf, 0), QSSL_ECLOSED);
    CHECK_RC(qssl_recv(m, 3, buf, sizeof buf, -1), QSSL_ECLOSED);  /* must not block */
    CHECK_RC(qssl_close(m, 3), QSSL_ECLOSED);
    CHECK_RC(qssl_tcp_send(m, 3, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_tcp_recv(m, 3, buf, sizeof buf, 0), QSSL_ECLOSED);
    CHECK_RC(qssl_tcp_close(m, 3), QSSL_ECLOSED);
    /* pointers and lengths are checked before the id's state */
    CHECK_RC(qssl_send(m, 0, NULL, 5), QSSL_EINVAL);
    CHECK_RC(qssl_send(m, 0, "x", (size_t)-1), QSSL_EINVAL);
    CHECK_RC(qssl_send(m, 0, "x", (size_t)INT_MAX + 1), QSSL_EINVAL);
    CHECK_RC(qssl_recv(m, 0, NULL, 5, 0), QSSL_EINVAL);
    CHECK_RC(qssl_recv(m, 0, buf, 0, 0), QSSL_EINVAL);
    CHECK_RC(qssl_tcp_send(m, 0, NULL, 5), QSSL_EINVAL);
    CHECK_RC(qssl_tcp_recv(m, 0, NULL, 5, 0), QSSL_EINVAL);
    CHECK_RC(qssl_tcp_recv(m, 0, buf, 0, 0), QSSL_EINVAL);
    for (size_t i = 0; i < N_HUGE; i++) {
        CHECK_RC(qssl_recv(m, 0, buf, huge[i], 0), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_recv(m, 0, buf, huge[i], 0), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_send(m, 0, "x", huge[i]), QSSL_EINVAL);
    }
    CHECK_RC(qssl_tcp_open(m, NULL, 80, 30), QSSL_EINVAL);
    CHECK_RC(qssl_tcp_open(m, "127.0.0.1", 0, 30), QSSL_EINVAL);
    CHECK_RC(qssl_tcp_open(m, "127.0.0.1", 70000, 30), QSSL_EINVAL);

    /* state / events */
    CHECK_RC(qssl_state(m, NULL), QSSL_EINVAL);
    qssl_state_info st;
    memset(&st, 0, sizeof st);
    CHECK_RC(qssl_state(m, &st), QSSL_EINVAL);  /* size 0 */
    st.size = sizeof st;
    CHECK_RC(qssl_state(m, &st), QSSL_OK);
    CHECK(st.n_sockets >= 0 && st.n_sockets <= QSSL_MAX_SOCKETS);
    CHECK(qssl_event_fd(m) >= 0);
    CHECK_RC(qssl_next_event(m, NULL, 0), QSSL_EINVAL);
    qssl_event ev;
    memset(&ev, 0, sizeof ev);
    CHECK_RC(qssl_next_event(m, &ev, 0), QSSL_EINVAL);  /* size 0 */
    ev.size = sizeof ev;
    int rc;
    while ((rc = qssl_next_event(m, &ev, 0)) == QSSL_OK) {}
    CHECK_RC(rc, QSSL_EAGAIN);
    CHECK_RC(qssl_next_event(m, &ev, 100), QSSL_ETIMEDOUT);
    CHECK_RC(qssl_set_event_callback(m, NULL, (void *)1), QSSL_OK);
    CHECK_RC(qssl_set_log_callback(m, NULL, NULL), QSSL_OK);

    /* still healthy */
    CHECK(qssl_at(m, "AT", buf, sizeof buf, 2000) >= 0);
}

/* Waits until `sock` has bytes queued (a DATA event), so a refused read is known to have had data to take. */
static int wait_data(qssl_modem *m, int sock) {
    qssl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    for (int i = 0; i < 50; i++) {
        int rc = qssl_next_event(m, &ev, 200);
        if (rc == QSSL_OK && ev.type == QSSL_EVENT_DATA && ev.socket == sock) return 1;
    }
    return 0;
}

/* Huge and negative (cast) capacities and lengths on open sockets with data waiting: refused, and the
 * data is still there for a sane call afterwards. A socket of the other kind is QSSL_ECLOSED and stays
 * usable. A socket the library closed stays closed; the handle survives. */
static void test_open_sockets(qssl_modem *m) {
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_OK);
    int s = qssl_open(m, 0, "127.0.0.1", tls_port, 30);
    int t = qssl_tcp_open(m, "127.0.0.1", tcp_port, 30);
    CHECK(s >= 0 && t >= 0 && s != t);
    if (s < 0 || t < 0) return;
    char buf[16];

    /* The other kind's functions on each id: closed, and nothing happens to the socket. */
    CHECK_RC(qssl_tcp_send(m, s, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_tcp_recv(m, s, buf, sizeof buf, 0), QSSL_ECLOSED);
    CHECK_RC(qssl_tcp_close(m, s), QSSL_ECLOSED);
    CHECK_RC(qssl_send(m, t, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_recv(m, t, buf, sizeof buf, 0), QSSL_ECLOSED);
    CHECK_RC(qssl_close(m, t), QSSL_ECLOSED);

    for (size_t i = 0; i < N_HUGE; i++) {
        CHECK_RC(qssl_send(m, s, "x", huge[i]), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_send(m, t, "x", huge[i]), QSSL_EINVAL);
    }
    CHECK_RC(qssl_send(m, s, "ping", 4), 4);
    CHECK(wait_data(m, s));
    CHECK_RC(qssl_tcp_send(m, t, "pong", 4), 4);
    CHECK(wait_data(m, t));
    for (size_t i = 0; i < N_HUGE; i++) {
        memset(buf, 'Z', sizeof buf);
        CHECK_RC(qssl_recv(m, s, buf, huge[i], 0), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_recv(m, t, buf, huge[i], 0), QSSL_EINVAL);
        CHECK(buf[0] == 'Z' && buf[sizeof buf - 1] == 'Z');
    }
    /* Nothing was consumed by the refused calls. */
    int got = 0;
    while (got < 4) {
        int n = qssl_recv(m, s, buf + got, sizeof buf - (size_t)got, 5000);
        if (n <= 0) break;
        got += n;
    }
    CHECK(got == 4 && memcmp(buf, "ping", 4) == 0);
    got = 0;
    while (got < 4) {
        int n = qssl_tcp_recv(m, t, buf + got, sizeof buf - (size_t)got, 5000);
        if (n <= 0) break;
        got += n;
    }
    CHECK(got == 4 && memcmp(buf, "pong", 4) == 0);

    CHECK_RC(qssl_close(m, s), QSSL_OK);
    CHECK_RC(qssl_tcp_close(m, t), QSSL_OK);
    CHECK_RC(qssl_send(m, s, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 1000), QSSL_ECLOSED);
    CHECK_RC(qssl_close(m, s), QSSL_ECLOSED);
    CHECK_RC(qssl_tcp_send(m, t, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_tcp_close(m, t), QSSL_ECLOSED);
}

/* The peer sent "bye" and closed: sending is refused with QSSL_ECLOSED (every time, without a crash or a
 * hang), reading stays at end of stream, and qssl_close releases the id with QSSL_OK. */
static void test_peer_closed(qssl_modem *m) {
    int s = qssl_open(m, 0, "127.0.0.1", bye_port, 30);
    CHECK(s >= 0);
    if (s < 0) return;
    char buf[16];
    int got = 0;
    for (;;) {
        int n = qssl_recv(m, s, buf + got, sizeof buf - (size_t)got, 10000);
        if (n <= 0) { CHECK_RC(n, 0); break; }
        got += n;
    }
    CHECK(got == 3 && memcmp(buf, "bye", 3) == 0);
    CHECK_RC(qssl_send(m, s, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_send(m, s, "hello", 5), QSSL_ECLOSED);
    static char big[4000];
    CHECK_RC(qssl_send(m, s, big, sizeof big), QSSL_ECLOSED);  /* more than one chunk */
    CHECK_RC(qssl_send(m, s, "x", (size_t)-1), QSSL_EINVAL);   /* arguments still checked first */
    CHECK_RC(qssl_send(m, s, "x", 0), 0);
    CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 0), 0);
    CHECK_RC(qssl_close(m, s), QSSL_OK);
    CHECK_RC(qssl_close(m, s), QSSL_ECLOSED);
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
}

/* A program built against a newer header passes structs with extra tail bytes and size = its sizeof.
 * The library reads and writes only the fields it knows, sets `size` of what it filled to its own
 * sizeof, and never touches the tail. */
static int tail_is(const unsigned char *tail, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++) if (tail[i] != v) return 0;
    return 1;
}

static void test_struct_growth(void) {
    struct { qssl_modem_options o; unsigned char tail[64]; } bo;
    memset(&bo, 0xAB, sizeof bo);  /* unknown newer fields hold garbage as far as this library knows */
    CHECK_RC(qssl_modem_options_init(&bo.o), QSSL_OK);
    CHECK(tail_is(bo.tail, sizeof bo.tail, 0xAB));
    bo.o.size = sizeof bo;
    qssl_modem *m = NULL;
    CHECK_RC(qssl_modem_open(device, &bo.o, &m), QSSL_OK);
    if (!m) return;
    CHECK(tail_is(bo.tail, sizeof bo.tail, 0xAB));
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);

    struct { qssl_ctx_config c; unsigned char tail[64]; } bc;
    memset(&bc, 0xAB, sizeof bc);
    CHECK_RC(qssl_ctx_config_init(&bc.c), QSSL_OK);
    bc.c.size = sizeof bc;
    bc.c.version = QSSL_TLS1_2;
    bc.c.n_ciphersuites = 2;
    bc.c.ciphersuites[0] = QSSL_CIPHER_RSA_AES_128_CBC_SHA;
    bc.c.ciphersuites[1] = QSSL_CIPHER_RSA_AES_256_CBC_SHA;
    CHECK_RC(qssl_ctx_configure(m, 4, &bc.c), QSSL_OK);
    CHECK(tail_is(bc.tail, sizeof bc.tail, 0xAB));

    memset(&bc, 0xCD, sizeof bc);
    bc.c.size = sizeof bc;
    CHECK_RC(qssl_ctx_query(m, 4, &bc.c), QSSL_OK);
    CHECK(bc.c.size == sizeof(qssl_ctx_config));
    CHECK(bc.c.version == QSSL_TLS1_2 && bc.c.seclevel == QSSL_SECLEVEL_NONE);
    CHECK(bc.c.n_ciphersuites == 2 && bc.c.ciphersuites[0] == QSSL_CIPHER_RSA_AES_128_CBC_SHA &&
          bc.c.ciphersuites[1] == QSSL_CIPHER_RSA_AES_256_CBC_SHA);
    CHECK(bc.c.cacert[0] == '\0');
    CHECK(tail_is(bc.tail, sizeof bc.tail, 0xCD));

    struct { qssl_state_info st; unsigned char tail[64]; } bs;
    memset(&bs, 0xCD, sizeof bs);
    bs.st.size = sizeof bs;
    CHECK_RC(qssl_state(m, &bs.st), QSSL_OK);
    CHECK(bs.st.size == sizeof(qssl_state_info));
    CHECK(bs.st.ip_state == QSSL_IP_STATUS || bs.st.ip_state == QSSL_IP_GPRSACT);
    CHECK(bs.st.n_sockets >= 0 && bs.st.n_sockets <= QSSL_MAX_SOCKETS);
    CHECK(strcmp(bs.st.ip_state_text, "IP STATUS") == 0 || strcmp(bs.st.ip_state_text, "IP GPRSACT") == 0);
    CHECK(tail_is(bs.tail, sizeof bs.tail, 0xCD));

    struct { qssl_event ev; unsigned char tail[64]; } be;
    memset(&be, 0xCD, sizeof be);
    be.ev.size = sizeof be;
    CHECK_RC(qssl_next_event(m, &be.ev, 2000), QSSL_OK);  /* PDP_ACTIVATED is queued */
    CHECK(be.ev.size == sizeof(qssl_event));
    CHECK(be.ev.type == QSSL_EVENT_PDP_ACTIVATED && be.ev.socket == -1);
    CHECK(memchr(be.ev.text, '\0', sizeof be.ev.text) != NULL);
    CHECK(tail_is(be.tail, sizeof be.tail, 0xCD));

    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
}

/* Threads hammering one handle while it is closed: every call returns OK or ECLOSED. */
struct racer { qssl_modem *m; int bad; int closed_seen; };

static void *racer_main(void *arg) {
    struct racer *r = arg;
    char buf[64];
    for (int i = 0; i < 100000; i++) {
        int rc = qssl_at(r->m, "AT", buf, sizeof buf, 2000);
        if (rc == QSSL_ECLOSED) { r->closed_seen = 1; break; }
        if (rc < 0) r->bad++;
        (void)qssl_errmsg(r->m);
        qssl_state_info st;
        st.size = sizeof st;
        rc = qssl_state(r->m, &st);
        if (rc == QSSL_ECLOSED) { r->closed_seen = 1; break; }
        if (rc < 0) r->bad++;
    }
    return NULL;
}

static void test_close_race(void) {
    qssl_modem *m = NULL;
    REQUIRE(qssl_modem_open(device, NULL, &m) == QSSL_OK);
    struct racer r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct racer){m, 0, 0};
        REQUIRE(pthread_create(&th[i], NULL, racer_main, &r[i]) == 0);
    }
    char buf[16];
    for (int i = 0; i < 20; i++) CHECK(qssl_at(m, "AT", buf, sizeof buf, 2000) >= 0);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(r[i].bad == 0);
        CHECK(r[i].closed_seen == 1);
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DEVICE TLS_PORT TCP_PORT BYE_PORT\n", argv[0]);
        return 2;
    }
    device = argv[1];
    tls_port = atoi(argv[2]);
    tcp_port = atoi(argv[3]);
    bye_port = atoi(argv[4]);
    test_static();
    test_open_args();
    test_bad_handles();
    test_struct_growth();

    qssl_modem *m = NULL;
    REQUIRE(qssl_modem_open(device, NULL, &m) == QSSL_OK);
    REQUIRE(m != NULL);
    /* The port is exclusive: a second open gets EBUSY and leaves the first working. */
    qssl_modem *m2 = (qssl_modem *)&m2;
    CHECK_RC(qssl_modem_open(device, NULL, &m2), QSSL_EBUSY);
    CHECK(m2 == NULL);
    test_bad_arguments(m);
    test_open_sockets(m);
    test_peer_closed(m);

    /* Use after close and a second close. */
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    all_calls_give(m, QSSL_ECLOSED);
    CHECK_RC(qssl_modem_close(m), QSSL_ECLOSED);

    test_close_race();
    return TEST_SUMMARY("test_hostile");
}
