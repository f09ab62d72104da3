/*
 * The application note's flows against qssl-sim and a real TLS echo server:
 *   3.1 certificates in RAM, server + client authentication; 3.2 the same in NVRAM;
 *   3.3 a plain TCP socket beside an SSL socket; a 256 KiB byte-exact transfer with a reader thread;
 *   the event callback calling back into the library from the library's thread; the AT trace with
 *   certificate bytes redacted; receive timeouts; a peer that closes; callbacks closing their own handle.
 *
 * usage: test_flows DEVICE TLS_PORT MTLS_PORT TCP_PORT BYE_PORT CERT_DIR
 *   TLS_PORT: TLS echo server; MTLS_PORT: the same demanding a client certificate; TCP_PORT: plain TCP
 *   echo; BYE_PORT: TLS server that sends "bye" and closes. CERT_DIR holds ca.pem, client.pem, client.key
 *   (scripts/make-test-certs.sh).
 */
#include "testutil.h"
#include <qssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

static const char *device, *certdir;
static int tls_port, mtls_port, tcp_port, bye_port;

static unsigned char *cert_file(const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", certdir, name);
    return tu_read_file(path, len);
}

static qssl_modem *open_modem(void) {
    qssl_modem *m = (qssl_modem *)1;  /* must be reset to NULL by a failing open */
    int rc = qssl_modem_open(device, NULL, &m);
    if (rc != QSSL_OK) {
        fprintf(stderr, "open %s: %s\n", device, qssl_strerror(rc));
        CHECK(m == NULL);
        exit(2);
    }
    return m;
}

static void upload(qssl_modem *m, const char *name, const char *file) {
    size_t len;
    unsigned char *data = cert_file(file, &len);
    CHECK_RC(qssl_cert_write(m, name, data, len), QSSL_OK);
    free(data);
    CHECK_RC(qssl_cert_check(m, name), 1);
}

/* Reads exactly n bytes (or fails the test). */
static int recv_exact(qssl_modem *m, int s, int tcp, unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        int r = tcp ? qssl_tcp_recv(m, s, buf + got, n - got, 10000) : qssl_recv(m, s, buf + got, n - got, 10000);
        if (r <= 0) {
            fprintf(stderr, "recv after %zu/%zu bytes: %d %s (%s)\n", got, n, r, qssl_strerror(r), qssl_errmsg(m));
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static void configure_ctx(qssl_modem *m, int ctx, int seclevel, const char *ca, const char *cc, const char *ck) {
    qssl_ctx_config cfg;
    CHECK_RC(qssl_ctx_config_init(&cfg), QSSL_OK);
    CHECK(cfg.size == sizeof cfg);
    cfg.version = QSSL_TLS1_1;
    cfg.seclevel = seclevel;
    cfg.n_ciphersuites = 1;
    cfg.ciphersuites[0] = QSSL_CIPHER_ALL;
    if (ca) snprintf(cfg.cacert, sizeof cfg.cacert, "%s", ca);
    if (cc) snprintf(cfg.clientcert, sizeof cfg.clientcert, "%s", cc);
    if (ck) snprintf(cfg.clientkey, sizeof cfg.clientkey, "%s", ck);
    CHECK_RC(qssl_ctx_configure(m, ctx, &cfg), QSSL_OK);

    qssl_ctx_config back;
    memset(&back, 0x55, sizeof back);
    back.size = sizeof back;
    CHECK_RC(qssl_ctx_query(m, ctx, &back), QSSL_OK);
    CHECK(back.version == QSSL_TLS1_1);
    CHECK(back.seclevel == seclevel);
    CHECK(back.n_ciphersuites == 1 && back.ciphersuites[0] == QSSL_CIPHER_ALL);
    /* Empty names are not sent: the context keeps what it had. */
    if (ca) CHECK(strcmp(back.cacert, ca) == 0);
    if (cc) CHECK(strcmp(back.clientcert, cc) == 0);
    if (ck) CHECK(strcmp(back.clientkey, ck) == 0);
}

/* Note 3.1 (storage "RAM") and 3.2 (storage "NVRAM"). */
static void flow_ssl_with_certs(int nvram) {
    qssl_modem *m = open_modem();
    const char *ca = nvram ? "NVRAM:CA0" : "RAM:ca_cert.pem";
    const char *cc = nvram ? "NVRAM:CC0" : "RAM:client_cert.pem";
    const char *ck = nvram ? "NVRAM:CK0" : "RAM:client_key.pem";
    upload(m, ca, "ca.pem");
    upload(m, cc, "client.pem");
    upload(m, ck, "client.key");

    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    char ip[64];
    int n = qssl_pdp_local_ip(m, ip, sizeof ip);
    CHECK(n > 0 && n < (int)sizeof ip && strchr(ip, '.') != NULL);
    char tiny[4];
    CHECK(qssl_pdp_local_ip(m, tiny, sizeof tiny) == n);  /* snprintf rule: full length, truncated text */
    CHECK(tiny[3] == '\0');

    configure_ctx(m, 0, QSSL_SECLEVEL_SERVER_CLIENT, ca, cc, ck);

    int s = qssl_open(m, 0, "127.0.0.1", mtls_port, 30);
    CHECK(s >= 0 && s < QSSL_MAX_SOCKETS);
    if (s >= 0) {
        qssl_state_info st;
        memset(&st, 0, sizeof st);
        st.size = sizeof st;
        CHECK_RC(qssl_state(m, &st), QSSL_OK);
        int found = 0;
        for (int i = 0; i < st.n_sockets && i < QSSL_MAX_SOCKETS; i++)
            if (st.sockets[i].id == s && st.sockets[i].ssl == 1 && st.sockets[i].status == QSSL_SOCK_CONNECTED &&
                st.sockets[i].port == mtls_port)
                found = 1;
        CHECK(found);

        CHECK_RC(qssl_send(m, s, "hello module", 12), 12);
        unsigned char buf[64];
        CHECK(recv_exact(m, s, 0, buf, 12) == 0);
        CHECK(memcmp(buf, "hello module", 12) == 0);
        /* Nothing more: timeout 0 gives EAGAIN, a short timeout ETIMEDOUT. */
        CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 0), QSSL_EAGAIN);
        CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 200), QSSL_ETIMEDOUT);
        CHECK_RC(qssl_close(m, s), QSSL_OK);
        /* Closed socket: every call says so. */
        CHECK_RC(qssl_send(m, s, "x", 1), QSSL_ECLOSED);
        CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 0), QSSL_ECLOSED);
        CHECK_RC(qssl_close(m, s), QSSL_ECLOSED);
    }

    if (!nvram) {
        CHECK_RC(qssl_cert_delete(m, ca), QSSL_OK);
        CHECK_RC(qssl_cert_delete(m, cc), QSSL_OK);
        CHECK_RC(qssl_cert_delete(m, ck), QSSL_OK);
        CHECK(qssl_cert_check(m, ca) == QSSL_EMODEM);
        CHECK_RC(qssl_cert_delete(m, ca), QSSL_EMODEM);
        CHECK(strlen(qssl_errmsg(m)) > 0);
    }
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
}

/* Note 3.3: plain TCP beside SSL (no authentication). */
static void flow_tcp_beside_ssl(void) {
    qssl_modem *m = open_modem();
    CHECK_RC(qssl_pdp_activate(m, "CMNET", "", ""), QSSL_OK);
    int t = qssl_tcp_open(m, "127.0.0.1", tcp_port, 30);
    CHECK(t >= 0 && t < QSSL_MAX_SOCKETS);
    configure_ctx(m, 0, QSSL_SECLEVEL_NONE, NULL, NULL, NULL);
    int s = qssl_open(m, 0, "127.0.0.1", tls_port, 30);
    CHECK(s >= 0 && s < QSSL_MAX_SOCKETS && s != t);
    unsigned char buf[32];
    if (t >= 0) {
        CHECK_RC(qssl_tcp_send(m, t, "0123456789", 10), 10);
        CHECK(recv_exact(m, t, 1, buf, 10) == 0 && memcmp(buf, "0123456789", 10) == 0);
        /* The id of a TCP socket is not an SSL socket: the header promises QSSL_ECLOSED, and the socket lives on. */
        CHECK_RC(qssl_send(m, t, "x", 1), QSSL_ECLOSED);
        CHECK_RC(qssl_tcp_send(m, t, "again", 5), 5);
        CHECK(recv_exact(m, t, 1, buf, 5) == 0 && memcmp(buf, "again", 5) == 0);
    }
    if (s >= 0) {
        CHECK_RC(qssl_send(m, s, "1234567", 7), 7);
        CHECK(recv_exact(m, s, 0, buf, 7) == 0 && memcmp(buf, "1234567", 7) == 0);
        CHECK_RC(qssl_close(m, s), QSSL_OK);
    }
    if (t >= 0) CHECK_RC(qssl_tcp_close(m, t), QSSL_OK);
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
}

/* 256 KiB through the SSL echo server, read by a second thread while the main thread sends. */
#define BIG (256 * 1024)
struct reader { qssl_modem *m; int s; unsigned char *buf; int rc; };

static void *reader_main(void *arg) {
    struct reader *r = arg;
    r->rc = recv_exact(r->m, r->s, 0, r->buf, BIG);
    return NULL;
}

static void flow_big_transfer(void) {
    qssl_modem *m = open_modem();
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    configure_ctx(m, 1, QSSL_SECLEVEL_NONE, NULL, NULL, NULL);
    int s = qssl_open(m, 1, "127.0.0.1", tls_port, 30);
    CHECK(s >= 0);
    if (s >= 0) {
        unsigned char *out = malloc(BIG), *in = calloc(1, BIG);
        REQUIRE(out && in);
        uint32_t x = 12345;
        for (size_t i = 0; i < BIG; i++) { x = x * 1103515245u + 12345u; out[i] = (unsigned char)(x >> 16); }
        struct reader r = {m, s, in, -1};
        pthread_t th;
        REQUIRE(pthread_create(&th, NULL, reader_main, &r) == 0);
        CHECK_RC(qssl_send(m, s, out, BIG), BIG);
        pthread_join(th, NULL);
        CHECK(r.rc == 0);
        CHECK(memcmp(out, in, BIG) == 0);
        CHECK_RC(qssl_close(m, s), QSSL_OK);
        free(out);
        free(in);
    }
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
}

/* Callbacks: run on the library's thread, may call back in. */
struct cbstate {
    pthread_mutex_t mu;
    pthread_t main_thread;
    int on_main_thread;
    int events;
    unsigned char got[64];
    int ngot;
    int log_lines, saw_secwrite, saw_redacted, saw_secret;
    const char *secret;
};

static void on_event(qssl_modem *m, const qssl_event *ev, void *user) {
    struct cbstate *st = user;
    pthread_mutex_lock(&st->mu);
    st->events++;
    if (pthread_equal(pthread_self(), st->main_thread)) st->on_main_thread = 1;
    pthread_mutex_unlock(&st->mu);
    if (ev->type == QSSL_EVENT_DATA) {
        unsigned char buf[64];
        int n;
        /* Calling back into the library from its own thread must not deadlock. */
        while ((n = qssl_recv(m, ev->socket, buf, sizeof buf, 0)) > 0) {
            pthread_mutex_lock(&st->mu);
            if (st->ngot + n <= (int)sizeof st->got) { memcpy(st->got + st->ngot, buf, (size_t)n); st->ngot += n; }
            pthread_mutex_unlock(&st->mu);
        }
        char line[128];
        (void)qssl_at(m, "AT", line, sizeof line, 2000);
    }
}

static void on_log(qssl_modem *m, int direction, const char *text, void *user) {
    struct cbstate *st = user;
    (void)m;
    pthread_mutex_lock(&st->mu);
    st->log_lines++;
    if (pthread_equal(pthread_self(), st->main_thread)) st->on_main_thread = 1;
    if (direction == QSSL_LOG_TO_MODULE && strstr(text, "AT+QSECWRITE")) st->saw_secwrite = 1;
    if (strstr(text, "redacted")) st->saw_redacted = 1;
    if (st->secret && strstr(text, st->secret)) st->saw_secret = 1;
    pthread_mutex_unlock(&st->mu);
}

static void flow_callbacks(void) {
    struct cbstate st;
    memset(&st, 0, sizeof st);
    pthread_mutex_init(&st.mu, NULL);
    st.main_thread = pthread_self();

    qssl_modem_options opts;
    CHECK_RC(qssl_modem_options_init(&opts), QSSL_OK);
    opts.log = on_log;
    opts.log_user = &st;
    qssl_modem *m = NULL;
    REQUIRE(qssl_modem_open(device, &opts, &m) == QSSL_OK);

    /* A line from the middle of the key: it must never reach the trace. */
    size_t len;
    unsigned char *key = cert_file("client.key", &len);
    char secret[33] = {0};
    const char *nl = memchr(key, '\n', len);
    REQUIRE(nl != NULL && (size_t)(nl - (const char *)key) + 33 < len);
    memcpy(secret, nl + 1, 32);
    st.secret = secret;
    CHECK_RC(qssl_cert_write(m, "RAM:key.pem", key, len), QSSL_OK);
    free(key);

    CHECK_RC(qssl_set_event_callback(m, on_event, &st), QSSL_OK);
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    configure_ctx(m, 2, QSSL_SECLEVEL_NONE, NULL, NULL, NULL);
    int s = qssl_open(m, 2, "127.0.0.1", tls_port, 30);
    CHECK(s >= 0);
    if (s >= 0) {
        CHECK_RC(qssl_send(m, s, "callback!", 9), 9);
        for (int i = 0; i < 200; i++) {  /* up to 10 s */
            pthread_mutex_lock(&st.mu);
            int done = st.ngot >= 9;
            pthread_mutex_unlock(&st.mu);
            if (done) break;
            usleep(50000);
        }
        pthread_mutex_lock(&st.mu);
        CHECK(st.ngot == 9 && memcmp(st.got, "callback!", 9) == 0);
        pthread_mutex_unlock(&st.mu);
        CHECK_RC(qssl_close(m, s), QSSL_OK);
    }
    CHECK_RC(qssl_set_event_callback(m, NULL, NULL), QSSL_OK);
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);  /* joins the dispatcher: no callback runs after this */
    pthread_mutex_lock(&st.mu);
    CHECK(st.events >= 1);
    CHECK(st.on_main_thread == 0);
    CHECK(st.log_lines > 5);
    CHECK(st.saw_secwrite);
    CHECK(st.saw_redacted);
    CHECK(st.saw_secret == 0);
    pthread_mutex_unlock(&st.mu);
    pthread_mutex_destroy(&st.mu);
}

/* The peer sends "bye" and closes: the bytes stay readable, then end of stream. */
static void flow_peer_close(void) {
    qssl_modem *m = open_modem();
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    configure_ctx(m, 3, QSSL_SECLEVEL_NONE, NULL, NULL, NULL);
    int s = qssl_open(m, 3, "127.0.0.1", bye_port, 30);
    CHECK(s >= 0);
    if (s >= 0) {
        unsigned char buf[16];
        CHECK(recv_exact(m, s, 0, buf, 3) == 0 && memcmp(buf, "bye", 3) == 0);
        CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 10000), 0);
        CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 10000), 0);  /* stays at end of stream */
        /* The peer's close leaves the id allocated until qssl_close releases it (qssl.h, qssl_close). */
        CHECK_RC(qssl_close(m, s), QSSL_OK);
        CHECK_RC(qssl_recv(m, s, buf, sizeof buf, 0), QSSL_ECLOSED);
        CHECK_RC(qssl_close(m, s), QSSL_ECLOSED);
    }
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
}

/* The event fd polls readable when an event is queued, and qssl_next_event takes it. */
static void flow_event_fd(void) {
    qssl_modem *m = open_modem();
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    configure_ctx(m, 0, QSSL_SECLEVEL_NONE, NULL, NULL, NULL);
    int fd = qssl_event_fd(m);
    CHECK(fd >= 0);
    qssl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    while (qssl_next_event(m, &ev, 0) == QSSL_OK) {}  /* drop PDP_ACTIVATED and the like */
    int s = qssl_open(m, 0, "127.0.0.1", tls_port, 30);
    CHECK(s >= 0);
    if (s >= 0) {
        CHECK_RC(qssl_send(m, s, "ping", 4), 4);
        struct pollfd p = {fd, POLLIN, 0};
        CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN));
        int got_data = 0;
        for (int i = 0; i < 10 && !got_data; i++) {
            int rc = qssl_next_event(m, &ev, 2000);
            if (rc != QSSL_OK) break;
            if (ev.type == QSSL_EVENT_DATA && ev.socket == s) got_data = 1;
        }
        CHECK(got_data);
        CHECK(ev.kind == QSSL_SOCKET_SSL);
        CHECK(ev.text[sizeof ev.text - 1] == '\0');
        unsigned char buf[8];
        CHECK(recv_exact(m, s, 0, buf, 4) == 0 && memcmp(buf, "ping", 4) == 0);
        CHECK_RC(qssl_close(m, s), QSSL_OK);
    }
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
}

/* One pollable fd per socket: an SSL and a TCP socket of one modem, each readable only when its own
 * bytes are waiting, and not after they were read. Also the send with a deadline. */
static int readable(int fd, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void flow_socket_fds(void) {
    qssl_modem *m = open_modem();
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    configure_ctx(m, 0, QSSL_SECLEVEL_NONE, NULL, NULL, NULL);
    int s = qssl_open(m, 0, "127.0.0.1", tls_port, 30);
    int t = qssl_tcp_open(m, "127.0.0.1", tcp_port, 30);
    REQUIRE(s >= 0 && t >= 0);
    int fs = qssl_socket_fd(m, s), ft = qssl_socket_fd(m, t);
    CHECK(fs >= 0 && ft >= 0 && fs != ft && fs != qssl_event_fd(m));
    CHECK_RC(qssl_socket_fd(m, -1), QSSL_EINVAL);
    CHECK_RC(qssl_socket_fd(m, 6), QSSL_EINVAL);
    CHECK_RC(qssl_socket_fd(NULL, 0), QSSL_EINVAL);
    CHECK(!readable(fs, 0) && !readable(ft, 0));
    unsigned char buf[16];

    CHECK_RC(qssl_tcp_send_timeout(m, t, "tcp!", 4, 5000), 4);
    CHECK(readable(ft, 10000));
    CHECK(!readable(fs, 0));
    CHECK(recv_exact(m, t, 1, buf, 4) == 0 && memcmp(buf, "tcp!", 4) == 0);
    CHECK(!readable(ft, 0));

    CHECK_RC(qssl_send_timeout(m, s, "ssl!", 4, -1), 4);
    CHECK(readable(fs, 10000));
    CHECK(!readable(ft, 0));
    CHECK(recv_exact(m, s, 0, buf, 4) == 0 && memcmp(buf, "ssl!", 4) == 0);
    CHECK(!readable(fs, 0));
    CHECK_RC(qssl_send_timeout(m, t, "x", 1, 1000), QSSL_ECLOSED);   /* the TCP id is no SSL socket */
    CHECK_RC(qssl_send_timeout(m, s, NULL, 1, 1000), QSSL_EINVAL);

    /* The end of a stream makes the fd readable too: recv would return at once. */
    CHECK_RC(qssl_close(m, s), QSSL_OK);
    CHECK_RC(qssl_tcp_close(m, t), QSSL_OK);
    CHECK(!readable(fs, 0) && !readable(ft, 0));
    int b = qssl_open(m, 0, "127.0.0.1", bye_port, 30);
    REQUIRE(b >= 0);
    int fb = qssl_socket_fd(m, b);
    CHECK(readable(fb, 10000));
    CHECK(recv_exact(m, b, 0, buf, 3) == 0 && memcmp(buf, "bye", 3) == 0);
    CHECK(readable(fb, 10000));                 /* end of stream */
    CHECK_RC(qssl_recv(m, b, buf, sizeof buf, 0), 0);
    CHECK_RC(qssl_close(m, b), QSSL_OK);
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    CHECK_RC(qssl_socket_fd(m, 0), QSSL_ECLOSED);
}

/* A callback may close its own handle: the closing thread exits by itself after the callback returns. */
static volatile int closer_rc = 1, closer_done = 0;

static void close_on_event(qssl_modem *m, const qssl_event *ev, void *user) {
    (void)ev; (void)user;
    if (__atomic_load_n(&closer_done, __ATOMIC_ACQUIRE)) return;
    closer_rc = qssl_modem_close(m);
    __atomic_store_n(&closer_done, 1, __ATOMIC_RELEASE);
}

static void close_on_log(qssl_modem *m, int direction, const char *text, void *user) {
    (void)direction; (void)text; (void)user;
    if (__atomic_load_n(&closer_done, __ATOMIC_ACQUIRE)) return;
    closer_rc = qssl_modem_close(m);
    __atomic_store_n(&closer_done, 1, __ATOMIC_RELEASE);
}

static void wait_closer(void) {
    for (int i = 0; i < 200 && !__atomic_load_n(&closer_done, __ATOMIC_ACQUIRE); i++) usleep(50000);
}

static void flow_close_from_callbacks(void) {
    char buf[32];
    qssl_modem *m = open_modem();
    closer_done = 0;
    closer_rc = 1;
    CHECK_RC(qssl_set_event_callback(m, close_on_event, NULL), QSSL_OK);
    int rc = qssl_pdp_activate(m, "CMNET", NULL, NULL);  /* its PDP_ACTIVATED event closes the handle */
    CHECK(rc == QSSL_OK || rc == QSSL_ECLOSED);
    wait_closer();
    CHECK(closer_done == 1);
    CHECK_RC(closer_rc, QSSL_OK);
    CHECK_RC(qssl_at(m, "AT", buf, sizeof buf, 1000), QSSL_ECLOSED);
    CHECK_RC(qssl_modem_close(m), QSSL_ECLOSED);

    m = open_modem();
    closer_done = 0;
    closer_rc = 1;
    CHECK_RC(qssl_set_log_callback(m, close_on_log, NULL), QSSL_OK);
    rc = qssl_at(m, "AT", buf, sizeof buf, 2000);  /* its trace line closes the handle */
    CHECK(rc >= 0 || rc == QSSL_ECLOSED);
    wait_closer();
    CHECK(closer_done == 1);
    CHECK_RC(closer_rc, QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_ECLOSED);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s DEVICE TLS_PORT MTLS_PORT TCP_PORT BYE_PORT CERT_DIR\n", argv[0]);
        return 2;
    }
    device = argv[1];
    tls_port = atoi(argv[2]);
    mtls_port = atoi(argv[3]);
    tcp_port = atoi(argv[4]);
    bye_port = atoi(argv[5]);
    certdir = argv[6];
    flow_ssl_with_certs(0);
    flow_ssl_with_certs(1);
    flow_tcp_beside_ssl();
    flow_big_transfer();
    flow_peer_close();
    flow_callbacks();
    flow_event_fd();
    flow_socket_fds();
    flow_close_from_callbacks();
    return TEST_SUMMARY("test_flows");
}
