/*
 * Leaving transparent mode on a line with physics: qssl-sim started with --baud 115200 lets host bytes
 * reach the module only at the line rate and enforces the "+++" guard time against the time the bytes
 * cross the line. A 200 KB write followed at once by qssl_transparent_suspend and qssl_close must still
 * leave data mode (the guard counts from when the bytes have left, not from when write() returned), the
 * peer must receive exactly the bytes written (no "+++", no AT command leaking into the stream), and the
 * module must take commands afterwards. Then the ways a module leaves data mode by itself: the runner
 * starts the module with --close-line closed / no-carrier / urc, and the stream must end cleanly.
 *
 * usage: test_escape DEVICE TLS_PORT BYE_PORT load|peer-close
 */
#include "testutil.h"
#include <qssl.h>
#include <stdint.h>

#define LOAD_BYTES (200 * 1024)

static unsigned char pattern(size_t i) { return (unsigned char)((i * 131u + (i >> 9)) & 0xFF); }

/* Reads until `want` bytes arrived in total; checks them against the pattern from offset *got. */
static int read_echo(qssl_modem *m, int s, size_t *got, size_t want) {
    unsigned char buf[4096];
    while (*got < want) {
        int r = qssl_recv(m, s, buf, sizeof buf, 30000);
        if (r <= 0) {
            fprintf(stderr, "recv after %zu/%zu bytes: %d %s (%s)\n", *got, want, r, qssl_strerror(r), qssl_errmsg(m));
            return -1;
        }
        for (int i = 0; i < r; i++) {
            if (buf[i] != pattern(*got + (size_t)i)) {
                fprintf(stderr, "echo differs at byte %zu: 0x%02x, want 0x%02x\n", *got + (size_t)i, buf[i],
                        pattern(*got + (size_t)i));
                return -1;
            }
        }
        *got += (size_t)r;
    }
    return 0;
}

static void test_load(qssl_modem *m, int tls_port) {
    char buf[256];
    int t = qssl_open_transparent(m, 0, "127.0.0.1", tls_port, 30);
    if (t < 0) fprintf(stderr, "open_transparent: %s (%s)\n", qssl_strerror(t), qssl_errmsg(m));
    REQUIRE(t >= 0);
    unsigned char *out = malloc(LOAD_BYTES);
    REQUIRE(out != NULL);
    for (size_t i = 0; i < LOAD_BYTES; i++) out[i] = pattern(i);

    CHECK_RC(qssl_send(m, t, out, LOAD_BYTES), LOAD_BYTES);
    /* Right away: about a second of the data is still on its way to the module. */
    int rc = qssl_transparent_suspend(m, t);
    if (rc != QSSL_OK) fprintf(stderr, "suspend: %s (%s)\n", qssl_strerror(rc), qssl_errmsg(m));
    CHECK_RC(rc, QSSL_OK);
    CHECK(qssl_at(m, "AT", buf, sizeof buf, 5000) >= 0);          /* command mode for real */
    CHECK_RC(qssl_transparent_resume(m, t, 0), QSSL_OK);

    size_t got = 0;
    CHECK(read_echo(m, t, &got, LOAD_BYTES) == 0);
    /* Nothing but the data came back: a "+++" or an AT command taken as data would be echoed here. */
    int extra = qssl_recv(m, t, buf, sizeof buf, 0);
    if (extra > 0) {
        fprintf(stderr, "%d bytes after the echo:", extra);
        for (int i = 0; i < extra && i < 64; i++) fprintf(stderr, " %02x", (unsigned char)buf[i]);
        fprintf(stderr, "\n");
    }
    CHECK_RC(extra, QSSL_EAGAIN);

    /* A second full write, then close straight away. */
    CHECK_RC(qssl_send(m, t, out, LOAD_BYTES), LOAD_BYTES);
    rc = qssl_close(m, t);
    if (rc != QSSL_OK) fprintf(stderr, "close: %s (%s)\n", qssl_strerror(rc), qssl_errmsg(m));
    CHECK_RC(rc, QSSL_OK);
    CHECK(qssl_at(m, "AT", buf, sizeof buf, 5000) >= 0);
    qssl_state_info st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    CHECK_RC(qssl_state(m, &st), QSSL_OK);
    for (int i = 0; i < st.n_sockets && i < QSSL_MAX_SOCKETS; i++) {
        CHECK(!(st.sockets[i].id == t && st.sockets[i].status == QSSL_SOCK_CONNECTED));
    }
    free(out);
}

/* The peer sends "bye" and closes; the module leaves data mode with whatever line it prints. */
static void test_peer_close(qssl_modem *m, int bye_port) {
    char buf[64];
    int t = qssl_open_transparent(m, 0, "127.0.0.1", bye_port, 30);
    REQUIRE(t >= 0);
    unsigned char got[8];
    size_t n = 0;
    while (n < 3) {
        int r = qssl_recv(m, t, got + n, 3 - n, 10000);
        if (r <= 0) {
            fprintf(stderr, "recv: %d %s (%s)\n", r, qssl_strerror(r), qssl_errmsg(m));
            break;
        }
        n += (size_t)r;
    }
    CHECK(n == 3 && memcmp(got, "bye", 3) == 0);
    /* End of stream, not the module's line as data. */
    CHECK_RC(qssl_recv(m, t, got, sizeof got, 10000), 0);
    CHECK_RC(qssl_send(m, t, "x", 1), QSSL_ECLOSED);
    CHECK_RC(qssl_transparent_suspend(m, t), QSSL_ECLOSED);
    CHECK(qssl_at(m, "AT", buf, sizeof buf, 5000) >= 0);
    CHECK_RC(qssl_close(m, t), QSSL_OK);
    /* The event queue says so too. */
    int closed_seen = 0;
    qssl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    while (qssl_next_event(m, &ev, 0) == QSSL_OK) {
        if (ev.type == QSSL_EVENT_CLOSED && ev.socket == t) closed_seen = 1;
    }
    CHECK(closed_seen);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DEVICE TLS_PORT BYE_PORT load|peer-close\n", argv[0]);
        return 2;
    }
    qssl_modem *m = NULL;
    int rc = qssl_modem_open(argv[1], NULL, &m);
    if (rc != QSSL_OK) {
        fprintf(stderr, "open %s: %s\n", argv[1], qssl_strerror(rc));
        return 2;
    }
    qssl_ctx_config cfg;
    CHECK_RC(qssl_ctx_config_init(&cfg), QSSL_OK);
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_OK);
    if (strcmp(argv[4], "load") == 0) {
        test_load(m, atoi(argv[2]));
    } else if (strcmp(argv[4], "peer-close") == 0) {
        test_peer_close(m, atoi(argv[3]));
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[4]);
        return 2;
    }
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    return TEST_SUMMARY("test_escape");
}
