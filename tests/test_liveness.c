/* test_liveness.c — births and deaths of activation storages, checked by hand
 * on ResNet18 (in-place ReLU and add share storage), the LSTM (out[-1] is a
 * view that keeps the whole output alive) and BERT (a residual input lives
 * until the add that reads it). */
#include "analytic/liveness.h"
#include "models/models.h"
#include "tap.h"

static int op_index(const dlm_graph *g, const char *name)
{
    for (int o = 0; o < g->n_ops; o++)
        if (!strcmp(g->ops[o].name, name)) return o;
    return -2;
}

static int last_use(const dlm_graph *g, const dlm_liveness *l, const char *tensor)
{
    int t = dlm_graph_find_tensor(g, tensor);
    return t < 0 ? -3 : l->last_use[dlm_tensor_storage(g, t)];
}

static int dies_after(const dlm_graph *g, const dlm_liveness *l, const char *op, const char *t)
{
    int o = op_index(g, op), id = dlm_graph_find_tensor(g, t);
    if (o < 0 || id < 0) return 0;
    for (int k = l->dies_start[o]; k < l->dies_start[o + 1]; k++)
        if (l->dies[k] == id) return 1;
    return 0;
}

int main(void)
{
    dlm_graph *g;
    dlm_liveness *l;

    dlm_model_build_named("resnet18", NULL, &g);
    TAP_OK(dlm_liveness_infer(g, &l) == DLM_OK, "resnet18 plan");
    TAP_EQ(last_use(g, l, "conv1.out"), op_index(g, "bn1"), "conv1.out dies after bn1");
    TAP_EQ(last_use(g, l, "relu.out"), op_index(g, "maxpool"),
           "bn1's storage (relu in place) dies after maxpool");
    TAP_EQ(last_use(g, l, "maxpool.out"), op_index(g, "layer1.0.add"),
           "the block input lives until the residual add");
    TAP_OK(dies_after(g, l, "layer1.0.add", "maxpool.out"), "... and is freed right after it");
    TAP_EQ(last_use(g, l, "layer1.0.relu#2.out"), op_index(g, "layer1.1.add"),
           "in-place results extend their base's life");
    TAP_EQ(last_use(g, l, "fc.out"), g->n_ops, "the output is never freed");
    int born = 0, died = 0;
    for (int o = 0; o < g->n_ops; o++) {
        born += l->born_start[o + 1] - l->born_start[o];
        died += l->dies_start[o + 1] - l->dies_start[o];
    }
    TAP_EQ(born - died, 1, "every storage but the output is freed");
    dlm_liveness_free(l);
    dlm_graph_free(g);

    dlm_model_build_named("lstm", NULL, &g);
    TAP_OK(dlm_liveness_infer(g, &l) == DLM_OK, "lstm plan");
    TAP_EQ(last_use(g, l, "lstm.out"), op_index(g, "fc"), "out[-1] keeps all of out alive until fc");
    TAP_EQ(last_use(g, l, "lstm.h_n"), op_index(g, "lstm"), "unread h_n dies at once");
    TAP_EQ(last_use(g, l, "lstm.c_n"), op_index(g, "lstm"), "unread c_n dies at once");
    dlm_liveness_free(l);
    dlm_graph_free(g);

    dlm_model_build_named("bert", NULL, &g);
    TAP_OK(dlm_liveness_infer(g, &l) == DLM_OK, "bert plan");
    TAP_EQ(last_use(g, l, "embeddings.dropout.out"), op_index(g, "encoder.layer.0.attention.output.add"),
           "a layer's input lives until its attention residual add");
    TAP_EQ(last_use(g, l, "encoder.layer.11.output.LayerNorm.out"), g->n_ops,
           "last_hidden_state is an output");
    TAP_EQ(last_use(g, l, "encoder.layer.0.attention.self.query.out"),
           op_index(g, "encoder.layer.0.attention.self"), "q dies after attention");
    TAP_EQ(last_use(g, l, "embeddings.position_ids"), -1, "buffers are not planned");
    dlm_liveness_free(l);
    dlm_graph_free(g);
    return tap_done();
}
