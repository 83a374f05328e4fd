/* probe_internal.h — what probe.c shares with probe_conv.c and probe_rnn.c:
 * the probe's state and one row.  Not part of dlmem's interface. */
#ifndef DLM_PROBE_INTERNAL_H
#define DLM_PROBE_INTERNAL_H

#include <stdio.h>

#include "gpu.h"
#include "probe.h"

/* One output row (WSROWS.md), before the columns every row shares. */
typedef struct dlm_probe_row {
    const char *logic;   /* "pytorch-2.11" */
    const char *op;      /* conv2d, lstm, gru, cublas, cublaslt */
    const char *phase;   /* forward, backward_data, backward_filter, inference, training, ... */
    dlm_probe_dtype dtype;
    const char *layout;  /* nchw, nhwc or - */
    char key[160];
    int64_t batch, seq;
    int64_t workspace, reserve;
    char engine[256];
    int ok;              /* 0: status none (no engine config builds and runs) */
} dlm_probe_row;

/* Scratch device buffers for executing one op at a time, grown on demand. */
typedef struct dlm_probe_scratch {
    void *buf[4];
    size_t bytes[4];
} dlm_probe_scratch;

typedef struct dlm_probe {
    const dlm_probe_config *c;
    dlm_gpu_info gpu;
    int sm_major, sm_count;
    int cudnn_version, cublas_version;
    cudnnHandle_t dnn;
    cudnnBackendHeurMode_t heur_mode; /* INSTANT, or B with TORCH_CUDNN_USE_HEURISTIC_MODE_B */
    dlm_probe_scratch scratch;
    FILE *out;
    const char *out_name;
    struct dlm_probe_keys *keys;      /* keys written or found in the output */
    int64_t written, skipped, items, total;
    double t0, last_progress;
} dlm_probe;

/* Has the row's key been written (to this output, now or before)?  If not,
 * the probe asks the library; probe_emit then writes it. */
int dlm_probe_seen(dlm_probe *p, const dlm_probe_row *r);
dlm_status dlm_probe_emit(dlm_probe *p, const dlm_probe_row *r);
/* Buffer i of the scratch set, at least `bytes` long (NULL for 0 bytes);
 * DLM_EGPUOOM if the device cannot hold it. */
dlm_status dlm_probe_scratch_get(dlm_probe *p, int i, size_t bytes, void **ptr);

/* probe_conv.c: all rows of conv op o at batch B, dtype d. */
dlm_status dlm_probe_conv(dlm_probe *p, int o, int64_t B, dlm_probe_dtype d);
/* probe_rnn.c: all rows of RNN op o at (B, T), dtype d. */
dlm_status dlm_probe_rnn(dlm_probe *p, int o, int64_t B, int64_t T, dlm_probe_dtype d);

#endif
