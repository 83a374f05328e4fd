/* plan.h — what dlmem's GPU runtime allocates, stated once so that the
 * analytic `runtime` profile (src/analytic/) can predict its peak to the byte.
 *
 * The runtime (src/measure/runtime.h) follows these rules in infer mode:
 *   resident   every parameter (numel * dtype size; the RNN's parameters live
 *              in one cuDNN weight space of exactly that size), every buffer
 *              (float buffers in the dtype, int64 buffers 8 bytes), every input
 *              (numel * element size), and the named workspaces of the point
 *              (cublas_workspace, cudnn_conv_workspace, cudnn_rnn_workspace,
 *              cudnn_rnn_reserve, rnn_seq_lengths: sizes in the CSV of
 *              `dlmem measure`), all allocated before the measured run;
 *   per op o   (1) each storage born at o (dlm_liveness_infer) is allocated,
 *              numel * element size bytes, no rounding; (2) the op's scratch
 *              (dlm_plan_op_scratch, bytes) is allocated, used and freed; (3) the
 *              storages that die at o are freed.  Dropout in inference copies
 *              its input into its own storage, as the graph declares it.
 *   outputs    stay allocated after the run (after_bytes) until released.
 * So the peak is resident + P, with P = max over o of L_o and L_o = (storages
 * alive after (1) at o + scratch of o): dlm_plan_live_bytes.  Bytes are
 * counted exactly (the runtime's own accounting); the CUDA pool's watermark
 * is reported beside it.
 *
 * Convolution workspaces (cuDNN) come in one of two ways:
 *   transient  (the default, --conv-workspace auto) each convolution o
 *              allocates its workspace right before it runs and frees it right
 *              after, and its algorithm is the fastest whose workspace is
 *              below the plan's headroom there, P - L_o (strictly: the peak
 *              stays where the plan puts it), or fits the resident cuBLAS
 *              workspace: a workspace of at most cublas_workspace bytes runs
 *              in that buffer, lent to cuDNN (both libraries run on the
 *              runtime's one stream, never at once, and neither keeps
 *              anything in it between calls), and is not allocated at all.
 *              The workspace never adds to the peak, before or after; the
 *              resident cudnn_conv_workspace term is 0 and the CSV reports
 *              the largest workspace allocated around a conv apart
 *              (cudnn_conv_transient_max_bytes, with the channels-last copy
 *              of an NCHW input), for information.
 *   resident   (--conv-workspace SIZE) one shared buffer, the largest need of
 *              the chosen algorithms with workspaces of at most SIZE bytes,
 *              allocated before the run: the named term cudnn_conv_workspace.
 *
 * What it is not: a memory model (that is src/analytic/memory.h) or a
 * description of PyTorch's behaviour.
 */
#ifndef DLM_PLAN_H
#define DLM_PLAN_H

#include "../analytic/liveness.h"
#include "../core/poly.h"
#include "../models/graph.h"

/* The element type of the runtime's weights and activations. */
typedef enum dlm_rt_dtype { DLM_RT_FP32, DLM_RT_BF16 } dlm_rt_dtype;
const char *dlm_rt_dtype_name(dlm_rt_dtype d); /* "fp32", "bf16" */

/* Memory layout of a conv net's 4-d activations and filters (the runtime's
 * Layout, runtime.h); the bytes are the same either way. */
typedef enum dlm_rt_layout {
    DLM_RT_LAYOUT_AUTO, /* bf16: channels-last (NHWC); fp32: NCHW */
    DLM_RT_LAYOUT_NCHW,
    DLM_RT_LAYOUT_NHWC  /* bf16 only */
} dlm_rt_layout;

/* Where a convolution's candidates come from (--conv-api): cuDNN's legacy
 * cudnnConvolutionForward algorithms, cuDNN's graph (backend) API engines,
 * dlmem's own im2col + one cublasLt GEMM (NCHW, ungrouped), or all three
 * (the default; the fastest wins when searching). */
typedef enum dlm_rt_conv_api {
    DLM_RT_CONV_API_ALL = 0,
    DLM_RT_CONV_API_LEGACY,
    DLM_RT_CONV_API_GRAPH,
    DLM_RT_CONV_API_GEMM
} dlm_rt_conv_api;

/* --conv-workspace auto: transient convolution workspaces inside the plan's
 * headroom (see above); any value >= 0 is the limit of a resident buffer. */
#define DLM_RT_CONV_WS_AUTO (-1LL)

/* Bytes of scratch op `op` allocates while it runs at (B, T), in a run of
 * dtype `dt`; zero for most ops.  Eager attention keeps one buffer of scores
 * (B * heads blocks of Tp x Tp elements, Tp = T rounded up to 16 bytes of
 * elements, dlm_plan_score_cols: rows aligned for cuBLAS's tensor-core
 * kernels; softmax runs in place on it) and the device arrays of block
 * addresses its two batched GEMMs read (K, Q, S, V and O blocks: 5 * B *
 * heads pointers of 8 bytes): heads*B*Tp^2*size + 40*heads*B, causal or
 * grouped-query alike.  nn.MultiheadAttention (ViT) adds its packed in_proj
 * output (B, T, 3E) and the attention's context (B, T, E) before out_proj:
 * + 4*B*T*E*size.  Inference runs no train-only op (the loss). */
int64_t dlm_plan_op_scratch(const dlm_graph *g, int op, dlm_rt_dtype dt, int64_t B, int64_t T);
/* T rounded up to a multiple of 16 bytes of dt's elements (4 in fp32, 8 in bf16). */
int64_t dlm_plan_score_cols(int64_t T, dlm_rt_dtype dt);

/* Bytes per float element in a run of dtype dt (4 or 2). */
int dlm_rt_dtype_size(dlm_rt_dtype dt);

/* Name of that scratch for reports ("attention_scores"), or NULL if none. */
const char *dlm_plan_op_scratch_name(const dlm_graph *g, int op);

/* The plan's bytes above the resident ones while each op runs, at (B, T) (T
 * is ignored by models without a sequence) in a run of dtype dt:
 * live[o] = L_o, the storages alive after op o's births plus o's scratch, for
 * every op (live has g->n_ops slots); *peak = P, their maximum.  P - live[o]
 * is what op o may take for itself without raising the peak.  A dimension
 * below 1 at (B, T) is DLM_ERANGE. */
dlm_status dlm_plan_live_bytes(const dlm_graph *g, const dlm_liveness *l, int64_t B, int64_t T,
                               dlm_rt_dtype dt, int64_t *live, int64_t *peak);

#endif
