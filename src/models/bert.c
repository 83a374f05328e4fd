/* bert.c — transformers' BertModel (encoder + pooler), module for module.
 *
 * Matches transformers 5.x modeling_bert.py: embeddings (word + token_type, then
 * + position, LayerNorm, dropout); per layer query/key/value Linear, attention
 * (eager or fused, chosen at evaluation), output dense, dropout, residual add,
 * LayerNorm; intermediate dense + GELU; output dense, dropout, add, LayerNorm;
 * the pooler takes token 0 through dense + tanh.  LayerNorm eps 1e-12, dropout
 * 0.1 (hidden and attention probabilities).  Called as model(input_ids): no
 * attention mask, token types from the zero buffer.
 *
 * Input input_ids: (B, T) int64, T <= positions.
 * Outputs: last_hidden_state (B, T, hidden), pooler_output (B, hidden).
 *
 * RoBERTa (RobertaModel, from a config.json) is the same encoder with other
 * embeddings: its position ids come from the ids (cumsum of ids != pad, offset
 * by the padding index, so T <= positions - pad - 1), its token types are the
 * zero buffer gathered at those positions, and its embeddings register
 * word, token_type, LayerNorm, then position (named_parameters() order).
 */
#include <stdio.h>

#include "models.h"

/* One encoder layer "encoder.layer.<i>": returns its output hidden states. */
static int bert_layer(dlm_graph *g, const dlm_bert_shape *s, int i, int x)
{
    int hidden = (int)s->hidden, heads = (int)s->heads, ffn = (int)s->ffn;
    char p[64], n[160];
    snprintf(p, sizeof p, "encoder.layer.%d", i);

    snprintf(n, sizeof n, "%s.attention.self.query", p);
    int q = dlm_linear(g, n, x, hidden, 1);
    snprintf(n, sizeof n, "%s.attention.self.key", p);
    int k = dlm_linear(g, n, x, hidden, 1);
    snprintf(n, sizeof n, "%s.attention.self.value", p);
    int v = dlm_linear(g, n, x, hidden, 1);
    snprintf(n, sizeof n, "%s.attention.self", p);
    int a = dlm_attention_op(g, n, q, k, v, heads, s->attn_dropout);

    snprintf(n, sizeof n, "%s.attention.output.dense", p);
    a = dlm_linear(g, n, a, hidden, 1);
    snprintf(n, sizeof n, "%s.attention.output.dropout", p);
    a = dlm_dropout(g, n, a, s->hidden_dropout);
    snprintf(n, sizeof n, "%s.attention.output.add", p);
    a = dlm_add(g, n, a, x, 0);
    snprintf(n, sizeof n, "%s.attention.output.LayerNorm", p);
    a = dlm_layernorm(g, n, a, s->eps);

    snprintf(n, sizeof n, "%s.intermediate.dense", p);
    int f = dlm_linear(g, n, a, ffn, 1);
    snprintf(n, sizeof n, "%s.intermediate.intermediate_act_fn", p);
    f = dlm_gelu(g, n, f);
    snprintf(n, sizeof n, "%s.output.dense", p);
    f = dlm_linear(g, n, f, hidden, 1);
    snprintf(n, sizeof n, "%s.output.dropout", p);
    f = dlm_dropout(g, n, f, s->hidden_dropout);
    snprintf(n, sizeof n, "%s.output.add", p);
    f = dlm_add(g, n, f, a, 0);
    snprintf(n, sizeof n, "%s.output.LayerNorm", p);
    return dlm_layernorm(g, n, f, s->eps);
}

dlm_status dlm_build_bert_shape(const dlm_bert_shape *s, dlm_graph *g)
{
    static const char *const roberta_order[] = {"embeddings.word_embeddings.",
                                                "embeddings.token_type_embeddings.",
                                                "embeddings.LayerNorm.",
                                                "embeddings.position_embeddings."};
    int64_t vocab = s->vocab, hidden = s->hidden, positions = s->positions, types = s->types;
    g->family = s->roberta ? "roberta" : "bert";
    if (s->heads <= 0 || hidden % s->heads)
        return dlm_error(DLM_EINVAL, "%s: hidden=%lld is not a multiple of heads=%lld", g->name,
                         (long long)hidden, (long long)s->heads);
    g->max_T = s->roberta ? positions - s->pad - 1 : positions;
    if (g->max_T < 1)
        return dlm_error(DLM_ERANGE, "%s: %lld positions leave no room after padding index %d",
                         g->name, (long long)positions, s->pad);

    dlm_poly ids_shape[2] = {dlm_poly_B(), dlm_poly_T()};
    int ids = dlm_graph_input(g, "input_ids", DLM_EL_INT64, 2, ids_shape);

    /* Registration order (named_parameters / named_buffers), not call order. */
    int w_word = dlm_graph_param(g, "embeddings.word_embeddings.weight", 2,
                                 (int64_t[]){vocab, hidden});
    int w_pos = dlm_graph_param(g, "embeddings.position_embeddings.weight", 2,
                                (int64_t[]){positions, hidden});
    int w_type = dlm_graph_param(g, "embeddings.token_type_embeddings.weight", 2,
                                 (int64_t[]){types, hidden});
    int pos_buf = dlm_graph_buffer(g, "embeddings.position_ids", DLM_EL_INT64, 2,
                                   (int64_t[]){1, positions});
    int type_buf = dlm_graph_buffer(g, "embeddings.token_type_ids", DLM_EL_INT64, 2,
                                    (int64_t[]){1, positions});

    int pos_ids, type_ids;
    if (s->roberta) {
        pos_ids = dlm_index(g, "embeddings.create_position_ids_from_input_ids", ids,
                            DLM_INDEX_FROM_IDS, s->pad);
        type_ids = dlm_index(g, "embeddings.token_type_ids.gather", pos_ids, DLM_INDEX_GATHER, 0);
        (void)pos_buf;
        (void)type_buf;
    } else {
        dlm_poly pos_shape[2] = {dlm_poly_const(1), dlm_poly_T()};
        pos_ids = dlm_view(g, "embeddings.position_ids[:, :T]", pos_buf, 2, pos_shape);
        type_ids = dlm_view(g, "embeddings.token_type_ids[:, :T].expand(B, T)", type_buf, 2,
                            ids_shape);
    }

    int x = dlm_embedding(g, "embeddings.word_embeddings", ids, w_word);
    int t = dlm_embedding(g, "embeddings.token_type_embeddings", type_ids, w_type);
    x = dlm_add(g, "embeddings.add", x, t, 0);
    int p = dlm_embedding(g, "embeddings.position_embeddings", pos_ids, w_pos);
    x = dlm_add(g, "embeddings.add#2", x, p, 0);
    x = dlm_layernorm(g, "embeddings.LayerNorm", x, s->eps);
    if (s->roberta) dlm_graph_order_params(g, 0, "", 4, roberta_order);
    x = dlm_dropout(g, "embeddings.dropout", x, s->hidden_dropout);

    for (int i = 0; i < s->layers; i++) x = bert_layer(g, s, i, x);
    dlm_graph_mark_output(g, x);

    if (s->pooler) {
        int first = dlm_select(g, "pooler.first_token", x, 1, 0);
        int y = dlm_linear(g, "pooler.dense", first, (int)hidden, 1);
        y = dlm_tanh(g, "pooler.activation", y);
        dlm_graph_mark_output(g, y);
    }
    return dlm_graph_status(g);
}

/* BertModel(BertConfig(...)): LayerNorm eps 1e-12, dropout 0.1. */
dlm_status dlm_build_bert(const dlm_model_config *cfg, dlm_graph *g)
{
    dlm_bert_shape s = {
        .vocab = dlm_model_knob(cfg, "vocab"),
        .hidden = dlm_model_knob(cfg, "hidden"),
        .layers = dlm_model_knob(cfg, "layers"),
        .heads = dlm_model_knob(cfg, "heads"),
        .ffn = dlm_model_knob(cfg, "ffn"),
        .positions = dlm_model_knob(cfg, "positions"),
        .types = dlm_model_knob(cfg, "types"),
        .eps = 1e-12, .hidden_dropout = 0.1, .attn_dropout = 0.1,
        .pooler = (int)dlm_model_knob(cfg, "pooler"),
    };
    return dlm_build_bert_shape(&s, g);
}
