/* gpus.h — the GPUs `dlmem fit` and `dlmem memory --gpu` know by name: memory,
 * compute capability and the CUDA context a process takes on them.
 *
 * Every number states its source.  Memory is the nominal capacity of the
 * board (the datasheet's GiB/GB) unless a measurement is named; the CUDA
 * context is a named term of `fit` (it is outside any allocator, so no
 * max_memory_allocated() counts it).
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
} dlm_gpu;

/* All known GPUs, in the order help lists them. */
const dlm_gpu *dlm_gpus(int *n);
/* By name (case-insensitive; "a100" means a100-80gb); unknown names are
 * DLM_EINVAL listing the valid ones. */
dlm_status dlm_gpu_find(const char *name, const dlm_gpu **out);

#endif
