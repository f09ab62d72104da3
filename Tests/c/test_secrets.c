/*
 * Key bytes never leave the library except towards the module: a real private key (client.key of
 * scripts/make-test-certs.sh) is uploaded with qssl_cert_write with the AT trace on, to RAM and to NVRAM,
 * and uploads around it fail on purpose: too large for NVRAM, names the library refuses, a closed handle,
 * the port in transparent data mode, the module not answering (qssl-sim --unanswered: a timeout) and the
 * module restarting instead of answering (--reset-instead-of-answer). Everything the program can see - each
 * trace line, qssl_errmsg / qssl_errmsg_copy after every call, event texts, and the process's stderr (fd 2
 * redirected to a file) - is searched for every 16-byte window of the key's PEM body (with and without its
 * line breaks, each base64 line alone, and as hex). The trace must show "<N bytes redacted>" for each upload
 * that went out, and the sim's byte log must hold the key for those (so the search is known to work) and
 * not hold it for the failed ones.
 *
 * usage: test_secrets QSSL_SIM TLS_PORT CERT_DIR WORKDIR
 */
#include "testutil.h"
#include "simlog.h"
#include <qssl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

static const char *sim_bin, *cert_dir, *workdir;
static int tls_port;

/* Everything the library said that a user could see, appended as text. */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static char *seen;
static size_t seen_len, seen_cap;

static void see(const char *text, size_t n) {
    pthread_mutex_lock(&seen_mu);
    if (seen_len + n + 2 > seen_cap) {
        size_t nc = (seen_len + n + 2) * 2;
        char *ns = realloc(seen, nc);
        if (!ns) { pthread_mutex_unlock(&seen_mu); return; }
        seen = ns;
        seen_cap = nc;
    }
    memcpy(seen + seen_len, text, n);
    seen_len += n;
    seen[seen_len++] = '\n';
    seen[seen_len] = 0;
    pthread_mutex_unlock(&seen_mu);
}

static struct trace tr;

static void log_cb(qssl_modem *m, int direction, const char *text, void *user) {
    (void)m;
    (void)user;
    trace_add(&tr, direction, text);
    if (text) see(text, strlen(text));
}

/* After every call: the handle's messages and its queued events. */
static void see_handle(qssl_modem *m) {
    const char *e = qssl_errmsg(m);
    see(e, strlen(e));
    char copy[4096];
    int n = qssl_errmsg_copy(m, copy, sizeof copy);
    if (n > 0) see(copy, strlen(copy));
    qssl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    while (qssl_next_event(m, &ev, 0) == QSSL_OK) see(ev.text, strnlen(ev.text, sizeof ev.text));
}

/* The needles: every 16-byte window of the PEM body in the forms a leak could take. */
static char **needles;
static size_t n_needles, needles_cap;

static void add_needle(const char *p, size_t n) {
    if (n_needles == needles_cap) {
        needles_cap = needles_cap ? needles_cap * 2 : 4096;
        needles = realloc(needles, needles_cap * sizeof *needles);
        if (!needles) { fprintf(stderr, "out of memory\n"); exit(2); }
    }
    char *s = malloc(n + 1);
    if (!s) { fprintf(stderr, "out of memory\n"); exit(2); }
    memcpy(s, p, n);
    s[n] = 0;
    needles[n_needles++] = s;
}

static void windows_of(const char *p, size_t n) {
    for (size_t i = 0; i + 16 <= n; i++) add_needle(p + i, 16);
}

static void make_needles(const unsigned char *pem, size_t len) {
    /* The body: the lines between "-----BEGIN" and "-----END". */
    const char *s = (const char *)pem;
    const char *begin = strstr(s, "-----BEGIN");
    REQUIRE(begin != NULL);
    const char *body = strchr(begin, '\n');
    REQUIRE(body != NULL);
    body++;
    const char *end = strstr(body, "-----END");
    REQUIRE(end != NULL && (size_t)(end - s) <= len);
    size_t blen = (size_t)(end - body);
    windows_of(body, blen);  /* with its line breaks */
    char *joined = malloc(blen + 1), *hex = malloc(blen * 2 + 1);
    REQUIRE(joined && hex);
    size_t jn = 0;
    for (const char *line = body; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
        windows_of(line, ll);  /* each base64 line alone */
        memcpy(joined + jn, line, ll);
        jn += ll;
        line += ll + 1;
    }
    windows_of(joined, jn);  /* without line breaks */
    /* A hex dump of the body: 16 bytes are 32 hex digits, either case. */
    for (size_t i = 0; i < jn; i++) sprintf(hex + 2 * i, "%02x", (unsigned char)joined[i]);
    for (size_t i = 0; i + 32 <= 2 * jn; i += 2) add_needle(hex + i, 32);
    for (size_t i = 0; i < 2 * jn; i++) if (hex[i] >= 'a' && hex[i] <= 'f') hex[i] = (char)(hex[i] - 32);
    for (size_t i = 0; i + 32 <= 2 * jn; i += 2) add_needle(hex + i, 32);
    CHECK(jn > 1000);  /* an RSA key: a long body */
    free(joined);
    free(hex);
}

/* Needles found in (p, n); the first is reported as found in `where` (NULL: quietly). */
static size_t leaks_in(const void *p, size_t n, const char *where) {
    size_t found = 0;
    for (size_t i = 0; i < n_needles; i++) {
        if (mem_has(p, n, needles[i], strlen(needles[i]))) {
            if (found == 0 && where) fprintf(stderr, "test_secrets: key bytes in %s: \"%s\"\n", where, needles[i]);
            found++;
        }
    }
    return found;
}

static unsigned char *key, *key2;
static size_t key_len, key2_len;

/* "<N bytes redacted>" lines in the trace from index `from`. */
static size_t redactions(size_t from, size_t n) {
    char want[64];
    snprintf(want, sizeof want, "<%zu bytes redacted>", n);
    size_t c = 0;
    pthread_mutex_lock(&tr.mu);
    for (size_t i = from; i < tr.n; i++) if (tr.dirs[i] == QSSL_LOG_TO_MODULE && strcmp(tr.lines[i], want) == 0) c++;
    pthread_mutex_unlock(&tr.mu);
    return c;
}

static size_t trace_len(void) {
    pthread_mutex_lock(&tr.mu);
    size_t n = tr.n;
    pthread_mutex_unlock(&tr.mu);
    return n;
}

/* Waits until the trace has shown the command `cmd` (so every line before it has been delivered). */
static void trace_sync(size_t from, const char *cmd) {
    CHECK(trace_wait_for(&tr, from, QSSL_LOG_TO_MODULE, cmd, 10000) >= 0);
}

static qssl_modem *open_traced(const char *pty, int command_timeout_ms) {
    qssl_modem_options o;
    qssl_modem_options_init(&o);
    o.log = log_cb;
    if (command_timeout_ms > 0) o.command_timeout_ms = command_timeout_ms;
    qssl_modem *m = NULL;
    REQUIRE(qssl_modem_open(pty, &o, &m) == QSSL_OK);
    return m;
}

/* Key bytes sent to the module in the log at `path` (whole windows of the body). */
static size_t key_windows_in_log(const char *path) {
    struct simlog l;
    if (simlog_read(path, &l) != 0) return 0;
    size_t n;
    unsigned char *all = simlog_host_bytes(&l, 0, l.n, &n);
    size_t found = 0;
    /* The raw upload carries the body with its line breaks: the first kind of needle. */
    for (size_t i = 0; all && i < n_needles; i++) if (mem_has(all, n, needles[i], strlen(needles[i]))) found++;
    free(all);
    simlog_free(&l);
    return found;
}

/* The healthy module: uploads that go out, and failures around them. */
static void test_uploads(void) {
    char log[512];
    snprintf(log, sizeof log, "%s/secrets-a.log", workdir);
    unlink(log);
    const char *args[] = {"--log", log, NULL};
    struct sim s;
    REQUIRE(sim_start(&s, sim_bin, args) == 0);
    qssl_modem *m = open_traced(s.pty, 0);
    char buf[64];

    size_t t0 = trace_len();
    CHECK_RC(qssl_cert_write(m, "RAM:client.key", key, key_len), QSSL_OK);
    see_handle(m);
    CHECK_RC(qssl_cert_check(m, "RAM:client.key"), 1);
    CHECK_RC(qssl_cert_write(m, "NVRAM:CK0", key, key_len), QSSL_OK);  /* an RSA-2048 key fits in 2025 */
    see_handle(m);
    CHECK_RC(qssl_cert_check(m, "NVRAM:CK0"), 1);
    CHECK(qssl_at(m, "AT+GSN", buf, sizeof buf, 2000) > 0);  /* marker: nothing below sends key bytes */
    trace_sync(t0, "AT+GSN");
    CHECK(redactions(t0, key_len) == 2);

    /* Refused before anything is sent. */
    CHECK_RC(qssl_cert_write(m, "NVRAM:CK0", key2, key2_len), QSSL_EINVAL);  /* over 2025 bytes */
    see_handle(m);
    CHECK_RC(qssl_cert_write(m, "NVRAM:CA0", key2, key2_len), QSSL_EINVAL);
    see_handle(m);
    CHECK_RC(qssl_cert_write(m, "RAM:client\".key", key, key_len), QSSL_EINVAL);
    see_handle(m);
    CHECK_RC(qssl_cert_write(m, "RAM:client.key\r\nAT", key, key_len), QSSL_EINVAL);
    see_handle(m);
    CHECK_RC(qssl_cert_write(m, "NVRAM:CK1", key, key_len), QSSL_EINVAL);
    see_handle(m);
    CHECK_RC(qssl_cert_write(m, "", key, key_len), QSSL_EINVAL);
    see_handle(m);
    CHECK_RC(qssl_cert_write(m, "RAM:client.key", key, (size_t)-1), QSSL_EINVAL);
    see_handle(m);
    CHECK_RC(qssl_cert_write(NULL, "RAM:client.key", key, key_len), QSSL_EINVAL);
    CHECK(qssl_at(m, "ATI", buf, sizeof buf, 2000) > 0);  /* marker */

    /* The module refuses: a file name it does not have (check / delete), after the key went. */
    CHECK_RC(qssl_cert_delete(m, "RAM:no-such.key"), QSSL_EMODEM);
    see_handle(m);
    CHECK_RC(qssl_cert_check(m, "RAM:no-such.key"), QSSL_EMODEM);
    see_handle(m);

    /* The port in transparent data mode: the upload waits for nothing, it is refused. */
    CHECK_RC(qssl_pdp_activate(m, "CMNET", NULL, NULL), QSSL_OK);
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_OK);
    int t = qssl_open_transparent(m, 0, "127.0.0.1", tls_port, 30);
    CHECK(t >= 0);
    if (t >= 0) {
        CHECK_RC(qssl_cert_write(m, "RAM:client.key", key, key_len), QSSL_EBUSY);
        see_handle(m);
        CHECK_RC(qssl_close(m, t), QSSL_OK);
    }
    CHECK_RC(qssl_pdp_deactivate(m), QSSL_OK);
    see_handle(m);

    /* A closed handle. */
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    CHECK_RC(qssl_cert_write(m, "RAM:client.key", key, key_len), QSSL_ECLOSED);
    see_handle(m);
    sim_stop(&s);

    /* The uploads that went out are in the module's log; between the markers nothing was written. */
    CHECK(key_windows_in_log(log) > 0);
    struct simlog l;
    REQUIRE(simlog_read(log, &l) == 0);
    long a = simlog_find(&l, 0, "AT+GSN\r");
    long b = a >= 0 ? simlog_find(&l, (size_t)a, "ATI\r") : -1;
    CHECK(a >= 0 && b > a);
    CHECK(simlog_writes_between(&l, a, b) == 0);
    /* Two QSECWRITEs only: the refused ones never started. */
    size_t writes = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.c[i].to_module && mem_has(l.c[i].b, l.c[i].len, "AT+QSECWRITE=", 13)) writes++;
    CHECK(writes == 2);
    simlog_free(&l);
}

/* The module does not answer the AT+QSECDEL that precedes the upload (the 4th command after AT, ATE0,
 * AT+CMEE=1): a timeout, no key bytes sent; a retry uploads it. */
static void test_timeout(void) {
    char log[512];
    snprintf(log, sizeof log, "%s/secrets-b.log", workdir);
    unlink(log);
    const char *args[] = {"--log", log, "--unanswered", "4", NULL};
    struct sim s;
    REQUIRE(sim_start(&s, sim_bin, args) == 0);
    qssl_modem *m = open_traced(s.pty, 1000);
    CHECK_RC(qssl_cert_write(m, "RAM:client.key", key, key_len), QSSL_ETIMEDOUT);
    CHECK(strstr(qssl_errmsg(m), "QSECDEL") != NULL);  /* the message names the command, not the data */
    see_handle(m);
    char buf[64];
    /* The library keeps the port for the late answer a while (commands time out meanwhile, unsent): wait
     * until it takes commands again. */
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        ok = qssl_at(m, "AT+GSN", buf, sizeof buf, 1000) > 0;
        see_handle(m);
    }
    CHECK(ok);
    size_t t0 = trace_len();
    CHECK_RC(qssl_cert_write(m, "RAM:client.key", key, key_len), QSSL_OK);
    see_handle(m);
    CHECK(qssl_at(m, "ATI", buf, sizeof buf, 2000) > 0);
    trace_sync(t0, "ATI");
    CHECK(redactions(t0, key_len) == 1);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    sim_stop(&s);
    /* The key went once, after the marker. */
    struct simlog l;
    REQUIRE(simlog_read(log, &l) == 0);
    long a = simlog_find(&l, 0, "AT+GSN\r");
    CHECK(a >= 0);
    if (a >= 0) {
        size_t n;
        unsigned char *before = simlog_host_bytes(&l, 0, (size_t)a, &n);
        CHECK(before != NULL && leaks_in(before, n, "the module's log before the retry (should be empty)") == 0);
        free(before);
    }
    simlog_free(&l);
    CHECK(key_windows_in_log(log) > 0);
}

/* The module restarts instead of answering AT+QSECWRITE (the 5th command): the upload fails, no key bytes
 * go out; after the restart a retry uploads it. */
static void test_reset(void) {
    char log[512];
    snprintf(log, sizeof log, "%s/secrets-c.log", workdir);
    unlink(log);
    const char *args[] = {"--log", log, "--reset-instead-of-answer", "5", NULL};
    struct sim s;
    REQUIRE(sim_start(&s, sim_bin, args) == 0);
    qssl_modem *m = open_traced(s.pty, 2000);
    int rc = qssl_cert_write(m, "RAM:client.key", key, key_len);
    CHECK_RC(rc, QSSL_ERESET);
    CHECK(strstr(qssl_errmsg(m), "QSECWRITE") != NULL);
    see_handle(m);
    char buf[64];
    /* The module is back (RDY); the library syncs again on its own. */
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        ok = qssl_at(m, "AT+GSN", buf, sizeof buf, 1000) > 0;
        see_handle(m);
    }
    CHECK(ok);
    size_t t0 = trace_len();
    CHECK_RC(qssl_cert_write(m, "RAM:client.key", key, key_len), QSSL_OK);
    see_handle(m);
    CHECK(qssl_at(m, "ATI", buf, sizeof buf, 2000) > 0);
    trace_sync(t0, "ATI");
    CHECK(redactions(t0, key_len) == 1);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    sim_stop(&s);
    struct simlog l;
    REQUIRE(simlog_read(log, &l) == 0);
    long first_write = -1;
    for (size_t i = 0; i < l.n && first_write < 0; i++)
        if (l.c[i].to_module && mem_has(l.c[i].b, l.c[i].len, "AT+QSECWRITE=", 13)) first_write = (long)i;
    CHECK(first_write >= 0);
    long gsn = simlog_find(&l, 0, "AT+GSN\r");
    CHECK(gsn > first_write);
    if (gsn > first_write) {
        size_t n;
        unsigned char *before = simlog_host_bytes(&l, 0, (size_t)gsn, &n);
        CHECK(before != NULL && leaks_in(before, n, "the module's log around the restart (should be empty)") == 0);
        free(before);
    }
    simlog_free(&l);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s QSSL_SIM TLS_PORT CERT_DIR WORKDIR\n", argv[0]);
        return 2;
    }
    sim_bin = argv[1];
    tls_port = atoi(argv[2]);
    cert_dir = argv[3];
    workdir = argv[4];
    mkdir(workdir, 0700);
    char path[512];
    snprintf(path, sizeof path, "%s/client.key", cert_dir);
    key = tu_read_file(path, &key_len);
    REQUIRE(key_len > 1000 && key_len <= 2025);
    key2_len = 2 * key_len;  /* still nothing but key bytes, too large for NVRAM */
    key2 = malloc(key2_len);
    REQUIRE(key2 != NULL);
    memcpy(key2, key, key_len);
    memcpy(key2 + key_len, key, key_len);
    make_needles(key, key_len);
    trace_init(&tr);

    /* The process's stderr goes to a file while the library handles the key. */
    char errpath[512];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", workdir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(errpath, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    REQUIRE(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);

    test_uploads();
    test_timeout();
    test_reset();

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t errlen;
    unsigned char *err = tu_read_file(errpath, &errlen);
    if (errlen) fwrite(err, 1, errlen, stderr);  /* show what was said (failed checks among it) */

    /* The search. The trace and messages are in `seen`. */
    CHECK(seen_len > 0 && tr.n > 20);
    CHECK(leaks_in(seen, seen_len, "the trace / error messages / event texts") == 0);
    CHECK(leaks_in(err, errlen, "stderr") == 0);
    /* The search finds what it looks for: each kind of needle in the key itself. */
    CHECK(leaks_in(key, key_len, NULL) > 0);
    /* Not even the PEM armour. */
    CHECK(!mem_has(seen, seen_len, "PRIVATE KEY", 11));
    free(err);
    for (size_t i = 0; i < n_needles; i++) free(needles[i]);
    free(needles);
    free(key);
    free(key2);
    free(seen);
    trace_free(&tr);
    return TEST_SUMMARY("test_secrets");
}
