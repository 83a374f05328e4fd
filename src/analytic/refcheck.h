/* refcheck.h — the pytorch profile against PyTorch's own measurements: reads
 * data/reference/pytorch_memory.csv (tools/torch_reference.py's memory grid),
 * predicts every base-variant point that ran ("ok") and reports the errors.
 * Used by the accuracy test and by bench/; it measures nothing itself. */
#ifndef DLM_REFCHECK_H
#define DLM_REFCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"

typedef struct dlm_ref_point {
    char model[24], mode[12], dtype[8], attention[8]; /* attention: "", eager, sdpa */
    char variant[32], optimizer[16], autocast[8];
    int64_t batch, seq;
    int64_t ref_peak, ref_before;     /* measured */
    int64_t pred_peak, pred_before;   /* predicted */
    double err;                       /* (pred_peak - ref_peak) / ref_peak */
    char where[160];                  /* where the predicted peak is */
    int line;                         /* line in the CSV */
} dlm_ref_point;

/* Predicts every point of `path` whose variant is "base" and status "ok". */
dlm_status dlm_refcheck_run(const char *path, dlm_ref_point **out, int *n);

/* The same for data/reference/pytorch_techniques.csv: every point that ran
 * whose technique the model describes (optimizers, autocast as dtype mixed,
 * pure half precision, GRU, fewer BERT layers, a narrower ResNet); the
 * checkpointing variants are the advisor's and are left out. */
dlm_status dlm_refcheck_techniques(const char *path, dlm_ref_point **out, int *n);

/* The same for data/reference/pytorch_memory_transformers.csv (base points):
 * a model named "hf:NAME" is data/hf/NAME.json.  A point whose model the
 * memory model has no rules for yet (dlm_mem_model_alloc says
 * DLM_EUNSUPPORTED) is not predicted: it is counted in *unmodelled and its
 * first model's reason is written to why (n bytes). */
dlm_status dlm_refcheck_transformers(const char *path, dlm_ref_point **out, int *n,
                                     int *unmodelled, char *why, size_t why_n);

/* Mean and largest |err| over points with this mode ("" for all). */
void dlm_refcheck_stats(const dlm_ref_point *p, int n, const char *mode, double *mean,
                        double *worst, int *count);

#endif
