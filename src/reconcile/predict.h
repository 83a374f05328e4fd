/* predict.h — the analytic model's prediction for a measured series: the one
 * place where the reconciler calls src/analytic/memory.h.
 *
 * The configuration is the series' own: model (dlmem's name, built with the
 * knobs of the series' set: default sizes when it is empty),
 * mode, dtype, attention ("" = eager, "fused" = SDPA/flash), profile (runtime
 * for dlmem's own sweeps, pytorch for PyTorch's), and the GPU's architecture
 * from its name (dlm_gpu_sm).  Variants the model does not describe
 * (checkpointing, autocast, another optimizer than Adam, a variant other than
 * "base") get no prediction, with the reason in `why`: that is not an error.
 *
 * What it is not: the memory model itself (src/analytic/).
 */
#ifndef DLM_PREDICT_H
#define DLM_PREDICT_H

#include "../models/graph.h"
#include "deviation.h"
#include "series.h"

/* Compute capability x10 from a GPU name ("NVIDIA H200" -> 90, "RTX 3050" -> 86);
 * 0 when the name is empty or unknown (the caller then assumes 90, the GPUs dlmem's
 * data come from, and says so). */
int dlm_gpu_sm(const char *gpu);

/* Bytes of the network's inputs as a polynomial in B and T (floats are
 * `float_bytes` wide, token ids 8 bytes).  Needs no memory model. */
dlm_status dlm_input_bytes_poly(const dlm_graph *g, int float_bytes, dlm_poly *out);

/* Growth of the input per unit of the series' variable, bytes (at the series'
 * fixed value of the other one). */
double dlm_input_per_unit(const dlm_poly *input, dlm_xvar xv, int64_t fixed);

/* Fills `out` for every point of `s` (out->have = 0 with a reason when the
 * model or configuration is not one dlmem predicts).  `sm` <= 0 takes it from
 * the series' GPU name.  Errors are real failures only. */
dlm_status dlm_predict_series(const dlm_series *s, int sm, dlm_prediction *out);

/* The peak polynomial of MODEL with SETTINGS ("hidden=1536", may be NULL) in
 * MODE (fp32, eager attention, pytorch profile, architecture sm) around
 * (B, T), printed into formula (may be NULL) — for checking claims about how a
 * term scales with a model size. */
dlm_status dlm_predict_peak_poly(const char *model, const char *settings, const char *mode,
                                 int sm, int64_t B, int64_t T, dlm_poly *out, char *formula,
                                 size_t n);

#endif
