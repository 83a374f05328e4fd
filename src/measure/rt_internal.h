/* rt_internal.h — the GPU runtime's private state, shared by runtime.c and
 * the op files (ops_cudnn.c, ops_rnn.c, ops_blas.c, ops_misc.c).  Not part
 * of dlmem's interface. */
#ifndef DLM_RT_INTERNAL_H
#define DLM_RT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../analytic/liveness.h"
#include "runtime.h"

/* A tensor at the prepared point. */
typedef struct rt_tensor {
    int ndim;
    int64_t dims[DLM_MAX_DIMS];
    int64_t strides[DLM_MAX_DIMS]; /* elements; 0 broadcasts */
    int64_t numel;
    int64_t offset;   /* elements from the start of its storage (views) */
    int storage;      /* the tensor owning the memory (itself for storages) */
    size_t esize;     /* bytes per element */
    int nhwc;         /* 4-d and stored channels-last (N, H, W, C) at the point */
    void *ptr;        /* storages only: device address while allocated */
} rt_tensor;

/* One way to run a convolution: a legacy algorithm, a graph API execution
 * plan (conv_engines.c) or dlmem's im2col + cublasLt GEMM, with its
 * workspace and time. */
typedef struct rt_conv_cand {
    cudnnBackendDescriptor_t plan; /* graph API plan, or NULL */
    int gemm;                      /* 1: im2col + GEMM with lt_algo */
    cublasLtMatmulAlgo_t lt_algo;
    int64_t engine;                /* the plan's engine (cuDNN's global index), else -1 */
    cudnnConvolutionFwdAlgo_t algo;
    int dgrad;                     /* a transposed conv: backward-data algorithm dalgo */
    cudnnConvolutionBwdDataAlgo_t dalgo;
    cudnnMathType_t math;          /* legacy only (set on the descriptor by use_math) */
    size_t ws;                     /* workspace bytes */
    float ms;                      /* median time on this GPU (search), or 0 */
    int rank, of;                  /* its place in cuDNN's list (from 0), the list's length */
} rt_conv_cand;

#define RT_CONV_MAX_LEGACY 4  /* legacy algorithms timed per conv (best of FindEx) */
#define RT_CONV_MAX_GEMM 4    /* cublasLt algorithms timed per conv (its heuristic's best) */
/* Graph API plans timed per conv (best ranked first): in practice all that
 * cuDNN 9.14 offers a ResNet conv on an H100 (20 to 38 engine configs).
 * Timing only the best ranked 8 left bf16 ResNet-18 at B=4 32% slower: the
 * fastest engine was ranked 11th or lower for 12 of its 20 convs. */
#define RT_CONV_MAX_PLANS 64

typedef struct rt_conv {
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    rt_conv_cand pick; /* how it runs at the point (its ws: the workspace it needs) */
    int plan_owned;   /* 0: pick.plan belongs to an earlier conv of the same shapes */
    int n_tried;      /* candidates timed for the pick */
    int ws_shared;    /* 1: it runs in the cuBLAS workspace (lent, see plan.h) */
    /* The GEMM way at the point (NCHW, ungrouped; g_ok): col (C*kh*kw, N*P)
     * at the workspace's start, the GEMM's (K, N*P) output at g_yt (N > 1),
     * cublasLt's own workspace from g_lt on. */
    int g_ok;
    cublasLtMatmulDesc_t g_desc;
    cublasLtMatrixLayout_t g_a, g_b, g_c;
    size_t g_yt, g_lt;
    size_t bound;     /* the most workspace it may take at the point */
    size_t in_copy;   /* bytes of the channels-last copy of an NCHW input, or 0 */
} rt_conv;

typedef struct rt_nd {   /* batchnorm, pooling, activation through cuDNN */
    cudnnTensorDescriptor_t x, y, p;
    cudnnPoolingDescriptor_t pool;
    int use_cudnn;
    int act;   /* batchnorm: the in-place activation after it, run by its kernel
                  (DLM_K_ACT_*; DLM_K_ACT_NONE: none) */
} rt_nd;

typedef struct rt_rnn {
    cudnnRNNDescriptor_t desc;      /* packed sequence-major I/O, padded I/O off */
    cudnnRNNDescriptor_t desc_pad;  /* the same cell with padded I/O on (PyTorch's), or NULL */
    cudnnRNNDataDescriptor_t xu, yu;/* unpacked sequence-major, for desc_pad */
    int padded;                     /* at the point: 1 runs desc_pad on xu/yu */
    cudaGraphExec_t exec;           /* the cell's kernels captured once, replayed */
    void *gptr[4];                  /* x, y, h_n, c_n addresses the graph was made with */
    int captures;                   /* graphs made at this point (at most 2, then direct) */
    cudnnDropoutDescriptor_t drop;
    cudnnRNNDataDescriptor_t x, y;
    cudnnTensorDescriptor_t h;
    cudnnTensorDescriptor_t mdesc, bdesc; /* for cudnnGetRNNWeightParams */
    void *wspace;
    size_t wspace_bytes;
    void *work;
    size_t work_bytes, reserve_bytes;
    int32_t *seq_dev;
    size_t seq_bytes;
    int *seq_host;
    int gates;
} rt_rnn;

typedef struct rt_lin {   /* a linear layer through cublasLt */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
    int use_lt;              /* 0: cublasGemmEx with the bias prefilled */
    int64_t K, N;            /* in and out features */
    int transposed;          /* W stored (K, N) (GPT-2's Conv1D), else (N, K) */
    const void *bias;        /* device bias (N), or NULL */
    int64_t M, ld;           /* rows of x and their stride at the point */
} rt_lin;

typedef struct rt_op {
    int fused;     /* 1: the op before it did its work (a batchnorm's activation) */
    rt_conv conv;
    rt_nd nd;
    rt_rnn rnn;
    rt_lin lin;
    rt_lin lin2;   /* nn.MultiheadAttention: lin its in_proj, lin2 its out_proj */
} rt_op;

struct dlm_rt {
    const dlm_graph *g;
    dlm_rt_options opt;
    int dt;                       /* DLM_K_F32 or DLM_K_BF16 */
    size_t fsize;                 /* bytes of a float element */
    cudaDataType_t cuda_dt;
    cudnnDataType_t cudnn_dt;
    cublasComputeType_t compute;
    cudnnMathType_t conv_math;
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    cudnnActivationDescriptor_t relu;
    dlm_devmem mem;
    dlm_liveness *live;
    rt_tensor *t;                 /* per graph tensor */
    rt_op *ops;                   /* per graph op */
    int *owner, *slot;            /* params/buffers: owning op and index in it (-1) */
    int64_t *ids_bound;           /* int64 storages: rows of the smallest table they index */
    void *cublas_ws;
    int64_t cublas_ws_bytes;
    void *conv_ws;                /* the resident conv workspace (--conv-workspace SIZE) */
    int64_t conv_ws_bytes;
    int nhwc;                     /* conv nets run channels-last (4-d activations NHWC) */
    int conv_transient;           /* 1: each conv allocates its own workspace around it */
    int64_t conv_transient_max;   /* the largest of those at the prepared point */
    int64_t *live_bytes;          /* per op: the plan's L_o at the point (plan.h) */
    int64_t plan_peak;            /* P: their maximum */
    int prepared;
    int64_t B, T;
    dlm_rt_overhead over;
    dlm_rt_hook hook;
    void *hook_ctx;
};

/* Device address of tensor t (its storage's address plus its offset). */
void *rt_ptr(const dlm_rt *rt, int t);
int rt_contiguous(const rt_tensor *x);
/* Frees op scratch p (NULL: nothing) and keeps the first failure: *st takes the
 * free's status only when it was DLM_OK (the cleanup after a `fail:` label). */
void rt_scratch_free(dlm_rt *rt, void *p, dlm_status *st);
/* Host float32 -> device in the runtime's float type. */
dlm_status rt_upload_float(dlm_rt *rt, void *dev, const float *host, int64_t n);

/* ops_cudnn.c */
dlm_status rt_conv_create(dlm_rt *rt, int o);
/* room: what the conv may allocate around itself without raising the peak,
 * P - L_o - 1 (plan.h); it bounds the transient workspace (with the input's
 * channels-last copy, if any). */
dlm_status rt_conv_prepare(dlm_rt *rt, int o, size_t room);
dlm_status rt_conv_run(dlm_rt *rt, int o);
dlm_status rt_nd_create(dlm_rt *rt, int o);
dlm_status rt_nd_prepare(dlm_rt *rt, int o);
dlm_status rt_batchnorm_run(dlm_rt *rt, int o);
dlm_status rt_pool_run(dlm_rt *rt, int o);
dlm_status rt_relu_run(dlm_rt *rt, int o);
void rt_conv_unprepare(dlm_rt *rt, int o);
void rt_cudnn_op_destroy(dlm_rt *rt, int o);

/* conv_engines.c: the graph (backend) API.  Up to `max` execution plans of
 * op o's convolution at the prepared shapes, best ranked by cuDNN's
 * heuristics first, that run in the runtime's math mode and take at most
 * `bound` bytes of workspace (*n of them, owned by the caller). */
dlm_status rt_convg_plans(dlm_rt *rt, int o, size_t bound, rt_conv_cand *out, int max, int *n);
dlm_status rt_convg_run(dlm_rt *rt, cudnnBackendDescriptor_t plan, void *x, const void *w,
                        void *y, void *ws);
void rt_convg_free(cudnnBackendDescriptor_t *plan);

/* ops_rnn.c */
dlm_status rt_rnn_create(dlm_rt *rt, int o);
dlm_status rt_rnn_upload(dlm_rt *rt, int o, int slot, const float *host);
dlm_status rt_rnn_prepare(dlm_rt *rt, int o);
void rt_rnn_unprepare(dlm_rt *rt, int o);
dlm_status rt_rnn_run(dlm_rt *rt, int o);
void rt_rnn_destroy(dlm_rt *rt, int o);

/* ops_blas.c */
dlm_status rt_linear_create(dlm_rt *rt, int o);
dlm_status rt_linear_prepare(dlm_rt *rt, int o);
dlm_status rt_linear_run(dlm_rt *rt, int o);
void rt_linear_destroy(dlm_rt *rt, int o);
dlm_status rt_attention_run(dlm_rt *rt, int o);
dlm_status rt_mha_create(dlm_rt *rt, int o);
dlm_status rt_mha_prepare(dlm_rt *rt, int o);
dlm_status rt_mha_run(dlm_rt *rt, int o);

/* ops_misc.c: own kernels and copies */
dlm_status rt_add_run(dlm_rt *rt, int o);
dlm_status rt_unary_run(dlm_rt *rt, int o);
dlm_status rt_mul_run(dlm_rt *rt, int o);
dlm_status rt_concat_run(dlm_rt *rt, int o);
dlm_status rt_copy_run(dlm_rt *rt, int o);
dlm_status rt_layernorm_run(dlm_rt *rt, int o);
dlm_status rt_softmax_run(dlm_rt *rt, int o);
dlm_status rt_embedding_run(dlm_rt *rt, int o);
dlm_status rt_dropout_run(dlm_rt *rt, int o);
dlm_status rt_upsample_run(dlm_rt *rt, int o);
dlm_status rt_rmsnorm_run(dlm_rt *rt, int o);
dlm_status rt_rotary_run(dlm_rt *rt, int o);
dlm_status rt_rope_run(dlm_rt *rt, int o);
dlm_status rt_index_run(dlm_rt *rt, int o);

#endif
