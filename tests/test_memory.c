/* test_memory.c — the memory model checked against hand-derived values and
 * independent computations:
 *   - activation formulas read off the graph by hand (conv1: 64*112*112*B);
 *   - the runtime profile against a separate walk of the liveness.h plan at
 *     exact bytes (what dlmem's GPU runtime allocates), for all three networks;
 *   - the runtime profile's peak formula equals its peak to the byte;
 *   - the composition sums to the peak;
 *   - the seed's scaling claims evaluated from the formulas (ResNet18 linear in
 *     B, LSTM linear in T, BERT quadratic in T only with eager attention);
 *   - PyTorch's caching-allocator rules (rounding, segments, splitting);
 *   - invalid points are errors naming the valid range.
 */
#include "analytic/gpus.h"
#include "analytic/liveness.h"
#include "analytic/memory.h"
#include "analytic/pytorch_alloc.h"
#include "models/models.h"
#include "tap.h"

static dlm_graph *build(const char *name)
{
    dlm_graph *g = NULL;
    if (dlm_model_build_named(name, NULL, &g) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        exit(1);
    }
    return g;
}

static dlm_mem_config config(dlm_profile p, dlm_mode mode, dlm_attention a)
{
    dlm_mem_config c;
    dlm_mem_config_default(&c);
    c.profile = p;
    c.mode = mode;
    c.attention = a;
    return c;
}

/* The liveness plan walked by hand at exact fp32 bytes: the largest sum of live
 * activation storages, counted when an op's outputs are born (before its dead
 * inputs go), plus the op's scratch as src/measure/plan.h states it (eager
 * attention: B*heads*T^2 floats and 5 addresses of 8 bytes per (b, head)). */
static int64_t liveness_peak(const dlm_graph *g, int64_t B, int64_t T)
{
    dlm_liveness *l;
    if (dlm_liveness_infer(g, &l) != DLM_OK) return -1;
    int64_t live = 0, peak = 0;
    for (int o = 0; o < g->n_ops; o++) {
        int64_t scratch = 0;
        if (g->ops[o].kind == DLM_OP_ATTENTION)
            scratch = (int64_t)g->ops[o].a.attn.heads * B * (4 * T * T + 40);
        for (int k = l->born_start[o]; k < l->born_start[o + 1]; k++)
            live += 4 * dlm_poly_eval(&g->tensors[l->born[k]].numel, B, T);
        if (live + scratch > peak) peak = live + scratch;
        for (int k = l->dies_start[o]; k < l->dies_start[o + 1]; k++)
            live -= 4 * dlm_poly_eval(&g->tensors[l->dies[k]].numel, B, T);
    }
    dlm_liveness_free(l);
    return peak;
}

static int64_t resident(const dlm_graph *g, int64_t B, int64_t T)
{
    int64_t s = 0;
    for (int i = 0; i < g->n_params; i++) s += 4 * dlm_tensor_numel_const(g, g->params[i]);
    for (int i = 0; i < g->n_buffers; i++) {
        const dlm_tensor *t = &g->tensors[g->buffers[i]];
        s += (t->elem == DLM_EL_INT64 ? 8 : 4) * dlm_tensor_numel_const(g, g->buffers[i]);
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const dlm_tensor *t = &g->tensors[g->inputs[i]];
        s += (t->elem == DLM_EL_INT64 ? 8 : 4) * dlm_poly_eval(&t->numel, B, T);
    }
    return s;
}

static int64_t sum_terms(const dlm_mem_result *r)
{
    int64_t s = 0;
    for (int k = 0; k < DLM_TERM_COUNT; k++) s += r->by_term[k];
    return s;
}

static void check_runtime(const char *name, int64_t B, int64_t T, int64_t workspaces)
{
    dlm_graph *g = build(name);
    dlm_mem_config c = config(DLM_PROFILE_RUNTIME, DLM_MODE_INFER, DLM_ATTN_FUSED);
    dlm_mem_result r;
    dlm_poly law;
    dlm_mem_model *m;
    /* the RNN's workspace given as 0 B: this checks the plan's composition, not the rows
     * (tests/measured_runtime.sh checks those against the runtime's measurements) */
    snprintf(c.inputs[0].name, sizeof c.inputs[0].name, "cudnn_rnn_workspace");
    c.inputs[0].bytes = 0;
    c.n_inputs = !strcmp(name, "lstm");
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_OK, "%s: runtime model compiles", name);
    TAP_OK(dlm_mem_eval(m, B, T, &r) == DLM_OK, "%s: evaluates at B=%lld T=%lld", name,
           (long long)B, (long long)T);
    int64_t want = resident(g, B, T) + workspaces + liveness_peak(g, B, T);
    TAP_EQ(r.peak_bytes, want, "%s B=%lld T=%lld: runtime peak = resident + workspaces + liveness "
           "plan's largest live set", name, (long long)B, (long long)T);
    TAP_EQ(r.before_bytes, resident(g, B, T) + workspaces, "%s: resident before the pass", name);
    TAP_OK(dlm_mem_peak_poly(m, B, T, &law) == DLM_OK, "%s: peak formula", name);
    TAP_EQ(dlm_poly_eval(&law, B, T), r.peak_bytes, "%s: runtime formula equals the peak to the byte",
           name);
    TAP_EQ(sum_terms(&r), r.peak_bytes, "%s: composition sums to the peak", name);
    dlm_mem_model_free(m);
    dlm_graph_free(g);
}

static dlm_poly peak_law(const char *name, dlm_mode mode, dlm_attention a, int64_t B, int64_t T)
{
    dlm_graph *g = build(name);
    dlm_mem_config c = config(DLM_PROFILE_PYTORCH, mode, a);
    dlm_mem_model *m;
    dlm_poly law = dlm_poly_const(-1);
    if (dlm_mem_model_alloc(g, &c, &m) == DLM_OK) {
        if (dlm_mem_peak_poly(m, B, T, &law) != DLM_OK) law = dlm_poly_const(-1);
        dlm_mem_model_free(m);
    }
    dlm_graph_free(g);
    return law;
}

static void scaling_claims(void)
{
    static const dlm_mode modes[] = {DLM_MODE_INFER, DLM_MODE_FORWARD, DLM_MODE_TRAIN};
    for (int i = 0; i < 3; i++) {
        const char *mn = dlm_mode_name(modes[i]);
        dlm_poly p = peak_law("resnet18", modes[i], DLM_ATTN_EAGER, 64, 1);
        TAP_OK(dlm_poly_deg_B(&p) == 1 && dlm_poly_deg_T(&p) == 0 && dlm_poly_coef(&p, 1, 0) > 0,
               "seed claim: ResNet18 %s peak is linear in B", mn);
        p = peak_law("lstm", modes[i], DLM_ATTN_EAGER, 32, 500);
        TAP_OK(dlm_poly_deg_T(&p) == 1 && dlm_poly_coef(&p, 1, 1) > 0,
               "seed claim: LSTM %s peak is linear in T (B*T term, no T^2)", mn);
        p = peak_law("bert", modes[i], DLM_ATTN_EAGER, 8, 512);
        TAP_OK(dlm_poly_deg_T(&p) == 2 && dlm_poly_coef(&p, 1, 2) > 0 && dlm_poly_coef(&p, 1, 1) > 0,
               "BERT eager %s at T=512: linear + quadratic in T (B*T and B*h*T^2 terms)", mn);
        p = peak_law("bert", modes[i], DLM_ATTN_FUSED, 8, 512);
        TAP_OK(dlm_poly_deg_T(&p) <= 1, "BERT fused %s: no T^2 term in memory", mn);
    }
}

static void hand_formulas(void)
{
    dlm_graph *g = build("resnet18");
    dlm_mem_config c = config(DLM_PROFILE_PYTORCH, DLM_MODE_TRAIN, DLM_ATTN_EAGER);
    dlm_mem_model *m;
    const dlm_mem_layer *L;
    int n;
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_OK, "resnet18 train model compiles");
    dlm_mem_layers(m, &L, &n);
    TAP_EQ(n, g->n_ops, "one layer entry per op");
    TAP_EQ(dlm_poly_coef(&L[0].out_elems, 1, 0), 64 * 112 * 112, "conv1 out: 64*112*112*B = 802816*B elements");
    TAP_EQ(dlm_poly_coef(&L[0].out_bytes, 1, 0), 802816 * 4, "conv1 out: 3211264*B bytes in fp32");
    TAP_EQ(dlm_poly_coef(&L[0].saved_bytes, 1, 0), 3 * 224 * 224 * 4,
           "conv1 saves its input: 3*224*224*4*B bytes");
    TAP_STREQ(L[1].saved, "input + save_mean + save_invstd", "bn1 saves input, mean, invstd");
    TAP_EQ(dlm_poly_coef(&L[1].saved_bytes, 0, 0), 2 * 64 * 4, "bn1's statistics: 2*64 floats");
    TAP_STREQ(L[2].saved, "result", "in-place relu saves its result");
    TAP_EQ(dlm_poly_coef(&L[3].temp_bytes, 1, 0), 64 * 56 * 56 * 8, "maxpool indices: int64 per output");
    dlm_mem_model_free(m);
    dlm_graph_free(g);

    g = build("bert");
    c = config(DLM_PROFILE_PYTORCH, DLM_MODE_FORWARD, DLM_ATTN_EAGER);
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_OK, "bert forward model compiles");
    dlm_mem_layers(m, &L, &n);
    int a = -1;
    for (int o = 0; o < n; o++)
        if (!strcmp(g->ops[o].name, "encoder.layer.0.attention.self")) a = o;
    TAP_OK(a >= 0, "bert has encoder.layer.0.attention.self");
    if (a >= 0) {
        /* saved: q, k, v copies (3*B*T*768*4), probabilities and dropped
         * probabilities (2*B*12*T^2*4) and the bool mask (B*12*T^2) */
        TAP_EQ(dlm_poly_coef(&L[a].saved_bytes, 1, 2), 2 * 12 * 4 + 12,
               "eager attention saves 2 fp32 copies of B*12*T^2 + a bool mask");
        TAP_EQ(dlm_poly_coef(&L[a].saved_bytes, 1, 1), 3 * 768 * 4,
               "eager attention saves copies of q, k, v (3*B*T*768 floats)");
    }
    dlm_mem_model_free(m);
    c.attention = DLM_ATTN_FUSED;
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_OK, "bert fused forward compiles");
    dlm_mem_layers(m, &L, &n);
    if (a >= 0) {
        TAP_EQ(dlm_poly_coef(&L[a].saved_bytes, 1, 2), 0, "fused attention saves nothing of size T^2");
        TAP_STREQ(L[a].saved, "q + k + v + output + logsumexp", "fused attention saves q, k, v, output, logsumexp");
    }
    dlm_mem_model_free(m);
    dlm_graph_free(g);
}

static void allocator_rules(void)
{
    dlm_palloc *a;
    int64_t blk;
    TAP_EQ(dlm_palloc_round(1), 512, "a 1-byte request takes 512 B");
    TAP_EQ(dlm_palloc_round(513), 1024, "requests round up to 512 B");
    TAP_EQ(dlm_palloc_segment_size(1 << 20), 2 << 20, "<= 1 MiB: 2 MiB small segments");
    TAP_EQ(dlm_palloc_segment_size((1 << 20) + 512), 20 << 20, "1-10 MiB: 20 MiB segments");
    TAP_EQ(dlm_palloc_segment_size((10 << 20) + 512), 12 << 20, ">= 10 MiB: rounded to 2 MiB");
    TAP_OK(dlm_palloc_alloc(16, &a) == DLM_OK, "allocator simulation");
    int h2 = dlm_palloc_malloc(a, 11 * (1 << 20) + (1 << 19), &blk);
    TAP_EQ(blk, 12 << 20, "11.5 MiB: 12 MiB segment, 0.5 MiB remainder not split: counted 12 MiB");
    int h1 = dlm_palloc_malloc(a, 5 << 20, &blk);
    TAP_EQ(blk, 5 << 20, "5 MiB from a new 20 MiB segment is split (15 MiB > 1 MiB remain)");
    TAP_EQ(dlm_palloc_reserved(a), 32 << 20, "reserved: 12 + 20 MiB");
    dlm_palloc_release(a, h1);
    int h3 = dlm_palloc_malloc(a, 19 * (1 << 20) + (1 << 19), &blk);
    TAP_EQ(blk, 20 << 20, "19.5 MiB reuses the freed, merged 20 MiB segment whole");
    TAP_EQ(dlm_palloc_reserved(a), 32 << 20, "... without a new segment");
    int s[4];
    for (int i = 0; i < 4; i++) s[i] = dlm_palloc_malloc(a, 400 << 10, &blk);
    TAP_EQ(dlm_palloc_reserved(a), (32 << 20) + (2 << 20), "four 400 KiB requests share one 2 MiB segment");
    TAP_EQ(dlm_palloc_allocated(a), (12 << 20) + (20 << 20) + 4 * (400 << 10), "allocated = blocks handed out");
    for (int i = 0; i < 4; i++) dlm_palloc_release(a, s[i]);
    dlm_palloc_release(a, h2);
    dlm_palloc_release(a, h3);
    TAP_EQ(dlm_palloc_allocated(a), 0, "all released");
    dlm_palloc_free(a);
}

static void errors(void)
{
    dlm_graph *g = build("bert");
    dlm_mem_config c = config(DLM_PROFILE_PYTORCH, DLM_MODE_INFER, DLM_ATTN_EAGER);
    dlm_mem_model *m;
    dlm_mem_result r;
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_OK, "bert infer compiles");
    TAP_EQ(dlm_mem_eval(m, 0, 8, &r), DLM_ERANGE, "batch 0 is a range error");
    TAP_OK(strstr(dlm_errmsg(), "batch 0") && strstr(dlm_errmsg(), "valid: 1 to"), "... naming value and range: %s", dlm_errmsg());
    TAP_EQ(dlm_mem_eval(m, 1, 513, &r), DLM_ERANGE, "T=513 exceeds BERT's 512 positions");
    TAP_OK(strstr(dlm_errmsg(), "513") && strstr(dlm_errmsg(), "1 to 512"), "... naming value and range: %s", dlm_errmsg());
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    dlm_dtype d;
    TAP_EQ(dlm_dtype_parse("fp8", &d), DLM_EINVAL, "unknown dtype");
    TAP_OK(strstr(dlm_errmsg(), "fp32, fp16, bf16, mixed") != NULL, "... lists the valid ones");
    const dlm_gpu *gpu;
    TAP_EQ(dlm_gpu_find("v100", &gpu), DLM_EINVAL, "unknown GPU");
    TAP_OK(dlm_gpu_find("H200", &gpu) == DLM_OK && gpu->sm == 90, "H200 is sm_90");
    TAP_OK(dlm_gpu_find("rtx3050", &gpu) == DLM_OK && gpu->memory == 4LL << 30, "the seed's RTX 3050: 4 GiB");
}

static void pytorch_sanity(void)
{
    /* Every configuration compiles, the composition sums to the peak and the
     * peak is at least the resident memory before the step. */
    static const char *models[] = {"resnet18", "lstm", "bert"};
    static const dlm_dtype dts[] = {DLM_DTYPE_FP32, DLM_DTYPE_BF16, DLM_DTYPE_MIXED};
    for (int i = 0; i < 3; i++) {
        dlm_graph *g = build(models[i]);
        for (int mode = 0; mode < 3; mode++)
            for (int d = 0; d < 3; d++)
                for (int opt = 0; opt < 3; opt++) {
                    if (mode != DLM_MODE_TRAIN && opt) continue;
                    dlm_mem_config c = config(DLM_PROFILE_PYTORCH, (dlm_mode)mode, DLM_ATTN_EAGER);
                    c.dtype = dts[d];
                    c.optimizer = (dlm_optimizer)opt;
                    dlm_mem_result r;
                    int ok = dlm_mem_predict(g, &c, 8, 64, &r) == DLM_OK;
                    TAP_OK(ok && sum_terms(&r) == r.peak_bytes && r.peak_bytes >= r.before_bytes &&
                               r.before_bytes > 0,
                           "%s %s %s %s: terms sum to the peak (%lld), peak >= before", models[i],
                           dlm_mode_name((dlm_mode)mode), dlm_dtype_name(dts[d]),
                           dlm_optimizer_name((dlm_optimizer)opt), (long long)r.peak_bytes);
                }
        dlm_graph_free(g);
    }
}

int main(void)
{
    check_runtime("resnet18", 1, 1, 32LL << 20);
    check_runtime("resnet18", 96, 1, 32LL << 20);
    check_runtime("lstm", 32, 300, (32LL << 20) + 4 * 32); /* + sequence lengths */
    check_runtime("bert", 8, 128, 32LL << 20);
    hand_formulas();
    scaling_claims();
    allocator_rules();
    errors();
    pytorch_sanity();
    return tap_done();
}
