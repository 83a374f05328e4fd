/* ops_blas.c — the ops that are matrix products, through cuBLAS.
 *
 * Row-major tensors are read by column-major cuBLAS as their transposes:
 *   linear     y (M, N) = x (M, K) W^T + b: y^T = W x^T, a cublasLt matmul
 *              with op(A) = W^T stored K x N (lda K), B = x^T stored K x M
 *              (ldb = the row stride of x, which may be a strided view such
 *              as BERT's hidden[:, 0]), D = y^T N x M (ldd N), and the bias
 *              added by the BIAS epilogue (PyTorch's addmm does the same);
 *              plain cublasGemmEx with D prefilled with b if cublasLt offers
 *              no algorithm.  Its workspace is the runtime's cuBLAS one.
 *   attention  q, k, v, out are (B, T, X) with heads of hd columns side by
 *              side, each with its own row stride ld and batch stride (GPT-2's
 *              q, k, v are column slices of one (B, T, 3C) projection): for
 *              batch element b and head h, Q_bh is a (T, hd) block at
 *              b*bq + h*hd, K_bh and V_bh at b*bk + g*hd with g = h / (heads /
 *              kv_heads) (grouped-query attention).  Two batched GEMMs over
 *              all B*heads blocks read device arrays of block addresses:
 *                S_bh = scale * Q_bh K_bh^T  gemm(T, N, T, T, hd, K lda=ldk,
 *                                                 Q ldb=ldq, S ldc=Tp)
 *                softmax over each row of S (causal / sliding window: masked
 *                keys get 0), in place
 *                O_bh = P_bh V_bh            gemm(N, N, hd, T, T, V lda=ldv,
 *                                                 P ldb=Tp, O ldc=ldo)
 *              S (rows Tp = T padded to 16 bytes) and the address arrays are
 *              the op's scratch (plan.h).  nn.MultiheadAttention adds its
 *              in_proj output and the context (its out_proj's input) to it.
 * Compute type: CUBLAS_COMPUTE_32F (exact fp32, and bf16 with fp32
 * accumulation), CUBLAS_COMPUTE_32F_FAST_TF32 with --tf32.
 */
#include <math.h>
#include <stdio.h>

#include "kernels.h"
#include "plan.h"
#include "rt_internal.h"

/* Rows of x (all but the last dim) as one matrix with a uniform row stride. */
static dlm_status rows_of(const dlm_rt *rt, int t, int64_t *M, int64_t *ld)
{
    const rt_tensor *x = &rt->t[t];
    int nd = x->ndim;
    if (nd < 1 || x->strides[nd - 1] != 1)
        return dlm_error(DLM_EUNSUPPORTED, "%s: last dimension is not contiguous",
                         rt->g->tensors[t].name);
    *M = x->numel / x->dims[nd - 1];
    *ld = nd >= 2 ? x->strides[nd - 2] : x->dims[nd - 1];
    if (*M == 1 || nd < 2) *ld = x->dims[nd - 1];
    for (int i = nd - 3; i >= 0; i--)
        if (x->dims[i] != 1 && x->strides[i] != x->strides[i + 1] * x->dims[i + 1])
            return dlm_error(DLM_EUNSUPPORTED, "%s: rows do not have one stride",
                             rt->g->tensors[t].name);
    return DLM_OK;
}

/* ---- linear ------------------------------------------------------------------------ */

/* One y (M, N) = x (M, K) W^T + b through cublasLt (W (N, K), or (K, N) for
 * GPT-2's Conv1D: `transposed`), the bias by its epilogue; at prepare, the
 * heuristic's best algorithm for M rows of stride ld, or cublasGemmEx with y
 * prefilled with b where cublasLt offers none. */
static dlm_status lin_create(dlm_rt *rt, rt_lin *l, int64_t K, int64_t N, int transposed,
                             const void *bias)
{
    /* Conv1D keeps W as (in, out): y^T = W^T x^T with W read as the
     * column-major (out x in) matrix it is, no transpose */
    cublasOperation_t ta = transposed ? CUBLAS_OP_N : CUBLAS_OP_T, tb = CUBLAS_OP_N;
    l->K = K;
    l->N = N;
    l->transposed = transposed;
    l->bias = bias;
    DLM_CUBLAS(cublasLtMatmulDescCreate(&l->desc, rt->compute, CUDA_R_32F));
    DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    if (bias) {
        cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
        DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep,
                                                  sizeof ep));
        DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                  &bias, sizeof bias));
    }
    if (transposed)
        DLM_CUBLAS(cublasLtMatrixLayoutCreate(&l->a, rt->cuda_dt, (uint64_t)N, (uint64_t)K, N));
    else
        DLM_CUBLAS(cublasLtMatrixLayoutCreate(&l->a, rt->cuda_dt, (uint64_t)K, (uint64_t)N, K));
    return DLM_OK;
}

static dlm_status lin_prepare(dlm_rt *rt, rt_lin *l, int64_t M, int64_t ld)
{
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    dlm_status st = DLM_OK;
    if (M > INT32_MAX || ld > INT32_MAX || l->N > INT32_MAX || l->K > INT32_MAX)
        return dlm_error(DLM_ERANGE, "a linear of %lld x %lld x %lld beyond cuBLAS's int",
                         (long long)M, (long long)l->N, (long long)l->K);
    l->M = M;
    l->ld = ld;
    if (l->b) cublasLtMatrixLayoutDestroy(l->b);
    if (l->c) cublasLtMatrixLayoutDestroy(l->c);
    l->b = l->c = NULL;
    l->use_lt = 0;
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&l->b, rt->cuda_dt, (uint64_t)l->K, (uint64_t)M, ld));
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&l->c, rt->cuda_dt, (uint64_t)l->N, (uint64_t)M, l->N));
    DLM_CUBLAS_GO(cublasLtMatmulPreferenceCreate(&pref));
    uint64_t ws = (uint64_t)rt->cublas_ws_bytes;
    DLM_CUBLAS_GO(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    cublasStatus_t e = cublasLtMatmulAlgoGetHeuristic(rt->lt, l->desc, l->a, l->b, l->c, l->c,
                                                      pref, 1, &res, &found);
    if (e == CUBLAS_STATUS_SUCCESS && found > 0 && res.state == CUBLAS_STATUS_SUCCESS) {
        l->algo = res.algo;
        l->use_lt = 1;
    } else if (e != CUBLAS_STATUS_SUCCESS && e != CUBLAS_STATUS_NOT_SUPPORTED) {
        st = dlm_cublas_fail(e, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
    }
fail:
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    return st;
}

static dlm_status lin_run(dlm_rt *rt, const rt_lin *l, const void *x, const void *w, void *y)
{
    float one = 1.0f, beta = 0.0f;
    if (l->use_lt) {
        DLM_CUBLAS(cublasLtMatmul(rt->lt, l->desc, &one, w, l->a, x, l->b, &beta, y, l->c, y,
                                  l->c, &l->algo, rt->cublas_ws, (size_t)rt->cublas_ws_bytes,
                                  rt->stream));
        return DLM_OK;
    }
    if (l->bias) {
        DLM_CUDA(dlm_k_fill_rows(y, l->bias, l->M, l->N, rt->dt, rt->stream));
        beta = 1.0f;
    }
    DLM_CUBLAS(cublasGemmEx(rt->blas, l->transposed ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N,
                            (int)l->N, (int)l->M, (int)l->K, &one, w, rt->cuda_dt,
                            (int)(l->transposed ? l->N : l->K), x, rt->cuda_dt, (int)l->ld, &beta,
                            y, rt->cuda_dt, (int)l->N, rt->compute, CUBLAS_GEMM_DEFAULT));
    return DLM_OK;
}

static void lin_destroy(rt_lin *l)
{
    if (l->a) cublasLtMatrixLayoutDestroy(l->a);
    if (l->b) cublasLtMatrixLayoutDestroy(l->b);
    if (l->c) cublasLtMatrixLayoutDestroy(l->c);
    if (l->desc) cublasLtMatmulDescDestroy(l->desc);
    l->a = l->b = l->c = NULL;
    l->desc = NULL;
}

dlm_status rt_linear_create(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    return lin_create(rt, &rt->ops[o].lin, op->a.linear.in, op->a.linear.out,
                      op->a.linear.transposed,
                      op->a.linear.bias ? rt_ptr(rt, op->params[1]) : NULL);
}

dlm_status rt_linear_prepare(dlm_rt *rt, int o)
{
    int64_t M = 0, ld = 0;
    DLM_TRY(rows_of(rt, rt->g->ops[o].in[0], &M, &ld));
    return lin_prepare(rt, &rt->ops[o].lin, M, ld);
}

dlm_status rt_linear_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    /* a tied head reads the embedding's table (its second input) */
    const void *w = op->a.linear.tied ? rt_ptr(rt, op->in[1]) : rt_ptr(rt, op->params[0]);
    return lin_run(rt, &rt->ops[o].lin, rt_ptr(rt, op->in[0]), w, rt_ptr(rt, op->out[0]));
}

void rt_linear_destroy(dlm_rt *rt, int o)
{
    lin_destroy(&rt->ops[o].lin);
    lin_destroy(&rt->ops[o].lin2);
}

/* nn.MultiheadAttention's in_proj (lin) and out_proj (lin2). */
dlm_status rt_mha_create(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    int64_t E = (int64_t)op->a.attn.heads * op->a.attn.head_dim;
    DLM_TRY(lin_create(rt, &rt->ops[o].lin, E, 3 * E, 0, rt_ptr(rt, op->params[1])));
    return lin_create(rt, &rt->ops[o].lin2, E, E, 0, rt_ptr(rt, op->params[3]));
}

dlm_status rt_mha_prepare(dlm_rt *rt, int o)
{
    const rt_tensor *x = &rt->t[rt->g->ops[o].in[0]];
    int64_t M = x->dims[0] * x->dims[1], E = x->dims[2];
    DLM_TRY(lin_prepare(rt, &rt->ops[o].lin, M, E));
    return lin_prepare(rt, &rt->ops[o].lin2, M, E);
}

/* ---- attention ------------------------------------------------------------------------ */

/* One (B, T, X) operand of attention: its address, the row stride of its
 * (b, t) rows and the stride of a batch element, in elements; columns must be
 * contiguous (q, k and v may be slices of one packed projection). */
typedef struct attn_arg {
    const char *p;
    int64_t ld, bs;
} attn_arg;

static dlm_status attn_arg_of(const dlm_rt *rt, const dlm_op *op, int t, attn_arg *a)
{
    const rt_tensor *x = &rt->t[t];
    if (x->ndim != 3 || x->strides[2] != 1 || (x->dims[1] > 1 && x->strides[1] < x->dims[2]))
        return dlm_error(DLM_EUNSUPPORTED, "%s: %s is not (B, T, features) with contiguous "
                         "features", op->name, rt->g->tensors[t].name);
    a->p = rt_ptr(rt, t);
    a->ld = x->dims[1] > 1 ? x->strides[1] : x->dims[2];
    a->bs = x->dims[0] > 1 ? x->strides[0] : a->ld * x->dims[1];
    return DLM_OK;
}

/* Eager attention of op o (attention or nn.MultiheadAttention's core): the
 * scores S and the block addresses are allocated here, S = scale * Q K^T per
 * (batch, head) by one batched GEMM, the (masked) softmax in place, O = P V by
 * another.  `bytes_before` is the op's scratch already allocated (MHA's qkv
 * and context): with S and the addresses it must be the plan's scratch. */
static dlm_status attention_core(dlm_rt *rt, int o, attn_arg q, attn_arg k, attn_arg v,
                                 attn_arg out, int64_t B, int64_t T, int64_t bytes_before)
{
    const dlm_op *op = &rt->g->ops[o];
    int heads = op->a.attn.heads, kvh = op->a.attn.kv_heads, hd = op->a.attn.head_dim;
    int nb = (int)(B * heads);
    size_t es = rt->fsize;
    float scale = (float)(1.0 / sqrt((double)hd)), one = 1.0f, zero = 0.0f;
    dlm_status st = DLM_OK;
    void *S = NULL, **P = NULL;
    char what[300];
    if (kvh <= 0 || heads % kvh)
        return dlm_error(DLM_EINVAL, "%s: %d heads over %d key/value heads", op->name, heads, kvh);
    if (q.ld > INT32_MAX || k.ld > INT32_MAX || v.ld > INT32_MAX || out.ld > INT32_MAX ||
        T > INT32_MAX)
        return dlm_error(DLM_ERANGE, "%s: a row stride beyond cuBLAS's int", op->name);
    /* The plan says how much; the allocations must add up to it.  S's rows
     * are Tp elements apart, 16-byte aligned, so that bf16 GEMMs can run on
     * tensor cores (an unaligned ldc of 197 does not). */
    int64_t plan = dlm_plan_op_scratch(rt->g, o, rt->opt.dtype, rt->B, rt->T);
    int64_t Tp = dlm_plan_score_cols(T, rt->opt.dtype);
    int64_t s_bytes = B * heads * Tp * Tp * (int64_t)es, p_bytes = 5LL * nb * (int64_t)sizeof(void *);
    if (plan != bytes_before + s_bytes + p_bytes)
        return dlm_error(DLM_EINTERNAL, "%s: scratch plan %lld bytes != %lld", op->name,
                         (long long)plan, (long long)(bytes_before + s_bytes + p_bytes));
    snprintf(what, sizeof what, "%s %s (scores)", op->name, dlm_plan_op_scratch_name(rt->g, o));
    DLM_TRY(dlm_devmem_alloc(&rt->mem, (size_t)s_bytes, DLM_MK_SCRATCH, what, &S));
    snprintf(what, sizeof what, "%s %s (GEMM addresses)", op->name,
             dlm_plan_op_scratch_name(rt->g, o));
    DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)p_bytes, DLM_MK_SCRATCH, what, (void **)&P));
    dlm_k_attn_strides sd = {q.bs, k.bs, v.bs, out.bs};
    DLM_CUDA_GO(dlm_k_attention_ptrs(P, q.p, k.p, v.p, S, (void *)out.p, (int)B, heads, kvh, Tp, sd,
                                     hd, (int)es, rt->stream));
    /* P: [K blocks | Q blocks | S blocks | V blocks | O blocks], nb each. */
    DLM_CUBLAS_GO(cublasGemmBatchedEx(rt->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)T, (int)T, hd,
                                      &scale, (const void *const *)P, rt->cuda_dt, (int)k.ld,
                                      (const void *const *)(P + nb), rt->cuda_dt, (int)q.ld, &zero,
                                      P + 2 * nb, rt->cuda_dt, (int)Tp, nb, rt->compute,
                                      CUBLAS_GEMM_DEFAULT));
    int masked = op->kind == DLM_OP_ATTENTION;
    DLM_CUDA_GO(dlm_k_softmax_masked(S, S, (int64_t)nb, (int)T, (int)Tp,
                                     masked && op->a.attn.causal, masked ? op->a.attn.window : 0,
                                     rt->dt, rt->stream));
    DLM_CUBLAS_GO(cublasGemmBatchedEx(rt->blas, CUBLAS_OP_N, CUBLAS_OP_N, hd, (int)T, (int)T,
                                      &one, (const void *const *)(P + 3 * nb), rt->cuda_dt,
                                      (int)v.ld, (const void *const *)(P + 2 * nb), rt->cuda_dt,
                                      (int)Tp, &zero, P + 4 * nb, rt->cuda_dt, (int)out.ld, nb,
                                      rt->compute, CUBLAS_GEMM_DEFAULT));
    st = DLM_OK;
fail:
    rt_scratch_free(rt, P, &st);
    rt_scratch_free(rt, S, &st);
    return st;
}

dlm_status rt_attention_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    attn_arg q, k, v, out;
    DLM_TRY(attn_arg_of(rt, op, op->in[0], &q));
    DLM_TRY(attn_arg_of(rt, op, op->in[1], &k));
    DLM_TRY(attn_arg_of(rt, op, op->in[2], &v));
    DLM_TRY(attn_arg_of(rt, op, op->out[0], &out));
    const rt_tensor *x = &rt->t[op->in[0]];
    return attention_core(rt, o, q, k, v, out, x->dims[0], x->dims[1], 0);
}

/* torch.nn.MultiheadAttention(x, x, x, need_weights=False) in eval, as its
 * fast path computes it: in_proj (B, T, 3E) = x W_in^T + b_in; q, k, v its
 * column blocks; eager attention into the context (B, T, E); out_proj.  The
 * packed projection and the context are the op's scratch (plan.h). */
dlm_status rt_mha_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]];
    int64_t B = x->dims[0], T = x->dims[1], E = x->dims[2], M = B * T;
    int64_t qkv_bytes = 3 * M * E * (int64_t)rt->fsize, ctx_bytes = M * E * (int64_t)rt->fsize;
    void *qkv = NULL, *ctx = NULL;
    char what[300];
    dlm_status st = DLM_OK;
    if (!rt_contiguous(x) || !rt_contiguous(&rt->t[op->out[0]]))
        return dlm_error(DLM_EUNSUPPORTED, "%s: x must be contiguous", op->name);
    snprintf(what, sizeof what, "%s attention_scores (in_proj q, k, v)", op->name);
    DLM_TRY(dlm_devmem_alloc(&rt->mem, (size_t)qkv_bytes, DLM_MK_SCRATCH, what, &qkv));
    snprintf(what, sizeof what, "%s attention_scores (context)", op->name);
    DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)ctx_bytes, DLM_MK_SCRATCH, what, &ctx));
    DLM_GO(lin_run(rt, &rt->ops[o].lin, rt_ptr(rt, op->in[0]), rt_ptr(rt, op->params[0]), qkv));
    const char *base = qkv;
    int64_t es = (int64_t)rt->fsize;
    attn_arg q = {base, 3 * E, 3 * E * T}, k = {base + E * es, 3 * E, 3 * E * T},
             v = {base + 2 * E * es, 3 * E, 3 * E * T}, c = {ctx, E, E * T};
    DLM_GO(attention_core(rt, o, q, k, v, c, B, T, qkv_bytes + ctx_bytes));
    DLM_GO(lin_run(rt, &rt->ops[o].lin2, ctx, rt_ptr(rt, op->params[2]), rt_ptr(rt, op->out[0])));
fail:
    rt_scratch_free(rt, ctx, &st);
    rt_scratch_free(rt, qkv, &st);
    return st;
}
