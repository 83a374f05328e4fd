/* ops_cudnn.c — the ops the runtime runs through cuDNN: convolution (as
 * PyTorch's cross-correlation), batchnorm inference, pooling and ReLU.
 *
 * Convolution: descriptors at create; shapes and the way it runs per point.
 * Candidates come from three places (--conv-api): the legacy algorithms of
 * cudnnConvolutionForward (timed by cudnnFindConvolutionForwardAlgorithmEx
 * or ranked by _v7), the graph API's engines (conv_engines.c: every engine
 * config cuDNN's heuristics offer, built into execution plans) and, for
 * NCHW ungrouped convs, dlmem's own im2col kernel + one cublasLt GEMM (+ a
 * transpose to NCHW when B > 1), whose columns count as its workspace: in
 * exact fp32 at small B cuBLAS splits the long CRS reduction across the GPU
 * where cuDNN 9.14's FMA kernels leave most SMs idle (ResNet-18's layer4
 * 3x3 convs at B=4 on an H100: 80 us against 150).  Only
 * candidates that fit the mode (exact fp32: FMA math, no TF32, no
 * down-conversion) and whose workspace fits the conv's bound are kept; with
 * --conv-algo search (the default) each is run on scratch buffers and timed
 * (median of RT_CONV_TIMED runs), and the fastest is taken; with heuristic,
 * the graph API's best ranked (else the legacy ranking's first).
 * The bound (plan.h): with transient workspaces (the default), the larger of
 * the plan's headroom at the conv (P - L_o - 1, less the input's
 * channels-last copy) and the cuBLAS workspace.  A workspace that fits the
 * cuBLAS workspace runs in it (lent: cuBLAS and cuDNN run on the runtime's
 * one stream, never at once, and nothing lives in it between calls); a
 * larger one is allocated around the conv, inside the headroom.  Neither
 * adds a byte to the peak.  With --conv-workspace SIZE: the limit of the
 * one resident buffer (runtime.c allocates it).
 * Channels-last (bf16 by default, runtime.h): filter and tensors NHWC, and an
 * NCHW input copied to NHWC around the conv, the copy counted in its room.
 * bf16 batchnorm, pooling and ReLU use dlmem's kernels: PyTorch keeps bf16
 * statistics, which cuDNN's batchnorm does not take, and one kernel path per
 * dtype keeps them comparable.
 */
#include <stdlib.h>
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

/* A transposed convolution (nn.ConvTranspose2d) is the backward-data pass
 * of the convolution it transposes, as PyTorch runs it
 * (cudnn_convolution_transpose): that convolution maps the transposed one's
 * output (cout channels) to its input (cin channels), so its filter is
 * PyTorch's weight (cin, cout / groups, kh, kw) read as (K = cin, C = cout /
 * groups); cudnnConvolutionBackwardData takes the input as dy and writes the
 * output as dx.  The runtime runs it through the legacy API only (its
 * algorithms timed like a convolution's); output_padding changes the output
 * shape alone. */
static int transposed(const dlm_op *op) { return op->kind == DLM_OP_CONVT2D; }

dlm_status rt_conv_create(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    int t = transposed(op);
    DLM_CUDNN(cudnnCreateTensorDescriptor(&c->x));
    DLM_CUDNN(cudnnCreateTensorDescriptor(&c->y));
    DLM_CUDNN(cudnnCreateFilterDescriptor(&c->w));
    DLM_CUDNN(cudnnCreateConvolutionDescriptor(&c->conv));
    DLM_CUDNN(cudnnSetFilter4dDescriptor(c->w, rt->cudnn_dt,
                                         rt->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                         t ? op->a.conv.cin : op->a.conv.cout,
                                         (t ? op->a.conv.cout : op->a.conv.cin) / op->a.conv.groups,
                                         op->a.conv.kh, op->a.conv.kw));
    DLM_CUDNN(cudnnSetConvolution2dDescriptor(c->conv, op->a.conv.ph, op->a.conv.pw,
                                              op->a.conv.sh, op->a.conv.sw, op->a.conv.dh,
                                              op->a.conv.dw, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT));
    if (op->a.conv.groups > 1) DLM_CUDNN(cudnnSetConvolutionGroupCount(c->conv, op->a.conv.groups));
    DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, rt->conv_math));
    if (op->a.conv.bias && rt->dt == DLM_K_F32) { /* bf16: a kernel adds it */
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

/* The buffers a search runs on: scratch input and output (the activations
 * do not exist yet) and a workspace, the cuBLAS workspace where it is large
 * enough, else a scratch one.  All through the tracking allocator, freed
 * before any measured pass. */
typedef struct conv_scratch {
    void *x, *y, *ws;
    int ws_own;
} conv_scratch;

static dlm_status scratch_ws(dlm_rt *rt, conv_scratch *s, size_t bytes)
{
    if (s->ws_own) {
        DLM_TRY(dlm_devmem_free(&rt->mem, s->ws));
        s->ws = NULL;
        s->ws_own = 0;
    }
    if (bytes <= (size_t)rt->cublas_ws_bytes) {
        s->ws = bytes ? rt->cublas_ws : NULL;
        return DLM_OK;
    }
    DLM_TRY(dlm_devmem_alloc(&rt->mem, bytes, DLM_MK_SCRATCH, "conv algorithm search (ws)",
                             &s->ws));
    s->ws_own = 1;
    return DLM_OK;
}

static dlm_status scratch_free(dlm_rt *rt, conv_scratch *s, dlm_status st)
{
    void *own[3] = {s->ws_own ? s->ws : NULL, s->y, s->x};
    for (int i = 0; i < 3; i++) rt_scratch_free(rt, own[i], &st);
    memset(s, 0, sizeof *s);
    return st;
}

/* The legacy algorithms that fit the mode and the bound, best first (timed
 * by cudnnFindConvolutionForwardAlgorithmEx on the scratch buffers, or
 * cuDNN's _v7 ranking), at most RT_CONV_MAX_LEGACY; *smallest gets the one
 * with the least workspace that fits the mode, whatever the bound. */
static dlm_status legacy_cands(dlm_rt *rt, int o, conv_scratch *s, rt_conv_cand *out, int *n,
                               rt_conv_cand *smallest, int *has_smallest)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int got = 0;
    size_t need = 0, lim = c->bound, most = 0;
    *n = 0;
    *has_smallest = 0;
    DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, rt->conv_math));
    if (rt->opt.conv_search) {
        /* FindEx's workspace: the bound, or less if no algorithm needs that much */
        for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; a++)
            if (cudnnGetConvolutionForwardWorkspaceSize(rt->dnn, c->x, c->w, c->conv, c->y,
                                                        (cudnnConvolutionFwdAlgo_t)a, &need) ==
                    CUDNN_STATUS_SUCCESS &&
                need > most)
                most = need;
        if (lim > most) lim = most;
        DLM_TRY(scratch_ws(rt, s, lim));
        DLM_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(
            rt->dnn, c->x, s->x, c->w, rt_ptr(rt, op->params[0]), c->conv, c->y, s->y,
            CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf, s->ws, lim));
    } else {
        DLM_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(rt->dnn, c->x, c->w, c->conv, c->y,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got,
                                                         perf));
    }
    for (int i = 0; i < got; i++) {
        const cudnnConvolutionFwdAlgoPerf_t *p = &perf[i];
        if (!algo_fits(rt, p)) continue;
        cudnnMathType_t m = rt->conv_math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : p->mathType;
        DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, m));
        if (cudnnGetConvolutionForwardWorkspaceSize(rt->dnn, c->x, c->w, c->conv, c->y, p->algo,
                                                    &need) != CUDNN_STATUS_SUCCESS)
            continue;
        rt_conv_cand k = {.plan = NULL, .engine = -1, .algo = p->algo, .math = m, .ws = need,
                          .rank = i, .of = got};
        if (!*has_smallest || need < smallest->ws) {
            *smallest = k;
            *has_smallest = 1;
        }
        if (need <= c->bound && *n < RT_CONV_MAX_LEGACY) out[(*n)++] = k;
    }
    return DLM_OK;
}

/* The same for a transposed conv: cuDNN's backward-data algorithms
 * (cudnnFindConvolutionBackwardDataAlgorithmEx on the scratch buffers, the
 * input as dy and the output as dx, or the _v7 ranking). */
static dlm_status dgrad_cands(dlm_rt *rt, int o, conv_scratch *s, rt_conv_cand *out, int *n,
                              rt_conv_cand *smallest, int *has_smallest)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int got = 0;
    size_t need = 0, lim = c->bound, most = 0;
    *n = 0;
    *has_smallest = 0;
    DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, rt->conv_math));
    if (rt->opt.conv_search) {
        for (int a = 0; a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; a++)
            if (cudnnGetConvolutionBackwardDataWorkspaceSize(
                    rt->dnn, c->w, c->x, c->conv, c->y, (cudnnConvolutionBwdDataAlgo_t)a, &need) ==
                    CUDNN_STATUS_SUCCESS &&
                need > most)
                most = need;
        if (lim > most) lim = most;
        DLM_TRY(scratch_ws(rt, s, lim));
        DLM_CUDNN(cudnnFindConvolutionBackwardDataAlgorithmEx(
            rt->dnn, c->w, rt_ptr(rt, op->params[0]), c->x, s->x, c->conv, c->y, s->y,
            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf, s->ws, lim));
    } else {
        DLM_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(
            rt->dnn, c->w, c->x, c->conv, c->y, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
    }
    for (int i = 0; i < got; i++) {
        const cudnnConvolutionBwdDataAlgoPerf_t *p = &perf[i];
        if (p->status != CUDNN_STATUS_SUCCESS) continue;
        if (rt->conv_math == CUDNN_FMA_MATH && p->mathType != CUDNN_FMA_MATH &&
            p->mathType != CUDNN_DEFAULT_MATH)
            continue;
        cudnnMathType_t m = rt->conv_math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : p->mathType;
        DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, m));
        if (cudnnGetConvolutionBackwardDataWorkspaceSize(rt->dnn, c->w, c->x, c->conv, c->y,
                                                         p->algo, &need) != CUDNN_STATUS_SUCCESS)
            continue;
        rt_conv_cand k = {.plan = NULL, .engine = -1, .dgrad = 1, .dalgo = p->algo, .math = m,
                          .ws = need, .rank = i, .of = got};
        if (!*has_smallest || need < smallest->ws) {
            *smallest = k;
            *has_smallest = 1;
        }
        if (need <= c->bound && *n < RT_CONV_MAX_LEGACY) out[(*n)++] = k;
    }
    return DLM_OK;
}

/* ---- im2col + one cublasLt GEMM ---------------------------------------------------- */

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }

static void gemm_free(rt_conv *c)
{
    if (c->g_a) cublasLtMatrixLayoutDestroy(c->g_a);
    if (c->g_b) cublasLtMatrixLayoutDestroy(c->g_b);
    if (c->g_c) cublasLtMatrixLayoutDestroy(c->g_c);
    if (c->g_desc) cublasLtMatmulDescDestroy(c->g_desc);
    c->g_a = c->g_b = c->g_c = NULL;
    c->g_desc = NULL;
    c->g_ok = 0;
}

/* The GEMM way of conv o at the point: Y^T (N*P, K) = col^T (N*P, CRS) *
 * W^T (CRS, K) in cuBLAS's column-major terms, with col = im2col(x) stored
 * (CRS, N*P) row-major and W (K, CRS) row-major as PyTorch keeps it; the
 * output (K, N*P) goes to NCHW by one transpose when N > 1.  NCHW and
 * ungrouped convolutions only. */
static dlm_status gemm_setup(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    gemm_free(c);
    if (rt->nhwc || op->a.conv.groups != 1 || transposed(op) ||
        (rt->opt.conv_api != DLM_RT_CONV_API_ALL && rt->opt.conv_api != DLM_RT_CONV_API_GEMM))
        return DLM_OK;
    uint64_t N = (uint64_t)x->dims[0], P = (uint64_t)(y->dims[2] * y->dims[3]);
    uint64_t K = (uint64_t)op->a.conv.cout,
             CRS = (uint64_t)op->a.conv.cin * op->a.conv.kh * op->a.conv.kw;
    cublasOperation_t nt = CUBLAS_OP_N;
    DLM_CUBLAS(cublasLtMatmulDescCreate(&c->g_desc, rt->compute, CUDA_R_32F));
    DLM_CUBLAS(cublasLtMatmulDescSetAttribute(c->g_desc, CUBLASLT_MATMUL_DESC_TRANSA, &nt,
                                              sizeof nt));
    DLM_CUBLAS(cublasLtMatmulDescSetAttribute(c->g_desc, CUBLASLT_MATMUL_DESC_TRANSB, &nt,
                                              sizeof nt));
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&c->g_a, rt->cuda_dt, N * P, CRS, (int64_t)(N * P)));
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&c->g_b, rt->cuda_dt, CRS, K, (int64_t)CRS));
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&c->g_c, rt->cuda_dt, N * P, K, (int64_t)(N * P)));
    size_t col = (size_t)(CRS * N * P) * rt->fsize, yt = N > 1 ? (size_t)(K * N * P) * rt->fsize : 0;
    c->g_yt = align256(col);
    c->g_lt = align256(c->g_yt + yt);
    c->g_ok = 1;
    return DLM_OK;
}

/* cublasLt's best ranked algorithms for the GEMM whose whole workspace (col,
 * the transposed output and cublasLt's own) fits the conv's bound. */
static dlm_status gemm_cands(dlm_rt *rt, int o, rt_conv_cand *out, int max, int *n)
{
    rt_conv *c = &rt->ops[o].conv;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res[RT_CONV_MAX_GEMM];
    int found = 0;
    dlm_status st = DLM_OK;
    *n = 0;
    if (!c->g_ok || c->g_lt > c->bound) return DLM_OK;
    if (max > RT_CONV_MAX_GEMM) max = RT_CONV_MAX_GEMM;
    uint64_t lim = (uint64_t)(c->bound - c->g_lt);
    DLM_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
    DLM_CUBLAS_GO(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &lim, sizeof lim));
    cublasStatus_t e = cublasLtMatmulAlgoGetHeuristic(rt->lt, c->g_desc, c->g_a, c->g_b, c->g_c,
                                                      c->g_c, pref, max, res, &found);
    if (e == CUBLAS_STATUS_NOT_SUPPORTED) found = 0;
    else if (e != CUBLAS_STATUS_SUCCESS) {
        st = dlm_cublas_fail(e, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
        goto fail;
    }
    for (int i = 0; i < found; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        rt_conv_cand *k = &out[(*n)++];
        memset(k, 0, sizeof *k);
        k->gemm = 1;
        k->lt_algo = res[i].algo;
        k->engine = -1;
        k->ws = c->g_lt + res[i].workspaceSize;
        k->rank = i;
        k->of = found;
    }
fail:
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    return st;
}

static dlm_status gemm_run(dlm_rt *rt, int o, const rt_conv_cand *k, const void *x, void *y,
                           char *ws)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    const rt_tensor *xt = &rt->t[op->in[0]], *yt = &rt->t[op->out[0]];
    int N = (int)xt->dims[0], C = (int)xt->dims[1], H = (int)xt->dims[2], W = (int)xt->dims[3];
    int Ho = (int)yt->dims[2], Wo = (int)yt->dims[3];
    const float alpha = 1.0f, beta = 0.0f;
    void *out = N > 1 ? (void *)(ws + c->g_yt) : y;
    if (!ws) return dlm_error(DLM_EINTERNAL, "%s: the GEMM way without a workspace", op->name);
    DLM_CUDA(dlm_k_im2col(ws, x, N, C, H, W, Ho, Wo, op->a.conv.kh, op->a.conv.kw, op->a.conv.sh,
                          op->a.conv.sw, op->a.conv.ph, op->a.conv.pw, op->a.conv.dh,
                          op->a.conv.dw, rt->dt, rt->stream));
    DLM_CUBLAS(cublasLtMatmul(rt->lt, c->g_desc, &alpha, ws, c->g_a, rt_ptr(rt, op->params[0]),
                              c->g_b, &beta, out, c->g_c, out, c->g_c, &k->lt_algo, ws + c->g_lt,
                              k->ws - c->g_lt, rt->stream));
    if (N > 1)
        DLM_CUDA(dlm_k_kn_to_nk(y, out, op->a.conv.cout, N, (int64_t)Ho * Wo, rt->dt, rt->stream));
    return DLM_OK;
}

/* A legacy candidate's math type goes on the conv's descriptor once, before
 * it runs (not on every run). */
static dlm_status use_math(dlm_rt *rt, int o, const rt_conv_cand *k)
{
    if (!k->plan && !k->gemm) DLM_CUDNN(cudnnSetConvolutionMathType(rt->ops[o].conv.conv, k->math));
    return DLM_OK;
}

/* Runs candidate k of conv o on x -> y with workspace ws (its math type set). */
static dlm_status run_cand(dlm_rt *rt, int o, const rt_conv_cand *k, void *x, void *y, void *ws)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    const void *w = rt_ptr(rt, op->params[0]);
    if (k->gemm) return gemm_run(rt, o, k, x, y, ws);
    if (k->plan) return rt_convg_run(rt, k->plan, x, w, y, ws);
    if (k->dgrad) {
        DLM_CUDNN(cudnnConvolutionBackwardData(rt->dnn, &one, c->w, w, c->x, x, c->conv, k->dalgo,
                                               ws, k->ws, &zero, c->y, y));
        return DLM_OK;
    }
    DLM_CUDNN(cudnnConvolutionForward(rt->dnn, &one, c->x, x, c->w, w, c->conv, k->algo, ws,
                                      k->ws, &zero, c->y, y));
    return DLM_OK;
}

/* Runs timed per candidate, after one warm-up; the median decides.  Nine
 * keep a one-off slow run from deciding. */
#define RT_CONV_TIMED 9

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* k->ms: the median of RT_CONV_TIMED runs between CUDA events after one
 * warm-up; a candidate that fails to run gets *ok = 0 (it is passed over). */
static dlm_status time_cand(dlm_rt *rt, int o, rt_conv_cand *k, conv_scratch *s, int *ok)
{
    cudaEvent_t ev[RT_CONV_TIMED + 1] = {0};
    float t[RT_CONV_TIMED];
    dlm_status st = DLM_OK;
    *ok = 0;
    DLM_GO(scratch_ws(rt, s, k->ws));
    DLM_GO(use_math(rt, o, k));
    for (int i = 0; i <= RT_CONV_TIMED; i++) DLM_CUDA_GO(cudaEventCreate(&ev[i]));
    if (run_cand(rt, o, k, s->x, s->y, s->ws) != DLM_OK) goto fail; /* not runnable here */
    DLM_CUDA_GO(cudaEventRecord(ev[0], rt->stream));
    for (int i = 0; i < RT_CONV_TIMED; i++) {
        DLM_GO(run_cand(rt, o, k, s->x, s->y, s->ws));
        DLM_CUDA_GO(cudaEventRecord(ev[i + 1], rt->stream));
    }
    DLM_CUDA_GO(cudaEventSynchronize(ev[RT_CONV_TIMED]));
    for (int i = 0; i < RT_CONV_TIMED; i++) DLM_CUDA_GO(cudaEventElapsedTime(&t[i], ev[i], ev[i + 1]));
    qsort(t, RT_CONV_TIMED, sizeof t[0], cmp_float);
    k->ms = t[RT_CONV_TIMED / 2];
    *ok = 1;
fail:
    for (int i = 0; i <= RT_CONV_TIMED; i++)
        if (ev[i]) (void)cudaEventDestroy(ev[i]);
    return st;
}

/* An earlier conv of this point with the same shapes and attributes, or -1. */
static int same_conv(const dlm_rt *rt, int o)
{
    const dlm_op *a = &rt->g->ops[o];
    const rt_tensor *xa = &rt->t[a->in[0]];
    for (int p = 0; p < o; p++) {
        const dlm_op *b = &rt->g->ops[p];
        if (b->kind != a->kind || memcmp(&a->a.conv, &b->a.conv, sizeof a->a.conv)) continue;
        const rt_tensor *xb = &rt->t[b->in[0]];
        if (!memcmp(xa->dims, xb->dims, sizeof xa->dims)) return p;
    }
    return -1;
}

/* Makes k conv o's pick (the plan, if any, is now the conv's if owned). */
static dlm_status take(dlm_rt *rt, int o, const rt_conv_cand *k, int owned, int tried)
{
    rt_conv *c = &rt->ops[o].conv;
    c->pick = *k;
    c->plan_owned = k->plan && owned;
    c->n_tried = tried;
    c->ws_shared = rt->conv_transient && k->ws && k->ws <= (size_t)rt->cublas_ws_bytes;
    return use_math(rt, o, k);
}

/* Chooses how conv o runs at the point: among the legacy algorithms and the
 * graph API's plans (as --conv-api allows) that fit the mode and the bound,
 * the fastest when searching, else the graph API's best ranked (the legacy
 * ranking's when there is none).  Where the bound is a resident buffer's
 * limit and nothing fits, the legacy algorithm with the least workspace. */
static dlm_status choose(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    rt_conv_cand cand[RT_CONV_MAX_LEGACY + RT_CONV_MAX_PLANS + RT_CONV_MAX_GEMM], smallest;
    int n_leg = 0, n_plan = 0, n_gemm = 0, has_smallest = 0, best = -1, tried = 0;
    conv_scratch s = {0};
    dlm_status st = DLM_OK;
    memset(&smallest, 0, sizeof smallest);
    if (rt->opt.conv_search) {
        DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)rt->t[op->in[0]].numel * rt->fsize,
                                DLM_MK_SCRATCH, "conv algorithm search (x)", &s.x));
        DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)rt->t[op->out[0]].numel * rt->fsize,
                                DLM_MK_SCRATCH, "conv algorithm search (y)", &s.y));
        DLM_CUDA_GO(cudaMemsetAsync(s.x, 0, (size_t)rt->t[op->in[0]].numel * rt->fsize,
                                    rt->stream));
    }
    /* a transposed conv: the legacy API's backward-data algorithms, whatever --conv-api says */
    dlm_rt_conv_api api = transposed(op) ? DLM_RT_CONV_API_LEGACY : rt->opt.conv_api;
    if (transposed(op))
        DLM_GO(dgrad_cands(rt, o, &s, cand, &n_leg, &smallest, &has_smallest));
    else if (api == DLM_RT_CONV_API_ALL || api == DLM_RT_CONV_API_LEGACY)
        DLM_GO(legacy_cands(rt, o, &s, cand, &n_leg, &smallest, &has_smallest));
    if (api == DLM_RT_CONV_API_ALL || api == DLM_RT_CONV_API_GRAPH)
        DLM_GO(rt_convg_plans(rt, o, c->bound, cand + n_leg, RT_CONV_MAX_PLANS, &n_plan));
    if (api == DLM_RT_CONV_API_ALL || api == DLM_RT_CONV_API_GEMM)
        DLM_GO(gemm_cands(rt, o, cand + n_leg + n_plan, RT_CONV_MAX_GEMM, &n_gemm));
    int n = n_leg + n_plan + n_gemm;
    if (rt->opt.conv_search) {
        for (int i = 0; i < n; i++) {
            int ok = 0;
            DLM_GO(time_cand(rt, o, &cand[i], &s, &ok));
            if (!ok) continue;
            tried++;
            if (best < 0 || cand[i].ms < cand[best].ms) best = i;
        }
    } else if (n) {
        best = n_plan ? n_leg : 0; /* the graph API's best ranked, else the first */
    }
    if (best < 0 && !rt->conv_transient && has_smallest) {
        DLM_GO(take(rt, o, &smallest, 1, tried));
    } else if (best < 0) {
        static const char *from[] = {
            [DLM_RT_CONV_API_ALL] = "neither cuDNN (legacy or graph API) nor im2col + GEMM has",
            [DLM_RT_CONV_API_LEGACY] = "cuDNN's legacy API has",
            [DLM_RT_CONV_API_GRAPH] = "cuDNN's graph API has",
            [DLM_RT_CONV_API_GEMM] = "im2col + GEMM (NCHW, ungrouped) has"};
        st = dlm_error(DLM_EUNSUPPORTED, "%s: %s no way to run it in %s%s%s", op->name,
                       transposed(op) ? "cuDNN's backward-data (legacy API) has" : from[api], dlm_rt_dtype_name(rt->opt.dtype),
                       rt->conv_math == CUDNN_FMA_MATH ? " with FMA math (no TF32)" : "",
                       rt->conv_transient ? " whose workspace fits the plan's headroom there "
                                            "(--conv-workspace SIZE: a resident buffer)" : "");
        goto fail;
    } else {
        DLM_GO(take(rt, o, &cand[best], 1, tried));
        cand[best].plan = NULL; /* the conv's now */
    }
fail:
    for (int i = 0; i < n_leg + n_plan + n_gemm; i++) rt_convg_free(&cand[i].plan);
    return scratch_free(rt, &s, st);
}

void rt_conv_unprepare(dlm_rt *rt, int o)
{
    rt_conv *c = &rt->ops[o].conv;
    if (c->pick.plan && c->plan_owned) rt_convg_free(&c->pick.plan);
    memset(&c->pick, 0, sizeof c->pick);
    c->plan_owned = 0;
    gemm_free(c);
}

dlm_status rt_conv_prepare(dlm_rt *rt, int o, size_t room)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    int n, ch, h, w;
    rt_conv_unprepare(rt, o);
    /* channels-last: an NCHW input is copied around the conv, inside its room */
    c->in_copy = rt->nhwc && !x->nhwc ? (size_t)x->numel * rt->fsize : 0;
    if (c->in_copy && c->in_copy > room)
        return dlm_error(DLM_EUNSUPPORTED, "%s: the channels-last copy of its input (%zu bytes) "
                         "does not fit under the plan's peak there (%zu bytes; --layout nchw "
                         "runs it)", op->name, c->in_copy, room);
    size_t left = room - c->in_copy;
    /* Transient: the headroom, or the cuBLAS workspace where that is larger
     * (lent to the conv: cuBLAS never runs while it does, plan.h). */
    size_t bound = rt->conv_transient
                       ? (left > (size_t)rt->cublas_ws_bytes ? left
                                                                : (size_t)rt->cublas_ws_bytes)
                       : (size_t)rt->opt.conv_ws_limit;
    DLM_TRY(set4d(c->x, rt->cudnn_dt, x, rt->nhwc));
    DLM_TRY(set4d(c->y, rt->cudnn_dt, y, rt->nhwc));
    DLM_CUDNN(cudnnSetConvolutionMathType(c->conv, rt->conv_math));
    /* a transposed conv: the convolution it transposes maps its output to its input */
    const rt_tensor *fi = transposed(op) ? y : x, *fo = transposed(op) ? x : y;
    DLM_CUDNN(cudnnGetConvolution2dForwardOutputDim(c->conv, transposed(op) ? c->y : c->x, c->w,
                                                    &n, &ch, &h, &w));
    if (n != fo->dims[0] || ch != fo->dims[1] || h != fo->dims[2] || w != fo->dims[3])
        return dlm_error(DLM_EINTERNAL, "%s: cuDNN gives %dx%dx%dx%d from %lldx%lldx%lldx%lld, "
                         "the graph %lldx%lldx%lldx%lld", op->name, n, ch, h, w,
                         (long long)fi->dims[0], (long long)fi->dims[1], (long long)fi->dims[2],
                         (long long)fi->dims[3], (long long)fo->dims[0], (long long)fo->dims[1],
                         (long long)fo->dims[2], (long long)fo->dims[3]);
    c->bound = bound;
    DLM_TRY(gemm_setup(rt, o));
    /* An earlier conv of the same shapes whose choice fits this bound: it
     * serves (its plan is shared, not searched again). */
    int twin = same_conv(rt, o);
    if (twin >= 0) {
        const rt_conv *t = &rt->ops[twin].conv;
        if (t->pick.ws <= bound) return take(rt, o, &t->pick, 0, t->n_tried);
    }
    return choose(rt, o);
}

dlm_status rt_conv_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_conv *c = &rt->ops[o].conv;
    const rt_tensor *x = &rt->t[op->in[0]];
    void *ws = NULL, *xin = rt_ptr(rt, op->in[0]), *copy = NULL;
    int own_ws = 0;
    dlm_status st = DLM_OK;
    if (!rt->conv_transient && c->pick.ws > (size_t)rt->conv_ws_bytes)
        return dlm_error(DLM_EINTERNAL, "%s: workspace %zu > shared %lld", op->name, c->pick.ws,
                         (long long)rt->conv_ws_bytes);
    if (c->in_copy) {
        DLM_GO(dlm_devmem_alloc(&rt->mem, c->in_copy, DLM_MK_SCRATCH,
                                "channels-last copy of a convolution's input", &copy));
        DLM_CUDA_GO(dlm_k_to_nhwc(copy, xin, x->dims[0], (int)x->dims[1], x->dims[2] * x->dims[3],
                                  rt->dt, rt->stream));
        xin = copy;
    }
    if (!rt->conv_transient) {
        ws = c->pick.ws ? rt->conv_ws : NULL;
    } else if (c->ws_shared) {
        ws = rt->cublas_ws;
    } else if (c->pick.ws) {
        DLM_GO(dlm_devmem_alloc(&rt->mem, c->pick.ws, DLM_MK_SCRATCH,
                                "cuDNN convolution workspace (transient)", &ws));
        own_ws = 1;
    }
    DLM_GO(run_cand(rt, o, &c->pick, xin, rt_ptr(rt, op->out[0]), ws));
    if (op->a.conv.bias && c->bias) {
        DLM_CUDNN_GO(cudnnAddTensor(rt->dnn, &one, c->bias, rt_ptr(rt, op->params[1]), &one, c->y,
                                    rt_ptr(rt, op->out[0])));
    } else if (op->a.conv.bias) { /* PyTorch's output.add_(bias): the bf16 output plus b */
        const rt_tensor *y = &rt->t[op->out[0]];
        DLM_CUDA_GO(dlm_k_bias_channels(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->params[1]),
                                        y->numel, (int)y->dims[1], y->dims[2] * y->dims[3],
                                        y->nhwc, rt->dt, rt->stream));
    }
fail:
    if (own_ws) rt_scratch_free(rt, ws, &st);
    rt_scratch_free(rt, copy, &st);
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
    if (op->kind == DLM_OP_MAXPOOL2D || op->kind == DLM_OP_AVGPOOL2D ||
        op->kind == DLM_OP_AVGPOOL2D_ADAPTIVE)
        DLM_CUDNN(cudnnCreatePoolingDescriptor(&d->pool));
    /* nn.AvgPool2d's count_include_pad: without ceil_mode every window lies in the
     * padded input, so PyTorch divides by kh x kw, as cuDNN's INCLUDE_PADDING does */
    if (op->kind == DLM_OP_MAXPOOL2D || op->kind == DLM_OP_AVGPOOL2D)
        DLM_CUDNN(cudnnSetPooling2dDescriptor(d->pool, op->kind == DLM_OP_MAXPOOL2D
                                                           ? CUDNN_POOLING_MAX
                                                           : CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING,
                                              CUDNN_NOT_PROPAGATE_NAN,
                                              op->a.pool.kh, op->a.pool.kw, op->a.pool.ph,
                                              op->a.pool.pw, op->a.pool.sh, op->a.pool.sw));
    return DLM_OK;
}

dlm_status rt_nd_prepare(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_nd *d = &rt->ops[o].nd;
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    if (!d->use_cudnn || (op->kind == DLM_OP_BATCHNORM2D && d->act != DLM_K_ACT_NONE))
        return DLM_OK;
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
    if (d->use_cudnn && d->act == DLM_K_ACT_NONE) {
        DLM_CUDNN(cudnnBatchNormalizationForwardInference(
            rt->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d->x, rt_ptr(rt, op->in[0]), d->y,
            rt_ptr(rt, op->out[0]), d->p, w, b, mean, var, op->a.bn.eps));
        return DLM_OK;
    }
    if (!rt_contiguous(x)) return dlm_error(DLM_EINTERNAL, "%s: strided input", op->name);
    DLM_CUDA(dlm_k_batchnorm(rt_ptr(rt, op->out[0]), rt_ptr(rt, op->in[0]), w, b, mean, var,
                             x->dims[0], (int)x->dims[1], x->dims[2] * x->dims[3], x->nhwc,
                             (float)op->a.bn.eps, d->act, rt->dt, rt->stream));
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
                   (op->kind != DLM_OP_AVGPOOL2D_ADAPTIVE ||
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
    else if (op->kind == DLM_OP_AVGPOOL2D)
        DLM_CUDA(dlm_k_avgpool2d(yp, xp, N, C, H, W, (int)y->dims[2], (int)y->dims[3],
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
    rt_conv_unprepare(rt, o);
    if (d->x) cudnnDestroyTensorDescriptor(d->x);
    if (d->y) cudnnDestroyTensorDescriptor(d->y);
    if (d->p) cudnnDestroyTensorDescriptor(d->p);
    if (d->pool) cudnnDestroyPoolingDescriptor(d->pool);
    memset(c, 0, sizeof *c);
    memset(d, 0, sizeof *d);
}
