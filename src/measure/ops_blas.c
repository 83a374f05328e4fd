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
 *   attention  q, k, v, out are (B, T, Hd) with heads of hd columns side by
 *              side: for batch element b and head h, Q_bh is a (T, hd) block
 *              with row stride Hd at b*T*Hd + h*hd.  Two batched GEMMs over
 *              all B*heads blocks read device arrays of block addresses:
 *                S_bh = scale * Q_bh K_bh^T  gemm(T, N, T, T, hd, K lda=Hd,
 *                                                 Q ldb=Hd, S ldc=T)
 *                softmax over each row of S, in place
 *                O_bh = P_bh V_bh            gemm(N, N, hd, T, T, V lda=Hd,
 *                                                 P ldb=T, O ldc=Hd)
 *              S and the address arrays are the op's scratch (plan.h).
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

dlm_status rt_linear_create(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_lin *l = &rt->ops[o].lin;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    DLM_CUBLAS(cublasLtMatmulDescCreate(&l->desc, rt->compute, CUDA_R_32F));
    DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    if (op->a.linear.bias) {
        cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
        void *bias = rt_ptr(rt, op->params[1]);
        DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep,
                                                  sizeof ep));
        DLM_CUBLAS(cublasLtMatmulDescSetAttribute(l->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                  &bias, sizeof bias));
    }
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&l->a, rt->cuda_dt, (uint64_t)op->a.linear.in,
                                          (uint64_t)op->a.linear.out, op->a.linear.in));
    return DLM_OK;
}

dlm_status rt_linear_prepare(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_lin *l = &rt->ops[o].lin;
    int64_t K = op->a.linear.in, N = op->a.linear.out;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    dlm_status st = DLM_OK;
    DLM_TRY(rows_of(rt, op->in[0], &l->M, &l->ld));
    if (l->b) cublasLtMatrixLayoutDestroy(l->b);
    if (l->c) cublasLtMatrixLayoutDestroy(l->c);
    l->b = l->c = NULL;
    l->use_lt = 0;
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&l->b, rt->cuda_dt, (uint64_t)K, (uint64_t)l->M, l->ld));
    DLM_CUBLAS(cublasLtMatrixLayoutCreate(&l->c, rt->cuda_dt, (uint64_t)N, (uint64_t)l->M, N));
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

dlm_status rt_linear_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_lin *l = &rt->ops[o].lin;
    int64_t K = op->a.linear.in, N = op->a.linear.out;
    float one = 1.0f, beta = 0.0f;
    void *y = rt_ptr(rt, op->out[0]);
    const void *x = rt_ptr(rt, op->in[0]), *w = rt_ptr(rt, op->params[0]);
    if (l->use_lt) {
        DLM_CUBLAS(cublasLtMatmul(rt->lt, l->desc, &one, w, l->a, x, l->b, &beta, y, l->c, y,
                                  l->c, &l->algo, rt->cublas_ws, (size_t)rt->cublas_ws_bytes,
                                  rt->stream));
        return DLM_OK;
    }
    if (op->a.linear.bias) {
        DLM_CUDA(dlm_k_fill_rows(y, rt_ptr(rt, op->params[1]), l->M, N, rt->dt, rt->stream));
        beta = 1.0f;
    }
    DLM_CUBLAS(cublasGemmEx(rt->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)l->M, (int)K, &one,
                            w, rt->cuda_dt, (int)K, x, rt->cuda_dt, (int)l->ld, &beta, y,
                            rt->cuda_dt, (int)N, rt->compute, CUBLAS_GEMM_DEFAULT));
    return DLM_OK;
}

void rt_linear_destroy(dlm_rt *rt, int o)
{
    rt_lin *l = &rt->ops[o].lin;
    if (l->a) cublasLtMatrixLayoutDestroy(l->a);
    if (l->b) cublasLtMatrixLayoutDestroy(l->b);
    if (l->c) cublasLtMatrixLayoutDestroy(l->c);
    if (l->desc) cublasLtMatmulDescDestroy(l->desc);
    l->a = l->b = l->c = NULL;
    l->desc = NULL;
}

/* ---- attention ------------------------------------------------------------------------ */

dlm_status rt_attention_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *q = &rt->t[op->in[0]];
    int64_t B = q->dims[0], T = q->dims[1], Hd = q->dims[2];
    int heads = op->a.attn.heads, hd = op->a.attn.head_dim, nb = (int)(B * heads);
    size_t es = rt->fsize;
    float scale = (float)(1.0 / sqrt((double)hd)), one = 1.0f, zero = 0.0f;
    dlm_status st = DLM_OK;
    void *S = NULL, **P = NULL;
    char what[300];
    for (int i = 0; i < 3; i++)
        if (!rt_contiguous(&rt->t[op->in[i]]))
            return dlm_error(DLM_EUNSUPPORTED, "%s: q, k and v must be contiguous", op->name);
    /* The plan says how much; the two allocations below must add up to it. */
    dlm_poly plan = dlm_plan_op_scratch(rt->g, o, rt->opt.dtype);
    int64_t s_bytes = B * heads * T * T * (int64_t)es, p_bytes = 5LL * nb * (int64_t)sizeof(void *);
    if (dlm_poly_eval(&plan, rt->B, rt->T) != s_bytes + p_bytes)
        return dlm_error(DLM_EINTERNAL, "%s: scratch plan %lld bytes != %lld", op->name,
                         (long long)dlm_poly_eval(&plan, rt->B, rt->T),
                         (long long)(s_bytes + p_bytes));
    snprintf(what, sizeof what, "%s %s (scores)", op->name, dlm_plan_op_scratch_name(rt->g, o));
    DLM_TRY(dlm_devmem_alloc(&rt->mem, (size_t)s_bytes, DLM_MK_SCRATCH, what, &S));
    snprintf(what, sizeof what, "%s %s (GEMM addresses)", op->name,
             dlm_plan_op_scratch_name(rt->g, o));
    DLM_GO(dlm_devmem_alloc(&rt->mem, (size_t)p_bytes, DLM_MK_SCRATCH, what, (void **)&P));
    const char *Q = rt_ptr(rt, op->in[0]), *K = rt_ptr(rt, op->in[1]), *V = rt_ptr(rt, op->in[2]);
    char *O = rt_ptr(rt, op->out[0]);
    DLM_CUDA_GO(dlm_k_attention_ptrs(P, Q, K, V, S, O, (int)B, heads, T, Hd, hd, (int)es,
                                     rt->stream));
    /* P: [K blocks | Q blocks | S blocks | V blocks | O blocks], nb each. */
    DLM_CUBLAS_GO(cublasGemmBatchedEx(rt->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)T, (int)T, hd,
                                      &scale, (const void *const *)P, rt->cuda_dt, (int)Hd,
                                      (const void *const *)(P + nb), rt->cuda_dt, (int)Hd, &zero,
                                      P + 2 * nb, rt->cuda_dt, (int)T, nb, rt->compute,
                                      CUBLAS_GEMM_DEFAULT));
    DLM_CUDA_GO(dlm_k_softmax(S, S, B * heads * T, (int)T, rt->dt, rt->stream));
    DLM_CUBLAS_GO(cublasGemmBatchedEx(rt->blas, CUBLAS_OP_N, CUBLAS_OP_N, hd, (int)T, (int)T,
                                      &one, (const void *const *)(P + 3 * nb), rt->cuda_dt,
                                      (int)Hd, (const void *const *)(P + 2 * nb), rt->cuda_dt,
                                      (int)T, &zero, P + 4 * nb, rt->cuda_dt, (int)Hd, nb,
                                      rt->compute, CUBLAS_GEMM_DEFAULT));
    st = DLM_OK;
fail:
    if (P) {
        dlm_status s2 = dlm_devmem_free(&rt->mem, P);
        if (st == DLM_OK) st = s2;
    }
    if (S) {
        dlm_status s2 = dlm_devmem_free(&rt->mem, S);
        if (st == DLM_OK) st = s2;
    }
    return st;
}
