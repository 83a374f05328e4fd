/* test_models.c — the network graphs against independent references:
 * totals against the numbers PyTorch prints (DESIGN.md's reference table),
 * hand-derived layer formulas, and every parameter and buffer tensor, one to
 * one and in order, against data/reference/pytorch_params.csv written by
 * tools/torch_reference.py from PyTorch itself. */
#include <stdlib.h>
#include <string.h>

#include "analytic/params.h"
#include "analytic/torchref.h"
#include "core/paths.h"
#include "models/models.h"
#include "tap.h"

static dlm_graph *build(const char *name, const char *set)
{
    dlm_graph *g = NULL;
    dlm_status st = dlm_model_build_named(name, set, &g);
    if (!TAP_OK(st == DLM_OK, "build %s%s%s", name, set ? " with " : "", set ? set : ""))
        printf("#   %s\n", dlm_errmsg());
    return g;
}

static const char *layer_formula(const dlm_graph *g, const char *op)
{
    static dlm_layer_params *L;
    int n;
    free(L);
    L = NULL;
    if (dlm_params_layers(g, &L, &n) != DLM_OK) return "(error)";
    for (int i = 0; i < n; i++)
        if (!strcmp(g->ops[L[i].op].name, op)) return L[i].formula;
    return "(no such layer)";
}

static void check_against_pytorch(const dlm_graph *g, const char *path)
{
    dlm_torch_ref *r = NULL;
    dlm_ref_row *rows = NULL;
    int n = 0, bad = 0;
    if (!TAP_OK(dlm_torchref_load(path, g->name, &r) == DLM_OK, "load %s", path)) {
        printf("#   %s\n", dlm_errmsg());
        return;
    }
    TAP_EQ(r->n, g->n_params + g->n_buffers, "%s: PyTorch lists as many tensors as dlmem",
           g->name);
    if (dlm_torchref_compare(g, r, &rows, &n, &bad) == DLM_OK) {
        for (int i = 0; i < n; i++)
            if (rows[i].match != DLM_REF_SAME)
                printf("#   %s: %s (dlmem %lld, PyTorch %lld)\n", rows[i].name,
                       dlm_ref_match_name(rows[i].match), (long long)rows[i].dlmem,
                       (long long)rows[i].torch);
        TAP_EQ(bad, 0, "%s: every tensor matches PyTorch by name, count and order", g->name);
    }
    free(rows);
    dlm_torchref_free(r);
}

/* The knobs as a data file records them (dlmem measure's set column): only
 * those that differ from the defaults, in the model's knob order, ';' between;
 * read back into the same configuration, with ',' read as well. */
static void check_recorded_set(void)
{
    static const struct { const char *model, *set, *recorded; } cases[] = {
        {"unet", "", ""},
        {"unet", "upsample=0", ""}, /* an explicit default is not recorded */
        {"unet", "upsample=1", "upsample=1"},
        {"resnet18", "base=32,height=160", "height=160;base=32"},
        {"resnet18", "height=224,width=160,base=64", "width=160"},
        {"lstm", "layers=3,hidden=512,hidden=384", "hidden=384;layers=3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dlm_model_info *info;
        dlm_model_config a, b;
        char rec[DLM_MODEL_SET_MAX], again[DLM_MODEL_SET_MAX];
        int ok = dlm_model_find(cases[i].model, &info) == DLM_OK &&
                 dlm_model_config_init(info, cases[i].set, &a) == DLM_OK &&
                 dlm_model_config_format(&a, rec, sizeof rec) == DLM_OK;
        if (!TAP_OK(ok, "%s --set '%s': formats", cases[i].model, cases[i].set)) {
            printf("#   %s\n", dlm_errmsg());
            continue;
        }
        TAP_STREQ(rec, cases[i].recorded, "%s --set '%s' is recorded as '%s'", cases[i].model,
                  cases[i].set, rec);
        ok = dlm_model_config_read(info, rec, &b) == DLM_OK &&
             dlm_model_config_format(&b, again, sizeof again) == DLM_OK;
        for (int k = 0; ok && k < a.n_knobs; k++) ok = a.knobs[k].value == b.knobs[k].value;
        TAP_OK(ok && !strcmp(rec, again), "%s '%s' reads back into the same knobs",
               cases[i].model, rec);
    }
    const dlm_model_info *unet;
    dlm_model_config c;
    char rec[DLM_MODEL_SET_MAX];
    dlm_model_find("unet", &unet);
    TAP_OK(dlm_model_config_read(unet, "depth=3,upsample=2", &c) == DLM_OK &&
               dlm_model_config_format(&c, rec, sizeof rec) == DLM_OK &&
               !strcmp(rec, "depth=3;upsample=2"),
           "a quoted ',' list reads as ';' does ('%s')", rec);
    TAP_OK(dlm_model_config_read(unet, "upsample=9", &c) == DLM_ERANGE &&
               !strncmp(dlm_errmsg(), "upsample=9: out of range [0, 2]", 31),
           "a recorded value out of range: the knob and range, no --set (%s)", dlm_errmsg());
    TAP_OK(dlm_model_config_read(unet, "upsampl=1", &c) == DLM_EINVAL &&
               !strncmp(dlm_errmsg(), "model unet has no knob 'upsampl'", 32),
           "a recorded unknown knob is named (%s)", dlm_errmsg());
    TAP_OK(dlm_model_config_init(unet, "upsample=9", &c) == DLM_ERANGE &&
               !strncmp(dlm_errmsg(), "--set upsample=9: out of range", 30),
           "the command line's message still says --set (%s)", dlm_errmsg());
    TAP_OK(dlm_model_config_init(unet, "upsample=1;depth=3", &c) == DLM_EINVAL,
           "--set still separates with ',' only (%s)", dlm_errmsg());
    dlm_model_config_init(unet, "upsample=1,depth=3", &c);
    TAP_EQ(dlm_model_config_format(&c, rec, 12), DLM_ERANGE,
           "a buffer too short for the record is an error, never a cut record");
    TAP_STREQ(rec, "", "... and leaves it empty");
}

int main(void)
{
    char ref[4096], shape[128];
    if (!dlm_data_path("reference/pytorch_params.csv", ref, sizeof ref))
        printf("# reference file not found at %s\n", ref);

    /* Totals from PyTorch 2.11 / torchvision 0.26 / transformers 5.17. */
    struct { const char *model; long long params, buffers; } want[] = {
        {"resnet18", 11689512, 9620},   {"resnet34", 21797672, 17060},
        {"lstm", 895498, 0},            {"gru", 672266, 0},
        {"bert", 109482240, 1024},      {"bert-large", 335141888, 1024},
        {"gpt2", 124439808, 0},         {"vit_b_16", 86567656, 0},
        /* torchvision 0.26 (issue 12's totals); unet: tools/unet.py's UNet() */
        {"resnet50", 25557032, 53173},  {"vgg16", 138357544, 0},
        {"mobilenet_v2", 3504872, 34164}, {"densenet121", 7978856, 83769},
        {"efficientnet_b0", 5288548, 42065}, {"unet", 31037698, 11794},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        dlm_graph *g = build(want[i].model, NULL);
        if (!g) continue;
        TAP_EQ(dlm_graph_param_count(g), want[i].params, "%s: parameter total", want[i].model);
        TAP_EQ(dlm_graph_buffer_count(g), want[i].buffers, "%s: buffer total", want[i].model);
        dlm_layer_params *L;
        int n;
        long long sum = 0;
        if (dlm_params_layers(g, &L, &n) == DLM_OK) {
            for (int k = 0; k < n; k++) sum += L[k].params;
            free(L);
        }
        TAP_EQ(sum, want[i].params, "%s: per-layer counts add up to the total", want[i].model);
        check_against_pytorch(g, ref);
        dlm_graph_free(g);
    }

    /* the U-Net's other ways up (--set upsample=1 nearest, 2 bilinear: F.interpolate
     * and a 1x1 conv with bias in place of each 2x2 transposed conv): 3 cin cout
     * fewer weights per level, cin = 1024, 512, 256, 128: 31,037,698 - 2,088,960 */
    for (int up = 1; up <= 2; up++) {
        char set[32], refname[64];
        snprintf(set, sizeof set, "upsample=%d", up);
        snprintf(refname, sizeof refname, "unet,%s", set);
        dlm_graph *g = build("unet", set);
        if (!g) continue;
        TAP_EQ(dlm_graph_param_count(g), 28948738LL, "unet %s: parameter total", set);
        TAP_EQ(dlm_graph_buffer_count(g), 11794LL, "unet %s: buffer total", set);
        free(g->name);
        g->name = strdup(refname); /* the reference file's model column */
        check_against_pytorch(g, ref);
        dlm_graph_free(g);
    }

    /* config.json files (tools/hf_configs.py, transformers' to_json_file) against the
     * models transformers builds from them (AutoModelForCausalLM / AutoModel). */
    struct { const char *stem; long long params, buffers; } hf[] = {
        {"gpt2", 124439808, 0},          {"llama-gqa-tiny", 30760320, 64},
        {"llama-3.2-1b", 1235814400, 64}, {"mistral-tiny", 18597632, 32},
        {"qwen2-tiny", 51848704, 64},    {"bert-base", 109482240, 1024},
        {"roberta-base", 124645632, 1028}, {"vit-base", 86389248, 0},
    };
    for (size_t i = 0; i < sizeof hf / sizeof hf[0]; i++) {
        char rel[128], path[4096], refname[160];
        snprintf(rel, sizeof rel, "hf/%s.json", hf[i].stem);
        snprintf(refname, sizeof refname, "hf:%s", hf[i].stem);
        if (!TAP_OK(dlm_data_path(rel, path, sizeof path), "data file %s", rel)) continue;
        dlm_graph *g = NULL;
        dlm_status st = dlm_model_build_named(path, NULL, &g);
        if (st == DLM_EUNSUPPORTED && strstr(dlm_errmsg(), "jansson")) {
            TAP_OK(1, "# SKIP %s: built without jansson", rel);
            continue;
        }
        if (!TAP_OK(st == DLM_OK, "build %s", rel)) {
            printf("#   %s\n", dlm_errmsg());
            continue;
        }
        TAP_STREQ(g->name, hf[i].stem, "%s: the graph is named after the file", rel);
        TAP_EQ(dlm_graph_param_count(g), hf[i].params, "%s: parameter total", rel);
        TAP_EQ(dlm_graph_buffer_count(g), hf[i].buffers, "%s: buffer total", rel);
        dlm_layer_params *L;
        int n;
        long long sum = 0;
        if (dlm_params_layers(g, &L, &n) == DLM_OK) {
            for (int k = 0; k < n; k++) sum += L[k].params;
            free(L);
        }
        TAP_EQ(sum, hf[i].params, "%s: per-layer counts add up to the total (tied head once)", rel);
        free(g->name);
        g->name = strdup(refname); /* the reference file's model column */
        check_against_pytorch(g, ref);
        dlm_graph_free(g);
    }

    /* Hand-derived formulas and shapes. */
    dlm_graph *g = build("resnet18", NULL);
    if (g) {
        TAP_STREQ(layer_formula(g, "conv1"), "7*7*3*64 = 9408", "conv1 has no bias");
        TAP_STREQ(layer_formula(g, "fc"), "512*1000 + 1000 = 513000", "fc formula");
        TAP_STREQ(layer_formula(g, "layer2.0.downsample.0"), "1*1*64*128 = 8192",
                  "1x1 downsample conv");
        int t = dlm_graph_find_tensor(g, "conv1.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 64 x 112 x 112", "conv1 output shape");
        t = dlm_graph_find_tensor(g, "layer4.1.relu#2.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 512 x 7 x 7", "last block output shape");
        TAP_OK(g->uses_B && !g->uses_T, "resnet18 depends on B only");
        TAP_EQ(dlm_tensor_storage(g, t), dlm_graph_find_tensor(g, "layer4.1.bn2.out"),
               "in-place add and ReLU share bn2's storage");
        dlm_graph_free(g);
    }
    g = build("resnet18", "height=112,width=160,classes=10");
    if (g) {
        int t = dlm_graph_find_tensor(g, "conv1.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 64 x 56 x 80", "image size is a model parameter");
        TAP_EQ(dlm_graph_param_count(g), 11689512 - 513000 + 5130, "10 classes change fc only");
        dlm_graph_free(g);
    }
    g = build("lstm", NULL);
    if (g) {
        TAP_STREQ(layer_formula(g, "lstm"),
                  "4*(100*256 + 256*256 + 256 + 256) + 4*(256*256 + 256*256 + 256 + 256) = "
                  "892928",
                  "LSTM formula counts both biases (b_ih and b_hh)");
        int t = dlm_graph_find_tensor(g, "lstm.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "T x B x 256", "LSTM output shape");
        TAP_EQ(dlm_tensor_storage(g, dlm_graph_find_tensor(g, "last.out")), t,
               "out[-1] is a view of the LSTM output");
        dlm_graph_free(g);
    }
    g = build("lstm", "hidden=512,layers=3");
    if (g) {
        /* 4*(100*512+512*512+1024) + 2*4*(512*512*2+1024) + 512*10+10 */
        TAP_EQ(dlm_graph_param_count(g), 4LL * (100 * 512 + 512 * 512 + 1024) +
                                             2LL * 4 * (512 * 512 * 2 + 1024) + 5130,
               "lstm hidden=512 layers=3 by hand");
        dlm_graph_free(g);
    }
    g = build("bert", NULL);
    if (g) {
        TAP_EQ(g->max_T, 512, "BERT accepts T up to 512 positions");
        TAP_EQ(dlm_params_in_scope(g, "embeddings", 0), 23837184,
               "embeddings = 30522*768 + 512*768 + 2*768 + 2*768");
        TAP_EQ(dlm_params_in_scope(g, "encoder.layer.0", 0), 7087872, "one encoder layer");
        int t = dlm_graph_find_tensor(g, "embeddings.position_embeddings.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "1 x T x 768", "position embeddings do not grow with B");
        t = dlm_graph_find_tensor(g, "encoder.layer.11.output.LayerNorm.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x T x 768", "last_hidden_state shape");
        TAP_EQ(g->n_outputs, 2, "BERT returns last_hidden_state and pooler_output");
        dlm_graph_free(g);
    }
    g = build("bert", "pooler=0,layers=6");
    if (g) {
        TAP_EQ(dlm_graph_param_count(g), 23837184 + 6LL * 7087872, "6 layers, no pooler");
        dlm_graph_free(g);
    }

    /* The convolutional networks: formulas and shapes derived by hand from
     * torchvision's code. */
    g = build("mobilenet_v2", NULL);
    if (g) {
        TAP_STREQ(layer_formula(g, "features.1.conv.0.0"), "3*3*1*32 = 288",
                  "depthwise 3x3: one input channel per filter (groups = 32)");
        TAP_STREQ(layer_formula(g, "features.18.0"), "1*1*320*1280 = 409600", "last 1x1 conv");
        int t = dlm_graph_find_tensor(g, "features.17.conv.3.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 320 x 7 x 7", "features.17 output (stride 32 overall)");
        TAP_OK(dlm_graph_find_tensor(g, "features.3.add.out") >= 0 &&
                   dlm_graph_find_tensor(g, "features.2.add.out") < 0,
               "a residual where stride 1 keeps the channels, none where the block widens");
        dlm_graph_free(g);
    }
    g = build("mobilenet_v2", "width_pct=50,classes=10");
    if (g) { /* _make_divisible(32*0.5) = 16; last channel max(1, 0.5)*1280 = 1280 */
        int t = dlm_graph_find_tensor(g, "features.0.0.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 16 x 112 x 112", "width_mult 0.5 halves the stem");
        TAP_STREQ(layer_formula(g, "classifier.1"), "1280*10 + 10 = 12810", "head at 1280");
        dlm_graph_free(g);
    }
    g = build("efficientnet_b0", NULL);
    if (g) {
        /* features.2.0: in 16, expanded 96, SE squeeze max(1, 16/4) = 4 */
        TAP_STREQ(layer_formula(g, "features.2.0.block.2.fc1"), "1*1*96*4 + 4 = 388",
                  "SE fc1 squeezes to input_channels / 4 with a bias");
        TAP_STREQ(layer_formula(g, "features.3.0.block.1.0"), "5*5*1*144 = 3600",
                  "5x5 depthwise");
        int t = dlm_graph_find_tensor(g, "features.2.0.block.2.fc2.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 96 x 1 x 1", "the SE gate is per channel");
        t = dlm_graph_find_tensor(g, "features.2.1.add.out");
        TAP_EQ(t >= 0 ? dlm_tensor_storage(g, t) : -2,
               dlm_graph_find_tensor(g, "features.2.1.stochastic_depth.out"),
               "`result += input` adds into the stochastic depth output");
        /* features.6.3 is block 14 (from 0) of 16: p = 0.2 * 14 / 16 */
        t = dlm_graph_find_tensor(g, "features.6.3.stochastic_depth.out");
        int o = t >= 0 ? g->tensors[t].producer : -1;
        TAP_OK(o >= 0 && g->ops[o].a.dropout.p > 0.174 && g->ops[o].a.dropout.p < 0.176,
               "stochastic depth of block 14 of 16 is 0.2*14/16 = 0.175 (got %g)",
               o >= 0 ? g->ops[o].a.dropout.p : -1.0);
        dlm_graph_free(g);
    }
    g = build("densenet121", NULL);
    if (g) {
        int t = dlm_graph_find_tensor(g, "features.denseblock1.denselayer6.cat.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 224 x 56 x 56", "layer 6 reads 64 + 5*32 concatenated channels");
        t = dlm_graph_find_tensor(g, "features.denseblock4.cat.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 1024 x 7 x 7", "block 4 ends at 512 + 16*32 channels");
        TAP_STREQ(layer_formula(g, "features.transition1.conv"), "1*1*256*128 = 32768",
                  "transition halves the channels");
        dlm_graph_free(g);
    }
    g = build("resnet50", NULL);
    if (g) {
        TAP_STREQ(layer_formula(g, "layer1.0.conv3"), "1*1*64*256 = 16384",
                  "Bottleneck expands 4x");
        int t = dlm_graph_find_tensor(g, "layer4.2.relu#3.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 2048 x 7 x 7", "last block output");
        dlm_graph_free(g);
    }
    g = build("unet", NULL);
    if (g) {
        TAP_STREQ(layer_formula(g, "ups.0.up"), "2*2*512*1024 + 512 = 2097664",
                  "transposed conv weight (Cin, Cout, 2, 2) + bias");
        int t = dlm_graph_find_tensor(g, "ups.3.cat.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 128 x 256 x 256", "skip (64) + up (64) channels at full size");
        t = dlm_graph_find_tensor(g, "head.out");
        dlm_tensor_shape_str(g, t, shape, sizeof shape);
        TAP_STREQ(shape, "B x 2 x 256 x 256", "per-pixel logits");
        dlm_graph_free(g);
    }
    g = NULL;
    TAP_OK(dlm_model_build_named("unet", "height=100", &g) == DLM_EINVAL &&
               strstr(dlm_errmsg(), "2^depth"),
           "unet: a height that does not halve 4 times is refused: %s", dlm_errmsg());

    /* Errors name the problem and the valid choices. */
    dlm_graph *bad = NULL;
    dlm_status st = dlm_model_build_named("resnet51", NULL, &bad);
    TAP_OK(st == DLM_EINVAL && strstr(dlm_errmsg(), "resnet18") && strstr(dlm_errmsg(), "bert"),
           "unknown model lists the valid ones: %s", dlm_errmsg());
    st = dlm_model_build_named("lstm", "hiden=5", &bad);
    TAP_OK(st == DLM_EINVAL && strstr(dlm_errmsg(), "hidden"), "unknown knob lists the knobs: %s",
           dlm_errmsg());
    st = dlm_model_build_named("lstm", "layers=0", &bad);
    TAP_OK(st == DLM_ERANGE && strstr(dlm_errmsg(), "[1, 1000]"), "knob range is stated: %s",
           dlm_errmsg());
    st = dlm_model_build_named("bert", "heads=7", &bad);
    TAP_OK(st == DLM_EINVAL && strstr(dlm_errmsg(), "heads"), "heads must divide hidden: %s",
           dlm_errmsg());
    st = dlm_model_build_named("resnet18", "height=32,width=32", &bad);
    TAP_OK(st == DLM_OK, "a 32x32 image still fits ResNet18's strides");
    dlm_graph_free(bad);
    check_recorded_set();
    /* Names read from data (a measure CSV's model column): a built-in, or a config
     * shipped in data/hf by its stem; never a path. */
    {
        dlm_graph *bg = NULL;
        dlm_status st = dlm_model_build_builtin("llama-gqa-tiny", NULL, &bg);
        if (st == DLM_EUNSUPPORTED && strstr(dlm_errmsg(), "jansson"))
            TAP_OK(1, "# SKIP data/hf stems: built without jansson");
        else
            TAP_OK(st == DLM_OK && bg && dlm_graph_param_count(bg) == 30760320,
                   "a data column's 'llama-gqa-tiny' is data/hf/llama-gqa-tiny.json (30,760,320 "
                   "parameters)");
        dlm_graph_free(bg);
        const char *bad[] = {"../hf/llama-gqa-tiny", "hf/llama-gqa-tiny", ".llama-gqa-tiny",
                             "llama-gqa-tiny.json/..", "/etc/passwd", "no-such-config"};
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            bg = NULL;
            st = dlm_model_build_builtin(bad[k], NULL, &bg);
            TAP_OK(st == DLM_EINVAL && !bg && strstr(dlm_errmsg(), "never opened as a file"),
                   "'%s' from data is an unknown model, not a file", bad[k]);
            dlm_graph_free(bg);
        }
    }
    return tap_done();
}
