/* linear_attn.c — the rules of linear and attention (see rule.h).
 *
 * PyTorch 2.11: linear runs addmm on the flattened input: the output; saves
 * the input; the first GEMM of a thread allocates its cuBLAS workspace.
 * Attention, eager (transformers eager_attention_forward): clones of the
 * transposed q and k for bmm, raw scores, scaled scores, softmax, dropout
 * (train), a clone of v, the context, its contiguous copy; fused (SDPA
 * memory-efficient / flash): output + logsumexp, saves q, k, v, output,
 * logsumexp.
 */
#include "rule.h"

static void fwd_attention(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int q = op->in[0];
    const dlm_tensor *x = TT(r, q);
    int h = op->a.attn.heads;
    dlm_poly bth = mulk(numel(r, q), r->eb[q]);
    dlm_poly btt = mulk(dlm_poly_mul(dlm_poly_mul(x->shape[0], x->shape[1]), x->shape[1]), h);
    /* scores in the compute type; softmax runs in fp32 under autocast */
    dlm_poly probs_b = mulk(btt, r->mixed ? 2 : r->fb), soft_b = mulk(btt, r->mixed ? 4 : r->fb);
    int weights = -1;

    if (op->a.attn.causal) {
        tr_causal_attention_fwd(r, o);
        return;
    }
    if (!r->torch) {
        /* The runtime (src/measure/plan.h) has one attention: a scores buffer
         * of B*heads*Tp^2 elements (T padded to 16 bytes; softmax in place)
         * and 5 device addresses per (batch, head) for its batched GEMMs,
         * allocated after the output. */
        tr_out_new(r, o, 0);
        int scratch = tr_runtime_scores(r, o);
        if (r->grad) {
            tr_save(r, o, S(r, q), "q");
            tr_save(r, o, S(r, op->in[1]), "k");
            tr_save(r, o, S(r, op->in[2]), "v");
            tr_save(r, o, scratch, "probabilities");
        }
        tl_unref(r->t, scratch);
        return;
    }
    if (r->cfg->attention == DLM_ATTN_FUSED) {
        /* SDPA: memory-efficient (fp32) or flash (half) kernel; output in
         * (B, T, h, d) layout, so no copy; logsumexp in fp32, rows padded to 32. */
        tr_out_new(r, o, 0);
        /* the memory-efficient kernel (fp32) pads its rows to 32 (kAlignLSE);
         * under autograd cuDNN's (half) also returns its philox seed and
         * offset on the GPU, saved for the backward */
        dlm_poly per_t = mulk(x->shape[0], (int64_t)h * 4);
        int l = r->eb[q] == 4
                    ? tr_temp_tround(r, o, per_t, x->shape[1], 32, "logsumexp (rows padded to 32)")
                    : tr_temp(r, o, dlm_poly_mul(per_t, x->shape[1]), DLM_TERM_TRANSIENT, -1,
                              "logsumexp");
        int rng = r->eb[q] != 4 && r->grad
                      ? tr_temp(r, o, P(16), DLM_TERM_TRANSIENT, -1, "philox seed and offset")
                      : -1;
        if (r->grad) {
            tr_save(r, o, S(r, q), "q");
            tr_save(r, o, S(r, op->in[1]), "k");
            tr_save(r, o, S(r, op->in[2]), "v");
            tr_save(r, o, S(r, op->out[0]), "output");
            tr_save(r, o, l, "logsumexp");
            tr_save(r, o, rng, "philox state");
        }
        tl_unref(r->t, l);
        tl_unref(r->t, rng);
        return;
    }
    /* Eager: matmul(q, k^T) reshapes the transposed views into copies. */
    tr_gemm(r, 0);
    int qc = tr_temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "q copy");
    int kc = tr_temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "k copy");
    int raw = tr_temp(r, o, probs_b, DLM_TERM_TRANSIENT, -1, "attention scores");
    if (r->grad) {
        tr_save(r, o, qc, "q copy");
        tr_save(r, o, kc, "k copy");
    }
    tl_unref(r->t, qc);
    tl_unref(r->t, kc);
    int sc = tr_temp(r, o, probs_b, DLM_TERM_TRANSIENT, -1, "scaled scores");
    tl_unref(r->t, raw);
    int sc32 = r->mixed ? tr_temp(r, o, soft_b, DLM_TERM_TRANSIENT, -1, "autocast fp32 copy") : -1;
    int pr = tr_temp(r, o, soft_b, DLM_TERM_TRANSIENT, -1, "attention probabilities");
    tl_unref(r->t, sc32);
    tl_unref(r->t, sc);
    if (r->grad) tr_save(r, o, pr, "probabilities");
    weights = pr;
    if (r->grad && op->a.attn.dropout > 0) {
        int dp = tr_temp(r, o, soft_b, DLM_TERM_TRANSIENT, -1, "dropped probabilities");
        int mask = tr_temp(r, o, btt, DLM_TERM_TRANSIENT, -1, "attention dropout mask");
        tr_save(r, o, mask, "dropout mask");
        tl_unref(r->t, mask);
        tl_unref(r->t, pr);
        weights = dp;
    }
    int wh = r->mixed ? tr_temp(r, o, probs_b, DLM_TERM_TRANSIENT, -1, "autocast half copy") : -1;
    int vc = tr_temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "v copy");
    int ctx = tr_temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "context");
    if (r->grad) {
        tr_save(r, o, wh >= 0 ? wh : weights, "dropped probabilities");
        tr_save(r, o, vc, "v copy");
    }
    tl_unref(r->t, wh);
    tl_unref(r->t, vc);
    tr_out_new(r, o, 0); /* transpose(1, 2).contiguous() */
    tl_unref(r->t, ctx);
    /* attn_weights returned to BertAttention and BertLayer (`_`) */
    int e = tr_hold_end(r, o, -1);
    if (e > o) r->ahold[o] = weights;
    else tl_unref(r->t, weights);
    if (r->ahold[o] >= 0) tr_schedule(r, e, weights);
}

/* The weight of a linear op: its own, or the tied parameter (input 1). */
static int linear_weight(const dlm_op *op)
{
    return op->a.linear.tied ? op->in[1] : op->params[0];
}

/* peft's lora.Linear (LoRA on this op): result = base_layer(x); x =
 * x.to(lora_A's dtype); result = result + lora_B(lora_A(dropout(x))) *
 * scaling (lora_dropout 0: nn.Identity), each a new tensor; result.to(the base
 * result's dtype).  The adapters are fp32 (autocast_adapter_dtype), so in a
 * half model x is copied to fp32, the adapter's tensors are fp32 and so is the
 * sum (type promotion), cast back at the end.  lora_A's MmBackward saves its
 * input, lora_B's lora_A's output, the scaling's mul nothing; the frozen base
 * saves nothing of x. */
static void fwd_lora(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0], e = r->eb[x], out = op->out[0];
    dlm_poly rows_x = rows(r, x);
    dlm_poly ob = mulk(numel(r, out), e), o32 = mulk(numel(r, out), 4);
    dlm_poly ab = mulk(rows_x, (int64_t)op->a.linear.lora_r * 4);
    tr_gemm(r, 0);
    if (op->a.linear.bias) tr_gemm_lt(r);
    int base = tr_temp(r, o, ob, DLM_TERM_TRANSIENT, -1, "base_layer output");
    int x32 = e == 4 ? S(r, x) : tr_temp(r, o, mulk(numel(r, x), 4), DLM_TERM_TRANSIENT, -1,
                                          "x.to(float32) (the adapters' dtype)");
    int a = tr_temp(r, o, ab, DLM_TERM_TRANSIENT, -1, "lora_A(x)");
    if (r->grad) tr_save(r, o, x32, "input (lora_A)");
    int b = tr_temp(r, o, o32, DLM_TERM_TRANSIENT, -1, "lora_B(lora_A(x))");
    if (r->grad) tr_save(r, o, a, "lora_A(x) (lora_B)");
    tl_unref(r->t, a);
    int sc = tr_temp(r, o, o32, DLM_TERM_TRANSIENT, -1, "* scaling");
    tl_unref(r->t, b);
    if (e == 4) {
        tr_out_new(r, o, 0); /* result + ... */
    } else {
        int sum = tr_temp(r, o, o32, DLM_TERM_TRANSIENT, -1, "result + ... (promoted to fp32)");
        tl_unref(r->t, sc);
        sc = -1;
        tl_unref(r->t, base);
        base = -1;
        tr_out_new(r, o, 0); /* result.to(torch_result_dtype) */
        tl_unref(r->t, sum);
        tl_unref(r->t, x32); /* the forward's local; saved where autograd records */
    }
    tl_unref(r->t, sc);
    tl_unref(r->t, base);
}

static void fwd_linear(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    if (op->a.linear.lora_r > 0) {
        fwd_lora(r, o);
        return;
    }
    int copy, in = tr_read_half(r, o, x, &copy);
    tr_weight_casts(r, o);
    if (op->a.linear.tied) tr_weight_cast(r, o, op->in[1]); /* the LM head's: the embedding's */
    tr_gemm(r, 0);
    if (op->a.linear.bias) tr_gemm_lt(r);
    tr_out_new(r, o, 0);
    /* addmm's backward reads x for the weight's gradient only */
    if (r->grad && r->rg[linear_weight(op)]) tr_save(r, o, in, "input");
    tl_unref(r->t, copy);
}

/* Backward in the engine's order (the latest node first): in a half model
 * result.to()'s ToCopyBackward0 (the gradient in fp32) and the add's (its
 * gradient for the half base result cast back); the scaling's mul (grad *
 * scaling), lora_B's (grad of lora_A's output, lora_B's weight gradient),
 * lora_A's (grad x, lora_A's weight gradient), x.to()'s ToCopyBackward0, then
 * the frozen base's (grad x); x's two gradients meet in its InputBuffer. */
static void bwd_lora(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0], e = r->eb[x], out = op->out[0];
    dlm_poly o32 = mulk(numel(r, out), 4), ab = mulk(rows(r, x), (int64_t)op->a.linear.lora_r * 4);
    int pa = op->params[op->n_params - 2], pb = op->params[op->n_params - 1];
    const int *sv = &r->saved[o * MAX_SAVED];
    int sx = r->n_saved[o] > 0 ? sv[0] : -1, sa = r->n_saved[o] > 1 ? sv[1] : -1;
    tr_gemm(r, 1);
    int g32 = gout, gbase = gout;
    if (e != 4) {
        g32 = new_slot(r, o32, DLM_TERM_TRANSIENT, -1, "grad to fp32 (result.to())");
        tl_unref(r->t, gout);
        gbase = new_slot(r, mulk(numel(r, out), e), DLM_TERM_TRANSIENT, -1,
                         "grad of the half base result (add's cast)");
    } else {
        tl_ref(r->t, gout); /* the base's InputBuffer keeps it too */
    }
    int gs = new_slot(r, o32, DLM_TERM_TRANSIENT, -1, "grad * scaling");
    tl_unref(r->t, g32);
    int ga = new_slot(r, ab, DLM_TERM_TRANSIENT, -1, "grad lora_A(x)");
    tr_param_grad(r, pb, tr_pgrad_new(r, pb));
    tr_unsave(r, o, sa);
    tl_unref(r->t, gs);
    int gx1 = -1;
    if (r->rg[x]) gx1 = new_slot(r, mulk(numel(r, x), 4), DLM_TERM_TRANSIENT, -1, "grad input (lora_A)");
    tr_param_grad(r, pa, tr_pgrad_new(r, pa));
    tr_unsave(r, o, sx);
    tl_unref(r->t, ga);
    if (gx1 >= 0 && e != 4) { /* x.to(float32)'s backward */
        int h = tr_grad_new(r, x, "grad input to x's type");
        tl_unref(r->t, gx1);
        gx1 = h;
    }
    int gx2 = r->rg[x] ? tr_grad_new(r, x, "grad input (frozen base)") : -1;
    for (int i = 0; i + 2 < op->n_params; i++) tr_param_grad(r, op->params[i], tr_pgrad_new(r, op->params[i]));
    tr_release_saved(r, o);
    tl_unref(r->t, gbase);
    tr_give(r, x, gx1);
    tr_give(r, x, gx2);
}

/* The fused attention backward's workspace, read off the oplog (B=2, T=64):
 * cuDNN's (half) takes 2*B*T*Hd elements + B*h*T floats, the memory-efficient
 * kernel (fp32) B*T*Hd + 2*B*h*T floats; qb is B*T*Hd elements in bytes, e
 * the element size. */
dlm_poly tr_sdpa_bwd_workspace(dlm_poly qb, dlm_poly B, dlm_poly T, int heads, int e)
{
    dlm_poly rows_h = mulk(dlm_poly_mul(B, T), (int64_t)heads * 4);
    return e == 4 ? dlm_poly_add(qb, mulk(rows_h, 2)) : dlm_poly_add(mulk(qb, 2), rows_h);
}

static void bwd_attention(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    if (op->a.attn.causal) {
        tr_causal_attention_bwd(r, o, gout);
        return;
    }
    int q = op->in[0], k = op->in[1], v = op->in[2];
    const dlm_tensor *x = TT(r, q);
    int h = op->a.attn.heads;
    dlm_poly bth = mulk(numel(r, q), r->eb[q]);
    dlm_poly btt = mulk(dlm_poly_mul(dlm_poly_mul(x->shape[0], x->shape[1]), x->shape[1]), h);
    dlm_poly probs_b = mulk(btt, r->mixed ? 4 : r->fb);
    int gq, gk, gv;
    if (!r->torch || r->cfg->attention == DLM_ATTN_FUSED) {
        int ws = -1;
        if (r->torch) {
            ws = new_slot(r, tr_sdpa_bwd_workspace(bth, x->shape[0], x->shape[1], h, r->eb[q]),
                          DLM_TERM_WORKSPACE, -1, "attention backward workspace");
        }
        gq = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad q");
        gk = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad k");
        gv = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad v");
        tl_unref(r->t, ws);
        tl_unref(r->t, gout);
        tr_release_saved(r, o);
    } else {
        tr_gemm(r, 1);
        int gc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad context copy");
        tl_unref(r->t, gout);
        int gvc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad v");
        int gdp = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad probabilities");
        tl_unref(r->t, gc);
        int gp = gdp;
        if (op->a.attn.dropout > 0) {
            gp = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad before dropout");
            tl_unref(r->t, gdp);
        }
        int gs = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad scores");
        tl_unref(r->t, gp);
        int graw = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad raw scores");
        tl_unref(r->t, gs);
        int gkc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad k");
        int gqc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad q");
        tl_unref(r->t, graw);
        tr_release_saved(r, o);
        /* each transposed gradient is copied to (B, T, Hd) before its Linear */
        gv = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad v copy");
        tl_unref(r->t, gvc);
        gk = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad k copy");
        tl_unref(r->t, gkc);
        gq = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad q copy");
        tl_unref(r->t, gqc);
    }
    tr_give(r, v, gv);
    tr_give(r, k, gk);
    tr_give(r, q, gq);
}

static void bwd_linear(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    if (op->a.linear.lora_r > 0) {
        bwd_lora(r, o, gout);
        return;
    }
    tr_gemm(r, 1);
    int gi = r->rg[x] ? tr_grad_new(r, x, "grad input") : -1;
    for (int i = 0; i < op->n_params; i++) tr_param_grad(r, op->params[i], tr_pgrad_half(r, op->params[i]));
    /* a tied head's weight gradient is the first of the embedding's (which
     * accumulates into it in place): AccumulateGrad takes it here */
    if (op->a.linear.tied && r->rg[op->in[1]])
        tr_param_grad(r, op->in[1], tr_pgrad_half(r, op->in[1]));
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tr_give(r, x, gi);
}

/* autocast: both compute in half precision */
const op_rule dlm_rule_linear = {
    .name = "linear", .fwd = fwd_linear, .bwd = bwd_linear, .autocast = 2,
    .resident = tr_resident_cublas};
const op_rule dlm_rule_attention = {
    .name = "attention", .fwd = fwd_attention, .bwd = bwd_attention, .autocast = 2,
    .resident = tr_resident_cublas};
