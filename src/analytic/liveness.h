/* liveness.h — when each activation storage is born and when it can be freed,
 * over the graph's execution order (ggml's allocator idea: count readers, free
 * a tensor after its last one).
 *
 * This is the one plan that both the analytic memory model and the GPU runtime
 * follow for a forward pass without autograd ("infer"), so that the analytic
 * `runtime` profile predicts the runtime's allocations exactly.
 *
 * Storages: an activation tensor with alias_of == -1 owns its storage; views and
 * in-place results share their base's storage, and a read of any alias counts
 * as a read of the base.  Inputs, parameters and buffers are not planned here:
 * they live for the whole run.  Graph outputs and the KV cache returned with
 * them (graph->cache) live to the end; an op that runs only in a training
 * step (the model's own loss) is not part of the plan.  A storage that
 * nothing reads (an LSTM's h_n and c_n) dies right after the op that made it.
 */
#ifndef DLM_LIVENESS_H
#define DLM_LIVENESS_H

#include "../models/graph.h"

typedef struct dlm_liveness {
    int n_ops;
    int *last_use;  /* per tensor (storages only; -1 otherwise): last op reading it,
                       n_ops for graph outputs (never freed) */
    int *born;      /* storages made by each op, flattened: op o's are
                       born[born_start[o] .. born_start[o+1]) */
    int *born_start;
    int *dies;      /* storages freed right after op o:
                       dies[dies_start[o] .. dies_start[o+1]) */
    int *dies_start;
} dlm_liveness;

dlm_status dlm_liveness_infer(const dlm_graph *g, dlm_liveness **out);
void dlm_liveness_free(dlm_liveness *l);

/* 1 if tensor t owns an activation storage that the plan manages. */
int dlm_liveness_is_storage(const dlm_graph *g, int t);

#endif
