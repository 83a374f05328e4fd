/* series.h — measured memory read from CSV files and grouped into series: one
 * configuration (model, variant, mode, dtype, attention, optimizer, profile,
 * GPU) with one input size varying (batch B with T fixed, or sequence length T
 * with B fixed).
 *
 * Accepted files (recognised by their header, columns in any order):
 *   - dlmem's own sweeps (`dlmem measure`, profile runtime) and PyTorch reference
 *     runs (tools/torch_reference.py memory, profile pytorch);
 *   - a user's table with at least: model, mode, batch, seq, peak_bytes.
 *     Optional: dtype (default fp32), attention (eager|fused|sdpa; sdpa means
 *     fused), before_bytes, after_bytes, status (rows not "ok" are counted, not
 *     fitted), variant, optimizer, checkpoint, autocast, gpu, set, and profile
 *     (or source): runtime | pytorch.  Without that column a file is pytorch,
 *     unless its header is dlmem measure's (a median_ms and a cublas column):
 *     runtime.
 *   seq is 0 or empty for models without a sequence.  Bytes are integers.
 *   set is the knobs the model was built with ("upsample=1", "height=160;base=32":
 *   models.h's dlm_model_config_read), empty or absent for the defaults.  For a
 *   model dlmem knows it is checked at once (an unknown knob or a value out of
 *   range is an error naming file, line and knob) and kept in one spelling, so
 *   that "base=64;upsample=1" and "upsample=1" are one series.
 * Malformed input is DLM_EPARSE naming file, line and column.
 *
 * What it is not: the fitting (fit.h) or the judging (deviation.h).
 */
#ifndef DLM_SERIES_H
#define DLM_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"

typedef enum dlm_xvar { DLM_X_BATCH, DLM_X_SEQ } dlm_xvar;

#define DLM_SERIES_MAX_EXTRA 24
#define DLM_SERIES_SET_MAX 256 /* characters of a series' set, with its NUL (models.h's
                                  DLM_MODEL_SET_MAX: whatever dlmem measure records) */

typedef struct dlm_series {
    char model[32], variant[32], mode[16], dtype[16], attention[16];
    char set[DLM_SERIES_SET_MAX]; /* the model's knobs ("upsample=1"; "" = defaults) */
    char optimizer[24], checkpoint[16], autocast[16];
    char profile[16];  /* "runtime" or "pytorch" (or "seed" for the audit's tables) */
    char gpu[64];
    char file[512];    /* where the points came from */
    char peak_unit[8]; /* the unit the file gave: "bytes", "MiB" (peak_mib) or "MB" (peak_mb) */
    char tag[32];      /* short name prefixed to plot files ("seed-table3"); may be "" */
    dlm_xvar xvar;     /* the varying input */
    int64_t fixed;     /* the other input's value (T for a batch series; 0 = none) */
    int n;             /* points (rows; repeated x allowed) */
    double *x;         /* B or T */
    double *peak;      /* bytes */
    double *before;    /* bytes, NULL when the file has no before column */
    int *line;         /* 1-based file line of each point (0 for none) */
    /* Other byte columns of the file ("cudnn_conv_workspace_bytes", ...), per
     * point (NaN where empty): the workspaces a GPU run measured, which the
     * prediction takes as named inputs where the model has them. */
    int n_extra;
    char extra_name[DLM_SERIES_MAX_EXTRA][48]; /* column name without "_bytes" */
    double *extra[DLM_SERIES_MAX_EXTRA];
    int n_failed;      /* rows of this series not "ok" (out of memory, ...) */
    double resolution; /* bytes a value is exact to (see fit.h's error model) */
} dlm_series;

typedef struct dlm_series_set {
    dlm_series *s;
    int n, cap;
} dlm_series_set;

/* Reads one file and appends its series to set. */
dlm_status dlm_series_read(const char *path, dlm_series_set *set);

/* Appends a copy of a series built by the caller (the audit, tests).  The
 * arrays are copied; `before` may be NULL. */
dlm_status dlm_series_add(dlm_series_set *set, const dlm_series *proto, int n, const double *x,
                          const double *peak, const double *before, const int *line);

void dlm_series_set_free(dlm_series_set *set);

/* "B" or "T"; and the long names "batch" / "sequence length". */
const char *dlm_xvar_letter(dlm_xvar v);
const char *dlm_xvar_name(dlm_xvar v);

/* One-line label: "bert infer fp32 eager, B=8, T varies (pytorch, NVIDIA H200)";
 * a set follows the model: "unet[upsample=1] infer fp32, B varies (...)". */
void dlm_series_label(const dlm_series *s, char *buf, size_t n);
/* A file-name-safe stem: "bert-infer-fp32-eager-B8-T" ("unet-upsample_1-infer-..."). */
void dlm_series_stem(const dlm_series *s, char *buf, size_t n);

#endif
