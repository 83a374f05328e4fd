/* runtime.c — the GPU runtime's life cycle: handles, weights, the prepared
 * point, the forward pass over the graph with the liveness plan, and reading
 * tensors back (see runtime.h; the ops themselves are in ops_*.c). */
#include "rt_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "plan.h"

#define CUBLAS_WORKSPACE_BYTES (32LL << 20) /* NVIDIA's advice for Hopper */

/* ---- small helpers ---------------------------------------------------------- */

void *rt_ptr(const dlm_rt *rt, int t)
{
    const rt_tensor *x = &rt->t[t];
    char *base = rt->t[x->storage].ptr;
    return base ? base + x->offset * (int64_t)x->esize : NULL;
}

int rt_contiguous(const rt_tensor *x)
{
    int64_t s = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        if (x->dims[i] != 1 && x->strides[i] != s) return 0;
        s *= x->dims[i];
    }
    return 1;
}

void rt_scratch_free(dlm_rt *rt, void *p, dlm_status *st)
{
    if (!p) return;
    dlm_status s2 = dlm_devmem_free(&rt->mem, p);
    if (*st == DLM_OK) *st = s2;
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return 0x7fc0; /* NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even, as PyTorch's .to(bfloat16) */
    return (uint16_t)(u >> 16);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

dlm_status rt_upload_float(dlm_rt *rt, void *dev, const float *host, int64_t n)
{
    if (rt->dt == DLM_K_F32) {
        DLM_CUDA(cudaMemcpyAsync(dev, host, (size_t)n * 4, cudaMemcpyHostToDevice, rt->stream));
        DLM_CUDA(cudaStreamSynchronize(rt->stream));
        return DLM_OK;
    }
    uint16_t *h = malloc((size_t)(n ? n : 1) * 2);
    if (!h) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) h[i] = f32_to_bf16(host[i]);
    cudaError_t e = cudaMemcpyAsync(dev, h, (size_t)n * 2, cudaMemcpyHostToDevice, rt->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(rt->stream);
    free(h);
    if (e != cudaSuccess) return dlm_cuda_fail(e, "cudaMemcpyAsync", __FILE__, __LINE__);
    return DLM_OK;
}

static dlm_status upload_i64(dlm_rt *rt, void *dev, const int64_t *host, int64_t n)
{
    DLM_CUDA(cudaMemcpyAsync(dev, host, (size_t)n * 8, cudaMemcpyHostToDevice, rt->stream));
    DLM_CUDA(cudaStreamSynchronize(rt->stream));
    return DLM_OK;
}

/* Deterministic generator (splitmix64): the same seed gives the same weights
 * on every machine. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *s) /* [0, 1) */
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- create / free ------------------------------------------------------------ */

static dlm_status alloc_tables(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    int nt = g->n_tensors, no = g->n_ops;
    rt->t = calloc((size_t)nt, sizeof *rt->t);
    rt->ops = calloc((size_t)(no ? no : 1), sizeof *rt->ops);
    rt->owner = malloc((size_t)nt * sizeof *rt->owner);
    rt->slot = malloc((size_t)nt * sizeof *rt->slot);
    rt->ids_bound = calloc((size_t)nt, sizeof *rt->ids_bound);
    rt->live_bytes = calloc((size_t)(no ? no : 1), sizeof *rt->live_bytes);
    if (!rt->t || !rt->ops || !rt->owner || !rt->slot || !rt->ids_bound || !rt->live_bytes)
        return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < nt; i++) {
        rt->owner[i] = rt->slot[i] = -1;
        rt->t[i].storage = dlm_tensor_storage(g, i);
        rt->t[i].esize = g->tensors[i].elem == DLM_EL_INT64 ? 8 : rt->fsize;
    }
    for (int o = 0; o < no; o++) {
        const dlm_op *op = &g->ops[o];
        for (int j = 0; j < op->n_params; j++) {
            rt->owner[op->params[j]] = o;
            rt->slot[op->params[j]] = j;
        }
        for (int j = 0; j < op->n_buffers; j++) {
            rt->owner[op->buffers[j]] = o;
            rt->slot[op->buffers[j]] = j;
        }
        if (op->kind == DLM_OP_EMBEDDING) {
            int s = dlm_tensor_storage(g, op->in[0]);
            if (!rt->ids_bound[s] || rt->ids_bound[s] > op->a.emb.num)
                rt->ids_bound[s] = op->a.emb.num;
        }
    }
    return DLM_OK;
}

/* Constant shapes (parameters, buffers) are known before any point. */
static void const_shape(dlm_rt *rt, int t)
{
    const dlm_tensor *x = &rt->g->tensors[t];
    rt_tensor *r = &rt->t[t];
    r->ndim = x->ndim;
    r->numel = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        r->dims[i] = dlm_poly_eval(&x->shape[i], 1, 1);
        r->strides[i] = r->numel;
        r->numel *= r->dims[i];
    }
}

/* A batchnorm whose output only an in-place relu, relu6 or silu reads (the
 * next op; torchvision's Conv2dNormActivation, DenseNet's norm + relu) runs
 * that activation in its own kernel, and the activation op does nothing: one
 * pass over the tensor instead of two, the same storage, the same values
 * (dlm_k_batchnorm rounds to the dtype between the two, as PyTorch's two
 * kernels do).  The fused batchnorm's own output is not observable. */
static void plan_fusion(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *bn = &g->ops[o];
        if (bn->kind != DLM_OP_BATCHNORM2D) continue;
        rt->ops[o].nd.act = DLM_K_ACT_NONE;
        if (o + 1 >= g->n_ops) continue;
        const dlm_op *a = &g->ops[o + 1];
        int act = a->kind == DLM_OP_RELU ? DLM_K_ACT_RELU
                  : a->kind == DLM_OP_RELU6 ? DLM_K_ACT_RELU6
                  : a->kind == DLM_OP_SILU ? DLM_K_ACT_SILU : DLM_K_ACT_NONE;
        if (act == DLM_K_ACT_NONE || !a->inplace || a->n_in != 1 || a->in[0] != bn->out[0])
            continue;
        int is_output = 0;
        for (int i = 0; i < g->n_outputs; i++)
            if (g->outputs[i] == bn->out[0]) is_output = 1;
        if (is_output) continue;
        rt->ops[o].nd.act = act;
        rt->ops[o + 1].fused = 1;
    }
}

static dlm_status alloc_weights(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    for (int i = 0; i < g->n_params; i++) {
        int t = g->params[i];
        const_shape(rt, t);
        if (rt->owner[t] >= 0 && g->ops[rt->owner[t]].kind == DLM_OP_RNN) continue;
        DLM_TRY(dlm_devmem_alloc(&rt->mem, (size_t)rt->t[t].numel * rt->t[t].esize,
                                 DLM_MK_WEIGHTS, g->tensors[t].name, &rt->t[t].ptr));
    }
    for (int i = 0; i < g->n_buffers; i++) {
        int t = g->buffers[i];
        const_shape(rt, t);
        DLM_TRY(dlm_devmem_alloc(&rt->mem, (size_t)rt->t[t].numel * rt->t[t].esize,
                                 DLM_MK_BUFFERS, g->tensors[t].name, &rt->t[t].ptr));
    }
    plan_fusion(rt);
    for (int o = 0; o < g->n_ops; o++) {
        switch (g->ops[o].kind) {
        case DLM_OP_CONV2D:
        case DLM_OP_CONVT2D: DLM_TRY(rt_conv_create(rt, o)); break;
        case DLM_OP_BATCHNORM2D:
        case DLM_OP_MAXPOOL2D:
        case DLM_OP_AVGPOOL2D:
        case DLM_OP_AVGPOOL2D_ADAPTIVE:
        case DLM_OP_RELU: DLM_TRY(rt_nd_create(rt, o)); break;
        case DLM_OP_RNN: DLM_TRY(rt_rnn_create(rt, o)); break;
        case DLM_OP_LINEAR: DLM_TRY(rt_linear_create(rt, o)); break;
        case DLM_OP_MHA: DLM_TRY(rt_mha_create(rt, o)); break;
        default: break;
        }
    }
    return DLM_OK;
}

/* Whether the runtime runs op `op` (the kinds and attributes it implements). */
static int runs_op(const dlm_op *op)
{
    switch (op->kind) {
    case DLM_OP_MAXPOOL2D:
    case DLM_OP_AVGPOOL2D: return !op->a.pool.ceil;
    case DLM_OP_INDEX: return op->a.index.form == DLM_INDEX_ARANGE;
    case DLM_OP_LINEAR: return op->a.linear.lora_r == 0;
    default: return 1;
    }
}

dlm_status dlm_rt_create(const dlm_graph *g, const dlm_rt_options *o, dlm_rt **out)
{
    dlm_status st;
    int64_t u0, u1;
    *out = NULL;
    if (o->dtype != DLM_RT_FP32 && o->dtype != DLM_RT_BF16)
        return dlm_error(DLM_EUNSUPPORTED, "the GPU runtime runs fp32 or bf16");
    if (o->tf32 && o->dtype != DLM_RT_FP32)
        return dlm_error(DLM_EINVAL, "--tf32 applies to fp32 only");
    if (o->layout == DLM_RT_LAYOUT_NHWC && o->dtype != DLM_RT_BF16)
        return dlm_error(DLM_EUNSUPPORTED, "the runtime runs channels-last (nhwc) in bf16 only "
                         "(got %s)", dlm_rt_dtype_name(o->dtype));
    for (int k = 0; k < g->n_ops; k++)
        if (!runs_op(&g->ops[k]))
            return dlm_error(DLM_EUNSUPPORTED, "model %s: op %s (%s%s) is not run by dlmem's GPU "
                             "runtime yet (the pytorch profile of dlmem memory predicts it)",
                             g->name, g->ops[k].name, dlm_op_kind_name(g->ops[k].kind),
                             g->ops[k].kind == DLM_OP_MAXPOOL2D ? ", ceil_mode"
                             : g->ops[k].kind == DLM_OP_INDEX ? ", RoBERTa's positions or token types"
                             : g->ops[k].kind == DLM_OP_LINEAR ? ", with LoRA adapters" : "");
    for (int k = 0; k < g->n_ops; k++)
        if (g->ops[k].kind == DLM_OP_RNN && o->dtype != DLM_RT_FP32)
            return dlm_error(DLM_EUNSUPPORTED, "model %s: the runtime's cuDNN RNN path runs fp32 "
                             "only (got %s)", g->name, dlm_rt_dtype_name(o->dtype));
    DLM_TRY(dlm_gpu_open(o->device));

    dlm_rt *rt = calloc(1, sizeof *rt);
    if (!rt) return dlm_error(DLM_ENOMEM, "out of memory");
    rt->g = g;
    rt->opt = *o;
    rt->conv_transient = o->conv_ws_limit < 0;
    rt->nhwc = o->layout == DLM_RT_LAYOUT_NHWC ||
               (o->layout == DLM_RT_LAYOUT_AUTO && o->dtype == DLM_RT_BF16);
    if (o->dtype == DLM_RT_BF16) {
        rt->dt = DLM_K_BF16;
        rt->fsize = 2;
        rt->cuda_dt = CUDA_R_16BF;
        rt->cudnn_dt = CUDNN_DATA_BFLOAT16;
        rt->compute = CUBLAS_COMPUTE_32F;
        rt->conv_math = CUDNN_TENSOR_OP_MATH;
    } else {
        rt->dt = DLM_K_F32;
        rt->fsize = 4;
        rt->cuda_dt = CUDA_R_32F;
        rt->cudnn_dt = CUDNN_DATA_FLOAT;
        rt->compute = o->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
        rt->conv_math = o->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    }
    DLM_GO(alloc_tables(rt));
    DLM_GO(dlm_liveness_infer(g, &rt->live));

    DLM_GO(dlm_gpu_used(&u0));
    rt->over.context = u0;
    DLM_CUDA_GO(cudaStreamCreateWithFlags(&rt->stream, cudaStreamNonBlocking));
    DLM_CUDNN_GO(cudnnCreate(&rt->dnn));
    DLM_GO(dlm_gpu_used(&u1));
    rt->over.cudnn_handle = u1 - u0;
    DLM_CUBLAS_GO(cublasCreate(&rt->blas));
    DLM_CUBLAS_GO(cublasLtCreate(&rt->lt));
    DLM_GO(dlm_gpu_used(&u0));
    rt->over.cublas_handle = u0 - u1;
    DLM_CUDNN_GO(cudnnSetStream(rt->dnn, rt->stream));
    DLM_CUBLAS_GO(cublasSetStream(rt->blas, rt->stream));
    DLM_CUDNN_GO(cudnnCreateActivationDescriptor(&rt->relu));
    DLM_CUDNN_GO(cudnnSetActivationDescriptor(rt->relu, CUDNN_ACTIVATION_RELU,
                                              CUDNN_NOT_PROPAGATE_NAN, 0.0));

    DLM_GO(dlm_devmem_init(&rt->mem, o->device, rt->stream, o->mem_limit));
    /* The cuBLAS workspace is ours: set after cublasSetStream, which resets it. */
    rt->cublas_ws_bytes = CUBLAS_WORKSPACE_BYTES;
    DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)rt->cublas_ws_bytes, DLM_MK_WORKSPACE,
                            "cublas_workspace", &rt->cublas_ws));
    DLM_CUBLAS_GO(cublasSetWorkspace(rt->blas, rt->cublas_ws, (size_t)rt->cublas_ws_bytes));
    DLM_CUBLAS_GO(cublasSetPointerMode(rt->blas, CUBLAS_POINTER_MODE_HOST));
    DLM_GO(alloc_weights(rt));
    *out = rt;
    return DLM_OK;
fail:
    dlm_rt_free(rt);
    return st;
}

void dlm_rt_free(dlm_rt *rt)
{
    if (!rt) return;
    if (rt->stream) (void)cudaStreamSynchronize(rt->stream);
    dlm_rt_unprepare(rt);
    for (int o = 0; rt->ops && o < rt->g->n_ops; o++) {
        rt_cudnn_op_destroy(rt, o);
        if (rt->g->ops[o].kind == DLM_OP_RNN) rt_rnn_destroy(rt, o);
        if (rt->g->ops[o].kind == DLM_OP_LINEAR || rt->g->ops[o].kind == DLM_OP_MHA)
            rt_linear_destroy(rt, o);
    }
    dlm_devmem_destroy(&rt->mem);
    if (rt->relu) cudnnDestroyActivationDescriptor(rt->relu);
    if (rt->lt) cublasLtDestroy(rt->lt);
    if (rt->blas) cublasDestroy(rt->blas);
    if (rt->dnn) cudnnDestroy(rt->dnn);
    if (rt->stream) cudaStreamDestroy(rt->stream);
    dlm_liveness_free(rt->live);
    free(rt->t);
    free(rt->ops);
    free(rt->owner);
    free(rt->slot);
    free(rt->ids_bound);
    free(rt->live_bytes);
    free(rt);
}

/* ---- weights ---------------------------------------------------------------- */

static dlm_status upload_param(dlm_rt *rt, int t, const float *host)
{
    int o = rt->owner[t];
    if (o >= 0 && rt->g->ops[o].kind == DLM_OP_RNN) return rt_rnn_upload(rt, o, rt->slot[t], host);
    if (rt->nhwc && o >= 0 && rt->slot[t] == 0 &&
        (rt->g->ops[o].kind == DLM_OP_CONV2D || rt->g->ops[o].kind == DLM_OP_CONVT2D)) {
        /* a channels-last filter: (K, C, R, S) -> (K, R, S, C) */
        const rt_tensor *w = &rt->t[t];
        int64_t K = w->dims[0], C = w->dims[1], RS = w->dims[2] * w->dims[3];
        float *v = malloc((size_t)(w->numel ? w->numel : 1) * sizeof *v);
        if (!v) return dlm_error(DLM_ENOMEM, "out of memory");
        for (int64_t k = 0; k < K; k++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t r = 0; r < RS; r++) v[(k * RS + r) * C + c] = host[(k * C + c) * RS + r];
        dlm_status st = rt_upload_float(rt, w->ptr, v, w->numel);
        free(v);
        return st;
    }
    return rt_upload_float(rt, rt->t[t].ptr, host, rt->t[t].numel);
}

/* int64 values that index an embedding table must lie in it. */
static dlm_status check_ids(const dlm_rt *rt, int t, const int64_t *v, int64_t n, const char *src)
{
    int64_t bound = rt->ids_bound[dlm_tensor_storage(rt->g, t)];
    if (!bound) return DLM_OK;
    for (int64_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] >= bound)
            return dlm_error(DLM_EINVAL, "%s: %s[%lld] = %lld is not a row of the %lld-row "
                             "embedding table it indexes", src, rt->g->tensors[t].name,
                             (long long)i, (long long)v[i], (long long)bound);
    return DLM_OK;
}

dlm_status dlm_rt_load_weights(dlm_rt *rt, const dlm_tensorfile *f)
{
    const dlm_graph *g = rt->g;
    int n = g->n_params + g->n_buffers;
    if (f->n != n)
        return dlm_error(DLM_EINVAL, "%s: %d tensors, model %s has %d parameters and %d buffers",
                         f->path, f->n, g->name, g->n_params, g->n_buffers);
    for (int i = 0; i < n; i++) {
        int t = i < g->n_params ? g->params[i] : g->buffers[i - g->n_params];
        const dlm_tf_tensor *r = &f->t[i];
        const rt_tensor *x = &rt->t[t];
        char want[128], got[128];
        if (strcmp(r->name, g->tensors[t].name))
            return dlm_error(DLM_EINVAL, "%s: tensor %d is '%s', model %s expects '%s' there",
                             f->path, i, r->name, g->name, g->tensors[t].name);
        int same = r->ndim == x->ndim;
        for (int d = 0; same && d < x->ndim; d++) same = r->dims[d] == x->dims[d];
        dlm_tensor_shape_str(g, t, want, sizeof want);
        dlm_tf_shape_str(r, got, sizeof got);
        if (!same)
            return dlm_error(DLM_EINVAL, "%s: %s has shape %s, model %s expects %s", f->path,
                             r->name, got, g->name, want);
        int want_i64 = g->tensors[t].elem == DLM_EL_INT64;
        if (want_i64 != (r->dtype == DLM_TF_I64))
            return dlm_error(DLM_EINVAL, "%s: %s is %s, model %s expects %s", f->path, r->name,
                             r->dtype == DLM_TF_I64 ? "int64" : "float32", g->name,
                             want_i64 ? "int64" : "float32");
        if (want_i64) {
            DLM_TRY(check_ids(rt, t, r->data, r->numel, f->path));
            DLM_TRY(upload_i64(rt, x->ptr, r->data, r->numel));
        } else {
            DLM_TRY(upload_param(rt, t, r->data));
        }
    }
    return DLM_OK;
}

/* Value rule for a float parameter or buffer (see dlm_rt_init_weights). */
static void init_values(const dlm_rt *rt, int t, float *v, int64_t n, uint64_t *rng)
{
    const dlm_graph *g = rt->g;
    int o = rt->owner[t], slot = rt->slot[t];
    const dlm_op *op = o >= 0 ? &g->ops[o] : NULL;
    int is_buf = g->tensors[t].role == DLM_ROLE_BUFFER;
    double bound = 0.05, fill = 0.0;
    int constant = 0;
    if (op) switch (op->kind) {
        case DLM_OP_CONV2D:
            bound = 1.0 / sqrt((double)op->a.conv.cin * op->a.conv.kh * op->a.conv.kw);
            break;
        case DLM_OP_CONVT2D: /* the fan-in of its weight's dim 1 (PyTorch's reset_parameters) */
            bound = 1.0 / sqrt((double)op->a.conv.cout / op->a.conv.groups * op->a.conv.kh *
                               op->a.conv.kw);
            break;
        case DLM_OP_LINEAR: bound = 1.0 / sqrt((double)op->a.linear.in); break;
        case DLM_OP_RNN: bound = 1.0 / sqrt((double)op->a.rnn.hidden); break;
        case DLM_OP_EMBEDDING: bound = 0.02 * sqrt(3.0); break;
        case DLM_OP_BATCHNORM2D:
        case DLM_OP_LAYERNORM:
            constant = 1; /* weight / running_var 1, bias / running_mean 0 */
            fill = is_buf ? (slot == 1 ? 1.0 : 0.0) : (slot == 0 ? 1.0 : 0.0);
            break;
        case DLM_OP_RMSNORM:
            constant = 1;
            fill = 1.0;
            break;
        case DLM_OP_ROTARY: /* inv_freq (and its original): theta^(-2j/d), the default rope */
            for (int64_t i = 0; i < n; i++)
                v[i] = (float)(1.0 / pow(op->a.rotary.theta, 2.0 * (double)i / op->a.rotary.head_dim));
            return;
        default: break;
        }
    if (is_buf && !constant) {
        constant = 1;
        fill = 0.0;
    }
    for (int64_t i = 0; i < n; i++)
        v[i] = constant ? (float)fill : (float)((2.0 * rng_uniform(rng) - 1.0) * bound);
}

dlm_status dlm_rt_init_weights(dlm_rt *rt, uint64_t seed)
{
    const dlm_graph *g = rt->g;
    uint64_t rng = seed;
    dlm_status st = DLM_OK;
    for (int i = 0; i < g->n_params + g->n_buffers && st == DLM_OK; i++) {
        int t = i < g->n_params ? g->params[i] : g->buffers[i - g->n_params];
        const rt_tensor *x = &rt->t[t];
        void *h = malloc((size_t)(x->numel ? x->numel : 1) * 8);
        if (!h) return dlm_error(DLM_ENOMEM, "out of memory");
        if (g->tensors[t].elem == DLM_EL_INT64) {
            /* ids along the last dimension (position ids 0..n-1), kept inside
             * the table they index; other int64 buffers (counters) 0. */
            int64_t *v = h, last = x->ndim ? x->dims[x->ndim - 1] : 1;
            int64_t bound = rt->ids_bound[dlm_tensor_storage(g, t)];
            for (int64_t k = 0; k < x->numel; k++) v[k] = bound ? (k % last) % bound : 0;
            st = upload_i64(rt, x->ptr, v, x->numel);
        } else {
            init_values(rt, t, h, x->numel, &rng);
            st = upload_param(rt, t, h);
        }
        free(h);
    }
    return st;
}

/* ---- the point (B, T) ------------------------------------------------------ */

/* Shapes of every non-constant tensor at (B, T), and the views' strides and
 * offsets, derived in op order from what each op makes. */
static dlm_status derive_shapes(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    for (int t = 0; t < g->n_tensors; t++) {
        const dlm_tensor *x = &g->tensors[t];
        rt_tensor *r = &rt->t[t];
        if (x->role == DLM_ROLE_PARAM || x->role == DLM_ROLE_BUFFER) continue;
        r->ndim = x->ndim;
        r->numel = 1;
        r->offset = 0;
        for (int i = x->ndim - 1; i >= 0; i--) {
            r->dims[i] = dlm_poly_eval(&x->shape[i], rt->B, rt->T);
            if (r->dims[i] <= 0)
                return dlm_error(DLM_ERANGE, "%s: dimension %d is %lld at B=%lld T=%lld",
                                 x->name, i, (long long)r->dims[i], (long long)rt->B,
                                 (long long)rt->T);
            r->strides[i] = r->numel;
            r->numel *= r->dims[i];
        }
    }
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        for (int k = 0; k < op->n_out; k++) {
            int t = op->out[k];
            if (g->tensors[t].alias_of < 0) continue;
            rt_tensor *y = &rt->t[t];
            const rt_tensor *x = &rt->t[op->in[0]];
            y->offset = x->offset;
            switch (op->kind) {
            case DLM_OP_RELU:
            case DLM_OP_RELU6:
            case DLM_OP_HARDSWISH:
            case DLM_OP_SILU:
            case DLM_OP_MUL:
            case DLM_OP_DROPOUT: /* in place: inference leaves x as it is */
            case DLM_OP_ADD: /* in place: x's layout */
                memcpy(y->strides, x->strides, sizeof y->strides);
                break;
            case DLM_OP_FLATTEN:
                if (!rt_contiguous(x))
                    return dlm_error(DLM_EUNSUPPORTED, "%s: flatten of a strided view",
                                     op->name);
                break; /* contiguous strides set above */
            case DLM_OP_SELECT: {
                int d = op->a.select.dim;
                int64_t idx = op->a.select.index < 0 ? op->a.select.index + x->dims[d]
                                                     : op->a.select.index;
                if (idx < 0 || idx >= x->dims[d])
                    return dlm_error(DLM_ERANGE, "%s: index %d outside dimension %d (size %lld)",
                                     op->name, op->a.select.index, d, (long long)x->dims[d]);
                y->offset += idx * x->strides[d];
                for (int i = 0, j = 0; i < x->ndim; i++)
                    if (i != d) y->strides[j++] = x->strides[i];
                break;
            }
            case DLM_OP_SLICE: /* [start, start + len) of dimension dim */
                memcpy(y->strides, x->strides, sizeof y->strides);
                y->offset += (int64_t)op->a.slice.start * x->strides[op->a.slice.dim];
                break;
            case DLM_OP_PATCH_TOKENS: /* (B, C, H, W) -> (B, H*W, C): flatten(2).transpose(1, 2) */
                if (x->strides[2] != x->dims[3] * x->strides[3])
                    return dlm_error(DLM_EUNSUPPORTED, "%s: patch tokens of a strided view",
                                     op->name);
                y->strides[0] = x->strides[0];
                y->strides[1] = x->strides[3];
                y->strides[2] = x->strides[1];
                break;
            case DLM_OP_VIEW:
                for (int i = 0; i < y->ndim; i++) {
                    if (y->dims[i] == x->dims[i] || y->dims[i] < x->dims[i])
                        y->strides[i] = x->strides[i];
                    else if (x->dims[i] == 1)
                        y->strides[i] = 0;
                    else
                        return dlm_error(DLM_ERANGE, "%s: dimension %d is %lld at this point, "
                                         "larger than %lld in %s", op->name, i,
                                         (long long)y->dims[i], (long long)x->dims[i],
                                         g->tensors[op->in[0]].name);
                }
                break;
            default:
                return dlm_error(DLM_EUNSUPPORTED, "%s: the runtime cannot make a view with "
                                 "op %s", op->name, dlm_op_kind_name(op->kind));
            }
        }
    }
    return DLM_OK;
}

/* Which 4-d activations are channels-last at the point (see runtime.h's
 * Layout), in op order; a view the channels-last layout cannot serve is an
 * error naming the op. */
static dlm_status derive_layouts(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    for (int t = 0; t < g->n_tensors; t++) rt->t[t].nhwc = 0;
    if (!rt->nhwc) return DLM_OK;
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        const rt_tensor *x = op->n_in ? &rt->t[op->in[0]] : NULL;
        int in = x && x->nhwc, out = 0;
        switch (op->kind) {
        case DLM_OP_CONV2D:
        case DLM_OP_CONVT2D: out = 1; break;
        case DLM_OP_UPSAMPLE:
        case DLM_OP_BATCHNORM2D:
        case DLM_OP_RELU:
        case DLM_OP_RELU6:
        case DLM_OP_HARDSWISH:
        case DLM_OP_SILU:
        case DLM_OP_SIGMOID:
        case DLM_OP_STOCHASTIC_DEPTH:
        case DLM_OP_AVGPOOL2D:
        case DLM_OP_MAXPOOL2D: out = in; break;
        case DLM_OP_MUL: { /* x * a gate of one value per (n, c): its layout is x's */
            const rt_tensor *b = &rt->t[op->in[1]];
            if (b->nhwc != in && !(b->ndim == 4 && b->dims[2] * b->dims[3] == 1))
                return dlm_error(DLM_EUNSUPPORTED, "%s: multiplies a channels-last and an NCHW "
                                 "tensor (--layout nchw runs it)", op->name);
            out = in;
            break;
        }
        case DLM_OP_CONCAT:
            for (int i = 1; i < op->n_in; i++)
                if (rt->t[op->in[i]].nhwc != in)
                    return dlm_error(DLM_EUNSUPPORTED, "%s: concatenates channels-last and NCHW "
                                     "tensors (--layout nchw runs it)", op->name);
            out = in;
            break;
        case DLM_OP_ADD:
            if (in != rt->t[op->in[1]].nhwc)
                return dlm_error(DLM_EUNSUPPORTED, "%s: adds a channels-last and an NCHW tensor "
                                 "(--layout nchw runs it)", op->name);
            out = in;
            break;
        case DLM_OP_AVGPOOL2D_ADAPTIVE: out = 0; break; /* writes NCHW */
        case DLM_OP_PATCH_TOKENS:
            if (in) { /* (B, H, W, C) stored: the tokens (B, H*W, C) are contiguous */
                rt_tensor *y = &rt->t[op->out[0]];
                y->strides[2] = 1;
                y->strides[1] = x->dims[1];
                y->strides[0] = x->dims[1] * x->dims[2] * x->dims[3];
            }
            out = 0;
            break;
        case DLM_OP_FLATTEN:
            if (in && x->dims[2] * x->dims[3] != 1)
                return dlm_error(DLM_EUNSUPPORTED, "%s: flattens a channels-last tensor with "
                                 "H x W = %lld x %lld (--layout nchw runs it)", op->name,
                                 (long long)x->dims[2], (long long)x->dims[3]);
            out = 0;
            break;
        default:
            for (int i = 0; i < op->n_in; i++)
                if (rt->t[op->in[i]].nhwc)
                    return dlm_error(DLM_EUNSUPPORTED, "%s (%s) reads a channels-last tensor "
                                     "(--layout nchw runs it)", op->name,
                                     dlm_op_kind_name(op->kind));
            break;
        }
        for (int k = 0; k < op->n_out; k++) rt->t[op->out[k]].nhwc = out && rt->t[op->out[k]].ndim == 4;
    }
    return DLM_OK;
}

void dlm_rt_unprepare(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    if (!rt->t) return;
    (void)cudaStreamSynchronize(rt->stream);
    for (int t = 0; t < g->n_tensors; t++) {
        const dlm_tensor *x = &g->tensors[t];
        if ((x->role == DLM_ROLE_ACT || x->role == DLM_ROLE_INPUT) && rt->t[t].ptr &&
            rt->t[t].storage == t) {
            (void)dlm_devmem_free(&rt->mem, rt->t[t].ptr);
            rt->t[t].ptr = NULL;
        }
    }
    for (int o = 0; rt->ops && o < g->n_ops; o++) {
        if (g->ops[o].kind == DLM_OP_RNN) rt_rnn_unprepare(rt, o);
        if (g->ops[o].kind == DLM_OP_CONV2D || g->ops[o].kind == DLM_OP_CONVT2D)
            rt_conv_unprepare(rt, o);
    }
    if (rt->conv_ws) (void)dlm_devmem_free(&rt->mem, rt->conv_ws);
    rt->conv_ws = NULL;
    rt->conv_ws_bytes = 0;
    rt->conv_transient_max = 0;
    (void)cudaStreamSynchronize(rt->stream);
    rt->prepared = 0;
}

dlm_status dlm_rt_prepare(dlm_rt *rt, int64_t B, int64_t T)
{
    const dlm_graph *g = rt->g;
    dlm_status st;
    if (rt->prepared) dlm_rt_unprepare(rt);
    if (B < 1) return dlm_error(DLM_ERANGE, "batch %lld: must be at least 1", (long long)B);
    if (g->uses_T && (T < 1 || (g->max_T && T > g->max_T)))
        return dlm_error(DLM_ERANGE, "seq %lld: model %s takes 1 to %lld", (long long)T, g->name,
                         (long long)(g->max_T ? g->max_T : INT64_MAX));
    rt->B = B;
    rt->T = g->uses_T ? T : 1;
    DLM_TRY(derive_shapes(rt));
    DLM_TRY(derive_layouts(rt));
    DLM_TRY(dlm_plan_live_bytes(g, rt->live, rt->B, rt->T, rt->opt.dtype, rt->live_bytes,
                                &rt->plan_peak));
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)rt->t[t].numel * rt->t[t].esize, DLM_MK_INPUTS,
                                g->tensors[t].name, &rt->t[t].ptr));
    }
    size_t conv_ws = 0;
    for (int o = 0; o < g->n_ops; o++) {
        switch (g->ops[o].kind) {
        case DLM_OP_CONV2D:
        case DLM_OP_CONVT2D: {
            /* what it may allocate around itself: below the plan's headroom
             * here, so that the peak stays the plan's (plan.h) */
            int64_t room = rt->plan_peak - rt->live_bytes[o] - 1;
            const rt_conv *c = &rt->ops[o].conv;
            DLM_GO(rt_conv_prepare(rt, o, (size_t)(room > 0 ? room : 0)));
            if (c->pick.ws > conv_ws) conv_ws = c->pick.ws;
            int64_t around =
                (int64_t)(c->in_copy + (rt->conv_transient && !c->ws_shared ? c->pick.ws : 0));
            if (around > rt->conv_transient_max) rt->conv_transient_max = around;
            break;
        }
        case DLM_OP_BATCHNORM2D:
        case DLM_OP_MAXPOOL2D:
        case DLM_OP_AVGPOOL2D:
        case DLM_OP_AVGPOOL2D_ADAPTIVE:
        case DLM_OP_RELU: DLM_GO(rt_nd_prepare(rt, o)); break;
        case DLM_OP_RNN: DLM_GO(rt_rnn_prepare(rt, o)); break;
        case DLM_OP_LINEAR: DLM_GO(rt_linear_prepare(rt, o)); break;
        case DLM_OP_MHA: DLM_GO(rt_mha_prepare(rt, o)); break;
        default: break;
        }
    }
    if (conv_ws && !rt->conv_transient) {
        rt->conv_ws_bytes = (int64_t)conv_ws;
        DLM_GO(dlm_devmem_alloc(&rt->mem, conv_ws, DLM_MK_WORKSPACE, "cudnn_conv_workspace",
                                &rt->conv_ws));
    }
    DLM_CUDA_GO(cudaStreamSynchronize(rt->stream));
    rt->prepared = 1;
    return DLM_OK;
fail:
    dlm_rt_unprepare(rt);
    return st;
}

dlm_status dlm_rt_set_input(dlm_rt *rt, int i, const void *host, int64_t numel)
{
    const dlm_graph *g = rt->g;
    if (!rt->prepared) return dlm_error(DLM_EINTERNAL, "set_input before prepare");
    if (i < 0 || i >= g->n_inputs) return dlm_error(DLM_EINVAL, "model %s has no input %d", g->name, i);
    int t = g->inputs[i];
    if (numel != rt->t[t].numel)
        return dlm_error(DLM_EINVAL, "input %s: %lld values given, %lld expected at B=%lld T=%lld",
                         g->tensors[t].name, (long long)numel, (long long)rt->t[t].numel,
                         (long long)rt->B, (long long)rt->T);
    if (g->tensors[t].elem == DLM_EL_INT64) {
        DLM_TRY(check_ids(rt, t, host, numel, "input"));
        return upload_i64(rt, rt->t[t].ptr, host, numel);
    }
    return rt_upload_float(rt, rt->t[t].ptr, host, numel);
}

dlm_status dlm_rt_random_inputs(dlm_rt *rt, uint64_t seed)
{
    const dlm_graph *g = rt->g;
    uint64_t rng = seed;
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        int64_t n = rt->t[t].numel;
        dlm_status st;
        if (g->tensors[t].elem == DLM_EL_INT64) {
            int64_t *v = malloc((size_t)n * 8), bound = rt->ids_bound[t] ? rt->ids_bound[t] : 1;
            if (!v) return dlm_error(DLM_ENOMEM, "out of memory");
            for (int64_t k = 0; k < n; k++) v[k] = (int64_t)(rng_next(&rng) % (uint64_t)bound);
            st = dlm_rt_set_input(rt, i, v, n);
            free(v);
        } else {
            float *v = malloc((size_t)n * 4);
            if (!v) return dlm_error(DLM_ENOMEM, "out of memory");
            for (int64_t k = 0; k < n; k++) v[k] = (float)(2.0 * rng_uniform(&rng) - 1.0);
            st = dlm_rt_set_input(rt, i, v, n);
            free(v);
        }
        DLM_TRY(st);
    }
    return DLM_OK;
}

/* ---- the forward pass -------------------------------------------------------- */

static dlm_status run_op(dlm_rt *rt, int o)
{
    if (rt->ops[o].fused) return DLM_OK; /* done by the op before it */
    if (rt->g->ops[o].train_only) return DLM_OK; /* the loss: a training step's */
    switch (rt->g->ops[o].kind) {
    case DLM_OP_CONV2D:
    case DLM_OP_CONVT2D: return rt_conv_run(rt, o);
    case DLM_OP_UPSAMPLE: return rt_upsample_run(rt, o);
    case DLM_OP_BATCHNORM2D: return rt_batchnorm_run(rt, o);
    case DLM_OP_RELU: return rt_relu_run(rt, o);
    case DLM_OP_MAXPOOL2D:
    case DLM_OP_AVGPOOL2D:
    case DLM_OP_AVGPOOL2D_ADAPTIVE: return rt_pool_run(rt, o);
    case DLM_OP_MUL: return rt_mul_run(rt, o);
    case DLM_OP_CONCAT: return rt_concat_run(rt, o);
    case DLM_OP_STOCHASTIC_DEPTH: return rt_copy_run(rt, o);
    case DLM_OP_ADD: return rt_add_run(rt, o);
    case DLM_OP_FLATTEN:
    case DLM_OP_SELECT:
    case DLM_OP_VIEW: return DLM_OK; /* views: nothing to compute */
    case DLM_OP_LINEAR: return rt_linear_run(rt, o);
    case DLM_OP_RNN: return rt_rnn_run(rt, o);
    case DLM_OP_EMBEDDING: return rt_embedding_run(rt, o);
    case DLM_OP_LAYERNORM: return rt_layernorm_run(rt, o);
    case DLM_OP_DROPOUT: return rt_dropout_run(rt, o);
    case DLM_OP_RELU6:
    case DLM_OP_HARDSWISH:
    case DLM_OP_SILU:
    case DLM_OP_SIGMOID:
    case DLM_OP_GELU:
    case DLM_OP_TANH: return rt_unary_run(rt, o);
    case DLM_OP_SOFTMAX: return rt_softmax_run(rt, o);
    case DLM_OP_ATTENTION: return rt_attention_run(rt, o);
    case DLM_OP_MHA: return rt_mha_run(rt, o);
    case DLM_OP_RMSNORM: return rt_rmsnorm_run(rt, o);
    case DLM_OP_ROTARY: return rt_rotary_run(rt, o);
    case DLM_OP_ROPE: return rt_rope_run(rt, o);
    case DLM_OP_INDEX: return rt_index_run(rt, o);
    case DLM_OP_SLICE:
    case DLM_OP_PATCH_TOKENS: return DLM_OK; /* views */
    default: break; /* refused by dlm_rt_create (runs_op) */
    }
    return dlm_error(DLM_EUNSUPPORTED, "op %s: kind %d is not supported by the runtime",
                     rt->g->ops[o].name, (int)rt->g->ops[o].kind);
}

/* Frees every activation storage still allocated (after a failure). */
static void free_activations(dlm_rt *rt)
{
    for (int t = 0; t < rt->g->n_tensors; t++)
        if (rt->g->tensors[t].role == DLM_ROLE_ACT && rt->t[t].storage == t && rt->t[t].ptr) {
            (void)dlm_devmem_free(&rt->mem, rt->t[t].ptr);
            rt->t[t].ptr = NULL;
        }
}

dlm_status dlm_rt_forward(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    const dlm_liveness *l = rt->live;
    dlm_status st = DLM_OK;
    int o = 0;
    if (!rt->prepared) return dlm_error(DLM_EINTERNAL, "forward before prepare");
    for (o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        rt->mem.op = o;
        for (int k = l->born_start[o]; k < l->born_start[o + 1]; k++) {
            int t = l->born[k];
            if (rt->t[t].ptr) {
                st = dlm_error(DLM_EINTERNAL, "%s is born twice (outputs not released?)",
                               g->tensors[t].name);
                goto fail;
            }
            DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)rt->t[t].numel * rt->t[t].esize,
                                    DLM_MK_ACT, g->tensors[t].name, &rt->t[t].ptr));
        }
        for (int i = 0; i < op->n_in; i++)
            if (!rt_ptr(rt, op->in[i])) {
                st = dlm_error(DLM_EINTERNAL, "op %s reads %s, which is not allocated (liveness "
                               "plan broken)", op->name, g->tensors[op->in[i]].name);
                goto fail;
            }
        DLM_GO(run_op(rt, o));
        /* a batchnorm that ran its activation: its own output is gone */
        if (rt->hook && !(o + 1 < g->n_ops && rt->ops[o + 1].fused))
            DLM_GO(rt->hook(rt, o, rt->hook_ctx));
        for (int k = l->dies_start[o]; k < l->dies_start[o + 1]; k++) {
            int t = l->dies[k];
            DLM_GO(dlm_devmem_free(&rt->mem, rt->t[t].ptr));
            rt->t[t].ptr = NULL;
        }
    }
    rt->mem.op = -1;
    return DLM_OK;
fail:
    rt->mem.op = -1;
    (void)cudaStreamSynchronize(rt->stream);
    (void)cudaGetLastError();
    free_activations(rt);
    return dlm_error_context(st, "%s, op %s", g->name, g->ops[o].name);
}

dlm_status dlm_rt_release_outputs(dlm_rt *rt)
{
    const dlm_graph *g = rt->g;
    for (int i = 0; i < g->n_outputs + g->n_cache; i++) { /* and the KV cache */
        int s = dlm_tensor_storage(g, i < g->n_outputs ? g->outputs[i]
                                                       : g->cache[i - g->n_outputs]);
        if (g->tensors[s].role == DLM_ROLE_ACT && rt->t[s].ptr) {
            DLM_TRY(dlm_devmem_free(&rt->mem, rt->t[s].ptr));
            rt->t[s].ptr = NULL;
        }
    }
    return DLM_OK;
}

/* ---- reading -------------------------------------------------------------------- */

/* A channels-last tensor read back, reordered in place to NCHW. */
static dlm_status nhwc_to_nchw(float *v, const rt_tensor *x)
{
    int64_t N = x->dims[0], C = x->dims[1], HW = x->dims[2] * x->dims[3];
    float *t = malloc((size_t)(x->numel ? x->numel : 1) * sizeof *t);
    if (!t) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < HW; p++)
            for (int64_t c = 0; c < C; c++) t[(n * C + c) * HW + p] = v[(n * HW + p) * C + c];
    memcpy(v, t, (size_t)x->numel * sizeof *t);
    free(t);
    return DLM_OK;
}

dlm_status dlm_rt_read_tensor(dlm_rt *rt, int t, float *host, int64_t n)
{
    const rt_tensor *x = &rt->t[t];
    void *p = rt_ptr(rt, t);
    if (rt->g->tensors[t].elem != DLM_EL_FLOAT)
        return dlm_error(DLM_EUNSUPPORTED, "%s: reading int64 tensors", rt->g->tensors[t].name);
    if (!p) return dlm_error(DLM_EINTERNAL, "%s is not allocated now", rt->g->tensors[t].name);
    if (!rt_contiguous(x))
        return dlm_error(DLM_EUNSUPPORTED, "%s: reading a strided view", rt->g->tensors[t].name);
    if (n != x->numel)
        return dlm_error(DLM_EINVAL, "%s: %lld elements, %lld asked", rt->g->tensors[t].name,
                         (long long)x->numel, (long long)n);
    if (rt->dt == DLM_K_F32) {
        DLM_CUDA(cudaMemcpyAsync(host, p, (size_t)n * 4, cudaMemcpyDeviceToHost, rt->stream));
        DLM_CUDA(cudaStreamSynchronize(rt->stream));
        return x->nhwc ? nhwc_to_nchw(host, x) : DLM_OK;
    }
    uint16_t *h = malloc((size_t)(n ? n : 1) * 2);
    if (!h) return dlm_error(DLM_ENOMEM, "out of memory");
    cudaError_t e = cudaMemcpyAsync(h, p, (size_t)n * 2, cudaMemcpyDeviceToHost, rt->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(rt->stream);
    for (int64_t i = 0; e == cudaSuccess && i < n; i++) host[i] = bf16_to_f32(h[i]);
    free(h);
    if (e != cudaSuccess) return dlm_cuda_fail(e, "cudaMemcpyAsync", __FILE__, __LINE__);
    return x->nhwc ? nhwc_to_nchw(host, x) : DLM_OK;
}

int64_t dlm_rt_numel(const dlm_rt *rt, int t) { return rt->t[t].numel; }

void dlm_rt_op_detail(const dlm_rt *rt, int o, char *buf, size_t n)
{
    const rt_op *r = &rt->ops[o];
    switch (rt->g->ops[o].kind) {
    case DLM_OP_CONV2D:
    case DLM_OP_CONVT2D: {
        const rt_conv_cand *k = &r->conv.pick;
        const char *where = !rt->conv_transient ? "" : r->conv.ws_shared ? " shared" : " transient";
        char how[32];
        if (k->gemm) snprintf(how, sizeof how, "gemm");
        else if (k->dgrad) snprintf(how, sizeof how, "bwd-data-algo=%d", (int)k->dalgo);
        else if (k->plan) snprintf(how, sizeof how, "engine=%lld", (long long)k->engine);
        else snprintf(how, sizeof how, "algo=%d", (int)k->algo);
        snprintf(buf, n, "%s rank=%d/%d ws=%zu%s%s", how, k->rank, k->of, k->ws, where,
                 rt->nhwc ? " nhwc" : "");
        break;
    }
    case DLM_OP_LINEAR: snprintf(buf, n, "%s", r->lin.use_lt ? "lt" : "gemmex"); break;
    case DLM_OP_RNN:
        snprintf(buf, n, "%s ws=%zu%s", r->rnn.padded ? "unpacked/padded-io" : "packed",
                 r->rnn.work_bytes, r->rnn.exec ? " graph" : "");
        break;
    case DLM_OP_BATCHNORM2D:
        snprintf(buf, n, "%s", r->nd.act != DLM_K_ACT_NONE ? "+activation (fused)" : "");
        break;
    default: snprintf(buf, n, "%s", r->fused ? "(fused into the batchnorm)" : ""); break;
    }
}
const dlm_graph *dlm_rt_graph(const dlm_rt *rt) { return rt->g; }
cudaStream_t dlm_rt_stream(const dlm_rt *rt) { return rt->stream; }
dlm_devmem *dlm_rt_devmem(dlm_rt *rt) { return &rt->mem; }

void dlm_rt_set_hook(dlm_rt *rt, dlm_rt_hook hook, void *ctx)
{
    rt->hook = hook;
    rt->hook_ctx = ctx;
}

void dlm_rt_workspaces_get(const dlm_rt *rt, dlm_rt_workspaces *w)
{
    memset(w, 0, sizeof *w);
    w->cublas = rt->cublas_ws_bytes;
    w->cudnn_conv = rt->conv_ws_bytes;
    w->cudnn_conv_transient_max = rt->conv_transient_max;
    for (int o = 0; o < rt->g->n_ops; o++)
        if (rt->g->ops[o].kind == DLM_OP_RNN) {
            w->cudnn_rnn += rt->ops[o].rnn.work ? (int64_t)rt->ops[o].rnn.work_bytes : 0;
            w->cudnn_rnn_reserve += 0; /* inference keeps no reserve */
            w->rnn_seq_lengths += rt->ops[o].rnn.seq_dev ? (int64_t)rt->ops[o].rnn.seq_bytes : 0;
        }
}

void dlm_rt_overhead_get(const dlm_rt *rt, dlm_rt_overhead *o) { *o = rt->over; }

const char *dlm_rt_layout_name(const dlm_rt *rt)
{
    for (int o = 0; o < rt->g->n_ops; o++)
        if (rt->g->ops[o].kind == DLM_OP_CONV2D || rt->g->ops[o].kind == DLM_OP_CONVT2D)
            return rt->nhwc ? "nhwc" : "nchw";
    return "";
}
