/* decoder.c — decoder-only causal language models, module for module, as
 * transformers 5.17's AutoModelForCausalLM.from_config builds them:
 *
 *   gpt2     GPT2LMHeadModel: wte + wpe (positions 0..T-1), dropout; per block
 *            ln_1, attn.c_attn (Conv1D, 3*C) split into q, k, v, causal
 *            attention, attn.c_proj (Conv1D), dropout, + residual; ln_2,
 *            mlp.c_fc (Conv1D, 4*C or n_inner), activation (gelu_new), mlp.c_proj,
 *            dropout, + residual; ln_f; lm_head (tied to wte by default).
 *   llama    LlamaForCausalLM (and MistralForCausalLM, Qwen2ForCausalLM, which
 *            differ in biases and the sliding window only): embed_tokens;
 *            rotary_emb makes cos, sin once per forward; per layer
 *            input_layernorm (RMSNorm), q_proj, k_proj, v_proj (GQA: k and v
 *            have kv_heads*head_dim features), RoPE on q and k, causal attention
 *            (repeat_kv in eager), o_proj, + residual; post_attention_layernorm,
 *            mlp down_proj(silu(gate_proj(x)) * up_proj(x)), + residual; norm;
 *            lm_head (untied by default).
 *
 * Called as model(input_ids=x) (and labels=x in a training step): the KV cache
 * the model returns by default (use_cache, DynamicCache) holds each layer's
 * key and value states (after RoPE), graph->cache; the loss op (train only)
 * is transformers' ForCausalLMLoss on the logits.
 *
 * Input input_ids (B, T) int64; output logits (B, T, vocab).
 * Parameters are listed in registration order (named_parameters()).
 */
#include <stdio.h>
#include <string.h>

#include "models.h"

/* The token ids the model reads, (B, T) int64; labels are the same tensor in
 * the causal-LM protocol (labels=input_ids) and add no storage. */
static int ids_input(dlm_graph *g)
{
    dlm_poly ids_shape[2] = {dlm_poly_B(), dlm_poly_T()};
    return dlm_graph_input(g, "input_ids", DLM_EL_INT64, 2, ids_shape);
}

/* lm_head (tied or its own weight), the logits as output, and the loss. */
static void lm_head(dlm_graph *g, const dlm_decoder_shape *s, int x, int ids, int emb_weight)
{
    int logits = s->tie ? dlm_linear_tied(g, "lm_head", x, emb_weight)
                        : dlm_linear(g, "lm_head", x, (int)s->vocab, 0);
    dlm_graph_mark_output(g, logits);
    dlm_causal_lm_loss(g, "loss_function", logits, ids);
}

static int gpt2_block(dlm_graph *g, const dlm_decoder_shape *s, int i, int x)
{
    char p[64], n[160];
    int C = (int)s->hidden, inner = (int)s->inter;
    snprintf(p, sizeof p, "transformer.h.%d", i);

    snprintf(n, sizeof n, "%s.ln_1", p);
    int h = dlm_layernorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.attn.c_attn", p);
    int qkv = dlm_conv1d(g, n, h, 3 * C);
    snprintf(n, sizeof n, "%s.attn.query", p);
    int q = dlm_slice(g, n, qkv, 2, 0, C);
    snprintf(n, sizeof n, "%s.attn.key", p);
    int k = dlm_slice(g, n, qkv, 2, C, C);
    snprintf(n, sizeof n, "%s.attn.value", p);
    int v = dlm_slice(g, n, qkv, 2, 2 * C, C);
    dlm_graph_mark_cache(g, k);
    dlm_graph_mark_cache(g, v);
    snprintf(n, sizeof n, "%s.attn", p);
    int a = dlm_attention_gqa(g, n, q, k, v, (int)s->heads, (int)s->heads,
                              (int)(s->hidden / s->heads), 1, 0, s->attn_dropout);
    snprintf(n, sizeof n, "%s.attn.c_proj", p);
    a = dlm_conv1d(g, n, a, C);
    snprintf(n, sizeof n, "%s.attn.resid_dropout", p);
    a = dlm_dropout(g, n, a, s->resid_dropout);
    snprintf(n, sizeof n, "%s.add", p);
    x = dlm_add(g, n, a, x, 0);

    snprintf(n, sizeof n, "%s.ln_2", p);
    h = dlm_layernorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.mlp.c_fc", p);
    int f = dlm_conv1d(g, n, h, inner);
    snprintf(n, sizeof n, "%s.mlp.act", p);
    f = dlm_gelu_form_op(g, n, f, s->gelu);
    snprintf(n, sizeof n, "%s.mlp.c_proj", p);
    f = dlm_conv1d(g, n, f, C);
    snprintf(n, sizeof n, "%s.mlp.dropout", p);
    f = dlm_dropout(g, n, f, s->resid_dropout);
    snprintf(n, sizeof n, "%s.add#2", p);
    return dlm_add(g, n, x, f, 0);
}

static dlm_status build_gpt2(const dlm_decoder_shape *s, dlm_graph *g)
{
    g->family = "gpt2";
    g->max_T = s->positions;
    int ids = ids_input(g);
    int wte = dlm_graph_param(g, "transformer.wte.weight", 2, (int64_t[]){s->vocab, s->hidden});
    int wpe = dlm_graph_param(g, "transformer.wpe.weight", 2,
                              (int64_t[]){s->positions, s->hidden});
    int x = dlm_embedding(g, "transformer.wte", ids, wte);
    int pos = dlm_index(g, "transformer.position_ids", ids, DLM_INDEX_ARANGE, 0);
    int pe = dlm_embedding(g, "transformer.wpe", pos, wpe);
    x = dlm_add(g, "transformer.add", x, pe, 0);
    x = dlm_dropout(g, "transformer.drop", x, s->embd_dropout);
    for (int i = 0; i < s->layers; i++) x = gpt2_block(g, s, i, x);
    x = dlm_layernorm(g, "transformer.ln_f", x, s->eps);
    lm_head(g, s, x, ids, wte);
    return dlm_graph_status(g);
}

static int llama_layer(dlm_graph *g, const dlm_decoder_shape *s, int i, int x, int cos, int sin)
{
    static const char *const order[] = {"self_attn.", "mlp.", "input_layernorm.",
                                        "post_attention_layernorm."};
    char p[64], n[160];
    int H = (int)s->heads, KV = (int)s->kv_heads, D = (int)s->head_dim;
    int first = g->n_params;
    snprintf(p, sizeof p, "model.layers.%d", i);

    snprintf(n, sizeof n, "%s.input_layernorm", p);
    int h = dlm_rmsnorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.self_attn.q_proj", p);
    int q = dlm_linear(g, n, h, H * D, s->qkv_bias);
    snprintf(n, sizeof n, "%s.self_attn.k_proj", p);
    int k = dlm_linear(g, n, h, KV * D, s->qkv_bias);
    snprintf(n, sizeof n, "%s.self_attn.v_proj", p);
    int v = dlm_linear(g, n, h, KV * D, s->qkv_bias);
    snprintf(n, sizeof n, "%s.self_attn.rotary", p);
    int kr = -1;
    int qr = dlm_rope(g, n, q, k, cos, sin, H, KV, D, &kr);
    dlm_graph_mark_cache(g, kr);
    dlm_graph_mark_cache(g, v);
    int window = s->sliding ? (s->sliding[i] ? s->window : 0) : s->window;
    snprintf(n, sizeof n, "%s.self_attn", p);
    int a = dlm_attention_gqa(g, n, qr, kr, v, H, KV, D, 1, window, s->attn_dropout);
    if (a >= 0) g->ops[g->n_ops - 1].a.attn.softmax_fp32 = 1; /* softmax(dtype=float32) */
    snprintf(n, sizeof n, "%s.self_attn.o_proj", p);
    a = dlm_linear(g, n, a, (int)s->hidden, s->o_bias);
    snprintf(n, sizeof n, "%s.add", p);
    x = dlm_add(g, n, x, a, 0);

    snprintf(n, sizeof n, "%s.post_attention_layernorm", p);
    h = dlm_rmsnorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.mlp.gate_proj", p);
    int gate = dlm_linear(g, n, h, (int)s->inter, s->mlp_bias);
    snprintf(n, sizeof n, "%s.mlp.act_fn", p);
    gate = dlm_silu(g, n, gate, 0);
    snprintf(n, sizeof n, "%s.mlp.up_proj", p);
    int up = dlm_linear(g, n, h, (int)s->inter, s->mlp_bias);
    snprintf(n, sizeof n, "%s.mlp.mul", p);
    int f = dlm_mul(g, n, gate, up, 0);
    snprintf(n, sizeof n, "%s.mlp.down_proj", p);
    f = dlm_linear(g, n, f, (int)s->hidden, s->mlp_bias);
    snprintf(n, sizeof n, "%s.add#2", p);
    x = dlm_add(g, n, x, f, 0);
    dlm_graph_order_params(g, first, p, 4, order);
    return x;
}

static dlm_status build_llama(const dlm_decoder_shape *s, dlm_graph *g)
{
    /* the family names are static strings: "llama", "mistral", "qwen2" */
    g->family = !strcmp(s->family, "mistral") ? "mistral"
                : !strcmp(s->family, "qwen2") ? "qwen2" : "llama";
    int ids = ids_input(g);
    int emb = dlm_graph_param(g, "model.embed_tokens.weight", 2, (int64_t[]){s->vocab, s->hidden});
    int x = dlm_embedding(g, "model.embed_tokens", ids, emb);
    int pos = dlm_index(g, "model.position_ids", ids, DLM_INDEX_ARANGE, 0);
    (void)pos; /* rotary_emb reads them; its cos and sin depend on T only */
    int sin = -1;
    int cos = dlm_rotary(g, "model.rotary_emb", x, (int)s->head_dim, s->rope_theta, &sin);
    for (int i = 0; i < s->layers; i++) x = llama_layer(g, s, i, x, cos, sin);
    x = dlm_rmsnorm(g, "model.norm", x, s->eps);
    lm_head(g, s, x, ids, emb);
    return dlm_graph_status(g);
}

dlm_status dlm_build_decoder_shape(const dlm_decoder_shape *s, dlm_graph *g)
{
    if (s->heads <= 0 || s->kv_heads <= 0 || s->heads % s->kv_heads)
        return dlm_error(DLM_EINVAL, "%s: %lld attention heads are not a multiple of %lld "
                         "key/value heads", g->name, (long long)s->heads, (long long)s->kv_heads);
    if (s->family[0] == 'g') {
        if (s->hidden % s->heads)
            return dlm_error(DLM_EINVAL, "%s: hidden size %lld is not a multiple of %lld heads",
                             g->name, (long long)s->hidden, (long long)s->heads);
        return build_gpt2(s, g);
    }
    return build_llama(s, g);
}

dlm_status dlm_build_gpt2(const dlm_model_config *cfg, dlm_graph *g)
{
    dlm_decoder_shape s = {
        .family = "gpt2",
        .vocab = dlm_model_knob(cfg, "vocab"),
        .hidden = dlm_model_knob(cfg, "hidden"),
        .inter = dlm_model_knob(cfg, "ffn"),
        .layers = dlm_model_knob(cfg, "layers"),
        .heads = dlm_model_knob(cfg, "heads"),
        .kv_heads = dlm_model_knob(cfg, "heads"),
        .positions = dlm_model_knob(cfg, "positions"),
        .eps = 1e-5,
        .attn_dropout = 0.1, .resid_dropout = 0.1, .embd_dropout = 0.1,
        .tie = 1,
        .gelu = DLM_GELU_NEW,
    };
    s.head_dim = s.heads ? s.hidden / s.heads : 0;
    return dlm_build_decoder_shape(&s, g);
}
