/* poly.c — integer polynomials in B and T (see poly.h). */
#include "poly.h"

#include <stdio.h>
#include <string.h>

dlm_poly dlm_poly_const(int64_t k)
{
    dlm_poly p;
    memset(&p, 0, sizeof p);
    p.c[0][0] = k;
    return p;
}

dlm_poly dlm_poly_B(void)
{
    dlm_poly p = dlm_poly_const(0);
    p.c[1][0] = 1;
    return p;
}

dlm_poly dlm_poly_T(void)
{
    dlm_poly p = dlm_poly_const(0);
    p.c[0][1] = 1;
    return p;
}

dlm_poly dlm_poly_add(dlm_poly a, dlm_poly b)
{
    dlm_poly r = dlm_poly_const(0);
    r.bad = a.bad | b.bad;
    for (int i = 0; i < DLM_POLY_DEG; i++)
        for (int j = 0; j < DLM_POLY_DEG; j++)
            if (__builtin_add_overflow(a.c[i][j], b.c[i][j], &r.c[i][j])) r.bad = 1;
    return r;
}

dlm_poly dlm_poly_sub(dlm_poly a, dlm_poly b)
{
    dlm_poly r = dlm_poly_const(0);
    r.bad = a.bad | b.bad;
    for (int i = 0; i < DLM_POLY_DEG; i++)
        for (int j = 0; j < DLM_POLY_DEG; j++)
            if (__builtin_sub_overflow(a.c[i][j], b.c[i][j], &r.c[i][j])) r.bad = 1;
    return r;
}

dlm_poly dlm_poly_scale(dlm_poly a, int64_t k)
{
    dlm_poly r = a;
    for (int i = 0; i < DLM_POLY_DEG; i++)
        for (int j = 0; j < DLM_POLY_DEG; j++)
            if (__builtin_mul_overflow(a.c[i][j], k, &r.c[i][j])) r.bad = 1;
    return r;
}

dlm_poly dlm_poly_mul(dlm_poly a, dlm_poly b)
{
    dlm_poly r = dlm_poly_const(0);
    r.bad = a.bad | b.bad;
    for (int i = 0; i < DLM_POLY_DEG; i++)
        for (int j = 0; j < DLM_POLY_DEG; j++) {
            if (a.c[i][j] == 0) continue;
            for (int k = 0; k < DLM_POLY_DEG; k++)
                for (int l = 0; l < DLM_POLY_DEG; l++) {
                    int64_t t;
                    if (b.c[k][l] == 0) continue;
                    if (i + k >= DLM_POLY_DEG || j + l >= DLM_POLY_DEG) {
                        r.bad = 1;
                        continue;
                    }
                    if (__builtin_mul_overflow(a.c[i][j], b.c[k][l], &t) ||
                        __builtin_add_overflow(r.c[i + k][j + l], t, &r.c[i + k][j + l]))
                        r.bad = 1;
                }
        }
    return r;
}

int dlm_poly_is_zero(const dlm_poly *p)
{
    for (int i = 0; i < DLM_POLY_DEG; i++)
        for (int j = 0; j < DLM_POLY_DEG; j++)
            if (p->c[i][j] != 0) return 0;
    return 1;
}

int dlm_poly_is_const(const dlm_poly *p)
{
    for (int i = 0; i < DLM_POLY_DEG; i++)
        for (int j = 0; j < DLM_POLY_DEG; j++)
            if ((i || j) && p->c[i][j] != 0) return 0;
    return 1;
}

int dlm_poly_equal(const dlm_poly *a, const dlm_poly *b)
{
    return memcmp(a->c, b->c, sizeof a->c) == 0;
}

int dlm_poly_deg_B(const dlm_poly *p)
{
    for (int i = DLM_POLY_DEG - 1; i >= 0; i--)
        for (int j = 0; j < DLM_POLY_DEG; j++)
            if (p->c[i][j] != 0) return i;
    return -1;
}

int dlm_poly_deg_T(const dlm_poly *p)
{
    for (int j = DLM_POLY_DEG - 1; j >= 0; j--)
        for (int i = 0; i < DLM_POLY_DEG; i++)
            if (p->c[i][j] != 0) return j;
    return -1;
}

int64_t dlm_poly_coef(const dlm_poly *p, int i, int j)
{
    if (i < 0 || j < 0 || i >= DLM_POLY_DEG || j >= DLM_POLY_DEG) return 0;
    return p->c[i][j];
}

int dlm_poly_eval_checked(const dlm_poly *p, int64_t B, int64_t T, int64_t *v)
{
    /* powers are made only as far as a nonzero coefficient needs them, so a
     * large B with no B^3 term does not overflow B^3 */
    int dB = dlm_poly_deg_B(p), dT = dlm_poly_deg_T(p);
    int64_t bp[DLM_POLY_DEG], tp[DLM_POLY_DEG], s = 0;
    int bad = p->bad;
    bp[0] = tp[0] = 1;
    for (int i = 1; i < DLM_POLY_DEG; i++) {
        bp[i] = tp[i] = 0;
        if (i <= dB && __builtin_mul_overflow(bp[i - 1], B, &bp[i])) bad = 1;
        if (i <= dT && __builtin_mul_overflow(tp[i - 1], T, &tp[i])) bad = 1;
    }
    for (int i = 0; i < DLM_POLY_DEG && !bad; i++)
        for (int j = 0; j < DLM_POLY_DEG && !bad; j++) {
            int64_t t;
            if (!p->c[i][j]) continue;
            if (__builtin_mul_overflow(p->c[i][j], bp[i], &t) ||
                __builtin_mul_overflow(t, tp[j], &t) || __builtin_add_overflow(s, t, &s))
                bad = 1;
        }
    if (bad) {
        *v = dlm_poly_evalf(p, (double)B, (double)T) < 0 ? INT64_MIN : INT64_MAX;
        return -1;
    }
    *v = s;
    return 0;
}

int64_t dlm_poly_eval(const dlm_poly *p, int64_t B, int64_t T)
{
    int64_t v;
    dlm_poly_eval_checked(p, B, T, &v);
    return v;
}

double dlm_poly_evalf(const dlm_poly *p, double B, double T)
{
    double s = 0, bp = 1;
    for (int i = 0; i < DLM_POLY_DEG; i++, bp *= B) {
        double tp = 1;
        for (int j = 0; j < DLM_POLY_DEG; j++, tp *= T)
            if (p->c[i][j]) s += (double)p->c[i][j] * bp * tp;
    }
    return s;
}

/* Appends to buf at *len (snprintf-style accounting). */
static void put(char *buf, size_t n, size_t *len, const char *s)
{
    size_t k = strlen(s);
    if (*len < n) {
        size_t room = n - *len - 1;
        memcpy(buf + *len, s, k < room ? k : room);
        buf[*len + (k < room ? k : room)] = '\0';
    }
    *len += k;
}

static void monomial(char *out, size_t n, int i, int j)
{
    char b[16] = "", t[16] = "";
    if (i == 1) snprintf(b, sizeof b, "B");
    else if (i > 1) snprintf(b, sizeof b, "B^%d", i);
    if (j == 1) snprintf(t, sizeof t, "T");
    else if (j > 1) snprintf(t, sizeof t, "T^%d", j);
    snprintf(out, n, "%s%s%s", b, (i && j) ? "*" : "", t);
}

/* Terms in decreasing total degree, B before T: the growth reads first. */
static size_t format_terms(const dlm_poly *p, int scaled, double unit,
                           const char *suffix, char *buf, size_t n)
{
    size_t len = 0;
    int first = 1;
    if (n) buf[0] = '\0';
    for (int d = 2 * (DLM_POLY_DEG - 1); d >= 0; d--)
        for (int i = DLM_POLY_DEG - 1; i >= 0; i--) {
            int j = d - i;
            char mono[40], term[96];
            int64_t c;
            if (j < 0 || j >= DLM_POLY_DEG || (c = p->c[i][j]) == 0) continue;
            monomial(mono, sizeof mono, i, j);
            int neg = c < 0;
            if (!first) put(buf, n, &len, neg ? " - " : " + ");
            else if (neg) put(buf, n, &len, "-");
            uint64_t mag = neg ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
            if (scaled) {
                snprintf(term, sizeof term, "%.4g %s%s%s", (double)mag * unit, suffix,
                         mono[0] ? "*" : "", mono);
            } else if (mono[0] && mag == 1) {
                snprintf(term, sizeof term, "%s", mono);
            } else {
                snprintf(term, sizeof term, "%llu%s%s", (unsigned long long)mag,
                         mono[0] ? "*" : "", mono);
            }
            put(buf, n, &len, term);
            first = 0;
        }
    if (first) put(buf, n, &len, scaled ? "0" : "0");
    if (first && scaled && suffix[0]) {
        put(buf, n, &len, " ");
        put(buf, n, &len, suffix);
    }
    return len;
}

size_t dlm_poly_format(const dlm_poly *p, char *buf, size_t n)
{
    return format_terms(p, 0, 1.0, "", buf, n);
}

size_t dlm_poly_format_scaled(const dlm_poly *p, double unit, const char *suffix,
                              char *buf, size_t n)
{
    return format_terms(p, 1, unit, suffix, buf, n);
}
