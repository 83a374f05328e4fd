/* memory.h — predicted GPU memory of a network: activation sizes as formulas
 * in B and T, and the peak by liveness over the execution order, for a forward
 * pass without autograd (infer), the forward half of a training step (forward)
 * and a whole training step (train).
 *
 * CONTRACT (the reconciler, the advisor, the report and the GPU runtime's tests
 * are written against these names): extend it, do not break it.
 *
 * Two profiles say what is predicted:
 *   runtime  dlmem's own GPU runtime (src/measure/): exact bytes for every tensor
 *            it allocates, freed after the last reader (liveness.h); library
 *            workspaces are named terms whose sizes the runtime reports.
 *   pytorch  torch.cuda.max_memory_allocated() under PyTorch 2.x: the caching
 *            allocator's rounding, cuBLAS/cuDNN workspaces, autograd's saved
 *            tensors, optimizer state and the foreach optimizer's temporaries.
 * Every byte of a prediction belongs to a named term; no fitted fudge factor.
 */
#ifndef DLM_MEMORY_H
#define DLM_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/poly.h"
#include "../models/graph.h"

typedef enum dlm_mode { DLM_MODE_INFER, DLM_MODE_FORWARD, DLM_MODE_TRAIN } dlm_mode;
typedef enum dlm_dtype {
    DLM_DTYPE_FP32,
    DLM_DTYPE_FP16,
    DLM_DTYPE_BF16,
    DLM_DTYPE_MIXED /* fp32 weights and optimizer state, half activations (autocast) */
} dlm_dtype;
typedef enum dlm_attention { DLM_ATTN_EAGER, DLM_ATTN_FUSED } dlm_attention;
typedef enum dlm_optimizer {
    DLM_OPT_ADAM,
    DLM_OPT_SGD,
    DLM_OPT_SGD_MOMENTUM,
    DLM_OPT_ADAM8BIT /* Added (model-only): bitsandbytes-style blockwise 8-bit Adam states */
} dlm_optimizer;
typedef enum dlm_profile { DLM_PROFILE_RUNTIME, DLM_PROFILE_PYTORCH } dlm_profile;
/* How a training step runs over several GPUs, as tools/torch_parallel.py
 * wraps the model (PyTorch 2.11): DistributedDataParallel; FSDP2's
 * fully_shard on every block then the root (= zero3); zero2 the same with
 * reshard_after_forward=False; zero1 DDP + ZeroRedundancyOptimizer(Adam). */
typedef enum dlm_parallel {
    DLM_PAR_NONE,
    DLM_PAR_DDP,
    DLM_PAR_FSDP,
    DLM_PAR_ZERO1,
    DLM_PAR_ZERO2,
    DLM_PAR_ZERO3
} dlm_parallel;
/* The training step's loss over each output o (train mode):
 *   MSE: sum(o.pow(2).mean()), tools/torch_reference.py's protocol;
 *   CE:  F.cross_entropy(o.view(-1, C), target) with C = o's last dimension (the
 *        classes) and an int64 target of o.numel()/C class indices, made with the
 *        inputs: aten's log_softmax then nll_loss, as aten/src/ATen/native/
 *        LossNLL.cpp's cross_entropy_loss composes them for class indices. */
typedef enum dlm_loss { DLM_LOSS_MSE, DLM_LOSS_CE } dlm_loss;

/* Parsers for the command line: unknown names are DLM_EINVAL listing the valid. */
dlm_status dlm_mode_parse(const char *s, dlm_mode *out);
dlm_status dlm_dtype_parse(const char *s, dlm_dtype *out);
dlm_status dlm_attention_parse(const char *s, dlm_attention *out);
dlm_status dlm_optimizer_parse(const char *s, dlm_optimizer *out);
dlm_status dlm_profile_parse(const char *s, dlm_profile *out);
dlm_status dlm_parallel_parse(const char *s, dlm_parallel *out);
dlm_status dlm_loss_parse(const char *s, dlm_loss *out);
const char *dlm_mode_name(dlm_mode m);         /* "infer", "forward", "train" */
const char *dlm_dtype_name(dlm_dtype d);       /* "fp32", "fp16", "bf16", "mixed" */
const char *dlm_attention_name(dlm_attention a); /* "eager", "fused" */
const char *dlm_optimizer_name(dlm_optimizer o); /* "adam", "sgd", "sgd-momentum", "adam8bit" */
const char *dlm_profile_name(dlm_profile p);   /* "runtime", "pytorch" */
const char *dlm_parallel_name(dlm_parallel p); /* "none", "ddp", "fsdp", "zero1", ... */
const char *dlm_loss_name(dlm_loss l);         /* "mse", "ce" */

#define DLM_MAX_NAMED 16

/* A named term such as "cublas_workspace" or "cudnn_rnn_reserve". */
typedef struct dlm_named_bytes {
    char name[48];
    int64_t bytes;
} dlm_named_bytes;

/* Added: a range of ops, first..last inclusive (op indices of a graph). */
typedef struct dlm_op_range {
    int first, last;
} dlm_op_range;

typedef struct dlm_mem_config {
    dlm_mode mode;
    dlm_dtype dtype;
    dlm_attention attention;
    dlm_optimizer optimizer;
    dlm_profile profile;
    dlm_loss loss; /* train mode's loss (MSE, the default, is dlm_mem_config_default's 0) */
    int sm;  /* GPU compute capability x10 (90 for H100/H200; 86 for RTX 3050): selects
                architecture-dependent terms such as PyTorch's cuBLAS workspace */
    /* Added: sizes of named library workspaces that only a GPU can tell (runtime
     * profile: "cublas_workspace", "cudnn_conv_workspace", "cudnn_rnn_workspace",
     * "cudnn_rnn_reserve", "rnn_seq_lengths": the columns of `dlmem measure`),
     * as the runtime measured them.  A name not listed keeps its default: 0 B,
     * except cublas_workspace (32 MiB, what the runtime gives cublasSetWorkspace)
     * and rnn_seq_lengths (4*B bytes per RNN). */
    dlm_named_bytes inputs[DLM_MAX_NAMED];
    int n_inputs;
    /* Added for the advisor (zero, as dlm_mem_config_default leaves them, keeps
     * the behaviour without them):
     * checkpoint: segments of ops run under torch.utils.checkpoint
     *   (use_reentrant=False) in forward and train modes: the segment's forward
     *   keeps only its inputs (no saved tensors inside, intermediates freed as
     *   soon as Python lets go of them); right before the first backward node
     *   of the segment that needs a saved tensor, the segment's forward runs
     *   again with saving (up to the last op that saves) and backward consumes
     *   what it saved.  Ranges are op indices, first..last inclusive, in
     *   execution order and not overlapping; the model keeps its own copy.
     * parallel, gpus, rank: data-parallel or sharded training on `gpus`
     *   GPUs (parallel.h: the rules read from PyTorch 2.11's source), the
     *   prediction being rank `rank`'s (0-based; -1: the rank that keeps
     *   the most bytes); B is the batch per GPU.  DLM_PAR_NONE or gpus 0:
     *   one GPU, no wrapping. */
    const dlm_op_range *checkpoint;
    int n_checkpoint;
    dlm_parallel parallel;
    int gpus;
    int rank;
    /* Added: activation checkpointing of an RNN in chunks of time steps
     * (pytorch profile; 0 or 1: none).  rnn_chunks = K > 1 runs every RNN
     * op as K cuDNN calls over the chunks x.tensor_split(K) makes along T
     * (chunk i: T/K steps, one more for i < T % K), the state (h, c) passed
     * from chunk to chunk, each call under torch.utils.checkpoint
     * (use_reentrant=False), as tools/torch_reference.py's SeedRNN with
     * chunks = K runs it.  Forward and train: each chunk's forward keeps
     * nothing but its input state, which the next chunk's checkpoint holds
     * until that chunk's backward (the chunk's output goes when the next
     * returns; reserve and workspace live for T/K steps); backward recomputes
     * each chunk, last first, right before its _cudnn_rnn_backward, whose
     * cuDNN workspace and reserve follow ops/rnn.c's laws at T/K; the gradient
     * of an output no later op reads is zeros (PyTorch's _cudnn_rnn_backward
     * makes them); the K weight gradients meet in autograd's input buffers,
     * which keep the first chunk's flat gradient whole from the second on
     * (ops/rnn.c: rnn_chunk_grads).  Infer: K calls without checkpoints.  The graph must
     * pass dlm_mem_rnn_chunkable(); K <= DLM_MAX_RNN_CHUNKS; T >= K at
     * evaluation (DLM_ERANGE otherwise); no RNN op inside a checkpoint
     * segment. */
    int rnn_chunks;
    /* Added: where the library workspaces no shape gives come from (pytorch
     * profile): rows probed on a GPU or measured (workspaces.h).  NULL: the
     * process-wide default set (the user cache and the shipped files, read
     * once); else this database, which must outlive every model compiled with
     * it (the command line reads --workspaces FILEs into one).  cudnn_version:
     * the cuDNN version the prediction assumes (91900); 0: the newest the
     * rows have for this architecture. */
    const struct dlm_ws_db *workspaces;
    int cudnn_version;
    /* Added: dtype mixed: torch.autocast's half type, whose library rows the
     * convolutions and RNNs take: 0 float16 (autocast's default on CUDA), 1
     * bfloat16 (torch.autocast(dtype=torch.bfloat16)). */
    int autocast_bf16;
    /* Added: the training step keeps the model's outputs alive through
     * loss.backward() and optimizer.step() (a loop that does not `del out`:
     * most do; tools/torch_reference.py's step before 2026-12-01 did, and the
     * reference grids measured then).  0: `del out` before backward, as
     * tools/torch_reference.py's step now: only what autograd saved of them
     * stays. */
    int keep_outputs;
} dlm_mem_config;

#define DLM_MAX_RNN_CHUNKS 4096

/* Added: DLM_OK when every RNN op of g can run in chunks of time steps:
 * there is one, it reads a network input (T, B, I) (the chunks are views of
 * it), and nothing reads its outputs but the last step of its output
 * sequence (out[-1]: the earlier chunks' outputs are not kept); else
 * DLM_EINVAL saying which op and why. */
dlm_status dlm_mem_rnn_chunkable(const dlm_graph *g);


/* Default: infer, fp32, eager, adam, pytorch profile, sm 90. */
void dlm_mem_config_default(dlm_mem_config *c);

/* What a byte at the peak is for. */
typedef enum dlm_term {
    DLM_TERM_WEIGHTS,    /* parameters */
    DLM_TERM_BUFFERS,    /* BatchNorm statistics, position ids, ... */
    DLM_TERM_INPUTS,     /* the network's inputs */
    DLM_TERM_GRADS,      /* parameter gradients */
    DLM_TERM_OPTIMIZER,  /* optimizer state (Adam m and v, momentum) */
    DLM_TERM_SAVED,      /* activations kept for backward */
    DLM_TERM_TRANSIENT,  /* activations and activation gradients alive at the peak
                            that backward does not need */
    DLM_TERM_WORKSPACE,  /* library workspaces (cuDNN, cuBLAS), optimizer temporaries */
    DLM_TERM_ROUNDING,   /* allocator rounding and block splitting (pytorch profile) */
    DLM_TERM_COUNT
} dlm_term;
const char *dlm_term_name(dlm_term t); /* "weights", "gradients", ... */

typedef enum dlm_phase { DLM_PHASE_FORWARD, DLM_PHASE_BACKWARD, DLM_PHASE_STEP } dlm_phase;
const char *dlm_phase_name(dlm_phase p);


/* Added: a term of a prediction that is not known (no probed or measured row
 * for that op, phase, size, architecture and library version). */
#define DLM_MAX_UNKNOWN 8
typedef struct dlm_mem_unknown {
    char term[32];   /* "cudnn_conv_workspace", "cudnn_rnn_workspace", "cudnn_rnn_reserve" */
    int op;          /* graph op */
    dlm_phase phase; /* forward or backward of the step */
    char call[24];   /* the library call: "forward", "backward_data", "backward_filter",
                        "inference", "training", "backward" */
    int64_t batch, seq; /* the size the row would be for (seq 0: none) */
    int no_engine;   /* a row says no engine runs this op (status none) */
} dlm_mem_unknown;

typedef struct dlm_mem_result {
    int64_t peak_bytes;               /* the prediction */
    int64_t by_term[DLM_TERM_COUNT];  /* composition at the peak; sums to peak_bytes */
    dlm_phase peak_phase;
    int peak_op;                      /* op index where the peak occurs; -1 in the
                                         optimizer step, the loss or at the start */
    char peak_where[160];             /* "backward of layer1.0.conv1", "optimizer step" */
    int64_t before_bytes;             /* resident before the measured step (weights,
                                         buffers, inputs; + optimizer state in train) */
    int64_t after_bytes;              /* resident after it */
    dlm_named_bytes named[DLM_MAX_NAMED]; /* workspace and overhead terms, by name, bytes
                                             requested at the peak: cublas_workspace,
                                             cublas_workspace_autograd (the backward
                                             thread's), cudnn_conv_workspace,
                                             cudnn_rnn_workspace, cudnn_rnn_reserve,
                                             adam_foreach_temporaries, attention_scores,
                                             rnn_seq_lengths, and (pytorch profile)
                                             allocator_rounding; only those the model
                                             has */
    int n_named;
    /* Added: whether every term is known.  When not (complete 0), peak_bytes
     * is a lower bound: the n_unknown terms counted 0 B; unknown[] holds the
     * first DLM_MAX_UNKNOWN of them, one per (term, op, call). */
    int complete;
    int n_unknown;
    dlm_mem_unknown unknown[DLM_MAX_UNKNOWN];
    int cudnn_assumed;  /* the cuDNN version the prediction assumes (0: no rows used) */
    int cudnn_rows;     /* a version of rows used that differs from it (0: none) */
} dlm_mem_result;

/* A graph + configuration compiled once (symbolic sizes, event timeline), then
 * evaluated cheaply at many points (B, T).  Evaluation uses scratch space held
 * by the model: one thread evaluates a model at a time (compile one model per
 * thread).  The model keeps a pointer to the graph, which must outlive it. */
typedef struct dlm_mem_model dlm_mem_model;

dlm_status dlm_mem_model_alloc(const dlm_graph *g, const dlm_mem_config *cfg, dlm_mem_model **out);
void dlm_mem_model_free(dlm_mem_model *m);

/* Predicts at (B, T) (T ignored by models without a sequence).  B <= 0, or T
 * outside [1, g->max_T] where the model bounds it, is DLM_ERANGE naming the
 * value and the valid range. */
dlm_status dlm_mem_eval(const dlm_mem_model *m, int64_t B, int64_t T, dlm_mem_result *out);

/* The polynomial in B and T (bytes) that the peak follows around (B, T): the
 * sum of the tensors alive at the peak, before allocator rounding.  For the
 * runtime profile it equals peak_bytes exactly; for the pytorch profile it is
 * the unrounded law that the reconciler compares slopes and curvature with. */
dlm_status dlm_mem_peak_poly(const dlm_mem_model *m, int64_t B, int64_t T, dlm_poly *out);

/* Added: changes a named workspace input of a compiled model (the runtime
 * measures its workspaces per point); unknown names are DLM_EINVAL. */
dlm_status dlm_mem_model_set_input(dlm_mem_model *m, const char *name, int64_t bytes);

/* Added: what one op contributes, as formulas in B and T (bytes in the
 * configuration's dtype).  From the same rules the timeline is built with. */
typedef struct dlm_mem_layer {
    int op;                  /* index into graph->ops */
    dlm_poly out_elems;      /* elements of the op's first output */
    dlm_poly out_bytes;      /* bytes of the new storages it makes (0: view, in place) */
    dlm_poly saved_bytes;    /* bytes autograd keeps for its backward (forward, train) */
    char saved[160];         /* what is kept: "input + save_mean + save_invstd" */
    dlm_poly temp_bytes;     /* largest transient allocation inside the op */
    char temp[96];           /* its name: "maxpool indices", "attention scores" */
} dlm_mem_layer;
/* One entry per op, owned by the model. */
void dlm_mem_layers(const dlm_mem_model *m, const dlm_mem_layer **layers, int *n);

/* Added: the graph and configuration a model was compiled from. */
const dlm_graph *dlm_mem_model_graph(const dlm_mem_model *m);
const dlm_mem_config *dlm_mem_model_config(const dlm_mem_model *m);

/* Added: bytes of one element of activations / of parameters under a dtype. */
int dlm_dtype_act_bytes(dlm_dtype d);
int dlm_dtype_param_bytes(dlm_dtype d);

/* Added: the model's own per-op log of the measured step at (B, T), what
 * tools/torch_reference.py's `oplog` records per aten op: for each run of
 * the timeline's events that belong to one (phase, op), in the order they
 * happen (a checkpointed segment's recomputation shows as its forward ops in
 * the backward phase), the memory allocated before the run, the most inside
 * it and after it (pytorch profile: the allocator's blocks, as
 * memory_allocated() counts them; runtime: exact bytes).  Runs outside any
 * op (the loss, the optimizer step) have op -1.  Writes at most `cap` entries
 * and sets *n to how many there are. */
typedef struct dlm_mem_opstep {
    dlm_phase phase;
    int op;
    int64_t before, peak, after;
} dlm_mem_opstep;
dlm_status dlm_mem_oplog(const dlm_mem_model *m, int64_t B, int64_t T, dlm_mem_opstep *out,
                         int cap, int *n);

/* Added: where the library workspaces that only a GPU can tell come from:
 * the workspace rows (workspaces.h) for this architecture and the cuDNN
 * version assumed, or that there are none.  Writes one line to buf, "" when
 * the model has no such term, e.g. "library workspaces: exact rows for
 * sm_90, cuDNN 91900, from probe-sm90-cudnn91900.csv, conv_workspace.csv".
 * Which terms a point lacks is in its result (complete, unknown[]); B is
 * not used (kept for the callers). */
void dlm_mem_note(const dlm_mem_model *m, int64_t B, char *buf, size_t n);

/* Added: "layer1.0.conv1 (backward_data), fc (training)" — the ops of a
 * result's unknown terms, for notes (at most n bytes). */
void dlm_mem_unknown_list(const dlm_mem_model *m, const dlm_mem_result *r, char *buf, size_t n);

/* Convenience: alloc + eval + free. */
dlm_status dlm_mem_predict(const dlm_graph *g, const dlm_mem_config *cfg, int64_t B, int64_t T,
                           dlm_mem_result *out);

#endif
