/* test_oplog.c — the pytorch profile op by op against PyTorch's per-aten-op
 * memory logs (tools/torch_reference.py oplog on an H200, data/reference/):
 * for each convolution and cuDNN RNN op of a logged point, the memory at the
 * op's peak as the model's own log (dlm_mem_oplog) has it against PyTorch's.
 *
 *   pytorch_oplog_resnet_fp32.csv  ResNet-18 fp32, B 1..128, infer / forward /
 *       train: the source of data/cudnn/conv_workspace.csv, so this checks
 *       that the table, placed where trace.c puts it, gives every conv op's
 *       peak, and everything else around it (not the table's numbers alone);
 *   pytorch_oplog.csv (ResNet-18 fp32, B=2): a batch size the table does not
 *       hold — convtab.h's interpolation rule, op by op;
 *   pytorch_oplog_ckpt.csv: a checkpointed ResNet-18 step (B=32), its
 *       recomputation included — trace.c's checkpoint rules;
 *   pytorch_oplog_lstm_long.csv, pytorch_oplog_gru.csv: _cudnn_rnn and
 *       _cudnn_rnn_backward in training steps — the RNN workspace and reserve
 *       laws (the logs' RNN infer and forward points are left out: without a
 *       warm-up their rise includes the zero initial states, which the model
 *       puts in the same op);
 *   pytorch_oplog_rnn_chunks.csv (H100; torch_reference.py oplog
 *       --rnn-chunks): the LSTM checkpointed in chunks of time steps, each
 *       chunk's _cudnn_rnn in forward, its recomputation and its
 *       _cudnn_rnn_backward in backward — trace.c's laws at T/K and what
 *       each call makes.  Rises, not peaks: under the log's dispatch mode
 *       autograd adds the chunks' weight gradients out of place, without it
 *       (as the memory protocol and the model run) the first chunk's flat
 *       gradient stays alive from the third chunk on (trace.c,
 *       rnn_chunk_grads), 3.4 MiB more resident memory before those calls;
 *       the technique runs check the peaks.
 * What is compared: each op's rise (its peak less the memory allocated
 * before it: its outputs and workspaces), which does not depend on how the
 * resident memory before it came about; for the checkpointed step instead
 * the op's peak itself (the log, like the memory protocol, runs it after a
 * warm-up step), which checks what the checkpoint rules keep alive.
 * Tolerance: 2 MiB or 0.5% of the log's value, whichever is larger: the
 * allocator simulation hands out a cached block whole when at most 1 MiB
 * would remain, and a different history of earlier blocks can do that for a
 * different request (seen: up to 1.25 MiB on two of 560 ops).  At B=2 the
 * interpolation matched the log where B=1 and B=4 share an engine and
 * missed elsewhere (layer2.0.conv1's backward: an engine neither neighbour
 * uses): there is no rule between batch sizes any more.
 * A point whose library workspaces no row gives (B=2; the RNNs until the
 * probed rows are shipped) is incomplete: each op's rise is then a lower
 * bound, held to be at most the log's (+ the tolerance); with
 * data/cudnn/probe-sm90-cudnn91900.csv shipped such a point is a gap in
 * those rows, listed as a TAP TODO. */
#include <stdlib.h>
#include <string.h>

#include "analytic/memory.h"
#include "analytic/refcheck.h"
#include "core/csv.h"
#include "core/paths.h"
#include "models/models.h"
#include "advise/segments.h"
#include "tap.h"

#define MAX_STEPS 20000

typedef struct point {
    char model[16], dtype[8], mode[12];
    int64_t B, T;
    int ckpt;       /* checkpointed per block */
    int chunks;     /* RNN in checkpointed chunks of time steps (0: none) */
    int first, end; /* rows [first, end) of the CSV */
} point;

/* "resnet18:eager:fp32:train:B32:T0[:ckpt-block]", "lstm:...:T1000:ckpt-chunks4" */
static int parse_point(const char *s, point *p)
{
    char buf[160], *f[8];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *t = strtok(buf, ":"); t && n < 8; t = strtok(NULL, ":")) f[n++] = t;
    if (n < 6 || f[4][0] != 'B' || f[5][0] != 'T') return 0;
    snprintf(p->model, sizeof p->model, "%s", f[0]);
    snprintf(p->dtype, sizeof p->dtype, "%s", f[2]);
    snprintf(p->mode, sizeof p->mode, "%s", f[3]);
    p->B = atoll(f[4] + 1);
    p->T = atoll(f[5] + 1);
    p->ckpt = n > 6 && !strcmp(f[6], "ckpt-block");
    p->chunks = n > 6 && !strncmp(f[6], "ckpt-chunks", 11) ? atoi(f[6] + 11) : 0;
    return n == 6 || p->ckpt || (n == 7 && p->chunks > 1);
}

static int is_conv(const char *op)
{
    return !strcmp(op, "convolution.default") || !strcmp(op, "convolution_backward.default");
}

static int is_rnn(const char *op)
{
    return !strcmp(op, "_cudnn_rnn.default") || !strcmp(op, "_cudnn_rnn_backward.default");
}

typedef struct stats {
    int ops, off;
    double worst; /* MiB */
} stats;

/* Compares one point's conv (or RNN) ops: their rise, or with `absolute`
 * (training steps, which the log runs after a warm-up) their peak. */
static void check_point(const dlm_csv *csv, const int *col, const point *p, int rnn, int absolute,
                        dlm_mem_opstep *steps, const char *file, stats *st)
{
    dlm_graph *g;
    dlm_mem_model *m = NULL;
    dlm_mem_config c;
    dlm_segment *seg = NULL;
    dlm_op_range *rg = NULL;
    int nseg = 0, n = 0;
    const char *pt = dlm_csv_get(csv, p->first, col[0]);
    if (dlm_model_build_named(p->model, "", &g) != DLM_OK) {
        TAP_OK(0, "%s: build %s: %s", file, p->model, dlm_errmsg());
        return;
    }
    dlm_mem_config_default(&c);
    int ok = dlm_mode_parse(p->mode, &c.mode) == DLM_OK && dlm_dtype_parse(p->dtype, &c.dtype) == DLM_OK;
    if (ok && p->ckpt) {
        ok = dlm_segments_find(g, DLM_SEG_BLOCK, &seg, &nseg) == DLM_OK &&
             (rg = malloc((size_t)(nseg ? nseg : 1) * sizeof *rg)) != NULL;
        for (int i = 0; ok && i < nseg; i++) rg[i] = seg[i].ops;
        c.checkpoint = rg;
        c.n_checkpoint = nseg;
    }
    c.rnn_chunks = p->chunks;
    ok = ok && dlm_mem_model_alloc(g, &c, &m) == DLM_OK &&
         dlm_mem_oplog(m, p->B, p->T > 0 ? p->T : 1, steps, MAX_STEPS, &n) == DLM_OK && n <= MAX_STEPS;
    if (!ok) {
        TAP_OK(0, "%s: %s: model's own log: %s", file, pt, dlm_errmsg());
        goto out;
    }
    dlm_mem_result res;
    if (dlm_mem_eval(m, p->B, p->T > 0 ? p->T : 1, &res) != DLM_OK) {
        TAP_OK(0, "%s: %s: %s", file, pt, dlm_errmsg());
        goto out;
    }
    int bounded = !res.complete;
    if (bounded && dlm_ref_rows_shipped()) /* a gap in the shipped rows */
        printf("not ok %d - %s: %s: complete # TODO %d library workspaces without rows in "
               DLM_REF_PROBE_FILE " (probe them); rises held as lower bounds\n", ++tap_n, file, pt,
               res.n_unknown);
    else if (bounded)
        printf("# %s: %s: incomplete (%d unknown terms): rises held as lower bounds\n", file, pt,
               res.n_unknown);
    /* the model's conv (RNN) steps, in order, against the log's rows */
    int k = 0, pairs = 0, mismatch = 0;
    int warm = absolute && !strcmp(p->mode, "train");
    for (int i = p->first; i < p->end; i++) {
        const char *op = dlm_csv_get(csv, i, col[2]);
        if (rnn ? !is_rnn(op) : !is_conv(op)) continue;
        while (k < n && (steps[k].op < 0 ||
                         g->ops[steps[k].op].kind != (rnn ? DLM_OP_RNN : DLM_OP_CONV2D)))
            k++;
        if (k == n) {
            mismatch = 1;
            break;
        }
        int64_t before, peak;
        if (dlm_csv_int(csv, i, col[3], &before) != DLM_OK || dlm_csv_int(csv, i, col[5], &peak) != DLM_OK) {
            TAP_OK(0, "%s", dlm_errmsg());
            goto out;
        }
        const dlm_mem_opstep *s = &steps[k++];
        double want = warm ? (double)peak : (double)(peak - before);
        double got = warm ? (double)s->peak : (double)(s->peak - s->before);
        double d = (got - want) / 1048576.0, tol = 2.0;
        if (0.005 * want / 1048576.0 > tol) tol = 0.005 * want / 1048576.0;
        double a = d < 0 ? -d : d;
        pairs++;
        st->ops++;
        if (a > st->worst) st->worst = a;
        if (a <= tol || (bounded && d <= tol)) continue;
        printf("not ok %d - %s %s %s %s (%s, csv line %d): model %.2f MiB, log %.2f MiB (%+.2f MiB)\n",
               ++tap_n, file, pt, g->ops[s->op].name, dlm_phase_name(s->phase), op, csv->lines[i],
               got / 1048576.0, want / 1048576.0, d);
        tap_failed++;
        st->off++;
    }
    if (!mismatch) /* the model has no such op the log lacks */
        for (; k < n; k++)
            if (steps[k].op >= 0 && g->ops[steps[k].op].kind == (rnn ? DLM_OP_RNN : DLM_OP_CONV2D))
                mismatch = 1;
    TAP_OK(!mismatch && pairs > 0, "%s: %s: the model runs the log's %d %s ops in its order", file,
           pt, pairs, rnn ? "cuDNN RNN" : "convolution");
out:
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    free(seg);
    free(rg);
}

/* Every point of `rel` whose model is `model`: its conv or RNN ops. */
static void check_file(const char *rel, const char *model, const char *dtype, int rnn, int absolute,
                       dlm_mem_opstep *steps)
{
    char path[1024];
    if (!dlm_data_path(rel, path, sizeof path)) {
        printf("# no data/%s: not checked\n", rel);
        return;
    }
    static const char *names[] = {"point", "phase", "op", "before", "after", "peak"};
    int col[6];
    dlm_csv *csv;
    if (dlm_csv_read(path, &csv) != DLM_OK || dlm_csv_require(csv, 6, names, col) != DLM_OK) {
        TAP_OK(0, "read %s: %s", path, dlm_errmsg());
        return;
    }
    stats st = {0, 0, 0};
    int points = 0;
    for (int i = 0; i < csv->nrows;) {
        point p;
        const char *name = dlm_csv_get(csv, i, col[0]);
        int j = i + 1;
        while (j < csv->nrows && !strcmp(dlm_csv_get(csv, j, col[0]), name)) j++;
        p.first = i;
        p.end = j;
        /* RNN ops: training steps only (see the top: an infer or forward log
         * has no warm-up, and its rise would include the zero states) */
        if (parse_point(name, &p) && !strcmp(p.model, model) && (!dtype || !strcmp(p.dtype, dtype)) &&
            (!rnn || !strcmp(p.mode, "train"))) {
            check_point(csv, col, &p, rnn, absolute, steps, rel + 10, &st);
            points++;
        }
        i = j;
    }
    printf("# %s %s: %d points, %d ops, largest |model - log| %.2f MiB (%s); %d outside the "
           "tolerance\n", rel + 10, model, points, st.ops, st.worst,
           absolute ? "peaks of training steps, rises elsewhere" : "rises", st.off);
    TAP_OK(points > 0, "%s: %d %s points checked", rel + 10, points, model);
    dlm_csv_free(csv);
}

int main(void)
{
    dlm_mem_opstep *steps = malloc(MAX_STEPS * sizeof *steps);
    if (!steps) {
        TAP_OK(0, "out of memory");
        return tap_done();
    }
    check_file("reference/pytorch_oplog_resnet_fp32.csv", "resnet18", "fp32", 0, 0, steps);
    check_file("reference/pytorch_oplog.csv", "resnet18", "fp32", 0, 0, steps);
    check_file("reference/pytorch_oplog_ckpt.csv", "resnet18", "fp32", 0, 1, steps);
    check_file("reference/pytorch_oplog_lstm_long.csv", "lstm", NULL, 1, 0, steps);
    check_file("reference/pytorch_oplog_gru.csv", "gru", NULL, 1, 0, steps);
    check_file("reference/pytorch_oplog_gru_bf16.csv", "gru", NULL, 1, 0, steps);
    check_file("reference/pytorch_oplog_resnet_fp32_b256.csv", "resnet18", "fp32", 0, 0, steps);
    check_file("reference/pytorch_oplog_rnn_chunks.csv", "lstm", NULL, 1, 0, steps);
    free(steps);
    return tap_done();
}
