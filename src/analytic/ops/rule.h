/* rule.h — what one op kind allocates, saves and frees, and the walker's
 * primitives a rule is written with (internal to src/analytic/).
 *
 * One rule per op kind (table.c), written in the file of its family:
 *   conv.c         conv2d (and the cuDNN convolution workspace lookups)
 *   norm.c         batchnorm2d, layernorm
 *   pool.c         maxpool2d, adaptive avgpool2d
 *   elementwise.c  relu, gelu, tanh, softmax, add, dropout
 *   linear_attn.c  linear, attention
 *   rnn.c          LSTM/GRU (cuDNN workspace and reserve, chunks of time steps)
 *   embedding.c    embedding
 *   shape.c        flatten, select, view
 *   decoder.c      rmsnorm, silu, mul, slice, rotary, rope, index, the causal-LM
 *                  loss, causal attention (eager, SDPA kernels, math SDPA),
 *                  gelu_new: inference, forward and training
 *   vit.c          patch_tokens, cat, nn.MultiheadAttention (inference only)
 * A rule says, for both profiles (r->torch: PyTorch eager; else dlmem's
 * runtime) and every mode (r->grad: autograd records; r->mixed: autocast),
 * what the op's forward allocates (outputs, transients, workspaces), what
 * autograd saves, and what its backward allocates and hands on.  The walker
 * (trace.c: the protocol, Python lifetimes, checkpointing, autocast casts,
 * data parallelism: parallel.c) calls the rules and knows no op by name.
 *
 * What it is not: the timeline (timeline.h) or the public API (memory.h).
 */
#ifndef DLM_OPS_RULE_H
#define DLM_OPS_RULE_H

#include <string.h>

#include "../memory.h"
#include "../timeline.h"
#include "../trace.h"

#define MAX_SAVED 24

/* Activation checkpointing (torch.utils.checkpoint, use_reentrant=False). */
typedef struct ckpt_state {
    int n_seg;
    int *seg_of;     /* per op: its segment, -1 if none */
    int *seg_first;  /* per segment: first op */
    int *seg_last;   /* per segment: last op */
    int *seg_stop;   /* per segment: last op whose node saved something (early stop) */
    int *live;       /* per segment: ops whose holders are alive */
    char *done;      /* per segment: recomputed in this backward */
    char *hold;      /* per op: 0 no holders, 1 holders alive, 2 released */
    int *in_seg, *in_slot; /* segment inputs kept by the checkpoint (pairs) */
    int n_in, cap_in;
    int extra[4], n_extra; /* slots every later segment takes as an input (tr_ckpt_input) */
    int mode;        /* 0 normal, 1 original forward of a segment, 2 recomputation */
    int cap;         /* while recomputing: Python lets go of everything by this op */
} ckpt_state;

typedef struct dlm_par dlm_par; /* data-parallel and sharded training (parallel.h) */

/* The walker's state while it builds one timeline. */
typedef struct tr {
    const dlm_graph *g;
    const dlm_mem_config *cfg;
    dlm_timeline *t;
    dlm_mem_layer *L;
    int torch, grad, train, record;
    int fb, pb;
    int mixed;       /* autocast: fp32 weights, half compute (PyTorch profile) */
    char *eb;        /* per tensor: bytes of a float element (activations, inputs) */
    int *wcast;      /* per tensor (parameters): autocast's cached half copy, -1 */
    int *casts;      /* the autocast cache, released when the region exits */
    int n_casts;
    int n_ops;
    char **module;   /* per op: the module call it belongs to */
    int *slot;       /* per tensor: slot of its storage (-1: none) */
    int *rel;        /* per tensor: op after which Python lets go of it */
    char *rg;        /* per tensor: requires grad */
    int *gslot;      /* per tensor: its pending gradient */
    char *gview;     /* per tensor: that gradient is a view into a larger one (cat's
                        backward): autograd never accumulates into it in place */
    int *pgrad;      /* per tensor (parameters): .grad */
    int *saved;      /* per op: MAX_SAVED slots autograd keeps */
    int *n_saved;
    int *ahold;      /* per op: attention weights held by the BertLayer frame */
    int *rl_head, *rl_next, *rl_slot; /* releases scheduled after op o */
    int n_rl, cap_rl;
    int *end_slots;  /* releases at the end of the step (outputs, loss) */
    int n_end, cap_end;
    int *opt_m, *opt_v; /* per parameter (graph->params order) */
    int cublas_fwd, cublas_bwd;
    int cublaslt;    /* the main thread's cuBLASLt workspace is there */
    int res_cublas;  /* runtime: its resident cuBLAS workspace is there */
    ckpt_state ck;   /* activation checkpointing (cfg->checkpoint) */
    int K;           /* RNN ops in K checkpointed chunks of time steps (0: one call) */
    int *tchunk;     /* per tensor: the chunk its storage holds (-1: all of T) */
    int *kept;       /* per RNN op and chunk k: the state (h, c) chunk k's checkpoint keeps */
    char *frame;     /* per RNN op and chunk k: that checkpoint is alive */
    int nosave;      /* a checkpointed call: autograd keeps holders, no tensors */
    dlm_par *par;    /* --parallel: DDP, ZeRO-1, FSDP2 (NULL: one GPU) */
    int nm_cublas, nm_cublas_bwd, nm_conv, nm_rnn_ws, nm_rnn_res, nm_adam, nm_attn;
    const dlm_ws_db *ws; /* library workspace rows (workspaces.h; may be NULL) */
    int cudnn;           /* the cuDNN version the prediction assumes */
    dlm_trace_info *info;
    int ce_target[8];    /* cross-entropy loss: each output's int64 class indices (-1: none) */
    int own_loss;        /* the model's own loss op's result, held by Python (-1: none) */
    struct tr_deferred {  /* tr_defer_save: allocations made when a storage is let go */
        int at, op;
        int64_t b_split;
        dlm_poly lo, hi;
        const char *what;
    } *dfr;
    int n_dfr, cap_dfr;
    dlm_status st;
} tr;

/* ---- the rule of one op kind ------------------------------------------------------ */

enum {
    RULE_FUNCTIONAL = 1, /* called as a function, not a module: Python's frame is
                            the module around it (its name's last part is no module) */
    RULE_BWD_ALWAYS = 2, /* its backward runs without a gradient of output 0 (the
                            gradients of its other outputs, or zeros, drive it) */
    RULE_RG_PER_OUTPUT = 4 /* output k requires grad as input k does (two
                            independent computations in one op: RoPE on q and k) */
};

typedef struct op_rule {
    const char *name;
    /* Forward of op o: outputs into r->slot, transients, what autograd saves. */
    void (*fwd)(tr *r, int o);
    /* Backward of op o given gout, the gradient of its output 0 (-1: none, only
     * with RULE_BWD_ALWAYS): gradients to its inputs (tr_give) and parameters
     * (tr_param_grad); releases gout and what it saved. */
    void (*bwd)(tr *r, int o, int gout);
    /* Element bytes of its outputs under autocast: 0 its input's, 2 half, 4
     * fp32, -1 the widest of its inputs (type promotion). */
    int autocast;
    int flags;  /* RULE_* */
    /* Optional.  Once per build, before the protocol, whatever ops the graph
     * has: checks and state of the configuration's options for this family. */
    dlm_status (*prepare)(tr *r);
    /* Optional.  The graph lets go of op o's node: more than its saved tensors. */
    void (*release)(tr *r, int o);
    /* Optional.  The last of op o's parameters has been moved to the GPU. */
    void (*params_moved)(tr *r, int o);
    /* Optional: NULL when dlmem's GPU runtime runs op `op`, else what it
     * does not run ("maxpool2d with ceil_mode"); the runtime profile refuses
     * a graph with such an op.  NULL hook: the runtime runs every op of it. */
    const char *(*runtime_refuses)(const dlm_op *op);
    /* Optional (runtime profile).  Resident workspaces of the runtime
     * (src/measure/plan.h) for the `n` ops of this kind, the first being `o`. */
    void (*resident)(tr *r, int o, int n);
} op_rule;

/* The rule of kind k; NULL for a kind without one (an internal error). */
const op_rule *dlm_op_rule(dlm_op_kind k);

/* The rules, one per kind, in their family files. */
extern const op_rule dlm_rule_conv2d, dlm_rule_batchnorm2d, dlm_rule_layernorm,
    dlm_rule_maxpool2d, dlm_rule_avgpool2d_adaptive, dlm_rule_relu, dlm_rule_gelu,
    dlm_rule_tanh, dlm_rule_softmax, dlm_rule_add, dlm_rule_dropout, dlm_rule_linear,
    dlm_rule_attention, dlm_rule_rnn, dlm_rule_embedding, dlm_rule_flatten, dlm_rule_select,
    dlm_rule_view, dlm_rule_convt2d, dlm_rule_avgpool2d, dlm_rule_relu6, dlm_rule_hardswish,
    dlm_rule_silu, dlm_rule_sigmoid, dlm_rule_mul, dlm_rule_concat, dlm_rule_upsample,
    dlm_rule_stochastic_depth, dlm_rule_rmsnorm, dlm_rule_slice, dlm_rule_rotary,
    dlm_rule_rope, dlm_rule_index, dlm_rule_causal_lm_loss, dlm_rule_patch_tokens, dlm_rule_mha;


/* Decoder ops reached through other kinds' rules (decoder.c): a causal
 * attention (linear_attn.c's rule) and GPT-2's gelu_new (elementwise.c's). */
void tr_causal_attention_fwd(tr *r, int o);
/* The runtime profile's eager attention scratch (scores padded, addresses): a slot. */
int tr_runtime_scores(tr *r, int o);
/* The fused attention backward's workspace bytes (linear_attn.c). */
dlm_poly tr_sdpa_bwd_workspace(dlm_poly qb, dlm_poly B, dlm_poly T, int heads, int e);
void tr_causal_attention_bwd(tr *r, int o, int gout);
void tr_gelu_new_fwd(tr *r, int o);
void tr_gelu_new_bwd(tr *r, int o, int gout);
int tr_gelu_new_out_bytes(const tr *r, int o);

/* ---- small helpers ----------------------------------------------------------------- */

static inline dlm_poly P(int64_t k) { return dlm_poly_const(k); }
static inline dlm_poly mulk(dlm_poly a, int64_t k) { return dlm_poly_scale(a, k); }

static inline const dlm_tensor *TT(const tr *r, int t) { return &r->g->tensors[t]; }

static inline dlm_poly numel(const tr *r, int t) { return TT(r, t)->numel; }

static inline int elem_bytes(const tr *r, int t)
{
    const dlm_tensor *x = TT(r, t);
    if (x->elem == DLM_EL_INT64) return 8;
    if (x->role == DLM_ROLE_PARAM && x->keep_fp32) return 4;
    if (x->role == DLM_ROLE_PARAM || x->role == DLM_ROLE_BUFFER) return r->pb;
    return r->eb[t];
}

static inline dlm_poly nbytes(const tr *r, int t) { return mulk(numel(r, t), elem_bytes(r, t)); }

/* Slot of tensor t's storage. */
static inline int S(const tr *r, int t) { return r->slot[t]; }

/* Product of all dimensions but the last (LayerNorm rows). */
static inline dlm_poly rows(const tr *r, int t)
{
    const dlm_tensor *x = TT(r, t);
    dlm_poly p = P(1);
    for (int i = 0; i + 1 < x->ndim; i++) p = dlm_poly_mul(p, x->shape[i]);
    return p;
}

/* Appends " + s" (or s) to a description. */
static inline void appendf(char *buf, size_t n, const char *s)
{
    size_t l = strlen(buf);
    if (l && l + 3 < n) strcat(buf, " + ");
    strncat(buf, s, n - strlen(buf) - 1);
}

static inline int new_slot(tr *r, dlm_poly b, dlm_term term, int named, const char *what)
{
    return tl_new(r->t, b, term, named, what);
}

static inline void set_term(tr *r, int s, dlm_term term)
{
    if (s >= 0 && r->t->slots[s].term == DLM_TERM_TRANSIENT) r->t->slots[s].term = (uint8_t)term;
}

/* ---- the walker's primitives (trace.c) -------------------------------------------- */

/* Output k of op o as a new storage (its slot). */
int tr_out_new(tr *r, int o, int k);
/* Output k of op o shares the storage of tensor `base`. */
void tr_out_alias(tr *r, int o, int k, int base);
/* A transient allocation inside op o; the caller releases it. */
int tr_temp(tr *r, int o, dlm_poly b, dlm_term term, int named, const char *what);
/* Autograd's node for op o keeps slot s until its backward runs. */
void tr_save(tr *r, int o, int s, const char *what);
/* Op o's node lets go of one tensor it saved (a node of a composite op whose
 * backward frees what it read one by one); nothing if s is not saved. */
void tr_unsave(tr *r, int o, int s);
/* After op `at` of the forward (where Python lets go of a storage that op o's
 * node keeps when B <= b_split: a view it saved), a storage of lo bytes for
 * B <= b_split and hi above, saved by op o's node: the bytes the view keeps. */
void tr_defer_save(tr *r, int at, int o, dlm_poly lo, dlm_poly hi, int64_t b_split,
                   const char *what);
/* Op o's node lets go of what it saved (only that). */
void tr_drop_saved(tr *r, int o);
/* Op o's node goes: what it saved, and what its checkpoint kept for it. */
void tr_release_saved(tr *r, int o);
/* Python lets go of tensor t now, not where its release was scheduled (a local
 * rebound inside the op being walked); nothing if that release is not pending. */
void tr_release_early(tr *r, int t);
/* Python lets go of slot s after op `at` (>= the op count: at the end). */
void tr_schedule(tr *r, int at, int s);
/* Slot s (made outside the graph's tensors, as a decoder's attention mask)
 * is an input of every checkpointed segment that starts after it: each
 * segment's checkpoint keeps it until that segment's recomputation is done
 * with it. */
void tr_ckpt_input(tr *r, int s);
/* A transient of per_t bytes per token, the token count t rounded up to a
 * multiple of m (kernels that pad their rows): t a constant (ViT's tokens)
 * is rounded here, the sequence length T by the timeline at each T. */
int tr_temp_tround(tr *r, int o, dlm_poly per_t, dlm_poly t, int64_t m, const char *what);
/* The cuBLAS workspace of the thread running a GEMM (allocated at its first). */
void tr_gemm(tr *r, int backward);
/* The main thread's 1 MiB cuBLASLt workspace, at its first addmm with a bias
 * (at::addmm's cublasLt gemm-and-bias path; a plain mm runs cublasGemmEx). */
void tr_gemm_lt(tr *r);
/* Op after which the Python frame holding output `out` of op o (-1: the
 * attention weights inside the op) returns; -1 if no frame holds it. */
int tr_hold_end(const tr *r, int o, int out);
/* Autocast: the input op o reads (and saves), a half copy of fp32 t when one
 * is made (*copy, else -1); the cached half copies of op o's parameters. */
int tr_read_half(tr *r, int o, int t, int *copy);
void tr_weight_casts(tr *r, int o);
void tr_weight_cast(tr *r, int o, int p);
/* Autocast's region exits: its cached weight copies go. */
void tr_release_casts(tr *r);
/* A gradient of tensor t's size (of one chunk where t's storage holds one). */
int tr_grad_new(tr *r, int t, const char *what);
/* Delivers gradient slot s for tensor t (autograd's InputBuffer); with
 * tr_give_view, s is a view into a larger gradient (its slot). */
void tr_give(tr *r, int t, int s);
void tr_give_view(tr *r, int t, int s);
/* ... s being t's gradient in a transposed layout ((B, h, T, d) for a (B, T,
 * h*d) tensor): the backward of the op that made t copies it first. */
void tr_give_transposed(tr *r, int t, int s);
/* Parameter p's gradient s: AccumulateGrad (and sharding). */
void tr_param_grad(tr *r, int p, int s);
/* A fresh gradient of parameter p; the same read through autocast's copy. */
int tr_pgrad_new(tr *r, int p);
int tr_pgrad_half(tr *r, int p);

/* The common backward of an op with one input: a gradient of its size. */
void tr_bwd_input_grad(tr *r, int o, int gout);

/* Bytes of parameter t's optimizer state on this GPU, `eb` bytes an element
 * (a shard under --parallel fsdp/zero*, parallel.h). */
dlm_poly tr_state_bytes(const tr *r, int t, int64_t eb);

/* The runtime's resident workspace `name` (named term `named`): the
 * configuration's measured size if given, else `dflt`. */
void tr_resident_input(tr *r, int named, const char *name, dlm_poly dflt, const char *what);
/* A library term of op o from workspace rows (ops/libws.c): the series of
 * (sm, pytorch-2.11, kind, call, the rows' dtype, layout, key) looked up at
 * the op's `batch` (and `seq`, a zero polynomial for none) when the
 * timeline is evaluated; field 0 the workspace, 1 the reserve.  No row: not
 * known there (0 B, the point incomplete).  Returns the slot. */
int tr_ws_rows(tr *r, int o, const char *kind, const char *call, const char *layout,
               const char *key, dlm_poly batch, dlm_poly seq, int field, const char *term_name,
               dlm_term term, int named, const char *what);
/* The same with the rows of another choice logic (dlmem-runtime: dlmem's own runtime). */
int tr_ws_rows_logic(tr *r, int o, const char *logic, const char *kind, const char *call,
                     const char *layout, const char *key, dlm_poly batch, dlm_poly seq, int field,
                     const char *term_name, dlm_term term, int named, const char *what);
/* The dtype of the rows op o's library calls are looked up in. */
const char *tr_ws_dtype(const tr *r);
/* The runtime's cuBLAS workspace, once however many ops use it. */
void tr_resident_cublas(tr *r, int o, int n);

#endif
