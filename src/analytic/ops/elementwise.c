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
        tr_gelu_new_fwd(r, o); /* GPT-2 (its backward: tr_gelu_new_bwd) */
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
static void bwd_gelu(tr *r, int o, int gout)
{
    if (r->g->ops[o].a.gelu.form == DLM_GELU_NEW) tr_gelu_new_bwd(r, o, gout);
    else tr_bwd_input_grad(r, o, gout);
}

const op_rule dlm_rule_gelu = {.name = "gelu", .fwd = fwd_activation, .bwd = bwd_gelu};
const op_rule dlm_rule_tanh = {.name = "tanh", .fwd = fwd_activation, .bwd = tr_bwd_input_grad};
/* autocast runs softmax in fp32 */
const op_rule dlm_rule_softmax = {
    .name = "softmax", .fwd = fwd_activation, .bwd = tr_bwd_input_grad, .autocast = 4};
/* an add promotes to the wider of its inputs; `a + b` is no module call */
const op_rule dlm_rule_add = {
    .name = "add", .fwd = fwd_add, .bwd = bwd_add, .autocast = -1, .flags = RULE_FUNCTIONAL};

/* ---- relu6, hardswish, silu, sigmoid, mul, stochastic depth, in-place dropout -----
 *
 * PyTorch 2.11 (torch/csrc/autograd/generated/Functions.h, the nodes
 * derivatives.yaml generates; checked with saved_tensors_hooks on the CPU
 * build of the same version):
 *   relu6 (hardtanh 0..6), hardswish, silu: the backward formula reads the
 *     input (HardtanhBackward0, HardswishBackward0, SiluBackward0: self).  Out
 *     of place: the output; saves the input.  In place (nn.ReLU6(inplace=True),
 *     nn.SiLU(inplace=True) as torchvision's Conv2dNormActivation makes them)
 *     there is no separate in-place formula, so autograd first clones the
 *     input it needs (original self) and saves the clone: the output shares
 *     the input's storage and the clone costs as much as an output would.
 *     Without autograd in place is free.
 *   sigmoid: the output; saves the result.
 *   mul: the output; saves each operand the other's gradient needs
 *     (MulBackward0: self if other requires grad, other if self does);
 *     backward: grad * other for self, grad * self for other, summed down to
 *     a broadcast operand's shape (the full-size product first).
 *   stochastic depth (torchvision.ops.stochastic_depth, mode "row"): in
 *     training noise = empty([B, 1, ...]).bernoulli_(1 - p).div_(1 - p), the
 *     output input * noise; saves the noise (B elements); in eval the input.
 *   dropout in place (nn.Dropout(inplace=True)) in training: dropout_ takes
 *     _dropout_impl's path, noise = empty_like(input) (the input's dtype, not
 *     a bool mask).bernoulli_(1 - p).div_(1 - p), input.mul_(noise); saves the
 *     noise; in eval the input.
 */

/* relu6, hardswish, silu: the input is what backward reads. */
static void fwd_activation_of_input(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    if (!op->inplace) {
        tr_out_new(r, o, 0);
        if (r->grad) tr_save(r, o, S(r, x), "input");
        return;
    }
    int clone = -1;
    if (r->grad)
        clone = tr_temp(r, o, nbytes(r, x), DLM_TERM_SAVED, -1, "input clone (in place)");
    tr_out_alias(r, o, 0, x);
    if (r->grad) tr_save(r, o, clone, "input clone");
    tl_unref(r->t, clone);
}

static void fwd_sigmoid(tr *r, int o)
{
    tr_out_new(r, o, 0);
    if (r->grad) tr_save(r, o, S(r, r->g->ops[o].out[0]), "result");
}

static void fwd_mul(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int a = op->in[0], b = op->in[1];
    if (op->inplace) tr_out_alias(r, o, 0, a);
    else tr_out_new(r, o, 0);
    if (r->grad && r->rg[b]) tr_save(r, o, S(r, a), "self");
    if (r->grad && r->rg[a]) tr_save(r, o, S(r, b), "other");
}

static void bwd_mul(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int g[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        int in = op->in[i];
        if (!r->rg[in]) continue;
        if (dlm_poly_equal(&TT(r, in)->numel, &TT(r, op->out[0])->numel)) {
            g[i] = tr_grad_new(r, in, "grad (product)");
        } else { /* grad * other at the output's size, then sum_to_size */
            int full = tr_grad_new(r, op->out[0], "grad (product before the sum)");
            g[i] = tr_grad_new(r, in, "grad summed over broadcast");
            tl_unref(r->t, full);
        }
    }
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tr_give(r, op->in[0], g[0]);
    tr_give(r, op->in[1], g[1]);
}

/* stochastic depth and dropout in place: multiplies by a noise tensor of
 * `noise_elems` elements (the input's dtype) in training. */
static void fwd_noise(tr *r, int o, dlm_poly noise_elems, const char *what)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    if (!r->grad || op->a.dropout.p == 0) { /* eval (or p = 0): the input itself */
        /* dlmem's runtime gives a stochastic depth's output the storage the
         * graph declares, and copies (plan.h) */
        if (!r->torch && !op->inplace) tr_out_new(r, o, 0);
        else tr_out_alias(r, o, 0, x);
        return;
    }
    int noise = tr_temp(r, o, mulk(noise_elems, r->eb[x]), DLM_TERM_SAVED, -1, what);
    if (op->inplace) tr_out_alias(r, o, 0, x);
    else tr_out_new(r, o, 0);
    tr_save(r, o, noise, what);
    tl_unref(r->t, noise);
}

static void fwd_stochastic_depth(tr *r, int o)
{
    const dlm_tensor *x = TT(r, r->g->ops[o].in[0]);
    fwd_noise(r, o, x->shape[0], "stochastic depth noise (B values)");
}

static void fwd_dropout_any(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (!op->inplace) {
        fwd_dropout(r, o);
        return;
    }
    fwd_noise(r, o, numel(r, op->in[0]), "dropout noise (in place)");
}

const op_rule dlm_rule_relu6 = {
    .name = "relu6", .fwd = fwd_activation_of_input, .bwd = tr_bwd_input_grad};
const op_rule dlm_rule_hardswish = {
    .name = "hardswish", .fwd = fwd_activation_of_input, .bwd = tr_bwd_input_grad};
const op_rule dlm_rule_silu = {
    .name = "silu", .fwd = fwd_activation_of_input, .bwd = tr_bwd_input_grad};
const op_rule dlm_rule_sigmoid = {
    .name = "sigmoid", .fwd = fwd_sigmoid, .bwd = tr_bwd_input_grad};
/* `scale * input`: a function call; promotes like add */
const op_rule dlm_rule_mul = {
    .name = "mul", .fwd = fwd_mul, .bwd = bwd_mul, .autocast = -1, .flags = RULE_FUNCTIONAL};
const op_rule dlm_rule_stochastic_depth = {
    .name = "stochastic_depth", .fwd = fwd_stochastic_depth, .bwd = tr_bwd_input_grad};
const op_rule dlm_rule_dropout = {
    .name = "dropout", .fwd = fwd_dropout_any, .bwd = tr_bwd_input_grad};
