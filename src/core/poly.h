/* poly.h — sizes as polynomials in the free input variables.
 *
 * B is the batch size and T the sequence length; image height and width are
 * model parameters (fixed integers), not variables.  A dlm_poly holds integer
 * coefficients c[i][j] of B^i * T^j for i, j < DLM_POLY_DEG, enough for every
 * size a network graph produces (attention scores are B*T^2).  Arithmetic that
 * would need a higher degree or overflow int64 sets the sticky `bad` flag, which
 * the graph checks once, like a NaN, instead of every call returning a status.
 *
 * What it is not: a general computer-algebra system.  No division, no
 * negative powers, no other variables.
 */
#ifndef DLM_POLY_H
#define DLM_POLY_H

#include <stddef.h>
#include <stdint.h>

#define DLM_POLY_DEG 4

typedef struct dlm_poly {
    int64_t c[DLM_POLY_DEG][DLM_POLY_DEG]; /* c[i][j] * B^i * T^j */
    int bad;                               /* degree overflow or int64 overflow */
} dlm_poly;

dlm_poly dlm_poly_const(int64_t k);
dlm_poly dlm_poly_B(void);
dlm_poly dlm_poly_T(void);
dlm_poly dlm_poly_add(dlm_poly a, dlm_poly b);
dlm_poly dlm_poly_sub(dlm_poly a, dlm_poly b);
dlm_poly dlm_poly_scale(dlm_poly a, int64_t k);
dlm_poly dlm_poly_mul(dlm_poly a, dlm_poly b);

int dlm_poly_is_zero(const dlm_poly *p);
int dlm_poly_is_const(const dlm_poly *p);
int dlm_poly_equal(const dlm_poly *a, const dlm_poly *b);
int dlm_poly_deg_B(const dlm_poly *p); /* -1 for the zero polynomial */
int dlm_poly_deg_T(const dlm_poly *p);

/* Value at (B, T); callers pass positive B and T.  _checked returns 0, or -1
 * when the value (or a power of B or T it needs) does not fit in int64 or the
 * polynomial is bad; *v is then INT64_MAX (or INT64_MIN for a negative value).
 * dlm_poly_eval() is the same value without the flag (saturating, never
 * undefined).  The double version never overflows. */
int dlm_poly_eval_checked(const dlm_poly *p, int64_t B, int64_t T, int64_t *v);
int64_t dlm_poly_eval(const dlm_poly *p, int64_t B, int64_t T);
double dlm_poly_evalf(const dlm_poly *p, double B, double T);

/* Coefficient of B^i T^j (0 outside the stored degrees). */
int64_t dlm_poly_coef(const dlm_poly *p, int i, int j);

/* Writes the formula ("12*B*T^2 + 768*B*T + 3", "0") into buf, always
 * NUL-terminated; returns the length the whole formula needs (snprintf-style). */
size_t dlm_poly_format(const dlm_poly *p, char *buf, size_t n);

/* The same, with coefficients scaled by `unit` and printed with `digits`
 * significant digits and a suffix, e.g. unit=1/2^20, "MiB": "3.06 MiB*B". */
size_t dlm_poly_format_scaled(const dlm_poly *p, double unit, const char *suffix,
                              char *buf, size_t n);

#endif
