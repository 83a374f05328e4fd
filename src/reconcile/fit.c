/* fit.c — polynomial and power-law least squares with GSL (see fit.h).
 *
 * All fits go through gsl_multifit_wlinear (unit weights for an unweighted
 * fit), which returns (X^T W X)^-1; the coefficients' covariance is that
 * matrix times the variance scale chosen by the error model in fit.h.
 */
#include "fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_vector.h>

void dlm_fit_init(void) { gsl_set_error_handler_off(); }

const char *dlm_fit_rule(void)
{
    static char rule[256];
    snprintf(rule, sizeof rule,
             "quadratic if the F-test of the x^2 term gives p < %g and that term makes "
             ">= %g%% of the fitted rise over the range; else linear",
             DLM_FIT_F_ALPHA, 100 * DLM_FIT_MIN_CURVE_SHARE);
    return rule;
}

static dlm_status gsl_fail(int gs, const char *what)
{
    return dlm_error(DLM_ENUMERIC, "GSL %s failed: %s", what, gsl_strerror(gs));
}

/* Weighted linear least squares of y on the columns of X (n x p). */
static dlm_status wls(const gsl_matrix *X, const double *y, const double *w, int n, int p,
                      double *c, double xtwx_inv[3][3], double *chisq_w)
{
    dlm_status st = DLM_OK;
    gsl_vector *vy = gsl_vector_alloc((size_t)n), *vw = gsl_vector_alloc((size_t)n);
    gsl_vector *vc = gsl_vector_alloc((size_t)p);
    gsl_matrix *cov = gsl_matrix_alloc((size_t)p, (size_t)p);
    gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc((size_t)n, (size_t)p);
    if (!vy || !vw || !vc || !cov || !ws) {
        st = dlm_error(DLM_ENOMEM, "out of memory in a least-squares fit");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        gsl_vector_set(vy, (size_t)i, y[i]);
        gsl_vector_set(vw, (size_t)i, w[i]);
    }
    int gs = gsl_multifit_wlinear(X, vw, vy, vc, cov, chisq_w, ws);
    if (gs != GSL_SUCCESS) {
        st = gsl_fail(gs, "gsl_multifit_wlinear");
        goto done;
    }
    for (int a = 0; a < p; a++) {
        c[a] = gsl_vector_get(vc, (size_t)a);
        for (int b = 0; b < p; b++) xtwx_inv[a][b] = gsl_matrix_get(cov, (size_t)a, (size_t)b);
    }
    if (!isfinite(*chisq_w))
        st = dlm_error(DLM_ENUMERIC, "least-squares fit gave a non-finite residual");
done:
    gsl_vector_free(vy);
    gsl_vector_free(vw);
    gsl_vector_free(vc);
    gsl_matrix_free(cov);
    if (ws) gsl_multifit_linear_free(ws);
    return st;
}

dlm_status dlm_fit_poly(const double *x, const double *y, const double *sigma, int n,
                        int degree, double q, dlm_polyfit *out)
{
    dlm_fit_init();
    memset(out, 0, sizeof *out);
    if (degree < 1 || degree > 2)
        return dlm_error(DLM_EINVAL, "polynomial fit: degree %d (valid: 1 or 2)", degree);
    int p = degree + 1;
    if (n < p + 1)
        return dlm_error(DLM_EINVAL, "polynomial fit of degree %d needs at least %d points, got %d",
                         degree, p + 1, n);
    if (!(q > 0)) return dlm_error(DLM_EINVAL, "polynomial fit: resolution %g must be > 0", q);
    double sq = q / sqrt(12.0);
    gsl_matrix *X = gsl_matrix_alloc((size_t)n, (size_t)p);
    double *w = malloc((size_t)n * sizeof *w);
    if (!X || !w) {
        gsl_matrix_free(X);
        free(w);
        return dlm_error(DLM_ENOMEM, "out of memory in a polynomial fit");
    }
    for (int i = 0; i < n; i++) {
        double xp = 1;
        for (int k = 0; k < p; k++, xp *= x[i]) gsl_matrix_set(X, (size_t)i, (size_t)k, xp);
        if (sigma) {
            if (!(sigma[i] > 0) || !isfinite(sigma[i])) {
                gsl_matrix_free(X);
                free(w);
                return dlm_error(DLM_EINVAL, "polynomial fit: sigma[%d] = %g is not positive",
                                 i, sigma[i]);
            }
            double s = sigma[i] > sq ? sigma[i] : sq;
            w[i] = 1.0 / (s * s);
        } else {
            w[i] = 1.0;
        }
    }
    double inv[3][3] = {{0}}, chisq_w;
    dlm_status st = wls(X, y, w, n, p, out->c, inv, &chisq_w);
    gsl_matrix_free(X);
    if (st != DLM_OK) {
        free(w);
        return st;
    }
    out->degree = degree;
    out->n = n;
    out->dof = n - p;
    out->weighted = sigma != NULL;
    /* Residual sums (raw and weighted) and R^2. */
    double sw = 0, swy = 0, ss_res = 0;
    for (int i = 0; i < n; i++) {
        sw += w[i];
        swy += w[i] * y[i];
    }
    double ybar = swy / sw, ss_tot = 0, ss_raw = 0;
    for (int i = 0; i < n; i++) {
        double r = y[i] - dlm_polyfit_eval(out, x[i]);
        ss_res += w[i] * r * r;
        ss_raw += r * r;
        ss_tot += w[i] * (y[i] - ybar) * (y[i] - ybar);
    }
    free(w);
    out->r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
    out->rms = sqrt(ss_raw / out->dof);
    double scale;
    if (out->weighted) {
        out->chisq = chisq_w;
        out->chisq_dof = chisq_w / out->dof;
        scale = out->chisq_dof > 1 ? out->chisq_dof : 1; /* Birge ratio: never shrink */
    } else {
        double s = out->rms > sq ? out->rms : sq;
        out->chisq = ss_raw / (sq * sq);
        out->chisq_dof = out->chisq / out->dof;
        scale = s * s;
    }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) out->cov[a][b] = (a < p && b < p) ? inv[a][b] * scale : 0;
    for (int a = 0; a < 3; a++) out->se[a] = sqrt(out->cov[a][a]);
    out->t95 = gsl_cdf_tdist_Qinv(0.025, (double)out->dof);
    if (!isfinite(out->t95)) return dlm_error(DLM_ENUMERIC, "GSL gsl_cdf_tdist_Qinv failed");
    for (int a = 0; a < p; a++)
        if (!isfinite(out->c[a]) || !isfinite(out->se[a]))
            return dlm_error(DLM_ENUMERIC, "polynomial fit of degree %d is singular "
                             "(too few distinct x values)", degree);
    return DLM_OK;
}

double dlm_polyfit_eval(const dlm_polyfit *f, double x)
{
    return f->c[0] + x * (f->c[1] + x * f->c[2]);
}

double dlm_polyfit_eval_se(const dlm_polyfit *f, double x)
{
    double v[3] = {1, x, x * x}, s = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) s += v[a] * f->cov[a][b] * v[b];
    return s > 0 ? sqrt(s) : 0;
}

dlm_status dlm_fit_power(const double *x, const double *y, int n, dlm_powfit *out)
{
    dlm_fit_init();
    memset(out, 0, sizeof *out);
    if (n < 3) return dlm_error(DLM_EINVAL, "power-law fit needs at least 3 points, got %d", n);
    double *lx = malloc((size_t)n * sizeof *lx), *ly = malloc((size_t)n * sizeof *ly);
    if (!lx || !ly) {
        free(lx);
        free(ly);
        return dlm_error(DLM_ENOMEM, "out of memory in a power-law fit");
    }
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0) || !(y[i] > 0)) {
            free(lx);
            free(ly);
            return dlm_error(DLM_EINVAL, "power-law fit: point %d (x %g, y %g) is not positive",
                             i, x[i], y[i]);
        }
        lx[i] = log(x[i]);
        ly[i] = log(y[i]);
    }
    /* ln y is exact to about 1e-12 relative here: a tiny resolution. */
    dlm_polyfit f;
    dlm_status st = dlm_fit_poly(lx, ly, NULL, n, 1, 1e-12, &f);
    free(lx);
    free(ly);
    if (st != DLM_OK) return dlm_error_context(st, "power law on log-log");
    out->n = n;
    out->dof = f.dof;
    out->k = f.c[1];
    out->k_se = f.se[1];
    out->a = exp(f.c[0]);
    out->a_se = out->a * f.se[0];
    out->r2 = f.r2;
    out->t95 = f.t95;
    return DLM_OK;
}

static int cmp_pair(const void *a, const void *b)
{
    const double *p = a, *q = b;
    return (p[0] > q[0]) - (p[0] < q[0]);
}

dlm_status dlm_fitdata_make(const double *x, const double *y, int n, dlm_fitdata *out)
{
    memset(out, 0, sizeof *out);
    double *pr = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *pr);
    out->x = malloc((size_t)(n > 0 ? n : 1) * sizeof *out->x);
    out->y = malloc((size_t)(n > 0 ? n : 1) * sizeof *out->y);
    out->sigma = malloc((size_t)(n > 0 ? n : 1) * sizeof *out->sigma);
    out->count = malloc((size_t)(n > 0 ? n : 1) * sizeof *out->count);
    if (!pr || !out->x || !out->y || !out->sigma || !out->count) {
        free(pr);
        dlm_fitdata_free(out);
        return dlm_error(DLM_ENOMEM, "out of memory grouping a series");
    }
    for (int i = 0; i < n; i++) {
        pr[2 * i] = x[i];
        pr[2 * i + 1] = y[i];
    }
    qsort(pr, (size_t)n, 2 * sizeof *pr, cmp_pair);
    int all_repeated = n > 0;
    for (int i = 0; i < n;) {
        int j = i;
        double s = 0, ss = 0;
        while (j < n && pr[2 * j] == pr[2 * i]) s += pr[2 * j++ + 1];
        int m = j - i;
        double mean = s / m;
        for (int k = i; k < j; k++) ss += (pr[2 * k + 1] - mean) * (pr[2 * k + 1] - mean);
        int d = out->n++;
        out->x[d] = pr[2 * i];
        out->y[d] = mean;
        out->count[d] = m;
        out->sigma[d] = m > 1 ? sqrt(ss / (m - 1)) / sqrt((double)m) : 0;
        if (m < 2 || out->sigma[d] <= 0) all_repeated = 0;
        i = j;
    }
    free(pr);
    out->weighted = all_repeated;
    if (!all_repeated) {
        free(out->sigma);
        out->sigma = NULL;
    }
    return DLM_OK;
}

void dlm_fitdata_free(dlm_fitdata *d)
{
    free(d->x);
    free(d->y);
    free(d->sigma);
    free(d->count);
    memset(d, 0, sizeof *d);
}

const dlm_polyfit *dlm_fitset_best(const dlm_fitset *f)
{
    return f->degree == 2 ? &f->quad : &f->lin;
}

dlm_status dlm_fit_series(const dlm_fitdata *d, double q, dlm_fitset *out)
{
    memset(out, 0, sizeof *out);
    out->n_distinct = d->n;
    out->F = out->F_p = NAN;
    out->degree = 1;
    if (d->n < DLM_FIT_MIN_POINTS) {
        snprintf(out->reason, sizeof out->reason,
                 "not fitted: %d distinct point%s, a fit needs at least %d", d->n,
                 d->n == 1 ? "" : "s", DLM_FIT_MIN_POINTS);
        return DLM_OK;
    }
    DLM_TRY(dlm_fit_poly(d->x, d->y, d->sigma, d->n, 1, q, &out->lin));
    out->fitted = 1;
    int pos = 1;
    for (int i = 0; i < d->n; i++)
        if (!(d->x[i] > 0) || !(d->y[i] > 0)) pos = 0;
    if (pos) {
        DLM_TRY(dlm_fit_power(d->x, d->y, d->n, &out->pow));
        out->have_pow = 1;
    }
    if (d->n < DLM_FIT_MIN_POINTS_QUAD) {
        snprintf(out->reason, sizeof out->reason,
                 "linear: %d distinct points are too few to test a quadratic (needs %d)", d->n,
                 DLM_FIT_MIN_POINTS_QUAD);
        return DLM_OK;
    }
    DLM_TRY(dlm_fit_poly(d->x, d->y, d->sigma, d->n, 2, q, &out->quad));
    out->have_quad = 1;
    double den = out->quad.chisq_dof > 1 ? out->quad.chisq_dof : 1;
    double dchi = out->lin.chisq - out->quad.chisq;
    if (dchi < 0) dchi = 0;
    out->F = dchi / den;
    out->F_p = gsl_cdf_fdist_Q(out->F, 1.0, (double)out->quad.dof);
    if (!isfinite(out->F_p)) return dlm_error(DLM_ENUMERIC, "GSL gsl_cdf_fdist_Q failed");
    double xmin = d->x[0], xmax = d->x[d->n - 1];
    double t1 = fabs(out->quad.c[1]) * (xmax - xmin);
    double t2 = fabs(out->quad.c[2]) * (xmax * xmax - xmin * xmin);
    out->curve_share = t1 + t2 > 0 ? t2 / (t1 + t2) : 0;
    int quad = out->F_p < DLM_FIT_F_ALPHA && out->curve_share >= DLM_FIT_MIN_CURVE_SHARE;
    out->degree = quad ? 2 : 1;
    snprintf(out->reason, sizeof out->reason,
             "%s: F-test of x^2 p = %.3g (%s %g), x^2 share of the rise %.1f%% (%s %g%%)",
             quad ? "quadratic" : "linear", out->F_p, out->F_p < DLM_FIT_F_ALPHA ? "<" : ">=",
             DLM_FIT_F_ALPHA, 100 * out->curve_share,
             out->curve_share >= DLM_FIT_MIN_CURVE_SHARE ? ">=" : "<",
             100 * DLM_FIT_MIN_CURVE_SHARE);
    return DLM_OK;
}
