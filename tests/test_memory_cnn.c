/* test_memory_cnn.c — the pytorch profile of issue 12's convolutional networks
 * (resnet50, vgg16, mobilenet_v2, densenet121, efficientnet_b0, unet) against
 * PyTorch 2.11's own max_memory_allocated() on an H200
 * (data/reference/pytorch_memory_cnn.csv, tools/torch_reference.py memory,
 * the same protocol as pytorch_memory.csv: infer, forward, train with Adam;
 * fp32 and bf16; B 1, 3, 8, 24).
 *
 * A point whose every term is known (dlm_mem_result.complete) must be
 * within 5% of the measurement; a point with a term dlmem says it does not
 * know (a cuDNN workspace no row gives: every cuDNN convolution shape of
 * these networks that `dlmem probe` has not been run for, the transposed
 * convolutions) is a lower bound and must not exceed the measurement by
 * more than 5%.  Known deviations of
 * complete points are TAP TODOs with their reason (a pass becomes XPASS, a
 * failure of the suite, so a fix is noticed). */
#include <stdlib.h>

#include "analytic/memory.h"
#include "analytic/refcheck.h"
#include "core/paths.h"
#include "models/models.h"
#include "tap.h"

/* Complete points still off by more than 5%, and why (see data/reference/README.md):
 * none at present.  (DenseNet-121's inference was, by up to 12%, until the walker
 * knew that _DenseLayer.bn_function keeps its concatenation until conv1.) */
static const char *known_deviation(const dlm_ref_point *p)
{
    (void)p;
    return NULL;
}

/* Whether every term of p's prediction is known; what is not, in `note`. */
static int complete_at(const dlm_ref_point *p, char *note, size_t n)
{
    dlm_graph *g = NULL;
    dlm_mem_model *m = NULL;
    dlm_mem_config c;
    dlm_mem_result r;
    int complete = 0;
    note[0] = '\0';
    dlm_mem_config_default(&c);
    if (dlm_mode_parse(p->mode, &c.mode) != DLM_OK || dlm_dtype_parse(p->dtype, &c.dtype) != DLM_OK ||
        dlm_model_build_named(p->model, NULL, &g) != DLM_OK ||
        dlm_mem_model_alloc(g, &c, &m) != DLM_OK || dlm_mem_eval(m, p->batch, 0, &r) != DLM_OK) {
        snprintf(note, n, "error: %s", dlm_errmsg());
    } else {
        complete = r.complete;
        if (!complete) dlm_mem_unknown_list(m, &r, note, n);
    }
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    return complete;
}

int main(void)
{
    char path[1024], note[512];
    if (!dlm_data_path("reference/pytorch_memory_cnn.csv", path, sizeof path))
        tap_skip_all("no data/reference/pytorch_memory_cnn.csv");
    dlm_ref_point *p;
    int n;
    if (!TAP_OK(dlm_refcheck_run(path, &p, &n) == DLM_OK, "predict every point of %s", path)) {
        printf("# %s\n", dlm_errmsg());
        return tap_done();
    }
    TAP_OK(n == 144, "144 points: 6 networks x 3 modes x 2 dtypes x 4 batch sizes (got %d)", n);
    double sum = 0, worst = 0;
    int complete = 0, lower = 0;
    for (int i = 0; i < n; i++) {
        const dlm_ref_point *q = &p[i];
        double err = q->err;
        if (!complete_at(q, note, sizeof note)) {
            lower++;
            TAP_OK(err <= 0.05, "%s %s %s B=%lld: a lower bound (%+.2f%%; measured %.1f MiB, "
                   "predicted %.1f MiB; not known: %.80s)", q->model, q->mode, q->dtype, (long long)q->batch,
                   100 * err, q->ref_peak / 1048576.0, q->pred_peak / 1048576.0, note);
            continue;
        }
        complete++;
        sum += fabs(err);
        if (fabs(err) > fabs(worst)) worst = err;
        const char *why = known_deviation(q);
        int ok = fabs(err) <= 0.05;
        if (why) {
            printf("%s %d - %s %s %s B=%lld within 5%% (%+.2f%%) # TODO %s\n", ok ? "ok" : "not ok",
                   ++tap_n, q->model, q->mode, q->dtype, (long long)q->batch, 100 * err, why);
            continue;
        }
        TAP_OK(ok, "%s %s %s B=%lld within 5%% (%+.2f%%; measured %.1f MiB, predicted %.1f MiB)",
               q->model, q->mode, q->dtype, (long long)q->batch, 100 * err,
               q->ref_peak / 1048576.0, q->pred_peak / 1048576.0);
    }
    printf("# %d complete points: mean |error| %.2f%%, worst %+.2f%%; %d lower bounds\n", complete,
           complete ? 100 * sum / complete : 0.0, 100 * worst, lower);
    /* No point is complete yet: cuDNN's workspaces for these networks' convolution
     * shapes need `dlmem probe` rows (data/cudnn/), which no GPU run has made for them;
     * every point must then be a lower bound (checked above), never a complete-looking
     * wrong answer. */
    TAP_OK(complete + lower == n, "every point is either complete or a lower bound");
    free(p);

    /* Held out: the U-Net with bilinear upsampling (--set upsample=2), measured on the
     * H200 after the upsample rule was written from PyTorch's source and never tuned
     * against it (data/reference/pytorch_memory_unet_upsample.csv, 24 points); its
     * 1x1 convs' workspaces from data/cudnn/probe-sm90-cudnn91900-unetup.csv. */
    if (!dlm_data_path("reference/pytorch_memory_unet_upsample.csv", path, sizeof path) ||
        !TAP_OK(dlm_refcheck_techniques(path, &p, &n) == DLM_OK, "predict every point of %s",
                path))
        return tap_done();
    TAP_OK(n == 24, "24 points: 3 modes x 2 dtypes x 4 batch sizes (got %d)", n);
    sum = 0;
    worst = 0;
    for (int i = 0; i < n; i++) {
        const dlm_ref_point *q = &p[i];
        int full = complete_at(q, note, sizeof note);
        sum += fabs(q->err);
        if (fabs(q->err) > fabs(worst)) worst = q->err;
        TAP_OK(full && fabs(q->err) <= 0.03, "unet %s %s %s B=%lld: complete, within 3%% (%+.2f%%)",
               q->variant, q->mode, q->dtype, (long long)q->batch, 100 * q->err);
    }
    TAP_OK(n && sum / n <= 0.01, "unet upsample2: mean |error| %.2f%% (goal 1%%), worst %+.2f%%",
           n ? 100 * sum / n : 0.0, 100 * worst);
    free(p);
    return tap_done();
}
