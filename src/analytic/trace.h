/* trace.h — the walker that turns a network graph and a memory configuration
 * into a timeline of allocations and frees, applying each op's rule
 * (ops/rule.h, one file per op family) (internal to src/analytic/).
 *
 * Two profiles share the rules:
 *   runtime  what dlmem's GPU runtime does: the liveness.h plan at exact bytes,
 *            library workspaces as named resident inputs, no warm-up;
 *   pytorch  what PyTorch 2.x eager does for tools/torch_reference.py's
 *            protocol: the model moved to the GPU tensor by tensor, the input,
 *            a warm-up step, the peak reset, the measured step; Python frames
 *            that keep tensors alive, autograd's saved tensors, the temporaries
 *            of aten kernels (maxpool indices, LayerNorm statistics, matmul
 *            copies of transposed operands), cuBLAS/cuDNN workspaces, gradient
 *            accumulation and the foreach optimizer.
 *
 * What it is not: the per-op rules (ops/), the evaluator (timeline.c) or the
 * public API (memory.c).
 */
#ifndef DLM_TRACE_H
#define DLM_TRACE_H

#include "convtab.h"
#include "memory.h"
#include "timeline.h"

/* What a build used of the measured convolution workspaces. */
typedef struct dlm_trace_info {
    int conv_measured;  /* fp32 convolutions whose workspace came from the table */
    int conv_unknown;   /* fp32 convolutions (forward or backward) the table lacks */
    const dlm_conv_series *series; /* one series used (for the note), NULL if none */
} dlm_trace_info;

/* Builds the whole protocol into t and fills layers[g->n_ops].  `convtab`
 * (may be NULL) holds the measured cuDNN convolution workspaces the pytorch
 * profile uses for fp32 convolutions; it must outlive t. */
dlm_status dlm_trace_build(const dlm_graph *g, const dlm_mem_config *cfg,
                           const dlm_convtab *convtab, dlm_timeline *t, dlm_mem_layer *layers,
                           dlm_trace_info *info);

/* PyTorch's cuBLAS workspace for a GPU architecture (GPU_NOTES.md). */
int64_t dlm_torch_cublas_workspace(int sm);

/* DLM_OK when the rules cover every op of g under cfg; else DLM_EUNSUPPORTED
 * naming the op or the setting (ops/decoder.c: the decoder ops have rules for
 * inference in the PyTorch profile only). */
dlm_status dlm_trace_supports(const dlm_graph *g, const dlm_mem_config *cfg);

#endif
