/* probe_rnn.c — cuDNN's RNN workspace and reserve as PyTorch 2.11 asks for
 * them (aten/src/ATen/native/cudnn/RNN.cpp with the v8 RNN API,
 * aten/src/ATen/cudnn/Descriptors.h):
 *
 *   - RNN descriptor: get_algo's algorithm; the cell; CUDNN_RNN_DOUBLE_BIAS
 *     always; unidirectional; linear input; data type the input's, math
 *     precision promote_rnn_math_type (half -> float; bf16 -> float: cuDNN
 *     refuses a bf16 math precision with CUDNN_STATUS_NOT_SUPPORTED, checked
 *     on an H200 with cuDNN 9.14, while PyTorch runs bf16 RNNs); math type:
 *     tensor-op for half, FMA for other types when TF32 is off, cuDNN's
 *     default otherwise (DLMEM_PROBE_BF16_RNN_MATH=default|tensor-op replaces
 *     bf16's FMA, to diagnose a disagreement with PyTorch's logs only); projection size = hidden size; no dropout
 *     (the built-in networks have none between layers); unpacked input, so
 *     CUDNN_RNN_PADDED_IO_ENABLED;
 *   - data descriptor: CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, max length T,
 *     batch B, every sequence of length T;
 *   - get_algo (not packed, not double): PERSIST_STATIC_SMALL_H where
 *     use_rnn_persist_small_h says (LSTM/GRU: hidden <= 192 forward, <= 128
 *     backward; sm >= 6.0); PERSIST_STATIC for half when the common and the
 *     device heuristics agree; else STANDARD.  Forward and backward call it
 *     separately (forward = true / false);
 *   - _cudnn_rnn: cudnnGetRNNTempSpaceSizes INFERENCE (workspace only) when
 *     the module is in eval mode, TRAINING (workspace and the reserve kept
 *     for backward) in train mode; _cudnn_rnn_backward_input and _weight
 *     each query TRAINING again with the backward algorithm and allocate a
 *     fresh workspace.
 * Rows: phase inference, training (forward in train mode) and backward.
 *
 * Also, with logic dlmem-runtime, the inference workspace of dlmem's own GPU
 * runtime (ops_rnn.c): algorithm standard, the graph's bias mode, padded I/O
 * off, packed sequence-major data, FMA math (cuDNN's default with TF32),
 * fp32 only; the runtime runs its padded twin, when faster, in that same
 * workspace, so the row is the runtime's bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"

static int persist_small_h(const dlm_probe *p, int lstm_or_gru, int hidden, int forward)
{
    (void)lstm_or_gru; /* the built-in cells are LSTM and GRU: one rule */
    if (p->sm_major < 6) return 0;
    return forward ? hidden <= 192 : hidden <= 128;
}

/* use_persist_common_heuristics && use_persist_device_heuristics (half only). */
static int persist_static_half(const dlm_probe *p, const dlm_op *op, int64_t B, int64_t T)
{
    int hidden = op->a.rnn.hidden;
    int common = op->a.rnn.layers == 1 && hidden <= 1024 && hidden % 128 == 0 &&
                 op->a.rnn.input % 128 == 0;
    if (!common) return 0;
    int minor = p->gpu.sm % 10;
    if (p->sm_major == 7) {
        if (minor == 5) return 0;
        return ((B % 16 == 0 && B != 80 && B != 112) || B == 8) &&
               ((T >= 40 && B <= 128) || (T >= 20 && B <= 96) || (T >= 10 && B <= 32));
    }
    if (p->sm_major >= 8 && p->sm_count >= 98) {
        if (minor == 6) return 0;
        if (op->a.rnn.cell == DLM_RNN_GRU) return 0;
        return B % 8 == 0 && B <= 128; /* LSTM */
    }
    return 0;
}

static cudnnRNNAlgo_t get_algo(const dlm_probe *p, const dlm_op *op, int64_t B, int64_t T,
                               dlm_probe_dtype d, int forward)
{
    if (persist_small_h(p, 1, op->a.rnn.hidden, forward)) return CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H;
    if (d == DLM_PROBE_FP16 && persist_static_half(p, op, B, T)) return CUDNN_RNN_ALGO_PERSIST_STATIC;
    return CUDNN_RNN_ALGO_STANDARD;
}

static const char *algo_name(cudnnRNNAlgo_t a)
{
    switch (a) {
    case CUDNN_RNN_ALGO_STANDARD: return "rnn-standard";
    case CUDNN_RNN_ALGO_PERSIST_STATIC: return "rnn-persist-static";
    case CUDNN_RNN_ALGO_PERSIST_DYNAMIC: return "rnn-persist-dynamic";
    case CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H: return "rnn-persist-static-small-h";
    default: return "rnn-algo-unknown";
    }
}

/* cudnnGetRNNTempSpaceSizes for one algorithm and mode; *ok = 0 where cuDNN
 * refuses the descriptor or the query (PyTorch's call would fail).  With
 * runtime set, the descriptors of dlmem's own runtime instead (ops_rnn.c):
 * the graph's bias (double or none), padded I/O off, packed sequence-major
 * data, float only. */
static dlm_status temp_sizes(dlm_probe *p, const dlm_op *op, int64_t B, int64_t T,
                             dlm_probe_dtype d, cudnnRNNAlgo_t algo, cudnnForwardMode_t mode,
                             int runtime, size_t *ws, size_t *reserve, int *ok,
                             cudnnStatus_t *why)
{
    cudnnRNNDescriptor_t rd = NULL;
    cudnnDropoutDescriptor_t drop = NULL;
    cudnnRNNDataDescriptor_t xd = NULL;
    dlm_status st = DLM_OK;
    int *lens = NULL;
    cudnnDataType_t dt = d == DLM_PROBE_FP16   ? CUDNN_DATA_HALF
                         : d == DLM_PROBE_BF16 ? CUDNN_DATA_BFLOAT16
                                               : CUDNN_DATA_FLOAT;
    /* cuDNN takes no bf16 math precision: PyTorch's bf16 RNNs run in float */
    cudnnDataType_t prec = dt == CUDNN_DATA_HALF || dt == CUDNN_DATA_BFLOAT16 ? CUDNN_DATA_FLOAT
                                                                              : dt;
    cudnnMathType_t math = dt == CUDNN_DATA_HALF      ? CUDNN_TENSOR_OP_MATH
                           : d == DLM_PROBE_FP32_TF32 ? CUDNN_DEFAULT_MATH
                                                      : CUDNN_FMA_MATH;
    const char *diag = getenv("DLMEM_PROBE_BF16_RNN_MATH"); /* diagnosis only: see above */
    if (dt == CUDNN_DATA_BFLOAT16 && diag && !strcmp(diag, "default")) math = CUDNN_DEFAULT_MATH;
    if (dt == CUDNN_DATA_BFLOAT16 && diag && !strcmp(diag, "tensor-op"))
        math = CUDNN_TENSOR_OP_MATH;
    if (p->sm_major < 7 && !runtime) math = CUDNN_DEFAULT_MATH;
    *ok = 0;
    *ws = *reserve = 0;
    *why = CUDNN_STATUS_SUCCESS;
    if (B > 0x7fffffff || T > 0x7fffffff)
        return dlm_error(DLM_ERANGE, "%s: B=%lld T=%lld beyond cuDNN's int", op->name,
                         (long long)B, (long long)T);
    DLM_CUDNN_GO(cudnnCreateRNNDescriptor(&rd));
    DLM_CUDNN_GO(cudnnCreateDropoutDescriptor(&drop));
    DLM_CUDNN_GO(cudnnSetDropoutDescriptor(drop, p->dnn, 0.0f, NULL, 0, 0));
    DLM_CUDNN_GO(cudnnCreateRNNDataDescriptor(&xd));
    lens = malloc((size_t)B * sizeof *lens);
    if (!lens) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < B; i++) lens[i] = (int)T;
    *why = cudnnSetRNNDescriptor_v8(rd, algo, op->a.rnn.cell == DLM_RNN_LSTM ? CUDNN_LSTM : CUDNN_GRU,
                                    !runtime || op->a.rnn.bias ? CUDNN_RNN_DOUBLE_BIAS
                                                               : CUDNN_RNN_NO_BIAS,
                                    CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT,
                                    dt, prec, math, op->a.rnn.input, op->a.rnn.hidden,
                                    op->a.rnn.hidden, op->a.rnn.layers, drop,
                                    runtime ? CUDNN_RNN_PADDED_IO_DISABLED
                                            : CUDNN_RNN_PADDED_IO_ENABLED);
    if (*why != CUDNN_STATUS_SUCCESS) goto fail;
    {
        float pad = 0.0f; /* the runtime passes a padding fill, as cuDNN's API takes one */
        DLM_CUDNN_GO(cudnnSetRNNDataDescriptor(xd, dt, runtime ? CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED
                                                               : CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                               (int)T, (int)B, op->a.rnn.input, lens,
                                               runtime ? &pad : NULL));
    }
    *why = cudnnGetRNNTempSpaceSizes(p->dnn, rd, mode, xd, ws,
                                     mode == CUDNN_FWD_MODE_TRAINING || runtime ? reserve : NULL);
    *ok = *why == CUDNN_STATUS_SUCCESS;
fail:
    free(lens);
    if (xd) cudnnDestroyRNNDataDescriptor(xd);
    if (drop) cudnnDestroyDropoutDescriptor(drop);
    if (rd) cudnnDestroyRNNDescriptor(rd);
    return st;
}

/* A row of RNN op `op` at (B, T): its key and the columns every RNN row shares. */
static void rnn_row(dlm_probe_row *r, const dlm_op *op, const char *logic, const char *phase,
                    dlm_probe_dtype d, int64_t B, int64_t T)
{
    memset(r, 0, sizeof *r);
    r->logic = logic;
    r->op = op->a.rnn.cell == DLM_RNN_LSTM ? "lstm" : "gru";
    r->phase = phase;
    r->dtype = d;
    r->layout = "-";
    snprintf(r->key, sizeof r->key, "i%d-h%d-l%d-b%d-d1-p0", op->a.rnn.input, op->a.rnn.hidden,
             op->a.rnn.layers, op->a.rnn.bias ? 1 : 0);
    r->batch = B;
    r->seq = T;
}

/* The row's engine column: the algorithm, or why cuDNN refused it (no comma or space). */
static void rnn_engine(dlm_probe_row *r, const char *algo, int ok, cudnnStatus_t why)
{
    r->ok = ok;
    if (ok) snprintf(r->engine, sizeof r->engine, "%s", algo);
    else snprintf(r->engine, sizeof r->engine, "%s-refused-%s", algo, cudnnGetErrorString(why));
    for (char *q = r->engine; *q; q++)
        if (*q == ',' || *q == ' ') *q = '-';
}

dlm_status dlm_probe_rnn(dlm_probe *p, int o, int64_t B, int64_t T, dlm_probe_dtype d)
{
    const dlm_op *op = &p->c->g->ops[o];
    static const char *const phase[3] = {"inference", "training", "backward"};
    dlm_probe_row r;
    for (int ph = 0; ph < 3; ph++) {
        if (ph == 0 && !p->c->infer) continue;
        if (ph > 0 && !p->c->train) continue;
        rnn_row(&r, op, "pytorch-2.11", phase[ph], d, B, T);
        if (dlm_probe_seen(p, &r)) continue;
        cudnnRNNAlgo_t algo = get_algo(p, op, B, T, d, ph < 2);
        size_t ws = 0, reserve = 0;
        int ok = 0;
        cudnnStatus_t why;
        DLM_TRY(temp_sizes(p, op, B, T, d, algo,
                           ph == 0 ? CUDNN_FWD_MODE_INFERENCE : CUDNN_FWD_MODE_TRAINING, 0, &ws,
                           &reserve, &ok, &why));
        r.workspace = (int64_t)ws;
        r.reserve = (int64_t)reserve;
        rnn_engine(&r, algo_name(algo), ok, why);
        DLM_TRY(dlm_probe_emit(p, &r));
    }
    /* dlmem's own runtime (inference only, fp32 only): its RNN workspace, the
     * packed layout's whichever layout its timing runs (ops_rnn.c) */
    if (!p->c->infer || (d != DLM_PROBE_FP32 && d != DLM_PROBE_FP32_TF32)) return DLM_OK;
    rnn_row(&r, op, "dlmem-runtime", "inference", d, B, T);
    if (dlm_probe_seen(p, &r)) return DLM_OK;
    size_t ws = 0, reserve = 0;
    int ok = 0;
    cudnnStatus_t why;
    DLM_TRY(temp_sizes(p, op, B, T, d, CUDNN_RNN_ALGO_STANDARD, CUDNN_FWD_MODE_INFERENCE, 1, &ws,
                       &reserve, &ok, &why));
    r.workspace = (int64_t)ws;
    r.reserve = 0; /* inference keeps no reserve (runtime.c) */
    rnn_engine(&r, "rnn-standard-packed", ok, why);
    return dlm_probe_emit(p, &r);
}
