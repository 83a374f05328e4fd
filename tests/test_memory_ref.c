/* test_memory_ref.c — the pytorch profile against PyTorch 2.11's measured
 * torch.cuda.max_memory_allocated() on an H200: every base point of
 * data/reference/pytorch_memory.csv, then every point of
 * pytorch_techniques.csv whose technique the model describes.  Targets
 * (issue 3, base grid): mean |relative error| <= 2% for infer and forward,
 * <= 3% for train, no point worse than 5%.  Prints every series' errors and
 * the worst points; fails loudly.
 *
 * Every complete point worse than 5% fails.  A point whose cuDNN workspaces
 * no probed or measured row gives yet is incomplete: its prediction is a
 * lower bound and fails if it exceeds the measurement; once
 * data/cudnn/probe-sm90-cudnn91900.csv is shipped every point should be
 * complete (and so held within 5%): one that is not is a gap in the shipped
 * rows, listed as a TAP TODO (an expected failure that names it) until its
 * rows are probed.  The means are over complete points.  (Causes found and modelled from per-op
 * logs on the way: cuDNN's fp32 convolution workspaces, measured per conv
 * shape and batch size in data/cudnn/conv_workspace.csv, with B=2 between the
 * table's sizes; the LSTM's and GRU's training workspace beyond 256 steps;
 * the GRU's reserve.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advise/segments.h"
#include "analytic/lora.h"
#include "analytic/refcheck.h"
#include "core/csv.h"
#include "models/models.h"
#include "core/paths.h"
#include "tap.h"

/* The whole test skipped: TAP's "1..0 # SKIP", exit 0 (the TAP driver reads
 * the plan; a non-zero status would be an error). */
static int skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    return 0;
}

static int worst_first(const void *a, const void *b)
{
    double x = fabs(((const dlm_ref_point *)a)->err), y = fabs(((const dlm_ref_point *)b)->err);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* One failing TAP line per complete point worse than 5%, per incomplete
 * point above its measurement, and (rows shipped) per incomplete point. */
static void points_within(dlm_ref_point *p, int n, const char *what)
{
    qsort(p, (size_t)n, sizeof *p, worst_first);
    int bad = 0, inc = 0, shipped = dlm_ref_rows_shipped();
    for (int i = 0; i < n; i++) inc += !p[i].complete;
    for (int i = 0; i < n; i++) {
        const dlm_ref_point *q = &p[i];
        if (q->complete) continue;
        if (!dlm_ref_accept(0, q->err, 0.05))
            TAP_OK(0, "%s: %s %s %s %s %s B=%lld T=%lld incomplete (%d unknown terms) and above the "
                   "measurement, %+.2f%%", what, q->model, q->variant, q->mode, q->dtype,
                   q->attention[0] ? q->attention : "-", (long long)q->batch, (long long)q->seq,
                   q->n_unknown, 100 * q->err);
        else if (shipped) /* a gap in the shipped rows: expected to fail until probed */
            printf("not ok %d - %s: %s %s %s %s B=%lld T=%lld complete # TODO %d library "
                   "workspaces without rows in " DLM_REF_PROBE_FILE " (probe them)\n", ++tap_n, what,
                   q->model, q->variant, q->mode, q->dtype, (long long)q->batch, (long long)q->seq,
                   q->n_unknown);
    }
    TAP_OK(1, "%s: %d of %d points incomplete (%s)", what, inc, n,
           shipped ? "gaps in the shipped probe rows: TODO above"
                   : "bounded until the probe rows are shipped");
    for (int i = 0; i < n && fabs(p[i].err) > 0.05; i++) bad += p[i].complete;
    printf("# %s: worst points (measured vs predicted peak, MiB):\n", what);
    for (int i = 0; i < n && i < (bad > 8 ? bad : 8); i++)
        printf("#   %-8s %-7s %-4s %-5s B=%-4lld T=%-5lld measured %9.2f  predicted %s%9.2f  %+6.2f%%  "
               "(csv line %d; predicted peak at %s)\n",
               p[i].model, p[i].mode, p[i].dtype, p[i].attention[0] ? p[i].attention : "-",
               (long long)p[i].batch, (long long)p[i].seq, p[i].ref_peak / 1048576.0,
               p[i].complete ? "" : ">=", p[i].pred_peak / 1048576.0, 100 * p[i].err, p[i].line,
               p[i].where);
    for (int i = 0, k = 0; k < bad && i < n; i++) {
        const dlm_ref_point *q = &p[i];
        if (!q->complete) continue;
        k++;
        TAP_OK(0, "%s: %s %s %s %s %s B=%lld T=%lld within 5%% (%+.2f%%)", what, q->model, q->variant,
               q->mode, q->dtype, q->attention[0] ? q->attention : "-", (long long)q->batch,
               (long long)q->seq, 100 * q->err);
    }
    TAP_OK(1, "%s: %d of %d complete points within 5%%", what, n - inc - bad, n - inc);
}

/* The transformers under bf16 autocast (fp32 weights): the decoders' rules
 * against `torch_reference.py memory --transformers autocast` (the grid they
 * were read beside) and its hold-out set (other sizes, qwen2-tiny and
 * Llama-3.2-1B's shape, never used to write a rule): mean |error| within 1%
 * per mode and every point within 3% (issue 13's bar).  torchvision's ViT
 * under autocast has no rules: its points are refused, counted, not guessed. */
static void autocast_grid(const char *rel, const char *what, int min_json, int min_builtin)
{
    char path[1024], why[512];
    dlm_ref_point *p;
    int n, unmodelled;
    if (!dlm_data_path(rel, path, sizeof path)) {
        TAP_OK(0, "%s: %s is shipped", what, rel);
        return;
    }
    if (dlm_refcheck_transformers(path, &p, &n, &unmodelled, why, sizeof why) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        TAP_OK(0, "%s: predict every point", what);
        return;
    }
    int no_json = strstr(why, "without jansson") != NULL;
    TAP_OK(n >= (no_json ? min_builtin : min_json), "%s: predicted %d points%s", what, n,
           no_json ? " (built without jansson: the built-ins only)" : "");
    TAP_OK(unmodelled == 0 || strstr(why, "vision transformer") || no_json,
           "%s: %d points not predicted, only for a named reason (%s)", what, unmodelled,
           unmodelled ? why : "none");
    static const char *modes[] = {"infer", "forward", "train"};
    for (int m = 0; m < 3; m++) {
        double mean, worst;
        int c;
        dlm_refcheck_stats(p, n, modes[m], &mean, &worst, &c);
        TAP_OK(c > 0 && mean <= 0.01, "%s %s: mean |error| %.2f%%, worst %.2f%% over %d points "
               "(target: mean <= 1%%)", what, modes[m], 100 * mean, 100 * worst, c);
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const dlm_ref_point *q = &p[i];
        printf("#   %-18s %-7s %-5s B=%-3lld T=%-5lld measured %9.2f  predicted %9.2f  %+6.2f%%\n",
               q->model, q->mode, q->attention[0] ? q->attention : "-", (long long)q->batch,
               (long long)q->seq, q->ref_peak / 1048576.0, q->pred_peak / 1048576.0, 100 * q->err);
        if (q->complete && fabs(q->err) <= 0.03) continue;
        bad++;
        TAP_OK(0, "%s: %s %s %s B=%lld T=%lld within 3%% and complete (%+.2f%%%s)", what, q->model,
               q->mode, q->attention, (long long)q->batch, (long long)q->seq, 100 * q->err,
               q->complete ? "" : ", incomplete");
    }
    TAP_OK(bad == 0, "%s: %d of %d points within 3%%", what, n - bad, n);
    free(p);
}

/* The decoders' gradient checkpointing (transformers' gradient_checkpointing_enable:
 * every decoder layer under torch.utils.checkpoint, use_reentrant=False; the KV
 * cache off in training), `torch_reference.py memory --transformers checkpoint`
 * (with the plain step at each point) and its hold-out set (other sizes,
 * qwen2-tiny, Llama-3.2-1B's shape): the segments are the graph's blocks as
 * `dlmem memory --checkpoint block` finds them; mean |error| within 1% and
 * every point within 3%. */
static void checkpoint_grid(const char *rel, const char *what, int min_points)
{
    char path[1024];
    if (!dlm_data_path(rel, path, sizeof path)) {
        TAP_OK(0, "%s: %s is shipped", what, rel);
        return;
    }
    static const char *cols[] = {"model", "variant", "dtype", "autocast", "attention", "batch",
                                 "seq", "status", "peak_bytes", "checkpoint", "mode"};
    int idx[11], n = 0, bad = 0, skipped = 0, refused = 0;
    double sum = 0, worst = 0;
    dlm_csv *csv;
    dlm_status st = dlm_csv_read(path, &csv);
    if (st == DLM_OK && (st = dlm_csv_require(csv, 11, cols, idx)) != DLM_OK) dlm_csv_free(csv);
    if (st != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        TAP_OK(0, "%s: read %s", what, rel);
        return;
    }
    for (int i = 0; i < csv->nrows; i++) {
        if (strcmp(dlm_csv_get(csv, i, idx[7]), "ok")) continue;
        const char *model = dlm_csv_get(csv, i, idx[0]);
        char mpath[1024] = "";
        if (!strncmp(model, "hf:", 3)) {
            char r2[128];
            snprintf(r2, sizeof r2, "hf/%s.json", model + 3);
            if (!dlm_data_path(r2, mpath, sizeof mpath)) continue;
        } else {
            snprintf(mpath, sizeof mpath, "%s", model);
        }
        dlm_mem_config c;
        dlm_mem_config_default(&c);
        c.sm = 90;
        int64_t B = 0, T = 0, meas = 0;
        dlm_graph *g = NULL;
        dlm_mem_model *m = NULL;
        dlm_segment *sg = NULL;
        dlm_op_range *rg = NULL;
        dlm_mem_result res;
        int ns = 0, ckpt = strcmp(dlm_csv_get(csv, i, idx[9]), "none") != 0;
        st = dlm_mode_parse(dlm_csv_get(csv, i, idx[10]), &c.mode);
        if (st == DLM_OK) st = dlm_dtype_parse(dlm_csv_get(csv, i, idx[2]), &c.dtype);
        if (st == DLM_OK && strcmp(dlm_csv_get(csv, i, idx[3]), "none")) {
            c.dtype = DLM_DTYPE_MIXED;
            c.autocast_bf16 = !strcmp(dlm_csv_get(csv, i, idx[3]), "bf16");
        }
        c.attention = strcmp(dlm_csv_get(csv, i, idx[4]), "sdpa") ? DLM_ATTN_EAGER : DLM_ATTN_FUSED;
        if (st == DLM_OK) st = dlm_csv_int(csv, i, idx[5], &B);
        if (st == DLM_OK) st = dlm_csv_int(csv, i, idx[6], &T);
        if (st == DLM_OK) st = dlm_csv_int(csv, i, idx[8], &meas);
        if (st == DLM_OK) st = dlm_model_build_named(mpath, NULL, &g);
        if (st == DLM_OK && !strncmp(dlm_csv_get(csv, i, idx[1]), "lora-r8", 7)) {
            dlm_lora lo; /* peft's LoraConfig(r=8, lora_alpha=8), its default targets */
            st = dlm_lora_parse("8", &lo);
            if (st == DLM_OK) st = dlm_lora_apply(g, &lo);
        }
        if (st == DLM_OK && ckpt) st = dlm_segments_find(g, DLM_SEG_BLOCK, &sg, &ns);
        if (st == DLM_OK && ckpt && !(rg = malloc((size_t)(ns > 0 ? ns : 1) * sizeof *rg)))
            st = dlm_error(DLM_ENOMEM, "out of memory");
        for (int k = 0; st == DLM_OK && ckpt && k < ns; k++) rg[k] = sg[k].ops;
        c.checkpoint = rg;
        c.n_checkpoint = ckpt ? ns : 0;
        if (st == DLM_OK) st = dlm_mem_model_alloc(g, &c, &m);
        if (st == DLM_OK) st = dlm_mem_eval(m, B, T, &res);
        if (st == DLM_EUNSUPPORTED && strstr(dlm_errmsg(), "without jansson")) {
            skipped++; /* hf: configs need the JSON reader */
        } else if (st == DLM_EUNSUPPORTED && strstr(dlm_errmsg(), "LoRA under autocast")) {
            refused++; /* refused by name, not guessed: counted */
            printf("#   %s:%d refused: %s\n", rel, csv->lines[i], dlm_errmsg());
        } else if (st != DLM_OK) {
            TAP_OK(0, "%s: %s:%d predicted (%s)", what, rel, csv->lines[i], dlm_errmsg());
        } else {
            double err = (double)(res.peak_bytes - meas) / (double)meas;
            printf("#   %-18s %-10s %-4s autocast %-4s %-5s B=%-2lld T=%-5lld segments %2d  measured "
                   "%9.2f  predicted %9.2f  %+6.2f%%\n", model, dlm_csv_get(csv, i, idx[1]),
                   dlm_csv_get(csv, i, idx[2]), dlm_csv_get(csv, i, idx[3]),
                   dlm_csv_get(csv, i, idx[4]), (long long)B, (long long)T, c.n_checkpoint,
                   meas / 1048576.0, res.peak_bytes / 1048576.0, 100 * err);
            n++;
            sum += fabs(err);
            if (fabs(err) > worst) worst = fabs(err);
            if (!res.complete || fabs(err) > 0.03) {
                bad++;
                TAP_OK(0, "%s: %s:%d within 3%% and complete (%+.2f%%)", what, rel, csv->lines[i],
                       100 * err);
            }
            if (ckpt && ns < 2) {
                bad++;
                TAP_OK(0, "%s: %s:%d: the decoder's layers found as blocks (%d)", what, rel,
                       csv->lines[i], ns);
            }
        }
        dlm_mem_model_free(m);
        dlm_graph_free(g);
        free(sg);
        free(rg);
    }
    dlm_csv_free(csv);
    TAP_OK(n >= (skipped ? 1 : min_points), "%s: predicted %d points (%d skipped: built without "
           "jansson; %d refused by name)", what, n, skipped, refused);
    TAP_OK(n > 0 && sum / n <= 0.01, "%s: mean |error| %.2f%%, worst %.2f%% over %d points "
           "(target: mean <= 1%%)", what, n ? 100 * sum / n : 0.0, 100 * worst, n);
    TAP_OK(bad == 0, "%s: %d of %d points within 3%%", what, n - bad, n);
}

int main(void)
{
    char path[1024];
    if (!dlm_data_path("reference/pytorch_memory.csv", path, sizeof path))
        return skip_all("no data/reference/pytorch_memory.csv");
    dlm_ref_point *p;
    int n;
    if (dlm_refcheck_run(path, &p, &n) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        TAP_OK(0, "predict every reference point");
        return tap_done();
    }
    TAP_OK(n >= 288, "predicted all %d base points of %s", n, path);
    /* per series */
    printf("# series (model mode dtype attention): points, mean |err|, worst err\n");
    for (int i = 0; i < n; i++) {
        int first = 1;
        for (int k = 0; k < i; k++)
            if (!strcmp(p[k].model, p[i].model) && !strcmp(p[k].mode, p[i].mode) &&
                !strcmp(p[k].dtype, p[i].dtype) && !strcmp(p[k].attention, p[i].attention))
                first = 0;
        if (!first) continue;
        double s = 0, w = 0;
        int c = 0;
        for (int k = i; k < n; k++)
            if (!strcmp(p[k].model, p[i].model) && !strcmp(p[k].mode, p[i].mode) &&
                !strcmp(p[k].dtype, p[i].dtype) && !strcmp(p[k].attention, p[i].attention)) {
                s += fabs(p[k].err);
                if (fabs(p[k].err) > fabs(w)) w = p[k].err;
                c++;
            }
        printf("#   %-8s %-7s %-4s %-5s %3d points  mean %5.2f%%  worst %+6.2f%%\n", p[i].model,
               p[i].mode, p[i].dtype, p[i].attention[0] ? p[i].attention : "-", c, 100 * s / c,
               100 * w);
    }
    static const char *modes[] = {"infer", "forward", "train"};
    static const double target[] = {0.02, 0.02, 0.03};
    for (int m = 0; m < 3; m++) {
        double mean, worst;
        int c;
        dlm_refcheck_stats(p, n, modes[m], &mean, &worst, &c);
        TAP_OK(mean <= target[m], "%s: mean |error| %.2f%% over %d complete points (target <= %.0f%%)",
               modes[m], 100 * mean, c, 100 * target[m]);
    }
    points_within(p, n, "memory grid");
    free(p);

    /* The techniques CSV: the same protocol on variants the model describes. */
    if (!dlm_data_path("reference/pytorch_techniques.csv", path, sizeof path)) {
        printf("# no %s: techniques not checked\n", path);
        return tap_done();
    }
    if (dlm_refcheck_techniques(path, &p, &n) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        TAP_OK(0, "predict the technique points");
        return tap_done();
    }
    printf("# techniques (%s):\n", path);
    for (int i = 0; i < n; i++)
        printf("#   %-8s %-20s %-7s %-4s autocast %-4s B=%-3lld T=%-4lld measured %9.2f  predicted %9.2f  %+6.2f%%\n",
               p[i].model, p[i].variant, p[i].mode, p[i].dtype, p[i].autocast, (long long)p[i].batch,
               (long long)p[i].seq, p[i].ref_peak / 1048576.0, p[i].pred_peak / 1048576.0, 100 * p[i].err);
    TAP_OK(n >= 40, "predicted %d technique points", n);
    points_within(p, n, "techniques");
    free(p);

    /* The transformer grid (H200): the points whose models have memory rules
     * (BERT from its config.json, at sizes the BERT grid did not have) within 5%;
     * the rest are counted and named, not guessed. */
    if (!dlm_data_path("reference/pytorch_memory_transformers.csv", path, sizeof path)) {
        printf("# no %s: transformer grid not checked\n", path);
        return tap_done();
    }
    int unmodelled = 0;
    char why[512];
    if (dlm_refcheck_transformers(path, &p, &n, &unmodelled, why, sizeof why) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        TAP_OK(0, "predict the transformer grid");
        return tap_done();
    }
    TAP_OK(n >= (strstr(why, "without jansson") ? 20 : 40),
           "transformer grid: predicted %d points (gpt2, vit_b_16, data/hf configs)", n);
    printf("# transformer grid: %d base points not predicted (no memory rules yet), e.g. %s\n",
           unmodelled, why);
    /* built without jansson, the config.json points (hf:NAME) are not predicted:
     * only the built-ins' (gpt2, vit_b_16) are, and no training point is */
    int no_json = strstr(why, "without jansson") != NULL;
    for (int m = 0; m < 3; m++) {
        double mean, worst;
        int c;
        dlm_refcheck_stats(p, n, modes[m], &mean, &worst, &c);
        if (c == 0 && no_json) {
            TAP_OK(1, "# SKIP transformer grid %s: no point predicted without jansson",
                   modes[m]);
            continue;
        }
        TAP_OK(c > 0 && mean <= target[m], "transformer grid %s: mean |error| %.2f%%, worst "
               "%.2f%% over %d points (target <= %.0f%%)", modes[m], 100 * mean, 100 * worst, c,
               100 * target[m]);
    }
    points_within(p, n, "transformer grid");
    free(p);

    autocast_grid("reference/pytorch_memory_transformers_autocast.csv", "autocast grid", 90, 36);
    autocast_grid("reference/pytorch_memory_transformers_autocast_holdout.csv",
                  "autocast hold-out", 30, 6);
    checkpoint_grid("reference/pytorch_techniques_transformers.csv", "decoder checkpointing", 48);
    checkpoint_grid("reference/pytorch_techniques_transformers_holdout.csv",
                    "decoder checkpointing hold-out", 20);
    return tap_done();
}
