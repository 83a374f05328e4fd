/* techcheck.h — the advisor's predictions against PyTorch: every technique
 * tools/torch_reference.py `techniques` measured (data/reference/
 * pytorch_techniques.csv) is applied by dlm_advise() to its baseline workload
 * and the predicted peak and saving compared with the measured ones.
 *
 * Baselines: training points against the same network's fp32 Adam step at the
 * same B and T (variant opt-adam of the same file; the LSTM's for GRU);
 * the same holds for pytorch_techniques_extra.csv (`techniques --extra`) and
 * pytorch_techniques_rnn_chunks.csv (`techniques --rnn-chunks`: the LSTM
 * checkpointed in K chunks of time steps, checkpoint-chunksK);
 * inference points against fp32 eager inference at the same point
 * (pytorch_memory.csv's base grid).
 *
 * What it is not: a measurement; it reads the committed CSVs.
 */
#ifndef DLM_TECHCHECK_H
#define DLM_TECHCHECK_H

#include <stdint.h>

#include "../core/status.h"

typedef struct dlm_tech_point {
    char model[24], variant[32], mode[12];
    char technique[64];          /* as dlm_advise() names it; "" for a baseline row */
    int64_t batch, seq;
    int64_t ref_peak, ref_base;  /* measured: the technique's peak, its baseline's */
    int64_t pred_peak, pred_base;
    double err;                  /* (pred_peak - ref_peak) / ref_peak */
    double saving_err;           /* (pred saving - measured saving) / ref_base */
    char where[160];             /* where the predicted peak is */
    int line;                    /* line in pytorch_techniques.csv */
    int complete;                /* every term of the technique's prediction known */
    int base_complete;           /* and of its baseline's */
} dlm_tech_point;

/* Predicts every "ok" row of `techniques_csv`, baselines from the same file
 * and from `memory_csv`. */
dlm_status dlm_techcheck_run(const char *techniques_csv, const char *memory_csv,
                             dlm_tech_point **out, int *n);

#endif
