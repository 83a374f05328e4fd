/* gpus.h — the GPUs `dlmem fit` and `dlmem memory --gpu` know by name: memory,
 * compute capability and the CUDA context a process takes on them.
 *
 * Every number states its source.  Memory is the total nvidia-smi reports
 * (MiB) where a public nvidia-smi log gives it (cited per row), else the
 * board's nominal capacity, said so.  The CUDA context (+ the cuBLAS and
 * cuDNN handles PyTorch creates) is a named term of `fit` and `advise` (it is
 * outside any allocator, so no max_memory_allocated() counts it); it was
 * measured on sm_90 (H200) only, and for every other architecture the sm_90
 * figure is an estimate, flagged by context_measured = 0 so that every output
 * can say so.
 *
 * What it is not: a device query.  On a machine with a GPU, trust
 * cudaMemGetInfo over this table.
 */
#ifndef DLM_GPUS_H
#define DLM_GPUS_H

#include <stdint.h>

#include "../core/status.h"

typedef struct dlm_gpu {
    const char *name;        /* "h100", "rtx3050-4gb" */
    const char *full;        /* "NVIDIA H100 SXM5 80 GB" */
    int64_t memory;          /* bytes */
    int sm;                  /* compute capability x10 */
    int64_t context;         /* bytes the CUDA context (+ cuBLAS/cuDNN handles) takes */
    const char *source;      /* where memory and context come from */
    int context_measured;    /* 1: context measured on this architecture; 0: an estimate */
} dlm_gpu;

/* All known GPUs, in the order help lists them. */
const dlm_gpu *dlm_gpus(int *n);
/* One line on how the context figure is known, for outputs: "measured on an
 * H200 (sm_90)" or "estimate: the sm_90 (H200) measurement; not measured on
 * sm_89". */
const char *dlm_gpu_context_note(const dlm_gpu *g, char *buf, unsigned long n);
/* By name (case-insensitive; "a100" means a100-80gb); unknown names are
 * DLM_EINVAL listing the valid ones. */
dlm_status dlm_gpu_find(const char *name, const dlm_gpu **out);

#endif
