/* API 0.3: why qssl_modem_open failed (distinct codes, qssl_open_errmsg with the path), the 0.2-sized
 * qssl_modem_options still accepted, the PDP supervisor turned on through the options, and upload progress.
 * Usage: test_options <pty of a qssl-sim started with --pdp-deact-after 2> <scratch dir> */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qssl.h"
#include "testutil.h"

static void check_open_fails(const char *path, int want) {
    qssl_modem *m = (qssl_modem *)1;
    char msg[512];
    CHECK_RC(qssl_modem_open(path, NULL, &m), want);
    CHECK(m == NULL);
    int n = qssl_open_errmsg(msg, sizeof msg);
    CHECK(n > 0 && (size_t)n < sizeof msg);
    CHECK(strstr(msg, path) != NULL);
    CHECK(strstr(msg, qssl_strerror(want)) != NULL);
    if (!strstr(msg, path)) fprintf(stderr, "qssl_open_errmsg: %s\n", msg);
}

/* Permission denied needs a user the file's mode shuts out: root may open anything, so as root a child
 * drops to nobody first. */
static void check_permission_denied(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/ttyLOCKED", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0);
    REQUIRE(fd >= 0);
    close(fd);
    chmod(dir, 0755);
    if (geteuid() != 0) {
        check_open_fails(path, QSSL_EACCES);
        return;
    }
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(9);
        check_open_fails(path, QSSL_EACCES);
        _exit(tu_failed == 0 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct progress { size_t calls, first_sent, last_sent, total; int monotonic; };

static void on_progress(qssl_modem *m, size_t sent, size_t total, void *user) {
    (void)m;
    struct progress *p = user;
    if (p->calls == 0) p->first_sent = sent;
    else if (sent < p->last_sent) p->monotonic = 0;
    p->last_sent = sent;
    p->total = total;
    p->calls++;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <pty of qssl-sim --pdp-deact-after 2> <scratch dir>\n", argv[0]);
        return 2;
    }
    const char *device = argv[1], *dir = argv[2];
    char path[512], msg[512];

    /* Each reason has its own code, and the message names the path. */
    snprintf(path, sizeof path, "%s/no-such-tty", dir);
    check_open_fails(path, QSSL_ENOENT);
    snprintf(path, sizeof path, "%s/plain-file", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    check_open_fails(path, QSSL_ENOTTY);
    check_open_fails(dir, QSSL_ENOTTY);  /* a directory */
    check_permission_denied(dir);
    CHECK(strcmp(qssl_strerror(QSSL_EACCES), "permission denied") == 0);
    CHECK(qssl_open_errmsg(NULL, 0) > 0);
    CHECK_RC(qssl_open_errmsg(NULL, 10), QSSL_EINVAL);

    /* A program built against 0.2 calls the plain function with the shorter struct: it must not be written past
     * its end (the macro gives programs built against this header the sized init). */
    struct { unsigned char o[offsetof(qssl_modem_options, reapply_after_reset)]; unsigned char tail[32]; } old;
    memset(&old, 0xAB, sizeof old);
    CHECK_RC((qssl_modem_options_init)((qssl_modem_options *)(void *)&old), QSSL_OK);
    CHECK(((qssl_modem_options *)(void *)&old)->size == sizeof old.o);
    int tail_ok = 1;
    for (size_t i = 0; i < sizeof old.tail; i++) tail_ok &= old.tail[i] == 0xAB;
    CHECK(tail_ok);
    CHECK_RC(qssl_modem_options_init_size((qssl_modem_options *)(void *)&old, 8), QSSL_EINVAL);
    CHECK_RC(qssl_modem_options_init_size(NULL, sizeof(qssl_modem_options)), QSSL_EINVAL);

    /* And a 0.2-sized struct passed to qssl_modem_open: the library must not read past it. */
    qssl_modem_options opts;
    qssl_modem_options_init(&opts);
    CHECK(opts.size == sizeof opts && opts.reapply_after_reset == 0 && opts.supervisor_apn == NULL);
    CHECK(opts.supervisor_interval_ms == 600000 && opts.supervisor_attempts == 3);
    opts.size = (uint32_t)offsetof(qssl_modem_options, reapply_after_reset);
    opts.supervisor_apn = "x\"bad";  /* past the size: never read */
    qssl_modem *m = NULL;
    CHECK_RC(qssl_modem_open(device, &opts, &m), QSSL_OK);
    /* The second opener of a port hears why, with the path. */
    qssl_modem *m2 = NULL;
    CHECK_RC(qssl_modem_open(device, NULL, &m2), QSSL_EBUSY);
    qssl_open_errmsg(msg, sizeof msg);
    CHECK(strstr(msg, device) != NULL);

    /* Upload progress: 0 first, counts as the bytes go out, total once the module confirmed. */
    static unsigned char cert[6000];
    for (size_t i = 0; i < sizeof cert; i++) cert[i] = (unsigned char)('A' + i % 26);
    struct progress p = {0, 99, 0, 0, 1};
    CHECK_RC(qssl_cert_write_progress(m, "RAM:big.pem", cert, sizeof cert, on_progress, &p), QSSL_OK);
    CHECK(p.calls >= 3 && p.first_sent == 0 && p.last_sent == sizeof cert && p.total == sizeof cert && p.monotonic);
    CHECK_RC(qssl_cert_check(m, "RAM:big.pem"), 1);
    CHECK_RC(qssl_cert_write_progress(m, "RAM:big.pem", cert, 100, NULL, NULL), QSSL_OK);
    struct progress none = {0, 0, 0, 0, 1};
    CHECK_RC(qssl_cert_write_progress(m, "BAD:x", cert, 100, on_progress, &none), QSSL_EINVAL);
    CHECK(none.calls == 0);
    /* The global QSSLCFG settings. */
    int v = -9;
    CHECK_RC(qssl_ssl_setting_set(m, QSSL_SETTING_IGNORE_RTC_TIME, 1), QSSL_OK);
    CHECK_RC(qssl_ssl_setting_get(m, QSSL_SETTING_IGNORE_RTC_TIME, &v), QSSL_OK);
    CHECK(v == 1);
    CHECK_RC(qssl_ssl_setting_set(m, QSSL_SETTING_SMTPS_CTX, 4), QSSL_OK);
    CHECK_RC(qssl_ssl_setting_get(m, QSSL_SETTING_SMTPS_CTX, &v), QSSL_OK);
    CHECK(v == 4);
    CHECK_RC(qssl_ssl_setting_set(m, QSSL_SETTING_HTTPS, 2), QSSL_EINVAL);
    CHECK_RC(qssl_ssl_setting_set(m, 2, 1), QSSL_EINVAL);  /* seclevel is per context */
    CHECK_RC(qssl_ssl_setting_get(m, QSSL_SETTING_HTTPS, NULL), QSSL_EINVAL);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);

    /* Bad supervisor settings are refused at open, and leave the port free. */
    qssl_modem_options_init(&opts);
    opts.supervisor_apn = "CMNET";
    opts.supervisor_attempts = 0;
    CHECK_RC(qssl_modem_open(device, &opts, &m), QSSL_EINVAL);

    /* The supervisor: the context comes up without a call from here, and again after +PDP DEACT. */
    qssl_modem_options_init(&opts);
    opts.supervisor_apn = "CMNET";
    opts.supervisor_interval_ms = 300;
    REQUIRE(qssl_modem_open(device, &opts, &m) == QSSL_OK);
    int want[] = {QSSL_EVENT_PDP_ACTIVATED, QSSL_EVENT_PDP_DEACT, QSSL_EVENT_PDP_ACTIVATED};
    size_t got = 0;
    for (int i = 0; i < 300 && got < 3; i++) {
        qssl_event ev;
        ev.size = sizeof ev;
        if (qssl_next_event(m, &ev, 100) == QSSL_OK && ev.type == want[got]) got++;
    }
    CHECK(got == 3);
    CHECK(qssl_pdp_local_ip(m, msg, sizeof msg) > 0);
    CHECK_RC(qssl_modem_close(m), QSSL_OK);
    return TEST_SUMMARY("test_options");
}
