/* pytorch_alloc.h — a simulation of PyTorch's CUDA caching allocator, enough to
 * say what torch.cuda.max_memory_allocated() counts for a sequence of tensor
 * allocations and frees.
 *
 * Rules simulated (PyTorch 2.x CUDACachingAllocator.cpp, default settings: no
 * max_split_size, no expandable segments, one stream):
 *   - a request is rounded up to a multiple of 512 B (at least 512 B);
 *   - rounded sizes <= 1 MiB come from the small pool, others from the large pool;
 *   - a request no cached free block can hold gets a new segment: 2 MiB for the
 *     small pool, 20 MiB for large requests under 10 MiB, else the request
 *     rounded up to a multiple of 2 MiB;
 *   - the cached free block chosen is the smallest that fits (best fit; ties
 *     go to the older segment, then the lower offset);
 *   - a block is split when the remainder is >= 512 B (small pool) or > 1 MiB
 *     (large pool); otherwise the whole block is handed out and counted;
 *   - a freed block merges with free neighbours of its segment; segments stay
 *     cached (nothing calls empty_cache inside a measured step).
 * "Allocated" is the sum of the sizes of the blocks handed out, as PyTorch's
 * allocated_bytes statistic counts them.
 *
 * What it is not: a model of streams, of out-of-memory retries (freeing cached
 * segments and retrying cudaMalloc) or of the expandable-segments mode.
 * Capacity is fixed when it is made, so a simulation never allocates host memory.
 */
#ifndef DLM_PYTORCH_ALLOC_H
#define DLM_PYTORCH_ALLOC_H

#include <stdint.h>

#include "../core/status.h"

#define DLM_PA_MIN_BLOCK 512LL
#define DLM_PA_SMALL_SIZE (1LL << 20)      /* largest request of the small pool */
#define DLM_PA_SMALL_BUFFER (2LL << 20)    /* small-pool segment */
#define DLM_PA_LARGE_BUFFER (20LL << 20)   /* segment for 1-10 MiB requests */
#define DLM_PA_MIN_LARGE_ALLOC (10LL << 20)
#define DLM_PA_ROUND_LARGE (2LL << 20)

typedef struct dlm_palloc dlm_palloc;

/* A simulator for runs of up to `max_mallocs` dlm_palloc_malloc() calls between
 * resets. */
dlm_status dlm_palloc_alloc(int max_mallocs, dlm_palloc **out);
void dlm_palloc_free(dlm_palloc *a);

/* Forgets every segment (a fresh process, or after torch.cuda.empty_cache()). */
void dlm_palloc_reset(dlm_palloc *a);

/* Allocates `bytes` (> 0).  Returns a handle for dlm_palloc_release() and
 * stores the size of the block handed out (what max_memory_allocated counts)
 * in *block.  Returns -1 only when the capacity given at creation is exceeded. */
int dlm_palloc_malloc(dlm_palloc *a, int64_t bytes, int64_t *block);
/* Returns a block to the cache. */
void dlm_palloc_release(dlm_palloc *a, int handle);

int64_t dlm_palloc_allocated(const dlm_palloc *a); /* sum of blocks handed out */
int64_t dlm_palloc_reserved(const dlm_palloc *a);  /* sum of segments */

/* The rounding rules on their own (for tests and explanations). */
int64_t dlm_palloc_round(int64_t bytes);            /* to 512 B */
int64_t dlm_palloc_segment_size(int64_t rounded);   /* cudaMalloc size for a new segment */

#endif
