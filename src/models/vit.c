/* vit.c — vision transformers, module for module:
 *
 *   torchvision 0.26 VisionTransformer (vit_b_16): conv_proj (patch x patch,
 *     stride patch, bias), reshape + permute to (B, N, C), the class token
 *     expanded and concatenated in front, + encoder.pos_embedding, dropout;
 *     per encoder_layer_i: ln_1, self_attention (nn.MultiheadAttention,
 *     need_weights=False), dropout, + input; ln_2, mlp (Linear, GELU, Dropout,
 *     Linear, Dropout), + x; encoder.ln; x[:, 0]; heads.head.  LayerNorm eps
 *     1e-6, dropouts 0.0.
 *   transformers 5.17 ViTModel (AutoModel for model_type "vit"): the same
 *     patches and class token (embeddings.*), per layers.i layernorm_before,
 *     attention q/k/v/o_proj (eager or SDPA), dropout, + residual;
 *     layernorm_after, mlp fc1, activation, fc2, dropout, + residual;
 *     layernorm; pooler (first token, dense, tanh).
 *
 * Input pixel_values (B, channels, image, image); output logits (B, classes)
 * (torchvision) or last_hidden_state (B, N+1, C) and pooler_output (HF).
 */
#include <stdio.h>

#include "models.h"

/* The patch embedding and class token: returns the (B, N+1, C) tokens. */
static int patches(dlm_graph *g, const dlm_vit_shape *s, int x, int cls, const char *conv,
                   const char *tokens, const char *expand, const char *cat)
{
    x = dlm_conv2d(g, conv, x, (int)s->hidden, (int)s->patch, (int)s->patch, 0, 1);
    x = dlm_patch_tokens(g, tokens, x);
    dlm_poly shape[3] = {dlm_poly_B(), dlm_poly_const(1), dlm_poly_const(s->hidden)};
    int c = dlm_view(g, expand, cls, 3, shape);
    dlm_graph_attach_param(g, cls);
    return dlm_concat(g, cat, 2, (int[]){c, x}, 1);
}

static int torchvision_layer(dlm_graph *g, const dlm_vit_shape *s, int i, int x)
{
    char p[64], n[160];
    snprintf(p, sizeof p, "encoder.layers.encoder_layer_%d", i);
    snprintf(n, sizeof n, "%s.ln_1", p);
    int h = dlm_layernorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.self_attention", p);
    h = dlm_mha(g, n, h, (int)s->heads, s->attn_dropout);
    snprintf(n, sizeof n, "%s.dropout", p);
    h = dlm_dropout(g, n, h, s->dropout);
    snprintf(n, sizeof n, "%s.add", p);
    x = dlm_add(g, n, h, x, 0);
    snprintf(n, sizeof n, "%s.ln_2", p);
    int y = dlm_layernorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.mlp.0", p);
    y = dlm_linear(g, n, y, (int)s->mlp, 1);
    snprintf(n, sizeof n, "%s.mlp.1", p);
    y = dlm_gelu(g, n, y);
    snprintf(n, sizeof n, "%s.mlp.2", p);
    y = dlm_dropout(g, n, y, s->dropout);
    snprintf(n, sizeof n, "%s.mlp.3", p);
    y = dlm_linear(g, n, y, (int)s->hidden, 1);
    snprintf(n, sizeof n, "%s.mlp.4", p);
    y = dlm_dropout(g, n, y, s->dropout);
    snprintf(n, sizeof n, "%s.add#2", p);
    return dlm_add(g, n, x, y, 0);
}

static int hf_layer(dlm_graph *g, const dlm_vit_shape *s, int i, int x)
{
    static const char *const order[] = {"attention.", "layernorm_before.", "layernorm_after.",
                                        "mlp."};
    char p[64], n[160];
    int C = (int)s->hidden, first = g->n_params;
    snprintf(p, sizeof p, "layers.%d", i);
    snprintf(n, sizeof n, "%s.layernorm_before", p);
    int h = dlm_layernorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.attention.q_proj", p);
    int q = dlm_linear(g, n, h, C, s->qkv_bias);
    snprintf(n, sizeof n, "%s.attention.k_proj", p);
    int k = dlm_linear(g, n, h, C, s->qkv_bias);
    snprintf(n, sizeof n, "%s.attention.v_proj", p);
    int v = dlm_linear(g, n, h, C, s->qkv_bias);
    snprintf(n, sizeof n, "%s.attention", p);
    int a = dlm_attention_op(g, n, q, k, v, (int)s->heads, s->attn_dropout);
    snprintf(n, sizeof n, "%s.attention.o_proj", p);
    a = dlm_linear(g, n, a, C, 1);
    snprintf(n, sizeof n, "%s.dropout", p);
    a = dlm_dropout(g, n, a, s->dropout);
    snprintf(n, sizeof n, "%s.add", p);
    x = dlm_add(g, n, a, x, 0);
    snprintf(n, sizeof n, "%s.layernorm_after", p);
    h = dlm_layernorm(g, n, x, s->eps);
    snprintf(n, sizeof n, "%s.mlp.fc1", p);
    h = dlm_linear(g, n, h, (int)s->mlp, 1);
    snprintf(n, sizeof n, "%s.mlp.activation_fn", p);
    h = dlm_gelu(g, n, h);
    snprintf(n, sizeof n, "%s.mlp.fc2", p);
    h = dlm_linear(g, n, h, C, 1);
    snprintf(n, sizeof n, "%s.dropout#2", p);
    h = dlm_dropout(g, n, h, s->dropout);
    snprintf(n, sizeof n, "%s.add#2", p);
    x = dlm_add(g, n, h, x, 0);
    dlm_graph_order_params(g, first, p, 4, order);
    return x;
}

dlm_status dlm_build_vit_shape(const dlm_vit_shape *s, dlm_graph *g)
{
    if (s->patch <= 0 || s->image % s->patch)
        return dlm_error(DLM_EINVAL, "%s: image size %lld is not a multiple of patch size %lld",
                         g->name, (long long)s->image, (long long)s->patch);
    if (s->heads <= 0 || s->hidden % s->heads)
        return dlm_error(DLM_EINVAL, "%s: hidden size %lld is not a multiple of %lld heads",
                         g->name, (long long)s->hidden, (long long)s->heads);
    int64_t np = (s->image / s->patch) * (s->image / s->patch), C = s->hidden;
    g->family = s->hf ? "vit" : NULL;
    dlm_poly in_shape[4] = {dlm_poly_B(), dlm_poly_const(s->channels), dlm_poly_const(s->image),
                            dlm_poly_const(s->image)};
    int x = dlm_graph_input(g, "pixel_values", DLM_EL_FLOAT, 4, in_shape);

    if (!s->hf) {
        int cls = dlm_graph_param(g, "class_token", 3, (int64_t[]){1, 1, C});
        /* conv_proj registers before encoder.pos_embedding: make the patches first */
        x = patches(g, s, x, cls, "conv_proj", "conv_proj.reshape_permute",
                    "class_token.expand", "cat");
        int pos = dlm_graph_param(g, "encoder.pos_embedding", 3, (int64_t[]){1, np + 1, C});
        x = dlm_add(g, "encoder.add", x, pos, 0);
        dlm_graph_attach_param(g, pos);
        x = dlm_dropout(g, "encoder.dropout", x, s->dropout);
        for (int i = 0; i < s->layers; i++) x = torchvision_layer(g, s, i, x);
        x = dlm_layernorm(g, "encoder.ln", x, s->eps);
        x = dlm_select(g, "class_token_out", x, 1, 0);
        x = dlm_linear(g, "heads.head", x, (int)s->classes, 1);
        dlm_graph_mark_output(g, x);
        return dlm_graph_status(g);
    }
    int cls = dlm_graph_param(g, "embeddings.cls_token", 3, (int64_t[]){1, 1, C});
    int pos = dlm_graph_param(g, "embeddings.position_embeddings", 3, (int64_t[]){1, np + 1, C});
    x = patches(g, s, x, cls, "embeddings.patch_embeddings.projection",
                "embeddings.patch_embeddings.flatten_transpose", "embeddings.cls_token.expand",
                "embeddings.cat");
    x = dlm_add(g, "embeddings.add", x, pos, 0);
    dlm_graph_attach_param(g, pos);
    x = dlm_dropout(g, "embeddings.dropout", x, s->dropout);
    for (int i = 0; i < s->layers; i++) x = hf_layer(g, s, i, x);
    x = dlm_layernorm(g, "layernorm", x, s->eps);
    dlm_graph_mark_output(g, x);
    if (s->pooler) {
        int first = dlm_select(g, "pooler.first_token", x, 1, 0);
        int y = dlm_linear(g, "pooler.dense", first, (int)s->pooler_size, 1);
        y = dlm_tanh(g, "pooler.activation", y);
        dlm_graph_mark_output(g, y);
    }
    return dlm_graph_status(g);
}

/* torchvision.models.vit_b_16(weights=None) and its knobs. */
dlm_status dlm_build_vit(const dlm_model_config *cfg, dlm_graph *g)
{
    dlm_vit_shape s = {
        .hf = 0,
        .image = dlm_model_knob(cfg, "image"),
        .patch = dlm_model_knob(cfg, "patch"),
        .channels = 3,
        .hidden = dlm_model_knob(cfg, "hidden"),
        .layers = dlm_model_knob(cfg, "layers"),
        .heads = dlm_model_knob(cfg, "heads"),
        .mlp = dlm_model_knob(cfg, "mlp"),
        .classes = dlm_model_knob(cfg, "classes"),
        .eps = 1e-6,
    };
    return dlm_build_vit_shape(&s, g);
}
