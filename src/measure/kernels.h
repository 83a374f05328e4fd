/* kernels.h — dlmem's own CUDA kernels, for the ops no library call fits
 * (or where cuDNN has no bf16 path with PyTorch's parameter types).
 *
 * Each launcher enqueues on `s` and returns cudaGetLastError() of its launch;
 * the caller checks it with DLM_CUDA.  `dt` is the storage type of every
 * float tensor argument: DLM_K_F32 or DLM_K_BF16; arithmetic is in float32
 * (as PyTorch does for bf16 tensors), rounded once when stored.  Tensors are
 * contiguous unless strides are passed, NCHW unless `nhwc` says channels-last.
 * Sizes are element counts.
 *
 * What it is not: tuned kernels for every shape; they are simple, one pass
 * where one pass is enough, and checked against PyTorch by the GPU tests.
 */
#ifndef DLM_KERNELS_H
#define DLM_KERNELS_H

#include <stdint.h>

#include <cuda_runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { DLM_K_F32 = 0, DLM_K_BF16 = 1 };

/* y (rows, cols) = bias broadcast over rows (the C of a GEMM with beta = 1). */
cudaError_t dlm_k_fill_rows(void *y, const void *bias, int64_t rows, int64_t cols, int dt,
                            cudaStream_t s);
/* y[i] = a[i] + b[i % nb], i < n (b broadcast over leading dims); y may be a. */
cudaError_t dlm_k_add(void *y, const void *a, const void *b, int64_t n, int64_t nb, int dt,
                      cudaStream_t s);
/* Elementwise; y may be x. */
cudaError_t dlm_k_relu(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
cudaError_t dlm_k_gelu_erf(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
cudaError_t dlm_k_tanh(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
cudaError_t dlm_k_relu6(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
cudaError_t dlm_k_silu(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
cudaError_t dlm_k_sigmoid(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
cudaError_t dlm_k_hardswish(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
/* y[i] = a[i] * b[j], i < n: mode 0 j = i; mode 1 (NCHW, b one value per (n, c) over
 * hw = H x W) j = i / hw; mode 2 (NHWC, the same b) j = (i / (hw c)) c + i % c.  y may be a. */
cudaError_t dlm_k_mul(void *y, const void *a, const void *b, int64_t n, int mode, int64_t hw,
                      int64_t c, int dt, cudaStream_t s);
/* y[i] += b[channel of i], y (N, C, hw) NCHW or (N, hw, C) when nhwc: a conv's bias. */
cudaError_t dlm_k_bias_channels(void *y, const void *b, int64_t n, int C, int64_t hw, int nhwc,
                                int dt, cudaStream_t s);
/* Average pooling with count_include_pad (N, C, H, W) -> (N, C, Ho, Wo), both NCHW or both
 * NHWC (nhwc). */
cudaError_t dlm_k_avgpool2d(void *y, const void *x, int64_t N, int C, int H, int W, int Ho,
                            int Wo, int kh, int kw, int sh, int sw, int ph, int pw, int nhwc,
                            int dt, cudaStream_t s);
/* LayerNorm over the last dim of x (rows, dim): biased variance, eps inside
 * the square root, then * w + b. */
cudaError_t dlm_k_layernorm(void *y, const void *x, const void *w, const void *b, int64_t rows,
                            int dim, float eps, int dt, cudaStream_t s);
/* Softmax over the last dim of x (rows, cols); y may be x. */
cudaError_t dlm_k_softmax(void *y, const void *x, int64_t rows, int cols, int dt,
                          cudaStream_t s);
/* y (d0, d1, dim) = w[ids[i0 * s0 + i1 * s1]] (ids int64, strides in
 * elements, ids already checked to lie in the table). */
cudaError_t dlm_k_embedding(void *y, const void *w, const int64_t *ids, int64_t d0, int64_t d1,
                            int64_t s0, int64_t s1, int dim, int dt, cudaStream_t s);
/* The activation dlm_k_batchnorm applies to its output (an in-place
 * activation after the batchnorm, fused). */
enum { DLM_K_ACT_NONE = -1, DLM_K_ACT_RELU = 0, DLM_K_ACT_RELU6 = 1, DLM_K_ACT_SILU = 2 };
/* BatchNorm inference on x (N, C, HW), or (N, HW, C) when nhwc:
 * (x - mean) / sqrt(var + eps) * w + b, with w, b, mean, var of the storage
 * type (PyTorch keeps them so in bf16); then act (DLM_K_ACT_*) on that value
 * rounded to the storage type, as an in-place activation after it reads it. */
cudaError_t dlm_k_batchnorm(void *y, const void *x, const void *w, const void *b,
                            const void *mean, const void *var, int64_t N, int C, int64_t HW,
                            int nhwc, float eps, int act, int dt, cudaStream_t s);
/* F.interpolate(x, scale_factor=scale, mode) of (N, C, H, W) -> (N, C, Ho, Wo),
 * both NCHW or both NHWC (nhwc): nearest (bilinear 0) or bilinear with or
 * without align_corners, PyTorch's CUDA index arithmetic in float. */
cudaError_t dlm_k_upsample2d(void *y, const void *x, int64_t N, int C, int H, int W, int Ho,
                             int Wo, int bilinear, int align_corners, double scale, int nhwc,
                             int dt, cudaStream_t s);
/* Max pooling (N, C, H, W) -> (N, C, Ho, Wo), both NCHW or both NHWC (nhwc);
 * padding never wins. */
cudaError_t dlm_k_maxpool2d(void *y, const void *x, int64_t N, int C, int H, int W, int Ho,
                            int Wo, int kh, int kw, int sh, int sw, int ph, int pw, int nhwc,
                            int dt, cudaStream_t s);
/* Adaptive average pooling (PyTorch's start/end rule) -> (N, C, oh, ow) NCHW;
 * x is NCHW, or NHWC when nhwc. */
cudaError_t dlm_k_avgpool_adaptive(void *y, const void *x, int64_t N, int C, int H, int W, int oh,
                                   int ow, int nhwc, int dt, cudaStream_t s);
/* y (N, HW, C) = x (N, C, HW): a channels-last copy. */
cudaError_t dlm_k_to_nhwc(void *y, const void *x, int64_t N, int C, int64_t HW, int dt,
                          cudaStream_t s);
/* col (C*kh*kw, N*Ho*Wo), row-major, from x (N, C, H, W): the columns of a
 * convolution as one GEMM's operand (zeros where the window leaves x). */
cudaError_t dlm_k_im2col(void *col, const void *x, int N, int C, int H, int W, int Ho, int Wo,
                         int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int dt,
                         cudaStream_t s);
/* y (N, K, P) = yt (K, N*P): that GEMM's output back to NCHW. */
cudaError_t dlm_k_kn_to_nk(void *y, const void *yt, int64_t K, int64_t N, int64_t P, int dt,
                           cudaStream_t s);

/* Element strides of a batch element (b*) of q, k, v and the output: their
 * rows (b, t) have row strides of their own, columns contiguous. */
typedef struct dlm_k_attn_strides {
    int64_t bq, bk, bv, bo;
} dlm_k_attn_strides;
/* Block addresses for eager attention's batched GEMMs: p holds 5 arrays of
 * B*heads addresses [K | Q | S | V | O]; for i = b*heads + h, q's and o's
 * blocks start at b*bq + h*hd (b*bo + h*hd) elements, k's and v's at
 * b*bk + g*hd with g = h / (heads / kv_heads) (grouped-query attention's
 * repeat_kv), S's at i*T*T (T: the scores' padded row length). */
cudaError_t dlm_k_attention_ptrs(void **p, const void *q, const void *k, const void *v, void *s,
                                 void *o, int B, int heads, int kv_heads, int64_t T,
                                 dlm_k_attn_strides strides, int hd, int esize, cudaStream_t st);
/* Attention's softmax in place over nb blocks of Tp x Tp elements (rows
 * 16-byte aligned): in each, rows i < T over keys j < T, with keys after the
 * query (causal) and keys window or more before it (window > 0: a sliding
 * window) at probability 0; y may be x. */
cudaError_t dlm_k_softmax_masked(void *y, const void *x, int64_t nb, int T, int Tp, int causal,
                                 int window, int dt, cudaStream_t s);
/* transformers' RMSNorm over the last dim of x (rows, dim), then * w. */
cudaError_t dlm_k_rmsnorm(void *y, const void *x, const void *w, int64_t rows, int dim, float eps,
                          int dt, cudaStream_t s);
/* Rotary embedding tables cos, sin (T, D) from inv_freq (D/2), positions 0..T-1. */
cudaError_t dlm_k_rotary(void *cos_out, void *sin_out, const void *inv_freq, int64_t T, int D,
                         float scaling, int dt, cudaStream_t s);
/* y = x * cos + rotate_half(x) * sin for x (B, T, heads*D), cos and sin (T, D). */
cudaError_t dlm_k_rope(void *y, const void *x, const void *cos_t, const void *sin_t, int64_t B,
                       int64_t T, int heads, int D, int dt, cudaStream_t s);
/* gelu's tanh approximation: in one kernel (gelu_pytorch_tanh), and as
 * transformers' gelu_new computes it in eight rounded steps. */
cudaError_t dlm_k_gelu_tanh(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
cudaError_t dlm_k_gelu_new(void *y, const void *x, int64_t n, int dt, cudaStream_t s);
/* y[i] = i, i < n (int64 positions). */
cudaError_t dlm_k_arange_i64(int64_t *y, int64_t n, cudaStream_t s);
/* Up to 4-d strided copy: dims, and element strides of x and y (a view into
 * a slice of a concatenation); esize 2, 4 or 8. */
typedef struct dlm_k_copy4 {
    int64_t dims[4], xs[4], ys[4];
} dlm_k_copy4;
cudaError_t dlm_k_strided_copy(void *y, const void *x, const dlm_k_copy4 *c, int esize,
                               cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
