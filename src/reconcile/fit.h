/* fit.h — least-squares fits of one measured series y(x) with GSL: polynomials
 * of degree 1 and 2 (weighted when repeated measurements give a spread) and a
 * power law y = a*x^k fitted on log-log, each with standard errors, chi^2/dof
 * and R^2, and the rule that chooses the degree.
 *
 * What it is not: a general regression library.  x is a batch size or a
 * sequence length (positive), y is bytes; at most degree 2.
 *
 * Error model.  A series point is exact up to its resolution q (bytes: 1 for
 * dlmem's runtime, 512 for PyTorch's allocator, 0.01 MiB for a table printed with
 * two decimals), i.e. sigma_q = q/sqrt(12).  Weighted fits use the standard error
 * of the mean of repeated measurements (floored at sigma_q); unweighted fits
 * estimate sigma from the residuals (floored at sigma_q), which also scales the
 * coefficients' standard errors.  chi^2/dof is computed with the weighted sigmas,
 * or with sigma_q for an unweighted fit: it says whether the law reproduces the
 * data within its precision (chi^2/dof >> 1: it does not).
 *
 * GSL's abort-on-error handler is turned off by dlm_fit_init(); every GSL
 * status is checked and becomes DLM_ENUMERIC with the routine named.
 */
#ifndef DLM_FIT_H
#define DLM_FIT_H

#include "../core/status.h"

/* The smallest number of distinct x values a series needs to be fitted at all
 * (a line with one degree of freedom left), and for the quadratic. */
#define DLM_FIT_MIN_POINTS 3
#define DLM_FIT_MIN_POINTS_QUAD 4

/* Degree choice: the quadratic is chosen when the F-test of the extra term
 * rejects the line at this level AND the quadratic term makes at least this
 * share of the fitted rise over the measured range (so that allocator rounding,
 * significant but tiny, does not count as curvature). */
#define DLM_FIT_F_ALPHA 0.01
#define DLM_FIT_MIN_CURVE_SHARE 0.02

/* Turns GSL's abort handler off (idempotent).  Every entry point calls it. */
void dlm_fit_init(void);

typedef struct dlm_polyfit {
    int degree;        /* 1 or 2 */
    int n, dof;        /* points used, n - (degree + 1) */
    int weighted;      /* 1: sigma per point from repeated measurements */
    double c[3];       /* y = c0 + c1 x + c2 x^2 (c2 = 0 for degree 1) */
    double se[3];      /* standard errors */
    double t95;        /* Student t quantile (two-sided 95%, dof): the 95% confidence
                          interval of c[k] is c[k] +/- t95 * se[k] */
    double cov[3][3];  /* covariance of the coefficients (scaled like se) */
    double chisq;      /* sum of squared weighted residuals (sigma as above) */
    double chisq_dof;  /* chisq / dof */
    double rms;        /* residual standard deviation estimate, y units */
    double r2;         /* coefficient of determination (weighted where weighted) */
} dlm_polyfit;

typedef struct dlm_powfit {
    int n, dof;
    double a, a_se;    /* y = a * x^k; a's error propagated from ln a */
    double k, k_se;    /* the exponent and its standard error */
    double t95;        /* 95% interval of k: k +/- t95 * k_se */
    double r2;         /* on log-log */
} dlm_powfit;

/* Degree 1 or 2 through (x[i], y[i]); sigma may be NULL (unweighted) or hold a
 * positive standard error per point; q is the resolution (> 0).  Needs
 * n >= degree + 2 distinct-x points: else DLM_EINVAL. */
dlm_status dlm_fit_poly(const double *x, const double *y, const double *sigma, int n,
                        int degree, double q, dlm_polyfit *out);

/* Power law on (ln x, ln y); x and y must be positive (else DLM_EINVAL).
 * Needs n >= 3. */
dlm_status dlm_fit_power(const double *x, const double *y, int n, dlm_powfit *out);

/* Value and standard error of a fit at x (from the covariance). */
double dlm_polyfit_eval(const dlm_polyfit *f, double x);
double dlm_polyfit_eval_se(const dlm_polyfit *f, double x);

/* A series' points collapsed to one per distinct x: mean, and the standard
 * error of the mean where every x was measured at least twice with a spread
 * (weighted = 1), else no sigma (weighted = 0, and the means are the values). */
typedef struct dlm_fitdata {
    int n;             /* distinct x values */
    double *x, *y;     /* sorted by x */
    double *sigma;     /* NULL when unweighted */
    int *count;        /* raw points per x */
    int weighted;
} dlm_fitdata;

dlm_status dlm_fitdata_make(const double *x, const double *y, int n, dlm_fitdata *out);
void dlm_fitdata_free(dlm_fitdata *d);

/* Everything fitted for one series, and the chosen degree with its reason. */
typedef struct dlm_fitset {
    int fitted;        /* 0: too short (n < DLM_FIT_MIN_POINTS distinct x) */
    int n_distinct;
    dlm_polyfit lin, quad;
    int have_quad;     /* n_distinct >= DLM_FIT_MIN_POINTS_QUAD */
    dlm_powfit pow;
    int have_pow;      /* all x, y > 0 */
    int degree;        /* chosen: 1 or 2 */
    double F, F_p;     /* F statistic of the x^2 term and its p-value (NaN: no quad) */
    double curve_share;/* |c2| (xmax^2 - xmin^2) / |fitted rise| of the quadratic */
    char reason[256];  /* the rule and its numbers, one sentence */
} dlm_fitset;

/* Fits degree 1, 2 (when possible) and the power law, and chooses the degree
 * by the rule above.  A series with too few distinct x is not an error:
 * fitted = 0 and reason says so. */
dlm_status dlm_fit_series(const dlm_fitdata *d, double q, dlm_fitset *out);

/* The chosen fit. */
const dlm_polyfit *dlm_fitset_best(const dlm_fitset *f);

/* The degree-choice rule, one sentence, for output. */
const char *dlm_fit_rule(void);

#endif
