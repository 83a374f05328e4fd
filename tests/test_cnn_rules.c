/* test_cnn_rules.c — the memory rules of issue 12's ops, against what PyTorch
 * 2.11's autograd saves (saved_tensors_hooks on the CPU build of the same
 * version, see src/analytic/ops/elementwise.c, pool.c, shape.c, conv.c) and
 * hand-derived sizes: one small graph per rule, its per-op formulas read back
 * at B = 1 and B = 5. */
#include <stdlib.h>

#include "analytic/memory.h"
#include "models/graph.h"
#include "models/models.h"
#include "tap.h"

typedef int (*builder)(dlm_graph *g, int x);

/* Builds x (B, 8, 6, 6) -> f(x) and returns op `op`'s saved and output bytes at B. */
static int last_complete; /* the last layer_of()'s prediction had every term */

static int layer_of(builder f, const char *mode, const char *dtype, int64_t B, int64_t *saved,
                    int64_t *out, char *what, size_t n)
{
    dlm_graph *g = NULL;
    dlm_mem_model *m = NULL;
    dlm_mem_config c;
    dlm_mem_config_default(&c);
    if (dlm_graph_alloc("t", &g) != DLM_OK) return 0;
    dlm_poly shape[4] = {dlm_poly_B(), dlm_poly_const(8), dlm_poly_const(6), dlm_poly_const(6)};
    int x = dlm_graph_input(g, "x", DLM_EL_FLOAT, 4, shape);
    int y = f(g, x);
    dlm_graph_mark_output(g, y);
    int ok = dlm_graph_status(g) == DLM_OK && dlm_mode_parse(mode, &c.mode) == DLM_OK &&
             dlm_dtype_parse(dtype, &c.dtype) == DLM_OK && dlm_mem_model_alloc(g, &c, &m) == DLM_OK;
    if (ok) {
        const dlm_mem_layer *L;
        int nl;
        dlm_mem_layers(m, &L, &nl);
        int o = g->tensors[y].producer; /* the op that makes the output */
        *saved = dlm_poly_eval(&L[o].saved_bytes, B, 1);
        *out = dlm_poly_eval(&L[o].out_bytes, B, 1);
        if (snprintf(what, n, "%s | %s", L[o].saved, L[o].temp) >= (int)n)
            what[n - 1] = 0; /* a long description is cut; only its words are checked */
        dlm_mem_result res;
        last_complete = dlm_mem_eval(m, B, 1, &res) == DLM_OK && res.complete;
    } else {
        printf("# %s\n", dlm_errmsg());
    }
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    return ok;
}

static int relu6_inplace(dlm_graph *g, int x) { return dlm_relu6(g, "a", dlm_batchnorm2d(g, "bn", x), 1); }
static int relu6_out(dlm_graph *g, int x) { return dlm_relu6(g, "a", dlm_batchnorm2d(g, "bn", x), 0); }
static int silu_inplace(dlm_graph *g, int x) { return dlm_silu(g, "a", dlm_batchnorm2d(g, "bn", x), 1); }
static int sigmoid(dlm_graph *g, int x) { return dlm_sigmoid(g, "s", dlm_batchnorm2d(g, "bn", x)); }
static int concat(dlm_graph *g, int x)
{
    int a = dlm_batchnorm2d(g, "bn", x);
    return dlm_concat(g, "cat", 2, (int[]){x, a}, 1);
}
static int gap1(dlm_graph *g, int x) { return dlm_avgpool2d_adaptive(g, "p", dlm_batchnorm2d(g, "bn", x), 1, 1); }
static int gap3(dlm_graph *g, int x) { return dlm_avgpool2d_adaptive(g, "p", dlm_batchnorm2d(g, "bn", x), 3, 3); }
static int avgpool(dlm_graph *g, int x) { return dlm_avgpool2d(g, "p", dlm_batchnorm2d(g, "bn", x), 2, 2, 0, 0); }
static int sdepth(dlm_graph *g, int x) { return dlm_stochastic_depth(g, "sd", dlm_batchnorm2d(g, "bn", x), 0.1); }
static int drop_inplace(dlm_graph *g, int x) { return dlm_dropout_inplace(g, "d", dlm_batchnorm2d(g, "bn", x), 0.2); }
static int se_mul(dlm_graph *g, int x)
{
    int a = dlm_batchnorm2d(g, "bn", x);
    int s = dlm_sigmoid(g, "gate", dlm_avgpool2d_adaptive(g, "p", a, 1, 1));
    return dlm_mul(g, "mul", s, a, 0);
}
static int upsample(dlm_graph *g, int x) { return dlm_upsample(g, "up", dlm_batchnorm2d(g, "bn", x), 2, DLM_UP_BILINEAR, 0); }
static int depthwise(dlm_graph *g, int x) { return dlm_conv2d_ex(g, "dw", x, 8, 3, 1, 1, 1, 8, 0); }
static int convt(dlm_graph *g, int x) { return dlm_conv_transpose2d(g, "up", x, 4, 2, 2, 0, 0, 1); }

int main(void)
{
    const int64_t act = 8 * 6 * 6 * 4; /* one (1, 8, 6, 6) fp32 tensor */
    int64_t s, o, s5, o5;
    char w[256];
    struct {
        const char *what;
        builder f;
        int64_t saved, out; /* bytes per sample, forward mode, fp32 */
    } cases[] = {
        /* hardtanh_ has no in-place formula: autograd clones the input it needs */
        {"relu6 in place saves a clone of its input, makes no output", relu6_inplace, act, 0},
        {"relu6 out of place saves its input", relu6_out, act, act},
        {"silu in place saves a clone of its input", silu_inplace, act, 0},
        {"sigmoid saves its result", sigmoid, act, act},
        {"cat saves nothing", concat, 0, 2 * act},
        {"adaptive avgpool to 1x1 (a mean) saves nothing", gap1, 0, 8 * 4},
        {"adaptive avgpool to 3x3 saves its input", gap3, act, 8 * 9 * 4},
        {"avgpool2d saves its input", avgpool, act, 8 * 9 * 4},
        /* noise (B, 1, 1, 1) in the input's dtype */
        {"stochastic depth saves B noise values", sdepth, 4, act},
        /* _dropout_impl: noise = empty_like(input), not a bool mask */
        {"in-place dropout saves a full-size float noise, makes no output", drop_inplace, act, 0},
        {"scale * input saves both operands", se_mul, 8 * 4 + act, act},
        {"bilinear upsampling saves nothing", upsample, 0, 4 * act},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int ok = layer_of(cases[i].f, "forward", "fp32", 1, &s, &o, w, sizeof w) &&
                 layer_of(cases[i].f, "forward", "fp32", 5, &s5, &o5, w, sizeof w);
        TAP_OK(ok && s == cases[i].saved && s5 == 5 * cases[i].saved && o == cases[i].out &&
                   o5 == 5 * cases[i].out,
               "%s (saved %lld, want %lld; output %lld, want %lld per sample; %s)", cases[i].what,
               (long long)s, (long long)cases[i].saved, (long long)o, (long long)cases[i].out, w);
    }
    /* inference: in place and stochastic depth allocate nothing, save nothing */
    TAP_OK(layer_of(relu6_inplace, "infer", "fp32", 3, &s, &o, w, sizeof w) && s == 0 && o == 0,
           "relu6 in place without autograd: nothing (%s)", w);
    TAP_OK(layer_of(sdepth, "infer", "fp32", 3, &s, &o, w, sizeof w) && s == 0 && o == 0,
           "stochastic depth in eval is the input itself (%s)", w);
    /* workspaces: a depthwise conv runs _conv_depthwise2d (none) in fp32 and bf16; a
     * transposed conv's is not known and says so */
    TAP_OK(layer_of(depthwise, "infer", "bf16", 4, &s, &o, w, sizeof w) &&
               !strstr(w, "workspace") && last_complete,
           "depthwise conv in bf16: no cuDNN call, no workspace, the prediction complete (%s)", w);
    TAP_OK(layer_of(depthwise, "infer", "fp16", 4, &s, &o, w, sizeof w) && !last_complete,
           "depthwise conv in fp16 (cuDNN takes it): its workspace a row (none here: incomplete)");
    TAP_OK(layer_of(convt, "infer", "fp32", 4, &s, &o, w, sizeof w) && !last_complete &&
               o == 4 * 4 * 12 * 12 * 4,
           "conv_transpose2d: (B, 4, 12, 12) output, workspace not known: incomplete (%s)", w);

    /* the runtime profile of the U-Net, each way up (transposed conv, nearest and
     * bilinear upsampling): the runtime runs every op, so it is complete, and its
     * resident bytes are the weights, the input and the 32 MiB cuBLAS workspace
     * (the conv workspace is transient: 0); the peaks themselves are checked
     * against the H200's measurements (tests/measured_runtime.sh) */
    for (int up = 0; up < 3; up++) {
        dlm_graph *g = NULL;
        dlm_mem_model *m = NULL;
        dlm_mem_config c;
        dlm_mem_result res;
        char set[32];
        snprintf(set, sizeof set, "upsample=%d", up);
        dlm_mem_config_default(&c);
        c.profile = DLM_PROFILE_RUNTIME;
        dlm_status st = dlm_model_build_named("unet", set, &g);
        if (st == DLM_OK) st = dlm_mem_model_alloc(g, &c, &m);
        if (st == DLM_OK) st = dlm_mem_eval(m, 2, 1, &res);
        int64_t resident = g ? 4 * dlm_graph_param_count(g) + 2 * 3 * 256 * 256 * 4 +
                                   (32LL << 20) : 0;
        for (int i = 0; g && i < g->n_buffers; i++) /* num_batches_tracked: int64 */
            resident += dlm_tensor_numel_const(g, g->buffers[i]) *
                        (g->tensors[g->buffers[i]].elem == DLM_EL_INT64 ? 8 : 4);
        TAP_OK(st == DLM_OK && res.complete && res.before_bytes == resident &&
                   res.peak_bytes > res.before_bytes,
               "runtime profile of unet %s: complete, resident %lld B (want %lld)%s%s", set,
               st == DLM_OK ? (long long)res.before_bytes : -1LL, (long long)resident,
               st == DLM_OK ? "" : ": ", st == DLM_OK ? "" : dlm_errmsg());
        dlm_mem_model_free(m);
        dlm_graph_free(g);
    }
    /* every new network predicts in every mode and dtype, and a checkpointed train step */
    static const char *nets[] = {"resnet50", "vgg16", "mobilenet_v2", "densenet121",
                                 "efficientnet_b0", "unet"};
    static const char *modes[] = {"infer", "forward", "train"};
    static const char *dtypes[] = {"fp32", "bf16", "fp16", "mixed"};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        dlm_graph *g = NULL;
        int bad = 0;
        if (dlm_model_build_named(nets[i], NULL, &g) != DLM_OK) bad++;
        for (int md = 0; md < 3 && !bad; md++)
            for (int d = 0; d < 4 && !bad; d++) {
                dlm_mem_config c;
                dlm_mem_result r;
                dlm_mem_config_default(&c);
                dlm_mode_parse(modes[md], &c.mode);
                dlm_dtype_parse(dtypes[d], &c.dtype);
                if (dlm_mem_predict(g, &c, 7, 1, &r) != DLM_OK || r.peak_bytes <= r.before_bytes) {
                    printf("# %s %s %s: %s\n", nets[i], modes[md], dtypes[d], dlm_errmsg());
                    bad++;
                }
            }
        TAP_OK(!bad, "%s predicts in 3 modes x 4 dtypes at B=7", nets[i]);
        dlm_graph_free(g);
    }
    return tap_done();
}
