/* memfit.c — the largest fitting batch or sequence length (see memfit.h). */
#include "memfit.h"

static dlm_status peak_at(const dlm_mem_model *m, int search_T, int64_t fixed, int64_t x,
                          int64_t *peak)
{
    dlm_mem_result r;
    DLM_TRY(search_T ? dlm_mem_eval(m, fixed, x, &r) : dlm_mem_eval(m, x, fixed, &r));
    *peak = r.peak_bytes;
    return DLM_OK;
}

dlm_status dlm_mem_fit_search(const dlm_mem_model *m, int search_T, int64_t fixed, int64_t limit,
                              int64_t usable, int64_t *best)
{
    /* an RNN in K chunks of time steps needs T >= K */
    int k = dlm_mem_model_config(m)->rnn_chunks;
    int64_t first = search_T && k > 1 ? k : 1, lo = 0, hi = first, peak;
    *best = 0;
    if (limit < first)
        return dlm_error(DLM_ERANGE, "fit search: limit %lld below %lld", (long long)limit,
                         (long long)first);
    for (;;) {
        DLM_TRY(peak_at(m, search_T, fixed, hi, &peak));
        if (peak > usable) break;
        lo = hi;
        if (hi == limit) break;
        hi = hi * 2 > limit ? limit : hi * 2;
    }
    if (lo == 0) return DLM_OK; /* not even the smallest point fits */
    if (lo == limit) hi = lo + 1;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        DLM_TRY(peak_at(m, search_T, fixed, mid, &peak));
        if (peak <= usable) lo = mid;
        else hi = mid;
    }
    *best = lo;
    return DLM_OK;
}
