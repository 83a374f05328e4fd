/* convtab.h — cuDNN convolution workspaces measured per layer shape and batch
 * size (data/cudnn/conv_workspace.csv, written by tools/conv_workspace_table.py
 * from tools/torch_reference.py's per-op logs), read as series for
 * tests/test_convtab (the table against the logs).  The memory model reads
 * the same file as exact rows (workspaces.h): no rule between batch sizes.
 *
 * Why a table: with cudnn.benchmark off, PyTorch takes the engine cuDNN's
 * heuristics rank first, and for fp32 that choice (with its workspace, 0 B to
 * 730 MiB for one ResNet-18 layer on an H200) changes with the batch size in
 * ways no shape rule predicts.  Only a GPU can tell; the table is what one GPU
 * told, per GPU architecture, dtype and phase.
 *
 *
 * What it is not: a model of cuDNN's heuristics, nor what the memory model
 * reads (workspaces.h).
 */
#ifndef DLM_CONVTAB_H
#define DLM_CONVTAB_H

#include <stdint.h>

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

#endif
