/* workspaces.h — library workspaces as rows: what `dlmem probe` asked cuDNN
 * and cuBLAS on a GPU (the row format of /work/brief/WSROWS.md, written by
 * src/measure/probe*.c), and the older measured table
 * data/cudnn/conv_workspace.csv (read off PyTorch's per-op logs), answered
 * by exact lookup.
 *
 * A row says: on architecture `sm`, with cuDNN `cudnn_version`, the choice
 * logic `logic` (pytorch-2.11: what PyTorch 2.11 runs; dlmem-runtime: dlmem's
 * own runtime) runs op `op` (conv2d, lstm, ...) of shape `key` in phase
 * `phase` and dtype `dtype` at batch `batch` (and sequence `seq`) with
 * `workspace_bytes` of workspace and `reserve_bytes` of reserve, or (status
 * none) cannot run it at all.
 *
 * Lookups are exact on (sm, logic, op, phase, dtype, layout, key, batch,
 * seq).  There is no rule between batch sizes: cuDNN's engine, and with it
 * the workspace, changes from one batch size to the next, so a missing row
 * is an unknown term, never an interpolated one.  Rows of a cuDNN version
 * other than the one a prediction assumes are used (newest first) and say so.
 *
 * Sources, earliest first wins where two give the same row:
 *   the files the user names (--workspaces FILE, repeatable),
 *   the user cache ${XDG_CACHE_HOME:-~/.cache}/dlmem/workspaces-*.csv,
 *   the shipped data/cudnn/probe-*.csv,
 *   data/cudnn/conv_workspace.csv (exact batch sizes only; logic pytorch-2.11,
 *   cuDNN 9.19 as its README says; its "backward" rows are one peak of
 *   convolution_backward above both gradients, phase "backward" here).
 *
 * What it is not: the probe (src/measure/), nor the memory rules that decide
 * which rows an op needs (trace.c).
 */
#ifndef DLM_WORKSPACES_H
#define DLM_WORKSPACES_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"

/* The choice logic of PyTorch 2.11's rows. */
#define DLM_WS_LOGIC_PYTORCH "pytorch-2.11"
#define DLM_WS_LOGIC_RUNTIME "dlmem-runtime"

typedef struct dlm_ws_row {
    int64_t batch, seq;          /* seq 0 for convolutions */
    int64_t workspace, reserve;  /* bytes */
    int cudnn_version;           /* 91900 */
    int ok;                      /* status ok (1) or none (0: no engine runs the op) */
    int source;                  /* index of the file it came from (dlm_ws_db_source) */
    int line;                    /* its line there */
} dlm_ws_row;

/* The rows of one (sm, logic, op, phase, dtype, layout, key), sorted by
 * (batch, seq, newest version first). */
typedef struct dlm_ws_series dlm_ws_series;
typedef struct dlm_ws_db dlm_ws_db;

dlm_status dlm_ws_db_alloc(dlm_ws_db **out);
void dlm_ws_db_free(dlm_ws_db *db);

/* Reads one file: probe rows (WSROWS.md's header), or the old measured table
 * (recognised by its header).  Malformed content is DLM_EPARSE naming
 * file:line and the column; a missing file DLM_EIO.  Rows are usable after
 * dlm_ws_db_finish(). */
dlm_status dlm_ws_db_read(dlm_ws_db *db, const char *path);
/* Reads the user cache and the shipped files (above), those that exist. */
dlm_status dlm_ws_db_read_defaults(dlm_ws_db *db);
/* Sorts and indexes what was read; after it the database is read-only.  One
 * file that gives one row twice with different bytes is DLM_EPARSE. */
dlm_status dlm_ws_db_finish(dlm_ws_db *db);

int dlm_ws_db_rows(const dlm_ws_db *db);
/* Path of source i ("" when out of range), and how many there are. */
const char *dlm_ws_db_source(const dlm_ws_db *db, int i);
int dlm_ws_db_n_sources(const dlm_ws_db *db);
/* The file names (without folders) of the sources with rows for
 * architecture sm, comma-separated ("" when none). */
void dlm_ws_db_sources_for(const dlm_ws_db *db, int sm, char *buf, size_t n);
/* The newest cuDNN version among the rows for architecture sm; 0 if none. */
int dlm_ws_db_newest_version(const dlm_ws_db *db, int sm);
/* Whether any row is for architecture sm. */
int dlm_ws_db_has_sm(const dlm_ws_db *db, int sm);

/* The series for this (sm, ..., key); NULL when no row has it. */
const dlm_ws_series *dlm_ws_find(const dlm_ws_db *db, int sm, const char *logic, const char *op,
                                 const char *phase, const char *dtype, const char *layout,
                                 const char *key);
/* The row at exactly (batch, seq): the one of cuDNN `version` if there is
 * one, else the newest; NULL when none (s may be NULL). */
const dlm_ws_row *dlm_ws_series_at(const dlm_ws_series *s, int64_t batch, int64_t seq,
                                   int version);

/* Canonical keys (WSROWS.md).  Return 0 when the key does not fit in n. */
int dlm_ws_conv_key(char *buf, size_t n, int in_c, int in_h, int in_w, int out_c, int out_h,
                    int out_w, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                    int groups);
int dlm_ws_rnn_key(char *buf, size_t n, int input, int hidden, int layers, int bias, int dirs,
                   int proj);

#endif
