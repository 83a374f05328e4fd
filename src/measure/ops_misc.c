/* ops_misc.c — the ops the runtime runs with its own kernels (kernels.cu):
 * residual and broadcast add, GELU, tanh, layernorm, softmax, embedding
 * lookup, and dropout (the identity in inference: a copy into the storage
 * the graph gives its output). */
#include "kernels.h"
#include "rt_internal.h"

static dlm_status need_contiguous(const dlm_rt *rt, const dlm_op *op, int t)
{
    if (!rt_contiguous(&rt->t[t]))
        return dlm_error(DLM_EUNSUPPORTED, "%s: %s is a strided view", op->name,
                         rt->g->tensors[t].name);
    return DLM_OK;
}

dlm_status rt_add_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    int a = op->in[0], b = op->in[1];
    const rt_tensor *y = &rt->t[op->out[0]];
    /* Addition commutes exactly, so the full-size operand goes first. */
    if (rt->t[a].numel != y->numel) {
        int tmp = a;
        a = b;
        b = tmp;
    }
    const rt_tensor *ta = &rt->t[a], *tb = &rt->t[b];
    DLM_TRY(need_contiguous(rt, op, a));
    DLM_TRY(need_contiguous(rt, op, b));
    DLM_TRY(need_contiguous(rt, op, op->out[0]));
    /* b must broadcast over leading dimensions only: its shape, without
     * leading ones, is a suffix of y's. */
    int k = 0;
    while (k < tb->ndim && tb->dims[k] == 1) k++;
    int rest = tb->ndim - k;
    if (ta->numel != y->numel || rest > y->ndim)
        return dlm_error(DLM_EUNSUPPORTED, "%s: broadcast pattern", op->name);
    for (int i = 0; i < rest; i++)
        if (tb->dims[k + i] != y->dims[y->ndim - rest + i])
            return dlm_error(DLM_EUNSUPPORTED, "%s: broadcast pattern", op->name);
    DLM_CUDA(dlm_k_add(rt_ptr(rt, op->out[0]), rt_ptr(rt, a), rt_ptr(rt, b), y->numel, tb->numel,
                       rt->dt, rt->stream));
    return DLM_OK;
}

dlm_status rt_unary_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]];
    void *xp = rt_ptr(rt, op->in[0]), *yp = rt_ptr(rt, op->out[0]);
    int64_t n = x->numel;
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    switch (op->kind) { /* elementwise: either layout, in place or not */
    case DLM_OP_GELU:
        if (op->a.gelu.form == DLM_GELU_NEW) DLM_CUDA(dlm_k_gelu_new(yp, xp, n, rt->dt, rt->stream));
        else if (op->a.gelu.form == DLM_GELU_TANH)
            DLM_CUDA(dlm_k_gelu_tanh(yp, xp, n, rt->dt, rt->stream));
        else DLM_CUDA(dlm_k_gelu_erf(yp, xp, n, rt->dt, rt->stream));
        break;
    case DLM_OP_RELU6: DLM_CUDA(dlm_k_relu6(yp, xp, n, rt->dt, rt->stream)); break;
    case DLM_OP_SILU: DLM_CUDA(dlm_k_silu(yp, xp, n, rt->dt, rt->stream)); break;
    case DLM_OP_SIGMOID: DLM_CUDA(dlm_k_sigmoid(yp, xp, n, rt->dt, rt->stream)); break;
    case DLM_OP_HARDSWISH: DLM_CUDA(dlm_k_hardswish(yp, xp, n, rt->dt, rt->stream)); break;
    default: DLM_CUDA(dlm_k_tanh(yp, xp, n, rt->dt, rt->stream)); break;
    }
    return DLM_OK;
}

/* a * b (torchvision's squeeze-and-excitation `scale * input`): b of a's
 * size, or one value per (n, c) of a 4-d a (shape (N, C, 1, 1)), in a's
 * layout. */
dlm_status rt_mul_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    int a = op->in[0], b = op->in[1];
    if (rt->t[a].numel < rt->t[b].numel) { /* the product commutes exactly */
        int t = a;
        a = b;
        b = t;
    }
    const rt_tensor *ta = &rt->t[a], *tb = &rt->t[b], *y = &rt->t[op->out[0]];
    DLM_TRY(need_contiguous(rt, op, a));
    DLM_TRY(need_contiguous(rt, op, b));
    DLM_TRY(need_contiguous(rt, op, op->out[0]));
    int mode;
    int64_t hw = 1, c = 1;
    if (tb->numel == ta->numel) {
        mode = 0;
    } else if (ta->ndim == 4 && tb->ndim == 4 && tb->dims[0] == ta->dims[0] &&
               tb->dims[1] == ta->dims[1] && tb->dims[2] == 1 && tb->dims[3] == 1) {
        hw = ta->dims[2] * ta->dims[3];
        c = ta->dims[1];
        mode = ta->nhwc ? 2 : 1;
    } else {
        return dlm_error(DLM_EUNSUPPORTED, "%s: broadcast pattern (the runtime multiplies by "
                         "a tensor of the same size or by one value per (n, c))", op->name);
    }
    DLM_CUDA(dlm_k_mul(rt_ptr(rt, op->out[0]), rt_ptr(rt, a), rt_ptr(rt, b), y->numel, mode, hw, c,
                       rt->dt, rt->stream));
    return DLM_OK;
}

/* torch.cat along channels (dim 1) of 4-d tensors: one 2-d copy per input, its
 * channels a block of every image (NCHW) or of every pixel (NHWC). */
/* torch.cat of up to 4-d tensors along any dimension, inputs that may be
 * views (ViT's class token expanded over the batch, its patch tokens
 * transposed): one strided copy per input into its slice. */
static dlm_status concat_strided(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *y = &rt->t[op->out[0]];
    int d = op->a.cat.dim, pad = 4 - y->ndim;
    if (y->ndim > 4 || d < 0 || d >= y->ndim)
        return dlm_error(DLM_EUNSUPPORTED, "%s: concatenation of %d-d tensors along %d", op->name,
                         y->ndim, d);
    char *dst = rt_ptr(rt, op->out[0]);
    int64_t off = 0;
    for (int i = 0; i < op->n_in; i++) {
        const rt_tensor *x = &rt->t[op->in[i]];
        dlm_k_copy4 c;
        for (int k = 0; k < 4; k++) {
            int j = k - pad;
            c.dims[k] = j < 0 ? 1 : x->dims[j];
            c.xs[k] = j < 0 ? 0 : x->strides[j];
            c.ys[k] = j < 0 ? 0 : y->strides[j];
        }
        DLM_CUDA(dlm_k_strided_copy(dst + off * y->strides[d] * (int64_t)y->esize, rt_ptr(rt, op->in[i]),
                                    &c, (int)y->esize, rt->stream));
        off += x->dims[d];
    }
    return DLM_OK;
}

dlm_status rt_concat_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *y = &rt->t[op->out[0]];
    int plain = y->ndim == 4 && op->a.cat.dim == 1;
    for (int i = 0; plain && i < op->n_in; i++) plain = rt_contiguous(&rt->t[op->in[i]]);
    if (!plain && !y->nhwc) {
        DLM_TRY(need_contiguous(rt, op, op->out[0]));
        return concat_strided(rt, o);
    }
    if (op->a.cat.dim != 1 || y->ndim < 2)
        return dlm_error(DLM_EUNSUPPORTED, "%s: concatenation along dimension %d", op->name,
                         op->a.cat.dim);
    DLM_TRY(need_contiguous(rt, op, op->out[0]));
    int64_t inner = 1; /* elements after the channel dimension */
    for (int d = 2; d < y->ndim; d++) inner *= y->dims[d];
    int64_t rows = y->nhwc ? y->dims[0] * inner : y->dims[0];
    size_t es = (size_t)y->esize, pitch = (size_t)(y->nhwc ? y->dims[1] : y->dims[1] * inner) * es;
    char *dst = rt_ptr(rt, op->out[0]);
    int64_t off = 0; /* channels written so far */
    for (int i = 0; i < op->n_in; i++) {
        const rt_tensor *x = &rt->t[op->in[i]];
        DLM_TRY(need_contiguous(rt, op, op->in[i]));
        size_t width = (size_t)(y->nhwc ? x->dims[1] : x->dims[1] * inner) * es;
        size_t at = (size_t)(y->nhwc ? off : off * inner) * es;
        DLM_CUDA(cudaMemcpy2DAsync(dst + at, pitch, rt_ptr(rt, op->in[i]), width, width,
                                   (size_t)rows, cudaMemcpyDeviceToDevice, rt->stream));
        off += x->dims[1];
    }
    return DLM_OK;
}

/* The output is a copy of the input: stochastic depth in inference (the
 * graph gives its output a storage of its own). */
dlm_status rt_copy_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]];
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    DLM_CUDA(cudaMemcpyAsync(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]),
                             (size_t)x->numel * x->esize, cudaMemcpyDeviceToDevice, rt->stream));
    return DLM_OK;
}

dlm_status rt_layernorm_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]];
    int dim = op->a.ln.dim;
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    DLM_CUDA(dlm_k_layernorm(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]),
                             rt_ptr(rt, op->params[0]), rt_ptr(rt, op->params[1]),
                             x->numel / dim, dim, (float)op->a.ln.eps, rt->dt, rt->stream));
    return DLM_OK;
}

dlm_status rt_softmax_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]];
    int64_t cols = x->dims[x->ndim - 1];
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    DLM_CUDA(dlm_k_softmax(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]), x->numel / cols,
                           (int)cols, rt->dt, rt->stream));
    return DLM_OK;
}

dlm_status rt_embedding_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *ids = &rt->t[op->in[0]];
    int64_t d0 = 1, d1 = 1, s0 = 0, s1 = 0;
    if (ids->ndim == 1) {
        d1 = ids->dims[0];
        s1 = ids->strides[0];
    } else if (ids->ndim == 2) {
        d0 = ids->dims[0];
        d1 = ids->dims[1];
        s0 = ids->strides[0];
        s1 = ids->strides[1];
    } else {
        return dlm_error(DLM_EUNSUPPORTED, "%s: ids of rank %d", op->name, ids->ndim);
    }
    DLM_TRY(need_contiguous(rt, op, op->out[0]));
    DLM_CUDA(dlm_k_embedding(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->params[0]),
                             rt_ptr(rt, op->in[0]), d0, d1, s0, s1, op->a.emb.dim, rt->dt,
                             rt->stream));
    return DLM_OK;
}

dlm_status rt_dropout_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]];
    if (op->inplace) return DLM_OK; /* inference: x itself */
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    DLM_CUDA(cudaMemcpyAsync(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]),
                             (size_t)x->numel * x->esize, cudaMemcpyDeviceToDevice, rt->stream));
    return DLM_OK;
}

/* F.interpolate(x, scale_factor, mode): nearest or bilinear, either layout. */
dlm_status rt_upsample_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    if (x->ndim != 4) return dlm_error(DLM_EINTERNAL, "%s: upsample of a %d-d tensor", op->name, x->ndim);
    DLM_CUDA(dlm_k_upsample2d(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]), x->dims[0],
                              (int)x->dims[1], (int)x->dims[2], (int)x->dims[3], (int)y->dims[2],
                              (int)y->dims[3], op->a.up.mode == DLM_UP_BILINEAR,
                              op->a.up.align_corners, (double)op->a.up.scale, x->nhwc, rt->dt,
                              rt->stream));
    return DLM_OK;
}

/* ---- the decoders' and ViT's ops ------------------------------------------------------ */

dlm_status rt_rmsnorm_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]];
    int dim = op->a.ln.dim;
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    DLM_CUDA(dlm_k_rmsnorm(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]), rt_ptr(rt, op->params[0]),
                           x->numel / dim, dim, (float)op->a.ln.eps, rt->dt, rt->stream));
    return DLM_OK;
}

/* cos and sin (1, T, head_dim) from the inv_freq buffer (attention_scaling 1:
 * the default and llama3 rope types). */
dlm_status rt_rotary_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *c = &rt->t[op->out[0]];
    DLM_CUDA(dlm_k_rotary(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->out[1]),
                          rt_ptr(rt, op->buffers[0]), c->dims[1], op->a.rotary.head_dim, 1.0f,
                          rt->dt, rt->stream));
    return DLM_OK;
}

dlm_status rt_rope_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    for (int k = 0; k < 2; k++) {
        const rt_tensor *x = &rt->t[op->in[k]];
        int heads = k ? op->a.rope.kv_heads : op->a.rope.heads;
        DLM_TRY(need_contiguous(rt, op, op->in[k]));
        if (x->ndim != 3 || x->dims[2] != (int64_t)heads * op->a.rope.head_dim)
            return dlm_error(DLM_EINTERNAL, "%s: %s is not (B, T, %d x %d)", op->name,
                             rt->g->tensors[op->in[k]].name, heads, op->a.rope.head_dim);
        DLM_CUDA(dlm_k_rope(rt_ptr(rt, op->out[k]), rt_ptr(rt, op->in[k]), rt_ptr(rt, op->in[2]),
                            rt_ptr(rt, op->in[3]), x->dims[0], x->dims[1], heads,
                            op->a.rope.head_dim, rt->dt, rt->stream));
    }
    return DLM_OK;
}

/* Positions 0..T-1 (cache_position / position_ids, int64). */
dlm_status rt_index_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    if (op->a.index.form != DLM_INDEX_ARANGE)
        return dlm_error(DLM_EUNSUPPORTED, "%s: only positions 0..T-1 are made", op->name);
    DLM_CUDA(dlm_k_arange_i64(rt_ptr(rt, op->out[0]), rt->t[op->out[0]].numel, rt->stream));
    return DLM_OK;
}
