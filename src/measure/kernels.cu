/* kernels.cu — dlmem's own CUDA kernels (contract in kernels.h).  Float32
 * arithmetic throughout; bf16 tensors are widened on load and rounded to
 * nearest-even on store, as PyTorch's kernels do. */
#include "kernels.h"

#include <cuda_bf16.h>

typedef __nv_bfloat16 bf16;

namespace {

__device__ __forceinline__ float ld(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld(const bf16 *p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void st(float *p, int64_t i, float v) { p[i] = v; }
template <typename T>
__device__ __forceinline__ float ld_(const T *p, int64_t i) { return ld(p, i); }
__device__ __forceinline__ void st(bf16 *p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

/* Grid for n elements, grid-stride loops cover the rest. */
inline unsigned blocks_for(int64_t n, int threads)
{
    int64_t b = (n + threads - 1) / threads;
    if (b > 65535LL * 8) b = 65535LL * 8;
    return (unsigned)(b < 1 ? 1 : b);
}

template <typename T>
__global__ void fill_rows_k(T *y, const T *bias, int64_t n, int64_t cols)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = bias[i % cols];
}

template <typename T>
__global__ void add_k(T *y, const T *a, const T *b, int64_t n, int64_t nb)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, ld(a, i) + ld(b, nb == n ? i : i % nb));
}

enum { EW_RELU, EW_GELU, EW_TANH, EW_RELU6, EW_SILU, EW_SIGMOID, EW_HARDSWISH };

/* PyTorch's CUDA formulas in float (ActivationHardtanhKernel, ActivationSiluKernel,
 * UnarySigmoidKernel, ActivationHardswishKernel): relu6 = hardtanh(0, 6), silu =
 * x / (1 + exp(-x)), sigmoid = 1 / (1 + exp(-x)), hardswish = x * min(max(x + 3, 0), 6) / 6 */
template <int OP>
__device__ __forceinline__ float unary_op(float v)
{
    if (OP == EW_RELU) return v > 0.f ? v : 0.f;
    if (OP == EW_GELU) return 0.5f * v * (1.f + erff(v * 0.70710678118654752440f));
    if (OP == EW_RELU6) return v <= 0.f ? 0.f : (v >= 6.f ? 6.f : v);
    if (OP == EW_SILU) return v / (1.f + expf(-v));
    if (OP == EW_SIGMOID) return 1.f / (1.f + expf(-v));
    if (OP == EW_HARDSWISH) return v * fminf(fmaxf(v + 3.f, 0.f), 6.f) / 6.f;
    return tanhf(v);
}

/* y = a * b, b broadcast: mode 0 the same size, 1 a per-(n, c) gate over
 * H x W in NCHW (b index i / hw), 2 the same gate in NHWC (b index
 * (i / (hw * c)) * c + i % c) */
template <typename T>
__global__ void mul_k(T *y, const T *a, const T *b, int64_t n, int mode, int64_t hw, int64_t c)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t j = mode == 0 ? i : mode == 1 ? i / hw : (i / (hw * c)) * c + i % c;
        st(y, i, ld(a, i) * ld(b, j));
    }
}

/* y[i] += b[channel of i]: (N, C, HW) or, nhwc, (N, HW, C) */
template <typename T>
__global__ void bias_channels_k(T *y, const T *b, int64_t n, int C, int64_t hw, int nhwc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, ld(y, i) + ld(b, nhwc ? i % C : (i / hw) % C));
}

/* Average pooling with count_include_pad (nn.AvgPool2d's default): the sum of
 * the window's input elements over kh * kw, the window clipped to the padded
 * input (PyTorch's avg_pool2d: pool_size = (hend - hstart) * (wend - wstart)
 * before clipping to the input). */
/* Element i of an (N, C, Ho, Wo) output stored NCHW, or NHWC when nhwc: its
 * channel, row and column; returns its image. */
__device__ __forceinline__ int64_t decode_nchw(int64_t i, int C, int Ho, int Wo, int nhwc, int *c,
                                               int *oh, int *ow)
{
    if (nhwc) {
        *c = (int)(i % C); i /= C;
        *ow = (int)(i % Wo); i /= Wo;
        *oh = (int)(i % Ho); i /= Ho;
    } else {
        *ow = (int)(i % Wo); i /= Wo;
        *oh = (int)(i % Ho); i /= Ho;
        *c = (int)(i % C); i /= C;
    }
    return i;
}

template <typename T>
__global__ void avgpool2d_k(T *y, const T *x, int64_t n, int C, int H, int W, int Ho, int Wo,
                            int kh, int kw, int sh, int sw, int ph, int pw, int nhwc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int c, oh, ow;
        int64_t b = decode_nchw(i, C, Ho, Wo, nhwc, &c, &oh, &ow);
        int hs = oh * sh - ph, ws = ow * sw - pw;
        int he = min(hs + kh, H + ph), we = min(ws + kw, W + pw);
        int size = (he - hs) * (we - ws);
        hs = max(hs, 0); ws = max(ws, 0); he = min(he, H); we = min(we, W);
        float sum = 0.f;
        for (int h = hs; h < he; h++)
            for (int w = ws; w < we; w++)
                sum += ld(x, nhwc ? ((b * H + h) * W + w) * C + c : ((b * C + c) * H + h) * W + w);
        st(y, i, sum / (float)size);
    }
}

/* 16-byte vectors of elements (4 floats or 8 bf16) where every pointer is
 * 16-byte aligned and n is a multiple of the vector: the same arithmetic per
 * element as the scalar kernels, fewer and wider memory instructions. */
template <typename T>
__host__ __device__ constexpr int vec_len() { return (int)(16 / sizeof(T)); }

inline bool vec_ok(int64_t n, int len, const void *a, const void *b, const void *c)
{
    return n % len == 0 && ((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) % 16 == 0;
}

template <typename T, int OP>
__global__ void unary_vec_k(uint4 *y, const uint4 *x, int64_t nv)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nv;
         i += (int64_t)gridDim.x * blockDim.x) {
        uint4 v = x[i];
        T *e = reinterpret_cast<T *>(&v);
#pragma unroll
        for (int k = 0; k < vec_len<T>(); k++) st(e, k, unary_op<OP>(ld(e, k)));
        y[i] = v;
    }
}

template <typename T>
__global__ void add_vec_k(uint4 *y, const uint4 *a, const uint4 *b, int64_t nv)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nv;
         i += (int64_t)gridDim.x * blockDim.x) {
        uint4 u = a[i], v = b[i];
        T *e = reinterpret_cast<T *>(&u);
        const T *f = reinterpret_cast<const T *>(&v);
#pragma unroll
        for (int k = 0; k < vec_len<T>(); k++) st(e, k, ld(e, k) + ld(f, k));
        y[i] = u;
    }
}

template <typename T, int OP>
__global__ void unary_k(T *y, const T *x, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, unary_op<OP>(ld(x, i)));
}

/* Sum over a block of 256 threads; every thread gets the result. */
__device__ float block_sum(float v, float *sh)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    __syncthreads(); /* sh may still be read from the previous call */
    if (l == 0) sh[w] = v;
    __syncthreads();
    float t = 0.f;
    for (int k = 0; k < (int)(blockDim.x >> 5); k++) t += sh[k];
    return t;
}

/* One block per row; two passes for mean and variance (no cancellation). */
template <typename T>
__global__ void layernorm_k(T *y, const T *x, const T *w, const T *b, int dim, float eps)
{
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * (int64_t)dim;
    T *yr = y + blockIdx.x * (int64_t)dim;
    float s = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) s += ld(xr, i);
    float mean = block_sum(s, sh) / dim;
    float q = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float d = ld(xr, i) - mean;
        q += d * d;
    }
    float rstd = rsqrtf(block_sum(q, sh) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        st(yr, i, (ld(xr, i) - mean) * rstd * ld(w, i) + ld(b, i));
}

/* One warp per row. */
template <typename T>
__global__ void softmax_k(T *y, const T *x, int64_t rows, int cols)
{
    int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5);
    int l = threadIdx.x & 31;
    if (r >= rows) return;
    const T *xr = x + r * cols;
    T *yr = y + r * cols;
    float m = -INFINITY;
    for (int i = l; i < cols; i += 32) m = fmaxf(m, ld(xr, i));
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float s = 0.f;
    for (int i = l; i < cols; i += 32) s += expf(ld(xr, i) - m);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    for (int i = l; i < cols; i += 32) st(yr, i, expf(ld(xr, i) - m) / s);
}

template <typename T>
__global__ void embedding_k(T *y, const T *w, const int64_t *ids, int64_t d1, int64_t s0,
                            int64_t s1, int dim)
{
    int64_t r = blockIdx.x; /* output row = i0 * d1 + i1 */
    int64_t id = ids[(r / d1) * s0 + (r % d1) * s1];
    const T *wr = w + id * dim;
    T *yr = y + r * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = wr[i];
}

/* BatchNorm over n elements of (N, C, HW) (nhwc = 0) or (N, HW, C) (nhwc = 1)
 * stored flat; I the index type (32-bit unsigned where every index fits).
 * Channel of element e: (e / HW) % C, or e % C. */
template <typename T, typename I>
__device__ __forceinline__ float bn_one(const T *w, const T *b, const T *mean, const T *var,
                                        I c, float x, float eps)
{
    return (x - ld(mean, c)) * rsqrtf(ld(var, c) + eps) * ld(w, c) + ld(b, c);
}

/* The activation fused after a batchnorm (ACT < 0: none).  PyTorch stores
 * the batchnorm's output in the tensor's dtype before the in-place
 * activation reads it: the value is rounded to T first. */
template <typename T>
__device__ __forceinline__ float rnd(float v) { return v; }
template <>
__device__ __forceinline__ float rnd<bf16>(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

template <typename T, int ACT>
__device__ __forceinline__ float bn_act(float v)
{
    if (ACT < 0) return v;
    return unary_op<ACT>(rnd<T>(v));
}

template <typename T, typename I, int ACT>
__global__ void batchnorm_k(T *y, const T *x, const T *w, const T *b, const T *mean,
                            const T *var, I n, I C, I HW, int nhwc, float eps)
{
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
        I c = nhwc ? i % C : (i / HW) % C;
        st(y, i, bn_act<T, ACT>(bn_one(w, b, mean, var, c, ld(x, i), eps)));
    }
}

/* The same on 16-byte vectors of K elements (every vector inside one plane
 * for NCHW, HW % K == 0; inside one pixel's channels for NHWC, C % K == 0). */
template <typename T, typename I, int ACT>
__global__ void batchnorm_vec_k(uint4 *y, const uint4 *x, const T *w, const T *b, const T *mean,
                                const T *var, I nv, I C, I HW, int nhwc, float eps)
{
    const int K = vec_len<T>();
    for (I v = blockIdx.x * (I)blockDim.x + threadIdx.x; v < nv; v += (I)gridDim.x * blockDim.x) {
        uint4 u = x[v];
        T *e = reinterpret_cast<T *>(&u);
        I i = v * (I)K;
        if (nhwc) {
            I c = i % C;
#pragma unroll
            for (int k = 0; k < K; k++)
                st(e, k, bn_act<T, ACT>(bn_one(w, b, mean, var, c + (I)k, ld(e, k), eps)));
        } else {
            I c = (i / HW) % C;
            float m = ld(mean, c), inv = rsqrtf(ld(var, c) + eps), sw = ld(w, c), sb = ld(b, c);
#pragma unroll
            for (int k = 0; k < K; k++) st(e, k, bn_act<T, ACT>((ld(e, k) - m) * inv * sw + sb));
        }
        y[v] = u;
    }
}

/* F.interpolate(scale_factor=s) of (N, C, H, W) -> (N, C, Ho, Wo), both NCHW
 * or both NHWC, as PyTorch 2.11's CUDA kernels compute it with the scale
 * factor given: nearest (UpSampleNearest2d.cu, nearest_idx: src =
 * min(floor(dst * (1/s)), in - 1) in float, dst >> 1 when the output is twice
 * the input) and bilinear (UpSampleBilinear2d.cu: area_pixel_compute_source_index,
 * align_corners or not, float accumulation). */
__device__ __forceinline__ int nearest_src(int dst, int in, int out, float scale)
{
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    int s = (int)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

template <typename T>
__global__ void upsample_k(T *y, const T *x, int64_t n, int C, int H, int W, int Ho, int Wo,
                           int bilinear, int align, float sh, float sw, int nhwc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int c, oh, ow;
        int64_t b = decode_nchw(i, C, Ho, Wo, nhwc, &c, &oh, &ow);
#define X_AT(h, w) ld(x, nhwc ? ((b * H + (h)) * W + (w)) * C + c : ((b * C + c) * H + (h)) * W + (w))
        if (!bilinear) {
            st(y, i, X_AT(nearest_src(oh, H, Ho, sh), nearest_src(ow, W, Wo, sw)));
            continue;
        }
        float hr = align ? sh * oh : fmaxf(sh * (oh + 0.5f) - 0.5f, 0.f);
        float wr = align ? sw * ow : fmaxf(sw * (ow + 0.5f) - 0.5f, 0.f);
        int h1 = (int)hr, w1 = (int)wr;
        int h1p = h1 < H - 1 ? 1 : 0, w1p = w1 < W - 1 ? 1 : 0;
        float h1l = hr - h1, h0l = 1.f - h1l, w1l = wr - w1, w0l = 1.f - w1l;
        float v = h0l * (w0l * X_AT(h1, w1) + w1l * X_AT(h1, w1 + w1p)) +
                  h1l * (w0l * X_AT(h1 + h1p, w1) + w1l * X_AT(h1 + h1p, w1 + w1p));
#undef X_AT
        st(y, i, v);
    }
}

/* Output element i of max pooling -> its (n, c, ho, wo); x and y both NCHW or
 * both NHWC.  I: the index type. */
template <typename T, typename I>
__global__ void maxpool_k(T *y, const T *x, I n, I C, int H, int W, int Ho, int Wo, int kh,
                          int kw, int sh, int sw, int ph, int pw, int nhwc)
{
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
        I c, ho, wo, nn;
        if (nhwc) {
            c = i % C;
            wo = (i / C) % (I)Wo;
            ho = (i / (C * (I)Wo)) % (I)Ho;
            nn = i / (C * (I)Wo * (I)Ho);
        } else {
            wo = i % (I)Wo;
            ho = (i / (I)Wo) % (I)Ho;
            c = (i / ((I)Wo * (I)Ho)) % C;
            nn = i / ((I)Wo * (I)Ho * C);
        }
        float m = -INFINITY;
        for (int a = 0; a < kh; a++) {
            int h = (int)ho * sh - ph + a;
            if (h < 0 || h >= H) continue;
            for (int q = 0; q < kw; q++) {
                int w = (int)wo * sw - pw + q;
                if (w < 0 || w >= W) continue;
                int64_t at = nhwc ? (((int64_t)nn * H + h) * W + w) * (int64_t)C + c
                                  : (((int64_t)nn * C + c) * H + h) * W + w;
                m = fmaxf(m, ld(x, at));
            }
        }
        st(y, i, m);
    }
}

/* Adaptive average pooling; y is always NCHW (N, C, oh, ow), x NCHW or NHWC. */
template <typename T>
__global__ void avgpool_k(T *y, const T *x, int64_t n, int C, int H, int W, int oh, int ow,
                          int nhwc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int j = (int)(i % ow), k = (int)((i / ow) % oh);
        int64_t p = i / ((int64_t)ow * oh); /* n * C + c */
        int64_t nn = p / C, c = p % C;
        int h0 = (k * H) / oh, h1 = ((k + 1) * H + oh - 1) / oh;
        int w0 = (j * W) / ow, w1 = ((j + 1) * W + ow - 1) / ow;
        float s = 0.f;
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++)
                s += ld(x, nhwc ? ((nn * H + h) * W + w) * C + c : (p * H + h) * W + w);
        st(y, i, s / (float)((h1 - h0) * (w1 - w0)));
    }
}

/* y (N, HW, C) = x (N, C, HW); I the index type */
template <typename T, typename I>
__global__ void to_nhwc_k(T *y, const T *x, I n, I C, I HW)
{
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
        I c = i % C, hw = (i / C) % HW, nn = i / (C * HW);
        y[i] = x[(nn * C + c) * HW + hw];
    }
}

/* col (C*kh*kw, N*Ho*Wo) from x (N, C, H, W): row (c, r, q), column (n, oh, ow)
 * holds x[n][c][oh*sh - ph + r*dh][ow*sw - pw + q*dw], 0 outside x.  One
 * thread per element of col, columns fastest (coalesced writes). */
template <typename T>
__global__ void im2col_k(T *col, const T *x, int64_t n, int64_t cols, int N, int C, int H, int W,
                         int Ho, int Wo, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
                         int dw)
{
    (void)N;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t row = i / cols, j = i % cols;
        int q = (int)(row % kw), r = (int)((row / kw) % kh), c = (int)(row / ((int64_t)kw * kh));
        int ow = (int)(j % Wo), oh = (int)((j / Wo) % Ho);
        int64_t nn = j / ((int64_t)Wo * Ho);
        int ih = oh * sh - ph + r * dh, iw = ow * sw - pw + q * dw;
        col[i] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
                     ? x[((nn * C + c) * H + ih) * W + iw]
                     : (T)0.0f;
    }
}

/* y (N, K, P) = yt (K, N*P). */
template <typename T>
__global__ void kn_to_nk_k(T *y, const T *yt, int64_t n, int64_t K, int64_t N, int64_t P)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i % P, k = (i / P) % K, nn = i / (P * K);
        y[i] = yt[k * N * P + nn * P + p];
    }
    (void)N;
}

__global__ void attention_ptrs_k(void **p, const char *q, const char *k, const char *v, char *s,
                                 char *o, int B, int heads, int kv_heads, int64_t T,
                                 dlm_k_attn_strides sd, int hd, int es)
{
    int nb = B * heads;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nb) return;
    int b = i / heads, h = i % heads, g = h / (heads / kv_heads); /* repeat_kv: kv head h / n_rep */
    p[i] = (void *)(k + ((int64_t)b * sd.bk + (int64_t)g * hd) * es);
    p[nb + i] = (void *)(q + ((int64_t)b * sd.bq + (int64_t)h * hd) * es);
    p[2 * nb + i] = (void *)(s + (int64_t)i * T * T * es);
    p[3 * nb + i] = (void *)(v + ((int64_t)b * sd.bv + (int64_t)g * hd) * es);
    p[4 * nb + i] = (void *)(o + ((int64_t)b * sd.bo + (int64_t)h * hd) * es);
}

/* Softmax over the keys j < T of each query row i of nb blocks of Tp x Tp
 * (rows i < T used), keys j > i (causal) or i - j >= window (window > 0)
 * left out: probability 0, as softmax gives them after a mask of the dtype's
 * lowest value is added. */
template <typename T>
__global__ void softmax_masked_k(T *y, const T *x, int64_t rows, int cols, int ld, int causal,
                                 int window)
{
    int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5);
    int l = threadIdx.x & 31;
    if (r >= rows) return;
    int i = (int)(r % cols);
    int hi = causal ? i + 1 : cols, lo = window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
    int64_t at = (r / cols) * (int64_t)ld * ld + (int64_t)i * ld;
    const T *xr = x + at;
    T *yr = y + at;
    float m = -INFINITY;
    for (int j = lo + l; j < hi; j += 32) m = fmaxf(m, ld_(xr, j));
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float sum = 0.f;
    for (int j = lo + l; j < hi; j += 32) sum += expf(ld_(xr, j) - m);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    for (int j = l; j < cols; j += 32) st(yr, j, j >= lo && j < hi ? expf(ld_(xr, j) - m) / sum : 0.f);
}

/* transformers' LlamaRMSNorm, one block per row: in float32 the mean of
 * squares, x * rsqrt(mean + eps), rounded to the input's type, times weight. */
template <typename T>
__global__ void rmsnorm_k(T *y, const T *x, const T *w, int dim, float eps)
{
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * (int64_t)dim;
    T *yr = y + blockIdx.x * (int64_t)dim;
    float q = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float v = ld(xr, i);
        q += v * v;
    }
    float rs = rsqrtf(block_sum(q, sh) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        st(yr, i, ld(w, i) * rnd<T>(ld(xr, i) * rs));
}

/* cos, sin (T, D) of positions 0..T-1: freqs = t * inv_freq[j % (D/2)] in
 * float32 (inv_freq.float() @ positions.float()), cos/sin in float32, times
 * attention_scaling, to the dtype. */
template <typename T>
__global__ void rotary_k(T *c, T *sn, const T *inv, int64_t n, int D, float scaling)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t t = e / D;
        int j = (int)(e % D);
        float f = (float)t * ld(inv, j % (D / 2));
        st(c, e, cosf(f) * scaling);
        st(sn, e, sinf(f) * scaling);
    }
}

/* apply_rotary_pos_emb on x (B, T, heads*D): x * cos + rotate_half(x) * sin,
 * rotate_half(x) = cat(-x[D/2:], x[:D/2]) per head; each product and the sum
 * rounded to the dtype as PyTorch's three kernels round them. */
template <typename T>
__global__ void rope_k(T *y, const T *x, const T *c, const T *sn, int64_t n, int64_t T_,
                       int heads, int D)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x) {
        int d = (int)(e % D);
        int64_t t = (e / ((int64_t)D * heads)) % T_;
        float rot = d < D / 2 ? -ld(x, e + D / 2) : ld(x, e - D / 2);
        float a = rnd<T>(ld(x, e) * ld(c, t * D + d)), b = rnd<T>(rot * ld(sn, t * D + d));
        st(y, e, a + b);
    }
}

/* gelu(x, approximate="tanh") in one kernel (PyTorch's GeluCUDAKernelImpl). */
template <typename T>
__global__ void gelu_tanh_k(T *y, const T *x, int64_t n)
{
    const float kBeta = 0.7978845608028654f, kKappa = 0.044715f;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float v = ld(x, i);
        st(y, i, 0.5f * v * (1.f + tanhf(kBeta * (v + kKappa * v * v * v))));
    }
}

/* transformers' NewGELUActivation (GPT-2's gelu_new): 0.5 * x * (1 + tanh(
 * sqrt(2/pi) * (x + 0.044715 * x^3))) as its eight elementwise ops, each
 * result rounded to the dtype. */
template <typename T>
__global__ void gelu_new_k(T *y, const T *x, int64_t n)
{
    const float k0 = 0.7978845608028654f;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float v = ld(x, i);
        float h = rnd<T>(0.5f * v), p = rnd<T>(v * v * v), p2 = rnd<T>(0.044715f * p);
        float s1 = rnd<T>(v + p2), s2 = rnd<T>(k0 * s1), th = rnd<T>(tanhf(s2));
        float o = rnd<T>(1.f + th);
        st(y, i, h * o);
    }
}

__global__ void arange_k(int64_t *y, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = i;
}

/* y[i0, i1, i2, i3] = x[i0, i1, i2, i3] with element strides of each (a view
 * copied into a slice of a concatenation). */
template <typename E>
__global__ void strided_copy_k(E *y, const E *x, dlm_k_copy4 c, int64_t n)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = e, xi = 0, yi = 0;
        for (int d = 3; d >= 0; d--) {
            int64_t i = r % c.dims[d];
            r /= c.dims[d];
            xi += i * c.xs[d];
            yi += i * c.ys[d];
        }
        y[yi] = x[xi];
    }
}

} // namespace

#define DISPATCH(dt, CALL_F32, CALL_BF16)                                                   \
    do {                                                                                    \
        if ((dt) == DLM_K_F32) { CALL_F32; }                                                \
        else if ((dt) == DLM_K_BF16) { CALL_BF16; }                                         \
        else return cudaErrorInvalidValue;                                                  \
        return cudaGetLastError();                                                          \
    } while (0)

extern "C" cudaError_t dlm_k_fill_rows(void *y, const void *bias, int64_t rows, int64_t cols,
                                       int dt, cudaStream_t s)
{
    int64_t n = rows * cols;
    DISPATCH(dt, (fill_rows_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)bias, n, cols)),
             (fill_rows_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)bias, n, cols)));
}

template <typename T>
static void add_launch(T *y, const T *a, const T *b, int64_t n, int64_t nb, cudaStream_t s)
{
    const int K = vec_len<T>();
    if (nb == n && vec_ok(n, K, y, a, b))
        add_vec_k<T><<<blocks_for(n / K, 256), 256, 0, s>>>((uint4 *)y, (const uint4 *)a,
                                                            (const uint4 *)b, n / K);
    else
        add_k<<<blocks_for(n, 256), 256, 0, s>>>(y, a, b, n, nb);
}

extern "C" cudaError_t dlm_k_add(void *y, const void *a, const void *b, int64_t n, int64_t nb,
                                 int dt, cudaStream_t s)
{
    if (nb <= 0 || n % nb) return cudaErrorInvalidValue;
    DISPATCH(dt, add_launch((float *)y, (const float *)a, (const float *)b, n, nb, s),
             add_launch((bf16 *)y, (const bf16 *)a, (const bf16 *)b, n, nb, s));
}

template <typename T, int OP>
static void unary_launch(T *y, const T *x, int64_t n, cudaStream_t s)
{
    const int K = vec_len<T>();
    if (vec_ok(n, K, y, x, x))
        unary_vec_k<T, OP><<<blocks_for(n / K, 256), 256, 0, s>>>((uint4 *)y, (const uint4 *)x,
                                                                  n / K);
    else
        unary_k<T, OP><<<blocks_for(n, 256), 256, 0, s>>>(y, x, n);
}

#define UNARY(name, OP)                                                                     \
    extern "C" cudaError_t name(void *y, const void *x, int64_t n, int dt, cudaStream_t s)  \
    {                                                                                       \
        DISPATCH(dt, (unary_launch<float, OP>((float *)y, (const float *)x, n, s)),         \
                 (unary_launch<bf16, OP>((bf16 *)y, (const bf16 *)x, n, s)));               \
    }
UNARY(dlm_k_relu, EW_RELU)
UNARY(dlm_k_gelu_erf, EW_GELU)
UNARY(dlm_k_tanh, EW_TANH)
UNARY(dlm_k_relu6, EW_RELU6)
UNARY(dlm_k_silu, EW_SILU)
UNARY(dlm_k_sigmoid, EW_SIGMOID)
UNARY(dlm_k_hardswish, EW_HARDSWISH)

extern "C" cudaError_t dlm_k_mul(void *y, const void *a, const void *b, int64_t n, int mode,
                                 int64_t hw, int64_t c, int dt, cudaStream_t s)
{
    if (n <= 0 || (mode && (hw <= 0 || c <= 0))) return cudaErrorInvalidValue;
    DISPATCH(dt, (mul_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)a, (const float *)b, n, mode, hw, c)),
             (mul_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)a, (const bf16 *)b, n, mode, hw, c)));
}

extern "C" cudaError_t dlm_k_bias_channels(void *y, const void *b, int64_t n, int C, int64_t hw,
                                           int nhwc, int dt, cudaStream_t s)
{
    if (n <= 0 || C <= 0 || hw <= 0) return cudaErrorInvalidValue;
    DISPATCH(dt, (bias_channels_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)b, n, C, hw, nhwc)),
             (bias_channels_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)b, n, C, hw, nhwc)));
}

extern "C" cudaError_t dlm_k_avgpool2d(void *y, const void *x, int64_t N, int C, int H, int W,
                                       int Ho, int Wo, int kh, int kw, int sh, int sw, int ph,
                                       int pw, int nhwc, int dt, cudaStream_t s)
{
    int64_t n = N * C * Ho * Wo;
    if (n <= 0) return cudaErrorInvalidValue;
    DISPATCH(dt, (avgpool2d_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, n, C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, nhwc)),
             (avgpool2d_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, n, C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, nhwc)));
}

extern "C" cudaError_t dlm_k_layernorm(void *y, const void *x, const void *w, const void *b,
                                       int64_t rows, int dim, float eps, int dt, cudaStream_t s)
{
    if (rows <= 0 || rows > 0x7fffffffLL) return cudaErrorInvalidValue;
    DISPATCH(dt, (layernorm_k<<<(unsigned)rows, 256, 0, s>>>((float *)y, (const float *)x, (const float *)w, (const float *)b, dim, eps)),
             (layernorm_k<<<(unsigned)rows, 256, 0, s>>>((bf16 *)y, (const bf16 *)x, (const bf16 *)w, (const bf16 *)b, dim, eps)));
}

extern "C" cudaError_t dlm_k_softmax(void *y, const void *x, int64_t rows, int cols, int dt,
                                     cudaStream_t s)
{
    unsigned g = (unsigned)((rows + 7) / 8); /* 8 warps per block */
    DISPATCH(dt, (softmax_k<<<g, 256, 0, s>>>((float *)y, (const float *)x, rows, cols)),
             (softmax_k<<<g, 256, 0, s>>>((bf16 *)y, (const bf16 *)x, rows, cols)));
}

extern "C" cudaError_t dlm_k_embedding(void *y, const void *w, const int64_t *ids, int64_t d0,
                                       int64_t d1, int64_t s0, int64_t s1, int dim, int dt,
                                       cudaStream_t s)
{
    int64_t rows = d0 * d1;
    if (rows <= 0 || rows > 0x7fffffffLL) return cudaErrorInvalidValue;
    int th = dim >= 256 ? 256 : 128;
    DISPATCH(dt, (embedding_k<<<(unsigned)rows, th, 0, s>>>((float *)y, (const float *)w, ids, d1, s0, s1, dim)),
             (embedding_k<<<(unsigned)rows, th, 0, s>>>((bf16 *)y, (const bf16 *)w, ids, d1, s0, s1, dim)));
}

template <typename T, typename I, int ACT>
static void bn_launch(T *y, const T *x, const T *w, const T *b, const T *mean, const T *var,
                      int64_t n, int C, int64_t HW, int nhwc, float eps, cudaStream_t s)
{
    const int K = vec_len<T>();
    if ((nhwc ? C % K == 0 : HW % K == 0) && vec_ok(n, K, y, x, x))
        batchnorm_vec_k<T, I, ACT><<<blocks_for(n / K, 256), 256, 0, s>>>(
            (uint4 *)y, (const uint4 *)x, w, b, mean, var, (I)(n / K), (I)C, (I)HW, nhwc, eps);
    else
        batchnorm_k<T, I, ACT><<<blocks_for(n, 256), 256, 0, s>>>(y, x, w, b, mean, var, (I)n,
                                                                 (I)C, (I)HW, nhwc, eps);
}

template <typename T, typename I>
static cudaError_t bn_act_launch(int act, T *y, const T *x, const T *w, const T *b, const T *mean,
                                 const T *var, int64_t n, int C, int64_t HW, int nhwc, float eps,
                                 cudaStream_t s)
{
    switch (act) {
    case DLM_K_ACT_NONE: bn_launch<T, I, -1>(y, x, w, b, mean, var, n, C, HW, nhwc, eps, s); break;
    case DLM_K_ACT_RELU: bn_launch<T, I, EW_RELU>(y, x, w, b, mean, var, n, C, HW, nhwc, eps, s); break;
    case DLM_K_ACT_RELU6: bn_launch<T, I, EW_RELU6>(y, x, w, b, mean, var, n, C, HW, nhwc, eps, s); break;
    case DLM_K_ACT_SILU: bn_launch<T, I, EW_SILU>(y, x, w, b, mean, var, n, C, HW, nhwc, eps, s); break;
    default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}

extern "C" cudaError_t dlm_k_batchnorm(void *y, const void *x, const void *w, const void *b,
                                       const void *mean, const void *var, int64_t N, int C,
                                       int64_t HW, int nhwc, float eps, int act, int dt,
                                       cudaStream_t s)
{
    int64_t n = N * C * HW;
    if (n <= 0) return cudaErrorInvalidValue;
    if (n < (1LL << 31)) {
        if (dt == DLM_K_F32)
            return bn_act_launch<float, unsigned>(act, (float *)y, (const float *)x, (const float *)w, (const float *)b, (const float *)mean, (const float *)var, n, C, HW, nhwc, eps, s);
        if (dt == DLM_K_BF16)
            return bn_act_launch<bf16, unsigned>(act, (bf16 *)y, (const bf16 *)x, (const bf16 *)w, (const bf16 *)b, (const bf16 *)mean, (const bf16 *)var, n, C, HW, nhwc, eps, s);
        return cudaErrorInvalidValue;
    }
    if (dt == DLM_K_F32)
        return bn_act_launch<float, int64_t>(act, (float *)y, (const float *)x, (const float *)w, (const float *)b, (const float *)mean, (const float *)var, n, C, HW, nhwc, eps, s);
    if (dt == DLM_K_BF16)
        return bn_act_launch<bf16, int64_t>(act, (bf16 *)y, (const bf16 *)x, (const bf16 *)w, (const bf16 *)b, (const bf16 *)mean, (const bf16 *)var, n, C, HW, nhwc, eps, s);
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t dlm_k_upsample2d(void *y, const void *x, int64_t N, int C, int H, int W,
                                        int Ho, int Wo, int bilinear, int align_corners,
                                        double scale, int nhwc, int dt, cudaStream_t s)
{
    int64_t n = N * C * (int64_t)Ho * Wo;
    if (n <= 0 || scale <= 0) return cudaErrorInvalidValue;
    /* the scale PyTorch's kernels use: 1/s given, or (in-1)/(out-1) with align_corners */
    float sh, sw;
    if (bilinear && align_corners) {
        sh = Ho > 1 ? (float)(H - 1) / (float)(Ho - 1) : 0.f;
        sw = Wo > 1 ? (float)(W - 1) / (float)(Wo - 1) : 0.f;
    } else {
        sh = sw = (float)(1.0 / scale);
    }
    DISPATCH(dt, (upsample_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, n, C, H, W, Ho, Wo, bilinear, align_corners, sh, sw, nhwc)),
             (upsample_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, n, C, H, W, Ho, Wo, bilinear, align_corners, sh, sw, nhwc)));
}

extern "C" cudaError_t dlm_k_maxpool2d(void *y, const void *x, int64_t N, int C, int H, int W,
                                       int Ho, int Wo, int kh, int kw, int sh, int sw, int ph,
                                       int pw, int nhwc, int dt, cudaStream_t s)
{
    int64_t n = N * C * Ho * Wo;
    if (n <= 0) return cudaErrorInvalidValue;
    if (n < (1LL << 31))
        DISPATCH(dt, (maxpool_k<float, unsigned><<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, (unsigned)n, (unsigned)C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, nhwc)),
                 (maxpool_k<bf16, unsigned><<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, (unsigned)n, (unsigned)C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, nhwc)));
    DISPATCH(dt, (maxpool_k<float, int64_t><<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, n, (int64_t)C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, nhwc)),
             (maxpool_k<bf16, int64_t><<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, n, (int64_t)C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, nhwc)));
}

extern "C" cudaError_t dlm_k_avgpool_adaptive(void *y, const void *x, int64_t N, int C, int H,
                                              int W, int oh, int ow, int nhwc, int dt,
                                              cudaStream_t s)
{
    int64_t n = N * C * oh * ow;
    DISPATCH(dt, (avgpool_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, n, C, H, W, oh, ow, nhwc)),
             (avgpool_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, n, C, H, W, oh, ow, nhwc)));
}

extern "C" cudaError_t dlm_k_to_nhwc(void *y, const void *x, int64_t N, int C, int64_t HW, int dt,
                                     cudaStream_t s)
{
    int64_t n = N * C * HW;
    if (n <= 0) return cudaErrorInvalidValue;
    if (n < (1LL << 31))
        DISPATCH(dt, (to_nhwc_k<float, unsigned><<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, (unsigned)n, (unsigned)C, (unsigned)HW)),
                 (to_nhwc_k<bf16, unsigned><<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, (unsigned)n, (unsigned)C, (unsigned)HW)));
    DISPATCH(dt, (to_nhwc_k<float, int64_t><<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, n, (int64_t)C, HW)),
             (to_nhwc_k<bf16, int64_t><<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, n, (int64_t)C, HW)));
}

extern "C" cudaError_t dlm_k_attention_ptrs(void **p, const void *q, const void *k, const void *v,
                                            void *s, void *o, int B, int heads, int kv_heads,
                                            int64_t T, dlm_k_attn_strides strides, int hd,
                                            int esize, cudaStream_t st)
{
    int nb = B * heads;
    if (nb <= 0 || kv_heads <= 0 || heads % kv_heads) return cudaErrorInvalidValue;
    attention_ptrs_k<<<(nb + 127) / 128, 128, 0, st>>>(p, (const char *)q, (const char *)k,
                                                       (const char *)v, (char *)s, (char *)o, B,
                                                       heads, kv_heads, T, strides, hd, esize);
    return cudaGetLastError();
}

extern "C" cudaError_t dlm_k_softmax_masked(void *y, const void *x, int64_t nb, int T, int Tp,
                                            int causal, int window, int dt, cudaStream_t s)
{
    int64_t rows = nb * T;
    unsigned g = (unsigned)((rows + 7) / 8);
    if (rows <= 0 || Tp < T) return cudaErrorInvalidValue;
    DISPATCH(dt, (softmax_masked_k<<<g, 256, 0, s>>>((float *)y, (const float *)x, rows, T, Tp, causal, window)),
             (softmax_masked_k<<<g, 256, 0, s>>>((bf16 *)y, (const bf16 *)x, rows, T, Tp, causal, window)));
}

extern "C" cudaError_t dlm_k_rmsnorm(void *y, const void *x, const void *w, int64_t rows, int dim,
                                     float eps, int dt, cudaStream_t s)
{
    if (rows <= 0 || rows > 0x7fffffffLL || dim <= 0) return cudaErrorInvalidValue;
    DISPATCH(dt, (rmsnorm_k<<<(unsigned)rows, 256, 0, s>>>((float *)y, (const float *)x, (const float *)w, dim, eps)),
             (rmsnorm_k<<<(unsigned)rows, 256, 0, s>>>((bf16 *)y, (const bf16 *)x, (const bf16 *)w, dim, eps)));
}

extern "C" cudaError_t dlm_k_rotary(void *cos_out, void *sin_out, const void *inv_freq, int64_t T,
                                    int D, float scaling, int dt, cudaStream_t s)
{
    int64_t n = T * D;
    if (n <= 0 || D % 2) return cudaErrorInvalidValue;
    DISPATCH(dt, (rotary_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)cos_out, (float *)sin_out, (const float *)inv_freq, n, D, scaling)),
             (rotary_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)cos_out, (bf16 *)sin_out, (const bf16 *)inv_freq, n, D, scaling)));
}

extern "C" cudaError_t dlm_k_rope(void *y, const void *x, const void *cos_t, const void *sin_t,
                                  int64_t B, int64_t T, int heads, int D, int dt, cudaStream_t s)
{
    int64_t n = B * T * heads * D;
    if (n <= 0 || D % 2) return cudaErrorInvalidValue;
    DISPATCH(dt, (rope_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, (const float *)cos_t, (const float *)sin_t, n, T, heads, D)),
             (rope_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, (const bf16 *)cos_t, (const bf16 *)sin_t, n, T, heads, D)));
}

extern "C" cudaError_t dlm_k_gelu_tanh(void *y, const void *x, int64_t n, int dt, cudaStream_t s)
{
    if (n <= 0) return cudaErrorInvalidValue;
    DISPATCH(dt, (gelu_tanh_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, n)),
             (gelu_tanh_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, n)));
}

extern "C" cudaError_t dlm_k_gelu_new(void *y, const void *x, int64_t n, int dt, cudaStream_t s)
{
    if (n <= 0) return cudaErrorInvalidValue;
    DISPATCH(dt, (gelu_new_k<<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)x, n)),
             (gelu_new_k<<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)x, n)));
}

extern "C" cudaError_t dlm_k_arange_i64(int64_t *y, int64_t n, cudaStream_t s)
{
    if (n <= 0) return cudaErrorInvalidValue;
    arange_k<<<blocks_for(n, 256), 256, 0, s>>>(y, n);
    return cudaGetLastError();
}

extern "C" cudaError_t dlm_k_strided_copy(void *y, const void *x, const dlm_k_copy4 *c, int esize,
                                          cudaStream_t s)
{
    int64_t n = c->dims[0] * c->dims[1] * c->dims[2] * c->dims[3];
    if (n <= 0) return cudaErrorInvalidValue;
    if (esize == 2)
        strided_copy_k<<<blocks_for(n, 256), 256, 0, s>>>((uint16_t *)y, (const uint16_t *)x, *c, n);
    else if (esize == 4)
        strided_copy_k<<<blocks_for(n, 256), 256, 0, s>>>((uint32_t *)y, (const uint32_t *)x, *c, n);
    else if (esize == 8)
        strided_copy_k<<<blocks_for(n, 256), 256, 0, s>>>((uint64_t *)y, (const uint64_t *)x, *c, n);
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

extern "C" cudaError_t dlm_k_im2col(void *col, const void *x, int N, int C, int H, int W, int Ho,
                                    int Wo, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
                                    int dw, int dt, cudaStream_t s)
{
    int64_t cols = (int64_t)N * Ho * Wo, n = (int64_t)C * kh * kw * cols;
    if (n <= 0) return cudaErrorInvalidValue;
    DISPATCH(dt, (im2col_k<float><<<blocks_for(n, 256), 256, 0, s>>>((float *)col, (const float *)x, n, cols, N, C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw)),
             (im2col_k<bf16><<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)col, (const bf16 *)x, n, cols, N, C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw)));
}

extern "C" cudaError_t dlm_k_kn_to_nk(void *y, const void *yt, int64_t K, int64_t N, int64_t P,
                                      int dt, cudaStream_t s)
{
    int64_t n = K * N * P;
    if (n <= 0) return cudaErrorInvalidValue;
    DISPATCH(dt, (kn_to_nk_k<float><<<blocks_for(n, 256), 256, 0, s>>>((float *)y, (const float *)yt, n, K, N, P)),
             (kn_to_nk_k<bf16><<<blocks_for(n, 256), 256, 0, s>>>((bf16 *)y, (const bf16 *)yt, n, K, N, P)));
}
