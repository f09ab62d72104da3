/*
 * SSL transparent mode (qssl_open_transparent, qssl_transparent_suspend / _resume) against qssl-sim and a
 * real TLS echo server: 64 KiB byte-exact through the pipe, QSSL_EBUSY for commands while in data mode,
 * a command while suspended, more data after resuming, a peer that closes ending the stream, and the
 * exact codes for ids out of range, sockets that are not transparent and sockets that are not open.
 *
 * usage: test_transparent DEVICE TLS_PORT BYE_PORT
 *   TLS_PORT: TLS echo server; BYE_PORT: TLS server that sends "bye" and closes. The module should be
 *   started with a short "+++" guard (qssl-sim --escape-guard 0.3) to keep each escape near one second.
 */
#include "testutil.h"
#include <qssl.h>
#include <stdint.h>

static int tls_port, bye_port;

static int recv_exact(qssl_modem *m, int s, unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        int r = qssl_recv(m, s, buf + got, n - got, 10000);
        if (r <= 0) {
            fprintf(stderr, "recv after %zu/%zu bytes: %d %s (%s)\n", got, n, r, qssl_strerror(r), qssl_errmsg(m));
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Sends n pattern bytes (every value, CR LF and "+++" among them) and checks the echo byte for byte. */
static void echo_round(qssl_modem *m, int s, size_t n, unsigned seed) {
    unsigned char *out = malloc(n), *in = malloc(n);
    REQUIRE(out && in);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        out[i] = (unsigned char)(x >> 16);
    }
    if (n > 64) memcpy(out + 10, "\r\n+++\r\nOK\r\n+QSSLURC: \"closed\",0\r\n", 33);
    CHECK_RC(qssl_send(m, s, out, n), (int)n);
    CHECK(recv_exact(m, s, in, n) == 0);
    CHECK(memcmp(out, in, n) == 0);
    free(out);
    free(in);
}

static void configure(qssl_modem *m) {
    qssl_ctx_config cfg;
    CHECK_RC(qssl_ctx_config_init(&cfg), QSSL_OK);
    cfg.seclevel = QSSL_SECLEVEL_NONE;
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_OK);
}

/* Refusals that need no transparent socket in data mode: every one leaves the port usable. */
static void test_refusals(qssl_modem *m, int plain) {
    char buf[64];
    CHECK_RC(qssl_open_transparent(m, 6, "127.0.0.1", tls_port, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open_transparent(m, 0, NULL, tls_port, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open_transparent(m, 0, "", tls_port, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open_transparent(m, 0, "127.0.0.1", 0, 30), QSSL_EINVAL);
    CHECK_RC(qssl_open_transparent(m, 0, "127.0.0.1", tls_port, 5), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_suspend(m, -1), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_suspend(m, 6), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_resume(m, -1, 0), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_resume(m, 6, 1000), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_resume(m, plain, -1), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_resume(m, plain, 300001), QSSL_EINVAL);
    /* A socket opened with qssl_open is not transparent. */
    CHECK_RC(qssl_transparent_suspend(m, plain), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_resume(m, plain, 1000), QSSL_EINVAL);
    int free_id = plain == 5 ? 4 : 5;
    CHECK_RC(qssl_transparent_suspend(m, free_id), QSSL_ECLOSED);
    CHECK_RC(qssl_transparent_resume(m, free_id, 1000), QSSL_ECLOSED);
    CHECK(qssl_at(m, "AT", buf, sizeof buf, 2000) >= 0);
}

static void test_echo(qssl_modem *m, int plain) {
    char buf[256];
    int t = qssl_open_transparent(m, 0, "127.0.0.1", tls_port, 30);
    if (t < 0) fprintf(stderr, "open_transparent: %s (%s)\n", qssl_strerror(t), qssl_errmsg(m));
    REQUIRE(t >= 0 && t <= 5 && t != plain);

    /* Data mode: the port belongs to the pipe. */
    CHECK_RC(qssl_at(m, "AT", buf, sizeof buf, 2000), QSSL_EBUSY);
    qssl_state_info st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    CHECK_RC(qssl_state(m, &st), QSSL_EBUSY);
    CHECK_RC(qssl_send(m, plain, "x", 1), QSSL_EBUSY);
    CHECK_RC(qssl_open_transparent(m, 0, "127.0.0.1", tls_port, 30), QSSL_EBUSY);
    CHECK_RC(qssl_transparent_resume(m, t, 1000), QSSL_EINVAL);

    echo_round(m, t, 64 * 1024, 1);

    CHECK_RC(qssl_transparent_suspend(m, t), QSSL_OK);
    CHECK_RC(qssl_transparent_suspend(m, t), QSSL_EBUSY);
    CHECK_RC(qssl_send(m, t, "x", 1), QSSL_EBUSY);
    int n = qssl_at(m, "AT", buf, sizeof buf, 2000);
    CHECK(n >= 0);
    CHECK_RC(qssl_state(m, &st), QSSL_OK);
    int connected = 0;
    for (int i = 0; i < st.n_sockets && i < QSSL_MAX_SOCKETS; i++) {
        if (st.sockets[i].id == t && st.sockets[i].status == QSSL_SOCK_CONNECTED) connected = 1;
    }
    CHECK(connected);

    CHECK_RC(qssl_transparent_resume(m, t, 0), QSSL_OK);
    CHECK_RC(qssl_at(m, "AT", buf, sizeof buf, 2000), QSSL_EBUSY);
    echo_round(m, t, 3000, 2);

    CHECK_RC(qssl_close(m, t), QSSL_OK);
    CHECK_RC(qssl_close(m, t), QSSL_ECLOSED);
    CHECK_RC(qssl_transparent_suspend(m, t), QSSL_ECLOSED);
    CHECK_RC(qssl_transparent_resume(m, t, 1000), QSSL_ECLOSED);
    CHECK(qssl_at(m, "AT", buf, sizeof buf, 2000) >= 0);
}

/* The peer sends "bye" and closes: the module leaves data mode by itself, the stream ends and the port
 * takes commands again without an escape. */
static void test_peer_close(qssl_modem *m) {
    char buf[64];
    int t = qssl_open_transparent(m, 0, "127.0.0.1", bye_port, 30);
    REQUIRE(t >= 0);
    unsigned char got[3];
    CHECK(recv_exact(m, t, got, 3) == 0);
    CHECK(memcmp(got, "bye", 3) == 0);
    CHECK_RC(qssl_recv(m, t, got, sizeof got, 10000), 0);
    CHECK_RC(qssl_send(m, t, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_transparent_suspend(m, t), QSSL_ECLOSED);
    CHECK(qssl_at(m, "AT", buf, sizeof buf, 2000) >= 0);
    CHECK_RC(qssl_close(m, t), QSSL_OK);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DEVICE TLS_PORT BYE_PORT\n", argv[0]);
        return 2;
    }
    tls_port = atoi(argv[2]);
    bye_port = atoi(argv[3]);
    qssl_modem *m = NULL;
    int rc = qssl_modem_open(argv[1], NULL, &m);
    if (rc != QSSL_OK) {
        fprintf(stderr, "open %s: %s\n", argv[1], qssl_strerror(rc));
        return 2;
    }
    configure(m);
    int plain = qssl_open(m, 0, "127.0.0.1", tls_port, 30);
    REQUIRE(plain >= 0);
    test_refusals(m, plain);
    test_echo(m, plain);
    CHECK_RC(qssl_close(m, plain), QSSL_OK);
    test_peer_close(m);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    return TEST_SUMMARY("test_transparent");
}
