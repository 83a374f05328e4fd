/* vit.c — the rules of the vision transformers' own ops (see rule.h):
 * patch_tokens and nn.MultiheadAttention (the class token's cat is the
 * concat rule's).  Inference only (see
 * dlm_trace_supports in decoder.c).
 *
 * PyTorch 2.11 and torchvision 0.26:
 *   patch_tokens  conv_proj(x).reshape(n, C, h*w).permute(0, 2, 1): views
 *   cat           torch.cat([class_token.expand(n, -1, -1), x], dim=1): a new tensor
 *   MHA           nn.MultiheadAttention(x, x, x, need_weights=False) in eval under
 *                 no_grad takes the fast path, torch._native_multi_head_attention
 *                 (aten/src/ATen/native/transformers/cuda/attention.cu): query is
 *                 key is value and head_dim % 8 == 0, so when SDPA picks flash or
 *                 memory-efficient (fp32: efficient, half: flash) it runs
 *                 at::linear(x, in_proj_weight, in_proj_bias) (B, T, 3E), chunks it
 *                 into views, SDPA (output in (B, T, h, d) layout, reshaped as a
 *                 view) and at::linear(out_proj): the qkv and SDPA's output are
 *                 locals until it returns.
 */
#include "rule.h"

static void bwd_unwritten(tr *r, int o, int gout)
{
    (void)gout;
    if (r->st == DLM_OK)
        r->st = dlm_error(DLM_EINTERNAL, "op %s: no backward rule", r->g->ops[o].name);
}

static void fwd_view(tr *r, int o) { tr_out_alias(r, o, 0, r->g->ops[o].in[0]); }

static void fwd_mha(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0], e = r->eb[x];
    const dlm_tensor *t = TT(r, x);
    tr_gemm(r, 0);
    tr_gemm_lt(r); /* addmm with in_proj_bias */
    int qkv = tr_temp(r, o, mulk(numel(r, x), 3LL * e), DLM_TERM_TRANSIENT, -1, "in_proj (qkv)");
    int att = tr_temp(r, o, mulk(numel(r, x), e), DLM_TERM_TRANSIENT, -1, "SDPA output");
    int lse = tr_temp(r, o, mulk(dlm_poly_mul(t->shape[0], t->shape[1]),
                                 (int64_t)op->a.attn.heads * 4),
                      DLM_TERM_TRANSIENT, -1, "logsumexp");
    tl_unref(r->t, lse);
    tr_out_new(r, o, 0); /* out_proj */
    tl_unref(r->t, att);
    tl_unref(r->t, qkv);
}

const op_rule dlm_rule_patch_tokens = {
    .name = "patch_tokens", .fwd = fwd_view, .bwd = bwd_unwritten, .flags = RULE_FUNCTIONAL};
const op_rule dlm_rule_mha = {.name = "multihead_attention", .fwd = fwd_mha, .bwd = bwd_unwritten};
