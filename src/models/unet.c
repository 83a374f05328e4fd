/* unet.c — the classic U-Net (Ronneberger, Fischer and Brox, 2015) with
 * BatchNorm and padded convolutions, as tools/unet.py builds it in PyTorch
 * (module for module: the same parameter names, shapes and order):
 *   downs.i      two 3x3 conv (no bias) + BatchNorm + ReLU(inplace), base*2^i
 *                channels; its output is the skip connection of level i;
 *   pool         2x2 max-pool after each of them (one module, called depth times);
 *   bottleneck   the same double conv at base*2^depth channels;
 *   ups.i        up: 2x2 stride-2 transposed conv halving the channels (knob
 *                upsample 0, the paper's), or (upsample 1 nearest, 2
 *                bilinear) up.0 F.interpolate(scale_factor=2) and up.1 a 1x1
 *                conv (with bias) halving the channels; cat:
 *                torch.cat([skip, up], 1); conv: the double conv back to the
 *                level's channels;
 *   head         1x1 conv (with bias) to the classes.
 * Input x: (B, in_channels, H, W), H and W multiples of 2^depth.  Output:
 * logits (B, classes, H, W).
 */
#include <stdio.h>

#include "models.h"

/* DoubleConv: p.0 conv, p.1 bn, p.2 relu, p.3 conv, p.4 bn, p.5 relu. */
static int double_conv(dlm_graph *g, const char *p, int x, int cout)
{
    char n[128];
    for (int i = 0; i < 2; i++) {
        snprintf(n, sizeof n, "%s.%d", p, 3 * i);
        x = dlm_conv2d(g, n, x, cout, 3, 1, 1, 0);
        snprintf(n, sizeof n, "%s.%d", p, 3 * i + 1);
        x = dlm_batchnorm2d(g, n, x);
        snprintf(n, sizeof n, "%s.%d", p, 3 * i + 2);
        x = dlm_relu(g, n, x, 1);
    }
    return x;
}

dlm_status dlm_build_unet(const dlm_model_config *cfg, dlm_graph *g)
{
    int64_t h = dlm_model_knob(cfg, "height"), w = dlm_model_knob(cfg, "width");
    int depth = (int)dlm_model_knob(cfg, "depth"), base = (int)dlm_model_knob(cfg, "base");
    int cin = (int)dlm_model_knob(cfg, "in_channels"), classes = (int)dlm_model_knob(cfg, "classes");
    int up = (int)dlm_model_knob(cfg, "upsample");
    if (h % (1LL << depth) || w % (1LL << depth))
        return dlm_error(DLM_EINVAL, "unet: height %lld and width %lld must be multiples of "
                         "2^depth = %lld (depth %d)", (long long)h, (long long)w, 1LL << depth,
                         depth);
    if ((int64_t)base << depth > (1 << 20))
        return dlm_error(DLM_EINVAL, "unet: base %d x 2^%d channels is more than %d", base, depth,
                         1 << 20);
    int skips[16];
    char n[64];
    dlm_poly shape[4] = {dlm_poly_B(), dlm_poly_const(cin), dlm_poly_const(h), dlm_poly_const(w)};
    int x = dlm_graph_input(g, "x", DLM_EL_FLOAT, 4, shape);
    for (int i = 0; i < depth; i++) {
        snprintf(n, sizeof n, "downs.%d", i);
        x = skips[i] = double_conv(g, n, x, base << i);
        if (i) snprintf(n, sizeof n, "pool#%d", i + 1);
        else snprintf(n, sizeof n, "pool");
        x = dlm_maxpool2d(g, n, x, 2, 2, 0);
    }
    x = double_conv(g, "bottleneck", x, base << depth);
    for (int i = 0; i < depth; i++) {
        int c = base << (depth - 1 - i);
        if (up == 0) {
            snprintf(n, sizeof n, "ups.%d.up", i);
            x = dlm_conv_transpose2d(g, n, x, c, 2, 2, 0, 0, 1);
        } else {
            snprintf(n, sizeof n, "ups.%d.up.0", i);
            x = dlm_upsample(g, n, x, 2, up == 1 ? DLM_UP_NEAREST : DLM_UP_BILINEAR, 0);
            snprintf(n, sizeof n, "ups.%d.up.1", i);
            x = dlm_conv2d(g, n, x, c, 1, 1, 0, 1);
        }
        snprintf(n, sizeof n, "ups.%d.cat", i);
        x = dlm_concat(g, n, 2, (int[]){skips[depth - 1 - i], x}, 1);
        snprintf(n, sizeof n, "ups.%d.conv", i);
        x = double_conv(g, n, x, c);
    }
    x = dlm_conv2d(g, "head", x, classes, 1, 1, 0, 1);
    dlm_graph_mark_output(g, x);
    return dlm_graph_status(g);
}
