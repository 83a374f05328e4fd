/* trace.h — the rules that turn a network graph and a memory configuration
 * into a timeline of allocations and frees (internal to src/analytic/).
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
 * What it is not: the evaluator (timeline.c) or the public API (memory.c).
 */
#ifndef DLM_TRACE_H
#define DLM_TRACE_H

#include "memory.h"
#include "timeline.h"

/* Builds the whole protocol into t and fills layers[g->n_ops]. */
dlm_status dlm_trace_build(const dlm_graph *g, const dlm_mem_config *cfg, dlm_timeline *t,
                           dlm_mem_layer *layers);

/* PyTorch's cuBLAS workspace for a GPU architecture (GPU_NOTES.md). */
int64_t dlm_torch_cublas_workspace(int sm);

#endif
