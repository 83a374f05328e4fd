/* hfconfig.c — config.json -> the builders' shapes (see hfconfig.h).
 *
 * Defaults are transformers 5.17's config classes' (GPT2Config, LlamaConfig,
 * MistralConfig, Qwen2Config, BertConfig, RobertaConfig, ViTConfig) for keys
 * that are not sizes; the modules each key reaches are in decoder.c, bert.c
 * and vit.c. */
#include "config.h"

#include "hfconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

int dlm_hfconfig_is_path(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && !strcmp(name + n - 5, ".json");
}

#ifndef HAVE_JANSSON

dlm_status dlm_hfconfig_build(const char *path, dlm_graph **out)
{
    *out = NULL;
    return dlm_error(DLM_EUNSUPPORTED, "%s: this dlmem was built without jansson, so it cannot "
                     "read config.json files (install libjansson-dev and run ./configure again)",
                     path);
}

#else

#include <jansson.h>

/* The largest size a tensor dimension may have (dims are int in the graph). */
#define DIM_MAX 2147483647LL

typedef struct cfg {
    const char *path;
    json_t *root;
    const char *type; /* model_type */
} cfg;

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* The value of key; NULL when missing or null (then the default applies). */
static json_t *get(const cfg *c, const char *key)
{
    json_t *v = json_object_get(c->root, key);
    return v && !json_is_null(v) ? v : NULL;
}

static dlm_status bad(const cfg *c, const char *key, const char *what)
{
    return dlm_error(DLM_EPARSE, "%s: \"%s\" %s (model_type %s)", c->path, key, what, c->type);
}

/* An integer in [lo, hi]; required (def < 0 ... use req_int) or defaulted. */
static dlm_status int_key(const cfg *c, const char *key, int required, int64_t def, int64_t lo,
                          int64_t hi, int64_t *out)
{
    json_t *v = get(c, key);
    char msg[160];
    if (!v) {
        if (required) return bad(c, key, "is missing: it sets a tensor size");
        *out = def;
        return DLM_OK;
    }
    if (!json_is_integer(v)) {
        snprintf(msg, sizeof msg, "must be an integer, not %s", json_kind(v));
        return bad(c, key, msg);
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        snprintf(msg, sizeof msg, "is %lld, outside [%lld, %lld]", (long long)x, (long long)lo,
                 (long long)hi);
        return bad(c, key, msg);
    }
    *out = (int64_t)x;
    return DLM_OK;
}

static dlm_status size_key(const cfg *c, const char *key, int64_t *out)
{
    return int_key(c, key, 1, 0, 1, DIM_MAX, out);
}

/* A number in [lo, hi] (hi_open: < hi), defaulted when missing. */
static dlm_status num_key(const cfg *c, const char *key, double def, double lo, double hi,
                          int hi_open, double *out)
{
    json_t *v = get(c, key);
    char msg[160];
    if (!v) {
        *out = def;
        return DLM_OK;
    }
    if (!json_is_number(v)) {
        snprintf(msg, sizeof msg, "must be a number, not %s", json_kind(v));
        return bad(c, key, msg);
    }
    double x = json_number_value(v);
    if (!(x >= lo) || (hi_open ? !(x < hi) : !(x <= hi))) {
        snprintf(msg, sizeof msg, "is %g, outside [%g, %g%s", x, lo, hi, hi_open ? ")" : "]");
        return bad(c, key, msg);
    }
    *out = x;
    return DLM_OK;
}

static dlm_status bool_key(const cfg *c, const char *key, int def, int *out)
{
    json_t *v = get(c, key);
    char msg[160];
    if (!v) {
        *out = def;
        return DLM_OK;
    }
    if (!json_is_boolean(v)) {
        snprintf(msg, sizeof msg, "must be true or false, not %s", json_kind(v));
        return bad(c, key, msg);
    }
    *out = json_is_true(v);
    return DLM_OK;
}

static dlm_status str_key(const cfg *c, const char *key, const char *def, const char **out)
{
    json_t *v = get(c, key);
    char msg[160];
    if (!v) {
        *out = def;
        return DLM_OK;
    }
    if (!json_is_string(v)) {
        snprintf(msg, sizeof msg, "must be a string, not %s", json_kind(v));
        return bad(c, key, msg);
    }
    *out = json_string_value(v);
    return DLM_OK;
}

/* A setting that changes ops dlmem does not model must keep its default. */
static dlm_status must_be_false(const cfg *c, const char *key, const char *why)
{
    int v;
    DLM_TRY(bool_key(c, key, 0, &v));
    if (v) return bad(c, key, why);
    return DLM_OK;
}

/* An activation name dlmem models: `allowed` is "name=form,..." of gelu forms
 * or just names. */
static dlm_status act_key(const cfg *c, const char *key, const char *def, int n,
                          const char *const *names, int *index)
{
    const char *s;
    char msg[256];
    DLM_TRY(str_key(c, key, def, &s));
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *index = i;
            return DLM_OK;
        }
    int k = snprintf(msg, sizeof msg, "is \"%.40s\": dlmem models", s);
    for (int i = 0; i < n && k > 0 && (size_t)k < sizeof msg; i++)
        k += snprintf(msg + k, sizeof msg - (size_t)k, "%s \"%s\"", i ? "," : "", names[i]);
    return bad(c, key, msg);
}

/* ---- decoders ------------------------------------------------------------------- */

static dlm_status read_gpt2(const cfg *c, dlm_decoder_shape *s)
{
    static const char *const acts[] = {"gelu_new", "gelu", "gelu_pytorch_tanh"};
    static const dlm_gelu_form forms[] = {DLM_GELU_NEW, DLM_GELU_ERF, DLM_GELU_TANH};
    int act = 0;
    s->family = "gpt2";
    DLM_TRY(size_key(c, "vocab_size", &s->vocab));
    DLM_TRY(size_key(c, "n_embd", &s->hidden));
    DLM_TRY(size_key(c, "n_layer", &s->layers));
    DLM_TRY(size_key(c, "n_head", &s->heads));
    DLM_TRY(size_key(c, "n_positions", &s->positions));
    DLM_TRY(int_key(c, "n_inner", 0, 4 * s->hidden, 1, DIM_MAX, &s->inter));
    s->kv_heads = s->heads;
    if (s->hidden % s->heads) return bad(c, "n_head", "does not divide n_embd");
    s->head_dim = s->hidden / s->heads;
    DLM_TRY(num_key(c, "layer_norm_epsilon", 1e-5, 0, 1, 0, &s->eps));
    if (!(s->eps > 0)) return bad(c, "layer_norm_epsilon", "must be positive");
    DLM_TRY(num_key(c, "attn_pdrop", 0.1, 0, 1, 1, &s->attn_dropout));
    DLM_TRY(num_key(c, "resid_pdrop", 0.1, 0, 1, 1, &s->resid_dropout));
    DLM_TRY(num_key(c, "embd_pdrop", 0.1, 0, 1, 1, &s->embd_dropout));
    DLM_TRY(act_key(c, "activation_function", "gelu_new", 3, acts, &act));
    s->gelu = forms[act];
    DLM_TRY(bool_key(c, "tie_word_embeddings", 1, &s->tie));
    DLM_TRY(must_be_false(c, "add_cross_attention", "is true: cross-attention is not modelled"));
    DLM_TRY(must_be_false(c, "reorder_and_upcast_attn",
                          "is true: the fp32 upcast attention is not modelled"));
    DLM_TRY(must_be_false(c, "scale_attn_by_inverse_layer_idx",
                          "is true: the per-layer scaled attention is not modelled"));
    return DLM_OK;
}

/* rope_parameters (transformers 5) or rope_theta / rope_scaling (4.x files). */
static dlm_status read_rope(const cfg *c, double def_theta, double *theta)
{
    static const char *const types[] = {"default", "linear", "llama3"};
    json_t *rp = get(c, "rope_parameters");
    json_t *legacy = get(c, "rope_scaling");
    const char *type = "default";
    *theta = def_theta;
    if (rp && !json_is_object(rp)) return bad(c, "rope_parameters", "must be an object");
    if (legacy && !json_is_object(legacy)) return bad(c, "rope_scaling", "must be an object");
    json_t *src = rp ? rp : legacy;
    const char *where = rp ? "rope_parameters" : "rope_scaling";
    if (src) {
        json_t *t = json_object_get(src, "rope_type");
        if (!t) t = json_object_get(src, "type"); /* 4.x spelling */
        if (t && !json_is_string(t)) return bad(c, where, "has a rope_type that is not a string");
        if (t) type = json_string_value(t);
        json_t *th = json_object_get(src, "rope_theta");
        if (th && !json_is_number(th)) return bad(c, where, "has a rope_theta that is not a number");
        if (th) *theta = json_number_value(th);
    }
    if (!rp) DLM_TRY(num_key(c, "rope_theta", *theta, 0, 1e300, 0, theta));
    if (!(*theta > 0)) return bad(c, where, "has a rope_theta that is not positive");
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(type, types[i])) return DLM_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "has rope_type \"%.40s\": dlmem models default, linear and llama3 "
             "(cos/sin of one shape)", type);
    return bad(c, where, msg);
}

/* Qwen2's layer_types, or what Qwen2Config derives from use_sliding_window and
 * max_window_layers; *window = 0 when no layer slides. */
static dlm_status read_qwen2_windows(const cfg *c, dlm_decoder_shape *s, unsigned char *sliding)
{
    int use = 0;
    int64_t mwl = 0, win = 0;
    DLM_TRY(bool_key(c, "use_sliding_window", 0, &use));
    DLM_TRY(int_key(c, "sliding_window", 0, 0, 1, DIM_MAX, &win));
    DLM_TRY(int_key(c, "max_window_layers", 0, 28, 0, DIM_MAX, &mwl));
    json_t *lt = get(c, "layer_types");
    if (lt && (!json_is_array(lt) || (int64_t)json_array_size(lt) != s->layers))
        return bad(c, "layer_types", "must be a list with num_hidden_layers entries");
    int any = 0;
    for (int64_t i = 0; i < s->layers; i++) {
        int slide = use && win > 0 && i >= mwl;
        if (lt) {
            json_t *e = json_array_get(lt, (size_t)i);
            const char *v = json_is_string(e) ? json_string_value(e) : "";
            if (!strcmp(v, "sliding_attention")) slide = 1;
            else if (!strcmp(v, "full_attention")) slide = 0;
            else return bad(c, "layer_types", "has an entry other than \"full_attention\" and "
                            "\"sliding_attention\"");
        }
        sliding[i] = (unsigned char)slide;
        any |= slide;
    }
    if (any && win <= 0) return bad(c, "sliding_window", "must be set for sliding_attention layers");
    s->window = any ? (int)win : 0;
    s->sliding = sliding;
    return DLM_OK;
}

static dlm_status read_llama(const cfg *c, dlm_decoder_shape *s, unsigned char **sliding)
{
    static const char *const acts[] = {"silu"};
    int act = 0;
    s->family = c->type;
    DLM_TRY(size_key(c, "vocab_size", &s->vocab));
    DLM_TRY(size_key(c, "hidden_size", &s->hidden));
    DLM_TRY(size_key(c, "intermediate_size", &s->inter));
    DLM_TRY(size_key(c, "num_hidden_layers", &s->layers));
    DLM_TRY(size_key(c, "num_attention_heads", &s->heads));
    DLM_TRY(int_key(c, "num_key_value_heads", 0, s->heads, 1, s->heads, &s->kv_heads));
    if (s->heads % s->kv_heads)
        return bad(c, "num_key_value_heads", "does not divide num_attention_heads");
    if (!get(c, "head_dim") && s->hidden % s->heads)
        return bad(c, "num_attention_heads", "does not divide hidden_size (and head_dim is not "
                   "given)");
    DLM_TRY(int_key(c, "head_dim", 0, s->hidden / s->heads, 2, DIM_MAX, &s->head_dim));
    if (s->head_dim % 2) return bad(c, "head_dim", "must be even (rotary halves)");
    DLM_TRY(int_key(c, "max_position_embeddings", 0, 2048, 1, DIM_MAX, &s->positions));
    DLM_TRY(num_key(c, "rms_norm_eps", 1e-6, 0, 1, 0, &s->eps));
    if (!(s->eps > 0)) return bad(c, "rms_norm_eps", "must be positive");
    DLM_TRY(num_key(c, "attention_dropout", 0.0, 0, 1, 1, &s->attn_dropout));
    DLM_TRY(act_key(c, "hidden_act", "silu", 1, acts, &act));
    DLM_TRY(bool_key(c, "tie_word_embeddings", 0, &s->tie));
    DLM_TRY(read_rope(c, 10000.0, &s->rope_theta));
    if (!strcmp(c->type, "llama")) {
        int bias = 0;
        DLM_TRY(bool_key(c, "attention_bias", 0, &bias));
        s->qkv_bias = s->o_bias = bias;
        DLM_TRY(bool_key(c, "mlp_bias", 0, &s->mlp_bias));
    } else if (!strcmp(c->type, "mistral")) {
        int64_t win = 0;
        DLM_TRY(int_key(c, "sliding_window", 0, 0, 1, DIM_MAX, &win));
        s->window = (int)win;
    } else { /* qwen2: q, k, v with bias, o_proj without */
        s->qkv_bias = 1;
        if (!(*sliding = calloc((size_t)s->layers, 1)))
            return dlm_error(DLM_ENOMEM, "out of memory");
        DLM_TRY(read_qwen2_windows(c, s, *sliding));
    }
    return DLM_OK;
}

/* ---- encoders ------------------------------------------------------------------- */

static dlm_status read_bert(const cfg *c, dlm_bert_shape *s)
{
    static const char *const acts[] = {"gelu"};
    const char *pet;
    int act = 0;
    s->roberta = !strcmp(c->type, "roberta");
    DLM_TRY(size_key(c, "vocab_size", &s->vocab));
    DLM_TRY(size_key(c, "hidden_size", &s->hidden));
    DLM_TRY(size_key(c, "num_hidden_layers", &s->layers));
    DLM_TRY(size_key(c, "num_attention_heads", &s->heads));
    DLM_TRY(size_key(c, "intermediate_size", &s->ffn));
    DLM_TRY(size_key(c, "max_position_embeddings", &s->positions));
    DLM_TRY(size_key(c, "type_vocab_size", &s->types));
    if (s->hidden % s->heads) return bad(c, "num_attention_heads", "does not divide hidden_size");
    DLM_TRY(num_key(c, "layer_norm_eps", 1e-12, 0, 1, 0, &s->eps));
    if (!(s->eps > 0)) return bad(c, "layer_norm_eps", "must be positive");
    DLM_TRY(num_key(c, "hidden_dropout_prob", 0.1, 0, 1, 1, &s->hidden_dropout));
    DLM_TRY(num_key(c, "attention_probs_dropout_prob", 0.1, 0, 1, 1, &s->attn_dropout));
    DLM_TRY(act_key(c, "hidden_act", "gelu", 1, acts, &act));
    DLM_TRY(str_key(c, "position_embedding_type", "absolute", &pet));
    if (strcmp(pet, "absolute"))
        return bad(c, "position_embedding_type", "is not \"absolute\": relative position "
                   "embeddings are not modelled");
    DLM_TRY(must_be_false(c, "is_decoder", "is true: BERT as a decoder is not modelled"));
    DLM_TRY(must_be_false(c, "add_cross_attention", "is true: cross-attention is not modelled"));
    s->pooler = 1;
    if (s->roberta) {
        int64_t pad = 1;
        DLM_TRY(int_key(c, "pad_token_id", 0, 1, 0, s->positions - 2, &pad));
        s->pad = (int)pad;
    }
    return DLM_OK;
}

/* image_size / patch_size: an integer or a square [h, w]. */
static dlm_status square_key(const cfg *c, const char *key, int64_t *out)
{
    json_t *v = get(c, key);
    if (v && json_is_array(v)) {
        json_t *h = json_array_get(v, 0), *w = json_array_get(v, 1);
        if (json_array_size(v) != 2 || !json_is_integer(h) || !json_is_integer(w) ||
            json_integer_value(h) != json_integer_value(w))
            return bad(c, key, "must be an integer or a square [h, w] (dlmem models square "
                       "images and patches)");
        if (json_integer_value(h) < 1 || json_integer_value(h) > 1000000)
            return bad(c, key, "is outside [1, 1000000]");
        *out = json_integer_value(h);
        return DLM_OK;
    }
    return int_key(c, key, 1, 0, 1, 1000000, out);
}

static dlm_status read_vit(const cfg *c, dlm_vit_shape *s)
{
    static const char *const acts[] = {"gelu"}, *const pool_acts[] = {"tanh"};
    int act = 0;
    s->hf = 1;
    DLM_TRY(size_key(c, "hidden_size", &s->hidden));
    DLM_TRY(size_key(c, "num_hidden_layers", &s->layers));
    DLM_TRY(size_key(c, "num_attention_heads", &s->heads));
    DLM_TRY(size_key(c, "intermediate_size", &s->mlp));
    DLM_TRY(square_key(c, "image_size", &s->image));
    DLM_TRY(square_key(c, "patch_size", &s->patch));
    DLM_TRY(int_key(c, "num_channels", 0, 3, 1, 100000, &s->channels));
    if (s->hidden % s->heads) return bad(c, "num_attention_heads", "does not divide hidden_size");
    if (s->image % s->patch) return bad(c, "patch_size", "does not divide image_size");
    DLM_TRY(num_key(c, "layer_norm_eps", 1e-12, 0, 1, 0, &s->eps));
    if (!(s->eps > 0)) return bad(c, "layer_norm_eps", "must be positive");
    DLM_TRY(num_key(c, "hidden_dropout_prob", 0.0, 0, 1, 1, &s->dropout));
    DLM_TRY(num_key(c, "attention_probs_dropout_prob", 0.0, 0, 1, 1, &s->attn_dropout));
    DLM_TRY(bool_key(c, "qkv_bias", 1, &s->qkv_bias));
    DLM_TRY(act_key(c, "hidden_act", "gelu", 1, acts, &act));
    DLM_TRY(act_key(c, "pooler_act", "tanh", 1, pool_acts, &act));
    DLM_TRY(int_key(c, "pooler_output_size", 0, s->hidden, 1, DIM_MAX, &s->pooler_size));
    s->pooler = 1;
    return DLM_OK;
}

/* ---- the file ------------------------------------------------------------------- */

/* "llama-gqa-tiny" for dir/llama-gqa-tiny.json; "x" for .../x/config.json. */
static void graph_name(const char *path, char *buf, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base) - 5; /* without ".json" */
    if (len == 6 && !strncmp(base, "config", 6) && base > path + 1) {
        const char *end = base - 1, *start = end;
        while (start > path && start[-1] != '/') start--;
        if (end > start) {
            snprintf(buf, n, "%.*s", (int)(end - start), start);
            return;
        }
    }
    snprintf(buf, n, "%.*s", (int)len, base);
}

static dlm_status build(cfg *c, dlm_graph **out)
{
    static const char *const types[] = {"gpt2", "llama", "mistral", "qwen2", "bert", "roberta",
                                        "vit"};
    json_t *mt = json_object_get(c->root, "model_type");
    char name[256];
    if (!mt) return dlm_error(DLM_EPARSE, "%s: \"model_type\" is missing", c->path);
    if (!json_is_string(mt))
        return dlm_error(DLM_EPARSE, "%s: \"model_type\" must be a string, not %s", c->path,
                         json_kind(mt));
    c->type = json_string_value(mt);
    int kind = -1;
    for (int i = 0; i < (int)(sizeof types / sizeof types[0]); i++)
        if (!strcmp(c->type, types[i])) kind = i;
    if (kind < 0)
        return dlm_error(DLM_EPARSE, "%s: \"model_type\" is \"%.60s\": dlmem models gpt2, llama, "
                         "mistral, qwen2, bert, roberta and vit", c->path, c->type);
    if (get(c, "quantization_config"))
        return bad(c, "quantization_config", "is set: quantized checkpoints are not modelled "
                   "(remove it to count the unquantized model)");

    dlm_decoder_shape ds;
    dlm_bert_shape bs;
    dlm_vit_shape vs;
    unsigned char *sliding = NULL;
    int use_cache = 1;
    memset(&ds, 0, sizeof ds);
    memset(&bs, 0, sizeof bs);
    memset(&vs, 0, sizeof vs);
    dlm_status st;
    if (kind == 0) st = read_gpt2(c, &ds);
    else if (kind <= 3) st = read_llama(c, &ds, &sliding);
    else if (kind <= 5) st = read_bert(c, &bs);
    else st = read_vit(c, &vs);
    if (st == DLM_OK && kind <= 3) st = bool_key(c, "use_cache", 1, &use_cache);

    dlm_graph *g = NULL;
    graph_name(c->path, name, sizeof name);
    if (st == DLM_OK) st = dlm_graph_alloc(name, &g);
    if (st == DLM_OK) {
        if (kind <= 3) st = dlm_build_decoder_shape(&ds, g);
        else if (kind <= 5) st = dlm_build_bert_shape(&bs, g);
        else st = dlm_build_vit_shape(&vs, g);
        if (st == DLM_OK) st = dlm_graph_status(g);
        if (st == DLM_OK && !use_cache) g->n_cache = 0; /* use_cache false: no cache returned */
        if (st != DLM_OK) st = dlm_error_context(st, "%s", c->path);
    }
    free(sliding);
    if (st != DLM_OK) {
        dlm_graph_free(g);
        return st;
    }
    *out = g;
    return DLM_OK;
}

dlm_status dlm_hfconfig_build(const char *path, dlm_graph **out)
{
    json_error_t err;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return dlm_error(DLM_EIO, "%s: cannot open: %s", path, strerror(errno));
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        json_decref(root);
        return dlm_error(DLM_EIO, "%s: read error", path);
    }
    if (!root) return dlm_error(DLM_EPARSE, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return dlm_error(DLM_EPARSE, "%s: a config.json is a JSON object", path);
    }
    cfg c = {.path = path, .root = root, .type = "?"};
    dlm_status st = build(&c, out);
    json_decref(root);
    return st;
}

#endif /* HAVE_JANSSON */
