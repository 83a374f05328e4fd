/* deviation.c — comparing a fitted series with its prediction and naming
 * what deviates (the tests and thresholds are documented in deviation.h). */
#include "deviation.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#define MIB (1024.0 * 1024.0)

const char *dlm_finding_name(dlm_finding_kind k)
{
    switch (k) {
    case DLM_FIND_FLAT: return "flat";
    case DLM_FIND_ORDER: return "order";
    case DLM_FIND_SLOPE: return "slope";
    case DLM_FIND_OFFSET: return "offset";
    case DLM_FIND_DRIFT: return "drift";
    case DLM_FIND_OUTLIER: return "outlier";
    case DLM_FIND_NONMONO: return "nonmonotonic";
    }
    return "?";
}

void dlm_prediction_free(dlm_prediction *p)
{
    if (!p) return;
    free(p->peak);
    free(p->before);
    p->peak = p->before = NULL;
    p->have = 0;
}

void dlm_findings_free(dlm_findings *fs)
{
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}

static dlm_status add(dlm_findings *out, dlm_finding_kind k, int series, double x, double y,
                      double measured, double predicted, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static dlm_status add(dlm_findings *out, dlm_finding_kind k, int series, double x, double y,
                      double measured, double predicted, const char *fmt, ...)
{
    if (out->n == out->cap) {
        int nc = out->cap ? 2 * out->cap : 16;
        dlm_finding *nf = realloc(out->f, (size_t)nc * sizeof *nf);
        if (!nf) return dlm_error(DLM_ENOMEM, "out of memory");
        out->f = nf;
        out->cap = nc;
    }
    dlm_finding *f = &out->f[out->n++];
    f->kind = k;
    f->series = series;
    f->x = x;
    f->y = y;
    f->measured = measured;
    f->predicted = predicted;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
    return DLM_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double p = *(const double *)a, q = *(const double *)b;
    return (p > q) - (p < q);
}

double dlm_dev_floor(const dlm_series *s)
{
    double med = 0;
    if (s->n > 0) {
        double *v = malloc((size_t)s->n * sizeof *v);
        if (v) {
            memcpy(v, s->peak, (size_t)s->n * sizeof *v);
            qsort(v, (size_t)s->n, sizeof *v, cmp_double);
            med = v[s->n / 2];
            free(v);
        }
    }
    double f = DLM_DEV_FLOOR_BYTES;
    if (DLM_DEV_FLOOR_REL * med > f) f = DLM_DEV_FLOOR_REL * med;
    if (3 * s->resolution > f) f = 3 * s->resolution;
    return f;
}

/* A series' raw points ordered by (x, position), so that the points at one x
 * are found by binary search: per-x lookups stay n log n in the points (a
 * linear scan per distinct x made 100,000 points take minutes). */
typedef struct xpt {
    double x;
    int i;
} xpt;

typedef struct xmap {
    const dlm_series *s;
    xpt *p;
} xmap;

static int cmp_xpt(const void *a, const void *b)
{
    const xpt *u = a, *v = b;
    if (u->x != v->x) return u->x < v->x ? -1 : 1;
    return (u->i > v->i) - (u->i < v->i);
}

/* First entry with x >= `x` (n when none). */
static int xmap_lower(const xmap *m, double x)
{
    int lo = 0, hi = m->s->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (m->p[mid].x < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Predicted value at a distinct x (from the first raw point there). */
static double pred_at(const xmap *m, const double *v, double x)
{
    int k = xmap_lower(m, x);
    return k < m->s->n && m->p[k].x == x ? v[m->p[k].i] : NAN;
}

/* Mean memory before the run over the raw points at x (NaN when none). */
static double before_mean(const xmap *m, double x)
{
    double sum = 0;
    int n = 0;
    for (int k = xmap_lower(m, x); k < m->s->n && m->p[k].x == x; k++, n++)
        sum += m->s->before[m->p[k].i];
    return n ? sum / n : NAN;
}

/* "12.40 MiB" with a sign when asked. */
static const char *mib(char *buf, size_t n, double bytes, int sign)
{
    snprintf(buf, n, sign ? "%+.2f MiB" : "%.2f MiB", bytes / MIB);
    return buf;
}

static const char *unit_word(const dlm_series *s)
{
    return s->xvar == DLM_X_BATCH ? "sample" : "step of T";
}

/* Share of a law's x^2 term in its rise over [a, b]. */
static double curve_share(double c1, double c2, double a, double b)
{
    double t1 = fabs(c1) * (b - a), t2 = fabs(c2) * (b * b - a * a);
    return t1 + t2 > 0 ? t2 / (t1 + t2) : 0;
}

static dlm_status detect_drift(const dlm_series *s, const xmap *xm, int si,
                               const dlm_fitdata *d, const dlm_prediction *p, double floor,
                               dlm_findings *out, int *found)
{
    *found = 0;
    if (!s->before || d->n < 2) return DLM_OK;
    double expect = NAN;
    const char *expect_what = "the input";
    if (p && p->have && p->before) {
        double b0 = pred_at(xm, p->before, d->x[0]), b1 = pred_at(xm, p->before, d->x[d->n - 1]);
        expect = (b1 - b0) / (d->x[d->n - 1] - d->x[0]);
        expect_what = "the predicted resident memory (weights, buffers, input)";
    } else if (p && p->input_per_unit > 0) {
        expect = p->input_per_unit;
    }
    if (isnan(expect)) return DLM_OK;
    /* before per distinct x */
    double *bx = malloc((size_t)d->n * sizeof *bx), *by = malloc((size_t)d->n * sizeof *by);
    if (!bx || !by) {
        free(bx);
        free(by);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int k = 0; k < d->n; k++) {
        bx[k] = d->x[k];
        by[k] = before_mean(xm, d->x[k]);
    }
    double slope, se;
    if (d->n >= DLM_FIT_MIN_POINTS) {
        dlm_polyfit f;
        dlm_status st = dlm_fit_poly(bx, by, NULL, d->n, 1, s->resolution, &f);
        if (st != DLM_OK) {
            free(bx);
            free(by);
            return dlm_error_context(st, "fitting the memory before the run");
        }
        slope = f.c[1];
        se = f.se[1];
    } else {
        slope = (by[1] - by[0]) / (bx[1] - bx[0]);
        se = s->resolution / (bx[1] - bx[0]);
    }
    double range = bx[d->n - 1] - bx[0], rise = slope * range;
    dlm_status st = DLM_OK;
    if (slope - expect > DLM_DEV_NSIGMA * se && slope > 2 * expect &&
        (slope - expect) * range > 2 * s->resolution && (slope - expect) * range > floor / 4) {
        *found = 1;
        char a[32], b[32], c[32];
        snprintf(a, sizeof a, "%.3g MiB", slope / MIB);
        snprintf(b, sizeof b, "%.3g MiB", se / MIB);
        snprintf(c, sizeof c, "%.3g MiB", expect / MIB);
        st = add(out, DLM_FIND_DRIFT, si, NAN, NAN, slope, expect,
                 "memory before the run grows %s (standard error %s) per %s (%s over %s %g..%g) while %s "
                 "grows %s per %s: tensors from earlier runs are still alive (outputs or "
                 "inputs kept referenced between points)",
                 a, b, unit_word(s), mib((char[32]){0}, 32, rise, 1),
                 dlm_xvar_letter(s->xvar), bx[0], bx[d->n - 1], expect_what, c, unit_word(s));
    }
    free(bx);
    free(by);
    return st;
}

/* Externally studentized residuals of the chosen fit (leave-one-out sigma). */
static dlm_status detect_outliers(const dlm_series *s, int si, const dlm_fitdata *d,
                                  const dlm_fitset *fs, double floor, dlm_findings *out)
{
    const dlm_polyfit *f = dlm_fitset_best(fs);
    int p = f->degree + 1, n = d->n, nu = f->dof - 1;
    if (nu < 1) return DLM_OK;
    double sq = s->resolution / sqrt(12.0);
    /* unscaled (X^T W X)^-1 from the covariance: cov = inv * scale */
    double scale;
    if (f->weighted) scale = f->chisq_dof > 1 ? f->chisq_dof : 1;
    else {
        double sr = f->rms > sq ? f->rms : sq;
        scale = sr * sr;
    }
    double ss = 0;
    double *e = malloc((size_t)n * sizeof *e), *h = malloc((size_t)n * sizeof *h);
    double *w = malloc((size_t)n * sizeof *w);
    if (!e || !h || !w) {
        free(e);
        free(h);
        free(w);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        double v[3] = {1, d->x[i], d->x[i] * d->x[i]}, q = 0;
        double sg = d->sigma ? (d->sigma[i] > sq ? d->sigma[i] : sq) : 1;
        w[i] = 1 / (sg * sg);
        for (int a = 0; a < p; a++)
            for (int b = 0; b < p; b++) q += v[a] * f->cov[a][b] / scale * v[b];
        h[i] = w[i] * q;
        e[i] = d->y[i] - dlm_polyfit_eval(f, d->x[i]);
        ss += w[i] * e[i] * e[i];
    }
    double tcrit = gsl_cdf_tdist_Qinv(DLM_DEV_OUTLIER_ALPHA / (2.0 * n), (double)nu);
    dlm_status st = DLM_OK;
    if (!isfinite(tcrit)) st = dlm_error(DLM_ENUMERIC, "GSL gsl_cdf_tdist_Qinv failed");
    for (int i = 0; i < n && st == DLM_OK; i++) {
        if (h[i] >= 1 - 1e-9) continue;
        double ri = w[i] * e[i] * e[i] / (1 - h[i]);
        double s2 = (ss - ri) / nu;
        double floor2 = d->sigma ? 1 : sq * sq; /* weighted units: sigma = 1 */
        if (s2 < floor2) s2 = floor2;
        double t = sqrt(w[i]) * e[i] / sqrt(s2 * (1 - h[i]));
        if (fabs(t) > tcrit && fabs(e[i]) > floor) {
            char a[32];
            st = add(out, DLM_FIND_OUTLIER, si, d->x[i], d->y[i], d->y[i],
                     dlm_polyfit_eval(f, d->x[i]),
                     "the point %s=%g lies %s from the %s fit (studentized residual %.1f, "
                     "critical %.1f): a one-off disturbance (another process, a different "
                     "algorithm or workspace chosen at this size) — measure it again",
                     dlm_xvar_letter(s->xvar), d->x[i], mib(a, sizeof a, e[i], 1),
                     f->degree == 2 ? "quadratic" : "linear", t, tcrit);
        }
    }
    free(e);
    free(h);
    free(w);
    return st;
}

static dlm_status detect(const dlm_series *s, const xmap *xm, int si, const dlm_fitdata *d,
                         const dlm_fitset *fs, const dlm_prediction *p, dlm_compare *cmp,
                         dlm_findings *out);

dlm_status dlm_detect(const dlm_series *s, int si, const dlm_fitdata *d, const dlm_fitset *fs,
                      const dlm_prediction *p, dlm_compare *cmp, dlm_findings *out)
{
    xmap xm = {s, malloc((size_t)(s->n > 0 ? s->n : 1) * sizeof *xm.p)};
    if (!xm.p) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < s->n; i++) xm.p[i] = (xpt){s->x[i], i};
    qsort(xm.p, (size_t)s->n, sizeof *xm.p, cmp_xpt);
    dlm_status st = detect(s, &xm, si, d, fs, p, cmp, out);
    free(xm.p);
    return st;
}

static dlm_status detect(const dlm_series *s, const xmap *xm, int si, const dlm_fitdata *d,
                         const dlm_fitset *fs, const dlm_prediction *p, dlm_compare *cmp,
                         dlm_findings *out)
{
    dlm_compare dummy;
    if (!cmp) cmp = &dummy;
    memset(cmp, 0, sizeof *cmp);
    const dlm_prediction *pin = p; /* the input's growth is known even without a prediction */
    if (p && !p->have) p = NULL;
    double floor = dlm_dev_floor(s), q = s->resolution;
    if (d->n < 2) return DLM_OK;
    double x0 = d->x[0], x1 = d->x[d->n - 1];
    double ymin = d->y[0], ymax = d->y[0];
    for (int k = 1; k < d->n; k++) {
        if (d->y[k] < ymin) ymin = d->y[k];
        if (d->y[k] > ymax) ymax = d->y[k];
    }
    double mrise = ymax - ymin;
    char a[32], b[32], c[32];
    int flat = 0, order = 0;

    /* ---- flat ---------------------------------------------------------------- */
    double prise = NAN;
    if (p) prise = pred_at(xm, p->peak, x1) - pred_at(xm, p->peak, x0);
    double brise = NAN;
    if (s->before) {
        brise = before_mean(xm, x1) - before_mean(xm, x0);
    }
    int pred_flat = p && prise >= 5 * q && mrise <= 2 * q + 0.1 * prise;
    int base_flat = brise > 2 * q && mrise <= 2 * q;
    if (pred_flat || base_flat) {
        flat = 1;
        char why[256] = "";
        if (pred_flat)
            snprintf(why, sizeof why, "the formula predicts a rise of %s",
                     mib(c, sizeof c, prise, 0));
        if (base_flat)
            snprintf(why + strlen(why), sizeof why - strlen(why),
                     "%sthe memory before the run itself rises %s (a peak that does not follow "
                     "its own baseline is stale)", pred_flat ? ", and " : "",
                     mib((char[32]){0}, 32, brise, 0));
        DLM_TRY(add(out, DLM_FIND_FLAT, si, NAN, ymax, mrise, p ? prise : NAN,
                    "the peak stays at %s (it moves %s) for %s %g..%g while %s: the peak "
                    "statistic was not reset between runs (torch.cuda.reset_peak_memory_stats() "
                    "before each point), so every point reports an earlier, larger run's peak",
                    mib(a, sizeof a, ymax, 0), mib(b, sizeof b, mrise, 0),
                    dlm_xvar_letter(s->xvar), x0, x1, why));
    }

    /* ---- comparison with the formula ----------------------------------------- */
    if (p && fs->fitted) {
        const dlm_polyfit *f = dlm_fitset_best(fs);
        cmp->have = 1;
        cmp->x_mid = 0.5 * (x0 + x1);
        cmp->slope_fit = f->c[1] + 2 * f->c[2] * cmp->x_mid;
        cmp->slope_fit_se = sqrt(f->cov[1][1] + 4 * cmp->x_mid * f->cov[1][2] +
                                 4 * cmp->x_mid * cmp->x_mid * f->cov[2][2]);
        cmp->slope_pred = p->law[1] + 2 * p->law[2] * cmp->x_mid;
        cmp->have_curv = fs->have_quad;
        if (fs->have_quad) {
            cmp->curv_fit = fs->quad.c[2];
            cmp->curv_fit_se = fs->quad.se[2];
        }
        cmp->curv_pred = p->law[2];
        cmp->icpt_fit = f->c[0];
        cmp->icpt_fit_se = f->se[0];
        cmp->icpt_pred = p->law[0];
    }
    /* measured against predicted point by point: also for a series too short
     * to fit (two points are still two comparisons) */
    if (p) {
        double sum = 0;
        int m = 0;
        for (int i = 0; i < s->n; i++) {
            if (!(p->peak[i] > 0)) continue;
            double r = fabs(s->peak[i] - p->peak[i]) / p->peak[i];
            sum += r;
            m++;
            if (r >= cmp->max_abs_rel) {
                cmp->max_abs_rel = r;
                cmp->worst_x = s->x[i];
            }
        }
        cmp->mean_abs_rel = m ? sum / m : 0;
        cmp->have_points = m > 0;
    }

    /* ---- order ----------------------------------------------------------------- */
    if (p && fs->fitted && fs->have_quad && !flat) {
        /* the prediction's own curvature over the range (the peak may change place
         * within the range, so the law at the middle point is not enough) */
        double *pv = malloc((size_t)d->n * sizeof *pv);
        if (!pv) return dlm_error(DLM_ENOMEM, "out of memory");
        for (int k = 0; k < d->n; k++) pv[k] = pred_at(xm, p->peak, d->x[k]);
        dlm_polyfit pq;
        dlm_status st = dlm_fit_poly(d->x, pv, NULL, d->n, 2, q, &pq);
        free(pv);
        if (st != DLM_OK) return dlm_error_context(st, "fitting the prediction");
        double pshare = curve_share(pq.c[1], pq.c[2], x0, x1);
        const dlm_polyfit *qf = &fs->quad;
        int attn = s->attention[0] && s->xvar == DLM_X_SEQ;
        const char *L = dlm_xvar_letter(s->xvar);
        /* "quadratic predicted" needs a true x^2 term in the formula, not only a
         * kink where the peak changes place */
        if (pshare >= DLM_DEV_ORDER_SHARE && pq.c[2] > 0 && p->law[2] > 0 && fs->degree == 1 &&
            qf->c[2] < pq.c[2] - DLM_DEV_NSIGMA * qf->se[2]) {
            order = 1;
            DLM_TRY(add(out, DLM_FIND_ORDER, si, NAN, NAN, qf->c[2], pq.c[2],
                        "quadratic predicted, linear measured: the predicted peaks curve with "
                        "%.4g B per %s^2 (%.0f%% of their rise over %g..%g), the measured ones "
                        "with %.4g (standard error %.2g) B per %s^2 (%s): %s",
                        pq.c[2], L, 100 * pshare, x0, x1, qf->c[2], qf->se[2], L, fs->reason,
                        attn ? "the T^2 attention scores are not materialised — fused attention "
                               "(SDPA/flash) ran, not eager"
                             : "a term the model keeps alive at the peak grows with the square of "
                               "the input, and the framework frees it earlier or never makes it"));
        } else if (pshare < DLM_FIT_MIN_CURVE_SHARE && fs->degree == 2 &&
                   qf->c[2] > pq.c[2] + DLM_DEV_NSIGMA * qf->se[2]) {
            order = 1;
            DLM_TRY(add(out, DLM_FIND_ORDER, si, NAN, NAN, qf->c[2], pq.c[2],
                        "linear predicted, quadratic measured: the measured peaks curve with "
                        "%.4g (standard error %.2g) B per %s^2 (%s), the predicted ones with %.4g: %s",
                        qf->c[2], qf->se[2], L, fs->reason, pq.c[2],
                        attn ? "eager attention materialised B*heads*T^2 scores where fused was "
                               "assumed, or memory accumulates from point to point"
                             : "memory grows faster than the input — a library workspace or "
                               "caching-allocator blocks that grow with the size (cuDNN picks "
                               "algorithms per size), or memory accumulating from point to "
                               "point"));
        }
    }

    /* ---- drift (before slope and offset: a drifting baseline is taken out) ------ */
    int drift = 0;
    DLM_TRY(detect_drift(s, xm, si, d, pin, floor, out, &drift));
    int above_base = drift && p && p->before;

    /* ---- slope and offset from the residuals ------------------------------------ */
    if (p && !flat && !order && d->n >= 2) {
        double *rx = malloc((size_t)d->n * sizeof *rx), *ry = malloc((size_t)d->n * sizeof *ry);
        double *rp = malloc((size_t)d->n * sizeof *rp);
        if (!rx || !ry || !rp) {
            free(rx);
            free(ry);
            free(rp);
            return dlm_error(DLM_ENOMEM, "out of memory");
        }
        int m = 0;
        for (int k = 0; k < d->n; k++) {
            double pv = pred_at(xm, p->peak, d->x[k]);
            if (isnan(pv)) continue;
            double r = d->y[k] - pv;
            if (above_base) {
                /* the run's own memory: peak minus what was resident before it */
                r -= before_mean(xm, d->x[k]) - pred_at(xm, p->before, d->x[k]);
                pv -= pred_at(xm, p->before, d->x[k]);
            }
            rx[m] = d->x[k];
            rp[m] = pv;
            ry[m++] = r;
        }
        /* the predicted peaks' own slope over these points, as the residuals' is
         * fitted: where the peak moves from one phase to another inside the range
         * (a training step's optimizer at small B, its backward at large B), the
         * formula's law at one point is not the series' slope */
        double pslope = NAN;
        if (m >= 2) {
            double mx = 0, mp = 0, sxx = 0, sxp = 0;
            for (int k = 0; k < m; k++) {
                mx += rx[k];
                mp += rp[k];
            }
            mx /= m;
            mp /= m;
            for (int k = 0; k < m; k++) {
                sxx += (rx[k] - mx) * (rx[k] - mx);
                sxp += (rx[k] - mx) * (rp[k] - mp);
            }
            if (sxx > 0) pslope = sxp / sxx;
        }
        free(rp);
        double slope = 0, slope_se = q, mean = 0, mean_se = q;
        dlm_status st = DLM_OK;
        if (m >= DLM_FIT_MIN_POINTS) {
            dlm_polyfit rf;
            st = dlm_fit_poly(rx, ry, NULL, m, 1, q, &rf);
            if (st == DLM_OK) {
                slope = rf.c[1];
                slope_se = rf.se[1];
                double xm = 0;
                for (int k = 0; k < m; k++) xm += rx[k];
                xm /= m;
                mean = dlm_polyfit_eval(&rf, xm);
                mean_se = dlm_polyfit_eval_se(&rf, xm);
            }
        } else if (m == 2) {
            slope = (ry[1] - ry[0]) / (rx[1] - rx[0]);
            slope_se = q / (rx[1] - rx[0]);
            mean = 0.5 * (ry[0] + ry[1]);
            mean_se = q;
        }
        double rr = m ? rx[m - 1] - rx[0] : 0;
        free(rx);
        free(ry);
        if (st != DLM_OK) return dlm_error_context(st, "fitting the residuals");
        if (m >= 2 && fabs(slope) > DLM_DEV_NSIGMA * slope_se && fabs(slope) * rr > floor) {
            double ps = pslope;
            if (isnan(ps)) {
                ps = cmp->have ? cmp->slope_pred : p->law[1];
                if (above_base)
                    ps -= (pred_at(xm, p->before, x1) - pred_at(xm, p->before, x0)) / (x1 - x0);
            }
            DLM_TRY(add(out, DLM_FIND_SLOPE, si, NAN, NAN, ps + slope, ps,
                        "the measured peak%s grows %.4g MiB per %s, the formula %.4g MiB (residual "
                        "slope %+.4g MiB, standard error %.2g, %s over %s %g..%g): a per-%s term is %s the "
                        "model (saved tensors, a workspace or allocator blocks that scale with %s)",
                        above_base ? " above the memory resident before the run" : "",
                        (ps + slope) / MIB, unit_word(s), ps / MIB, slope / MIB, slope_se / MIB,
                        mib(a, sizeof a, slope * rr, 1), dlm_xvar_letter(s->xvar), x0, x1,
                        unit_word(s), slope > 0 ? "missing from" : "counted in excess by",
                        dlm_xvar_letter(s->xvar)));
        } else if (m >= 2 && fabs(mean) > DLM_DEV_NSIGMA * mean_se && fabs(mean) > floor) {
            DLM_TRY(add(out, DLM_FIND_OFFSET, si, NAN, NAN, mean, 0,
                        "measured peaks%s are a constant %s (standard error %s) %s the prediction over %s "
                        "%g..%g: %s",
                        above_base ? " above the memory resident before the run" : "",
                        mib(a, sizeof a, fabs(mean), 0), mib(b, sizeof b, mean_se, 0),
                        mean > 0 ? "above" : "below", dlm_xvar_letter(s->xvar), x0, x1,
                        mean > 0 ? "memory the model does not count is resident — a hidden "
                                   "library workspace, tensors left from earlier runs, or the "
                                   "CUDA context counted in the measurement"
                                 : "the model counts memory that was not allocated — "
                                   "weights shared or not on the GPU, a workspace not used"));
        }
    }

    /* ---- outliers, non-monotonic points --------------------------------------------- */
    if (fs->fitted && !flat) DLM_TRY(detect_outliers(s, si, d, fs, floor, out));
    for (int k = 1; k < d->n; k++) {
        double drop = d->y[k - 1] - d->y[k];
        if (drop <= floor) continue;
        if (p) {
            double p0 = pred_at(xm, p->peak, d->x[k - 1]), p1 = pred_at(xm, p->peak, d->x[k]);
            if (p1 < p0 - floor / 2) continue;
        }
        DLM_TRY(add(out, DLM_FIND_NONMONO, si, d->x[k], d->y[k], d->y[k], d->y[k - 1],
                    "at %s=%g the peak is %s, %s below %s=%g although the input is larger: the "
                    "points were not measured under one protocol (a different algorithm or "
                    "workspace, memory freed or kept between runs)",
                    dlm_xvar_letter(s->xvar), d->x[k], mib(a, sizeof a, d->y[k], 0),
                    mib(b, sizeof b, drop, 0), dlm_xvar_letter(s->xvar), d->x[k - 1]));
    }
    return DLM_OK;
}
