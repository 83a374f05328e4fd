/* probe.h — `dlmem probe`: asks cuDNN and cuBLAS on this GPU, without running
 * the network or allocating its activations, for the workspace of every
 * library call the memory model counts, as PyTorch 2.11 would make it, and
 * writes one row per (choice, op instance shape, phase, dtype, batch[, seq])
 * in the format of /work/brief/WSROWS.md (README: data/cudnn/README.md):
 *
 *   gpu,sm,cudnn_version,cublas_version,logic,op,phase,dtype,layout,key,batch,seq,
 *   workspace_bytes,reserve_bytes,engine,status
 *
 * Convolutions (probe_conv.c): PyTorch's Conv_v8.cpp with cudnn.benchmark off,
 * forward and (train) backward-data and backward-filter.  RNNs (probe_rnn.c):
 * cudnnGetRNNTempSpaceSizes with PyTorch's descriptors and get_algo.  cuBLAS
 * and cuBLASLt: the workspaces CublasHandlePool.cpp allocates (probe.c).
 *
 * Rows go to `output` ("-": stdout), or by default to the user cache
 * ${XDG_CACHE_HOME:-$HOME/.cache}/dlmem/workspaces-<gpu>-cudnn<version>.csv;
 * a file that exists is appended to, and a key it already has is not probed
 * again (never two rows of one key).  Each row is flushed as it is written.
 *
 * What it is not: a measurement of a network (dlmem measure) or of PyTorch
 * (tools/torch_reference.py); the rows are the libraries' own answers.
 */
#ifndef DLM_PROBE_H
#define DLM_PROBE_H

#include <stdint.h>

#include "../models/graph.h"

typedef enum dlm_probe_dtype {
    DLM_PROBE_FP32,      /* fp32, TF32 off (torch.backends.*.allow_tf32 = False) */
    DLM_PROBE_FP32_TF32, /* fp32 with TF32 allowed (PyTorch's cuDNN default) */
    DLM_PROBE_FP16,
    DLM_PROBE_BF16,
    DLM_PROBE_N_DTYPES
} dlm_probe_dtype;

typedef struct dlm_probe_config {
    const dlm_graph *g;
    const int64_t *batch;
    int n_batch;
    const int64_t *seq;   /* one 0 for models without a sequence */
    int n_seq;
    int infer, train;     /* which phases: inference, training (forward + backward) */
    const dlm_probe_dtype *dtypes;
    int n_dtypes;
    int nhwc;             /* convolutions channels-last (a model PyTorch converted) */
    int align;            /* bytes getAlignment() reports for PyTorch's data pointers */
    const char *output;   /* NULL: the user cache; "-": stdout; else a file */
} dlm_probe_config;

/* The row names of dlm_probe_dtype ("fp32", "fp32-tf32", "fp16", "bf16"). */
const char *dlm_probe_dtype_name(dlm_probe_dtype d);
/* The CSV header line (no newline). */
const char *dlm_probe_header(void);

/* Runs the probe.  No GPU, no usable cuDNN, or a build without CUDA:
 * DLM_ENOGPU with one line saying why. */
dlm_status dlm_probe_run(const dlm_probe_config *c);

#endif
