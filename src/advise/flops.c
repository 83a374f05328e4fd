/* flops.c — forward operation counts per op (see flops.h for the rules). */
#include "flops.h"

static dlm_poly K(int64_t k) { return dlm_poly_const(k); }

dlm_poly dlm_op_flops(const dlm_graph *g, int o)
{
    const dlm_op *op = &g->ops[o];
    const dlm_tensor *x = &g->tensors[op->in[0]], *y = &g->tensors[op->out[0]];
    switch (op->kind) {
    case DLM_OP_CONV2D: {
        int64_t per = 2LL * op->a.conv.cin / op->a.conv.groups * op->a.conv.kh * op->a.conv.kw +
                      (op->a.conv.bias ? 1 : 0);
        return dlm_poly_scale(y->numel, per);
    }
    case DLM_OP_LINEAR:
        return dlm_poly_scale(y->numel, 2LL * op->a.linear.in + (op->a.linear.bias ? 1 : 0));
    case DLM_OP_ATTENTION: {
        /* x: (B, T, Hd); scores B*heads*T*T */
        dlm_poly btt = dlm_poly_mul(dlm_poly_mul(x->shape[0], x->shape[1]), x->shape[1]);
        int64_t hd = (int64_t)op->a.attn.heads * op->a.attn.head_dim;
        return dlm_poly_add(dlm_poly_scale(btt, 4 * hd), dlm_poly_scale(btt, 5LL * op->a.attn.heads));
    }
    case DLM_OP_RNN: {
        int gates = op->a.rnn.cell == DLM_RNN_LSTM ? 4 : 3, h = op->a.rnn.hidden;
        dlm_poly tb = dlm_poly_mul(x->shape[0], x->shape[1]);
        int64_t per = 0;
        for (int l = 0; l < op->a.rnn.layers; l++) {
            int64_t in = l == 0 ? op->a.rnn.input : h;
            per += 2LL * gates * h * (in + h) + 10LL * gates * h;
        }
        return dlm_poly_scale(tb, per);
    }
    case DLM_OP_BATCHNORM2D:
        return dlm_poly_scale(y->numel, 4);
    case DLM_OP_LAYERNORM:
    case DLM_OP_SOFTMAX:
        return dlm_poly_scale(y->numel, 5);
    case DLM_OP_GELU:
    case DLM_OP_TANH:
        return dlm_poly_scale(y->numel, 8);
    case DLM_OP_RELU:
    case DLM_OP_ADD:
    case DLM_OP_DROPOUT:
        return y->numel;
    case DLM_OP_MAXPOOL2D:
        return dlm_poly_scale(y->numel, (int64_t)op->a.pool.kh * op->a.pool.kw);
    case DLM_OP_AVGPOOL2D_ADAPTIVE:
        return x->numel;
    case DLM_OP_CONVT2D: /* a multiply-add per input element and filter tap */
        return dlm_poly_add(dlm_poly_scale(x->numel, 2LL * op->a.conv.cout / op->a.conv.groups *
                                                         op->a.conv.kh * op->a.conv.kw),
                            op->a.conv.bias ? y->numel : K(0));
    case DLM_OP_AVGPOOL2D:
        return dlm_poly_scale(y->numel, (int64_t)op->a.pool.kh * op->a.pool.kw);
    case DLM_OP_RELU6:
    case DLM_OP_MUL:
    case DLM_OP_STOCHASTIC_DEPTH:
        return y->numel;
    case DLM_OP_SIGMOID: /* exp, add, divide, negate */
        return dlm_poly_scale(y->numel, 4);
    case DLM_OP_SILU:      /* a sigmoid and a product */
    case DLM_OP_HARDSWISH: /* add, two clamps, product, divide */
        return dlm_poly_scale(y->numel, 5);
    case DLM_OP_UPSAMPLE: /* bilinear: 4 products and 3 sums per output; nearest a gather */
        return op->a.up.mode == DLM_UP_BILINEAR ? dlm_poly_scale(y->numel, 7) : K(0);
    case DLM_OP_CONCAT: /* a copy */
    case DLM_OP_FLATTEN:
    case DLM_OP_SELECT:
    case DLM_OP_VIEW:
    case DLM_OP_EMBEDDING:
    case DLM_OP_SLICE:
    case DLM_OP_PATCH_TOKENS:
    case DLM_OP_INDEX:
        return K(0);
    case DLM_OP_RMSNORM: /* square, mean, rsqrt scale, weight */
        return dlm_poly_scale(y->numel, 4);
    case DLM_OP_ROTARY: /* outer product positions x inv_freq, cos and sin */
        return dlm_poly_scale(y->numel, 3);
    case DLM_OP_ROPE: { /* x*cos + rotate_half(x)*sin for q and k */
        const dlm_tensor *k = &g->tensors[op->out[1]];
        return dlm_poly_scale(dlm_poly_add(y->numel, k->numel), 3);
    }
    case DLM_OP_MHA: {
        /* in_proj 2*E*3E and out_proj 2*E*E per token, attention as above */
        int64_t e = (int64_t)op->a.attn.heads * op->a.attn.head_dim;
        dlm_poly bt = dlm_poly_mul(x->shape[0], x->shape[1]);
        dlm_poly btt = dlm_poly_mul(bt, x->shape[1]);
        dlm_poly proj = dlm_poly_scale(bt, 8 * e * e + 4 * e);
        return dlm_poly_add(proj, dlm_poly_add(dlm_poly_scale(btt, 4 * e),
                                               dlm_poly_scale(btt, 5LL * op->a.attn.heads)));
    }
    case DLM_OP_CAUSAL_LM_LOSS: /* log_softmax over the vocabulary, gather, mean */
        return dlm_poly_scale(x->numel, 5);
    }
    return K(0);
}

dlm_poly dlm_flops_range(const dlm_graph *g, int first, int last)
{
    dlm_poly s = K(0);
    for (int o = first; o <= last && o < g->n_ops; o++) s = dlm_poly_add(s, dlm_op_flops(g, o));
    return s;
}
