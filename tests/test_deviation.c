/* test_deviation.c — deviation detection on planted faults: each kind of fault
 * planted into a synthetic series is found (and named), and clean series with
 * realistic noise give no finding at all.
 *
 * Series are made in bytes with the shapes of the seed's networks (ResNet18's
 * peak linear in B; BERT's quadratic in T with eager attention) and noise of
 * 0.2 MiB, like allocator rounding; predictions are the true law.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "reconcile/deviation.h"
#include "tap.h"

#define MIB (1024.0 * 1024.0)

static gsl_rng *rng;

typedef struct synth {
    dlm_series s;
    double x[16], peak[16], before[16], pred[16], predb[16];
    int line[16];
    dlm_prediction p;
} synth;

/* law in x: c0 + c1 x + c2 x^2 */
static void make(synth *z, dlm_xvar xv, const double *x, int n, const double c[3], double noise)
{
    memset(z, 0, sizeof *z);
    snprintf(z->s.model, sizeof z->s.model, xv == DLM_X_BATCH ? "resnet18" : "bert");
    snprintf(z->s.mode, sizeof z->s.mode, "infer");
    snprintf(z->s.dtype, sizeof z->s.dtype, "fp32");
    snprintf(z->s.variant, sizeof z->s.variant, "base");
    snprintf(z->s.profile, sizeof z->s.profile, "pytorch");
    z->s.xvar = xv;
    z->s.fixed = xv == DLM_X_BATCH ? 0 : 8;
    z->s.n = n;
    z->s.x = z->x;
    z->s.peak = z->peak;
    z->s.line = z->line;
    z->s.resolution = 512;
    for (int i = 0; i < n; i++) {
        z->x[i] = x[i];
        z->pred[i] = c[0] + c[1] * x[i] + c[2] * x[i] * x[i];
        z->peak[i] = z->pred[i] + (noise > 0 ? gsl_ran_gaussian(rng, noise) : 0);
        z->line[i] = i + 2;
    }
    z->p.have = 1;
    z->p.peak = z->pred;
    z->p.law[0] = c[0];
    z->p.law[1] = c[1];
    z->p.law[2] = c[2];
}

static void with_before(synth *z, double b0, double per_unit, double input_per_unit)
{
    z->s.before = z->before;
    for (int i = 0; i < z->s.n; i++) {
        z->before[i] = b0 + per_unit * z->x[i];
        z->predb[i] = b0 + input_per_unit * z->x[i];
    }
    z->p.before = z->predb;
    z->p.input_per_unit = input_per_unit;
}

/* Runs fit + detect; returns the number of findings, kinds in *kinds (bitmask). */
static int run(synth *z, dlm_findings *fs, unsigned *kinds, dlm_compare *cmp)
{
    dlm_fitdata d;
    dlm_fitset fit;
    memset(fs, 0, sizeof *fs);
    *kinds = 0;
    if (dlm_fitdata_make(z->s.x, z->s.peak, z->s.n, &d) != DLM_OK ||
        dlm_fit_series(&d, z->s.resolution, &fit) != DLM_OK ||
        dlm_detect(&z->s, 7, &d, &fit, &z->p, cmp, fs) != DLM_OK) {
        printf("# error: %s\n", dlm_errmsg());
        dlm_fitdata_free(&d);
        return -1;
    }
    for (int i = 0; i < fs->n; i++) {
        *kinds |= 1u << fs->f[i].kind;
        printf("#   [%s] %s\n", dlm_finding_name(fs->f[i].kind), fs->f[i].text);
    }
    dlm_fitdata_free(&d);
    return fs->n;
}

static const double XB[] = {1, 2, 4, 8, 16, 32, 64, 128};
static const double XT[] = {8, 16, 32, 64, 128, 256, 384, 512};
static const double RES[3] = {46.9 * MIB, 9.1 * MIB, 0};          /* ResNet18-like */
static const double BERT[3] = {440 * MIB, 0.22 * MIB, 0.0035 * MIB}; /* eager attention */

static void test_clean(void)
{
    int noisy = 0;
    for (int t = 0; t < 50; t++) {
        synth z;
        dlm_findings fs;
        unsigned k;
        make(&z, DLM_X_BATCH, XB, 8, RES, 0.2 * MIB);
        with_before(&z, 45 * MIB, 0.574 * MIB, 0.574 * MIB);
        int n1 = run(&z, &fs, &k, NULL);
        dlm_findings_free(&fs);
        make(&z, DLM_X_SEQ, XT, 8, BERT, 0.2 * MIB);
        int n2 = run(&z, &fs, &k, NULL);
        dlm_findings_free(&fs);
        if (n1 != 0 || n2 != 0) noisy++;
    }
    TAP_EQ(noisy, 0, "clean series (linear in B, quadratic in T, 0.2 MiB noise, 50 draws "
                     "each): no finding");
}

static void expect_kind(synth *z, dlm_finding_kind want, const char *what, unsigned allowed)
{
    dlm_findings fs;
    unsigned k;
    dlm_compare cmp;
    int n = run(z, &fs, &k, &cmp);
    TAP_OK(n > 0 && (k & (1u << want)), "%s: a '%s' finding", what, dlm_finding_name(want));
    unsigned extra = k & ~(1u << want) & ~allowed;
    TAP_OK(extra == 0, "%s: no other kind of finding (mask 0x%x)", what, extra);
    int named = 0;
    for (int i = 0; i < fs.n; i++)
        if (fs.f[i].kind == want && fs.f[i].series == 7 && strlen(fs.f[i].text) > 40) named = 1;
    TAP_OK(named, "%s: the finding names its series and says why", what);
    dlm_findings_free(&fs);
}

int main(void)
{
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    synth z;

    test_clean();

    /* flat: Table 3's 608.1 MiB for every length, with a rising baseline */
    make(&z, DLM_X_SEQ, XT, 6, BERT, 0);
    for (int i = 0; i < 6; i++) z.peak[i] = 608.1 * MIB;
    with_before(&z, 474.6 * MIB, 0.0016 * MIB, 0.0016 * MIB);
    expect_kind(&z, DLM_FIND_FLAT, "planted flat peak", 0);

    /* flat without a prediction: the baseline rises, the peak does not */
    {
        dlm_findings fs = {0};
        dlm_fitdata d;
        dlm_fitset fit;
        dlm_fitdata_make(z.s.x, z.s.peak, z.s.n, &d);
        dlm_fit_series(&d, z.s.resolution, &fit);
        z.p.have = 0;
        TAP_EQ(dlm_detect(&z.s, 7, &d, &fit, &z.p, NULL, &fs), DLM_OK, "detect without prediction");
        TAP_OK(fs.n >= 1 && fs.f[0].kind == DLM_FIND_FLAT,
               "flat found from the baseline alone (%s)", fs.n ? fs.f[0].text : "none");
        dlm_findings_free(&fs);
        dlm_fitdata_free(&d);
    }

    /* wrong order: eager predicted (T^2), fused measured (linear) */
    make(&z, DLM_X_SEQ, XT, 8, BERT, 0.2 * MIB);
    for (int i = 0; i < 8; i++) z.peak[i] = 440 * MIB + 0.5 * MIB * z.x[i] + gsl_ran_gaussian(rng, 0.2 * MIB);
    expect_kind(&z, DLM_FIND_ORDER, "planted order (fused measured, eager predicted)", 0);

    /* the reverse: linear predicted, quadratic measured */
    {
        const double lin[3] = {440 * MIB, 1.0 * MIB, 0};
        make(&z, DLM_X_SEQ, XT, 8, lin, 0);
        for (int i = 0; i < 8; i++)
            z.peak[i] = z.pred[i] + 0.004 * MIB * z.x[i] * z.x[i] + gsl_ran_gaussian(rng, 0.2 * MIB);
        expect_kind(&z, DLM_FIND_ORDER, "planted order (quadratic measured, linear predicted)", 0);
    }

    /* offset: 50 MiB resident that the model does not count */
    make(&z, DLM_X_BATCH, XB, 8, RES, 0.2 * MIB);
    for (int i = 0; i < 8; i++) z.peak[i] += 50 * MIB;
    expect_kind(&z, DLM_FIND_OFFSET, "planted 50 MiB offset", 0);

    /* slope: 2 MiB per sample missing from the model */
    make(&z, DLM_X_BATCH, XB, 8, RES, 0.2 * MIB);
    for (int i = 0; i < 8; i++) z.peak[i] += 2 * MIB * z.x[i];
    expect_kind(&z, DLM_FIND_SLOPE, "planted 2 MiB/sample slope error", 0);

    /* slope where the predicted peak changes phase inside the range (a training
     * step's optimizer at small B, its backward at large B): the finding's
     * formula slope is the predicted peaks' own slope over the points, not the
     * law of one phase */
    {
        const double xb[] = {1, 5, 32};
        make(&z, DLM_X_BATCH, xb, 3, RES, 0);
        z.p.law[0] = 1709 * MIB; /* the optimizer step's law: 0.29 MiB per sample */
        z.p.law[1] = 0.29 * MIB;
        z.pred[0] = 1709.6 * MIB;
        z.pred[1] = 1740.0 * MIB;
        z.pred[2] = 4988.0 * MIB; /* the backward's peak there */
        for (int i = 0; i < 3; i++) z.peak[i] = z.pred[i] + 0.8 * MIB * z.x[i];
        double mx = (1 + 5 + 32) / 3.0, mp = (z.pred[0] + z.pred[1] + z.pred[2]) / 3, sxx = 0,
               sxp = 0;
        for (int i = 0; i < 3; i++) {
            sxx += (xb[i] - mx) * (xb[i] - mx);
            sxp += (xb[i] - mx) * (z.pred[i] - mp);
        }
        dlm_findings fs;
        dlm_compare cmp;
        unsigned kinds;
        int nf = run(&z, &fs, &kinds, &cmp);
        int found = 0;
        for (int i = 0; i < fs.n; i++)
            if (fs.f[i].kind == DLM_FIND_SLOPE)
                found = fabs(fs.f[i].predicted - sxp / sxx) < 1e-6 * MIB &&
                        fabs(fs.f[i].measured - (sxp / sxx + 0.8 * MIB)) < 1e-3 * MIB;
        TAP_OK(nf > 0 && found, "a phase change inside the range: the slope finding compares the "
               "measured slope with the predicted peaks' (%.4g MiB per sample), not one phase's law",
               sxp / sxx / MIB);
        dlm_findings_free(&fs);
    }

    /* drift: Table 2's baseline, 12.4 MiB per sample against a 0.574 MiB input */
    {
        const double xb[] = {1, 4, 8, 16};
        make(&z, DLM_X_BATCH, xb, 4, RES, 0.2 * MIB);
        with_before(&z, 33 * MIB, 12.4 * MIB, 0.574 * MIB);
        /* the leaked tensors are resident at the peak too */
        for (int i = 0; i < 4; i++) z.peak[i] += (12.4 - 0.574) * MIB * z.x[i];
        expect_kind(&z, DLM_FIND_DRIFT, "planted baseline drift (12.4 vs 0.574 MiB/sample)", 0);
    }

    /* outlier: one point 30 MiB off a clean line of 12 points */
    {
        double x12[12];
        for (int i = 0; i < 12; i++) x12[i] = 8 * (i + 1);
        make(&z, DLM_X_BATCH, x12, 12, RES, 0.2 * MIB);
        z.peak[7] += 30 * MIB;
        /* the 30 MiB point also moves the residual mean/slope: only outlier is asked */
        expect_kind(&z, DLM_FIND_OUTLIER, "planted outlier at B=64",
                    (1u << DLM_FIND_OFFSET) | (1u << DLM_FIND_SLOPE));
        dlm_findings fs;
        unsigned k;
        run(&z, &fs, &k, NULL);
        int at = 0;
        for (int i = 0; i < fs.n; i++)
            if (fs.f[i].kind == DLM_FIND_OUTLIER) at = fs.f[i].x == 64;
        TAP_OK(at, "the outlier is marked at B=64");
        dlm_findings_free(&fs);
    }

    /* non-monotonic: a point 20 MiB below its predecessor */
    make(&z, DLM_X_BATCH, XB, 8, RES, 0.2 * MIB);
    z.peak[5] = z.peak[4] - 20 * MIB;
    expect_kind(&z, DLM_FIND_NONMONO, "planted drop at B=32",
                (1u << DLM_FIND_OUTLIER) | (1u << DLM_FIND_OFFSET) | (1u << DLM_FIND_SLOPE));

    /* comparison numbers for a clean series */
    {
        make(&z, DLM_X_BATCH, XB, 8, RES, 0);
        dlm_findings fs;
        unsigned k;
        dlm_compare cmp;
        run(&z, &fs, &k, &cmp);
        TAP_OK(cmp.have, "comparison made");
        TAP_CLOSE(cmp.slope_fit, RES[1], 1e-6, 0, "fitted slope equals the formula's");
        TAP_CLOSE(cmp.icpt_fit, RES[0], 1e-6, 0, "fitted intercept equals the formula's");
        TAP_CLOSE(cmp.max_abs_rel, 0, 0, 1e-9, "no residual on exact data");
        dlm_findings_free(&fs);
    }
    gsl_rng_free(rng);
    return tap_done();
}
