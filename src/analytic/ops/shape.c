/* shape.c — the rules of flatten, select and view (see rule.h): views of
 * their input's storage, called as functions (torch.flatten, x[-1],
 * position_ids[:, :T]), allocating nothing.  Backward: flatten and view hand
 * the gradient on reshaped (no copy); select makes a zero gradient of the
 * input's size and writes the slice (select_backward).
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
