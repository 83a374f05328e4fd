/* norm.c — the rules of batchnorm2d and layernorm (see rule.h).
 *
 * PyTorch 2.11: batchnorm in training runs cudnn_batch_norm (fp32 weights)
 * or native_batch_norm: the output + save_mean + save_invstd (C floats),
 * saves the input; layer_norm runs native_layer_norm: the output + mean +
 * rstd (rows floats), saves the input, mean and rstd.  Backward: the
 * input's gradient and the weight's and bias's.
 */
#include "rule.h"

static void fwd_batchnorm2d(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    tr_out_new(r, o, 0);
    if (r->torch && !r->grad && r->pb == 2) {
        /* half weights: native_batch_norm, whose save_mean/save_invstd
         * exist even in eval and are dropped at once (cudnn_batch_norm
         * needs fp32 weights for half inputs) */
        for (int k = 0; k < 2; k++)
            tl_unref(r->t, tr_temp(r, o, P((int64_t)op->a.bn.c * 4), DLM_TERM_TRANSIENT, -1,
                                   k ? "save_invstd" : "save_mean"));
    }
    if (r->grad) {
        tr_save(r, o, S(r, x), "input");
        for (int k = 0; k < 2; k++) {
            int s = tr_temp(r, o, P((int64_t)op->a.bn.c * 4), DLM_TERM_SAVED, -1,
                            k ? "save_invstd" : "save_mean");
            tr_save(r, o, s, k ? "save_invstd" : "save_mean");
            tl_unref(r->t, s);
        }
    }
}

static void fwd_layernorm(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    tr_out_new(r, o, 0);
    int m = -1, s = -1;
    if (r->torch || r->grad) {
        m = tr_temp(r, o, mulk(rows(r, x), 4), DLM_TERM_TRANSIENT, -1, "mean");
        s = tr_temp(r, o, mulk(rows(r, x), 4), DLM_TERM_TRANSIENT, -1, "rstd");
    }
    if (r->grad) {
        tr_save(r, o, S(r, x), "input");
        tr_save(r, o, m, "mean");
        tr_save(r, o, s, "rstd");
    }
    tl_unref(r->t, m);
    tl_unref(r->t, s);
}

/* native_batch_norm_backward / native_layer_norm_backward: the input's
 * gradient, then the parameters'. */
static void bwd_norm(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    int gi = r->rg[x] ? tr_grad_new(r, x, "grad input") : -1;
    for (int i = 0; i < op->n_params; i++) tr_param_grad(r, op->params[i], tr_pgrad_new(r, op->params[i]));
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tr_give(r, x, gi);
}

const op_rule dlm_rule_batchnorm2d = {
    .name = "batchnorm2d", .fwd = fwd_batchnorm2d, .bwd = bwd_norm};
/* autocast runs layer_norm in fp32 */
const op_rule dlm_rule_layernorm = {
    .name = "layernorm", .fwd = fwd_layernorm, .bwd = bwd_norm, .autocast = 4};
