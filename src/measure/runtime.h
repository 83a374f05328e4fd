/* runtime.h — dlmem's GPU runtime: executes a src/models graph on one CUDA
 * GPU with cuDNN (convolution, batchnorm, pooling, activation, LSTM/GRU),
 * cuBLAS and cublasLt (linear layers, attention GEMMs) and dlmem's own kernels, and counts
 * every byte it allocates.
 *
 * It reads the same graph the analytic model reads; nothing here describes a
 * network.  Memory follows plan.h exactly (infer mode): weights, buffers,
 * inputs and named workspaces resident; activation storages allocated when
 * made and freed after their last reader (dlm_liveness_infer); convolution
 * workspaces allocated around their convolution, inside the plan's headroom
 * there, unless a resident buffer is asked for.
 *
 * Life cycle:
 *     dlm_rt_create          handles, pool, cuBLAS workspace, weights allocated
 *     dlm_rt_load_weights    or dlm_rt_init_weights (deterministic random)
 *     dlm_rt_prepare(B, T)   input and per-point workspaces, algorithm choice
 *     dlm_rt_set_input / dlm_rt_random_inputs
 *     dlm_rt_forward         one inference pass; outputs stay allocated
 *     dlm_rt_read_tensor     copies a tensor to the host as float32
 *     dlm_rt_release_outputs
 *     dlm_rt_unprepare       frees what prepare made
 *     dlm_rt_free
 *
 * Math: fp32 is exact FP32 by default (cuDNN FMA math, CUBLAS_COMPUTE_32F, no
 * TF32); tf32 lets cuDNN and cuBLAS use TF32 tensor cores, as PyTorch does by
 * default for cuDNN.  bf16 stores weights and activations in bfloat16 and
 * accumulates in float32 (every network but the RNNs: the cuDNN RNN path is
 * fp32 only); elementwise chains PyTorch runs as several kernels (RMSNorm,
 * RoPE, gelu_new) round to bf16 where PyTorch's kernels do.
 *
 * Transformers (inference, eager attention): attention reads q, k and v as
 * (B, T, features) views with their own row strides (GPT-2's slices of one
 * projection, MHA's packed in_proj), grouped-query heads by repeat_kv's
 * mapping, a causal or sliding-window mask in its softmax; the KV cache the
 * decoders return (graph->cache) stays allocated with the outputs, and
 * dlm_rt_release_outputs frees it.  The loss op (train only) is not run.
 *
 * Layout: in bf16, conv nets run channels-last by default: conv filters are
 * stored (K, R, S, C) and every 4-d activation (N, H, W, C), which cuDNN's
 * tensor-core convolutions take without transposing anything in their
 * workspace; dlmem's batchnorm, pooling and elementwise kernels follow.  The
 * bytes are the same as NCHW, so the memory plan is unchanged; an NCHW input
 * (the image) gets a channels-last copy around the convolution that reads it,
 * inside the plan's headroom.  Adaptive average pooling writes NCHW, and a
 * flatten of a channels-last tensor is allowed only where H = W = 1 (then both
 * layouts are one).  dlm_rt_read_tensor returns NCHW either way.
 *
 * What it is not: a training engine (no backward, no optimizer) or a fused
 * inference engine: each graph op runs as the graph says, so that its memory
 * is the graph's.
 */
#ifndef DLM_RUNTIME_H
#define DLM_RUNTIME_H

#include <stdint.h>

#include "../models/graph.h"
#include "devmem.h"
#include "gpu.h"
#include "plan.h"
#include "tensorfile.h"

typedef struct dlm_rt_options {
    dlm_rt_dtype dtype;
    int tf32;          /* allow TF32 in cuDNN and cuBLAS (fp32 only) */
    int64_t mem_limit; /* refuse tracked allocations beyond this (0: none) */
    int64_t conv_ws_limit; /* DLM_RT_CONV_WS_AUTO (-1): transient convolution workspaces
                              inside the plan's headroom; >= 0: the limit of one resident
                              buffer (plan.h) */
    int conv_search;   /* 1: time the candidates and take the fastest; 0: cuDNN's ranking */
    dlm_rt_conv_api conv_api; /* where the candidates come from (both by default) */
    dlm_rt_layout layout;
    int device;
} dlm_rt_options;

typedef struct dlm_rt dlm_rt;

/* Bytes per named workspace of the prepared point (zero where unused). */
typedef struct dlm_rt_workspaces {
    int64_t cublas;          /* cublas_workspace (cublasSetWorkspace) */
    int64_t cudnn_conv;      /* cudnn_conv_workspace: the resident buffer (0 when transient) */
    int64_t cudnn_rnn;       /* cudnn_rnn_workspace (inference temp space) */
    int64_t cudnn_rnn_reserve; /* cudnn_rnn_reserve (0 in inference) */
    int64_t rnn_seq_lengths; /* rnn_seq_lengths: the device int32 array cuDNN reads */
    int64_t cudnn_conv_transient_max; /* not resident: the largest convolution workspace
                                         allocated around its convolution (plan.h) */
} dlm_rt_workspaces;

/* What the handles and the context took (cudaMemGetInfo deltas at create). */
typedef struct dlm_rt_overhead {
    int64_t context;         /* CUDA context (+ anything else on the GPU before) */
    int64_t cudnn_handle;    /* cudnnCreate */
    int64_t cublas_handle;   /* cublasCreate + cublasLtCreate */
} dlm_rt_overhead;

dlm_status dlm_rt_create(const dlm_graph *g, const dlm_rt_options *o, dlm_rt **out);
void dlm_rt_free(dlm_rt *rt);

/* Parameters then buffers from a tensor file in graph order; names, shapes
 * and types must match (the first mismatch is named). */
dlm_status dlm_rt_load_weights(dlm_rt *rt, const dlm_tensorfile *f);
/* Deterministic random weights: conv/linear/RNN U(-1/sqrt(fan_in), +),
 * embeddings U(-0.0346, +) (std 0.02), norm weights 1 and biases 0, BatchNorm
 * statistics 0 and 1, int64 buffers valid ids for the embeddings they feed. */
dlm_status dlm_rt_init_weights(dlm_rt *rt, uint64_t seed);

/* Sets up the point (B, T): input storage, per-op descriptors and algorithms,
 * workspaces.  Out of memory is DLM_EGPUOOM (nothing of the point remains). */
dlm_status dlm_rt_prepare(dlm_rt *rt, int64_t B, int64_t T);
void dlm_rt_unprepare(dlm_rt *rt);

/* Input i from host data (float32 or int64 as the input's type, numel
 * values); token ids are checked against the embedding they feed. */
dlm_status dlm_rt_set_input(dlm_rt *rt, int i, const void *host, int64_t numel);
dlm_status dlm_rt_random_inputs(dlm_rt *rt, uint64_t seed);

/* Called after each op (for comparisons with PyTorch's activations). */
typedef dlm_status (*dlm_rt_hook)(dlm_rt *rt, int op, void *ctx);
void dlm_rt_set_hook(dlm_rt *rt, dlm_rt_hook hook, void *ctx);

/* One inference pass, enqueued on the runtime's stream (the hook, if any,
 * synchronizes).  On failure every activation is freed. */
dlm_status dlm_rt_forward(dlm_rt *rt);
dlm_status dlm_rt_release_outputs(dlm_rt *rt);

/* Copies tensor t (alive now, contiguous) to host as float32 (int64 tensors
 * are refused); n must be its element count. */
dlm_status dlm_rt_read_tensor(dlm_rt *rt, int t, float *host, int64_t n);
/* Element count of tensor t at the prepared point. */
int64_t dlm_rt_numel(const dlm_rt *rt, int t);

/* What the runtime chose for op o at the prepared point, for reports:
 * "algo=1 ws=2048" for a convolution, "lt" / "gemmex" for a linear, "". */
void dlm_rt_op_detail(const dlm_rt *rt, int o, char *buf, size_t n);
const dlm_graph *dlm_rt_graph(const dlm_rt *rt);
cudaStream_t dlm_rt_stream(const dlm_rt *rt);
dlm_devmem *dlm_rt_devmem(dlm_rt *rt);
void dlm_rt_workspaces_get(const dlm_rt *rt, dlm_rt_workspaces *w);
/* "nhwc" or "nchw" for a net with convolutions, "" otherwise. */
const char *dlm_rt_layout_name(const dlm_rt *rt);
void dlm_rt_overhead_get(const dlm_rt *rt, dlm_rt_overhead *o);

#endif
