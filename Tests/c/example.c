/*
 * qssl example: the application note's example 3.1 in C.
 * Uploads a CA certificate, a client certificate and a client key to the module's RAM, activates
 * the PDP context, configures SSL context 0 for server and client authentication, opens an SSL
 * socket, sends 12 bytes, reads the answer, and cleans up.
 *
 *   cc example.c $(pkg-config --cflags --libs qssl) -o example
 *   ./example /dev/ttyUSB0 116.247.104.27 465 ca.pem client.pem client.key
 */
#include <qssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole (small) file into memory. */
static unsigned char *load(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    unsigned char *buf = malloc(32768);  /* RAM files hold at most 32768 bytes */
    *len = buf ? fread(buf, 1, 32768, f) : 0;
    fclose(f);
    return buf;
}

/* Prints the failure with the handle's detail and returns 1. */
static int fail(qssl_modem *m, const char *what, int rc) {
    fprintf(stderr, "%s: %s (%s)\n", what, qssl_strerror(rc), m ? qssl_errmsg(m) : "");
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s DEVICE HOST PORT CA_PEM CLIENT_PEM CLIENT_KEY\n", argv[0]);
        return 2;
    }
    const char *device = argv[1], *host = argv[2];
    int port = atoi(argv[3]);

    /* Open the port: 115200 8N1 without flow control (the module's defaults). */
    qssl_modem_options opts;
    qssl_modem_options_init(&opts);
    opts.baud = 115200;
    qssl_modem *m = NULL;
    int rc = qssl_modem_open(device, &opts, &m);
    if (rc != QSSL_OK) return fail(NULL, "open", rc);

    /* Step 1: upload the certificates and the key to RAM (replaces older files of the same name). */
    static const char *const files[3] = {"RAM:ca_cert.pem", "RAM:client_cert.pem", "RAM:client_key.pem"};
    for (int i = 0; i < 3; i++) {
        size_t len;
        unsigned char *data = load(argv[4 + i], &len);
        if (!data) { qssl_modem_close(m); return 1; }
        rc = qssl_cert_write(m, files[i], data, len);
        free(data);
        if (rc != QSSL_OK) { fail(m, files[i], rc); qssl_modem_close(m); return 1; }
    }

    /* Step 2: APN "CMNET" without user/password; activate the PDP context. */
    rc = qssl_pdp_activate(m, "CMNET", NULL, NULL);
    if (rc != QSSL_OK) { fail(m, "PDP", rc); qssl_modem_close(m); return 1; }
    char ip[64];
    if (qssl_pdp_local_ip(m, ip, sizeof ip) > 0) printf("local IP %s\n", ip);

    /* Step 3: SSL context 0: TLS 1.1, every cipher suite, server and client authentication. */
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    cfg.version = QSSL_TLS1_1;
    cfg.seclevel = QSSL_SECLEVEL_SERVER_CLIENT;
    cfg.n_ciphersuites = 1;
    cfg.ciphersuites[0] = QSSL_CIPHER_ALL;
    snprintf(cfg.cacert, sizeof cfg.cacert, "%s", "RAM:ca_cert.pem");
    snprintf(cfg.clientcert, sizeof cfg.clientcert, "%s", "RAM:client_cert.pem");
    snprintf(cfg.clientkey, sizeof cfg.clientkey, "%s", "RAM:client_key.pem");
    for (int i = 0; i < 3; i++)
        if (qssl_cert_check(m, files[i]) != 1) fprintf(stderr, "%s is damaged\n", files[i]);
    rc = qssl_ctx_configure(m, 0, &cfg);
    if (rc != QSSL_OK) { fail(m, "context", rc); qssl_modem_close(m); return 1; }

    /* Step 4: open the SSL socket (90 s handshake timeout), send 12 bytes, read the answer. */
    int s = qssl_open(m, 0, host, port, 90);
    if (s < 0) { fail(m, "SSL open", s); qssl_modem_close(m); return 1; }
    rc = qssl_send(m, s, "hello module", 12);
    if (rc != 12) { fail(m, "send", rc); qssl_modem_close(m); return 1; }
    char buf[1500];
    int got = 0;
    while (got < 12) {
        int n = qssl_recv(m, s, buf + got, sizeof buf - (size_t)got, 10000);
        if (n <= 0) { if (n < 0) fail(m, "recv", n); break; }
        got += n;
    }
    printf("received %d bytes: %.*s\n", got, got, buf);

    /* Step 5: close the socket, delete the files, deactivate the PDP context. */
    qssl_close(m, s);
    for (int i = 0; i < 3; i++) qssl_cert_delete(m, files[i]);
    qssl_pdp_deactivate(m);
    qssl_modem_close(m);
    return got == 12 ? 0 : 1;
}
