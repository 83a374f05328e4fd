/* models.c — the registry of networks and their knobs. */
#include "models.h"

#include "../core/paths.h"

#include "hfconfig.h"
#include "netfile.h"

#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const dlm_knob resnet_knobs[] = {
    {"height", 224, 32, 4096, "input image height (pixels)"},
    {"width", 224, 32, 4096, "input image width (pixels)"},
    {"classes", 1000, 1, 1000000, "output classes of fc"},
    {"base", 64, 1, 4096, "channels of the first stage (64 in torchvision; doubles per stage)"},
    {NULL, 0, 0, 0, NULL},
};

static const dlm_knob image_knobs[] = {
    {"height", 224, 32, 4096, "input image height (pixels)"},
    {"width", 224, 32, 4096, "input image width (pixels)"},
    {"classes", 1000, 1, 1000000, "output classes of the classifier"},
    {NULL, 0, 0, 0, NULL},
};

static const dlm_knob mobilenet_knobs[] = {
    {"height", 224, 32, 4096, "input image height (pixels)"},
    {"width", 224, 32, 4096, "input image width (pixels)"},
    {"classes", 1000, 1, 1000000, "output classes of the classifier"},
    {"width_pct", 100, 10, 400, "width multiplier in percent (torchvision's width_mult x 100)"},
    {NULL, 0, 0, 0, NULL},
};

static const dlm_knob unet_knobs[] = {
    {"height", 256, 16, 8192, "input image height (pixels; a multiple of 2^depth)"},
    {"width", 256, 16, 8192, "input image width (pixels; a multiple of 2^depth)"},
    {"in_channels", 3, 1, 4096, "input image channels"},
    {"classes", 2, 1, 100000, "output channels of the 1x1 head (classes per pixel)"},
    {"base", 64, 1, 4096, "channels of the first level (doubling per level)"},
    {"depth", 4, 1, 8, "levels down (and up)"},
    {"upsample", 0, 0, 2, "way up: 0 2x2 transposed conv, 1 nearest x2 + 1x1 conv, 2 bilinear "
                          "x2 + 1x1 conv"},
    {NULL, 0, 0, 0, NULL},
};

static const dlm_knob rnn_knobs[] = {
    {"input", 100, 1, 1000000, "input features per time step"},
    {"hidden", 256, 1, 1000000, "hidden size"},
    {"layers", 2, 1, 1000, "stacked layers"},
    {"classes", 10, 1, 1000000, "outputs of the Linear head on the last time step"},
    {NULL, 0, 0, 0, NULL},
};

#define BERT_KNOBS(hid, lay, hea, ffn)                                                     \
    {"vocab", 30522, 1, 10000000, "vocabulary size"},                                      \
    {"hidden", hid, 1, 1000000, "hidden size"},                                            \
    {"layers", lay, 1, 1000, "encoder layers"},                                            \
    {"heads", hea, 1, 1024, "attention heads (must divide hidden)"},                       \
    {"ffn", ffn, 1, 10000000, "intermediate (feed-forward) size"},                         \
    {"positions", 512, 1, 1000000, "max position embeddings (the largest T)"},             \
    {"types", 2, 1, 1000, "token type vocabulary"},                                        \
    {"pooler", 1, 0, 1, "1 with the pooler (BertModel default), 0 without"},               \
    {NULL, 0, 0, 0, NULL}

static const dlm_knob bert_base_knobs[] = {BERT_KNOBS(768, 12, 12, 3072)};
static const dlm_knob bert_large_knobs[] = {BERT_KNOBS(1024, 24, 16, 4096)};

static const dlm_knob gpt2_knobs[] = {
    {"vocab", 50257, 1, 10000000, "vocabulary size (vocab_size)"},
    {"hidden", 768, 1, 1000000, "embedding size (n_embd)"},
    {"layers", 12, 1, 1000, "transformer blocks (n_layer)"},
    {"heads", 12, 1, 1024, "attention heads (n_head, must divide hidden)"},
    {"ffn", 3072, 1, 10000000, "MLP inner size (n_inner; 4*hidden by default)"},
    {"positions", 1024, 1, 1000000, "learned positions (n_positions, the largest T)"},
    {NULL, 0, 0, 0, NULL},
};

static const dlm_knob vit_knobs[] = {
    {"image", 224, 1, 100000, "input image height = width (pixels)"},
    {"patch", 16, 1, 10000, "patch size (must divide image)"},
    {"hidden", 768, 1, 1000000, "hidden size"},
    {"layers", 12, 1, 1000, "encoder layers"},
    {"heads", 12, 1, 1024, "attention heads (must divide hidden)"},
    {"mlp", 3072, 1, 10000000, "MLP size"},
    {"classes", 1000, 1, 1000000, "outputs of heads.head"},
    {NULL, 0, 0, 0, NULL},
};

static const dlm_model_info models[] = {
    {"resnet18", "ResNet-18 image classifier, input B x 3 x H x W",
     "torchvision.models.resnet18(weights=None)", resnet_knobs, 18, dlm_build_resnet},
    {"resnet34", "ResNet-34 image classifier, input B x 3 x H x W",
     "torchvision.models.resnet34(weights=None)", resnet_knobs, 34, dlm_build_resnet},
    {"resnet50", "ResNet-50 image classifier (Bottleneck blocks), input B x 3 x H x W",
     "torchvision.models.resnet50(weights=None)", resnet_knobs, 50, dlm_build_resnet},
    {"vgg16", "VGG-16 image classifier (no BatchNorm), input B x 3 x H x W",
     "torchvision.models.vgg16(weights=None)", image_knobs, 16, dlm_build_vgg},
    {"mobilenet_v2", "MobileNetV2 (inverted residuals, depthwise convs, ReLU6), input B x 3 x H x W",
     "torchvision.models.mobilenet_v2(weights=None) (width_mult = width_pct/100)",
     mobilenet_knobs, 0, dlm_build_mobilenet_v2},
    {"densenet121", "DenseNet-121 (dense blocks concatenating features), input B x 3 x H x W",
     "torchvision.models.densenet121(weights=None)", image_knobs, 121, dlm_build_densenet},
    {"efficientnet_b0", "EfficientNet-B0 (MBConv, squeeze-and-excitation, SiLU, stochastic "
     "depth), input B x 3 x H x W",
     "torchvision.models.efficientnet_b0(weights=None)", image_knobs, 0, dlm_build_efficientnet},
    {"unet", "U-Net segmenter (double 3x3 conv+BN+ReLU per level, max-pool down, transposed "
     "conv up, skip concatenation), input B x C x H x W",
     "tools/unet.py UNet(in_channels, classes, base, depth)", unet_knobs, 0, dlm_build_unet},
    {"lstm", "the seed's LSTM: nn.LSTM + Linear on the last step, input T x B x I",
     "nn.LSTM(100, 256, num_layers=2) + nn.Linear(256, 10) on out[-1]", rnn_knobs,
     DLM_RNN_LSTM, dlm_build_rnn},
    {"gru", "the seed's network with nn.GRU (3 gates) in place of the LSTM",
     "nn.GRU(100, 256, num_layers=2) + nn.Linear(256, 10) on out[-1]", rnn_knobs,
     DLM_RNN_GRU, dlm_build_rnn},
    {"bert", "BERT-base encoder with pooler, input token ids B x T",
     "transformers.BertModel(BertConfig())", bert_base_knobs, 0, dlm_build_bert},
    {"bert-large", "BERT-large encoder with pooler, input token ids B x T",
     "transformers.BertModel(BertConfig(hidden_size=1024, num_hidden_layers=24, "
     "num_attention_heads=16, intermediate_size=4096))",
     bert_large_knobs, 0, dlm_build_bert},
    {"gpt2", "GPT-2 (124M) causal LM with tied head, input token ids B x T",
     "transformers.GPT2LMHeadModel(GPT2Config())", gpt2_knobs, 0, dlm_build_gpt2},
    {"vit_b_16", "ViT-B/16 image classifier, input B x 3 x 224 x 224",
     "torchvision.models.vit_b_16(weights=None)", vit_knobs, 0, dlm_build_vit},
};

const dlm_model_info *dlm_models(int *n)
{
    *n = (int)(sizeof models / sizeof models[0]);
    return models;
}

/* "resnet18, resnet34, ..." */
static void model_list(char *list, size_t len)
{
    int n;
    const dlm_model_info *m = dlm_models(&n);
    list[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", len - strlen(list) - 1);
        strncat(list, m[i].name, len - strlen(list) - 1);
    }
}

dlm_status dlm_model_find(const char *name, const dlm_model_info **out)
{
    int n;
    const dlm_model_info *m = dlm_models(&n);
    char list[512] = "";
    *out = NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0) {
            *out = &m[i];
            return DLM_OK;
        }
    model_list(list, sizeof list);
    return dlm_error(DLM_EINVAL, "unknown model '%s' (valid: %s, a network file path or a "
                     "config.json)", name, list);
}

static void knob_list(const dlm_model_config *cfg, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < cfg->n_knobs; i++) {
        strncat(buf, i ? ", " : "", n - strlen(buf) - 1);
        strncat(buf, cfg->knobs[i].name, n - strlen(buf) - 1);
    }
}

/* Applies "k=v" items separated by any of `seps` to cfg.  `opt` names where
 * they came from in the messages: "--set" (the command line), or NULL for a
 * data file's cell (the caller adds file, line and column). */
static dlm_status config_apply(const dlm_model_info *info, const char *settings, const char *seps,
                               const char *opt, dlm_model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->info = info;
    for (const dlm_knob *k = info->knobs; k->name; k++) {
        if (cfg->n_knobs == DLM_MAX_KNOBS)
            return dlm_error(DLM_EINTERNAL, "model %s has too many knobs", info->name);
        cfg->knobs[cfg->n_knobs++] = *k;
    }
    if (!settings || !*settings) return DLM_OK;

    /* "--set: ..." and "--set k=v: ..." on the command line; bare in a cell */
    const char *lead = opt ? "--set: " : "", *lead_sp = opt ? "--set " : "";
    const char *example = opt ? "hidden=512,layers=3" : "hidden=512;layers=3";
    char *copy = strdup(settings);
    if (!copy) return dlm_error(DLM_ENOMEM, "out of memory");
    dlm_status st = DLM_OK;
    int item_no = 0;
    /* split at every separator: an empty item ("hidden=512,,layers=3", ",") is
     * an error, never skipped */
    for (char *item = copy, *next; item; item = next) {
        char *sep = item + strcspn(item, seps);
        next = *sep ? sep + 1 : NULL;
        *sep = '\0';
        item_no++;
        char *eq = strchr(item, '='), *end;
        char list[512];
        knob_list(cfg, list, sizeof list);
        if (!*item) {
            st = dlm_error(DLM_EINVAL, "%sitem %d of '%s' is empty (write e.g. %s)", lead, item_no,
                           settings, example);
            break;
        }
        if (!eq) {
            st = dlm_error(DLM_EINVAL, "%s'%s': expected name=value (knobs of %s: %s)", lead_sp,
                           item, info->name, list);
            break;
        }
        *eq = '\0';
        dlm_knob *k = NULL;
        for (int i = 0; i < cfg->n_knobs; i++)
            if (strcmp(cfg->knobs[i].name, item) == 0) k = &cfg->knobs[i];
        if (!k) {
            st = dlm_error(DLM_EINVAL, "%smodel %s has no knob '%s' (valid: %s)", lead, info->name,
                           item, list);
            break;
        }
        errno = 0;
        long long v = strtoll(eq + 1, &end, 10);
        if (errno == ERANGE) {
            st = dlm_error(DLM_ERANGE, "%s%s=%s: out of range [%lld, %lld] (%s)", lead_sp, item,
                           eq + 1, (long long)k->min, (long long)k->max, k->help);
            break;
        }
        if (errno || end == eq + 1 || *end) {
            st = dlm_error(DLM_EINVAL, "%s%s=%s: not an integer", lead_sp, item, eq + 1);
            break;
        }
        if (v < k->min || v > k->max) {
            st = dlm_error(DLM_ERANGE, "%s%s=%lld: out of range [%lld, %lld] (%s)", lead_sp, item, v,
                           (long long)k->min, (long long)k->max, k->help);
            break;
        }
        k->value = v;
    }
    free(copy);
    return st;
}

dlm_status dlm_model_config_init(const dlm_model_info *info, const char *settings,
                                 dlm_model_config *cfg)
{
    return config_apply(info, settings, ",", "--set", cfg);
}

dlm_status dlm_model_config_read(const dlm_model_info *info, const char *cell,
                                 dlm_model_config *cfg)
{
    return config_apply(info, cell, DLM_MODEL_SET_SEPS, NULL, cfg);
}

dlm_status dlm_model_config_format(const dlm_model_config *cfg, char *buf, size_t n)
{
    size_t L = 0;
    if (n == 0) return dlm_error(DLM_EINTERNAL, "dlm_model_config_format: no buffer");
    buf[0] = '\0';
    for (int i = 0; i < cfg->n_knobs; i++) {
        const dlm_knob *k = &cfg->knobs[i];
        if (k->value == cfg->info->knobs[i].value) continue; /* a default: not recorded */
        int w = snprintf(buf + L, n - L, "%s%s=%lld", L ? DLM_MODEL_SET_SEP : "", k->name,
                         (long long)k->value);
        if (w < 0 || (size_t)w >= n - L) {
            buf[0] = '\0';
            return dlm_error(DLM_ERANGE, "the knobs of %s do not fit in %zu characters",
                             cfg->info->name, n - 1);
        }
        L += (size_t)w;
    }
    return DLM_OK;
}

int64_t dlm_model_knob(const dlm_model_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_knobs; i++)
        if (strcmp(cfg->knobs[i].name, name) == 0) return cfg->knobs[i].value;
    return 0; /* builders only ask for their own knobs */
}

dlm_status dlm_model_build(const dlm_model_config *cfg, dlm_graph **out)
{
    dlm_graph *g;
    *out = NULL;
    DLM_TRY(dlm_graph_alloc(cfg->info->name, &g));
    dlm_status st = cfg->info->build(cfg, g);
    if (st == DLM_OK) st = dlm_graph_status(g);
    if (st != DLM_OK) {
        dlm_graph_free(g);
        return st;
    }
    *out = g;
    return DLM_OK;
}

dlm_status dlm_model_open(const char *name, const char *settings, const dlm_model_info **info,
                          dlm_graph **out)
{
    const dlm_model_info *m;
    dlm_model_config cfg;
    *out = NULL;
    if (info) *info = NULL;
    if (dlm_hfconfig_is_path(name)) {
        if (settings && *settings)
            return dlm_error(DLM_EINVAL, "--set applies to built-in models, not to the config "
                             "file %s (edit the file instead)", name);
        return dlm_hfconfig_build(name, out);
    }
    if (dlm_netfile_is_path(name)) {
        if (settings && *settings)
            return dlm_error(DLM_EINVAL, "--set applies to built-in models, not to the network "
                             "file %s (edit the file instead)", name);
        return dlm_netfile_build(name, out);
    }
    DLM_TRY(dlm_model_find(name, &m));
    DLM_TRY(dlm_model_config_init(m, settings, &cfg));
    if (info) *info = m;
    return dlm_model_build(&cfg, out);
}

dlm_status dlm_model_build_named(const char *name, const char *settings, dlm_graph **out)
{
    return dlm_model_open(name, settings, NULL, out);
}

dlm_status dlm_model_build_builtin(const char *name, const char *settings, dlm_graph **out)
{
    const dlm_model_info *m;
    dlm_model_config cfg;
    *out = NULL;
    if (dlm_model_find(name, &m) != DLM_OK) {
        /* a config.json model is recorded by its file's stem: one of the
         * configs shipped in the data directory's hf/ (never a path of the
         * data's choosing) */
        size_t n = strlen(name), ok = n > 0 && n <= 64 && name[0] != '.';
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)name[i]) || name[i] == '-' || name[i] == '_' ||
                 name[i] == '.';
        char rel[96], path[4096];
        if (ok && snprintf(rel, sizeof rel, "hf/%s.json", name) < (int)sizeof rel &&
            dlm_data_path(rel, path, sizeof path) && access(path, R_OK) == 0)
            return dlm_model_build_named(path, settings && settings[0] ? settings : NULL, out);
        char list[512];
        model_list(list, sizeof list);
        return dlm_error(DLM_EINVAL, "unknown model '%.64s%s' (valid here: %s, or a config "
                         "shipped in data/hf by its name; a model named in data is never opened "
                         "as a file)", name, strlen(name) > 64 ? "..." : "", list);
    }
    DLM_TRY(dlm_model_config_read(m, settings, &cfg));
    return dlm_model_build(&cfg, out);
}
