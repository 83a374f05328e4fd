/* pool.c — the rules of maxpool2d and adaptive avgpool2d (see rule.h).
 *
 * PyTorch 2.11: max_pool2d_with_indices makes the output and int64 indices
 * (saved with the input in training, freed at once in inference);
 * adaptive_avg_pool2d makes the output and saves the input (its shape).
 * Backward: the input's gradient.
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

static void fwd_avgpool2d_adaptive(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    tr_out_new(r, o, 0);
    if (r->grad) tr_save(r, o, S(r, op->in[0]), "input");
}

const op_rule dlm_rule_maxpool2d = {
    .name = "maxpool2d", .fwd = fwd_maxpool2d, .bwd = tr_bwd_input_grad};
const op_rule dlm_rule_avgpool2d_adaptive = {
    .name = "avgpool2d_adaptive", .fwd = fwd_avgpool2d_adaptive, .bwd = tr_bwd_input_grad};
