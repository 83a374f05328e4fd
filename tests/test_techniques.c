/* test_techniques.c — `dlmem advise`'s predictions against PyTorch 2.11 on an
 * H200 (data/reference/pytorch_techniques.csv, and when committed
 * pytorch_techniques_extra.csv and pytorch_techniques_rnn_chunks.csv, the
 * LSTM checkpointed in chunks of time steps): for every technique PyTorch
 * ran, the predicted peak and the predicted saving against the measured ones.
 * Targets (issue 3's, applied to the peaks): mean |relative error| <= 2% for
 * inference, <= 3% for training, no point worse than 5%; the saving's error,
 * as a share of the measured baseline peak, no worse than 5% either.
 *
 * Every complete point that misses fails; an incomplete one (a cuDNN
 * workspace without a row yet, refcheck.h's dlm_ref_accept) is a lower bound
 * that must not exceed the measurement, and its saving is not checked; with
 * data/cudnn/probe-sm90-cudnn91900.csv shipped an incomplete point is a gap
 * in those rows, also listed as a TAP TODO until its rows are probed.  (Causes found and modelled from per-op logs
 * on the way: cuDNN's fp32 convolution workspaces at B <= 256 and the
 * half-width ResNet's shapes — optimizers, checkpointing per block and stage,
 * base32 —, fp16 inference's stem, the GRU's reserve, and the GRU's and the
 * LSTM's training workspace beyond 256 steps.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "advise/techcheck.h"
#include "analytic/refcheck.h"
#include "core/paths.h"
#include "tap.h"

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
    /* further runs, each checked as soon as its CSV is committed */
    static const struct {
        const char *file, *missing;
    } more[] = {
        {"reference/pytorch_techniques_extra.csv",
         "torch_reference.py techniques --extra): the combinations and fp32 fused attention"},
        {"reference/pytorch_techniques_rnn_chunks.csv",
         "torch_reference.py techniques --rnn-chunks): the LSTM checkpointed in chunks of time "
         "steps (checkpoint-chunks)"},
    };
    for (size_t f = 0; f < sizeof more / sizeof more[0]; f++) {
        char xpath[1024];
        if (!dlm_data_path(more[f].file, xpath, sizeof xpath)) {
            printf("# no data/%s (%s is not checked yet\n", more[f].file, more[f].missing);
            continue;
        }
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
        TAP_OK(nx > 0, "and the %d points of %s", nx, xpath);
    }
    printf("# model     variant                     mode   B    T     measured   predicted  err     "
           "saved: measured  predicted  err(%% of base)   predicted peak at\n");
    for (int i = 0; i < n; i++) {
        const dlm_tech_point *q = &p[i];
        printf("# %-9s %-27s %-6s %-4lld %-4lld %9.1f  %9.1f  %+6.2f%%  %9.1f  %9.1f  %+6.2f%%   %s\n",
               q->model, q->variant, q->mode, (long long)q->batch, (long long)q->seq,
               q->ref_peak / 1048576.0, q->pred_peak / 1048576.0, 100 * q->err,
               (q->ref_base - q->ref_peak) / 1048576.0, (q->pred_base - q->pred_peak) / 1048576.0,
               100 * q->saving_err, q->where);
    }
    static const char *modes[] = {"infer", "train"};
    static const double target[] = {0.02, 0.03};
    for (int m = 0; m < 2; m++) {
        double all = 0;
        int c = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(p[i].mode, modes[m]) || !p[i].complete) continue;
            all += fabs(p[i].err);
            c++;
        }
        TAP_OK(all <= target[m] * c, "%s: mean |error| %.2f%% over all %d complete points (target <= "
               "%.0f%%)", modes[m], c ? 100 * all / c : 0.0, c, 100 * target[m]);
    }
    int shipped = dlm_ref_rows_shipped(), inc = 0;
    for (int i = 0; i < n; i++) {
        const dlm_tech_point *q = &p[i];
        if (!q->complete) {
            inc++;
            TAP_OK(dlm_ref_accept(0, q->err, 0.05), "%s %s %s B=%lld T=%lld: incomplete, a lower "
                   "bound (%+.2f%%)", q->model, q->variant, q->mode, (long long)q->batch,
                   (long long)q->seq, 100 * q->err);
            if (shipped) /* a gap in the shipped rows */
                printf("not ok %d - %s %s %s B=%lld T=%lld: complete # TODO library workspaces "
                       "without rows in " DLM_REF_PROBE_FILE " (probe them)\n", ++tap_n, q->model,
                       q->variant, q->mode, (long long)q->batch, (long long)q->seq);
            continue;
        }
        TAP_OK(fabs(q->err) <= 0.05, "%s %s %s B=%lld T=%lld: peak within 5%% (%+.2f%%)", q->model,
               q->variant, q->mode, (long long)q->batch, (long long)q->seq, 100 * q->err);
        if (!q->technique[0] || !q->base_complete) continue;
        TAP_OK(fabs(q->saving_err) <= 0.05, "%s %s %s B=%lld T=%lld: saving within 5%% of the "
               "baseline peak (%+.2f%%)", q->model, q->variant, q->mode, (long long)q->batch,
               (long long)q->seq, 100 * q->saving_err);
    }
    printf("# %d of %d points incomplete\n", inc, n);
    free(p);
    return tap_done();
}
