/* graph.h — a network as a graph of typed ops over tensors with symbolic shapes.
 *
 * This is the one description of a network that every part of dlmem reads:
 * the analytic calculator (parameter formulas, activation sizes, liveness), the
 * GPU runtime (which executes the ops in order) and the reconciler.  Building a
 * graph computes nothing (as in ggml): it records ops, their attributes and the
 * shapes of the tensors they make.
 *
 * Dimension letters: B batch, T sequence length, C channels, H/W image height and
 * width (fixed integers of the model), I input features, Hd hidden size.
 *
 * Tensors
 *   - parameters and buffers: constant shapes, listed in PyTorch's
 *     named_parameters() / named_buffers() order (graph.params, graph.buffers);
 *   - inputs: the network's inputs (an image batch, token ids, a sequence);
 *   - activations: made by one op each; a view or an in-place op makes a tensor
 *     that shares its base's storage (alias_of), as PyTorch does, so liveness is
 *     computed over storages, not names.
 *   Element type: DLM_EL_FLOAT follows the dtype chosen at evaluation time
 *   (fp32, fp16, bf16); DLM_EL_INT64 stays 8 bytes (token ids, counters).
 *
 * Ops are stored in execution order (PyTorch's forward order); op inputs
 * always refer to earlier tensors.
 *
 * Errors: builder calls never fail loudly one by one.  The first failure is
 * recorded in the graph (sticky, like errno) and later calls do nothing and
 * return -1; a builder checks dlm_graph_status() once at the end.
 */
#ifndef DLM_GRAPH_H
#define DLM_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/poly.h"
#include "../core/status.h"

#define DLM_MAX_DIMS 4   /* rank of every tensor in the supported ops */
#define DLM_OP_MAX_IN 64 /* inputs of one op (attention: q, k, v; a DenseNet block's concat) */
#define DLM_OP_MAX_OUT 3 /* outputs of one op (LSTM: output, h_n, c_n) */

typedef enum dlm_role {
    DLM_ROLE_INPUT,  /* a network input, allocated by the caller */
    DLM_ROLE_PARAM,  /* a trainable parameter */
    DLM_ROLE_BUFFER, /* a non-trainable tensor kept with the model */
    DLM_ROLE_ACT     /* an activation, made by an op */
} dlm_role;

typedef enum dlm_elem {
    DLM_EL_FLOAT, /* floating point in the evaluation's dtype */
    DLM_EL_INT64  /* always 8 bytes */
} dlm_elem;

typedef struct dlm_tensor {
    char *name;                    /* "conv1.weight", "layer1.0.relu.out" */
    dlm_role role;
    int frozen;                    /* a parameter with requires_grad=False (LoRA's base) */
    int keep_fp32;                 /* a parameter kept in fp32 whatever the model's dtype
                                      (peft's adapters: autocast_adapter_dtype) */
    dlm_elem elem;
    int ndim;
    dlm_poly shape[DLM_MAX_DIMS];  /* symbolic in B and T; constant for params */
    dlm_poly numel;                /* product of shape */
    int producer;                  /* op index; -1 for inputs, params, buffers */
    int alias_of;                  /* tensor whose storage this shares; -1 if own */
} dlm_tensor;

typedef enum dlm_op_kind {
    DLM_OP_CONV2D,       /* in: x (B,Cin,H,W) -> (B,Cout,Ho,Wo); cross-correlation */
    DLM_OP_BATCHNORM2D,  /* in: x (B,C,H,W) -> same; params weight, bias; buffers
                            running_mean, running_var, num_batches_tracked */
    DLM_OP_RELU,         /* elementwise; may be in place */
    DLM_OP_MAXPOOL2D,    /* (B,C,H,W) -> (B,C,Ho,Wo) */
    DLM_OP_AVGPOOL2D_ADAPTIVE, /* (B,C,H,W) -> (B,C,oh,ow) */
    DLM_OP_ADD,          /* a + b, same shape; may be in place into a */
    DLM_OP_FLATTEN,      /* view: (B,C,1,1) -> (B,C) */
    DLM_OP_LINEAR,       /* (..., in) -> (..., out); y = x W^T + b */
    DLM_OP_RNN,          /* LSTM/GRU over (T,B,I) -> out (T,B,Hd), h_n (L,B,Hd)
                            [, c_n (L,B,Hd) for LSTM] */
    DLM_OP_SELECT,       /* view: index `index` of dimension `dim` removed
                            (out[-1] of an RNN, hidden[:, 0] for BERT's pooler) */
    DLM_OP_EMBEDDING,    /* int64 ids (...) -> (..., dim) gathered rows */
    DLM_OP_LAYERNORM,    /* over the last dimension; params weight, bias */
    DLM_OP_DROPOUT,      /* identity in inference; mask in training */
    DLM_OP_GELU,         /* erf form */
    DLM_OP_TANH,
    DLM_OP_SOFTMAX,      /* over the last dimension */
    DLM_OP_ATTENTION,    /* multi-head scaled dot-product attention:
                            q, k, v (B,T,Hd) -> context (B,T,Hd); heads split Hd.
                            Eager or fused is chosen at evaluation time. */
    DLM_OP_VIEW,         /* shares x's storage with a new shape: per dimension,
                            equal size keeps x's stride, x's size 1 broadcasts
                            (stride 0), a smaller constant takes a prefix */
    DLM_OP_CONVT2D,      /* transposed conv: (B,Cin,H,W) -> (B,Cout,Ho,Wo),
                            Ho = (H-1)*sh - 2*ph + dh*(kh-1) + oph + 1 */
    DLM_OP_AVGPOOL2D,    /* (B,C,H,W) -> (B,C,Ho,Wo), count_include_pad */
    DLM_OP_RELU6,        /* hardtanh(x, 0, 6); may be in place */
    DLM_OP_HARDSWISH,    /* x * relu6(x + 3) / 6; may be in place */
    DLM_OP_SILU,         /* x * sigmoid(x); may be in place */
    DLM_OP_SIGMOID,
    DLM_OP_MUL,          /* a * b, broadcasting as add; may be in place into a */
    DLM_OP_CONCAT,       /* torch.cat along dimension `dim` of n inputs */
    DLM_OP_UPSAMPLE,     /* F.interpolate by an integer scale: nearest or bilinear */
    DLM_OP_STOCHASTIC_DEPTH, /* torchvision.ops.stochastic_depth(x, p, "row"): training
                            multiplies each sample by 0 or 1/(1-p); identity in eval */
    /* ---- decoder language models and vision transformers ---- */
    DLM_OP_RMSNORM,      /* over the last dimension; param weight (transformers
                            LlamaRMSNorm: fp32 variance, x * rsqrt, * weight) */
    DLM_OP_SLICE,        /* view: [start, start+len) of dimension dim (GPT-2's
                            c_attn(x).split(n_embd, dim=2)) */
    DLM_OP_ROTARY,       /* cos, sin (1,T,head_dim) from buffer inv_freq and
                            positions 0..T-1 (transformers' *RotaryEmbedding,
                            once per forward) */
    DLM_OP_ROPE,         /* in: q (B,T,h*d), k (B,T,kvh*d), cos, sin ->
                            q*cos + rotate_half(q)*sin, the same for k */
    DLM_OP_PATCH_TOKENS, /* view: (B,C,H,W) -> (B,H*W,C), x.flatten(2).transpose(1, 2) */
    DLM_OP_MHA,          /* torch.nn.MultiheadAttention(batch_first=True), self-attention
                            with need_weights=False: packed in_proj (3E,E) + bias,
                            attention, out_proj (eval fast path or training path
                            chosen at evaluation) */
    DLM_OP_CAUSAL_LM_LOSS, /* transformers' ForCausalLMLoss on logits (B,T,V) and
                            labels (B,T): logits.float(), labels shifted by one,
                            cross_entropy(ignore_index=-100, mean); train only */
    DLM_OP_INDEX         /* an int64 index tensor the model makes for itself (see
                            dlm_index_form): positions 0..T-1, RoBERTa's positions
                            from the ids, its token types gathered by position */
} dlm_op_kind;

#define DLM_OP_KIND_COUNT (DLM_OP_INDEX + 1)

typedef enum dlm_upsample_mode { DLM_UP_NEAREST, DLM_UP_BILINEAR } dlm_upsample_mode;

/* The decoder and ViT kinds, as case labels, for a reader's switch that
 * refuses them up front (see dlm_op_new_form()). */
#define DLM_OP_CASES_NEW                                                         \
    case DLM_OP_RMSNORM: case DLM_OP_SLICE:   \
    case DLM_OP_ROTARY: case DLM_OP_ROPE: case DLM_OP_PATCH_TOKENS: \
    case DLM_OP_MHA: case DLM_OP_CAUSAL_LM_LOSS: case DLM_OP_INDEX

typedef enum dlm_index_form {
    DLM_INDEX_ARANGE,   /* (1,T): cache_position = arange(T), .unsqueeze(0) */
    DLM_INDEX_FROM_IDS, /* (B,T): cumsum(ids != pad) * (ids != pad) + pad */
    DLM_INDEX_GATHER    /* (B,T): buffer.expand(1,-1).gather(1, positions) */
} dlm_index_form;

/* The activation function of a DLM_OP_GELU. */
typedef enum dlm_gelu_form {
    DLM_GELU_ERF,    /* torch.nn.functional.gelu (BERT's "gelu") */
    DLM_GELU_TANH,   /* gelu(approximate="tanh") in one kernel ("gelu_pytorch_tanh") */
    DLM_GELU_NEW     /* transformers NewGELUActivation ("gelu_new", GPT-2): the tanh
                        form as eight elementwise ops in Python */
} dlm_gelu_form;

typedef enum dlm_rnn_cell { DLM_RNN_LSTM, DLM_RNN_GRU } dlm_rnn_cell;

typedef struct dlm_op {
    dlm_op_kind kind;
    char *name;                 /* PyTorch module path: "layer1.0.conv1" */
    int in[DLM_OP_MAX_IN];      /* tensor ids */
    int n_in;
    int out[DLM_OP_MAX_OUT];    /* tensor ids */
    int n_out;
    int *params;                /* parameter tensor ids, PyTorch's order */
    int n_params, cap_params;
    int *buffers;               /* buffer tensor ids */
    int n_buffers, cap_buffers;
    int inplace;                /* out[0] shares in[0]'s storage */
    int train_only;             /* runs only in a training step (the model's own loss,
                                   computed when labels are given) */
    union {
        struct { int cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, bias, oph, opw; } conv;
                                         /* conv2d and convt2d (oph, opw: output padding) */
        struct { int c; double eps, momentum; } bn;
        struct { int kh, kw, sh, sw, ph, pw, dh, dw, ceil; } pool; /* maxpool2d, avgpool2d */
        struct { int oh, ow; } apool;
        /* transposed: GPT-2's Conv1D, weight (in, out), y = addmm(b, x, W);
         * tied: the weight is another op's parameter, in[1] (an LM head tied to
         * the token embedding: listed once, under the embedding) */
        struct { int in, out, bias, transposed, tied;
                 int lora_r; /* > 0: peft's LoRA on it (params lora_A, lora_B after
                                its own; base frozen): base + lora_B(lora_A(x)) * s */
        } linear;
        struct { dlm_rnn_cell cell; int input, hidden, layers, bias; } rnn;
        struct { int dim, index; } select; /* index < 0 counts from the end */
        struct { int num, dim; } emb;
        struct { int dim; double eps; } ln; /* layernorm and rmsnorm */
        struct { dlm_gelu_form form; } gelu;
        struct { int dim, start, len; } slice;
        struct { int head_dim; double theta; } rotary;
        struct { int heads, kv_heads, head_dim; } rope;
        struct { double p; } dropout;       /* dropout, stochastic depth */
        /* dropout on probabilities; kv_heads < heads: grouped-query attention
         * (k, v have kv_heads*head_dim features; eager repeat_kv); causal: a
         * decoder's mask (SDPA is_causal); window > 0: sliding-window mask;
         * softmax_fp32: eager softmax in fp32, then back to q's dtype (Llama) */
        struct { int heads, head_dim, kv_heads, causal, window, softmax_fp32; double dropout; } attn;
        struct { int dim; } cat;
        struct { dlm_upsample_mode mode; int scale, align_corners; } up;
        struct { dlm_index_form form; int offset; } index; /* offset: padding index */
    } a;
} dlm_op;

typedef struct dlm_graph {
    char *name;           /* "resnet18" */
    const char *family;   /* transformers model_type of a transformer ("gpt2", "llama",
                             "mistral", "qwen2", "bert", "roberta", "vit"), else NULL */
    dlm_tensor *tensors;
    int n_tensors, cap_tensors;
    dlm_op *ops;          /* execution order */
    int n_ops, cap_ops;
    int *params;          /* tensor ids, named_parameters() order */
    int n_params, cap_params;
    int *buffers;         /* tensor ids, named_buffers() order */
    int n_buffers, cap_buffers;
    int *inputs;          /* network inputs, forward()'s argument order */
    int n_inputs, cap_inputs;
    int *outputs;         /* what forward() returns (the loss is taken from these) */
    int n_outputs, cap_outputs;
    int *cache;           /* the KV cache forward() returns beside its outputs
                             (use_cache: DynamicCache's key and value per layer),
                             alive while the outputs are */
    int n_cache, cap_cache;
    int loss;             /* the model's own loss (train_only op output), -1 if none:
                             a training step backpropagates it instead of a loss
                             taken from the outputs */
    int uses_B, uses_T;   /* which free variables the sizes depend on */
    int64_t max_T;        /* largest valid T (BERT: positions); 0 = unbounded */
    dlm_status status;    /* first builder error (sticky) */
    int64_t const_elems;  /* parameter and buffer elements so far (at most
                             DLM_GRAPH_MAX_CONST_ELEMS) */
} dlm_graph;

/* The most parameter and buffer elements a graph may hold (2^56: 256 PiB in
 * fp32), so that counts and byte sums over them never overflow int64. */
#define DLM_GRAPH_MAX_CONST_ELEMS ((int64_t)1 << 56)

/* ---- life cycle ---------------------------------------------------------- */
dlm_status dlm_graph_alloc(const char *name, dlm_graph **out);
void dlm_graph_free(dlm_graph *g);
/* DLM_OK, or the first error a builder call met (message in dlm_errmsg()).
 * Also checks the graph: every poly valid, op inputs precede the op. */
dlm_status dlm_graph_status(const dlm_graph *g);

/* ---- tensors --------------------------------------------------------------- */
/* A network input; dims given as polynomials. */
int dlm_graph_input(dlm_graph *g, const char *name, dlm_elem elem, int ndim,
                    const dlm_poly *shape);
/* A parameter or buffer with a constant shape, appended in PyTorch's order. */
int dlm_graph_param(dlm_graph *g, const char *name, int ndim, const int64_t *shape);
int dlm_graph_buffer(dlm_graph *g, const char *name, dlm_elem elem, int ndim,
                     const int64_t *shape);
void dlm_graph_mark_output(dlm_graph *g, int tensor);
void dlm_graph_mark_cache(dlm_graph *g, int tensor);
/* Counts parameter t under the op added last (a parameter a module holds
 * itself and an op reads as an input: ViT's class token, position embedding). */
void dlm_graph_attach_param(dlm_graph *g, int t);
/* Puts g->params[from..] in the order modules register them: a stable sort by
 * the first of `prefixes` (relative to `scope`, "" for the model) that a name
 * starts with; names matching none keep their place after those that match.
 * Builders create parameters in call order; PyTorch lists them in
 * registration order (a Llama layer registers self_attn, mlp, then its norms). */
void dlm_graph_order_params(dlm_graph *g, int from, const char *scope, int n_prefixes,
                            const char *const *prefixes);

/* ---- ops (each returns its first output tensor id, or -1 after an error) --- */
/* Weight (cout, cin/groups, kh, kw); bias (cout) if `bias`. */
int dlm_conv2d(dlm_graph *g, const char *name, int x, int cout, int k, int stride,
               int pad, int bias);
/* nn.Conv2d with dilation and groups (cin and cout multiples of groups). */
int dlm_conv2d_ex(dlm_graph *g, const char *name, int x, int cout, int k, int stride, int pad,
                  int dilation, int groups, int bias);
/* nn.ConvTranspose2d(cin, cout, k, stride, pad, output_padding, bias=bias):
 * weight (cin, cout, k, k); bias (cout). */
int dlm_conv_transpose2d(dlm_graph *g, const char *name, int x, int cout, int k, int stride,
                         int pad, int output_padding, int bias);
int dlm_batchnorm2d(dlm_graph *g, const char *name, int x);
int dlm_relu(dlm_graph *g, const char *name, int x, int inplace);
int dlm_maxpool2d(dlm_graph *g, const char *name, int x, int k, int stride, int pad);
/* With ceil_mode (PyTorch's pooling_output_shape). */
int dlm_maxpool2d_ex(dlm_graph *g, const char *name, int x, int k, int stride, int pad,
                     int ceil_mode);
/* nn.AvgPool2d(k, stride, pad, ceil_mode) with count_include_pad=True. */
int dlm_avgpool2d(dlm_graph *g, const char *name, int x, int k, int stride, int pad,
                  int ceil_mode);
int dlm_avgpool2d_adaptive(dlm_graph *g, const char *name, int x, int oh, int ow);
/* a + b; with inplace the result shares a's storage (PyTorch `out += identity`). */
int dlm_add(dlm_graph *g, const char *name, int a, int b, int inplace);
int dlm_flatten(dlm_graph *g, const char *name, int x);
/* a * b broadcasting as dlm_add; with inplace the result shares a's storage. */
int dlm_mul(dlm_graph *g, const char *name, int a, int b, int inplace);
/* Adds parameter LEAF of op o ("<op name>.LEAF") after the graph is built (an
 * adapter's); returns the tensor or -1. */
int dlm_graph_op_param(dlm_graph *g, int o, const char *leaf, int ndim, const int64_t *shape);
/* torch.cat(ins[0..n-1], dim): all other dimensions equal. */
int dlm_concat(dlm_graph *g, const char *name, int n, const int *ins, int dim);
/* F.interpolate(x, scale_factor=scale, mode) of a (B,C,H,W) tensor. */
int dlm_upsample(dlm_graph *g, const char *name, int x, int scale, dlm_upsample_mode mode,
                 int align_corners);
int dlm_relu6(dlm_graph *g, const char *name, int x, int inplace);
int dlm_hardswish(dlm_graph *g, const char *name, int x, int inplace);
int dlm_silu(dlm_graph *g, const char *name, int x, int inplace);
int dlm_sigmoid(dlm_graph *g, const char *name, int x);
/* torchvision.ops.StochasticDepth(p, "row"). */
int dlm_stochastic_depth(dlm_graph *g, const char *name, int x, double p);
int dlm_linear(dlm_graph *g, const char *name, int x, int out_features, int bias);
/* Parameters per layer k, PyTorch's order: weight_ih_lk, weight_hh_lk, bias_ih_lk,
 * bias_hh_lk.  Returns `output` (T,B,Hd); h_n and c_n are op outputs 1 and 2. */
int dlm_rnn(dlm_graph *g, const char *name, dlm_rnn_cell cell, int x, int hidden,
            int layers, int bias);
int dlm_select(dlm_graph *g, const char *name, int x, int dim, int index);
/* Gathers rows of `weight` (a parameter declared earlier, for modules whose
 * registration order differs from their call order) at int64 `ids`. */
int dlm_embedding(dlm_graph *g, const char *name, int ids, int weight);
int dlm_layernorm(dlm_graph *g, const char *name, int x, double eps);
int dlm_dropout(dlm_graph *g, const char *name, int x, double p);
/* nn.Dropout(p, inplace=True). */
int dlm_dropout_inplace(dlm_graph *g, const char *name, int x, double p);
int dlm_gelu(dlm_graph *g, const char *name, int x);
int dlm_gelu_form_op(dlm_graph *g, const char *name, int x, dlm_gelu_form form);
int dlm_tanh(dlm_graph *g, const char *name, int x);
int dlm_softmax(dlm_graph *g, const char *name, int x);
int dlm_attention_op(dlm_graph *g, const char *name, int q, int k, int v, int heads,
                     double dropout);
/* Grouped-query, optionally causal attention: q (B,T,heads*head_dim),
 * k and v (B,T,kv_heads*head_dim); heads a multiple of kv_heads. */
int dlm_attention_gqa(dlm_graph *g, const char *name, int q, int k, int v, int heads,
                      int kv_heads, int head_dim, int causal, int window, double dropout);
/* Linear variants: Conv1D (weight in x out) and a head tied to `weight`. */
int dlm_conv1d(dlm_graph *g, const char *name, int x, int out_features);
int dlm_linear_tied(dlm_graph *g, const char *name, int x, int weight);
int dlm_rmsnorm(dlm_graph *g, const char *name, int x, double eps);
int dlm_slice(dlm_graph *g, const char *name, int x, int dim, int start, int len);
/* Rotary embedding: buffers "<name>.inv_freq" and "<name>.original_inv_freq"
 * (head_dim/2 each, transformers 5.x registers both); returns cos, *sin_out sin. */
int dlm_rotary(dlm_graph *g, const char *name, int like, int head_dim, double theta,
               int *sin_out);
/* Applies cos/sin to q and k; returns q', *k_out k'. */
int dlm_rope(dlm_graph *g, const char *name, int q, int k, int cos, int sin, int heads,
             int kv_heads, int head_dim, int *k_out);
int dlm_patch_tokens(dlm_graph *g, const char *name, int x);
/* nn.MultiheadAttention over x (B,T,E): parameters in_proj_weight, in_proj_bias,
 * out_proj.weight, out_proj.bias. */
int dlm_mha(dlm_graph *g, const char *name, int x, int heads, double dropout);
/* The causal-LM loss of logits (B,T,V) against labels (B,T): a scalar, train only;
 * sets g->loss. */
int dlm_causal_lm_loss(dlm_graph *g, const char *name, int logits, int labels);
/* An index tensor of `form` made from x (ignored for DLM_INDEX_ARANGE, whose
 * T is taken from x's dimension 1). */
int dlm_index(dlm_graph *g, const char *name, int x, dlm_index_form form, int offset);
/* A view of x (see DLM_OP_VIEW): BERT's position_ids[:, :T] and
 * token_type_ids[:, :T].expand(B, T). */
int dlm_view(dlm_graph *g, const char *name, int x, int ndim, const dlm_poly *shape);

/* ---- reading ------------------------------------------------------------ */
const char *dlm_op_kind_name(dlm_op_kind k);  /* "conv2d", "batchnorm2d", ... */
/* NULL unless op is a decoder's or vision transformer's kind or form (the
 * kinds from DLM_OP_RMSNORM on, and the linear, gelu and attention forms they
 * bring); else what is new about it ("rmsnorm", "causal
 * attention", "grouped-query attention", "GPT-2 Conv1D", "tied LM head",
 * "gelu_new"), for readers whose rules for it are not written yet to refuse
 * by name rather than guess. */
const char *dlm_op_new_form(const dlm_op *op);
/* Storage a tensor lives in: follows alias_of to the owning tensor. */
int dlm_tensor_storage(const dlm_graph *g, int t);
/* Number of elements of a parameter or buffer (constant shape). */
int64_t dlm_tensor_numel_const(const dlm_graph *g, int t);
/* "64x3x7x7", "B x 64 x 112 x 112", "T x B x 256". */
size_t dlm_tensor_shape_str(const dlm_graph *g, int t, char *buf, size_t n);
/* Total parameter / buffer elements; buffers split by element type. */
int64_t dlm_graph_param_count(const dlm_graph *g);
int64_t dlm_graph_buffer_count(const dlm_graph *g);
int dlm_graph_find_tensor(const dlm_graph *g, const char *name); /* -1 if none */

#endif
