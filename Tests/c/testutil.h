/* Minimal test harness for the C tests: CHECK counts failures and prints where; every program ends
 * with TEST_SUMMARY(), which prints "<name>: N checks, M failed" and returns the exit status. */
#ifndef QSSL_TESTUTIL_H
#define QSSL_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tu_checks, tu_failed;

#define CHECK(cond) do { \
    tu_checks++; \
    if (!(cond)) { tu_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

/* An expression returning a qssl code must equal `want`. */
#define CHECK_RC(expr, want) do { \
    int tu_rc_ = (expr); \
    tu_checks++; \
    if (tu_rc_ != (want)) { \
        tu_failed++; \
        fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s)\n", __FILE__, __LINE__, #expr, tu_rc_, \
                qssl_strerror(tu_rc_), (want), qssl_strerror(want)); \
    } \
} while (0)

/* A fatal precondition: stop the program (the runner reports it). */
#define REQUIRE(cond) do { \
    tu_checks++; \
    if (!(cond)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); exit(2); } \
} while (0)

#define TEST_SUMMARY(name) ( \
    printf("%s: %d checks, %d failed\n", (name), tu_checks, tu_failed), tu_failed == 0 ? 0 : 1)

/* Reads a whole file; *len gets its size. Exits on error. */
static inline unsigned char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(2); }
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) { fprintf(stderr, "out of memory\n"); exit(2); }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}
#endif
