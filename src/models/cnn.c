/* cnn.c — torchvision 0.26's VGG-16, MobileNetV2, EfficientNet-B0 and
 * DenseNet-121 (weights=None), module for module: parameter and buffer names,
 * shapes and order as named_parameters() / named_buffers() list them, and the
 * ops in the order their forward() runs them (torchvision/models/vgg.py,
 * mobilenetv2.py, efficientnet.py, densenet.py; torchvision/ops/misc.py's
 * Conv2dNormActivation and SqueezeExcitation).
 *
 * A module called more than once gets "#2", "#3" on later calls; an op that
 * forward() calls as a function (F.adaptive_avg_pool2d, torch.flatten,
 * torch.cat, `scale * input`) is named after its module plus the function.
 *
 * Input x: (B, 3, H, W).  Output: logits (B, classes).
 */
#include <stdio.h>

#include "models.h"

#define NAME(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)

typedef enum act { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SILU } act;

static int activation(dlm_graph *g, const char *name, int x, act a)
{
    switch (a) {
    case ACT_RELU: return dlm_relu(g, name, x, 1);
    case ACT_RELU6: return dlm_relu6(g, name, x, 1);
    case ACT_SILU: return dlm_silu(g, name, x, 1);
    case ACT_NONE: break;
    }
    return x;
}

static int64_t channels(const dlm_graph *g, int x)
{
    return x >= 0 ? g->tensors[x].shape[1].c[0][0] : 0;
}

/* Conv2dNormActivation: `p`.0 conv (no bias, padding (k-1)/2), `p`.1
 * BatchNorm2d, `p`.2 the activation (in place, as torchvision makes it). */
static int conv_norm_act(dlm_graph *g, const char *p, int x, int cout, int k, int stride,
                         int groups, act a)
{
    char n[256];
    NAME(n, "%s.0", p);
    x = dlm_conv2d_ex(g, n, x, cout, k, stride, (k - 1) / 2, 1, groups, 0);
    NAME(n, "%s.1", p);
    x = dlm_batchnorm2d(g, n, x);
    NAME(n, "%s.2", p);
    return activation(g, n, x, a);
}

/* The head every one of them ends with: [dropout] + linear on the flattened
 * pooled features (names given by the caller). */
static int flatten_linear(dlm_graph *g, const char *flat, int x, const char *drop, double p,
                          int inplace, const char *fc, int classes)
{
    x = dlm_flatten(g, flat, x);
    if (drop) x = inplace ? dlm_dropout_inplace(g, drop, x, p) : dlm_dropout(g, drop, x, p);
    return dlm_linear(g, fc, x, classes, 1);
}

static int image_input(const dlm_model_config *cfg, dlm_graph *g)
{
    dlm_poly shape[4] = {dlm_poly_B(), dlm_poly_const(3),
                         dlm_poly_const(dlm_model_knob(cfg, "height")),
                         dlm_poly_const(dlm_model_knob(cfg, "width"))};
    return dlm_graph_input(g, "x", DLM_EL_FLOAT, 4, shape);
}

/* torchvision's _make_divisible(v, 8): the nearest multiple of 8, not below
 * 90% of v. */
static int make_divisible(double v)
{
    int d = (int)(v + 4) / 8 * 8;
    if (d < 8) d = 8;
    if (d < 0.9 * v) d += 8;
    return d;
}

/* ---- VGG-16 (cfg "D", no BatchNorm) --------------------------------------------- */

dlm_status dlm_build_vgg(const dlm_model_config *cfg, dlm_graph *g)
{
    static const int layers[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0,
                                 512, 512, 512, 0, 512, 512, 512, 0}; /* 0: max-pool */
    int classes = (int)dlm_model_knob(cfg, "classes");
    int x = image_input(cfg, g), idx = 0;
    char n[64];
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        NAME(n, "features.%d", idx++);
        if (!layers[i]) {
            x = dlm_maxpool2d(g, n, x, 2, 2, 0);
            continue;
        }
        x = dlm_conv2d(g, n, x, layers[i], 3, 1, 1, 1);
        NAME(n, "features.%d", idx++);
        x = dlm_relu(g, n, x, 1);
    }
    x = dlm_avgpool2d_adaptive(g, "avgpool", x, 7, 7);
    x = dlm_flatten(g, "flatten", x);
    x = dlm_linear(g, "classifier.0", x, 4096, 1);
    x = dlm_relu(g, "classifier.1", x, 1);
    x = dlm_dropout(g, "classifier.2", x, 0.5);
    x = dlm_linear(g, "classifier.3", x, 4096, 1);
    x = dlm_relu(g, "classifier.4", x, 1);
    x = dlm_dropout(g, "classifier.5", x, 0.5);
    x = dlm_linear(g, "classifier.6", x, classes, 1);
    dlm_graph_mark_output(g, x);
    return dlm_graph_status(g);
}

/* ---- MobileNetV2 ------------------------------------------------------------------ */

/* InvertedResidual: [1x1 expand CNA] -> 3x3 depthwise CNA -> 1x1 conv -> BN;
 * `x + self.conv(x)` (out of place) where stride 1 keeps the channels. */
static int inverted_residual(dlm_graph *g, const char *p, int x, int cout, int stride, int t)
{
    char n[256];
    int cin = (int)channels(g, x), hidden = cin * t, i = 0, y = x;
    if (t != 1) {
        NAME(n, "%s.conv.%d", p, i++);
        y = conv_norm_act(g, n, y, hidden, 1, 1, 1, ACT_RELU6);
    }
    NAME(n, "%s.conv.%d", p, i++);
    y = conv_norm_act(g, n, y, hidden, 3, stride, hidden, ACT_RELU6);
    NAME(n, "%s.conv.%d", p, i++);
    y = dlm_conv2d(g, n, y, cout, 1, 1, 0, 0);
    NAME(n, "%s.conv.%d", p, i++);
    y = dlm_batchnorm2d(g, n, y);
    if (stride == 1 && cin == cout) {
        NAME(n, "%s.add", p);
        y = dlm_add(g, n, x, y, 0);
    }
    return y;
}

dlm_status dlm_build_mobilenet_v2(const dlm_model_config *cfg, dlm_graph *g)
{
    static const int setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                      {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}; /* t c n s */
    int classes = (int)dlm_model_knob(cfg, "classes");
    double wm = (double)dlm_model_knob(cfg, "width_pct") / 100.0;
    int x = image_input(cfg, g), idx = 0;
    char n[64];
    int last = make_divisible(1280 * (wm > 1.0 ? wm : 1.0));
    NAME(n, "features.%d", idx++);
    x = conv_norm_act(g, n, x, make_divisible(32 * wm), 3, 2, 1, ACT_RELU6);
    for (int s = 0; s < 7; s++)
        for (int b = 0; b < setting[s][2]; b++) {
            NAME(n, "features.%d", idx++);
            x = inverted_residual(g, n, x, make_divisible(setting[s][1] * wm),
                                  b == 0 ? setting[s][3] : 1, setting[s][0]);
        }
    NAME(n, "features.%d", idx++);
    x = conv_norm_act(g, n, x, last, 1, 1, 1, ACT_RELU6);
    /* forward(): nn.functional.adaptive_avg_pool2d(x, (1, 1)); torch.flatten(x, 1) */
    x = dlm_avgpool2d_adaptive(g, "adaptive_avg_pool2d", x, 1, 1);
    x = flatten_linear(g, "flatten", x, "classifier.0", 0.2, 0, "classifier.1", classes);
    dlm_graph_mark_output(g, x);
    return dlm_graph_status(g);
}

/* ---- EfficientNet-B0 --------------------------------------------------------------- */

/* SqueezeExcitation: scale = sigmoid(fc2(silu(fc1(avgpool(x))))); scale * x. */
static int squeeze_excitation(dlm_graph *g, const char *p, int x, int squeeze)
{
    char n[320];
    int c = (int)channels(g, x);
    NAME(n, "%s.avgpool", p);
    int s = dlm_avgpool2d_adaptive(g, n, x, 1, 1);
    NAME(n, "%s.fc1", p);
    s = dlm_conv2d(g, n, s, squeeze, 1, 1, 0, 1);
    NAME(n, "%s.activation", p);
    s = dlm_silu(g, n, s, 1);
    NAME(n, "%s.fc2", p);
    s = dlm_conv2d(g, n, s, c, 1, 1, 0, 1);
    NAME(n, "%s.scale_activation", p);
    s = dlm_sigmoid(g, n, s);
    NAME(n, "%s.mul", p);
    return dlm_mul(g, n, s, x, 0);
}

/* MBConv: [1x1 expand CNA] -> kxk depthwise CNA -> SE -> 1x1 CNA without
 * activation; where stride 1 keeps the channels, stochastic depth then
 * `result += input`. */
static int mbconv(dlm_graph *g, const char *p, int x, int t, int k, int stride, int cout,
                  double sd)
{
    char n[256];
    int cin = (int)channels(g, x), hidden = make_divisible(cin * t), i = 0, y = x;
    if (hidden != cin) {
        NAME(n, "%s.block.%d", p, i++);
        y = conv_norm_act(g, n, y, hidden, 1, 1, 1, ACT_SILU);
    }
    NAME(n, "%s.block.%d", p, i++);
    y = conv_norm_act(g, n, y, hidden, k, stride, hidden, ACT_SILU);
    NAME(n, "%s.block.%d", p, i++);
    y = squeeze_excitation(g, n, y, cin / 4 > 1 ? cin / 4 : 1);
    NAME(n, "%s.block.%d", p, i++);
    y = conv_norm_act(g, n, y, cout, 1, 1, 1, ACT_NONE);
    if (stride == 1 && cin == cout) {
        NAME(n, "%s.stochastic_depth", p);
        y = dlm_stochastic_depth(g, n, y, sd);
        NAME(n, "%s.add", p);
        y = dlm_add(g, n, y, x, 1);
    }
    return y;
}

dlm_status dlm_build_efficientnet(const dlm_model_config *cfg, dlm_graph *g)
{
    /* _efficientnet_conf("efficientnet_b0"): expand, kernel, stride, out, layers */
    static const int conf[7][5] = {{1, 3, 1, 16, 1}, {6, 3, 2, 24, 2}, {6, 5, 2, 40, 2},
                                   {6, 3, 2, 80, 3}, {6, 5, 1, 112, 3}, {6, 5, 2, 192, 4},
                                   {6, 3, 1, 320, 1}};
    const double sd_prob = 0.2; /* stochastic_depth_prob */
    int classes = (int)dlm_model_knob(cfg, "classes");
    int x = image_input(cfg, g), total = 0, id = 0;
    char n[64];
    for (int s = 0; s < 7; s++) total += conf[s][4];
    x = conv_norm_act(g, "features.0", x, 32, 3, 2, 1, ACT_SILU);
    for (int s = 0; s < 7; s++)
        for (int b = 0; b < conf[s][4]; b++, id++) {
            NAME(n, "features.%d.%d", s + 1, b);
            x = mbconv(g, n, x, conf[s][0], conf[s][1], b == 0 ? conf[s][2] : 1, conf[s][3],
                       sd_prob * id / total);
        }
    x = conv_norm_act(g, "features.8", x, 4 * 320, 1, 1, 1, ACT_SILU);
    x = dlm_avgpool2d_adaptive(g, "avgpool", x, 1, 1);
    x = flatten_linear(g, "flatten", x, "classifier.0", 0.2, 1, "classifier.1", classes);
    dlm_graph_mark_output(g, x);
    return dlm_graph_status(g);
}

/* ---- DenseNet-121 ------------------------------------------------------------------ */

/* _DenseLayer: cat(features) -> norm1 -> relu1 -> conv1 (1x1, 4*growth) ->
 * norm2 -> relu2 -> conv2 (3x3, growth); drop_rate 0: no dropout. */
static int dense_layer(dlm_graph *g, const char *p, int n_in, const int *feats, int growth)
{
    char n[256];
    NAME(n, "%s.cat", p);
    int x = dlm_concat(g, n, n_in, feats, 1);
    NAME(n, "%s.norm1", p);
    x = dlm_batchnorm2d(g, n, x);
    NAME(n, "%s.relu1", p);
    x = dlm_relu(g, n, x, 1);
    NAME(n, "%s.conv1", p);
    x = dlm_conv2d(g, n, x, 4 * growth, 1, 1, 0, 0);
    NAME(n, "%s.norm2", p);
    x = dlm_batchnorm2d(g, n, x);
    NAME(n, "%s.relu2", p);
    x = dlm_relu(g, n, x, 1);
    NAME(n, "%s.conv2", p);
    return dlm_conv2d(g, n, x, growth, 3, 1, 1, 0);
}

dlm_status dlm_build_densenet(const dlm_model_config *cfg, dlm_graph *g)
{
    static const int blocks[4] = {6, 12, 24, 16};
    const int growth = 32;
    int classes = (int)dlm_model_knob(cfg, "classes");
    int x = image_input(cfg, g);
    char n[96];
    x = dlm_conv2d(g, "features.conv0", x, 64, 7, 2, 3, 0);
    x = dlm_batchnorm2d(g, "features.norm0", x);
    x = dlm_relu(g, "features.relu0", x, 1);
    x = dlm_maxpool2d(g, "features.pool0", x, 3, 2, 1);
    for (int b = 0; b < 4; b++) {
        int feats[DLM_OP_MAX_IN], nf = 0;
        feats[nf++] = x;
        for (int l = 0; l < blocks[b]; l++) {
            NAME(n, "features.denseblock%d.denselayer%d", b + 1, l + 1);
            feats[nf] = dense_layer(g, n, nf, feats, growth);
            nf++;
        }
        NAME(n, "features.denseblock%d.cat", b + 1); /* _DenseBlock: torch.cat(features, 1) */
        x = dlm_concat(g, n, nf, feats, 1);
        if (b == 3) break;
        NAME(n, "features.transition%d.norm", b + 1);
        x = dlm_batchnorm2d(g, n, x);
        NAME(n, "features.transition%d.relu", b + 1);
        x = dlm_relu(g, n, x, 1);
        NAME(n, "features.transition%d.conv", b + 1);
        x = dlm_conv2d(g, n, x, (int)channels(g, x) / 2, 1, 1, 0, 0);
        NAME(n, "features.transition%d.pool", b + 1);
        x = dlm_avgpool2d(g, n, x, 2, 2, 0, 0);
    }
    x = dlm_batchnorm2d(g, "features.norm5", x);
    /* forward(): F.relu(features, inplace=True); F.adaptive_avg_pool2d(out, (1, 1));
     * torch.flatten(out, 1); self.classifier(out) */
    x = dlm_relu(g, "relu", x, 1);
    x = dlm_avgpool2d_adaptive(g, "adaptive_avg_pool2d", x, 1, 1);
    x = flatten_linear(g, "flatten", x, NULL, 0, 0, "classifier", classes);
    dlm_graph_mark_output(g, x);
    return dlm_graph_status(g);
}
