/*
 * Hostile strings and numbers never reach the module: every string parameter of the API (qssl_at's command,
 * certificate names for write / check / delete, APN / user / password, the three certificate names of
 * qssl_ctx_config, the host of qssl_open / qssl_open_transparent / qssl_tcp_open, the device path) is given
 * quotes, CR, LF, Ctrl+Z, ESC, other control bytes, names that are too long, empty or NULL, and every
 * number out of range; also calls on a closed handle and on pointers that were never handles, and the
 * same from inside the log and event callbacks. Each call must return QSSL_EINVAL (QSSL_ECLOSED for a
 * closed handle / socket), and qssl-sim's byte log (--log) must show that not one byte went to the module
 * between a marker command before (AT+GSN) and one after (ATI); the AT trace shows nothing there either.
 * Then the other side: every printable ASCII character but '"' (and ':' inside a RAM file name) is carried,
 * byte for byte, to the module, up to 255 bytes per string.
 *
 * The character set: a value goes inside a quoted AT string, so '"' would end it, CR ends the command line,
 * LF / Ctrl+Z / ESC / BS and the other control bytes (0x00-0x1F, 0x7F) are line editing or data-mode
 * characters on the module's side. ATArgument.swift (Sources/QSSLCore/Codec) is the library's rule.
 *
 * usage: test_strings QSSL_SIM TLS_PORT TCP_PORT WORKDIR
 *   starts its own qssl-sim instances (QSSL_SIM) with --log files in WORKDIR.
 */
#include "testutil.h"
#include "simlog.h"
#include <qssl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

static const char *sim_bin, *workdir;
static int tls_port, tcp_port;

/* Bytes no quoted AT string may hold. Each hostile value also holds "zq", which no valid call of this
 * program sends, so the whole log can be searched for it. */
static const char *const bad_frags[] = {
    "\"", "\r", "\n", "\r\n", "\x1a", "\x1b", "\x01", "\x03", "\x08", "\t", "\x1f", "\x7f",
    "\",\"x", "\r\nAT+CFUN=0\r", "\x1b[2J", "\x1a\r\n", "a\"\r",
};
#define N_FRAGS (sizeof bad_frags / sizeof bad_frags[0])

enum kind { K_AT, K_CERT_WRITE, K_CERT_CHECK, K_CERT_DELETE, K_APN, K_USER, K_PASSWORD, K_CACERT,
            K_CLIENTCERT, K_CLIENTKEY, K_OPEN, K_OPEN_TRANSPARENT, K_TCP_OPEN, K_COUNT };
static const char *const kind_name[K_COUNT] = {
    "qssl_at", "qssl_cert_write", "qssl_cert_check", "qssl_cert_delete", "apn", "user", "password",
    "cacert", "clientcert", "clientkey", "qssl_open", "qssl_open_transparent", "qssl_tcp_open"};
/* Where the fragment goes: "%s" in a value that would be fine without it. */
static const char *const kind_template[K_COUNT] = {
    "AT+ZQ%s", "RAM:zq%s.pem", "RAM:zq%s.pem", "RAM:zq%s.pem", "CMzq%sNET", "zq%suser", "zq%spass",
    "RAM:zq%sca", "RAM:zq%scc", "RAM:zq%sck", "zq%s.example", "zq%s.example", "zq%s.example"};

/* Calls the function of `kind` with string `s` in its string parameter, everything else valid. */
static int call_with(qssl_modem *m, enum kind k, const char *s) {
    char buf[64];
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    char *field = k == K_CACERT ? cfg.cacert : k == K_CLIENTCERT ? cfg.clientcert : cfg.clientkey;
    switch (k) {
    case K_AT: return qssl_at(m, s, buf, sizeof buf, 1000);
    case K_CERT_WRITE: return qssl_cert_write(m, s, "abc", 3);
    case K_CERT_CHECK: return qssl_cert_check(m, s);
    case K_CERT_DELETE: return qssl_cert_delete(m, s);
    case K_APN: return qssl_pdp_activate(m, s, NULL, NULL);
    case K_USER: return qssl_pdp_activate(m, "CMNET", s, "p");
    case K_PASSWORD: return qssl_pdp_activate(m, "CMNET", "u", s);
    case K_CACERT: case K_CLIENTCERT: case K_CLIENTKEY:
        if (!s) return QSSL_EINVAL;  /* a field cannot be NULL */
        if (strlen(s) >= QSSL_NAME_MAX) memcpy(field, s, QSSL_NAME_MAX);  /* no NUL inside the field */
        else strcpy(field, s);
        return qssl_ctx_configure(m, 0, &cfg);
    case K_OPEN: return qssl_open(m, 0, s, tls_port, 30);
    case K_OPEN_TRANSPARENT: return qssl_open_transparent(m, 0, s, tls_port, 30);
    case K_TCP_OPEN: return qssl_tcp_open(m, s, tcp_port, 30);
    default: return 999;
    }
}

static int has_control(const char *s) {
    for (; *s; s++) if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F) return 1;
    return 0;
}

static void check_refused(qssl_modem *m, enum kind k, const char *s, int want, const char *what, int line) {
    int rc = call_with(m, k, s);
    tu_checks++;
    if (rc != want) {
        tu_failed++;
        fprintf(stderr, "test_strings.c:%d: %s(%s) = %d (%s), want %d\n", line, kind_name[k], what, rc,
                qssl_strerror(rc), want);
    }
    /* The message describing the refusal is safe to print: no control byte copied from the argument. */
    if (want == QSSL_EINVAL) CHECK(!has_control(qssl_errmsg(m)));
}

/* Every hostile string for every string parameter; all refused with QSSL_EINVAL. */
static void all_hostile_strings(qssl_modem *m) {
    char v[1024], what[64];
    for (int k = 0; k < K_COUNT; k++) {
        for (size_t f = 0; f < N_FRAGS; f++) {
            /* qssl_at takes quotes (it is a whole command); only its control bytes are hostile. */
            if (k == K_AT && !has_control(bad_frags[f])) continue;
            snprintf(v, sizeof v, kind_template[k], bad_frags[f]);
            snprintf(what, sizeof what, "fragment %zu", f);
            check_refused(m, (enum kind)k, v, QSSL_EINVAL, what, __LINE__);
        }
        /* NULL (user and password may be NULL: "none"). */
        if (k != K_USER && k != K_PASSWORD) check_refused(m, (enum kind)k, NULL, QSSL_EINVAL, "NULL", __LINE__);
        /* Empty where a value is needed (an empty certificate field means "none": not hostile). */
        if (k != K_USER && k != K_PASSWORD && k != K_CACERT && k != K_CLIENTCERT && k != K_CLIENTKEY)
            check_refused(m, (enum kind)k, "", QSSL_EINVAL, "empty", __LINE__);
        /* Too long: 256 bytes is past what the library puts in a command (ATArgument.maxLength, 255); a
         * certificate field without a NUL in its QSSL_NAME_MAX bytes. */
        memset(v, 'z', 256);
        v[256] = 0;
        memcpy(v, k == K_AT ? "AT+" : kind_template[k], 4);
        if (k != K_AT) check_refused(m, (enum kind)k, v, QSSL_EINVAL, "256 bytes", __LINE__);
        memset(v, 'z', 1000);
        v[1000] = 0;
        memcpy(v, "RAM:", 4);
        if (k != K_AT) check_refused(m, (enum kind)k, v, QSSL_EINVAL, "1000 bytes", __LINE__);
    }
    /* Certificate names the note does not define. */
    const char *names[] = {"RAM:", "NVRAM:", "NVRAM:CA2", "NVRAM:ca0", "NVRAM:CA0 ", "ram:zq", "Ram:zq",
                           " RAM:zq", "RAM:zq:x", "RAM:zq\"", "zq", "DISK:zq", ":zq", "RAM", "NVRAM:CK0\r"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        check_refused(m, K_CERT_WRITE, names[i], QSSL_EINVAL, names[i], __LINE__);
        check_refused(m, K_CERT_CHECK, names[i], QSSL_EINVAL, names[i], __LINE__);
        check_refused(m, K_CERT_DELETE, names[i], QSSL_EINVAL, names[i], __LINE__);
        if (names[i][0]) {
            check_refused(m, K_CACERT, names[i], QSSL_EINVAL, names[i], __LINE__);
            check_refused(m, K_CLIENTKEY, names[i], QSSL_EINVAL, names[i], __LINE__);
        }
    }
}

/* Numbers out of range, NULL pointers, lengths past the buffer: QSSL_EINVAL; ids that are in range but not
 * open: QSSL_ECLOSED. None sends anything. */
static void all_hostile_numbers(qssl_modem *m) {
    char buf[64];
    const int bad_ctx[] = {-1, QSSL_MAX_CONTEXTS, INT_MAX, INT_MIN};
    const int bad_port[] = {0, -1, -443, 65536, INT_MAX, INT_MIN};
    const int bad_ssl_timeout[] = {-1, 1, 9, 301, INT_MAX, INT_MIN};
    const int bad_tcp_timeout[] = {-1, 301, INT_MAX, INT_MIN};
    const int bad_id[] = {-1, QSSL_MAX_SOCKETS, INT_MAX, INT_MIN};
    /* All above INT_MAX also where size_t has 32 bits (there SIZE_MAX / 2 is INT_MAX, a valid size). */
    const size_t huge[] = {(size_t)-1, (size_t)-5, (size_t)INT_MAX + 1, SIZE_MAX / 2 + 1};
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    for (size_t i = 0; i < sizeof bad_ctx / sizeof bad_ctx[0]; i++) {
        CHECK_RC(qssl_ctx_configure(m, bad_ctx[i], &cfg), QSSL_EINVAL);
        CHECK_RC(qssl_ctx_query(m, bad_ctx[i], &cfg), QSSL_EINVAL);
        CHECK_RC(qssl_open(m, bad_ctx[i], "127.0.0.1", tls_port, 30), QSSL_EINVAL);
        CHECK_RC(qssl_open_transparent(m, bad_ctx[i], "127.0.0.1", tls_port, 30), QSSL_EINVAL);
    }
    for (size_t i = 0; i < sizeof bad_port / sizeof bad_port[0]; i++) {
        CHECK_RC(qssl_open(m, 0, "127.0.0.1", bad_port[i], 30), QSSL_EINVAL);
        CHECK_RC(qssl_open_transparent(m, 0, "127.0.0.1", bad_port[i], 30), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_open(m, "127.0.0.1", bad_port[i], 30), QSSL_EINVAL);
    }
    for (size_t i = 0; i < sizeof bad_ssl_timeout / sizeof bad_ssl_timeout[0]; i++) {
        CHECK_RC(qssl_open(m, 0, "127.0.0.1", tls_port, bad_ssl_timeout[i]), QSSL_EINVAL);
        CHECK_RC(qssl_open_transparent(m, 0, "127.0.0.1", tls_port, bad_ssl_timeout[i]), QSSL_EINVAL);
    }
    for (size_t i = 0; i < sizeof bad_tcp_timeout / sizeof bad_tcp_timeout[0]; i++)
        CHECK_RC(qssl_tcp_open(m, "127.0.0.1", tcp_port, bad_tcp_timeout[i]), QSSL_EINVAL);
    for (size_t i = 0; i < sizeof bad_id / sizeof bad_id[0]; i++) {
        int id = bad_id[i];
        CHECK_RC(qssl_send(m, id, "zq", 2), QSSL_EINVAL);
        CHECK_RC(qssl_send_timeout(m, id, "zq", 2, 1000), QSSL_EINVAL);
        CHECK_RC(qssl_recv(m, id, buf, sizeof buf, 0), QSSL_EINVAL);
        CHECK_RC(qssl_close(m, id), QSSL_EINVAL);
        CHECK_RC(qssl_transparent_suspend(m, id), QSSL_EINVAL);
        CHECK_RC(qssl_transparent_resume(m, id, 1000), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_send(m, id, "zq", 2), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_send_timeout(m, id, "zq", 2, 1000), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_recv(m, id, buf, sizeof buf, 0), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_close(m, id), QSSL_EINVAL);
        CHECK_RC(qssl_socket_fd(m, id), QSSL_EINVAL);
    }
    /* In range, nothing open: ECLOSED, nothing sent (not even an AT+QSSLCLOSE "to be sure"). */
    for (int id = 0; id < QSSL_MAX_SOCKETS; id++) {
        CHECK_RC(qssl_send(m, id, "zq", 2), QSSL_ECLOSED);
        CHECK_RC(qssl_close(m, id), QSSL_ECLOSED);
        CHECK_RC(qssl_tcp_send(m, id, "zq", 2), QSSL_ECLOSED);
        CHECK_RC(qssl_tcp_close(m, id), QSSL_ECLOSED);
        CHECK_RC(qssl_transparent_suspend(m, id), QSSL_ECLOSED);  /* not open */
        CHECK_RC(qssl_transparent_resume(m, id, 1000), QSSL_ECLOSED);
    }
    CHECK_RC(qssl_transparent_resume(m, 0, -1), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_resume(m, 0, 300001), QSSL_EINVAL);
    CHECK_RC(qssl_transparent_resume(m, 0, INT_MIN), QSSL_EINVAL);
    /* Lengths past the buffer, NULL pointers. */
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        CHECK_RC(qssl_cert_write(m, "RAM:zq.pem", "zq", huge[i]), QSSL_EINVAL);
        CHECK_RC(qssl_send(m, 0, "zq", huge[i]), QSSL_EINVAL);
        CHECK_RC(qssl_tcp_send(m, 0, "zq", huge[i]), QSSL_EINVAL);
        CHECK_RC(qssl_at(m, "AT+GMR", buf, huge[i], 1000), QSSL_EINVAL);
        CHECK_RC(qssl_pdp_local_ip(m, buf, huge[i]), QSSL_EINVAL);
    }
    static char big[40000];
    CHECK_RC(qssl_cert_write(m, "RAM:zq.pem", big, 0), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:zq.pem", big, 32769), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "NVRAM:CA0", big, 2026), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "NVRAM:CK0", big, 32768), QSSL_EINVAL);
    CHECK_RC(qssl_cert_write(m, "RAM:zq.pem", NULL, 3), QSSL_EINVAL);
    CHECK_RC(qssl_at(m, "AT+GMR", NULL, 10, 1000), QSSL_EINVAL);
    CHECK_RC(qssl_pdp_local_ip(m, NULL, 10), QSSL_EINVAL);
    CHECK_RC(qssl_send(m, 0, NULL, 2), QSSL_EINVAL);
    CHECK_RC(qssl_ctx_configure(m, 0, NULL), QSSL_EINVAL);
    CHECK_RC(qssl_ctx_query(m, 0, NULL), QSSL_EINVAL);
    CHECK_RC(qssl_state(m, NULL), QSSL_EINVAL);
    /* Struct contents. */
    qssl_ctx_config_init(&cfg);
    cfg.size = 4;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.version = -1;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    cfg.version = QSSL_SSL_ALL + 1;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.seclevel = 3;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    cfg.seclevel = QSSL_SECLEVEL_SERVER_CLIENT;
    strcpy(cfg.cacert, "RAM:zq-ca");  /* client certificate and key missing */
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.n_ciphersuites = 2;
    cfg.ciphersuites[1] = QSSL_CIPHER_RSA_AES_128_CBC_SHA;  /* ALL must be alone */
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    cfg.n_ciphersuites = (uint32_t)-1;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_ctx_config_init(&cfg);
    cfg.ciphersuites[0] = 0;
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    qssl_state_info st;
    memset(&st, 0, sizeof st);
    st.size = 3;
    CHECK_RC(qssl_state(m, &st), QSSL_EINVAL);
}

/* Closed handles and pointers that were never handles: every call refused before the port is touched. */
static void hostile_handles(qssl_modem *closed) {
    char buf[64];
    qssl_modem *never = (qssl_modem *)&buf;
    qssl_modem *hs[] = {closed, never, NULL};
    int want[] = {QSSL_ECLOSED, QSSL_EINVAL, QSSL_EINVAL};
    for (int i = 0; i < 3; i++) {
        qssl_ctx_config cfg;
        qssl_ctx_config_init(&cfg);
        CHECK_RC(qssl_at(hs[i], "AT+CFUN=0", buf, sizeof buf, 1000), want[i]);
        CHECK_RC(qssl_at(hs[i], "AT\r\nAT+CFUN=0", buf, sizeof buf, 1000), want[i]);
        CHECK_RC(qssl_cert_write(hs[i], "RAM:zq.pem", "zq", 2), want[i]);
        CHECK_RC(qssl_cert_delete(hs[i], "NVRAM:CA0"), want[i]);
        CHECK_RC(qssl_pdp_activate(hs[i], "CMNET", NULL, NULL), want[i]);
        CHECK_RC(qssl_pdp_deactivate(hs[i]), want[i]);
        CHECK_RC(qssl_ctx_configure(hs[i], 0, &cfg), want[i]);
        CHECK_RC(qssl_open(hs[i], 0, "127.0.0.1", tls_port, 30), want[i]);
        CHECK_RC(qssl_tcp_open(hs[i], "127.0.0.1", tcp_port, 30), want[i]);
        CHECK_RC(qssl_send(hs[i], 0, "zq", 2), want[i]);
        CHECK_RC(qssl_close(hs[i], 0), want[i]);
        CHECK_RC(qssl_modem_close(hs[i]), want[i]);
    }
}

/* Hostile calls made from inside callbacks: refused the same way; run between the markers. */
struct cb_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    qssl_modem *m;
    int go;             /* the event callback may start (the AT+GSN marker has gone) */
    int log_armed;      /* the log callback runs its calls on the next "AT+GSN" line */
    int log_done, event_done;
    int log_bad, event_bad;  /* calls that did not give the expected code */
    struct trace trace;
};
static struct cb_state cbs;

static int hostile_from_callback(qssl_modem *m) {
    char buf[32];
    int bad = 0;
    bad += qssl_at(m, "AT\r\nAT+CFUN=0", buf, sizeof buf, 1000) != QSSL_EINVAL;
    bad += qssl_at(m, "AT\x1a", buf, sizeof buf, 1000) != QSSL_EINVAL;
    bad += qssl_cert_write(m, "RAM:zq\"x", "zq", 2) != QSSL_EINVAL;
    bad += qssl_cert_check(m, "RAM:zq\r") != QSSL_EINVAL;
    bad += qssl_cert_delete(m, "RAM:zq\x1b") != QSSL_EINVAL;
    bad += qssl_pdp_activate(m, "CMzq\n", NULL, NULL) != QSSL_EINVAL;
    bad += qssl_open(m, 0, "zq\".example", tls_port, 30) != QSSL_EINVAL;
    bad += qssl_tcp_open(m, "127.0.0.1", -1, 30) != QSSL_EINVAL;
    bad += qssl_send(m, 9, "zq", 2) != QSSL_EINVAL;
    bad += qssl_recv(m, 0, buf, (size_t)-1, 0) != QSSL_EINVAL;
    return bad;
}

static void log_cb(qssl_modem *m, int direction, const char *text, void *user) {
    struct cb_state *s = user;
    trace_add(&s->trace, direction, text);
    if (direction == QSSL_LOG_TO_MODULE && text && strcmp(text, "AT+GSN") == 0) {
        pthread_mutex_lock(&s->mu);
        int armed = s->log_armed;
        s->log_armed = 0;
        pthread_mutex_unlock(&s->mu);
        if (!armed) return;
        int bad = hostile_from_callback(m);
        pthread_mutex_lock(&s->mu);
        s->log_bad = bad;
        s->log_done = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

static int wait_flag(int *flag, int timeout_ms) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&cbs.mu);
    while (!*flag && pthread_cond_timedwait(&cbs.cv, &cbs.mu, &dl) == 0) {}
    int v = *flag;
    pthread_mutex_unlock(&cbs.mu);
    return v;
}

static void event_cb(qssl_modem *m, const qssl_event *ev, void *user) {
    struct cb_state *s = user;
    if (ev->type != QSSL_EVENT_PDP_ACTIVATED) return;
    if (!wait_flag(&s->go, 20000)) return;  /* the main thread sets it once the first marker has gone */
    int bad = hostile_from_callback(m);
    pthread_mutex_lock(&s->mu);
    s->event_bad = bad;
    s->event_done = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Part 1: the refusals, between markers, on one sim; then what the log shows. */
static void test_refused(void) {
    char log[512];
    snprintf(log, sizeof log, "%s/strings-refused.log", workdir);
    unlink(log);
    const char *args[] = {"--log", log, NULL};
    struct sim s;
    REQUIRE(sim_start(&s, sim_bin, args) == 0);

    /* The device path: NULL and "" are EINVAL; hostile bytes in a path are a file that does not exist. */
    qssl_modem *m = (qssl_modem *)&m;
    CHECK_RC(qssl_modem_open(NULL, NULL, &m), QSSL_EINVAL);
    CHECK(m == NULL);
    CHECK_RC(qssl_modem_open("", NULL, &m), QSSL_EINVAL);
    char dev[600];
    for (size_t f = 0; f < N_FRAGS; f++) {
        snprintf(dev, sizeof dev, "%s%s", s.pty, bad_frags[f]);
        CHECK(qssl_modem_open(dev, NULL, &m) < 0);
        CHECK(m == NULL);
    }
    char longdev[PATH_MAX + 100];
    memset(longdev, 'z', sizeof longdev - 1);
    longdev[0] = '/';
    longdev[sizeof longdev - 1] = 0;
    CHECK(qssl_modem_open(longdev, NULL, &m) < 0);
    CHECK(m == NULL);

    /* A handle that was opened and closed on this module, for the closed-handle calls. */
    qssl_modem *old = NULL;
    REQUIRE(qssl_modem_open(s.pty, NULL, &old) == QSSL_OK);
    CHECK_RC(qssl_modem_close(old), QSSL_OK);

    pthread_mutex_init(&cbs.mu, NULL);
    pthread_cond_init(&cbs.cv, NULL);
    trace_init(&cbs.trace);
    qssl_modem_options o;
    qssl_modem_options_init(&o);
    o.log = log_cb;
    o.log_user = &cbs;
    REQUIRE(qssl_modem_open(s.pty, &o, &m) == QSSL_OK);
    cbs.m = m;
    CHECK_RC(qssl_set_event_callback(m, event_cb, &cbs), QSSL_OK);
    cbs.log_armed = 1;
    /* Online, so that refused opens are refused for their arguments, not for a missing PDP context. */
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);  /* queues PDP_ACTIVATED */
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_OK);

    char buf[64];
    CHECK(qssl_at(m, "AT+GSN", buf, sizeof buf, 2000) > 0);  /* marker before */
    pthread_mutex_lock(&cbs.mu);
    cbs.go = 1;
    pthread_cond_broadcast(&cbs.cv);
    pthread_mutex_unlock(&cbs.mu);

    all_hostile_strings(m);
    all_hostile_numbers(m);
    hostile_handles(old);
    CHECK(wait_flag(&cbs.log_done, 20000));
    CHECK(wait_flag(&cbs.event_done, 20000));
    CHECK(cbs.log_bad == 0);
    CHECK(cbs.event_bad == 0);

    CHECK(qssl_at(m, "ATI", buf, sizeof buf, 2000) > 0);  /* marker after */
    /* The trace shows nothing sent between the markers either. */
    long tg = trace_wait_for(&cbs.trace, 0, QSSL_LOG_TO_MODULE, "AT+GSN", 5000);
    long ti = trace_wait_for(&cbs.trace, 0, QSSL_LOG_TO_MODULE, "ATI", 5000);
    CHECK(tg >= 0 && ti > tg);
    pthread_mutex_lock(&cbs.trace.mu);
    size_t to_module = 0;
    for (long i = tg + 1; i < ti; i++) if (cbs.trace.dirs[i] == QSSL_LOG_TO_MODULE) to_module++;
    int zq_in_trace = 0;
    for (size_t i = 0; i < cbs.trace.n; i++) if (strstr(cbs.trace.lines[i], "zq") || strstr(cbs.trace.lines[i], "ZQ")) zq_in_trace = 1;
    pthread_mutex_unlock(&cbs.trace.mu);
    CHECK(to_module == 0);
    CHECK(!zq_in_trace);

    CHECK_RC(qssl_set_event_callback(m, NULL, NULL), QSSL_OK);
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    sim_stop(&s);

    struct simlog l;
    REQUIRE(simlog_read(log, &l) == 0);
    CHECK(l.bad_lines == 0);
    long a = simlog_find(&l, 0, "AT+GSN\r");
    long b = a >= 0 ? simlog_find(&l, (size_t)a, "ATI\r") : -1;
    CHECK(a >= 0 && b > a);
    if (a >= 0 && b > a) {
        size_t n = simlog_writes_between(&l, a, b);
        CHECK(n == 0);
        if (n) fprintf(stderr, "test_strings: %zu writes to the module between the markers\n", n);
    }
    /* Not anywhere else either: no hostile value reached the tty, before or after. */
    CHECK(!simlog_sent(&l, 0, l.n, "zq", 2));
    CHECK(!simlog_sent(&l, 0, l.n, "ZQ", 2));
    CHECK(!simlog_sent(&l, 0, l.n, "CFUN", 4));
    /* Two start-up syncs (the closed handle and the traced one); none for the refused device paths. */
    size_t syncs = 0;
    for (size_t i = 0; i < l.n; i++) if (l.c[i].to_module && l.c[i].len == 5 && memcmp(l.c[i].b, "ATE0\r", 5) == 0) syncs++;
    CHECK(syncs == 2);
    simlog_free(&l);
    trace_free(&cbs.trace);
}

/* The printable ASCII characters a quoted AT string can carry: 0x20-0x7E without '"'. */
static void printable(char *out, int allow_colon) {
    size_t n = 0;
    for (int c = 0x20; c <= 0x7E; c++) if (c != '"' && (allow_colon || c != ':')) out[n++] = (char)c;
    out[n] = 0;
}

/* Part 2: what may pass does pass, byte for byte. */
static void test_accepted(void) {
    char log[512];
    snprintf(log, sizeof log, "%s/strings-accepted.log", workdir);
    unlink(log);
    const char *args[] = {"--log", log, NULL};
    struct sim s;
    REQUIRE(sim_start(&s, sim_bin, args) == 0);
    qssl_modem *m = NULL;
    REQUIRE(qssl_modem_open(s.pty, NULL, &m) == QSSL_OK);
    char p94[100], p93[100], name[120], cmd[200], buf[256];
    printable(p94, 1);
    printable(p93, 0);
    CHECK(strlen(p94) == 94 && strlen(p93) == 93);

    /* qssl_at: every printable character, '"' included, goes as written. */
    snprintf(cmd, sizeof cmd, "AT+QPRINT=\"%s\"", p94);
    CHECK_RC(qssl_at(m, cmd, buf, sizeof buf, 2000), QSSL_EMODEM);  /* unknown to the module, but sent */

    /* Certificate names: "RAM:" and 93 characters (no ':' in a RAM file name). */
    snprintf(name, sizeof name, "RAM:%s", p93);
    CHECK_RC(qssl_cert_write(m, name, "abc", 3), QSSL_OK);
    CHECK_RC(qssl_cert_check(m, name), 1);
    /* Context fields hold 95 bytes: the first 91 characters. */
    char fname[QSSL_NAME_MAX];
    snprintf(fname, sizeof fname, "RAM:%.91s", p93);
    CHECK(strlen(fname) == QSSL_NAME_MAX - 1);
    CHECK_RC(qssl_cert_write(m, fname, "abc", 3), QSSL_OK);
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    cfg.seclevel = QSSL_SECLEVEL_SERVER_CLIENT;
    strcpy(cfg.cacert, fname);
    strcpy(cfg.clientcert, fname);
    strcpy(cfg.clientkey, fname);
    CHECK_RC(qssl_ctx_configure(m, 1, &cfg), QSSL_OK);
    qssl_ctx_config back;
    qssl_ctx_config_init(&back);
    CHECK_RC(qssl_ctx_query(m, 1, &back), QSSL_OK);
    CHECK(strcmp(back.cacert, fname) == 0 && strcmp(back.clientcert, fname) == 0 &&
          strcmp(back.clientkey, fname) == 0);
    CHECK_RC(qssl_cert_delete(m, name), QSSL_OK);
    CHECK_RC(qssl_cert_delete(m, fname), QSSL_OK);
    CHECK_RC(qssl_cert_check(m, name), QSSL_EMODEM);  /* gone */

    /* Length: 255 bytes go, 256 do not (part 1). */
    char n255[300];
    memset(n255, 'y', 255);
    memcpy(n255, "RAM:", 4);
    n255[255] = 0;
    CHECK_RC(qssl_cert_check(m, n255), QSSL_EMODEM);  /* sent; no such file */

    /* APN, user, password: the 94 characters each. */
    CHECK_RC(qssl_pdp_activate(m, p94, p94, p94), QSSL_OK);
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    char a255[300];
    memset(a255, 'w', 255);
    a255[255] = 0;
    CHECK_RC(qssl_pdp_activate(m, a255, a255, a255), QSSL_OK);

    /* Hosts: sent as written; the module (sim: loopback only) fails the connection, the library does not
     * refuse the name. */
    qssl_ctx_config_init(&cfg);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_OK);
    CHECK_RC(qssl_open(m, 0, p94, tls_port, 10), QSSL_ECONNECT);
    CHECK_RC(qssl_open_transparent(m, 0, p94, tls_port, 10), QSSL_ECONNECT);
    CHECK(qssl_tcp_open(m, p94, tcp_port, 10) < 0);
    char h255[300];
    memset(h255, 'h', 255);
    h255[255] = 0;
    CHECK_RC(qssl_open(m, 0, h255, tls_port, 10), QSSL_ECONNECT);
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    sim_stop(&s);

    struct simlog l;
    REQUIRE(simlog_read(log, &l) == 0);
    CHECK(l.bad_lines == 0);
    size_t n;
    unsigned char *all = simlog_host_bytes(&l, 0, l.n, &n);
    REQUIRE(all != NULL);
    char want[1200];
    snprintf(want, sizeof want, "%s\r", cmd);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "AT+QSECWRITE=\"%s\",3,", name);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "AT+QSECREAD=\"%s\"\r", name);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "AT+QSECDEL=\"%s\"\r", name);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "\"%s\"", fname);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "AT+QSECREAD=\"%s\"\r", n255);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "AT+QICSGP=1,\"%s\",\"%s\",\"%s\"\r", p94, p94, p94);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "AT+QICSGP=1,\"%s\",\"%s\",\"%s\"\r", a255, a255, a255);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "\"%s\",%d", p94, tls_port);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "\"%s\",%d", p94, tcp_port);
    CHECK(mem_has(all, n, want, strlen(want)));
    snprintf(want, sizeof want, "\"%s\",%d", h255, tls_port);
    CHECK(mem_has(all, n, want, strlen(want)));
    free(all);
    simlog_free(&l);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s QSSL_SIM TLS_PORT TCP_PORT WORKDIR\n", argv[0]);
        return 2;
    }
    sim_bin = argv[1];
    tls_port = atoi(argv[2]);
    tcp_port = atoi(argv[3]);
    workdir = argv[4];
    mkdir(workdir, 0700);
    test_refused();
    test_accepted();
    return TEST_SUMMARY("test_strings");
}
