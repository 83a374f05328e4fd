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

#include "memory.h"
#include "timeline.h"
#include "workspaces.h"

/* What a build took from the workspace rows. */
typedef struct dlm_trace_info {
    int ws_terms;              /* library terms looked up in rows */
    int ws_missing;            /* of them, with no row at any size */
    uint32_t ws_sources[8];    /* bit i: a series of source i was used */
} dlm_trace_info;

/* Builds the whole protocol into t and fills layers[g->n_ops].  `ws` (may be
 * NULL: none known) holds the library workspace rows the pytorch profile
 * looks up under cuDNN version `cudnn`; it must outlive t. */
dlm_status dlm_trace_build(const dlm_graph *g, const dlm_mem_config *cfg, const dlm_ws_db *ws,
                           int cudnn, dlm_timeline *t, dlm_mem_layer *layers,
                           dlm_trace_info *info);

/* PyTorch's cuBLAS workspace for a GPU architecture (GPU_NOTES.md). */
int64_t dlm_torch_cublas_workspace(int sm);

/* DLM_OK when the rules cover every op of g under cfg; else DLM_EUNSUPPORTED
 * naming the op or the setting (ops/decoder.c: the decoder ops have rules for
 * inference in the PyTorch profile only). */
dlm_status dlm_trace_supports(const dlm_graph *g, const dlm_mem_config *cfg);

#endif
