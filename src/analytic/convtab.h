/* convtab.h — cuDNN convolution workspaces measured per layer shape and batch
 * size (data/cudnn/conv_workspace.csv, written by tools/conv_workspace_table.py
 * from tools/torch_reference.py's per-op logs), and the rule that gives the
 * workspace at a batch size the table does not hold.
 *
 * Why a table: with cudnn.benchmark off, PyTorch takes the engine cuDNN's
 * heuristics rank first, and for fp32 that choice (with its workspace, 0 B to
 * 730 MiB for one ResNet-18 layer on an H200) changes with the batch size in
 * ways no shape rule predicts.  Only a GPU can tell; the table is what one GPU
 * told, per GPU architecture, dtype and phase.
 *
 * The rule between measured batch sizes B0 < B < B1 (neighbours in the
 * table): linear interpolation between their bytes — exact while cuDNN keeps
 * one engine, whose workspace is affine in B (three ResNet-18 shapes at B=2,
 * between B=1 and B=4, agree with the B=2 log to the byte), and wrong where
 * the engine changes in between.  Beyond the largest measured B: the largest
 * B's bytes scaled in proportion to B (its engine kept, the workspace taken as
 * per-sample); below the smallest: likewise from the smallest.
 *
 * What it is not: a model of cuDNN's heuristics.  A shape, GPU architecture
 * or dtype the table lacks has no known workspace: the memory model counts
 * 0 B for it and says so.
 */
#ifndef DLM_CONVTAB_H
#define DLM_CONVTAB_H

#include <stdint.h>

#include "../core/poly.h"
#include "../core/status.h"

typedef enum dlm_conv_phase { DLM_CONV_FWD, DLM_CONV_BWD } dlm_conv_phase;

/* A convolution's shape as the table keys it (stride and padding follow). */
typedef struct dlm_conv_key {
    int in_c, in_h, in_w, out_c, kh, kw, out_h, out_w;
} dlm_conv_key;

/* One (architecture, dtype, phase, shape): measured batch sizes, ascending,
 * and the bytes at each. */
typedef struct dlm_conv_series {
    int sm;
    char dtype[8];
    dlm_conv_phase phase;
    dlm_conv_key key;
    int n;
    int64_t *B, *bytes;
} dlm_conv_series;

typedef struct dlm_convtab {
    char path[512];
    char gpu[160];       /* the GPUs the rows were measured on ("A and B") */
    dlm_conv_series *s;
    int n;
} dlm_convtab;

/* Reads a table (columns as tools/conv_workspace_table.py writes them).
 * Malformed content is DLM_EPARSE naming file:line; a batch size listed twice
 * for one series too. */
dlm_status dlm_convtab_load(const char *path, dlm_convtab **out);
void dlm_convtab_free(dlm_convtab *t);

/* The series for (sm, dtype "fp32", phase, key); NULL if the table has none. */
const dlm_conv_series *dlm_convtab_find(const dlm_convtab *t, int sm, const char *dtype,
                                        dlm_conv_phase phase, const dlm_conv_key *key);
/* Whether the table has any row for this architecture and dtype. */
int dlm_convtab_has(const dlm_convtab *t, int sm, const char *dtype);

/* How a value was obtained (for the output's note). */
typedef enum dlm_conv_how {
    DLM_CONV_MEASURED,      /* B is in the table */
    DLM_CONV_INTERPOLATED,  /* between two measured batch sizes */
    DLM_CONV_SCALED         /* beyond the table: proportional to B */
} dlm_conv_how;

/* The workspace at batch size b by the rule above (n >= 1 points, B
 * ascending).  *law (if not NULL) gets the affine law in B that holds around
 * b (integer bytes per sample, rounded; exact at b); *lo and *hi the measured
 * batch sizes used. */
int64_t dlm_conv_series_at(const int64_t *B, const int64_t *bytes, int n, int64_t b,
                           dlm_poly *law, dlm_conv_how *how, int64_t *lo, int64_t *hi);

#endif
