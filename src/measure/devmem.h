/* devmem.h — the one tracking allocator every device allocation of the GPU
 * runtime goes through.
 *
 * Memory comes from a dedicated CUDA memory pool (cudaMallocFromPoolAsync on
 * the runtime's stream) that keeps what it has reserved (release threshold
 * at its maximum) and whose used-memory high watermark is reset before each
 * measured region.  Beside the pool, the allocator counts the bytes asked
 * for, exactly, per kind, and remembers the peak, the op that was running at
 * the peak and the composition of the peak.  Both are reported.
 *
 * An optional limit (bytes) makes any allocation beyond it fail as out of
 * memory, as a smaller GPU would: it lets a sweep run into `oom` on purpose.
 *
 * What it is not: a caching allocator with rounding (PyTorch's is modelled in
 * src/analytic/); sizes here are exact and freed memory returns to the pool.
 */
#ifndef DLM_DEVMEM_H
#define DLM_DEVMEM_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime.h>

#include "../core/status.h"

typedef enum dlm_mem_kind {
    DLM_MK_WEIGHTS,    /* parameters (and the RNN weight space that holds them) */
    DLM_MK_BUFFERS,    /* BatchNorm statistics, position ids, ... */
    DLM_MK_INPUTS,     /* the network's inputs */
    DLM_MK_WORKSPACE,  /* named library workspaces */
    DLM_MK_ACT,        /* activation storages */
    DLM_MK_SCRATCH,    /* an op's temporary (attention scores) */
    DLM_MK_COUNT
} dlm_mem_kind;

const char *dlm_mem_kind_name(dlm_mem_kind k); /* "weights", "buffers", ... */

typedef struct dlm_devmem_block {
    void *ptr;
    size_t bytes;
    dlm_mem_kind kind;
} dlm_devmem_block;

typedef struct dlm_devmem {
    cudaMemPool_t pool;
    cudaStream_t stream;
    int64_t limit;                     /* 0: none */
    dlm_devmem_block *live;            /* allocations not yet freed */
    int n_live, cap_live;
    int64_t cur, peak;                 /* exact bytes now / highest since reset */
    int64_t by_kind[DLM_MK_COUNT];     /* now */
    int64_t peak_by_kind[DLM_MK_COUNT];/* at the peak */
    int op, peak_op;                   /* op running now / at the peak (-1: none) */
} dlm_devmem;

/* Creates the pool on `device`; allocations are ordered on `stream`. */
dlm_status dlm_devmem_init(dlm_devmem *m, int device, cudaStream_t stream, int64_t limit);
/* Frees what is still allocated and destroys the pool. */
void dlm_devmem_destroy(dlm_devmem *m);

/* Allocates `bytes` (> 0) of `kind`; `what` names it in errors.  Out of
 * memory (the device's or the limit) is DLM_EGPUOOM. */
dlm_status dlm_devmem_alloc(dlm_devmem *m, size_t bytes, dlm_mem_kind kind, const char *what,
                            void **ptr);
/* Frees an allocation made here (NULL is ignored). */
dlm_status dlm_devmem_free(dlm_devmem *m, void *ptr);

/* Starts a measured region: the exact peak becomes the current bytes and the
 * pool's used-memory watermark is reset. */
dlm_status dlm_devmem_reset_peak(dlm_devmem *m);

/* The pool's own counters: used-memory high watermark since the last reset,
 * and the memory it has reserved from the device now. */
dlm_status dlm_devmem_pool_stats(dlm_devmem *m, int64_t *used_high, int64_t *reserved);

#endif
