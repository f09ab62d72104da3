/*
 * Non-ASCII bytes in strings never reach the module, and nothing is rewritten on the way:
 *  1. A module that ignores bit 8 of command-line characters (V.250: only the seven low-order bits count) reads
 *     0xA2 as '"', 0x8D as CR, 0x8A as LF, 0x9A as Ctrl+Z: UTF-8 "\xc2\xa2" (U+00A2) would end a quoted string,
 *     "\xcd\x8d" (U+034D) the command line. Every string that goes into a command is printable ASCII.
 *  2. Invalid UTF-8 from C is refused, not repaired (a repair would send bytes the caller never passed, or
 *     open another file than the device path named).
 * Proof: qssl-sim's byte log holds nothing between the AT+GSN and ATI markers.
 * usage: test_nonascii QSSL_SIM WORKDIR
 */
#include "testutil.h"
#include "simlog.h"
#include <qssl.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    char log[512], link_ok[512], link_repl[512], asked[512];
    mkdir(argv[2], 0700);
    snprintf(log, sizeof log, "%s/nonascii.log", argv[2]);
    unlink(log);
    const char *args[] = {"--log", log, NULL};
    struct sim s;
    REQUIRE(sim_start(&s, argv[1], args) == 0);
    /* Device path: a link named "tty\xef\xbf\xbd" exists, the caller asks for "tty\xff" (no such file). */
    snprintf(link_repl, sizeof link_repl, "%s/tty\xef\xbf\xbd", argv[2]);
    snprintf(asked, sizeof asked, "%s/tty\xff", argv[2]);
    snprintf(link_ok, sizeof link_ok, "%s/tty\xc3\xa9", argv[2]);
    unlink(link_repl);
    unlink(link_ok);
    REQUIRE(symlink(s.pty, link_repl) == 0);
    REQUIRE(symlink(s.pty, link_ok) == 0);
    qssl_modem *m = NULL;
    int rc = qssl_modem_open(asked, NULL, &m);
    CHECK(rc < 0);  /* opens the link named with U+FFFD instead */
    if (rc == QSSL_OK) qssl_modem_close(m);
    REQUIRE(qssl_modem_open(link_ok, NULL, &m) == QSSL_OK);  /* a valid UTF-8 path is fine */
    char buf[64];
    CHECK(qssl_at(m, "AT+GSN", buf, sizeof buf, 2000) > 0);
    CHECK_RC(qssl_cert_check(m, "RAM:a\xc2\xa2" "b"), QSSL_EINVAL);     /* 0xA2 & 0x7F = '"' */
    CHECK_RC(qssl_cert_check(m, "RAM:a\xcd\x8d" "AT"), QSSL_EINVAL);    /* 0x8D & 0x7F = CR */
    CHECK_RC(qssl_cert_check(m, "RAM:caf\xc3\xa9"), QSSL_EINVAL);
    CHECK_RC(qssl_cert_check(m, "RAM:a\xff"), QSSL_EINVAL);             /* sent as EF BF BD */
    CHECK_RC(qssl_pdp_activate(m, "CM\xc2\x9a" "NET", NULL, NULL), QSSL_EINVAL);  /* 0x9A & 0x7F = Ctrl+Z */
    CHECK_RC(qssl_pdp_activate(m, "CMNET", "u\x80", NULL), QSSL_EINVAL);
    qssl_ctx_config cfg;
    qssl_ctx_config_init(&cfg);
    strcpy(cfg.cacert, "RAM:ca\xfe");
    CHECK_RC(qssl_ctx_configure(m, 0, &cfg), QSSL_EINVAL);
    CHECK_RC(qssl_open(m, 0, "h\xc3\xa9.example", 443, 10), QSSL_EINVAL);
    CHECK_RC(qssl_tcp_open(m, "h\xe2\x80\x8a.example", 7, 10), QSSL_EINVAL);  /* U+200A: 0x8A & 0x7F = LF */
    CHECK_RC(qssl_at(m, "AT+X\xff", buf, sizeof buf, 2000), QSSL_EINVAL);       /* sent as EF BF BD */
    CHECK_RC(qssl_at(m, "AT+X\xc2\x8d" "AT+CFUN=0", buf, sizeof buf, 2000), QSSL_EINVAL);
    CHECK(qssl_at(m, "ATI", buf, sizeof buf, 2000) > 0);
    qssl_modem_close(m);
    sim_stop(&s);
    struct simlog l;
    REQUIRE(simlog_read(log, &l) == 0);
    long a = simlog_find(&l, 0, "AT+GSN\r"), b = simlog_find(&l, 0, "ATI\r");
    size_t n = simlog_writes_between(&l, a, b);
    CHECK(n == 0);
    for (long i = a + 1; i < b; i++)
        if (l.c[i].to_module) fprintf(stderr, "sent: %.*s\n", (int)l.c[i].len - 1, (const char *)l.c[i].b);
    simlog_free(&l);
    unlink(link_repl);
    unlink(link_ok);
    return TEST_SUMMARY("test_nonascii");
}
