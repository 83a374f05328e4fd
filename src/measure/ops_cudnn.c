/* ops_cudnn.c — the ops the runtime runs through cuDNN: convolution (as
 * PyTorch's cross-correlation), batchnorm inference, pooling and ReLU.
 *
 * Convolution: descriptors at create; shapes and the algorithm per point:
 * cuDNN's candidates, timed on this GPU (cudnnFindConvolutionForwardAlgorithmEx
 * with dlmem's own buffers) or ranked by its heuristics (_v7), best first;
 * the first that fits the mode (exact fp32 takes FMA math only) and whose
 * workspace fits the conv's bound is taken.  The bound (plan.h): the plan's
 * headroom at the conv, P - L_o - 1, when workspaces are transient (each
 * conv allocates its own around it, from the tracking allocator), or the
 * --conv-workspace limit of the one resident buffer (runtime.c allocates it).
 * Channels-last (bf16 by default, runtime.h): filter and tensors NHWC, and an
 * NCHW input copied to NHWC around the conv, the copy counted in its room.
 * bf16 batchnorm, pooling and ReLU use dlmem's kernels: PyTorch keeps bf16
 * statistics, which cuDNN's batchnorm does not take, and one kernel path per
 * dtype keeps them comparable.
 */
#include <string.h>

#include "kernels.h"
#include "rt_internal.h"

static const float one = 1.0f, zero = 0.0f;

/* x's shape in a cuDNN descriptor, channels-last if nhwc. */
static dlm_status set4d(cudnnTensorDescriptor_t d, cudnnDataType_t dt, const rt_tensor *x,
                        int nhwc)
{
    if (x->ndim != 4 || !rt_contiguous(x))
        return dlm_error(DLM_EINTERNAL, "a cuDNN 4-d tensor must be contiguous");
    DLM_CUDNN(cudnnSetTensor4dDescriptor(d, nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, dt,
                                         (int)x->dims[0], (int)x->dims[1], (int)x->dims[2],
                                         (int)x->dims[3]));
    return DLM_OK;
}

/* ---- convolution ---------------------------------------------------------------- */

dlm_status rt_conv_create(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    if (op->a.conv.bias && rt->dt != DLM_K_F32)
        return dlm_error(DLM_EUNSUPPORTED, "%s: conv bias in bf16", op->name);
    DLM_CUDNN(cudnnCreateTensorDescriptor(&c->x));
    DLM_CUDNN(cudnnCreateTensorDescriptor(&c->y));
    DLM_CUDNN(cudnnCreateFilterDescriptor(&c->w));
    DLM_CUDNN(cudnnCreateConvolutionDescriptor(&c->conv));
    DLM_CUDNN(cudnnSetFilter4dDescriptor(c->w, rt->cudnn_dt,
                                         rt->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                         op->a.conv.cout,
                                         op->a.conv.cin / op->a.conv.groups, op->a.conv.kh,
                                         op->a.conv.kw));
    DLM_CUDNN(cudnnSetConvolution2dDescriptor(c->conv, op->a.conv.ph, op->a.conv.pw,
                                              op->a.conv.sh, op->a.conv.sw, op->a.conv.dh,
                                              op->a.conv.dw, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT));
    if (op->a.conv.groups > 1) DLM_CUDNN(cudnnSetConvolutionGroupCount(c->conv, op->a.conv.groups));
    DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, rt->conv_math));
    if (op->a.conv.bias) {
        DLM_CUDNN(cudnnCreateTensorDescriptor(&c->bias));
        DLM_CUDNN(cudnnSetTensor4dDescriptor(c->bias, CUDNN_TENSOR_NCHW, rt->cudnn_dt, 1,
                                             op->a.conv.cout, 1, 1));
    }
    return DLM_OK;
}

/* May this result run in the runtime's mode?  Exact fp32 takes FMA math only
 * (no TF32). */
static int algo_fits(const dlm_rt *rt, const cudnnConvolutionFwdAlgoPerf_t *p)
{
    if (p->status != CUDNN_STATUS_SUCCESS) return 0;
    if (rt->conv_math != CUDNN_FMA_MATH) return 1;
    return p->mathType == CUDNN_FMA_MATH || p->mathType == CUDNN_DEFAULT_MATH;
}

/* cudnnFindConvolutionForwardAlgorithmEx: every algorithm whose workspace fits
 * the conv's bound is timed on scratch input and output buffers (allocated
 * through the tracking allocator and freed before any measured pass; with a
 * transient bound, x + y + workspace stay below the pass's own peak). */
static dlm_status find_algos(dlm_rt *rt, int o, const rt_tensor *x, const rt_tensor *y,
                             cudnnConvolutionFwdAlgoPerf_t *perf, int *got)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    void *xb = NULL, *yb = NULL, *wb = NULL;
    dlm_status st = DLM_OK;
    size_t lim = c->bound, xbytes = (size_t)x->numel * rt->fsize, most = 0;
    /* The search buffer: the bound, or less if no algorithm needs that much. */
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; a++) {
        size_t need = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(rt->dnn, c->x, c->w, c->conv, c->y,
                                                    (cudnnConvolutionFwdAlgo_t)a, &need) ==
                CUDNN_STATUS_SUCCESS &&
            need > most)
            most = need;
    }
    if (lim > most) lim = most;
    DLM_GO(dlm_devmem_alloc(&rt->mem, xbytes, DLM_MK_SCRATCH, "conv algorithm search (x)", &xb));
    DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)y->numel * rt->fsize, DLM_MK_SCRATCH,
                            "conv algorithm search (y)", &yb));
    if (lim) DLM_GO(dlm_devmem_alloc(&rt->mem, lim, DLM_MK_SCRATCH, "conv algorithm search (ws)", &wb));
    DLM_CUDA_GO(cudaMemsetAsync(xb, 0, xbytes, rt->stream));
    DLM_CUDNN_GO(cudnnFindConvolutionForwardAlgorithmEx(
        rt->dnn, c->x, xb, c->w, rt_ptr(rt, op->params[0]), c->conv, c->y, yb,
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, got, perf, wb, lim));
fail:
    if (wb) (void)dlm_devmem_free(&rt->mem, wb);
    if (yb) (void)dlm_devmem_free(&rt->mem, yb);
    if (xb) (void)dlm_devmem_free(&rt->mem, xb);
    return st;
}

/* An earlier conv of this point with the same shapes and attributes (its
 * choice is reused rather than searched again), or -1. */
static int same_conv(const dlm_rt *rt, int o)
{
    const dlm_op *a = &rt->g->ops[o];
    const rt_tensor *xa = &rt->t[a->in[0]];
    for (int p = 0; p < o; p++) {
        const dlm_op *b = &rt->g->ops[p];
        if (b->kind != DLM_OP_CONV2D || memcmp(&a->a.conv, &b->a.conv, sizeof a->a.conv)) continue;
        const rt_tensor *xb = &rt->t[b->in[0]];
        if (!memcmp(xa->dims, xb->dims, sizeof xa->dims)) return p;
    }
    return -1;
}

/* Takes the first of c->perf that fits the mode and the bound (its workspace
 * asked again with the math type it will run with), else, where the bound is
 * the resident buffer's limit, the one that fits the mode with the smallest
 * workspace. */
static dlm_status pick_algo(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    int pick = -1, smallest = -1;
    size_t need = 0, least = 0;
    for (int i = 0; i < c->n_perf && pick < 0; i++) {
        const cudnnConvolutionFwdAlgoPerf_t *p = &c->perf[i];
        if (!algo_fits(rt, p)) continue;
        cudnnMathType_t m = rt->conv_math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : p->mathType;
        DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, m));
        if (cudnnGetConvolutionForwardWorkspaceSize(rt->dnn, c->x, c->w, c->conv, c->y, p->algo,
                                                    &need) != CUDNN_STATUS_SUCCESS)
            continue;
        if (smallest < 0 || need < least) {
            smallest = i;
            least = need;
        }
        if (need <= c->bound) pick = i;
    }
    if (pick < 0 && !rt->conv_transient) pick = smallest;
    if (pick < 0)
        return dlm_error(DLM_EUNSUPPORTED, "%s: cuDNN offers no forward algorithm for %s%s%s",
                         op->name, dlm_rt_dtype_name(rt->opt.dtype),
                         rt->conv_math == CUDNN_FMA_MATH ? " with FMA math (no TF32)" : "",
                         rt->conv_transient ? " whose workspace fits the plan's headroom there "
                                              "(--conv-workspace SIZE: a resident buffer)" : "");
    c->algo = c->perf[pick].algo;
    c->math = rt->conv_math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : c->perf[pick].mathType;
    DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, c->math));
    DLM_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(rt->dnn, c->x, c->w, c->conv, c->y, c->algo,
                                                      &c->ws));
    return DLM_OK;
}

dlm_status rt_conv_prepare(dlm_rt *rt, int o, size_t room)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    int n, ch, h, w;
    /* channels-last: an NCHW input is copied around the conv, inside its room */
    c->in_copy = rt->nhwc && !x->nhwc ? (size_t)x->numel * rt->fsize : 0;
    if (c->in_copy && c->in_copy > room)
        return dlm_error(DLM_EUNSUPPORTED, "%s: the channels-last copy of its input (%zu bytes) "
                         "does not fit under the plan's peak there (%zu bytes; --layout nchw "
                         "runs it)", op->name, c->in_copy, room);
    size_t bound = rt->conv_transient ? room - c->in_copy : (size_t)rt->opt.conv_ws_limit;
    DLM_TRY(set4d(c->x, rt->cudnn_dt, x, rt->nhwc));
    DLM_TRY(set4d(c->y, rt->cudnn_dt, y, rt->nhwc));
    DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, rt->conv_math));
    DLM_CUDNN(cudnnGetConvolution2dForwardOutputDim(c->conv, c->x, c->w, &n, &ch, &h, &w));
    if (n != y->dims[0] || ch != y->dims[1] || h != y->dims[2] || w != y->dims[3])
        return dlm_error(DLM_EINTERNAL, "%s: cuDNN gives output %dx%dx%dx%d, the graph %lldx%lldx"
                         "%lldx%lld", op->name, n, ch, h, w, (long long)y->dims[0],
                         (long long)y->dims[1], (long long)y->dims[2], (long long)y->dims[3]);
    c->bound = bound;
    /* An earlier conv of the same shapes was searched with a bound at least
     * this one: its candidates serve (they are re-picked with this bound). */
    int twin = same_conv(rt, o);
    if (twin >= 0 && rt->ops[twin].conv.bound >= bound) {
        const rt_conv *t = &rt->ops[twin].conv;
        memcpy(c->perf, t->perf, sizeof c->perf);
        c->n_perf = t->n_perf;
        return pick_algo(rt, o);
    }
    c->n_perf = 0;
    if (rt->opt.conv_search)
        DLM_TRY(find_algos(rt, o, x, y, c->perf, &c->n_perf));
    else
        DLM_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(rt->dnn, c->x, c->w, c->conv, c->y,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                         &c->n_perf, c->perf));
    return pick_algo(rt, o);
}

dlm_status rt_conv_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    const rt_tensor *x = &rt->t[op->in[0]];
    void *ws = NULL, *xin = rt_ptr(rt, op->in[0]), *copy = NULL;
    dlm_status st = DLM_OK;
    if (!rt->conv_transient && c->ws > (size_t)rt->conv_ws_bytes)
        return dlm_error(DLM_EINTERNAL, "%s: workspace %zu > shared %lld", op->name, c->ws,
                         (long long)rt->conv_ws_bytes);
    if (c->in_copy) {
        DLM_GO(dlm_devmem_alloc(&rt->mem, c->in_copy, DLM_MK_SCRATCH,
                                "channels-last copy of a convolution's input", &copy));
        DLM_CUDA_GO(dlm_k_to_nhwc(copy, xin, x->dims[0], (int)x->dims[1], x->dims[2] * x->dims[3],
                                  rt->dt, rt->stream));
        xin = copy;
    }
    if (rt->conv_transient && c->ws)
        DLM_GO(dlm_devmem_alloc(&rt->mem, c->ws, DLM_MK_SCRATCH,
                                "cuDNN convolution workspace (transient)", &ws));
    else if (!rt->conv_transient)
        ws = c->ws ? rt->conv_ws : NULL;
    DLM_CUDNN_GO(cudnnConvolutionForward(rt->dnn, &one, c->x, xin, c->w,
                                         rt_ptr(rt, op->params[0]), c->conv, c->algo, ws, c->ws,
                                         &zero, c->y, rt_ptr(rt, op->out[0])));
    if (op->a.conv.bias)
        DLM_CUDNN_GO(cudnnAddTensor(rt->dnn, &one, c->bias, rt_ptr(rt, op->params[1]), &one, c->y,
                                    rt_ptr(rt, op->out[0])));
fail:
    if (rt->conv_transient && ws) {
        dlm_status sf = dlm_devmem_free(&rt->mem, ws);
        if (st == DLM_OK) st = sf;
    }
    if (copy) {
        dlm_status sf = dlm_devmem_free(&rt->mem, copy);
        if (st == DLM_OK) st = sf;
    }
    return st;
}

/* ---- batchnorm, pooling, ReLU -------------------------------------------------------- */

dlm_status rt_nd_create(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_nd *d = &rt->ops[o].nd;
    d->use_cudnn = rt->dt == DLM_K_F32;
    if (!d->use_cudnn) return DLM_OK;
    DLM_CUDNN(cudnnCreateTensorDescriptor(&d->x));
    DLM_CUDNN(cudnnCreateTensorDescriptor(&d->y));
    if (op->kind == DLM_OP_BATCHNORM2D) {
        DLM_CUDNN(cudnnCreateTensorDescriptor(&d->p));
        DLM_CUDNN(cudnnSetTensor4dDescriptor(d->p, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                             op->a.bn.c, 1, 1));
    }
    if (op->kind == DLM_OP_MAXPOOL2D || op->kind == DLM_OP_AVGPOOL2D_ADAPTIVE)
        DLM_CUDNN(cudnnCreatePoolingDescriptor(&d->pool));
    if (op->kind == DLM_OP_MAXPOOL2D)
        DLM_CUDNN(cudnnSetPooling2dDescriptor(d->pool, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN,
                                              op->a.pool.kh, op->a.pool.kw, op->a.pool.ph,
                                              op->a.pool.pw, op->a.pool.sh, op->a.pool.sw));
    return DLM_OK;
}

dlm_status rt_nd_prepare(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_nd *d = &rt->ops[o].nd;
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    if (!d->use_cudnn) return DLM_OK;
    if (op->kind == DLM_OP_RELU && (x->ndim != 4 || !rt_contiguous(x))) {
        d->use_cudnn = 0; /* a ReLU outside a conv net: the kernel */
        return DLM_OK;
    }
    if (op->kind == DLM_OP_AVGPOOL2D_ADAPTIVE) {
        /* cuDNN's average pooling is PyTorch's adaptive one when windows are even. */
        int H = (int)x->dims[2], W = (int)x->dims[3], oh = op->a.apool.oh, ow = op->a.apool.ow;
        if (H % oh || W % ow) return DLM_OK; /* kernel at run time */
        DLM_CUDNN(cudnnSetPooling2dDescriptor(d->pool, CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING,
                                              CUDNN_NOT_PROPAGATE_NAN, H / oh, W / ow, 0, 0,
                                              H / oh, W / ow));
    }
    DLM_TRY(set4d(d->x, rt->cudnn_dt, x, 0));
    DLM_TRY(set4d(d->y, rt->cudnn_dt, y, 0));
    return DLM_OK;
}

dlm_status rt_batchnorm_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_nd *d = &rt->ops[o].nd;
    const rt_tensor *x = &rt->t[op->in[0]];
    void *w = rt_ptr(rt, op->params[0]), *b = rt_ptr(rt, op->params[1]);
    void *mean = rt_ptr(rt, op->buffers[0]), *var = rt_ptr(rt, op->buffers[1]);
    if (d->use_cudnn) {
        DLM_CUDNN(cudnnBatchNormalizationForwardInference(
            rt->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d->x, rt_ptr(rt, op->in[0]), d->y,
            rt_ptr(rt, op->out[0]), d->p, w, b, mean, var, op->a.bn.eps));
        return DLM_OK;
    }
    if (!rt_contiguous(x)) return dlm_error(DLM_EINTERNAL, "%s: strided input", op->name);
    DLM_CUDA(dlm_k_batchnorm(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]), w, b, mean, var,
                             x->dims[0], (int)x->dims[1], x->dims[2] * x->dims[3], x->nhwc,
                             (float)op->a.bn.eps, rt->dt, rt->stream));
    return DLM_OK;
}

dlm_status rt_pool_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_nd *d = &rt->ops[o].nd;
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    void *xp = rt_ptr(rt, op->in[0]), *yp = rt_ptr(rt, op->out[0]);
    int H = (int)x->dims[2], W = (int)x->dims[3];
    int cudnn_ok = d->use_cudnn && !x->nhwc &&
                   (op->kind == DLM_OP_MAXPOOL2D ||
                    (H % op->a.apool.oh == 0 && W % op->a.apool.ow == 0));
    if (cudnn_ok) {
        DLM_CUDNN(cudnnPoolingForward(rt->dnn, d->pool, &one, d->x, xp, &zero, d->y, yp));
        return DLM_OK;
    }
    if (!rt_contiguous(x)) return dlm_error(DLM_EINTERNAL, "%s: strided input", op->name);
    int64_t N = x->dims[0];
    int C = (int)x->dims[1];
    if (op->kind == DLM_OP_MAXPOOL2D)
        DLM_CUDA(dlm_k_maxpool2d(yp, xp, N, C, H, W, (int)y->dims[2], (int)y->dims[3],
                                 op->a.pool.kh, op->a.pool.kw, op->a.pool.sh, op->a.pool.sw,
                                 op->a.pool.ph, op->a.pool.pw, x->nhwc, rt->dt, rt->stream));
    else
        DLM_CUDA(dlm_k_avgpool_adaptive(yp, xp, N, C, H, W, op->a.apool.oh, op->a.apool.ow,
                                        x->nhwc, rt->dt, rt->stream));
    return DLM_OK;
}

dlm_status rt_relu_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_nd *d = &rt->ops[o].nd;
    const rt_tensor *x = &rt->t[op->in[0]];
    void *xp = rt_ptr(rt, op->in[0]), *yp = rt_ptr(rt, op->out[0]);
    if (d->use_cudnn) {
        DLM_CUDNN(cudnnActivationForward(rt->dnn, rt->relu, &one, d->x, xp, &zero, d->y, yp));
        return DLM_OK;
    }
    if (!rt_contiguous(x)) return dlm_error(DLM_EINTERNAL, "%s: strided input", op->name);
    DLM_CUDA(dlm_k_relu(yp, xp, x->numel, rt->dt, rt->stream));
    return DLM_OK;
}

void rt_cudnn_op_destroy(dlm_rt *rt, int o)
{
    rt_conv *c = &rt->ops[o].conv;
    rt_nd *d = &rt->ops[o].nd;
    if (c->x) cudnnDestroyTensorDescriptor(c->x);
    if (c->y) cudnnDestroyTensorDescriptor(c->y);
    if (c->bias) cudnnDestroyTensorDescriptor(c->bias);
    if (c->w) cudnnDestroyFilterDescriptor(c->w);
    if (c->conv) cudnnDestroyConvolutionDescriptor(c->conv);
    if (d->x) cudnnDestroyTensorDescriptor(d->x);
    if (d->y) cudnnDestroyTensorDescriptor(d->y);
    if (d->p) cudnnDestroyTensorDescriptor(d->p);
    if (d->pool) cudnnDestroyPoolingDescriptor(d->pool);
    memset(c, 0, sizeof *c);
    memset(d, 0, sizeof *d);
}
