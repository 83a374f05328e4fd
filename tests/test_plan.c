/* test_plan.c — the GPU runtime's plan (src/measure/plan.h) without a GPU:
 * the bytes alive while each op runs (L_o) and their maximum P, which bound
 * the transient convolution workspaces.  Checked by hand on ResNet18's stem
 * and against the analytic `runtime` profile (an independent count of the same
 * plan: P = its peak minus its resident bytes) for every seed network. */
#include "analytic/memory.h"
#include "core/paths.h"
#include "measure/plan.h"
#include "models/models.h"
#include "tap.h"

static int op_index(const dlm_graph *g, const char *name)
{
    for (int o = 0; o < g->n_ops; o++)
        if (!strcmp(g->ops[o].name, name)) return o;
    return -1;
}

/* P and L_o of model at (B, T); 0 on failure (reported). */
static int plan_of(const char *model, int64_t B, int64_t T, dlm_rt_dtype dt, dlm_graph **g,
                   int64_t **live, int64_t *peak)
{
    dlm_liveness *l = NULL;
    *live = NULL;
    int ok = dlm_model_build_named(model, NULL, g) == DLM_OK &&
             dlm_liveness_infer(*g, &l) == DLM_OK &&
             (*live = calloc((size_t)(*g)->n_ops, sizeof **live)) != NULL &&
             dlm_plan_live_bytes(*g, l, B, T, dt, *live, peak) == DLM_OK;
    if (!ok) TAP_OK(0, "%s B=%lld T=%lld: %s", model, (long long)B, (long long)T, dlm_errmsg());
    dlm_liveness_free(l);
    return ok;
}

/* P against the runtime profile's peak - before (no named workspace inputs:
 * the resident terms cancel). */
static void against_profile(const char *model, int64_t B, int64_t T, dlm_rt_dtype dt)
{
    dlm_graph *g = NULL;
    int64_t *live = NULL, P = 0;
    if (plan_of(model, B, T, dt, &g, &live, &P)) {
        dlm_mem_config c;
        dlm_mem_model *m = NULL;
        dlm_mem_result r;
        dlm_mem_config_default(&c);
        c.profile = DLM_PROFILE_RUNTIME;
        int ok = dlm_dtype_parse(dlm_rt_dtype_name(dt), &c.dtype) == DLM_OK &&
                 dlm_mem_model_alloc(g, &c, &m) == DLM_OK &&
                 dlm_mem_eval(m, B, T, &r) == DLM_OK;
        if (!ok) TAP_OK(0, "%s: runtime profile: %s", model, dlm_errmsg());
        else
            TAP_EQ(P, r.peak_bytes - r.before_bytes,
                   "%s %s B=%lld T=%lld: P is the runtime profile's peak above its resident bytes",
                   model, dlm_rt_dtype_name(dt), (long long)B, (long long)T);
        int64_t most = 0, at_or_below = 1;
        for (int o = 0; o < g->n_ops; o++) {
            if (live[o] > most) most = live[o];
            at_or_below &= live[o] >= 0 && live[o] <= P;
        }
        TAP_OK(at_or_below && most == P, "%s %s B=%lld T=%lld: 0 <= L_o <= P, and P is reached",
               model, dlm_rt_dtype_name(dt), (long long)B, (long long)T);
        dlm_mem_model_free(m);
    }
    free(live);
    dlm_graph_free(g);
}

int main(void)
{
    dlm_graph *g = NULL;
    int64_t *live = NULL, P = 0;

    /* ResNet18 at B=1, fp32: conv1's output is 64x112x112 floats; the peak is at
     * bn1 (conv1's output and bn1's), so conv1 may take one output's worth. */
    const int64_t stem = 64LL * 112 * 112 * 4;
    if (plan_of("resnet18", 1, 1, DLM_RT_FP32, &g, &live, &P)) {
        int c1 = op_index(g, "conv1"), bn1 = op_index(g, "bn1"), l1 = op_index(g, "layer1.0.conv1");
        TAP_EQ(live[c1], stem, "resnet18 B=1: L(conv1) = conv1's output, 3,211,264 bytes");
        TAP_EQ(live[bn1], 2 * stem, "L(bn1) = conv1's and bn1's outputs");
        TAP_EQ(P, 2 * stem, "P = L(bn1) = 6,422,528 bytes (the measured activation peak)");
        /* layer1.0.conv1: maxpool's output (64x56x56) and its own output */
        TAP_EQ(live[l1], 2 * 64LL * 56 * 56 * 4, "L(layer1.0.conv1) = maxpool's and its outputs");
        TAP_EQ(P - live[c1], stem, "conv1's headroom is bn1's output");
    }
    free(live);
    dlm_graph_free(g);

    /* bf16 halves every float storage; B scales them all. */
    int64_t P1 = P;
    if (plan_of("resnet18", 8, 1, DLM_RT_BF16, &g, &live, &P))
        TAP_EQ(P, P1 / 2 * 8, "resnet18 bf16 B=8: P = fp32 B=1's P * 8 / 2");
    free(live);
    dlm_graph_free(g);

    /* BERT at T=512: attention's scores (scratch) are part of L_o there. */
    if (plan_of("bert", 1, 512, DLM_RT_FP32, &g, &live, &P)) {
        int a = op_index(g, "encoder.layer.0.attention.self");
        int64_t s = dlm_plan_op_scratch(g, a, DLM_RT_FP32, 1, 512);
        TAP_OK(a >= 0 && live[a] > s && s == 12LL * 512 * 512 * 4 + 40 * 12,
               "bert T=512: L(attention) holds the scores, 12*512*512*4 + 480 bytes");
    }
    free(live);
    dlm_graph_free(g);

    against_profile("resnet18", 1, 1, DLM_RT_FP32);
    against_profile("resnet18", 128, 1, DLM_RT_FP32);
    against_profile("resnet18", 32, 1, DLM_RT_BF16);
    against_profile("resnet34", 4, 1, DLM_RT_FP32);
    against_profile("lstm", 32, 1000, DLM_RT_FP32);
    against_profile("gru", 1, 50, DLM_RT_FP32);
    against_profile("bert", 8, 512, DLM_RT_FP32);
    against_profile("bert", 1, 8, DLM_RT_BF16);

    /* The transformers dlmem's runtime runs in inference: GPT-2 (its q, k, v
     * slices of one Conv1D output, the KV cache alive with the logits), the
     * Llama-shaped GQA decoder, Mistral's sliding window, Qwen2's biases and
     * torchvision's ViT (nn.MultiheadAttention's scratch). */
    against_profile("bert", 3, 197, DLM_RT_BF16); /* scores padded to 200 columns */
    against_profile("gpt2", 2, 64, DLM_RT_FP32);
    against_profile("gpt2", 3, 1000, DLM_RT_BF16);
    against_profile("vit_b_16", 1, 1, DLM_RT_FP32);
    against_profile("vit_b_16", 24, 1, DLM_RT_BF16);
    const char *hf[] = {"hf/llama-gqa-tiny.json", "hf/mistral-tiny.json", "hf/qwen2-tiny.json",
                        "hf/llama-3.2-1b.json"};
    for (size_t i = 0; i < sizeof hf / sizeof hf[0]; i++) {
        char path[4096];
        if (!dlm_data_path(hf[i], path, sizeof path)) {
            TAP_OK(0, "data file %s", hf[i]);
            continue;
        }
        dlm_graph *hg = NULL;
        if (dlm_model_build_named(path, NULL, &hg) == DLM_EUNSUPPORTED &&
            strstr(dlm_errmsg(), "jansson")) {
            TAP_OK(1, "# SKIP %s: built without jansson", hf[i]);
            continue;
        }
        dlm_graph_free(hg);
        against_profile(path, 2, 77, DLM_RT_FP32);
        against_profile(path, 5, 300, DLM_RT_BF16);
    }

    /* GPT-2 at B=2, T=64 by hand: the KV cache is each block's q, k, v
     * projection (B, T, 3*768), alive to the end with the logits. */
    if (plan_of("gpt2", 2, 64, DLM_RT_FP32, &g, &live, &P)) {
        int last = g->n_ops - 1;
        while (last > 0 && g->ops[last].train_only) last--;
        int64_t qkv = 2LL * 64 * 3 * 768 * 4, ln_f = 2LL * 64 * 768 * 4,
                logits = 2LL * 64 * 50257 * 4;
        TAP_EQ(live[last], 12 * qkv + ln_f + logits,
               "gpt2 B=2 T=64: at lm_head, 12 blocks' qkv (the cache), ln_f's output and the "
               "logits are alive");
    }
    free(live);
    dlm_graph_free(g);

    /* A point outside the model: an error, not a number. */
    dlm_liveness *l = NULL;
    if (dlm_model_build_named("resnet18", NULL, &g) == DLM_OK && dlm_liveness_infer(g, &l) == DLM_OK &&
        (live = calloc((size_t)g->n_ops, sizeof *live)) != NULL)
        TAP_EQ(dlm_plan_live_bytes(g, l, 0, 1, DLM_RT_FP32, live, &P), DLM_ERANGE,
               "B=0 is a range error");
    free(live);
    dlm_liveness_free(l);
    dlm_graph_free(g);
    return tap_done();
}
