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
 * So the peak is resident + max over o of (storages alive after (1) at o +
 * scratch of o).  Bytes are counted exactly (the runtime's own accounting);
 * the CUDA pool's watermark is reported beside it.
 *
 * What it is not: a memory model (that is src/analytic/memory.h) or a
 * description of PyTorch's behaviour.
 */
#ifndef DLM_PLAN_H
#define DLM_PLAN_H

#include "../core/poly.h"
#include "../models/graph.h"

/* The element type of the runtime's weights and activations. */
typedef enum dlm_rt_dtype { DLM_RT_FP32, DLM_RT_BF16 } dlm_rt_dtype;
const char *dlm_rt_dtype_name(dlm_rt_dtype d); /* "fp32", "bf16" */

/* Default limit on the one shared cuDNN convolution workspace: each conv
 * takes the fastest algorithm whose workspace fits it.  The buffer stays
 * allocated for the whole pass, so it adds to the peak; 1 MiB keeps the
 * runtime's ResNet18 peak at or below PyTorch's on the seed's grid (whose
 * workspaces are transient), at some cost in speed: see bench/. */
#define DLM_RT_CONV_WS_DEFAULT (1LL << 20)

/* Bytes of scratch op `op` allocates while it runs, in a run of dtype `dt`;
 * zero for most ops.  Eager attention keeps one buffer of scores
 * (B * heads * T * T elements; softmax runs in place on it) and the device
 * arrays of block addresses its two batched GEMMs read (K, Q, S, V and O
 * blocks: 5 * B * heads pointers of 8 bytes): heads*B*T^2*size + 40*heads*B. */
dlm_poly dlm_plan_op_scratch(const dlm_graph *g, int op, dlm_rt_dtype dt);

/* Bytes per float element in a run of dtype dt (4 or 2). */
int dlm_rt_dtype_size(dlm_rt_dtype dt);

/* Name of that scratch for reports ("attention_scores"), or NULL if none. */
const char *dlm_plan_op_scratch_name(const dlm_graph *g, int op);

#endif
