/* vit.c — the rules of the vision transformers' own ops (see rule.h):
 * patch_tokens and nn.MultiheadAttention (the class token's cat is the
 * concat rule's): its eval fast path in inference, its training path
 * (forward and backward) in modes forward and train, and under autocast in
 * every mode; not with attention dropout (dlm_trace_supports in decoder.c
 * refuses it).
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

static void fwd_view(tr *r, int o) { tr_out_alias(r, o, 0, r->g->ops[o].in[0]); }

/* The training path (model.train(); torch.nn.functional.multi_head_attention_forward,
 * need_weights=False), read off a per-op log of torchvision's vit_b_16 on the H200
 * (PyTorch 2.11, B=2, fp32 and bf16):
 *   query.transpose(1, 0) (T, B, E) view; _in_projection_packed: linear on it is
 *     matmul(x, W^T) (reshape copies the transposed x: MmBackward saves the copy),
 *     mm (B*T, 3E) (the first GEMM allocates the cuBLAS workspace), + in_proj_bias
 *     out of place (the mm result goes), unflatten/unsqueeze/transpose/squeeze
 *     views and .contiguous(): proj (3, T, B, E), whose selects are q, k, v
 *     (views; SDPA saves them)
 *   SDPA on (B, h, T, d) views: fp32 the memory-efficient kernel (output, its
 *     logsumexp (B, h, T rounded up to 32) fp32), bf16 cuDNN's (output, logsumexp
 *     (B, h, T) fp32, philox seed and offset: two int64 on the GPU)
 *   attn_output.permute(2, 0, 1, 3): the memory-efficient output is (B, T, h, d)
 *     in memory, so .contiguous() copies (B*T*E); cuDNN's is (T, B, h, d) already
 *     (its strides follow q's): a view
 *   out_proj: addmm (B*T, E) with bias (cuBLASLt): the output; AddmmBackward saves
 *     its input (the copy, or SDPA's output). */
/* Under autocast (pytorch_oplog_autocast.csv) the module never takes the fast
 * path (autocast is one of its reasons not to), so inference runs this path
 * too, without saving: the cached half copies of in_proj's bias and weight,
 * a half copy of the fp32 x^T (then matmul's reshape copies that), the half
 * GEMMs, cuDNN's half SDPA, out_proj's half copies and a half output. */
static void fwd_mha_train(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0], e = r->mixed ? 2 : r->eb[x], heads = op->a.attn.heads, g = r->grad;
    const dlm_tensor *t = TT(r, x);
    dlm_poly bte = mulk(numel(r, x), e), bte3 = mulk(numel(r, x), 3LL * e);
    tr_gemm(r, 0);
    tr_weight_cast(r, o, op->params[1]); /* (autocast only) in_proj_bias, in_proj_weight */
    tr_weight_cast(r, o, op->params[0]);
    int xh = r->mixed && r->eb[x] == 4
                 ? tr_temp(r, o, bte, DLM_TERM_TRANSIENT, -1, "autocast half copy of x^T")
                 : -1;
    int xc = tr_temp(r, o, bte, DLM_TERM_TRANSIENT, -1, "x^T copied by matmul's reshape");
    tl_unref(r->t, xh);
    if (g && r->rg[op->params[0]]) tr_save(r, o, xc, "in_proj input (copy)");
    int mm = tr_temp(r, o, bte3, DLM_TERM_TRANSIENT, -1, "in_proj mm");
    int ad = tr_temp(r, o, bte3, DLM_TERM_TRANSIENT, -1, "+ in_proj_bias");
    tl_unref(r->t, mm);
    int proj = tr_temp(r, o, bte3, DLM_TERM_TRANSIENT, -1, "proj.contiguous() (q, k, v)");
    tl_unref(r->t, ad);
    tl_unref(r->t, xc);
    if (g) tr_save(r, o, proj, "q, k, v");
    int out = tr_temp(r, o, bte, DLM_TERM_TRANSIENT, -1, "SDPA output");
    if (g) tr_save(r, o, out, "SDPA output");
    dlm_poly per_t = mulk(t->shape[0], 4LL * heads);
    /* without autograd cuDNN's kernel returns no logsumexp, the philox state still */
    int lse = !g ? -1
              : e == 4 ? tr_temp_tround(r, o, per_t, t->shape[1], 32, "logsumexp (rows padded to 32)")
                       : tr_temp(r, o, dlm_poly_mul(per_t, t->shape[1]), DLM_TERM_TRANSIENT, -1,
                                 "logsumexp");
    if (g) tr_save(r, o, lse, "logsumexp");
    tl_unref(r->t, lse);
    int rng[2] = {-1, -1};
    if (e != 4)
        for (int k = 0; k < 2; k++) {
            rng[k] = tr_temp(r, o, P(8), DLM_TERM_TRANSIENT, -1, k ? "philox offset" : "philox seed");
            if (g) tr_save(r, o, rng[k], "philox state");
        }
    int ac = e == 4 ? tr_temp(r, o, bte, DLM_TERM_TRANSIENT, -1, "attn_output.contiguous()") : out;
    tr_weight_cast(r, o, op->params[3]); /* (autocast only) out_proj's bias and weight */
    tr_weight_cast(r, o, op->params[2]);
    if (g && r->rg[op->params[2]]) tr_save(r, o, ac, "out_proj input");
    tr_gemm_lt(r); /* addmm with out_proj.bias */
    tr_out_new(r, o, 0);
    if (ac != out) tl_unref(r->t, ac);
    tl_unref(r->t, out);
    tl_unref(r->t, proj);
    tl_unref(r->t, rng[0]);
    tl_unref(r->t, rng[1]);
}

static void fwd_mha(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0], e = r->eb[x];
    const dlm_tensor *t = TT(r, x);
    if (r->grad || r->mixed) {
        fwd_mha_train(r, o);
        return;
    }
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

/* The training path's backward, node by node as the vit_b_16 log shows it
 * (see fwd_mha_train): out_proj's AddmmBackward on a copy of the transposed
 * gradient (the view's reshape): grad input, then out_proj's weight and bias
 * gradients; SDPA's backward (grads of q, k, v; the kernel's workspace as
 * the fused attention rule has it), its saved tensors released; each of the
 * three gradients copied twice on its way back through q.view(B, h, T, d) and
 * the transposed (T, B*h, d) view (each copy frees its source); SelectBackward
 * makes a zero (3, T, B, E) tensor per gradient, accumulated out of place;
 * the unflatten's reshape copies the sum (3, T, B, E); in_proj's bias and
 * weight gradients, then its grad input (B, T, E). */
static void bwd_mha(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0], e = r->mixed ? 2 : r->eb[x], heads = op->a.attn.heads;
    const dlm_tensor *t = TT(r, x);
    dlm_poly bte = mulk(numel(r, x), e), bte3 = mulk(numel(r, x), 3LL * e);
    tr_gemm(r, 1);
    int gc = new_slot(r, bte, DLM_TERM_TRANSIENT, -1, "MHA backward: grad copy (reshape)");
    tl_unref(r->t, gout);
    int ga = new_slot(r, bte, DLM_TERM_TRANSIENT, -1, "MHA backward: out_proj grad input");
    tr_param_grad(r, op->params[2], tr_pgrad_half(r, op->params[2]));
    tr_param_grad(r, op->params[3], tr_pgrad_half(r, op->params[3]));
    tl_unref(r->t, gc);
    /* SDPA's backward: the fused attention rule's workspace */
    int ws = new_slot(r, tr_sdpa_bwd_workspace(bte, t->shape[0], t->shape[1], heads, e),
                      DLM_TERM_WORKSPACE, -1, "MHA backward: attention workspace");
    int g[3];
    for (int k = 0; k < 3; k++)
        g[k] = new_slot(r, bte, DLM_TERM_TRANSIENT, -1, "MHA backward: grad q, k, v");
    tl_unref(r->t, ws);
    tl_unref(r->t, ga);
    tr_release_saved(r, o);
    /* the memory-efficient kernel's (fp32) gradients are (B, T, h, d) in memory:
     * the views back copy; cuDNN's (half) follow q's strides: views */
    for (int pass = 0; e == 4 && pass < 2; pass++)
        for (int k = 0; k < 3; k++) {
            int c = new_slot(r, bte, DLM_TERM_TRANSIENT, -1, "MHA backward: reshape copy");
            tl_unref(r->t, g[k]);
            g[k] = c;
        }
    int acc = -1;
    for (int k = 0; k < 3; k++) {
        int sb = new_slot(r, bte3, DLM_TERM_TRANSIENT, -1, "MHA backward: select_backward zeros");
        tl_unref(r->t, g[k]);
        if (acc < 0) {
            acc = sb;
            continue;
        }
        int sum = new_slot(r, bte3, DLM_TERM_TRANSIENT, -1, "MHA backward: grad proj sum");
        tl_unref(r->t, acc);
        tl_unref(r->t, sb);
        acc = sum;
    }
    int cl = new_slot(r, bte3, DLM_TERM_TRANSIENT, -1, "MHA backward: unflatten's reshape copy");
    tl_unref(r->t, acc);
    tr_param_grad(r, op->params[1], tr_pgrad_half(r, op->params[1]));
    tr_param_grad(r, op->params[0], tr_pgrad_half(r, op->params[0]));
    int gx = r->rg[x] ? new_slot(r, bte, DLM_TERM_TRANSIENT, -1, "MHA backward: grad input") : -1;
    tl_unref(r->t, cl);
    if (gx >= 0 && e != r->eb[x]) { /* autocast: the half copy of x's ToCopyBackward0 */
        int c = tr_grad_new(r, x, "MHA backward: grad input to fp32");
        tl_unref(r->t, gx);
        gx = c;
    }
    tr_give(r, x, gx);
}

/* PermuteBackward and ViewBackward: views; the gradient goes to the conv as it is */
static void bwd_patch_tokens(tr *r, int o, int gout) { tr_give(r, r->g->ops[o].in[0], gout); }

const op_rule dlm_rule_patch_tokens = {
    .name = "patch_tokens", .fwd = fwd_view, .bwd = bwd_patch_tokens, .flags = RULE_FUNCTIONAL};
/* autocast: a half output (out_proj) */
const op_rule dlm_rule_mha = {
    .name = "multihead_attention", .fwd = fwd_mha, .bwd = bwd_mha, .autocast = 2};
