/* measure.h — `dlmem measure`: runs a network on the GPU over a grid of batch
 * sizes and sequence lengths and records, per point, what it really used.
 *
 * Protocol per point (B, T): fresh input and workspaces (dlm_rt_prepare),
 * random input, two warm-up passes (outputs released), the pool watermark
 * and the exact peak reset, the measured pass (before / peak / after bytes,
 * the peak's op and composition), its outputs released, then `repeat` timed
 * passes (CUDA events around each; the median is reported), then everything
 * of the point freed.  Out of GPU memory at a point records status `oom` and
 * the sweep goes on.  Each point's row is appended to the CSV and flushed at
 * once; with `resume` the points already in the file are skipped.
 *
 * CSV columns (names shared with the reconciler): see columns.c; bytes are
 * integers, times milliseconds.  The last, set, records the model's knobs.
 * --resume continues a file of this header, or of the header before set was
 * added (its rows then stay without set: a sweep of the defaults only).
 *
 * What it is not: PyTorch's numbers (tools/torch_reference.py measures those
 * with the same protocol) or a training-step measurement (infer only).
 */
#ifndef DLM_MEASURE_H
#define DLM_MEASURE_H

#include <stdint.h>
#include <stdio.h>

#include "../core/out.h"
#include "../models/graph.h"
#include "plan.h"

typedef struct dlm_measure_config {
    const dlm_graph *g;
    const char *set;            /* the knobs g was built with, as dlm_model_config_format
                                   writes them (the CSV's set column); NULL or "": defaults */
    dlm_rt_dtype dtype;         /* fp32 or bf16 */
    int tf32;
    const int64_t *batch;
    int n_batch;
    const int64_t *seq;      /* one 0 for models without a sequence */
    int n_seq;
    int repeat;              /* timed passes per point (>= 1) */
    const char *output;      /* CSV to append to, or NULL */
    int resume;              /* skip points already in `output` */
    const char *weights;     /* tensor file (tools/export_weights.py) or NULL: random */
    int64_t mem_limit;       /* simulated device size for the tracked bytes (0: none) */
    int64_t conv_ws_limit;   /* DLM_RT_CONV_WS_AUTO: transient workspaces in the plan's
                                headroom; >= 0: limit of one resident buffer (plan.h) */
    int conv_search;         /* time the convolution algorithms (1) or take cuDNN's ranking */
    dlm_rt_conv_api conv_api; /* legacy algorithms, graph API engines, both */
    dlm_rt_layout layout;    /* auto, nchw or nhwc (plan.h) */
    dlm_format format;       /* stdout: table or csv */
    int quiet;               /* nothing on stdout (progress still on stderr): the
                                caller reads the CSV (dlmem report --measure) */
    const char *op_times;    /* CSV of per-op GPU times (one extra pass per point), or NULL */
} dlm_measure_config;

/* Runs the sweep.  No GPU (or a build without CUDA) is DLM_ENOGPU. */
dlm_status dlm_measure_run(const dlm_measure_config *c);

/* The CSV columns and the header line (no newline), shared by the writer,
 * --resume and the tests (columns.c; built with or without CUDA). */
const char *const *dlm_measure_columns(int *n);
const char *dlm_measure_header(void);

/* One point as a JSON object (schema dlmem.measure/1, doc/json.md): the cells
 * of one CSV row in column order, each under its column's name, typed by
 * column: bytes, batch, seq, tf32, repeat and sm as integers, the times in ms
 * as numbers, the rest as strings; an empty cell (an oom point's sizes and
 * times, no attention, no layout, the defaults' set) is null.  A cell that is
 * not a number where one belongs is DLM_EPARSE naming the column. */
dlm_status dlm_measure_row_json(dlm_json *j, const char *const *cells, int n);

#endif
