/* shape.c — the rules of flatten, select, view, concat and upsample (see
 * rule.h).
 *
 * flatten, select and view are views of their input's storage, called as
 * functions (torch.flatten, x[-1], position_ids[:, :T]), allocating nothing.
 * Backward: flatten and view hand the gradient on reshaped (no copy); select
 * makes a zero gradient of the input's size and writes the slice
 * (select_backward).
 *
 * PyTorch 2.11 (Functions.h; saved_tensors_hooks on the CPU build): torch.cat
 * makes the output and saves nothing (CatBackward0 keeps sizes); its backward
 * hands each input a slice of the gradient (a view: no allocation), into
 * which autograd never accumulates in place (a channel slice is not dense).
 * upsample_nearest2d / upsample_bilinear2d make the output and save nothing
 * (their backward needs sizes only); backward: the input's gradient.
 */
#include "rule.h"

static void fwd_view(tr *r, int o) { tr_out_alias(r, o, 0, r->g->ops[o].in[0]); }

static void bwd_reshape(tr *r, int o, int gout) { tr_give(r, r->g->ops[o].in[0], gout); }

const op_rule dlm_rule_flatten = {
    .name = "flatten", .fwd = fwd_view, .bwd = bwd_reshape, .flags = RULE_FUNCTIONAL};
const op_rule dlm_rule_select = {
    .name = "select", .fwd = fwd_view, .bwd = tr_bwd_input_grad, .flags = RULE_FUNCTIONAL};
const op_rule dlm_rule_view = {
    .name = "view", .fwd = fwd_view, .bwd = bwd_reshape, .flags = RULE_FUNCTIONAL};

static void fwd_new_output(tr *r, int o) { tr_out_new(r, o, 0); }

static void bwd_concat(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    for (int i = 0; i < op->n_in; i++) {
        if (!r->rg[op->in[i]]) continue;
        tl_ref(r->t, gout);
        tr_give_view(r, op->in[i], gout);
    }
    tl_unref(r->t, gout);
}

/* The runtime concatenates along channels (dim 1) only. */
static const char *runtime_concat(const dlm_op *op)
{
    return op->a.cat.dim == 1 ? NULL : "concat along another dimension than 1";
}

/* torch.cat(...) and F.interpolate(...) are calls of functions; cat promotes */
const op_rule dlm_rule_concat = {
    .name = "concat", .fwd = fwd_new_output, .bwd = bwd_concat, .autocast = -1,
    .flags = RULE_FUNCTIONAL, .runtime_refuses = runtime_concat};
const op_rule dlm_rule_upsample = {
    .name = "upsample", .fwd = fwd_new_output, .bwd = tr_bwd_input_grad, .flags = RULE_FUNCTIONAL};
