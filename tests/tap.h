/* tap.h — Test Anything Protocol output for dlmem's C tests.
 *
 * Each check prints "ok N - what" or "not ok N - what" with the values and the
 * source line on failure; tap_done() prints the plan last and returns the exit
 * status, so a crash midway leaves no plan and automake's TAP driver reports an
 * error.  Header-only: every test is one file.
 */
#ifndef DLM_TAP_H
#define DLM_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static void tap_vok(int ok, const char *file, int line, const char *fmt, va_list ap)
{
    printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
    vprintf(fmt, ap);
    printf("\n");
    if (!ok) {
        printf("#   FAILED at %s:%d\n", file, line);
        tap_failed++;
    }
    fflush(stdout);
}

static int tap_ok_at(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), unused));
static int tap_ok_at(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vok(ok, file, line, fmt, ap);
    va_end(ap);
    return ok;
}

#define TAP_OK(cond, ...) tap_ok_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Integers: on failure shows both values. */
#define TAP_EQ(got, want, ...)                                                          \
    do {                                                                                \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                \
        if (!tap_ok_at(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__))             \
            printf("#   got %lld, expected %lld\n", tap_g_, tap_w_);                   \
    } while (0)

/* Strings. */
#define TAP_STREQ(got, want, ...)                                                       \
    do {                                                                                \
        const char *tap_g_ = (got), *tap_w_ = (want);                                   \
        if (!tap_ok_at(tap_g_ && tap_w_ && !strcmp(tap_g_, tap_w_), __FILE__, __LINE__, \
                       __VA_ARGS__))                                                    \
            printf("#   got '%s'\n#   expected '%s'\n", tap_g_ ? tap_g_ : "(null)",      \
                   tap_w_ ? tap_w_ : "(null)");                                         \
    } while (0)

/* Doubles within a relative tolerance (and an absolute floor). */
#define TAP_CLOSE(got, want, rtol, atol, ...)                                           \
    do {                                                                                \
        double tap_g_ = (got), tap_w_ = (want);                                         \
        double tap_e_ = fabs(tap_g_ - tap_w_);                                          \
        int tap_c_ = tap_e_ <= (atol) + (rtol) * fabs(tap_w_);                          \
        if (!tap_ok_at(tap_c_, __FILE__, __LINE__, __VA_ARGS__))                        \
            printf("#   got %.10g, expected %.10g (|diff| %.3g, rtol %g, atol %g)\n",    \
                   tap_g_, tap_w_, tap_e_, (double)(rtol), (double)(atol));             \
    } while (0)

static int tap_done(void) __attribute__((unused));
static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    if (tap_failed) printf("# %d of %d checks FAILED\n", tap_failed, tap_n);
    return tap_failed ? 1 : 0;
}

/* Skips the whole test (TAP plan 1..0 with a reason); exit status 77. */
static void tap_skip_all(const char *why) __attribute__((unused, noreturn));
static void tap_skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);
    exit(77);
}

#endif
