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
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    if (op->kind == DLM_OP_GELU) DLM_CUDA(dlm_k_gelu_erf(yp, xp, x->numel, rt->dt, rt->stream));
    else DLM_CUDA(dlm_k_tanh(yp, xp, x->numel, rt->dt, rt->stream));
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
    DLM_TRY(need_contiguous(rt, op, op->in[0]));
    DLM_CUDA(cudaMemcpyAsync(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]),
                             (size_t)x->numel * x->esize, cudaMemcpyDeviceToDevice, rt->stream));
    return DLM_OK;
}
