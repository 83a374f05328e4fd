/* deviation.h — does a measured series follow the law the analytic model
 * predicts, and where it does not, what is the likely cause.
 *
 * Input: a series (series.h), its points collapsed per x and fitted (fit.h),
 * and optionally a prediction for the same points (predict.h fills one from
 * src/analytic/memory.h; tests build them by hand).  Output: a comparison
 * (fitted slope, curvature and intercept beside the formula's, per-point
 * residuals) and findings, each naming the series, the numbers and a cause.
 * What it is not: a fitter (fit.h) or a memory model (src/analytic/): it only
 * judges what those two give it.
 *
 * Findings and their tests (q: the series' resolution; floor: the practical
 * size below which a difference does not matter, max(1 MiB, 1% of the median
 * peak, 3q) — allocator rounding alone moves PyTorch's peak by that much):
 *   flat        the peak moves by <= max(2q, 10% of the predicted rise) over the
 *               range while the formula predicts a rise >= 5q, or the memory
 *               before the run rises by > 2q while the peak moves <= 2q: a peak
 *               statistic never reset between runs.
 *   order       the prediction's own curvature over the range (a quadratic fitted
 *               to the predicted points: the peak may change place inside the
 *               range) makes >= 10% of its rise, the formula has an x^2 term, and
 *               the measured series is linear by fit.h's rule with an x^2
 *               coefficient 3 sigma below the predicted one (with attention:
 *               fused attention ran); or the
 *               predicted x^2 share is < 2% and the measured x^2 term is chosen
 *               and 3 sigma above the predicted one.
 *   slope       residuals (measured - predicted) change over the range by more
 *               than 3 sigma and the floor: a per-sample term missing or extra.
 *   offset      residuals are constant (no slope finding) and their mean differs
 *               from 0 by more than 3 sigma and the floor: hidden workspace,
 *               tensors left from earlier runs, the CUDA context counted.
 *               When the baseline drifts (below) and the prediction has one,
 *               slope and offset judge the run's own memory: peak minus the
 *               memory before the run, against the same difference predicted.
 *   drift       memory before the run grows per unit of x faster than predicted
 *               (or than the input, without a prediction) by 3 sigma and by more
 *               than twice that: tensors from earlier runs still alive.
 *   outlier     externally studentized residual of the chosen fit beyond the
 *               Bonferroni t critical value (two-sided 5% over the points) and a
 *               residual above the floor.
 *   nonmonotonic a larger input measured lower than the previous point by more
 *               than the floor, where the prediction does not also fall.
 * flat and order make slope and offset consequences: those are not repeated.
 */
#ifndef DLM_DEVIATION_H
#define DLM_DEVIATION_H

#include "../core/status.h"
#include "fit.h"
#include "series.h"

#define DLM_DEV_FLOOR_BYTES (1024.0 * 1024.0)
#define DLM_DEV_FLOOR_REL 0.01
#define DLM_DEV_NSIGMA 3.0
#define DLM_DEV_OUTLIER_ALPHA 0.05
#define DLM_DEV_ORDER_SHARE 0.10

/* The analytic model's prediction for a series' points. */
typedef struct dlm_prediction {
    int have;            /* 0: none (why says why) */
    char why[256];
    char what[640];      /* "pytorch profile, sm 90, infer fp32[; set upsample=1]" */
    double *peak;        /* per series point (series->n), bytes */
    double *before;      /* per point, bytes; NULL when not predicted */
    double law[3];       /* the peak formula in the series' variable around the
                            series' middle point: law0 + law1 x + law2 x^2 bytes */
    char formula[512];   /* the peak polynomial in B and T as dlmem prints it */
    double input_per_unit; /* bytes the network's input grows per unit of x
                              (0: unknown) */
} dlm_prediction;

void dlm_prediction_free(dlm_prediction *p);

/* Measured against predicted, for tables and the report. */
typedef struct dlm_compare {
    int have;                       /* a prediction and a fit exist */
    double x_mid;                   /* where slopes are taken */
    double slope_fit, slope_fit_se, slope_pred;
    double curv_fit, curv_fit_se, curv_pred;  /* x^2 coefficients (quadratic fit) */
    int have_curv;
    double icpt_fit, icpt_fit_se, icpt_pred;  /* values at x = 0 */
    double mean_abs_rel, max_abs_rel;         /* |measured - predicted| / predicted */
    double worst_x;
    int have_points;                /* a prediction exists: the errors above are set, fit or not */
} dlm_compare;

typedef enum dlm_finding_kind {
    DLM_FIND_FLAT,
    DLM_FIND_ORDER,
    DLM_FIND_SLOPE,
    DLM_FIND_OFFSET,
    DLM_FIND_DRIFT,
    DLM_FIND_OUTLIER,
    DLM_FIND_NONMONO
} dlm_finding_kind;

const char *dlm_finding_name(dlm_finding_kind k); /* "flat", "order", ... */

typedef struct dlm_finding {
    dlm_finding_kind kind;
    int series;          /* index in the caller's series set */
    double x, y;         /* the point concerned (NaN: the whole series) */
    double measured;     /* the measured quantity the finding is about */
    double predicted;    /* what was expected (NaN: none) */
    char text[768];      /* one sentence: series, numbers, likely cause */
} dlm_finding;

typedef struct dlm_findings {
    dlm_finding *f;
    int n, cap;
} dlm_findings;

void dlm_findings_free(dlm_findings *fs);

/* The practical floor of a series (see above), bytes. */
double dlm_dev_floor(const dlm_series *s);

/* Compares and detects.  `d` and `fit` are the series' collapsed points and
 * their fits (fit->fitted may be 0: only the tests that need no fit run);
 * `pred` may be NULL.  `cmp` may be NULL.  Findings are appended. */
dlm_status dlm_detect(const dlm_series *s, int series_index, const dlm_fitdata *d,
                      const dlm_fitset *fit, const dlm_prediction *pred, dlm_compare *cmp,
                      dlm_findings *out);

#endif
