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
    int complete;                     /* every term of the prediction known */
    int n_unknown;                    /* unknown terms (library workspaces without a row) */
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

/* How a prediction is held against a measurement: a complete one within
 * `tol` of it; an incomplete one (unknown terms counted 0 B) is a lower
 * bound and must not exceed it by more than that same tolerance (err <=
 * tol: the known terms carry the model's own error, up to +1.5% on the
 * reference grids where the unknown workspaces are small).  Until the probed rows for the
 * reference GPU are shipped (dlm_ref_rows_shipped()), the reference grids
 * hold points whose cuDNN workspaces no row gives yet. */
int dlm_ref_accept(int complete, double err, double tol);
/* 1 when data/cudnn/probe-sm90-cudnn91900.csv (`dlmem probe` on the H200
 * with PyTorch's cuDNN 9.19) is present: then every reference point should
 * be complete; one that is not is a gap in the shipped rows (the tests list
 * it as a TAP TODO naming the rows to probe, and still hold it as a lower
 * bound). */
int dlm_ref_rows_shipped(void);
#define DLM_REF_PROBE_FILE "cudnn/probe-sm90-cudnn91900.csv"

/* Mean and largest |err| over the complete points with this mode ("" for
 * all); *count: how many. */
void dlm_refcheck_stats(const dlm_ref_point *p, int n, const char *mode, double *mean,
                        double *worst, int *count);

#endif
