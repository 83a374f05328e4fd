/* test_techniques.c — `dlmem advise`'s predictions against PyTorch 2.11 on an
 * H200 (data/reference/pytorch_techniques.csv): for every technique PyTorch
 * ran, the predicted peak and the predicted saving against the measured ones.
 * Targets (issue 3's, applied to the peaks): mean |relative error| <= 2% for
 * inference, <= 3% for training, no point worse than 5%; the saving's error,
 * as a share of the measured baseline peak, no worse than 5% either.
 *
 * A point that misses fails, unless its cause is known and named (TAP TODO,
 * counted as XFAIL by automake, printed in every run):
 *   - the half-width ResNet-18 (base32) in fp32: its conv shapes are not in
 *     data/cudnn/conv_workspace.csv, so cuDNN's fp32 workspaces are not known
 *     there (0 B counted);
 * A saving also inherits its baseline's cause: the ResNet-18 baselines are
 * fp32 steps.  (Resolved by per-op logs: the fp32 convolution workspaces at
 * B <= 256 — optimizers, checkpointing per block and stage, base32's
 * full-width baseline —, fp16 inference's stem, the GRU's reserve and its
 * and the LSTM's training workspace beyond 256 steps.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "advise/techcheck.h"
#include "core/paths.h"
#include "tap.h"

static const char *known_cause(const dlm_tech_point *q)
{
    /* the variants whose convolutions run in fp32 on cuDNN */
    int fp32 = !strncmp(q->variant, "opt-", 4) || !strncmp(q->variant, "ckpt-", 5) ||
               !strcmp(q->variant, "base32");
    if (strcmp(q->model, "resnet18") || !fp32) return NULL;
    if (!strcmp(q->variant, "base32"))
        return "the half-width ResNet's conv shapes are not in data/cudnn/conv_workspace.csv: cuDNN "
               "fp32 workspace not known (0 B)";
    return NULL;
}

/* A saving is the baseline's peak minus the technique's: it inherits the
 * baseline's named cause too (the ResNet-18 baselines are fp32 steps). */
static const char *saving_cause(const dlm_tech_point *q)
{
    const char *why = known_cause(q);
    if (why) return why;
    if (!strcmp(q->model, "resnet18") && q->batch > 128)
        return "its fp32 baseline is beyond the measured conv table (B <= 128): B=128's cuDNN fp32 "
               "workspaces scaled in proportion to B";
    return NULL;
}

int main(void)
{
    char tpath[1024], mpath[1024];
    if (!dlm_data_path("reference/pytorch_techniques.csv", tpath, sizeof tpath) ||
        !dlm_data_path("reference/pytorch_memory.csv", mpath, sizeof mpath))
        tap_skip_all("no data/reference/pytorch_techniques.csv or pytorch_memory.csv");
    dlm_tech_point *p;
    int n;
    if (dlm_techcheck_run(tpath, mpath, &p, &n) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        TAP_OK(0, "predict every technique point");
        return tap_done();
    }
    TAP_OK(n >= 60, "predicted all %d technique points of %s", n, tpath);
    /* the extra runs (torch_reference.py techniques --extra), when committed */
    char xpath[1024];
    if (dlm_data_path("reference/pytorch_techniques_extra.csv", xpath, sizeof xpath)) {
        dlm_tech_point *x;
        int nx;
        if (dlm_techcheck_run(xpath, mpath, &x, &nx) != DLM_OK) {
            printf("# %s\n", dlm_errmsg());
            TAP_OK(0, "predict every point of %s", xpath);
            free(p);
            return tap_done();
        }
        dlm_tech_point *all = realloc(p, (size_t)(n + nx) * sizeof *p);
        if (!all) {
            TAP_OK(0, "out of memory");
            free(x);
            free(p);
            return tap_done();
        }
        p = all;
        memcpy(p + n, x, (size_t)nx * sizeof *x);
        n += nx;
        free(x);
        TAP_OK(nx > 0, "and the %d extra points of %s", nx, xpath);
    } else {
        printf("# no data/reference/pytorch_techniques_extra.csv (torch_reference.py techniques "
               "--extra): the combinations and fp32 fused attention are not checked yet\n");
    }
    printf("# model     variant             mode   B    T     measured   predicted  err     "
           "saved: measured  predicted  err(%% of base)   predicted peak at\n");
    for (int i = 0; i < n; i++) {
        const dlm_tech_point *q = &p[i];
        printf("# %-9s %-19s %-6s %-4lld %-4lld %9.1f  %9.1f  %+6.2f%%  %9.1f  %9.1f  %+6.2f%%   %s\n",
               q->model, q->variant, q->mode, (long long)q->batch, (long long)q->seq,
               q->ref_peak / 1048576.0, q->pred_peak / 1048576.0, 100 * q->err,
               (q->ref_base - q->ref_peak) / 1048576.0, (q->pred_base - q->pred_peak) / 1048576.0,
               100 * q->saving_err, q->where);
    }
    static const char *modes[] = {"infer", "train"};
    static const double target[] = {0.02, 0.03};
    for (int m = 0; m < 2; m++) {
        double all = 0, known = 0;
        int c = 0, ck = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(p[i].mode, modes[m])) continue;
            all += fabs(p[i].err);
            c++;
            if (!known_cause(&p[i])) {
                known += fabs(p[i].err);
                ck++;
            }
        }
        TAP_OK(ck > 0 && known / ck <= target[m],
               "%s: mean |error| %.2f%% over the %d points without a named cause (target <= %.0f%%)",
               modes[m], ck ? 100 * known / ck : 0.0, ck, 100 * target[m]);
        int ok = c > 0 && all / c <= target[m];
        printf("%s %d - %s: mean |error| %.2f%% over all %d points (target <= %.0f%%)%s\n",
               ok ? "ok" : "not ok", ++tap_n, modes[m], c ? 100 * all / c : 0.0, c,
               100 * target[m], ok ? "" : " # TODO includes the points with named causes below");
    }
    for (int i = 0; i < n; i++) {
        const dlm_tech_point *q = &p[i];
        const char *why = known_cause(q);
        int ok = fabs(q->err) <= 0.05;
        printf("%s %d - %s %s %s B=%lld T=%lld: peak within 5%% (%+.2f%%)%s%s\n", ok ? "ok" : "not ok",
               ++tap_n, q->model, q->variant, q->mode, (long long)q->batch, (long long)q->seq,
               100 * q->err, !ok && why ? " # TODO " : "", !ok && why ? why : "");
        if (!ok && !why) tap_failed++;
        if (!q->technique[0]) continue;
        why = saving_cause(q);
        ok = fabs(q->saving_err) <= 0.05;
        printf("%s %d - %s %s %s B=%lld T=%lld: saving within 5%% of the baseline peak (%+.2f%%)%s%s\n",
               ok ? "ok" : "not ok", ++tap_n, q->model, q->variant, q->mode, (long long)q->batch,
               (long long)q->seq, 100 * q->saving_err, !ok && why ? " # TODO " : "",
               !ok && why ? why : "");
        if (!ok && !why) tap_failed++;
    }
    free(p);
    return tap_done();
}
