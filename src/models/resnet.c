/* resnet.c — ResNet-18/34/50 as torchvision builds them (BasicBlock for 18
 * and 34, Bottleneck for 50; no conv bias, BatchNorm after every conv, 1x1
 * downsample where the shape changes, in-place ReLU and in-place residual
 * add).  Module names are torchvision's; the second and third calls of a
 * block's ReLU module are named "<block>.relu#2", "<block>.relu#3".
 *
 * Input x: (B, 3, H, W).  Output: logits (B, classes).
 */
#include <stdio.h>

#include "models.h"

/* A block's end: downsample(x) (1x1 conv + BN) where the shape changes,
 * `out += identity` in place, then the block's ReLU module again (its
 * `relu_call`-th call). */
static int residual(dlm_graph *g, const char *p, int x, int y, int cout, int stride, int relu_call)
{
    char n[128];
    int64_t cin = g->tensors[x].shape[1].c[0][0];
    int identity = x;
    if (stride != 1 || cin != cout) {
        snprintf(n, sizeof n, "%s.downsample.0", p);
        identity = dlm_conv2d(g, n, x, cout, 1, stride, 0, 0);
        snprintf(n, sizeof n, "%s.downsample.1", p);
        identity = dlm_batchnorm2d(g, n, identity);
    }
    snprintf(n, sizeof n, "%s.add", p);
    y = dlm_add(g, n, y, identity, 1);
    snprintf(n, sizeof n, "%s.relu#%d", p, relu_call);
    return dlm_relu(g, n, y, 1);
}

/* One BasicBlock: conv3x3-bn-relu-conv3x3-bn (+ downsample(x)) += , relu. */
static int basic_block(dlm_graph *g, const char *p, int x, int cout, int stride)
{
    char n[128];

    snprintf(n, sizeof n, "%s.conv1", p);
    int y = dlm_conv2d(g, n, x, cout, 3, stride, 1, 0);
    snprintf(n, sizeof n, "%s.bn1", p);
    y = dlm_batchnorm2d(g, n, y);
    snprintf(n, sizeof n, "%s.relu", p);
    y = dlm_relu(g, n, y, 1);
    snprintf(n, sizeof n, "%s.conv2", p);
    y = dlm_conv2d(g, n, y, cout, 3, 1, 1, 0);
    snprintf(n, sizeof n, "%s.bn2", p);
    y = dlm_batchnorm2d(g, n, y);
    return residual(g, p, x, y, cout, stride, 2);
}

/* One Bottleneck (torchvision's "ResNet V1.5": the stride on the 3x3 conv):
 * conv1x1-bn-relu-conv3x3-bn-relu-conv1x1(4 x width)-bn (+ downsample(x)) +=,
 * relu. */
static int bottleneck(dlm_graph *g, const char *p, int x, int width, int stride)
{
    char n[128];
    int cout = 4 * width;

    snprintf(n, sizeof n, "%s.conv1", p);
    int y = dlm_conv2d(g, n, x, width, 1, 1, 0, 0);
    snprintf(n, sizeof n, "%s.bn1", p);
    y = dlm_batchnorm2d(g, n, y);
    snprintf(n, sizeof n, "%s.relu", p);
    y = dlm_relu(g, n, y, 1);
    snprintf(n, sizeof n, "%s.conv2", p);
    y = dlm_conv2d(g, n, y, width, 3, stride, 1, 0);
    snprintf(n, sizeof n, "%s.bn2", p);
    y = dlm_batchnorm2d(g, n, y);
    snprintf(n, sizeof n, "%s.relu#2", p);
    y = dlm_relu(g, n, y, 1);
    snprintf(n, sizeof n, "%s.conv3", p);
    y = dlm_conv2d(g, n, y, cout, 1, 1, 0, 0);
    snprintf(n, sizeof n, "%s.bn3", p);
    y = dlm_batchnorm2d(g, n, y);
    return residual(g, p, x, y, cout, stride, 3);
}

dlm_status dlm_build_resnet(const dlm_model_config *cfg, dlm_graph *g)
{
    static const int blocks18[4] = {2, 2, 2, 2}, blocks34[4] = {3, 4, 6, 3};
    const int *blocks;
    int64_t h = dlm_model_knob(cfg, "height"), w = dlm_model_knob(cfg, "width");
    int classes = (int)dlm_model_knob(cfg, "classes"), base = (int)dlm_model_knob(cfg, "base");

    switch (cfg->info->variant) {
    case 18: blocks = blocks18; break;
    case 34:
    case 50: blocks = blocks34; break;
    default: return dlm_error(DLM_EINTERNAL, "resnet: depth %d not supported", cfg->info->variant);
    }

    dlm_poly shape[4] = {dlm_poly_B(), dlm_poly_const(3), dlm_poly_const(h), dlm_poly_const(w)};
    int x = dlm_graph_input(g, "x", DLM_EL_FLOAT, 4, shape);
    x = dlm_conv2d(g, "conv1", x, base, 7, 2, 3, 0);
    x = dlm_batchnorm2d(g, "bn1", x);
    x = dlm_relu(g, "relu", x, 1);
    x = dlm_maxpool2d(g, "maxpool", x, 3, 2, 1);
    for (int s = 0; s < 4; s++)
        for (int b = 0; b < blocks[s]; b++) {
            char p[64];
            snprintf(p, sizeof p, "layer%d.%d", s + 1, b);
            int stride = (s > 0 && b == 0) ? 2 : 1;
            x = cfg->info->variant == 50 ? bottleneck(g, p, x, base << s, stride)
                                         : basic_block(g, p, x, base << s, stride);
        }
    x = dlm_avgpool2d_adaptive(g, "avgpool", x, 1, 1);
    x = dlm_flatten(g, "flatten", x);
    x = dlm_linear(g, "fc", x, classes, 1);
    dlm_graph_mark_output(g, x);
    return dlm_graph_status(g);
}
