/* trace.c — graph + configuration -> timeline of allocations (see trace.h).
 *
 * Sizes: B batch, T sequence; Hd hidden, h heads, L layers.  `fb` is the
 * bytes of one activation element, `pb` of one parameter element.
 *
 * Where each PyTorch rule comes from (PyTorch 2.11, torchvision 0.26,
 * transformers 5.17; CPU dispatch logs of the same code agree on the aten ops):
 *   conv2d       cudnn_convolution: output, a transient cuDNN workspace; saves input
 *   batchnorm    train: output + save_mean + save_invstd (C floats); saves input
 *   relu_        in place; saves its result
 *   maxpool      max_pool2d_with_indices: output + int64 indices (saved in train,
 *                freed at once in inference)
 *   linear       addmm on the flattened input: output; saves input; the first
 *                GEMM of a thread allocates its cuBLAS workspace
 *   layernorm    native_layer_norm: output + mean + rstd (rows floats); saves
 *                input, mean, rstd
 *   dropout      train: native_dropout: output + bool mask (saved); eval: the
 *                input itself
 *   gelu/tanh/softmax  output; saves input (gelu) or result (tanh, softmax)
 *   attention    eager (transformers eager_attention_forward): clones of the
 *                transposed q and k for bmm, raw scores, scaled scores, softmax,
 *                dropout (train), a clone of v, the context, its contiguous
 *                copy; fused (SDPA memory-efficient / flash): output +
 *                logsumexp, saves q, k, v, output, logsumexp
 *   lstm         zero hx/cx, _cudnn_rnn: output, h_n, c_n, workspace
 *                (transient), reserve (train, saved); in chunks of time
 *                steps (cfg->rnn_chunks): one call per chunk, each under a
 *                checkpoint (see "RNN in chunks" below)
 *   autocast     (dtype mixed) half copies of weights (cached per region) and
 *                of fp32 inputs of half ops; fp32 layer_norm, softmax, loss
 * Python frames keep tensors alive past their last reader: a module's
 * arguments live until it returns, and named locals (table `holds`) until
 * their scope ends.
 *
 * Library sizes no shape determines were read off the H200 reference data
 * and say so where they are defined: the cuBLAS/cuBLASLt workspaces, cuDNN's
 * half-precision convolution workspaces (NHWC copies), the cuDNN RNN
 * workspace and reserve, the fused attention backward's workspace.  cuDNN's
 * fp32 convolution workspaces follow no law (the engine changes with B):
 * they come from a table measured per conv shape and batch size
 * (data/cudnn/conv_workspace.csv, convtab.h) and are not known (0 B, and
 * memory.h's dlm_mem_note() says so) where the table has no row.
 */
#include "trace.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int mode;        /* 0 normal, 1 original forward of a segment, 2 recomputation */
    int cap;         /* while recomputing: Python lets go of everything by this op */
} ckpt_state;

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
    ckpt_state ck;   /* activation checkpointing (cfg->checkpoint) */
    int K;           /* RNN ops in K checkpointed chunks of time steps (0: one call) */
    int *tchunk;     /* per tensor: the chunk its storage holds (-1: all of T) */
    int *kept;       /* per RNN op and chunk k: the state (h, c) chunk k's checkpoint keeps */
    char *frame;     /* per RNN op and chunk k: that checkpoint is alive */
    int nosave;      /* a checkpointed call: autograd keeps holders, no tensors */
    int nm_cublas, nm_cublas_bwd, nm_conv, nm_rnn_ws, nm_rnn_res, nm_adam, nm_attn;
    const dlm_convtab *convtab; /* measured fp32 convolution workspaces (may be NULL) */
    dlm_trace_info *info;
    dlm_status st;
} tr;

int64_t dlm_torch_cublas_workspace(int sm)
{
    /* GPU_NOTES.md: PyTorch 2.11 takes 32 MiB on sm_90, 8,519,680 B elsewhere. */
    return sm >= 90 ? 32LL << 20 : 8519680LL;
}

/* ---- small helpers ----------------------------------------------------------- */

static dlm_poly P(int64_t k) { return dlm_poly_const(k); }
static dlm_poly mulk(dlm_poly a, int64_t k) { return dlm_poly_scale(a, k); }

static const dlm_tensor *TT(const tr *r, int t) { return &r->g->tensors[t]; }

static dlm_poly numel(const tr *r, int t) { return TT(r, t)->numel; }

static int elem_bytes(const tr *r, int t)
{
    const dlm_tensor *x = TT(r, t);
    if (x->elem == DLM_EL_INT64) return 8;
    if (x->role == DLM_ROLE_PARAM || x->role == DLM_ROLE_BUFFER) return r->pb;
    return r->eb[t];
}

static dlm_poly nbytes(const tr *r, int t) { return mulk(numel(r, t), elem_bytes(r, t)); }

/* ZeRO-style sharding (model-only): the stage in force, 0 without sharding. */
static int zero_stage(const tr *r)
{
    return r->cfg->shard_gpus > 1 ? r->cfg->shard_stage : 0;
}

/* One GPU's shard of parameter t's elements at `eb` bytes each: the
 * tensor's elements split evenly, rounded up. */
static dlm_poly shard_bytes(const tr *r, int t, int64_t eb)
{
    int64_t n = dlm_tensor_numel_const(r->g, t), k = r->cfg->shard_gpus;
    return P((n + k - 1) / k * eb);
}

/* Bytes of parameter t as the optimizer state (stage >= 1), the gradients
 * (stage >= 2) or the weights (stage 3) keep it on one GPU. */
static dlm_poly state_bytes(const tr *r, int t, int min_stage, int64_t eb)
{
    return zero_stage(r) >= min_stage ? shard_bytes(r, t, eb) : mulk(numel(r, t), eb);
}

/* Product of all dimensions but the last (LayerNorm rows). */
static dlm_poly rows(const tr *r, int t)
{
    const dlm_tensor *x = TT(r, t);
    dlm_poly p = P(1);
    for (int i = 0; i + 1 < x->ndim; i++) p = dlm_poly_mul(p, x->shape[i]);
    return p;
}

static void appendf(char *buf, size_t n, const char *s)
{
    size_t l = strlen(buf);
    if (l && l + 3 < n) strcat(buf, " + ");
    strncat(buf, s, n - strlen(buf) - 1);
}

static int new_slot(tr *r, dlm_poly b, dlm_term term, int named, const char *what)
{
    return tl_new(r->t, b, term, named, what);
}

static void set_term(tr *r, int s, dlm_term term)
{
    if (s >= 0 && r->t->slots[s].term == DLM_TERM_TRANSIENT) r->t->slots[s].term = (uint8_t)term;
}

/* Output k of op o as a new storage. */
static int out_new(tr *r, int o, int k)
{
    int t = r->g->ops[o].out[k];
    dlm_poly b = nbytes(r, t);
    int s = new_slot(r, b, DLM_TERM_TRANSIENT, -1, "output");
    r->slot[t] = s;
    if (r->record) r->L[o].out_bytes = dlm_poly_add(r->L[o].out_bytes, b);
    return s;
}

/* Output k of op o shares the storage of tensor `base`. */
static void out_alias(tr *r, int o, int k, int base)
{
    int t = r->g->ops[o].out[k];
    r->slot[t] = r->slot[base];
    tl_ref(r->t, r->slot[t]);
}

/* A transient allocation inside op o; the caller releases it. */
static int temp(tr *r, int o, dlm_poly b, dlm_term term, int named, const char *what)
{
    int s = new_slot(r, b, term, named, what);
    if (r->record && o >= 0 && s >= 0) {
        r->L[o].temp_bytes = dlm_poly_add(r->L[o].temp_bytes, b);
        appendf(r->L[o].temp, sizeof r->L[o].temp, what);
    }
    return s;
}

/* Autograd's node for op o keeps slot s until its backward runs. */
static void save(tr *r, int o, int s, const char *what)
{
    if (s < 0 || r->nosave) return;
    if (r->ck.mode == 1) { /* checkpointed forward: the node keeps a holder, no tensor */
        r->ck.hold[o] = 1;
        return;
    }
    if (r->ck.mode == 2 && r->ck.hold[o] != 1) return; /* recomputed for no live node */
    if (r->n_saved[o] == MAX_SAVED) {
        if (r->st == DLM_OK) r->st = dlm_error(DLM_EINTERNAL, "op %s saves too much", r->g->ops[o].name);
        return;
    }
    tl_ref(r->t, s);
    set_term(r, s, DLM_TERM_SAVED);
    r->saved[o * MAX_SAVED + r->n_saved[o]++] = s;
    if (r->record) {
        int z = r->t->slots[s].size;
        if (r->t->ext[z].chunk_k > 1) { /* a chunk of T/K steps: no polynomial in T */
            char buf[96];
            snprintf(buf, sizeof buf, "%s (of one chunk, T/%d steps)", what, r->t->ext[z].chunk_k);
            appendf(r->L[o].saved, sizeof r->L[o].saved, buf);
            return;
        }
        r->L[o].saved_bytes = dlm_poly_add(r->L[o].saved_bytes, r->t->sizes[z]);
        appendf(r->L[o].saved, sizeof r->L[o].saved, what);
    }
}

static void ckpt_release_inputs(tr *r, int seg);
static void rnn_frame_release(tr *r, int o, int k);

static void drop_saved(tr *r, int o)
{
    for (int i = 0; i < r->n_saved[o]; i++) tl_unref(r->t, r->saved[o * MAX_SAVED + i]);
    r->n_saved[o] = 0;
}

static void release_saved(tr *r, int o)
{
    drop_saved(r, o);
    if (r->K && r->g->ops[o].kind == DLM_OP_RNN) /* the graph goes: every chunk's checkpoint */
        for (int k = 0; k < r->K; k++) rnn_frame_release(r, o, k);
    if (r->ck.hold && r->ck.hold[o] == 1) {
        /* the last holder gone: the checkpoint's frame, and the inputs it
         * keeps, go with it */
        r->ck.hold[o] = 2;
        if (--r->ck.live[r->ck.seg_of[o]] == 0) ckpt_release_inputs(r, r->ck.seg_of[o]);
    }
}

static void schedule(tr *r, int at, int s)
{
    if (s < 0) return;
    if (r->ck.mode == 2 && at > r->ck.cap) at = r->ck.cap; /* recompute_fn returns */
    if (at >= r->n_ops) {
        if (r->n_end == r->cap_end) {
            int nc = r->cap_end ? 2 * r->cap_end : 64;
            int *p = realloc(r->end_slots, (size_t)nc * sizeof *p);
            if (!p) {
                r->st = dlm_error(DLM_ENOMEM, "out of memory");
                return;
            }
            r->end_slots = p;
            r->cap_end = nc;
        }
        r->end_slots[r->n_end++] = s;
        return;
    }
    if (r->n_rl == r->cap_rl) {
        int nc = r->cap_rl ? 2 * r->cap_rl : 256;
        int *a = realloc(r->rl_next, (size_t)nc * sizeof *a);
        if (a) r->rl_next = a;
        int *b = realloc(r->rl_slot, (size_t)nc * sizeof *b);
        if (b) r->rl_slot = b;
        if (!a || !b) {
            r->st = dlm_error(DLM_ENOMEM, "out of memory");
            return;
        }
        r->cap_rl = nc;
    }
    r->rl_slot[r->n_rl] = s;
    r->rl_next[r->n_rl] = r->rl_head[at];
    r->rl_head[at] = r->n_rl++;
}

/* The cuBLAS workspace of the thread running a GEMM (allocated at its first). */
static void gemm(tr *r, int backward)
{
    if (!r->torch) return;
    if (r->ck.mode == 2) backward = 1; /* recomputation runs on the autograd thread */
    int *ws = backward ? &r->cublas_bwd : &r->cublas_fwd;
    if (*ws >= 0) return;
    *ws = new_slot(r, P(dlm_torch_cublas_workspace(r->cfg->sm)), DLM_TERM_WORKSPACE,
                   backward ? r->nm_cublas_bwd : r->nm_cublas,
                   backward ? "cuBLAS workspace (autograd thread)" : "cuBLAS workspace");
    /* and 1 MiB for cuBLASLt on the main thread (the oplog's first addmm
     * allocates 32 MiB + 1 MiB; training's resident memory shows no second
     * one for the autograd thread) */
    if (!backward)
        new_slot(r, P(1LL << 20), DLM_TERM_WORKSPACE, r->nm_cublas, "cuBLASLt workspace");
}

/* ---- Python lifetimes ------------------------------------------------------------ */

static int functional(dlm_op_kind k)
{
    return k == DLM_OP_ADD || k == DLM_OP_FLATTEN || k == DLM_OP_SELECT || k == DLM_OP_VIEW;
}

static int in_scope(const char *mod, const char *p, size_t lp)
{
    return strncmp(mod, p, lp) == 0 && (mod[lp] == '\0' || mod[lp] == '.');
}

/* Last op of the module call `p` (its first lp characters). */
static int scope_end(const tr *r, const char *p, size_t lp)
{
    if (lp == 0) return r->n_ops - 1;
    for (int o = r->n_ops - 1; o >= 0; o--)
        if (in_scope(r->module[o], p, lp)) return o;
    return -1;
}

/* Names a local variable holds until a scope ends (Python source facts). */
typedef struct hold {
    const char *op;    /* op name, '*' matches a layer number */
    int out;           /* output index; -1: the attention weights inside the op */
    const char *scope; /* module whose return drops it ("": the model's forward) */
} hold;

static const hold holds[] = {
    /* transformers BertEmbeddings.forward: locals inputs_embeds,
     * token_type_embeddings, position_embeddings */
    {"embeddings.word_embeddings", 0, "embeddings"},
    {"embeddings.token_type_embeddings", 0, "embeddings"},
    {"embeddings.position_embeddings", 0, "embeddings"},
    /* BertModel.forward: embedding_output */
    {"embeddings.dropout", 0, ""},
    /* BertSelfOutput / BertOutput: hidden_states = LayerNorm(hidden_states + input) */
    {"encoder.layer.*.attention.output.dropout", 0, "encoder.layer.*.attention.output"},
    {"encoder.layer.*.output.dropout", 0, "encoder.layer.*.output"},
    /* BertLayer.forward: `self_attention_output, _ = self.attention(...)` */
    {"encoder.layer.*.attention.self", -1, "encoder.layer.*"},
    /* the seed's RNN: `out, _ = self.lstm(x)` keeps (h_n, c_n) */
    {"lstm", 1, ""}, {"lstm", 2, ""}, {"gru", 1, ""},
};

/* Matches `pat` against `s`; '*' matches digits, copied to num. */
static int match(const char *pat, const char *s, char *num, size_t n)
{
    num[0] = '\0';
    while (*pat) {
        if (*pat == '*') {
            size_t k = 0;
            while (s[k] >= '0' && s[k] <= '9') k++;
            if (!k || k >= n) return 0;
            memcpy(num, s, k);
            num[k] = '\0';
            s += k;
            pat++;
        } else if (*pat++ != *s++) {
            return 0;
        }
    }
    return *s == '\0';
}

static void subst(const char *pat, const char *num, char *out, size_t n)
{
    size_t k = 0;
    for (; *pat && k + 1 < n; pat++) {
        if (*pat == '*') {
            for (const char *q = num; *q && k + 1 < n; q++) out[k++] = *q;
        } else {
            out[k++] = *pat;
        }
    }
    out[k] = '\0';
}

/* Op after which the frame holding hold `h` for op o returns, -1 if none. */
static int hold_end(const tr *r, int o, int out)
{
    char num[16], scope[256];
    for (size_t i = 0; i < sizeof holds / sizeof holds[0]; i++) {
        if (holds[i].out != out || !match(holds[i].op, r->g->ops[o].name, num, sizeof num)) continue;
        subst(holds[i].scope, num, scope, sizeof scope);
        return scope_end(r, scope, strlen(scope));
    }
    return -1;
}

static dlm_status compute_modules(tr *r)
{
    r->module = calloc((size_t)r->n_ops + 1, sizeof *r->module);
    if (!r->module) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int o = 0; o < r->n_ops; o++) {
        const dlm_op *op = &r->g->ops[o];
        r->module[o] = strdup(op->name);
        if (!r->module[o]) return dlm_error(DLM_ENOMEM, "out of memory");
        if (functional(op->kind)) {
            char *dot = strrchr(r->module[o], '.');
            if (dot) *dot = '\0';
            else r->module[o][0] = '\0';
        }
    }
    return DLM_OK;
}

/* When Python lets go of each tensor (forward).  Graph outputs: never. */
static void compute_release(tr *r)
{
    const dlm_graph *g = r->g;
    for (int t = 0; t < g->n_tensors; t++) r->rel[t] = g->tensors[t].producer;
    for (int o = 0; o < r->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        for (int i = 0; i < op->n_in; i++) {
            int t = op->in[i], p = g->tensors[t].producer;
            if (r->rel[t] < o) r->rel[t] = o;
            if (!r->torch || p < 0) continue;
            /* A module's arguments live until it returns: the outermost call
             * around o that does not contain the producer holds t. */
            const char *m = r->module[o], *pm = r->module[p];
            size_t len = strlen(m);
            for (size_t k = 1; k <= len; k++) {
                if (m[k] != '.' && m[k] != '\0') continue;
                if (in_scope(pm, m, k)) continue;
                int e = scope_end(r, m, k);
                if (e > r->rel[t]) r->rel[t] = e;
                break;
            }
        }
        if (r->torch)
            for (int k = 0; k < op->n_out; k++) {
                int e = hold_end(r, o, k);
                if (e > r->rel[op->out[k]]) r->rel[op->out[k]] = e;
            }
    }
    for (int i = 0; i < g->n_outputs; i++) r->rel[g->outputs[i]] = INT_MAX;
}

static void compute_requires_grad(tr *r)
{
    const dlm_graph *g = r->g;
    for (int t = 0; t < g->n_tensors; t++) r->rg[t] = g->tensors[t].role == DLM_ROLE_PARAM;
    for (int o = 0; o < r->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        int any = op->n_params > 0;
        for (int i = 0; i < op->n_in; i++) any |= r->rg[op->in[i]];
        for (int k = 0; k < op->n_out; k++) r->rg[op->out[k]] = (char)any;
    }
}

/* ---- library workspace sizes (PyTorch profile) -------------------------------- */

/* cuDNN convolution workspace in half precision (fp16, bf16, mixed): the
 * engines cuDNN 9 picks for NCHW tensors run on NHWC copies made in the
 * workspace: input + output (+ the filter when it is larger than 1x1) + 512 B,
 * read off pytorch_oplog.csv for every ResNet-18 layer (B=2, bf16, H200,
 * cuDNN 9.19) and to the byte in pytorch_oplog_resnet_fp16.csv (fp16
 * inference, B 8, 32, 64) except the stride-2 1x1 downsample (layer2.0), which
 * at B 32 and 64 gets an engine without copies (512 B): over-predicted there,
 * never at a peak of the reference data.  fp32: see conv_ws_measured(). */
static dlm_poly conv_workspace(const tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (op->a.conv.cin % 8) {
        /* the stem (3 channels): an NHWC copy of the input padded to 8
         * channels (bf16) or 4 (fp16) + the output.  bf16: read off
         * the bf16 inference series of pytorch_memory.csv (B 8..128: the peak
         * less the stem's tensors is this within 1 MiB); the oplog shows no
         * such workspace at B=2, where cuDNN picks another engine, so B <= 2
         * is over-predicted by up to 1.6 MiB.  fp16: the fp16 per-op log at
         * B 8, 32, 64 (the stem's transient is this rounded to the 2 MiB
         * segment). */
        const dlm_tensor *x = TT(r, op->in[0]);
        if (r->cfg->dtype == DLM_DTYPE_MIXED) return P(0); /* autocast: none seen (techniques CSV) */
        int64_t cpad = r->cfg->dtype == DLM_DTYPE_BF16 ? (op->a.conv.cin + 7) / 8 * 8
                                                        : (op->a.conv.cin + 3) / 4 * 4;
        dlm_poly pad = mulk(dlm_poly_mul(x->shape[0], dlm_poly_mul(x->shape[2], x->shape[3])), cpad * 2);
        return dlm_poly_add(pad, nbytes(r, op->out[0]));
    }
    dlm_poly w = P(0);
    if (op->a.conv.kh * op->a.conv.kw > 1) w = nbytes(r, op->params[0]);
    if (r->cfg->dtype == DLM_DTYPE_MIXED) w = mulk(numel(r, op->params[0]), 2);
    return dlm_poly_add(dlm_poly_add(nbytes(r, op->in[0]), nbytes(r, op->out[0])),
                        dlm_poly_add(w, P(512)));
}

/* cuDNN convolution workspace in fp32: with cudnn.benchmark off PyTorch runs
 * the engine cuDNN's heuristics rank first, and for fp32 that engine (and its
 * workspace: none for most ResNet-18 layers at B <= 16, up to 730 MiB for one
 * layer at B=128 on an H200) changes with the batch size in ways no shape
 * rule gives.  So it is a measured, named term: data/cudnn/conv_workspace.csv
 * (convtab.h: per GPU architecture, conv shape, forward / backward and batch
 * size, with the rule between measured batch sizes).  Forward: the op's
 * transient above its output.  Backward: convolution_backward runs the
 * data-gradient and filter-gradient engines inside one aten op, and the log
 * holds one peak: the table's bytes are that peak above both gradients, so
 * the model allocates them after the gradients, where the op's peak is exact.
 * A shape or architecture the table lacks: not known, 0 B, counted in
 * dlm_trace_info for the output's note.  Returns the slot (-1: none). */
static int conv_ws_measured(tr *r, int o, dlm_conv_phase ph)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]), *y = TT(r, op->out[0]);
    dlm_conv_key k = {op->a.conv.cin, (int)dlm_poly_eval(&x->shape[2], 1, 1),
                      (int)dlm_poly_eval(&x->shape[3], 1, 1), op->a.conv.cout, op->a.conv.kh,
                      op->a.conv.kw, (int)dlm_poly_eval(&y->shape[2], 1, 1),
                      (int)dlm_poly_eval(&y->shape[3], 1, 1)};
    const dlm_conv_series *s =
        op->a.conv.groups == 1 && op->a.conv.dh == 1 && op->a.conv.dw == 1
            ? dlm_convtab_find(r->convtab, r->cfg->sm, "fp32", ph, &k)
            : NULL;
    if (!s) {
        if (r->record) r->info->conv_unknown++;
        return -1;
    }
    if (r->record) {
        r->info->conv_measured++;
        if (!r->info->series) r->info->series = s;
        if (ph == DLM_CONV_FWD)
            appendf(r->L[o].temp, sizeof r->L[o].temp, "cuDNN conv workspace (measured per B)");
    }
    int any = 0;
    for (int i = 0; i < s->n; i++) any |= s->bytes[i] > 0;
    if (!any) return -1; /* measured: none at every batch size */
    return tl_new_measured(r->t, s->B, s->bytes, s->n, DLM_TERM_WORKSPACE, r->nm_conv,
                           "cuDNN conv workspace (measured)");
}

/* cuDNN RNN reserve (train), elements per time step, sequence and hidden
 * unit, in the activation type, + 256 B:
 *   LSTM  6L - 1: per layer the four gate activations, the cell state and the
 *         hidden state, less the last layer's hidden state (it is the output);
 *   GRU   7L - 1: per layer the three gates' input and recurrent
 *         pre-activations (cuDNN keeps W_hn*h apart: r multiplies it) and the
 *         hidden state, less the last layer's hidden state.
 * Read off the reserve tensors _cudnn_rnn returns (H200, cuDNN 9.19; only
 * L = 2 measured): LSTM 11*T*B*H*fb + 256 at B=2 T=50 (pytorch_oplog.csv,
 * 1,126,656 B fp32 and 563,456 B bf16) and B=32 T=300/500/1000
 * (pytorch_oplog_lstm_long.csv), GRU 13*T*B*H*fb + 256 at B=2 T=50 and B=32
 * T=100/500 (pytorch_oplog_gru.csv); GPU_NOTES.md's B=3, T=5 (169,216 B,
 * cuDNN 9.14) agrees. */
static dlm_poly rnn_reserve(const tr *r, const dlm_op *op)
{
    const dlm_tensor *x = TT(r, op->in[0]);
    int64_t L = op->a.rnn.layers;
    int64_t per = op->a.rnn.cell == DLM_RNN_LSTM ? 6 * L - 1 : 7 * L - 1;
    dlm_poly tb = dlm_poly_mul(x->shape[0], x->shape[1]);
    return dlm_poly_add(mulk(tb, per * op->a.rnn.hidden * r->fb), P(256));
}

/* cuDNN RNN workspace (cudnnGetRNNTempSpaceSizes inside PyTorch's
 * _cudnn_rnn, cuDNN 9.19 on sm_90).  Only a GPU can answer the query, so the
 * laws were read off the H200 reference data; in elements of the activation
 * type (fb bytes) for input size I, hidden size H, g gates (LSTM 4, GRU 3):
 *
 * inference  c + fb*B*(s + T*(I + H) + min(T, 256)*g*H): a constant, per
 *   sequence s elements (LSTM 20H, GRU 10H), I + H per time step and the
 *   gate pre-activations for at most 256 steps.  c = 20,333,056 B (LSTM
 *   fp32), 18,555,392 B (LSTM half), 19,444,224 B (GRU fp32).  Read off
 *   the infer series of pytorch_memory.csv (LSTM, B 1 and 32, T 50..1000,
 *   fp32 and bf16: to the byte), the oplogs' _cudnn_rnn transients (LSTM
 *   B=2 T=50; GRU B=2 T=50, B=32 T=100/500) and the GRU inference points of
 *   the techniques CSVs (B 1 and 32, T 50..1000: to the byte).  GRU in half
 *   precision is not measured: its constant assumes the LSTM's fp32 - half
 *   difference (1,777,664 B).
 * training (forward and backward of a training step: one size serves both)
 *   the larger of the inference law and c + fb*(19025 + B*(T*(2I + 3H) +
 *   12gH - 1106.5)).  The second law takes over beyond about 420 steps (the
 *   training misses the previous model had at T=1000).  Read off the
 *   _cudnn_rnn and _cudnn_rnn_backward transients of
 *   pytorch_oplog_lstm_long.csv (B=32, T 300/500/1000, fp32 and bf16) and
 *   pytorch_oplog_gru.csv, and the requested-bytes peaks of the forward and
 *   train series of pytorch_memory.csv and the techniques CSVs (LSTM and GRU,
 *   B 1 and 32, T 500 and 1000: 968 elements per step for both cells, the
 *   rest to within 8 B); B=256, T=1000 (techniques_extra, LSTM fp32 and bf16,
 *   GRU) was not used to read it and agrees within 0.6 MB of 1 GB.
 * Only the seed's sizes were measured (I=100, H=256, L=2): 2I + 3H and
 * 12gH - 1106.5 are one way to write 968 and 12288 - 1106.5 / 9216 - 1106.5
 * with them, and other sizes follow these forms unchecked. */
#define RNN_WS_STEPS 256
static int rnn_workspace(tr *r, int o, int backward)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]);
    int64_t H = op->a.rnn.hidden, I = op->a.rnn.input, fb = r->fb;
    int lstm = op->a.rnn.cell == DLM_RNN_LSTM;
    int64_t g = lstm ? 4 : 3;
    int64_t c = lstm ? (fb == 4 ? 20333056LL : 18555392LL) : (fb == 4 ? 19444224LL : 17666560LL);
    dlm_poly T = x->shape[0], Bp = x->shape[1];
    dlm_poly per_seq = dlm_poly_add(P((lstm ? 20 : 10) * H), mulk(T, I + H));
    dlm_poly lo = dlm_poly_add(per_seq, mulk(T, g * H));
    dlm_poly hi = dlm_poly_add(per_seq, P(g * H * RNN_WS_STEPS));
    lo = dlm_poly_add(P(c), mulk(dlm_poly_mul(Bp, lo), fb));
    hi = dlm_poly_add(P(c), mulk(dlm_poly_mul(Bp, hi), fb));
    int s;
    if (r->grad) {
        /* fb*(12gH - 1106.5) per sequence, in bytes (fb is 2 or 4) */
        dlm_poly tr_seq = dlm_poly_add(mulk(T, fb * (2 * I + 3 * H)), P(fb * 12 * g * H - fb * 2213 / 2));
        dlm_poly train = dlm_poly_add(P(c + fb * 19025), dlm_poly_mul(Bp, tr_seq));
        s = tl_new_split_max(r->t, lo, hi, RNN_WS_STEPS, train, DLM_TERM_WORKSPACE, r->nm_rnn_ws,
                             "cuDNN RNN workspace");
    } else {
        s = tl_new_split(r->t, lo, hi, RNN_WS_STEPS, DLM_TERM_WORKSPACE, r->nm_rnn_ws,
                         "cuDNN RNN workspace");
    }
    if (r->record && !backward && s >= 0) {
        r->L[o].temp_bytes = dlm_poly_add(r->L[o].temp_bytes, lo);
        appendf(r->L[o].temp, sizeof r->L[o].temp,
                r->grad ? "cuDNN RNN workspace (T <= 256; training: more beyond ~420)"
                        : "cuDNN RNN workspace (T <= 256)");
    }
    return s;
}

/* nn.LSTM flattens its weights into one cuDNN buffer when cuDNN accepts the
 * dtype (torch.backends.cudnn.is_acceptable: half, float, double); bf16
 * weights stay apart and every _cudnn_rnn call copies them into a fresh
 * buffer (oplog: +1,785,856 B for the seed's LSTM in bf16). */
static int rnn_flattened(const tr *r) { return r->cfg->dtype != DLM_DTYPE_BF16; }

static dlm_poly rnn_weight_bytes(const tr *r, const dlm_op *op, int elem)
{
    dlm_poly wb = P(0);
    for (int i = 0; i < op->n_params; i++) wb = dlm_poly_add(wb, numel(r, op->params[i]));
    return mulk(wb, elem);
}

/* ---- forward rules ------------------------------------------------------------------ */

static int S(const tr *r, int t) { return r->slot[t]; }

/* Element size of op o's outputs.  Under autocast (mixed): conv, linear,
 * attention and RNN compute in half precision; layer_norm and softmax in
 * fp32; embeddings in their weights' fp32; an add promotes; the rest keep
 * their input's type. */
static void set_out_types(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int e = r->eb[op->in[0]];
    if (r->mixed) switch (op->kind) {
        case DLM_OP_CONV2D: case DLM_OP_LINEAR: case DLM_OP_ATTENTION: case DLM_OP_RNN:
            e = 2;
            break;
        case DLM_OP_LAYERNORM: case DLM_OP_SOFTMAX: case DLM_OP_EMBEDDING:
            e = 4;
            break;
        case DLM_OP_ADD:
            if (r->eb[op->in[1]] > e) e = r->eb[op->in[1]];
            break;
        default:
            break;
        }
    for (int k = 0; k < op->n_out; k++) r->eb[op->out[k]] = (char)e;
}

/* Autocast's half copy of fp32 activation t for a half op (-1 when t is
 * already half): the op reads and saves the copy. */
static int half_copy(tr *r, int o, int t)
{
    if (!r->mixed || TT(r, t)->elem != DLM_EL_FLOAT || r->eb[t] != 4) return -1;
    return temp(r, o, mulk(numel(r, t), 2), DLM_TERM_TRANSIENT, -1, "autocast half copy");
}

/* Autocast's cached half copies of op o's parameters (one per parameter and
 * autocast region); saved by the op in grad mode. */
static void weight_casts(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (!r->mixed) return;
    for (int i = 0; i < op->n_params; i++) {
        int p = op->params[i];
        if (r->wcast[p] < 0) {
            r->wcast[p] = temp(r, o, mulk(numel(r, p), 2), DLM_TERM_TRANSIENT, -1,
                               "autocast weight copy");
            r->casts[r->n_casts++] = r->wcast[p];
        }
        if (r->grad) save(r, o, r->wcast[p], "half weight");
    }
}

static void release_casts(tr *r)
{
    for (int i = 0; i < r->n_casts; i++) tl_unref(r->t, r->casts[i]);
    r->n_casts = 0;
    for (int t = 0; t < r->g->n_tensors; t++) r->wcast[t] = -1;
}

/* The input op o reads (and saves): an autocast half copy when one is made. */
static int read_half(tr *r, int o, int t, int *copy)
{
    *copy = half_copy(r, o, t);
    return *copy >= 0 ? *copy : S(r, t);
}

static void fwd_attention(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int q = op->in[0];
    const dlm_tensor *x = TT(r, q);
    int h = op->a.attn.heads;
    dlm_poly bth = mulk(numel(r, q), r->eb[q]);
    dlm_poly btt = mulk(dlm_poly_mul(dlm_poly_mul(x->shape[0], x->shape[1]), x->shape[1]), h);
    /* scores in the compute type; softmax runs in fp32 under autocast */
    dlm_poly probs_b = mulk(btt, r->mixed ? 2 : r->fb), soft_b = mulk(btt, r->mixed ? 4 : r->fb);
    int weights = -1;

    if (!r->torch) {
        /* The runtime (src/measure/plan.h) has one attention: a scores buffer
         * of B*heads*T^2 elements (softmax in place) and 5 device addresses
         * per (batch, head) for its batched GEMMs, allocated after the output. */
        out_new(r, o, 0);
        dlm_poly bh = mulk(x->shape[0], h);
        int scratch = temp(r, o, dlm_poly_add(probs_b, mulk(bh, 40)), DLM_TERM_WORKSPACE,
                           r->nm_attn, "attention scores");
        if (r->grad) {
            save(r, o, S(r, q), "q");
            save(r, o, S(r, op->in[1]), "k");
            save(r, o, S(r, op->in[2]), "v");
            save(r, o, scratch, "probabilities");
        }
        tl_unref(r->t, scratch);
        return;
    }
    if (r->cfg->attention == DLM_ATTN_FUSED) {
        /* SDPA: memory-efficient (fp32) or flash (half) kernel; output in
         * (B, T, h, d) layout, so no copy; logsumexp in fp32, rows padded to 32. */
        out_new(r, o, 0);
        dlm_poly lse = mulk(dlm_poly_mul(x->shape[0], x->shape[1]), (int64_t)h * 4);
        int l = temp(r, o, lse, DLM_TERM_TRANSIENT, -1, "logsumexp");
        if (r->grad) {
            save(r, o, S(r, q), "q");
            save(r, o, S(r, op->in[1]), "k");
            save(r, o, S(r, op->in[2]), "v");
            save(r, o, S(r, op->out[0]), "output");
            save(r, o, l, "logsumexp");
        }
        tl_unref(r->t, l);
        return;
    }
    /* Eager: matmul(q, k^T) reshapes the transposed views into copies. */
    gemm(r, 0);
    int qc = temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "q copy");
    int kc = temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "k copy");
    int raw = temp(r, o, probs_b, DLM_TERM_TRANSIENT, -1, "attention scores");
    if (r->grad) {
        save(r, o, qc, "q copy");
        save(r, o, kc, "k copy");
    }
    tl_unref(r->t, qc);
    tl_unref(r->t, kc);
    int sc = temp(r, o, probs_b, DLM_TERM_TRANSIENT, -1, "scaled scores");
    tl_unref(r->t, raw);
    int sc32 = r->mixed ? temp(r, o, soft_b, DLM_TERM_TRANSIENT, -1, "autocast fp32 copy") : -1;
    int pr = temp(r, o, soft_b, DLM_TERM_TRANSIENT, -1, "attention probabilities");
    tl_unref(r->t, sc32);
    tl_unref(r->t, sc);
    if (r->grad) save(r, o, pr, "probabilities");
    weights = pr;
    if (r->grad && op->a.attn.dropout > 0) {
        int dp = temp(r, o, soft_b, DLM_TERM_TRANSIENT, -1, "dropped probabilities");
        int mask = temp(r, o, btt, DLM_TERM_TRANSIENT, -1, "attention dropout mask");
        save(r, o, mask, "dropout mask");
        tl_unref(r->t, mask);
        tl_unref(r->t, pr);
        weights = dp;
    }
    int wh = r->mixed ? temp(r, o, probs_b, DLM_TERM_TRANSIENT, -1, "autocast half copy") : -1;
    int vc = temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "v copy");
    int ctx = temp(r, o, bth, DLM_TERM_TRANSIENT, -1, "context");
    if (r->grad) {
        save(r, o, wh >= 0 ? wh : weights, "dropped probabilities");
        save(r, o, vc, "v copy");
    }
    tl_unref(r->t, wh);
    tl_unref(r->t, vc);
    out_new(r, o, 0); /* transpose(1, 2).contiguous() */
    tl_unref(r->t, ctx);
    /* attn_weights returned to BertAttention and BertLayer (`_`) */
    int e = hold_end(r, o, -1);
    if (e > o) r->ahold[o] = weights;
    else tl_unref(r->t, weights);
    if (r->ahold[o] >= 0) schedule(r, e, weights);
}

/* Bytes of an RNN op's state (h or c: layers x B x hidden). */
static dlm_poly rnn_state_bytes(const tr *r, const dlm_op *op)
{
    return mulk(TT(r, op->in[0])->shape[1], (int64_t)op->a.rnn.layers * op->a.rnn.hidden * r->fb);
}

/* One _cudnn_rnn call of op o from state hx_in/cx_in (-1: the zero state
 * nn.LSTM makes when given none), its outputs into outs[] (and r->slot),
 * its workspace and, with autograd, its reserve; saves what the node keeps. */
static void rnn_call(tr *r, int o, int hx_in, int cx_in, int *outs)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    int lstm = op->a.rnn.cell == DLM_RNN_LSTM;
    dlm_poly state = rnn_state_bytes(r, op);
    int hx = hx_in, cx = cx_in, zh = -1, zc = -1, ws = -1, res = -1, wcopy = -1;
    if (r->torch) {
        if (hx < 0) hx = zh = temp(r, o, state, DLM_TERM_TRANSIENT, -1, "h0 zeros");
        if (lstm && cx < 0) cx = zc = temp(r, o, state, DLM_TERM_TRANSIENT, -1, "c0 zeros");
        weight_casts(r, o); /* autocast: half copies, no longer one flat buffer */
        if (!rnn_flattened(r) || r->mixed)
            wcopy = temp(r, o, rnn_weight_bytes(r, op, r->mixed ? 2 : r->pb), DLM_TERM_WORKSPACE,
                         -1, "cuDNN weight copy");
    }
    for (int k = 0; k < op->n_out; k++) outs[k] = out_new(r, o, k);
    if (r->torch) {
        ws = rnn_workspace(r, o, 0);
        if (r->grad)
            res = temp(r, o, rnn_reserve(r, op), DLM_TERM_SAVED, r->nm_rnn_res, "cuDNN RNN reserve");
    }
    if (r->grad) {
        save(r, o, S(r, x), "input");
        save(r, o, hx, "h0");
        save(r, o, cx, "c0");
        save(r, o, outs[0], "output");
        save(r, o, res, "cuDNN reserve");
        save(r, o, wcopy, "weight copy");
    }
    tl_unref(r->t, ws);
    tl_unref(r->t, res);
    tl_unref(r->t, wcopy);
    tl_unref(r->t, zh);
    tl_unref(r->t, zc);
}

/* ---- RNN in chunks of time steps (cfg->rnn_chunks = K) --------------------------------
 *
 * tools/torch_reference.py's SeedRNN with chunks = K:
 *     state = []
 *     for xc in x.tensor_split(K):      # views
 *         out, *state = checkpoint(run_chunk, xc, *state, use_reentrant=False)
 *     return self.fc(out[-1])
 * Forward (with autograd): each chunk's _cudnn_rnn keeps holders only, so its
 * reserve goes with the call; chunk k's checkpoint (_NoopSaveInputs) keeps
 * the state it was given (chunk k-1's h_n, c_n) until chunk k's backward has
 * run; the previous chunk's output goes when `out` is rebound.  Backward:
 * autograd reaches the chunks last first; each one's first unpack reruns it
 * with saving (early stop: the recomputed h_n, c_n go as the call unwinds),
 * then _cudnn_rnn_backward runs with zeros for the gradients nothing gave
 * (the output of every chunk but the last, the last chunk's h_n, c_n) and
 * hands the gradients of its initial state to the chunk before; the weight
 * gradients of the K calls meet in autograd's input buffers
 * (rnn_chunk_grads).  Every
 * T-dependent size inside a chunk is at that chunk's length (tl_chunk).
 * Without autograd (infer) the chunks run as plain calls.  The lifetimes
 * (what each chunk keeps, when the states go) were checked on the CPU with
 * the reference script itself: tools/dryrun_rnn_chunks.py. */

static int *rnn_kept(tr *r, int o, int k) { return &r->kept[((size_t)o * r->K + k) * 2]; }

/* Chunk k's checkpoint of op o is gone: the state it kept with it. */
static void rnn_frame_release(tr *r, int o, int k)
{
    char *f = &r->frame[(size_t)o * r->K + k];
    if (!*f) return;
    *f = 0;
    int *kp = rnn_kept(r, o, k);
    for (int j = 0; j < 2; j++) {
        tl_unref(r->t, kp[j]);
        kp[j] = -1;
    }
}

static void fwd_rnn_chunks(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int K = r->K, ns = op->n_out - 1, rec = r->record;
    int prev[DLM_OP_MAX_OUT] = {-1, -1, -1};
    r->record = 0;
    for (int k = 0; k < K; k++) {
        int outs[DLM_OP_MAX_OUT] = {-1, -1, -1};
        if (k > 0) tl_mark(r->t); /* another cuDNN call */
        if (r->grad && k > 0) { /* checkpoint(run_chunk, xc, h, c): its frame keeps h, c */
            int *kp = rnn_kept(r, o, k);
            for (int j = 0; j < ns && j < 2; j++) {
                tl_ref(r->t, prev[1 + j]);
                set_term(r, prev[1 + j], DLM_TERM_SAVED);
                kp[j] = prev[1 + j];
            }
            r->frame[(size_t)o * K + k] = 1;
        }
        tl_chunk(r->t, K, k);
        r->nosave = r->grad;
        rnn_call(r, o, k > 0 ? prev[1] : -1, k > 0 && ns > 1 ? prev[2] : -1, outs);
        r->nosave = 0;
        tl_chunk(r->t, 0, 0);
        /* `out, *state = ...`: Python lets go of the previous chunk's output and state */
        for (int j = 0; j < op->n_out; j++) {
            tl_unref(r->t, prev[j]);
            prev[j] = outs[j];
        }
    }
    for (int j = 0; j < op->n_out; j++) r->slot[op->out[j]] = prev[j];
    r->tchunk[op->out[0]] = K - 1; /* out[-1] reads the last chunk's output */
    r->record = rec;
    if (rec) {
        dlm_mem_layer *L = &r->L[o];
        L->out_bytes = nbytes(r, op->out[0]);
        for (int j = 1; j < op->n_out; j++) L->out_bytes = dlm_poly_add(L->out_bytes, mulk(nbytes(r, op->out[j]), K));
        if (r->grad) {
            L->saved_bytes = mulk(rnn_state_bytes(r, op), (int64_t)(K - 1) * ns);
            snprintf(L->saved, sizeof L->saved, "%s at each of the %d chunk boundaries (the "
                     "checkpoints keep them)", ns > 1 ? "h, c" : "h", K - 1);
        }
        snprintf(L->temp, sizeof L->temp, "in each of %d calls: cuDNN RNN workspace%s at T/%d steps",
                 K, r->grad ? " and reserve" : "", K);
    }
}

static void fwd_op(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    set_out_types(r, o);
    switch (op->kind) {
    case DLM_OP_CONV2D: {
        int copy, in = read_half(r, o, x, &copy);
        weight_casts(r, o);
        out_new(r, o, 0);
        if (r->torch) {
            int ws = r->fb == 4 ? conv_ws_measured(r, o, DLM_CONV_FWD)
                                : temp(r, o, conv_workspace(r, o), DLM_TERM_WORKSPACE, r->nm_conv,
                                       "cuDNN conv workspace");
            tl_unref(r->t, ws);
        }
        if (r->grad) save(r, o, in, "input");
        tl_unref(r->t, copy);
        break;
    }
    case DLM_OP_BATCHNORM2D:
        out_new(r, o, 0);
        if (r->torch && !r->grad && r->pb == 2) {
            /* half weights: native_batch_norm, whose save_mean/save_invstd
             * exist even in eval and are dropped at once (cudnn_batch_norm
             * needs fp32 weights for half inputs) */
            for (int k = 0; k < 2; k++)
                tl_unref(r->t, temp(r, o, P((int64_t)op->a.bn.c * 4), DLM_TERM_TRANSIENT, -1,
                                    k ? "save_invstd" : "save_mean"));
        }
        if (r->grad) {
            save(r, o, S(r, x), "input");
            for (int k = 0; k < 2; k++) {
                int s = temp(r, o, P((int64_t)op->a.bn.c * 4), DLM_TERM_SAVED, -1,
                             k ? "save_invstd" : "save_mean");
                save(r, o, s, k ? "save_invstd" : "save_mean");
                tl_unref(r->t, s);
            }
        }
        break;
    case DLM_OP_RELU:
    case DLM_OP_GELU:
    case DLM_OP_TANH:
    case DLM_OP_SOFTMAX:
        if (op->inplace) out_alias(r, o, 0, x);
        else out_new(r, o, 0);
        if (r->grad) {
            int keep = op->kind == DLM_OP_GELU ? x : op->out[0];
            save(r, o, S(r, keep), op->kind == DLM_OP_GELU ? "input" : "result");
        }
        break;
    case DLM_OP_MAXPOOL2D: {
        out_new(r, o, 0);
        int idx = -1;
        if (r->torch || r->grad)
            idx = temp(r, o, mulk(numel(r, op->out[0]), 8), DLM_TERM_TRANSIENT, -1,
                       "maxpool indices");
        if (r->grad) {
            save(r, o, S(r, x), "input");
            save(r, o, idx, "indices");
        }
        tl_unref(r->t, idx);
        break;
    }
    case DLM_OP_AVGPOOL2D_ADAPTIVE:
        out_new(r, o, 0);
        if (r->grad) save(r, o, S(r, x), "input");
        break;
    case DLM_OP_ADD:
        if (op->inplace) out_alias(r, o, 0, x);
        else out_new(r, o, 0);
        break;
    case DLM_OP_FLATTEN:
    case DLM_OP_SELECT:
    case DLM_OP_VIEW:
        out_alias(r, o, 0, x);
        break;
    case DLM_OP_LINEAR: {
        int copy, in = read_half(r, o, x, &copy);
        weight_casts(r, o);
        gemm(r, 0);
        out_new(r, o, 0);
        if (r->grad) save(r, o, in, "input");
        tl_unref(r->t, copy);
        break;
    }
    case DLM_OP_EMBEDDING: {
        /* index_select over ids.reshape(-1): an expanded ids view is copied */
        int copy = -1;
        const dlm_tensor *ids = TT(r, x);
        if (r->torch && ids->alias_of >= 0) {
            const dlm_tensor *base = TT(r, dlm_tensor_storage(r->g, x));
            if (!dlm_poly_equal(&base->numel, &ids->numel) && dlm_poly_deg_B(&ids->numel) > 0)
                copy = temp(r, o, mulk(ids->numel, 8), DLM_TERM_TRANSIENT, -1, "ids copy");
        }
        out_new(r, o, 0);
        tl_unref(r->t, copy);
        break;
    }
    case DLM_OP_LAYERNORM: {
        out_new(r, o, 0);
        int m = -1, s = -1;
        if (r->torch || r->grad) {
            m = temp(r, o, mulk(rows(r, x), 4), DLM_TERM_TRANSIENT, -1, "mean");
            s = temp(r, o, mulk(rows(r, x), 4), DLM_TERM_TRANSIENT, -1, "rstd");
        }
        if (r->grad) {
            save(r, o, S(r, x), "input");
            save(r, o, m, "mean");
            save(r, o, s, "rstd");
        }
        tl_unref(r->t, m);
        tl_unref(r->t, s);
        break;
    }
    case DLM_OP_DROPOUT:
        if (!r->grad || op->a.dropout.p == 0) {
            if (r->torch) out_alias(r, o, 0, x); /* eval: the input itself */
            else out_new(r, o, 0);               /* the runtime's plan copies */
        } else {
            out_new(r, o, 0);
            int mask = temp(r, o, numel(r, x), DLM_TERM_SAVED, -1, "dropout mask");
            save(r, o, mask, "mask");
            tl_unref(r->t, mask);
        }
        break;
    case DLM_OP_ATTENTION:
        fwd_attention(r, o);
        break;
    DLM_OP_CASES_NEW:
        break; /* refused by dlm_mem_model_alloc until their rules are written */
    case DLM_OP_RNN:
        if (r->K) {
            fwd_rnn_chunks(r, o);
        } else {
            int outs[DLM_OP_MAX_OUT];
            rnn_call(r, o, -1, -1, outs);
        }
        break;
    }
}

/* ---- backward rules -------------------------------------------------------------- */

/* A gradient of tensor t's size: of one chunk where t's storage holds one
 * (the last chunk's output of an RNN run in chunks). */
static int grad_new(tr *r, int t, const char *what)
{
    int pk = r->t->chunk_k, pi = r->t->chunk_i;
    if (r->tchunk && r->tchunk[t] >= 0) tl_chunk(r->t, r->K, r->tchunk[t]);
    int s = new_slot(r, nbytes(r, t), DLM_TERM_TRANSIENT, -1, what);
    tl_chunk(r->t, pk, pi);
    return s;
}

/* Delivers gradient slot s for tensor t (autograd's InputBuffer: accumulates in
 * place when it holds the only reference to either operand). */
static void give(tr *r, int t, int s)
{
    if (s < 0) return;
    if (!r->rg[t] || TT(r, t)->role != DLM_ROLE_ACT) {
        tl_unref(r->t, s);
        return;
    }
    int old = r->gslot[t];
    if (old < 0) {
        r->gslot[t] = s;
    } else if (tl_refs(r->t, old) == 1) {
        tl_unref(r->t, s);
    } else if (tl_refs(r->t, s) == 1) {
        tl_unref(r->t, old);
        r->gslot[t] = s;
    } else {
        int sum = grad_new(r, t, "accumulated gradient");
        tl_unref(r->t, old);
        tl_unref(r->t, s);
        r->gslot[t] = sum;
    }
}

/* Parameter gradient: AccumulateGrad steals a fresh buffer. */
static void param_grad(tr *r, int p, int s)
{
    if (s < 0) return;
    r->t->slots[s].term = DLM_TERM_GRADS;
    if (r->pgrad[p] >= 0) { /* .grad += new (in place) */
        tl_unref(r->t, s);
        return;
    }
    if (zero_stage(r) >= 2) { /* reduce-scatter: this GPU keeps its shard */
        int sh = new_slot(r, shard_bytes(r, p, elem_bytes(r, p)), DLM_TERM_GRADS, -1,
                          "gradient shard (ZeRO)");
        tl_unref(r->t, s);
        s = sh;
    }
    r->pgrad[p] = s;
}

static int pgrad_new(tr *r, int p)
{
    return new_slot(r, nbytes(r, p), DLM_TERM_GRADS, -1, "parameter gradient");
}

/* The gradient of a parameter a half op read through autocast's copy: the
 * half gradient, then its fp32 cast (ToCopyBackward) for .grad. */
static int pgrad_half(tr *r, int p)
{
    if (!r->mixed) return pgrad_new(r, p);
    int h = new_slot(r, mulk(numel(r, p), 2), DLM_TERM_TRANSIENT, -1, "half parameter gradient");
    int g = pgrad_new(r, p);
    tl_unref(r->t, h);
    return g;
}

static void bwd_attention(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int q = op->in[0], k = op->in[1], v = op->in[2];
    const dlm_tensor *x = TT(r, q);
    int h = op->a.attn.heads;
    dlm_poly bth = mulk(numel(r, q), r->eb[q]);
    dlm_poly btt = mulk(dlm_poly_mul(dlm_poly_mul(x->shape[0], x->shape[1]), x->shape[1]), h);
    dlm_poly probs_b = mulk(btt, r->mixed ? 4 : r->fb);
    int gq, gk, gv;
    if (!r->torch || r->cfg->attention == DLM_ATTN_FUSED) {
        int ws = -1;
        if (r->torch) {
            /* oplog (B=2, T=64): cuDNN's attention backward (half) takes
             * 2*B*T*Hd elements + B*h*T floats of workspace, the
             * memory-efficient kernel (fp32) B*T*Hd + 2*B*h*T floats */
            dlm_poly rows_h = mulk(dlm_poly_mul(x->shape[0], x->shape[1]), (int64_t)h * 4);
            dlm_poly w = r->eb[q] == 4 ? dlm_poly_add(bth, mulk(rows_h, 2))
                                       : dlm_poly_add(mulk(bth, 2), rows_h);
            ws = new_slot(r, w, DLM_TERM_WORKSPACE, -1, "attention backward workspace");
        }
        gq = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad q");
        gk = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad k");
        gv = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad v");
        tl_unref(r->t, ws);
        tl_unref(r->t, gout);
        release_saved(r, o);
    } else {
        gemm(r, 1);
        int gc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad context copy");
        tl_unref(r->t, gout);
        int gvc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad v");
        int gdp = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad probabilities");
        tl_unref(r->t, gc);
        int gp = gdp;
        if (op->a.attn.dropout > 0) {
            gp = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad before dropout");
            tl_unref(r->t, gdp);
        }
        int gs = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad scores");
        tl_unref(r->t, gp);
        int graw = new_slot(r, probs_b, DLM_TERM_TRANSIENT, -1, "grad raw scores");
        tl_unref(r->t, gs);
        int gkc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad k");
        int gqc = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad q");
        tl_unref(r->t, graw);
        release_saved(r, o);
        /* each transposed gradient is copied to (B, T, Hd) before its Linear */
        gv = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad v copy");
        tl_unref(r->t, gvc);
        gk = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad k copy");
        tl_unref(r->t, gkc);
        gq = new_slot(r, bth, DLM_TERM_TRANSIENT, -1, "grad q copy");
        tl_unref(r->t, gqc);
    }
    give(r, v, gv);
    give(r, k, gk);
    give(r, q, gq);
}

/* One _cudnn_rnn_backward of op o: the gradients gin[] of h_n (, c_n) (-1:
 * zeros made here; gs[] gets what was used), the input's gradient *dx and
 * the initial state's dstate[], its workspace, the flat weight gradient
 * handed to the parameters (or, with dw_out, returned).  The caller
 * releases the rest. */
static void rnn_bwd_call(tr *r, int o, const int *gin, int *gs, int *dx, int *dstate, int *dw_out)
{
    const dlm_op *op = &r->g->ops[o];
    dlm_poly state = rnn_state_bytes(r, op);
    int lstm = op->a.rnn.cell == DLM_RNN_LSTM;
    gs[0] = gs[1] = dstate[0] = dstate[1] = -1;
    for (int k = 1; k < op->n_out && k <= 2; k++)
        gs[k - 1] = gin[k - 1] >= 0 ? gin[k - 1]
                    : (r->torch ? new_slot(r, state, DLM_TERM_TRANSIENT, -1, "grad h_n zeros") : -1);
    *dx = grad_new(r, op->in[0], "grad input");
    for (int k = 0; k < (lstm ? 2 : 1); k++)
        dstate[k] = new_slot(r, state, DLM_TERM_TRANSIENT, -1, "grad h0");
    int ws = r->torch ? rnn_workspace(r, o, 1) : -1;
    tl_unref(r->t, ws);
    /* one flat weight-gradient buffer; the parameters' grads are views */
    int dw = new_slot(r, rnn_weight_bytes(r, op, r->mixed ? 2 : r->pb), DLM_TERM_GRADS, -1,
                      "parameter gradients (flat)");
    ws = r->torch ? rnn_workspace(r, o, 1) : -1;
    tl_unref(r->t, ws);
    if (dw_out) {
        *dw_out = dw;
        return;
    }
    for (int i = 0; i < op->n_params; i++) {
        if (r->mixed) { /* the half gradients cast to each fp32 parameter */
            param_grad(r, op->params[i], pgrad_new(r, op->params[i]));
            continue;
        }
        tl_ref(r->t, dw);
        param_grad(r, op->params[i], dw);
    }
    if (r->mixed && dw >= 0) r->t->slots[dw].term = DLM_TERM_TRANSIENT;
    tl_unref(r->t, dw);
}

/* The K chunks' weight gradients meet in autograd's input buffers of the
 * parameters' AccumulateGrad nodes (or, under autocast, of the casts to the
 * half weights), which run once all K have arrived.  InputBuffer::accumulate
 * adds in place only into a tensor whose storage it holds alone: the first
 * chunk's flat gradient stays as the buffers (views of it); the second
 * chunk's is added out of place (a new tensor per parameter) except for the
 * last parameter, by then the only view left of the first flat buffer, which
 * so stays whole; every later chunk's is added in place.  (Read off the H100
 * runs: after a step of K >= 2 chunks .grad holds the sums and the first
 * flat buffer, 7,150,080 B for the seed's LSTM against 3,571,712 B unchunked;
 * the chunks beyond the second peak that much higher.  The per-op log does
 * not show it: a dispatch mode makes every tensor subclass-like, and such
 * additions out of place.)  buf[] holds the buffers; `nth` counts the chunks
 * already accumulated. */
static void rnn_chunk_grads(tr *r, int o, int dw, int *buf, int nth)
{
    const dlm_op *op = &r->g->ops[o];
    int n = op->n_params;
    if (nth == 0) {
        for (int i = 0; i < n; i++) {
            tl_ref(r->t, dw);
            buf[i] = dw;
        }
    } else if (nth == 1) {
        for (int i = 0; i + 1 < n; i++) {
            int sum = new_slot(r, mulk(numel(r, op->params[i]), r->mixed ? 2 : r->pb),
                               DLM_TERM_GRADS, -1, "accumulated parameter gradient");
            tl_unref(r->t, buf[i]);
            buf[i] = sum;
        }
    }
    tl_unref(r->t, dw);
}

/* Backward of an RNN op run in chunks (see "RNN in chunks" above). */
static void bwd_rnn_chunks(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int K = r->K, ns = op->n_out - 1, x = op->in[0];
    int gnext[2] = {-1, -1}, keep[DLM_OP_MAX_OUT];
    int *buf = malloc((size_t)(op->n_params ? op->n_params : 1) * sizeof *buf);
    if (!buf) {
        r->st = dlm_error(DLM_ENOMEM, "out of memory");
        return;
    }
    for (int j = 0; j < ns && j < 2; j++) { /* the last chunk's h_n, c_n: read by no op */
        gnext[j] = r->gslot[op->out[1 + j]];
        r->gslot[op->out[1 + j]] = -1;
    }
    for (int j = 0; j < op->n_out; j++) keep[j] = r->slot[op->out[j]];
    for (int k = K - 1; k >= 0 && r->st == DLM_OK; k--) {
        int *kp = rnn_kept(r, o, k), outs[DLM_OP_MAX_OUT] = {-1, -1, -1}, rec = r->record;
        /* the node's first unpack reruns the chunk with saving */
        tl_at(r->t, DLM_PHASE_BACKWARD, o);
        tl_mark(r->t);
        tl_chunk(r->t, K, k);
        r->record = 0;
        rnn_call(r, o, k > 0 ? kp[0] : -1, k > 0 && ns > 1 ? kp[1] : -1, outs);
        for (int j = 0; j < op->n_out; j++) tl_unref(r->t, outs[j]); /* early stop unwinds */
        if (r->mixed) release_casts(r); /* recomputation's own autocast region exits */
        r->record = rec;
        /* _cudnn_rnn_backward: zeros for an output no op read */
        tl_mark(r->t);
        int go = k == K - 1 ? gout : -1, gs[2], dstate[2], dx, dw;
        if (go < 0) go = new_slot(r, nbytes(r, op->out[0]), DLM_TERM_TRANSIENT, -1, "grad output zeros");
        rnn_bwd_call(r, o, gnext, gs, &dx, dstate, &dw);
        drop_saved(r, o);
        rnn_frame_release(r, o, k);
        tl_unref(r->t, go);
        tl_unref(r->t, gs[0]);
        tl_unref(r->t, gs[1]);
        give(r, x, dx);
        rnn_chunk_grads(r, o, dw, buf, K - 1 - k);
        for (int j = 0; j < 2; j++) gnext[j] = dstate[j]; /* to the chunk before */
        tl_chunk(r->t, 0, 0);
    }
    /* the first chunk's initial state is zeros: nothing takes its gradient */
    tl_unref(r->t, gnext[0]);
    tl_unref(r->t, gnext[1]);
    /* all K have arrived: AccumulateGrad takes each buffer as .grad; under
     * autocast each cast's backward (latest made first) makes the fp32
     * gradient from it first */
    for (int i = op->n_params - 1; i >= 0 && r->st == DLM_OK; i--) {
        if (r->mixed) {
            param_grad(r, op->params[i], pgrad_new(r, op->params[i]));
            tl_unref(r->t, buf[i]);
        } else {
            param_grad(r, op->params[i], buf[i]);
        }
    }
    free(buf);
    release_saved(r, o);
    for (int j = 0; j < op->n_out; j++) r->slot[op->out[j]] = keep[j];
}

static void bwd_op(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    int gout = r->gslot[op->out[0]];
    r->gslot[op->out[0]] = -1;
    if (gout < 0 && op->kind != DLM_OP_RNN) {
        release_saved(r, o);
        return;
    }
    switch (op->kind) {
    case DLM_OP_CONV2D: {
        int gi = -1, half = r->torch && r->fb == 2;
        if (r->rg[x]) {
            gi = grad_new(r, x, "grad input");
            if (half) tl_unref(r->t, new_slot(r, conv_workspace(r, o), DLM_TERM_WORKSPACE,
                                              r->nm_conv, "cuDNN conv workspace"));
        }
        int gw[4] = {-1, -1, -1, -1};
        for (int i = 0; i < op->n_params && i < 4; i++) {
            gw[i] = pgrad_half(r, op->params[i]);
            if (half && i == 0)
                tl_unref(r->t, new_slot(r, conv_workspace(r, o), DLM_TERM_WORKSPACE, r->nm_conv,
                                        "cuDNN conv workspace"));
        }
        if (r->torch && !half) tl_unref(r->t, conv_ws_measured(r, o, DLM_CONV_BWD));
        for (int i = 0; i < op->n_params && i < 4; i++) param_grad(r, op->params[i], gw[i]);
        release_saved(r, o);
        tl_unref(r->t, gout);
        give(r, x, gi);
        break;
    }
    case DLM_OP_BATCHNORM2D:
    case DLM_OP_LAYERNORM: {
        int gi = r->rg[x] ? grad_new(r, x, "grad input") : -1;
        for (int i = 0; i < op->n_params; i++) param_grad(r, op->params[i], pgrad_new(r, op->params[i]));
        release_saved(r, o);
        tl_unref(r->t, gout);
        give(r, x, gi);
        break;
    }
    case DLM_OP_RELU:
    case DLM_OP_GELU:
    case DLM_OP_TANH:
    case DLM_OP_SOFTMAX:
    case DLM_OP_MAXPOOL2D:
    case DLM_OP_AVGPOOL2D_ADAPTIVE:
    case DLM_OP_DROPOUT:
    case DLM_OP_SELECT: {
        int gi = r->rg[x] ? grad_new(r, x, "grad input") : -1;
        release_saved(r, o);
        tl_unref(r->t, gout);
        give(r, x, gi);
        break;
    }
    case DLM_OP_ADD:
        for (int i = 0; i < op->n_in; i++) {
            int in = op->in[i];
            if (!r->rg[in]) continue;
            if (dlm_poly_equal(&TT(r, in)->numel, &TT(r, op->out[0])->numel)) {
                tl_ref(r->t, gout);
                give(r, in, gout);
            } else { /* broadcast: sum_to the input's shape */
                give(r, in, grad_new(r, in, "grad summed over broadcast"));
            }
        }
        tl_unref(r->t, gout);
        break;
    case DLM_OP_FLATTEN:
    case DLM_OP_VIEW:
        give(r, x, gout);
        break;
    case DLM_OP_LINEAR: {
        gemm(r, 1);
        int gi = r->rg[x] ? grad_new(r, x, "grad input") : -1;
        for (int i = 0; i < op->n_params; i++) param_grad(r, op->params[i], pgrad_half(r, op->params[i]));
        release_saved(r, o);
        tl_unref(r->t, gout);
        give(r, x, gi);
        break;
    }
    case DLM_OP_EMBEDDING:
        for (int i = 0; i < op->n_params; i++) param_grad(r, op->params[i], pgrad_new(r, op->params[i]));
        release_saved(r, o);
        tl_unref(r->t, gout);
        break;
    case DLM_OP_ATTENTION:
        bwd_attention(r, o, gout);
        break;
    DLM_OP_CASES_NEW:
        break; /* refused by dlm_mem_model_alloc */
    case DLM_OP_RNN: {
        if (r->K) {
            bwd_rnn_chunks(r, o, gout);
            break;
        }
        int gin[2] = {-1, -1}, gs[2], dstate[2], dx;
        for (int k = 1; k < op->n_out; k++) { /* no gradient for h_n, c_n: zeros */
            gin[k - 1] = r->gslot[op->out[k]];
            r->gslot[op->out[k]] = -1;
        }
        rnn_bwd_call(r, o, gin, gs, &dx, dstate, NULL);
        release_saved(r, o);
        tl_unref(r->t, gout);
        tl_unref(r->t, gs[0]);
        tl_unref(r->t, gs[1]);
        tl_unref(r->t, dstate[0]);
        tl_unref(r->t, dstate[1]);
        give(r, x, dx);
        break;
    }
    }
}

/* ---- the protocol ------------------------------------------------------------------- */

/* A resident named workspace of the runtime: the configuration's measured
 * size if given, else `dflt`. */
/* ZeRO-3 (model-only): op o's full parameters, gathered for as long as it
 * runs (forward, and again in backward); -1 when nothing is gathered. */
static int zero_gather(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (zero_stage(r) < 3 || op->n_params == 0) return -1;
    dlm_poly b = P(0);
    for (int i = 0; i < op->n_params; i++) b = dlm_poly_add(b, nbytes(r, op->params[i]));
    return new_slot(r, b, DLM_TERM_WORKSPACE, -1, "gathered parameters (ZeRO-3)");
}

/* ---- activation checkpointing ---------------------------------------------------------
 *
 * torch.utils.checkpoint(fn, *args, use_reentrant=False) as PyTorch 2.x runs it:
 *   - a _NoopSaveInputs node saves the args (the segment's inputs); the
 *     checkpoint's frame keeps that node, and saved-tensor hooks of every node
 *     inside the segment keep the frame: the inputs live until the last such
 *     node has run its backward (or the graph is dropped);
 *   - inside the segment the pack hook returns an empty holder: no saved
 *     tensor is kept, so each intermediate dies when Python lets go of it;
 *   - the first unpack in backward reruns fn(*args) under a hook that stores
 *     what each live holder's node saves, and stops (early stop, the default)
 *     after the last op that saved in the original forward; what Python held
 *     in fn's frame goes when it unwinds; each stored tensor is dropped when
 *     its node has used it.
 */

static dlm_status ckpt_init(tr *r)
{
    const dlm_mem_config *c = r->cfg;
    ckpt_state *k = &r->ck;
    if (c->n_checkpoint <= 0 || !c->checkpoint) return DLM_OK;
    int n = c->n_checkpoint, no = r->n_ops;
    for (int i = 0; i < n; i++) {
        const dlm_op_range *g = &c->checkpoint[i];
        if (g->first < 0 || g->last >= no || g->first > g->last)
            return dlm_error(DLM_EINVAL, "checkpoint segment %d: ops %d..%d outside 0..%d", i + 1,
                             g->first, g->last, no - 1);
        if (i > 0 && g->first <= c->checkpoint[i - 1].last)
            return dlm_error(DLM_EINVAL, "checkpoint segments %d and %d overlap or are out of "
                             "order (ops %d..%d, %d..%d)", i, i + 1, c->checkpoint[i - 1].first,
                             c->checkpoint[i - 1].last, g->first, g->last);
    }
    k->n_seg = n;
    k->seg_of = malloc((size_t)no * sizeof *k->seg_of);
    k->seg_first = malloc((size_t)n * sizeof *k->seg_first);
    k->seg_last = malloc((size_t)n * sizeof *k->seg_last);
    k->seg_stop = malloc((size_t)n * sizeof *k->seg_stop);
    k->live = calloc((size_t)n, sizeof *k->live);
    k->done = calloc((size_t)n, 1);
    k->hold = calloc((size_t)no, 1);
    if (!k->seg_of || !k->seg_first || !k->seg_last || !k->seg_stop || !k->live || !k->done || !k->hold)
        return dlm_error(DLM_ENOMEM, "out of memory");
    for (int o = 0; o < no; o++) k->seg_of[o] = -1;
    for (int i = 0; i < n; i++) {
        k->seg_first[i] = c->checkpoint[i].first;
        k->seg_last[i] = c->checkpoint[i].last;
        k->seg_stop[i] = -1;
        for (int o = c->checkpoint[i].first; o <= c->checkpoint[i].last; o++) k->seg_of[o] = i;
    }
    return DLM_OK;
}

/* cfg->rnn_chunks: checks, state. */
static dlm_status rnn_chunks_init(tr *r)
{
    const dlm_mem_config *c = r->cfg;
    if (c->rnn_chunks <= 1) return DLM_OK;
    if (c->rnn_chunks > DLM_MAX_RNN_CHUNKS)
        return dlm_error(DLM_EINVAL, "%d chunks of time steps: at most %d", c->rnn_chunks,
                         DLM_MAX_RNN_CHUNKS);
    if (!r->torch)
        return dlm_error(DLM_EINVAL, "chunks of time steps are modelled for the pytorch profile "
                         "only (dlmem's GPU runtime runs each RNN in one cuDNN call)");
    DLM_TRY(dlm_mem_rnn_chunkable(r->g));
    for (int i = 0; i < c->n_checkpoint; i++)
        for (int o = c->checkpoint[i].first; o <= c->checkpoint[i].last; o++)
            if (r->g->ops[o].kind == DLM_OP_RNN)
                return dlm_error(DLM_EINVAL, "%s is both in a checkpoint segment and run in "
                                 "chunks of time steps: one scheme at a time", r->g->ops[o].name);
    r->K = c->rnn_chunks;
    size_t per = (size_t)r->n_ops * (size_t)r->K;
    r->tchunk = malloc(((size_t)r->g->n_tensors + 1) * sizeof *r->tchunk);
    r->kept = malloc(per * 2 * sizeof *r->kept);
    r->frame = calloc(per, 1);
    if (!r->tchunk || !r->kept || !r->frame) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int t = 0; t <= r->g->n_tensors; t++) r->tchunk[t] = -1;
    for (size_t i = 0; i < per * 2; i++) r->kept[i] = -1;
    return DLM_OK;
}

static void ckpt_free(tr *r)
{
    ckpt_state *k = &r->ck;
    free(k->seg_of);
    free(k->seg_first);
    free(k->seg_last);
    free(k->seg_stop);
    free(k->live);
    free(k->done);
    free(k->hold);
    free(k->in_seg);
    free(k->in_slot);
}

static void ckpt_keep_input(tr *r, int seg, int s)
{
    ckpt_state *k = &r->ck;
    if (s < 0) return;
    for (int i = 0; i < k->n_in; i++)
        if (k->in_seg[i] == seg && k->in_slot[i] == s) return;
    if (k->n_in == k->cap_in) {
        int nc = k->cap_in ? 2 * k->cap_in : 32;
        int *a = realloc(k->in_seg, (size_t)nc * sizeof *a);
        if (a) k->in_seg = a;
        int *b = realloc(k->in_slot, (size_t)nc * sizeof *b);
        if (b) k->in_slot = b;
        if (!a || !b) {
            r->st = dlm_error(DLM_ENOMEM, "out of memory");
            return;
        }
        k->cap_in = nc;
    }
    tl_ref(r->t, s);
    k->in_seg[k->n_in] = seg;
    k->in_slot[k->n_in++] = s;
}

static void ckpt_release_inputs(tr *r, int seg)
{
    ckpt_state *k = &r->ck;
    int j = 0;
    for (int i = 0; i < k->n_in; i++) {
        if (k->in_seg[i] == seg) {
            tl_unref(r->t, k->in_slot[i]);
            continue;
        }
        k->in_seg[j] = k->in_seg[i];
        k->in_slot[j++] = k->in_slot[i];
    }
    k->n_in = j;
}

/* Before op o's forward: inside a segment, its saves become holders; the
 * segment's first op takes the checkpoint's references on its inputs. */
static void ckpt_enter(tr *r, int o)
{
    ckpt_state *k = &r->ck;
    if (!k->n_seg || !r->grad || k->seg_of[o] < 0) return;
    int s = k->seg_of[o];
    if (o == k->seg_first[s]) {
        k->done[s] = 0;
        k->seg_stop[s] = -1;
        k->live[s] = 0;
        for (int p = k->seg_first[s]; p <= k->seg_last[s]; p++) {
            const dlm_op *op = &r->g->ops[p];
            for (int i = 0; i < op->n_in; i++) {
                const dlm_tensor *x = TT(r, op->in[i]);
                if (x->role == DLM_ROLE_PARAM || x->role == DLM_ROLE_BUFFER) continue;
                if (x->role == DLM_ROLE_ACT && x->producer >= k->seg_first[s]) continue;
                ckpt_keep_input(r, s, r->slot[op->in[i]]);
            }
        }
    }
    k->hold[o] = 0;
    k->mode = 1;
}

static void ckpt_leave(tr *r, int o)
{
    ckpt_state *k = &r->ck;
    if (k->mode != 1) return;
    int s = k->seg_of[o];
    k->mode = 0;
    if (k->hold[o] == 1) {
        k->seg_stop[s] = o;
        k->live[s]++;
    }
    if (o == k->seg_last[s] && k->live[s] == 0) ckpt_release_inputs(r, s); /* no node keeps the frame */
}

/* Reruns segment s's forward with saving, as the first unpack does. */
static void ckpt_recompute(tr *r, int s)
{
    ckpt_state *k = &r->ck;
    int a = k->seg_first[s], b = k->seg_stop[s], rec = r->record;
    r->record = 0;
    k->mode = 2;
    k->cap = b;
    r->n_rl = 0;
    for (int o = a; o <= b; o++) r->rl_head[o] = -1;
    for (int o = a; o <= b && r->st == DLM_OK; o++) {
        const dlm_op *op = &r->g->ops[o];
        tl_at(r->t, DLM_PHASE_BACKWARD, o);
        r->ahold[o] = -1;
        int gathered = zero_gather(r, o);
        fwd_op(r, o);
        tl_unref(r->t, gathered);
        for (int j = 0; j < op->n_out; j++) schedule(r, r->rel[op->out[j]], r->slot[op->out[j]]);
        for (int i = r->rl_head[o]; i >= 0; i = r->rl_next[i]) tl_unref(r->t, r->rl_slot[i]);
    }
    k->mode = 0;
    r->record = rec;
    k->done[s] = 1;
    if (r->mixed) release_casts(r); /* recomputation's own autocast region exits */
}

/* Before op o's backward: the segment's first unpack triggers recomputation. */
static void ckpt_before_bwd(tr *r, int o)
{
    ckpt_state *k = &r->ck;
    if (!k->n_seg || k->seg_of[o] < 0) return;
    int s = k->seg_of[o];
    const dlm_op *op = &r->g->ops[o];
    if (k->done[s] || k->hold[o] != 1) return;
    if (r->gslot[op->out[0]] < 0 && op->kind != DLM_OP_RNN) return; /* node does not run */
    ckpt_recompute(r, s);
    tl_at(r->t, DLM_PHASE_BACKWARD, o);
}

static void resident_input(tr *r, int named, const char *name, dlm_poly dflt, const char *what)
{
    for (int i = 0; i < r->cfg->n_inputs; i++)
        if (!strcmp(r->cfg->inputs[i].name, name)) dflt = P(r->cfg->inputs[i].bytes);
    tl_new_input(r->t, named, dflt, DLM_TERM_WORKSPACE, what);
}

static void setup(tr *r)
{
    const dlm_graph *g = r->g;
    tl_at(r->t, DLM_PHASE_FORWARD, -1);
    /* Module._apply order: each module's parameters, then its buffers; a
     * buffer comes right after the last parameter of its module. */
    int *after = calloc((size_t)g->n_buffers + 1, sizeof *after);
    if (!after) {
        r->st = dlm_error(DLM_ENOMEM, "out of memory");
        return;
    }
    for (int b = 0; b < g->n_buffers; b++) {
        const char *bn = TT(r, g->buffers[b])->name, *dot = strrchr(bn, '.');
        size_t lm = dot ? (size_t)(dot - bn) : 0;
        after[b] = -1;
        for (int p = 0; p < g->n_params; p++)
            if (in_scope(TT(r, g->params[p])->name, bn, lm)) after[b] = p;
    }
    for (int b = 0; b < g->n_buffers; b++)
        if (after[b] < 0) r->slot[g->buffers[b]] = new_slot(r, nbytes(r, g->buffers[b]), DLM_TERM_BUFFERS, -1, "buffer");
    for (int p = 0; p < g->n_params; p++) {
        int t = g->params[p];
        r->slot[t] = new_slot(r, state_bytes(r, t, 3, elem_bytes(r, t)), DLM_TERM_WEIGHTS, -1,
                              zero_stage(r) >= 3 ? "parameter shard (ZeRO-3)" : "parameter");
        for (int b = 0; b < g->n_buffers; b++)
            if (after[b] == p)
                r->slot[g->buffers[b]] = new_slot(r, nbytes(r, g->buffers[b]), DLM_TERM_BUFFERS, -1, "buffer");
        /* nn.LSTM flattens its weights into one cuDNN buffer after .to() */
        if (!r->torch || !rnn_flattened(r)) continue;
        for (int o = 0; o < r->n_ops; o++) {
            const dlm_op *op = &g->ops[o];
            if (op->kind != DLM_OP_RNN || op->params[op->n_params - 1] != t) continue;
            dlm_poly wb = rnn_weight_bytes(r, op, r->pb);
            if (zero_stage(r) >= 3) {
                wb = P(0);
                for (int i = 0; i < op->n_params; i++)
                    wb = dlm_poly_add(wb, state_bytes(r, op->params[i], 3, r->pb));
            }
            int flat = new_slot(r, wb, DLM_TERM_WEIGHTS, -1, "cuDNN flat weights");
            for (int i = 0; i < op->n_params; i++) {
                tl_unref(r->t, r->slot[op->params[i]]);
                r->slot[op->params[i]] = flat;
            }
        }
    }
    free(after);
    for (int i = 0; i < g->n_inputs; i++)
        r->slot[g->inputs[i]] = new_slot(r, nbytes(r, g->inputs[i]), DLM_TERM_INPUTS, -1, "input");
    if (!r->torch) { /* the runtime's resident workspaces (src/measure/plan.h) */
        int gemm_ops = 0, conv = 0, rnn = 0;
        for (int o = 0; o < r->n_ops; o++) {
            dlm_op_kind k = g->ops[o].kind;
            gemm_ops |= k == DLM_OP_LINEAR || k == DLM_OP_ATTENTION;
            conv |= k == DLM_OP_CONV2D;
            if (k == DLM_OP_RNN) rnn++;
        }
        if (gemm_ops) resident_input(r, r->nm_cublas, "cublas_workspace", P(32LL << 20), "cuBLAS workspace");
        if (conv) resident_input(r, r->nm_conv, "cudnn_conv_workspace", P(0), "cuDNN conv workspace");
        if (rnn) {
            resident_input(r, r->nm_rnn_ws, "cudnn_rnn_workspace", P(0), "cuDNN RNN workspace");
            resident_input(r, r->nm_rnn_res, "cudnn_rnn_reserve", P(0), "cuDNN RNN reserve");
            /* cudnnRNNForward's device array of sequence lengths: B int32 per RNN */
            const dlm_tensor *x = NULL;
            for (int o = 0; o < r->n_ops && !x; o++)
                if (g->ops[o].kind == DLM_OP_RNN) x = TT(r, g->ops[o].in[0]);
            resident_input(r, tl_named(r->t, "rnn_seq_lengths"), "rnn_seq_lengths",
                           mulk(x->shape[1], 4LL * rnn), "RNN sequence lengths");
        }
    }
}

static void forward(tr *r)
{
    const dlm_graph *g = r->g;
    for (int o = 0; o <= r->n_ops; o++) r->rl_head[o] = -1;
    r->n_rl = 0;
    for (int o = 0; o < r->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        tl_at(r->t, DLM_PHASE_FORWARD, o);
        r->ahold[o] = -1;
        ckpt_enter(r, o);
        int gathered = zero_gather(r, o);
        fwd_op(r, o);
        tl_unref(r->t, gathered);
        ckpt_leave(r, o);
        for (int k = 0; k < op->n_out; k++) schedule(r, r->rel[op->out[k]], r->slot[op->out[k]]);
        for (int i = r->rl_head[o]; i >= 0; i = r->rl_next[i]) tl_unref(r->t, r->rl_slot[i]);
        if (r->st != DLM_OK) return;
    }
}

static void release_end(tr *r)
{
    for (int i = 0; i < r->n_end; i++) tl_unref(r->t, r->end_slots[i]);
    r->n_end = 0;
}

static void backward(tr *r)
{
    const dlm_graph *g = r->g;
    int scalar = r->fb, loss = -1, pows[8];
    int n_out = g->n_outputs < 8 ? g->n_outputs : 8;
    /* loss = sum(o.pow(2).mean() for o in outputs) */
    tl_at(r->t, DLM_PHASE_FORWARD, -1);
    for (int i = 0; i < n_out; i++) {
        int o = g->outputs[i];
        /* pow runs in fp32 under autocast: on an fp32 copy of a half o */
        int c32 = r->mixed && r->eb[o] == 2
                      ? new_slot(r, mulk(numel(r, o), 4), DLM_TERM_TRANSIENT, -1, "autocast fp32 copy")
                      : -1;
        int p = new_slot(r, mulk(numel(r, o), c32 >= 0 ? 4 : r->eb[o]), DLM_TERM_TRANSIENT, -1,
                         "loss: o.pow(2)");
        pows[i] = c32 >= 0 ? c32 : r->slot[o];
        if (c32 < 0) tl_ref(r->t, pows[i]); /* PowBackward0 saves o (or its copy) */
        int m = new_slot(r, P(scalar), DLM_TERM_TRANSIENT, -1, "loss: mean");
        tl_unref(r->t, p);
        int s = new_slot(r, P(scalar), DLM_TERM_TRANSIENT, -1, "loss: sum");
        tl_unref(r->t, m);
        tl_unref(r->t, loss);
        loss = s;
    }
    release_casts(r); /* the autocast region ends after the loss */
    tl_at(r->t, DLM_PHASE_BACKWARD, -1);
    int ones = new_slot(r, P(scalar), DLM_TERM_TRANSIENT, -1, "grad of loss");
    for (int i = n_out - 1; i >= 0; i--) {
        int o = g->outputs[i];
        int e = r->mixed && r->eb[o] == 2 ? 4 : r->eb[o];
        dlm_poly nb = mulk(numel(r, o), e);
        int gm = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "grad of mean");
        int p1 = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "pow backward: o^1");
        int p2 = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "pow backward: 2*o");
        tl_unref(r->t, p1);
        int gr = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "pow backward");
        tl_unref(r->t, p2);
        tl_unref(r->t, gm);
        tl_unref(r->t, pows[i]);
        if (e != r->eb[o]) { /* back to o's half type */
            int h = grad_new(r, o, "grad cast to half");
            tl_unref(r->t, gr);
            gr = h;
        }
        give(r, o, gr);
    }
    tl_unref(r->t, ones);
    for (int o = r->n_ops - 1; o >= 0; o--) {
        tl_at(r->t, DLM_PHASE_BACKWARD, o);
        ckpt_before_bwd(r, o);
        int gathered = zero_gather(r, o);
        bwd_op(r, o);
        tl_unref(r->t, gathered);
        if (r->st != DLM_OK) break;
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (r->gslot[t] >= 0) {
            tl_unref(r->t, r->gslot[t]);
            r->gslot[t] = -1;
        }
    schedule(r, INT_MAX, loss);
}

static void optimizer_step(tr *r, int first)
{
    const dlm_graph *g = r->g;
    tl_at(r->t, DLM_PHASE_STEP, -1);
    int n = g->n_params;
    switch (r->cfg->optimizer) {
    case DLM_OPT_SGD:
        break;
    case DLM_OPT_SGD_MOMENTUM:
        if (first)
            for (int p = 0; p < n; p++)
                r->opt_m[p] = new_slot(r, state_bytes(r, g->params[p], 1, elem_bytes(r, g->params[p])),
                                       DLM_TERM_OPTIMIZER, -1, "momentum buffer");
        break;
    case DLM_OPT_ADAM8BIT:
        /* bitsandbytes Adam8bit (model-only): per tensor of at least 4096
         * elements (min_8bit_size) two uint8 states with one fp32 absmax per
         * block of 256 elements (blockwise quantization); smaller tensors keep
         * fp32 states.  The update is one fused kernel: no temporaries. */
        if (first)
            for (int p = 0; p < n; p++) {
                int t = g->params[p];
                dlm_poly b;
                if (dlm_tensor_numel_const(g, t) >= 4096) {
                    dlm_poly q = state_bytes(r, t, 1, 1);
                    int64_t e = dlm_poly_eval(&q, 1, 1);
                    b = P(e + (e + 255) / 256 * 4);
                } else {
                    b = state_bytes(r, t, 1, 4);
                }
                r->opt_m[p] = new_slot(r, b, DLM_TERM_OPTIMIZER, -1, "adam8bit state1 + absmax");
                r->opt_v[p] = new_slot(r, b, DLM_TERM_OPTIMIZER, -1, "adam8bit state2 + absmax");
            }
        break;
    case DLM_OPT_ADAM: {
        if (first)
            for (int p = 0; p < n; p++) {
                dlm_poly b = state_bytes(r, g->params[p], 1, elem_bytes(r, g->params[p]));
                r->opt_m[p] = new_slot(r, b, DLM_TERM_OPTIMIZER, -1, "adam exp_avg");
                r->opt_v[p] = new_slot(r, b, DLM_TERM_OPTIMIZER, -1, "adam exp_avg_sq");
            }
        if (!r->torch) break; /* the runtime has no optimizer: ideal in-place update */
        /* _multi_tensor_adam: exp_avg_sq_sqrt = torch._foreach_sqrt(exp_avg_sqs) */
        int *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
        if (!tmp) {
            r->st = dlm_error(DLM_ENOMEM, "out of memory");
            return;
        }
        for (int p = 0; p < n; p++)
            tmp[p] = new_slot(r, state_bytes(r, g->params[p], 1, elem_bytes(r, g->params[p])),
                              DLM_TERM_WORKSPACE, r->nm_adam, "adam foreach sqrt temporary");
        for (int p = 0; p < n; p++) tl_unref(r->t, tmp[p]);
        free(tmp);
        break;
    }
    }
}

/* One step of the protocol; `first` is the warm-up. */
static void step(tr *r, int first)
{
    const dlm_graph *g = r->g;
    if (r->train) {
        tl_at(r->t, DLM_PHASE_FORWARD, -1);
        for (int p = 0; p < g->n_tensors; p++) /* zero_grad(set_to_none=True) */
            if (r->pgrad[p] >= 0) {
                tl_unref(r->t, r->pgrad[p]);
                r->pgrad[p] = -1;
            }
    }
    forward(r);
    if (!r->train) release_casts(r);
    if (r->train) {
        backward(r);
        optimizer_step(r, first);
    }
}

dlm_status dlm_trace_build(const dlm_graph *g, const dlm_mem_config *cfg,
                           const dlm_convtab *convtab, dlm_timeline *t, dlm_mem_layer *layers,
                           dlm_trace_info *info)
{
    tr r;
    memset(&r, 0, sizeof r);
    memset(info, 0, sizeof *info);
    r.g = g;
    r.cfg = cfg;
    r.convtab = convtab;
    r.info = info;
    r.t = t;
    r.L = layers;
    r.torch = cfg->profile == DLM_PROFILE_PYTORCH;
    r.grad = cfg->mode != DLM_MODE_INFER;
    r.train = cfg->mode == DLM_MODE_TRAIN;
    r.fb = dlm_dtype_act_bytes(cfg->dtype);
    r.pb = dlm_dtype_param_bytes(cfg->dtype);
    r.n_ops = g->n_ops;
    r.cublas_fwd = r.cublas_bwd = -1;
    r.nm_cublas = tl_named(t, "cublas_workspace");
    r.nm_cublas_bwd = r.torch && r.train ? tl_named(t, "cublas_workspace_autograd") : -1;
    r.nm_conv = tl_named(t, "cudnn_conv_workspace");
    r.nm_rnn_ws = tl_named(t, "cudnn_rnn_workspace");
    r.nm_rnn_res = tl_named(t, "cudnn_rnn_reserve");
    r.nm_adam = tl_named(t, "adam_foreach_temporaries");
    r.nm_attn = tl_named(t, "attention_scores");
    size_t nt = (size_t)g->n_tensors + 1, no = (size_t)g->n_ops + 1;
    r.slot = malloc(nt * sizeof *r.slot);
    r.rel = malloc(nt * sizeof *r.rel);
    r.rg = calloc(nt, 1);
    r.gslot = malloc(nt * sizeof *r.gslot);
    r.pgrad = malloc(nt * sizeof *r.pgrad);
    r.saved = malloc(no * MAX_SAVED * sizeof *r.saved);
    r.n_saved = calloc(no, sizeof *r.n_saved);
    r.ahold = malloc(no * sizeof *r.ahold);
    r.rl_head = malloc(no * sizeof *r.rl_head);
    r.mixed = r.torch && cfg->dtype == DLM_DTYPE_MIXED;
    r.eb = malloc(nt);
    r.wcast = malloc(nt * sizeof *r.wcast);
    r.casts = malloc(nt * sizeof *r.casts);
    r.opt_m = malloc(((size_t)g->n_params + 1) * sizeof *r.opt_m);
    r.opt_v = malloc(((size_t)g->n_params + 1) * sizeof *r.opt_v);
    dlm_status st = DLM_OK;
    if (!r.slot || !r.rel || !r.rg || !r.gslot || !r.pgrad || !r.saved || !r.n_saved || !r.ahold ||
        !r.rl_head || !r.opt_m || !r.opt_v || !r.eb || !r.wcast || !r.casts)
        st = dlm_error(DLM_ENOMEM, "out of memory");
    if (st == DLM_OK) st = compute_modules(&r);
    if (st == DLM_OK) {
        for (size_t i = 0; i < nt; i++) {
            r.slot[i] = r.gslot[i] = r.pgrad[i] = r.wcast[i] = -1;
            r.eb[i] = (char)(r.mixed ? 4 : r.fb); /* an autocast run's input is fp32 */
        }
        compute_release(&r);
        compute_requires_grad(&r);
        st = ckpt_init(&r);
    }
    if (st == DLM_OK) st = rnn_chunks_init(&r);
    if (st == DLM_OK) {
        for (int o = 0; o < g->n_ops; o++) {
            memset(&layers[o], 0, sizeof layers[o]);
            layers[o].op = o;
            layers[o].out_elems = g->tensors[g->ops[o].out[0]].numel;
        }
        setup(&r);
        if (r.torch || r.train) { /* the warm-up step, then `del out` frees outputs and graph */
            step(&r, 1);
            release_end(&r);
            for (int o = 0; o < g->n_ops; o++) release_saved(&r, o);
        }
        tl_reset(t);
        r.record = 1;
        step(&r, !(r.torch || r.train));
        /* memory_allocated() after the step: infer and forward keep `out` (and
         * its graph); a training step returns nothing. */
        if (r.train) release_end(&r);
        st = r.st != DLM_OK ? r.st : t->status;
    }
    if (r.module)
        for (int o = 0; o < g->n_ops; o++) free(r.module[o]);
    free(r.module);
    free(r.slot);
    free(r.rel);
    free(r.rg);
    free(r.gslot);
    free(r.pgrad);
    free(r.saved);
    free(r.n_saved);
    free(r.ahold);
    free(r.rl_head);
    free(r.rl_next);
    free(r.rl_slot);
    free(r.end_slots);
    free(r.opt_m);
    free(r.opt_v);
    free(r.eb);
    free(r.wcast);
    free(r.casts);
    ckpt_free(&r);
    free(r.tchunk);
    free(r.kept);
    free(r.frame);
    return st;
}
