/* test_memory_cnn.c — the pytorch profile of issue 12's convolutional networks
 * (resnet50, vgg16, mobilenet_v2, densenet121, efficientnet_b0, unet) against
 * PyTorch 2.11's own max_memory_allocated() on an H200
 * (data/reference/pytorch_memory_cnn.csv, tools/torch_reference.py memory,
 * the same protocol as pytorch_memory.csv: infer, forward, train with Adam;
 * fp32 and bf16; B 1, 3, 8, 24).
 *
 * A point whose every term is known must be within 5% of the measurement;
 * a point with a term dlmem says it does not know (a cuDNN workspace no
 * table or law gives: most fp32 convolutions of these networks until
 * `dlmem probe` rows are read, the transposed convolutions) is a lower bound
 * and must not exceed the measurement by more than 5%.  Known deviations of
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

/* The model's note for p ("" when every term is known). */
static void note_of(const dlm_ref_point *p, char *note, size_t n)
{
    dlm_graph *g = NULL;
    dlm_mem_model *m = NULL;
    dlm_mem_config c;
    note[0] = '\0';
    dlm_mem_config_default(&c);
    if (dlm_mode_parse(p->mode, &c.mode) != DLM_OK || dlm_dtype_parse(p->dtype, &c.dtype) != DLM_OK ||
        dlm_model_build_named(p->model, NULL, &g) != DLM_OK ||
        dlm_mem_model_alloc(g, &c, &m) != DLM_OK) {
        snprintf(note, n, "error: %s", dlm_errmsg());
    } else {
        dlm_mem_note(m, p->batch, note, n);
    }
    dlm_mem_model_free(m);
    dlm_graph_free(g);
}

static int incomplete(const char *note)
{
    return strstr(note, "not known") || strstr(note, "not in it") || strstr(note, "error:");
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
        note_of(q, note, sizeof note);
        double err = q->err;
        if (incomplete(note)) {
            lower++;
            TAP_OK(err <= 0.05, "%s %s %s B=%lld: a lower bound (%+.2f%%; measured %.1f MiB, "
                   "predicted %.1f MiB; %.90s)", q->model, q->mode, q->dtype, (long long)q->batch,
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
    /* bf16 infer and forward of all but unet (40) and vgg16 training (4): the rest waits on
     * workspaces dlmem probe gives */
    TAP_OK(complete >= 44, "the bf16 points whose every term is known are checked (%d of %d)",
           complete, n);
    free(p);
    return tap_done();
}
