/* memfit.h — the largest batch (or sequence length) whose predicted peak fits a
 * memory budget: the search `dlmem fit` and `dlmem advise` share.
 *
 * What it is not: a GPU table or a CUDA-context model (gpus.h; the caller
 * passes the bytes its allocator may use), nor the prediction (memory.h).
 */
#ifndef DLM_MEMFIT_H
#define DLM_MEMFIT_H

#include <stdint.h>

#include "memory.h"

/* The largest x in [1, limit] for which the peak at B = x (or, with
 * search_T, at T = x with B = fixed; otherwise T = fixed) is at most
 * `usable` bytes; *best = 0 when not even x = 1 fits.  Grows x by doubling
 * until it does not fit, then bisects: the peak never falls as B or T grows. */
dlm_status dlm_mem_fit_search(const dlm_mem_model *m, int search_T, int64_t fixed, int64_t limit,
                              int64_t usable, int64_t *best);

#endif
