/* pool.c — the rules of maxpool2d, avgpool2d and adaptive avgpool2d (see
 * rule.h).
 *
 * PyTorch 2.11: max_pool2d_with_indices makes the output and int64 indices
 * (saved with the input in training, freed at once in inference); avg_pool2d
 * makes the output and saves the input (AvgPool2DBackward0: self);
 * adaptive_avg_pool2d to 1x1 is input.mean((-1, -2), keepdim=True)
 * (aten/src/ATen/native/AdaptiveAveragePooling.cpp), whose backward needs
 * only sizes (MeanBackward1: nothing saved), any other size
 * _adaptive_avg_pool2d, which saves the input (checked with
 * saved_tensors_hooks on the CPU build of the same version: 1x1 saves
 * nothing, 3x3 and 7x7 save the input).  Backward: the input's gradient.
 * ceil_mode changes only the output's shape (graph.c).
 */
#include "rule.h"

static void fwd_maxpool2d(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    tr_out_new(r, o, 0);
    int idx = -1;
    if (r->torch || r->grad)
        idx = tr_temp(r, o, mulk(numel(r, op->out[0]), 8), DLM_TERM_TRANSIENT, -1,
                      "maxpool indices");
    if (r->grad) {
        tr_save(r, o, S(r, x), "input");
        tr_save(r, o, idx, "indices");
    }
    tl_unref(r->t, idx);
}

/* avg_pool2d, _adaptive_avg_pool2d: the output; saves the input. */
static void fwd_avgpool2d(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    tr_out_new(r, o, 0);
    if (r->grad) tr_save(r, o, S(r, op->in[0]), "input");
}

static void fwd_avgpool2d_adaptive(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (!r->torch || op->a.apool.oh != 1 || op->a.apool.ow != 1) { /* the runtime's plan saves x */
        fwd_avgpool2d(r, o);
        return;
    }
    tr_out_new(r, o, 0); /* mean over H and W: nothing saved */
}

static const char *runtime_pool(const dlm_op *op)
{
    return !op->a.pool.ceil ? NULL
           : op->kind == DLM_OP_MAXPOOL2D ? "maxpool2d with ceil_mode" : "avgpool2d with ceil_mode";
}

const op_rule dlm_rule_maxpool2d = {
    .name = "maxpool2d", .fwd = fwd_maxpool2d, .bwd = tr_bwd_input_grad,
    .runtime_refuses = runtime_pool};
const op_rule dlm_rule_avgpool2d = {
    .name = "avgpool2d", .fwd = fwd_avgpool2d, .bwd = tr_bwd_input_grad,
    .runtime_refuses = runtime_pool};
const op_rule dlm_rule_avgpool2d_adaptive = {
    .name = "avgpool2d_adaptive", .fwd = fwd_avgpool2d_adaptive, .bwd = tr_bwd_input_grad};
