/* models.h — the networks dlmem knows, by name, and their settable sizes.
 *
 * Each model is one builder function that writes a dlm_graph matching its
 * PyTorch reference exactly (parameter names, shapes and order).  Sizes a user
 * may change are "knobs" (integers with a default and a valid range), set from
 * the command line as `--set hidden=512,layers=3`.
 */
#ifndef DLM_MODELS_H
#define DLM_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

#define DLM_MAX_KNOBS 12

typedef struct dlm_knob {
    const char *name;
    int64_t value;      /* default, or the value set */
    int64_t min, max;   /* valid range, inclusive */
    const char *help;
} dlm_knob;

typedef struct dlm_model_config {
    const struct dlm_model_info *info;
    dlm_knob knobs[DLM_MAX_KNOBS];
    int n_knobs;
} dlm_model_config;

typedef struct dlm_model_info {
    const char *name;        /* "resnet18" */
    const char *summary;     /* one line for --help */
    const char *pytorch;     /* the PyTorch reference it matches */
    const dlm_knob *knobs;   /* defaults, terminated by a NULL name */
    int variant;             /* builder-specific: ResNet depth, RNN cell */
    dlm_status (*build)(const dlm_model_config *cfg, dlm_graph *g);
} dlm_model_info;

/* All models, in the order --help lists them. */
const dlm_model_info *dlm_models(int *n);

/* Looks a model up by name; unknown names get an error listing the valid ones. */
dlm_status dlm_model_find(const char *name, const dlm_model_info **out);

/* Default configuration of a model, then `settings` ("k=v,k=v", may be NULL or
 * empty) applied; unknown knobs and out-of-range values are errors that list
 * the valid knobs or range. */
dlm_status dlm_model_config_init(const dlm_model_info *info, const char *settings,
                                 dlm_model_config *cfg);

/* Knobs recorded in data: the `set` column of `dlmem measure`'s CSV (and of
 * the reconciler's other inputs).  Items "name=value" are separated by ';',
 * which needs no CSV quoting (a ',' would); ',' is read as well, for a quoted
 * cell as tools/torch_reference.py holdout writes it.  "" is the defaults. */
#define DLM_MODEL_SET_SEP ";"
#define DLM_MODEL_SET_SEPS ";,"
#define DLM_MODEL_SET_MAX 256 /* characters of a recorded `set`, with its NUL */

/* The default configuration with a recorded `set` cell applied: the checks of
 * dlm_model_config_init, its messages without the "--set" (the caller names
 * the file, line and column). */
dlm_status dlm_model_config_read(const dlm_model_info *info, const char *cell,
                                 dlm_model_config *cfg);

/* The knobs of cfg that differ from the model's defaults, in the model's knob
 * order, as "name=value;name=value" ("" for the defaults): what `dlmem
 * measure` records, and what dlm_model_config_read reads back into the same
 * configuration.  One configuration has one spelling (explicit defaults are
 * left out), so equal graphs record equal cells.  Longer than n: DLM_ERANGE. */
dlm_status dlm_model_config_format(const dlm_model_config *cfg, char *buf, size_t n);

/* The value of knob `name` (which must exist: a builder's own knob). */
int64_t dlm_model_knob(const dlm_model_config *cfg, const char *name);

/* Builds the graph of a configured model. */
dlm_status dlm_model_build(const dlm_model_config *cfg, dlm_graph **out);

/* Builds a model by name, or a network file by path (see netfile.h: a name with
 * a '/' or ending in .net).  settings apply to named models only.  *info, if
 * info is not NULL, is the model's entry, or NULL for a network file. */
dlm_status dlm_model_open(const char *name_or_path, const char *settings,
                          const dlm_model_info **info, dlm_graph **out);

/* Convenience: dlm_model_open without the info. */
dlm_status dlm_model_build_named(const char *name, const char *settings, dlm_graph **out);
/* A built-in model by name only, for names read from data (a CSV's model
 * column): a name that looks like a path is an unknown model, never a file
 * that is opened; a name that is no built-in is looked up among the configs
 * shipped in the data directory's hf/ (a `dlmem measure` CSV names a
 * config.json model by its file's stem).  settings are a recorded `set` cell (dlm_model_config_read:
 * ';' or ',' between items), NULL or "" for the defaults. */
dlm_status dlm_model_build_builtin(const char *name, const char *settings, dlm_graph **out);

/* ---- transformer shapes: what a builder reads from knobs or a config.json ---- */

/* A decoder-only causal LM as AutoModelForCausalLM.from_config builds it:
 * GPT2LMHeadModel (family "gpt2") or LlamaForCausalLM and its relatives
 * MistralForCausalLM, Qwen2ForCausalLM ("llama", "mistral", "qwen2"). */
typedef struct dlm_decoder_shape {
    const char *family;        /* "gpt2", "llama", "mistral", "qwen2" */
    int64_t vocab, hidden, inter, layers, heads, kv_heads, head_dim;
    int64_t positions;         /* gpt2: learned positions (the largest T);
                                  llama: max_position_embeddings (not a bound) */
    double eps;                /* layer_norm_epsilon / rms_norm_eps */
    double rope_theta;         /* llama family */
    double attn_dropout;       /* attn_pdrop / attention_dropout */
    double resid_dropout, embd_dropout; /* gpt2 */
    int qkv_bias, o_bias, mlp_bias;     /* llama: attention_bias (q, k, v, o);
                                           qwen2: q, k, v only; mlp_bias */
    int tie;                   /* tie_word_embeddings: lm_head is the embedding */
    dlm_gelu_form gelu;        /* gpt2's activation_function */
    int window;                /* sliding_window (0: none) */
    const unsigned char *sliding; /* per layer: 1 = sliding_attention (qwen2
                                     layer_types); NULL: every layer uses window */
} dlm_decoder_shape;

/* BertModel / RobertaModel as AutoModel.from_config builds them. */
typedef struct dlm_bert_shape {
    int64_t vocab, hidden, layers, heads, ffn, positions, types;
    double eps, hidden_dropout, attn_dropout;
    int pooler;                /* add_pooling_layer (AutoModel: yes) */
    int roberta;               /* RoBERTa's embeddings: positions from the ids */
    int pad;                   /* RoBERTa's pad_token_id (position padding index) */
} dlm_bert_shape;

/* torchvision's VisionTransformer (vit_b_16) or transformers' ViTModel. */
typedef struct dlm_vit_shape {
    int hf;                    /* 0 torchvision, 1 transformers ViTModel */
    int64_t image, patch, channels, hidden, layers, heads, mlp, classes;
    double eps, dropout, attn_dropout;
    int qkv_bias, pooler;      /* ViTModel: qkv_bias, add_pooling_layer */
    int64_t pooler_size;       /* ViTModel: pooler_output_size */
} dlm_vit_shape;

dlm_status dlm_build_decoder_shape(const dlm_decoder_shape *s, dlm_graph *g);
dlm_status dlm_build_bert_shape(const dlm_bert_shape *s, dlm_graph *g);
dlm_status dlm_build_vit_shape(const dlm_vit_shape *s, dlm_graph *g);

/* Builders (one per file). */
dlm_status dlm_build_resnet(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_rnn(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_bert(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_gpt2(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_vit(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_vgg(const dlm_model_config *cfg, dlm_graph *g);          /* cnn.c */
dlm_status dlm_build_mobilenet_v2(const dlm_model_config *cfg, dlm_graph *g); /* cnn.c */
dlm_status dlm_build_efficientnet(const dlm_model_config *cfg, dlm_graph *g); /* cnn.c */
dlm_status dlm_build_densenet(const dlm_model_config *cfg, dlm_graph *g);     /* cnn.c */
dlm_status dlm_build_unet(const dlm_model_config *cfg, dlm_graph *g);

#endif
