/* decoder.c — the rules of the decoder language models' ops (see rule.h):
 * rmsnorm, slice, rotary, rope, index, the causal-LM loss, causal
 * attention (called from linear_attn.c's attention rule) and GPT-2's gelu_new
 * (called from elementwise.c's gelu rule).
 *
 * Read off the source of transformers 5.17 and PyTorch 2.11 and checked
 * against the aten ops a CPU run dispatches (TorchDispatchMode), op for op:
 *   LlamaRMSNorm     x.to(float32) (a copy unless fp32), pow(2), mean(-1)
 *                    (the variance, a local until it returns), + eps, rsqrt,
 *                    x * rsqrt (fp32), .to(input dtype) (a copy unless fp32),
 *                    weight * that: the output
 *   *RotaryEmbedding once per forward: position_ids[:, None, :].float(),
 *                    inv_freq.float() (a copy when the model is half),
 *                    freqs = inv_freq @ positions (bmm, (1, d/2, T) fp32),
 *                    cat((freqs, freqs)), cos() * attention_scaling and
 *                    sin() * attention_scaling (two tensors each), .to(dtype)
 *   apply_rotary_pos_emb  q*cos, -x2 (half), cat(-x2, x1), *sin, +: q_embed;
 *                    the same for k
 *   DynamicCache     update(): torch.cat of the empty cache and the new keys
 *                    (values): copies that the returned cache keeps
 *   causal mask      eager: create_causal_mask's int64 aranges, `le` (bool
 *                    1x1xTxT), torch.where(...) (B x 1 x T x T in the model's
 *                    dtype), alive until the backbone's forward returns; SDPA:
 *                    none (is_causal)
 *   eager attention  repeat_kv (copies of k and v when heads > kv heads),
 *                    matmul(q, k^T) (q is a transposed view: copied), * scaling,
 *                    + mask, softmax (Llama: softmax(dtype=float32), which copies
 *                    a bf16 input to fp32 first (at::softmax; a CUDA half input
 *                    is read as half_to_float), then .to(q's dtype)),
 *                    matmul with v, transpose(1, 2).contiguous(); the weights
 *                    held by the layer's frame until it returns
 *   SDPA             enable_gqa (no repeat_kv; PyTorch 2.11's flash and
 *                    memory-efficient kernels take grouped heads): as
 *                    linear_attn.c's fused rule
 *   gelu_new         0.5*x, pow(x, 3), 0.044715*, x +, sqrt(2/pi)*, tanh, 1 +,
 *                    * : eight tensors, each intermediate freed when the next
 *                    is made
 *   cache_position   arange(T) + past_seen_tokens (int64), position_ids its view
 *
 * Inference has rules, and the forward pass under autograd (what each op
 * saves, from derivatives.yaml and saved_tensors_hooks on the CPU; GPT-2's
 * attention dropout as native_dropout's output and bool mask).  Training of
 * GPT-2-family decoders with eager attention has rules too: the causal-LM
 * loss, gelu_new's and causal attention's backward node by node, as PyTorch's
 * own step on the meta device dispatches them (tools/torch_meta.py; every
 * op's outputs and frees), the requested bytes checked against the H200's
 * requested_bytes.all.peak to the byte (tests/requested_ref.sh).  Under
 * autocast (mixed) the rules follow the per-op log of gpt2 and the GQA decoder
 * under bf16 autocast (data/reference/pytorch_oplog_autocast.csv): gelu_new
 * in fp32 from pow on, rope's promotion, the cache's promoted values, the
 * fp32 mask and softmax, and each half op's casts of fp32 operands.  What is
 * not covered (checkpointing of a decoder, ViT under autocast, ViT's attention
 * dropout) is refused by dlm_trace_supports(), by name, before a walk.
 */
#include "rule.h"

#include <limits.h>
#include <stdio.h>

/* Bytes of tensor t's elements at e bytes each. */
static dlm_poly bytes_e(const tr *r, int t, int e) { return mulk(numel(r, t), e); }

/* A gradient *g replaced by a copy of `bytes` (a cast's backward, the
 * engine's cast to an input's dtype): the copy is made, then *g goes. */
static void grad_recast(tr *r, int *g, dlm_poly bytes, const char *what)
{
    int c = new_slot(r, bytes, DLM_TERM_TRANSIENT, -1, what);
    tl_unref(r->t, *g);
    *g = c;
}

static void bwd_unwritten(tr *r, int o, int gout)
{
    (void)gout;
    if (r->st == DLM_OK)
        r->st = dlm_error(DLM_EINTERNAL, "op %s: no backward rule (dlm_trace_supports let it "
                          "through)", r->g->ops[o].name);
}

/* Whether op o's first parameter (its weight) requires grad (not frozen). */
static int op_weight_rg(const tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    return op->n_params > 0 && r->rg[op->params[0]];
}

static void fwd_rmsnorm(tr *r, int o)
{
    int x = r->g->ops[o].in[0], e = r->eb[x];
    dlm_poly n32 = bytes_e(r, x, 4), rows4 = mulk(rows(r, x), 4);
    int h32 = e == 4 ? -1 : tr_temp(r, o, n32, DLM_TERM_TRANSIENT, -1, "x.to(float32)");
    int xs = h32 >= 0 ? h32 : S(r, x); /* what pow and the mul by rsqrt save */
    if (r->grad) tr_save(r, o, xs, "x in fp32");
    int pw = tr_temp(r, o, n32, DLM_TERM_TRANSIENT, -1, "x.pow(2)");
    int var = tr_temp(r, o, rows4, DLM_TERM_TRANSIENT, -1, "variance");
    tl_unref(r->t, pw);
    int ve = tr_temp(r, o, rows4, DLM_TERM_TRANSIENT, -1, "variance + eps");
    int rs = tr_temp(r, o, rows4, DLM_TERM_TRANSIENT, -1, "rsqrt");
    tl_unref(r->t, ve);
    if (r->grad) tr_save(r, o, rs, "rsqrt");
    int h2 = tr_temp(r, o, n32, DLM_TERM_TRANSIENT, -1, "x * rsqrt");
    tl_unref(r->t, rs);
    tl_unref(r->t, h32);
    int hc = e == 4 ? -1 : tr_temp(r, o, bytes_e(r, x, e), DLM_TERM_TRANSIENT, -1,
                                   ".to(input dtype)");
    /* weight * it: MulBackward0 keeps it for the weight's gradient only */
    if (r->grad && op_weight_rg(r, o)) tr_save(r, o, hc >= 0 ? hc : h2, "normalized x");
    tr_out_new(r, o, 0); /* weight * hidden_states */
    tl_unref(r->t, hc);
    tl_unref(r->t, h2);
    tl_unref(r->t, var);
}



/* LlamaRMSNorm's backward, node by node (a CPU run's dispatch): weight *
 * h's MulBackward0 (grad * weight, grad * h summed to the weight's gradient;
 * h goes), ToCopyBackward0 to fp32 (half models), x * rsqrt's MulBackward0
 * (grad * rsqrt, grad * x summed over the row), rsqrt's (grad * -0.5 *
 * rsqrt^3: two row-sized temporaries; rsqrt goes), mean's (the row gradient
 * expanded and divided: full size), pow's (grad * (2 * x.pow(1)): both
 * temporaries live to the end of the expression; x in fp32 goes); x's two
 * gradients meet in its InputBuffer, then ToCopyBackward0 to x's type. */
static void bwd_rmsnorm(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0], e = r->eb[x];
    dlm_poly ne = bytes_e(r, x, e), n32 = bytes_e(r, x, 4), rows4 = mulk(rows(r, x), 4);
    const int *sv = &r->saved[o * MAX_SAVED];
    int ns = r->n_saved[o];
    int xs = ns > 0 ? sv[0] : -1, rs = ns > 1 ? sv[1] : -1, hn = ns > 2 ? sv[2] : -1;
    int gh = new_slot(r, ne, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: grad * weight");
    int gt = new_slot(r, ne, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: grad * h");
    for (int i = 0; i < op->n_params; i++) tr_param_grad(r, op->params[i], tr_pgrad_new(r, op->params[i]));
    tl_unref(r->t, gt);
    tl_unref(r->t, gout);
    tr_unsave(r, o, hn);
    int g32 = gh;
    if (e != 4) {
        g32 = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: grad to fp32");
        tl_unref(r->t, gh);
    }
    int gx = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: grad * rsqrt");
    int gt2 = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: grad * x");
    int grs = new_slot(r, rows4, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: row sum");
    tl_unref(r->t, gt2);
    tl_unref(r->t, g32);
    int p3 = new_slot(r, rows4, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: rsqrt^3");
    int m3 = new_slot(r, rows4, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: -0.5 * rsqrt^3");
    int gv = new_slot(r, rows4, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: grad variance");
    tl_unref(r->t, m3);
    tl_unref(r->t, p3);
    tl_unref(r->t, grs);
    tr_unsave(r, o, rs);
    int gd = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: mean backward");
    tl_unref(r->t, gv);
    int q1 = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: x.pow(1)");
    int q2 = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: 2 * x");
    int gp = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "rmsnorm backward: pow backward");
    tl_unref(r->t, q2);
    tl_unref(r->t, q1);
    tl_unref(r->t, gd);
    tr_unsave(r, o, xs);
    tr_release_saved(r, o);
    if (!r->rg[x]) {
        tl_unref(r->t, gx);
        tl_unref(r->t, gp);
        return;
    }
    if (e == 4) {
        tr_give(r, x, gx);
        tr_give(r, x, gp);
        return;
    }
    tl_unref(r->t, gp); /* added into gx in place (the InputBuffer holds both alone) */
    int gb = tr_grad_new(r, x, "rmsnorm backward: grad to x's type");
    tl_unref(r->t, gx);
    tr_give(r, x, gb);
}

/* apply_rotary_pos_emb's backward for k, then q: x * cos + rotate_half(x) *
 * sin.  rotate_half's MulBackward0 (grad * sin), cat's backward (views),
 * NegBackward0 (half size), two SliceBackward0 (full size each, gathered in x's
 * InputBuffer in place), x * cos's (grad * cos): x's gradient in the (B, h, T,
 * d) layout, which the projection's view backward copies. */
static void bwd_rope(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    for (int k = 1; k >= 0; k--) {
        int x = op->in[k], e = r->eb[x];
        int g = k == 0 ? gout : r->gslot[op->out[1]];
        if (k == 1) r->gslot[op->out[1]] = -1;
        if (g < 0) continue;
        if (k == 1 && r->gview[op->out[1]] == 2) r->gview[op->out[1]] = 0;
        const dlm_tensor *t = TT(r, x);
        dlm_poly full = bytes_e(r, x, e);
        dlm_poly half = mulk(dlm_poly_mul(t->shape[0], t->shape[1]),
                             dlm_poly_eval(&t->shape[2], 1, 1) / 2 * e);
        int a = new_slot(r, full, DLM_TERM_TRANSIENT, -1, "rope backward: grad * sin");
        int ng = new_slot(r, half, DLM_TERM_TRANSIENT, -1, "rope backward: neg backward");
        int s1 = new_slot(r, full, DLM_TERM_TRANSIENT, -1, "rope backward: slice backward");
        tl_unref(r->t, ng);
        int s2 = new_slot(r, full, DLM_TERM_TRANSIENT, -1, "rope backward: slice backward");
        tl_unref(r->t, a);
        tl_unref(r->t, s2); /* added into s1 in place */
        int c = new_slot(r, full, DLM_TERM_TRANSIENT, -1, "rope backward: grad * cos");
        tl_unref(r->t, g);
        tl_unref(r->t, c); /* added into s1 in place */
        if (r->rg[x]) tr_give_transposed(r, x, s1);
        else tl_unref(r->t, s1);
    }
    tr_release_saved(r, o);
}

static void fwd_view(tr *r, int o) { tr_out_alias(r, o, 0, r->g->ops[o].in[0]); }

/* The last op of the module call `scope` (an op name prefix), o if none. */
static int scope_last(const tr *r, int o, const char *scope, size_t n)
{
    int last = o;
    for (int k = o; k < r->n_ops; k++) {
        const char *name = r->g->ops[k].name;
        if (!strncmp(name, scope, n) && name[n] == '.') last = k;
    }
    return last;
}

static int has_eager_causal(const tr *r)
{
    if (r->cfg->attention != DLM_ATTN_EAGER) return 0;
    for (int k = 0; k < r->n_ops; k++)
        if (r->g->ops[k].kind == DLM_OP_ATTENTION && r->g->ops[k].a.attn.causal) return 1;
    return 0;
}

/* Python's backbone forward ("transformer" / "model", the scope of op o's
 * name) holds slot s as a local until it returns. */
static void hold_to_backbone(tr *r, int o, int s)
{
    const char *name = r->g->ops[o].name, *dot = strrchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : 0;
    tr_schedule(r, n ? scope_last(r, o, name, n) : INT_MAX, s);
    /* with gradient checkpointing each decoder layer's call gets it as an
     * argument: the checkpoint keeps it for the layer's recomputation */
    tr_ckpt_input(r, s);
}

/* Every causal attention op of g has a sliding window (Mistral): the model
 * makes one sliding-window mask (none has one: the causal mask). */
static int all_sliding(const dlm_graph *g)
{
    int any = 0;
    for (int k = 0; k < g->n_ops; k++)
        if (g->ops[k].kind == DLM_OP_ATTENTION && g->ops[k].a.attn.causal) {
            if (g->ops[k].a.attn.window <= 0) return 0;
            any = 1;
        }
    return any;
}

static void fwd_index(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]);
    dlm_poly T = x->shape[1], B = x->shape[0];
    if (op->a.index.form == DLM_INDEX_FROM_IDS) {
        /* RoBERTa's create_position_ids_from_input_ids: mask = ids.ne(pad).int();
         * (torch.cumsum(mask, dim=1).type_as(mask) + past) * mask; .long() + pad
         * (int64 cumsum of int32; each step a new tensor, mask and the product
         * locals until it returns) */
        dlm_poly bt = dlm_poly_mul(B, T);
        int ne = tr_temp(r, o, bt, DLM_TERM_TRANSIENT, -1, "ids.ne(pad) (bool)");
        int mask = tr_temp(r, o, mulk(bt, 4), DLM_TERM_TRANSIENT, -1, "mask .int()");
        tl_unref(r->t, ne);
        int cs = tr_temp(r, o, mulk(bt, 8), DLM_TERM_TRANSIENT, -1, "cumsum (int64)");
        int ta = tr_temp(r, o, mulk(bt, 4), DLM_TERM_TRANSIENT, -1, ".type_as(mask)");
        tl_unref(r->t, cs);
        int ad = tr_temp(r, o, mulk(bt, 4), DLM_TERM_TRANSIENT, -1, "+ past_key_values_length");
        tl_unref(r->t, ta);
        int inc = tr_temp(r, o, mulk(bt, 4), DLM_TERM_TRANSIENT, -1, "* mask");
        tl_unref(r->t, ad);
        int lg = tr_temp(r, o, mulk(bt, 8), DLM_TERM_TRANSIENT, -1, ".long()");
        tr_out_new(r, o, 0); /* + padding_idx */
        tl_unref(r->t, lg);
        tl_unref(r->t, mask);
        tl_unref(r->t, inc);
        return;
    }
    if (op->a.index.form != DLM_INDEX_ARANGE) { /* the token types: buffer.expand(...).gather */
        tr_out_new(r, o, 0);
        return;
    }
    int a = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "arange(T)");
    int cp = tr_out_new(r, o, 0); /* cache_position = arange + past_seen_tokens */
    tl_unref(r->t, a);
    tl_ref(r->t, cp); /* cache_position (position_ids is its view): the backbone's local */
    hold_to_backbone(r, o, cp);
    if (!has_eager_causal(r)) return;
    if (all_sliding(r->g)) {
        /* create_sliding_window_causal_mask (eager): the index tensors (each
         * arange + offset), then and_masks(causal, sliding window): new_ones,
         * q - window (int64), `gt`, `&`, `le`, `&`; where (B x 1 x T x T in the
         * model's dtype) */
        int ib = tr_temp(r, o, mulk(B, 8), DLM_TERM_TRANSIENT, -1, "mask: batch index");
        int ih = tr_temp(r, o, P(8), DLM_TERM_TRANSIENT, -1, "mask: head index");
        int qa = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "mask: arange");
        int qi = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "mask: q index");
        tl_unref(r->t, qa);
        int ka = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "mask: arange");
        int ki = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "mask: kv index");
        tl_unref(r->t, ka);
        dlm_poly tt = dlm_poly_mul(T, T);
        int one = tr_temp(r, o, P(1), DLM_TERM_TRANSIENT, -1, "mask: new_ones");
        int sub = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "mask: q - window");
        int gt = tr_temp(r, o, tt, DLM_TERM_TRANSIENT, -1, "mask: kv > q - window (bool)");
        tl_unref(r->t, sub);
        int a1 = tr_temp(r, o, tt, DLM_TERM_TRANSIENT, -1, "mask: & (bool)");
        tl_unref(r->t, gt);
        tl_unref(r->t, one);
        int le = tr_temp(r, o, tt, DLM_TERM_TRANSIENT, -1, "mask: kv <= q (bool)");
        int a2 = tr_temp(r, o, tt, DLM_TERM_TRANSIENT, -1, "mask: & (bool)");
        tl_unref(r->t, le);
        tl_unref(r->t, a1);
        tl_unref(r->t, ib);
        tl_unref(r->t, ih);
        tl_unref(r->t, qi);
        tl_unref(r->t, ki);
        int sc = tr_temp(r, o, P(r->pb), DLM_TERM_TRANSIENT, -1, "mask: min value");
        int mask = tr_temp(r, o, mulk(dlm_poly_mul(B, tt), r->pb), DLM_TERM_TRANSIENT, -1,
                           "sliding-window causal mask (B x 1 x T x T)");
        tl_unref(r->t, sc);
        tl_unref(r->t, a2);
        hold_to_backbone(r, o, mask);
        return;
    }
    /* create_causal_mask (eager): batch, head, q and kv index tensors, `le`, where */
    int ib = tr_temp(r, o, mulk(B, 8), DLM_TERM_TRANSIENT, -1, "mask: batch index");
    int ih = tr_temp(r, o, P(8), DLM_TERM_TRANSIENT, -1, "mask: head index");
    int iq[2], ik[2];
    for (int k = 0; k < 2; k++) iq[k] = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "mask: q index");
    for (int k = 0; k < 2; k++) ik[k] = tr_temp(r, o, mulk(T, 8), DLM_TERM_TRANSIENT, -1, "mask: kv index");
    int le = tr_temp(r, o, dlm_poly_mul(T, T), DLM_TERM_TRANSIENT, -1, "mask: kv <= q (bool)");
    /* in the embeddings' dtype: the parameters' (fp32 under autocast) */
    int mask = tr_temp(r, o, mulk(dlm_poly_mul(B, dlm_poly_mul(T, T)), r->pb), DLM_TERM_TRANSIENT,
                       -1, "causal mask (B x 1 x T x T)");
    tl_unref(r->t, le);
    for (int k = 0; k < 2; k++) {
        tl_unref(r->t, iq[k]);
        tl_unref(r->t, ik[k]);
    }
    tl_unref(r->t, ih);
    tl_unref(r->t, ib);
    hold_to_backbone(r, o, mask);
}

static void fwd_rotary(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]);
    dlm_poly T = x->shape[1];
    int d = op->a.rotary.head_dim, e = r->eb[op->out[0]];
    dlm_poly td4 = mulk(T, 4LL * d);
    int pf = tr_temp(r, o, mulk(T, 4), DLM_TERM_TRANSIENT, -1, "position_ids.float()");
    int inv = r->pb == 4 ? -1 : tr_temp(r, o, P(4LL * (d / 2)), DLM_TERM_TRANSIENT, -1,
                                        "inv_freq.float()");
    int fr = tr_temp(r, o, mulk(T, 4LL * (d / 2)), DLM_TERM_TRANSIENT, -1, "freqs");
    int emb = tr_temp(r, o, td4, DLM_TERM_TRANSIENT, -1, "cat(freqs, freqs)");
    int c[2];
    for (int k = 0; k < 2; k++) {
        int raw = tr_temp(r, o, td4, DLM_TERM_TRANSIENT, -1, k ? "emb.sin()" : "emb.cos()");
        c[k] = e == 4 ? tr_out_new(r, o, k)
                      : tr_temp(r, o, td4, DLM_TERM_TRANSIENT, -1, "* attention_scaling");
        tl_unref(r->t, raw);
    }
    if (e != 4) { /* .to(x.dtype) */
        for (int k = 0; k < 2; k++) tr_out_new(r, o, k);
        for (int k = 0; k < 2; k++) tl_unref(r->t, c[k]);
    }
    tl_unref(r->t, emb);
    tl_unref(r->t, fr);
    tl_unref(r->t, inv);
    tl_unref(r->t, pf);
}

static void fwd_rope(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (r->grad) { /* x * cos and rotate_half(x) * sin save cos and sin */
        tr_save(r, o, S(r, op->in[2]), "cos");
        tr_save(r, o, S(r, op->in[3]), "sin");
    }
    for (int k = 0; k < 2; k++) {
        /* under autocast a half q or k times the fp32 cos and sin: the
         * products and the output are fp32 (type promotion), -x2 and
         * rotate_half(x) stay half */
        int x = op->in[k], e = r->eb[x], eo = r->eb[op->out[k]];
        const dlm_tensor *t = TT(r, x);
        dlm_poly full = bytes_e(r, x, e), full_o = bytes_e(r, x, eo);
        dlm_poly half = mulk(dlm_poly_mul(t->shape[0], t->shape[1]),
                             dlm_poly_eval(&t->shape[2], 1, 1) / 2 * e);
        int a = tr_temp(r, o, full_o, DLM_TERM_TRANSIENT, -1, "x * cos");
        int ng = tr_temp(r, o, half, DLM_TERM_TRANSIENT, -1, "-x2");
        int rh = tr_temp(r, o, full, DLM_TERM_TRANSIENT, -1, "rotate_half(x)");
        tl_unref(r->t, ng);
        int b = tr_temp(r, o, full_o, DLM_TERM_TRANSIENT, -1, "rotate_half(x) * sin");
        tl_unref(r->t, rh);
        tr_out_new(r, o, k);
        tl_unref(r->t, a);
        tl_unref(r->t, b);
    }
}

/* Under autocast (mixed) pow is one of the ops autocast runs in fp32: x is
 * copied to fp32 for it, and from there on every step is fp32 by type
 * promotion (x + 0.044715 * x^3 adds a half and an fp32 tensor), the output
 * too; 0.5 * x stays half.  pow saves the fp32 copy (pytorch_oplog_autocast.csv). */
void tr_gelu_new_fwd(tr *r, int o)
{
    int x = r->g->ops[o].in[0], e = r->eb[x];
    int c = r->mixed ? 4 : e; /* the element size the steps after pow compute in */
    dlm_poly n = bytes_e(r, x, e), nc = bytes_e(r, x, c);
    static const char *const steps[] = {"pow(x, 3)", "0.044715 * x^3", "x + 0.044715 * x^3",
                                        "sqrt(2/pi) * (...)", "tanh(...)", "1 + tanh(...)"};
    int half = tr_temp(r, o, n, DLM_TERM_TRANSIENT, -1, "0.5 * x");
    int prev = -1;
    int x32 = c != e ? tr_temp(r, o, nc, DLM_TERM_TRANSIENT, -1, "x.to(float32) (autocast: pow)")
                     : -1;
    if (r->grad) tr_save(r, o, x32 >= 0 ? x32 : S(r, x), "x (pow)");
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        int s = tr_temp(r, o, nc, DLM_TERM_TRANSIENT, -1, steps[k]);
        if (k == 0) tl_unref(r->t, x32);
        if (r->grad && k == 4) tr_save(r, o, s, "tanh(...)"); /* tanh saves its result */
        tl_unref(r->t, prev);
        prev = s;
    }
    if (r->grad) { /* the last product saves both factors */
        tr_save(r, o, half, "0.5 * x");
        tr_save(r, o, prev, "1 + tanh(...)");
    }
    tr_out_new(r, o, 0); /* 0.5 * x * (1 + tanh(...)) */
    tl_unref(r->t, half);
    tl_unref(r->t, prev);
}

/* The output type of gelu_new: under autocast the promoted fp32 of its
 * steps after pow (tr_gelu_new_fwd); else its input's. */
int tr_gelu_new_out_bytes(const tr *r, int o)
{
    return r->mixed ? 4 : r->eb[r->g->ops[o].in[0]];
}

/* PyTorch 2.11 runs F.scaled_dot_product_attention in its math composition on
 * this GPU where no fused kernel takes the call: fp32 over grouped key/value
 * heads (enable_gqa: the memory-efficient kernel does not take it, flash and
 * cuDNN take no fp32).  Without dropout (with it the math path makes a mask
 * this rule does not write: refused before the walk). */
static int sdpa_math(const tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    return r->cfg->attention == DLM_ATTN_FUSED && r->eb[op->in[0]] == 4 && !r->mixed &&
           op->a.attn.kv_heads != op->a.attn.heads;
}

/* gelu_new's backward, node by node (the autograd graph of its eight ops), as a
 * CPU run dispatches it: the last product's MulBackward0 (grad * u and
 * grad * h, then its saved h and u go), tanh's (tanh_backward; its result
 * goes), sqrt(2/pi)*'s, then x + c*x^3 hands one gradient to x and one on:
 * 0.044715*'s, pow's (grad * (3 * x.pow(2)): both temporaries live to the
 * end of that expression; x goes), and 0.5*x's: x's InputBuffer gathers the
 * three (in place where it holds the only reference). */
void tr_gelu_new_bwd(tr *r, int o, int gout)
{
    int x = r->g->ops[o].in[0], e = r->eb[x];
    int c = r->mixed ? 4 : e;
    dlm_poly n = bytes_e(r, x, e), nc = bytes_e(r, x, c);
    const int *sv = &r->saved[o * MAX_SAVED];
    int ns = r->n_saved[o];
    int sx = ns > 0 ? sv[0] : -1, th = ns > 1 ? sv[1] : -1, h = ns > 2 ? sv[2] : -1,
        u = ns > 3 ? sv[3] : -1;
    /* under autocast each gradient that reaches a half tensor (0.5 * x, x
     * itself through x + ... and through x.to(float32)) is cast to half
     * by the engine first: a copy of its own */
    int gu = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: grad * 0.5x");
    int gh = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: grad * (1 + tanh)");
    tl_unref(r->t, gout);
    if (c != e) grad_recast(r, &gh, n, "gelu_new backward: grad of 0.5x to half");
    tr_unsave(r, o, u);
    tr_unsave(r, o, h);
    int gt = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: tanh_backward");
    tl_unref(r->t, gu);
    tr_unsave(r, o, th);
    int gi = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: * sqrt(2/pi)");
    tl_unref(r->t, gt);
    int gix = gi; /* x's share of x + 0.044715 * x^3 */
    if (c != e) gix = new_slot(r, n, DLM_TERM_TRANSIENT, -1, "gelu_new backward: grad x to half");
    int gc = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: * 0.044715");
    if (c != e) tl_unref(r->t, gi);
    int p2 = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: x.pow(2)");
    int p3 = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: 3 * x^2");
    int gp = new_slot(r, nc, DLM_TERM_TRANSIENT, -1, "gelu_new backward: pow backward");
    tl_unref(r->t, p3);
    tl_unref(r->t, p2);
    tl_unref(r->t, gc);
    tr_unsave(r, o, sx);
    if (c != e) /* x.to(float32)'s ToCopyBackward0 */
        grad_recast(r, &gp, n, "gelu_new backward: pow's grad to half");
    int gx = r->rg[x];
    if (gx) tr_give(r, x, gix);
    else tl_unref(r->t, gix);
    if (gx) tr_give(r, x, gp);
    else tl_unref(r->t, gp);
    int g5 = new_slot(r, n, DLM_TERM_TRANSIENT, -1, "gelu_new backward: * 0.5");
    tl_unref(r->t, gh);
    tr_release_saved(r, o);
    if (gx) tr_give(r, x, g5);
    else tl_unref(r->t, g5);
}

/* Whether the layers fill a DynamicCache: the model returns one by default
 * (use_cache), except in training mode with gradient checkpointing
 * (transformers turns use_cache off then: GradientCheckpointingLayer). */
static int has_cache(const tr *r)
{
    return r->g->n_cache > 0 && !(r->grad && r->cfg->n_checkpoint > 0);
}

/* The element size of the values a layer's DynamicCache keeps: its layers
 * start from empty tensors of the keys' dtype and torch.cat promotes, so
 * under autocast, where rotary embeddings leave the keys fp32 (a half k times
 * an fp32 cos) and v_proj's values are half, the values are kept in fp32 too
 * (pytorch_oplog_autocast.csv: both cats fp32). */
static int cache_v_bytes(const tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int ek = r->eb[op->in[1]], ev = r->eb[op->in[2]];
    return ek > ev ? ek : ev;
}

/* matmul(q, k^T) with B = 1 (or one head) reads q's transposed view as it is
 * and autograd saves that view, which keeps q's storage (the c_attn output or
 * q_proj's) until this node's backward: deferred to when Python lets go of
 * the last tensor on that storage. */
static void save_q_storage_view(tr *r, int o, int q)
{
    int base = dlm_tensor_storage(r->g, q), at = o;
    for (int t = 0; t < r->g->n_tensors; t++)
        if (dlm_tensor_storage(r->g, t) == base && r->rel[t] > at) at = r->rel[t];
    tr_defer_save(r, at, o, nbytes(r, base), P(0), 1, "q's storage, kept by its saved view (B = 1)");
}

/* native_dropout on the probabilities *p (elements of e bytes, n of them):
 * the dropped probabilities replace them, the bool mask is saved. */
static void attn_dropout(tr *r, int o, dlm_poly n, int e, int *p)
{
    int dp = tr_temp(r, o, mulk(n, e), DLM_TERM_TRANSIENT, -1, "dropped probabilities");
    int dm = tr_temp(r, o, n, DLM_TERM_TRANSIENT, -1, "attention dropout mask");
    tr_save(r, o, dm, "dropout mask");
    tl_unref(r->t, dm);
    tl_unref(r->t, *p);
    *p = dp;
}

/* attn_weights, returned to the layer: held until the layer's frame lets go. */
static void hold_attn_weights(tr *r, int o, int w)
{
    int end = tr_hold_end(r, o, -1);
    if (end > o) {
        r->ahold[o] = w;
        tr_schedule(r, end, w);
    } else {
        tl_unref(r->t, w);
    }
}

/* Eager causal attention under autocast (mixed), as GPT-2's and Llama's
 * eager_attention_forward run there (pytorch_oplog_autocast.csv): kc, vc are
 * the keys and values it reads (the cache's copies, or k and v).  repeat_kv
 * copies in their dtype; matmul(q, k^T) is one of autocast's half ops, so an
 * fp32 q or k (Llama's, after the rotary embedding) is cast to half first,
 * then q's transposed view copied for bmm; the scores are half, * scaling
 * half; + the causal mask (in the model's dtype, fp32) promotes to fp32;
 * softmax runs in fp32 (its result saved); the probabilities are cast to half
 * for matmul with v (GPT-2: .type(value.dtype); Llama: matmul's autocast cast
 * of its fp32 probabilities, after dropout, which its configs leave at 0), and
 * an fp32 v (Llama's promoted cache) cast too; the context is half. */
static void causal_eager_mixed_fwd(tr *r, int o, int kc, int vc)
{
    const dlm_op *op = &r->g->ops[o];
    int q = op->in[0], k = op->in[1];
    const dlm_tensor *x = TT(r, q);
    int H = op->a.attn.heads, KV = op->a.attn.kv_heads;
    int ke = r->eb[k], ve = has_cache(r) ? cache_v_bytes(r, o) : r->eb[op->in[2]];
    dlm_poly B = x->shape[0], T = x->shape[1];
    dlm_poly nq = numel(r, q);
    dlm_poly bhtt = mulk(dlm_poly_mul(B, dlm_poly_mul(T, T)), H);
    int drop = r->grad && op->a.attn.dropout > 0;
    tr_gemm(r, 0);
    int kr = -1, vr = -1;
    if (H != KV) { /* repeat_kv: expand + reshape copies, in the cache's dtypes */
        kr = tr_temp(r, o, mulk(nq, ke), DLM_TERM_TRANSIENT, -1, "repeat_kv keys");
        vr = tr_temp(r, o, mulk(nq, ve), DLM_TERM_TRANSIENT, -1, "repeat_kv values");
    }
    int kk = kr >= 0 ? kr : kc, vv = vr >= 0 ? vr : vc;
    int qh = r->eb[q] == 4 ? tr_temp(r, o, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "autocast half copy of q")
                           : -1;
    int kh = ke == 4 ? tr_temp(r, o, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "autocast half copy of k")
                     : -1;
    int qc = -1;
    if (H > 1) {
        qc = tl_new_bsplit(r->t, P(0), mulk(nq, 2), 1, DLM_TERM_TRANSIENT, -1, "q copy");
        if (r->grad && qh < 0) { /* B = 1: the saved view keeps q's storage */
            save_q_storage_view(r, o, q);
        } else if (r->grad) { /* B = 1: the saved view keeps the half copy */
            tr_defer_save(r, o, o, mulk(nq, 2), P(0), 1, "half q, kept by its saved view (B = 1)");
        }
    }
    int raw = tr_temp(r, o, mulk(bhtt, 2), DLM_TERM_TRANSIENT, -1, "attention scores (half)");
    if (r->grad) { /* matmul(q, k^T) saves each (its half copies) for the other's gradient */
        if (r->rg[k]) tr_save(r, o, qc, "q copy");
        if (r->rg[q]) tr_save(r, o, kh >= 0 ? kh : kk, "keys");
    }
    tl_unref(r->t, qc);
    tl_unref(r->t, qh);
    tl_unref(r->t, kh);
    int sc = tr_temp(r, o, mulk(bhtt, 2), DLM_TERM_TRANSIENT, -1, "scaled scores (half)");
    tl_unref(r->t, raw);
    int mk = tr_temp(r, o, mulk(bhtt, r->pb), DLM_TERM_TRANSIENT, -1, "scores + causal mask (fp32)");
    tl_unref(r->t, sc);
    int pr = tr_temp(r, o, mulk(bhtt, 4), DLM_TERM_TRANSIENT, -1, "attention probabilities (fp32)");
    if (r->grad) tr_save(r, o, pr, "probabilities"); /* softmax saves its result */
    tl_unref(r->t, mk);
    int p2 = tr_temp(r, o, mulk(bhtt, 2), DLM_TERM_TRANSIENT, -1, "probabilities in half");
    /* the attn_weights the layer gets back: Llama's fp32 probabilities, GPT-2's
     * half (dropped) ones */
    int keep_pr = op->a.attn.softmax_fp32;
    if (!keep_pr) {
        tl_unref(r->t, pr);
        pr = -1;
    }
    if (drop) attn_dropout(r, o, bhtt, 2, &p2);
    int vh = ve == 4 ? tr_temp(r, o, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "autocast half copy of v")
                     : -1;
    if (r->grad) { /* matmul(probabilities, v) saves both */
        tr_save(r, o, p2, "probabilities for v");
        tr_save(r, o, vh >= 0 ? vh : vv, "values");
    }
    int ctx = tr_temp(r, o, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "context");
    tl_unref(r->t, vh);
    int held = keep_pr ? pr : p2;
    if (keep_pr) tl_unref(r->t, p2);
    tr_out_new(r, o, 0); /* transpose(1, 2).contiguous() */
    tl_unref(r->t, ctx);
    tl_unref(r->t, kr);
    tl_unref(r->t, vr);
    hold_attn_weights(r, o, held);
}

void tr_causal_attention_fwd(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int q = op->in[0], k = op->in[1];
    const dlm_tensor *x = TT(r, q);
    int H = op->a.attn.heads, KV = op->a.attn.kv_heads, e = r->eb[q];
    dlm_poly B = x->shape[0], T = x->shape[1];
    dlm_poly kv_b = bytes_e(r, k, e), q_b = bytes_e(r, q, e);
    dlm_poly bhtt = mulk(dlm_poly_mul(B, dlm_poly_mul(T, T)), H);
    /* the keys and values attention reads: the cache's copies, else k and v */
    int kc = S(r, k), vc = S(r, op->in[2]);
    if (has_cache(r)) { /* DynamicCache.update: copies the returned cache keeps */
        if (op->a.attn.window > 0) { /* DynamicSlidingWindowLayer's lazy_initialization
                                        moves its window (an int64 scalar) to the GPU */
            int sw = tr_temp(r, o, P(8), DLM_TERM_TRANSIENT, -1, "KV cache: the window (int64)");
            tr_schedule(r, INT_MAX, sw);
        }
        kc = tr_temp(r, o, kv_b, DLM_TERM_TRANSIENT, -1, "KV cache: keys");
        vc = tr_temp(r, o, bytes_e(r, k, cache_v_bytes(r, o)), DLM_TERM_TRANSIENT, -1,
                     "KV cache: values");
        tr_schedule(r, INT_MAX, kc);
        tr_schedule(r, INT_MAX, vc);
        /* key_states, value_states = past_key_values.update(...): the locals now
         * name the cache's copies, the layer's own k and v go (nothing saved them) */
        tr_release_early(r, k);
        tr_release_early(r, op->in[2]);
    }
    int drop = r->grad && op->a.attn.dropout > 0;
    if (sdpa_math(r, o)) {
        /* _scaled_dot_product_attention_math (attention.cpp), enable_gqa, causal:
         * q * sqrt(scale); the causal mask (ones, tril, where: (T, T) fp32);
         * k and v repeat_interleave'd to every head (copies); k^T * sqrt(scale);
         * matmul (q copied unless B and heads merge), + mask, _safe_softmax,
         * matmul with v; q's scaled copy, the repeated k and the mask are locals
         * freed on return */
        int qs = tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "math SDPA: q * sqrt(scale)");
        int on = tr_temp(r, o, dlm_poly_mul(T, T), DLM_TERM_TRANSIENT, -1, "math SDPA: ones (T, T)");
        int tl = tr_temp(r, o, dlm_poly_mul(T, T), DLM_TERM_TRANSIENT, -1, "math SDPA: tril");
        tl_unref(r->t, on);
        int mk = tr_temp(r, o, mulk(dlm_poly_mul(T, T), 4), DLM_TERM_TRANSIENT, -1,
                         "math SDPA: causal mask (T x T, float)");
        tl_unref(r->t, tl);
        int kr2 = H != KV ? tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "math SDPA: k repeated") : kc;
        int vr2 = H != KV ? tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "math SDPA: v repeated") : vc;
        int kts = tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "math SDPA: k^T * sqrt(scale)");
        int qc = H > 1 ? tl_new_bsplit(r->t, P(0), q_b, 1, DLM_TERM_TRANSIENT, -1, "math SDPA: q copy")
                       : -1;
        int sc = tr_temp(r, o, mulk(bhtt, e), DLM_TERM_TRANSIENT, -1, "math SDPA: scores");
        if (r->grad) {
            if (r->rg[k]) tr_save(r, o, qc, "q copy");
            if (r->rg[q]) tr_save(r, o, kts, "k^T scaled");
        }
        tl_unref(r->t, qc);
        int am = tr_temp(r, o, mulk(bhtt, e), DLM_TERM_TRANSIENT, -1, "math SDPA: scores + mask");
        tl_unref(r->t, sc);
        int sm = tr_temp(r, o, mulk(bhtt, e), DLM_TERM_TRANSIENT, -1, "math SDPA: _safe_softmax");
        tl_unref(r->t, am);
        if (r->grad) {
            tr_save(r, o, sm, "probabilities");
            tr_save(r, o, vr2, "v repeated");
        }
        int ctx = tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "math SDPA: output");
        tl_unref(r->t, sm);
        if (H != KV) tl_unref(r->t, kr2);
        tl_unref(r->t, qs);
        /* B = 1: matmul read q's scaled copy as a view and saved that */
        if (r->grad && r->rg[k] && H > 1) {
            int hold = tl_new_bsplit(r->t, q_b, P(0), 1, DLM_TERM_SAVED, -1,
                                     "math SDPA: q * sqrt(scale), kept by its saved view (B = 1)");
            tr_save(r, o, hold, "q scaled (B = 1)");
            tl_unref(r->t, hold);
        }
        tl_unref(r->t, kts);
        tl_unref(r->t, mk);
        if (H != KV) tl_unref(r->t, vr2);
        tr_out_new(r, o, 0); /* transpose(1, 2).contiguous() */
        tl_unref(r->t, ctx);
        return;
    }
    if (r->cfg->attention == DLM_ATTN_FUSED) {
        /* the kernel writes (B, T, h, d): .contiguous() copies nothing */
        /* logsumexp, fp32 (B, h, T): the memory-efficient kernel (fp32) pads its
         * rows to a multiple of 32 (kAlignLSE, attention.cu); under autograd the
         * half kernels also return their dropout's philox state (two int64 on
         * the GPU, with or without dropout), saved for the backward */
        /* under autocast SDPA is a half op: an fp32 q, k or v (Llama's rotated
         * q and k, its cache's promoted values) is cast to half first, and the
         * half kernels (cuDNN's on sm_90) run; the copies are what it saves */
        int qh = -1, kh = -1, vh = -1;
        if (r->mixed) {
            int ve = has_cache(r) ? cache_v_bytes(r, o) : r->eb[op->in[2]];
            if (r->eb[k] == 4) kh = tr_temp(r, o, bytes_e(r, k, 2), DLM_TERM_TRANSIENT, -1, "autocast half copy of k");
            if (ve == 4) vh = tr_temp(r, o, bytes_e(r, k, 2), DLM_TERM_TRANSIENT, -1, "autocast half copy of v");
            if (e == 4) qh = tr_temp(r, o, bytes_e(r, q, 2), DLM_TERM_TRANSIENT, -1, "autocast half copy of q");
            e = 2;
        }
        tr_out_new(r, o, 0);
        dlm_poly per_t = mulk(B, (int64_t)H * 4);
        int l = e == 4 ? tr_temp_tround(r, o, per_t, T, 32, "logsumexp (rows padded to 32)")
                       : tr_temp(r, o, dlm_poly_mul(per_t, T), DLM_TERM_TRANSIENT, -1, "logsumexp");
        int rng = e != 4 && r->grad ? tr_temp(r, o, P(16), DLM_TERM_TRANSIENT, -1,
                                              "philox seed and offset")
                                    : -1;
        if (r->grad) {
            tr_save(r, o, qh >= 0 ? qh : S(r, q), "q");
            tr_save(r, o, kh >= 0 ? kh : kc, "k");
            tr_save(r, o, vh >= 0 ? vh : vc, "v");
            tr_save(r, o, S(r, op->out[0]), "output");
            tr_save(r, o, l, "logsumexp");
            tr_save(r, o, rng, "philox state");
        }
        tl_unref(r->t, qh);
        tl_unref(r->t, kh);
        tl_unref(r->t, vh);
        tl_unref(r->t, l);
        tl_unref(r->t, rng);
        return;
    }
    if (r->mixed) {
        causal_eager_mixed_fwd(r, o, kc, vc);
        return;
    }
    tr_gemm(r, 0);
    int kr = -1, vr = -1;
    if (H != KV) { /* repeat_kv: expand + reshape copies */
        kr = tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "repeat_kv keys");
        vr = tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "repeat_kv values");
    }
    /* matmul(q, k^T) reshapes q, a (B, h, T, d) view transposed from (B, T, ...),
     * to (B*h, T, d): a copy, except where B and h merge into a view (B = 1, or
     * one head), and then autograd saves that view, which keeps q's storage (the
     * c_attn output or q_proj's) until this node's backward */
    int qc = -1;
    if (H > 1) {
        qc = tl_new_bsplit(r->t, P(0), q_b, 1, DLM_TERM_TRANSIENT, -1, "q copy");
        if (r->grad) save_q_storage_view(r, o, q);
    }
    int raw = tr_temp(r, o, mulk(bhtt, e), DLM_TERM_TRANSIENT, -1, "attention scores");
    if (r->grad) { /* matmul(q, k^T) saves each for the other's gradient */
        if (r->rg[k]) tr_save(r, o, qc, "q copy");
        if (r->rg[q]) tr_save(r, o, kr >= 0 ? kr : kc, "keys");
    }
    tl_unref(r->t, qc);
    int sc = tr_temp(r, o, mulk(bhtt, e), DLM_TERM_TRANSIENT, -1, "scaled scores");
    tl_unref(r->t, raw);
    int mk = tr_temp(r, o, mulk(bhtt, e), DLM_TERM_TRANSIENT, -1, "scores + causal mask");
    tl_unref(r->t, sc);
    /* softmax(x, dtype=float32): at::softmax converts x first (a copy), except a
     * CUDA half input, which _softmax reads as half_to_float (SoftMax.cpp) */
    int up = op->a.attn.softmax_fp32 && e != 4;
    int cv = up && r->cfg->dtype != DLM_DTYPE_FP16
                 ? tr_temp(r, o, mulk(bhtt, 4), DLM_TERM_TRANSIENT, -1, "scores .to(float32)")
                 : -1;
    int pr = tr_temp(r, o, mulk(bhtt, op->a.attn.softmax_fp32 ? 4 : e), DLM_TERM_TRANSIENT, -1,
                     "attention probabilities");
    tl_unref(r->t, cv);
    if (r->grad) tr_save(r, o, pr, "probabilities"); /* softmax saves its result */
    if (up) { /* .to(query.dtype); the scores go when the statement assigns */
        int p2 = tr_temp(r, o, mulk(bhtt, e), DLM_TERM_TRANSIENT, -1, "probabilities .to(dtype)");
        tl_unref(r->t, pr);
        pr = p2;
    }
    tl_unref(r->t, mk);
    if (drop) attn_dropout(r, o, bhtt, e, &pr);
    if (r->grad) { /* matmul(probabilities, v) saves both */
        tr_save(r, o, pr, "probabilities for v");
        tr_save(r, o, vr >= 0 ? vr : vc, "values");
    }
    int ctx = tr_temp(r, o, q_b, DLM_TERM_TRANSIENT, -1, "context");
    tr_out_new(r, o, 0); /* transpose(1, 2).contiguous() */
    tl_unref(r->t, ctx);
    tl_unref(r->t, kr);
    tl_unref(r->t, vr);
    hold_attn_weights(r, o, pr);
}

/* transformers' ForCausalLMLoss (loss_utils.py), with labels = input_ids and
 * no num_items_in_batch: logits.float() (a copy unless fp32, a local freed when
 * the function returns), labels padded by one ignore_index (constant_pad_nd,
 * int64, freed then) and shifted (labels[..., 1:].contiguous(): a copy, which
 * nll_loss saves as its target), F.cross_entropy(logits.view(-1, V),
 * shift_labels.view(-1), ignore_index=-100, reduction="mean"): _log_softmax
 * (saved: its result), nll_loss_forward (the loss and total_weight, saved).
 * Only a training step calls it (model(..., labels=x)); the loss is held by
 * Python to the end of the step. */
/* The tensor q, k and v are slices of, when they are (GPT-2's c_attn output
 * split in three), else -1. */
static int split_base(const tr *r, int q, int k, int v)
{
    const dlm_graph *g = r->g;
    int base = -1;
    int t3[3] = {q, k, v};
    for (int i = 0; i < 3; i++) {
        int found = -1;
        for (int o = 0; o < g->n_ops; o++)
            if (g->ops[o].kind == DLM_OP_SLICE && g->ops[o].out[0] == t3[i]) found = g->ops[o].in[0];
        if (found < 0 || (base >= 0 && found != base)) return -1;
        base = found;
    }
    return base;
}

/* The gradients of q, k and v: where they are slices of one tensor (GPT-2's
 * c_attn output), split_with_sizes' backward copies q's and v's to (B, T, C)
 * (reshape of a transposed view; k's, transposed twice, is read as it is) and
 * concatenates the three; else each goes to its own tensor, v's in the
 * transposed layout its projection's view backward copies. */
static void give_qkv(tr *r, int q, int k, int v, int gq, int gk, int gv)
{
    int base = split_base(r, q, k, v);
    if (base >= 0 && r->rg[base]) {
        dlm_poly q_b = bytes_e(r, q, r->eb[q]);
        int cq = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad q as (B, T, C)");
        tl_unref(r->t, gq);
        int cv = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad v as (B, T, C)");
        tl_unref(r->t, gv);
        int cat = tr_grad_new(r, base, "grad of the q, k, v split (cat)");
        tl_unref(r->t, cq);
        tl_unref(r->t, gk);
        tl_unref(r->t, cv);
        tr_give(r, base, cat);
        return;
    }
    tr_give_transposed(r, v, gv);
    tr_give(r, k, gk);
    tr_give(r, q, gq);
}

/* The first saved tensors of matmul(q, k^T) in op o's node, as the forward
 * saved them: the q copy (heads > 1, k requiring grad) and the keys (q
 * requiring grad); returns the offset of the tensors after them from index 2. */
static int saved_qk(const tr *r, int o, int *s_q, int *s_k)
{
    const dlm_op *op = &r->g->ops[o];
    const int *sv = &r->saved[o * MAX_SAVED];
    int ns = r->n_saved[o], q = op->in[0], k = op->in[1];
    int b = op->a.attn.heads > 1 && r->rg[k] ? 0 : -1;
    *s_q = b == 0 && ns > 0 ? sv[0] : -1;
    *s_k = r->rg[q] && ns > 1 + b ? sv[1 + b] : -1;
    return r->rg[q] ? b : b - 1;
}

/* Eager causal attention's backward (GPT-2: heads = key/value heads), node by
 * node as a CPU run dispatches it: the context's gradient copied back to
 * (B, h, T, d) for bmm; grad v and grad probabilities (bmm; the saved v and
 * dropped probabilities go), native_dropout_backward (the mask goes),
 * _softmax_backward_data (the probabilities go), the scaling's mul (the causal
 * mask's add passes the gradient on), grad k^T and grad q (bmm; the saved k
 * and q copies go); the DynamicCache's cat of an empty past hands its
 * gradient on; then split_with_sizes' backward: q's and v's gradients copied
 * to (B, T, h*d) (reshape of a transposed view; k's, transposed twice, is
 * read as it is) and concatenated into the gradient of the c_attn output. */
void tr_causal_attention_bwd(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int q = op->in[0], k = op->in[1], v = op->in[2];
    const dlm_tensor *x = TT(r, q);
    int H = op->a.attn.heads, KV = op->a.attn.kv_heads, e = r->eb[q];
    dlm_poly B = x->shape[0], T = x->shape[1];
    dlm_poly q_b = bytes_e(r, q, e);
    dlm_poly bhtt = mulk(mulk(dlm_poly_mul(B, dlm_poly_mul(T, T)), H), e);
    const int *sv = &r->saved[o * MAX_SAVED];
    int ns = r->n_saved[o], drop = op->a.attn.dropout > 0;
    if (sdpa_math(r, o)) {
        /* the math composition's nodes: the output's transpose backward copies
         * the gradient for bmm; grad v (repeated) and grad probabilities (the
         * saved v repeated goes), _softmax_backward_data (the probabilities
         * go), grad k^T and grad q (the saved k^T and q copy go), k^T's
         * scaling, repeat_interleave's sums for v and k, q's scaling */
        int m_q, m_k, mb = saved_qk(r, o, &m_q, &m_k);
        int m_p = ns > 2 + mb ? sv[2 + mb] : -1, m_v = ns > 3 + mb ? sv[3 + mb] : -1;
        dlm_poly kv_bb = bytes_e(r, k, e);
        int gc = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad output copy");
        tl_unref(r->t, gout);
        int gv = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad v repeated");
        int gp = new_slot(r, bhtt, DLM_TERM_TRANSIENT, -1, "grad probabilities");
        tl_unref(r->t, gc);
        tr_unsave(r, o, m_v);
        int gs = new_slot(r, bhtt, DLM_TERM_TRANSIENT, -1, "grad scores (softmax backward)");
        tl_unref(r->t, gp);
        tr_unsave(r, o, m_p);
        int gkt = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad k^T scaled");
        int gq = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad q copy");
        tl_unref(r->t, gs);
        tr_unsave(r, o, m_k);
        tr_unsave(r, o, m_q);
        tr_release_saved(r, o);
        int gks = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad k^T (scaling)");
        tl_unref(r->t, gkt);
        int sv_ = H != KV ? new_slot(r, kv_bb, DLM_TERM_TRANSIENT, -1, "grad v summed over the group") : gv;
        if (H != KV) tl_unref(r->t, gv);
        int sk_ = H != KV ? new_slot(r, kv_bb, DLM_TERM_TRANSIENT, -1, "grad k summed over the group") : gks;
        if (H != KV) tl_unref(r->t, gks);
        int gqs = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad q (scaling)");
        tl_unref(r->t, gq);
        give_qkv(r, q, k, v, gqs, sk_, sv_);
        return;
    }
    if (r->cfg->attention == DLM_ATTN_FUSED) {
        /* as linear_attn.c's fused backward (the BERT oplog's workspaces) */
        /* under autocast the half kernel's gradients, then each cast's
         * ToCopyBackward0 to the fp32 tensor it was made from, and the
         * promoted cache's values' gradient back to v's half */
        int fe = r->mixed ? 2 : e;
        dlm_poly qf = bytes_e(r, q, fe);
        int ws = new_slot(r, tr_sdpa_bwd_workspace(qf, B, T, H, fe), DLM_TERM_WORKSPACE, -1,
                          "attention backward workspace");
        int fq = new_slot(r, qf, DLM_TERM_TRANSIENT, -1, "grad q");
        int fk = new_slot(r, bytes_e(r, k, fe), DLM_TERM_TRANSIENT, -1, "grad k");
        int fv = new_slot(r, bytes_e(r, v, fe), DLM_TERM_TRANSIENT, -1, "grad v");
        tl_unref(r->t, ws);
        tl_unref(r->t, gout);
        tr_release_saved(r, o);
        if (r->mixed) {
            int ve = has_cache(r) ? cache_v_bytes(r, o) : r->eb[v];
            const char *up = "grad to fp32 (autocast cast's backward)";
            if (e != fe) grad_recast(r, &fq, bytes_e(r, q, e), up);
            if (r->eb[k] != fe) grad_recast(r, &fk, bytes_e(r, k, r->eb[k]), up);
            if (ve != fe) grad_recast(r, &fv, bytes_e(r, v, ve), up);
            if (ve != r->eb[v])
                grad_recast(r, &fv, bytes_e(r, v, r->eb[v]), "grad v to v's type (the cache's promotion)");
        }
        give_qkv(r, q, k, v, fq, fk, fv);
        return;
    }
    /* what the forward saved, in order: the q copy, the keys (saved_qk), the
     * probabilities, [the dropout mask], the probabilities for v, the values */
    int s_q, s_k, b = saved_qk(r, o, &s_q, &s_k);
    int s_p = ns > 2 + b ? sv[2 + b] : -1;
    int s_m = drop && ns > 3 + b ? sv[3 + b] : -1;
    int s_pv = ns > 3 + b + drop ? sv[3 + b + drop] : -1;
    int s_v = ns > 4 + b + drop ? sv[4 + b + drop] : -1;
    tr_gemm(r, 1);
    if (r->mixed) {
        /* causal_eager_mixed_fwd's nodes in reverse: the half bmm gradients,
         * dropout's, the half probabilities' cast back to fp32, the fp32
         * softmax backward, its gradient cast to the half scores' type (the
         * mask's add), the scaling, the half q and k^T gradients, each
         * autocast cast's backward to fp32, repeat_kv's sums and the cache's
         * promotion of v */
        dlm_poly nq = numel(r, q), hb = mulk(dlm_poly_mul(B, dlm_poly_mul(T, T)), H);
        int ke = r->eb[k], ve = has_cache(r) ? cache_v_bytes(r, o) : r->eb[v];
        int gc = new_slot(r, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "grad context copy");
        tl_unref(r->t, gout);
        int gv = new_slot(r, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "grad v (half)");
        int gp = new_slot(r, mulk(hb, 2), DLM_TERM_TRANSIENT, -1, "grad probabilities (half)");
        tl_unref(r->t, gc);
        tr_unsave(r, o, s_v);
        tr_unsave(r, o, s_pv);
        if (drop) {
            int gd = new_slot(r, mulk(hb, 2), DLM_TERM_TRANSIENT, -1, "grad before dropout");
            tl_unref(r->t, gp);
            tr_unsave(r, o, s_m);
            gp = gd;
        }
        int g32 = new_slot(r, mulk(hb, 4), DLM_TERM_TRANSIENT, -1, "grad probabilities to fp32");
        tl_unref(r->t, gp);
        int s32 = new_slot(r, mulk(hb, 4), DLM_TERM_TRANSIENT, -1, "grad scores (fp32 softmax backward)");
        tl_unref(r->t, g32);
        tr_unsave(r, o, s_p);
        int gsh = new_slot(r, mulk(hb, 2), DLM_TERM_TRANSIENT, -1, "grad scores to half (the mask's add)");
        tl_unref(r->t, s32);
        int gm = new_slot(r, mulk(hb, 2), DLM_TERM_TRANSIENT, -1, "grad raw scores (scaling)");
        tl_unref(r->t, gsh);
        int gk = new_slot(r, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "grad k^T (half)");
        int gq = new_slot(r, mulk(nq, 2), DLM_TERM_TRANSIENT, -1, "grad q (half)");
        tl_unref(r->t, gm);
        tr_unsave(r, o, s_k);
        tr_unsave(r, o, s_q);
        tr_release_saved(r, o);
        const char *up = "grad to fp32 (autocast cast's backward)";
        if (e != 2) grad_recast(r, &gq, mulk(nq, e), up);
        if (ke != 2) grad_recast(r, &gk, mulk(nq, ke), up);
        if (ve != 2) grad_recast(r, &gv, mulk(nq, ve), up);
        if (KV != H) { /* repeat_kv's backward: the gradients summed over each group */
            int sk = new_slot(r, bytes_e(r, k, ke), DLM_TERM_TRANSIENT, -1, "grad k summed over the group");
            tl_unref(r->t, gk);
            int sv2 = new_slot(r, bytes_e(r, k, ve), DLM_TERM_TRANSIENT, -1, "grad v summed over the group");
            tl_unref(r->t, gv);
            gk = sk;
            gv = sv2;
        }
        if (ve != r->eb[v])
            grad_recast(r, &gv, bytes_e(r, v, r->eb[v]), "grad v to v's type (the cache's promotion)");
        give_qkv(r, q, k, v, gq, gk, gv);
        return;
    }
    int gc = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad context copy");
    tl_unref(r->t, gout);
    int gv = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad v");
    int gp = new_slot(r, bhtt, DLM_TERM_TRANSIENT, -1, "grad probabilities");
    tl_unref(r->t, gc);
    tr_unsave(r, o, s_v);
    tr_unsave(r, o, s_pv);
    if (drop) {
        int gd = new_slot(r, bhtt, DLM_TERM_TRANSIENT, -1, "grad before dropout");
        tl_unref(r->t, gp);
        tr_unsave(r, o, s_m);
        gp = gd;
    }
    int gs;
    if (op->a.attn.softmax_fp32 && e != 4) {
        /* softmax(dtype=float32).to(q's dtype): ToCopyBackward0 to fp32, the
         * fp32 softmax backward, then (a bf16 input converted first) back */
        dlm_poly bhtt32 = mulk(mulk(dlm_poly_mul(B, dlm_poly_mul(T, T)), H), 4);
        int g32 = new_slot(r, bhtt32, DLM_TERM_TRANSIENT, -1, "grad probabilities to fp32");
        tl_unref(r->t, gp);
        int s32 = new_slot(r, bhtt32, DLM_TERM_TRANSIENT, -1, "grad scores (fp32 softmax backward)");
        tl_unref(r->t, g32);
        tr_unsave(r, o, s_p);
        if (r->cfg->dtype == DLM_DTYPE_FP16) { /* half_to_float: the backward returns half */
            gs = s32;
        } else {
            gs = new_slot(r, bhtt, DLM_TERM_TRANSIENT, -1, "grad scores to the input's type");
            tl_unref(r->t, s32);
        }
    } else {
        gs = new_slot(r, bhtt, DLM_TERM_TRANSIENT, -1, "grad scores (softmax backward)");
        tl_unref(r->t, gp);
        tr_unsave(r, o, s_p);
    }
    int gm = new_slot(r, bhtt, DLM_TERM_TRANSIENT, -1, "grad raw scores (scaling)");
    tl_unref(r->t, gs);
    int gk = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad k^T");
    int gq = new_slot(r, q_b, DLM_TERM_TRANSIENT, -1, "grad q");
    tl_unref(r->t, gm);
    tr_unsave(r, o, s_k);
    tr_unsave(r, o, s_q);
    tr_release_saved(r, o);
    if (KV != H) { /* repeat_kv's backward: the gradients summed over each group */
        dlm_poly kv_b = bytes_e(r, k, e);
        int sk = new_slot(r, kv_b, DLM_TERM_TRANSIENT, -1, "grad k summed over the group");
        tl_unref(r->t, gk);
        int sv2 = new_slot(r, kv_b, DLM_TERM_TRANSIENT, -1, "grad v summed over the group");
        tl_unref(r->t, gv);
        gk = sk;
        gv = sv2;
    }
    give_qkv(r, q, k, v, gq, gk, gv);
}

static void fwd_loss(tr *r, int o)
{
    if (!r->train) return;
    const dlm_op *op = &r->g->ops[o];
    int lg = op->in[0], e = r->eb[lg];
    const dlm_tensor *x = TT(r, lg);
    dlm_poly B = x->shape[0], T = x->shape[1];
    dlm_poly n32 = bytes_e(r, lg, 4);
    int up = e == 4 ? -1 : tr_temp(r, o, n32, DLM_TERM_TRANSIENT, -1, "logits.float()");
    int pad = tr_temp(r, o, mulk(dlm_poly_mul(B, dlm_poly_add(T, P(1))), 8), DLM_TERM_TRANSIENT,
                      -1, "labels padded (int64)");
    int lab = tr_temp(r, o, mulk(dlm_poly_mul(B, T), 8), DLM_TERM_TRANSIENT, -1,
                      "shift_labels (int64)");
    tr_save(r, o, lab, "target");
    tl_unref(r->t, lab);
    int ls = tr_temp(r, o, n32, DLM_TERM_TRANSIENT, -1, "log_softmax (fp32)");
    tr_save(r, o, ls, "log_softmax");
    tl_unref(r->t, ls);
    r->eb[op->out[0]] = 4; /* F.cross_entropy of fp32 logits: an fp32 scalar */
    int loss = tr_out_new(r, o, 0); /* nll_loss_forward: the loss */
    int tw = tr_temp(r, o, P(4), DLM_TERM_TRANSIENT, -1, "nll_loss total_weight");
    tr_save(r, o, tw, "total_weight");
    tl_unref(r->t, tw);
    tl_unref(r->t, up);
    tl_unref(r->t, pad);
    tl_ref(r->t, loss); /* `loss` in the step's frame */
    r->own_loss = loss;
}

/* nll_loss_backward (zeros of log_softmax's size, scattered), then
 * _log_softmax_backward_data; ToCopyBackward to the logits' type. */
static void bwd_loss(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int lg = op->in[0], e = r->eb[lg];
    dlm_poly n32 = bytes_e(r, lg, 4);
    const int *sv = &r->saved[o * MAX_SAVED];
    int lab = r->n_saved[o] > 0 ? sv[0] : -1, ls = r->n_saved[o] > 1 ? sv[1] : -1;
    int tw = r->n_saved[o] > 2 ? sv[2] : -1;
    int gn = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "nll_loss backward");
    tr_unsave(r, o, lab);
    tr_unsave(r, o, tw);
    int gl = new_slot(r, n32, DLM_TERM_TRANSIENT, -1, "log_softmax backward");
    tl_unref(r->t, gn);
    tr_unsave(r, o, ls);
    if (e != 4) {
        int h = tr_grad_new(r, lg, "grad to the logits' type");
        tl_unref(r->t, gl);
        gl = h;
    }
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tr_give(r, lg, gl);
}

const op_rule dlm_rule_rmsnorm = {.name = "rmsnorm", .fwd = fwd_rmsnorm, .bwd = bwd_rmsnorm};
const op_rule dlm_rule_slice = {
    .name = "slice", .fwd = fwd_view, .bwd = bwd_unwritten, .flags = RULE_FUNCTIONAL};
const op_rule dlm_rule_rotary = {.name = "rotary", .fwd = fwd_rotary, .bwd = bwd_unwritten};
const op_rule dlm_rule_rope = {
    .name = "rope", .fwd = fwd_rope, .bwd = bwd_rope, .autocast = -1,
    .flags = RULE_FUNCTIONAL | RULE_RG_PER_OUTPUT};
/* The runtime makes positions 0..T-1 (arange); RoBERTa's positions from the
 * ids and its gathered token types it does not. */
static const char *runtime_index(const dlm_op *op)
{
    return op->a.index.form == DLM_INDEX_ARANGE ? NULL
           : op->a.index.form == DLM_INDEX_FROM_IDS ? "positions from the ids (RoBERTa)"
                                                    : "token types gathered by position";
}

const op_rule dlm_rule_index = {.name = "index", .fwd = fwd_index, .bwd = bwd_unwritten,
                                .flags = RULE_FUNCTIONAL, .runtime_refuses = runtime_index};
const op_rule dlm_rule_causal_lm_loss = {
    .name = "causal_lm_loss", .fwd = fwd_loss, .bwd = bwd_loss, .flags = RULE_FUNCTIONAL};

/* ---- which configurations the rules cover -------------------------------------- */

/* What of a training step the rules do not cover yet (NULL: all of it):
 * GPT-2- and Llama-family decoders and torchvision's ViT train (ViT's
 * nn.MultiheadAttention without attention dropout); checkpointing of a
 * decoder does not. */
static const char *train_unsupported(const dlm_graph *g, const dlm_mem_config *cfg)
{
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        switch (op->kind) {
        case DLM_OP_MHA:
            if (op->a.attn.dropout > 0)
                return "mode train with nn.MultiheadAttention's attention dropout";
            break;
        case DLM_OP_ATTENTION:
            if (op->a.attn.kv_heads != op->a.attn.heads && !op->a.attn.causal)
                return "mode train with grouped key/value heads";
            if (op->a.attn.causal && cfg->attention == DLM_ATTN_FUSED &&
                op->a.attn.kv_heads != op->a.attn.heads && cfg->dtype == DLM_DTYPE_FP32 &&
                op->a.attn.dropout > 0)
                return "mode train with fp32 SDPA over grouped key/value heads and dropout "
                       "(the math kernel's dropout)";
            break;
        default:
            break;
        }
    }
    return NULL;
}

dlm_status dlm_trace_supports(const dlm_graph *g, const dlm_mem_config *cfg)
{
    int newer = g->n_cache > 0 || g->loss >= 0;
    if (cfg->profile != DLM_PROFILE_PYTORCH) {
        /* the runtime profile: dlmem's runtime runs these ops in inference
         * (trace.c's fwd_runtime_transformer; what it does not run, its rules'
         * runtime_refuses name) */
        int any = newer;
        for (int o = 0; o < g->n_ops; o++) any |= dlm_op_new_form(&g->ops[o]) != NULL;
        if (any && cfg->mode != DLM_MODE_INFER)
            return dlm_error(DLM_EUNSUPPORTED, "model %s: the runtime profile of its transformer "
                             "ops is inference only (dlmem's GPU runtime runs no backward); use "
                             "--mode infer, or --profile pytorch for mode %s", g->name,
                             cfg->mode == DLM_MODE_TRAIN ? "train" : "forward");
        return DLM_OK;
    }
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        const char *form = dlm_op_new_form(op);
        int no_rule = !dlm_op_rule(op->kind) ||

                      (op->kind == DLM_OP_ATTENTION && op->a.attn.kv_heads != op->a.attn.heads &&
                       !op->a.attn.causal) ||
                      (op->kind == DLM_OP_ATTENTION && op->a.attn.window > 0 &&
                       (cfg->attention == DLM_ATTN_FUSED || !all_sliding(g)));
        if (no_rule)
            return dlm_error(DLM_EUNSUPPORTED, "model %s: op %s (%s) has no memory rule yet: "
                             "dlmem predicts its parameters (dlmem params), not its memory",
                             g->name, op->name,
                             op->a.attn.window > 0 && op->kind == DLM_OP_ATTENTION
                                 ? (cfg->attention == DLM_ATTN_FUSED
                                        ? "sliding-window attention with SDPA (its mask picks the kernel)"
                                        : "sliding-window attention in some layers only")
                                 : (form ? form : dlm_op_kind_name(op->kind)));
        if (form) newer = 1;
    }
    /* peft's adapters under autocast (lora_A and lora_B then run in half, on a
     * half copy of x) have no rules and no measurement yet, for any model */
    for (int o = 0; cfg->dtype == DLM_DTYPE_MIXED && o < g->n_ops; o++)
        if (g->ops[o].kind == DLM_OP_LINEAR && g->ops[o].a.linear.lora_r > 0)
            return dlm_error(DLM_EUNSUPPORTED, "model %s: LoRA under autocast (dtype mixed) has "
                             "no memory rules yet: use --dtype fp32 or bf16 with --lora", g->name);
    if (!newer) return DLM_OK;
    const char *why = NULL;
    if (cfg->mode == DLM_MODE_TRAIN) why = train_unsupported(g, cfg);
    if (!why && cfg->parallel != DLM_PAR_NONE && cfg->gpus > 1)
        why = "data-parallel or sharded training";
    for (int o = 0; !why && cfg->mode == DLM_MODE_FORWARD && o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        if (op->kind == DLM_OP_ATTENTION && op->a.attn.kv_heads != op->a.attn.heads &&
                 cfg->attention == DLM_ATTN_FUSED && cfg->dtype == DLM_DTYPE_FP32 &&
                 op->a.attn.dropout > 0)
            why = "mode forward with fp32 SDPA over grouped key/value heads and dropout";
    }
    if (why)
        return dlm_error(DLM_EUNSUPPORTED, "model %s: its transformer ops have memory rules "
                         "(PyTorch profile) for inference, the forward pass and training in one "
                         "dtype, and for the decoders under autocast; %s is not modelled yet", g->name, why);
    return DLM_OK;
}
