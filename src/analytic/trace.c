/* trace.c — graph + configuration -> timeline of allocations (see trace.h):
 * the walker.  It runs tools/torch_reference.py's protocol (the model moved
 * to the GPU, the warm-up step, the peak reset, the measured step: forward,
 * the loss, backward, the optimizer) over the graph and asks each op's rule
 * (ops/rule.h, one file per op family) what the op allocates, saves and
 * frees; around the rules it keeps what no op owns: Python lifetimes,
 * autograd's saved tensors and gradient accumulation, activation
 * checkpointing, autocast's casts, the optimizer, and calls parallel.c's
 * hooks for DDP, ZeRO and FSDP2 where PyTorch runs them.  It knows
 * no op by name.
 *
 * Sizes: B batch, T sequence.  `fb` is the bytes of one activation element,
 * `pb` of one parameter element.
 *
 * Python frames keep tensors alive past their last reader: a module's
 * arguments live until it returns, and named locals (table `holds`) until
 * their scope ends.
 *
 * Library sizes no shape determines were read off the H200 reference data
 * and say so where they are defined (the rules' files): the cuBLAS/cuBLASLt
 * workspaces here, the fused attention backward's workspace
 * (ops/linear_attn.c).  cuDNN's convolution workspaces (ops/conv.c) and RNN
 * workspaces and reserves (ops/rnn.c) follow no law: they are rows the
 * libraries gave (`dlmem probe`, workspaces.h, ops/libws.c), looked up
 * exactly per op, call and size, and not known where no row exists.
 */
#include "trace.h"

#include "ops/rule.h"
#include "parallel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t dlm_torch_cublas_workspace(int sm)
{
    /* GPU_NOTES.md: PyTorch 2.11 takes 32 MiB on sm_90, 8,519,680 B elsewhere. */
    return sm >= 90 ? 32LL << 20 : 8519680LL;
}

dlm_poly tr_state_bytes(const tr *r, int t, int64_t eb) { return par_state_bytes(r, t, eb); }

/* Product of all dimensions but the last (LayerNorm rows). */

/* Output k of op o as a new storage. */
int tr_out_new(tr *r, int o, int k)
{
    int t = r->g->ops[o].out[k];
    dlm_poly b = nbytes(r, t);
    int s = new_slot(r, b, DLM_TERM_TRANSIENT, -1, "output");
    r->slot[t] = s;
    if (r->record) r->L[o].out_bytes = dlm_poly_add(r->L[o].out_bytes, b);
    return s;
}

/* Output k of op o shares the storage of tensor `base`. */
void tr_out_alias(tr *r, int o, int k, int base)
{
    int t = r->g->ops[o].out[k];
    r->slot[t] = r->slot[base];
    tl_ref(r->t, r->slot[t]);
}

/* A transient allocation inside op o; the caller releases it. */
int tr_temp(tr *r, int o, dlm_poly b, dlm_term term, int named, const char *what)
{
    int s = new_slot(r, b, term, named, what);
    if (r->record && o >= 0 && s >= 0) {
        r->L[o].temp_bytes = dlm_poly_add(r->L[o].temp_bytes, b);
        appendf(r->L[o].temp, sizeof r->L[o].temp, what);
    }
    return s;
}

/* Autograd's node for op o keeps slot s until its backward runs. */
void tr_save(tr *r, int o, int s, const char *what)
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

void tr_unsave(tr *r, int o, int s)
{
    int n = r->n_saved[o], *sv = &r->saved[o * MAX_SAVED];
    for (int i = 0; s >= 0 && i < n; i++)
        if (sv[i] == s) {
            tl_unref(r->t, s);
            for (int k = i + 1; k < n; k++) sv[k - 1] = sv[k];
            r->n_saved[o] = n - 1;
            return;
        }
}

void tr_drop_saved(tr *r, int o)
{
    for (int i = 0; i < r->n_saved[o]; i++) tl_unref(r->t, r->saved[o * MAX_SAVED + i]);
    r->n_saved[o] = 0;
}

void tr_release_saved(tr *r, int o)
{
    tr_drop_saved(r, o);
    const op_rule *rule = dlm_op_rule(r->g->ops[o].kind);
    if (rule->release) rule->release(r, o);
    if (r->ck.hold && r->ck.hold[o] == 1) {
        /* the last holder gone: the checkpoint's frame, and the inputs it
         * keeps, go with it */
        r->ck.hold[o] = 2;
        if (--r->ck.live[r->ck.seg_of[o]] == 0) ckpt_release_inputs(r, r->ck.seg_of[o]);
    }
}

void tr_schedule(tr *r, int at, int s)
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

void tr_release_early(tr *r, int t)
{
    int s = r->slot[t], at = r->rel[t];
    if (s < 0) return;
    if (at >= r->n_ops) {
        for (int i = 0; i < r->n_end; i++)
            if (r->end_slots[i] == s) {
                r->end_slots[i] = -1;
                tl_unref(r->t, s);
                return;
            }
        return;
    }
    for (int i = r->rl_head[at]; i >= 0; i = r->rl_next[i])
        if (r->rl_slot[i] == s) {
            r->rl_slot[i] = -1;
            tl_unref(r->t, s);
            return;
        }
}

/* The cuBLAS workspace of the thread running a GEMM (allocated at its first). */
void tr_gemm(tr *r, int backward)
{
    if (!r->torch) return;
    if (r->ck.mode == 2) backward = 1; /* recomputation runs on the autograd thread */
    int *ws = backward ? &r->cublas_bwd : &r->cublas_fwd;
    if (*ws >= 0) return;
    *ws = new_slot(r, P(dlm_torch_cublas_workspace(r->cfg->sm)), DLM_TERM_WORKSPACE,
                   backward ? r->nm_cublas_bwd : r->nm_cublas,
                   backward ? "cuBLAS workspace (autograd thread)" : "cuBLAS workspace");
}

void tr_gemm_lt(tr *r)
{
    /* 1 MiB for cuBLASLt on the main thread (the oplog's first addmm allocates
     * 32 MiB + 1 MiB; training's resident memory shows no second one for the
     * autograd thread; a decoder without biases, whose GEMMs are all mm, has
     * none: the H200 grid's Llama-shaped points are 1 MiB lower than with it) */
    if (!r->torch || r->cublaslt || r->ck.mode == 2) return;
    r->cublaslt = 1;
    new_slot(r, P(1LL << 20), DLM_TERM_WORKSPACE, r->nm_cublas, "cuBLASLt workspace");
}

/* ---- Python lifetimes ------------------------------------------------------------ */

static int functional(dlm_op_kind k) { return (dlm_op_rule(k)->flags & RULE_FUNCTIONAL) != 0; }

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
    const char *until; /* or (not NULL) the op after which a method of it returns */
} hold;

static const hold holds[] = {
    /* transformers BertEmbeddings.forward: locals inputs_embeds,
     * token_type_embeddings, position_embeddings */
    {"embeddings.word_embeddings", 0, "embeddings", NULL},
    {"embeddings.token_type_embeddings", 0, "embeddings", NULL},
    {"embeddings.position_embeddings", 0, "embeddings", NULL},
    /* BertModel.forward: embedding_output */
    {"embeddings.dropout", 0, "", NULL},
    /* BertSelfOutput / BertOutput: hidden_states = LayerNorm(hidden_states + input) */
    {"encoder.layer.*.attention.output.dropout", 0, "encoder.layer.*.attention.output", NULL},
    {"encoder.layer.*.output.dropout", 0, "encoder.layer.*.output", NULL},
    /* BertLayer.forward: `self_attention_output, _ = self.attention(...)` */
    {"encoder.layer.*.attention.self", -1, "encoder.layer.*", NULL},
    /* GPT2Block: `attn_output, self_attn_weights = self.attn(...)`; LlamaDecoderLayer
     * (Mistral, Qwen2): `hidden_states, _ = self.self_attn(...)` */
    {"transformer.h.*.attn", -1, "transformer.h.*", NULL},
    {"model.layers.*.self_attn", -1, "model.layers.*", NULL},
    /* the seed's RNN: `out, _ = self.lstm(x)` keeps (h_n, c_n) */
    {"lstm", 1, "", NULL}, {"lstm", 2, "", NULL}, {"gru", 1, "", NULL},
    /* torchvision _DenseLayer.bn_function: `concated_features = torch.cat(inputs, 1)`
     * lives until it returns conv1(relu1(norm1(concated_features))) */
    {"features.denseblock*.denselayer*.cat", 0, "features.denseblock*.denselayer*",
     "features.denseblock*.denselayer*.conv1"},
};

#define HOLD_NUMS 4 /* '*' per pattern */

/* Matches `pat` against `s`; each '*' matches digits, copied to num[i]. */
static int match(const char *pat, const char *s, char num[HOLD_NUMS][16])
{
    int i = 0;
    while (*pat) {
        if (*pat == '*') {
            size_t k = 0;
            while (s[k] >= '0' && s[k] <= '9') k++;
            if (!k || k >= sizeof num[0] || i == HOLD_NUMS) return 0;
            memcpy(num[i], s, k);
            num[i++][k] = '\0';
            s += k;
            pat++;
        } else if (*pat++ != *s++) {
            return 0;
        }
    }
    return *s == '\0';
}

/* `pat` with its i-th '*' replaced by num[i]. */
static void subst(const char *pat, char num[HOLD_NUMS][16], char *out, size_t n)
{
    size_t k = 0;
    int i = 0;
    for (; *pat && k + 1 < n; pat++) {
        if (*pat == '*') {
            for (const char *q = i < HOLD_NUMS ? num[i++] : ""; *q && k + 1 < n; q++) out[k++] = *q;
        } else {
            out[k++] = *pat;
        }
    }
    out[k] = '\0';
}

/* Op after which the frame holding hold `h` for op o returns, -1 if none. */
int tr_hold_end(const tr *r, int o, int out)
{
    char num[HOLD_NUMS][16], scope[256];
    for (size_t i = 0; i < sizeof holds / sizeof holds[0]; i++) {
        if (holds[i].out != out || !match(holds[i].op, r->g->ops[o].name, num)) continue;
        if (holds[i].until) {
            subst(holds[i].until, num, scope, sizeof scope);
            for (int p = o + 1; p < r->n_ops; p++)
                if (!strcmp(r->g->ops[p].name, scope)) return p;
            continue; /* not this network's op */
        }
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
                int e = tr_hold_end(r, o, k);
                if (e > r->rel[op->out[k]]) r->rel[op->out[k]] = e;
            }
    }
    for (int i = 0; i < g->n_outputs; i++) r->rel[g->outputs[i]] = INT_MAX;
    /* the runtime's KV cache: the graph's key and value tensors themselves,
     * alive with the outputs (plan.h); PyTorch's cache copies are the
     * attention rule's */
    for (int i = 0; !r->torch && i < g->n_cache; i++) r->rel[g->cache[i]] = INT_MAX;
}

static void compute_requires_grad(tr *r)
{
    const dlm_graph *g = r->g;
    for (int t = 0; t < g->n_tensors; t++)
        r->rg[t] = g->tensors[t].role == DLM_ROLE_PARAM && !g->tensors[t].frozen;
    for (int o = 0; o < r->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        int any = 0;
        for (int i = 0; i < op->n_params; i++) any |= r->rg[op->params[i]];
        for (int i = 0; i < op->n_in; i++) any |= r->rg[op->in[i]];
        int per_out = dlm_op_rule(op->kind)->flags & RULE_RG_PER_OUTPUT;
        for (int k = 0; k < op->n_out; k++)
            r->rg[op->out[k]] = (char)(per_out && k < op->n_in ? r->rg[op->in[k]] : any);
    }
}

/* ---- autocast; the forward of one op ---------------------------------------------- */

/* Element size of op o's outputs: under autocast (mixed) what its rule says
 * (half, fp32, promoted), else its input's type. */
static void set_out_types(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int e = r->eb[op->in[0]];
    if (r->mixed) {
        int a = dlm_op_rule(op->kind)->autocast;
        if (a > 0) e = a;
        for (int i = 1; a < 0 && i < op->n_in; i++)
            if (r->eb[op->in[i]] > e) e = r->eb[op->in[i]];
        if (op->kind == DLM_OP_GELU && op->a.gelu.form == DLM_GELU_NEW)
            e = tr_gelu_new_out_bytes(r, o);
    }
    for (int k = 0; k < op->n_out; k++) r->eb[op->out[k]] = (char)e;
}

/* Autocast's half copy of fp32 activation t for a half op (-1 when t is
 * already half): the op reads and saves the copy. */
static int half_copy(tr *r, int o, int t)
{
    if (!r->mixed || TT(r, t)->elem != DLM_EL_FLOAT || r->eb[t] != 4) return -1;
    return tr_temp(r, o, mulk(numel(r, t), 2), DLM_TERM_TRANSIENT, -1, "autocast half copy");
}

/* Autocast's cached half copies of op o's parameters (one per parameter and
 * autocast region); saved by the op in grad mode. */
void tr_weight_casts(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (!r->mixed) return;
    for (int i = 0; i < op->n_params; i++) tr_weight_cast(r, o, op->params[i]);
}

/* The same for one parameter p that op o reads (a tied weight: an input). */
void tr_weight_cast(tr *r, int o, int p)
{
    if (!r->mixed) return;
    if (r->wcast[p] < 0) {
        r->wcast[p] = tr_temp(r, o, mulk(numel(r, p), 2), DLM_TERM_TRANSIENT, -1,
                              "autocast weight copy");
        r->casts[r->n_casts++] = r->wcast[p];
    }
    if (r->grad) tr_save(r, o, r->wcast[p], "half weight");
}

void tr_release_casts(tr *r)
{
    for (int i = 0; i < r->n_casts; i++) tl_unref(r->t, r->casts[i]);
    r->n_casts = 0;
    for (int t = 0; t < r->g->n_tensors; t++) r->wcast[t] = -1;
}

/* The input op o reads (and saves): an autocast half copy when one is made. */
int tr_read_half(tr *r, int o, int t, int *copy)
{
    *copy = half_copy(r, o, t);
    return *copy >= 0 ? *copy : S(r, t);
}

/* The runtime profile of the transformer ops (dlm_op_new_form(): causal and
 * grouped-query attention, RMSNorm, rotary embeddings, GPT-2's Conv1D, the
 * tied LM head, gelu's tanh forms, ViT's patch tokens and
 * nn.MultiheadAttention), as src/measure/plan.h's runtime runs them in
 * inference: each output a storage of its own, or a view of the storage it
 * names (slices, patch tokens), and the op's scratch (counted here on its own,
 * not read from plan.c): attention's scores buffer, B*heads*T^2 elements, with
 * 5 device addresses per (batch, head) for its batched GEMMs; the
 * MultiheadAttention op's packed q, k, v (B, T, 3E) and context (B, T, E) on
 * top of that.  The loss op is a training step's. */
static void fwd_runtime_transformer(tr *r, int o)
{
    const dlm_graph *g = r->g;
    const dlm_op *op = &g->ops[o];
    if (op->train_only) return;
    for (int k = 0; k < op->n_out; k++) {
        int t = op->out[k];
        if (g->tensors[t].alias_of >= 0) tr_out_alias(r, o, k, g->tensors[t].alias_of);
        else tr_out_new(r, o, k);
    }
    if (op->kind != DLM_OP_ATTENTION && op->kind != DLM_OP_MHA) return;
    int q = -1;
    if (op->kind == DLM_OP_MHA)
        q = tr_temp(r, o, mulk(numel(r, op->in[0]), 4LL * r->fb), DLM_TERM_WORKSPACE, r->nm_attn,
                    "attention: packed q, k, v and the context");
    int s = tr_runtime_scores(r, o);
    tl_unref(r->t, s);
    tl_unref(r->t, q);
}

int tr_temp_tround(tr *r, int o, dlm_poly per_t, dlm_poly t, int64_t m, const char *what)
{
    if (dlm_poly_is_const(&t)) { /* a constant token count (ViT's 197): rounded here */
        int64_t n = dlm_poly_eval(&t, 1, 1), tp = (n + m - 1) / m * m;
        return tr_temp(r, o, mulk(per_t, tp), DLM_TERM_TRANSIENT, -1, what);
    }
    return tl_new_tround(r->t, dlm_poly_mul(per_t, t), m, DLM_TERM_TRANSIENT, -1, what);
}

/* The runtime's eager attention scratch (plan.h): B*heads blocks of scores,
 * T x T padded to Tp x Tp with Tp = T rounded up to 16 bytes of elements,
 * and 5 device addresses per block; one slot of both, the caller releases it. */
int tr_runtime_scores(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]);
    dlm_poly bh = mulk(x->shape[0], op->a.attn.heads), t = x->shape[1];
    int64_t m = 16 / r->fb;
    const char *what = "attention scores (rows padded to 16 bytes) and GEMM addresses";
    if (dlm_poly_is_const(&t)) { /* ViT's 197 tokens: padded here */
        int64_t tp = (dlm_poly_eval(&t, 1, 1) + m - 1) / m * m;
        return tr_temp(r, o, dlm_poly_add(mulk(bh, tp * tp * r->fb), mulk(bh, 40)),
                       DLM_TERM_WORKSPACE, r->nm_attn, what);
    }
    /* the sequence length T: the law at T rounded up (only its T^2 term has T) */
    dlm_poly law = dlm_poly_add(mulk(dlm_poly_mul(dlm_poly_mul(bh, t), t), r->fb), mulk(bh, 40));
    return tl_new_tround(r->t, law, m, DLM_TERM_WORKSPACE, r->nm_attn, what);
}

static void fwd_op(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    set_out_types(r, o);
    if (!r->torch && dlm_op_new_form(op)) {
        fwd_runtime_transformer(r, o);
        return;
    }
    /* nothing of it requires grad (frozen weights, inputs that need none): no
     * autograd node, nothing saved */
    int any = 0, keep = r->nosave;
    for (int i = 0; i < op->n_in; i++) any |= r->rg[op->in[i]];
    for (int i = 0; i < op->n_params; i++) any |= r->rg[op->params[i]];
    if (r->grad && !any) r->nosave = 1;
    dlm_op_rule(op->kind)->fwd(r, o);
    r->nosave = keep;
}

/* ---- gradients; the backward of one op --------------------------------------------- */

/* A gradient of tensor t's size: of one chunk where t's storage holds one
 * (the last chunk's output of an RNN run in chunks). */
int tr_grad_new(tr *r, int t, const char *what)
{
    int pk = r->t->chunk_k, pi = r->t->chunk_i;
    if (r->tchunk && r->tchunk[t] >= 0) tl_chunk(r->t, r->K, r->tchunk[t]);
    int s = new_slot(r, nbytes(r, t), DLM_TERM_TRANSIENT, -1, what);
    tl_chunk(r->t, pk, pi);
    return s;
}

/* Delivers gradient slot s for tensor t (autograd's InputBuffer: accumulates in
 * place when it holds the only reference to either operand). */
static void give(tr *r, int t, int s, int view)
{
    if (s < 0) return;
    if (!r->rg[t] || TT(r, t)->role != DLM_ROLE_ACT) {
        tl_unref(r->t, s);
        return;
    }
    int old = r->gslot[t];
    if (old < 0) {
        r->gslot[t] = s;
        r->gview[t] = (char)view;
    } else if (r->gview[t] != 1 && tl_refs(r->t, old) == 1) {
        tl_unref(r->t, s); /* old += s (a transposed but dense old too) */
    } else if (view != 1 && tl_refs(r->t, s) == 1) {
        tl_unref(r->t, old);
        r->gslot[t] = s;
        r->gview[t] = (char)view;
    } else {
        int sum = tr_grad_new(r, t, "accumulated gradient");
        tl_unref(r->t, old);
        tl_unref(r->t, s);
        r->gslot[t] = sum;
        r->gview[t] = 0;
    }
}

void tr_give(tr *r, int t, int s) { give(r, t, s, 0); }

void tr_give_view(tr *r, int t, int s) { give(r, t, s, 1); }

void tr_give_transposed(tr *r, int t, int s) { give(r, t, s, 2); }

/* Parameter gradient: AccumulateGrad steals a fresh buffer. */
void tr_param_grad(tr *r, int p, int s)
{
    if (s < 0) return;
    r->t->slots[s].term = DLM_TERM_GRADS;
    if (r->pgrad[p] >= 0) { /* .grad += new (in place) */
        tl_unref(r->t, s);
        return;
    }
    par_grad_ready(r, p);
    r->pgrad[p] = s;
}

int tr_pgrad_new(tr *r, int p)
{
    if (r->g->tensors[p].frozen) return -1; /* requires_grad=False: no gradient */
    return new_slot(r, nbytes(r, p), DLM_TERM_GRADS, -1, "parameter gradient");
}

/* The gradient of a parameter a half op read through autocast's copy: the
 * half gradient, then its fp32 cast (ToCopyBackward) for .grad. */
int tr_pgrad_half(tr *r, int p)
{
    if (!r->mixed || r->g->tensors[p].frozen) return tr_pgrad_new(r, p);
    int h = new_slot(r, mulk(numel(r, p), 2), DLM_TERM_TRANSIENT, -1, "half parameter gradient");
    int g = tr_pgrad_new(r, p);
    tl_unref(r->t, h);
    return g;
}

static void bwd_op(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    const op_rule *rule = dlm_op_rule(op->kind);
    int gout = r->gslot[op->out[0]];
    r->gslot[op->out[0]] = -1;
    if (gout < 0 && !(rule->flags & RULE_BWD_ALWAYS)) {
        tr_release_saved(r, o);
        return;
    }
    if (gout >= 0 && r->gview[op->out[0]] == 2) {
        /* a transposed gradient: the view's backward (reshape) copies it to the
         * output's layout before this op reads it */
        int c = tr_grad_new(r, op->out[0], "grad copied to the output's layout (reshape)");
        tl_unref(r->t, gout);
        gout = c;
        r->gview[op->out[0]] = 0;
    }
    rule->bwd(r, o, gout);
}

/* The common backward of an op with one input: a gradient of its size. */
void tr_bwd_input_grad(tr *r, int o, int gout)
{
    int x = r->g->ops[o].in[0];
    int gi = r->rg[x] ? tr_grad_new(r, x, "grad input") : -1;
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tr_give(r, x, gi);
}

/* ---- the protocol ------------------------------------------------------------------- */

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

void tr_ckpt_input(tr *r, int s)
{
    ckpt_state *k = &r->ck;
    if (s < 0 || !r->grad || !k->n_seg || k->mode) return;
    if (k->n_extra == (int)(sizeof k->extra / sizeof k->extra[0])) {
        if (r->st == DLM_OK) r->st = dlm_error(DLM_EINTERNAL, "too many checkpoint inputs");
        return;
    }
    k->extra[k->n_extra++] = s;
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
        for (int i = 0; i < k->n_extra; i++) ckpt_keep_input(r, s, k->extra[i]);
        if (s == k->n_seg - 1) k->n_extra = 0; /* the step's last segment has them */
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
        fwd_op(r, o);
        for (int j = 0; j < op->n_out; j++) tr_schedule(r, r->rel[op->out[j]], r->slot[op->out[j]]);
        for (int i = r->rl_head[o]; i >= 0; i = r->rl_next[i]) tl_unref(r->t, r->rl_slot[i]);
    }
    k->mode = 0;
    r->record = rec;
    k->done[s] = 1;
    if (r->mixed) tr_release_casts(r); /* recomputation's own autocast region exits */
}

/* Before op o's backward: the segment's first unpack triggers recomputation. */
static void ckpt_before_bwd(tr *r, int o)
{
    ckpt_state *k = &r->ck;
    if (!k->n_seg || k->seg_of[o] < 0) return;
    int s = k->seg_of[o];
    const dlm_op *op = &r->g->ops[o];
    if (k->done[s] || k->hold[o] != 1) return;
    if (r->gslot[op->out[0]] < 0 && !(dlm_op_rule(op->kind)->flags & RULE_BWD_ALWAYS))
        return; /* node does not run */
    ckpt_recompute(r, s);
    tl_at(r->t, DLM_PHASE_BACKWARD, o);
}

void tr_resident_input(tr *r, int named, const char *name, dlm_poly dflt, const char *what)
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
        r->slot[t] = new_slot(r, par_param_bytes(r, t), DLM_TERM_WEIGHTS, -1,
                              par_fsdp(r) ? "parameter shard (FSDP2)" : "parameter");
        par_hold_param(r, t);
        for (int b = 0; b < g->n_buffers; b++)
            if (after[b] == p)
                r->slot[g->buffers[b]] = new_slot(r, nbytes(r, g->buffers[b]), DLM_TERM_BUFFERS, -1, "buffer");
        /* an op whose last parameter this is may rearrange them (nn.LSTM's
         * flat weights) */
        for (int o = 0; o < r->n_ops; o++) {
            const dlm_op *op = &g->ops[o];
            const op_rule *rule = dlm_op_rule(op->kind);
            if (rule->params_moved && op->n_params > 0 && op->params[op->n_params - 1] == t)
                rule->params_moved(r, o);
        }
    }
    free(after);
    par_construct(r); /* DDP(model) before the input is made */
    for (int i = 0; i < g->n_inputs; i++)
        r->slot[g->inputs[i]] = new_slot(r, nbytes(r, g->inputs[i]), DLM_TERM_INPUTS, -1, "input");
    /* cross-entropy: the targets, int64 class indices, one per row of each
     * output's (N, C) view, made with the inputs (a batch brings its labels) */
    for (int i = 0; i < 8; i++) r->ce_target[i] = -1;
    if (r->train && r->cfg->loss == DLM_LOSS_CE)
        for (int i = 0; i < g->n_outputs && i < 8; i++) {
            const dlm_tensor *o = &g->tensors[g->outputs[i]];
            dlm_poly rows = dlm_poly_const(1);
            for (int d = 0; d + 1 < o->ndim; d++) rows = dlm_poly_mul(rows, o->shape[d]);
            if (o->ndim < 2 || !dlm_poly_is_const(&o->shape[o->ndim - 1])) {
                if (r->st == DLM_OK)
                    r->st = dlm_error(DLM_EINVAL, "--loss ce: output %s has no fixed last "
                                      "dimension of classes (shape of %d dims)", o->name, o->ndim);
                continue;
            }
            r->ce_target[i] = new_slot(r, dlm_poly_scale(rows, 8), DLM_TERM_INPUTS, -1,
                                       "loss target (int64 class indices)");
        }
    if (!r->torch) /* the runtime's resident workspaces (src/measure/plan.h) */
        for (int k = 0; k < DLM_OP_KIND_COUNT; k++) {
            const op_rule *rule = dlm_op_rule((dlm_op_kind)k);
            int first = -1, n = 0;
            for (int o = 0; o < r->n_ops; o++)
                if (g->ops[o].kind == (dlm_op_kind)k && n++ == 0) first = o;
            if (n && rule->resident) rule->resident(r, first, n);
        }
    /* the runtime allocates its cuBLAS workspace at creation whatever ops the
     * graph has (convolutions borrow it: plan.h), a U-Net's without a linear too */
    if (!r->torch) tr_resident_cublas(r, -1, 0);
}

/* The runtime's cuBLAS workspace (32 MiB, what it gives cublasSetWorkspace,
 * unless measured): one however many ops use it. */
void tr_resident_cublas(tr *r, int o, int n)
{
    (void)o;
    (void)n;
    if (r->res_cublas) return;
    r->res_cublas = 1;
    tr_resident_input(r, r->nm_cublas, "cublas_workspace", P(32LL << 20), "cuBLAS workspace");
}

void tr_defer_save(tr *r, int at, int o, dlm_poly lo, dlm_poly hi, int64_t b_split,
                   const char *what)
{
    if (r->nosave || r->ck.mode) return;
    if (r->n_dfr == r->cap_dfr) {
        int nc = r->cap_dfr ? 2 * r->cap_dfr : 16;
        struct tr_deferred *p = realloc(r->dfr, (size_t)nc * sizeof *p);
        if (!p) {
            r->st = dlm_error(DLM_ENOMEM, "out of memory");
            return;
        }
        r->dfr = p;
        r->cap_dfr = nc;
    }
    r->dfr[r->n_dfr++] = (struct tr_deferred){at, o, b_split, lo, hi, what};
}

/* The deferred saves due after op o (all that remain when o < 0). */
static void run_deferred(tr *r, int o)
{
    for (int i = 0; i < r->n_dfr;) {
        struct tr_deferred *d = &r->dfr[i];
        if (o >= 0 && d->at != o) {
            i++;
            continue;
        }
        int s = tl_new_bsplit(r->t, d->lo, d->hi, d->b_split, DLM_TERM_SAVED, -1, d->what);
        tr_save(r, d->op, s, d->what);
        tl_unref(r->t, s);
        r->dfr[i] = r->dfr[--r->n_dfr];
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
        par_pre_op(r, o);
        ckpt_enter(r, o);
        fwd_op(r, o);
        ckpt_leave(r, o);
        for (int k = 0; k < op->n_out; k++) tr_schedule(r, r->rel[op->out[k]], r->slot[op->out[k]]);
        for (int i = r->rl_head[o]; i >= 0; i = r->rl_next[i]) tl_unref(r->t, r->rl_slot[i]);
        run_deferred(r, o);
        par_post_op(r, o);
        if (r->st != DLM_OK) return;
    }
    run_deferred(r, -1);
}

static void release_end(tr *r)
{
    for (int i = 0; i < r->n_end; i++) tl_unref(r->t, r->end_slots[i]);
    r->n_end = 0;
}

/* loss = sum(F.cross_entropy(o.view(-1, C), target) for o in outputs), as aten
 * runs it for class indices: log_softmax (LogSoftmaxBackward0 saves its result,
 * under autocast computed in fp32 from an fp32 copy that nothing keeps), then
 * nll_loss_forward (output and total_weight; NllLossBackward0 saves
 * log_softmax's result, the target and total_weight).  Backward:
 * nll_loss_backward's grad_input (zeros_like the log_softmax result), then
 * _log_softmax_backward_data's grad_input; the gradient goes back to o's type. */
static int ce_loss(tr *r, int n_out, int scalar, int *ls, int *tw)
{
    const dlm_graph *g = r->g;
    int loss = -1;
    for (int i = 0; i < n_out; i++) {
        int o = g->outputs[i];
        int e = r->mixed && r->eb[o] == 2 ? 4 : r->eb[o];
        int c32 = e != r->eb[o]
                      ? new_slot(r, mulk(numel(r, o), 4), DLM_TERM_TRANSIENT, -1, "autocast fp32 copy")
                      : -1;
        ls[i] = new_slot(r, mulk(numel(r, o), e), DLM_TERM_TRANSIENT, -1, "loss: log_softmax");
        tl_unref(r->t, c32);
        int out = new_slot(r, P(scalar), DLM_TERM_TRANSIENT, -1, "loss: nll_loss");
        tw[i] = new_slot(r, P(scalar), DLM_TERM_TRANSIENT, -1, "loss: nll_loss total_weight");
        int s = new_slot(r, P(scalar), DLM_TERM_TRANSIENT, -1, "loss: sum");
        tl_unref(r->t, out);
        tl_unref(r->t, loss);
        loss = s;
    }
    return loss;
}

static void ce_loss_backward(tr *r, int i, const int *ls, const int *tw)
{
    int o = r->g->outputs[i];
    int e = r->mixed && r->eb[o] == 2 ? 4 : r->eb[o];
    dlm_poly nb = mulk(numel(r, o), e);
    int gn = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "nll_loss backward (zeros_like)");
    tl_unref(r->t, tw[i]);
    int gl = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "log_softmax backward");
    tl_unref(r->t, gn);
    tl_unref(r->t, ls[i]);
    if (e != r->eb[o]) { /* back to o's half type */
        int h = tr_grad_new(r, o, "grad cast to half");
        tl_unref(r->t, gl);
        gl = h;
    }
    tr_give(r, o, gl);
}

static void backward(tr *r)
{
    const dlm_graph *g = r->g;
    int scalar = r->fb, loss = -1, pows[8], ls[8], tw[8];
    int n_out = g->n_outputs < 8 ? g->n_outputs : 8;
    int ce = r->cfg->loss == DLM_LOSS_CE, own = g->loss >= 0;
    /* loss = sum(o.pow(2).mean() for o in outputs), or cross-entropy (ce_loss),
     * or the model's own loss op (causal LMs: model(input_ids=x, labels=x).loss),
     * which ran with the forward */
    tl_at(r->t, DLM_PHASE_FORWARD, -1);
    if (own) {
        loss = r->own_loss;
        r->own_loss = -1;
        n_out = 0;
    }
    if (ce && !own) loss = ce_loss(r, n_out, scalar, ls, tw);
    for (int i = 0; i < n_out && !ce; i++) {
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
    tr_release_casts(r); /* the autocast region ends after the loss */
    /* `del out` before loss.backward(): the outputs' own references go; what
     * autograd saved of them (PowBackward0's o) stays until its node runs */
    if (!r->cfg->keep_outputs) release_end(r);
    tl_at(r->t, DLM_PHASE_BACKWARD, -1);
    int ones = new_slot(r, P(scalar), DLM_TERM_TRANSIENT, -1, "grad of loss");
    int root = -1;
    if (own) { /* the root's gradient: the loss op's backward reads it, the engine
                  holds it to the end of backward */
        tl_ref(r->t, ones);
        tl_ref(r->t, ones);
        r->gslot[g->loss] = ones;
        root = ones;
    }
    for (int i = n_out - 1; i >= 0 && ce; i--) ce_loss_backward(r, i, ls, tw);
    for (int i = n_out - 1; i >= 0 && !ce; i--) {
        int o = g->outputs[i];
        int e = r->mixed && r->eb[o] == 2 ? 4 : r->eb[o];
        dlm_poly nb = mulk(numel(r, o), e);
        /* pow_backward (FunctionsManual.cpp): grad * (2 * self.pow(1)): both
         * temporaries of that one C++ expression live until it ends, after the
         * product is made */
        int gm = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "grad of mean");
        int p1 = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "pow backward: o^1");
        int p2 = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "pow backward: 2*o");
        int gr = new_slot(r, nb, DLM_TERM_TRANSIENT, -1, "pow backward");
        tl_unref(r->t, p2);
        tl_unref(r->t, p1);
        tl_unref(r->t, gm);
        tl_unref(r->t, pows[i]);
        if (e != r->eb[o]) { /* back to o's half type */
            int h = tr_grad_new(r, o, "grad cast to half");
            tl_unref(r->t, gr);
            gr = h;
        }
        tr_give(r, o, gr);
    }
    tl_unref(r->t, ones);
    par_backward_begin(r); /* the hooks on the model's outputs */
    for (int o = r->n_ops - 1; o >= 0; o--) {
        tl_at(r->t, DLM_PHASE_BACKWARD, o);
        par_pre_bwd(r, o);
        ckpt_before_bwd(r, o);
        bwd_op(r, o);
        par_post_bwd(r, o);
        if (r->st != DLM_OK) break;
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (r->gslot[t] >= 0) {
            tl_unref(r->t, r->gslot[t]);
            r->gslot[t] = -1;
        }
    tl_unref(r->t, root);
    par_backward_end(r); /* the engine's final callback */
    tr_schedule(r, INT_MAX, loss);
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
                if (!g->tensors[g->params[p]].frozen)
                    r->opt_m[p] = new_slot(r, tr_state_bytes(r, g->params[p], elem_bytes(r, g->params[p])),
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
                if (g->tensors[t].frozen) continue;
                dlm_poly b;
                if (dlm_tensor_numel_const(g, t) >= 4096) {
                    dlm_poly q = tr_state_bytes(r, t, 1);
                    int64_t e = dlm_poly_eval(&q, 1, 1);
                    b = P(e + (e + 255) / 256 * 4);
                } else {
                    b = tr_state_bytes(r, t, 4);
                }
                r->opt_m[p] = new_slot(r, b, DLM_TERM_OPTIMIZER, -1, "adam8bit state1 + absmax");
                r->opt_v[p] = new_slot(r, b, DLM_TERM_OPTIMIZER, -1, "adam8bit state2 + absmax");
            }
        break;
    case DLM_OPT_ADAM: {
        if (first)
            for (int p = 0; p < n; p++) {
                if (g->tensors[g->params[p]].frozen) continue;
                dlm_poly b = tr_state_bytes(r, g->params[p], elem_bytes(r, g->params[p]));
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
            tmp[p] = g->tensors[g->params[p]].frozen
                         ? -1
                         : new_slot(r, tr_state_bytes(r, g->params[p], elem_bytes(r, g->params[p])),
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
        par_zero_grad(r);
        par_forward_begin(r, first);
    }
    forward(r);
    if (!r->train) tr_release_casts(r);
    if (r->train) {
        backward(r);
        optimizer_step(r, first);
    }
}

/* Every op kind of the graph has a rule; the runtime profile needs ops that
 * dlmem's runtime runs. */
static dlm_status check_rules(const tr *r)
{
    for (int o = 0; o < r->n_ops; o++) {
        const dlm_op *op = &r->g->ops[o];
        const op_rule *rule = dlm_op_rule(op->kind);
        if (!rule)
            return dlm_error(DLM_EINTERNAL, "op %s: kind %d has no memory rule", op->name,
                             (int)op->kind);
        const char *why = !r->torch && rule->runtime_refuses ? rule->runtime_refuses(op) : NULL;
        if (why)
            return dlm_error(DLM_EUNSUPPORTED, "op %s (%s) is not run by dlmem's GPU runtime yet: "
                             "the runtime profile has no prediction for %s (the pytorch profile "
                             "has)", op->name, why, r->g->name);
    }
    return DLM_OK;
}

/* Each rule prepares once: the configuration's options of its family
 * (whether or not the graph has such an op: an option for an op the graph
 * lacks is an error the rule reports). */
static dlm_status prepare_rules(tr *r)
{
    for (int k = 0; k < DLM_OP_KIND_COUNT; k++) {
        const op_rule *rule = dlm_op_rule((dlm_op_kind)k);
        if (rule && rule->prepare) DLM_TRY(rule->prepare(r));
    }
    return DLM_OK;
}

dlm_status dlm_trace_build(const dlm_graph *g, const dlm_mem_config *cfg, const dlm_ws_db *ws,
                           int cudnn, dlm_timeline *t, dlm_mem_layer *layers,
                           dlm_trace_info *info)
{
    tr r;
    memset(&r, 0, sizeof r);
    memset(info, 0, sizeof *info);
    r.g = g;
    r.cfg = cfg;
    r.ws = ws;
    r.cudnn = cudnn;
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
    r.own_loss = -1;
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
    r.gview = calloc(nt, 1);
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
    if (!r.slot || !r.rel || !r.rg || !r.gslot || !r.gview || !r.pgrad || !r.saved || !r.n_saved || !r.ahold ||
        !r.rl_head || !r.opt_m || !r.opt_v || !r.eb || !r.wcast || !r.casts)
        st = dlm_error(DLM_ENOMEM, "out of memory");
    if (st == DLM_OK)
        for (int p = 0; p <= g->n_params; p++) r.opt_m[p] = r.opt_v[p] = -1;
    if (st == DLM_OK) st = check_rules(&r);
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
    if (st == DLM_OK) st = par_init(&r);
    if (st == DLM_OK) st = prepare_rules(&r);
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
            for (int o = 0; o < g->n_ops; o++) tr_release_saved(&r, o);
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
    free(r.gview);
    free(r.pgrad);
    free(r.saved);
    free(r.n_saved);
    free(r.ahold);
    free(r.rl_head);
    free(r.rl_next);
    free(r.rl_slot);
    free(r.end_slots);
    free(r.dfr);
    free(r.opt_m);
    free(r.opt_v);
    free(r.eb);
    free(r.wcast);
    free(r.casts);
    ckpt_free(&r);
    par_free(&r);
    free(r.tchunk);
    free(r.kept);
    free(r.frame);
    return st;
}