/* elementwise.c — the rules of relu, gelu, tanh, softmax, add and dropout
 * (see rule.h).
 *
 * PyTorch 2.11 (derivatives.yaml): relu_ (in place) saves its result;
 * gelu saves its input; tanh and softmax save their result; add saves
 * nothing and hands its gradient to both inputs (summed over broadcast
 * dimensions); dropout in training runs native_dropout: the output + a bool
 * mask (saved); in eval it returns its input.
 */
#include "rule.h"

/* relu, gelu, tanh, softmax: the output (or the input, in place) and what
 * the backward formula reads. */
static void fwd_activation(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    if (op->kind == DLM_OP_GELU && op->a.gelu.form == DLM_GELU_NEW) {
        tr_gelu_new_fwd(r, o); /* inference only (dlm_trace_supports) */
        return;
    }
    if (op->inplace) tr_out_alias(r, o, 0, x);
    else tr_out_new(r, o, 0);
    if (r->grad) {
        int keep = op->kind == DLM_OP_GELU ? x : op->out[0];
        tr_save(r, o, S(r, keep), op->kind == DLM_OP_GELU ? "input" : "result");
    }
}

static void fwd_add(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (op->inplace) tr_out_alias(r, o, 0, op->in[0]);
    else tr_out_new(r, o, 0);
}

static void bwd_add(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    for (int i = 0; i < op->n_in; i++) {
        int in = op->in[i];
        if (!r->rg[in]) continue;
        if (dlm_poly_equal(&TT(r, in)->numel, &TT(r, op->out[0])->numel)) {
            tl_ref(r->t, gout);
            tr_give(r, in, gout);
        } else { /* broadcast: sum_to the input's shape */
            tr_give(r, in, tr_grad_new(r, in, "grad summed over broadcast"));
        }
    }
    tl_unref(r->t, gout);
}

static void fwd_dropout(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    if (!r->grad || op->a.dropout.p == 0) {
        if (r->torch) tr_out_alias(r, o, 0, x); /* eval: the input itself */
        else tr_out_new(r, o, 0);               /* the runtime's plan copies */
    } else {
        tr_out_new(r, o, 0);
        int mask = tr_temp(r, o, numel(r, x), DLM_TERM_SAVED, -1, "dropout mask");
        tr_save(r, o, mask, "mask");
        tl_unref(r->t, mask);
    }
}

const op_rule dlm_rule_relu = {.name = "relu", .fwd = fwd_activation, .bwd = tr_bwd_input_grad};
const op_rule dlm_rule_gelu = {.name = "gelu", .fwd = fwd_activation, .bwd = tr_bwd_input_grad};
const op_rule dlm_rule_tanh = {.name = "tanh", .fwd = fwd_activation, .bwd = tr_bwd_input_grad};
/* autocast runs softmax in fp32 */
const op_rule dlm_rule_softmax = {
    .name = "softmax", .fwd = fwd_activation, .bwd = tr_bwd_input_grad, .autocast = 4};
/* an add promotes to the wider of its inputs; `a + b` is no module call */
const op_rule dlm_rule_add = {
    .name = "add", .fwd = fwd_add, .bwd = bwd_add, .autocast = -1, .flags = RULE_FUNCTIONAL};
const op_rule dlm_rule_dropout = {.name = "dropout", .fwd = fwd_dropout, .bwd = tr_bwd_input_grad};
