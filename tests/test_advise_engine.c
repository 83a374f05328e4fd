/* test_advise_engine.c — the memory engine's extensions for the advisor,
 * against values derived by hand or from PyTorch's parameter list:
 * checkpointing segments, 8-bit Adam states, ZeRO sharding, autocast's
 * resident memory, the segment finder and the FLOP counts. */
#include <stdlib.h>
#include <string.h>

#include "advise/flops.h"
#include "advise/segments.h"
#include "analytic/memory.h"
#include "core/csv.h"
#include "core/paths.h"
#include "models/models.h"
#include "tap.h"

static dlm_mem_result predict(const dlm_graph *g, dlm_mem_config c, int64_t B, int64_t T)
{
    dlm_mem_result r;
    memset(&r, 0, sizeof r);
    if (dlm_mem_predict(g, &c, B, T, &r) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        r.peak_bytes = -1;
    }
    return r;
}

/* Per-parameter element counts from PyTorch's own list (independent of the
 * graph builders). */
static int torch_numels(const char *model, int64_t *out, int max)
{
    char path[1024];
    dlm_csv *c;
    int n = 0, idx[3];
    static const char *cols[] = {"model", "kind", "numel"};
    if (!dlm_data_path("reference/pytorch_params.csv", path, sizeof path) || dlm_csv_read(path, &c))
        return -1;
    if (dlm_csv_require(c, 3, cols, idx) == DLM_OK)
        for (int r = 0; r < c->nrows && n < max; r++)
            if (!strcmp(dlm_csv_get(c, r, idx[0]), model) && !strcmp(dlm_csv_get(c, r, idx[1]), "param"))
                dlm_csv_int(c, r, idx[2], &out[n++]);
    dlm_csv_free(c);
    return n;
}

int main(void)
{
    dlm_graph *g;
    if (dlm_model_build_named("resnet18", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build resnet18: %s", dlm_errmsg());
        return tap_done();
    }

    /* ---- segments ---- */
    dlm_segment *seg;
    int nb = 0, ns = 0;
    dlm_status fs = dlm_segments_find(g, DLM_SEG_BLOCK, &seg, &nb);
    TAP_OK(fs == DLM_OK && nb == 8, "resnet18 has 8 BasicBlocks (%d)", nb);
    TAP_STREQ(nb ? seg[0].name : "", "layer1.0", "the first block is layer1.0");
    TAP_STREQ(nb ? g->ops[seg[0].ops.first].name : "", "layer1.0.conv1", "... from its conv1");
    TAP_STREQ(nb ? g->ops[seg[0].ops.last].name : "", "layer1.0.relu#2", "... to its second relu");
    dlm_op_range block0 = nb ? seg[0].ops : (dlm_op_range){0, 0};
    free(seg);
    fs = dlm_segments_find(g, DLM_SEG_STAGE, &seg, &ns);
    TAP_OK(fs == DLM_OK && ns == 4, "4 stages (%d)", ns);
    free(seg);

    /* ---- checkpointing ---- */
    dlm_mem_config c;
    dlm_mem_config_default(&c);
    c.profile = DLM_PROFILE_RUNTIME;
    c.mode = DLM_MODE_FORWARD;
    dlm_mem_result plain = predict(g, c, 1, 1);
    c.checkpoint = &block0;
    c.n_checkpoint = 1;
    dlm_mem_result ck = predict(g, c, 1, 1);
    /* What layer1.0 no longer keeps after a training forward at B=1: conv1's
     * output (bn1's input), bn1's output (relu's result, conv2's input),
     * conv2's output (bn2's input), 64*56*56*4 = 802,816 B each, and the two
     * BatchNorms' save_mean and save_invstd, 64*4 = 256 B each.  Its input
     * and its output (the next block's input) stay. */
    TAP_EQ(plain.after_bytes - ck.after_bytes, 3 * 802816 + 4 * 256,
           "checkpointing layer1.0 frees 3 activations and 4 BatchNorm statistics after forward");
    c.mode = DLM_MODE_INFER;
    c.n_checkpoint = 0;
    dlm_mem_result i0 = predict(g, c, 4, 1);
    c.n_checkpoint = 1;
    dlm_mem_result i1 = predict(g, c, 4, 1);
    TAP_EQ(i1.peak_bytes, i0.peak_bytes, "checkpointing changes nothing in inference");
    c.mode = DLM_MODE_TRAIN;
    c.n_checkpoint = 0;
    dlm_mem_result t0 = predict(g, c, 16, 1);
    c.n_checkpoint = 1;
    dlm_mem_result t1 = predict(g, c, 16, 1);
    TAP_OK(t1.peak_bytes > 0 && t1.peak_bytes <= t0.peak_bytes,
           "a checkpointed block never raises the training peak (%lld <= %lld)",
           (long long)t1.peak_bytes, (long long)t0.peak_bytes);
    TAP_EQ(t1.after_bytes, t0.after_bytes, "after the step nothing of the checkpoint is left");
    c.profile = DLM_PROFILE_PYTORCH;
    dlm_op_range bad[2] = {{5, 9}, {8, 12}};
    c.checkpoint = bad;
    c.n_checkpoint = 2;
    dlm_mem_model *m = NULL;
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_EINVAL, "overlapping segments are refused: %s",
           dlm_errmsg());
    dlm_mem_model_free(m);
    c.checkpoint = NULL;
    c.n_checkpoint = 0;

    /* ---- optimizer state: 8-bit Adam, ZeRO ---- */
    int64_t numel[128];
    int np = torch_numels("resnet18", numel, 128);
    TAP_EQ(np, 62, "PyTorch lists 62 resnet18 parameters");
    int64_t adam = 0, adam8 = 0, z1 = 0, z3w = 0;
    for (int i = 0; i < np; i++) {
        adam += 2 * 4 * numel[i];
        /* bitsandbytes: uint8 + one fp32 absmax per 256 elements, per state,
         * for tensors of at least 4096 elements; fp32 states below */
        adam8 += numel[i] >= 4096 ? 2 * (numel[i] + (numel[i] + 255) / 256 * 4) : 2 * 4 * numel[i];
        z1 += 2 * 4 * ((numel[i] + 3) / 4);
        z3w += 4 * ((numel[i] + 3) / 4);
    }
    c.profile = DLM_PROFILE_RUNTIME;
    c.mode = DLM_MODE_TRAIN;
    dlm_mem_result ra = predict(g, c, 2, 1);
    c.optimizer = DLM_OPT_ADAM8BIT;
    dlm_mem_result r8 = predict(g, c, 2, 1);
    TAP_EQ(ra.before_bytes - r8.before_bytes, adam - adam8,
           "8-bit Adam's states: %lld B instead of %lld B", (long long)adam8, (long long)adam);
    c.optimizer = DLM_OPT_ADAM;
    c.shard_stage = 1;
    c.shard_gpus = 4;
    dlm_mem_result s1 = predict(g, c, 2, 1);
    TAP_EQ(ra.before_bytes - s1.before_bytes, adam - z1, "ZeRO-1 on 4 GPUs keeps a quarter of Adam's state");
    c.shard_stage = 3;
    dlm_mem_result s3 = predict(g, c, 2, 1);
    TAP_EQ(s3.by_term[DLM_TERM_WEIGHTS] > 0 ? s3.by_term[DLM_TERM_WEIGHTS] : -1, z3w,
           "ZeRO-3 on 4 GPUs: each keeps a quarter of the weights at the peak");
    TAP_OK(s3.peak_bytes < s1.peak_bytes, "ZeRO-3 peaks lower than ZeRO-1");
    c.shard_stage = 0;
    c.shard_gpus = 0;

    /* ---- autocast ---- */
    c.profile = DLM_PROFILE_PYTORCH;
    c.mode = DLM_MODE_TRAIN;
    dlm_mem_result f32 = predict(g, c, 8, 1);
    c.dtype = DLM_DTYPE_MIXED;
    dlm_mem_result mx = predict(g, c, 8, 1);
    TAP_EQ(mx.by_term[DLM_TERM_WEIGHTS], f32.by_term[DLM_TERM_WEIGHTS],
           "autocast keeps the weights in fp32 (%lld B)", (long long)f32.by_term[DLM_TERM_WEIGHTS]);
    TAP_EQ(mx.by_term[DLM_TERM_OPTIMIZER], f32.by_term[DLM_TERM_OPTIMIZER],
           "... and Adam's state (%lld B)", (long long)f32.by_term[DLM_TERM_OPTIMIZER]);
    /* inference: after the autocast region only the output is left of the
     * step, in half: 8*1000*2 = 16,000 B (a 16,384 B block) instead of
     * 32,000 B (32,256 B); the half weight copies are gone with the cache */
    c.mode = DLM_MODE_INFER;
    c.dtype = DLM_DTYPE_FP32;
    dlm_mem_result if32 = predict(g, c, 8, 1);
    c.dtype = DLM_DTYPE_MIXED;
    dlm_mem_result imx = predict(g, c, 8, 1);
    TAP_EQ(imx.after_bytes - if32.after_bytes, 16384 - 32256,
           "autocast inference leaves a half output and no weight copies");
    c.dtype = DLM_DTYPE_FP32;

    /* ---- FLOPs ---- */
    dlm_poly f = dlm_op_flops(g, 0); /* conv1: 2*3*7*7 per output, 64*112*112*B outputs */
    TAP_EQ(dlm_poly_eval(&f, 1, 1), 2LL * 3 * 7 * 7 * 64 * 112 * 112, "conv1: 2*Cin*k*k per output");
    int fc = g->n_ops - 1;
    f = dlm_op_flops(g, fc);
    TAP_EQ(dlm_poly_eval(&f, 2, 1), 2LL * (2 * 512 + 1) * 1000, "fc: (2*in + 1) per output");
    dlm_graph_free(g);

    if (dlm_model_build_named("bert", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build bert: %s", dlm_errmsg());
        return tap_done();
    }
    TAP_OK(dlm_segments_find(g, DLM_SEG_BLOCK, &seg, &nb) == DLM_OK && nb == 12 &&
               !strcmp(seg[11].name, "encoder.layer.11"),
           "BERT-base: 12 encoder layers are its blocks");
    free(seg);
    int att = -1;
    for (int o = 0; o < g->n_ops; o++)
        if (g->ops[o].kind == DLM_OP_ATTENTION) att = o;
    f = dlm_op_flops(g, att);
    TAP_EQ(dlm_poly_eval(&f, 2, 128), 4LL * 2 * 128 * 128 * 768 + 5LL * 2 * 12 * 128 * 128,
           "attention: 4*B*T^2*Hd for q k^T and p v, 5 per score");
    dlm_graph_free(g);

    if (dlm_model_build_named("lstm", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build lstm: %s", dlm_errmsg());
        return tap_done();
    }
    TAP_OK(dlm_segments_find(g, DLM_SEG_BLOCK, &seg, &nb) == DLM_OK && nb == 0,
           "the seed's LSTM has no blocks to checkpoint");
    f = dlm_op_flops(g, 0);
    TAP_EQ(dlm_poly_eval(&f, 1, 1),
           2LL * 4 * 256 * (100 + 256) + 40 * 256 + 2LL * 4 * 256 * (256 + 256) + 40 * 256,
           "LSTM step: 2*4*H*(I+H) + 10 per gate value, per layer");
    dlm_graph_free(g);
    return tap_done();
}
