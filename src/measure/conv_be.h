/* conv_be.h — one convolution as an operation graph of cuDNN's backend
 * (graph) API, its engine configs and their execution plans: the pieces
 * the runtime (conv_engines.c: dlmem's own choice) and `dlmem probe`
 * (probe_conv.c: PyTorch's choice) share.  Each caller decides the tensor
 * strides, alignments, unique ids and which configs it accepts; this file
 * only builds what it is told.  Not part of dlmem's interface.
 */
#ifndef DLM_CONV_BE_H
#define DLM_CONV_BE_H

#include <stddef.h>
#include <stdint.h>

#include "gpu.h"

/* Which convolution node: Y = conv(X, W), dX = conv_bwd_data(dY, W),
 * dW = conv_bwd_filter(X, dY). */
typedef enum dlm_be_conv_op {
    DLM_BE_CONV_FWD,
    DLM_BE_CONV_BWD_DATA,
    DLM_BE_CONV_BWD_FILTER
} dlm_be_conv_op;

/* One 4-d tensor of the node. */
typedef struct dlm_be_tensor {
    int64_t dims[4];    /* N, C, H, W (the filter: K, C/groups, R, S) */
    int64_t strides[4]; /* elements */
    int64_t uid;
    int64_t align;      /* CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT */
    cudnnDataType_t dt;
} dlm_be_tensor;

/* The node's geometry: x is the input-side tensor (X or dX), w the filter
 * side (W or dW), y the output side (Y or dY), whatever the direction. */
typedef struct dlm_be_conv {
    dlm_be_conv_op op;
    dlm_be_tensor x, w, y;
    cudnnDataType_t comp;  /* CUDNN_ATTR_CONVOLUTION_COMP_TYPE */
    int64_t pad[2], stride[2], dil[2];
} dlm_be_conv;

/* Contiguous strides of dims, NCHW or channels-last (N, H, W, C in memory). */
void dlm_be_strides(const int64_t dims[4], int nhwc, int64_t strides[4]);

/* A finalized operation graph of one node (*graph owned by the caller). */
dlm_status dlm_be_conv_graph(cudnnHandle_t h, const dlm_be_conv *c,
                             cudnnBackendDescriptor_t *graph);

/* The engine configs cuDNN's heuristics give the graph in `mode`, in its
 * order (*cfgs and its descriptors owned by the caller: dlm_be_configs_free). */
dlm_status dlm_be_configs(cudnnBackendDescriptor_t graph, cudnnBackendHeurMode_t mode,
                          cudnnBackendDescriptor_t **cfgs, int64_t *n);
void dlm_be_configs_free(cudnnBackendDescriptor_t *cfgs, int64_t n);

/* A config's engine (global index), numerical notes (bit 1<<note set for
 * each it has) and, if tag is not NULL, "eng<id>{k<type>=<value>;...}". */
dlm_status dlm_be_config_info(cudnnBackendDescriptor_t cfg, int64_t *engine, unsigned *notes,
                              char *tag, size_t tag_size);

/* An execution plan of cfg and its workspace; CUDNN_STATUS_SUCCESS or the
 * status of the step that refused (no plan then: cuDNN cannot build this
 * config for these shapes). */
cudnnStatus_t dlm_be_plan(cudnnHandle_t h, cudnnBackendDescriptor_t cfg,
                          cudnnBackendDescriptor_t *plan, int64_t *ws);

/* Runs a plan on n tensors (uids[i] at ptrs[i]) with workspace ws;
 * returns cuDNN's status (the caller decides whether a refusal is an error). */
cudnnStatus_t dlm_be_execute(cudnnHandle_t h, cudnnBackendDescriptor_t plan, int n,
                             const int64_t *uids, void *const *ptrs, void *ws);

void dlm_be_free(cudnnBackendDescriptor_t *d);

#endif
